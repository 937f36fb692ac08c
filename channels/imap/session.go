package imap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/internal/clamd"
)

// session is one connection to the server. It runs on one goroutine: every
// IMAP command of the channel is issued here, including the moves queued by
// acks.
type session struct {
	c        *Channel
	cl       *imapclient.Client
	sink     channels.Sink
	idle     bool   // the server offers IDLE and it is enabled
	selected string // the selected mailbox
	timedOut atomic.Bool

	pending    []goimap.UID // candidates from the last search of the work mailbox, ascending
	needSearch bool         // search the work mailbox before fetching
	inboxDue   bool         // (claiming) search the shared mailbox for letters to claim
	inboxMore  bool         // (claiming) the last claim left letters behind
	present    int          // messages in the work mailbox at the last search
	inboxCount int          // (claiming) messages in the shared mailbox at the last search
	inboxLeft  int          // (claiming) of those, the ones not claimed since
	caughtUp   bool         // logged "caught up" in this session
	// (claiming) the processing mailbox holds letters with claim keywords
	stripClaims  bool
	warnedUnsafe bool
}

var errClosed = errors.New("connection closed by the server")

// session connects and works until ctx is done and everything in flight is
// moved (nil), the drain context expires (nil), or the connection fails.
func (c *Channel) session(ctx, dctx context.Context, sink channels.Sink, queue chan<- *letter) error {
	s := &session{c: c, sink: sink, needSearch: true, inboxDue: true, stripClaims: c.claiming()}
	// What waits is known from the first search until the connection ends.
	defer c.waiting.Store(-1)
	if err := s.connect(); err != nil {
		return err
	}
	defer s.cl.Close()
	if _, err := s.selectBox(c.workbox()); err != nil {
		return err
	}
	c.env.Up()
	for {
		if err := s.applyMoves(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			if c.outstanding() == 0 || dctx.Err() != nil {
				s.logout()
				return nil
			}
			if err := s.wait(nil, dctx.Done(), time.Second); err != nil {
				return err
			}
			continue
		}
		if c.dirty.Swap(false) {
			s.needSearch, s.inboxDue = true, true
		}
		got, err := s.work(queue)
		if err != nil {
			return err
		}
		if got {
			c.progress(false)
			continue
		}
		if c.claiming() {
			n, err := s.claim()
			if err != nil {
				return err
			}
			if n > 0 {
				continue
			}
		}
		if c.outstanding() == 0 {
			c.progress(true)
			if !s.caughtUp {
				s.caughtUp = true
				mode := "poll"
				if s.idle {
					mode = "idle"
				}
				c.log.Info("imap: caught up; waiting for new letters", "mailbox", c.cfg.Mailbox, "mode", mode)
			}
		} else {
			c.progress(false)
		}
		if err := s.waitForWork(ctx); err != nil {
			return err
		}
	}
}

func (s *session) connect() error {
	c := s.c
	opts := &imapclient.Options{
		TLSConfig: c.tls,
		Dialer: &net.Dialer{
			Timeout:         30 * time.Second,
			KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 10 * time.Second, Count: 3},
		},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					c.log.Debug("imap: new mail announced", "messages", *d.NumMessages)
					c.dirty.Store(true)
					c.signal()
				}
			},
		},
	}
	var err error
	switch c.cfg.TLS {
	case TLSImplicit:
		s.cl, err = imapclient.DialTLS(c.cfg.Address, opts)
	case TLSStart:
		s.cl, err = imapclient.DialStartTLS(c.cfg.Address, opts)
	default:
		s.cl, err = imapclient.DialInsecure(c.cfg.Address, opts)
	}
	if err != nil {
		return fmt.Errorf("connect %s: %w", c.cfg.Address, err)
	}
	if err := s.guard(s.cl.WaitGreeting); err != nil {
		s.cl.Close()
		return fmt.Errorf("greeting: %w", err)
	}
	if err := s.guard(s.cl.Login(c.cfg.Username, c.cfg.Password).Wait); err != nil {
		s.cl.Close()
		return fmt.Errorf("login: %w", err)
	}
	caps := s.cl.Caps()
	s.idle = c.cfg.Idle && (caps.Has(goimap.CapIdle) || caps.Has(goimap.CapIMAP4rev2))
	if err := s.ensureMailboxes(); err != nil {
		s.cl.Close()
		return err
	}
	c.log.Info("imap connected", "address", c.cfg.Address, "tls", c.cfg.TLS, "mailbox", c.workbox(), "idle", s.idle,
		"move", caps.Has(goimap.CapMove) || caps.Has(goimap.CapIMAP4rev2))
	return nil
}

// guard runs f and closes the connection when the server stays silent for
// longer than the command timeout, so that f returns.
func (s *session) guard(f func() error) error {
	d := s.c.cfg.CommandTimeout.D()
	t := time.AfterFunc(d, func() { s.timedOut.Store(true); s.cl.Close() })
	err := f()
	t.Stop()
	if s.timedOut.Load() {
		return fmt.Errorf("no answer from the server within %s: %w", d, err)
	}
	return err
}

// wrap adapts the Wait of commands that return data.
func wrap[T any](f func() (T, error), out *T) func() error {
	return func() error {
		v, err := f()
		*out = v
		return err
	}
}

func (s *session) ensureMailboxes() error {
	c := s.c
	boxes := []string{c.cfg.DoneMailbox, c.cfg.FailedMailbox, c.cfg.IgnoredMailbox}
	if c.claiming() {
		boxes = append(boxes, c.cfg.ProcessingMailbox)
	}
	for _, box := range boxes {
		var st *goimap.StatusData
		err := s.guard(wrap(s.cl.Status(box, &goimap.StatusOptions{NumMessages: true}).Wait, &st))
		if err == nil {
			continue
		}
		if !isNo(err) {
			return fmt.Errorf("status %q: %w", box, err)
		}
		if !c.cfg.CreateMailboxes {
			return fmt.Errorf("mailbox %q: %w (create it, or set create_mailboxes: true)", box, err)
		}
		if err := s.createMailbox(box); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) createMailbox(box string) error {
	err := s.guard(s.cl.Create(box, nil).Wait)
	var ie *goimap.Error
	if err != nil && !(errors.As(err, &ie) && ie.Code == goimap.ResponseCodeAlreadyExists) {
		return fmt.Errorf("create mailbox %q: %w", box, err)
	}
	if err == nil {
		s.c.log.Info("imap: created mailbox", "mailbox", box)
	}
	return nil
}

// isNo reports whether err is the server's NO or BAD answer (the connection
// is fine).
func isNo(err error) bool {
	var ie *goimap.Error
	return errors.As(err, &ie)
}

// selectBox selects mailbox unless it is selected; selecting the work
// mailbox checks its UIDVALIDITY.
func (s *session) selectBox(box string) (*goimap.SelectData, error) {
	if s.selected == box {
		return nil, nil
	}
	s.selected = ""
	var data *goimap.SelectData
	if err := s.guard(wrap(s.cl.Select(box, nil).Wait, &data)); err != nil {
		return nil, fmt.Errorf("select %q: %w", box, err)
	}
	s.selected = box
	if box == s.c.workbox() {
		s.c.setValidity(box, data.UIDValidity)
	}
	return data, nil
}

// search returns the UIDs of the messages in the selected mailbox that
// are not marked \Deleted, ascending; with keyword, only those that have
// it; with without, only those that lack it.
func (s *session) search(keyword goimap.Flag, without ...goimap.Flag) ([]goimap.UID, error) {
	var data *goimap.SearchData
	crit := &goimap.SearchCriteria{NotFlag: append([]goimap.Flag{goimap.FlagDeleted}, without...)}
	if keyword != "" {
		crit.Flag = []goimap.Flag{keyword}
	}
	if err := s.guard(wrap(s.cl.UIDSearch(crit, nil).Wait, &data)); err != nil {
		return nil, fmt.Errorf("search %q: %w", s.selected, err)
	}
	uids := data.AllUIDs()
	slices.Sort(uids)
	return uids, nil
}

// work fetches the next batch of letters from the work mailbox and queues
// them for the pipeline. It reports whether it fetched anything.
func (s *session) work(queue chan<- *letter) (bool, error) {
	c := s.c
	c.mu.Lock()
	paused := time.Now().Before(c.pauseUntil)
	c.mu.Unlock()
	room := c.slots.Room()
	if paused || room == 0 {
		return false, nil
	}
	if _, err := s.selectBox(c.workbox()); err != nil {
		return false, err
	}
	if s.stripClaims {
		if err := s.unflagClaims(); err != nil {
			return false, err
		}
		s.stripClaims = false
	}
	if s.needSearch {
		uids, err := s.search("")
		if err != nil {
			return false, err
		}
		s.needSearch = false
		s.present = len(uids)
		now := time.Now()
		c.mu.Lock()
		for uid, t := range c.retryAt {
			if _, present := slices.BinarySearch(uids, uid); now.After(t) || !present {
				delete(c.retryAt, uid)
			}
		}
		s.pending = s.pending[:0]
		for _, uid := range uids {
			if !c.busy[uid] && c.retryAt[uid].IsZero() {
				s.pending = append(s.pending, uid)
			}
		}
		c.mu.Unlock()
		c.noteSearch(s.present + s.inboxCount)
		s.noteWaiting()
	}
	// Take the next batch, skipping what became busy since the search.
	n := min(room, c.cfg.BatchSize)
	var batch []goimap.UID
	c.mu.Lock()
	for len(s.pending) > 0 && len(batch) < n {
		uid := s.pending[0]
		s.pending = s.pending[1:]
		if !c.busy[uid] && c.retryAt[uid].IsZero() {
			c.busy[uid] = true
			batch = append(batch, uid)
		}
	}
	validity := c.validity
	c.mu.Unlock()
	if len(batch) == 0 {
		return false, nil
	}
	for range batch {
		c.slots.TryTake() // room was counted above, and only this goroutine takes
	}
	letters, err := s.fetchIsolating(batch, validity)
	taken := map[goimap.UID]bool{}
	for _, l := range letters {
		taken[l.uid] = true
		queue <- l
	}
	for _, uid := range batch {
		if !taken[uid] {
			// The connection failed (fetch again after reconnecting), or the
			// message vanished or could not be stored (try again later).
			c.mu.Lock()
			if validity == c.validity {
				delete(c.busy, uid)
				if err == nil {
					c.retryAt[uid] = time.Now().Add(c.cfg.RetryInterval.D())
				}
			}
			c.mu.Unlock()
			c.slots.Done()
		}
	}
	if err != nil {
		return false, err
	}
	if len(s.pending) == 0 {
		// More may have arrived since the search.
		s.needSearch = true
	}
	s.noteWaiting()
	return true, nil
}

// noteWaiting publishes the channel's backlog: the letters of the work
// mailbox's last search not taken yet (those waiting for a retry too), and
// (claiming) the letters of the shared mailbox not claimed yet.
func (s *session) noteWaiting() {
	c := s.c
	c.mu.Lock()
	n := len(s.pending) + len(c.retryAt)
	c.mu.Unlock()
	c.waiting.Store(int64(n + s.inboxLeft))
}

// fetchIsolating is fetch, but when the server refuses the batch (a NO or
// BAD answer, typically for one broken message, while the connection is
// fine) it fetches the letters one by one: the others go on, and the one
// the server cannot deliver stays in the mailbox and is tried again after
// retry_interval, instead of the whole batch being refetched for ever.
func (s *session) fetchIsolating(batch []goimap.UID, validity uint32) ([]*letter, error) {
	letters, err := s.fetch(batch, validity)
	var ie *goimap.Error
	if err == nil || len(batch) < 2 || !errors.As(err, &ie) || s.timedOut.Load() {
		return letters, s.isolate(batch, letters, err)
	}
	s.c.log.Warn("imap: the server refused a batch fetch; fetching its letters one by one", "letters", len(batch), "err", err)
	var out []*letter
	for _, uid := range batch {
		ls, err := s.fetch([]goimap.UID{uid}, validity)
		if err := s.isolate([]goimap.UID{uid}, ls, err); err != nil {
			return out, err
		}
		out = append(out, ls...)
	}
	return out, nil
}

// isolate turns a server's refusal to fetch one letter into "try it
// later" (nil error: the letter is left out and gets a retry time).
func (s *session) isolate(batch []goimap.UID, letters []*letter, err error) error {
	var ie *goimap.Error
	if err != nil && len(batch) == 1 && errors.As(err, &ie) && !s.timedOut.Load() {
		s.c.log.Error("imap: the server cannot deliver a letter; will retry", "uid", uint32(batch[0]), "err", err)
		return nil
	}
	return err
}

// meta is what the first FETCH says about a message.
type meta struct {
	size      int64
	date      time.Time
	messageID string
	inReplyTo []string
	refs      []string
	digest    string // stands in for Message-ID when the body is not fetched
}

var refsSection = &goimap.FetchItemBodySection{Specifier: goimap.PartSpecifierHeader, HeaderFields: []string{"References"}, Peek: true}

var msgIDRe = regexp.MustCompile(`<([^<>\s]+)>`)

// fetch reads a batch: first size, date, envelope and References of each
// message, then the bodies that are within max_message_size, each streamed
// into the blob store. It returns the letters in UID order; messages that
// vanished or could not be stored are left out.
func (s *session) fetch(uids []goimap.UID, validity uint32) ([]*letter, error) {
	metas, err := s.fetchMeta(uids)
	if err != nil {
		return nil, fmt.Errorf("fetch headers: %w", err)
	}
	letters, bodies := s.triage(uids, metas, validity)
	if len(bodies) == 0 {
		return letters, nil
	}
	refs, errs, err := s.fetchBodies(bodies, metas)
	if err != nil {
		return nil, fmt.Errorf("fetch bodies: %w", err)
	}
	c := s.c
	for uid, err := range errs {
		if errors.Is(err, blob.ErrTooLarge) || errors.Is(err, errNoBody) {
			// Permanent: larger than RFC822.SIZE said, or no body at all.
			// Dead-letter it (to the failed mailbox) instead of fetching
			// it again every retry_interval for ever.
			letters = append(letters, c.refusedLetter(uid, validity, metas[uid], err.Error()))
			continue
		}
		c.log.Error("imap: cannot store a message; will retry", "uid", uint32(uid), "err", err)
	}
	for _, uid := range bodies {
		ref, ok := refs[uid]
		if !ok {
			continue
		}
		m := metas[uid]
		id := m.messageID
		if id == "" {
			id = "sha256:" + ref.SHA256
		}
		l := c.newLetter(uid, validity, m, id, ref)
		if !c.scan(l, ref) {
			continue // clamd cannot scan now: the letter waits in the mailbox
		}
		letters = append(letters, l)
	}
	slices.SortFunc(letters, func(a, b *letter) int { return int(int64(a.uid) - int64(b.uid)) })
	return letters, nil
}

// scan has clamd scan a stored letter whole (clamd reads MIME and the
// attachments in it). Malware makes the letter a refused one: it is
// dead-lettered with its original and moved to the failed mailbox. It
// returns false when the letter cannot be scanned now and the policy says
// to wait (on_error: reject).
func (c *Channel) scan(l *letter, ref blob.Ref) bool {
	if len(c.cfg.Attachments.AllowedTypes) > 0 {
		l.item.Meta[MetaAllowedTypes] = c.cfg.Attachments.AllowedTypes
	}
	if c.av == nil {
		return true
	}
	rc, err := c.env.Blobs.Open(ref.SHA256)
	if err == nil {
		err = c.av.Scan(context.Background(), rc)
		rc.Close()
	}
	var inf *clamd.Infected
	switch {
	case err == nil:
		l.item.Meta[MetaAntivirus] = "clean"
	case errors.As(err, &inf):
		c.log.Warn("imap: letter rejected by the antivirus scanner", "uid", uint32(l.uid), "signature", inf.Signature)
		l.item.Meta[MetaAntivirus] = "infected"
		l.item.Meta[MetaRefused] = "the antivirus scanner found malware (" + inf.Signature + ")"
	case c.cfg.Attachments.Antivirus.OnError == "accept":
		c.log.Warn("imap: letter not scanned (antivirus.on_error: accept)", "uid", uint32(l.uid), "err", err)
		l.item.Meta[MetaAntivirus] = "unscanned"
	default:
		c.log.Error("imap: letter cannot be scanned; it waits in the mailbox", "uid", uint32(l.uid), "err", err)
		return false
	}
	return true
}

// fetchMeta reads size, date, envelope and References of each message;
// messages expunged meanwhile are missing from the result.
func (s *session) fetchMeta(uids []goimap.UID) (map[goimap.UID]*meta, error) {
	metas := map[goimap.UID]*meta{}
	err := s.guard(func() error {
		cmd := s.cl.Fetch(goimap.UIDSetNum(uids...), &goimap.FetchOptions{
			UID: true, RFC822Size: true, InternalDate: true, Envelope: true,
			BodySection: []*goimap.FetchItemBodySection{refsSection},
		})
		bufs, err := cmd.Collect()
		for _, b := range bufs {
			if b.UID != 0 {
				metas[b.UID] = newMeta(b)
			}
		}
		return err
	})
	return metas, err
}

func newMeta(b *imapclient.FetchMessageBuffer) *meta {
	m := &meta{size: b.RFC822Size, date: b.InternalDate}
	if e := b.Envelope; e != nil {
		m.messageID = e.MessageID
		m.inReplyTo = e.InReplyTo
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00", e.Subject, e.Date.UTC().Format(time.RFC3339), b.RFC822Size)
		for _, a := range e.From {
			fmt.Fprintf(h, "%s@%s\x00", a.Mailbox, a.Host)
		}
		m.digest = "envelope-sha256:" + hex.EncodeToString(h.Sum(nil))
	}
	for _, sub := range msgIDRe.FindAllStringSubmatch(string(b.FindBodySection(refsSection)), -1) {
		m.refs = append(m.refs, sub[1])
	}
	return m
}

// triage sorts a batch by its metadata: messages larger than
// max_message_size become refused letters (dead-lettered without
// download), the others are the bodies to fetch.
func (s *session) triage(uids []goimap.UID, metas map[goimap.UID]*meta, validity uint32) (refused []*letter, bodies []goimap.UID) {
	c := s.c
	max := int64(c.cfg.MaxMessageSize)
	for _, uid := range uids {
		m := metas[uid]
		switch {
		case m == nil:
			// Expunged meanwhile.
		case m.size > max:
			s.sink.Reject("too_large")
			c.log.Warn("imap: message larger than max_message_size; dead-lettering it without download",
				"uid", uint32(uid), "size", m.size, "max_message_size", max)
			refused = append(refused, c.refusedLetter(uid, validity, m, fmt.Sprintf("message of %d bytes exceeds max_message_size %d", m.size, max)))
		default:
			bodies = append(bodies, uid)
		}
	}
	return refused, bodies
}

// refusedLetter is a letter whose message is not (or cannot be) stored:
// it goes to normalize without an original, saying why, and is
// dead-lettered.
func (c *Channel) refusedLetter(uid goimap.UID, validity uint32, m *meta, why string) *letter {
	id := m.messageID
	if id == "" {
		id = m.digest
	}
	l := c.newLetter(uid, validity, m, id, blob.Ref{})
	l.item.Meta[MetaRefused] = why
	return l
}

// fetchBodies streams the bodies of uids into the blob store. It returns
// the stored refs and the messages that could not be stored; the error is
// the connection's. Bodies up to inMemoryMax are read off the connection
// into memory and stored by a few goroutines, so that the server is not
// kept waiting on fsync; larger ones are streamed straight into the store.
func (s *session) fetchBodies(uids []goimap.UID, metas map[goimap.UID]*meta) (map[goimap.UID]blob.Ref, map[goimap.UID]error, error) {
	c := s.c
	st := &bodyStore{c: c, refs: map[goimap.UID]blob.Ref{}, errs: map[goimap.UID]error{}, sem: make(chan struct{}, putParallel)}
	timer := time.AfterFunc(c.cfg.CommandTimeout.D(), func() { s.timedOut.Store(true); s.cl.Close() })
	defer timer.Stop()
	cmd := s.cl.Fetch(goimap.UIDSetNum(uids...), &goimap.FetchOptions{
		UID: true, BodySection: []*goimap.FetchItemBodySection{{Peek: true}},
	})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var uid goimap.UID
		for item := msg.Next(); item != nil; item = msg.Next() {
			timer.Reset(c.cfg.CommandTimeout.D())
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				if uid == 0 || metas[uid] == nil {
					continue // not asked for (the body is discarded)
				}
				if it.Literal == nil {
					st.stored(uid, blob.Ref{}, errNoBody)
					continue
				}
				lit := &progressReader{r: it.Literal, t: timer, d: c.cfg.CommandTimeout.D()}
				st.put(uid, lit, metas[uid].size)
			}
		}
	}
	err := cmd.Close()
	st.wg.Wait()
	if s.timedOut.Load() {
		err = fmt.Errorf("no answer from the server within %s: %w", c.cfg.CommandTimeout.D(), err)
	}
	return st.refs, st.errs, err
}

// bodyStore stores the bodies of one fetch.
type bodyStore struct {
	c    *Channel
	mu   sync.Mutex
	wg   sync.WaitGroup
	refs map[goimap.UID]blob.Ref
	errs map[goimap.UID]error
	sem  chan struct{}
}

func (b *bodyStore) stored(uid goimap.UID, ref blob.Ref, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.errs[uid] = err
	} else if !ref.IsZero() {
		b.refs[uid] = ref
	}
}

// put stores one literal, announced as size bytes: read into memory and
// stored in the background when small, streamed otherwise. The literal is
// consumed before put returns.
func (b *bodyStore) put(uid goimap.UID, lit io.Reader, size int64) {
	limit := int64(b.c.cfg.MaxMessageSize)
	blobs := b.c.env.Blobs
	if size > inMemoryMax {
		ref, err := blobs.Put(lit, limit)
		b.stored(uid, ref, err)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(lit, inMemoryMax+1)); err != nil {
		bufPool.Put(buf)
		b.stored(uid, blob.Ref{}, err)
		return
	}
	if buf.Len() > inMemoryMax { // larger than RFC822.SIZE said
		ref, err := blobs.Put(io.MultiReader(bytes.NewReader(buf.Bytes()), lit), limit)
		bufPool.Put(buf)
		b.stored(uid, ref, err)
		return
	}
	b.sem <- struct{}{}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		ref, err := blobs.Put(bytes.NewReader(buf.Bytes()), limit)
		bufPool.Put(buf)
		<-b.sem
		b.stored(uid, ref, err)
	}()
}

// errNoBody: the server answered a body fetch without the body.
var errNoBody = errors.New("the server sent no body")

// Letters up to inMemoryMax bytes are read into memory (at most
// putParallel at once) and stored in parallel; larger ones are streamed.
const (
	inMemoryMax = 512 << 10
	putParallel = 8
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// progressReader pushes the watchdog back while a literal is being read.
type progressReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.t.Reset(p.d)
	}
	return n, err
}

func (c *Channel) newLetter(uid goimap.UID, validity uint32, m *meta, sourceID string, ref blob.Ref) *letter {
	box := c.workbox()
	l := &letter{uid: uid, validity: validity, messageID: m.messageID}
	it := &channels.Item{
		Kind:       KindMail,
		SourceID:   sourceID,
		SourceRef:  c.sourceRef(box, validity, uid),
		ReceivedAt: m.date,
		Original:   ref,
		Meta: map[string]any{
			MetaUID:         uint32(uid),
			MetaMailbox:     box,
			MetaUIDValidity: validity,
			MetaSize:        m.size,
		},
	}
	if c.claiming() {
		it.Meta[MetaClaimedFrom] = c.cfg.Mailbox
	}
	// A reply to a letter taken in: In-Reply-To first, then References
	// from the nearest ancestor back.
	ids := append([]string(nil), m.inReplyTo...)
	for i := len(m.refs) - 1; i >= 0; i-- {
		ids = append(ids, m.refs[i])
	}
	if tn := c.index.lookup(ids...); tn != "" {
		it.Meta[MetaThreadTrackingNo] = tn
	}
	it.Ack = func(out channels.Outcome) { c.acked(l, out) }
	l.item = it
	return l
}

// applyMoves moves acknowledged letters out of the work mailbox, one UID
// MOVE per destination.
func (s *session) applyMoves() error {
	c := s.c
	now := time.Now()
	c.mu.Lock()
	var due, later []move
	for _, m := range c.moves {
		switch {
		case m.validity != c.validity:
			// The mailbox changed under us: the letter is taken in again.
		case m.notBefore.After(now):
			later = append(later, m)
		default:
			due = append(due, m)
		}
	}
	c.moves = later
	c.mu.Unlock()
	if len(due) == 0 {
		return nil
	}
	for _, m := range due {
		if m.trackingNo != "" && m.messageID != "" {
			if err := c.index.add(m.messageID, m.trackingNo); err != nil {
				c.log.Warn("imap: cannot record the letter in the thread index", "err", err)
			}
		}
	}
	requeue := func(ms []move, notBefore time.Time) {
		c.mu.Lock()
		for _, m := range ms {
			m.notBefore = notBefore
			c.moves = append(c.moves, m)
		}
		c.mu.Unlock()
	}
	if _, err := s.selectBox(c.workbox()); err != nil {
		requeue(due, time.Time{})
		return err
	}
	var dests []string
	groups := map[string][]move{}
	for _, m := range due {
		if _, ok := groups[m.dest]; !ok {
			dests = append(dests, m.dest)
		}
		groups[m.dest] = append(groups[m.dest], m)
	}
	for i, dest := range dests {
		ms := groups[dest]
		uids := make([]goimap.UID, len(ms))
		for j, m := range ms {
			uids[j] = m.uid
		}
		err := s.move(uids, dest)
		if err != nil && isNo(err) {
			c.log.Error("imap: the server refused to move letters; will retry", "to", dest, "letters", len(uids), "err", err)
			requeue(ms, time.Now().Add(c.cfg.RetryInterval.D()))
			continue
		}
		if err != nil {
			for _, d := range dests[i:] {
				requeue(groups[d], time.Time{})
			}
			return fmt.Errorf("move to %q: %w", dest, err)
		}
		c.mu.Lock()
		for _, m := range ms {
			if m.validity == c.validity {
				delete(c.busy, m.uid)
			}
		}
		c.moved += int64(len(ms))
		c.mu.Unlock()
		c.log.Debug("imap: moved letters", "to", dest, "letters", len(uids))
	}
	return nil
}

// move runs UID MOVE, creating a missing destination once. On a server
// without MOVE it copies, and only once the copy succeeded flags the
// originals \Deleted (and expunges exactly them with UIDPLUS): the
// library's own fallback sends COPY, STORE and EXPUNGE together, so a
// failed COPY would still expunge the letter.
func (s *session) move(uids []goimap.UID, dest string) error {
	set := goimap.UIDSetNum(uids...)
	if !s.cl.Caps().Has(goimap.CapMove) {
		return s.copyThenDelete(set, dest)
	}
	var data *imapclient.MoveData
	err := s.guard(wrap(s.cl.Move(set, dest).Wait, &data))
	if s.tryCreate(err, dest) {
		err = s.guard(wrap(s.cl.Move(set, dest).Wait, &data))
	}
	return err
}

// tryCreate creates dest when err says it is missing and the settings
// allow it; it reports whether to try again.
func (s *session) tryCreate(err error, dest string) bool {
	var ie *goimap.Error
	if err == nil || !errors.As(err, &ie) || ie.Code != goimap.ResponseCodeTryCreate || !s.c.cfg.CreateMailboxes {
		return false
	}
	return s.createMailbox(dest) == nil
}

func (s *session) copyThenDelete(set goimap.UIDSet, dest string) error {
	var data *goimap.CopyData
	err := s.guard(wrap(s.cl.Copy(set, dest).Wait, &data))
	if s.tryCreate(err, dest) {
		err = s.guard(wrap(s.cl.Copy(set, dest).Wait, &data))
	}
	if err != nil {
		return err
	}
	flags := &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Silent: true, Flags: []goimap.Flag{goimap.FlagDeleted}}
	if err := s.guard(s.cl.Store(set, flags, nil).Close); err != nil {
		return err
	}
	if s.cl.Caps().Has(goimap.CapUIDPlus) {
		return s.guard(s.cl.UIDExpunge(set).Close)
	}
	// Without UIDPLUS an EXPUNGE would remove every \Deleted message, also
	// ones others flagged: leave them flagged (they no longer count as
	// pending) for the mailbox's own housekeeping.
	return nil
}

// Keywords of the claim protocol (processing_mailbox). Dovecot, like other
// servers, does not make MOVE atomic between sessions: two instances moving
// the same message at once can both get a copy. So a letter is first
// flagged with a conditional STORE (CONDSTORE UNCHANGEDSINCE), which only
// one instance can win, and only the winner moves it.
const claimedKeyword = "$PetitiondClaimed"

// claimKeyword is this instance's own keyword, derived from its processing
// mailbox (unique per instance).
func (c *Channel) claimKeyword() goimap.Flag {
	sum := sha256.Sum256([]byte(c.cfg.ProcessingMailbox))
	return goimap.Flag("$PetitiondClaim-" + hex.EncodeToString(sum[:4]))
}

// claim moves letters from the shared mailbox to this instance's
// processing mailbox (processing_mailbox set). It returns how many.
func (s *session) claim() (int, error) {
	c := s.c
	room := min(c.slots.Room(), c.cfg.BatchSize)
	if room == 0 || !(s.inboxDue || s.inboxMore) {
		return 0, nil
	}
	if _, err := s.selectBox(c.cfg.Mailbox); err != nil {
		return 0, err
	}
	s.inboxDue = false
	mine := c.claimKeyword()
	safe := s.cl.Caps().Has(goimap.CapCondStore)
	if mb := s.cl.Mailbox(); safe && mb != nil {
		safe = slices.Contains(mb.PermanentFlags, goimap.FlagWildcard)
	}
	if !safe && !s.warnedUnsafe {
		s.warnedUnsafe = true
		c.log.Warn("imap: the server lacks CONDSTORE or keywords: claiming by MOVE alone, so instances sharing the mailbox may take in a letter twice (same id)",
			"mailbox", c.cfg.Mailbox)
	}
	var take []goimap.UID
	var fresh []goimap.UID
	var err error
	if safe {
		// Letters this instance flagged before it stopped are its own.
		if take, err = s.search(mine); err != nil {
			return 0, err
		}
		if fresh, err = s.search("", claimedKeyword); err != nil {
			return 0, err
		}
	} else if fresh, err = s.search(""); err != nil {
		return 0, err
	}
	s.inboxCount = len(take) + len(fresh)
	s.inboxLeft = s.inboxCount
	take = take[:min(len(take), room)]
	n := min(len(fresh), room-len(take))
	s.inboxMore = len(take)+len(fresh) > room
	if n > 0 && safe {
		won, err := s.flagClaim(fresh[:n], mine)
		if err != nil {
			return 0, err
		}
		if len(won) < n {
			s.inboxMore = true // lost some to another instance: look again
		}
		take = append(take, won...)
	} else if n > 0 {
		take = append(take, fresh[:n]...)
	}
	if len(take) == 0 {
		return 0, nil
	}
	slices.Sort(take)
	if err := s.move(take, c.cfg.ProcessingMailbox); err != nil {
		if isNo(err) {
			// Expunged meanwhile (another instance without the
			// keywords), or the server refused: some may have moved.
			c.log.Warn("imap: could not claim letters", "mailbox", c.cfg.Mailbox, "err", err)
			s.inboxMore = true
			s.needSearch = true
			return 0, nil
		}
		return 0, fmt.Errorf("claim: %w", err)
	}
	c.log.Debug("imap: claimed letters", "from", c.cfg.Mailbox, "to", c.cfg.ProcessingMailbox, "letters", len(take))
	s.inboxLeft = max(0, s.inboxLeft-len(take))
	s.needSearch = true
	s.stripClaims = safe
	return len(take), nil
}

// flagClaim flags uids with the claim keywords unless another session
// changed them since they were looked at, and returns those it won.
func (s *session) flagClaim(uids []goimap.UID, mine goimap.Flag) ([]goimap.UID, error) {
	set := goimap.UIDSetNum(uids...)
	var bufs []*imapclient.FetchMessageBuffer
	if err := s.guard(wrap(s.cl.Fetch(set, &goimap.FetchOptions{UID: true, ModSeq: true, Flags: true}).Collect, &bufs)); err != nil {
		return nil, fmt.Errorf("claim: fetch modseq: %w", err)
	}
	var since uint64
	var cand []goimap.UID
	for _, b := range bufs {
		if b.UID == 0 || slices.Contains(b.Flags, goimap.Flag(claimedKeyword)) {
			continue
		}
		since = max(since, b.ModSeq)
		cand = append(cand, b.UID)
	}
	if len(cand) == 0 || since == 0 {
		return nil, nil
	}
	set = goimap.UIDSetNum(cand...)
	store := &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Silent: true, Flags: []goimap.Flag{claimedKeyword, mine}}
	if err := s.guard(s.cl.Store(set, store, &goimap.StoreOptions{UnchangedSince: since}).Close); err != nil {
		if isNo(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("claim: store: %w", err)
	}
	if err := s.guard(wrap(s.cl.Fetch(set, &goimap.FetchOptions{UID: true, Flags: true}).Collect, &bufs)); err != nil {
		return nil, fmt.Errorf("claim: fetch flags: %w", err)
	}
	var won []goimap.UID
	for _, b := range bufs {
		if b.UID != 0 && slices.Contains(b.Flags, mine) {
			won = append(won, b.UID)
		}
	}
	return won, nil
}

// unflagClaims removes the claim keywords from the letters moved into the
// processing mailbox (selected), so that a letter an operator puts back
// into the shared mailbox is claimed again.
func (s *session) unflagClaims() error {
	var all goimap.UIDSet
	all.AddRange(1, 0)
	store := &goimap.StoreFlags{Op: goimap.StoreFlagsDel, Silent: true, Flags: []goimap.Flag{claimedKeyword, s.c.claimKeyword()}}
	if err := s.guard(s.cl.Store(all, store, nil).Close); err != nil && !isNo(err) {
		return fmt.Errorf("unflag claims: %w", err)
	}
	return nil
}

// waitForWork waits, in IDLE when it can, until new mail is announced, an
// ack or the end of a pause wakes the channel, or the poll interval
// passes.
func (s *session) waitForWork(ctx context.Context) error {
	c := s.c
	d := c.cfg.PollInterval.D()
	c.mu.Lock()
	if p := time.Until(c.pauseUntil); p > 0 && p < d {
		d = p
	}
	for _, t := range c.retryAt {
		if u := time.Until(t); u < d {
			d = max(u, 10*time.Millisecond)
		}
	}
	due := false
	now := time.Now()
	for _, m := range c.moves {
		if m.validity != c.validity || !m.notBefore.After(now) {
			due = true
		} else if u := m.notBefore.Sub(now); u < d {
			d = u
		}
	}
	c.mu.Unlock()
	if due || c.dirty.Load() {
		return nil
	}
	box := c.workbox()
	if c.claiming() {
		box = c.cfg.Mailbox
	}
	if !s.idle || c.outstanding() > 0 {
		// Without IDLE; or acks are due soon, and the commands that apply
		// them bring new-mail announcements (EXISTS) too.
		timedOut := false
		err := s.wait(&timedOut, ctx.Done(), d)
		if timedOut {
			s.needSearch, s.inboxDue = true, true
		}
		return err
	}
	data, err := s.selectBox(box)
	if err != nil {
		return err
	}
	if data != nil && data.NumMessages > 0 && c.claiming() {
		// Letters arrived in the shared mailbox while it was not selected.
		s.inboxDue = true
		return nil
	}
	// A NOOP first: it brings what the server has pending (a letter that
	// arrived since the last command), for servers that do not send it
	// when IDLE starts.
	if err := s.guard(s.cl.Noop().Wait); err != nil {
		return fmt.Errorf("noop: %w", err)
	}
	if c.dirty.Load() {
		return nil
	}
	var idle *imapclient.IdleCommand
	if err := s.guard(func() (err error) { idle, err = s.cl.Idle(); return err }); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	timedOut := false
	err = s.wait(&timedOut, ctx.Done(), d)
	if cerr := idle.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("idle: %w", cerr)
	}
	if werr := s.guard(idle.Wait); err == nil && werr != nil {
		err = fmt.Errorf("idle: %w", werr)
	}
	if timedOut {
		// Search again now and then, in case a notification was lost.
		s.needSearch, s.inboxDue = true, true
	}
	return err
}

// wait blocks until the channel is woken, done is closed, d passes (then
// *timedOut is set) or the connection closes (an error).
func (s *session) wait(timedOut *bool, done <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.c.wake:
	case <-done:
	case <-t.C:
		if timedOut != nil {
			*timedOut = true
		}
	case <-s.cl.Closed():
		return errClosed
	}
	return nil
}

func (s *session) logout() {
	done := make(chan struct{})
	go func() { s.cl.Logout().Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}
