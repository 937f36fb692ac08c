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
