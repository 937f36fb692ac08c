package normalize

import (
	"bufio"
	"bytes"
	"container/list"
	"encoding/json"
	"os"
	"sync"

	"github.com/court12368/petitiond/internal/atomicfile"
)

// Repeats remembers which petitioner raised which case, bounded (the least
// recently seen entries are forgotten first) and saved to a file, so a
// petition about a case the same person raised before is labelled "repeat".
type Repeats struct {
	saveMu sync.Mutex // one Save at a time, so snapshots land in order
	mu     sync.Mutex
	max    int
	ll     *list.List
	m      map[string]*list.Element
	file   string
	dirty  bool
}

type repeatEntry struct {
	Key      string `json:"k"`
	ID       string `json:"i"`
	Tracking string `json:"t"`
}

// OpenRepeats loads the memory from file (missing is fine).
func OpenRepeats(file string, max int) (*Repeats, error) {
	r := &Repeats{max: max, ll: list.New(), m: map[string]*list.Element{}, file: file}
	if file == "" {
		return r, nil
	}
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e repeatEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Key != "" {
			r.add(e)
		}
	}
	return r, nil
}

func (r *Repeats) add(e repeatEntry) {
	if el, ok := r.m[e.Key]; ok {
		r.ll.MoveToFront(el)
		return
	}
	r.m[e.Key] = r.ll.PushFront(e)
	for r.max > 0 && r.ll.Len() > r.max {
		old := r.ll.Back()
		r.ll.Remove(old)
		delete(r.m, old.Value.(repeatEntry).Key)
	}
}

// Lookup returns the tracking number of an earlier, different petition
// recorded under key, or "". A replay of the same petition (same id) is not
// a repeat of itself.
func (r *Repeats) Lookup(key, id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.m[key]; ok {
		if e := el.Value.(repeatEntry); e.ID != id {
			return e.Tracking
		}
	}
	return ""
}

// Record remembers an acknowledged petition under key (the first one
// stays the reference; later ones refresh its place in the bound).
func (r *Repeats) Record(key, id, tracking string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dirty = true
	r.add(repeatEntry{Key: key, ID: id, Tracking: tracking})
}

// Check is Lookup followed by Record.
func (r *Repeats) Check(key, id, tracking string) string {
	prev := r.Lookup(key, id)
	r.Record(key, id, tracking)
	return prev
}

// Save writes the memory to its file (atomically) when it changed.
func (r *Repeats) Save() (err error) {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	r.mu.Lock()
	if !r.dirty || r.file == "" {
		r.mu.Unlock()
		return nil
	}
	entries := make([]repeatEntry, 0, r.ll.Len())
	for el := r.ll.Back(); el != nil; el = el.Prev() {
		entries = append(entries, el.Value.(repeatEntry))
	}
	r.dirty = false
	r.mu.Unlock()
	defer func() {
		if err != nil { // keep it dirty so the next Save tries again
			r.mu.Lock()
			r.dirty = true
			r.mu.Unlock()
		}
	}()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range entries {
		enc.Encode(e)
	}
	return atomicfile.Write(r.file, buf.Bytes(), 0o600)
}

// Len is the number of remembered entries.
func (r *Repeats) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ll.Len()
}
