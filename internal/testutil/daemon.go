package testutil

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BuildDaemon compiles cmd/petitiond into dir and returns the binary's
// path: the integration tests and the benchmarks run the real binary.
func BuildDaemon(dir string) (string, error) {
	bin := filepath.Join(dir, "petitiond")
	build := exec.Command("go", "build", "-o", bin, "github.com/court12368/petitiond/cmd/petitiond")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building petitiond: %w", err)
	}
	return bin, nil
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Eventually polls cond until it holds (true) or within has passed
// (false): tests wait on conditions, not on fixed sleeps.
func Eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	wait := time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// Daemon is a petitiond process started with `run -c CONFIG`. It keeps the
// process's log (stdout and stderr, line by line) and samples its peak RSS.
type Daemon struct {
	Cmd     *exec.Cmd
	Started time.Time

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced when a line arrives

	exited  chan struct{}
	waitErr error
	peak    atomic.Int64
	stopped atomic.Bool
}

// StartDaemon starts bin with config. Each log line is also passed to echo
// when it is not nil (e.g. to print the daemon's warnings in a benchmark).
func StartDaemon(bin, config string, echo func(line string)) (*Daemon, error) {
	d := &Daemon{Cmd: exec.Command(bin, "run", "-c", config), changed: make(chan struct{}), exited: make(chan struct{})}
	pr, pw := io.Pipe()
	d.Cmd.Stdout, d.Cmd.Stderr = pw, pw
	d.Started = time.Now()
	if err := d.Cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		d.waitErr = d.Cmd.Wait()
		pw.Close()
	}()
	go func() {
		defer close(d.exited)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			d.mu.Lock()
			d.lines = append(d.lines, line)
			close(d.changed)
			d.changed = make(chan struct{})
			d.mu.Unlock()
			if echo != nil {
				echo(line)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go d.sampleRSS()
	return d, nil
}

// Logs returns the log so far.
func (d *Daemon) Logs() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n") + "\n"
}

// Lines returns the log lines so far.
func (d *Daemon) Lines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.lines...)
}

// LastLine returns the last log line containing substr, or "".
func (d *Daemon) LastLine(substr string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.lines) - 1; i >= 0; i-- {
		if strings.Contains(d.lines[i], substr) {
			return d.lines[i]
		}
	}
	return ""
}

// WaitLog waits until a log line contains substr. It fails when the
// process exits first or within passes.
func (d *Daemon) WaitLog(substr string, within time.Duration) error {
	timeout := time.After(within)
	for {
		d.mu.Lock()
		for _, l := range d.lines {
			if strings.Contains(l, substr) {
				d.mu.Unlock()
				return nil
			}
		}
		changed := d.changed
		d.mu.Unlock()
		select {
		case <-changed:
		case <-d.exited:
			if d.LastLine(substr) != "" {
				return nil
			}
			return fmt.Errorf("petitiond exited (%v) before logging %q", d.waitErr, substr)
		case <-timeout:
			return fmt.Errorf("petitiond did not log %q within %v", substr, within)
		}
	}
}

// WaitReady waits until the admin listener's /readyz answers 200.
func (d *Daemon) WaitReady(admin string, within time.Duration) error {
	var last string
	ok := Eventually(within, func() bool {
		select {
		case <-d.exited:
			return true
		default:
		}
		r, err := http.Get("http://" + admin + "/readyz")
		if err != nil {
			last = err.Error()
			return false
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		last = fmt.Sprintf("%d %s", r.StatusCode, strings.TrimSpace(string(b)))
		return r.StatusCode == 200
	})
	select {
	case <-d.exited:
		return fmt.Errorf("petitiond exited (%v) before it was ready", d.waitErr)
	default:
	}
	if !ok {
		return fmt.Errorf("petitiond not ready within %v: /readyz %s", within, last)
	}
	return nil
}

// Exited is closed when the process has exited and its log is read.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// Err is the process's exit error, once Exited is closed.
func (d *Daemon) Err() error { return d.waitErr }

// Stop sends SIGTERM and waits for the exit; after within it kills the
// process and returns an error.
func (d *Daemon) Stop(within time.Duration) error {
	if d.stopped.Swap(true) {
		<-d.exited
		return d.waitErr
	}
	d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return d.waitErr
	case <-time.After(within):
		d.Cmd.Process.Kill()
		<-d.exited
		return fmt.Errorf("petitiond did not exit within %v of SIGTERM", within)
	}
}

// Kill kills the process (a simulated crash) and waits for it.
func (d *Daemon) Kill() {
	d.stopped.Store(true)
	d.Cmd.Process.Kill()
	<-d.exited
}

// PeakRSS returns the process's peak resident set size (the kernel's
// VmHWM high-water mark; the last one read once the process has exited).
func (d *Daemon) PeakRSS() int64 {
	d.readRSS()
	return d.peak.Load()
}

func (d *Daemon) sampleRSS() {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-d.exited:
			return
		case <-t.C:
			d.readRSS()
		}
	}
}

func (d *Daemon) readRSS() {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.Cmd.Process.Pid))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int64
		if n, _ := fmt.Sscanf(line, "VmHWM: %d kB", &kb); n == 1 && kb<<10 > d.peak.Load() {
			d.peak.Store(kb << 10)
		}
	}
}

// MainWithDaemon is a TestMain for packages that run the real binary: it
// builds cmd/petitiond into a temporary directory named after prefix, sets
// *bin to its path, runs the tests, removes the directory and exits with
// the tests' code.
func MainWithDaemon(m *testing.M, prefix string, bin *string) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		panic(err)
	}
	if *bin, err = BuildDaemon(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
