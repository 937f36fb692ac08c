package calllog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/calllog/cdr"
	"github.com/court12368/petitiond/config/units"
)

// drop writes a file into the inbox the safe way: written elsewhere, then
// renamed in.
func drop(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(dir), "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func TestExportDoneAndError(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Mode = ModeExport
		c.Path = filepath.Join(filepath.Dir(c.Path), "inbox", "*.csv")
	})
	inbox := filepath.Join(h.dir, "cdr", "inbox")
	os.MkdirAll(inbox, 0o755)
	drop(t, inbox, "a.csv", []byte(astLine("x.1", "13912345678", "甲", 10, "一")+astLine("x.2", "13912345678", "乙", 0, "")))
	// The last line of an export needs no newline.
	drop(t, inbox, "b.csv", []byte(astLine("x.3", "13912345678", "丙", 10, "三")+`"bad","line"`))
	drop(t, inbox, "ignored.txt", []byte("not matched by the glob\n"))
	h.start()
	recs := h.records(3)
	h.deadLetters(1)
	h.waitFor("files moved", func() bool {
		return exists(filepath.Join(inbox, "done", "a.csv")) && exists(filepath.Join(inbox, "error", "b.csv"))
	})
	if ids := strings.Join(sourceIDs(recs), ","); ids != "x.1,x.2,x.3" {
		t.Errorf("records %s", ids)
	}
	slots, _ := os.ReadDir(filepath.Join(inbox, "processing", "hotline"))
	for _, s := range slots {
		ents, _ := os.ReadDir(filepath.Join(inbox, "processing", "hotline", s.Name()))
		if !s.IsDir() || len(ents) != 1 || ents[0].Name() != ".lock" {
			t.Errorf("processing dir not empty: %v %v", s.Name(), ents)
		}
	}
	if !exists(filepath.Join(inbox, "ignored.txt")) {
		t.Error("a file the glob does not match was taken")
	}
	ref := bySource(t, recs)["x.3"]["source"].(map[string]any)["ref"].(string)
	if ref != filepath.Join(inbox, "b.csv")+":0" {
		t.Errorf("source.ref = %s, want the name it was dropped as", ref)
	}
}

func TestExportResumesClaimedFile(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Mode = ModeExport
		c.Path = filepath.Join(filepath.Dir(c.Path), "inbox")
	})
	inbox := filepath.Join(h.dir, "cdr", "inbox")
	// A file claimed by an earlier run that stopped before its ack.
	proc := filepath.Join(inbox, "processing", "hotline")
	os.MkdirAll(proc, 0o755)
	os.WriteFile(filepath.Join(proc, "left.csv"), []byte(astLine("y.1", "13912345678", "甲", 10, "一")), 0o644)
	h.start()
	h.records(1)
	h.waitFor("file moved", func() bool { return exists(filepath.Join(inbox, "done", "left.csv")) })
}

// A claim folder whose lock no process holds (its instance died) is taken
// over; one whose lock is held (a running instance) is left alone.
func TestExportTakesOverClaimsOfGoneInstance(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Mode = ModeExport
		c.Path = filepath.Join(filepath.Dir(c.Path), "inbox")
		c.PollInterval = units.Duration(20 * time.Millisecond)
	})
	inbox := filepath.Join(h.dir, "cdr", "inbox")
	root := filepath.Join(inbox, "processing", "hotline")
	gone := filepath.Join(root, "gone-1")
	os.MkdirAll(gone, 0o755)
	os.WriteFile(filepath.Join(gone, ".lock"), nil, 0o644)
	os.WriteFile(filepath.Join(gone, "dead.csv"), []byte(astLine("z.1", "13912345678", "甲", 10, "一")), 0o644)
	held, err := channels.TakeClaimSlot(root) // a running instance
	if err != nil {
		t.Fatal("lock", err)
	}
	defer held.Close()
	alive := held.Dir
	os.WriteFile(filepath.Join(alive, "busy.csv"), []byte(astLine("z.2", "13912345678", "乙", 10, "二")), 0o644)
	h.start()
	if ids := strings.Join(sourceIDs(h.records(1)), ","); ids != "z.1" {
		t.Errorf("records %s", ids)
	}
	h.waitFor("file moved", func() bool { return exists(filepath.Join(inbox, "done", "dead.csv")) })
	time.Sleep(500 * time.Millisecond) // 25 polls: more than two looks for gone instances
	if !exists(filepath.Join(alive, "busy.csv")) {
		t.Error("a file claimed by a running instance was taken")
	}
}

func TestExportGB18030Mapping(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Mode = ModeExport
		c.Path = filepath.Join(filepath.Dir(c.Path), "inbox", "*.csv")
		c.Format = "csv"
		c.Encoding = "gb18030"
		c.Mapping = &cdr.Mapping{
			Header: true,
			Fields: map[string]string{
				"uniqueid": "话单编号", "caller_number": "主叫号码", "caller_name": "来电人", "start": "开始时间",
				"billsec": "通话时长", "disposition": "呼叫结果", "agent": "坐席工号", "notes": "来电摘要",
			},
			TimeLayout:   "%Y/%m/%d %H:%M:%S",
			Dispositions: map[string]string{"人工接听": "ANSWERED", "排队放弃": "ABANDONED"},
		}
	})
	inbox := filepath.Join(h.dir, "cdr", "inbox")
	os.MkdirAll(inbox, 0o755)
	utf := "话单编号,主叫号码,来电人,开始时间,通话时长,呼叫结果,坐席工号,来电摘要\r\n" +
		"G001,13912345678,欧阳娜娜,2024/03/01 09:15:02,120,人工接听,8001,询问（2023）赣0102执1234号执行进度\r\n" +
		"G002,079186123456,龍飛,2024/03/01 09:20:00,0,排队放弃,,\r\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(utf)
	if err != nil {
		t.Fatal(err)
	}
	drop(t, inbox, "daily.csv", []byte(gb))
	h.start()
	by := bySource(t, h.records(2))
	r1, r2 := by["G001"], by["G002"]
	if r1 == nil || r2 == nil {
		t.Fatalf("records %v", by)
	}
	if n := r1["petitioner"].(map[string]any)["name"]; n != "欧阳娜娜" {
		t.Errorf("name = %q", n)
	}
	if n := r2["petitioner"].(map[string]any)["name"]; n != "龍飛" {
		t.Errorf("name = %q", n)
	}
	if c := r1["content"]; c != "询问（2023）赣0102执1234号执行进度" {
		t.Errorf("content = %q", c)
	}
	if p := r2["petitioner"].(map[string]any)["phone"]; p != "+8679186123456" {
		t.Errorf("phone = %q", p)
	}
	if labels := r2["labels"].([]any); len(labels) == 0 || labels[0] != "callback_needed" {
		t.Errorf("abandoned call labels = %v", labels)
	}
	if d := r2["meta"].(map[string]any)["call.disposition"]; d != "ABANDONED" {
		t.Errorf("disposition = %v", d)
	}
	h.waitFor("file moved", func() bool { return exists(filepath.Join(inbox, "done", "daily.csv")) })
}
