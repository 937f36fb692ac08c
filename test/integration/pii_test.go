package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/channels/scan/scantest"
)

// Known personal values pushed through every channel. Each is grepped for
// in every log line, in /metrics, in the dead letters' error texts and in
// the output of petitiond check, as given and in the forms petitiond
// derives (E.164, the e-mail's local part).
var pii = struct {
	name, id, phone, email, address string
}{
	name:    "欧阳明月",
	id:      "11010519491231002X",
	phone:   "15870791234",
	email:   "oyang.mingyue@example.cn",
	address: "赣州市章贡区红旗大道88号",
}

func piiNeedles() []string {
	return []string{pii.name, pii.id, strings.ToLower(pii.id), pii.phone, pii.email, "oyang.mingyue", pii.address, "章贡区红旗大道",
		pii.name + pii.phone} // run together
}

func piiContent() string {
	return fmt.Sprintf("本人%s，身份证号%s，电话%s，邮箱%s，住%s。我的案件（2023）赣0702执88号至今未执行。",
		pii.name, pii.id, pii.phone, pii.email, pii.address)
}

// grepPII counts each personal value in text.
func grepPII(text string) map[string]int {
	out := map[string]int{}
	for _, n := range piiNeedles() {
		if c := strings.Count(text, n); c > 0 {
			out[n] = c
		}
	}
	return out
}

// TestNoPersonalDataInLogsMetricsOrErrors pushes known personal values
// through the success and failure paths of every channel type (web, imap,
// calllog with CTI), through a routing rule that fails on them (dead
// letter) and through `petitiond check`, and greps all log output,
// /metrics, the dead letters' error texts and check's output for them.
func TestNoPersonalDataInLogsMetricsOrErrors(t *testing.T) {
	kafka := broker(t)
	dir := t.TempDir()
	cdrPath := filepath.Join(dir, "Master.csv")
	cti := freeAddr(t)
	webDL := freeAddr(t)
	var mb *mailboxes
	extra := calllogYAML("hotline-pii", "path: "+cdrPath, "format: asterisk-csv", "poll_interval: 20ms",
		fmt.Sprintf("cti: {listen: %q, path: /cti, window: 1s}", cti)) +
		fmt.Sprintf(`  - name: web-dl
    type: web
    settings: {listen: %q}
    mapping:
      name: {from: name}
      phone: {from: phone}
      id_number: {from: id_number}
      email: {from: email}
      address: {from: address}
      content: {from: content, required: true}
      meta.contact: {join: [name, phone, id_number, email], sep: ""}
`, webDL)
	needOCR(t)
	scans := filepath.Join(dir, "scans")
	extra += scanYAML("visits-pii", scans)
	imapOK := os.Getenv("PETITIOND_DOVECOT") != "" || os.Getenv("CI") == "true"
	if imapOK {
		mb = newMailboxes(t, dovecot(t))
		extra += mb.channelYAML("letters-pii")
	} else {
		t.Log("no Dovecot (PETITIOND_DOVECOT): the imap channel is left out")
	}
	e := newEnv(t, kafka, "")
	b, _ := os.ReadFile(e.cfgFile)
	cfg := strings.Replace(string(b), "channels:\n", "channels:\n"+extra, 1)
	// A rule that fails on the values themselves (int() of a name, and of
	// name+phone+id+e-mail run together): the item is dead-lettered.
	cfg = strings.Replace(cfg, "  rules:\n", `  rules:
    - {name: pii-trap, when: 'channel.name == "web-dl" && subject != "trap2" && int(meta.contact) > 0', topic: `+e.topic+`.never}
    - {name: pii-trap-name, when: 'channel.name == "web-dl" && subject == "trap2" && int(petitioner.name) > 0', topic: `+e.topic+`.never}
`, 1)
	os.WriteFile(e.cfgFile, []byte(cfg), 0o600)
	e.start()
	waitListening(t, cti, 30*time.Second)
	waitListening(t, webDL, 30*time.Second)
	waitListening(t, e.webAddr, 30*time.Second)

	full := map[string]string{"name": pii.name, "id_number": pii.id, "phone": pii.phone, "email": pii.email,
		"address": pii.address, "subject": "执行款未到账", "content": piiContent()}
	js := func(m map[string]string, over ...string) []byte {
		c := map[string]string{}
		for k, v := range m {
			c[k] = v
		}
		for i := 0; i+1 < len(over); i += 2 {
			c[over[i]] = over[i+1]
		}
		b, _ := json.Marshal(c)
		return b
	}
	expect := func(what string, r reply, err error, status int) {
		t.Helper()
		if err != nil || r.Status != status {
			t.Errorf("%s: %v %d %q, want %d", what, err, r.Status, r.Error, status)
		}
	}

	// web: success paths (JSON, form, multipart with a file named after
	// the petitioner), and the same key again (a replay).
	r, err := e.post("application/json", js(full), map[string]string{"Idempotency-Key": "pii-1"})
	expect("web json", r, err, 201)
	r, err = e.post("application/json", js(full), map[string]string{"Idempotency-Key": "pii-1"})
	expect("web replay", r, err, 201)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for k, v := range full {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("attachment", pii.name+"身份证.jpg")
	fw.Write([]byte("\xff\xd8\xff\xe0 jpeg of " + pii.id))
	mw.Close()
	r, err = e.post(mw.FormDataContentType(), mp.Bytes(), nil)
	expect("web multipart", r, err, 201)
	// web: failure paths.
	r, err = e.post("application/json", js(full, "email", pii.name+"@"), nil)
	expect("web bad e-mail", r, err, 422)
	r, err = e.post("application/json", js(full, "phone", pii.name+pii.phone+"x"), nil)
	expect("web bad phone", r, err, 422)
	r, err = e.post("application/json", js(full, "id_card", pii.id), nil)
	expect("web unknown field", r, err, 422)
	r, err = e.post("application/json", js(full, "content", ""), nil)
	expect("web no content", r, err, 422)
	r, err = e.post("application/json", []byte(`{"name":"`+pii.name+`","content":`+pii.phone+`x}`), nil)
	expect("web malformed JSON", r, err, 400)
	r, err = e.post("application/json", js(full, "subject", "另一件事"), map[string]string{"Idempotency-Key": "pii-1"})
	expect("web key conflict", r, err, 422)
	r, err = e.post("application/json", js(full), map[string]string{"Idempotency-Key": pii.name})
	expect("web bad key", r, err, 400)

	// web-dl: the routing rules fail on the values: held for review.
	post := func(addr string, body []byte) (reply, error) {
		saved := e.webAddr
		e.webAddr = addr
		defer func() { e.webAddr = saved }()
		return e.post("application/json", body, nil)
	}
	r, err = post(webDL, js(full))
	expect("web-dl run-together rule", r, err, 202)
	if r.ID == "" || r.TrackingNo == "" || r.Held != "held_for_review" {
		t.Errorf("202 reply %+v, want held_for_review with id and tracking number", r)
	}
	held := r.ID
	r, err = post(webDL, js(full, "subject", "trap2", "phone", ""))
	expect("web-dl name rule", r, err, 202)

	// calllog: a CDR line and CTI notes (success), a line whose columns
	// shift so that the name and phone land in the time columns, and bad
	// CTI requests (failures).
	tag := randomSuffix()
	ctiPost := func(body string, want int) {
		t.Helper()
		resp, err := http.Post("http://"+cti+"/cti", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("CTI %.40s…: %d, want %d", body, resp.StatusCode, want)
		}
	}
	ctiPost(fmt.Sprintf(`{"call_id":"%s.1","event":"note","id":"n1","note":%q}`, tag, piiContent()), 202)
	ctiPost(fmt.Sprintf(`{"event":"note","note":%q,"caller_number":%q}`, piiContent(), pii.phone), 422)
	ctiPost(fmt.Sprintf(`{"call_id":"%s.1","event":"note","note":%s}`, tag, pii.phone), 422)
	ctiPost(`{"call_id":"`+pii.name+pii.phone+`","event":"note","note":`+pii.phone+`x}`, 400)
	good := masterLine(tag+".1", pii.phone, pii.name, 120, "")
	shifted := strings.Replace(masterLine(tag+".2", pii.phone, pii.name, 60, pii.address), `"2024-03-01 09:15:02"`, `"`+pii.name+`","`+pii.phone+`"`, 1)
	appendTo(t, cdrPath, good+shifted+masterLine(tag+".3", pii.phone, pii.name+pii.id, 0, ""))

	// imap: a letter (success), a letter without text (dead-lettered) and
	// an auto-reply (ignored), all with the values in headers and body.
	if mb != nil {
		from := fmt.Sprintf("From: %s <%s>", bWord("utf-8", pii.name), pii.email)
		mb.appendMsg(mb.inbox, eml("Message-ID: <ok."+tag+"@it.example.cn>", "Date: "+letterDate, from, "To: petitions@court.example",
			"Subject: "+bWord("utf-8", pii.name+"的申诉"), "Content-Type: text/plain; charset=utf-8", "", piiContent()), time.Now())
		mb.appendMsg(mb.inbox, eml("Message-ID: <empty."+tag+"@it.example.cn>", "Date: "+letterDate, from, "To: petitions@court.example",
			"Subject: "+bWord("utf-8", pii.name+pii.phone), "Content-Type: text/plain; charset=utf-8", "", ""), time.Now())
		mb.appendMsg(mb.inbox, eml("Message-ID: <auto."+tag+"@it.example.cn>", "Date: "+letterDate, from, "To: petitions@court.example",
			"Auto-Submitted: auto-replied", "Subject: "+bWord("utf-8", "自动回复："+pii.name), "Content-Type: text/plain; charset=utf-8", "", piiContent()), time.Now())
		mb.waitCounts(60*time.Second, map[string]int{mb.inbox: 0})
	}

	// scan: a form bearing the values (success), the same with a sidecar
	// whose phone is mistyped (review), and a broken PDF (dead letter).
	form := scantest.Form{Name: pii.name, Gender: "女", IDNumber: pii.id, Phone: pii.phone, Address: pii.address,
		CaseNumber: "（2023）赣0702执88号", Request: piiContent(), Receptionist: "刘洋", Date: "2026年11月30日"}
	img, err := scantest.Render(form, scantest.LayoutLines)
	if err != nil {
		t.Fatal(err)
	}
	formPNG := scantest.PNG(img)
	sideJSON := fmt.Sprintf(`{"name": %q, "phone": "%s0", "registration_no": "LF-%s-0001"}`, pii.name, pii.phone, tag)
	formPNG2 := scantest.JPEG(img, 90)
	dropAll(t, scans, map[string][]byte{"visit-2.json": []byte(sideJSON)})
	dropAll(t, scans, map[string][]byte{"visit-1.png": formPNG, "visit-2.jpg": formPNG2, "visit-3.pdf": []byte("%PDF-1.4\n" + piiContent())})
	formSum := sha256.Sum256(formPNG)

	// Wait for the dead letters: 2 web-dl, the shifted CDR line, the broken
	// PDF, the empty letter.
	wantDead := 4
	if mb != nil {
		wantDead++
	}
	dead := consume(t, e.brokers, e.dead, wantDead, 60*time.Second)
	if len(dead) < wantDead {
		t.Errorf("%d dead letters, want %d", len(dead), wantDead)
	}
	heldFound := false
	for _, d := range dead {
		heldFound = heldFound || d.Value["id"] == held
	}
	if !heldFound {
		t.Errorf("no dead letter with the id %s given in the 202 reply", held)
	}
	waitForCalls(t, e, []string{tag + ".1", tag + ".3", "sha256:" + hex.EncodeToString(formSum[:]), "registration:LF-" + tag + "-0001"}, 3*time.Minute)
	metrics := func() string {
		resp, err := http.Get("http://" + e.adminAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}()
	if err := e.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}

	// check: a config with the values in a mapping constant, a broken rule
	// and an unknown key's value.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(fmt.Sprintf(`kafka: {brokers: ["127.0.0.1:1"]}
routes:
  default_topic: a
  dead_letter_topic: b
  rules:
    - {name: r1, when: 'petitioner.name == "%s" &&', topic: c}
    - {name: r2, when: 'petitioner.id_number matches "%s("', topic: c}
channels:
  - name: w
    type: web
    settings: {listen: "127.0.0.1:0", nickname: "%s"}
    mapping:
      name: {const: "%s", decode: %s}
      content: {from: x}
`, pii.name, pii.id, pii.phone, pii.name, pii.email)), 0o600)
	checkOut, _ := exec.Command(binary, "check", "-c", bad).CombinedOutput()
	if !strings.Contains(string(checkOut), "bad.yaml:") {
		t.Errorf("check found nothing: %s", checkOut)
	}

	var dlErrors strings.Builder
	for _, d := range dead {
		fmt.Fprintf(&dlErrors, "%v %v\n", d.Value["stage"], d.Value["error"])
	}
	logs := e.logs()
	t.Logf("%d log lines, %d bytes of /metrics, %d dead letters, %d bytes of check output", strings.Count(logs, "\n"), len(metrics), len(dead), len(checkOut))
	for what, text := range map[string]string{"logs": logs, "/metrics": metrics, "dead-letter errors": dlErrors.String(), "check output": string(checkOut)} {
		counts := grepPII(text)
		t.Logf("personal values in %s: %d %v", what, len(counts), counts)
		for n, c := range counts {
			t.Errorf("%s: %q appears %d times", what, n, c)
		}
	}
	if t.Failed() {
		t.Logf("dead-letter errors:\n%s\ncheck output:\n%s", dlErrors.String(), checkOut)
	}
}
