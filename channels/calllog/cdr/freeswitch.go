package cdr

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// The "example" template of mod_cdr_csv, in order.
var fsTemplate = [15]struct {
	name  string // template variable, for error messages
	field field  // canonical field, or numFields for Extra
	check func(string) bool
	want  string // what check wants, for error messages
}{
	{"caller_id_name", fCallerName, nil, ""},
	{"caller_id_number", fCallerNumber, nil, ""},
	{"destination_number", fDst, nil, ""},
	{"context", fContext, nil, ""},
	{"start_stamp", fStart, isStamp, stampWant},
	{"answer_stamp", fAnswer, emptyOr(isStamp), "empty or " + stampWant},
	{"end_stamp", fEnd, isStamp, stampWant},
	{"duration", fDuration, allDigits, "digits"},
	{"billsec", fBillsec, allDigits, "digits"},
	{"hangup_cause", fHangupCause, emptyOr(isCause), "a hangup cause (A-Z, 0-9, _)"},
	{"uuid", fUniqueID, isID, "an id (letters, digits, - _ . : @)"},
	{"bleg_uuid", numFields, emptyOr(isID), "empty or an id (letters, digits, - _ . : @)"},
	{"accountcode", fAccountCode, nil, ""},
	{"read_codec", numFields, emptyOr(isCodec), "empty or a codec name"},
	{"write_codec", numFields, emptyOr(isCodec), "empty or a codec name"},
}

const stampWant = "a time YYYY-MM-DD HH:MM:SS"

// freeswitchCSV reads a mod_cdr_csv line of the "example" template:
//
//	"${caller_id_name}","${caller_id_number}","${destination_number}",
//	"${context}","${start_stamp}","${answer_stamp}","${end_stamp}",
//	"${duration}","${billsec}","${hangup_cause}","${uuid}","${bleg_uuid}",
//	"${accountcode}","${read_codec}","${write_codec}"
//
// FreeSWITCH does not escape the values, so a caller name (the SIP display
// name, chosen by the caller) may hold `"`, `,` or the separator `","`.
// The line is split in two steps:
//
//  1. From the right. Only the caller name may hold a quote, so the
//     rightmost quote of the line (before the closing one) must begin the
//     last value and be preceded by `",`; walking left 14 times gives the
//     last 14 values, and everything before them is the caller name,
//     whatever it contains. The 14 values must then look right: times
//     "YYYY-MM-DD HH:MM:SS" (answer_stamp may be empty), digits for
//     duration and billsec, an upper-case hangup cause, an id for uuid
//     (bleg_uuid may be empty), codec names.
//  2. If that fails, another value holds a quote. When the line has
//     exactly 15 `","`-separated parts the split is still certain and is
//     used if the times, numbers, cause, ids and codecs look right.
//     More parts cannot be placed with certainty: ErrAmbiguous (the
//     channel dead-letters the line, the original stays in the blob
//     store). Fewer parts, or values that do not look right: ErrMalformed.
func (p *Parser) freeswitchCSV(r *record) error {
	s := strings.TrimRight(r.raw, " \t")
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return p.malformed("", "not a line of the example template (values in double quotes)")
	}
	c := s[1 : len(s)-1]
	var f [15]string
	if !fsSplitRight(c, &f) || fsCheck(&f, 1) >= 0 {
		n := fsSplitSep(c, &f)
		switch {
		case n > 15:
			return &lineError{format: p.format, kind: ErrAmbiguous,
				msg: strconv.Itoa(n) + ` parts separated by "," where the template has 15, and the values after the caller name do not line up; cannot tell which value holds the extra separators`}
		case n < 15:
			return p.malformed("", "%d values, want 15", n)
		}
		if i := fsCheck(&f, 4); i >= 0 {
			return p.malformed("column "+strconv.Itoa(i+1)+" ("+fsTemplate[i].name+")", "%s is not %s", quoteShort(f[i]), fsTemplate[i].want)
		}
	}
	for i, t := range fsTemplate {
		if t.field == numFields {
			r.addExtra(t.name, f[i])
			continue
		}
		r.set(t.field, f[i], i+1)
	}
	return nil
}

// fsSplitRight splits from the right, assuming only the first value may
// hold quotes.
func fsSplitRight(c string, f *[15]string) bool {
	end := len(c)
	for k := 14; k >= 1; k-- {
		j := strings.LastIndexByte(c[:end], '"')
		if j < 2 || c[j-1] != ',' || c[j-2] != '"' {
			return false
		}
		f[k] = c[j+1 : end]
		end = j - 2
	}
	f[0] = c[:end]
	return true
}

// fsSplitSep splits on every `","`, filling f when there are exactly 15
// parts, and returns the number of parts.
func fsSplitSep(c string, f *[15]string) int {
	n := 0
	for {
		j := strings.Index(c, `","`)
		if j < 0 {
			if n < 15 {
				f[n] = c
			}
			return n + 1
		}
		if n < 15 {
			f[n] = c[:j]
		}
		n++
		c = c[j+3:]
	}
}

// fsCheck returns the first position from `from` on whose value does not
// look right, or -1.
func fsCheck(f *[15]string, from int) int {
	for i := from; i < 15; i++ {
		if chk := fsTemplate[i].check; chk != nil && !chk(f[i]) {
			return i
		}
	}
	return -1
}

func emptyOr(f func(string) bool) func(string) bool {
	return func(s string) bool { return s == "" || f(s) }
}

// isStamp reports whether s is "YYYY-MM-DD HH:MM:SS".
func isStamp(s string) bool {
	if len(s) != 19 {
		return false
	}
	for i := 0; i < 19; i++ {
		c := s[i]
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != ' ' {
				return false
			}
		case 13, 16:
			if c != ':' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

func isCause(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

func isID(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':' || c == '@') {
			return false
		}
	}
	return s != ""
}

func isCodec(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '@' || c == '/') {
			return false
		}
	}
	return s != ""
}

// fsJSONCDR is the part of a mod_json_cdr record that is read.
type fsJSONCDR struct {
	Variables map[string]any  `json:"variables"`
	Callflow  json.RawMessage `json:"callflow"`
}

type fsCallflow struct {
	CallerProfile map[string]any `json:"caller_profile"`
}

// freeswitchJSON reads a mod_json_cdr record. Variables are URL-decoded
// (encode-values, the default; FreeSWITCH omits empty variables) and
// preferred; the first callflow's caller_profile (not encoded) fills the
// gaps. Epoch variables are preferred over the *_stamp ones (absolute
// times, no zone to guess). Variables not used for a Call field go to
// Extra by name.
//
// Disposition: from hangup_cause (see causeDisposition); ABANDONED when
// mod_callcenter reports cc_cause=cancel (the caller left the queue before
// an agent answered, even though the IVR had answered) or when an
// unanswered call has sip_hangup_disposition=recv_cancel.
func (p *Parser) freeswitchJSON(r *record) error {
	var cdr fsJSONCDR
	if err := decodeJSONLine(r.raw, &cdr); err != nil {
		return p.malformed("", "%v", err)
	}
	vars := make(map[string]string, len(cdr.Variables))
	for k, v := range cdr.Variables {
		s, ok := scalarString(v)
		if !ok || s == "" {
			continue
		}
		vars[k] = r.repair(urlDecode(s))
	}
	var profile map[string]any
	if cf := bytes.TrimSpace(cdr.Callflow); len(cf) > 0 {
		switch cf[0] {
		case '[':
			var flows []fsCallflow
			if err := json.Unmarshal(cf, &flows); err == nil && len(flows) > 0 {
				profile = flows[0].CallerProfile
			}
		case '{':
			var flow fsCallflow
			if err := json.Unmarshal(cf, &flow); err == nil {
				profile = flow.CallerProfile
			}
		}
	}
	take := func(f field, names ...string) {
		for _, n := range names {
			if s := vars[n]; s != "" {
				delete(vars, n)
				r.set(f, s, 0)
				return
			}
		}
	}
	// takeTime reads the first of several spellings of one time and drops
	// the others.
	takeTime := func(f field, names ...string) {
		take(f, names...)
		for _, n := range names {
			delete(vars, n)
		}
	}
	fromProfile := func(f field, names ...string) {
		if r.v[f] != "" {
			return
		}
		for _, n := range names {
			if s, ok := scalarString(profile[n]); ok && s != "" {
				r.set(f, r.repair(s), 0)
				return
			}
		}
	}
	take(fUniqueID, "uuid")
	fromProfile(fUniqueID, "uuid")
	take(fLinkedID, "call_uuid")
	take(fCallerName, "caller_id_name", "effective_caller_id_name")
	fromProfile(fCallerName, "caller_id_name")
	take(fCallerNumber, "caller_id_number", "effective_caller_id_number", "sip_from_user")
	fromProfile(fCallerNumber, "caller_id_number", "ani", "username")
	take(fDst, "destination_number", "sip_req_user", "sip_to_user")
	fromProfile(fDst, "destination_number")
	take(fContext, "context")
	fromProfile(fContext, "context")
	take(fChannel, "channel_name")
	fromProfile(fChannel, "chan_name")
	take(fDstChannel, "bridge_channel")
	take(fLastApp, "last_app")
	take(fLastData, "last_arg")
	takeTime(fStart, "start_uepoch", "start_epoch", "start_stamp")
	takeTime(fAnswer, "answer_uepoch", "answer_epoch", "answer_stamp")
	takeTime(fEnd, "end_uepoch", "end_epoch", "end_stamp")
	take(fDuration, "duration")
	take(fBillsec, "billsec")
	take(fHangupCause, "hangup_cause")
	take(fAccountCode, "accountcode")
	take(fQueue, "cc_queue")
	take(fAgent, "cc_agent")
	if vars["cc_cause"] == "cancel" {
		r.abandoned = true
	}
	if vars["sip_hangup_disposition"] == "recv_cancel" {
		r.cancelled = true
	}
	for k, v := range vars {
		r.addExtra(k, v)
	}
	return nil
}

// decodeJSONLine decodes one JSON object with numbers kept as written.
func decodeJSONLine(s string, v any) error {
	t := strings.TrimSpace(s)
	if t == "" || t[0] != '{' {
		return errors.New("not a JSON object")
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return errors.New("invalid JSON at offset " + strconv.FormatInt(se.Offset, 10) + ": " + se.Error())
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errors.New("JSON value of the wrong type at " + te.Field + ": " + te.Value)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.New("truncated JSON")
		}
		return errors.New("invalid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// scalarString renders a JSON scalar; ok is false for objects and arrays.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "", true
	}
	return "", false
}

// urlDecode undoes FreeSWITCH's switch_url_encode. It does not turn "+"
// into a space: FreeSWITCH encodes spaces as %20, and a "+" may be a
// literal one (+8613912345678). A value that is not validly encoded is
// kept as it is.
func urlDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	d, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return d
}
