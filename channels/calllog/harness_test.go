package calllog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	_ "github.com/court12368/petitiond/channels/calllog/decode" // the records of calls
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/config/units"
	"github.com/court12368/petitiond/engine"
	tu "github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/router"
)

// harness runs a calllog channel against the real engine and normalizer
// with an in-memory producer. The engine survives channel restarts, like
// the daemon's.
type harness struct {
	t      *testing.T
	dir    string
	cfg    *Config
	prod   *tu.FakeProducer
	blobs  *blob.Dir
	eng    *engine.Engine
	clock  clock
	notify chan struct{}
	logs   *syncBuffer

	ch     *Channel
	cancel context.CancelFunc
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	cfg := NewConfig()
	cfg.Path = filepath.Join(dir, "cdr", "Master.csv")
	cfg.Format = "asterisk-csv"
	cfg.PollInterval = units.Duration(5 * time.Millisecond)
	cfg.RotateWait = units.Duration(100 * time.Millisecond)
	cfg.CheckpointInterval = units.Duration(5 * time.Millisecond)
	cfg.RetryBackoff = units.Duration(20 * time.Millisecond)
	cfg.MinAge = 0
	if mod != nil {
		mod(cfg)
	}
	if err := os.MkdirAll(filepath.Join(dir, "cdr"), 0o755); err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.Open(filepath.Join(dir, "blobs"), blob.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := config.Parse("t.yaml", []byte("kafka: {brokers: [x]}\nroutes: {default_topic: in, dead_letter_topic: dead}\n"), channels.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	rules, err := router.Compile(rc)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, cfg: cfg, blobs: blobs, notify: make(chan struct{}, 1<<16), logs: &syncBuffer{}, clock: realClock{}}
	h.prod = tu.NewFakeProducer()
	h.prod.Notify = h.notify
	m := engine.NewMetrics(prometheus.NewRegistry(), h.prod.Healthy)
	h.eng = engine.New(slog.New(slog.DiscardHandler), &normalize.Normalizer{Blobs: blobs}, rules, h.prod, m, 1000)
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("channel logs:\n%s", h.logs)
		}
	})
	return h
}

func (h *harness) stateDir() string { return filepath.Join(h.dir, "state") }

// start builds a fresh channel instance (as after a daemon restart) and
// runs it.
func (h *harness) start() {
	h.t.Helper()
	os.MkdirAll(h.stateDir(), 0o750)
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := *h.cfg
	if h.cfg.CTI != nil {
		c := *h.cfg.CTI
		cfg.CTI = &c
	}
	ch, err := New(&cfg, channels.Env{Name: "hotline", Logger: log, Blobs: h.blobs, StateDir: h.stateDir(), DrainTimeout: 5 * time.Second})
	if err != nil {
		h.t.Fatal(err)
	}
	ch.clock = h.clock
	ctx, cancel := context.WithCancel(context.Background())
	h.ch, h.cancel, h.done = ch, cancel, make(chan error, 1)
	go func() { h.done <- ch.Run(ctx, h.eng.Sink("hotline", "calllog")) }()
}

// stop cancels Run and waits for it (it drains).
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		h.t.Errorf("Run did not return")
	}
	h.cancel = nil
}

// waitFor waits until cond holds, woken by every Produce call (and, for
// conditions no Produce call signals, a short poll).
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-h.notify:
		case <-tick.C:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (h *harness) messages(topic string) []map[string]any {
	var out []map[string]any
	for _, m := range h.prod.Messages() {
		if m.Topic != topic {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(m.Value, &v); err != nil {
			h.t.Fatal(err)
		}
		if topic == "in" {
			tu.ValidatePetition(h.t, m.Value)
		}
		out = append(out, v)
	}
	return out
}

// records waits for n records (and returns all there are then).
func (h *harness) records(n int) []map[string]any {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d records", n), func() bool { return len(h.messages("in")) >= n })
	return h.messages("in")
}

func (h *harness) deadLetters(n int) []map[string]any {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d dead letters", n), func() bool { return len(h.messages("dead")) >= n })
	return h.messages("dead")
}

// bySource indexes records by source id, failing on a duplicate id.
func bySource(t *testing.T, recs []map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range recs {
		id := r["source"].(map[string]any)["id"].(string)
		if _, dup := out[id]; dup {
			t.Errorf("source id %s produced twice", id)
		}
		out[id] = r
	}
	return out
}

func sourceIDs(recs []map[string]any) []string {
	var ids []string
	for _, r := range recs {
		ids = append(ids, r["source"].(map[string]any)["id"].(string))
	}
	sort.Strings(ids)
	return ids
}

// savedOffsets reads the state file: path → offset.
func (h *harness) savedOffsets() map[string]int64 {
	st, err := loadState(h.stateDir())
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, f := range st {
		out[filepath.Base(f.Path)] = f.Offset
	}
	return out
}

// astLine is an 18-column Asterisk Master.csv line (uniqueid, userfield =
// notes). billsec 0 makes a missed call.
func astLine(uid, src, name string, billsec int, notes string) string {
	answer, disp := `"2024-03-01 09:15:03"`, "ANSWERED"
	if billsec == 0 {
		answer, disp = "", "NO ANSWER"
	}
	return fmt.Sprintf(`"","%s","12368","from-trunk","""%s"" <%s>","PJSIP/trunk-1","PJSIP/8001-2","Dial","PJSIP/8001,30","2024-03-01 09:15:02",%s,"2024-03-01 09:22:45",%d,%d,"%s","DOCUMENTATION","%s","%s"`,
		src, name, src, answer, billsec+1, billsec, disp, uid, notes) + "\n"
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// postCTI posts events to the webhook.
func (h *harness) postCTI(body string) (int, map[string]any) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, err := h.ch.CTIAddr(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+h.cfg.CTI.Path, "application/json", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// fakeClock drives the join window in tests.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

// original returns the bytes a record's original reference names: the
// blob, or the byte range of it that its URI ends in (#bytes=a-b).
func (h *harness) original(ref map[string]any) string {
	h.t.Helper()
	rc, err := h.blobs.Open(ref["sha256"].(string))
	if err != nil {
		h.t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		h.t.Fatal(err)
	}
	_, rng, ok := strings.Cut(ref["uri"].(string), "#bytes=")
	if !ok {
		return string(b)
	}
	first, last, _ := strings.Cut(rng, "-")
	a, err1 := strconv.Atoi(first)
	z, err2 := strconv.Atoi(last)
	if err1 != nil || err2 != nil || a > z || z >= len(b) {
		h.t.Fatalf("bad byte range %q for a %d-byte blob", rng, len(b))
	}
	return string(b[a : z+1])
}
