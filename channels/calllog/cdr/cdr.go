package cdr

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Format names a CDR line layout.
type Format string

// The supported formats.
const (
	// FormatAsteriskCSV is Asterisk cdr_csv (Master.csv): no header, 16 to
	// 21 columns.
	FormatAsteriskCSV Format = "asterisk-csv"
	// FormatAsteriskCustom is Asterisk cdr_custom with the default
	// Master.csv template of cdr_custom.conf (18 or 19 columns).
	FormatAsteriskCustom Format = "asterisk-custom"
	// FormatFreeSWITCHCSV is FreeSWITCH mod_cdr_csv with the "example"
	// template: 15 double-quoted, unescaped values.
	FormatFreeSWITCHCSV Format = "freeswitch-csv"
	// FormatFreeSWITCHJSON is FreeSWITCH mod_json_cdr, one JSON object per
	// line, with URL-encoded variables.
	FormatFreeSWITCHJSON Format = "freeswitch-json"
	// FormatCSV is any vendor's CSV described by a Mapping.
	FormatCSV Format = "csv"
	// FormatJSONL is any vendor's JSON lines described by a Mapping.
	FormatJSONL Format = "jsonl"
)

// Formats lists the supported formats.
func Formats() []Format {
	return []Format{FormatAsteriskCSV, FormatAsteriskCustom, FormatFreeSWITCHCSV,
		FormatFreeSWITCHJSON, FormatCSV, FormatJSONL}
}

// Canonical dispositions.
const (
	Answered   = "ANSWERED"
	NoAnswer   = "NO ANSWER"
	Busy       = "BUSY"
	Failed     = "FAILED"
	Congestion = "CONGESTION"
	Abandoned  = "ABANDONED"
)

// Errors returned by ParseLine, WithHeader and NewParser. ParseLine errors
// are permanent for the line: the same bytes give the same error.
var (
	// ErrEmpty is returned for a line that holds nothing but white space
	// (and a byte-order mark); callers skip such lines.
	ErrEmpty = errors.New("cdr: empty line")
	// ErrMalformed is wrapped by every error about a line that does not
	// fit its format (column count, a time or number that does not parse).
	ErrMalformed = errors.New("malformed CDR line")
	// ErrAmbiguous is wrapped when a freeswitch-csv line cannot be split
	// into its 15 fields with certainty because an unescaped value other
	// than the caller name contains the quote separator.
	ErrAmbiguous = errors.New("ambiguous CDR line")
	// ErrNoHeader is returned by ParseLine of a csv parser whose mapping
	// has header: true when no header line was given (see WithHeader).
	ErrNoHeader = errors.New("cdr: no header line given for this file (use WithHeader)")
)

// Options configure a Parser.
type Options struct {
	// Format is the line layout; required.
	Format Format
	// Location is the time zone of local CDR times (Asterisk, FreeSWITCH
	// *_stamp, vendor times without zone) and the zone of the times in the
	// returned Call. Default Asia/Shanghai (a fixed UTC+8 zone when the
	// system has no time zone database).
	Location *time.Location
	// GMT says the CDR times are UTC (Asterisk cdr.conf usegmtime=yes).
	// Times that carry their own zone or are epoch values are not affected.
	GMT bool
	// Encoding of the line bytes: "utf-8" (default; also "utf8") or
	// "gb18030" (also "gbk", "gb2312", decoded as GB18030, their superset).
	Encoding string
	// Mapping describes the vendor layout; required for the formats csv
	// and jsonl and refused for the others.
	Mapping *Mapping
}

// Call is one parsed call-detail record.
type Call struct {
	// UniqueID is Asterisk's uniqueid, FreeSWITCH's uuid, or the mapped
	// uniqueid; empty when the format has none (16-column Master.csv).
	UniqueID string `json:"unique_id,omitempty"`
	// LinkedID groups the records of one call (Asterisk linkedid,
	// FreeSWITCH call_uuid).
	LinkedID string `json:"linked_id,omitempty"`
	// Sequence tells apart several records with the same UniqueID
	// (Asterisk 12+ writes one per dial attempt).
	Sequence     string `json:"sequence,omitempty"`
	CallerName   string `json:"caller_name,omitempty"`
	CallerNumber string `json:"caller_number,omitempty"`
	Destination  string `json:"destination,omitempty"`
	Context      string `json:"context,omitempty"`
	Channel      string `json:"channel,omitempty"`
	DstChannel   string `json:"dst_channel,omitempty"`
	LastApp      string `json:"last_app,omitempty"`
	LastData     string `json:"last_data,omitempty"`
	// Start is when the call began; never zero in a parsed Call.
	Start time.Time `json:"start"`
	// Answer is zero for an unanswered call.
	Answer time.Time `json:"answer,omitzero"`
	// End is zero when the format has no end time.
	End time.Time `json:"end,omitzero"`
	// Duration and Billsec are seconds: from the record, else computed
	// from the times (end−start, end−answer), else Duration is Billsec
	// (a lower bound) and Billsec 0.
	Duration int `json:"duration"`
	Billsec  int `json:"billsec"`
	// Disposition is one of ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION,
	// ABANDONED.
	Disposition string `json:"disposition"`
	// Missed is true when the caller did not get through and needs a
	// call-back: Disposition is not ANSWERED, or the record has a billsec
	// or answer value and shows neither an answer time nor a billed second
	// (an ANSWERED record without that evidence errs on the side of a
	// call-back).
	Missed      bool   `json:"missed"`
	AccountCode string `json:"account_code,omitempty"`
	UserField   string `json:"user_field,omitempty"`
	Queue       string `json:"queue,omitempty"`
	Agent       string `json:"agent,omitempty"`
	Recording   string `json:"recording,omitempty"`
	// Notes is the operator's summary of the call: the mapped notes
	// column, else the userfield.
	Notes string `json:"notes,omitempty"`
	// HangupCause is the FreeSWITCH (Q.850 name) hangup cause.
	HangupCause string `json:"hangup_cause,omitempty"`
	// Extra holds the other values of the record by name (amaflags,
	// peeraccount, bleg_uuid, codecs, FreeSWITCH variables, unmapped vendor
	// columns …) and parser notes: disposition_raw (the vendor disposition
	// when it was not already canonical), charset_repaired.
	Extra map[string]string `json:"extra,omitempty"`
	// Raw is the line decoded to UTF-8, without byte-order mark and line
	// ending.
	Raw string `json:"raw"`
}

// SourceID is the stable id of the record within its source: the
// UniqueID, followed by "/" and the Sequence when there is one (Asterisk
// writes several records with the same uniqueid, told apart by sequence).
// It is empty when the record has no UniqueID; use LineHash then.
func (c Call) SourceID() string {
	if c.UniqueID == "" {
		return ""
	}
	if c.Sequence == "" {
		return c.UniqueID
	}
	return c.UniqueID + "/" + c.Sequence
}

// LineHash is the hex SHA-256 of exactly the given bytes: the source id of
// a record that has no SourceID. Pass the line as read, without "\n".
func LineHash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// Parser parses CDR lines of one format. It is immutable and safe for
// concurrent use. The caller passes the lines of a file in order; for a csv
// mapping with header: true it first binds the file's header line with
// WithHeader (again for every new file, and after a restart at a saved
// offset it re-reads the file's first line).
type Parser struct {
	format Format
	gb     bool
	times  timeParser
	disp   map[string]string // mapping dispositions, keys upper-cased
	csv    *csvMapping
	json   *jsonMapping
}

// NewParser validates opts and returns a parser. Errors name the option
// or mapping key at fault.
func NewParser(opts Options) (*Parser, error) {
	p := &Parser{format: opts.Format}
	switch strings.ToLower(strings.TrimSpace(opts.Encoding)) {
	case "", "utf-8", "utf8":
	case "gb18030", "gbk", "gb2312":
		p.gb = true
	default:
		return nil, fmt.Errorf("cdr: encoding %q: want utf-8 or gb18030", opts.Encoding)
	}
	loc := opts.Location
	if loc == nil {
		loc = defaultLocation()
	}
	p.times = newTimeParser(defaultLayout, loc, opts.GMT)
	switch opts.Format {
	case FormatAsteriskCSV, FormatAsteriskCustom, FormatFreeSWITCHCSV, FormatFreeSWITCHJSON:
		if opts.Mapping != nil {
			return nil, fmt.Errorf("cdr: format %s: a mapping is only used by the formats csv and jsonl", opts.Format)
		}
	case FormatCSV, FormatJSONL:
		if opts.Mapping == nil {
			return nil, fmt.Errorf("cdr: format %s needs a mapping", opts.Format)
		}
		if err := p.compileMapping(opts.Mapping, loc, opts.GMT); err != nil {
			return nil, err
		}
	case "":
		return nil, errors.New("cdr: no format given")
	default:
		return nil, fmt.Errorf("cdr: unknown format %q (known: %s)", opts.Format, formatList())
	}
	return p, nil
}

func formatList() string {
	var b strings.Builder
	for i, f := range Formats() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(f))
	}
	return b.String()
}

// Format is the parser's format.
func (p *Parser) Format() Format { return p.format }

// NeedsHeader reports whether lines can only be parsed after WithHeader
// (format csv with header: true and the header not yet bound).
func (p *Parser) NeedsHeader() bool {
	return p.csv != nil && p.csv.header && !p.csv.bound
}

// ParseLine parses one CDR line, given without its "\n" (a trailing "\r"
// is ignored), in the configured encoding. A blank line gives ErrEmpty, a
// csv line before its header ErrNoHeader; every other error wraps
// ErrMalformed or ErrAmbiguous and names the column or field at fault
// (never quoting the caller's name or number).
func (p *Parser) ParseLine(line []byte) (Call, error) {
	var r record
	r.raw, r.invalid = p.decode(line)
	if isBlank(r.raw) {
		return Call{}, ErrEmpty
	}
	var err error
	switch p.format {
	case FormatAsteriskCSV:
		err = p.asteriskCSV(&r)
	case FormatAsteriskCustom:
		err = p.asteriskCustom(&r)
	case FormatFreeSWITCHCSV:
		err = p.freeswitchCSV(&r)
	case FormatFreeSWITCHJSON:
		err = p.freeswitchJSON(&r)
	case FormatCSV:
		err = p.mappedCSV(&r)
	case FormatJSONL:
		err = p.mappedJSON(&r)
	default:
		err = fmt.Errorf("cdr: parser not built by NewParser")
	}
	if err != nil {
		return Call{}, err
	}
	return p.build(&r)
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n', '\v', '\f':
		default:
			return false
		}
	}
	return true
}

// lineError is a ParseLine error.
type lineError struct {
	format Format
	where  string // "column 10 (start)", "field start", ""
	msg    string
	kind   error
}

func (e *lineError) Error() string {
	if e.where == "" {
		return fmt.Sprintf("cdr: %s: %s", e.format, e.msg)
	}
	return fmt.Sprintf("cdr: %s: %s: %s", e.format, e.where, e.msg)
}

func (e *lineError) Unwrap() error { return e.kind }

func (p *Parser) malformed(where, format string, args ...any) error {
	return &lineError{format: p.format, where: where, msg: fmt.Sprintf(format, args...), kind: ErrMalformed}
}

// quoteShort shows the shape of a bad value for an error message, never
// the value: digits become 9, letters a or A, other characters (Chinese
// text) *, punctuation stays; cut to 40 characters. A misaligned line can
// put a name or a phone number into a time or number column, and error
// texts reach logs and dead letters.
func quoteShort(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 40 {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r >= '0' && r <= '9':
			b.WriteByte('9')
		case r >= 'a' && r <= 'z':
			b.WriteByte('a')
		case r >= 'A' && r <= 'Z':
			b.WriteByte('A')
		case r < 0x80 && r >= 0x20:
			b.WriteRune(r)
		default:
			b.WriteByte('*')
		}
	}
	return "value of the shape \"" + b.String() + "\""
}
