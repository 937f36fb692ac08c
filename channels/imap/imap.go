// Package imap is the e-mail letters channel: it takes letters from an IMAP
// mailbox and hands each to the pipeline as an "rfc822" item whose original
// is the raw message in the blob store. Parsing the message is left to the
// decoder in channels/imap/decode.
//
// Every message in the mailbox is a pending letter. It is fetched with
// BODY.PEEK[] (never marked \Seen), its literal streamed straight into the
// blob store, and it leaves the mailbox only after its ack: UID MOVE to the
// done mailbox when Kafka acknowledged the record, to the failed mailbox when
// it was dead-lettered, to the ignored mailbox when it is an auto-reply or a
// bounce. On an error it stays and is fetched again later. See README.md.
package imap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/internal/clamd"
)

// Meta keys set on every item.
const (
	MetaUID         = "mail.uid"
	MetaMailbox     = "mail.mailbox"
	MetaUIDValidity = "mail.uidvalidity"
	MetaSize        = "mail.size"
	// MetaClaimedFrom names the shared mailbox a letter was claimed from
	// (with processing_mailbox).
	MetaClaimedFrom = "mail.claimed_from"
	// MetaThreadTrackingNo is the tracking number of an earlier letter of
	// this channel that the letter replies to (In-Reply-To/References).
	MetaThreadTrackingNo = "mail.thread_tracking_no"
	// MetaRefused says why the letter is not taken in (too large to
	// download, malware); the decoder dead-letters it (with its original
	// when it was stored).
	MetaRefused = "mail.refused"
	// MetaAntivirus is the scan's verdict: clean, infected or unscanned.
	MetaAntivirus = "mail.antivirus"
	// MetaAllowedTypes carries the channel's attachment allow-list to the
	// decoder (it is not kept in the record).
	MetaAllowedTypes = "mail.allowed_types"
)

// KindMail is the item kind of a letter: Original is the stored message,
// read by package decode.
const KindMail channels.Kind = "rfc822"

// Channel is a running imap channel instance.
type Channel struct {
	cfg     *Config
	env     channels.Env
	log     *slog.Logger
	tls     *tls.Config
	valid   *validityFile
	index   *threadIndex
	refBase string // imap://user@host:port/

	wake  chan struct{}     // acks, new mail, end of a pause
	slots *channels.Pending // letters fetched and not yet acknowledged
	av    *clamd.Client     // nil: no antivirus scan
	dirty atomic.Bool       // the server announced new messages (EXISTS)
	// waiting is the backlog: letters in the mailbox not taken yet, as of
	// the session's last search; -1 while not connected.
	waiting atomic.Int64

	mu         sync.Mutex
	validity   uint32                   // UIDVALIDITY of the work mailbox that busy/retryAt/moves refer to
	busy       map[goimap.UID]bool      // fetched and not acked, or acked and not yet moved
	retryAt    map[goimap.UID]time.Time // delivery failed: not before
	moves      []move                   // acked, waiting to be moved
	pauseUntil time.Time                // the pipeline refused letters: fetch nothing until then
	moved      int64                    // letters moved out since start
	backlog    backlog
}

// move is an acknowledged letter waiting to leave the work mailbox.
type move struct {
	uid        goimap.UID
	validity   uint32
	dest       string
	messageID  string // for the thread index (done only)
	trackingNo string
	notBefore  time.Time
}

// backlog tracks a large pass over the mailbox (a backfill) for the
// progress line in the logs.
type backlog struct {
	active  bool
	start   time.Time
	moved0  int64
	total   int
	lastLog time.Time
}

// letter is a fetched message on its way to the pipeline.
type letter struct {
	uid       goimap.UID
	validity  uint32
	messageID string
	item      *channels.Item
}

// New builds the channel. It reads the CA file and the state dir; it
// connects only in Run.
func New(cfg *Config, env channels.Env) (*Channel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Channel{
		cfg:     cfg,
		env:     env,
		log:     env.Logger,
		wake:    make(chan struct{}, 1),
		slots:   channels.NewPending(cfg.MaxInFlight),
		busy:    map[goimap.UID]bool{},
		retryAt: map[goimap.UID]time.Time{},
	}
	c.waiting.Store(-1)
	var err error
	if c.av, err = cfg.Attachments.Scanner(); err != nil {
		return nil, &channels.InvalidError{Field: "attachments.antivirus.address", Reason: err.Error()}
	}
	if cfg.TLS != TLSNone {
		host, _, _ := net.SplitHostPort(cfg.Address)
		tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
		if cfg.TLSServerName != "" {
			tc.ServerName = cfg.TLSServerName
		}
		if cfg.TLSCAFile != "" {
			pem, err := os.ReadFile(cfg.TLSCAFile)
			if err != nil {
				return nil, &channels.InvalidError{Field: "tls_ca_file", Reason: err.Error()}
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, &channels.InvalidError{Field: "tls_ca_file", Reason: "no PEM certificate found"}
			}
			tc.RootCAs = pool
		}
		c.tls = tc
	}
	if env.StateDir == "" {
		return nil, errors.New("imap: the channel needs a state dir (UIDVALIDITY, thread index)")
	}
	if c.valid, err = openValidity(c.env.StateDir); err != nil {
		return nil, err
	}
	if c.index, err = openThreadIndex(c.env.StateDir, cfg.ThreadIndexSize); err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "imap", User: url.User(cfg.Username), Host: cfg.Address, Path: "/"}
	c.refBase = u.String()
	if cfg.InsecureSkipVerify {
		c.log.Warn("imap channel with insecure_skip_verify: the server certificate is not checked (use tls_ca_file)", "address", cfg.Address)
	}
	if cfg.TLS == TLSNone {
		if host, _, _ := net.SplitHostPort(cfg.Address); !isLoopback(host) {
			c.log.Warn("imap channel without TLS to a remote server: the password and letters travel in clear text", "address", cfg.Address)
		}
	}
	return c, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// workbox is the mailbox letters are fetched from and moved out of.
func (c *Channel) workbox() string {
	if c.cfg.ProcessingMailbox != "" {
		return c.cfg.ProcessingMailbox
	}
	return c.cfg.Mailbox
}

func (c *Channel) claiming() bool { return c.cfg.ProcessingMailbox != "" }

func (c *Channel) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// sourceRef is the RFC 5092 IMAP URL of a message.
func (c *Channel) sourceRef(mailbox string, validity uint32, uid goimap.UID) string {
	return fmt.Sprintf("%s%s;UIDVALIDITY=%d/;UID=%d", c.refBase, url.PathEscape(mailbox), validity, uid)
}

// Run connects and takes letters in until ctx is done. Then it stops
// fetching and waits (up to the drain timeout) for the acks of letters in
// flight, moving them as they arrive, and logs out. When the connection
// fails or is lost Run returns the error, and the supervisor reconnects
// (calls Run again) after ReconnectBackoff; what was fetched and is not
// yet moved is kept for the next connection.
func (c *Channel) Run(ctx context.Context, sink channels.Sink) error {
	dctx, cancelDrain := c.env.DrainContext(ctx)
	defer cancelDrain()
	defer context.AfterFunc(ctx, c.signal)()

	queue := make(chan *letter, c.cfg.MaxInFlight)
	var workers sync.WaitGroup
	for i := 0; i < c.cfg.Workers; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			c.submitLoop(ctx, sink, queue)
		}()
	}
	defer func() {
		close(queue)
		workers.Wait()
		c.index.close()
	}()

	err := c.session(ctx, dctx, sink, queue)
	if ctx.Err() == nil {
		return err
	}
	// Stopping. Moving the acknowledged letters is part of the drain, so a
	// connection lost now is made again until the drain deadline.
	b := c.ReconnectBackoff()
	for err != nil && c.outstanding() > 0 && dctx.Err() == nil {
		c.log.Warn("imap connection failed while draining; reconnecting to move the acknowledged letters", "err", err)
		if !b.Sleep(dctx) {
			break
		}
		err = c.session(ctx, dctx, sink, queue)
	}
	if n := c.outstanding(); n > 0 {
		c.log.Warn("imap channel stopped with letters not yet moved; they stay in the mailbox and are taken in again on the next start (same ids)", "letters", n)
	} else {
		c.log.Info("imap channel stopped")
	}
	return nil
}

// ReconnectBackoff implements channels.Reconnector: reconnect_backoff_min
// … reconnect_backoff_max.
func (c *Channel) ReconnectBackoff() channels.Backoff {
	return channels.Backoff{Min: c.cfg.ReconnectBackoffMin.D(), Max: c.cfg.ReconnectBackoffMax.D()}
}

// outstanding counts letters fetched and not yet moved out of the mailbox.
func (c *Channel) outstanding() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.slots.Len()
	for _, m := range c.moves {
		if m.validity == c.validity {
			n++
		}
	}
	return n
}

// submitLoop hands letters to the pipeline in queue order.
func (c *Channel) submitLoop(ctx context.Context, sink channels.Sink, queue <-chan *letter) {
	for l := range queue {
		if ctx.Err() != nil {
			c.giveBack(l, false)
			continue
		}
		err := sink.Submit(ctx, l.item)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			c.giveBack(l, false)
			continue
		}
		c.giveBack(l, true)
		if errors.Is(err, channels.ErrUnavailable) {
			c.pause(err)
		} else {
			c.log.Warn("imap: letter not taken by the pipeline; will retry", "uid", uint32(l.uid), "err", err)
		}
	}
}

// pause stops fetching for a retry interval after the pipeline refused a
// letter (Kafka unreachable, shutting down).
func (c *Channel) pause(err error) {
	c.mu.Lock()
	first := time.Now().After(c.pauseUntil)
	c.pauseUntil = time.Now().Add(c.cfg.RetryInterval.D())
	c.mu.Unlock()
	if first {
		c.log.Warn("imap: pipeline unavailable; pausing fetches", "err", err, "retry_in", c.cfg.RetryInterval.D())
	}
}

// giveBack releases a fetched letter that was not submitted: it stays in
// the mailbox and is fetched again (after the retry interval when later).
func (c *Channel) giveBack(l *letter, later bool) {
	c.mu.Lock()
	if l.validity == c.validity {
		delete(c.busy, l.uid)
		if later {
			c.retryAt[l.uid] = time.Now().Add(c.cfg.RetryInterval.D())
		}
	}
	c.mu.Unlock()
	c.slots.Done()
	c.signal()
}

// acked is the item's Ack: it queues the move for the connection's
// goroutine and never blocks.
func (c *Channel) acked(l *letter, out channels.Outcome) {
	var dest, tn, what string
	switch {
	case out.Err != nil:
		what = "failed"
	case out.Ignored:
		dest, what = c.cfg.IgnoredMailbox, "ignored"
	case out.DeadLettered || out.Invalid != nil:
		dest, what = c.cfg.FailedMailbox, "dead-lettered"
	default:
		dest, what = c.cfg.DoneMailbox, "done"
		if len(out.Records) > 0 {
			tn = out.Records[0].TrackingNo
		}
	}
	c.mu.Lock()
	current := l.validity == c.validity
	if current {
		if dest == "" {
			delete(c.busy, l.uid)
			c.retryAt[l.uid] = time.Now().Add(c.cfg.RetryInterval.D())
		} else {
			c.moves = append(c.moves, move{uid: l.uid, validity: l.validity, dest: dest, messageID: l.messageID, trackingNo: tn})
		}
	}
	c.mu.Unlock()
	c.slots.Done()
	c.signal()
	switch what {
	case "failed":
		c.log.Warn("imap: letter not delivered; it stays in the mailbox for a retry", "uid", uint32(l.uid), "err", out.Err)
	case "ignored":
		c.log.Info("imap: letter is no petition (auto-reply, bounce, loop or bulk); moving it to the ignored mailbox",
			"uid", uint32(l.uid), "mailbox", dest, "reason", out.Reason)
	case "dead-lettered":
		c.log.Warn("imap: letter dead-lettered; moving it to the failed mailbox", "uid", uint32(l.uid), "mailbox", dest)
	default:
		c.log.Debug("imap: letter taken in", "uid", uint32(l.uid))
	}
}

// setValidity makes v the UIDVALIDITY the letter sets refer to. When it
// changes, what was known about UIDs is void: letters still in the mailbox
// are taken in again, with the same ids (they derive from Message-ID).
func (c *Channel) setValidity(mailbox string, v uint32) {
	stored := c.valid.get(mailbox)
	c.mu.Lock()
	changed := c.validity != 0 && c.validity != v
	if c.validity != v {
		c.validity = v
		c.busy = map[goimap.UID]bool{}
		c.retryAt = map[goimap.UID]time.Time{}
		var keep []move
		for _, m := range c.moves {
			if m.validity == v {
				keep = append(keep, m)
			}
		}
		c.moves = keep
	}
	c.mu.Unlock()
	if changed || (stored != 0 && stored != v) {
		c.log.Warn("imap: UIDVALIDITY changed; every letter in the mailbox is taken in again (ids stay the same)",
			"mailbox", mailbox, "old", stored, "new", v)
	}
	if err := c.valid.set(mailbox, v); err != nil {
		c.log.Warn("imap: cannot save UIDVALIDITY", "err", err)
	}
}

// noteSearch updates the backlog after a search found present letters.
func (c *Channel) noteSearch(present int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := &c.backlog
	now := time.Now()
	if !b.active {
		if present <= c.cfg.BatchSize {
			return
		}
		*b = backlog{active: true, start: now, moved0: c.moved, total: present, lastLog: now}
		c.log.Info("imap: taking in a backlog of letters", "mailbox", c.cfg.Mailbox, "total", present)
		return
	}
	if t := int(c.moved-b.moved0) + present; t > b.total {
		b.total = t
	}
}

// progress logs the backfill progress every few seconds, and its end.
func (c *Channel) progress(caughtUp bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := &c.backlog
	if !b.active {
		return
	}
	now := time.Now()
	done := int(c.moved - b.moved0)
	if done > b.total {
		b.total = done
	}
	rate := float64(done) / max(now.Sub(b.start).Seconds(), 0.001)
	if caughtUp {
		c.log.Info("imap: backlog taken in; waiting for new letters",
			"done", done, "total", b.total, "seconds", round1(now.Sub(b.start).Seconds()), "letters_per_s", round1(rate))
		b.active = false
		return
	}
	if now.Sub(b.lastLog) >= 5*time.Second {
		b.lastLog = now
		c.log.Info("imap: backfill progress", "done", done, "total", b.total, "letters_per_s", round1(rate))
	}
}

// Backlog implements channels.Backlogger: the letters waiting in the
// mailbox (with claiming, the shared one too) that are not taken yet, as
// the session's last search found them; nil while not connected.
func (c *Channel) Backlog() []channels.Backlog {
	n := c.waiting.Load()
	if n < 0 {
		return nil
	}
	return []channels.Backlog{{Unit: channels.UnitMessages, N: n}}
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

var (
	_ channels.Channel     = (*Channel)(nil)
	_ channels.Reconnector = (*Channel)(nil)
	_ channels.Backlogger  = (*Channel)(nil)
)
