package channels

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Claim folders let several instances of one channel share a folder of
// input files (a scan hot folder, a CDR export folder). Each running
// instance claims files by renaming them into its own folder
// root/<host>[-N], which it holds with an exclusive flock on the folder's
// .lock file for as long as it runs. The kernel drops the lock when the
// process dies, SIGKILL included: a folder whose lock can be taken belongs
// to an instance that is gone, and its files are another's to take over.

// ClaimLockName is the lock file in every claim folder; it is no claim.
const ClaimLockName = ".lock"

// ClaimSlot is this instance's locked claim folder.
type ClaimSlot struct {
	Dir  string
	lock *os.File
}

// TakeClaimSlot locks the first free claim folder root/<host>[-N] (N up to
// 64), creating it when missing.
func TakeClaimSlot(root string) (*ClaimSlot, error) {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator || r < ' ' {
			return '_'
		}
		return r
	}, host)
	if host == "" {
		host = "host"
	}
	for i := 1; i <= 64; i++ {
		name := host
		if i > 1 {
			name = fmt.Sprintf("%s-%d", host, i)
		}
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		f, ok, err := tryLockDir(dir)
		if err != nil {
			return nil, err
		}
		if ok {
			return &ClaimSlot{Dir: dir, lock: f}, nil
		}
	}
	return nil, errors.New("no free claim folder under " + root)
}

// Close releases the slot's lock (its files stay claimed in it).
func (s *ClaimSlot) Close() error { return s.lock.Close() }

// AdoptOrphanedClaims offers take every file in the claim folders under
// root other than own whose lock no running instance holds, while holding
// that lock; take moves the file away and reports whether it did. It
// returns how many files take took, by claim folder name.
func AdoptOrphanedClaims(root, own string, take func(path string) bool) map[string]int {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var taken map[string]int
	for _, e := range ents {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() || dir == own {
			continue
		}
		f, ok, err := tryLockDir(dir)
		if err != nil || !ok {
			continue
		}
		files, _ := os.ReadDir(dir)
		for _, fe := range files {
			if fe.Type().IsRegular() && fe.Name() != ClaimLockName && take(filepath.Join(dir, fe.Name())) {
				if taken == nil {
					taken = map[string]int{}
				}
				taken[e.Name()]++
			}
		}
		f.Close()
	}
	return taken
}

// tryLockDir takes dir's lock without waiting; false when another process
// (or another open of it in this one) holds it.
func tryLockDir(dir string) (*os.File, bool, error) {
	f, err := os.OpenFile(filepath.Join(dir, ClaimLockName), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return f, true, nil
}
