package channels

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// State is where a supervised channel is in its life.
type State string

const (
	// StateStarting: not yet taking input (a Reconnector that has not
	// connected yet).
	StateStarting State = "starting"
	// StateRunning: Run is taking input.
	StateRunning State = "running"
	// StateRestarting: Run failed (Status.LastError says why) and is run
	// again after a backoff; a Reconnector stays restarting until it is
	// connected again.
	StateRestarting State = "restarting"
	// StateFailed: Run failed with a Permanent error; the channel is not
	// run again until a reload builds it anew.
	StateFailed State = "failed"
	// StateStopped: the channel was stopped.
	StateStopped State = "stopped"
)

// States are all the states, in the order of a channel's life.
var States = []State{StateStarting, StateRunning, StateRestarting, StateFailed, StateStopped}

// Status is what the supervisor tells about one channel instance (for
// /readyz and a status page). It holds no petition data: LastError is the
// first line of a channel's error, and channel errors name addresses,
// mailboxes and files, never what a petitioner sent.
type Status struct {
	Name  string    `json:"name"`
	Type  string    `json:"type"`
	State State     `json:"state"`
	Since time.Time `json:"since"`
	// Restarts counts the restarts after an error.
	Restarts  int    `json:"restarts"`
	LastError string `json:"last_error,omitempty"`
	// RetryAt is when a restarting channel is run again.
	RetryAt time.Time `json:"retry_at,omitzero"`
}

// Ready reports whether the channel is taking input.
func (s Status) Ready() bool { return s.State == StateRunning }

func (s Status) String() string {
	out := s.Name + ": " + string(s.State)
	if s.State != StateRunning && s.LastError != "" {
		out += " (" + s.LastError + ")"
	}
	return out
}

// stableRun is how long a Run (of a channel that is no Reconnector) must
// have lasted for its failure to restart the backoff from its minimum.
const stableRun = 5 * time.Minute

// Supervisor runs one channel instance: it restarts Run with a backoff when
// it fails or panics (one channel's failure never takes another down), and
// keeps the channel's Status.
type Supervisor struct {
	name      string
	log       *slog.Logger
	onRestart func()

	mu      sync.Mutex
	st      Status
	backoff Backoff
	ran     time.Time // start of the current Run
}

// NewSupervisor returns the supervisor of the channel instance name of type
// typ. backoff paces the restarts (a Reconnector's own backoff wins);
// onRestart, when not nil, is called at every restart (metrics). log is the
// channel's logger: it carries the channel attribute already.
func NewSupervisor(name, typ string, log *slog.Logger, backoff Backoff, onRestart func()) *Supervisor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{
		name:      name,
		log:       log,
		onRestart: onRestart,
		backoff:   backoff,
		st:        Status{Name: name, Type: typ, State: StateStarting, Since: time.Now()},
	}
}

// Status returns the channel's status.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// Up marks the channel running and resets the backoff; set it as the
// channel's Env.OnUp.
func (s *Supervisor) Up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backoff.Reset()
	s.setLocked(StateRunning)
}

func (s *Supervisor) setLocked(st State) {
	if s.st.State != st {
		s.st.State, s.st.Since = st, time.Now()
	}
	if st == StateRunning {
		s.st.RetryAt = time.Time{}
	}
}

// Run runs ch until ctx is done. It returns when ctx is done and Run has
// returned, or when Run failed with a Permanent error.
func (s *Supervisor) Run(ctx context.Context, ch Channel, sink Sink) {
	rc, reconnects := ch.(Reconnector)
	if reconnects {
		s.mu.Lock()
		s.backoff = rc.ReconnectBackoff()
		s.mu.Unlock()
	}
	for {
		s.mu.Lock()
		s.ran = time.Now()
		if !reconnects {
			s.setLocked(StateRunning)
		}
		s.mu.Unlock()
		err := runOnce(ctx, ch, sink)
		if ctx.Err() != nil {
			if err != nil {
				s.log.Warn("channel stopped with error", "err", err)
			}
			s.mu.Lock()
			s.setLocked(StateStopped)
			s.mu.Unlock()
			return
		}
		if err == nil {
			err = errors.New("Run returned without cancellation")
		}
		s.mu.Lock()
		s.st.LastError = firstLine(err.Error())
		if IsPermanent(err) {
			s.setLocked(StateFailed)
			s.mu.Unlock()
			s.log.Error("channel failed; it is not restarted until a reload builds it again", "err", err)
			return
		}
		if !reconnects && time.Since(s.ran) > stableRun {
			s.backoff.Reset()
		}
		d := s.backoff.Next()
		s.st.Restarts++
		s.st.RetryAt = time.Now().Add(d)
		s.setLocked(StateRestarting)
		s.mu.Unlock()
		if s.onRestart != nil {
			s.onRestart()
		}
		if reconnects {
			s.log.Warn("channel lost its connection; reconnecting", "err", err, "backoff", d)
		} else {
			s.log.Error("channel failed; restarting", "err", err, "backoff", d)
		}
		if !Sleep(ctx, d) {
			s.mu.Lock()
			s.setLocked(StateStopped)
			s.mu.Unlock()
			return
		}
	}
}

func runOnce(ctx context.Context, ch Channel, sink Sink) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return ch.Run(ctx, sink)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
