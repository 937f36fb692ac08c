package calllog

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	_ "github.com/court12368/petitiond/channels/calllog/decode" // the records of calls
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/config/units"
	"github.com/court12368/petitiond/engine"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/producer"
	"github.com/court12368/petitiond/router"
)

// ackSink acknowledges every item at once: the channel alone (read, split,
// parse, store the original, build the item, checkpoint).
type ackSink struct{ n atomic.Int64 }

func (s *ackSink) Submit(ctx context.Context, it *channels.Item) error {
	s.n.Add(1)
	it.Ack(channels.Outcome{Records: []channels.Produced{{ID: "x"}}})
	return nil
}
func (s *ackSink) TrySubmit(ctx context.Context, it *channels.Item, _ time.Duration) error {
	return s.Submit(ctx, it)
}
func (s *ackSink) Healthy() bool { return true }
func (s *ackSink) Reject(string) {}
func (s *ackSink) count() int64  { return s.n.Load() }

// benchLines is 21-column Asterisk lines, 20% missed, unique ids.
func benchLines(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		answer, disp, bill := `"2024-03-01 09:15:03"`, "ANSWERED", 462
		if i%5 == 4 {
			answer, disp, bill = "", "NO ANSWER", 0
		}
		fmt.Fprintf(&b, `"","139%08d","12368","from-trunk","""张三"" <139%08d>","PJSIP/trunk-%08x","PJSIP/8001-%08x","Queue","petitions,t,,,300","2024-03-01 09:15:02",%s,"2024-03-01 09:22:45",463,%d,"%s","DOCUMENTATION","b.%d","咨询案件进度，要求联系承办法官","","b.%d",%d`+"\n",
			i, i, i, i+1, answer, bill, disp, i, i, i)
	}
	return b.String()
}

// BenchmarkTail reads a Master.csv of b.N lines to the last acknowledgement.
//
//   - channel: the calllog channel alone (a sink that acknowledges at once);
//   - engine: the channel, normalize, routing and JSON encoding, with an
//     in-memory producer (no Kafka).
func BenchmarkTail(b *testing.B) {
	for _, originals := range []string{OriginalsChunk, OriginalsLine} {
		for _, withEngine := range []bool{false, true} {
			name := "channel"
			if withEngine {
				name = "engine"
			}
			b.Run(name+"/originals="+originals, func(b *testing.B) { benchTail(b, originals, withEngine) })
		}
	}
}

func benchTail(b *testing.B, originals string, withEngine bool) {
	dir := b.TempDir()
	path := filepath.Join(dir, "Master.csv")
	data := benchLines(b.N)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		b.Fatal(err)
	}
	blobs, err := blob.Open(filepath.Join(dir, "blobs"), blob.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	cfg := NewConfig()
	cfg.Path, cfg.Format, cfg.Originals = path, "asterisk-csv", originals
	cfg.PollInterval = units.Duration(time.Millisecond)
	cfg.MaxInFlight = 20000
	ch, err := New(cfg, channels.Env{Name: "bench", Logger: slog.New(slog.DiscardHandler), Blobs: blobs, StateDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	var sink channels.Sink
	var done func() int64
	if withEngine {
		rc, _ := config.Parse("b.yaml", []byte("kafka: {brokers: [x]}\nroutes: {default_topic: in, dead_letter_topic: dead}\n"), channels.NewRegistry())
		rules, err := router.Compile(rc)
		if err != nil {
			b.Fatal(err)
		}
		prod := &countingProducer{}
		eng := engine.New(slog.New(slog.DiscardHandler), &normalize.Normalizer{Blobs: blobs}, rules, prod,
			engine.NewMetrics(prometheus.NewRegistry(), prod.Healthy), 20000)
		sink, done = eng.Sink("bench", "calllog"), prod.n.Load
	} else {
		s := &ackSink{}
		sink, done = s, s.count
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.ReportAllocs()
	b.SetBytes(int64(len(data) / b.N))
	b.ResetTimer()
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- ch.Run(ctx, sink) }()
	for done() < int64(b.N) {
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-errc
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "lines/s")
}

// countingProducer acknowledges every batch at once.
type countingProducer struct{ n atomic.Int64 }

func (p *countingProducer) Produce(msgs []producer.Message, done func(error)) {
	p.n.Add(int64(len(msgs)))
	done(nil)
}
func (p *countingProducer) Healthy() bool { return true }
func (p *countingProducer) Close() error  { return nil }

var _ producer.Producer = (*countingProducer)(nil)
