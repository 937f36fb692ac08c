package channels

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// Backoff is an exponential backoff: Next returns Min, then twice the
// previous delay, up to Max. The supervisor restarts channels with one, and
// channels that retry something themselves (a full disk, a busy pipeline)
// use one too. The zero value backs off 1s … 1m.
type Backoff struct {
	Min, Max time.Duration
	next     time.Duration
}

// Next returns the delay before the next attempt.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = time.Second
	}
	if hi < lo {
		hi = max(lo, time.Minute)
	}
	d := b.next
	if d < lo {
		d = lo
	}
	b.next = min(2*d, hi)
	return min(d, hi)
}

// Reset starts again at Min.
func (b *Backoff) Reset() { b.next = 0 }

// Sleep waits for the next delay. It returns false when ctx ended first.
func (b *Backoff) Sleep(ctx context.Context) bool {
	return Sleep(ctx, b.Next())
}

// Sleep waits d, or until ctx is done (false).
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// DefaultDrainTimeout is the drain timeout when Env.DrainTimeout is unset.
const DefaultDrainTimeout = 30 * time.Second

// DrainContext returns the context of a channel's drain: it is done
// Env.DrainTimeout after stop is done (stop is Run's context). A channel
// stops taking input when stop is done, and releases the sources of the
// acks that arrive until the drain context is done too.
func (e Env) DrainContext(stop context.Context) (context.Context, context.CancelFunc) {
	d := e.DrainTimeout
	if d <= 0 {
		d = DefaultDrainTimeout
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(stop))
	var mu sync.Mutex
	var timer *time.Timer
	unhook := context.AfterFunc(stop, func() {
		mu.Lock()
		timer = time.AfterFunc(d, cancel)
		mu.Unlock()
	})
	return ctx, func() {
		unhook()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// Listen opens a TCP listener on addr for the channel: through
// Env.Listener when the daemon set one (so that a channel restarted by a
// reload takes its predecessor's socket over without refusing a
// connection), else with net.Listen.
func (e Env) Listen(addr string) (net.Listener, error) {
	if e.Listener != nil {
		return e.Listener("tcp", addr)
	}
	return net.Listen("tcp", addr)
}

// Up tells the supervisor that the channel is connected and taking input
// (see Reconnector). It does nothing when the channel is not supervised.
func (e Env) Up() {
	if e.OnUp != nil {
		e.OnUp()
	}
}

// Pending bounds and counts the items a channel took and has not yet seen
// acknowledged, the way Telegraf's tracking accumulator does: Take before
// an item goes out (it waits for room), Done when its Ack came or it was
// given back. Wait is the drain: it returns once nothing is pending.
type Pending struct {
	max int

	mu   sync.Mutex
	n    int
	zero chan struct{} // closed while n == 0
	room chan struct{} // closed when an item is done, for Take
}

// NewPending returns a Pending that allows max items at once.
func NewPending(max int) *Pending {
	z := make(chan struct{})
	close(z)
	return &Pending{max: max, zero: z}
}

// Take waits for room for one more item; false when ctx ended first.
func (p *Pending) Take(ctx context.Context) bool {
	for {
		p.mu.Lock()
		if p.takeLocked() {
			p.mu.Unlock()
			return true
		}
		if p.room == nil {
			p.room = make(chan struct{})
		}
		room := p.room
		p.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return false
		}
	}
}

// TryTake takes room for one more item if there is some.
func (p *Pending) TryTake() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.takeLocked()
}

func (p *Pending) takeLocked() bool {
	if p.n >= p.max {
		return false
	}
	if p.n == 0 {
		p.zero = make(chan struct{})
	}
	p.n++
	return true
}

// Done gives back the room of one item.
func (p *Pending) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		panic("channels: Pending.Done without Take")
	}
	p.n--
	if p.n == 0 {
		close(p.zero)
	}
	if p.room != nil {
		close(p.room)
		p.room = nil
	}
}

// Len returns the number of pending items.
func (p *Pending) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Room returns how many more items may be taken now.
func (p *Pending) Room() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max - p.n
}

// Wait waits until nothing is pending, or ctx is done (its error).
func (p *Pending) Wait(ctx context.Context) error {
	p.mu.Lock()
	z := p.zero
	p.mu.Unlock()
	select {
	case <-z:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Permanent marks an error of Run that restarting cannot mend (a setting
// the source refuses for good): the supervisor then marks the channel
// failed instead of restarting it, until a reload builds it again.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
