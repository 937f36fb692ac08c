package scan

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMoveIntoNeverReplaces: a scan put back (or moved to done/) never
// overwrites a file of the same name that arrived meanwhile.
func TestMoveIntoNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src", "Scan_0001.pdf")
	os.MkdirAll(filepath.Dir(src), 0o755)
	os.WriteFile(src, []byte("old"), 0o644)
	os.WriteFile(filepath.Join(dir, "Scan_0001.pdf"), []byte("new"), 0o644)
	got, err := moveInto(src, dir, "Scan_0001.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if got != filepath.Join(dir, "Scan_0001-1.pdf") {
		t.Errorf("moved to %s", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "Scan_0001.pdf")); string(b) != "new" {
		t.Errorf("the newer file was replaced: %q", b)
	}
	if b, _ := os.ReadFile(got); string(b) != "old" {
		t.Errorf("moved file holds %q", b)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("source still there: %v", err)
	}
}
