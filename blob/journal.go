package blob

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The journal group-commits the durability of small blobs.
//
// Without it every small Put (a posted body, a letter's text) costs an
// fsync of its own file and one of its shard directory: with many
// concurrent requests the disk does one flush per submission. With it, a
// small blob is appended to <dir>/journal.log and concurrent writers share
// one fsync of that file (a sync that started after their append); the
// blob's own file is then written without an fsync. The invariant: every
// blob file is either durable itself or its content is in the durable
// journal. When the journal grows past journalRotate, writers are held
// back, the whole file system is synced once (syncfs) and the journal
// emptied. On Open a journal left by a crash is replayed: every complete
// record whose blob file is missing or wrong is written again (durably),
// then the journal is emptied. A torn last record is a Put that never
// returned: it is dropped.
//
// References (Dir.Reference) share the journal: they are written to
// refs.log without an fsync and to the journal as a reference record, so a
// letter's blobs and its references cost one group commit, not one each;
// a replay appends them to refs.log again (a sha256 listed twice is
// harmless).
//
// Record: "PBJ1" (a blob) or "PBR1" (references) | uint32 length | 32
// bytes: the blob's sha256, zero for references | data (the blob, or the
// refs.log lines) | uint32 crc32c of everything before it in the record.

const (
	journalName = "journal.log"
	// journalMaxBlob is the largest blob that goes through the journal;
	// larger ones are synced on their own (the fsync is small next to
	// writing them).
	journalMaxBlob = 256 << 10
	// journalRotate is the journal size that triggers a syncfs and a
	// fresh journal.
	journalRotate = 64 << 20
)

var (
	journalMagic = [4]byte{'P', 'B', 'J', '1'}
	refsMagic    = [4]byte{'P', 'B', 'R', '1'}
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type journal struct {
	d    *Dir
	path string

	// rot is held shared by a writer from its append until its blob file
	// is written, and exclusively by a rotation.
	rot  sync.RWMutex
	mu   sync.Mutex // appends
	f    *os.File
	size int64
	gs   dirSync // the group commit of appends
	// rotateAt is journalRotate (smaller in tests).
	rotateAt int64
}

// openJournal takes the journal for this process, replays what a crash left
// in it, and returns it empty. The journal belongs to one process (an
// exclusive flock): another process opening the same store (petitiond
// blobs gc beside the daemon) gets nil and syncs each of its blobs itself.
func openJournal(d *Dir) (*journal, error) {
	j := &journal{d: d, path: filepath.Join(d.root, journalName), rotateAt: journalRotate}
	f, err := os.OpenFile(j.path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("journal: lock: %w", err)
	}
	if err := j.replay(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	j.f = f
	return j, nil
}

// replay makes every blob of a leftover journal durable, then empties it.
func (j *journal) replay(f *os.File) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	n, err := readJournal(bufio.NewReader(f), func(sum string, data []byte) error {
		if sum == "" { // references
			if j.d.refs == nil {
				return nil
			}
			_, err := j.d.refs.f.Write(data)
			return err
		}
		if j.d.intact(sum, data) {
			return nil
		}
		os.Remove(j.d.path(sum)) // damaged: commit keeps what exists
		_, err := j.d.putDurable(sum, data)
		return err
	})
	if err != nil {
		return err
	}
	if n > 0 {
		// The blob files that were intact, and refs.log, were written
		// without an fsync.
		if err := syncfs(j.d.root); err != nil {
			return err
		}
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	return f.Sync()
}

// readJournal calls fn for every complete record of r (sum "" for a
// reference record) and returns how many there were. It stops at the
// first torn or corrupt record.
func readJournal(r io.Reader, fn func(sum string, data []byte) error) (int, error) {
	n := 0
	var hdr [4 + 4 + sha256.Size]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return n, nil // end, or a torn header
		}
		refs := bytes.Equal(hdr[:4], refsMagic[:])
		if !refs && !bytes.Equal(hdr[:4], journalMagic[:]) {
			return n, nil
		}
		size := binary.LittleEndian.Uint32(hdr[4:8])
		if size > journalMaxBlob {
			return n, nil
		}
		data := make([]byte, size+4)
		if _, err := io.ReadFull(r, data); err != nil {
			return n, nil
		}
		crc := crc32.Update(crc32.Checksum(hdr[:], crcTable), crcTable, data[:size])
		if crc != binary.LittleEndian.Uint32(data[size:]) {
			return n, nil
		}
		data = data[:size]
		hexSum := ""
		if !refs {
			sum := sha256.Sum256(data)
			if !bytes.Equal(sum[:], hdr[8:]) {
				return n, nil
			}
			hexSum = hex.EncodeToString(sum[:])
		}
		if err := fn(hexSum, data); err != nil {
			return n, err
		}
		n++
	}
}

// record encodes one journal record of a blob.
func record(sum [sha256.Size]byte, data []byte) []byte { return encodeRecord(journalMagic, sum, data) }

func encodeRecord(magic [4]byte, sum [sha256.Size]byte, data []byte) []byte {
	b := make([]byte, 0, 4+4+sha256.Size+len(data)+4)
	b = append(b, magic[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, sum[:]...)
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

// put stores a small blob: appended to the journal, durable with the next
// shared fsync, then written to its file without one.
func (j *journal) put(sum [sha256.Size]byte, hexSum string, data []byte) (Ref, error) {
	var ref Ref
	err := j.append(record(sum, data), func() (err error) {
		ref, err = j.d.writeFile(hexSum, data)
		return err
	})
	if err != nil {
		return Ref{}, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return ref, nil
}

// append writes rec to the journal, waits for a shared fsync that covers
// it, then runs after (the part a rotation must not cut in two) before it
// lets a rotation happen.
func (j *journal) append(rec []byte, after func() error) error {
	j.rot.RLock()
	err := j.appendLocked(rec)
	if err == nil && after != nil {
		err = after()
	}
	j.rot.RUnlock()
	if err == nil {
		j.maybeRotate()
	}
	return err
}

// appendLocked writes rec and waits for a shared fsync that started after
// it; the caller holds rot shared.
func (j *journal) appendLocked(rec []byte) error {
	wait, err := j.appendNoWait(rec)
	if err != nil {
		return err
	}
	return wait()
}

// appendNoWait writes rec; the function it returns waits for a shared
// fsync that covers it (one that started after the write). The caller
// holds rot shared for the write; the wait needs no lock (a rotation
// syncs everything written before it).
func (j *journal) appendNoWait(rec []byte) (func() error, error) {
	j.mu.Lock()
	_, err := j.f.Write(rec)
	if err == nil {
		j.size += int64(len(rec))
	}
	f := j.f
	j.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ticket := j.gs.ticket()
	return func() error { return j.gs.wait(ticket, func() error { return j.d.fsync(f) }) }, nil
}

// maybeRotate rotates a full journal; call it holding no lock.
func (j *journal) maybeRotate() {
	j.mu.Lock()
	full := j.size >= j.rotateAt
	j.mu.Unlock()
	if full {
		j.rotate()
	}
}

// rotate waits for the writers in progress, makes every blob file durable
// with one syncfs and empties the journal. A failure leaves the journal as
// it is (it is tried again by the next writer that finds it full).
func (j *journal) rotate() {
	j.rot.Lock()
	defer j.rot.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.size < j.rotateAt {
		return // another writer rotated it
	}
	j.d.fsyncs.Add(1)
	if err := syncfs(j.d.root); err != nil {
		return
	}
	if err := j.f.Truncate(0); err != nil {
		return
	}
	if err := j.d.fsync(j.f); err != nil {
		return
	}
	j.size = 0
}

func (j *journal) close() {
	if j.f != nil {
		j.f.Close()
	}
}

// syncfs flushes the file system holding dir.
func syncfs(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
