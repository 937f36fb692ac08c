package calllog

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestTailRecordPerLineAndPartialLine(t *testing.T) {
	h := newHarness(t, nil)
	path := h.cfg.Path
	line3 := astLine("1709255702.3", "13712345678", "王五", 0, "")
	appendFile(t, path, astLine("1709255702.1", "13912345678", "张三", 462, "咨询案件进度")+
		astLine("1709255702.2", "075588886666", "李四", 30, "要求联系法官")+
		line3[:40]) // a line being written
	h.start()
	recs := h.records(2)
	// Complete the line and add one: a partial line taken early would be
	// a malformed line (a dead letter) and a wrong record.
	appendFile(t, path, line3[40:]+astLine("1709255702.4", "13812345678", "赵六", 12, ""))
	recs = h.records(4)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4", len(recs))
	}
	if dl := h.messages("dead"); len(dl) != 0 {
		t.Fatalf("dead letters: %v", dl)
	}
	by := bySource(t, recs)
	r1 := by["1709255702.1"]
	if r1 == nil {
		t.Fatalf("no record for uniqueid 1709255702.1: %v", sourceIDs(recs))
	}
	pet := r1["petitioner"].(map[string]any)
	if pet["phone"] != "+8613912345678" || pet["name"] != "张三" || r1["content"] != "咨询案件进度" {
		t.Errorf("record 1: petitioner %v, content %q", pet, r1["content"])
	}
	if r1["received_at"] != "2024-03-01T01:15:02Z" {
		t.Errorf("received_at = %v, want the call start", r1["received_at"])
	}
	meta := r1["meta"].(map[string]any)
	if meta["call.billsec"] != 462.0 || meta["call.disposition"] != "ANSWERED" || meta["call.missed"] != false {
		t.Errorf("meta = %v", meta)
	}
	if !strings.HasSuffix(r1["source"].(map[string]any)["ref"].(string), "Master.csv:0") {
		t.Errorf("source.ref = %v", r1["source"])
	}
	r3 := by["1709255702.3"]
	labels, _ := r3["labels"].([]any)
	if len(labels) == 0 || labels[0] != "callback_needed" || r3["subject"] != "12368热线来电（未接）" {
		t.Errorf("missed call: labels %v, subject %v", labels, r3["subject"])
	}
	// The original is the line as it was read: by default its byte range
	// in the stored chunk of the file.
	orig := r1["source"].(map[string]any)["original"].(map[string]any)
	if got, want := h.original(orig), strings.TrimSuffix(astLine("1709255702.1", "13912345678", "张三", 462, "咨询案件进度"), "\n"); got != want {
		t.Errorf("original = %q, want the line %q", got, want)
	}
	size, _ := os.Stat(path)
	h.waitFor("the checkpoint at the end", func() bool { return h.savedOffsets()["Master.csv"] == size.Size() })
}

func TestTailRotation(t *testing.T) {
	h := newHarness(t, nil)
	path := h.cfg.Path
	appendFile(t, path, astLine("r.1", "13912345678", "甲", 10, "一")+astLine("r.2", "13912345678", "乙", 10, "二"))
	h.start()
	h.records(2)

	// The writer still has the old file open when it is renamed, and
	// writes one more line to it, then the new file is created.
	old, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, astLine("r.4", "13912345678", "丁", 10, "四"))
	old.WriteString(astLine("r.3", "13912345678", "丙", 10, "三"))
	old.WriteString(astLine("r.3b", "13912345678", "丙", 10, "三b")[:30]) // torn at the end of the old file
	old.Close()
	appendFile(t, path, astLine("r.5", "13912345678", "戊", 10, "五"))

	recs := h.records(5)
	h.deadLetters(1) // the torn last line of the rotated file, once it stopped growing
	ids := sourceIDs(bySourceList(t, recs))
	if strings.Join(ids, ",") != "r.1,r.2,r.3,r.4,r.5" {
		t.Errorf("records %v, want r.1 … r.5 once each", ids)
	}
	h.waitFor("the rotated file retired", func() bool {
		off := h.savedOffsets()
		st, _ := os.Stat(path)
		return off["Master.csv"] == st.Size()
	})
	if n := len(h.messages("in")); n != 5 {
		t.Errorf("%d records, want 5", n)
	}
}

func bySourceList(t *testing.T, recs []map[string]any) []map[string]any {
	bySource(t, recs) // fails on duplicates
	return recs
}

func TestTailRestartResumesAtCheckpoint(t *testing.T) {
	h := newHarness(t, nil)
	path := h.cfg.Path
	appendFile(t, path, astLine("s.1", "13912345678", "甲", 10, "一")+astLine("s.2", "13912345678", "乙", 10, "二"))
	h.start()
	h.records(2)
	h.stop()
	appendFile(t, path, astLine("s.3", "13912345678", "丙", 10, "三"))
	h.start()
	recs := h.records(3)
	h.stop()
	if ids := strings.Join(sourceIDs(recs), ","); ids != "s.1,s.2,s.3" {
		t.Errorf("records %s, want s.1,s.2,s.3 once each", ids)
	}
}

func TestTailRotatedWhileStopped(t *testing.T) {
	h := newHarness(t, nil)
	path := h.cfg.Path
	appendFile(t, path, astLine("w.1", "13912345678", "甲", 10, "一"))
	h.start()
	h.records(1)
	h.stop()
	// While stopped: a line lands in the old file, which is rotated to a
	// name the path does not match, and a new file is started.
	appendFile(t, path, astLine("w.2", "13912345678", "乙", 10, "二"))
	if err := os.Rename(path, filepath.Join(filepath.Dir(path), "Master-20240301.old")); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, astLine("w.3", "13912345678", "丙", 10, "三"))
	h.start()
	recs := h.records(3)
	if ids := strings.Join(sourceIDs(bySourceList(t, recs)), ","); ids != "w.1,w.2,w.3" {
		t.Errorf("records %s, want w.1,w.2,w.3", ids)
	}
}

func TestTailParseErrorDeadLettered(t *testing.T) {
	h := newHarness(t, nil)
	path := h.cfg.Path
	bad := `"","139","12368","x","not","enough","columns"`
	appendFile(t, path, bad+"\n\n"+astLine("p.1", "13912345678", "甲", 10, "一"))
	h.start()
	h.records(1)
	dl := h.deadLetters(1)
	if len(dl) != 1 {
		t.Fatalf("%d dead letters", len(dl))
	}
	d := dl[0]
	if h.original(d["original"].(map[string]any)) != bad || d["stage"] != "normalize" {
		t.Errorf("dead letter = %v", d)
	}
	if !strings.Contains(d["error"].(string), "columns") {
		t.Errorf("error = %v", d["error"])
	}
	if strings.Contains(d["error"].(string), "139") {
		t.Errorf("error quotes the caller number: %v", d["error"])
	}
	size, _ := os.Stat(path)
	h.waitFor("the checkpoint past the bad line", func() bool { return h.savedOffsets()["Master.csv"] == size.Size() })
}

func TestTailOversizeLine(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxLineSize = 1024 })
	path := h.cfg.Path
	appendFile(t, path, strings.Repeat("x", 3000)) // still being written
	h.start()
	h.deadLetters(1)
	appendFile(t, path, strings.Repeat("y", 2000)+"\n"+astLine("o.1", "13912345678", "甲", 10, "一"))
	recs := h.records(1)
	if len(recs) != 1 || len(h.messages("dead")) != 1 {
		t.Errorf("%d records, %d dead letters; want 1 and 1", len(recs), len(h.messages("dead")))
	}
	size, _ := os.Stat(path)
	h.waitFor("the checkpoint at the end", func() bool { return h.savedOffsets()["Master.csv"] == size.Size() })
}

func TestTailStartAtEnd(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.StartAt = "end" })
	path := h.cfg.Path
	appendFile(t, path, astLine("e.1", "13912345678", "甲", 10, "一"))
	size, _ := os.Stat(path)
	h.start()
	h.waitFor("the file followed from its end", func() bool { return h.savedOffsets()["Master.csv"] == size.Size() })
	appendFile(t, path, astLine("e.2", "13912345678", "乙", 10, "二"))
	recs := h.records(1)
	if ids := strings.Join(sourceIDs(recs), ","); ids != "e.2" {
		t.Errorf("records %s, want only e.2", ids)
	}
}

// The default originals: chunk stores the file's bytes of one read as one
// blob, each record naming its line's byte range.
func TestTailOriginalsChunk(t *testing.T) {
	h := newHarness(t, nil)
	path := h.cfg.Path
	l1, l2 := astLine("c.1", "13912345678", "甲", 10, "一"), astLine("c.2", "13912345678", "乙", 10, "二")
	appendFile(t, path, l1+l2)
	h.start()
	recs := h.records(2)
	by := bySource(t, recs)
	o1 := by["c.1"]["source"].(map[string]any)["original"].(map[string]any)
	o2 := by["c.2"]["source"].(map[string]any)["original"].(map[string]any)
	if o1["sha256"] != o2["sha256"] {
		t.Errorf("lines of one read in different chunks: %v %v", o1, o2)
	}
	want := "#bytes=" + strconv.Itoa(len(l1)) + "-" + strconv.Itoa(len(l1)+len(l2)-2)
	if !strings.HasSuffix(o2["uri"].(string), want) {
		t.Errorf("uri = %v, want …%s", o2["uri"], want)
	}
	rc, err := h.blobs.Open(o1["sha256"].(string))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b := make([]byte, 4096)
	n, _ := rc.Read(b)
	if string(b[:n]) != l1+l2 {
		t.Errorf("chunk = %q", b[:n])
	}
}

// With originals: line every line is its own blob: the record's
// original sha256 is the line's.
func TestTailOriginalsLine(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Originals = OriginalsLine })
	l1 := astLine("l.1", "13912345678", "甲", 10, "一")
	appendFile(t, h.cfg.Path, l1)
	h.start()
	orig := h.records(1)[0]["source"].(map[string]any)["original"].(map[string]any)
	sum := sha256.Sum256([]byte(strings.TrimSuffix(l1, "\n")))
	if orig["sha256"] != hex.EncodeToString(sum[:]) || strings.Contains(orig["uri"].(string), "#bytes=") {
		t.Errorf("original = %v, want the line's own blob", orig)
	}
}
