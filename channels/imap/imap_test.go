package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config/units"
	"github.com/court12368/petitiond/internal/testutil"
)

// server is an in-memory IMAP server that can be restarted on its address.
type server struct {
	t    *testing.T
	mem  *imapmemserver.Server
	addr string
	mu   sync.Mutex
	srv  *imapserver.Server
	wire *syncBuffer // what the clients sent and the server answered
	caps goimap.CapSet
}

func newServer(t *testing.T) *server {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("petitions", "secret")
	u.Create("INBOX", nil)
	mem.AddUser(u)
	s := &server{t: t, mem: mem, wire: &syncBuffer{}}
	s.start("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *server) start(addr string) {
	s.t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatal(err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return flushingSession{s.mem.NewSession().(imapserver.SessionIMAP4rev2)}, nil, nil
		},
		InsecureAuth: true,
		Caps:         s.capSet(),
		Logger:       discardLogger{},
		DebugWriter:  s.wire,
	})
	go srv.Serve(ln)
	s.mu.Lock()
	s.srv, s.addr = srv, ln.Addr().String()
	s.mu.Unlock()
}

func (s *server) capSet() goimap.CapSet {
	if s.caps != nil {
		return s.caps
	}
	return goimap.CapSet{goimap.CapIMAP4rev1: {}, goimap.CapIMAP4rev2: {}}
}

func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// restart drops every connection and listens again on the same address.
func (s *server) restart() {
	s.stop()
	s.start(s.addr)
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// client is a test's own connection for appending and counting.
func (s *server) client() *imapclient.Client {
	s.t.Helper()
	cl, err := imapclient.DialInsecure(s.addr, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cl.Login("petitions", "secret").Wait(); err != nil {
		s.t.Fatal(err)
	}
	return cl
}

func (s *server) append(box string, raw string, at time.Time) {
	s.t.Helper()
	cl := s.client()
	defer cl.Close()
	cmd := cl.Append(box, int64(len(raw)), &goimap.AppendOptions{Time: at})
	cmd.Write([]byte(raw))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		s.t.Fatalf("append to %s: %v", box, err)
	}
}

func (s *server) count(box string) int {
	s.t.Helper()
	cl := s.client()
	defer cl.Close()
	st, err := cl.Status(box, &goimap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return -1
	}
	return int(*st.NumMessages)
}

func (s *server) waitCounts(within time.Duration, want map[string]int) {
	s.t.Helper()
	got := map[string]int{}
	if !testutil.Eventually(within, func() bool {
		ok := true
		for b, n := range want {
			got[b] = s.count(b)
			ok = ok && got[b] == n
		}
		return ok
	}) {
		s.t.Fatalf("mailbox counts %v, want %v", got, want)
	}
}

// waitSubmitted waits until the sink has taken n items.
func waitSubmitted(t *testing.T, sk *sink, n int) {
	t.Helper()
	if !testutil.Eventually(5*time.Second, func() bool { return len(sk.submitted()) >= n }) {
		t.Fatalf("%d items submitted, want %d", len(sk.submitted()), n)
	}
}

// waitCommands waits until the clients sent cmd n more times than before.
func (s *server) waitCommands(cmd string, before, n int) {
	s.t.Helper()
	if !testutil.Eventually(10*time.Second, func() bool { return s.commands(cmd)-before >= n }) {
		s.t.Fatalf("%d more %s commands, want %d", s.commands(cmd)-before, cmd, n)
	}
}

// waitLog waits until the channel logged substr.
func (r *running) waitLog(t *testing.T, substr string) {
	t.Helper()
	if !testutil.Eventually(5*time.Second, func() bool { return strings.Contains(r.logs.String(), substr) }) {
		t.Fatalf("the channel did not log %q", substr)
	}
}

func rawLetter(id, subject string) string {
	return "Message-ID: <" + id + ">\r\nFrom: a@example.cn\r\nSubject: " + subject + "\r\n\r\nbody of " + id + "\r\n"
}

// sink is a fake pipeline: it acks on another goroutine with the outcome
// decide returns, or holds the item when decide returns nil.
type sink struct {
	mu      sync.Mutex
	items   []*channels.Item
	held    []*channels.Item
	rejects []string
	decide  func(it *channels.Item, attempt int) *channels.Outcome
	seen    map[string]int
}

func newSink(decide func(it *channels.Item, attempt int) *channels.Outcome) *sink {
	if decide == nil {
		decide = func(it *channels.Item, _ int) *channels.Outcome {
			return &channels.Outcome{Records: []channels.Produced{{ID: "id-" + it.SourceID, TrackingNo: "TN-" + it.SourceID}}}
		}
	}
	return &sink{decide: decide, seen: map[string]int{}}
}

func (s *sink) Submit(ctx context.Context, it *channels.Item) error {
	s.mu.Lock()
	s.items = append(s.items, it)
	s.seen[it.SourceID]++
	out := s.decide(it, s.seen[it.SourceID])
	if out == nil {
		s.held = append(s.held, it)
	}
	s.mu.Unlock()
	if out != nil {
		go it.Ack(*out)
	}
	return nil
}

func (s *sink) TrySubmit(ctx context.Context, it *channels.Item, _ time.Duration) error {
	return s.Submit(ctx, it)
}
func (s *sink) Healthy() bool { return true }
func (s *sink) Reject(reason string) {
	s.mu.Lock()
	s.rejects = append(s.rejects, reason)
	s.mu.Unlock()
}

// release acks every held item with out.
func (s *sink) release(out channels.Outcome) int {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, it := range held {
		it.Ack(out)
	}
	return len(held)
}

func (s *sink) submitted() []*channels.Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*channels.Item(nil), s.items...)
}

func (s *sink) attempts(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

func testConfig(addr string) *Config {
	c := NewConfig()
	c.Address = addr
	c.TLS = TLSNone
	c.Username, c.Password = "petitions", "secret"
	c.DoneMailbox, c.FailedMailbox, c.IgnoredMailbox = "Done", "Failed", "Ignored"
	c.PollInterval = units.Duration(time.Second)
	c.RetryInterval = units.Duration(100 * time.Millisecond)
	c.ReconnectBackoffMin = units.Duration(20 * time.Millisecond)
	c.ReconnectBackoffMax = units.Duration(200 * time.Millisecond)
	c.CommandTimeout = units.Duration(5 * time.Second)
	c.Workers = 1 // submissions in UID order
	return c
}

type running struct {
	ch     *Channel
	sup    *channels.Supervisor
	store  *blob.Dir
	cancel context.CancelFunc
	done   chan struct{}
	logs   *syncBuffer
	once   sync.Once
}

func run(t *testing.T, cfg *Config, sk channels.Sink) *running {
	t.Helper()
	store, err := blob.Open(t.TempDir(), blob.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	env := channels.Env{
		Name: "letters", Blobs: store, StateDir: t.TempDir(), DrainTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	// Run under the daemon's supervisor: it reconnects.
	sup := channels.NewSupervisor(env.Name, "imap", env.Logger, channels.Backoff{}, nil)
	env.OnUp = sup.Up
	ch, err := New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{ch: ch, sup: sup, store: store, cancel: cancel, done: make(chan struct{}), logs: logs}
	go func() { sup.Run(ctx, ch, sk); close(r.done) }()
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("channel logs:\n%s", logs.String())
		}
	})
	return r
}

type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.String()
}

// wait waits for Run to return after a cancellation.
func (r *running) wait(t *testing.T, within time.Duration) bool {
	returned := false
	r.once.Do(func() {
		select {
		case <-r.done:
			returned = true
			if strings.Contains(r.logs.String(), "channel stopped with error") {
				t.Errorf("Run returned an error after the cancellation")
			}
		case <-time.After(within):
			t.Errorf("Run did not return within %s of cancellation", within)
		}
	})
	return returned
}

func (r *running) stop(t *testing.T) {
	r.cancel()
	r.wait(t, 10*time.Second)
}

func TestMovesToDoneAfterAck(t *testing.T) {
	srv := newServer(t)
	at := time.Date(2024, 3, 5, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	for i := 1; i <= 3; i++ {
		srv.append("INBOX", rawLetter(fmt.Sprintf("m%d@example.cn", i), "hello"), at)
	}
	sk := newSink(nil)
	r := run(t, testConfig(srv.addr), sk)
	srv.waitCounts(5*time.Second, map[string]int{"INBOX": 0, "Done": 3})

	items := sk.submitted()
	if len(items) != 3 {
		t.Fatalf("%d items submitted, want 3", len(items))
	}
	for i, it := range items {
		id := fmt.Sprintf("m%d@example.cn", i+1)
		if it.Kind != KindMail || it.SourceID != id {
			t.Errorf("item %d: kind %q source id %q, want %q %q", i, it.Kind, it.SourceID, KindMail, id)
		}
		if !it.ReceivedAt.Equal(at) {
			t.Errorf("item %d: received at %v, want the INTERNALDATE %v", i, it.ReceivedAt, at)
		}
		wantRef := fmt.Sprintf("imap://petitions@%s/INBOX;UIDVALIDITY=%d/;UID=%d", srv.addr, it.Meta[MetaUIDValidity], i+1)
		if it.SourceRef != wantRef {
			t.Errorf("item %d: source ref %q, want %q", i, it.SourceRef, wantRef)
		}
		if it.Meta[MetaUID] != uint32(i+1) || it.Meta[MetaMailbox] != "INBOX" {
			t.Errorf("item %d: meta %v", i, it.Meta)
		}
		rc, err := r.store.Open(it.Original.SHA256)
		if err != nil {
			t.Fatalf("item %d: original not stored: %v", i, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != rawLetter(id, "hello") {
			t.Errorf("item %d: stored original %q", i, b)
		}
	}
	// BODY.PEEK: nothing was marked \Seen.
	cl := srv.client()
	defer cl.Close()
	if _, err := cl.Select("Done", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	data, err := cl.UIDSearch(&goimap.SearchCriteria{Flag: []goimap.Flag{goimap.FlagSeen}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(data.AllUIDs()); n != 0 {
		t.Errorf("%d letters marked \\Seen", n)
	}
}

func TestOutcomes(t *testing.T) {
	srv := newServer(t)
	for _, id := range []string{"ok", "auto", "bad", "flaky"} {
		srv.append("INBOX", rawLetter(id+"@example.cn", id), time.Now())
	}
	sk := newSink(func(it *channels.Item, attempt int) *channels.Outcome {
		switch it.SourceID {
		case "auto@example.cn":
			return &channels.Outcome{Ignored: true, Reason: "not a petition: auto_reply"}
		case "bad@example.cn":
			return &channels.Outcome{DeadLettered: true, Reason: "normalize: empty"}
		case "flaky@example.cn":
			if attempt < 3 {
				return &channels.Outcome{Err: errors.New("kafka: leader not available")}
			}
		}
		return &channels.Outcome{Records: []channels.Produced{{ID: "x", TrackingNo: "T"}}}
	})
	cfg := testConfig(srv.addr)
	cfg.Workers = 4
	cfg.DoneMailbox = "已受理" // a non-ASCII name (modified UTF-7 on the wire)
	run(t, cfg, sk)
	srv.waitCounts(10*time.Second, map[string]int{"INBOX": 0, "已受理": 2, "Ignored": 1, "Failed": 1})
	if n := sk.attempts("flaky@example.cn"); n != 3 {
		t.Errorf("flaky letter submitted %d times, want 3 (two failures, then delivered)", n)
	}
	for _, id := range []string{"ok@example.cn", "auto@example.cn", "bad@example.cn"} {
		if n := sk.attempts(id); n != 1 {
			t.Errorf("%s submitted %d times, want 1", id, n)
		}
	}
}

func TestNothingMovedBeforeAckAndNoResubmission(t *testing.T) {
	srv := newServer(t)
	srv.append("INBOX", rawLetter("a@example.cn", "a"), time.Now())
	srv.append("INBOX", rawLetter("b@example.cn", "b"), time.Now())
	sk := newSink(func(*channels.Item, int) *channels.Outcome { return nil })
	run(t, testConfig(srv.addr), sk)
	waitSubmitted(t, sk, 2)
	// The letters are searched again (every poll interval) but not
	// submitted twice while their acks are pending.
	srv.waitCommands("UID SEARCH", srv.commands("UID SEARCH"), 2)
	if n := len(sk.submitted()); n != 2 {
		t.Fatalf("%d submissions, want 2", n)
	}
	if n := srv.count("INBOX"); n != 2 {
		t.Fatalf("INBOX holds %d before the acks, want 2", n)
	}
	sk.release(channels.Outcome{Records: []channels.Produced{{ID: "x"}}})
	srv.waitCounts(5*time.Second, map[string]int{"INBOX": 0, "Done": 2})
}

// commands counts the commands the clients sent whose text contains cmd.
func (s *server) commands(cmd string) int {
	return strings.Count(s.wire.String(), cmd)
}

func TestNoBusyLoopWhenFull(t *testing.T) {
	// max_in_flight reached and new mail announced, and a move the
	// server refuses: the channel waits instead of spinning.
	srv := newServer(t)
	srv.append("INBOX", rawLetter("first@example.cn", "1"), time.Now())
	sk := newSink(func(*channels.Item, int) *channels.Outcome { return nil })
	cfg := testConfig(srv.addr)
	cfg.BatchSize, cfg.MaxInFlight = 1, 1
	cfg.CreateMailboxes = false
	cl := srv.client()
	for _, b := range []string{"Done", "Failed", "Ignored"} {
		cl.Create(b, nil).Wait()
	}
	cl.Close()
	run(t, cfg, sk)
	waitSubmitted(t, sk, 1)
	for i := 0; i < 3; i++ {
		srv.append("INBOX", rawLetter(fmt.Sprintf("more%d@example.cn", i), "m"), time.Now())
	}
	// While full the channel sends nothing, so the absence of a busy loop
	// is watched over a window (longer than the poll interval): it fails
	// as soon as the searches pile up.
	if testutil.Eventually(1500*time.Millisecond, func() bool { return srv.commands("UID SEARCH") > 10 }) {
		t.Errorf("%d searches while full: busy loop", srv.commands("UID SEARCH"))
	}
	if n := len(sk.submitted()); n != 1 {
		t.Errorf("%d submissions with max_in_flight 1", n)
	}
	// A move the server refuses is retried every retry_interval, not in
	// a loop, and succeeds once the mailbox is back.
	cl = srv.client()
	if err := cl.Delete("Ignored").Wait(); err != nil {
		t.Fatal(err)
	}
	before := srv.commands("MOVE")
	released := time.Now()
	sk.release(channels.Outcome{Ignored: true})
	srv.waitCommands("MOVE", before, 3)
	if took := time.Since(released); took < 150*time.Millisecond {
		t.Errorf("3 MOVE commands in %v with retry_interval 100ms: a loop", took)
	}
	if err := cl.Create("Ignored", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	srv.waitCounts(5*time.Second, map[string]int{"Ignored": 1})
	sk.mu.Lock()
	sk.decide = func(*channels.Item, int) *channels.Outcome { return &channels.Outcome{Err: errors.New("stopping")} }
	sk.mu.Unlock()
	sk.release(channels.Outcome{Err: errors.New("stopping")})
}

func TestIdleTakesNewMail(t *testing.T) {
	srv := newServer(t)
	sk := newSink(nil)
	cfg := testConfig(srv.addr)
	cfg.PollInterval = units.Duration(time.Minute)
	r := run(t, cfg, sk)
	r.waitLog(t, "mode=idle") // connected and idle
	srv.append("INBOX", rawLetter("new@example.cn", "new"), time.Now())
	srv.waitCounts(5*time.Second, map[string]int{"INBOX": 0, "Done": 1})
	if !strings.Contains(r.logs.String(), "mode=idle") {
		t.Errorf("channel did not use IDLE")
	}
}

func TestPollingWithoutIdle(t *testing.T) {
	srv := newServer(t)
	sk := newSink(nil)
	cfg := testConfig(srv.addr)
	cfg.Idle = false
	r := run(t, cfg, sk)
	r.waitLog(t, "mode=poll")
	srv.append("INBOX", rawLetter("polled@example.cn", "p"), time.Now())
	srv.waitCounts(5*time.Second, map[string]int{"INBOX": 0, "Done": 1})
	if !strings.Contains(r.logs.String(), "mode=poll") {
		t.Errorf("channel did not poll")
	}
}

func TestReconnectsAfterServerRestart(t *testing.T) {
	srv := newServer(t)
	srv.append("INBOX", rawLetter("before@example.cn", "b"), time.Now())
	sk := newSink(nil)
	r := run(t, testConfig(srv.addr), sk)
	srv.waitCounts(5*time.Second, map[string]int{"INBOX": 0, "Done": 1})
	srv.restart()
	srv.append("INBOX", rawLetter("after@example.cn", "a"), time.Now())
	srv.waitCounts(10*time.Second, map[string]int{"INBOX": 0, "Done": 2})
	if !strings.Contains(r.logs.String(), "reconnecting") {
		t.Errorf("no reconnection logged")
	}
	if st := r.sup.Status(); st.State != channels.StateRunning || st.Restarts < 1 {
		t.Errorf("after the reconnection: %+v, want running after a restart", st)
	}
}

// TestLostConnectionEndsRun: reconnecting is the supervisor's job, so Run
// returns the error when the connection is lost (or cannot be made).
func TestLostConnectionEndsRun(t *testing.T) {
	srv := newServer(t)
	store, err := blob.Open(t.TempDir(), blob.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	up := make(chan struct{}, 1)
	env := channels.Env{Name: "letters", Blobs: store, StateDir: t.TempDir(), OnUp: func() { up <- struct{}{} }}
	ch, err := New(testConfig(srv.addr), env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ch.Run(ctx, newSink(nil)) }()
	select {
	case <-up:
	case err := <-done:
		t.Fatalf("Run = %v before it was connected", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the channel did not report itself up")
	}
	srv.stop()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("Run = nil after the server went away, want the connection's error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the connection was lost")
	}
	go func() { done <- ch.Run(ctx, newSink(nil)) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "connect") {
			t.Errorf("Run with the server down = %v, want a connect error", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("Run did not return while the server is down")
	}
}

func TestReconnectKeepsAcksPending(t *testing.T) {
	// An ack that arrives while the connection is down is applied after
	// the reconnection, and the letter is not submitted again meanwhile.
	srv := newServer(t)
	srv.append("INBOX", rawLetter("slow@example.cn", "s"), time.Now())
	sk := newSink(func(*channels.Item, int) *channels.Outcome { return nil })
	r := run(t, testConfig(srv.addr), sk)
	waitSubmitted(t, sk, 1)
	srv.stop()
	sk.release(channels.Outcome{Records: []channels.Produced{{ID: "x"}}})
	// The channel noticed the connection is gone before the server is
	// back.
	if !testutil.Eventually(5*time.Second, func() bool { return r.sup.Status().State == channels.StateRestarting }) {
		t.Fatalf("the lost connection was not noticed: %+v", r.sup.Status())
	}
	srv.start(srv.addr)
	srv.waitCounts(10*time.Second, map[string]int{"INBOX": 0, "Done": 1})
	if n := sk.attempts("slow@example.cn"); n != 1 {
		t.Errorf("submitted %d times, want 1", n)
	}
}

func TestDrainMovesAckedLetters(t *testing.T) {
	srv := newServer(t)
	srv.append("INBOX", rawLetter("d@example.cn", "d"), time.Now())
	sk := newSink(func(*channels.Item, int) *channels.Outcome { return nil })
	r := run(t, testConfig(srv.addr), sk)
	waitSubmitted(t, sk, 1)
	r.cancel()
	time.AfterFunc(200*time.Millisecond, func() { sk.release(channels.Outcome{Records: []channels.Produced{{ID: "x"}}}) })
	if !r.wait(t, 5*time.Second) {
		t.Fatal("Run did not return after the drain")
	}
	if n := srv.count("Done"); n != 1 {
		t.Errorf("Done holds %d after the drain, want 1", n)
	}
}

func TestTooLargeIsRefused(t *testing.T) {
	srv := newServer(t)
	srv.append("INBOX", rawLetter("big@example.cn", "big")+strings.Repeat("x", 4096), time.Now())
	sk := newSink(func(it *channels.Item, _ int) *channels.Outcome {
		if !it.Original.IsZero() || it.Meta[MetaRefused] == nil {
			return &channels.Outcome{Records: []channels.Produced{{ID: "x"}}}
		}
		return &channels.Outcome{DeadLettered: true, Reason: "too large"}
	})
	cfg := testConfig(srv.addr)
	cfg.MaxMessageSize = 1024
	run(t, cfg, sk)
	srv.waitCounts(5*time.Second, map[string]int{"INBOX": 0, "Failed": 1})
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if len(sk.rejects) != 1 || sk.rejects[0] != "too_large" {
		t.Errorf("rejects %v, want [too_large]", sk.rejects)
	}
}

func TestProcessingMailbox(t *testing.T) {
	srv := newServer(t)
	cl := srv.client()
	cl.Create("Proc", nil).Wait()
	cl.Close()
	for i := 0; i < 7; i++ {
		srv.append("INBOX", rawLetter(fmt.Sprintf("p%d@example.cn", i), "p"), time.Now())
	}
	srv.append("Proc", rawLetter("left@example.cn", "left over"), time.Now())
	sk := newSink(nil)
	cfg := testConfig(srv.addr)
	cfg.ProcessingMailbox = "Proc"
	cfg.BatchSize = 3
	cfg.MaxInFlight = 3
	cfg.PollInterval = units.Duration(time.Minute)
	run(t, cfg, sk)
	srv.waitCounts(10*time.Second, map[string]int{"INBOX": 0, "Proc": 0, "Done": 8})
	// New mail is claimed at once (IDLE on the shared mailbox).
	srv.append("INBOX", rawLetter("late@example.cn", "late"), time.Now())
	srv.waitCounts(5*time.Second, map[string]int{"INBOX": 0, "Proc": 0, "Done": 9})
	items := sk.submitted()
	if len(items) != 9 {
		t.Fatalf("%d submissions, want 9", len(items))
	}
	if items[0].SourceID != "left@example.cn" {
		t.Errorf("first letter %s, want the one left in the processing mailbox", items[0].SourceID)
	}
	for _, it := range items {
		if it.Meta[MetaMailbox] != "Proc" || it.Meta[MetaClaimedFrom] != "INBOX" {
			t.Errorf("meta %v", it.Meta)
		}
	}
}

func TestThreadIndexLinksReplies(t *testing.T) {
	srv := newServer(t)
	srv.append("INBOX", rawLetter("orig@example.cn", "first"), time.Now())
	sk := newSink(nil)
	run(t, testConfig(srv.addr), sk)
	srv.waitCounts(5*time.Second, map[string]int{"INBOX": 0, "Done": 1})
	reply := "Message-ID: <reply@example.cn>\r\nIn-Reply-To: <answer@court.example>\r\n" +
		"References: <orig@example.cn>\r\n <answer@court.example>\r\nSubject: Re: first\r\n\r\nmore\r\n"
	srv.append("INBOX", reply, time.Now())
	srv.waitCounts(5*time.Second, map[string]int{"INBOX": 0, "Done": 2})
	items := sk.submitted()
	if got := items[1].Meta[MetaThreadTrackingNo]; got != "TN-orig@example.cn" {
		t.Errorf("reply meta %s = %v, want the first letter's tracking number", MetaThreadTrackingNo, got)
	}
	if _, ok := items[0].Meta[MetaThreadTrackingNo]; ok {
		t.Errorf("first letter has a thread tracking number")
	}
}

func TestThreadIndexBoundedAndPersistent(t *testing.T) {
	dir := t.TempDir()
	x, err := openThreadIndex(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := x.add(fmt.Sprintf("id%d", i), fmt.Sprintf("tn%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	x.close()
	y, err := openThreadIndex(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(y.m) != 3 {
		t.Errorf("%d entries kept, want 3", len(y.m))
	}
	if got := y.lookup("id0", "id9"); got != "tn9" {
		t.Errorf("lookup = %q, want tn9 (id0 forgotten)", got)
	}
	if y.lines > 6 {
		t.Errorf("file has %d lines, want at most 2×3", y.lines)
	}
}

func TestValidityFile(t *testing.T) {
	dir := t.TempDir()
	v, _ := openValidity(dir)
	if err := v.set("INBOX", 42); err != nil {
		t.Fatal(err)
	}
	w, err := openValidity(dir)
	if err != nil || w.get("INBOX") != 42 {
		t.Errorf("reopened: %v, %d", err, w.get("INBOX"))
	}
}

func TestUIDValidityChangeForgetsUIDs(t *testing.T) {
	c, err := New(testConfig("127.0.0.1:1"), channels.Env{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c.setValidity("INBOX", 1)
	c.busy[5] = true
	c.moves = append(c.moves, move{uid: 5, validity: 1, dest: "Done"})
	c.setValidity("INBOX", 2)
	if len(c.busy) != 0 || len(c.moves) != 0 {
		t.Errorf("after a UIDVALIDITY change: busy %v moves %v, want none", c.busy, c.moves)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := func() *Config { return testConfig("imap.example.org:993") }
	if err := ok().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, c := range []struct {
		field string
		mod   func(*Config)
	}{
		{"address", func(c *Config) { c.Address = "" }},
		{"address", func(c *Config) { c.Address = "imap.example.org" }},
		{"tls", func(c *Config) { c.TLS = "ssl" }},
		{"tls", func(c *Config) { c.TLS = TLSNone; c.TLSCAFile = "/ca.pem" }},
		{"username", func(c *Config) { c.Username = "" }},
		{"password", func(c *Config) { c.Password = "" }},
		{"done_mailbox", func(c *Config) { c.DoneMailbox = "inbox" }},
		{"failed_mailbox", func(c *Config) { c.FailedMailbox = c.DoneMailbox }},
		{"processing_mailbox", func(c *Config) { c.ProcessingMailbox = "Failed" }},
		{"ignored_mailbox", func(c *Config) { c.IgnoredMailbox = "" }},
		{"poll_interval", func(c *Config) { c.PollInterval = units.Duration(time.Millisecond) }},
		{"batch_size", func(c *Config) { c.BatchSize = 0 }},
		{"max_in_flight", func(c *Config) { c.MaxInFlight = c.BatchSize - 1 }},
		{"workers", func(c *Config) { c.Workers = 0 }},
		{"reconnect_backoff_max", func(c *Config) { c.ReconnectBackoffMax = 1 }},
		{"max_message_size", func(c *Config) { c.MaxMessageSize = 10 }},
	} {
		cfg := ok()
		c.mod(cfg)
		var ie *channels.InvalidError
		if err := cfg.Validate(); !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("Validate() = %v, want an error on %s", err, c.field)
		}
	}
}

func TestExampleMatchesDefaults(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, bytes.TrimSpace(example)) {
		t.Errorf("README.md does not contain example.yaml verbatim")
	}
	// Every setting is in the example, with its default where one is set.
	for _, key := range []string{"address", "tls", "tls_ca_file", "tls_server_name", "insecure_skip_verify", "username", "password",
		"mailbox", "done_mailbox", "failed_mailbox", "ignored_mailbox", "processing_mailbox", "create_mailboxes", "idle",
		"poll_interval", "retry_interval", "max_message_size", "batch_size", "max_in_flight", "workers",
		"reconnect_backoff_min", "reconnect_backoff_max", "command_timeout", "thread_index_size"} {
		if !bytes.Contains(example, []byte(key+":")) {
			t.Errorf("example.yaml lacks %s", key)
		}
	}
}

// TestMoveWithoutMoveCapability: on a server without MOVE the letter is
// copied, then flagged \Deleted (only once the copy succeeded), and it is
// not taken in again.
func TestMoveWithoutMoveCapability(t *testing.T) {
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("petitions", "secret")
	u.Create("INBOX", nil)
	mem.AddUser(u)
	srv := &server{t: t, mem: mem, wire: &syncBuffer{}, caps: goimap.CapSet{goimap.CapIMAP4rev1: {}}}
	srv.start("127.0.0.1:0")
	t.Cleanup(srv.stop)
	srv.append("INBOX", rawLetter("a@example.cn", "hello"), time.Now())

	// With the destination creatable the letter reaches Done and the
	// original is flagged \Deleted, and it is not taken in again.
	sk2 := newSink(nil)
	r2 := run(t, testConfig(srv.addr), sk2)
	srv.waitCounts(5*time.Second, map[string]int{"Done": 1})
	cl := srv.client()
	defer cl.Close()
	if _, err := cl.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// The flag follows the copy (Done counts the letter already).
	deleted := func() int {
		del, err := cl.UIDSearch(&goimap.SearchCriteria{Flag: []goimap.Flag{goimap.FlagDeleted}}, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		return len(del.AllUIDs())
	}
	if !testutil.Eventually(5*time.Second, func() bool { return deleted() == 1 }) {
		t.Errorf("%d letters flagged \\Deleted in INBOX after the copy, want 1", deleted())
	}
	r2.stop(t)
	if n := len(sk2.submitted()); n != 1 {
		t.Errorf("the letter was submitted %d times, want once", n)
	}
}

// flushingSession sends the updates queued before IDLE when IDLE starts, as
// Dovecot does (RFC 2177: the server sends what is pending); the in-memory
// server sends only those that arrive during IDLE, so a letter appended
// between a command and IDLE was announced only after IDLE ended.
type flushingSession struct{ imapserver.SessionIMAP4rev2 }

func (s flushingSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if err := s.SessionIMAP4rev2.Poll(w, true); err != nil {
		return err
	}
	return s.SessionIMAP4rev2.Idle(w, stop)
}
