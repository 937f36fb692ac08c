package calllog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/court12368/petitiond/channels"
)

// tailer follows the files matching path. Every open file is known by its
// identity (device, inode), so a rotation — the file renamed and a new one
// created under the name — is seen when the name points at another file:
// the old one is read to its end (until it has not grown for rotate_wait),
// the new one from its start. After a restart a file whose saved offset is
// behind its size is found again by its identity in its directory, also
// under a new name, and read to its end.
type tailer struct {
	r                  *run
	files              map[fileID]*file
	follow             map[string]*file // followed name → its current file
	state              map[fileID]*fileState
	retired            []*fileState // files read to the end, kept so they are not read again
	saved              []byte
	lastGlob, lastSave time.Time
	lastBacklog        time.Time
}

// backlogEvery is how often a busy reader publishes its backlog (an idle
// one does after every pass).
const backlogEvery = 250 * time.Millisecond

// noteBacklog publishes the bytes of the open files not read yet.
func (t *tailer) noteBacklog() {
	var n int64
	for _, fl := range t.files {
		n += behindIn(fl)
	}
	t.r.c.noteBacklog(n, -1)
}

// maxRetired bounds the finished files remembered in the state.
const maxRetired = 64

func (t *tailer) loop(ctx context.Context) error {
	r := t.r
	st, err := loadState(r.env.StateDir)
	if err != nil {
		return err
	}
	t.state, t.files, t.follow = st, map[fileID]*file{}, map[string]*file{}
	t.scan(true)
	t.recoverRotated()
	poll := r.cfg.PollInterval.D()
	for {
		busy := false
		for _, fl := range t.ordered() {
			if ctx.Err() != nil {
				return nil
			}
			n, err := t.pump(ctx, fl)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				r.log.Error("calllog: reading a CDR file failed", "file", fl.name, "offset", fl.readOff, "err", err)
				continue
			}
			busy = busy || n > 0
		}
		now := time.Now()
		if !busy || now.Sub(t.lastBacklog) >= backlogEvery {
			t.lastBacklog = now
			t.noteBacklog()
		}
		if now.Sub(t.lastGlob) >= poll {
			t.scan(false)
		}
		if now.Sub(t.lastSave) >= r.cfg.CheckpointInterval.D() {
			t.save()
		}
		if !busy && !channels.Sleep(ctx, poll) {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// ordered returns the open files, rotated ones (older lines) first.
func (t *tailer) ordered() []*file {
	out := make([]*file, 0, len(t.files))
	for _, fl := range t.files {
		out = append(out, fl)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].rotated != out[j].rotated {
			return out[i].rotated
		}
		return out[i].name < out[j].name
	})
	return out
}

// pump reads once from fl and handles its end: rotation, truncation,
// retirement.
func (t *tailer) pump(ctx context.Context, fl *file) (int, error) {
	r := t.r
	if fl.closed {
		if fl.tr.idle() {
			t.retire(fl)
		}
		return 0, nil
	}
	n, err := r.read(ctx, fl, false)
	if err != nil || n > 0 {
		return n, err
	}
	if fl.rotated {
		if time.Now().Sub(fl.lastGrowth) < r.cfg.RotateWait.D() {
			return 0, nil
		}
		// It stopped growing: a last line without "\n" is complete.
		if _, err := r.read(ctx, fl, true); err != nil {
			return 0, err
		}
		fl.f.Close()
		fl.closed = true
		r.log.Info("calllog: finished reading a rotated file", "file", fl.name, "offset", fl.readOff)
		return 0, nil
	}
	fi, err := os.Stat(fl.name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.log.Info("calllog: followed file was moved away; reading it to its end", "file", fl.name, "offset", fl.readOff)
		t.rotate(fl)
	case err != nil:
		return 0, err
	case idOf(fi) != fl.id:
		r.log.Info("calllog: followed file was rotated; reading the old one to its end", "file", fl.name, "offset", fl.readOff)
		t.rotate(fl)
		t.open(fl.name, false)
	case fi.Size() < fl.readOff:
		// Truncated in place (copytruncate): what was written after our
		// last read and before the truncation is lost to us.
		r.log.Warn("calllog: followed file was truncated; reading it from the start", "file", fl.name,
			"offset", fl.readOff, "size", fi.Size())
		// The old file object keeps the lines of the old content still
		// in flight (they finish on its tracker); a new one restarts at 0.
		fl.f.Close()
		fl.closed = true
		fl.rotated = true
		delete(t.files, fl.id)
		delete(t.follow, fl.name)
		t.open(fl.name, false)
	}
	return 0, nil
}

// rotate marks fl as no longer the file of its name.
func (t *tailer) rotate(fl *file) {
	fl.rotated = true
	fl.lastGrowth = time.Now()
	if t.follow[fl.name] == fl {
		delete(t.follow, fl.name)
	}
}

// retire forgets a closed file whose lines are all delivered, keeping its
// final offset in the state.
func (t *tailer) retire(fl *file) {
	if t.files[fl.id] == fl {
		delete(t.files, fl.id)
	}
	fl.st.Offset = fl.tr.checkpoint()
	t.retired = append(t.retired, fl.st)
	if len(t.retired) > maxRetired {
		t.retired = t.retired[len(t.retired)-maxRetired:]
	}
}

// scan follows the names matching the path that are not followed yet.
func (t *tailer) scan(first bool) {
	t.lastGlob = time.Now()
	names, err := filepath.Glob(t.r.cfg.Path)
	if err != nil {
		return
	}
	sort.Strings(names)
	for _, name := range names {
		if t.follow[name] != nil {
			continue
		}
		t.open(name, first)
	}
}

// open starts following name. A file seen at the first scan without a
// saved offset starts at start_at; any later one at its beginning (it was
// created while we run: every line is new).
func (t *tailer) open(name string, first bool) {
	r := t.r
	f, err := os.Open(name)
	if err != nil {
		return
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return
	}
	id := idOf(fi)
	if cur := t.files[id]; cur != nil {
		f.Close()
		if cur.rotated && !cur.closed {
			// The name points at it again.
			cur.rotated = false
			cur.name, cur.ref = name, name
			t.follow[name] = cur
		}
		return
	}
	st := t.state[id]
	if st == nil {
		st = t.retiredState(id)
	}
	var offset int64
	switch {
	case st != nil && st.matches(f):
		offset = st.Offset
		if offset > fi.Size() {
			r.log.Warn("calllog: file is shorter than its saved offset (truncated while stopped); reading it from the start",
				"file", name, "offset", offset, "size", fi.Size())
			offset = 0
		}
	case first && r.cfg.StartAt == "end":
		st = nil
		offset = lastLineEnd(f, fi.Size())
	default:
		st = nil
	}
	if st != nil {
		delete(t.state, id)
	}
	fl, err := r.openFile(name, f, fi, st, offset)
	if err != nil {
		f.Close()
		r.log.Error("calllog: opening a CDR file failed", "file", name, "err", err)
		return
	}
	t.files[id] = fl
	t.follow[name] = fl
	r.log.Info("calllog: following file", "file", name, "offset", offset)
}

func (t *tailer) retiredState(id fileID) *fileState {
	for i, st := range t.retired {
		if st.fileID == id {
			t.retired = append(t.retired[:i], t.retired[i+1:]...)
			return st
		}
	}
	return nil
}

// recoverRotated finds the files of the saved state that are no longer
// under a followed name (rotated while we were stopped) by their identity
// in their directory, and reads what is left of them.
func (t *tailer) recoverRotated() {
	r := t.r
	byDir := map[string]map[fileID]string{}
	for id, st := range t.state {
		dir := filepath.Dir(st.Path)
		inodes, ok := byDir[dir]
		if !ok {
			inodes = map[fileID]string{}
			if ents, err := os.ReadDir(dir); err == nil {
				for _, de := range ents {
					if !de.Type().IsRegular() {
						continue
					}
					if fi, err := de.Info(); err == nil {
						inodes[idOf(fi)] = filepath.Join(dir, de.Name())
					}
				}
			}
			byDir[dir] = inodes
		}
		path, found := inodes[id]
		if !found {
			r.log.Info("calllog: a file of the saved state is gone", "file", st.Path, "offset", st.Offset)
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil || idOf(fi) != id || !st.matches(f) {
			f.Close()
			continue
		}
		if fi.Size() <= st.Offset {
			f.Close()
			st.Path = path
			t.retired = append(t.retired, st)
			continue
		}
		fl, err := r.openFile(path, f, fi, st, st.Offset)
		if err != nil {
			f.Close()
			continue
		}
		fl.rotated = true
		t.files[id] = fl
		r.log.Info("calllog: reading the rest of a file rotated while stopped", "file", path, "offset", st.Offset, "size", fi.Size())
	}
	t.state = nil
	if len(t.retired) > maxRetired {
		t.retired = t.retired[len(t.retired)-maxRetired:]
	}
}

// lastLineEnd returns the offset after the last "\n" of f (0 when none).
func lastLineEnd(f io.ReaderAt, size int64) int64 {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return 0
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1
		}
		end = start
	}
	return 0
}

// save writes the checkpoints when they changed.
func (t *tailer) save() {
	r := t.r
	t.lastSave = time.Now()
	var sts []*fileState
	for _, fl := range t.files {
		fl.st.Offset = fl.tr.checkpoint()
		fl.st.fileID = fl.id
		if !fl.closed && fl.st.HeadLen < headLen && fl.readOff > int64(fl.st.HeadLen) {
			if n, sum, err := fingerprint(fl.f, fl.readOff); err == nil {
				fl.st.HeadLen, fl.st.HeadSHA256 = n, sum
			}
		}
		sts = append(sts, fl.st)
	}
	sts = append(sts, t.retired...)
	sortStates(sts)
	b, _ := json.Marshal(sts)
	if bytes.Equal(b, t.saved) {
		return
	}
	if err := saveState(r.env.StateDir, sts); err != nil {
		r.log.Error("calllog: saving offsets failed", "err", err)
		return
	}
	t.saved = b
}

func (t *tailer) finish() {
	if t.files == nil {
		return
	}
	t.save()
	for _, fl := range t.files {
		if !fl.closed {
			fl.f.Close()
		}
	}
}
