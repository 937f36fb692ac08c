package calllog

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/calllog/callitem"
	"github.com/court12368/petitiond/petition"
)

// The join of CDR lines and CTI events, by call id (a line's uniqueid or
// linkedid is the CTI's call_id).
//
//   - A line that may wait (answered calls, or all with hold: all) is held
//     until a note arrives for it, a note marked final was already there,
//     or the window closes; it then goes out with whatever CTI data it has.
//     Notes that came before the line are taken in at once, and the line
//     still waits for a note that comes after it, so that a note before and
//     a note after the CDR line end up in the same record.
//   - Events that come before their line wait for it for the window; a
//     line that comes in time takes them all. When the window closes
//     first, notes become a record of their own (source id
//     cti:<call id>#<first event id>, meta call.cdr_missing), other events
//     are dropped.
//   - A note for a call whose record already went out becomes a follow-up
//     record (source id <call's source id>#note:<event id>, follow_up_of
//     the call's tracking number when known).
//   - Held lines and waiting calls are bounded by max_pending: beyond it
//     the oldest is released early.
//
// Crash safety: a held line is registered in its file's tracker, so the
// checkpoint stays before it until its record is acknowledged; CTI events
// are in the journal until the record that carries them is acknowledged
// (the journal's done mark is written before the line is finished).
//
// The joiner's state belongs to its loop goroutine; workers and the
// webhook send it lines and events, acknowledgements are queued.
type joiner struct {
	r       *run
	cfg     *CTIConfig
	jr      *journal
	clock   clock
	window  time.Duration
	keep    time.Duration // how long a produced call is remembered for late notes
	in      chan joinMsg
	release chan *entry
	acks    ackQueue

	held   map[string][]*entry
	heldQ  fifo[*entry]
	heldN  int
	calls  map[string]*ctiCall
	callQ  fifo[*ctiCall]
	recent map[string]*recentCall
	recQ   fifo[*recentCall]

	// Gauges of the loop's state, for tests and logs.
	heldGauge, callsGauge atomic.Int64
}

type joinMsg struct {
	e  *entry
	ev *ctiEvent
}

// ctiCall is the events of one call id waiting for its CDR line.
type ctiCall struct {
	id       string
	events   []*ctiEvent
	deadline time.Time
	gone     bool
}

// recentCall is a call whose record went out, remembered for late notes.
type recentCall struct {
	key        string
	sourceID   string
	trackingNo string
	name       string
	phone      string
	deadline   time.Time
	gone       bool
}

func newJoiner(r *run, cfg *CTIConfig, jr *journal) *joiner {
	w := cfg.Window.D()
	return &joiner{
		r: r, cfg: cfg, jr: jr, clock: r.clock, window: w, keep: 10 * w,
		in:      make(chan joinMsg, 4096),
		release: make(chan *entry, 1024),
		acks:    ackQueue{wake: make(chan struct{}, 1)},
		held:    map[string][]*entry{},
		calls:   map[string]*ctiCall{},
		recent:  map[string]*recentCall{},
	}
}

// offer hands a parsed line to the joiner; false when ctx ended first.
func (j *joiner) offer(ctx context.Context, e *entry) bool {
	select {
	case j.in <- joinMsg{e: e}:
		return true
	case <-ctx.Done():
		return false
	}
}

// event hands a (journaled, deduplicated) CTI event to the joiner.
func (j *joiner) event(ctx context.Context, ev *ctiEvent) bool {
	select {
	case j.in <- joinMsg{ev: ev}:
		return true
	case <-ctx.Done():
		return false
	}
}

// replay restores the journaled events after a restart, before the loop
// and the readers start. They get a fresh window: lines were not read while
// the daemon was down.
func (j *joiner) replay(ctx context.Context, evs []*ctiEvent) {
	for _, ev := range evs {
		if !j.onEvent(ctx, ev) {
			return
		}
	}
	if len(evs) > 0 {
		j.r.log.Info("calllog: CTI events restored from the journal", "events", len(evs), "calls", len(j.calls))
	}
}

// loop runs the joiner until ctx is done.
func (j *joiner) loop(ctx context.Context) {
	for {
		now := j.clock.Now()
		if !j.expire(ctx, now) {
			return
		}
		var tc <-chan time.Time
		if next, ok := j.next(); ok {
			tc = j.clock.After(next.Sub(now))
		}
		j.heldGauge.Store(int64(j.heldN))
		j.callsGauge.Store(int64(len(j.calls)))
		select {
		case <-ctx.Done():
			return
		case m := <-j.in:
			if !j.handle(ctx, m) {
				return
			}
			// Take what else is queued before looking at the clock again.
			for i := 0; i < 256; i++ {
				select {
				case m := <-j.in:
					if !j.handle(ctx, m) {
						return
					}
					continue
				default:
				}
				break
			}
		case <-j.acks.wake:
			j.flushAcks()
		case <-tc:
		}
	}
}

func (j *joiner) handle(ctx context.Context, m joinMsg) bool {
	if m.e != nil {
		return j.onLine(ctx, m.e)
	}
	return j.onEvent(ctx, m.ev)
}

// submitter submits released entries.
func (j *joiner) submitter(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-j.release:
			if !j.r.submit(ctx, e) {
				return
			}
		}
	}
}

func (j *joiner) holdable(e *entry) bool { return j.cfg.Hold == HoldAll || !e.missed }

// onLine joins a CDR line with the events that came before it, then holds
// or releases it.
func (j *joiner) onLine(ctx context.Context, e *entry) bool {
	final := j.takeWaiting(e)
	if final || !j.holdable(e) {
		return j.send(ctx, e)
	}
	j.hold(e)
	return j.evictHeld(ctx)
}

// takeWaiting takes the events waiting for the line's call ids into it;
// true when a note among them was marked final.
func (j *joiner) takeWaiting(e *entry) bool {
	final := false
	for _, k := range e.keys {
		if c := j.calls[k]; c != nil {
			final = j.absorbCall(e, c) || final
			delete(j.calls, k)
			c.gone = true
		}
	}
	return final
}

// hold keeps a line for its note until the window closes.
func (j *joiner) hold(e *entry) {
	e.deadline = j.clock.Now().Add(j.window)
	j.heldQ.push(e)
	for _, k := range e.keys {
		j.held[k] = append(j.held[k], e)
	}
	j.heldN++
}

// evictHeld releases the oldest held lines beyond max_pending.
func (j *joiner) evictHeld(ctx context.Context) bool {
	for j.heldN > j.cfg.MaxPending {
		old, ok := j.heldQ.pop(func(e *entry) bool { return e.released })
		if !ok {
			break
		}
		if !j.releaseHeld(ctx, old) {
			return false
		}
	}
	return true
}

// onEvent applies one CTI event: to the lines held for it, to a call
// whose record went out (a late note), or it waits for its line.
func (j *joiner) onEvent(ctx context.Context, ev *ctiEvent) bool {
	if hs := j.held[ev.CallID]; len(hs) > 0 {
		return j.eventForHeld(ctx, slices.Clone(hs), ev)
	}
	if rc := j.recent[ev.CallID]; rc != nil && !rc.gone {
		return j.eventForRecent(ctx, rc, ev)
	}
	return j.eventWaits(ctx, ev)
}

// eventForHeld puts an event into the lines held for its call; a note
// releases them.
func (j *joiner) eventForHeld(ctx context.Context, hs []*entry, ev *ctiEvent) bool {
	for _, e := range hs {
		j.absorb(e, ev)
	}
	if ev.Type != evNote {
		return true
	}
	for _, e := range hs {
		if !j.releaseHeld(ctx, e) {
			return false
		}
	}
	return true
}

// eventForRecent makes a note for a call whose record went out a
// follow-up record; other events for it are done with.
func (j *joiner) eventForRecent(ctx context.Context, rc *recentCall, ev *ctiEvent) bool {
	if ev.Type != evNote || ev.Note == "" {
		j.done([]string{ev.ID})
		return true
	}
	e, ok := j.lateNote(ctx, rc, ev)
	if !ok {
		return false
	}
	return j.send(ctx, e)
}

// eventWaits keeps an event for its line, for the window; beyond
// max_pending the oldest waiting call expires.
func (j *joiner) eventWaits(ctx context.Context, ev *ctiEvent) bool {
	c := j.calls[ev.CallID]
	if c == nil {
		c = &ctiCall{id: ev.CallID, deadline: j.clock.Now().Add(j.window)}
		j.calls[ev.CallID] = c
		j.callQ.push(c)
		for len(j.calls) > j.cfg.MaxPending {
			old, ok := j.callQ.pop(func(c *ctiCall) bool { return c.gone })
			if !ok {
				break
			}
			if !j.expireCall(ctx, old) {
				return false
			}
		}
	}
	c.events = append(c.events, ev)
	return true
}

// absorbCall takes a waiting call's events into a line, notes in the order
// of their time; true when a note was marked final.
func (j *joiner) absorbCall(e *entry, c *ctiCall) bool {
	evs := slices.Clone(c.events)
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].sortTime().Before(evs[b].sortTime()) })
	final := false
	for _, ev := range evs {
		j.absorb(e, ev)
		final = final || (ev.Type == evNote && ev.Final)
	}
	return final
}

// absorb puts one event's data into an entry's item: a note is appended to
// the content; caller, agent and queue fill what the CDR left empty.
func (j *joiner) absorb(e *entry, ev *ctiEvent) {
	it := e.it
	e.events = append(e.events, ev.ID)
	e.ctiTypes = append(e.ctiTypes, ev.Type)
	it.Meta[callitem.MetaCTIEvents] = slices.Clone(e.ctiTypes)
	if ev.Type == evNote && ev.Note != "" {
		content := it.Fields[petition.FieldContent]
		if !strings.Contains(content, ev.Note) {
			if content != "" {
				content += "\n"
			}
			it.Fields[petition.FieldContent] = content + ev.Note
		}
		switch it.Meta[callitem.MetaNotesSource] {
		case "cdr", "cdr+cti":
			it.Meta[callitem.MetaNotesSource] = "cdr+cti"
		default:
			it.Meta[callitem.MetaNotesSource] = "cti"
		}
		e.hasNotes = true
	}
	if ev.CallerName != "" && it.Fields[petition.FieldName] == "" {
		it.Fields[petition.FieldName] = ev.CallerName
	}
	if ev.CallerNumber != "" && it.Fields[petition.FieldPhone] == "" {
		it.Fields[petition.FieldPhone] = ev.CallerNumber
	}
	if ev.Agent != "" && it.Meta[callitem.MetaAgent] == nil {
		it.Meta[callitem.MetaAgent] = ev.Agent
	}
	if ev.Queue != "" && it.Meta[callitem.MetaQueue] == nil {
		it.Meta[callitem.MetaQueue] = ev.Queue
	}
}

// releaseHeld sends a held line on.
func (j *joiner) releaseHeld(ctx context.Context, e *entry) bool {
	if e.released {
		return true
	}
	e.released = true
	j.heldN--
	for _, k := range e.keys {
		hs := slices.DeleteFunc(j.held[k], func(x *entry) bool { return x == e })
		if len(hs) == 0 {
			delete(j.held, k)
		} else {
			j.held[k] = hs
		}
	}
	return j.send(ctx, e)
}

// send remembers a call's keys for late notes and queues it for
// submission.
func (j *joiner) send(ctx context.Context, e *entry) bool {
	e.released = true
	if e.fl != nil {
		j.remember(e)
	}
	select {
	case j.release <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

// remember keeps a line's call ids, for the notes that come after its
// record went out (bounded: 4 × max_pending, the oldest forgotten first).
func (j *joiner) remember(e *entry) {
	now := j.clock.Now()
	for _, k := range e.keys {
		if old := j.recent[k]; old != nil {
			old.gone = true
		}
		rc := &recentCall{
			key: k, sourceID: e.it.SourceID, deadline: now.Add(j.keep),
			name: e.it.Fields[petition.FieldName], phone: e.it.Fields[petition.FieldPhone],
		}
		j.recent[k] = rc
		j.recQ.push(rc)
	}
	for len(j.recent) > 4*j.cfg.MaxPending {
		old, ok := j.recQ.pop(func(rc *recentCall) bool { return rc.gone })
		if !ok {
			break
		}
		old.gone = true
		delete(j.recent, old.key)
	}
}

// expire releases what is due at now; false when ctx ended.
func (j *joiner) expire(ctx context.Context, now time.Time) bool {
	if !j.expireHeld(ctx, now) || !j.expireCalls(ctx, now) {
		return false
	}
	j.forgetRecent(now)
	return true
}

// expireHeld releases the held lines whose window closed.
func (j *joiner) expireHeld(ctx context.Context, now time.Time) bool {
	for {
		e, ok := j.heldQ.peek(func(e *entry) bool { return e.released })
		if !ok || e.deadline.After(now) {
			break
		}
		j.heldQ.pop(nil)
		if !j.releaseHeld(ctx, e) {
			return false
		}
	}
	return true
}

// expireCalls ends the wait of the calls whose window closed without
// their line.
func (j *joiner) expireCalls(ctx context.Context, now time.Time) bool {
	for {
		c, ok := j.callQ.peek(func(c *ctiCall) bool { return c.gone })
		if !ok || c.deadline.After(now) {
			return true
		}
		j.callQ.pop(nil)
		if !j.expireCall(ctx, c) {
			return false
		}
	}
}

// forgetRecent forgets the produced calls kept long enough for late notes.
func (j *joiner) forgetRecent(now time.Time) {
	for {
		rc, ok := j.recQ.peek(func(rc *recentCall) bool { return rc.gone })
		if !ok || rc.deadline.After(now) {
			return
		}
		j.recQ.pop(nil)
		rc.gone = true
		if j.recent[rc.key] == rc {
			delete(j.recent, rc.key)
		}
	}
}

// next returns the earliest deadline.
func (j *joiner) next() (time.Time, bool) {
	var t time.Time
	found := false
	consider := func(d time.Time, ok bool) {
		if ok && (!found || d.Before(t)) {
			t, found = d, true
		}
	}
	e, ok := j.heldQ.peek(func(e *entry) bool { return e.released })
	if ok {
		consider(e.deadline, true)
	}
	c, ok := j.callQ.peek(func(c *ctiCall) bool { return c.gone })
	if ok {
		consider(c.deadline, true)
	}
	rc, ok := j.recQ.peek(func(rc *recentCall) bool { return rc.gone })
	if ok {
		consider(rc.deadline, true)
	}
	return t, found
}

// expireCall ends the wait of a call without CDR line: its notes become a
// record of their own, other events are dropped.
func (j *joiner) expireCall(ctx context.Context, c *ctiCall) bool {
	c.gone = true
	if j.calls[c.id] == c {
		delete(j.calls, c.id)
	}
	hasNote := false
	for _, ev := range c.events {
		if ev.Type == evNote && ev.Note != "" {
			hasNote = true
		}
	}
	if !hasNote {
		ids := make([]string, len(c.events))
		for i, ev := range c.events {
			ids[i] = ev.ID
		}
		j.done(ids)
		return true
	}
	j.r.log.Info("calllog: CTI notes without a CDR line within the window; producing them alone", "call_id", c.id)
	e := j.notesAlone(c)
	orig, ok := j.r.putBlob(ctx, eventsJSON(c.events))
	if !ok {
		return false
	}
	e.it.Original = orig
	return j.send(ctx, e)
}

// notesAlone is the record of a call's notes that came without its line.
func (j *joiner) notesAlone(c *ctiCall) *entry {
	first := c.events[0].sortTime()
	for _, ev := range c.events {
		if t := ev.sortTime(); t.Before(first) {
			first = t
		}
	}
	e := &entry{it: &channels.Item{
		Kind:       callitem.Kind,
		SourceID:   "cti:" + c.id + "#" + c.events[0].ID,
		SourceRef:  "cti " + j.cfg.Path + " call " + c.id,
		ReceivedAt: first,
		Fields:     map[petition.Field]string{petition.FieldName: "", petition.FieldPhone: "", petition.FieldContent: ""},
		Meta:       map[string]any{callitem.MetaUniqueID: c.id, callitem.MetaCDRMissing: true},
	}}
	if j.r.cfg.AreaCode != "" {
		e.it.Fields[callitem.FieldAreaCode] = j.r.cfg.AreaCode
	}
	j.absorbCall(e, c)
	return e
}

// lateNote builds the follow-up record of a note that came after its
// call's record went out.
func (j *joiner) lateNote(ctx context.Context, rc *recentCall, ev *ctiEvent) (*entry, bool) {
	j.r.log.Info("calllog: CTI note after its call's record; producing a follow-up record", "call_id", ev.CallID)
	e := &entry{it: &channels.Item{
		Kind:       callitem.Kind,
		SourceID:   rc.sourceID + "#note:" + ev.ID,
		SourceRef:  "cti " + j.cfg.Path + " call " + ev.CallID,
		ReceivedAt: ev.sortTime(),
		Fields:     map[petition.Field]string{petition.FieldName: rc.name, petition.FieldPhone: rc.phone, petition.FieldContent: ""},
		Meta:       map[string]any{callitem.MetaUniqueID: ev.CallID, callitem.MetaLateNote: true, callitem.MetaNoteFor: rc.sourceID},
	}}
	if rc.trackingNo != "" {
		e.it.Fields[callitem.FieldFollowUpOf] = rc.trackingNo
	}
	if j.r.cfg.AreaCode != "" {
		e.it.Fields[callitem.FieldAreaCode] = j.r.cfg.AreaCode
	}
	j.absorb(e, ev)
	orig, ok := j.r.putBlob(ctx, eventsJSON([]*ctiEvent{ev}))
	if !ok {
		return nil, false
	}
	e.it.Original = orig
	return e, true
}

func eventsJSON(evs []*ctiEvent) []byte {
	b, _ := json.Marshal(evs)
	return b
}

// done marks events delivered (or dropped) in the journal.
func (j *joiner) done(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := j.jr.done(ids)
	if err != nil {
		j.r.log.Error("calllog: writing the CTI journal failed", "err", err)
	}
	return err
}

// acked queues the acknowledgement of an entry that has CTI events or
// call keys. It does not block.
func (j *joiner) acked(e *entry, o channels.Outcome) {
	j.acks.push(ackedEntry{e, o})
}

// flushAcks marks the events of acknowledged entries done in the journal
// (durably), then finishes their lines: the checkpoint never passes a line
// whose events could still be replayed.
func (j *joiner) flushAcks() {
	as := j.acks.take()
	if len(as) == 0 {
		return
	}
	var ids []string
	for _, a := range as {
		ids = append(ids, a.e.events...)
		if len(a.o.Records) > 0 {
			for _, k := range a.e.keys {
				if rc := j.recent[k]; rc != nil && rc.sourceID == a.e.it.SourceID {
					rc.trackingNo = a.o.Records[0].TrackingNo
				}
			}
		}
	}
	if err := j.done(ids); err != nil {
		// Not durable: keep the lines unfinished (the checkpoint must not
		// pass them) and try again at the next flush.
		for _, a := range as {
			j.acks.push(a)
		}
		return
	}
	for _, a := range as {
		j.r.finish(a.e)
	}
}

type ackedEntry struct {
	e *entry
	o channels.Outcome
}

// ackQueue collects acknowledgements for the joiner loop.
type ackQueue struct {
	mu   sync.Mutex
	as   []ackedEntry
	wake chan struct{}
}

func (q *ackQueue) push(a ackedEntry) {
	q.mu.Lock()
	q.as = append(q.as, a)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *ackQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.as)
}

func (q *ackQueue) take() []ackedEntry {
	q.mu.Lock()
	defer q.mu.Unlock()
	as := q.as
	q.as = nil
	return as
}

// fifo is a queue with lazy removal: items are skipped at the front when
// stale.
type fifo[T any] struct {
	items []T
	head  int
}

func (q *fifo[T]) push(v T) { q.items = append(q.items, v) }

// peek returns the first item that is not stale, dropping stale ones.
func (q *fifo[T]) peek(stale func(T) bool) (T, bool) {
	for q.head < len(q.items) {
		v := q.items[q.head]
		if stale == nil || !stale(v) {
			return v, true
		}
		var zero T
		q.items[q.head] = zero
		q.head++
	}
	q.compact()
	var zero T
	return zero, false
}

// pop removes and returns the first item that is not stale.
func (q *fifo[T]) pop(stale func(T) bool) (T, bool) {
	v, ok := q.peek(stale)
	if ok {
		var zero T
		q.items[q.head] = zero
		q.head++
		q.compact()
	}
	return v, ok
}

func (q *fifo[T]) compact() {
	if q.head > 1024 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.head = 0
	} else if q.head == len(q.items) {
		q.items = q.items[:0]
		q.head = 0
	}
}
