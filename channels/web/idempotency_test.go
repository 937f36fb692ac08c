package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func storeKey(t *testing.T, s *idemStore, key, client string) reply {
	t.Helper()
	prev, release, err := s.begin(context.Background(), key, "fp-"+key)
	if err != nil || prev != nil {
		t.Fatalf("begin %s: %v %v", key, prev, err)
	}
	defer release()
	body := reply{ID: "id-" + key, TrackingNo: "T-" + key, ReceivedAt: time.Now().Format(time.RFC3339Nano)}
	if err := s.store(key, "fp-"+key, client, 201, body); err != nil {
		t.Fatal(err)
	}
	return body
}

func files(t *testing.T, dir string) int {
	ents, _ := os.ReadDir(filepath.Join(dir, "idempotency"))
	return len(ents)
}

func TestIdempotencyStoreBounds(t *testing.T) {
	dir := t.TempDir()
	s, err := newIdemStore(dir, idemLimits{ttl: time.Hour, maxKeys: 10, maxBytes: 1 << 30, perClient: 4})
	if err != nil {
		t.Fatal(err)
	}
	// A client sending random keys keeps only its share, oldest forgotten.
	for i := 0; i < 50; i++ {
		storeKey(t, s, fmt.Sprintf("flood-%d", i), "10.0.0.66")
	}
	if k, _, ev := s.stats(); k != 4 || ev != 46 || files(t, dir) != 4 {
		t.Fatalf("after a flood: %d keys, %d evicted, %d files", k, ev, files(t, dir))
	}
	if s.answered("flood-45") || !s.answered("flood-46") {
		t.Errorf("the flooding client's oldest keys must go first")
	}
	// Other clients' keys are not pushed out by it.
	kept := map[string]reply{}
	for i := 0; i < 6; i++ {
		kept[fmt.Sprintf("portal-%d", i)] = storeKey(t, s, fmt.Sprintf("portal-%d", i), fmt.Sprintf("10.0.1.%d", i))
	}
	for i := 0; i < 20; i++ {
		storeKey(t, s, fmt.Sprintf("flood2-%d", i), "10.0.0.66")
	}
	for k, want := range kept {
		prev, _, err := s.begin(context.Background(), k, "fp-"+k)
		if err != nil || prev == nil || prev.Body != want {
			t.Errorf("%s: replay %+v %v, want the exact reply %+v", k, prev, err, want)
		}
	}
	// The global bound: the oldest answered keys go first, whoever sent them.
	for i := 6; i < 12; i++ {
		storeKey(t, s, fmt.Sprintf("portal-%d", i), fmt.Sprintf("10.0.1.%d", i))
	}
	if k, _, _ := s.stats(); k != 10 || files(t, dir) != 10 {
		t.Errorf("%d keys, %d files, want the bound of 10", k, files(t, dir))
	}
	if s.answered("portal-0") || !s.answered("portal-11") {
		t.Errorf("global eviction is not oldest first")
	}

	// A restart restores the index, in order, under (possibly new) bounds.
	s2, err := newIdemStore(dir, idemLimits{ttl: time.Hour, maxKeys: 5, maxBytes: 1 << 30, perClient: 4})
	if err != nil {
		t.Fatal(err)
	}
	if k, _, _ := s2.stats(); k != 5 || files(t, dir) != 5 || !s2.answered("portal-11") || s2.answered("portal-6") {
		t.Errorf("after restart with max 5: %d keys, %d files", k, files(t, dir))
	}

	// Bytes: each reply takes a block on disk.
	s3, _ := newIdemStore(t.TempDir(), idemLimits{ttl: time.Hour, maxKeys: 1000, maxBytes: 3 * 4096, perClient: 0})
	for i := 0; i < 10; i++ {
		storeKey(t, s3, fmt.Sprintf("b-%d", i), "c")
	}
	if k, b, _ := s3.stats(); k != 3 || b != 3*s3.block {
		t.Errorf("byte bound: %d keys, %d bytes", k, b)
	}
}

func TestIdempotencyStoreTTL(t *testing.T) {
	dir := t.TempDir()
	s, _ := newIdemStore(dir, idemLimits{ttl: 50 * time.Millisecond, maxKeys: 100, maxBytes: 1 << 30})
	storeKey(t, s, "old", "c")
	time.Sleep(60 * time.Millisecond)
	storeKey(t, s, "new", "c")
	if s.answered("old") || !s.answered("new") {
		t.Errorf("TTL not applied on lookup")
	}
	s.sweep()
	if k, _, _ := s.stats(); k != 1 || files(t, dir) != 1 {
		t.Errorf("after sweep: %d keys, %d files", k, files(t, dir))
	}
}
