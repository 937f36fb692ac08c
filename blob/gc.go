package blob

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// GCOptions tune a garbage collection.
type GCOptions struct {
	// MinAge: blobs and staged files younger than this are kept (items in
	// flight may reference them soon). At least one hour.
	MinAge time.Duration
	// DryRun reports what would be deleted without deleting.
	DryRun bool
}

// GCResult says what a collection found and did.
type GCResult struct {
	// Blobs in the store; of those Young (kept for their age) and
	// Referenced (old enough, but in the reference log).
	Blobs, Young, Referenced int
	Deleted                  int
	DeletedBytes             int64
	StaleStaged              int
	StaleStagedBytes         int64
}

// GC deletes the blobs that no record references (not in the reference
// log) and that are older than MinAge, and staged or temporary files older
// than MinAge (left by a crash). It may run while petitiond runs, from
// another process: a blob that is about to be referenced again has a fresh
// mtime, and the age is checked again under the exclusive lock right before
// the deletion.
func (d *Dir) GC(opts GCOptions) (GCResult, error) {
	var res GCResult
	if d.remote != nil {
		return res, fmt.Errorf("blob gc: blobs are in %s: petitiond does not delete from a shared bucket (other instances reference it); the bucket's lifecycle rules govern it", d.Location())
	}
	if opts.MinAge < time.Hour {
		return res, fmt.Errorf("blob gc: min age %v is below 1h", opts.MinAge)
	}
	old := time.Now().Add(-opts.MinAge)
	cand := map[string]int64{}
	err := d.walk(func(sum string, info os.FileInfo) {
		res.Blobs++
		if info.ModTime().Before(old) {
			cand[sum] = info.Size()
		} else {
			res.Young++
		}
	})
	if err != nil {
		return res, fmt.Errorf("blob gc: %w", err)
	}
	// Read the log after listing: a blob referenced meanwhile is in it, or
	// has a fresh mtime.
	f, err := os.Open(filepath.Join(d.root, "refs.log"))
	if err != nil {
		return res, fmt.Errorf("blob gc: reference log: %w", err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if _, ok := cand[line]; ok {
			delete(cand, line)
			res.Referenced++
		}
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("blob gc: reference log: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(d.root, "gc.lock"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return res, fmt.Errorf("blob gc: lock: %w", err)
	}
	defer lock.Close()
	batch := make([]string, 0, 256)
	flush := func() error {
		// Exclusive against petitiond renewing a blob it is about to
		// reference (Dir.exists), in short batches so Put never waits long.
		if err := flock(lock, syscall.LOCK_EX); err != nil {
			return fmt.Errorf("blob gc: lock: %w", err)
		}
		defer flock(lock, syscall.LOCK_UN)
		for _, sum := range batch {
			p := d.path(sum)
			info, err := os.Stat(p)
			if err != nil || !info.ModTime().Before(old) {
				continue
			}
			if opts.DryRun || os.Remove(p) == nil {
				res.Deleted++
				res.DeletedBytes += info.Size()
			}
		}
		batch = batch[:0]
		return nil
	}
	for sum := range cand {
		if batch = append(batch, sum); len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	res.StaleStaged, res.StaleStagedBytes = d.staleStaging(opts.MinAge, opts.DryRun)
	return res, nil
}
