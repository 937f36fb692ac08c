package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Staging: a channel that receives input it has not validated yet (a web
// upload) writes it to the staging area, not to the store. Only when the
// item is accepted (about to be produced) is it promoted into the
// content-addressed store; a rejected or failed item's staged data is
// deleted at once. The staging area is bounded in total and per client, so
// that rejected requests can neither fill the disk nor crowd out others.

// StagingLimits bound the staging area.
type StagingLimits struct {
	// MaxBytes bounds all staged data together (default 2 GiB).
	MaxBytes int64
	// MaxBytesPerClient bounds the staged data of one client (default
	// 512 MiB).
	MaxBytesPerClient int64
}

// ErrStagingFull is returned (wrapped) by Stage when the staging area is
// full: retry later.
var ErrStagingFull = errors.New("staging area full")

// ErrClientStagingFull is returned (wrapped) by Stage when the client has
// used up its share of the staging area.
var ErrClientStagingFull = errors.New("staging share of this client used up")

type staging struct {
	dir    string
	limits StagingLimits

	mu        sync.Mutex
	total     int64
	perClient map[string]int64
}

func (s *staging) init(dir string, l StagingLimits) error {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 2 << 30
	}
	if l.MaxBytesPerClient <= 0 {
		l.MaxBytesPerClient = 512 << 20
	}
	s.dir, s.limits, s.perClient = dir, l, map[string]int64{}
	return os.MkdirAll(dir, 0o750)
}

func (s *staging) close() {}

// reserve accounts n more staged bytes to client.
func (s *staging) reserve(client string, n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perClient[client]+n > s.limits.MaxBytesPerClient {
		return fmt.Errorf("%w (%d bytes)", ErrClientStagingFull, s.limits.MaxBytesPerClient)
	}
	if s.total+n > s.limits.MaxBytes {
		return fmt.Errorf("%w (%d bytes)", ErrStagingFull, s.limits.MaxBytes)
	}
	s.total += n
	s.perClient[client] += n
	return nil
}

func (s *staging) release(client string, n int64) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total -= n
	if s.perClient[client] -= n; s.perClient[client] <= 0 {
		delete(s.perClient, client)
	}
}

// StagedBytes returns the bytes staged now (for tests and metrics).
func (d *Dir) StagedBytes() int64 {
	d.staging.mu.Lock()
	defer d.staging.mu.Unlock()
	return d.staging.total
}

// Staged is data in the staging area (or in memory) with the reference it
// will have in the store.
type Staged struct {
	Ref
	// Sniffed is the content type sniffed from the first bytes
	// (SniffContentType).
	Sniffed string

	d        *Dir
	path     string // "" for data kept in memory
	mem      []byte
	client   string
	reserved int64

	mu   sync.Mutex
	done bool
}

// reserving is a writer that reserves staging room for what it writes.
type reserving struct {
	s      *staging
	client string
	n      int64
	err    error
}

func (w *reserving) Write(p []byte) (int, error) {
	if err := w.s.reserve(w.client, int64(len(p))); err != nil {
		w.err = err
		return 0, err
	}
	w.n += int64(len(p))
	return len(p), nil
}

// sniffer keeps the first bytes written, for content sniffing.
type sniffer struct{ b []byte }

func (s *sniffer) Write(p []byte) (int, error) {
	if n := 512 - len(s.b); n > 0 {
		s.b = append(s.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

// Stage streams r into the staging area, counting it against client's
// share. It fails with an error wrapping ErrTooLarge above limit (when
// limit > 0), ErrClientStagingFull or ErrStagingFull when the area is
// bounded, ErrStore when the disk failed; nothing stays staged then.
func (d *Dir) Stage(r io.Reader, limit int64, client string) (*Staged, error) {
	f, err := os.CreateTemp(d.staging.dir, "stage-*")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	st := &Staged{d: d, path: f.Name(), client: client}
	h := sha256.New()
	res := &reserving{s: &d.staging, client: client}
	sn := &sniffer{}
	src := &readErr{r: r}
	var in io.Reader = src
	if limit > 0 {
		in = io.LimitReader(src, limit+1)
	}
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(res, sn, h, f), in, *buf)
	copyBufs.Put(buf)
	st.reserved = res.n
	switch {
	case res.err != nil:
		err = res.err
	case err != nil && src.err == nil:
		err = fmt.Errorf("%w: %w", ErrStore, err)
	case err == nil && limit > 0 && n > limit:
		err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%w: %w", ErrStore, cerr)
	}
	if err != nil {
		st.Discard()
		return nil, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	st.Ref = Ref{SHA256: sum, Size: n, URI: d.URI(sum)}
	st.Sniffed = SniffContentType(sn.b)
	return st, nil
}

// StageBytes stages data held in memory (a small posted body): nothing is
// written until Promote.
func (d *Dir) StageBytes(b []byte) *Staged {
	return &Staged{d: d, Ref: d.RefOf(b), mem: b, Sniffed: SniffContentType(b)}
}

// Open reads the staged data.
func (s *Staged) Open() (io.ReadCloser, error) {
	if s.path == "" {
		return io.NopCloser(bytes.NewReader(s.mem)), nil
	}
	return os.Open(s.path)
}

// Promote moves the staged data into the store (made durable as Put does)
// and frees its staging room. Promoting twice is a no-op.
func (s *Staged) Promote() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	var err error
	if s.path == "" {
		_, err = s.d.putSmall(bytes.NewReader(s.mem))
	} else {
		err = s.promoteFile()
	}
	if err != nil {
		return err
	}
	s.finish()
	return nil
}

func (s *Staged) promoteFile() error {
	if s.d.sync {
		f, err := os.OpenFile(s.path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrStore, err)
		}
		err = s.d.fsync(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrStore, err)
		}
	}
	// Its mtime is that of the upload: make it young for the collector.
	now := time.Now()
	os.Chtimes(s.path, now, now)
	_, err := s.d.commit(s.path, s.SHA256, s.Size)
	return err
}

// Discard deletes the staged data unless it was promoted. Safe to call
// more than once and after Promote.
func (s *Staged) Discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.finish()
	}
}

func (s *Staged) finish() {
	if s.path != "" {
		os.Remove(s.path) // gone already after a rename
	}
	s.d.staging.release(s.client, s.reserved)
	s.reserved = 0
	s.mem = nil
	s.done = true
}

// RemoveStaleStaging removes staged and temporary files older than age
// (left by a crash) and returns how many and how many bytes.
func (d *Dir) RemoveStaleStaging(age time.Duration) (int, int64) { return d.staleStaging(age, false) }

func (d *Dir) staleStaging(age time.Duration, dry bool) (int, int64) {
	var n int
	var bytes int64
	for _, sub := range []string{"staging", "tmp"} {
		ents, _ := os.ReadDir(filepath.Join(d.root, sub))
		for _, e := range ents {
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() || time.Since(info.ModTime()) < age {
				continue
			}
			if dry || os.Remove(filepath.Join(d.root, sub, e.Name())) == nil {
				n++
				bytes += info.Size()
			}
		}
	}
	return n, bytes
}

var _ Stager = (*Dir)(nil)

// Stager is a Store with a staging area.
type Stager interface {
	Store
	Stage(r io.Reader, limit int64, client string) (*Staged, error)
	StageBytes(b []byte) *Staged
}
