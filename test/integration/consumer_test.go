package integration

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	refconsumer "github.com/court12368/petitiond/examples/consumer/consume"
	tu "github.com/court12368/petitiond/internal/testutil"
)

// TestReferenceConsumerDedupesAndResumes drives the reference consumer
// (examples/consumer) against records a real petitiond produced: every id
// is handled once although Kafka holds it twice, and a restarted consumer
// of the same group reads on from its committed offsets.
func TestReferenceConsumerDedupesAndResumes(t *testing.T) {
	e := newEnv(t, broker(t), "")
	e.start()
	topics := []string{e.topic, e.topic + ".priority", e.dead}
	for _, tp := range topics {
		if err := tu.WaitTopic(e.brokers, tp, 60*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	js, _ := json.Marshal(fields)
	want := map[string]bool{}
	post := func() (reply, map[string]string) {
		t.Helper()
		key := map[string]string{"Idempotency-Key": "consumer-it-" + randomSuffix()}
		rep := e.mustPost("application/json", js, key)
		if rep.Status != 201 || rep.ID == "" {
			t.Fatalf("post: %+v", rep)
		}
		want[rep.ID] = true
		return rep, key
	}

	var mu sync.Mutex
	handled := map[string]int{}
	handler := func(_ context.Context, r refconsumer.Record) error {
		if r.Petition == nil {
			t.Errorf("not a petition: %s", refconsumer.Summary(r))
			return nil
		}
		tu.ValidatePetition(t, r.Raw)
		s := refconsumer.Summary(r)
		for _, pii := range []string{fields["name"], "13907911234", fields["content"][:12], fields["address"]} {
			if strings.Contains(s, pii) {
				t.Errorf("summary quotes personal data: %s", s)
			}
		}
		mu.Lock()
		handled[r.Petition.ID]++
		mu.Unlock()
		return nil
	}
	dedupeFile := filepath.Join(e.dir, "consumer-seen")
	group := "it-consumer-" + randomSuffix()
	// run starts the consumer and returns its stats and a stop function
	// that waits for it to return.
	run := func() (*refconsumer.Stats, func()) {
		seen, err := refconsumer.OpenDedupe(dedupeFile, 1000)
		if err != nil {
			t.Fatal(err)
		}
		stats := new(refconsumer.Stats)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- refconsumer.Run(ctx, refconsumer.Config{
				Brokers: e.brokers, GroupID: group, Topics: topics,
				Dedupe: seen, Handler: handler, Stats: stats,
				Log: slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
		}()
		return stats, func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("consumer: %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("consumer did not stop within 60s")
			}
			if err := seen.Close(); err != nil {
				t.Error(err)
			}
		}
	}
	// records is how many records the consumer's topics hold.
	records := func() int64 {
		var n int64
		for _, tp := range topics {
			c, err := tu.EndOffsets(e.brokers, tp)
			if err != nil {
				t.Fatal(err)
			}
			n += c
		}
		return n
	}
	// caughtUp waits until the consumer has read and committed everything.
	caughtUp := func(stats *refconsumer.Stats, since int64) {
		t.Helper()
		var total int64
		if !tu.Eventually(60*time.Second, func() bool {
			total = records()
			return stats.Committed.Load() == total-since
		}) {
			t.Fatalf("consumer committed %d of the %d records after offset sum %d (read %d, handled %d, duplicates %d)",
				stats.Committed.Load(), total-since, since, stats.Read.Load(), stats.Handled.Load(), stats.Duplicates.Load())
		}
	}

	// 1. Five petitions, the first posted twice with the same
	// Idempotency-Key (a portal's retry: one petition, one record).
	const n = 5
	first, firstKey := post()
	for range n - 1 {
		post()
	}
	if again := e.mustPost("application/json", js, firstKey); again.ID != first.ID {
		t.Fatalf("retry with the same Idempotency-Key: %+v, want id %s", again, first.ID)
	}
	stats, stop := run()
	caughtUp(stats, 0)

	// 2. The first record's bytes again, to its partition, with its key and
	// headers: what petitiond writes when it crashes after Kafka's
	// acknowledgement and before the source was released.
	var orig *kgo.Record
	recs, err := tu.ReadAll(e.brokers, e.topic, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if string(r.Key) == first.ID {
			orig = r
		}
	}
	if orig == nil {
		t.Fatalf("no record with key %s in %s", first.ID, e.topic)
	}
	replay := func() {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		dup := &kgo.Record{Topic: orig.Topic, Partition: orig.Partition, Key: orig.Key, Value: orig.Value, Headers: orig.Headers}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cl.ProduceSync(ctx, dup).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	replay()
	caughtUp(stats, 0)
	stop()
	if got := stats.Duplicates.Load(); got != 1 {
		t.Errorf("duplicates skipped: %d, want 1", got)
	}
	mu.Lock()
	for id := range want {
		if handled[id] != 1 {
			t.Errorf("petition %s handled %d times, want once", id, handled[id])
		}
	}
	if len(handled) != len(want) {
		t.Errorf("handled %d ids, want %d", len(handled), len(want))
	}
	mu.Unlock()

	// 3. While the consumer is down: two more petitions and the first
	// record once more. The restarted consumer (same group, same dedupe
	// file) reads only what came after its committed offsets, and knows
	// the replayed id from the file.
	committed := records()
	post()
	post()
	replay()
	stats, stop = run()
	caughtUp(stats, committed)
	stop()
	if got, wantRead := stats.Read.Load(), int64(3); got != wantRead {
		t.Errorf("after the restart the consumer read %d records, want %d (the committed ones were read again?)", got, wantRead)
	}
	if h, d := stats.Handled.Load(), stats.Duplicates.Load(); h != 2 || d != 1 {
		t.Errorf("after the restart: handled %d, duplicates %d; want 2 and 1", h, d)
	}
	mu.Lock()
	defer mu.Unlock()
	for id := range want {
		if handled[id] != 1 {
			t.Errorf("petition %s handled %d times in all, want once", id, handled[id])
		}
	}
	if len(handled) != n+2 {
		t.Errorf("handled %d ids in all, want %d", len(handled), n+2)
	}
}

// tlogWriter sends a logger's lines to the test log.
type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
