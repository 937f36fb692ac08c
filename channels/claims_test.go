package channels

import (
	"os"
	"path/filepath"
	"testing"
)

// Each instance gets its own locked folder; the files of a folder whose
// lock nobody holds are offered for takeover, those of a held folder and
// of one's own are not.
func TestClaimSlots(t *testing.T) {
	root := t.TempDir()
	a, err := TakeClaimSlot(root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := TakeClaimSlot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Dir == b.Dir {
		t.Fatalf("two running instances share %s", a.Dir)
	}
	os.WriteFile(filepath.Join(a.Dir, "a.csv"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(b.Dir, "b.csv"), []byte("x"), 0o644)
	take := func(p string) bool { return os.Rename(p, p+".taken") == nil }
	if got := AdoptOrphanedClaims(root, b.Dir, take); len(got) != 0 {
		t.Errorf("took %v while every folder is held", got)
	}
	a.Close() // instance a is gone
	got := AdoptOrphanedClaims(root, b.Dir, take)
	if got[filepath.Base(a.Dir)] != 1 || len(got) != 1 {
		t.Errorf("took %v, want a.csv of %s only", got, filepath.Base(a.Dir))
	}
	if _, err := os.Stat(filepath.Join(b.Dir, "b.csv")); err != nil {
		t.Error("the own folder's file was taken")
	}
	// A new instance gets the freed folder back.
	c, err := TakeClaimSlot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Dir != a.Dir {
		t.Errorf("new instance got %s, want the freed %s", c.Dir, a.Dir)
	}
}
