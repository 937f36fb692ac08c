package calllog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/court12368/petitiond/internal/atomicfile"
)

// stateFile is the name of the offsets file in the channel's state dir.
const stateFile = "offsets.json"

// fileID identifies a file independently of its name: a rename (log
// rotation, the export claim) keeps it.
type fileID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

func (id fileID) String() string { return fmt.Sprintf("%d:%d", id.Dev, id.Ino) }

func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}
	}
	return fileID{}
}

// headLen is how many leading bytes fingerprint a file, so that a new file
// that got a deleted file's inode is not mistaken for it.
const headLen = 256

// fileState is the saved progress in one file.
type fileState struct {
	Path string `json:"path"`
	fileID
	// Offset is the checkpoint: every line before it was delivered.
	Offset int64 `json:"offset"`
	// HeadLen and HeadSHA256 fingerprint the first bytes of the file;
	// HeadLen 0 when the file was empty when last saved.
	HeadLen    int    `json:"head_len,omitempty"`
	HeadSHA256 string `json:"head_sha256,omitempty"`
}

type stateDoc struct {
	Version int          `json:"version"`
	Files   []*fileState `json:"files"`
}

// loadState reads the offsets file; a missing file is an empty state.
func loadState(dir string) (map[fileID]*fileState, error) {
	out := map[fileID]*fileState{}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	var doc stateDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	for _, f := range doc.Files {
		out[f.fileID] = f
	}
	return out, nil
}

// saveState writes the offsets atomically: a temporary file, synced,
// renamed over the old one, and the directory synced.
func saveState(dir string, files []*fileState) error {
	sortStates(files)
	b, err := json.MarshalIndent(stateDoc{Version: 1, Files: files}, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, stateFile), append(b, '\n'))
}

func sortStates(files []*fileState) {
	sort.Slice(files, func(i, j int) bool {
		if files[i].Path != files[j].Path {
			return files[i].Path < files[j].Path
		}
		return files[i].Ino < files[j].Ino
	})
}

func writeAtomic(path string, data []byte) error { return atomicfile.Write(path, data, 0o640) }

// fingerprint returns the length and hash of the first bytes of f (at
// most headLen, and at most limit).
func fingerprint(f io.ReaderAt, limit int64) (int, string, error) {
	n := int64(headLen)
	if limit < n {
		n = limit
	}
	if n <= 0 {
		return 0, "", nil
	}
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return 0, "", err
	}
	sum := sha256.Sum256(buf[:got])
	return got, hex.EncodeToString(sum[:]), nil
}

// matches reports whether f still is the file st describes (same first
// bytes; an empty fingerprint matches any file).
func (st *fileState) matches(f io.ReaderAt) bool {
	if st.HeadLen == 0 {
		return true
	}
	buf := make([]byte, st.HeadLen)
	n, err := f.ReadAt(buf, 0)
	if n != st.HeadLen || (err != nil && err != io.EOF) {
		return false
	}
	sum := sha256.Sum256(buf)
	want, err := hex.DecodeString(st.HeadSHA256)
	return err == nil && bytes.Equal(sum[:], want)
}
