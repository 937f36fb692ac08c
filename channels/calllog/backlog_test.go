package calllog

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/court12368/petitiond/channels"
)

func TestBehindIn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Master.csv")
	if err := os.WriteFile(path, make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fl := &file{f: f, readOff: 30}
	if n := behindIn(fl); n != 70 {
		t.Errorf("behind %d, want 70", n)
	}
	fl.closed = true
	if n := behindIn(fl); n != 0 {
		t.Errorf("closed file: behind %d, want 0", n)
	}
	if n := behindIn(nil); n != 0 {
		t.Errorf("no file: behind %d, want 0", n)
	}
}

// TestBacklogTail: no backlog before Run, the bytes behind (none once
// everything is read) while it runs, none after.
func TestBacklogTail(t *testing.T) {
	h := newHarness(t, nil)
	appendFile(t, h.cfg.Path, astLine("1709255702.1", "13912345678", "张三", 462, "咨询案件进度"))
	h.start()
	if b := h.ch.Backlog(); b != nil && !slices.Equal(b, []channels.Backlog{{Unit: channels.UnitBytes, N: 0}}) {
		t.Errorf("backlog at start %v", b)
	}
	h.records(1)
	h.waitFor("the backlog of a file read to its end", func() bool {
		return slices.Equal(h.ch.Backlog(), []channels.Backlog{{Unit: channels.UnitBytes, N: 0}})
	})
	h.stop()
	if b := h.ch.Backlog(); b != nil {
		t.Errorf("backlog after Run returned: %v", b)
	}
}

// TestBacklogExport: in export mode the claimed files count too.
func TestBacklogExport(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Mode = ModeExport
		c.Path = filepath.Join(filepath.Dir(c.Path), "*.csv")
	})
	drop(t, filepath.Dir(h.cfg.Path), "a.csv", []byte(astLine("1709255702.1", "13912345678", "张三", 462, "")))
	h.start()
	h.records(1)
	h.waitFor("an empty backlog", func() bool {
		return slices.Equal(h.ch.Backlog(), []channels.Backlog{{Unit: channels.UnitBytes, N: 0}, {Unit: channels.UnitFiles, N: 0}})
	})
}
