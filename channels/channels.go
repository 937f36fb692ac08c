// Package channels defines what a channel is and the registry of channel
// types.
//
// A channel is a thin transport: it reads its source (HTTP requests, a
// mailbox, a call log, a hot folder) and emits Items. Parsing belongs to the
// normalize package. Every Item carries an Ack callback, called exactly once
// with the outcome; the channel releases its source (moves the mail, sends
// the HTTP 201, saves the offset) only when the outcome has no error.
//
// A channel type lives in one folder, channels/<type>: the transport
// (imports this package, blob, mapping and petition only) and, when its
// items are of a kind of their own, a decoder sub-package
// channels/<type>/decode that registers itself with normalize.Register.
// channels/all imports both.
//
// The framework owns the lifecycle. The daemon builds a channel with its
// type's New (no I/O that can fail transiently), binds it when it listens
// (Binder), and only when every channel of a configuration got that far
// runs each under a Supervisor, which restarts Run with a Backoff when it
// fails or panics, reconnects a Reconnector whose connection was lost, and
// keeps the channel's Status. Run drains with Env.DrainContext and counts
// what awaits its ack with Pending; it does not retry its own source.
package channels

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/mapping"
	"github.com/court12368/petitiond/petition"
)

// Kind names how an item is to be read into a petition. Each kind other
// than KindFields belongs to one channel type, which defines the constant
// and registers the decoder for it with normalize.Register.
type Kind string

// KindFields is an item whose Fields hold the petition input fields (web
// submissions, mapped partner JSON); normalize reads it without a decoder.
const KindFields Kind = "fields"

// Item is one source item (a web submission, a letter, a call, a scan).
type Item struct {
	// SourceID is stable for the source item: the same item read again
	// after a crash has the same SourceID, so the petition id (UUIDv5 over
	// channel name + SourceID) is the same. Required unless Kind derives it
	// (see normalize).
	SourceID string
	// SourceRef says where exactly the item came from (mailbox + UID, file +
	// offset, remote address).
	SourceRef string
	// Kind tells normalize how to read the item: KindFields (Fields hold
	// the petition fields) or a kind a channel type defines and registers a
	// decoder for (normalize.Register), e.g. imap.KindMail.
	Kind Kind
	// ReceivedAt is when the source received the item.
	ReceivedAt time.Time
	// Fields are flat input fields (petition.InputFields, or fields of the
	// channel's own kind).
	Fields map[petition.Field]string
	// Original is the stored raw input (posted body, .eml, CDR line, scan).
	Original blob.Ref
	// Attachments already stored by the channel (e.g. multipart uploads).
	Attachments []Attachment
	// Meta holds channel-specific values copied into the record's meta.
	Meta map[string]any
	// RejectInvalid asks the engine to report a normalization failure to
	// the channel (Outcome.Invalid) instead of dead-lettering it, for
	// channels that can answer their client at once (web: 422).
	RejectInvalid bool
	// Promote, when set, is called by the engine once the item is to be
	// produced (as a record or a dead letter), before anything made from
	// it is sent: the channel moves what it staged (blob.Staged) into the
	// blob store. An error fails the item (Outcome.Err). Input rejected
	// before that is never promoted, so its staged data can be deleted.
	Promote func() error
	// Ack is called exactly once with the outcome. It must not block.
	Ack func(Outcome)
}

// Attachment is a file that came with an item, already in the blob store.
type Attachment struct {
	Filename    string
	ContentType string
	// SniffedType is the type sniffed from the content (blob.SniffContentType),
	// when the channel looked; ContentType is what the sender declared.
	SniffedType string
	blob.Ref
}

// Outcome is what became of an item.
type Outcome struct {
	// Err is non-nil when the item was not delivered: the source must keep
	// it for a retry.
	Err error
	// Records are the petitions produced from the item (and acknowledged
	// by Kafka).
	Records []Produced
	// DeadLettered is true when the item went to the dead-letter topic
	// instead (it is delivered: release the source, but count it).
	DeadLettered bool
	// Reason is why it was dead-lettered or rejected.
	Reason string
	// Invalid is set, with Err nil and nothing produced, when RejectInvalid
	// was asked and the item could not be normalized.
	Invalid *InvalidError
	// Ignored is true when normalize decided the item is not a petition
	// (an auto-reply, a bounce); nothing was produced.
	Ignored bool
}

// Produced identifies one produced record.
type Produced struct {
	ID         string
	TrackingNo string
	Topic      string
	ReceivedAt time.Time
}

// InvalidError names the input field that made an item unusable.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// ErrUnavailable is returned by Sink.Submit when the pipeline cannot take
// items right now (Kafka unreachable, shutting down, too many in flight).
var ErrUnavailable = errors.New("pipeline unavailable")

// Sink is where a channel emits items.
type Sink interface {
	// Submit hands an item to the pipeline. It blocks while too many items
	// are in flight (backpressure) until ctx is done. It returns an error
	// (wrapping ErrUnavailable or ctx.Err()) when the item was not taken; in
	// that case Ack is never called. When it returns nil, Ack will be called
	// exactly once.
	Submit(ctx context.Context, it *Item) error
	// TrySubmit is Submit that waits at most wait for room.
	TrySubmit(ctx context.Context, it *Item, wait time.Duration) error
	// Healthy reports whether the pipeline believes Kafka can take records.
	Healthy() bool
	// Reject counts an input the channel refused itself (malformed, too
	// large) with a short fixed reason such as "too_large"; never put
	// input data in the reason.
	Reject(reason string)
}

// Channel is a running channel instance.
type Channel interface {
	// Run reads the source and submits items to sink until ctx is done.
	// It returns nil on cancellation, and an error when its source fails
	// (the supervisor runs it again after a backoff; state kept on the
	// channel survives). On ctx cancellation the channel stops
	// taking new input; items already submitted are drained by the engine,
	// and the channel must still release sources whose Ack arrives while
	// Run is returning (Run returns only when its pending acks are done or
	// Env.DrainTimeout has passed since ctx was cancelled).
	Run(ctx context.Context, sink Sink) error
}

// Env is what a channel gets from the daemon when it is built.
type Env struct {
	Name   string // the channel instance name
	Logger *slog.Logger
	Blobs  blob.Store
	// StateDir is a directory private to this channel instance for
	// offsets, idempotency keys and similar state.
	StateDir string
	// DrainTimeout bounds how long Run waits for outstanding acks once its
	// context is cancelled.
	DrainTimeout time.Duration
	// Mapper, when not nil, is the channel entry's mapping: channels with
	// structured input apply it to turn a foreign shape into fields. Only
	// types whose Type.Mapping is set get one.
	Mapper *mapping.Mapper
	// Listener, when not nil, opens the channel's listening sockets (use
	// Env.Listen): the daemon's pool, which hands a reloaded channel the
	// socket of the instance it replaces.
	Listener func(network, addr string) (net.Listener, error)
	// OnUp, when not nil, is called by Env.Up.
	OnUp func()
}

// Binder is implemented by channels that listen on a local address (the
// web channel, the calllog CTI webhook). The daemon calls Bind for every
// new channel of a start or a reload before it runs any of them, so that an
// address that cannot be bound fails the start (the daemon exits with the
// error) or the reload (the running channels stay as they were), instead of
// a channel that retries for ever. Run serves on what Bind opened and
// closes it when it returns; a Run restarted by the supervisor binds again.
// Close releases what Bind opened when the channel is discarded without
// being run.
type Binder interface {
	Bind() error
	Close() error
}

// Reconnector is implemented by channels whose Run keeps a connection to a
// server (imap). Run returns an error when the connection is lost, and the
// supervisor runs it again after ReconnectBackoff: reconnecting is the
// supervisor's job, not the channel's. Such a channel counts as running
// only from when Run calls Env.Up (connected and taking input), which also
// resets the backoff.
type Reconnector interface {
	ReconnectBackoff() Backoff
}

// Validator is implemented by channel configs that check themselves.
type Validator interface {
	Validate() error
}
