package blob

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The reference log (<dir>/refs.log) lists, one sha256 a line, every blob a
// record may reference: the engine appends the blobs of an item before any
// record or dead letter made from it is produced (Reference), and the
// garbage collector never deletes a blob listed there. A store created
// before the log existed has all its blobs listed when the log is first
// made, so nothing older is ever collected.

const refLogHeader = "# petitiond blob references v1: one sha256 per line; blobs listed here are never collected\n"

type refLog struct {
	path string
	sync bool
	mu   sync.Mutex
	f    *os.File
	gs   dirSync
	// fsyncs counts the store's fsyncs (Dir.Fsyncs).
	fsyncs *atomic.Int64

	// recent holds shas known to be in the log durably, so that the many
	// items sharing one original (a call-log chunk) append it once.
	recentMu sync.Mutex
	recent   map[string]struct{}
	ring     []string
	next     int
}

const recentRefs = 1 << 16

func (l *refLog) known(sum string) bool {
	l.recentMu.Lock()
	defer l.recentMu.Unlock()
	_, ok := l.recent[sum]
	return ok
}

// remember notes sums as durable in the log (after the write, and the
// fsync when the store syncs).
func (l *refLog) remember(sums []string) {
	l.recentMu.Lock()
	defer l.recentMu.Unlock()
	if l.recent == nil {
		l.recent, l.ring = map[string]struct{}{}, make([]string, recentRefs)
	}
	for _, s := range sums {
		if _, ok := l.recent[s]; ok {
			continue
		}
		if old := l.ring[l.next]; old != "" {
			delete(l.recent, old)
		}
		l.ring[l.next] = s
		l.recent[s] = struct{}{}
		l.next = (l.next + 1) % recentRefs
	}
}

func openRefLog(d *Dir) (*refLog, error) {
	path := filepath.Join(d.root, "refs.log")
	if _, err := os.Stat(path); os.IsNotExist(err) {
		if err := bootstrapRefs(d, path); err != nil {
			return nil, fmt.Errorf("reference log: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("reference log: %w", err)
	}
	return &refLog{path: path, sync: d.sync, f: f, fsyncs: &d.fsyncs}, nil
}

// bootstrapRefs lists every blob already stored in a new log, written
// aside and renamed into place when complete.
func bootstrapRefs(d *Dir, path string) error {
	tmp := path + ".new"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	var b strings.Builder
	b.WriteString(refLogHeader)
	fmt.Fprintf(&b, "# blobs stored before %s\n", time.Now().UTC().Format(time.RFC3339))
	err = d.walk(func(sum string, _ os.FileInfo) {
		b.WriteString(sum)
		b.WriteByte('\n')
		if b.Len() > 1<<20 && err == nil {
			_, err = f.WriteString(b.String())
			b.Reset()
		}
	})
	if err == nil {
		_, err = f.WriteString(b.String())
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// walk calls fn for every stored blob.
func (d *Dir) walk(fn func(sum string, info os.FileInfo)) error {
	for i := 0; i < 256; i++ {
		shard := filepath.Join(d.root, fmt.Sprintf("%02x", i))
		ents, err := os.ReadDir(shard)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if len(e.Name()) != 64 || !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // deleted meanwhile
			}
			fn(e.Name(), info)
		}
	}
	return nil
}

// Reference records that a record about to be produced references the
// blobs sums: the garbage collector keeps them for good. It is durable
// before it returns when the store syncs (concurrent callers share one
// fsync).
func (d *Dir) Reference(sums ...string) error {
	wait, err := d.ReferenceLater(sums...)
	if err != nil {
		return err
	}
	return wait()
}

// ReferenceLater is Reference in two steps: it writes the references and
// returns a function that waits until they are durable. A caller about to
// store a blob itself (a staged original promoted) calls it first: the
// blob's group commit then covers the references too, and the wait
// returns without a second fsync.
func (d *Dir) ReferenceLater(sums ...string) (wait func() error, err error) {
	done := func() error { return nil }
	l := d.refs
	if l == nil {
		return done, nil
	}
	var b []byte
	var added []string
	for _, s := range sums {
		if len(s) == 64 && !l.known(s) {
			b = append(b, s...)
			b = append(b, '\n')
			added = append(added, s)
		}
	}
	if len(b) == 0 {
		return done, nil
	}
	if d.jr != nil {
		// Durable through the journal, in the same group commit as the
		// blobs being stored meanwhile; refs.log itself is synced when
		// the journal file holding the record is retired (its syncfs
		// comes after this write, which precedes the record).
		l.mu.Lock()
		_, err := l.f.Write(b)
		l.mu.Unlock()
		var synced func() error
		if err == nil {
			synced, err = d.jr.appendNoWait(encodeRecord(refsMagic, [sha256.Size]byte{}, b))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reference log: %w", ErrStore, err)
		}
		return func() error {
			if err := synced(); err != nil {
				return fmt.Errorf("%w: reference log: %w", ErrStore, err)
			}
			l.remember(added)
			return nil
		}, nil
	}
	l.mu.Lock()
	_, err = l.f.Write(b)
	l.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: reference log: %w", ErrStore, err)
	}
	return func() error {
		if l.sync {
			if err := l.gs.do(func() error { l.fsyncs.Add(1); return l.f.Sync() }); err != nil {
				return fmt.Errorf("%w: reference log: %w", ErrStore, err)
			}
		}
		l.remember(added)
		return nil
	}, nil
}

func (l *refLog) close() { l.f.Close() }
