// Package engine runs the pipeline: items from channels are normalized,
// routed and produced, and each item's Ack is called once every record made
// from it is acknowledged by Kafka or has gone to the dead-letter topic.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/petition"
	"github.com/court12368/petitiond/producer"
	"github.com/court12368/petitiond/router"
	"github.com/court12368/petitiond/schema"
)

// MaxRecordBytes bounds a record value; larger ones are dead-lettered
// (originals live in the blob store, so records stay small).
const MaxRecordBytes = 900 << 10

// Engine is the shared pipeline of all channels.
type Engine struct {
	log     *slog.Logger
	norm    atomic.Pointer[normalize.Normalizer]
	rules   atomic.Pointer[router.Rules]
	prod    producer.Producer
	metrics *Metrics
	now     func() time.Time

	slots     chan struct{} // in-flight bound
	inflight  sync.WaitGroup
	accepting atomic.Bool
	refs      Referencer
}

// Referencer records the blobs a record about to be produced references
// (blob.Dir.Reference), so that blob garbage collection keeps them.
type Referencer interface {
	Reference(sha256s ...string) error
}

// laterReferencer can write references before an item's blobs are stored
// and wait for their durability after (blob.Dir.ReferenceLater): the
// blobs' group commit then covers the references too — one fsync wait per
// web petition instead of two.
type laterReferencer interface {
	ReferenceLater(sha256s ...string) (func() error, error)
}

// SetReferencer makes the engine record every item's blobs before it
// produces anything made from it. Call it before the first item.
func (e *Engine) SetReferencer(r Referencer) { e.refs = r }

// accept promotes an item's staged blobs and records the blobs its records
// reference, before they are produced.
func (e *Engine) accept(it *channels.Item, pets []*petition.Petition) error {
	var wait func() error
	if e.refs != nil {
		sums := []string{it.Original.SHA256}
		for _, p := range pets {
			sums = append(sums, p.Source.Original.SHA256)
			for _, a := range p.Attachments {
				sums = append(sums, a.SHA256)
			}
		}
		var err error
		if lr, ok := e.refs.(laterReferencer); ok && it.Promote != nil {
			wait, err = lr.ReferenceLater(sums...)
		} else {
			err = e.refs.Reference(sums...)
		}
		if err != nil {
			return fmt.Errorf("recording the item's blobs: %w", err)
		}
	}
	if it.Promote != nil {
		if err := it.Promote(); err != nil {
			return fmt.Errorf("storing the item's blobs: %w", err)
		}
	}
	if wait != nil {
		if err := wait(); err != nil {
			return fmt.Errorf("recording the item's blobs: %w", err)
		}
	}
	return nil
}

// New returns an engine accepting items.
func New(log *slog.Logger, norm *normalize.Normalizer, rules *router.Rules, prod producer.Producer, m *Metrics, maxInFlight int) *Engine {
	e := &Engine{log: log, prod: prod, metrics: m, now: time.Now, slots: make(chan struct{}, maxInFlight)}
	e.norm.Store(norm)
	e.rules.Store(rules)
	e.accepting.Store(true)
	return e
}

// SetRules swaps the routing rules (on reload).
func (e *Engine) SetRules(r *router.Rules) { e.rules.Store(r) }

// SetNormalizer swaps the normalizer (on reload).
func (e *Engine) SetNormalizer(n *normalize.Normalizer) { e.norm.Store(n) }

// Healthy reports whether Kafka is believed reachable.
func (e *Engine) Healthy() bool { return e.prod.Healthy() }

// Sink returns the sink of one channel instance.
func (e *Engine) Sink(name, typ string) channels.Sink {
	return &sink{e: e, ch: petition.ChannelRef{Name: name, Type: typ}, m: e.metrics.forChannel(name, typ), source: []byte("petitiond/" + name)}
}

// StopIntake makes every later Submit fail with ErrUnavailable.
func (e *Engine) StopIntake() { e.accepting.Store(false) }

// Drain waits until every accepted item is acknowledged or ctx is done.
func (e *Engine) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() { e.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain: %d items still in flight: %w", len(e.slots), ctx.Err())
	}
}

// InFlight returns the number of items taken and not yet acknowledged.
func (e *Engine) InFlight() int { return len(e.slots) }

type sink struct {
	e  *Engine
	ch petition.ChannelRef
	m  *chanMetrics
	// source is the ce_source header value of the channel's records.
	source []byte
}

func (s *sink) Healthy() bool { return s.e.prod.Healthy() && s.e.accepting.Load() }

func (s *sink) Reject(reason string) { s.e.metrics.Rejected.WithLabelValues(s.ch.Name, reason).Inc() }

func (s *sink) Submit(ctx context.Context, it *channels.Item) error {
	return s.submit(ctx, it, -1)
}

func (s *sink) TrySubmit(ctx context.Context, it *channels.Item, wait time.Duration) error {
	return s.submit(ctx, it, wait)
}

func (s *sink) submit(ctx context.Context, it *channels.Item, wait time.Duration) error {
	e := s.e
	if it.Ack == nil {
		return errors.New("engine: item without Ack")
	}
	// Count the item before checking that intake is open, so Drain (which
	// stops intake first) cannot miss an item that slipped in.
	e.inflight.Add(1)
	taken := false
	defer func() {
		if !taken {
			e.inflight.Done()
		}
	}()
	if !e.accepting.Load() {
		e.metrics.Refused.WithLabelValues(s.ch.Name).Inc()
		return fmt.Errorf("%w: shutting down", channels.ErrUnavailable)
	}
	if !e.prod.Healthy() {
		e.metrics.Refused.WithLabelValues(s.ch.Name).Inc()
		return fmt.Errorf("%w: kafka unreachable", channels.ErrUnavailable)
	}
	select {
	case e.slots <- struct{}{}:
	default:
		var timeout <-chan time.Time
		if wait >= 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case e.slots <- struct{}{}:
		case <-timeout:
			e.metrics.Refused.WithLabelValues(s.ch.Name).Inc()
			return fmt.Errorf("%w: too many items in flight", channels.ErrUnavailable)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	taken = true
	s.m.received.Inc()
	s.m.inFlight.Inc()
	e.process(s, it, e.now())
	return nil
}

// finish delivers the outcome exactly once and frees the slot.
func (e *Engine) finish(s *sink, it *channels.Item, start time.Time, out channels.Outcome) {
	ch, m := s.ch, s.m
	switch {
	case out.Err != nil:
		m.failed.Inc()
	case out.Invalid != nil:
		m.invalid.Inc()
	case out.Ignored:
		m.ignored.Inc()
	}
	m.inFlight.Dec()
	m.latency.Observe(time.Since(start).Seconds())
	// The Ack runs before the slot is freed, so Drain returns only after
	// every source has been released; a panicking Ack (channel code, on a
	// producer goroutine) must not take the daemon down.
	func() {
		defer func() {
			if r := recover(); r != nil {
				e.log.Error("ack callback panicked", "channel", ch.Name, "source_ref", it.SourceRef, "panic", fmt.Sprint(r))
			}
		}()
		it.Ack(out)
	}()
	<-e.slots
	e.inflight.Done()
}

func (e *Engine) process(s *sink, it *channels.Item, start time.Time) {
	ch := s.ch
	pets, err := e.normalize(ch, it)
	if errors.Is(err, normalize.ErrNotPetition) {
		e.finish(s, it, start, channels.Outcome{Ignored: true, Reason: err.Error()})
		return
	}
	if errors.Is(err, normalize.ErrTransient) {
		e.log.Warn("item not normalized, left with its source for a retry", "channel", ch.Name, "source_ref", it.SourceRef, "err", err)
		e.finish(s, it, start, channels.Outcome{Err: err})
		return
	}
	var inv *channels.InvalidError
	if err != nil && it.RejectInvalid && errors.As(err, &inv) {
		e.finish(s, it, start, channels.Outcome{Invalid: inv, Reason: inv.Error()})
		return
	}
	if err != nil {
		e.deadLetter(s, it, start, "normalize", err)
		return
	}
	rules := e.rules.Load()
	var msgs []producer.Message
	var produced []channels.Produced
	for _, p := range pets {
		targets, err := rules.Route(p)
		if err != nil {
			e.deadLetter(s, it, start, "route", err)
			return
		}
		value, err := p.AppendJSON(make([]byte, 0, len(p.Subject)+len(p.Content)+1024))
		if err != nil {
			e.deadLetter(s, it, start, "encode", err)
			return
		}
		if len(value) > MaxRecordBytes {
			e.deadLetter(s, it, start, "encode", fmt.Errorf("record of %d bytes exceeds %d", len(value), MaxRecordBytes))
			return
		}
		hdrs := ceHeaders(p.ID, s.ceSource(p.Channel.Name), petitionType, petitionDataSchema, p.IngestedAt)
		for _, t := range targets {
			msgs = append(msgs, producer.Message{Topic: t.Topic, Key: []byte(t.Key), Keyed: t.Keyed, Value: value, Headers: hdrs})
			produced = append(produced, channels.Produced{ID: p.ID, TrackingNo: p.TrackingNo, Topic: t.Topic, ReceivedAt: p.ReceivedAt})
		}
	}
	if err := e.accept(it, pets); err != nil {
		e.log.Error("item not produced: the blob store failed", "channel", ch.Name, "source_ref", it.SourceRef, "err", err)
		e.finish(s, it, start, channels.Outcome{Err: err})
		return
	}
	e.prod.Produce(msgs, func(err error) {
		if err != nil {
			e.finish(s, it, start, channels.Outcome{Err: err})
			return
		}
		for _, p := range produced {
			s.m.produced(p.Topic).Inc()
		}
		if len(produced) > 0 {
			s.m.lastRecord.Set(float64(e.now().UnixMilli()) / 1e3)
		}
		e.norm.Load().Committed(pets)
		e.finish(s, it, start, channels.Outcome{Records: produced})
	})
}

// normalize runs the normalizer, turning a panic into an error: no input
// may take the daemon down.
func (e *Engine) normalize(ch petition.ChannelRef, it *channels.Item) (pets []*petition.Petition, err error) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("normalizer panic", "channel", ch.Name, "source_ref", it.SourceRef, "panic", fmt.Sprint(r))
			err = fmt.Errorf("internal error while normalizing: %v", r)
		}
	}()
	return e.norm.Load().Normalize(ch, it)
}

func (e *Engine) deadLetter(s *sink, it *channels.Item, start time.Time, stage string, cause error) {
	ch := s.ch
	orig := petition.BlobRef{SHA256: it.Original.SHA256, URI: it.Original.URI}
	dl := petition.DeadLetter{
		Schema:   petition.DeadLetterSchema,
		Channel:  ch,
		Source:   petition.Source{ID: it.SourceID, Ref: it.SourceRef, Original: orig},
		Error:    cause.Error(),
		Stage:    stage,
		Original: orig,
		At:       e.now().UTC().Truncate(time.Millisecond),
	}
	if it.SourceID != "" {
		dl.ID = petition.ID(ch.Name, it.SourceID)
	}
	value, _ := json.Marshal(dl)
	if err := e.accept(it, nil); err != nil {
		e.log.Error("item not dead-lettered: the blob store failed", "channel", ch.Name, "source_ref", it.SourceRef, "err", err)
		e.finish(s, it, start, channels.Outcome{Err: err})
		return
	}
	e.log.Warn("dead-lettering item", "channel", ch.Name, "stage", stage, "source_ref", it.SourceRef, "err", cause)
	topic := e.rules.Load().DeadLetterTopic()
	key := dl.ID
	if key == "" {
		key = orig.SHA256
	}
	hdrs := ceHeaders(key, s.ceSource(ch.Name), deadLetterType, deadLetterDataSchema, dl.At)
	e.prod.Produce([]producer.Message{{Topic: topic, Key: []byte(key), Value: value, Headers: hdrs}}, func(err error) {
		if err != nil {
			e.finish(s, it, start, channels.Outcome{Err: fmt.Errorf("dead-letter: %w", err)})
			return
		}
		s.m.vecs.DeadLettered.WithLabelValues(ch.Name, stage).Inc()
		e.finish(s, it, start, channels.Outcome{DeadLettered: true, Reason: stage + ": " + cause.Error()})
	})
}

// The constant header values, made once and shared by every record (the
// producer only reads header values): ce_dataschema is the record schemas'
// $id.
var (
	petitionDataSchema   = []byte(schema.PetitionV1ID)
	deadLetterDataSchema = []byte(schema.DeadLetterV1ID)
	petitionType         = []byte("cn.court.petition.v1")
	deadLetterType       = []byte("cn.court.petition.deadletter.v1")
	ceSpecVersion        = []byte("1.0")
	contentTypeJSON      = []byte("application/json")
)

// ceSource is the ce_source of the sink's channel ("petitiond/<name>"),
// made once; name is the channel a record names (the sink's own).
func (s *sink) ceSource(name string) []byte {
	if name != s.ch.Name {
		return []byte("petitiond/" + name)
	}
	return s.source
}

// ceHeaders are the CloudEvents Kafka binary-binding headers.
func ceHeaders(id string, source, typ, dataschema []byte, at time.Time) []kafka.Header {
	return []kafka.Header{
		{Key: "ce_specversion", Value: ceSpecVersion},
		{Key: "ce_id", Value: []byte(id)},
		{Key: "ce_source", Value: source},
		{Key: "ce_type", Value: typ},
		{Key: "ce_time", Value: at.UTC().AppendFormat(make([]byte, 0, 32), time.RFC3339Nano)},
		{Key: "ce_dataschema", Value: dataschema},
		{Key: "content-type", Value: contentTypeJSON},
	}
}
