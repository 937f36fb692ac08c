package calllog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/court12368/petitiond/channels"
)

// exporter takes whole files dropped into a folder. A file is claimed by
// an atomic rename into this instance's processing dir (several instances
// may share the folder: a rename only succeeds once), read, and moved to
// done/ once every line's record is acknowledged — to error/ when a line
// had to go to the dead-letter topic. Progress within a claimed file is
// checkpointed like a tailed file, so a restart resumes it.
type exporter struct {
	r          *run
	inbox      string
	pattern    string
	procRoot   string // the claim folders of all instances of the channel
	processing string // this instance's claim folder, procRoot/<host>[-N]
	slot       *channels.ClaimSlot
	scans      int
	doneDir    string
	errorDir   string
	files      map[fileID]*file // claimed and not yet moved
	queue      []*file          // claimed, not read to the end
	moveRetry  []*file          // finished, but the move failed
	cur        *file
	saved      []byte
	lastScan   time.Time
	lastSave   time.Time
	dirty      bool

	lastBacklog time.Time
}

// noteBacklog publishes the bytes of the claimed files not read yet and
// how many of them wait (the one being read included).
func (x *exporter) noteBacklog() {
	n, files := behindIn(x.cur), int64(len(x.queue))
	if x.cur != nil {
		files++
	}
	for _, fl := range x.queue {
		n += behindIn(fl)
	}
	x.r.c.noteBacklog(n, files)
}

func (x *exporter) dirs() error {
	cfg := x.r.cfg
	x.pattern = cfg.Path
	x.inbox = filepath.Dir(cfg.Path)
	if !hasMeta(cfg.Path) {
		if fi, err := os.Stat(cfg.Path); err == nil && fi.IsDir() {
			x.inbox = cfg.Path
			x.pattern = filepath.Join(cfg.Path, "*")
		}
	}
	x.procRoot = cfg.ProcessingDir
	if x.procRoot == "" {
		x.procRoot = filepath.Join(x.inbox, "processing", x.r.env.Name)
	}
	x.doneDir = cfg.DoneDir
	if x.doneDir == "" {
		x.doneDir = filepath.Join(x.inbox, "done")
	}
	x.errorDir = cfg.ErrorDir
	if x.errorDir == "" {
		x.errorDir = filepath.Join(x.inbox, "error")
	}
	for _, d := range []string{x.procRoot, x.doneDir, x.errorDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return err
		}
	}
	slot, err := channels.TakeClaimSlot(x.procRoot)
	if err != nil {
		return fmt.Errorf("calllog: %w", err)
	}
	x.slot, x.processing = slot, slot.Dir
	return nil
}

// adoptEvery is how many folder scans pass between two looks for claim
// folders of instances that are gone.
const adoptEvery = 10

// adopt takes over the files of claim folders whose lock no running
// instance holds (the kernel drops a flock when its process dies, SIGKILL
// included), and files left directly in procRoot by versions before claim
// folders. They are read from their first byte: their offsets are in the
// other instance's state; lines delivered before it died are produced
// again with the same ids.
func (x *exporter) adopt() {
	r := x.r
	var state map[fileID]*fileState // the saved offsets, read once
	stateRead := false
	take := func(path string) bool {
		target := uniquePath(x.processing, filepath.Base(path))
		if err := os.Rename(path, target); err != nil {
			return false
		}
		f, err := os.Open(target)
		if err != nil {
			r.log.Error("calllog: opening a taken-over export file failed", "file", target, "err", err)
			return false
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return false
		}
		if !stateRead {
			state, _ = loadState(r.env.StateDir)
			stateRead = true
		}
		var st *fileState
		var offset int64
		if s := state[idOf(fi)]; s != nil && s.matches(f) && s.Offset <= fi.Size() {
			st, offset = s, s.Offset
		}
		x.add(f, fi, target, st, offset)
		x.dirty = true
		return true
	}
	// Files left directly in procRoot by versions before claim folders.
	if ents, err := os.ReadDir(x.procRoot); err == nil {
		for _, e := range ents {
			if path := filepath.Join(x.procRoot, e.Name()); e.Type().IsRegular() && take(path) {
				r.log.Info("calllog: took up an export file claimed by an older version", "file", path)
			}
		}
	}
	for slot, n := range channels.AdoptOrphanedClaims(x.procRoot, x.processing, take) {
		r.log.Info("calllog: took over export files claimed by an instance that is gone", "slot", slot, "files", n)
	}
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

func (x *exporter) loop(ctx context.Context) error {
	r := x.r
	if err := x.dirs(); err != nil {
		return err
	}
	state, err := loadState(r.env.StateDir)
	if err != nil {
		return err
	}
	x.files = map[fileID]*file{}
	// Files claimed before a restart come first, from their checkpoint.
	ents, err := os.ReadDir(x.processing)
	if err != nil {
		return err
	}
	for _, de := range ents {
		if !de.Type().IsRegular() || de.Name() == ".lock" {
			continue
		}
		path := filepath.Join(x.processing, de.Name())
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			continue
		}
		var offset int64
		st := state[idOf(fi)]
		if st != nil && st.matches(f) && st.Offset <= fi.Size() {
			offset = st.Offset
		} else {
			st = nil
		}
		x.add(f, fi, path, st, offset)
		r.log.Info("calllog: resuming a claimed export file", "file", path, "offset", offset)
	}
	x.adopt()
	poll := r.cfg.PollInterval.D()
	for {
		scan := time.Now().Sub(x.lastScan) >= poll
		if scan {
			x.lastScan = time.Now()
			if x.scans++; x.scans%adoptEvery == 0 {
				x.adopt()
			}
		}
		x.moveFinished(scan)
		if scan && x.cur == nil && len(x.queue) == 0 {
			x.claim()
		}
		if x.cur == nil && len(x.queue) > 0 {
			x.cur, x.queue = x.queue[0], x.queue[1:]
		}
		busy := false
		if fl := x.cur; fl != nil {
			n, err := r.read(ctx, fl, true)
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				r.log.Error("calllog: reading an export file failed; retrying", "file", fl.name, "offset", fl.readOff, "err", err)
				x.queue = append(x.queue, fl)
				x.cur = nil
			case n < readSize:
				fl.eof.Store(true)
				r.log.Info("calllog: export file read", "file", fl.name, "bytes", fl.readOff)
				r.fileProgress(fl)
				x.cur = nil
				busy = true
			default:
				busy = true
			}
		}
		if !busy || time.Since(x.lastBacklog) >= backlogEvery {
			x.lastBacklog = time.Now()
			x.noteBacklog()
		}
		if time.Now().Sub(x.lastSave) >= r.cfg.CheckpointInterval.D() || x.dirty {
			x.save()
		}
		if busy {
			continue
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.finished.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (x *exporter) add(f *os.File, fi os.FileInfo, path string, st *fileState, offset int64) {
	fl, err := x.r.openFile(path, f, fi, st, offset)
	if err != nil {
		f.Close()
		x.r.log.Error("calllog: opening an export file failed", "file", path, "err", err)
		return
	}
	fl.ref = filepath.Join(x.inbox, filepath.Base(path))
	x.files[fl.id] = fl
	x.queue = append(x.queue, fl)
}

// claim moves the files that are old enough into the processing dir.
func (x *exporter) claim() {
	r := x.r
	x.lastScan = time.Now()
	names, err := filepath.Glob(x.pattern)
	if err != nil {
		return
	}
	type cand struct {
		path string
		mod  time.Time
	}
	var cs []cand
	for _, n := range names {
		fi, err := os.Lstat(n)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if time.Now().Sub(fi.ModTime()) < r.cfg.MinAge.D() {
			continue
		}
		cs = append(cs, cand{n, fi.ModTime()})
	}
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].mod.Equal(cs[j].mod) {
			return cs[i].mod.Before(cs[j].mod)
		}
		return cs[i].path < cs[j].path
	})
	for _, c := range cs {
		target := uniquePath(x.processing, filepath.Base(c.path))
		if err := os.Rename(c.path, target); err != nil {
			if !errors.Is(err, fs.ErrNotExist) { // another instance took it
				r.log.Error("calllog: claiming an export file failed", "file", c.path, "err", err)
			}
			continue
		}
		f, err := os.Open(target)
		if err != nil {
			r.log.Error("calllog: opening a claimed export file failed", "file", target, "err", err)
			continue
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			continue
		}
		r.log.Info("calllog: claimed export file", "file", c.path, "size", fi.Size())
		x.add(f, fi, target, nil, 0)
		x.dirty = true
	}
}

// uniquePath returns dir/name, or a name with a suffix when that exists.
func uniquePath(dir, name string) string {
	p := filepath.Join(dir, name)
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return p
	}
	return filepath.Join(dir, name+"."+strconv.FormatInt(time.Now().UnixNano(), 10))
}

// moveFinished moves the files whose lines are all acknowledged.
func (x *exporter) moveFinished(retry bool) {
	r := x.r
	fls := r.finished.take()
	if retry {
		fls = append(fls, x.moveRetry...)
		x.moveRetry = nil
	}
	for _, fl := range fls {
		dest, what := x.doneDir, "done"
		if n := fl.deadLettered.Load(); n > 0 {
			dest, what = x.errorDir, "error"
			r.log.Warn("calllog: export file had lines that went to the dead-letter topic", "file", fl.ref, "dead_lettered", n)
		}
		target := uniquePath(dest, filepath.Base(fl.ref))
		if err := os.Rename(fl.name, target); err != nil {
			r.log.Error("calllog: moving a finished export file failed; retrying", "file", fl.name, "to", target, "err", err)
			x.moveRetry = append(x.moveRetry, fl)
			continue
		}
		fl.f.Close()
		r.log.Info("calllog: export file delivered", "file", fl.ref, "moved_to", what)
		delete(x.files, fl.id)
		x.dirty = true
	}
}

func (x *exporter) save() {
	r := x.r
	x.lastSave = time.Now()
	x.dirty = false
	var sts []*fileState
	for _, fl := range x.files {
		fl.st.Offset = fl.tr.checkpoint()
		fl.st.fileID = fl.id
		if fl.st.HeadLen < headLen && fl.readOff > int64(fl.st.HeadLen) {
			if n, sum, err := fingerprint(fl.f, fl.readOff); err == nil {
				fl.st.HeadLen, fl.st.HeadSHA256 = n, sum
			}
		}
		sts = append(sts, fl.st)
	}
	sortStates(sts)
	b, _ := json.Marshal(sts)
	if bytes.Equal(b, x.saved) {
		return
	}
	if err := saveState(r.env.StateDir, sts); err != nil {
		r.log.Error("calllog: saving offsets failed", "err", err)
		return
	}
	x.saved = b
}

func (x *exporter) finish() {
	if x.slot != nil {
		defer x.slot.Close()
	}
	if x.files == nil {
		return
	}
	x.moveFinished(true)
	x.save()
	for _, fl := range x.files {
		fl.f.Close()
	}
}
