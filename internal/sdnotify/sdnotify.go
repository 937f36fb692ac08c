// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)): one datagram of newline-separated KEY=VALUE assignments
// sent to the unix socket named by $NOTIFY_SOCKET. It is a no-op when the
// variable is unset, so a daemon started by hand or under another
// supervisor behaves as before.
//
// A dozen lines of protocol do not justify a dependency; the semantics
// follow sd_notify(3) and sd_watchdog_enabled(3): a socket name starting
// with "@" is in the abstract namespace, and the watchdog is enabled only
// when $WATCHDOG_USEC is set and $WATCHDOG_PID, if set, is this process.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends state changes to the service manager.
type Notifier struct {
	addr *net.UnixAddr // nil: no-op
}

// FromEnv returns the notifier of $NOTIFY_SOCKET (a no-op one when unset).
func FromEnv() *Notifier {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return &Notifier{}
	}
	if name[0] == '@' {
		name = "\x00" + name[1:] // abstract namespace
	}
	return &Notifier{addr: &net.UnixAddr{Name: name, Net: "unixgram"}}
}

// Enabled tells whether notifications go anywhere.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != nil }

// Notify sends the assignments as one datagram, e.g.
// Notify("READY=1", "STATUS=3 channels running").
// It returns nil without doing anything when the notifier is a no-op.
func (n *Notifier) Notify(assignments ...string) error {
	if !n.Enabled() {
		return nil
	}
	for _, a := range assignments {
		if !strings.Contains(a, "=") || strings.Contains(a, "\n") {
			return fmt.Errorf("sdnotify: malformed assignment %q", a)
		}
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(assignments, "\n") + "\n")); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return nil
}

// Ready is READY=1 with a status line.
func (n *Notifier) Ready(status string) error {
	return n.Notify("READY=1", "STATUS="+status)
}

// Reloading is RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload
// requires; Ready must follow once the reload is done.
func (n *Notifier) Reloading() error {
	return n.Notify("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatInt(Monotonic().Microseconds(), 10))
}

// Stopping is STOPPING=1.
func (n *Notifier) Stopping() error {
	return n.Notify("STOPPING=1", "STATUS=stopping: draining in-flight items")
}

// Status sends a STATUS= line alone.
func (n *Notifier) Status(status string) error { return n.Notify("STATUS=" + status) }

// Watchdog is WATCHDOG=1: the service is alive.
func (n *Notifier) Watchdog() error { return n.Notify("WATCHDOG=1") }

// WatchdogInterval returns how often to send WATCHDOG=1: half of
// $WATCHDOG_USEC, as sd_watchdog_enabled(3) advises. ok is false when
// the watchdog is not enabled for this process.
func WatchdogInterval() (every time.Duration, ok bool) {
	s := os.Getenv("WATCHDOG_USEC")
	if s == "" {
		return 0, false
	}
	usec, err := strconv.ParseUint(s, 10, 63)
	if err != nil || usec == 0 {
		return 0, false
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" {
		pid, err := strconv.Atoi(p)
		if err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	return time.Duration(usec) * time.Microsecond / 2, true
}

// Monotonic is CLOCK_MONOTONIC, the clock of MONOTONIC_USEC.
func Monotonic() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
