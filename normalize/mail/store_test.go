package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/court12368/petitiond/blob"
)

// memStore is an in-memory blob.Store for fuzzing and benchmarks (no disk
// traffic). failPut makes Put fail, as a full disk would.
type memStore struct {
	mu      sync.Mutex
	blobs   map[string][]byte
	failPut error
}

func newMemStore() *memStore { return &memStore{blobs: map[string][]byte{}} }

func (m *memStore) Put(r io.Reader, limit int64) (blob.Ref, error) {
	src := r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	b, err := io.ReadAll(src)
	if err != nil {
		return blob.Ref{}, err
	}
	if m.failPut != nil {
		return blob.Ref{}, m.failPut
	}
	if limit > 0 && int64(len(b)) > limit {
		return blob.Ref{}, fmt.Errorf("%w: more than %d bytes", blob.ErrTooLarge, limit)
	}
	sum := sha256.Sum256(b)
	hexSum := hex.EncodeToString(sum[:])
	m.mu.Lock()
	m.blobs[hexSum] = b
	m.mu.Unlock()
	return blob.Ref{SHA256: hexSum, Size: int64(len(b)), URI: "mem:" + hexSum}, nil
}

func (m *memStore) Open(sum string) (io.ReadCloser, error) {
	m.mu.Lock()
	b, ok := m.blobs[sum]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", blob.ErrNotFound, sum)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

var _ blob.Store = (*memStore)(nil)

var errDiskFull = errors.New("disk full")
