package integration

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestReadyAfterBrokerReturn: /readyz turns 200 within a second or two of
// the broker's return, not after metadata caches expire. It stops and starts
// a broker of its own, so it does not depend on running last.
func TestReadyAfterBrokerReturn(t *testing.T) {
	broker(t) // a real broker is required (and kafka.sh with it)
	addr, command := newPrivateBroker(t)
	if out, err := command("start").CombinedOutput(); err != nil {
		t.Fatalf("kafka.sh start: %v\n%s", err, out)
	}
	e := newEnv(t, addr, "")
	e.start()
	if st, took := waitReady(t, e, 200, 30*time.Second); st != 200 {
		t.Fatalf("/readyz = %d after %v, want 200", st, took)
	}
	if out, err := command("stop").CombinedOutput(); err != nil {
		t.Fatalf("kafka.sh stop: %v\n%s", err, out)
	}
	if st, took := waitReady(t, e, 503, 30*time.Second); st != 503 {
		t.Fatalf("/readyz = %d %v after the broker stopped, want 503", st, took)
	}
	time.Sleep(3 * time.Second) // deliberately down for a while: the probe backs off, caches go stale
	// Start the broker in the background and watch its port: the time is
	// counted from the moment it accepts connections.
	start := command("start")
	if err := start.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- start.Wait() }()
	// Besides the port, an independent client tells when the broker
	// serves the daemon's topics again (the port opens seconds before).
	adm, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RetryTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	serving := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		offs, err := kadm.NewClient(adm).ListEndOffsets(ctx, e.topic, e.dead)
		if err != nil {
			return false
		}
		ok := true
		offs.Each(func(o kadm.ListedOffset) { ok = ok && o.Err == nil })
		return ok && len(offs[e.topic]) > 0
	}
	var portOpen, served, ready time.Time
	deadline := time.Now().Add(120 * time.Second)
	for ready.IsZero() && time.Now().Before(deadline) {
		if portOpen.IsZero() {
			if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
				c.Close()
				portOpen = time.Now()
			}
		}
		if !portOpen.IsZero() && served.IsZero() && serving() {
			served = time.Now()
		}
		if !portOpen.IsZero() && readyz(t, e) == 200 {
			ready = time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if served.IsZero() || served.After(ready) {
		served = ready
	}
	if err := <-started; err != nil {
		t.Fatalf("kafka.sh start: %v", err)
	}
	if ready.IsZero() {
		t.Fatalf("/readyz not 200 within 120 s of the broker's start")
	}
	took := ready.Sub(served)
	t.Logf("/readyz 200 %v after the broker served the topics again (%v after its port opened)",
		took.Round(10*time.Millisecond), ready.Sub(portOpen).Round(10*time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("/readyz took %v to turn 200 after the broker's return, want a second or two", took)
	}
	// And the writer is usable at once, not only the probe.
	js, _ := json.Marshal(fields)
	if rep := e.mustPost("application/json", js, nil); rep.Status != 201 {
		t.Errorf("first submission after /readyz turned 200: %d %q, want 201", rep.Status, rep.Error)
	}
}
