package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPutOpen(t *testing.T) {
	d, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("（2021）赣01民初123号 原件")
	sum := sha256.Sum256(content)
	want := hex.EncodeToString(sum[:])
	for _, r := range []io.Reader{bytes.NewReader(content), strings.NewReader(string(content))} {
		ref, err := d.Put(r, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ref.SHA256 != want || ref.Size != int64(len(content)) || !strings.HasPrefix(ref.URI, "file://") {
			t.Errorf("Put = %+v, want sha %s size %d", ref, want, len(content))
		}
	}
	rc, err := d.Open(want)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, content) {
		t.Errorf("Open = %q", got)
	}
	if _, err := d.Open(strings.Repeat("0", 64)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(missing) = %v, want ErrNotFound", err)
	}
	left, _ := os.ReadDir(d.root + "/tmp")
	if len(left) != 0 {
		t.Errorf("%d temporary files left behind", len(left))
	}
}

func TestLimit(t *testing.T) {
	d, _ := Open(t.TempDir(), Options{NoSync: true})
	for _, r := range []io.Reader{bytes.NewReader(make([]byte, 11)), strings.NewReader(strings.Repeat("x", 11))} {
		if _, err := d.Put(r, 10); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Put(11 bytes, limit 10) = %v, want ErrTooLarge", err)
		}
	}
	if _, err := d.Put(strings.NewReader("0123456789"), 10); err != nil {
		t.Errorf("Put(10 bytes, limit 10) = %v", err)
	}
}

// TestConcurrentPuts exercises the batched directory syncs.
func TestConcurrentPuts(t *testing.T) {
	d, _ := Open(t.TempDir(), Options{BaseURI: "https://blobs.example/"})
	var wg sync.WaitGroup
	refs := make([]Ref, 64)
	for i := range refs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var err error
			refs[i], err = d.Put(bytes.NewReader([]byte{byte(i), byte(i % 3)}), 0)
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	for _, r := range refs {
		if !strings.HasPrefix(r.URI, "https://blobs.example/"+r.SHA256[:2]+"/") {
			t.Errorf("URI %s", r.URI)
		}
		if _, err := os.Stat(d.path(r.SHA256)); err != nil {
			t.Error(err)
		}
	}
}

// A blob stored again is young for the garbage collector: an old mtime is
// renewed; one from the last minute is left (no syscall per repeat).
func TestPutAgainRenewsOldMtime(t *testing.T) {
	d, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("同一份原件，再次提交")
	ref, err := d.Put(bytes.NewReader(content), 0)
	if err != nil {
		t.Fatal(err)
	}
	p := d.path(ref.SHA256)
	mtime := func() time.Time {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(bytes.NewReader(content), 0); err != nil {
		t.Fatal(err)
	}
	renewed := mtime()
	if time.Since(renewed) > time.Minute {
		t.Fatalf("mtime %v after a second Put of an old blob, want renewed", renewed)
	}
	recent := time.Now().Add(-10 * time.Second).Truncate(time.Second)
	if err := os.Chtimes(p, recent, recent); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(bytes.NewReader(content), 0); err != nil {
		t.Fatal(err)
	}
	if got := mtime(); !got.Equal(recent) {
		t.Errorf("mtime %v after a Put of a blob touched 10 s ago, want it left at %v", got, recent)
	}
	if _, err := d.GC(GCOptions{MinAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Errorf("a blob stored again within the hour was collected: %v", err)
	}
}
