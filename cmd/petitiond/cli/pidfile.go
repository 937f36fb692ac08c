package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/court12368/petitiond/internal/atomicfile"
)

// writePIDFile writes this process's id to file, so that an operator or a
// service manager signals this instance (kill -HUP $(cat FILE)) rather than
// every petitiond on the host. A file naming another live process is
// refused: two daemons must not share one pid file.
func writePIDFile(file string) error {
	if err := checkPIDFile(file); err != nil {
		return err
	}
	return atomicfile.Write(file, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// checkPIDFile fails when file names another process that is running.
// A missing file, or one left by a process that is gone, is fine.
func checkPIDFile(file string) error {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if pid, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil && pid > 0 && pid != os.Getpid() && alive(pid) {
		return fmt.Errorf("%s names process %d, which is running: another petitiond? (remove the file if it is not)", file, pid)
	}
	return nil
}

// removePIDFile removes file if it still names this process.
func removePIDFile(file string) {
	b, err := os.ReadFile(file)
	if err == nil && string(bytes.TrimSpace(b)) == strconv.Itoa(os.Getpid()) {
		os.Remove(file)
	}
}

// alive reports whether a process with this id exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
