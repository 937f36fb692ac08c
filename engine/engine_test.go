package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/engine"
	tu "github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/petition"
	"github.com/court12368/petitiond/router"
	"github.com/court12368/petitiond/schema"
)

func newEngine(t *testing.T, p *tu.FakeProducer, maxInFlight int, routes string) (*engine.Engine, *engine.Metrics) {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte("kafka: {brokers: [x]}\nroutes:\n"+routes), channels.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	rules, err := router.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := engine.NewMetrics(prometheus.NewRegistry(), p.Healthy)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return engine.New(log, &normalize.Normalizer{}, rules, p, m, maxInFlight), m
}

const routes = `  default_topic: intake
  dead_letter_topic: dead
  rules:
    - {name: pri, when: 'subject == "urgent"', topic: priority}
`

func item(src, content string, out chan<- channels.Outcome) *channels.Item {
	return &channels.Item{
		SourceID: src, Kind: "fields", ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Fields: map[petition.Field]string{"content": content, "subject": "s"},
		Ack:    func(o channels.Outcome) { out <- o },
	}
}

func TestAckOnlyAfterKafka(t *testing.T) {
	p := holdProducer()
	e, _ := newEngine(t, p, 10, routes)
	sink := e.Sink("web-a", "web")
	out := make(chan channels.Outcome, 1)
	if err := sink.Submit(context.Background(), item("k1", "请求立案", out)); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-out:
		t.Fatalf("acked before Kafka acknowledged: %+v", o)
	default:
	}
	p.Release(nil)
	o := <-out
	if o.Err != nil || len(o.Records) != 1 {
		t.Fatalf("outcome = %+v, want one record", o)
	}
	if o.Records[0].ID != petition.ID("web-a", "k1") {
		t.Errorf("id = %s, want the UUIDv5 of channel and source id", o.Records[0].ID)
	}
	if len(p.Messages()) != 1 || p.Messages()[0].Topic != "intake" || string(p.Messages()[0].Key) != o.Records[0].ID {
		t.Fatalf("produced %+v", p.Messages())
	}
	tu.ValidatePetition(t, p.Messages()[0].Value)
	hdr := map[string]string{}
	for _, h := range p.Messages()[0].Headers {
		hdr[h.Key] = string(h.Value)
	}
	for _, k := range []string{"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_dataschema", "content-type"} {
		if hdr[k] == "" {
			t.Errorf("header %s missing", k)
		}
	}
	if hdr["ce_id"] != o.Records[0].ID {
		t.Errorf("ce_id = %s, want %s", hdr["ce_id"], o.Records[0].ID)
	}
	if hdr["ce_dataschema"] != schema.PetitionV1ID {
		t.Errorf("ce_dataschema = %s, want the petition schema's $id %s", hdr["ce_dataschema"], schema.PetitionV1ID)
	}
}

func TestKafkaFailureIsAnError(t *testing.T) {
	p := failProducer(errors.New("broker down"))
	e, m := newEngine(t, p, 10, routes)
	out := make(chan channels.Outcome, 1)
	if err := e.Sink("w", "web").Submit(context.Background(), item("k", "x", out)); err != nil {
		t.Fatal(err)
	}
	if o := <-out; o.Err == nil {
		t.Errorf("outcome = %+v, want an error so the source keeps the item", o)
	}
	if got := testutil.ToFloat64(m.Failed.WithLabelValues("w")); got != 1 {
		t.Errorf("failed counter = %v, want 1", got)
	}
}

func TestUnhealthyRefusesFast(t *testing.T) {
	p := unhealthyProducer()
	e, _ := newEngine(t, p, 10, routes)
	err := e.Sink("w", "web").Submit(context.Background(), item("k", "x", make(chan channels.Outcome, 1)))
	if !errors.Is(err, channels.ErrUnavailable) {
		t.Errorf("Submit = %v, want ErrUnavailable", err)
	}
}

func TestBackpressure(t *testing.T) {
	p := holdProducer()
	e, _ := newEngine(t, p, 2, routes)
	s := e.Sink("w", "web")
	out := make(chan channels.Outcome, 3)
	for i := 0; i < 2; i++ {
		if err := s.Submit(context.Background(), item(string(rune('a'+i)), "x", out)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.TrySubmit(context.Background(), item("c", "x", out), 0); !errors.Is(err, channels.ErrUnavailable) {
		t.Fatalf("third TrySubmit = %v, want ErrUnavailable (bound 2)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Submit(ctx, item("c", "x", out)); !errors.Is(err, context.Canceled) {
		t.Fatalf("blocked Submit = %v, want context.Canceled", err)
	}
	if e.InFlight() != 2 {
		t.Errorf("InFlight = %d, want 2", e.InFlight())
	}
	p.Release(nil)
	<-out
	<-out
	if err := e.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.InFlight() != 0 {
		t.Errorf("InFlight after drain = %d", e.InFlight())
	}
}

func TestInvalidRejectedOrDeadLettered(t *testing.T) {
	p := tu.NewFakeProducer()
	e, m := newEngine(t, p, 10, routes)
	s := e.Sink("w", "web")
	out := make(chan channels.Outcome, 1)

	it := item("k", "", out) // empty content
	it.RejectInvalid = true
	if err := s.Submit(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	o := <-out
	if o.Invalid == nil || o.Invalid.Field != "content" || len(p.Messages()) != 0 {
		t.Fatalf("outcome = %+v, produced %d; want Invalid naming content and nothing produced", o, len(p.Messages()))
	}

	it = item("k2", "", out)
	it.Original.SHA256 = "ab"
	if err := s.Submit(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	o = <-out
	if !o.DeadLettered || o.Err != nil {
		t.Fatalf("outcome = %+v, want dead-lettered", o)
	}
	if len(p.Messages()) != 1 || p.Messages()[0].Topic != "dead" {
		t.Fatalf("produced %+v, want one dead-letter record", p.Messages())
	}
	var dl map[string]any
	json.Unmarshal(p.Messages()[0].Value, &dl)
	if dl["stage"] != "normalize" || dl["schema"] != "petition.deadletter.v1" {
		t.Errorf("dead letter = %v", dl)
	}
	tu.ValidateDeadLetter(t, p.Messages()[0].Value)
	hdr := map[string]string{}
	for _, h := range p.Messages()[0].Headers {
		hdr[h.Key] = string(h.Value)
	}
	if hdr["ce_dataschema"] != schema.DeadLetterV1ID || hdr["ce_type"] != "cn.court.petition.deadletter.v1" {
		t.Errorf("ce_dataschema = %q, ce_type = %q, want the dead-letter schema's $id %s", hdr["ce_dataschema"], hdr["ce_type"], schema.DeadLetterV1ID)
	}
	if got := testutil.ToFloat64(m.DeadLettered.WithLabelValues("w", "normalize")); got != 1 {
		t.Errorf("dead-lettered counter = %v", got)
	}
}

func TestRouteRule(t *testing.T) {
	p := tu.NewFakeProducer()
	e, _ := newEngine(t, p, 10, routes)
	out := make(chan channels.Outcome, 1)
	it := item("k", "x", out)
	it.Fields["subject"] = "urgent"
	e.Sink("w", "web").Submit(context.Background(), it)
	<-out
	if len(p.Messages()) != 1 || p.Messages()[0].Topic != "priority" {
		t.Errorf("produced to %v, want priority", p.Messages())
	}
}

// panicNormalizer proves a panic in normalization is contained.
func TestNormalizerPanicIsDeadLettered(t *testing.T) {
	p := tu.NewFakeProducer()
	e, _ := newEngine(t, p, 10, routes)
	e.SetNormalizer(&normalize.Normalizer{Enrich: func(*petition.Petition, *channels.Item) { panic("boom") }})
	out := make(chan channels.Outcome, 1)
	e.Sink("w", "web").Submit(context.Background(), item("k", "x", out))
	if o := <-out; !o.DeadLettered {
		t.Errorf("outcome = %+v, want dead-lettered", o)
	}
}

func holdProducer() *tu.FakeProducer {
	p := tu.NewFakeProducer()
	p.Hold = true
	return p
}

func failProducer(err error) *tu.FakeProducer {
	p := tu.NewFakeProducer()
	p.Set(true, err)
	return p
}

func unhealthyProducer() *tu.FakeProducer {
	p := tu.NewFakeProducer()
	p.Set(false, nil)
	return p
}

// TestOneItemSeveralRecords: a rule with continue sends the record to two
// topics; the item is acked once, after both.
func TestOneItemSeveralRecords(t *testing.T) {
	p := holdProducer()
	e, _ := newEngine(t, p, 10, `  default_topic: intake
  dead_letter_topic: dead
  rules:
    - {name: all, when: 'true', topic: archive, continue: true}
    - {name: pri, when: 'subject == "s"', topic: priority}
`)
	out := make(chan channels.Outcome, 2)
	if err := e.Sink("w", "web").Submit(context.Background(), item("k", "x", out)); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-out:
		t.Fatalf("acked before Kafka: %+v", o)
	default:
	}
	p.Release(nil)
	o := <-out
	if o.Err != nil || len(o.Records) != 2 || o.Records[0].Topic != "archive" || o.Records[1].Topic != "priority" {
		t.Fatalf("outcome = %+v, want two records (archive, priority)", o)
	}
	select {
	case o := <-out:
		t.Fatalf("acked twice: %+v", o)
	default:
	}
}

// TestTransientNormalizeFailureIsRetried: a failure that is not the input's
// fault (blob store) leaves the item with its source instead of
// dead-lettering it.
func TestTransientNormalizeFailureIsRetried(t *testing.T) {
	p := tu.NewFakeProducer()
	e, _ := newEngine(t, p, 10, routes)
	ds := normalize.NewDecoders()
	ds.Register("test-stored", func(*normalize.Normalizer, petition.ChannelRef, *channels.Item) (*petition.Petition, error) {
		return nil, normalize.Transient(errors.New("disk full"))
	})
	e.SetNormalizer(&normalize.Normalizer{Decoders: ds})
	out := make(chan channels.Outcome, 1)
	it := item("k", "x", out)
	it.Kind = "test-stored"
	e.Sink("m", "imap").Submit(context.Background(), it)
	if o := <-out; o.Err == nil || o.DeadLettered {
		t.Errorf("outcome = %+v, want an error (retry), not a dead letter", o)
	}
	if n := len(p.Messages()); n != 0 {
		t.Errorf("%d records produced, want none", n)
	}
}

// A rule that sets key marks its records Keyed (murmur2 over all
// partitions); records keyed by the petition id are not. The record key is
// the rule's key or the id either way.
func TestKeyedBitReachesProducer(t *testing.T) {
	p := tu.NewFakeProducer()
	e, _ := newEngine(t, p, 10, `  default_topic: intake
  dead_letter_topic: dead
  rules:
    - {name: bysubject, when: 'subject == "k"', topic: lane, key: 'subject'}
`)
	sink := e.Sink("web-a", "web")
	out := make(chan channels.Outcome, 2)
	it := item("k1", "请求立案", out)
	if err := sink.Submit(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	<-out
	it = item("k2", "请求立案", out)
	it.Fields["subject"] = "k"
	if err := sink.Submit(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	<-out
	ms := p.Messages()
	if len(ms) != 2 {
		t.Fatalf("produced %d messages", len(ms))
	}
	if ms[0].Topic != "intake" || ms[0].Keyed || string(ms[0].Key) != petition.ID("web-a", "k1") {
		t.Errorf("default route: %s key %q keyed %v", ms[0].Topic, ms[0].Key, ms[0].Keyed)
	}
	if ms[1].Topic != "lane" || !ms[1].Keyed || string(ms[1].Key) != "k" {
		t.Errorf("keyed rule: %s key %q keyed %v", ms[1].Topic, ms[1].Key, ms[1].Keyed)
	}
}
