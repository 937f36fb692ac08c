// Package web is the HTTP submission channel.
//
// Acknowledgement: a request is answered 201 only after Kafka acknowledged
// the record; when the pipeline or Kafka cannot take it the answer is 503 with
// Retry-After, and a request already handed to the pipeline is always waited
// for (never a timeout answer for something that may still be delivered).
// With an Idempotency-Key header the petition id is derived from the key, so
// a retry gets the same id and the same reply.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/internal/clamd"
	"github.com/court12368/petitiond/mapping"
	"github.com/court12368/petitiond/petition"
)

// fieldList names the petition input fields a client may send, for errors.
var fieldList = func() string {
	var names []string
	for _, f := range petition.InputFields {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}()

// Channel is a running web channel.
type Channel struct {
	cfg    *Config
	env    channels.Env
	log    *slog.Logger
	idem   *idemStore
	limit  *limiter
	sink   channels.Sink
	stager blob.Stager

	av         *clamd.Client
	authFail   *limiter // failed authentications per client
	authLogMu  sync.Mutex
	authLogged map[string]time.Time

	mu    sync.Mutex
	ln    net.Listener // bound, not yet served
	addr  net.Addr
	ready chan struct{}
}

// New builds the channel; it listens when Run is called.
func New(cfg *Config, env channels.Env) (*Channel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	idem, err := newIdemStore(env.StateDir, idemLimits{ttl: cfg.IdempotencyTTL.D(), maxKeys: cfg.IdempotencyMaxKeys,
		maxBytes: int64(cfg.IdempotencyMaxBytes), perClient: cfg.IdempotencyMaxKeysPerClient})
	if err != nil {
		return nil, err
	}
	stager, ok := env.Blobs.(blob.Stager)
	if !ok {
		return nil, errors.New("web: the blob store has no staging area")
	}
	c := &Channel{cfg: cfg, env: env, log: env.Logger, idem: idem, ready: make(chan struct{}), stager: stager}
	if cfg.RateLimit.PerSecond > 0 {
		c.limit = newLimiter(cfg.RateLimit.PerSecond, cfg.RateLimit.Burst)
	}
	if cfg.Attachments.Antivirus.Address != "" {
		if c.av, err = cfg.Attachments.Scanner(); err != nil {
			return nil, err
		}
	}
	if cfg.AuthFailureLimit.PerSecond > 0 {
		c.authFail = newLimiter(cfg.AuthFailureLimit.PerSecond, cfg.AuthFailureLimit.Burst)
	}
	return c, nil
}

// Addr returns the listening address once Run listens (for tests).
func (c *Channel) Addr(ctx context.Context) (net.Addr, error) {
	select {
	case <-c.ready:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.addr, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Bind implements channels.Binder: it opens the listener, so that an
// address that cannot be bound fails the start or the reload.
func (c *Channel) Bind() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		return nil
	}
	ln, err := c.env.Listen(c.cfg.Listen)
	if err != nil {
		return fmt.Errorf("web: listen: %w", err)
	}
	if c.cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.cfg.TLSCertFile, c.cfg.TLSKeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("web: tls: %w", err)
		}
		// HTTP/1.1 only: the guard follows its framing.
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
	}
	c.ln, c.addr = c.guardListener(ln), ln.Addr()
	select {
	case <-c.ready:
	default:
		close(c.ready)
	}
	return nil
}

// Close implements channels.Binder: it closes a listener Run did not take.
func (c *Channel) Close() error {
	c.mu.Lock()
	ln := c.ln
	c.ln = nil
	c.mu.Unlock()
	if ln == nil {
		return nil
	}
	return ln.Close()
}

// Run serves until ctx is done, then stops taking requests and waits (up to
// the drain timeout) for requests whose records are in flight. It serves
// on the listener Bind opened (or binds itself, when restarted).
func (c *Channel) Run(ctx context.Context, sink channels.Sink) error {
	c.sink = sink
	if err := c.Bind(); err != nil {
		return err
	}
	c.mu.Lock()
	ln := c.ln
	c.ln = nil // Run's now
	c.mu.Unlock()
	defer ln.Close()
	doc, err := c.openAPI()
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(c.cfg.Path, c.guard(c))
	mux.Handle(specPath(c.cfg.Path), c.serveOpenAPI(doc))
	var conns connTracker
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// The body's deadline is the guard's (read_timeout + min_read_rate).
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(c.log.Handler(), slog.LevelDebug),
		ConnContext: withConn,
		ConnState:   conns.track,
	}
	c.log.Info("web channel listening", "addr", ln.Addr().String(), "path", c.cfg.Path)
	if c.cfg.AuthToken == "" && !loopback(c.cfg.Listen) {
		c.log.Warn("SECURITY: web channel listens beyond loopback without auth_token: anyone who reaches it can submit petitions "+
			"(as a public citizen portal must; otherwise bind it to 127.0.0.1 or set auth_token_file)", "addr", ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	sweep := time.NewTicker(time.Hour)
	defer sweep.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("web: serve: %w", err)
		case <-sweep.C:
			c.idem.sweep()
			k, b, ev := c.idem.stats()
			c.log.Info("web: idempotency replies kept", "keys", k, "bytes", b, "evicted_total", ev)
		case <-ctx.Done():
			dctx, cancel := c.env.DrainContext(ctx)
			defer cancel()
			// Take no new connection (a reloaded channel's successor
			// takes them from the shared socket), answer the ones taken
			// (closing them after), then shut down. Shutdown alone would
			// drop a connection whose first request arrives after it
			// began.
			srv.SetKeepAlivesEnabled(false)
			ln.Close()
			err := conns.wait(dctx)
			if err == nil {
				err = srv.Shutdown(dctx) // waits for handlers, which wait for their acks
			} else {
				srv.Shutdown(dctx)
			}
			if err != nil {
				c.log.Warn("web channel: drain deadline passed with requests in flight", "err", err)
			}
			return nil
		}
	}
}

// connTracker counts the server's connections that are new (accepted, no
// request read yet) or active (a request in progress).
type connTracker struct {
	mu   sync.Mutex
	busy map[net.Conn]bool
	zero chan struct{} // closed when busy becomes empty
}

func (t *connTracker) track(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.busy == nil {
		t.busy = map[net.Conn]bool{}
	}
	switch st {
	case http.StateNew, http.StateActive:
		t.busy[c] = true
	default:
		delete(t.busy, c)
	}
	if len(t.busy) == 0 && t.zero != nil {
		close(t.zero)
		t.zero = nil
	}
}

// wait waits until no connection is new or active, or ctx is done.
func (t *connTracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if len(t.busy) == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.zero == nil {
		t.zero = make(chan struct{})
	}
	z := t.zero
	t.mu.Unlock()
	select {
	case <-z:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reply is the 201 body.
type reply struct {
	ID         string `json:"id"`
	TrackingNo string `json:"tracking_no"`
	ReceivedAt string `json:"received_at"`
	Status     string `json:"status,omitempty"`
}

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func (c *Channel) fail(w http.ResponseWriter, status int, reason, field, format string, args ...any) {
	c.sink.Reject(reason)
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int((c.cfg.RetryAfter.D()+time.Second-1)/time.Second)))
	}
	writeJSON(w, status, apiError{Error: fmt.Sprintf(format, args...), Field: field})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// ServeHTTP handles one submission: admit the request, read its body,
// make the item, claim its Idempotency-Key, hand it to the pipeline and
// answer with the outcome.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	key, ok := c.admit(w, r, received)
	if !ok {
		return
	}
	in, status, field, err := c.read(r)
	if in != nil {
		defer in.discard() // a rejected or failed request leaves nothing behind
	}
	if err != nil {
		c.refuseInput(w, status, field, err)
		return
	}
	item, key := c.newItem(r, in, key, received)
	var fp string
	if key != "" {
		fp = in.fingerprint()
		release, answered := c.claimKey(w, r, key, fp)
		if answered {
			return
		}
		defer release()
	}
	o, ok := c.deliver(w, r, item)
	if !ok {
		return
	}
	c.answer(w, r, item, o, key, fp, received)
}

// admit checks everything that is decided before the body is read (the
// guard has checked the framing, the origin and the bearer token): path,
// method, rate limit, the Idempotency-Key's form and whether
// the pipeline can take petitions. It returns the Idempotency-Key, or false
// when it answered the request.
func (c *Channel) admit(w http.ResponseWriter, r *http.Request, received time.Time) (string, bool) {
	if r.URL.Path != c.cfg.Path {
		writeJSON(w, http.StatusNotFound, apiError{Error: "not found"})
		return "", false
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSON(w, http.StatusMethodNotAllowed, apiError{Error: "use POST"})
		return "", false
	}
	if c.limit != nil && !c.limit.allow(c.clientKey(r), received) {
		c.fail(w, http.StatusTooManyRequests, "rate_limited", "", "too many requests from this client; retry later")
		return "", false
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !validKey(key) {
		c.fail(w, http.StatusBadRequest, "bad_request", "Idempotency-Key", "Idempotency-Key must be 1 to 255 visible ASCII characters")
		return "", false
	}
	// A retry of an answered request gets its stored reply even while
	// Kafka is down; anything else is refused before the body is read.
	if !c.sink.Healthy() && (key == "" || !c.idem.answered(key)) {
		c.fail(w, http.StatusServiceUnavailable, "unavailable", "", "petitions cannot be accepted right now; retry later")
		return "", false
	}
	return key, true
}

// refuseInput answers a body that could not be read, with the status read
// chose.
func (c *Channel) refuseInput(w http.ResponseWriter, status int, field string, err error) {
	reason := map[int]string{400: "bad_request", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "rate_limited", 503: "unavailable"}[status]
	if reason == "" {
		reason = "error"
	}
	c.fail(w, status, reason, field, "%v", err)
}

// newItem makes the item of a submission. Its source id is the
// Idempotency-Key, or the partner's own message id (mapped source_id),
// or a fresh one; the key returned is the one replies are remembered by.
func (c *Channel) newItem(r *http.Request, in *input, key string, received time.Time) (*channels.Item, string) {
	item := &channels.Item{
		Kind:          channels.KindFields,
		ReceivedAt:    received,
		Fields:        in.fields,
		Original:      in.original,
		Attachments:   in.attachments,
		Promote:       in.promote,
		RejectInvalid: true,
		Meta: map[string]any{
			"web.content_type": in.contentType,
			"web.client_ip":    clientIP(r, c.cfg.TrustedProxies),
		},
	}
	if len(in.extra) > 0 {
		item.Meta["extra"] = in.extra
	}
	if in.antivirus != "" {
		item.Meta["web.antivirus"] = in.antivirus
	}
	if m := in.mapped; m != nil {
		for k, v := range m.Meta {
			item.Meta[k] = v
		}
		if !m.ReceivedAt.IsZero() {
			item.ReceivedAt = m.ReceivedAt
		}
		if m.SourceID != "" && key == "" {
			// The partner's own message id: its retries map to one petition.
			key = "mapped:" + m.SourceID
		}
	}
	if key != "" {
		item.SourceID = "idempotency-key:" + key
		item.SourceRef = "http " + c.cfg.Path + " Idempotency-Key"
	} else {
		item.SourceID = "request:" + uuid.NewString()
		item.SourceRef = "http " + c.cfg.Path
	}
	return item, key
}

// claimKey makes this request the one in progress for key (a concurrent
// one with the same key waits for it). It answers the request itself
// (true) when the key was answered before — with the stored reply — or
// used for different content, or cannot be claimed; else release must be
// called when the request is done.
func (c *Channel) claimKey(w http.ResponseWriter, r *http.Request, key, fp string) (release func(), answered bool) {
	prev, release, err := c.idem.begin(r.Context(), key, fp)
	switch {
	case errors.Is(err, errKeyConflict):
		c.fail(w, http.StatusUnprocessableEntity, "idempotency_conflict", "Idempotency-Key", "this Idempotency-Key was used for a different petition")
		return nil, true
	case err != nil:
		c.fail(w, http.StatusServiceUnavailable, "unavailable", "", "petitions cannot be accepted right now; retry later")
		return nil, true
	case prev != nil:
		w.Header().Set("Idempotent-Replayed", "true")
		c.audit(r, prev.Status, prev.Body, true)
		writeJSON(w, prev.Status, prev.Body)
		return nil, true
	}
	return release, false
}

// deliver hands the item to the pipeline and waits for its outcome. It
// answers 503 itself (false) when the pipeline does not take the item.
func (c *Channel) deliver(w http.ResponseWriter, r *http.Request, item *channels.Item) (channels.Outcome, bool) {
	done := make(chan channels.Outcome, 1)
	item.Ack = func(o channels.Outcome) { done <- o }
	if err := c.sink.TrySubmit(r.Context(), item, c.cfg.QueueWait.D()); err != nil {
		c.fail(w, http.StatusServiceUnavailable, "unavailable", "", "petitions cannot be accepted right now; retry later")
		return channels.Outcome{}, false
	}
	// From here the record may be delivered: wait for the outcome, however
	// long Kafka takes, even if the client has gone.
	return <-done, true
}

// answer replies with the outcome, and remembers the reply for the
// Idempotency-Key.
func (c *Channel) answer(w http.ResponseWriter, r *http.Request, item *channels.Item, o channels.Outcome, key, fp string, received time.Time) {
	switch {
	case o.Err != nil:
		c.log.Warn("web: petition not acknowledged by Kafka", "err", o.Err)
		c.fail(w, http.StatusServiceUnavailable, "unavailable", "", "petition could not be stored; retry later (with the same Idempotency-Key)")
	case o.Invalid != nil:
		c.fail(w, http.StatusUnprocessableEntity, "invalid", o.Invalid.Field, "%s", o.Invalid.Reason)
	case len(o.Records) > 0:
		p := o.Records[0]
		c.reply(w, r, key, fp, http.StatusCreated, reply{ID: p.ID, TrackingNo: p.TrackingNo, ReceivedAt: p.ReceivedAt.UTC().Format(time.RFC3339Nano)})
	default: // dead-lettered: delivered for review, but not as a petition record
		// The citizen gets a receipt either way: the dead letter carries
		// the id the petition will have.
		id := petition.ID(c.env.Name, item.SourceID)
		c.reply(w, r, key, fp, http.StatusAccepted, reply{ID: id, TrackingNo: petition.TrackingNo(id), Status: "held_for_review", ReceivedAt: received.UTC().Format(time.RFC3339Nano)})
	}
}

// reply answers an accepted submission (201, or 202 held for review),
// remembers the reply for the Idempotency-Key and writes the audit line.
func (c *Channel) reply(w http.ResponseWriter, r *http.Request, key, fp string, status int, body reply) {
	if key != "" {
		if err := c.idem.store(key, fp, clientIP(r, c.cfg.TrustedProxies), status, body); err != nil {
			c.log.Warn("web: idempotency reply not saved; a retry gets the same id but a new reply", "err", err)
		}
	}
	c.audit(r, status, body, false)
	writeJSON(w, status, body)
}

func validKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// input is a parsed submission.
type input struct {
	fields      map[petition.Field]string
	mapped      *mapping.Result
	extra       map[string]any
	original    blob.Ref
	attachments []channels.Attachment
	contentType string
	// staged is what goes into the blob store once the petition is
	// accepted (promote); discard deletes what was not.
	staged []*blob.Staged
	// antivirus is what the scan of the attachments said: clean,
	// unscanned, or "" without scanning.
	antivirus string
}

// promote moves the staged original and attachments into the store.
func (in *input) promote() error {
	for _, s := range in.staged {
		if err := s.Promote(); err != nil {
			return err
		}
	}
	return nil
}

// discard deletes staged data that was not promoted.
func (in *input) discard() {
	for _, s := range in.staged {
		s.Discard()
	}
}

// fingerprint identifies the content of a submission independent of its
// encoding (a retried multipart request has a new boundary).
func (in *input) fingerprint() string {
	h := sha256.New()
	keys := make([]petition.Field, 0, len(in.fields))
	for k := range in.fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var n [8]byte
	put := func(s string) { // length-prefixed, so no two inputs collide
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		io.WriteString(h, s)
	}
	for _, k := range keys {
		put(string(k))
		put(in.fields[k])
	}
	for _, a := range in.attachments {
		put("attachment")
		put(a.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// read parses the body by content type, storing the original.
func (c *Channel) read(r *http.Request) (in *input, status int, field string, err error) {
	ct, params, perr := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if perr != nil {
		return nil, 415, "Content-Type", fmt.Errorf("missing or malformed Content-Type; send application/json, application/x-www-form-urlencoded or multipart/form-data")
	}
	in = &input{fields: map[petition.Field]string{}, contentType: ct}
	switch ct {
	case "application/json", "application/x-www-form-urlencoded":
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, int64(c.cfg.MaxBodySize)))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, 413, "", fmt.Errorf("body larger than %d bytes", c.cfg.MaxBodySize)
		}
		if err != nil {
			return nil, 400, "", fmt.Errorf("reading body: %v", err)
		}
		if ct == "application/json" {
			if f, err := c.parseJSON(body, in); err != nil {
				st := 400
				if f != "" {
					st = 422
				}
				return nil, st, f, err
			}
		} else {
			if f, err := c.parseForm(body, in); err != nil {
				st := 400
				if f != "" {
					st = 422
				}
				return nil, st, f, err
			}
		}
		// Written to the store only once the petition is accepted.
		st := c.stager.StageBytes(body)
		in.staged = append(in.staged, st)
		in.original = st.Ref
	case "multipart/form-data":
		if params["boundary"] == "" {
			return nil, 400, "Content-Type", fmt.Errorf("multipart/form-data without boundary")
		}
		// Keep the whole request as the original, streamed to the staging
		// area, then parse it from there: attachments never sit in memory,
		// and nothing reaches the store before the petition is accepted.
		st, status, err := c.stage(r.Body, int64(c.cfg.MaxRequestSize), clientIP(r, c.cfg.TrustedProxies), "request")
		if err != nil {
			return nil, status, "", err
		}
		in.staged = append(in.staged, st)
		in.original = st.Ref
		if f, st, err := c.parseMultipart(st, params["boundary"], clientIP(r, c.cfg.TrustedProxies), in); err != nil {
			return in, st, f, err
		}
	default:
		return nil, 415, "Content-Type", fmt.Errorf("unsupported Content-Type %q; send application/json, application/x-www-form-urlencoded or multipart/form-data", ct)
	}
	return in, 0, "", nil
}

func (c *Channel) setField(in *input, k string, v any) (string, error) {
	f := petition.Field(k)
	if !petition.IsInput(f) {
		if c.cfg.AllowUnknownFields {
			if in.extra == nil {
				in.extra = map[string]any{}
			}
			in.extra[k] = v
			return "", nil
		}
		return k, fmt.Errorf("unknown field %q (known: %s)", k, fieldList)
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String() // e.g. a phone sent as a number
	case nil:
		return "", nil
	default:
		return k, fmt.Errorf("field %q must be a string", k)
	}
	if _, dup := in.fields[f]; dup {
		return k, fmt.Errorf("field %q given twice", k)
	}
	in.fields[f] = s
	return "", nil
}

func (c *Channel) parseJSON(body []byte, in *input) (string, error) {
	if !utf8.Valid(body) {
		return "", fmt.Errorf("malformed JSON: not valid UTF-8")
	}
	obj, ok := decodeFlat(body)
	if !ok {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return "", fmt.Errorf("malformed JSON: %v", err)
		}
		if dec.More() {
			return "", fmt.Errorf("malformed JSON: more than one value")
		}
	}
	if obj == nil {
		return "", fmt.Errorf("malformed JSON: want an object")
	}
	if f, err := duplicateKey(body); err != nil {
		return f, err
	}
	if c.env.Mapper != nil {
		return c.applyMapping(in, obj)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := obj[k]
		if k == "petitioner" {
			sub, ok := v.(map[string]any)
			if !ok {
				return "petitioner", fmt.Errorf("field \"petitioner\" must be an object")
			}
			subKeys := make([]string, 0, len(sub))
			for sk := range sub {
				subKeys = append(subKeys, sk)
			}
			sort.Strings(subKeys)
			for _, sk := range subKeys {
				if f, err := c.setField(in, sk, sub[sk]); err != nil {
					return "petitioner." + f, err
				}
			}
			continue
		}
		if f, err := c.setField(in, k, v); err != nil {
			return f, err
		}
	}
	return "", nil
}

func (c *Channel) parseForm(body []byte, in *input) (string, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return "", fmt.Errorf("malformed form body: %v", err)
	}
	if c.env.Mapper != nil {
		return c.applyMapping(in, map[string][]string(vals))
	}
	for k, vs := range vals {
		if len(vs) > 1 {
			return k, fmt.Errorf("field %q given twice", k)
		}
		if f, err := c.setField(in, k, vs[0]); err != nil {
			return f, err
		}
	}
	return "", nil
}

func (c *Channel) parseMultipart(orig *blob.Staged, boundary, client string, in *input) (string, int, error) {
	f, err := orig.Open()
	if err != nil {
		return "", 503, fmt.Errorf("petition could not be stored; retry later")
	}
	defer f.Close()
	mr := multipart.NewReader(f, boundary)
	textLeft := int64(c.cfg.MaxBodySize)
	var mapped map[string][]string
	if c.env.Mapper != nil {
		mapped = map[string][]string{}
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 400, fmt.Errorf("malformed multipart body: %v", err)
		}
		name := part.FormName()
		if part.FileName() == "" {
			v, err := io.ReadAll(io.LimitReader(part, textLeft+1))
			if err != nil {
				return name, 400, fmt.Errorf("malformed multipart body: %v", err)
			}
			textLeft -= int64(len(v))
			if textLeft < 0 {
				return "", 413, fmt.Errorf("form fields larger than %d bytes", c.cfg.MaxBodySize)
			}
			if mapped != nil {
				mapped[name] = append(mapped[name], string(v))
				continue
			}
			if f, err := c.setField(in, name, string(v)); err != nil {
				return f, 422, err
			}
			continue
		}
		if len(in.attachments) >= c.cfg.MaxAttachments {
			return name, 413, fmt.Errorf("more than %d attachments", c.cfg.MaxAttachments)
		}
		ast, status, err := c.stage(part, int64(c.cfg.MaxAttachmentSize), client, "attachment")
		if err != nil {
			if status == 400 || status == 413 {
				return name, status, err
			}
			return "", status, err
		}
		in.staged = append(in.staged, ast)
		st, scan, err := c.checkAttachment(ast, name, client)
		if err != nil {
			if st == 503 {
				return "", st, err
			}
			return name, st, err
		}
		if scan != "" && in.antivirus != "unscanned" {
			in.antivirus = scan
		}
		ctype := part.Header.Get("Content-Type")
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		in.attachments = append(in.attachments, channels.Attachment{Filename: part.FileName(), ContentType: ctype, SniffedType: ast.Sniffed, Ref: ast.Ref})
	}
	if mapped != nil {
		if f, err := c.applyMapping(in, mapped); err != nil {
			return f, 422, err
		}
	}
	return "", 0, nil
}

// applyMapping fills the input from a foreign document with the channel's
// mapping.
func (c *Channel) applyMapping(in *input, doc any) (string, error) {
	res, err := c.env.Mapper.Apply(doc)
	if err != nil {
		var me *mapping.Error
		if errors.As(err, &me) {
			return me.Target, err
		}
		return "", err
	}
	in.fields = res.Fields
	in.mapped = res
	return "", nil
}

// clientKey identifies the client for rate limiting.
func (c *Channel) clientKey(r *http.Request) string { return clientIP(r, c.cfg.TrustedProxies) }

func clientIP(r *http.Request, trusted []string) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	for _, t := range trusted {
		if t == host {
			if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
				parts := strings.Split(xff, ",")
				return strings.TrimSpace(parts[len(parts)-1])
			}
		}
	}
	return host
}

var (
	_ channels.Channel = (*Channel)(nil)
	_ channels.Binder  = (*Channel)(nil)
)
