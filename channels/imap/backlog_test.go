package imap

import (
	"fmt"
	"testing"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/internal/testutil"
)

// TestBacklog: the letters in the mailbox not taken yet, as the last search
// found them; nil before the channel connected and after it stopped.
func TestBacklog(t *testing.T) {
	srv := newServer(t)
	for i := 0; i < 5; i++ {
		srv.append("INBOX", rawLetter(fmt.Sprintf("l%d@example.cn", i), "x"), time.Now())
	}
	sk := newSink(func(*channels.Item, int) *channels.Outcome { return nil })
	cfg := testConfig(srv.addr)
	cfg.BatchSize, cfg.MaxInFlight = 2, 2
	ch, err := New(cfg, channels.Env{Name: "letters", StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if b := ch.Backlog(); b != nil {
		t.Fatalf("backlog before connecting: %v", b)
	}
	r := run(t, cfg, sk)
	waitSubmitted(t, sk, 2)
	want := func(n int64) func() bool {
		return func() bool {
			b := r.ch.Backlog()
			return len(b) == 1 && b[0] == channels.Backlog{Unit: channels.UnitMessages, N: n}
		}
	}
	if !testutil.Eventually(5*time.Second, want(3)) {
		t.Fatalf("backlog with 2 of 5 letters taken: %v, want 3 messages", r.ch.Backlog())
	}
	if !testutil.Eventually(10*time.Second, func() bool {
		sk.release(channels.Outcome{Records: []channels.Produced{{ID: "x"}}})
		return want(0)()
	}) {
		t.Fatalf("backlog with every letter taken: %v, want 0 messages", r.ch.Backlog())
	}
	r.stop(t)
	if b := r.ch.Backlog(); b != nil {
		t.Errorf("backlog after the channel stopped: %v", b)
	}
}
