package imap

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/court12368/petitiond/internal/atomicfile"
)

// validityFile remembers the UIDVALIDITY last seen per mailbox, so a change
// (the mailbox was recreated or restored) is noticed across restarts.
type validityFile struct {
	path string
	mu   sync.Mutex
	m    map[string]uint32
}

func openValidity(dir string) (*validityFile, error) {
	v := &validityFile{path: filepath.Join(dir, "uidvalidity.json"), m: map[string]uint32{}}
	b, err := os.ReadFile(v.path)
	switch {
	case os.IsNotExist(err):
		return v, nil
	case err != nil:
		return nil, fmt.Errorf("imap state: %w", err)
	}
	if err := json.Unmarshal(b, &v.m); err != nil {
		return nil, fmt.Errorf("imap state: %s: %w", v.path, err)
	}
	return v, nil
}

// get returns the stored UIDVALIDITY of mailbox (0 when unknown).
func (v *validityFile) get(mailbox string) uint32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[mailbox]
}

// set stores the UIDVALIDITY of mailbox (atomically replacing the file).
func (v *validityFile) set(mailbox string, validity uint32) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m[mailbox] == validity {
		return nil
	}
	v.m[mailbox] = validity
	b, _ := json.Marshal(v.m)
	if err := atomicfile.Write(v.path, b, 0o640); err != nil {
		return fmt.Errorf("imap state: %w", err)
	}
	return nil
}

// threadIndex maps the Message-IDs of letters taken in to the tracking
// numbers of their records, so that a reply (In-Reply-To/References) is
// recognised as a follow-up. It is bounded (the oldest entries are
// forgotten first) and kept in an append-only file in the channel state
// dir, rewritten when it has grown to twice the bound.
type threadIndex struct {
	mu    sync.Mutex
	path  string
	max   int
	m     map[string]string
	order []string // the keys of m in insertion order, oldest first
	lines int      // lines in the file
	f     *os.File
}

func openThreadIndex(dir string, max int) (*threadIndex, error) {
	x := &threadIndex{path: filepath.Join(dir, "thread-index.tsv"), max: max, m: map[string]string{}}
	if max == 0 {
		return x, nil
	}
	f, err := os.Open(x.path)
	if err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 4096), 64<<10)
		for sc.Scan() {
			id, tn, ok := strings.Cut(sc.Text(), "\t")
			if !ok || id == "" || tn == "" {
				continue
			}
			x.lines++
			x.put(id, tn)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("imap thread index: %w", err)
		}
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("imap thread index: %w", err)
	}
	return x, nil
}

func (x *threadIndex) put(id, tn string) {
	if _, ok := x.m[id]; !ok {
		x.order = append(x.order, id)
	}
	x.m[id] = tn
	for len(x.m) > x.max {
		old := x.order[0]
		x.order = x.order[1:]
		delete(x.m, old)
	}
}

// lookup returns the tracking number of the first id that is known.
func (x *threadIndex) lookup(ids ...string) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, id := range ids {
		if tn, ok := x.m[id]; ok {
			return tn
		}
	}
	return ""
}

// add remembers that the letter id was taken in as tracking number tn.
func (x *threadIndex) add(id, tn string) error {
	if x.max == 0 || id == "" || tn == "" || strings.ContainsAny(id, "\t\r\n") {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m[id] == tn {
		return nil
	}
	x.put(id, tn)
	if x.lines >= 2*x.max {
		return x.rewrite()
	}
	if x.f == nil {
		f, err := os.OpenFile(x.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return fmt.Errorf("imap thread index: %w", err)
		}
		x.f = f
	}
	x.lines++
	if _, err := x.f.WriteString(id + "\t" + tn + "\n"); err != nil {
		return fmt.Errorf("imap thread index: %w", err)
	}
	return nil
}

// rewrite replaces the file by the current entries.
func (x *threadIndex) rewrite() error {
	if x.f != nil {
		x.f.Close()
		x.f = nil
	}
	var w bytes.Buffer
	n := 0
	for _, id := range x.order {
		if tn, ok := x.m[id]; ok {
			w.WriteString(id + "\t" + tn + "\n")
			n++
		}
	}
	if err := atomicfile.Write(x.path, w.Bytes(), 0o640); err != nil {
		return fmt.Errorf("imap thread index: %w", err)
	}
	x.lines = n
	return nil
}

func (x *threadIndex) close() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.f != nil {
		x.f.Close()
		x.f = nil
	}
}
