package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestPIDFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "petitiond.pid")
	own := strconv.Itoa(os.Getpid())

	// A stale file (its process is gone) is replaced.
	os.WriteFile(file, []byte("999999999\n"), 0o644)
	if err := writePIDFile(file); err != nil {
		t.Fatalf("writePIDFile over a stale file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != own+"\n" {
		t.Errorf("pid file = %q, want %q", b, own+"\n")
	}
	removePIDFile(file)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("pid file left after removePIDFile: %v", err)
	}

	// A file naming another live process (pid 1 always is) is refused
	// and left alone, also by removePIDFile.
	os.WriteFile(file, []byte("1\n"), 0o644)
	if err := writePIDFile(file); err == nil || !strings.Contains(err.Error(), "process 1") {
		t.Errorf("writePIDFile over a live process's file: %v, want a refusal", err)
	}
	removePIDFile(file)
	if b, _ := os.ReadFile(file); string(b) != "1\n" {
		t.Errorf("another process's pid file changed to %q", b)
	}
}
