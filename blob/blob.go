// Package blob stores originals and attachments content-addressed (sha256).
//
// Originals are evidence: a letter's .eml, a scan, a posted body. They are
// written once, streamed (never held in memory whole), made durable before
// Put returns, and referenced from the petition record by sha256 and URI.
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/court12368/petitiond/internal/atomicfile"
)

// Ref points at a stored blob.
type Ref struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	URI    string `json:"uri"`
}

// IsZero reports whether r is the zero reference.
func (r Ref) IsZero() bool { return r.SHA256 == "" }

// Store is what channels and normalizers need from a blob store.
type Store interface {
	// Put streams r into the store and returns its reference. When limit > 0
	// and r yields more than limit bytes, Put stores nothing and returns an
	// error wrapping ErrTooLarge.
	Put(r io.Reader, limit int64) (Ref, error)
	// Open returns the content of a stored blob.
	Open(sha256hex string) (io.ReadCloser, error)
}

// ErrTooLarge is returned (wrapped) by Put when the content exceeds the limit.
var ErrTooLarge = errors.New("blob too large")

// ErrStore is returned (wrapped) by Put when the store itself failed
// (disk full, I/O error), as opposed to reading the input.
var ErrStore = errors.New("blob store failure")

// ErrNotFound is returned (wrapped) by Open for an unknown blob.
var ErrNotFound = errors.New("blob not found")

// Dir is a Store in a local directory: <dir>/<aa>/<sha256>.
type Dir struct {
	root    string
	baseURI string
	sync    bool // fsync blobs and their directory entries
	dirs    [256]dirSync
	staging staging
	refs    *refLog
	gcLock  *sharedFlock
	jr      *journal // nil without sync
	fsyncs  atomic.Int64
	// remote, when set, holds the blobs (an S3 bucket); the directory
	// keeps only staging and temporary files.
	remote *s3Remote
}

// Fsyncs returns how many fsyncs (and syncfs) the store has done: with
// group commit, far fewer than blobs stored.
func (d *Dir) Fsyncs() int64 { return d.fsyncs.Load() }

// syncDir makes the entries of directory dir durable, counted as an fsync.
func (d *Dir) syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return d.fsync(f)
}

// fsync syncs f and counts it.
func (d *Dir) fsync(f interface{ Sync() error }) error {
	d.fsyncs.Add(1)
	return f.Sync()
}

// dirSync batches fsyncs of one shard directory: a writer needs a sync that
// started after its rename; concurrent writers share one (group commit).
type dirSync struct {
	mu      sync.Mutex
	cond    *sync.Cond
	started uint64
	done    uint64
	running bool
	err     error
}

// do runs fn (an fsync) so that it starts after the call: concurrent
// callers share one run.
func (s *dirSync) do(fn func() error) error {
	return s.wait(s.ticket(), fn)
}

// ticket is the generation of a sync that starts after now: what was
// written before the call is durable once that sync is done.
func (s *dirSync) ticket() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started + 1
}

// wait returns once a sync of generation want or later is done, running
// fn (concurrent callers share one run) when none is under way.
func (s *dirSync) wait(want uint64, fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cond == nil {
		s.cond = sync.NewCond(&s.mu)
	}
	for s.done < want {
		if s.running {
			s.cond.Wait()
			continue
		}
		s.running = true
		s.started++
		gen := s.started
		s.mu.Unlock()
		err := fn()
		s.mu.Lock()
		s.running, s.done, s.err = false, gen, err
		s.cond.Broadcast()
	}
	return s.err
}

// Options tune a Dir.
type Options struct {
	// BaseURI, when not empty, prefixes the URIs handed out (e.g.
	// "https://blobs.court/"), otherwise URIs are file:// paths.
	BaseURI string
	// NoSync skips making blobs durable before Put returns. Only for tests
	// and benchmarks: an acknowledged petition's original could be lost in
	// a power failure.
	NoSync bool
	// Staging bounds the staging area (see Stage); zero values are the
	// defaults.
	Staging StagingLimits
	// S3, when set, stores the blobs in an S3-compatible bucket instead
	// of the directory, which then keeps only staging and temporary
	// files. A blob is durable when the server acknowledged its upload;
	// there is no local journal or reference log (GC refuses: the
	// bucket's own retention governs it).
	S3 *S3Options
}

// NewDir returns a store rooted at dir, creating it when missing.
func NewDir(dir, baseURI string) (*Dir, error) { return Open(dir, Options{BaseURI: baseURI}) }

// Open returns a store rooted at dir with options.
func Open(dir string, opts Options) (*Dir, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(abs, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	for i := 0; i < 256; i++ {
		if err := os.MkdirAll(filepath.Join(abs, fmt.Sprintf("%02x", i)), 0o750); err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
	}
	d := &Dir{root: abs, baseURI: opts.BaseURI, sync: !opts.NoSync}
	if err := d.staging.init(filepath.Join(abs, "staging"), opts.Staging); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	if opts.S3 != nil {
		r, err := newS3Remote(*opts.S3, opts.BaseURI)
		if err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
		// Local files are only spooled on their way to the bucket: they
		// need no fsync, and nothing is collected locally.
		d.remote, d.sync = r, false
		return d, nil
	}
	var err2 error
	if d.gcLock, err2 = openSharedFlock(filepath.Join(abs, "gc.lock")); err2 != nil {
		return nil, fmt.Errorf("blob store: %w", err2)
	}
	if d.refs, err2 = openRefLog(d); err2 != nil {
		return nil, fmt.Errorf("blob store: %w", err2)
	}
	if d.sync {
		if d.jr, err2 = openJournal(d); err2 != nil {
			return nil, fmt.Errorf("blob store: %w", err2)
		}
	}
	return d, nil
}

// Close releases the store's files.
func (d *Dir) Close() error {
	d.staging.close()
	if d.refs != nil {
		d.refs.close()
	}
	if d.gcLock != nil {
		d.gcLock.close()
	}
	if d.jr != nil {
		d.jr.close()
	}
	return nil
}

// Root returns the store's directory.
func (d *Dir) Root() string { return d.root }

// Location says where blobs are kept, for logs and the status page: the
// directory, or s3://bucket/prefix.
func (d *Dir) Location() string {
	if d.remote != nil {
		return "s3://" + d.remote.bucket + "/" + d.remote.prefix
	}
	return d.root
}

func (d *Dir) path(sum string) string { return filepath.Join(d.root, sum[:2], sum) }

// URI returns the URI of a blob by its sha256.
func (d *Dir) URI(sum string) string {
	if d.remote != nil {
		return d.remote.uri(sum)
	}
	if d.baseURI != "" {
		return strings.TrimRight(d.baseURI, "/") + "/" + sum[:2] + "/" + sum
	}
	return "file://" + filepath.ToSlash(d.path(sum))
}

// readErr remembers an error of the input, to tell it from a store error.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// headBufs hold the head of a streamed Put: one byte more than the journal
// takes, to know whether the blob ends within it.
var headBufs = sync.Pool{New: func() any { b := make([]byte, journalMaxBlob+1); return &b }}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// Put implements Store. The blob is written to a temporary file while it is
// hashed, synced, then renamed into place (so a crash never leaves a partial
// blob under its final name), and the directory entry is synced before Put
// returns.
func (d *Dir) Put(r io.Reader, limit int64) (Ref, error) {
	if br, ok := r.(*bytes.Reader); ok && (limit <= 0 || br.Size() <= limit) {
		return d.putSmall(br)
	}
	if d.jr != nil {
		// A streamed blob that turns out small (a letter's attachment)
		// goes through the journal too: read its head, and stream the
		// rest only when there is more.
		hp := headBufs.Get().(*[]byte)
		defer headBufs.Put(hp)
		head := *hp
		n, err := io.ReadFull(r, head)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			if limit > 0 && int64(n) > limit {
				return Ref{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
			}
			return d.putSmall(bytes.NewReader(head[:n]))
		case err != nil:
			return Ref{}, err // the input failed
		}
		r = io.MultiReader(bytes.NewReader(head[:n]), r)
	}
	f, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "put-*")
	if err != nil {
		return Ref{}, fmt.Errorf("%w: %w", ErrStore, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	h := sha256.New()
	src := &readErr{r: r}
	var in io.Reader = src
	if limit > 0 {
		in = io.LimitReader(src, limit+1)
	}
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(f, h), in, *buf)
	copyBufs.Put(buf)
	if err != nil && src.err == nil {
		err = fmt.Errorf("%w: %w", ErrStore, err) // the write side failed
	}
	if err == nil && limit > 0 && n > limit {
		err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	if err == nil && d.sync {
		if err = d.fsync(f); err != nil {
			err = fmt.Errorf("%w: %w", ErrStore, err)
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%w: %w", ErrStore, cerr)
	}
	if err != nil {
		return Ref{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return d.commit(tmp, sum, n)
}

// putSmall stores an in-memory blob: hash first, and skip the write when the
// blob is already there. With sync, a blob up to journalMaxBlob is made
// durable through the journal (one fsync shared by concurrent writers).
func (d *Dir) putSmall(br *bytes.Reader) (Ref, error) {
	b := make([]byte, br.Len())
	br.Read(b)
	h := sha256.Sum256(b)
	sum := hex.EncodeToString(h[:])
	if d.remote != nil {
		return d.putRemote(sum, bytes.NewReader(b), int64(len(b)))
	}
	if d.exists(sum, int64(len(b))) {
		return Ref{SHA256: sum, Size: int64(len(b)), URI: d.URI(sum)}, nil
	}
	if d.jr != nil && len(b) <= journalMaxBlob {
		return d.jr.put(h, sum, b)
	}
	return d.putDurable(sum, b)
}

// putDurable writes b under its sha256 sum, synced when the store syncs.
func (d *Dir) putDurable(sum string, b []byte) (Ref, error) {
	f, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "put-*")
	if err != nil {
		return Ref{}, fmt.Errorf("%w: %w", ErrStore, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(b)
	if err == nil && d.sync {
		err = d.fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Ref{}, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return d.commit(tmp, sum, int64(len(b)))
}

// writeFile writes b under its sha256 sum without an fsync: the journal
// holds it durably until the next syncfs. It writes the final name in
// place, without a temporary file and a rename (a third of the cost of
// storing a small original on ext4): a file cut short by a crash is
// rewritten by the journal's replay, and exists takes a file shorter than
// the blob for a missing one. Two writers of one blob write the same bytes
// at the same offsets.
func (d *Dir) writeFile(sum string, b []byte) (Ref, error) {
	ref := Ref{SHA256: sum, Size: int64(len(b)), URI: d.URI(sum)}
	f, err := os.OpenFile(d.path(sum), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return Ref{}, err
	}
	_, err = f.WriteAt(b, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Ref{}, err
	}
	return ref, nil
}

// intact reports whether the blob sum is stored with exactly data.
func (d *Dir) intact(sum string, data []byte) bool {
	got, err := os.ReadFile(d.path(sum))
	return err == nil && bytes.Equal(got, data)
}

func (d *Dir) commit(tmp, sum string, n int64) (Ref, error) {
	if d.remote != nil {
		f, err := os.Open(tmp)
		if err != nil {
			return Ref{}, fmt.Errorf("%w: %w", ErrStore, err)
		}
		defer f.Close()
		return d.putRemote(sum, f, n)
	}
	ref := Ref{SHA256: sum, Size: n, URI: d.URI(sum)}
	final := d.path(sum)
	if d.exists(sum, n) {
		return ref, nil
	}
	if err := os.Rename(tmp, final); err != nil {
		return Ref{}, fmt.Errorf("%w: %w", ErrStore, err)
	}
	if d.sync {
		shard, _ := strconv.ParseUint(sum[:2], 16, 8)
		if err := d.dirs[shard].do(func() error { d.fsyncs.Add(1); return atomicfile.SyncDir(filepath.Dir(final)) }); err != nil {
			return Ref{}, fmt.Errorf("%w: sync: %w", ErrStore, err)
		}
	}
	return ref, nil
}

// putRemote uploads a blob to the bucket; it is durable when this returns.
func (d *Dir) putRemote(sum string, body io.Reader, n int64) (Ref, error) {
	if err := d.remote.put(sum, body, n); err != nil {
		return Ref{}, fmt.Errorf("%w: s3: %w", ErrStore, err)
	}
	return Ref{SHA256: sum, Size: n, URI: d.URI(sum)}, nil
}

// exists reports whether a blob is stored, and if so renews its mtime
// under the shared GC lock: a blob about to be referenced again is young
// for the garbage collector, which checks the age under the exclusive lock
// just before it deletes.
func (d *Dir) exists(sum string, size int64) bool {
	p := d.path(sum)
	if d.gcLock != nil {
		d.gcLock.lock()
		defer d.gcLock.unlock()
	}
	info, err := os.Stat(p)
	if err != nil || info.Size() < size {
		return false // a file still being written in place (writeFile) is not there yet
	}
	// GC's minimum age is an hour: an mtime from the last minute needs no
	// renewal (a resubmitted or repeated original skips the syscall).
	if now := time.Now(); now.Sub(info.ModTime()) > time.Minute {
		os.Chtimes(p, now, now)
	}
	return true
}

// RefOf returns the reference b would have once stored, without storing it.
func (d *Dir) RefOf(b []byte) Ref {
	h := sha256.Sum256(b)
	sum := hex.EncodeToString(h[:])
	return Ref{SHA256: sum, Size: int64(len(b)), URI: d.URI(sum)}
}

// Open implements Store.
func (d *Dir) Open(sum string) (io.ReadCloser, error) {
	if len(sum) != 64 {
		return nil, fmt.Errorf("%w: bad sha256 %q", ErrNotFound, sum)
	}
	if d.remote != nil {
		return d.remote.open(sum)
	}
	f, err := os.Open(d.path(sum))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, sum)
	}
	return f, err
}

var _ Store = (*Dir)(nil)
