package web

import (
	"cmp"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/court12368/petitiond/internal/atomicfile"
)

var errKeyConflict = errors.New("idempotency key reused for different content")

// idemStore remembers the reply given for each Idempotency-Key, on disk so
// that a retry after a restart gets the same reply, and serialises
// concurrent requests with the same key.
//
// It is bounded: at most maxKeys replies and maxBytes of them, and at most
// perClient replies of one client address; over a bound the oldest answered
// keys are forgotten first (the client's own oldest first when the client
// is over its share), so that a client sending random keys can grow
// neither memory nor disk without limit, nor push other clients' keys out.
// Replies are forgotten after ttl in any case. An index of the kept keys is
// in memory (about 250 bytes a key); the replies stay on disk, one file a
// key (counted in whole file-system blocks), and are replayed byte for byte.
type idemStore struct {
	dir       string
	ttl       time.Duration
	maxKeys   int
	maxBytes  int64
	perClient int

	block int64 // file system block: a reply file takes whole blocks

	mu      sync.Mutex
	pending map[string]chan struct{}
	index   map[[32]byte]*list.Element // key hash → entry in order
	order   *list.List                 // of *idemMeta, oldest answered first
	clients map[uint64]*list.List      // client → its entries, oldest first (of *list.Element)
	bytes   int64
	evicted int64
}

type idemMeta struct {
	hash   [32]byte
	client uint64
	at     int64         // unix nanoseconds
	size   int64         // on disk
	inCl   *list.Element // in clients[client]
}

type idemEntry struct {
	Fingerprint string    `json:"fingerprint"`
	Status      int       `json:"status"`
	Body        reply     `json:"body"`
	At          time.Time `json:"at"`
	// Client is a hash of the client address, for the per-client share.
	Client string `json:"client,omitempty"`
}

// idemLimits bound an idemStore.
type idemLimits struct {
	ttl       time.Duration
	maxKeys   int
	maxBytes  int64
	perClient int
}

func newIdemStore(stateDir string, l idemLimits) (*idemStore, error) {
	s := &idemStore{ttl: l.ttl, maxKeys: l.maxKeys, maxBytes: l.maxBytes, perClient: l.perClient,
		pending: map[string]chan struct{}{}, index: map[[32]byte]*list.Element{}, order: list.New(), clients: map[uint64]*list.List{}, block: 4096}
	if stateDir == "" {
		return s, nil
	}
	s.dir = filepath.Join(stateDir, "idempotency")
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return nil, err
	}
	var st syscall.Statfs_t
	if syscall.Statfs(s.dir, &st) == nil && st.Bsize > 0 {
		s.block = int64(st.Bsize)
	}
	return s, s.restore()
}

func hashKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// clientID is what the store keeps of a client address.
func clientID(addr string) string {
	h := sha256.Sum256([]byte("petitiond idempotency client\x00" + addr))
	return hex.EncodeToString(h[:8])
}

func clientNum(id string) uint64 {
	b, _ := hex.DecodeString(id)
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}

func (s *idemStore) file(hash [32]byte) string {
	return filepath.Join(s.dir, hex.EncodeToString(hash[:]))
}

// onDisk is what a reply of n bytes takes on disk.
func (s *idemStore) onDisk(n int) int64 { return (int64(n) + s.block - 1) / s.block * s.block }

// restore rebuilds the index from the files, oldest first, dropping what is
// expired or over the bounds (the bounds may have been lowered).
func (s *idemStore) restore() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var all []*idemMeta
	for _, e := range ents {
		name := e.Name()
		if len(name) != 64 || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, name))
		if err != nil {
			continue
		}
		var ent idemEntry
		if json.Unmarshal(b, &ent) != nil || s.expired(ent.At) {
			os.Remove(filepath.Join(s.dir, name))
			continue
		}
		var hash [32]byte
		if _, err := hex.Decode(hash[:], []byte(name)); err != nil {
			continue
		}
		all = append(all, &idemMeta{hash: hash, client: clientNum(ent.Client), at: ent.At.UnixNano(), size: s.onDisk(len(b))})
	}
	sortByAt(all)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range all {
		s.addLocked(m)
	}
	return nil
}

func (s *idemStore) expired(at time.Time) bool { return s.ttl > 0 && time.Since(at) > s.ttl }

func (m *idemMeta) time() time.Time { return time.Unix(0, m.at) }

func (s *idemStore) load(key string) *idemEntry {
	if s.dir == "" {
		return nil
	}
	hash := hashKey(key)
	s.mu.Lock()
	el, ok := s.index[hash]
	s.mu.Unlock()
	if !ok {
		return nil // unknown keys cost no disk read
	}
	if s.expired(el.Value.(*idemMeta).time()) {
		return nil
	}
	b, err := os.ReadFile(s.file(hash))
	if err != nil {
		return nil
	}
	var e idemEntry
	if json.Unmarshal(b, &e) != nil {
		return nil
	}
	return &e
}

// answered reports whether a reply is stored for key.
func (s *idemStore) answered(key string) bool { return s.load(key) != nil }

// begin returns the stored entry for key, or marks key as in progress and
// returns a release func. It waits while another request with the same key
// is in progress. (Replies are stored only by the request holding a key, so
// what load finds while holding it is final.)
func (s *idemStore) begin(ctx context.Context, key, fingerprint string) (*idemEntry, func(), error) {
	for {
		s.mu.Lock()
		wait, busy := s.pending[key]
		if busy {
			s.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		s.pending[key] = ch
		s.mu.Unlock()
		release := func() {
			s.mu.Lock()
			delete(s.pending, key)
			s.mu.Unlock()
			close(ch)
		}
		if e := s.load(key); e != nil {
			release()
			if e.Fingerprint != fingerprint {
				return nil, nil, errKeyConflict
			}
			return e, nil, nil
		}
		return nil, release, nil
	}
}

// store records the reply for key, durably: a retry after a crash gets the
// same reply. It then evicts what is over the bounds.
func (s *idemStore) store(key, fingerprint, client string, status int, body reply) error {
	if s.dir == "" {
		return nil
	}
	now := time.Now().UTC()
	cid := clientID(client)
	b, _ := json.Marshal(idemEntry{Fingerprint: fingerprint, Status: status, Body: body, At: now, Client: cid})
	hash := hashKey(key)
	if err := atomicfile.Write(s.file(hash), b, 0o640); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.index[hash]; ok {
		s.removeLocked(el, false)
	}
	s.addLocked(&idemMeta{hash: hash, client: clientNum(cid), at: now.UnixNano(), size: s.onDisk(len(b))})
	return nil
}

// addLocked indexes m as the newest entry and evicts over the bounds.
func (s *idemStore) addLocked(m *idemMeta) {
	if s.perClient > 0 {
		for cl := s.clients[m.client]; cl != nil && cl.Len() >= s.perClient; cl = s.clients[m.client] {
			s.removeLocked(cl.Front().Value.(*list.Element), true)
		}
	}
	el := s.order.PushBack(m)
	s.index[m.hash] = el
	cl := s.clients[m.client]
	if cl == nil {
		cl = list.New()
		s.clients[m.client] = cl
	}
	m.inCl = cl.PushBack(el)
	s.bytes += m.size
	for s.order.Len() > 1 && ((s.maxKeys > 0 && s.order.Len() > s.maxKeys) || (s.maxBytes > 0 && s.bytes > s.maxBytes)) {
		s.removeLocked(s.order.Front(), true)
	}
}

// removeLocked forgets an entry; evict also deletes its file.
func (s *idemStore) removeLocked(el *list.Element, evict bool) {
	m := el.Value.(*idemMeta)
	s.order.Remove(el)
	delete(s.index, m.hash)
	if cl := s.clients[m.client]; cl != nil {
		cl.Remove(m.inCl)
		if cl.Len() == 0 {
			delete(s.clients, m.client)
		}
	}
	s.bytes -= m.size
	if evict {
		s.evicted++
		os.Remove(s.file(m.hash))
	}
}

// sweep forgets entries older than the TTL (the oldest are first).
func (s *idemStore) sweep() {
	if s.dir == "" || s.ttl <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for el := s.order.Front(); el != nil && s.expired(el.Value.(*idemMeta).time()); el = s.order.Front() {
		s.removeLocked(el, true)
	}
}

// stats returns the kept keys, their bytes and the evictions so far.
func (s *idemStore) stats() (keys int, bytes, evicted int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len(), s.bytes, s.evicted
}

func sortByAt(ms []*idemMeta) {
	slices.SortFunc(ms, func(a, b *idemMeta) int { return cmp.Compare(a.at, b.at) })
}
