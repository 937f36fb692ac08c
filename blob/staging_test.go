package blob

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func storedFiles(t *testing.T, d *Dir) int {
	t.Helper()
	n := 0
	d.walk(func(string, os.FileInfo) { n++ })
	return n
}

func stagedFiles(t *testing.T, d *Dir) int {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(d.root, "staging"))
	return len(ents)
}

func TestStagePromoteDiscard(t *testing.T) {
	d, err := Open(t.TempDir(), Options{Staging: StagingLimits{MaxBytes: 1000, MaxBytesPerClient: 600}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.Stage(strings.NewReader(strings.Repeat("a", 400)), 0, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if d.StagedBytes() != 400 || storedFiles(t, d) != 0 || stagedFiles(t, d) != 1 {
		t.Fatalf("staged %d bytes, %d stored, %d staged files", d.StagedBytes(), storedFiles(t, d), stagedFiles(t, d))
	}
	// The client's share is 600: 400 + 300 is too much for c1 …
	if _, err := d.Stage(strings.NewReader(strings.Repeat("b", 300)), 0, "c1"); !errors.Is(err, ErrClientStagingFull) {
		t.Errorf("over the client share: %v", err)
	}
	// … and 400 + 500 fits c2's share, 400 + 500 + 200 not the total.
	b, err := d.Stage(strings.NewReader(strings.Repeat("b", 500)), 0, "c2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stage(strings.NewReader(strings.Repeat("c", 200)), 0, "c3"); !errors.Is(err, ErrStagingFull) {
		t.Errorf("over the total: %v", err)
	}
	if _, err := d.Stage(strings.NewReader(strings.Repeat("d", 50)), 10, "c3"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	if stagedFiles(t, d) != 2 {
		t.Errorf("refused stagings left %d files", stagedFiles(t, d))
	}
	b.Discard()
	if err := a.Promote(); err != nil {
		t.Fatal(err)
	}
	a.Discard() // after Promote: a no-op
	if d.StagedBytes() != 0 || stagedFiles(t, d) != 0 || storedFiles(t, d) != 1 {
		t.Errorf("after promote/discard: staged %d bytes, %d staged files, %d stored", d.StagedBytes(), stagedFiles(t, d), storedFiles(t, d))
	}
	rc, err := d.Open(a.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != strings.Repeat("a", 400) {
		t.Errorf("promoted content %q", got)
	}
	m := d.StageBytes([]byte("%PDF-1.7 body"))
	if m.Sniffed != "application/pdf" || storedFiles(t, d) != 1 {
		t.Errorf("StageBytes: sniffed %q, %d stored before Promote", m.Sniffed, storedFiles(t, d))
	}
	if err := m.Promote(); err != nil || storedFiles(t, d) != 2 {
		t.Errorf("StageBytes promote: %v, %d stored", err, storedFiles(t, d))
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]string{
		"II*\x00\x08\x00":            "image/tiff",
		"\xff\xd8\xff\xe0":           "image/jpeg",
		"%PDF-1.4":                   "application/pdf",
		"\x89PNG\r\n\x1a\n":          "image/png",
		"MZ\x90\x00":                 "application/octet-stream",
		"<html><script>":             "text/html",
		"纯文本":                        "text/plain",
		"PK\x03\x04\x14\x00\x06\x00": "application/zip",
	} {
		if got := SniffContentType([]byte(in)); got != want {
			t.Errorf("SniffContentType(%q) = %q, want %q", in, got, want)
		}
	}
}

func age(t *testing.T, path string, d time.Duration) {
	t.Helper()
	at := time.Now().Add(-d)
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

func TestGCKeepsReferencedYoungAndOlderBlobs(t *testing.T) {
	dir := t.TempDir()
	// A blob stored before the reference log existed: never collected.
	legacy := func() Ref {
		d, _ := Open(dir, Options{NoSync: true})
		r, _ := d.Put(bytes.NewReader([]byte("legacy original")), 0)
		d.Close()
		os.Remove(filepath.Join(dir, "refs.log"))
		return r
	}()
	d, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	put := func(s string) Ref {
		r, err := d.Put(strings.NewReader(s), 0)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	referenced, unreferenced, young := put("referenced"), put("ignored auto-reply"), put("young")
	if err := d.Reference(referenced.SHA256); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Ref{legacy, referenced, unreferenced} {
		age(t, d.path(r.SHA256), 48*time.Hour)
	}
	crashed, _ := os.Create(filepath.Join(dir, "staging", "stage-crashed"))
	crashed.WriteString("left by a crash")
	crashed.Close()
	age(t, crashed.Name(), 48*time.Hour)

	if _, err := d.GC(GCOptions{MinAge: time.Minute}); err == nil {
		t.Errorf("GC accepted a min age under an hour")
	}
	res, err := d.GC(GCOptions{MinAge: 24 * time.Hour, DryRun: true})
	if err != nil || res.Deleted != 1 || storedFiles(t, d) != 4 {
		t.Fatalf("dry run: %+v %v, %d stored", res, err, storedFiles(t, d))
	}
	res, err = d.GC(GCOptions{MinAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.Blobs != 4 || res.Young != 1 || res.Referenced != 2 || res.Deleted != 1 || res.DeletedBytes != unreferenced.Size || res.StaleStaged != 1 {
		t.Errorf("GC = %+v", res)
	}
	for _, r := range []Ref{legacy, referenced, young} {
		if _, err := os.Stat(d.path(r.SHA256)); err != nil {
			t.Errorf("GC deleted a blob it must keep: %v", err)
		}
	}
	if _, err := os.Stat(d.path(unreferenced.SHA256)); !os.IsNotExist(err) {
		t.Errorf("GC kept the unreferenced old blob")
	}
	// Storing content that is already there makes it young again, so a
	// collection running meanwhile keeps it for the record about to
	// reference it.
	again := put("another ignored one")
	age(t, d.path(again.SHA256), 48*time.Hour)
	put("another ignored one")
	if res, _ := d.GC(GCOptions{MinAge: 24 * time.Hour}); res.Deleted != 0 {
		t.Errorf("GC deleted a blob just stored again: %+v", res)
	}
}

func TestReferenceAppendsOnce(t *testing.T) {
	d, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("ab", 32)
	for i := 0; i < 100; i++ {
		if err := d.Reference(sum, "", "short"); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(d.root, "refs.log"))
	if n := strings.Count(string(b), sum); n != 1 {
		t.Errorf("the sha is %d times in the log, want once", n)
	}
}
