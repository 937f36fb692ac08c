package integration

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tu "github.com/court12368/petitiond/internal/testutil"
)

var fields = map[string]string{
	"name":        "王小明",
	"phone":       "13907911234",
	"email":       "wang@example.cn",
	"address":     "江西省南昌市红谷滩区丰和中大道1号",
	"subject":     "关于执行款迟迟未到账",
	"content":     "我的案件（2023）赣0102执1234号判决已生效半年，执行款至今没有到账，请法院尽快处理。",
	"case_number": "（2023）赣0102执1234号",
	"court":       "南昌市东湖区人民法院",
}

func checkRecord(t *testing.T, what string, rec record, rep reply) {
	t.Helper()
	tu.ValidatePetition(t, rec.Raw)
	v := rec.Value
	if v["id"] != rep.ID || v["tracking_no"] != rep.TrackingNo || rec.Key != rep.ID {
		t.Errorf("%s: record id %v / key %s / tracking %v, reply %+v", what, v["id"], rec.Key, v["tracking_no"], rep)
	}
	p := v["petitioner"].(map[string]any)
	for _, f := range []string{"name", "email", "address"} {
		if p[f] != fields[f] {
			t.Errorf("%s: petitioner.%s = %q, want %q", what, f, p[f], fields[f])
		}
	}
	if p["phone"] == "" {
		t.Errorf("%s: petitioner.phone empty", what)
	}
	if v["subject"] != fields["subject"] || v["content"] != fields["content"] {
		t.Errorf("%s: subject/content = %q / %q", what, v["subject"], v["content"])
	}
	if ra, _ := time.Parse(time.RFC3339Nano, v["received_at"].(string)); ra.IsZero() || ra.Format(time.RFC3339Nano) != rep.ReceivedAt {
		t.Errorf("%s: received_at %v, reply %v", what, v["received_at"], rep.ReceivedAt)
	}
	for _, h := range []string{"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_dataschema", "content-type"} {
		if rec.Headers[h] == "" {
			t.Errorf("%s: header %s missing", what, h)
		}
	}
	if rec.Headers["ce_id"] != rep.ID {
		t.Errorf("%s: ce_id = %s", what, rec.Headers["ce_id"])
	}
}

func TestWebSubmissionsReachKafka(t *testing.T) {
	e := newEnv(t, broker(t), "")
	e.start()

	var replies []reply
	var kinds []string
	js, _ := json.Marshal(fields)
	replies = append(replies, e.mustPost("application/json", js, nil))
	kinds = append(kinds, "json")

	nested := map[string]any{"petitioner": map[string]string{
		"name": fields["name"], "phone": fields["phone"], "email": fields["email"], "address": fields["address"]}}
	for _, k := range []string{"subject", "content", "case_number", "court"} {
		nested[k] = fields[k]
	}
	nb, _ := json.Marshal(nested)
	replies = append(replies, e.mustPost("application/json", nb, nil))
	kinds = append(kinds, "nested json")

	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	replies = append(replies, e.mustPost("application/x-www-form-urlencoded", []byte(form.Encode()), nil))
	kinds = append(kinds, "urlencoded")

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	att := bytes.Repeat([]byte("扫描件"), 1000)
	fw, _ := mw.CreateFormFile("attachment", "判决书扫描件.jpg")
	fw.Write(att)
	mw.Close()
	replies = append(replies, e.mustPost(mw.FormDataContentType(), buf.Bytes(), nil))
	kinds = append(kinds, "multipart")

	for i, r := range replies {
		if r.Status != 201 || r.ID == "" || r.TrackingNo == "" {
			t.Fatalf("%s: reply %+v, want 201 with id and tracking_no", kinds[i], r)
		}
	}
	recs := consume(t, e.brokers, e.topic, len(replies), 30*time.Second)
	byID := map[string]record{}
	for _, r := range recs {
		byID[r.Key] = r
	}
	for i, rep := range replies {
		rec, ok := byID[rep.ID]
		if !ok {
			t.Errorf("%s: record %s not in Kafka", kinds[i], rep.ID)
			continue
		}
		checkRecord(t, kinds[i], rec, rep)
	}
	if rec, ok := byID[replies[3].ID]; ok {
		atts, _ := rec.Value["attachments"].([]any)
		if len(atts) != 1 {
			t.Fatalf("multipart attachments = %v", atts)
		}
		a := atts[0].(map[string]any)
		if a["filename"] != "判决书扫描件.jpg" || int(a["size"].(float64)) != len(att) {
			t.Errorf("attachment = %v", a)
		}
		path := strings.TrimPrefix(a["uri"].(string), "file://")
		if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, att) {
			t.Errorf("attachment at %s: %v (%d bytes)", path, err, len(b))
		}
	}
}

func TestIdempotencyKeyOneLogicalPetition(t *testing.T) {
	e := newEnv(t, broker(t), "")
	e.start()
	js, _ := json.Marshal(fields)
	key := map[string]string{"Idempotency-Key": "it-" + randomSuffix()}
	first := e.mustPost("application/json", js, key)
	second := e.mustPost("application/json", js, key)
	if first.Status != 201 || second.Status != 201 || first.ID != second.ID || first.ReceivedAt != second.ReceivedAt || first.TrackingNo != second.TrackingNo {
		t.Fatalf("replies differ: %+v / %+v", first, second)
	}
	// Restart the daemon: the key still gives the same reply.
	if err := e.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	e.start()
	third := e.mustPost("application/json", js, key)
	if third.ID != first.ID || third.ReceivedAt != first.ReceivedAt {
		t.Errorf("after restart: %+v, want %+v", third, first)
	}
	// One more distinct petition so we know the topic is readable.
	other := e.mustPost("application/json", js, nil)
	recs := consumeAll(t, e.brokers, e.topic)
	n := 0
	for _, r := range recs {
		if r.Key == first.ID {
			n++
		}
	}
	if n != 1 || len(recs) != 2 {
		t.Errorf("%d records with the idempotent id (want 1), %d records in all (want 2); other=%s", n, len(recs), other.ID)
	}
}

func TestBadInputGetsFourXXAndNoRecord(t *testing.T) {
	e := newEnv(t, broker(t), "")
	e.start()
	big := `{"content":"` + strings.Repeat("大", 30000) + `"}`
	cases := []struct {
		ctype, body string
		status      int
		field       string
	}{
		{"application/json", big, 413, ""},
		{"text/plain", "请立案", 415, "Content-Type"},
		{"application/json", `{"content":`, 400, ""},
		{"application/json", `{"content":"x","phone_number":"1"}`, 422, "phone_number"},
		{"application/json", `{"name":"张三"}`, 422, "content"},
	}
	for _, c := range cases {
		r := e.mustPost(c.ctype, []byte(c.body), nil)
		if r.Status != c.status || r.Field != c.field || r.Error == "" {
			t.Errorf("%s %.30q: %d field=%q error=%q, want %d field=%q", c.ctype, c.body, r.Status, r.Field, r.Error, c.status, c.field)
		}
	}
	js, _ := json.Marshal(fields)
	good := e.mustPost("application/json", js, nil)
	recs := consumeAll(t, e.brokers, e.topic)
	if len(recs) != 1 || recs[0].Key != good.ID {
		t.Errorf("topic holds %d records, want only the good one", len(recs))
	}
}

func TestCheckReportsUnknownSettingWithLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yaml")
	os.WriteFile(file, []byte(`kafka: {brokers: ["127.0.0.1:9092"]}
routes: {default_topic: a, dead_letter_topic: b}
channels:
  - name: web-portal
    type: web
    settings:
      listen: "127.0.0.1:8080"
      max_bodysize: 1MiB
`), 0o600)
	out, err := exec.Command(binary, "check", "-c", file).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("check exit = %v, want 1; output %s", err, out)
	}
	want := file + `:8: channels[0].settings: unknown key "max_bodysize"`
	if !strings.Contains(string(out), want) {
		t.Errorf("check output %q, want it to contain %q", out, want)
	}
}

// TestSIGTERMDuringBurstLosesNothing: every submission answered 201 before
// or during shutdown is in Kafka, and the daemon exits 0.
func TestSIGTERMDuringBurstLosesNothing(t *testing.T) {
	e := newEnv(t, broker(t), "")
	e.start()
	js, _ := json.Marshal(fields)
	var (
		mu       sync.Mutex
		acked    []string
		accepted atomic.Int32
	)
	halfway := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				r, err := e.post("application/json", js, nil)
				if err != nil {
					return // the listener closed: shutdown
				}
				if r.Status == 201 {
					mu.Lock()
					acked = append(acked, r.ID)
					mu.Unlock()
					if accepted.Add(1) == 300 {
						once.Do(func() { close(halfway) })
					}
				}
			}
		}()
	}
	select {
	case <-halfway:
	case <-time.After(60 * time.Second):
		t.Fatal("burst did not get going")
	}
	if err := e.stop(); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want 0", err)
	}
	wg.Wait()
	recs := consumeAll(t, e.brokers, e.topic)
	have := map[string]bool{}
	for _, r := range recs {
		have[r.Key] = true
	}
	missing := 0
	for _, id := range acked {
		if !have[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged submissions missing from Kafka", missing, len(acked))
	}
	t.Logf("%d submissions acknowledged, %d records in Kafka", len(acked), len(recs))
	if !strings.Contains(e.logs(), "shutdown complete") {
		t.Errorf("no clean shutdown in logs")
	}
}

// TestNormalizedRecordRoutedByCategory: a filing-refusal petition comes out
// with parsed cases, a valid id, an E.164 phone, its category and high
// priority, and a rule on category routes it to the priority topic.
func TestNormalizedRecordRoutedByCategory(t *testing.T) {
	e := newEnv(t, broker(t), "")
	e.start()
	in := map[string]string{
		"name":        "张三",
		"id_number":   "３６０１０２１９８００１０１００１ｘ", // full-width, wrong check char
		"phone":       "0791-8612 3456转8001",
		"subject":     "有案不立",
		"content":     "我于2024年3月提交起诉材料，法院至今不予立案。相关案件（2023）赣0102执1234号、（2021）粤0111民初30063、30062号。身份证号360102198001010013。",
		"case_number": "(2024)赣01民初7号",
	}
	body, _ := json.Marshal(in)
	rep := e.mustPost("application/json", body, nil)
	if rep.Status != 201 {
		t.Fatalf("reply %+v", rep)
	}
	recs := consume(t, e.brokers, e.topic+".priority", 1, 30*time.Second)
	if len(recs) != 1 || recs[0].Key != rep.ID {
		t.Fatalf("priority topic holds %d records, want the petition %s", len(recs), rep.ID)
	}
	tu.ValidatePetition(t, recs[0].Raw)
	v := recs[0].Value
	if v["category"] != "filing_refusal" || v["priority"] != "high" {
		t.Errorf("category %v priority %v, want filing_refusal/high", v["category"], v["priority"])
	}
	p := v["petitioner"].(map[string]any)
	if p["phone"] != "+8679186123456" || p["phone_extension"] != "8001" {
		t.Errorf("phone %v ext %v, want +8679186123456 ext 8001", p["phone"], p["phone_extension"])
	}
	if p["id_number"] != "36010219800101001X" || p["id_number_valid"] != false {
		t.Errorf("id %v valid %v, want the cleaned id kept and marked invalid", p["id_number"], p["id_number_valid"])
	}
	var numbers []string
	for _, c := range v["cases"].([]any) {
		numbers = append(numbers, c.(map[string]any)["number"].(string))
	}
	want := []string{"（2024）赣01民初7号", "（2023）赣0102执1234号", "（2021）粤0111民初30063号", "（2021）粤0111民初30062号"}
	if strings.Join(numbers, ",") != strings.Join(want, ",") {
		t.Errorf("cases %v, want %v", numbers, want)
	}
	if intake := consumeAll(t, e.brokers, e.topic); len(intake) != 0 {
		t.Errorf("the routed petition also went to the default topic")
	}
}
