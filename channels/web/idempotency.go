package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/court12368/petitiond/internal/atomicfile"
)

var errKeyConflict = errors.New("idempotency key reused for different content")

// idemStore remembers the reply given for each Idempotency-Key, on disk so
// that a retry after a restart gets the same reply, and serialises
// concurrent requests with the same key.
type idemStore struct {
	dir string
	ttl time.Duration

	mu      sync.Mutex
	pending map[string]chan struct{}
}

type idemEntry struct {
	Fingerprint string    `json:"fingerprint"`
	Status      int       `json:"status"`
	Body        reply     `json:"body"`
	At          time.Time `json:"at"`
}

func newIdemStore(stateDir string, ttl time.Duration) (*idemStore, error) {
	s := &idemStore{ttl: ttl, pending: map[string]chan struct{}{}}
	if stateDir != "" {
		s.dir = filepath.Join(stateDir, "idempotency")
		if err := os.MkdirAll(s.dir, 0o750); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *idemStore) file(key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(s.dir, hex.EncodeToString(h[:]))
}

func (s *idemStore) load(key string) *idemEntry {
	if s.dir == "" {
		return nil
	}
	b, err := os.ReadFile(s.file(key))
	if err != nil {
		return nil
	}
	var e idemEntry
	if json.Unmarshal(b, &e) != nil || (s.ttl > 0 && time.Since(e.At) > s.ttl) {
		return nil
	}
	return &e
}

// answered reports whether a reply is stored for key.
func (s *idemStore) answered(key string) bool { return s.load(key) != nil }

// begin returns the stored entry for key, or marks key as in progress and
// returns a release func. It waits while another request with the same key
// is in progress.
func (s *idemStore) begin(ctx context.Context, key, fingerprint string) (*idemEntry, func(), error) {
	for {
		s.mu.Lock()
		if e := s.load(key); e != nil {
			s.mu.Unlock()
			if e.Fingerprint != fingerprint {
				return nil, nil, errKeyConflict
			}
			return e, nil, nil
		}
		wait, busy := s.pending[key]
		if !busy {
			ch := make(chan struct{})
			s.pending[key] = ch
			s.mu.Unlock()
			return nil, func() {
				s.mu.Lock()
				delete(s.pending, key)
				s.mu.Unlock()
				close(ch)
			}, nil
		}
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// store records the reply for key, durably: a retry after a crash gets the
// same reply.
func (s *idemStore) store(key, fingerprint string, status int, body reply) error {
	if s.dir == "" {
		return nil
	}
	b, _ := json.Marshal(idemEntry{Fingerprint: fingerprint, Status: status, Body: body, At: time.Now().UTC()})
	return atomicfile.Write(s.file(key), b, 0o640)
}

// sweep forgets entries older than the TTL.
func (s *idemStore) sweep() {
	if s.dir == "" || s.ttl <= 0 {
		return
	}
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > s.ttl {
			os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}
