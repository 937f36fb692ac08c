package cdr

import (
	"strconv"
	"strings"
	"time"
)

// field is a canonical CDR field: every format fills the same record, and
// one builder turns it into a Call.
type field uint8

const (
	fUniqueID field = iota
	fLinkedID
	fSequence
	fCallerName
	fCallerNumber
	fCLID
	fDst
	fContext
	fChannel
	fDstChannel
	fLastApp
	fLastData
	fStart
	fAnswer
	fEnd
	fDuration
	fBillsec
	fDisposition
	fHangupCause
	fAccountCode
	fUserField
	fQueue
	fAgent
	fRecording
	fNotes
	numFields
)

// fieldNames are the canonical names used in a Mapping.
var fieldNames = [numFields]string{
	"uniqueid", "linkedid", "sequence", "caller_name", "caller_number", "clid",
	"dst", "context", "channel", "dstchannel", "lastapp", "lastdata",
	"start", "answer", "end", "duration", "billsec", "disposition",
	"hangup_cause", "accountcode", "userfield", "queue", "agent", "recording", "notes",
}

// fieldAliases are other accepted names: the Asterisk and FreeSWITCH
// spellings and the JSON names of Call.
var fieldAliases = map[string]field{
	"unique_id":    fUniqueID,
	"uuid":         fUniqueID,
	"linked_id":    fLinkedID,
	"src":          fCallerNumber,
	"destination":  fDst,
	"dcontext":     fContext,
	"dst_channel":  fDstChannel,
	"last_app":     fLastApp,
	"last_data":    fLastData,
	"account_code": fAccountCode,
	"user_field":   fUserField,
}

func lookupField(name string) (field, bool) {
	for i, n := range fieldNames {
		if n == name {
			return field(i), true
		}
	}
	f, ok := fieldAliases[name]
	return f, ok
}

// record is what a format parser extracts from a line.
type record struct {
	raw     string
	invalid bool // raw is not valid UTF-8 (utf-8 mode): repair the values
	v       [numFields]string
	col     [numFields]uint16
	extra   map[string]string

	asterisk  bool // apply the Asterisk queue rule
	abandoned bool // format-specific evidence that the caller gave up
	cancelled bool // the caller cancelled; abandoned if unanswered
	repaired  string
}

// set stores the value of field f found in column col (1-based, 0 when not
// a column).
func (r *record) set(f field, v string, col int) {
	r.v[f] = v
	r.col[f] = uint16(col)
}

func (r *record) addExtra(k, v string) {
	if v == "" {
		return
	}
	if r.extra == nil {
		r.extra = make(map[string]string, 4)
	}
	r.extra[k] = v
}

// where names field f for an error message.
func (r *record) where(f field) string {
	if c := r.col[f]; c > 0 {
		return "column " + strconv.Itoa(int(c)) + " (" + fieldNames[f] + ")"
	}
	return "field " + fieldNames[f]
}

// build turns a record into a Call: times, seconds, disposition, missed.
func (p *Parser) build(r *record) (Call, error) {
	if r.invalid {
		for i := range r.v {
			r.v[i] = r.repair(r.v[i])
		}
		for k, v := range r.extra {
			r.extra[k] = r.repair(v)
		}
		r.raw = toValidUTF8(r.raw)
	}
	v := &r.v
	c := Call{
		UniqueID:     strings.TrimSpace(v[fUniqueID]),
		LinkedID:     strings.TrimSpace(v[fLinkedID]),
		Sequence:     strings.TrimSpace(v[fSequence]),
		CallerName:   strings.TrimSpace(v[fCallerName]),
		CallerNumber: strings.TrimSpace(v[fCallerNumber]),
		Destination:  strings.TrimSpace(v[fDst]),
		Context:      strings.TrimSpace(v[fContext]),
		Channel:      strings.TrimSpace(v[fChannel]),
		DstChannel:   strings.TrimSpace(v[fDstChannel]),
		LastApp:      strings.TrimSpace(v[fLastApp]),
		LastData:     strings.TrimSpace(v[fLastData]),
		AccountCode:  strings.TrimSpace(v[fAccountCode]),
		UserField:    strings.TrimSpace(v[fUserField]),
		Queue:        strings.TrimSpace(v[fQueue]),
		Agent:        strings.TrimSpace(v[fAgent]),
		Recording:    strings.TrimSpace(v[fRecording]),
		Notes:        strings.TrimSpace(v[fNotes]),
		HangupCause:  strings.TrimSpace(v[fHangupCause]),
		Raw:          r.raw,
	}
	if clid := strings.TrimSpace(v[fCLID]); clid != "" {
		name, num := splitCLID(clid, c.CallerNumber)
		if c.CallerName == "" {
			c.CallerName = name
		}
		if c.CallerNumber == "" {
			c.CallerNumber = num
		}
	}
	if c.Notes == "" {
		c.Notes = c.UserField
	}
	if r.asterisk && c.Queue == "" && strings.EqualFold(c.LastApp, "Queue") {
		// Queue(queuename,options,…)
		q, _, _ := strings.Cut(c.LastData, ",")
		c.Queue = strings.TrimSpace(q)
	}

	var err error
	if c.Start, err = p.times.parse(v[fStart]); err != nil {
		return Call{}, p.malformed(r.where(fStart), "%v", err)
	}
	if c.Answer, err = p.times.parse(v[fAnswer]); err != nil {
		return Call{}, p.malformed(r.where(fAnswer), "%v", err)
	}
	if c.End, err = p.times.parse(v[fEnd]); err != nil {
		return Call{}, p.malformed(r.where(fEnd), "%v", err)
	}
	dur, haveDur, err := parseSeconds(v[fDuration])
	if err != nil {
		return Call{}, p.malformed(r.where(fDuration), "%v", err)
	}
	bill, haveBill, err := parseSeconds(v[fBillsec])
	if err != nil {
		return Call{}, p.malformed(r.where(fBillsec), "%v", err)
	}
	if !haveDur && !c.Start.IsZero() && !c.End.IsZero() && !c.End.Before(c.Start) {
		dur = int(c.End.Sub(c.Start) / time.Second)
	}
	if !haveBill && !c.Answer.IsZero() && !c.End.IsZero() && !c.End.Before(c.Answer) {
		bill = int(c.End.Sub(c.Answer) / time.Second)
	}
	if !haveDur && dur < bill {
		dur = bill // unknown: the billed seconds are a lower bound
	}
	c.Duration, c.Billsec = dur, bill
	if c.Start.IsZero() {
		if c.End.IsZero() || !haveDur {
			return Call{}, p.malformed(r.where(fStart), "no start time")
		}
		c.Start = c.End.Add(-time.Duration(dur) * time.Second)
	}

	answered := !c.Answer.IsZero() || c.Billsec > 0
	vendor := strings.TrimSpace(v[fDisposition])
	disp := ""
	if vendor != "" {
		disp = p.normalizeDisposition(vendor)
	}
	if disp == "" && c.HangupCause != "" {
		disp = causeDisposition(c.HangupCause, answered)
	}
	if disp == "" {
		if answered {
			disp = Answered
		} else {
			disp = NoAnswer
		}
	}
	if r.asterisk && disp == Answered && c.DstChannel == "" && strings.EqualFold(c.LastApp, "Queue") {
		// Answered by the queue itself, never bridged to an agent: the
		// caller hung up while waiting.
		r.abandoned = true
	}
	if r.cancelled && !answered {
		r.abandoned = true
	}
	if r.abandoned {
		disp = Abandoned
	}
	if vendor != "" && vendor != disp {
		r.addExtra("disposition_raw", vendor)
	}
	c.Disposition = disp
	// No answer time and no billed second, when the record tells either.
	unanswered := c.Answer.IsZero() && c.Billsec == 0 && (haveBill || strings.TrimSpace(v[fAnswer]) != "")
	c.Missed = disp != Answered || unanswered
	if r.repaired != "" {
		r.addExtra("charset_repaired", r.repaired)
	}
	c.Extra = r.extra
	return c, nil
}

// splitCLID splits an Asterisk caller id, `"Name" <number>`, `Name
// <number>`, `number` or `Name`. src helps to tell a bare number from a
// bare name.
func splitCLID(clid, src string) (name, number string) {
	if strings.HasSuffix(clid, ">") {
		if i := strings.LastIndexByte(clid, '<'); i >= 0 {
			number = strings.TrimSpace(clid[i+1 : len(clid)-1])
			name = strings.TrimSpace(clid[:i])
			if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
				name = strings.TrimSpace(name[1 : len(name)-1])
			}
			return name, number
		}
	}
	if clid == src || looksLikeNumber(clid) {
		return "", clid
	}
	if len(clid) >= 2 && clid[0] == '"' && clid[len(clid)-1] == '"' {
		clid = strings.TrimSpace(clid[1 : len(clid)-1])
	}
	return clid, ""
}

func looksLikeNumber(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' || c == '-' || c == ' ' || c == '*' || c == '#' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return digits > 0
}

// parseSeconds reads a number of seconds: "38", "38.6" (rounded down),
// "00:01:23", "1:23". Empty means absent.
func parseSeconds(s string) (n int, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false, nil
	}
	const max = 1 << 31
	if strings.IndexByte(s, ':') >= 0 {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, false, errSeconds(s)
		}
		for _, part := range parts {
			d, err := strconv.Atoi(part)
			if err != nil || d < 0 || len(part) == 0 || part[0] == '+' || part[0] == '-' {
				return 0, false, errSeconds(s)
			}
			n = n*60 + d
			if n >= max {
				return 0, false, errSeconds(s)
			}
		}
		return n, true, nil
	}
	whole := s
	if i := strings.IndexByte(s, '.'); i >= 0 {
		whole = s[:i]
		if !allDigits(s[i+1:]) {
			return 0, false, errSeconds(s)
		}
		if whole == "" {
			whole = "0"
		}
	}
	if !allDigits(whole) {
		return 0, false, errSeconds(s)
	}
	d, err := strconv.Atoi(whole)
	if err != nil || d >= max {
		return 0, false, errSeconds(s)
	}
	return d, true, nil
}

type secondsError string

func (e secondsError) Error() string {
	return "not a number of seconds: " + quoteShort(string(e))
}

func errSeconds(s string) error { return secondsError(s) }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
