// Package blob stores originals and attachments content-addressed (sha256).
//
// Originals are evidence: a letter's .eml, a scan, a posted body. They are
// written once, streamed (never held in memory whole), and referenced from
// the petition record by sha256 and URI.
package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// ErrNotFound is returned (wrapped) by Open for an unknown blob.
var ErrNotFound = errors.New("blob not found")

// Dir is a Store in a local directory: <dir>/<aa>/<sha256>.
type Dir struct {
	root    string
	baseURI string
}

// NewDir returns a store rooted at dir, creating it when missing. baseURI,
// when not empty, prefixes the URIs handed out (e.g. "https://blobs.court/"),
// otherwise URIs are file:// paths.
func NewDir(dir, baseURI string) (*Dir, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(abs, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return &Dir{root: abs, baseURI: baseURI}, nil
}

// Root returns the store's directory.
func (d *Dir) Root() string { return d.root }

func (d *Dir) path(sum string) string { return filepath.Join(d.root, sum[:2], sum) }

// URI returns the URI of a blob by its sha256.
func (d *Dir) URI(sum string) string {
	if d.baseURI != "" {
		return strings.TrimRight(d.baseURI, "/") + "/" + sum[:2] + "/" + sum
	}
	return "file://" + filepath.ToSlash(d.path(sum))
}

// Put implements Store. The blob is written to a temporary file while it is
// hashed, synced, then renamed into place, so a crash never leaves a partial
// blob under its final name.
func (d *Dir) Put(r io.Reader, limit int64) (Ref, error) {
	f, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "put-*")
	if err != nil {
		return Ref{}, fmt.Errorf("blob store: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	h := sha256.New()
	src := r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err == nil && limit > 0 && n > limit {
		err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Ref{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	final := d.path(sum)
	if _, err := os.Stat(final); err == nil {
		return Ref{SHA256: sum, Size: n, URI: d.URI(sum)}, nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return Ref{}, fmt.Errorf("blob store: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return Ref{}, fmt.Errorf("blob store: %w", err)
	}
	return Ref{SHA256: sum, Size: n, URI: d.URI(sum)}, nil
}

// Open implements Store.
func (d *Dir) Open(sum string) (io.ReadCloser, error) {
	if len(sum) != 64 {
		return nil, fmt.Errorf("%w: bad sha256 %q", ErrNotFound, sum)
	}
	f, err := os.Open(d.path(sum))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, sum)
	}
	return f, err
}

var _ Store = (*Dir)(nil)
