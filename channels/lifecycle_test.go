package channels_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/court12368/petitiond/channels"
)

func TestBackoff(t *testing.T) {
	b := channels.Backoff{Min: time.Second, Max: 5 * time.Second}
	var got []time.Duration
	for i := 0; i < 5; i++ {
		got = append(got, b.Next())
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	b.Reset()
	if d := b.Next(); d != time.Second {
		t.Errorf("after Reset: %v, want 1s", d)
	}
	var zero channels.Backoff
	if d1, d2 := zero.Next(), zero.Next(); d1 != time.Second || d2 != 2*time.Second {
		t.Errorf("zero Backoff: %v, %v; want 1s, 2s", d1, d2)
	}
}

func TestBackoffSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := channels.Backoff{Min: time.Hour}
	if b.Sleep(ctx) {
		t.Errorf("Sleep with a cancelled context returned true")
	}
}

func TestDrainContext(t *testing.T) {
	env := channels.Env{DrainTimeout: 50 * time.Millisecond}
	stop, cancelStop := context.WithCancel(context.Background())
	dctx, cancel := env.DrainContext(stop)
	defer cancel()
	select {
	case <-dctx.Done():
		t.Fatal("the drain context is done before the channel was told to stop")
	default:
	}
	cancelStop()
	select {
	case <-dctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the drain context is not done after the drain timeout")
	}
}

func TestDrainContextCancel(t *testing.T) {
	dctx, cancel := channels.Env{}.DrainContext(context.Background())
	cancel()
	if dctx.Err() == nil {
		t.Errorf("cancel did not end the drain context")
	}
}

func TestPending(t *testing.T) {
	p := channels.NewPending(2)
	if err := p.Wait(context.Background()); err != nil {
		t.Fatalf("Wait with nothing pending: %v", err)
	}
	if !p.TryTake() || !p.Take(context.Background()) {
		t.Fatal("no room for two")
	}
	if p.TryTake() {
		t.Fatal("room for a third")
	}
	if p.Len() != 2 || p.Room() != 0 {
		t.Errorf("Len %d Room %d, want 2 0", p.Len(), p.Room())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if p.Take(ctx) {
		t.Fatal("Take past the bound")
	}
	if err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait with items pending = %v, want the context's error", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- p.Wait(context.Background()) }()
	p.Done()
	select {
	case <-waited:
		t.Fatal("Wait returned with one item pending")
	default:
	}
	p.Done()
	if err := <-waited; err != nil {
		t.Errorf("Wait = %v", err)
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("certificate file missing")
	err := fmt.Errorf("web: %w", channels.Permanent(base))
	if !channels.IsPermanent(err) || !errors.Is(err, base) {
		t.Errorf("IsPermanent(%v) = false or the cause is lost", err)
	}
	if channels.IsPermanent(base) || channels.Permanent(nil) != nil {
		t.Errorf("plain errors are permanent")
	}
}

func TestEnvListen(t *testing.T) {
	ln, err := channels.Env{}.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	called := false
	env := channels.Env{Listener: func(network, addr string) (net.Listener, error) {
		called = true
		return net.Listen(network, addr)
	}}
	ln, err = env.Listen("127.0.0.1:0")
	if err != nil || !called {
		t.Fatalf("Env.Listener not used: %v", err)
	}
	ln.Close()
}

// TestPendingTakeWaitsForRoom: a Take at the bound goes on when an item is
// done.
func TestPendingTakeWaitsForRoom(t *testing.T) {
	p := channels.NewPending(1)
	p.Take(context.Background())
	took := make(chan bool, 1)
	go func() { took <- p.Take(context.Background()) }()
	p.Done()
	if !<-took {
		t.Fatal("Take did not get the room freed by Done")
	}
	if p.Len() != 1 {
		t.Errorf("Len %d, want 1", p.Len())
	}
}
