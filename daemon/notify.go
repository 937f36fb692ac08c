package daemon

import (
	"fmt"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/internal/sdnotify"
)

// SetNotifier makes reloads tell the service manager about themselves
// (RELOADING=1 … READY=1, as Type=notify-reload wants). nil is a no-op.
func (d *Daemon) SetNotifier(n *sdnotify.Notifier) {
	d.reloadMu.Lock()
	d.notifier = n
	d.reloadMu.Unlock()
}

// StatusLine is the one-line state for systemd's STATUS=: channel counts
// by state and whether Kafka answers. It names no channel and carries
// nothing from a petition.
func (d *Daemon) StatusLine() string {
	counts := map[channels.State]int{}
	sts := d.Channels()
	for _, st := range sts {
		counts[st.State]++
	}
	kafka := "up"
	if !d.prod.Ready() {
		kafka = "down"
	}
	s := fmt.Sprintf("%d channels: %d running", len(sts), counts[channels.StateRunning])
	for _, st := range []channels.State{channels.StateStarting, channels.StateRestarting, channels.StateFailed} {
		if counts[st] > 0 {
			s += fmt.Sprintf(", %d %s", counts[st], st)
		}
	}
	return s + "; kafka " + kafka
}

// WaitStarted waits until no channel is still starting (each is running,
// restarting after an error, or failed), at most within. A channel that
// cannot connect does not hold the start back longer than that: it is
// restarted by its supervisor and /readyz tells.
func (d *Daemon) WaitStarted(within time.Duration) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		starting := false
		for _, st := range d.Channels() {
			if st.State == channels.StateStarting {
				starting = true
			}
		}
		if !starting {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Alive reports whether the daemon is running and its channel set can be
// read: the systemd watchdog is fed only while it is. A deadlock on the
// channel set blocks it, so the watchdog fires and systemd restarts us.
func (d *Daemon) Alive() bool {
	if d.ctx.Err() != nil {
		return false
	}
	d.Channels()
	return true
}
