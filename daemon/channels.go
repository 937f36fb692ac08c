package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
)

// instance is one channel instance: built from its config entry, bound,
// then run by its supervisor until it is stopped.
type instance struct {
	cfg     config.Channel
	ch      channels.Channel
	sup     *channels.Supervisor
	leaving atomic.Bool // a reload in progress replaces or removes it
	cancel  context.CancelFunc
	done    chan struct{}
}

func (in *instance) name() string   { return in.cfg.Name }
func (in *instance) retiring() bool { return in.leaving.Load() }

// change is the set of channel instances a start or a reload swaps.
type change struct {
	start                   []*instance // built and bound, not yet running
	stop                    []*instance // running, replaced or removed
	added, removed, changed []string
}

// prepare is the first half of the one path by which channels start, at
// start and on reload (as in Caddy and Alertmanager): it builds every
// channel of cfg that is new, changed or failed, and binds the addresses of
// those that listen. Nothing runs yet and nothing running is stopped: when
// any channel fails, everything prepared is released and the error (every
// channel's, placed in the file) is returned — at start the daemon exits
// with it, on reload the running channels stay as they were.
func (d *Daemon) prepare(cfg *config.Config) (*change, error) {
	d.mu.Lock()
	old := make(map[string]*instance, len(d.channels))
	for name, in := range d.channels {
		old[name] = in
	}
	d.mu.Unlock()
	c := &change{}
	var errs config.Errors
	keep := map[string]bool{}
	for i := range cfg.Channels {
		cc := cfg.Channels[i]
		prev := old[cc.Name]
		switch {
		case prev == nil:
			c.added = append(c.added, cc.Name)
		case !prev.cfg.Same(&cc):
			c.changed = append(c.changed, cc.Name)
		case prev.sup.Status().State == channels.StateFailed:
			// Failed for good with these settings; build it again, as
			// whatever it failed on may have been mended meanwhile.
			c.changed = append(c.changed, cc.Name)
		default:
			keep[cc.Name] = true
			continue
		}
		if prev != nil {
			c.stop = append(c.stop, prev)
		}
		in, err := d.build(cc)
		if err != nil {
			errs = append(errs, cfg.ChannelError(i, err))
			continue
		}
		c.start = append(c.start, in)
	}
	for name, in := range old {
		if _, ok := keep[name]; !ok && !slices.Contains(c.stop, in) {
			c.removed = append(c.removed, name)
			c.stop = append(c.stop, in)
		}
	}
	slices.Sort(c.removed)
	// The instances that leave give their sockets over to their
	// successors; no other instance may take an address in use.
	for _, in := range c.stop {
		in.leaving.Store(true)
	}
	for _, in := range c.start {
		if b, ok := in.ch.(channels.Binder); ok {
			if err := b.Bind(); err != nil {
				i := slices.IndexFunc(cfg.Channels, func(cc config.Channel) bool { return cc.Name == in.cfg.Name })
				errs = append(errs, cfg.ChannelError(i, err))
			}
		}
	}
	if len(errs) > 0 {
		c.abort()
		return nil, errs
	}
	return c, nil
}

// abort releases what prepare acquired.
func (c *change) abort() {
	for _, in := range c.start {
		if b, ok := in.ch.(channels.Binder); ok {
			b.Close()
		}
	}
	for _, in := range c.stop {
		in.leaving.Store(false)
	}
}

// commit is the second half: the new instances replace the old ones in the
// daemon's set, the old ones stop (draining their in-flight items), and the
// new ones run. An instance that replaces one of the same name runs only
// once its predecessor stopped (they share the channel's state dir); a
// listening channel keeps its socket meanwhile, so no connection is
// refused. commit returns when every old instance has stopped.
func (d *Daemon) commit(c *change) {
	d.mu.Lock()
	for _, in := range c.stop {
		if d.channels[in.cfg.Name] == in {
			delete(d.channels, in.cfg.Name)
		}
	}
	for _, in := range c.start {
		d.channels[in.cfg.Name] = in
	}
	d.mu.Unlock()
	stopped := map[string]chan struct{}{}
	var wg sync.WaitGroup
	for _, in := range c.stop {
		done := make(chan struct{})
		stopped[in.cfg.Name] = done
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			d.stop(in)
		}()
	}
	for _, in := range c.start {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if prev := stopped[in.cfg.Name]; prev != nil {
				<-prev
			}
			d.run(in)
		}()
	}
	wg.Wait()
	for _, name := range c.removed {
		d.metrics.Forget(name)
	}
}

// build makes an instance of cc with its type's New: nothing runs yet.
func (d *Daemon) build(cc config.Channel) (*instance, error) {
	t, ok := d.Registry.Lookup(cc.Type)
	if !ok {
		return nil, fmt.Errorf("unknown type %q", cc.Type)
	}
	stateDir := filepath.Join(d.cfg.State.Dir, "channels", cc.Name)
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	log := d.Log.With("channel", cc.Name)
	in := &instance{cfg: cc, done: make(chan struct{})}
	in.sup = channels.NewSupervisor(cc.Name, cc.Type, log, channels.Backoff{Min: time.Second, Max: time.Minute},
		func() { d.metrics.Restarts.WithLabelValues(cc.Name).Inc() })
	env := channels.Env{
		Name:         cc.Name,
		Logger:       log,
		Blobs:        d.blobs,
		StateDir:     stateDir,
		DrainTimeout: d.cfg.Pipeline.DrainTimeout.D(),
		Mapper:       cc.Mapper,
		OnUp:         in.sup.Up,
		Listener: func(network, addr string) (net.Listener, error) {
			return d.listeners.listen(network, addr, in)
		},
	}
	ch, err := t.New(cc.Decoded, env)
	if err != nil {
		return nil, err
	}
	in.ch = ch
	return in, nil
}

// run starts the instance's supervisor, unless the daemon is stopping.
func (d *Daemon) run(in *instance) {
	ctx, cancel := context.WithCancel(d.ctx)
	in.cancel = cancel
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(in.done)
		in.sup.Run(ctx, in.ch, d.eng.Sink(in.cfg.Name, in.cfg.Type))
	}()
}

// stop cancels an instance and waits until it has drained and stopped.
func (d *Daemon) stop(in *instance) {
	in.cancel()
	select {
	case <-in.done:
	case <-time.After(d.cfg.Pipeline.DrainTimeout.D() + 5*time.Second):
		d.Log.Error("channel did not stop within the drain timeout", "channel", in.cfg.Name)
	}
}

// Channels returns the status of every channel, by name.
func (d *Daemon) Channels() []channels.Status {
	d.mu.Lock()
	out := make([]channels.Status, 0, len(d.channels))
	for _, in := range d.channels {
		out = append(out, in.sup.Status())
	}
	d.mu.Unlock()
	slices.SortFunc(out, func(a, b channels.Status) int { return strings.Compare(a.Name, b.Name) })
	return out
}
