package integration

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/court12368/petitiond/internal/testutil"
	tu "github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/petition"
)

// calllogYAML is a calllog channel entry for newEnv.
func calllogYAML(name string, settings ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    type: calllog\n    settings:\n", name)
	for _, s := range settings {
		b.WriteString("      " + s + "\n")
	}
	return b.String()
}

// masterLine is an 18-column Asterisk Master.csv line (uniqueid, userfield
// as notes); billsec 0 is a missed call.
func masterLine(uid, src, name string, billsec int, notes string) string {
	answer, disp := `"2024-03-01 09:15:03"`, "ANSWERED"
	if billsec == 0 {
		answer, disp = "", "NO ANSWER"
	}
	return fmt.Sprintf(`"","%s","12368","from-trunk","""%s"" <%s>","PJSIP/trunk-00000020","PJSIP/8001-00000021","Queue","petitions,t,,,300","2024-03-01 09:15:02",%s,"2024-03-01 09:22:45",%d,%d,"%s","DOCUMENTATION","%s","%s"`,
		src, name, src, answer, billsec+1, billsec, disp, uid, notes) + "\n"
}

func sourceID(r record) string {
	s, _ := r.Value["source"].(map[string]any)
	id, _ := s["id"].(string)
	return id
}

// waitForCalls consumes the topic until every wanted source id is there
// (or the deadline passes) and returns all records.
func waitForCalls(t *testing.T, e *env, want []string, within time.Duration) []record {
	t.Helper()
	var recs []record
	missing := len(want)
	if !testutil.Eventually(within, func() bool {
		// The priority topic too: the harness routes filing refusals there.
		recs = append(consumeAll(t, e.brokers, e.topic), consumeAll(t, e.brokers, e.topic+".priority")...)
		have := map[string]bool{}
		for _, r := range recs {
			have[sourceID(r)] = true
		}
		missing = 0
		for _, id := range want {
			if !have[id] {
				missing++
			}
		}
		return missing == 0
	}) {
		t.Fatalf("%d of %d calls missing from Kafka after %v\n%s", missing, len(want), within, e.logs())
	}
	return recs
}

// checkCalls checks one record per call (exactly one unless dupsOK), with
// the deterministic id, a valid schema and the call's facts.
func checkCalls(t *testing.T, channel string, recs []record, want []string, dupsOK bool) (dups int) {
	t.Helper()
	wanted := map[string]bool{}
	for _, id := range want {
		wanted[id] = true
	}
	seen := map[string]int{}
	for _, r := range recs {
		sid := sourceID(r)
		if !wanted[sid] {
			t.Errorf("record for unexpected source id %q", sid)
			continue
		}
		if id := petition.ID(channel, sid); r.Key != id || r.Value["id"] != id {
			t.Errorf("call %s: id %v (key %s), want %s: a call produced again must keep its id", sid, r.Value["id"], r.Key, id)
		}
		seen[sid]++
		if seen[sid] == 2 {
			dups++
		}
	}
	for _, id := range want {
		if seen[id] == 0 {
			t.Errorf("call %s missing", id)
		}
		if seen[id] > 1 && !dupsOK {
			t.Errorf("call %s produced %d times", id, seen[id])
		}
	}
	for i, r := range recs {
		if i < 50 || i%97 == 0 { // the schema check is slow; a sample suffices
			tu.ValidatePetition(t, r.Raw)
		}
	}
	return dups
}

// TestCalllogTailLineByLineWithRotation writes a Master.csv line by line —
// lines split over two writes — while the daemon tails it, rotates it half
// way (the writer still adds lines to the renamed file), and checks that
// every call is in Kafka exactly once.
func TestCalllogTailLineByLineWithRotation(t *testing.T) {
	kafka := broker(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "Master.csv")
	const name = "hotline-tail"
	e := newEnv(t, kafka, calllogYAML(name, "path: "+path, "format: asterisk-csv", "area_code: \"791\"",
		"poll_interval: 20ms", "rotate_wait: 1s", "checkpoint_interval: 100ms"))
	e.start()

	tag := randomSuffix()
	const n = 400
	var want []string
	cur, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var renamed *os.File // the rotated file, still written to for a moment
	for i := 0; i < n; i++ {
		uid := fmt.Sprintf("%s.%d", tag, i)
		want = append(want, uid)
		billsec := 30 + i
		if i%5 == 0 {
			billsec = 0 // missed
		}
		line := masterLine(uid, fmt.Sprintf("139%08d", i), "张三", billsec, fmt.Sprintf("第%d个来电的诉求", i))
		w := cur
		if renamed != nil {
			w = renamed
		}
		cut := 17 + i%(len(line)-20)
		if _, err := w.WriteString(line[:cut]); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			time.Sleep(2 * time.Millisecond) // the daemon sees a partial line
		}
		if _, err := w.WriteString(line[cut:]); err != nil {
			t.Fatal(err)
		}
		switch i {
		case n / 2:
			// logrotate: rename and create; the writer keeps writing to the
			// old file for three more lines.
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			renamed = cur
			if cur, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
				t.Fatal(err)
			}
		case n/2 + 3:
			renamed.Close()
			renamed = nil
		}
	}
	cur.Close()
	recs := waitForCalls(t, e, want, 90*time.Second)
	if err := e.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	recs = consumeAll(t, e.brokers, e.topic)
	checkCalls(t, name, recs, want, false)
	if len(recs) != n {
		t.Errorf("%d records for %d calls", len(recs), n)
	}
	for _, r := range recs {
		v := r.Value
		meta := v["meta"].(map[string]any)
		pet := v["petitioner"].(map[string]any)
		if !strings.HasPrefix(pet["phone"].(string), "+86139") || pet["name"] != "张三" {
			t.Errorf("%s: petitioner %v", sourceID(r), pet)
		}
		labels := v["labels"].([]any)
		missed := meta["call.missed"] == true
		if missed != slices.Contains(labels, any("callback_needed")) {
			t.Errorf("%s: missed %v, labels %v", sourceID(r), missed, labels)
		}
		if !strings.HasPrefix(v["content"].(string), "第") {
			t.Errorf("%s: content %q", sourceID(r), v["content"])
		}
		if v["received_at"] != "2024-03-01T01:15:02Z" {
			t.Errorf("%s: received_at %v", sourceID(r), v["received_at"])
		}
	}
	if dl := consumeAll(t, e.brokers, e.dead); len(dl) != 0 {
		t.Errorf("%d dead letters (a partial line taken too early?)", len(dl))
	}
}

// TestCalllogKillAndRestart kills the daemon (SIGKILL) while it tails a
// busy file; lines keep coming while it is down. After the restart every
// call is in Kafka, and a call produced twice has the same id both times.
func TestCalllogKillAndRestart(t *testing.T) {
	kafka := broker(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "Master.csv")
	const name = "hotline-kill"
	e := newEnv(t, kafka, calllogYAML(name, "path: "+path, "format: asterisk-csv",
		"poll_interval: 20ms", "checkpoint_interval: 50ms", "max_in_flight: 200"))
	e.start()
	tag := randomSuffix()
	var want []string
	write := func(from, to int) {
		var b bytes.Buffer
		for i := from; i < to; i++ {
			uid := fmt.Sprintf("%s.%d", tag, i)
			want = append(want, uid)
			b.WriteString(masterLine(uid, "13912345678", "李四", i%3*60, "要求回电"))
			if b.Len() > 64<<10 {
				appendTo(t, path, b.String())
				b.Reset()
			}
		}
		appendTo(t, path, b.String())
	}
	write(0, 4000)
	// Kill once part of the file is through.
	deadline := time.Now().Add(60 * time.Second)
	for len(consume(t, e.brokers, e.topic, 300, 2*time.Second)) < 300 {
		if time.Now().After(deadline) {
			t.Fatalf("nothing produced\n%s", e.logs())
		}
	}
	e.kill()
	before := len(consumeAll(t, e.brokers, e.topic))
	t.Logf("killed with %d of 4000 records in Kafka", before)
	write(4000, 5000) // the switch goes on writing
	e.start()
	recs := waitForCalls(t, e, want, 120*time.Second)
	if err := e.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	recs = consumeAll(t, e.brokers, e.topic)
	dups := checkCalls(t, name, recs, want, true)
	t.Logf("%d records for %d calls (%d calls produced twice, with the same id)", len(recs), len(want), dups)
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestCalllogGB18030Export drops a vendor's GB18030 export with a Chinese
// header line in a folder: the Chinese caller names and notes come out
// intact, the original is the line's GB18030 bytes, the file ends in done/.
func TestCalllogGB18030Export(t *testing.T) {
	kafka := broker(t)
	inbox := filepath.Join(t.TempDir(), "inbox")
	os.MkdirAll(inbox, 0o755)
	const name = "hotline-export"
	e := newEnv(t, kafka, calllogYAML(name, "path: "+filepath.Join(inbox, "*.csv"), "format: csv", "mode: export",
		"encoding: gb18030", "min_age: 0s", "poll_interval: 50ms",
		"mapping:",
		"  header: true",
		"  fields: {uniqueid: 话单编号, caller_number: 主叫号码, caller_name: 来电人, start: 开始时间, billsec: 通话时长, disposition: 呼叫结果, agent: 坐席工号, notes: 来电摘要}",
		`  time_layout: "%Y/%m/%d %H:%M:%S"`,
		"  dispositions: {人工接听: ANSWERED, 排队放弃: ABANDONED}"))
	e.start()
	tag := randomSuffix()
	rows := []struct{ id, num, who, disp, bill, notes string }{
		{tag + "-1", "13912345678", "欧阳娜娜", "人工接听", "120", "询问（2023）赣0102执1234号执行进度"},
		{tag + "-2", "079186123456", "龍飛", "排队放弃", "0", ""},
		{tag + "-3", "13812345678", "王䶮", "人工接听", "65", "反映案件审理进度，要求回复"}, // 䶮: a 4-byte GB18030 character
	}
	header := "话单编号,主叫号码,来电人,开始时间,通话时长,呼叫结果,坐席工号,来电摘要"
	var gbLines []string
	var want []string
	for _, r := range rows {
		want = append(want, r.id)
		gbLines = append(gbLines, gb18030(t, fmt.Sprintf("%s,%s,%s,2024/03/01 09:15:02,%s,%s,8001,%s", r.id, r.num, r.who, r.bill, r.disp, r.notes)))
	}
	data := gb18030(t, header) + "\r\n" + strings.Join(gbLines, "\r\n") + "\r\n"
	tmp := filepath.Join(filepath.Dir(inbox), "daily.tmp")
	os.WriteFile(tmp, []byte(data), 0o644)
	if err := os.Rename(tmp, filepath.Join(inbox, "daily-"+tag+".csv")); err != nil {
		t.Fatal(err)
	}
	recs := waitForCalls(t, e, want, 60*time.Second)
	checkCalls(t, name, recs, want, false)
	by := map[string]record{}
	for _, r := range recs {
		by[sourceID(r)] = r
	}
	for i, row := range rows {
		v := by[row.id].Value
		pet := v["petitioner"].(map[string]any)
		if pet["name"] != row.who || v["content"] != row.notes {
			t.Errorf("%s: name %q content %q, want %q %q", row.id, pet["name"], v["content"], row.who, row.notes)
		}
		// The original is the line as it was in the file: GB18030, with
		// its \r (only the \n ends the line).
		uri := v["source"].(map[string]any)["original"].(map[string]any)["uri"].(string)
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(u.Path)
		if err != nil {
			t.Fatal(err)
		}
		// By default the blob is the chunk of the file the line was read
		// in; the URI's fragment names the line's bytes in it.
		if first, last, ok := strings.Cut(strings.TrimPrefix(u.Fragment, "bytes="), "-"); ok {
			a, err1 := strconv.Atoi(first)
			z, err2 := strconv.Atoi(last)
			if err1 != nil || err2 != nil || a > z || z >= len(got) {
				t.Fatalf("%s: bad byte range in %s", row.id, uri)
			}
			got = got[a : z+1]
		}
		if string(got) != gbLines[i]+"\r" {
			t.Errorf("%s: original %q, want the GB18030 line", row.id, got)
		}
	}
	if labels := by[rows[1].id].Value["labels"].([]any); !slices.Contains(labels, any("callback_needed")) {
		t.Errorf("abandoned call labels %v", labels)
	}
	waitFile(t, filepath.Join(inbox, "done", "daily-"+tag+".csv"), 30*time.Second)
}

func waitListening(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	var err error
	if !testutil.Eventually(within, func() bool {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("nothing listens on %s: %v", addr, err)
	}
}

func gb18030(t *testing.T, s string) string {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func waitFile(t *testing.T, path string, within time.Duration) {
	t.Helper()
	if !testutil.Eventually(within, func() bool { _, err := os.Stat(path); return err == nil }) {
		t.Fatalf("%s did not appear", path)
	}
}

// TestCalllogCTINotes posts CTI notes before and after their CDR lines:
// each ends up in its call's record; a note before and one after the same
// line end up in the same record.
func TestCalllogCTINotes(t *testing.T) {
	kafka := broker(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "Master.csv")
	cti := freeAddr(t)
	const name = "hotline-cti"
	e := newEnv(t, kafka, calllogYAML(name, "path: "+path, "format: asterisk-csv", "poll_interval: 20ms",
		fmt.Sprintf("cti: {listen: %q, path: /cti, window: 4s}", cti)))
	e.start()
	// Topics are created in the background after the start: until they
	// are served the first records wait, and the 4 s join window below
	// would pass before the notes are posted.
	if st, took := waitReady(t, e, 200, 60*time.Second); st != 200 {
		t.Fatalf("/readyz = %d after %v, want 200", st, took)
	}
	waitListening(t, cti, 30*time.Second)
	tag := randomSuffix()
	a, b, c, d := tag+".a", tag+".b", tag+".c", tag+".d"
	post := func(body string) {
		t.Helper()
		resp, err := http.Post("http://"+cti+"/cti", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Fatalf("POST %s: %d %s", body, resp.StatusCode, rb)
		}
	}
	post(fmt.Sprintf(`{"call_id":%q,"event":"new","id":"%s-1","caller_number":"13912345678"}`, a, a))
	post(fmt.Sprintf(`{"call_id":%q,"event":"note","id":"%s-2","note":"A：询问执行款何时到账"}`, a, a))
	post(fmt.Sprintf(`{"call_id":%q,"event":"note","id":"%s-1","note":"C：第一段备注","at":"2024-03-01T09:20:00+08:00"}`, c, c))
	appendTo(t, path, masterLine(a, "13912345678", "甲", 100, "")+masterLine(b, "13812345678", "乙", 100, "")+
		masterLine(c, "13712345678", "丙", 100, "")+masterLine(d, "13612345678", "丁", 0, ""))
	// The missed call d is produced at once, after the joiner took the
	// lines before it: the notes below come after their lines.
	waitForCalls(t, e, []string{d}, 30*time.Second)
	post(fmt.Sprintf(`{"call_id":%q,"event":"note","id":"%s-1","note":"B：要求联系承办法官"}`, b, b))
	post(fmt.Sprintf(`{"call_id":%q,"event":"note","id":"%s-1","note":"B：要求联系承办法官"}`, b, b)) // a duplicate
	post(fmt.Sprintf(`[{"call_id":%q,"event":"note","id":"%s-2","note":"C：第二段备注","at":"2024-03-01T09:25:00+08:00"}]`, c, c))
	want := []string{a, b, c, d}
	recs := waitForCalls(t, e, want, 60*time.Second)
	if err := e.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	recs = consumeAll(t, e.brokers, e.topic)
	checkCalls(t, name, recs, want, false)
	by := map[string]record{}
	for _, r := range recs {
		by[sourceID(r)] = r
	}
	for id, content := range map[string]string{
		a: "A：询问执行款何时到账",
		b: "B：要求联系承办法官",
		c: "C：第一段备注\nC：第二段备注",
		d: "",
	} {
		if got := by[id].Value["content"]; got != content {
			t.Errorf("%s: content %q, want %q", id, got, content)
		}
	}
	if labels := by[d].Value["labels"].([]any); !slices.Contains(labels, any("callback_needed")) {
		t.Errorf("missed call labels %v", labels)
	}
	if src := by[c].Value["meta"].(map[string]any)["call.notes_source"]; src != "cti" {
		t.Errorf("notes source %v", src)
	}
}
