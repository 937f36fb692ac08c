package blob

import (
	"os"
	"sync"
	"syscall"
)

// sharedFlock is a shared flock(2) on a file, held while any goroutine of
// this process holds it (flock locks belong to the open file, not to the
// goroutine). The garbage collector takes the exclusive lock, possibly from
// another process (petitiond blobs gc).
type sharedFlock struct {
	mu sync.Mutex
	n  int
	f  *os.File
}

func openSharedFlock(path string) (*sharedFlock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	return &sharedFlock{f: f}, nil
}

func (l *sharedFlock) lock() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		flock(l.f, syscall.LOCK_SH)
	}
	l.n++
}

func (l *sharedFlock) unlock() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n--; l.n == 0 {
		flock(l.f, syscall.LOCK_UN)
	}
}

func (l *sharedFlock) close() { l.f.Close() }

func flock(f *os.File, how int) error {
	for {
		if err := syscall.Flock(int(f.Fd()), how); err != syscall.EINTR {
			return err
		}
	}
}
