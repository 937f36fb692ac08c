package calllog

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/config/units"
)

const testWindow = time.Minute

func newJoinHarness(t *testing.T) (*harness, *fakeClock) {
	h := newHarness(t, func(c *Config) {
		c.CTI = &CTIConfig{Listen: "127.0.0.1:0", Path: "/cti", Window: units.Duration(testWindow)}
	})
	fc := newFakeClock()
	h.clock = fc
	return h, fc
}

func (h *harness) run() *run {
	h.ch.mu.Lock()
	defer h.ch.mu.Unlock()
	return h.ch.cur
}

func (h *harness) joiner() *joiner {
	h.ch.mu.Lock()
	defer h.ch.mu.Unlock()
	if h.ch.cur == nil {
		return nil
	}
	return h.ch.cur.join
}

func (h *harness) waitHeld(n int) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d held lines", n), func() bool { j := h.joiner(); return j != nil && j.heldGauge.Load() == int64(n) })
}

func (h *harness) waitCalls(n int) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d waiting calls", n), func() bool { j := h.joiner(); return j != nil && j.callsGauge.Load() == int64(n) })
}

func note(callID, id, text string, extra string) string {
	return fmt.Sprintf(`{"call_id":%q,"event":"note","id":%q,"note":%q%s}`, callID, id, text, extra)
}

func (h *harness) mustPost(body string) map[string]any {
	h.t.Helper()
	st, rep := h.postCTI(body)
	if st != 202 {
		h.t.Fatalf("POST %s: %d %v", body, st, rep)
	}
	return rep
}

func TestJoinNotesBeforeAndAfterTheLine(t *testing.T) {
	h, fc := newJoinHarness(t)
	h.start()
	h.mustPost(note("j.1", "n1", "当事人询问执行款", `,"at":"2024-03-01T09:20:00+08:00"`))
	h.waitCalls(1)
	appendFile(t, h.cfg.Path, astLine("j.1", "13912345678", "甲", 100, "")+
		astLine("j.2", "13912345678", "乙", 100, "")+
		astLine("j.3", "13912345678", "丙", 100, "")+
		astLine("j.4", "13712345678", "丁", 0, "")) // missed: not held
	h.waitHeld(3)
	recs := h.records(1)
	if ids := strings.Join(sourceIDs(recs), ","); ids != "j.4" {
		t.Fatalf("records before any note after a line: %s, want j.4 (missed calls do not wait)", ids)
	}
	// A note after the line releases it, with the note that came before.
	h.mustPost(note("j.1", "n2", "要求法官回电", ""))
	h.mustPost(note("j.2", "n3", "咨询立案", ""))
	recs = h.records(3)
	by := bySource(t, recs)
	if c := by["j.1"]["content"]; c != "当事人询问执行款\n要求法官回电" {
		t.Errorf("j.1 content = %q: both notes belong in the one record", c)
	}
	if m := by["j.1"]["meta"].(map[string]any); m["call.notes_source"] != "cti" || fmt.Sprint(m["call.cti_events"]) != "[note note]" {
		t.Errorf("j.1 meta = %v", m)
	}
	if c := by["j.2"]["content"]; c != "咨询立案" {
		t.Errorf("j.2 content = %q", c)
	}
	// The window closes for j.3: out without a note.
	h.waitHeld(1)
	fc.Advance(testWindow)
	recs = h.records(4)
	if c := bySource(t, recs)["j.3"]["content"]; c != "" {
		t.Errorf("j.3 content = %q", c)
	}
	if len(recs) != 4 {
		t.Errorf("%d records, want 4", len(recs))
	}
}

func TestJoinFinalNoteAndDuplicates(t *testing.T) {
	h, _ := newJoinHarness(t)
	h.start()
	// Out of order, one of them twice: joined by their times.
	rep := h.mustPost(`[` + note("f.1", "b", "第二句", `,"at":"2024-03-01T09:21:00+08:00","final":true`) + `,` +
		note("f.1", "a", "第一句", `,"at":"2024-03-01T09:20:00+08:00"`) + `,` +
		note("f.1", "a", "第一句", `,"at":"2024-03-01T09:20:00+08:00"`) + `]`)
	if rep["accepted"] != 2.0 || rep["duplicates"] != 1.0 {
		t.Errorf("reply %v, want 2 accepted, 1 duplicate", rep)
	}
	rep = h.mustPost(note("f.1", "b", "第二句", `,"at":"2024-03-01T09:21:00+08:00","final":true`))
	if rep["duplicates"] != 1.0 {
		t.Errorf("redelivery: %v", rep)
	}
	h.waitCalls(1)
	appendFile(t, h.cfg.Path, astLine("f.1", "13912345678", "甲", 100, ""))
	recs := h.records(1) // final: no wait for a later note
	if c := recs[0]["content"]; c != "第一句\n第二句" {
		t.Errorf("content = %q", c)
	}
}

func TestJoinNotesWithoutLineAndLateNotes(t *testing.T) {
	h, fc := newJoinHarness(t)
	h.start()
	h.mustPost(`{"call_id":"k.9","event":"new","caller_number":"13812345678","caller_name":"赵六"}`)
	h.mustPost(note("k.9", "k9n", "电话中断前说明了案号（2023）赣0102民初1234号", ""))
	h.mustPost(`{"call_id":"k.8","event":"hangup"}`) // events without a note and no line: dropped
	h.waitCalls(2)
	fc.Advance(testWindow)
	recs := h.records(1)
	r := recs[0]
	if id := r["source"].(map[string]any)["id"]; id != "cti:k.9#"+"k9n" && !strings.HasPrefix(id.(string), "cti:k.9#") {
		t.Errorf("source id = %v", id)
	}
	pet := r["petitioner"].(map[string]any)
	if pet["phone"] != "+8613812345678" || pet["name"] != "赵六" || !strings.Contains(r["content"].(string), "案号") {
		t.Errorf("note-only record: %v, %q", pet, r["content"])
	}
	if r["meta"].(map[string]any)["call.cdr_missing"] != true {
		t.Errorf("meta = %v", r["meta"])
	}
	h.waitCalls(0)

	// A note after its call's record went out: a follow-up record.
	appendFile(t, h.cfg.Path, astLine("k.1", "13912345678", "甲", 100, ""))
	h.waitHeld(1)
	h.mustPost(note("k.1", "k1a", "第一次说明", ""))
	recs = h.records(2)
	call := bySource(t, recs)["k.1"]
	h.waitFor("the call acknowledged", func() bool { return h.run().pending.Len() == 0 })
	h.mustPost(note("k.1", "k1b", "补充说明", ""))
	recs = h.records(3)
	late := bySource(t, recs)["k.1#note:k1b"]
	if late == nil {
		t.Fatalf("no follow-up record: %v", sourceIDs(recs))
	}
	if late["follow_up_of"] != call["tracking_no"] || late["content"] != "补充说明" {
		t.Errorf("follow-up: follow_up_of %v (call %v), content %q", late["follow_up_of"], call["tracking_no"], late["content"])
	}
	if late["petitioner"].(map[string]any)["phone"] != "+8613912345678" {
		t.Errorf("follow-up petitioner = %v", late["petitioner"])
	}
}

func TestJoinHeldLineHoldsCheckpointAndSurvivesRestart(t *testing.T) {
	h, fc := newJoinHarness(t)
	h.start()
	appendFile(t, h.cfg.Path, astLine("h.1", "13912345678", "甲", 100, "")+astLine("h.2", "13712345678", "乙", 0, ""))
	h.waitHeld(1)
	h.records(1) // h.2, missed
	h.waitFor("h.2 acknowledged", func() bool { return h.run().pending.Len() == 0 && h.joiner().acks.len() == 0 })
	h.waitFor("a checkpoint saved", func() bool { _, ok := h.savedOffsets()["Master.csv"]; return ok })
	if off := h.savedOffsets()["Master.csv"]; off != 0 {
		t.Fatalf("offset = %d: it passed a line held for its note", off)
	}
	// A note for a call whose line is not written yet, then a restart.
	h.mustPost(note("h.3", "h3n", "重启前收到的备注", ""))
	h.waitCalls(1)
	h.stop()
	if off := h.savedOffsets()["Master.csv"]; off != 0 {
		t.Fatalf("offset after stop = %d, want 0", off)
	}
	h.start()
	h.waitHeld(1) // h.1 read again and held again
	appendFile(t, h.cfg.Path, astLine("h.3", "13912345678", "丙", 100, ""))
	h.waitHeld(2) // the note before h.3 is not final: it waits for one after
	fc.Advance(testWindow)
	h.waitFor("h.1 and h.3 produced", func() bool {
		by := map[string]bool{}
		for _, id := range sourceIDs(h.messages("in")) {
			by[id] = true
		}
		return by["h.1"] && by["h.3"]
	})
	for _, r := range h.messages("in") {
		if r["source"].(map[string]any)["id"] == "h.3" && r["content"] != "重启前收到的备注" {
			t.Errorf("h.3 content = %q: the journaled note was not joined after the restart", r["content"])
		}
	}
	h.waitFor("the checkpoint at the end", func() bool {
		st, _ := osStatSize(h.cfg.Path)
		return h.savedOffsets()["Master.csv"] == st
	})
}

func TestCTIReplies(t *testing.T) {
	h, _ := newJoinHarness(t)
	h.start()
	for _, tc := range []struct {
		body   string
		status int
		field  string
	}{
		{`{`, 400, ""},
		{`{"event":"note","note":"x"}`, 422, "call_id"},
		{`{"call_id":"1","note":"x"}`, 422, "event"},
		{`[{"call_id":"1","event":"note"},{"call_id":"","event":"note"}]`, 422, "[1].call_id"},
		{`{"call_id":1709255702.20,"event":"hangup","at":"yesterday"}`, 422, "at"},
		{`{"call_id":1709255702.20,"event":"transfer"}`, 202, ""},
		{`{"call_id":1709255702.20,"event":"hangup","at":1709255800}`, 202, ""},
	} {
		st, rep := h.postCTI(tc.body)
		if st != tc.status || (tc.field != "" && rep["field"] != tc.field) {
			t.Errorf("%s: %d %v, want %d field %q", tc.body, st, rep, tc.status, tc.field)
		}
	}
}

func osStatSize(p string) (int64, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
