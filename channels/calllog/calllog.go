// Package calllog is the hotline channel: call-detail records (CDRs) of the
// call centre's switch become petition records, one per CDR line, matched to
// the caller's number. Missed and abandoned calls are petitions too (they
// need a call-back).
//
// Two modes read the files: tail follows a growing file (Asterisk
// Master.csv) across rotation with a persisted offset; export takes whole
// files dropped into a folder, claims them by rename and moves them to done/
// (or error/) once every line is acknowledged. Lines are parsed with
// channels/calllog/cdr (a leaf library without I/O); everything else about the
// record is decided in normalize.
//
// The operator's summary of the call comes from a notes column, or from the
// CTI webhook: JSON events keyed by call id, joined to the CDR line within a
// window (see join.go).
//
// Acknowledgement: the saved offset of a file only moves over lines whose
// every record is acknowledged by Kafka (or dead-lettered); a line held for
// its note, or whose delivery failed and waits for a retry, holds the
// offset back however many later lines are done. After a crash the lines
// after the offset are read again and produce the same ids.
package calllog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/calllog/callitem"
	"github.com/court12368/petitiond/channels/calllog/cdr"
	"github.com/court12368/petitiond/petition"
)

// Channel is a calllog channel instance.
type Channel struct {
	cfg    *Config
	env    channels.Env
	log    *slog.Logger
	parser *cdr.Parser
	clock  clock

	mu    sync.Mutex
	cur   *run         // the current Run, for tests
	ctiLn net.Listener // bound, not yet served
	// ctiAddr is closed over by CTIAddr.
	ctiReady chan struct{}
	ctiAddr  string

	// The backlog, published by the reader after every pass; -1 while
	// not running. files is known in export mode only.
	behind, queued atomic.Int64
}

// New builds the channel; it opens files and listens when Run is called.
func New(cfg *Config, env channels.Env) (*Channel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, err := cfg.parser()
	if err != nil {
		return nil, err
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Channel{cfg: cfg, env: env, log: env.Logger, parser: p, clock: realClock{}, ctiReady: make(chan struct{})}
	c.behind.Store(-1)
	c.queued.Store(-1)
	return c, nil
}

// Backlog implements channels.Backlogger: the bytes of the CDR files not
// read yet (tail: of the followed and rotated files, as of the reader's
// last pass; export: of the claimed files), and in export mode the claimed
// files not read to their end. Nil while the channel is not running.
func (c *Channel) Backlog() []channels.Backlog {
	b := c.behind.Load()
	if b < 0 {
		return nil
	}
	out := []channels.Backlog{{Unit: channels.UnitBytes, N: b}}
	if q := c.queued.Load(); q >= 0 {
		out = append(out, channels.Backlog{Unit: channels.UnitFiles, N: q})
	}
	return out
}

// noteBacklog publishes what the reader found behind (files < 0: not
// counted).
func (c *Channel) noteBacklog(bytes, files int64) {
	c.behind.Store(max(bytes, 0))
	c.queued.Store(files)
}

// behindIn returns the bytes of fl after its read offset (from an fstat:
// no I/O beyond the inode).
func behindIn(fl *file) int64 {
	if fl == nil || fl.closed {
		return 0
	}
	fi, err := fl.f.Stat()
	if err != nil {
		return 0
	}
	return max(fi.Size()-fl.readOff, 0)
}

// Bind implements channels.Binder: it opens the CTI webhook's listener
// (with cti), so that an address that cannot be bound fails the start or
// the reload.
func (c *Channel) Bind() error {
	if c.cfg.CTI == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctiLn != nil {
		return nil
	}
	ln, err := c.env.Listen(c.cfg.CTI.Listen)
	if err != nil {
		return fmt.Errorf("calllog: cti.listen: %w", err)
	}
	c.ctiLn, c.ctiAddr = ln, ln.Addr().String()
	select {
	case <-c.ctiReady:
	default:
		close(c.ctiReady)
	}
	return nil
}

// Close implements channels.Binder: it closes a listener Run did not take.
func (c *Channel) Close() error {
	c.mu.Lock()
	ln := c.ctiLn
	c.ctiLn = nil
	c.mu.Unlock()
	if ln == nil {
		return nil
	}
	return ln.Close()
}

// CTIAddr returns the webhook's listening address once it is bound.
func (c *Channel) CTIAddr(ctx context.Context) (string, error) {
	select {
	case <-c.ctiReady:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.ctiAddr, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// run is the state of one Run call: Run may be called again after it
// returned (the supervisor restarts a failed channel), and starts afresh
// from the saved state.
type run struct {
	c     *Channel
	cfg   *Config
	env   channels.Env
	log   *slog.Logger
	sink  channels.Sink
	ctx   context.Context
	clock clock

	jobs     chan *job
	pending  *channels.Pending // submitted, not acknowledged (max_in_flight)
	retries  retryQueue
	join     *joiner // nil without cti
	finished fileQueue

	// Counters, logged when Run returns.
	lines, submitted, deadLettered, failed atomic.Int64
}

// job is a run of whole lines read from one file, handed to a worker.
type job struct {
	fl     *file
	parser *cdr.Parser
	chunk  []byte // the bytes the lines are in
	off    int64  // file offset of chunk[0]
	blob   *chunkBlob
	lines  []span
	first  uint64 // tracker seq of lines[0]
}

// span is one line in a job's chunk.
type span struct {
	start, end int    // in chunk, without "\n"
	err        string // set for a line that is refused before parsing
}

// entry is one item on its way: built from a line (or from CTI events),
// perhaps held for its note, submitted, retried, acknowledged.
type entry struct {
	it  *channels.Item
	fl  *file  // nil for items not made from a file line
	seq uint64 // tracker seq in fl

	// For the join.
	keys     []string // call ids: uniqueid, linkedid
	missed   bool
	hasNotes bool
	events   []string // ids of the CTI events in this item (journal)
	ctiTypes []string
	deadline time.Time
	released bool

	attempts int
}

// Run implements channels.Channel.
func (c *Channel) Run(parent context.Context, sink channels.Sink) error {
	// Everything Run starts stops with ctx: on cancellation, or when the
	// reader fails.
	ctx, stop := context.WithCancel(parent)
	defer stop()
	defer c.Close() // a listener Bind opened and this Run did not get to
	workers := 2 * runtime.GOMAXPROCS(0)
	if workers < 8 {
		workers = 8
	}
	r := &run{
		c: c, cfg: c.cfg, env: c.env, log: c.log, sink: sink, ctx: ctx, clock: c.clock,
		jobs:    make(chan *job, workers),
		pending: channels.NewPending(c.cfg.MaxInFlight),
	}
	r.retries.wake = make(chan struct{}, 1)
	r.finished.wake = make(chan struct{}, 1)
	var wg sync.WaitGroup
	if c.cfg.CTI != nil {
		jr, replay, err := openJournal(c.env.StateDir, c.log)
		if err != nil {
			return fmt.Errorf("calllog: CTI journal: %w", err)
		}
		defer jr.close()
		if err := c.Bind(); err != nil {
			return err
		}
		c.mu.Lock()
		ln := c.ctiLn
		c.ctiLn = nil // the server closes it
		c.mu.Unlock()
		r.join = newJoiner(r, c.cfg.CTI, jr)
		srv := newCTIServer(r, c.cfg.CTI, jr, ln)
		wg.Add(2)
		go func() { defer wg.Done(); r.join.submitter(ctx) }()
		go func() { defer wg.Done(); r.join.submitter(ctx) }()
		r.join.replay(ctx, replay) // before any line is read
		wg.Add(2)
		go func() { defer wg.Done(); r.join.loop(ctx) }()
		go func() { defer wg.Done(); srv.serve(ctx) }()
	}
	c.mu.Lock()
	c.cur = r
	c.mu.Unlock()
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); r.worker(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); r.retrier(ctx) }()

	var rd reader
	if c.cfg.Mode == ModeExport {
		rd = &exporter{r: r}
	} else {
		rd = &tailer{r: r}
	}
	err := rd.loop(ctx)
	c.behind.Store(-1)
	c.queued.Store(-1)
	if parent.Err() == nil && err == nil {
		err = errors.New("calllog: reader stopped")
	}
	// Stop taking input; what was submitted is drained.
	stop()
	wg.Wait()
	dctx, cancel := c.env.DrainContext(parent)
	defer cancel()
	if werr := r.pending.Wait(dctx); werr != nil {
		c.log.Warn("calllog: drain deadline passed with items in flight; they are read again on the next start",
			"in_flight", r.pending.Len())
	}
	if r.join != nil {
		r.join.flushAcks()
	}
	rd.finish()
	c.log.Info("calllog: stopped", "lines", r.lines.Load(), "submitted", r.submitted.Load(),
		"dead_lettered", r.deadLettered.Load(), "failed", r.failed.Load())
	if parent.Err() != nil {
		return nil
	}
	return err
}

// reader is the tail or export loop.
type reader interface {
	// loop reads until ctx is done (nil) or it fails.
	loop(ctx context.Context) error
	// finish runs after the drain: the last checkpoint, the last moves.
	finish()
}

// worker turns jobs into items and submits them.
func (r *run) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-r.jobs:
			if !r.work(ctx, j) {
				return
			}
		}
	}
}

// work processes one job; false when ctx ended it.
func (r *run) work(ctx context.Context, j *job) bool {
	for i, ln := range j.lines {
		seq := j.first + uint64(i)
		e, ok := r.lineEntry(ctx, j, ln)
		if !ok {
			return false
		}
		r.lines.Add(1)
		if e == nil { // blank line
			j.fl.tr.done(seq)
			r.fileProgress(j.fl)
			continue
		}
		e.fl, e.seq = j.fl, seq
		if r.join != nil && len(e.keys) > 0 {
			if !r.join.offer(ctx, e) {
				return false
			}
			continue
		}
		if !r.submit(ctx, e) {
			return false
		}
	}
	return true
}

// putBlob stores b, retrying while the store fails (a full disk is
// reported and waited out: the line is not skipped).
func (r *run) putBlob(ctx context.Context, b []byte) (blob.Ref, bool) {
	backoff := r.backoff()
	for {
		ref, err := r.env.Blobs.Put(bytes.NewReader(b), 0)
		if err == nil {
			return ref, true
		}
		r.log.Error("calllog: storing an original failed; retrying", "err", err)
		if !backoff.Sleep(ctx) {
			return blob.Ref{}, false
		}
	}
}

// lineEntry parses one line and builds its entry; nil for a blank line.
func (r *run) lineEntry(ctx context.Context, j *job, ln span) (*entry, bool) {
	line := j.chunk[ln.start:ln.end]
	off := j.off + int64(ln.start)
	var call cdr.Call
	var perr error
	if ln.err != "" {
		perr = errors.New(ln.err)
	} else {
		call, perr = j.parser.ParseLine(line)
		if errors.Is(perr, cdr.ErrEmpty) {
			return nil, true
		}
	}
	var orig blob.Ref
	if j.blob != nil && ln.err == "" {
		// The chunk starts at the read's first byte, as the spans do.
		ref, ok := j.blob.get(ctx, r)
		if !ok {
			return nil, false
		}
		orig = ref
		orig.Size = int64(len(line))
		orig.URI = ref.URI + "#bytes=" + strconv.Itoa(ln.start) + "-" + strconv.Itoa(ln.end-1)
	} else {
		var ok bool
		if orig, ok = r.putBlob(ctx, line); !ok {
			return nil, false
		}
	}
	ref := j.fl.ref + ":" + strconv.FormatInt(off, 10)
	if perr != nil {
		id := "line:" + cdr.LineHash(line)
		if ln.err != "" {
			id += "@" + strconv.FormatInt(off, 10)
		}
		return &entry{it: &channels.Item{
			Kind:       callitem.Kind,
			SourceID:   id,
			SourceRef:  ref,
			ReceivedAt: time.Now(),
			Fields:     map[petition.Field]string{"parse_error": perr.Error()},
			Original:   orig,
			Meta:       map[string]any{"call.format": r.cfg.Format},
		}}, true
	}
	e := callEntry(r.cfg, call, line)
	e.it.SourceRef = ref
	e.it.Original = orig
	return e, true
}

// submit hands an entry to the pipeline, waiting for room (max_in_flight,
// then the engine's bound) and retrying while the pipeline is unavailable.
// False when ctx ended first: the entry stays unfinished.
func (r *run) submit(ctx context.Context, e *entry) bool {
	if !r.pending.Take(ctx) {
		return false
	}
	e.attempts++
	e.it.Ack = func(o channels.Outcome) { r.acked(e, o) }
	backoff := r.backoff()
	logged := false
	for {
		err := r.sink.Submit(ctx, e.it)
		if err == nil {
			r.submitted.Add(1)
			return true
		}
		if ctx.Err() != nil {
			break
		}
		if !logged {
			r.log.Warn("calllog: pipeline unavailable; waiting", "err", err)
			logged = true
		}
		if !backoff.Sleep(ctx) {
			break
		}
	}
	r.pending.Done()
	return false
}

// backoff paces retries of the blob store and of the pipeline: 100ms,
// doubling up to retry_backoff.
func (r *run) backoff() channels.Backoff {
	return channels.Backoff{Min: 100 * time.Millisecond, Max: r.cfg.RetryBackoff.D()}
}

// acked is the Ack of every submitted item. It does not block.
func (r *run) acked(e *entry, o channels.Outcome) {
	defer r.pending.Done() // last: the drain then sees the line finished or queued
	if o.Err != nil {
		r.failed.Add(1)
		r.retries.push(e, time.Now().Add(r.cfg.RetryBackoff.D()))
		return
	}
	if o.DeadLettered {
		r.deadLettered.Add(1)
		if e.fl != nil {
			e.fl.deadLettered.Add(1)
		}
	}
	if r.join != nil && (len(e.events) > 0 || len(e.keys) > 0) {
		r.join.acked(e, o)
		return
	}
	r.finish(e)
}

// finish marks an entry's line delivered.
func (r *run) finish(e *entry) {
	if e.fl == nil {
		return
	}
	e.fl.tr.done(e.seq)
	r.fileProgress(e.fl)
}

// fileProgress reports an export file whose lines are all read and
// delivered to the reader loop, which moves it.
func (r *run) fileProgress(fl *file) {
	if fl.eof.Load() && fl.tr.idle() && fl.reported.CompareAndSwap(false, true) {
		r.finished.push(fl)
	}
}

// retrier submits failed items again after the backoff.
func (r *run) retrier(ctx context.Context) {
	for {
		due, wait := r.retries.due(time.Now())
		for _, e := range due {
			if e.attempts == 1 || e.attempts%10 == 0 {
				r.log.Warn("calllog: delivery failed; submitting again", "source_ref", e.it.SourceRef, "attempt", e.attempts+1)
			}
			if !r.submit(ctx, e) {
				return
			}
		}
		var tc <-chan time.Time
		if wait > 0 {
			tc = time.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.retries.wake:
		case <-tc:
		}
	}
}

// retryQueue holds entries whose delivery failed until their retry time.
type retryQueue struct {
	mu    sync.Mutex
	items []*entry
	at    []time.Time
	wake  chan struct{}
}

func (q *retryQueue) push(e *entry, at time.Time) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.at = append(q.at, at)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// due returns the entries due at now and how long until the next one (0
// when none is left).
func (q *retryQueue) due(now time.Time) ([]*entry, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*entry
	var next time.Duration
	keep := 0
	for i, e := range q.items {
		if !q.at[i].After(now) {
			out = append(out, e)
			continue
		}
		if d := q.at[i].Sub(now); next == 0 || d < next {
			next = d
		}
		q.items[keep], q.at[keep] = e, q.at[i]
		keep++
	}
	clear(q.items[keep:])
	q.items, q.at = q.items[:keep], q.at[:keep]
	return out, next
}

// fileQueue passes finished export files to the reader loop.
type fileQueue struct {
	mu    sync.Mutex
	files []*file
	wake  chan struct{}
}

func (q *fileQueue) push(f *file) {
	q.mu.Lock()
	q.files = append(q.files, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *fileQueue) take() []*file {
	q.mu.Lock()
	defer q.mu.Unlock()
	fs := q.files
	q.files = nil
	return fs
}

// clock is the time of the CTI join (windows, event receive times); tests
// use a fake one.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

var (
	_ channels.Backlogger = (*Channel)(nil)
	_ channels.Channel    = (*Channel)(nil)
	_ channels.Binder     = (*Channel)(nil)
)
