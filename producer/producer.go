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
	Topic string
	Key   []byte
	// Keyed says that a routing rule chose Key: the record goes to the
	// partition murmur2 of Key names (as Java clients would choose) and
	// waits there while it has no leader. Without it Key is the petition
	// id, and with kafka.partitioning healthy the record may go to any
	// partition with a live leader. The record's key is Key either way.
	Keyed   bool
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
	w      *kafka.Writer
	client *kafka.Client
	log    *slog.Logger
	sec    *Security
	// transport is shared by the writer and the client; the probe uses a
	// fresh one with the same settings each time, because a transport
	// answers metadata requests from a cache refreshed every MetadataTTL.
	transport    *kafka.Transport
	newTransport func() *kafka.Transport
	brokers      []string
	// healthy is false once Kafka failed to answer (intake is refused);
	// ready is true once it answered and until it fails (readiness).
	healthy atomic.Bool
	ready   atomic.Bool
	probe   string // topic used by the health probe: it must exist
	// probeAll are the topics whose leaders the probe checks.
	probeAll atomic.Pointer[[]string]
	kick     chan struct{}
	// parts is which partitions have a live leader, for the balancer.
	parts        *partitionHealth
	partitioning string
	// topics is closed when the first topic creation attempt is over;
	// Produce waits for it (bounded) so the first records do not race it.
	topics       atomic.Pointer[chan struct{}]
	writeTimeout time.Duration

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

// NewKafkaProducer builds the writer, the admin client and the probe on one
// transport, with the TLS and SASL settings of kc. It reads the certificate
// files and does no network I/O.
func NewKafkaProducer(kc config.Kafka, brokers []string, probeTopic string, log *slog.Logger) (*KafkaProducer, error) {
	sec, err := NewSecurity(kc)
	if err != nil {
		return nil, err
	}
	newTransport := func() *kafka.Transport {
		return &kafka.Transport{
			ClientID:    kc.ClientID,
			DialTimeout: 5 * time.Second,
			IdleTimeout: 5 * time.Minute,
			MetadataTTL: 10 * time.Second,
			Dial:        (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLS:         sec.TLS,
			SASL:        sec.SASL,
		}
	}
	transport := newTransport()
	parts := newPartitionHealth()
	p := &KafkaProducer{
		parts:        parts,
		partitioning: kc.Partitioning,
		transport:    transport,
		newTransport: newTransport,
		log:          log,
		sec:          sec,
		brokers:      brokers,
		probe:        probeTopic,
		stop:         make(chan struct{}),
		kick:         make(chan struct{}, 1),
		writeTimeout: kc.WriteTimeout.D(),
		client: &kafka.Client{
			Addr:      kafka.TCP(brokers...),
			Timeout:   5 * time.Second,
			Transport: transport,
		},
	}
	p.w = &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Balancer:               newBalancer(kc.Partitioning, parts),
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
		Transport:              &watchTransport{next: transport, health: parts},
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
	// A partition found without a leader by a produce: probe (metadata)
	// at once rather than in up to 5 s.
	parts.onMark = p.kickProbe
	// Optimistic until the first probe: intake is not refused for a
	// broker that was never tried, but /readyz waits for an answer.
	p.healthy.Store(true)
	return p, nil
}

// ProbeTopics makes the probe check that the leaders of these topics
// serve (the route topics), besides the probe topic's existence.
func (p *KafkaProducer) ProbeTopics(topics []string) {
	all := append([]string{p.probe}, topics...)
	p.probeAll.Store(&all)
}

// HoldForTopics makes Produce wait (at most the write timeout) until
// TopicsAttempted is called, so that records produced right after the start
// do not race the creation of their topics.
func (p *KafkaProducer) HoldForTopics() {
	ch := make(chan struct{})
	p.topics.Store(&ch)
}

// waitForTopics waits while HoldForTopics holds, at most the write timeout
// and not once Kafka is found unreachable.
func (p *KafkaProducer) waitForTopics() {
	ch := p.topics.Load()
	if ch == nil {
		return
	}
	deadline := time.NewTimer(p.writeTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for p.healthy.Load() {
		select {
		case <-*ch:
			return
		case <-deadline.C:
			return
		case <-p.stop:
			return
		case <-tick.C:
		}
	}
}

// TopicsAttempted releases Produce calls held by HoldForTopics.
func (p *KafkaProducer) TopicsAttempted() {
	if ch := p.topics.Swap(nil); ch != nil {
		close(*ch)
	}
}

func (p *KafkaProducer) completion(msgs []kafka.Message, err error) {
	if err != nil && p.partitioning != PartitionKey && leaderTrouble(err) {
		// One partition's leader failed the batch: the balancer already
		// avoids it, so do not refuse all intake for it. The probe, run
		// now, tells whether the cluster is away.
		p.kickProbe()
	} else {
		p.noteResult(err)
	}
	// Messages of one Produce call may land in several partitions and
	// therefore several completions: count them down per tracker.
	var last *tracker
	n := 0
	for i := range msgs {
		t := msgs[i].WriterData.(*writerData).t
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
		p.ready.Store(true)
	case errors.As(err, &ke) && ke != kafka.LeaderNotAvailable && ke != kafka.NotLeaderForPartition && ke != kafka.RequestTimedOut && ke != kafka.BrokerNotAvailable &&
		ke != kafka.SASLAuthenticationFailed && ke != kafka.UnsupportedSASLMechanism && ke != kafka.IllegalSASLState:
		// a per-topic or per-request error: the cluster answered
	default:
		if p.healthy.Swap(false) {
			p.ready.Store(false)
			// Probe again soon: the broker may be back at once.
			p.kickProbe()
		}
		p.ready.Store(false)
	}
}

// kickProbe makes the probe run now rather than at its next tick.
func (p *KafkaProducer) kickProbe() {
	select {
	case p.kick <- struct{}{}:
	default:
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
	p.waitForTopics()
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed.Load() {
		done(ErrClosed)
		return
	}
	t := &tracker{done: done}
	t.left.Store(int32(len(msgs)))
	km := make([]kafka.Message, len(msgs))
	wd := make([]writerData, len(msgs))
	for i, m := range msgs {
		wd[i] = writerData{t: t, keyed: m.Keyed}
		km[i] = kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: m.Headers, WriterData: &wd[i]}
	}
	// In async mode WriteMessages only looks up partitions (metadata) and
	// enqueues; an error here means nothing was enqueued.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.w.WriteMessages(ctx, km...); err != nil {
		err = p.sec.Describe(p.brokers, err)
		p.noteResult(err)
		done(fmt.Errorf("kafka: %w", err))
	}
}

// Healthy implements Producer: false once Kafka failed to answer, so that
// intake is refused at once instead of piling up.
func (p *KafkaProducer) Healthy() bool { return p.healthy.Load() }

// Ready reports whether Kafka answered (a probe or a produce) and has not
// failed since: what /readyz and petitiond_kafka_up say.
func (p *KafkaProducer) Ready() bool { return p.ready.Load() && p.healthy.Load() }

// Start runs the health probe until Close: at once, then every 5 s while
// Kafka answers and every 0.5 s while it does not.
func (p *KafkaProducer) Start() {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		first := true
		for {
			err := p.Ping(context.Background())
			ok := err == nil
			p.ready.Store(ok)
			var was bool
			if errors.Is(err, errNotServing) {
				// Neither up nor down: intake stays as it was.
				was = p.healthy.Load()
			} else {
				was = p.healthy.Swap(ok)
			}
			switch {
			case errors.Is(err, errNotServing):
			case !ok && (was || first):
				var se *SecurityError
				if errors.As(err, &se) {
					p.log.Error("kafka refused the connection: fix the kafka.tls / kafka.sasl settings or the broker", "err", err)
				} else {
					p.log.Warn("kafka unreachable", "err", err)
				}
			case ok && !was:
				// The shared transport may still hold the outage in its
				// metadata cache for up to MetadataTTL: start it afresh.
				p.transport.CloseIdleConnections()
				p.log.Info("kafka reachable again")
			}
			first = false
			wait := 5 * time.Second
			if !ok {
				wait = 500 * time.Millisecond
			}
			t := time.NewTimer(wait)
			select {
			case <-p.stop:
				t.Stop()
				return
			case <-p.kick:
			case <-t.C:
			}
			t.Stop()
		}
	}()
}

// Ping asks the cluster for the probe topic's metadata over a new
// connection (with the producer's TLS and SASL settings).
func (p *KafkaProducer) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	t := p.newTransport()
	defer t.CloseIdleConnections()
	cl := &kafka.Client{Addr: p.client.Addr, Timeout: 3 * time.Second, Transport: t}
	topics := []string{p.probe}
	if all := p.probeAll.Load(); all != nil {
		topics = *all
	}
	res, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return p.sec.Describe(p.brokers, err)
	}
	// Which partitions have no leader, for the balancer.
	p.parts.fromMetadata(res)
	if len(res.Brokers) == 0 {
		return errors.New("no brokers in metadata")
	}
	served := res.Topics[:0:0]
	for _, t := range res.Topics {
		switch {
		case errors.Is(t.Error, kafka.UnknownTopicOrPartition) && p.topics.Load() != nil:
			return errNotServing // the cluster answered; the topic is being created
		case errors.Is(t.Error, kafka.UnknownTopicOrPartition) && t.Name != p.probe:
			continue // a route topic only its records need
		case errors.Is(t.Error, kafka.LeaderNotAvailable):
			return errNotServing
		case t.Error != nil:
			return fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
		served = append(served, t)
	}
	res.Topics = served
	// Right after a broker (re)start the metadata may name leaders that do
	// not serve their partitions yet: not ready before they do. With
	// partitioning healthy one serving partition per topic is enough: the
	// balancer sends records keyed by their id to it.
	if p.partitioning == PartitionKey {
		if !leadersReady(res) || !leadersServe(ctx, cl, res) {
			return errNotServing
		}
		return nil
	}
	if !p.someLeadersServe(ctx, cl, res) {
		return errNotServing
	}
	return nil
}

// someLeadersServe reports whether every topic has a partition whose leader
// serves (answers for its end offset). Partitions whose leader does not
// answer for them (an error, or a leader that cannot be reached) are
// avoided by the balancer for a while.
func (p *KafkaProducer) someLeadersServe(ctx context.Context, cl *kafka.Client, md *kafka.MetadataResponse) bool {
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, t := range md.Topics {
		if t.Error != nil {
			return false
		}
		for _, pt := range t.Partitions {
			if pt.Error == nil && pt.Leader.Host != "" {
				req.Topics[t.Name] = append(req.Topics[t.Name], kafka.LastOffsetOf(pt.ID))
			}
		}
		if len(req.Topics[t.Name]) == 0 {
			return false
		}
	}
	res, err := cl.ListOffsets(ctx, req)
	if err != nil {
		return false
	}
	for _, t := range md.Topics {
		served := false
		for _, po := range res.Topics[t.Name] {
			if po.Error == nil {
				served = true
			} else {
				// kafka-go reports a leader it could not reach
				// as UNKNOWN for each of its partitions.
				p.parts.hold(t.Name, po.Partition)
			}
		}
		if !served {
			return false
		}
	}
	return true
}

// errNotServing is the probe's answer when the cluster answered but the
// probe topic is still being created or its leaders do not serve yet:
// not ready, but not a reason to refuse intake on its own.
var errNotServing = errors.New("kafka answered, but the probe topic is not served yet")

// EnsureTopics creates missing topics.
func (p *KafkaProducer) EnsureTopics(ctx context.Context, topics []string, partitions, replication int) error {
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: replication})
	}
	res, err := p.client.CreateTopics(ctx, req)
	if errors.Is(err, kafka.BrokerNotAvailable) {
		// kafka-go's client says only this when it could not connect:
		// the probe tells why (TLS, SASL, refused).
		if perr := p.Ping(ctx); perr != nil {
			err = perr
		}
	}
	if err != nil {
		return fmt.Errorf("create topics: %w", p.sec.Describe(p.brokers, err))
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
		if err == nil && leadersReady(md) && leadersServe(ctx, p.client, md) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for topic leaders: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// leadersServe asks every partition's leader for its end offset: right
// after creation the metadata may name a leader that does not serve the
// partition yet, and a record produced then fails with Not Leader For
// Partition.
func leadersServe(ctx context.Context, cl *kafka.Client, md *kafka.MetadataResponse) bool {
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, t := range md.Topics {
		for _, pt := range t.Partitions {
			req.Topics[t.Name] = append(req.Topics[t.Name], kafka.LastOffsetOf(pt.ID))
		}
	}
	res, err := cl.ListOffsets(ctx, req)
	if err != nil {
		return false
	}
	for _, ps := range res.Topics {
		for _, po := range ps {
			if po.Error != nil {
				return false
			}
		}
	}
	return true
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
