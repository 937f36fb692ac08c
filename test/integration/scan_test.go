package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/channels/scan/scantest"
	"github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/petition"
)

// needOCR fails in CI (make test installs the tools) and skips elsewhere.
func needOCR(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"tesseract", "pdftoppm", "tiffsplit", "zbarimg"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI (scripts/deps.sh installs it)", tool)
			}
			t.Skipf("%s not installed (make test installs it)", tool)
		}
	}
}

func scanYAML(name, folder string) string {
	return fmt.Sprintf("  - name: %s\n    type: scan\n    settings:\n      path: %q\n      court: 赣0102\n      min_age: 300ms\n      poll_interval: 100ms\n      workers: 1\n", name, folder)
}

// scanForms renders n forms and returns the files and their source ids.
func scanForms(t *testing.T, n int, seed uint64) (map[string][]byte, []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 9))
	files := map[string][]byte{}
	var ids []string
	for i := 0; i < n; i++ {
		img, err := scantest.Render(scantest.RandomForm(rng), scantest.Layout(i%2))
		if err != nil {
			t.Fatal(err)
		}
		b := scantest.PNG(img)
		name := fmt.Sprintf("visit-%03d.png", i)
		files[name] = b
		s := sha256.Sum256(b)
		ids = append(ids, "sha256:"+hex.EncodeToString(s[:]))
	}
	return files, ids
}

func dropAll(t *testing.T, folder string, files map[string][]byte) {
	t.Helper()
	os.MkdirAll(folder, 0o755)
	for name, b := range files {
		tmp := filepath.Join(folder, "."+name+".part")
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(folder, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestScanForms: forms dropped into the hot folder are in Kafka with the
// fields read off the page, and the scans are in done/ afterwards.
func TestScanForms(t *testing.T) {
	kafka := broker(t)
	needOCR(t)
	folder := filepath.Join(t.TempDir(), "scans")
	e := newEnv(t, kafka, scanYAML("visits", folder))
	e.start()
	files, ids := scanForms(t, 2, 1)
	dropAll(t, folder, files)
	dropAll(t, folder, map[string][]byte{"notes.png": []byte("not a scan")})
	recs := waitForCalls(t, e, ids, 3*time.Minute)
	checkCalls(t, "visits", recs, ids, false)
	for _, r := range recs {
		ch, _ := r.Value["channel"].(map[string]any)
		meta, _ := r.Value["meta"].(map[string]any)
		pt, _ := r.Value["petitioner"].(map[string]any)
		if ch["type"] != "scan" || meta["scan.pages"] != float64(1) || pt["id_number"] == "" || r.Value["content"] == "" {
			t.Errorf("record: channel %v pages %v petitioner %v", ch, meta["scan.pages"], pt)
		}
	}
	dead := consumeAll(t, e.brokers, e.dead)
	if !testutil.Eventually(time.Minute, func() bool { dead = consumeAll(t, e.brokers, e.dead); return len(dead) == 1 }) {
		t.Fatalf("%d dead letters, want 1 (the file that is no scan)", len(dead))
	}
	if !strings.Contains(fmt.Sprint(dead[0].Value["error"]), "not a PNG, JPEG, TIFF or PDF") {
		t.Errorf("dead letter: %v", dead[0].Value["error"])
	}
	for name := range files {
		if !testutil.Eventually(30*time.Second, func() bool { _, err := os.Stat(filepath.Join(folder, "done", name)); return err == nil }) {
			t.Errorf("%s not moved to done/", name)
		}
	}
	if !testutil.Eventually(30*time.Second, func() bool { _, err := os.Stat(filepath.Join(folder, "error", "notes.png")); return err == nil }) {
		t.Error("notes.png not moved to error/")
	}
}

// TestScanKillDuringOCRAndRestart: the daemon is killed while it reads a
// backlog; after the restart every form is in Kafka, a form produced twice
// keeps its id, and no file is left behind.
func TestScanKillDuringOCRAndRestart(t *testing.T) {
	kafka := broker(t)
	needOCR(t)
	folder := filepath.Join(t.TempDir(), "scans")
	e := newEnv(t, kafka, scanYAML("visits", folder))
	files, ids := scanForms(t, 5, 2)
	dropAll(t, folder, files)
	e.start()
	// Kill once the first record is in Kafka: OCR of the next is under way.
	if !testutil.Eventually(3*time.Minute, func() bool { return len(consumeAll(t, e.brokers, e.topic)) >= 1 }) {
		t.Fatalf("no record before the kill\n%s", e.logs())
	}
	e.kill()
	claimed, _ := filepath.Glob(filepath.Join(folder, "processing", "*", "visit-*"))
	t.Logf("killed with %d files claimed", len(claimed))
	e.start()
	recs := waitForCalls(t, e, ids, 5*time.Minute)
	dups := checkCalls(t, "visits", recs, ids, true)
	t.Logf("%d records for %d forms (%d produced again, same id)", len(recs), len(ids), dups)
	if !testutil.Eventually(30*time.Second, func() bool {
		left, _ := filepath.Glob(filepath.Join(folder, "processing", "*", "visit-*"))
		inbox, _ := filepath.Glob(filepath.Join(folder, "visit-*"))
		return len(left)+len(inbox) == 0
	}) {
		t.Error("files left behind after all records were produced")
	}
}

// TestScanTwoInstancesOneFolder: two daemons with the same channel on one
// hot folder take each file once.
func TestScanTwoInstancesOneFolder(t *testing.T) {
	kafka := broker(t)
	needOCR(t)
	folder := filepath.Join(t.TempDir(), "scans")
	a := newEnv(t, kafka, scanYAML("visits", folder))
	b := newEnv(t, kafka, scanYAML("visits", folder))
	// Both instances produce to one topic, as two copies of one config.
	cfg, _ := os.ReadFile(b.cfgFile)
	cfg = []byte(strings.ReplaceAll(strings.ReplaceAll(string(cfg), b.topic, a.topic), b.dead, a.dead))
	os.WriteFile(b.cfgFile, cfg, 0o600)
	a.start()
	b.start()
	files, ids := scanForms(t, 6, 3)
	dropAll(t, folder, files)
	recs := waitForCalls(t, a, ids, 5*time.Minute)
	checkCalls(t, "visits", recs, ids, false)
	slots, _ := filepath.Glob(filepath.Join(folder, "processing", "*"))
	if len(slots) != 2 {
		t.Errorf("claim folders %v, want one per instance", slots)
	}
	for _, r := range recs {
		if id, _ := r.Value["id"].(string); id != petition.ID("visits", sourceID(r)) {
			t.Errorf("id %s", id)
		}
	}
}
