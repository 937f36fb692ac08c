package channels_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/internal/testutil"
)

// scripted fails its first runs with the given errors (a nil error:
// panic), then runs until cancelled.
type scripted struct {
	errs    []error
	runs    atomic.Int32
	running chan struct{}
	env     *channels.Env
	backoff *channels.Backoff
}

func (s *scripted) Run(ctx context.Context, _ channels.Sink) error {
	n := int(s.runs.Add(1))
	if n <= len(s.errs) {
		if s.errs[n-1] == nil {
			panic("bug in a channel\nwith a second line")
		}
		return s.errs[n-1]
	}
	if s.env != nil {
		s.env.Up()
	}
	close(s.running)
	<-ctx.Done()
	return nil
}

// reconnecting is scripted as a Reconnector.
type reconnecting struct{ *scripted }

func (r reconnecting) ReconnectBackoff() channels.Backoff { return *r.backoff }

func waitState(t *testing.T, sup *channels.Supervisor, want channels.State) channels.Status {
	t.Helper()
	var st channels.Status
	if !testutil.Eventually(10*time.Second, func() bool { st = sup.Status(); return st.State == want }) {
		t.Fatalf("state %s, want %s", st.State, want)
	}
	return st
}

func TestSupervisorRestartsAndKeepsStatus(t *testing.T) {
	var restarts atomic.Int32
	sup := channels.NewSupervisor("letters", "fake", nil, channels.Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond},
		func() { restarts.Add(1) })
	if st := sup.Status(); st.State != channels.StateStarting || st.Name != "letters" || st.Type != "fake" {
		t.Errorf("before Run: %+v", st)
	}
	ch := &scripted{errs: []error{errors.New("connect 10.0.0.1:993: connection refused"), nil}, running: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sup.Run(ctx, ch, nil); close(done) }()
	<-ch.running
	st := waitState(t, sup, channels.StateRunning)
	if st.Restarts != 2 || restarts.Load() != 2 {
		t.Errorf("restarts %d (hook %d), want 2", st.Restarts, restarts.Load())
	}
	if st.LastError != "panic: bug in a channel" {
		t.Errorf("LastError = %q, want the first line of the panic", st.LastError)
	}
	if !st.Ready() {
		t.Errorf("a running channel is not ready")
	}
	cancel()
	<-done
	if st := sup.Status(); st.State != channels.StateStopped {
		t.Errorf("after cancel: %s", st.State)
	}
}

// TestSupervisorRestartingStatus: between a failure and the next run the
// channel is restarting, with its error and the time of the next try.
func TestSupervisorRestartingStatus(t *testing.T) {
	sup := channels.NewSupervisor("w", "fake", nil, channels.Backoff{Min: time.Hour}, nil)
	ch := &scripted{errs: []error{errors.New("web: listen tcp 127.0.0.1:8080: bind: address already in use")}, running: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sup.Run(ctx, ch, nil)
	st := waitState(t, sup, channels.StateRestarting)
	if st.Ready() || !strings.Contains(st.String(), "w: restarting (web: listen") {
		t.Errorf("status %q", st)
	}
	if d := time.Until(st.RetryAt); d < 50*time.Minute {
		t.Errorf("RetryAt in %v, want about an hour", d)
	}
}

func TestSupervisorPermanentFailure(t *testing.T) {
	sup := channels.NewSupervisor("w", "fake", nil, channels.Backoff{Min: time.Millisecond}, nil)
	ch := &scripted{errs: []error{channels.Permanent(errors.New("tls: no certificate"))}, running: make(chan struct{})}
	done := make(chan struct{})
	go func() { sup.Run(context.Background(), ch, nil); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept restarting a channel that failed for good")
	}
	st := sup.Status()
	if st.State != channels.StateFailed || st.LastError != "tls: no certificate" || ch.runs.Load() != 1 {
		t.Errorf("status %+v after %d runs", st, ch.runs.Load())
	}
}

// TestSupervisorReconnector: a Reconnector is restarting (not running)
// until it calls Env.Up, and uses its own backoff.
func TestSupervisorReconnector(t *testing.T) {
	b := channels.Backoff{Min: time.Millisecond, Max: time.Millisecond}
	sup := channels.NewSupervisor("letters", "imap", nil, channels.Backoff{Min: time.Hour}, nil)
	env := &channels.Env{OnUp: sup.Up}
	inner := &scripted{errs: []error{errors.New("connection closed by the server")}, running: make(chan struct{}), env: env, backoff: &b}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sup.Run(ctx, reconnecting{inner}, nil)
	select {
	case <-inner.running:
	case <-time.After(10 * time.Second):
		t.Fatal("the Reconnector's own backoff was not used")
	}
	waitState(t, sup, channels.StateRunning)
}

func TestSupervisorReconnectorNotRunningBeforeUp(t *testing.T) {
	b := channels.Backoff{Min: time.Millisecond}
	sup := channels.NewSupervisor("letters", "imap", nil, channels.Backoff{}, nil)
	inner := &scripted{errs: []error{errors.New("connect: connection refused")}, running: make(chan struct{}), backoff: &b}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sup.Run(ctx, reconnecting{inner}, nil)
	<-inner.running // Run goes on, but never said it is connected
	if st := sup.Status(); st.State != channels.StateRestarting || st.LastError != "connect: connection refused" {
		t.Errorf("a Reconnector that did not call Up: %+v", st)
	}
}
