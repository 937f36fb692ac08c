package calllog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/court12368/petitiond/channels"
)

// CTI event types.
const (
	evNew    = "new"
	evAnswer = "answer"
	evHangup = "hangup"
	evNote   = "note"
)

// eventTypes maps the accepted spellings to the event types.
var eventTypes = map[string]string{
	"new": evNew, "new_call": evNew, "newcall": evNew, "ring": evNew, "ringing": evNew, "incoming": evNew,
	"answer": evAnswer, "answered": evAnswer, "connect": evAnswer, "connected": evAnswer,
	"hangup": evHangup, "hang_up": evHangup, "end": evHangup, "ended": evHangup, "completed": evHangup,
	"note": evNote, "notes": evNote, "wrapup": evNote, "wrap_up": evNote, "summary": evNote,
}

// ctiEvent is one accepted CTI event, as kept in the journal.
type ctiEvent struct {
	// ID is the CTI's event id, or a hash of the event when it sent none:
	// the same event delivered twice is taken once.
	ID     string `json:"id"`
	CallID string `json:"call_id"`
	Type   string `json:"event"`
	// At is when the CTI says the event happened; Received when the
	// webhook took it.
	At       time.Time `json:"at,omitzero"`
	Received time.Time `json:"received"`
	Note     string    `json:"note,omitempty"`
	// Final says no further note follows for this call.
	Final        bool   `json:"final,omitempty"`
	CallerNumber string `json:"caller_number,omitempty"`
	CallerName   string `json:"caller_name,omitempty"`
	Agent        string `json:"agent,omitempty"`
	Queue        string `json:"queue,omitempty"`
}

func (ev *ctiEvent) sortTime() time.Time {
	if !ev.At.IsZero() {
		return ev.At
	}
	return ev.Received
}

// ctiInput is an event as POSTed.
type ctiInput struct {
	ID           string          `json:"id"`
	CallID       json.RawMessage `json:"call_id"`
	Event        string          `json:"event"`
	At           json.RawMessage `json:"at"`
	Note         string          `json:"note"`
	Final        bool            `json:"final"`
	CallerNumber string          `json:"caller_number"`
	CallerName   string          `json:"caller_name"`
	Agent        string          `json:"agent"`
	Queue        string          `json:"queue"`
}

// maxNote bounds a note, in characters (the record's content limit).
const maxNote = 100_000

// parseEvents reads a webhook body: one event object or an array of them.
// It returns the events to keep, the number of events of unknown types
// (ignored), or an error naming the field at fault.
func parseEvents(body []byte, now time.Time) (evs []*ctiEvent, ignored int, field string, err error) {
	if !utf8.Valid(body) {
		return nil, 0, "", errors.New("malformed JSON: not valid UTF-8")
	}
	trimmed := bytes.TrimSpace(body)
	var ins []ctiInput
	if len(trimmed) > 0 && trimmed[0] == '[' {
		err = json.Unmarshal(trimmed, &ins)
	} else {
		var in ctiInput
		err = json.Unmarshal(trimmed, &in)
		ins = []ctiInput{in}
	}
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, 0, te.Field, fmt.Errorf("field %q: want a %s", te.Field, te.Type)
		}
		return nil, 0, "", fmt.Errorf("malformed JSON: %v", err)
	}
	for i, in := range ins {
		where := func(f string) string {
			if len(ins) == 1 {
				return f
			}
			return "[" + strconv.Itoa(i) + "]." + f
		}
		callID, ok := jsonScalar(in.CallID)
		callID = strings.TrimSpace(callID)
		if !ok || callID == "" {
			return nil, 0, where("call_id"), errors.New("required: the call id (the CDR's uniqueid or linkedid)")
		}
		if len(callID) > 128 {
			return nil, 0, where("call_id"), errors.New("longer than 128 bytes")
		}
		if in.Event == "" {
			return nil, 0, where("event"), errors.New("required: new, answer, hangup or note")
		}
		typ, known := eventTypes[strings.ToLower(strings.TrimSpace(in.Event))]
		if !known {
			ignored++
			continue
		}
		ev := &ctiEvent{
			ID: strings.TrimSpace(in.ID), CallID: callID, Type: typ, Received: now,
			Note: strings.TrimSpace(in.Note), Final: in.Final,
			CallerNumber: strings.TrimSpace(in.CallerNumber), CallerName: strings.TrimSpace(in.CallerName),
			Agent: strings.TrimSpace(in.Agent), Queue: strings.TrimSpace(in.Queue),
		}
		if utf8.RuneCountInString(ev.Note) > maxNote {
			return nil, 0, where("note"), fmt.Errorf("longer than %d characters", maxNote)
		}
		for f, v := range map[string]string{"caller_number": ev.CallerNumber, "caller_name": ev.CallerName, "agent": ev.Agent, "queue": ev.Queue, "id": ev.ID} {
			if len(v) > 256 {
				return nil, 0, where(f), errors.New("longer than 256 bytes")
			}
		}
		at, _ := jsonScalar(in.At)
		if len(in.At) > 0 && string(in.At) != "null" {
			t, err := parseEventTime(at)
			if err != nil {
				return nil, 0, where("at"), err
			}
			ev.At = t
		}
		if ev.ID == "" {
			h := sha256.New()
			fmt.Fprintf(h, "%q %q %q %q %v %q %q %q %q", ev.CallID, ev.Type, at, ev.Note, ev.Final,
				ev.CallerNumber, ev.CallerName, ev.Agent, ev.Queue)
			ev.ID = "h:" + hex.EncodeToString(h.Sum(nil))[:32]
		}
		evs = append(evs, ev)
	}
	return evs, ignored, "", nil
}

// jsonScalar reads a string or a number (call ids such as 1709255702.20
// are sent either way).
func jsonScalar(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), true
	}
	return "", false
}

func parseEventTime(s string) (time.Time, error) {
	t, err := parseEventTimeAny(s)
	if err == nil && (t.Year() < 1970 || t.Year() > 2200) {
		// Outside what JSON (and the journal) can hold, and no call's time.
		return time.Time{}, errors.New("time out of range")
	}
	return t, err
}

func parseEventTimeAny(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case n > 1e14:
			return time.UnixMicro(n), nil
		case n > 1e11:
			return time.UnixMilli(n), nil
		default:
			return time.Unix(n, 0), nil
		}
	}
	return time.Time{}, errors.New("want an RFC 3339 time or Unix seconds/milliseconds")
}

// journal keeps the accepted CTI events on disk until the record carrying
// them is acknowledged, so an event answered 202 survives a crash.
//
// It is a JSON-lines file in the state dir: {"ev": event} when accepted,
// {"done": [ids]} when delivered or dropped; rewritten with only the live
// events when it grows.
type journal struct {
	mu   sync.Mutex
	path string
	f    *os.File
	size int64
	live map[string]*ctiEvent
	// seen remembers recent event ids (live or done) to drop duplicates.
	seen  map[string]struct{}
	order []string
	log   *slog.Logger
}

const (
	journalFile    = "cti-journal.jsonl"
	maxSeen        = 200_000
	compactAtBytes = 4 << 20
)

type journalRec struct {
	Ev   *ctiEvent `json:"ev,omitempty"`
	Done []string  `json:"done,omitempty"`
}

// openJournal reads the journal and returns the events not yet done, in
// the order they were accepted.
func openJournal(dir string, log *slog.Logger) (*journal, []*ctiEvent, error) {
	jr := &journal{path: filepath.Join(dir, journalFile), live: map[string]*ctiEvent{}, seen: map[string]struct{}{}, log: log}
	var order []*ctiEvent
	if f, err := os.Open(jr.path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		n := 0
		for sc.Scan() {
			n++
			var rec journalRec
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				// A torn last line after a crash: the event was never
				// answered 202.
				log.Warn("calllog: skipping an unreadable CTI journal line", "line", n)
				continue
			}
			if rec.Ev != nil && rec.Ev.ID != "" {
				if _, dup := jr.live[rec.Ev.ID]; !dup {
					jr.live[rec.Ev.ID] = rec.Ev
					order = append(order, rec.Ev)
				}
				jr.remember(rec.Ev.ID)
			}
			for _, id := range rec.Done {
				delete(jr.live, id)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", jr.path, err)
		}
	} else if !os.IsNotExist(err) {
		return nil, nil, err
	}
	var replay []*ctiEvent
	for _, ev := range order {
		if jr.live[ev.ID] == ev {
			replay = append(replay, ev)
		}
	}
	if err := jr.rewrite(replay); err != nil {
		return nil, nil, err
	}
	return jr, replay, nil
}

func (jr *journal) remember(id string) {
	if _, ok := jr.seen[id]; ok {
		return
	}
	jr.seen[id] = struct{}{}
	jr.order = append(jr.order, id)
	if len(jr.order) > maxSeen {
		drop := len(jr.order) - maxSeen
		for _, old := range jr.order[:drop] {
			if _, live := jr.live[old]; !live {
				delete(jr.seen, old)
			}
		}
		jr.order = append(jr.order[:0], jr.order[drop:]...)
	}
}

// rewrite replaces the file with the given live events and reopens it for
// appending. Called with mu held (or before the journal is shared).
//
// The live events are written in the order they were received (so the
// first event of a call stays the first after a restart), and the open
// file is only swapped once the new one is in place: a failed rewrite
// leaves the journal working.
func (jr *journal) rewrite(evs []*ctiEvent) error {
	sort.SliceStable(evs, func(i, k int) bool { return evs[i].Received.Before(evs[k].Received) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, ev := range evs {
		if err := enc.Encode(journalRec{Ev: ev}); err != nil {
			return err
		}
	}
	if err := writeAtomic(jr.path, buf.Bytes()); err != nil {
		return err
	}
	f, err := os.OpenFile(jr.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if jr.f != nil {
		jr.f.Close()
	}
	jr.f, jr.size = f, int64(buf.Len())
	return nil
}

// accept journals the events that are not duplicates, durably, and
// returns them.
func (jr *journal) accept(evs []*ctiEvent) (fresh []*ctiEvent, dups int, err error) {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	batch := map[string]bool{}
	for _, ev := range evs {
		if _, ok := jr.seen[ev.ID]; ok || batch[ev.ID] {
			dups++
			continue
		}
		batch[ev.ID] = true
		if err := enc.Encode(journalRec{Ev: ev}); err != nil {
			return nil, 0, err // never answer 202 for an event not journalled
		}
		fresh = append(fresh, ev)
	}
	if len(fresh) == 0 {
		return nil, dups, nil
	}
	if err := jr.append(buf.Bytes()); err != nil {
		return nil, 0, err
	}
	for _, ev := range fresh {
		jr.live[ev.ID] = ev
		jr.remember(ev.ID)
	}
	return fresh, dups, nil
}

// done marks events delivered or dropped, durably.
func (jr *journal) done(ids []string) error {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	var keep []string
	for _, id := range ids {
		if _, ok := jr.live[id]; ok {
			delete(jr.live, id)
			keep = append(keep, id)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	if jr.size > compactAtBytes && len(jr.live) < 10_000 {
		live := make([]*ctiEvent, 0, len(jr.live))
		for _, ev := range jr.live {
			live = append(live, ev)
		}
		return jr.rewrite(live)
	}
	// Bounded lines (the reader's line limit is 4 MiB).
	var buf bytes.Buffer
	for len(keep) > 0 {
		n := min(len(keep), 1000)
		b, _ := json.Marshal(journalRec{Done: keep[:n]})
		buf.Write(append(b, '\n'))
		keep = keep[n:]
	}
	return jr.append(buf.Bytes())
}

func (jr *journal) append(b []byte) error {
	if jr.f == nil {
		return errors.New("journal closed")
	}
	if _, err := jr.f.Write(b); err != nil {
		// Cut a partial write off, or the next record would be glued to
		// it and both lost on reading.
		jr.f.Truncate(jr.size)
		return err
	}
	jr.size += int64(len(b))
	return jr.f.Sync()
}

func (jr *journal) close() {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	if jr.f != nil {
		jr.f.Close()
		jr.f = nil
	}
}

// ctiServer is the webhook.
type ctiServer struct {
	r   *run
	cfg *CTIConfig
	jr  *journal
	ln  net.Listener
	ctx context.Context
}

func newCTIServer(r *run, cfg *CTIConfig, jr *journal, ln net.Listener) *ctiServer {
	return &ctiServer{r: r, cfg: cfg, jr: jr, ln: ln, ctx: r.ctx}
}

func (s *ctiServer) addr() string { return s.ln.Addr().String() }

// serve answers webhook requests until ctx is done.
func (s *ctiServer) serve(ctx context.Context) {
	mux := http.NewServeMux()
	mux.Handle(s.cfg.Path, s)
	if doc, err := ctiOpenAPI(s.cfg); err == nil {
		mux.Handle(ctiSpecPath(s.cfg.Path), channels.ServeOpenAPI(doc))
	} else {
		s.r.log.Error("calllog: CTI OpenAPI document not served", "err", err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.r.log.Handler(), slog.LevelDebug),
	}
	s.r.log.Info("calllog CTI webhook listening", "addr", s.addr(), "path", s.cfg.Path)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		s.r.log.Error("calllog: CTI webhook stopped", "err", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-errc
	}
}

type ctiReply struct {
	Accepted   int    `json:"accepted"`
	Duplicates int    `json:"duplicates"`
	Ignored    int    `json:"ignored"`
	Error      string `json:"error,omitempty"`
	Field      string `json:"field,omitempty"`
}

func (s *ctiServer) reply(w http.ResponseWriter, status int, rep ctiReply) {
	if status >= 400 {
		s.r.sink.Reject("cti_" + strconv.Itoa(status))
	}
	b, _ := json.Marshal(rep)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// ServeHTTP takes one webhook request: the events are journaled (fsync)
// before the 202, so an accepted event is never lost.
func (s *ctiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.cfg.Path {
		s.reply(w, http.StatusNotFound, ctiReply{Error: "not found"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		s.reply(w, http.StatusMethodNotAllowed, ctiReply{Error: "use POST"})
		return
	}
	if s.cfg.AuthToken != "" {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.AuthToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="petitiond"`)
			s.reply(w, http.StatusUnauthorized, ctiReply{Error: "missing or wrong bearer token"})
			return
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		s.reply(w, http.StatusUnsupportedMediaType, ctiReply{Error: "send application/json", Field: "Content-Type"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, int64(s.cfg.MaxBodySize)))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		s.reply(w, http.StatusRequestEntityTooLarge, ctiReply{Error: fmt.Sprintf("body larger than %d bytes", s.cfg.MaxBodySize)})
		return
	}
	if err != nil {
		s.reply(w, http.StatusBadRequest, ctiReply{Error: "reading body: " + err.Error()})
		return
	}
	evs, ignored, field, err := parseEvents(body, s.r.clock.Now())
	if err != nil {
		status := http.StatusBadRequest
		if field != "" {
			status = http.StatusUnprocessableEntity
		}
		s.reply(w, status, ctiReply{Error: err.Error(), Field: field})
		return
	}
	fresh, dups, err := s.jr.accept(evs)
	if err != nil {
		s.r.log.Error("calllog: writing the CTI journal failed", "err", err)
		s.reply(w, http.StatusServiceUnavailable, ctiReply{Error: "events could not be stored; retry later"})
		return
	}
	for _, ev := range fresh {
		// Journaled: if the run stops before the joiner takes it, it is
		// replayed on the next start.
		if !s.r.join.event(s.ctx, ev) {
			break
		}
	}
	if len(fresh) > 0 {
		s.r.log.Debug("calllog: CTI events accepted", "events", len(fresh), "duplicates", dups)
	}
	s.reply(w, http.StatusAccepted, ctiReply{Accepted: len(fresh), Duplicates: dups, Ignored: ignored})
}
