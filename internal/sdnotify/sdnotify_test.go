package sdnotify

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen makes a unixgram socket, points NOTIFY_SOCKET at it and returns a
// function reading the next datagram.
func listen(t *testing.T, abstract bool) func() string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify.sock")
	env := name
	if abstract {
		name = "\x00petitiond-sdnotify-test-" + strconv.Itoa(os.Getpid())
		env = "@" + name[1:]
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", env)
	return func() string {
		t.Helper()
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no datagram: %v", err)
		}
		return string(buf[:n])
	}
}

func TestNotifyMessages(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		t.Run("abstract="+strconv.FormatBool(abstract), func(t *testing.T) {
			next := listen(t, abstract)
			n := FromEnv()
			if !n.Enabled() {
				t.Fatal("not enabled with NOTIFY_SOCKET set")
			}
			if err := n.Ready("2 channels running"); err != nil {
				t.Fatal(err)
			}
			if got := next(); got != "READY=1\nSTATUS=2 channels running\n" {
				t.Errorf("ready: %q", got)
			}
			before := Monotonic()
			if err := n.Reloading(); err != nil {
				t.Fatal(err)
			}
			got := next()
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
				t.Fatalf("reloading: %q", got)
			}
			usec, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
			if err != nil || usec < before.Microseconds() || usec > Monotonic().Microseconds() {
				t.Errorf("MONOTONIC_USEC=%d not between %d and now (%v)", usec, before.Microseconds(), err)
			}
			n.Watchdog()
			if got := next(); got != "WATCHDOG=1\n" {
				t.Errorf("watchdog: %q", got)
			}
			n.Stopping()
			if got := next(); !strings.HasPrefix(got, "STOPPING=1\n") {
				t.Errorf("stopping: %q", got)
			}
			if err := n.Notify("STATUS=a\nREADY=1"); err == nil {
				t.Error("an assignment with a newline was sent")
			}
		})
	}
}

func TestNoSocketIsNoOp(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n := FromEnv()
	if n.Enabled() {
		t.Fatal("enabled without NOTIFY_SOCKET")
	}
	if err := n.Ready("x"); err != nil {
		t.Fatal(err)
	}
	var nilN *Notifier
	if err := nilN.Watchdog(); err != nil {
		t.Fatal(err)
	}
}

func TestMissingSocketIsAnError(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "absent.sock"))
	if err := FromEnv().Ready("x"); err == nil {
		t.Fatal("no error for a socket that does not exist")
	}
}

func TestWatchdogInterval(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	for _, c := range []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"20000000", "", 10 * time.Second, true},
		{"20000000", pid, 10 * time.Second, true},
		{"20000000", "1", 0, false}, // meant for another process
		{"0", "", 0, false},
		{"x", "", 0, false},
	} {
		t.Setenv("WATCHDOG_USEC", c.usec)
		t.Setenv("WATCHDOG_PID", c.pid)
		got, ok := WatchdogInterval()
		if got != c.want || ok != c.ok {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v %v, want %v %v", c.usec, c.pid, got, ok, c.want, c.ok)
		}
	}
}
