package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
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

// TestScanForms: every kind of file a desk produces, dropped into the hot
// folder, is in Kafka with the fields read off the page, and the scans are
// in done/ (or error/) afterwards: a lines form (PNG), a rotated noisy table
// (JPEG), a two-page TIFF, a two-page PDF with a QR cover sheet, a scan with
// a sidecar, a broken PDF and a file that is no scan.
func TestScanForms(t *testing.T) {
	kafka := broker(t)
	needOCR(t)
	folder := filepath.Join(t.TempDir(), "scans")
	e := newEnv(t, kafka, scanYAML("visits", folder))
	e.start()
	rng := rand.New(rand.NewPCG(11, 12))
	forms := map[string]scantest.Form{}
	files := map[string][]byte{}
	render := func(name string, layout scantest.Layout) *image.Gray {
		f := scantest.RandomForm(rng)
		forms[name] = f
		img, err := scantest.Render(f, layout)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	files["lines.png"] = scantest.PNG(render("lines.png", scantest.LayoutLines))
	files["table-noisy.jpg"] = scantest.JPEG(scantest.Noisy(render("table-noisy.jpg", scantest.LayoutTable), -2, 5), 75)
	letter, err := scantest.RenderLetter("以上情况属实，恳请法院尽快处理。")
	if err != nil {
		t.Fatal(err)
	}
	tif, err := scantest.TIFF(render("two-pages.tif", scantest.LayoutLines), letter)
	if err != nil {
		t.Fatal(err)
	}
	files["two-pages.tif"] = tif
	cover, err := scantest.CoverSheet("LF-20261201-0007")
	if err != nil {
		t.Fatal(err)
	}
	files["cover.pdf"] = scantest.PDF(cover, render("cover.pdf", scantest.LayoutTable))
	files["with-sidecar.png"] = scantest.PNG(render("with-sidecar.png", scantest.LayoutTable))
	files["with-sidecar.json"] = []byte(`{"name": "欧阳娜娜", "phone": "13800138000", "registration_no": "LF-20261201-0008"}`)
	files["broken.pdf"] = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >>\n")
	files["notes.png"] = []byte("not a scan")
	ids := []string{}
	for name, b := range files {
		switch name {
		case "cover.pdf":
			ids = append(ids, "registration:LF-20261201-0007")
		case "with-sidecar.png":
			ids = append(ids, "registration:LF-20261201-0008")
		case "lines.png", "table-noisy.jpg", "two-pages.tif":
			s := sha256.Sum256(b)
			ids = append(ids, "sha256:"+hex.EncodeToString(s[:]))
		}
	}
	dropAll(t, folder, map[string][]byte{"with-sidecar.json": files["with-sidecar.json"]})
	delete(files, "with-sidecar.json")
	dropAll(t, folder, files)
	recs := waitForCalls(t, e, ids, 4*time.Minute)
	checkCalls(t, "visits", recs, ids, false)
	for _, r := range recs {
		ch, _ := r.Value["channel"].(map[string]any)
		meta, _ := r.Value["meta"].(map[string]any)
		pt, _ := r.Value["petitioner"].(map[string]any)
		file, _ := meta["scan.file"].(string)
		f := forms[file]
		if ch["type"] != "scan" || r.Value["content"] == "" {
			t.Errorf("%s: channel %v content %q", file, ch, r.Value["content"])
		}
		labels := fmt.Sprint(r.Value["labels"])
		review := strings.Contains(labels, petition.LabelNeedsReview)
		// An identifier is right, or empty with needs_review.
		for what, pair := range map[string][2]any{"id_number": {pt["id_number"], f.IDNumber}, "phone": {pt["phone"], "+86" + f.Phone}} {
			if file == "with-sidecar.png" && what == "phone" {
				pair[1] = "+8613800138000"
			}
			if pair[0] != pair[1] && !(pair[0] == "" && review) {
				t.Errorf("%s: %s = %v, want %v (labels %s)", file, what, pair[0], pair[1], labels)
			}
		}
		switch file {
		case "two-pages.tif", "cover.pdf":
			if meta["scan.pages"] != float64(2) {
				t.Errorf("%s: pages %v", file, meta["scan.pages"])
			}
		case "with-sidecar.png":
			if pt["name"] != "欧阳娜娜" {
				t.Errorf("sidecar name lost: %v", pt["name"])
			}
		}
		if file == "cover.pdf" && meta["scan.registration_no"] != "LF-20261201-0007" {
			t.Errorf("cover sheet: registration %v", meta["scan.registration_no"])
		}
	}
	var dead []record
	if !testutil.Eventually(time.Minute, func() bool { dead = consumeAll(t, e.brokers, e.dead); return len(dead) == 2 }) {
		t.Fatalf("%d dead letters, want 2 (the broken PDF, the file that is no scan)", len(dead))
	}
	for _, d := range dead {
		if o, _ := d.Value["original"].(map[string]any); o["sha256"] == "" || o["sha256"] == nil {
			t.Errorf("dead letter without its stored original: %v", d.Value)
		}
	}
	for name := range files {
		dir := "done"
		if name == "broken.pdf" || name == "notes.png" {
			dir = "error"
		}
		if !testutil.Eventually(30*time.Second, func() bool { _, err := os.Stat(filepath.Join(folder, dir, name)); return err == nil }) {
			t.Errorf("%s not moved to %s/", name, dir)
		}
	}
	if _, err := os.Stat(filepath.Join(folder, "done", "with-sidecar.json")); err != nil {
		t.Errorf("the sidecar did not move with its scan: %v", err)
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
	if len(consumeRouted(t, e, 1, 3*time.Minute)) < 1 {
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
