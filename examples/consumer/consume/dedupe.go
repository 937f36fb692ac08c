package consume

import (
	"bufio"
	"container/list"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Dedupe remembers the most recent ids it was told about: an in-memory LRU
// of at most Size ids, optionally backed by an append-only file of seen
// ids so that a restarted consumer still recognises them.
//
// It is a window, not a guarantee: an id evicted from the LRU (or lost with
// the last unsynced lines of the file when the machine crashes) is handled
// again when it comes again. The downstream system's own idempotent upsert
// by id is what makes a second handling harmless; Dedupe only saves work.
type Dedupe struct {
	mu    sync.Mutex
	size  int
	order *list.List // front: most recently seen
	ids   map[string]*list.Element

	path  string
	file  *os.File
	w     *bufio.Writer
	lines int // lines in the file, to know when to compact it
}

// NewDedupe returns a memory-only store of at most size ids.
func NewDedupe(size int) *Dedupe {
	if size < 1 {
		size = 1
	}
	return &Dedupe{size: size, order: list.New(), ids: make(map[string]*list.Element, size)}
}

// OpenDedupe returns a store of at most size ids backed by the file at
// path (created when missing): the ids in it are loaded, the newest size
// of them kept, and every new id is appended. The file is rewritten with
// only the remembered ids once it holds more than twice size lines, so it
// stays within about 2 × size × 37 bytes.
func OpenDedupe(path string, size int) (*Dedupe, error) {
	d := NewDedupe(size)
	d.path = path
	f, err := os.Open(path)
	switch {
	case err == nil:
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if id := strings.TrimSpace(sc.Text()); id != "" {
				d.remember(id)
				d.lines++
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("dedupe file %s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("dedupe file: %w", err)
	}
	if d.lines > 2*d.size {
		if err := d.compact(); err != nil {
			return nil, err
		}
		return d, nil
	}
	if d.file, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("dedupe file: %w", err)
	}
	d.w = bufio.NewWriter(d.file)
	return d, nil
}

// Seen reports whether id is remembered (and makes it the most recent).
func (d *Dedupe) Seen(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.ids[id]; ok {
		d.order.MoveToFront(e)
		return true
	}
	return false
}

// Add remembers id, evicting the oldest beyond the size, and appends it to
// the file. The line is flushed to the operating system, not fsynced: the
// offset commit that follows is what keeps a record from being read again,
// the file only has to recognise a later copy of it.
func (d *Dedupe) Add(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.ids[id]; ok {
		return nil
	}
	d.remember(id)
	if d.w == nil {
		return nil
	}
	d.w.WriteString(id)
	d.w.WriteByte('\n')
	if err := d.w.Flush(); err != nil {
		return fmt.Errorf("dedupe file: %w", err)
	}
	d.lines++
	if d.lines > 2*d.size {
		return d.compact()
	}
	return nil
}

// Len is the number of ids remembered.
func (d *Dedupe) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.order.Len()
}

// Close syncs and closes the file.
func (d *Dedupe) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.file == nil {
		return nil
	}
	err := d.w.Flush()
	if e := d.file.Sync(); err == nil {
		err = e
	}
	if e := d.file.Close(); err == nil {
		err = e
	}
	d.file, d.w = nil, nil
	return err
}

func (d *Dedupe) remember(id string) {
	if e, ok := d.ids[id]; ok {
		d.order.MoveToFront(e)
		return
	}
	d.ids[id] = d.order.PushFront(id)
	for d.order.Len() > d.size {
		old := d.order.Back()
		d.order.Remove(old)
		delete(d.ids, old.Value.(string))
	}
}

// compact rewrites the file with the remembered ids, oldest first, through
// a temporary file renamed over it.
func (d *Dedupe) compact() error {
	if d.file != nil {
		d.w.Flush()
		d.file.Close()
		d.file, d.w = nil, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(d.path), filepath.Base(d.path)+".*")
	if err != nil {
		return fmt.Errorf("dedupe file: %w", err)
	}
	w := bufio.NewWriter(tmp)
	for e := d.order.Back(); e != nil; e = e.Prev() {
		w.WriteString(e.Value.(string))
		w.WriteByte('\n')
	}
	err = w.Flush()
	if err == nil {
		err = tmp.Sync()
	}
	if e := tmp.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(tmp.Name(), d.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("dedupe file: %w", err)
	}
	d.lines = d.order.Len()
	if d.file, err = os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return fmt.Errorf("dedupe file: %w", err)
	}
	d.w = bufio.NewWriter(d.file)
	return nil
}
