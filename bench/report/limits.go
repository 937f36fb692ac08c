package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/court12368/petitiond/bench/internal/load"
	"github.com/court12368/petitiond/internal/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// sample is the shape of the records a channel produced: the bare
// producer sends records of exactly this shape (key length, value bytes,
// the same headers), so the comparison is like with like.
type sample struct {
	Key     []byte
	Value   []byte
	Headers []kafka.Header
	// Partitions of the channel's topic; the bare and tool topics get as many.
	Partitions int
}

// Bytes is the record's size as the Java tool counts it (it sends
// values only): key + value + header keys and values.
func (s *sample) Bytes() int {
	n := len(s.Key) + len(s.Value)
	for _, h := range s.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// readSample reads one record of topic back and the topic's partition count.
func readSample(brokers []string, topic string) (*sample, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var rec *kgo.Record
	for rec == nil && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if rec == nil {
				rec = r
			}
		})
	}
	if rec == nil {
		return nil, fmt.Errorf("no record read back from %s", topic)
	}
	s := &sample{Key: rec.Key, Value: rec.Value}
	for _, h := range rec.Headers {
		s.Headers = append(s.Headers, kafka.Header{Key: h.Key, Value: h.Value})
	}
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	s.Partitions = len(md.Topics[topic].Partitions)
	if s.Partitions == 0 {
		s.Partitions = 3
	}
	return s, nil
}

// createTopic makes a topic with partitions partitions (replication 1).
func createTopic(brokers []string, topic string, partitions int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, int32(partitions), 1, nil, topic); err != nil {
		return err
	}
	// A producer's first metadata request may not see a topic the
	// controller just made: without this wait a writer can fail all its
	// records with "Unknown topic or partition".
	return testutil.WaitTopic(brokers, topic, 30*time.Second)
}

// message i of the bare producer: the sample's value and headers, and a
// key as long as the sample's but distinct, so that records spread over
// the partitions as the channel's do.
func (s *sample) message(i int64) kafka.Message {
	key := []byte(fmt.Sprintf("%0*d", len(s.Key), i))
	if len(s.Key) > 0 && len(key) > len(s.Key) {
		key = key[len(key)-len(s.Key):]
	}
	return kafka.Message{Key: key, Value: s.Value, Headers: s.Headers}
}

// writer is a kafka-go writer with petitiond's own producer settings
// (producer/producer.go with the config defaults): acks=all, Murmur2,
// batches of up to 1000 records / 1 MiB, 2 ms batch timeout, no
// compression.
func writer(brokers []string, topic string, async bool, completion func([]kafka.Message, error)) *kafka.Writer {
	return &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchSize: 1000, BatchBytes: 1 << 20, BatchTimeout: 2 * time.Millisecond,
		MaxAttempts: 3, Async: async, Completion: completion,
		// A transport of its own: kafka-go's default one is shared and
		// caches metadata for seconds, so a writer to a topic created
		// after the last refresh fails with "Unknown Topic Or Partition".
		Transport: &kafka.Transport{},
	}
}

// Limit is what a bare producer or the Java tool reached.
type Limit struct {
	Rate    float64  `json:"rate"`
	P50ms   *float64 `json:"p50_ms"`
	P99ms   *float64 `json:"p99_ms"`
	Records int64    `json:"records"`
	Errors  int64    `json:"errors"`
	// FirstError is the first failure's message, if any failed.
	FirstError string `json:"first_error,omitempty"`
	// Paced: the limit ran at a fixed rate (open loop, the tool with a
	// throughput), so its latencies compare with the channel's.
	Paced bool   `json:"paced"`
	How   string `json:"how"`
}

// bareSync is conc goroutines, each writing one record and waiting for
// its acknowledgement before the next: N waiting clients without HTTP.
func bareSync(brokers []string, topic string, s *sample, conc int, dur time.Duration) Limit {
	w := writer(brokers, topic, false, nil)
	defer w.Close()
	var n atomic.Int64
	r := load.Closed(dur, conc, func() (time.Duration, error) {
		return load.Timed(func() error { return w.WriteMessages(context.Background(), s.message(n.Add(1))) })
	})
	return limitOf(r, false, fmt.Sprintf("kafka-go, %d sync loops (each waits for its ack), %s", conc, dur))
}

// bareOpen starts one synchronous write every 1/rate s, whatever the
// answers: the web open loop without HTTP.
func bareOpen(brokers []string, topic string, s *sample, rate int, dur time.Duration) Limit {
	w := writer(brokers, topic, false, nil)
	defer w.Close()
	var n atomic.Int64
	r := load.Open(dur, rate, func() (time.Duration, error) {
		return load.Timed(func() error { return w.WriteMessages(context.Background(), s.message(n.Add(1))) })
	})
	return limitOf(r, true, fmt.Sprintf("kafka-go, open loop %d/s of sync writes, %s", rate, dur))
}

func limitOf(r load.Result, paced bool, how string) Limit {
	return Limit{Rate: r.Rate, P50ms: msp(r.P50), P99ms: msp(r.P99), Records: int64(r.OK), Errors: int64(r.Errors),
		FirstError: r.FirstError, Paced: paced, How: how}
}

// bareAsync writes n records through an async writer with at most
// inFlight unacknowledged: a channel that hands records to the pipeline
// as fast as it may (calllog, imap).
func bareAsync(brokers []string, topic string, s *sample, n, inFlight int) Limit {
	var acked, failed atomic.Int64
	var first atomic.Value
	sem := make(chan struct{}, inFlight)
	w := writer(brokers, topic, true, func(msgs []kafka.Message, err error) {
		if err == nil {
			acked.Add(int64(len(msgs)))
		} else {
			failed.Add(int64(len(msgs)))
			first.CompareAndSwap(nil, err.Error())
		}
		for range msgs {
			<-sem
		}
	})
	start := time.Now()
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		if err := w.WriteMessages(context.Background(), s.message(int64(i))); err != nil {
			<-sem
			failed.Add(1)
			first.CompareAndSwap(nil, err.Error())
		}
	}
	w.Close()
	el := time.Since(start)
	fe, _ := first.Load().(string)
	return Limit{Rate: float64(acked.Load()) / el.Seconds(), Records: acked.Load(), Errors: failed.Load(), FirstError: fe,
		How: fmt.Sprintf("kafka-go async writer, %d in flight, %d records", inFlight, n)}
}

// perfSummary matches ProducerPerformance's last line, e.g.
// "100000 records sent, 41753.6 records/sec (40.93 MB/sec), 512.45 ms avg
// latency, 901.00 ms max latency, 498 ms 50th, 850 ms 95th, 880 ms 99th,
// 899 ms 99.9th."
var perfSummary = regexp.MustCompile(`(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th`)

// perfTool runs Apache Kafka's own producer benchmark
// (org.apache.kafka.tools.ProducerPerformance, kafka-tools jar) with n
// records of size bytes, acks=all; throughput -1 is as fast as it can.
func perfTool(libs string, brokers []string, topic string, n, size, throughput int) (Limit, error) {
	args := []string{"-Xmx512m", "-cp", filepath.Join(libs, "*"), "org.apache.kafka.tools.ProducerPerformance",
		"--topic", topic, "--num-records", strconv.Itoa(n), "--record-size", strconv.Itoa(size),
		"--throughput", strconv.Itoa(throughput),
		"--producer-props", "bootstrap.servers=" + brokers[0], "acks=all"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "java", args...).CombinedOutput()
	m := perfSummary.FindAllStringSubmatch(string(out), -1)
	if err != nil || len(m) == 0 {
		tail := string(out)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return Limit{}, fmt.Errorf("ProducerPerformance: %v: %s", err, tail)
	}
	last := m[len(m)-1]
	recs, _ := strconv.ParseInt(last[1], 10, 64)
	rate, _ := strconv.ParseFloat(last[2], 64)
	p50, _ := strconv.ParseFloat(last[6], 64)
	p99, _ := strconv.ParseFloat(last[8], 64)
	how := fmt.Sprintf("ProducerPerformance, %d records of %d bytes, acks=all, throughput %d", n, size, throughput)
	if throughput < 0 {
		how = fmt.Sprintf("ProducerPerformance, %d records of %d bytes, acks=all, as fast as it can", n, size)
	}
	return Limit{Rate: rate, P50ms: &p50, P99ms: &p99, Records: recs, How: how, Paced: throughput > 0}, nil
}

func msp(d time.Duration) *float64 {
	v := float64(d.Microseconds()) / 1000
	return &v
}

// warmBroker writes 1 KiB records through 64 sync loops for d on a topic
// of its own: a freshly started broker's JIT needs load before it runs at
// its speed, and the phases (the channel first, then the bare limits)
// must not be measured on a broker that gets faster during the run.
func warmBroker(d time.Duration) {
	if d <= 0 {
		return
	}
	topic := fmt.Sprintf("report-warmup-%d", time.Now().UnixNano())
	if err := createTopic(brokers, topic, 3); err != nil {
		logf("report: warm-up: %v", err)
		return
	}
	logf("report: warming the broker up for %s", d)
	s := &sample{Key: make([]byte, 36), Value: make([]byte, 1024)}
	r := bareSync(brokers, topic, s, 64, d)
	logf("report: warm-up: %.0f records/s", r.Rate)
}
