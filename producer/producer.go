// Package producer writes records to Kafka: a kafka-go Writer with
// acks=all, asynchronous completions reported once per caller batch, topic
// creation and a health probe. Routing (which topic, which key) is the
// router package's.
package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"

	"github.com/court12368/petitiond/config"
)

// Message is one record to produce.
type Message struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers []kafka.Header
}

// Producer writes messages to Kafka asynchronously and reports each batch
// of a caller's messages once, when all are acknowledged (acks=all) or one
// failed.
type Producer interface {
	// Produce sends msgs; done is called exactly once, from another
	// goroutine, with nil when Kafka acknowledged all of them.
	Produce(msgs []Message, done func(error))
	// Healthy reports whether Kafka answered recently.
	Healthy() bool
	// Close flushes and waits for outstanding completions.
	Close() error
}

// KafkaProducer is a Producer on a kafka-go Writer.
type KafkaProducer struct {
	w       *kafka.Writer
	client  *kafka.Client
	log     *slog.Logger
	healthy atomic.Bool
	probe   string // topic used by the health probe

	stop   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool
	// mu keeps Close from running while a Produce is inside WriteMessages:
	// a partition writer created after kafka-go's Close would never be
	// closed, and Close would wait for it forever.
	mu sync.RWMutex
}

// tracker completes one Produce call.
type tracker struct {
	left atomic.Int32
	err  atomic.Pointer[error]
	done func(error)
}

func (t *tracker) finish(n int, err error) {
	if err != nil {
		t.err.CompareAndSwap(nil, &err)
	}
	if t.left.Add(int32(-n)) == 0 {
		var e error
		if p := t.err.Load(); p != nil {
			e = *p
		}
		t.done(e)
	}
}

// NewKafkaProducer builds the writer. It does no I/O.
func NewKafkaProducer(kc config.Kafka, brokers []string, probeTopic string, log *slog.Logger) *KafkaProducer {
	transport := &kafka.Transport{
		ClientID:    kc.ClientID,
		DialTimeout: 5 * time.Second,
		IdleTimeout: 5 * time.Minute,
		MetadataTTL: 10 * time.Second,
		Dial:        (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	p := &KafkaProducer{
		log:   log,
		probe: probeTopic,
		stop:  make(chan struct{}),
		client: &kafka.Client{
			Addr:      kafka.TCP(brokers...),
			Timeout:   5 * time.Second,
			Transport: transport,
		},
	}
	p.w = &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Balancer:               &kafka.Murmur2Balancer{}, // same partition for a key as Java clients
		MaxAttempts:            kc.MaxAttempts,
		WriteBackoffMin:        100 * time.Millisecond,
		WriteBackoffMax:        time.Second,
		BatchSize:              kc.BatchSize,
		BatchBytes:             1 << 20,
		BatchTimeout:           kc.BatchTimeout.D(),
		ReadTimeout:            kc.WriteTimeout.D(),
		WriteTimeout:           kc.WriteTimeout.D(),
		RequiredAcks:           kafka.RequireAll,
		Async:                  true,
		AllowAutoTopicCreation: false,
		Transport:              transport,
		Completion:             p.completion,
	}
	switch kc.Compression {
	case "gzip":
		p.w.Compression = compress.Gzip
	case "snappy":
		p.w.Compression = compress.Snappy
	case "lz4":
		p.w.Compression = compress.Lz4
	case "zstd":
		p.w.Compression = compress.Zstd
	}
	p.healthy.Store(true)
	return p
}

func (p *KafkaProducer) completion(msgs []kafka.Message, err error) {
	p.noteResult(err)
	// Messages of one Produce call may land in several partitions and
	// therefore several completions: count them down per tracker.
	var last *tracker
	n := 0
	for i := range msgs {
		t := msgs[i].WriterData.(*tracker)
		if t != last && last != nil {
			last.finish(n, err)
			n = 0
		}
		last = t
		n++
	}
	if last != nil {
		last.finish(n, err)
	}
}

// noteResult updates health from a produce result. Only failures to reach
// the cluster make it unhealthy; an error about one topic (say a missing
// one) must not make every channel refuse work.
func (p *KafkaProducer) noteResult(err error) {
	var ke kafka.Error
	switch {
	case err == nil:
		p.healthy.Store(true)
	case errors.As(err, &ke) && ke != kafka.LeaderNotAvailable && ke != kafka.NotLeaderForPartition && ke != kafka.RequestTimedOut && ke != kafka.BrokerNotAvailable:
		// a per-topic or per-request error: the cluster answered
	default:
		p.healthy.Store(false)
	}
}

// ErrClosed is returned for messages produced after Close.
var ErrClosed = errors.New("producer closed")

// Produce implements Producer.
func (p *KafkaProducer) Produce(msgs []Message, done func(error)) {
	if len(msgs) == 0 {
		done(nil)
		return
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed.Load() {
		done(ErrClosed)
		return
	}
	t := &tracker{done: done}
	t.left.Store(int32(len(msgs)))
	km := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		km[i] = kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: m.Headers, WriterData: t}
	}
	// In async mode WriteMessages only looks up partitions (metadata) and
	// enqueues; an error here means nothing was enqueued.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.w.WriteMessages(ctx, km...); err != nil {
		p.noteResult(err)
		done(fmt.Errorf("kafka: %w", err))
	}
}

// Healthy implements Producer.
func (p *KafkaProducer) Healthy() bool { return p.healthy.Load() }

// Start runs the health probe until Close.
func (p *KafkaProducer) Start() {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			wait := 5 * time.Second
			if !p.healthy.Load() {
				wait = 500 * time.Millisecond
			}
			select {
			case <-p.stop:
				return
			case <-time.After(wait):
			}
			err := p.Ping(context.Background())
			was := p.healthy.Swap(err == nil)
			if was != (err == nil) {
				if err != nil {
					p.log.Warn("kafka unreachable", "err", err)
				} else {
					p.log.Info("kafka reachable again")
				}
			}
		}
	}()
}

// Ping asks the cluster for the probe topic's metadata.
func (p *KafkaProducer) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	res, err := p.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{p.probe}})
	if err != nil {
		return err
	}
	if len(res.Brokers) == 0 {
		return errors.New("no brokers in metadata")
	}
	for _, t := range res.Topics {
		if t.Error != nil {
			return fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
	}
	return nil
}

// EnsureTopics creates missing topics.
func (p *KafkaProducer) EnsureTopics(ctx context.Context, topics []string, partitions, replication int) error {
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: replication})
	}
	res, err := p.client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	created := false
	for t, e := range res.Errors {
		if e != nil && !errors.Is(e, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", t, e)
		}
		created = created || e == nil
	}
	if !created {
		return nil
	}
	// A new topic's partitions get leaders a moment later; producing
	// before that fails with NotLeaderForPartition. Wait for them.
	for {
		md, err := p.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		if err == nil && leadersReady(md) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for topic leaders: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func leadersReady(md *kafka.MetadataResponse) bool {
	for _, t := range md.Topics {
		if t.Error != nil || len(t.Partitions) == 0 {
			return false
		}
		for _, p := range t.Partitions {
			if p.Error != nil || p.Leader.Host == "" {
				return false
			}
		}
	}
	return true
}

// Close implements Producer: it flushes pending batches and waits for their
// completions.
func (p *KafkaProducer) Close() error {
	p.mu.Lock()
	already := p.closed.Swap(true)
	p.mu.Unlock()
	if already {
		return nil
	}
	close(p.stop)
	p.wg.Wait()
	return p.w.Close()
}
