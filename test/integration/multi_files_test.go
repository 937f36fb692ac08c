package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/internal/testutil"
)

// shareTopics makes b produce to a's topics: two copies of one config.
func shareTopics(a, b *env) {
	cfg, _ := os.ReadFile(b.cfgFile)
	cfg = bytes.ReplaceAll(cfg, []byte(b.topic), []byte(a.topic))
	cfg = bytes.ReplaceAll(cfg, []byte(b.dead), []byte(a.dead))
	os.WriteFile(b.cfgFile, cfg, 0o600)
}

// loggedAt returns the time of the first log line holding msg.
func loggedAt(logs, msg string) (time.Time, bool) {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, msg) && strings.HasPrefix(l, "time=") {
			at, err := time.Parse(time.RFC3339Nano, strings.Fields(l)[0][len("time="):])
			return at, err == nil
		}
	}
	return time.Time{}, false
}

// regular lists the regular files of a folder, the claim lock left out.
func regular(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && e.Name() != ".lock" {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestCalllogExportTwoInstancesKill: two daemons with the same calllog
// export channel share one folder. The first claims the files, is killed
// with SIGKILL mid-work; the second takes its claims over and finishes
// them while it is dead; the first is restarted. Every line is a record
// with its one id, every file ends in done/.
func TestCalllogExportTwoInstancesKill(t *testing.T) {
	kafka := broker(t)
	inbox := filepath.Join(t.TempDir(), "inbox")
	os.MkdirAll(inbox, 0o755)
	const name = "hotline-shared"
	settings := []string{"path: " + inbox, "mode: export", "format: asterisk-csv", "min_age: 0s",
		"poll_interval: 50ms", "checkpoint_interval: 50ms", "max_in_flight: 50"}
	a := newEnv(t, kafka, calllogYAML(name, settings...))
	b := newEnv(t, kafka, calllogYAML(name, settings...))
	shareTopics(a, b)
	const files, lines = 6, 3000
	tag := randomSuffix()
	var want []string
	dropFile := func(k int) {
		var buf strings.Builder
		for i := 0; i < lines; i++ {
			uid := fmt.Sprintf("%s.%d.%d", tag, k, i)
			want = append(want, uid)
			buf.WriteString(masterLine(uid, "13912345678", "李四", i%3*60, "要求回电"))
		}
		tmp := filepath.Join(filepath.Dir(inbox), fmt.Sprintf("cdr-%d.tmp", k))
		os.WriteFile(tmp, []byte(buf.String()), 0o644)
		os.Rename(tmp, filepath.Join(inbox, fmt.Sprintf("cdr-%d.csv", k)))
	}
	for k := 0; k < files-2; k++ {
		dropFile(k)
	}
	a.start()
	// a's claim folder is the first one; b takes the next free one.
	root := filepath.Join(inbox, "processing", name)
	var slotA string
	if !testutil.Eventually(20*time.Second, func() bool {
		s, _ := filepath.Glob(filepath.Join(root, "*"))
		if len(s) == 1 && len(regular(s[0])) > 0 {
			slotA = s[0]
			return true
		}
		return false
	}) {
		t.Fatalf("a claimed nothing\n%s", a.logs())
	}
	b.start()
	if !testutil.Eventually(30*time.Second, func() bool { return len(consumeAll(t, a.brokers, a.topic)) >= 300 }) {
		t.Fatalf("nothing produced\n%s", a.logs())
	}
	claimed := regular(slotA) // a's claims, just before it dies
	a.kill()
	killed := time.Now()
	before := len(consumeAll(t, a.brokers, a.topic))
	t.Logf("a killed with %d records in Kafka, %d files claimed: %v", before, len(claimed), claimed)
	if len(claimed) == 0 {
		t.Fatal("a had finished before the kill; make the files larger")
	}
	for k := files - 2; k < files; k++ { // the switch goes on exporting
		dropFile(k)
	}
	// While a is dead, b takes its claims over and finishes them.
	if !testutil.Eventually(40*time.Second, func() bool {
		for _, c := range claimed {
			if _, err := os.Stat(filepath.Join(inbox, "done", c)); err != nil {
				return false
			}
		}
		return len(regular(slotA)) == 0
	}) {
		t.Fatalf("a's claimed files not finished by b while a is dead: done %v, a's slot %v\n%s", regular(filepath.Join(inbox, "done")), regular(slotA), b.logs())
	}
	t.Logf("a's %d claimed files finished by b %v after the kill", len(claimed), time.Since(killed).Round(10*time.Millisecond))
	if at, ok := loggedAt(b.logs(), "took over export files claimed by an instance that is gone"); ok {
		t.Logf("b took a's claims over %v after the kill", at.Sub(killed).Round(10*time.Millisecond))
	} else {
		t.Errorf("b does not say it took a's claims over")
	}
	a.start()
	recs := waitForCalls(t, a, want, 60*time.Second)
	if !testutil.Eventually(20*time.Second, func() bool {
		return len(regular(filepath.Join(inbox, "done"))) == files && len(regular(inbox)) == 0
	}) {
		t.Errorf("done %v, inbox %v: every file must end in done/", regular(filepath.Join(inbox, "done")), regular(inbox))
	}
	for _, e := range []*env{a, b} {
		if err := e.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}
	recs = consumeAll(t, a.brokers, a.topic)
	dups := checkCalls(t, name, recs, want, true)
	t.Logf("%d records for %d lines (%d lines produced twice, with the same id)", len(recs), len(want), dups)
	slots, _ := filepath.Glob(filepath.Join(root, "*"))
	for _, s := range slots {
		if left := regular(s); len(left) > 0 {
			t.Errorf("files left in %s: %v", s, left)
		}
	}
}

// TestScanTwoInstancesKill: two daemons with the same scan channel share
// a hot folder; the first is SIGKILLed once it has produced a form, with
// files in its claim folder. The second puts them back into the hot
// folder (the dead instance's lock is gone) and reads them; the first is
// restarted. Every form is in Kafka with its one id, every scan in done/.
func TestScanTwoInstancesKill(t *testing.T) {
	kafka := broker(t)
	needOCR(t)
	folder := filepath.Join(t.TempDir(), "scans")
	a := newEnv(t, kafka, scanYAML("visits", folder))
	b := newEnv(t, kafka, scanYAML("visits", folder))
	shareTopics(a, b)
	files, ids := scanForms(t, 5, 4)
	dropAll(t, folder, files)
	a.start()
	root := filepath.Join(folder, "processing")
	var slotA string
	if !testutil.Eventually(20*time.Second, func() bool {
		s, _ := filepath.Glob(filepath.Join(root, "*"))
		if len(s) == 1 && len(regular(s[0])) > 0 {
			slotA = s[0]
			return true
		}
		return false
	}) {
		t.Fatalf("a claimed nothing\n%s", a.logs())
	}
	b.start()
	if len(consumeRouted(t, a, 1, 60*time.Second)) < 1 {
		t.Fatalf("no record before the kill\n%s", a.logs())
	}
	claimed := regular(slotA)
	a.kill()
	killed := time.Now()
	t.Logf("a killed with %d files claimed: %v", len(claimed), claimed)
	if len(claimed) > 0 {
		done := filepath.Join(folder, "done")
		if !testutil.Eventually(60*time.Second, func() bool {
			for _, c := range claimed {
				if _, err := os.Stat(filepath.Join(done, c)); err != nil {
					return false
				}
			}
			return true
		}) {
			t.Fatalf("a's claimed files not finished by b while a is dead: done %v, a's slot %v\n%s", regular(done), regular(slotA), b.logs())
		}
		t.Logf("a's %d claimed files finished by b %v after the kill", len(claimed), time.Since(killed).Round(10*time.Millisecond))
		if at, ok := loggedAt(b.logs(), "took back files claimed by an instance that is gone"); ok {
			t.Logf("b put a's claims back into the hot folder %v after the kill", at.Sub(killed).Round(10*time.Millisecond))
		} else {
			t.Errorf("b does not say it took a's claims back")
		}
	}
	a.start()
	recs := waitForCalls(t, a, ids, 90*time.Second)
	dups := checkCalls(t, "visits", recs, ids, true)
	t.Logf("%d records for %d forms (%d produced twice, same id)", len(recs), len(ids), dups)
	if !testutil.Eventually(20*time.Second, func() bool {
		left, _ := filepath.Glob(filepath.Join(root, "*", "visit-*"))
		inbox, _ := filepath.Glob(filepath.Join(folder, "visit-*"))
		doneN, _ := filepath.Glob(filepath.Join(folder, "done", "visit-*"))
		return len(left)+len(inbox) == 0 && len(doneN) == len(ids)
	}) {
		t.Error("files left behind, or not every scan in done/")
	}
}
