// Package consume is the logic of petitiond's reference consumer: it reads
// petition topics in a Kafka consumer group, decodes each record,
// deduplicates by id, hands every new petition (or dead letter) to a
// handler and commits a record's offset only after the handler succeeded.
//
// Delivery is at least once on both sides: petitiond may produce a record
// again with the same id (docs/delivery.md), and this consumer handles a
// record again when it stops between the handler and the commit. The
// handler must therefore be idempotent by id — an upsert keyed by the
// petition id — and Dedupe only keeps the second handling from being
// frequent.
package consume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// Petition is the part of a petition.v1 record the example looks at. The
// record has more (schema/petition.v1.json); a real consumer decodes what
// it needs. Raw is the whole value.
type Petition struct {
	Schema     string `json:"schema"`
	ID         string `json:"id"`
	TrackingNo string `json:"tracking_no"`
	Channel    struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"channel"`
	Category string `json:"category"`
	Priority string `json:"priority"`
}

// DeadLetter is the part of a petition.deadletter.v1 record the example
// looks at.
type DeadLetter struct {
	Schema  string `json:"schema"`
	ID      string `json:"id"`
	Channel struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"channel"`
	Error    string `json:"error"`
	Stage    string `json:"stage"`
	Original struct {
		SHA256 string `json:"sha256"`
		URI    string `json:"uri"`
	} `json:"original"`
}

// Record is one decoded message: exactly one of Petition and DeadLetter is
// set.
type Record struct {
	Topic      string
	Partition  int
	Offset     int64
	Key        string // the dedupe key: the id, "deadletter:" + key for a dead letter
	Petition   *Petition
	DeadLetter *DeadLetter
	Raw        []byte
}

// Handler takes one new record. An error means "not done": the record is
// not committed and is handed over again after a backoff.
type Handler func(ctx context.Context, r Record) error

// Config of Run.
type Config struct {
	Brokers []string
	GroupID string
	Topics  []string
	// Dialer carries TLS and SASL; nil: kafka.DefaultDialer.
	Dialer *kafka.Dialer
	// Dedupe remembers handled ids; nil: a memory-only store of 100,000.
	Dedupe  *Dedupe
	Handler Handler
	Log     *slog.Logger
	// Stats, when not nil, is counted into (for tests and metrics).
	Stats *Stats
	// RetryBackoff is the first wait after a failed handler (doubling to
	// 30 s); 0: 1 s.
	RetryBackoff time.Duration
}

// Stats counts what Run did with the records it read.
type Stats struct {
	Read       atomic.Int64 // records fetched
	Handled    atomic.Int64 // handed to the handler, which succeeded
	Duplicates atomic.Int64 // skipped: the id was already handled
	Undecoded  atomic.Int64 // skipped: not a petition.v1 or deadletter.v1 record
	Committed  atomic.Int64 // offsets committed
}

// maxFailedCommits is how many offset commits in a row may fail before Run
// gives up.
const maxFailedCommits = 10

// Run consumes until ctx ends (then it returns nil) or the group fails.
func Run(ctx context.Context, cfg Config) error {
	if len(cfg.Brokers) == 0 || cfg.GroupID == "" || len(cfg.Topics) == 0 || cfg.Handler == nil {
		return errors.New("consume: brokers, group, topics and a handler are required")
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	seen := cfg.Dedupe
	if seen == nil {
		seen = NewDedupe(100_000)
	}
	stats := cfg.Stats
	if stats == nil {
		stats = new(Stats)
	}
	backoff := cfg.RetryBackoff
	if backoff <= 0 {
		backoff = time.Second
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     cfg.Brokers,
		GroupID:     cfg.GroupID,
		GroupTopics: cfg.Topics,
		Dialer:      cfg.Dialer,
		// A new group starts at the beginning: nothing petitiond wrote
		// before the consumer first ran is skipped.
		StartOffset: kafka.FirstOffset,
		// 0: CommitMessages commits synchronously, so an offset is on the
		// broker before the next record is handled.
		CommitInterval: 0,
		MaxWait:        500 * time.Millisecond,
	})
	defer r.Close()

	failedCommits := 0
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("consume: fetch: %w", err)
		}
		stats.Read.Add(1)
		rec, err := Decode(m)
		switch {
		case err != nil:
			// A record this consumer cannot read would block its
			// partition forever if it were retried: log where it is
			// (never its content) and go on.
			stats.Undecoded.Add(1)
			log.Warn("skipping a record that is not petition.v1 or petition.deadletter.v1",
				"topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", err)
		case rec.Key != "" && seen.Seen(rec.Key):
			stats.Duplicates.Add(1)
			log.Debug("duplicate", "key", rec.Key, "topic", m.Topic, "partition", m.Partition, "offset", m.Offset)
		default:
			if !handle(ctx, cfg.Handler, rec, log, backoff) {
				return nil // ctx ended before the handler succeeded: not committed
			}
			stats.Handled.Add(1)
			if rec.Key != "" {
				if err := seen.Add(rec.Key); err != nil {
					// Not fatal: the id may be handled again if it comes
					// again, which the idempotent handler tolerates.
					log.Error("dedupe store", "err", err)
				}
			}
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// A commit fails when a rebalance ended the group's
			// generation: the partition's next owner reads the record
			// again (at least once), dedupe or the upsert absorbs it.
			// Only a commit that keeps failing stops the consumer.
			failedCommits++
			log.Warn("offset not committed; the record may be read again", "topic", m.Topic,
				"partition", m.Partition, "offset", m.Offset, "err", err)
			if failedCommits >= maxFailedCommits {
				return fmt.Errorf("consume: %d commits in a row failed: %w", failedCommits, err)
			}
			continue
		}
		failedCommits = 0
		stats.Committed.Add(1)
	}
}

// handle calls h until it succeeds or ctx ends, with a doubling backoff. It
// does not skip a failing record: committing past it would lose it.
func handle(ctx context.Context, h Handler, rec Record, log *slog.Logger, backoff time.Duration) bool {
	for {
		err := h(ctx, rec)
		if err == nil {
			return true
		}
		log.Error("handler failed; retrying", "key", rec.Key, "topic", rec.Topic, "partition", rec.Partition,
			"offset", rec.Offset, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// Decode reads a message as a petition.v1 or petition.deadletter.v1 record.
func Decode(m kafka.Message) (Record, error) {
	rec := Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Raw: m.Value}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(m.Value, &head); err != nil {
		return rec, fmt.Errorf("value is not JSON: %w", err)
	}
	switch head.Schema {
	case "petition.v1":
		p := new(Petition)
		if err := json.Unmarshal(m.Value, p); err != nil {
			return rec, fmt.Errorf("petition.v1: %w", err)
		}
		rec.Petition = p
		rec.Key = p.ID
		if rec.Key == "" {
			rec.Key = header(m, "ce_id") // the same id, when a record lacks it
		}
	case "petition.deadletter.v1":
		dl := new(DeadLetter)
		if err := json.Unmarshal(m.Value, dl); err != nil {
			return rec, fmt.Errorf("petition.deadletter.v1: %w", err)
		}
		rec.DeadLetter = dl
		// A dead letter's id is the id the petition would have had: kept
		// apart, so that the petition made after a fix is still handled.
		if k := header(m, "ce_id"); k != "" {
			rec.Key = "deadletter:" + k
		} else if len(m.Key) > 0 {
			rec.Key = "deadletter:" + string(m.Key)
		}
	default:
		return rec, fmt.Errorf("unknown schema %q", head.Schema)
	}
	return rec, nil
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Summary is a one-line description of r without personal data: ids,
// channel, category, priority; for a dead letter its stage, reason and the
// URI of the stored original.
func Summary(r Record) string {
	switch {
	case r.Petition != nil:
		p := r.Petition
		return fmt.Sprintf("petition id=%s tracking_no=%s channel=%s/%s category=%s priority=%s topic=%s partition=%d offset=%d",
			p.ID, p.TrackingNo, p.Channel.Name, p.Channel.Type, p.Category, p.Priority, r.Topic, r.Partition, r.Offset)
	case r.DeadLetter != nil:
		d := r.DeadLetter
		return fmt.Sprintf("deadletter id=%s channel=%s/%s stage=%s reason=%q original=%s topic=%s partition=%d offset=%d",
			d.ID, d.Channel.Name, d.Channel.Type, d.Stage, d.Error, d.Original.URI, r.Topic, r.Partition, r.Offset)
	}
	return "?"
}
