package daemon

import (
	"errors"
	"fmt"
	"net"
	"sync"
)

// listenerPool owns the channels' listening sockets, so that a reload can
// bind a changed channel's address while the instance it replaces still
// holds it (as Caddy does): the new instance gets a handle on the same
// socket, and the socket is closed when its last handle is. No connection
// is refused while a web channel is restarted with new settings.
//
// A socket is shared only with instances that are being replaced: two
// channels of one configuration on one address are an error, as with
// net.Listen.
type listenerPool struct {
	mu      sync.Mutex
	sockets map[string]*socket
}

// owner is who holds a handle: a channel instance. retiring says it is
// being replaced by a reload in progress.
type owner interface {
	name() string
	retiring() bool
}

func newListenerPool() *listenerPool { return &listenerPool{sockets: map[string]*socket{}} }

// listen returns a handle on the socket for network and addr, opening it
// when nobody holds it. An address with port 0 always gets a new socket.
func (p *listenerPool) listen(network, addr string, o owner) (net.Listener, error) {
	key := network + " " + addr
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.sockets[key]; s != nil {
		for h := range s.handles {
			if !h.owner.retiring() {
				return nil, fmt.Errorf("listen %s %s: address already used by channel %s", network, addr, h.owner.name())
			}
		}
		return s.handle(o), nil
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	s := &socket{pool: p, key: key, ln: ln, conns: make(chan accepted), closed: make(chan struct{}), handles: map[*handle]bool{}}
	if _, port, _ := net.SplitHostPort(addr); port != "0" {
		p.sockets[key] = s
	}
	go s.acceptLoop()
	return s.handle(o), nil
}

// socket is one listening socket and its handles. One goroutine accepts
// and hands each connection to whichever handle's Accept takes it first.
type socket struct {
	pool    *listenerPool
	key     string
	ln      net.Listener
	conns   chan accepted
	closed  chan struct{} // the last handle is closed
	handles map[*handle]bool
}

type accepted struct {
	c   net.Conn
	err error
}

func (s *socket) handle(o owner) *handle {
	h := &handle{s: s, owner: o, closed: make(chan struct{})}
	s.handles[h] = true
	return h
}

func (s *socket) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		select {
		case s.conns <- accepted{c, err}:
		case <-s.closed:
			if c != nil {
				c.Close()
			}
			return
		}
	}
}

// handle is one instance's net.Listener on a shared socket.
type handle struct {
	s      *socket
	owner  owner
	once   sync.Once
	closed chan struct{}
}

// Accept implements net.Listener.
func (h *handle) Accept() (net.Conn, error) {
	select {
	case <-h.closed:
		return nil, net.ErrClosed
	default:
	}
	select {
	case a := <-h.s.conns:
		return a.c, a.err // errors are temporary ones: the server backs off
	case <-h.closed:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener: it closes the socket with its last
// handle.
func (h *handle) Close() error {
	h.once.Do(func() {
		close(h.closed)
		p := h.s.pool
		p.mu.Lock()
		delete(h.s.handles, h)
		last := len(h.s.handles) == 0
		if last && p.sockets[h.s.key] == h.s {
			delete(p.sockets, h.s.key)
		}
		p.mu.Unlock()
		if last {
			close(h.s.closed)
			h.s.ln.Close()
		}
	})
	return nil
}

// Addr implements net.Listener.
func (h *handle) Addr() net.Addr { return h.s.ln.Addr() }
