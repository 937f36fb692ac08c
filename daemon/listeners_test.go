package daemon

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
)

type testOwner struct {
	n     string
	going atomic.Bool
}

func (o *testOwner) name() string   { return o.n }
func (o *testOwner) retiring() bool { return o.going.Load() }

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestListenerPoolHandsOver: a successor gets a handle on the socket its
// retiring predecessor holds; connections go to whoever accepts; the
// socket closes with its last handle.
func TestListenerPoolHandsOver(t *testing.T) {
	p := newListenerPool()
	addr := freePort(t)
	old, next := &testOwner{n: "web-a"}, &testOwner{n: "web-a"}
	h1, err := p.listen("tcp", addr, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.listen("tcp", addr, &testOwner{n: "web-b"}); err == nil || !strings.Contains(err.Error(), "already used by channel web-a") {
		t.Fatalf("a second channel on the address: %v", err)
	}
	old.going.Store(true)
	h2, err := p.listen("tcp", addr, next)
	if err != nil {
		t.Fatalf("the successor could not take the socket over: %v", err)
	}
	if h1.Addr().String() != h2.Addr().String() {
		t.Errorf("handles on different sockets: %s, %s", h1.Addr(), h2.Addr())
	}
	// Nobody accepts on h2 yet: a client's connection waits, and is
	// taken once h1 is closed and h2 accepts.
	h1.Close()
	if _, err := h1.Accept(); err == nil {
		t.Errorf("Accept on a closed handle succeeded")
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("the socket closed with the predecessor's handle: %v", err)
	}
	defer c.Close()
	sc, err := h2.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sc.Close()
	h2.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the socket is still open after its last handle closed: %v", err)
	}
	ln.Close()
}

func TestListenerPoolError(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	p := newListenerPool()
	if _, err := p.listen("tcp", taken.Addr().String(), &testOwner{n: "w"}); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("listen on a taken address: %v", err)
	}
	a, err := p.listen("tcp", "127.0.0.1:0", &testOwner{n: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := p.listen("tcp", "127.0.0.1:0", &testOwner{n: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Addr().String() == b.Addr().String() {
		t.Errorf("port 0 shared a socket")
	}
}
