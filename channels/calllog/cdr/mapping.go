package cdr

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/court12368/petitiond/mapping"
)

// Mapping describes a vendor's CDR layout for the formats csv and jsonl.
// It is plain data, decoded from YAML (strictly, by the config loader):
//
//	# csv with a header line (Chinese column names are fine)
//	header: true
//	fields:
//	  uniqueid: 话单编号
//	  caller_number: 主叫号码
//	  dst: 被叫号码
//	  start: 开始时间
//	  answer: 接听时间
//	  end: 结束时间
//	  billsec: 通话时长        # seconds, or 00:01:23
//	  disposition: 呼叫结果
//	  agent: 坐席工号
//	  notes: 来电摘要
//	time_layout: "%Y/%m/%d %H:%M:%S"
//	dispositions: {人工接听: ANSWERED, 排队放弃: ABANDONED}
//
//	# csv without header: name the columns, "-" skips one
//	columns: [uniqueid, caller_number, dst, start, end, "-", disposition, 备注]
//	fields: {notes: 备注}
//
//	# jsonl: paths into the JSON (mapping.Path), array elements by index
//	fields:
//	  uniqueid: call.id
//	  caller_number: call.from.number
//	  start: call.times.start      # epoch seconds, ms or µs are detected
//	  notes: form.summary
//	  agent: legs.0.agent          # or legs[0].agent
type Mapping struct {
	// Columns names the columns of a csv file in order. Columns named
	// with a canonical field name (or alias) fill that field; other names
	// go to Call.Extra; "-" skips a column. With header: true as well, the
	// header line is skipped and these names are used instead.
	Columns []string `yaml:"columns" desc:"csv: the names of the columns in order. A column named with a field name (or alias) fills that field, other names go to meta call.extra, - skips a column; with header: true the header line is then only skipped"`
	// Header says the first line of each csv file names the columns.
	Header bool `yaml:"header" desc:"csv: the first line of each file names the columns"`
	// Fields maps a canonical field name to its source: for csv a column
	// name (from columns or the header; an exact match first, then one
	// ignoring case) or a 1-based column number (a column of that name
	// wins); for jsonl a path (mapping.Path: legs.0.agent or legs[0].agent,
	// the syntax of every mapping). Canonical fields not named here
	// are taken from a column (csv) or top-level key (jsonl) of the same
	// name or an alias, if any.
	//
	// A csv line must have exactly as many columns as columns or the
	// header. Everything not used for a field goes to Call.Extra: csv
	// columns by name, jsonl scalar values by dotted path (at most 256,
	// nesting up to 16 levels).
	//
	// Canonical names (aliases in brackets): uniqueid (unique_id, uuid),
	// linkedid (linked_id), sequence, caller_name, caller_number (src),
	// clid (`"Name" <number>`, fills caller_name and caller_number when
	// they are empty), dst (destination), context (dcontext), channel,
	// dstchannel (dst_channel), lastapp (last_app), lastdata (last_data),
	// start, answer, end, duration, billsec, disposition, hangup_cause,
	// accountcode (account_code), userfield (user_field), queue, agent,
	// recording, notes.
	Fields map[string]string `yaml:"fields" desc:"field name -> its source: for csv a column name (exact, then ignoring case) or a 1-based column number; for jsonl a dotted JSON path (legs.0.agent or legs[0].agent). Fields: uniqueid, linkedid, sequence, caller_name, caller_number, clid, dst, context, channel, dstchannel, lastapp, lastdata, start, answer, end, duration, billsec, disposition, hangup_cause, accountcode, userfield, queue, agent, recording, notes"`
	// TimeLayout is a mapping.TimeLayout, the layout syntax of every
	// mapping: a Go layout ("2006-01-02 15:04:05", the default) or a
	// strftime pattern (%Y %m %d %H %M %S %y %e %I %p %b %B %a %A %z %Z %T
	// %F %f %%), which must give the year, month, day, hour and minute;
	// "epoch" or "unix" (Unix times, which are detected in any case by
	// their number of digits: seconds with an optional fraction,
	// milliseconds, microseconds, nanoseconds); "unix_ms" (Unix
	// milliseconds, also those of fewer than 12 digits); "rfc3339".
	// Whatever the layout, Unix times and RFC 3339 are also read.
	TimeLayout string `yaml:"time_layout" desc:"layout of the times: a Go layout (2006-01-02 15:04:05, the default) or strftime (%Y/%m/%d %H:%M:%S) giving year, month, day, hour and minute; epoch, unix: Unix times, which are detected by their digits in any case; unix_ms; rfc3339"`
	// Comma is the csv separator: one ASCII character, "\t" or "tab";
	// default ",".
	Comma string `yaml:"comma" desc:"csv separator: one ASCII character, \\t or tab; default a comma"`
	// Dispositions maps vendor disposition values (compared ignoring case,
	// with "_" and "-" read as spaces) to ANSWERED, NO ANSWER, BUSY,
	// FAILED, CONGESTION or ABANDONED. The built-in table (Asterisk and
	// common Chinese values) is consulted next; an unknown value gives
	// ANSWERED or NO ANSWER from the answer time and billsec, and is kept
	// in Extra["disposition_raw"].
	Dispositions map[string]string `yaml:"dispositions" desc:"vendor disposition value -> ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION or ABANDONED, before the built-in table (case, _ and - ignored)"`
}

// csvMapping is a compiled csv Mapping.
type csvMapping struct {
	sep     byte
	header  bool // the file starts with a header line
	columns bool // Columns given: the header line is only skipped
	bound   bool // column names known
	src     map[field]mapSource
	idx     [numFields]int
	extra   []string // per column: Extra name, "" when used or skipped
	ncols   int
}

type mapSource struct {
	key  string // Fields key, for error messages
	from string // column name or number
}

// jsonMapping is a compiled jsonl Mapping.
type jsonMapping struct {
	paths [numFields]*mapping.Path // nil: top-level key of the canonical name or an alias
	used  map[string]bool          // dotted paths that fill fields
}

func mappingError(format string, args ...any) error {
	return fmt.Errorf("cdr: mapping: "+format, args...)
}

func (p *Parser) compileMapping(m *Mapping, loc *time.Location, gmt bool) error {
	layout, err := compileLayout(m.TimeLayout)
	if err != nil {
		return err
	}
	p.times = newTimeParser(layout, loc, gmt)

	if len(m.Dispositions) > 0 {
		p.disp = make(map[string]string, len(m.Dispositions))
		for _, k := range sortedKeys(m.Dispositions) {
			v := m.Dispositions[k]
			canon := canonicalDisposition(v)
			if canon == "" {
				return mappingError("dispositions[%q]: %q is not one of ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION, ABANDONED", k, v)
			}
			key := dispositionKey(k)
			if key == "" {
				return mappingError("dispositions: empty vendor value")
			}
			p.disp[key] = canon
		}
	}

	src := make(map[field]mapSource, len(m.Fields))
	for _, k := range sortedKeys(m.Fields) {
		f, ok := lookupField(strings.TrimSpace(k))
		if !ok {
			return mappingError("fields: unknown field %q (known: %s)", k, strings.Join(fieldNames[:], ", "))
		}
		if prev, dup := src[f]; dup {
			return mappingError("fields: %q and %q both name the field %s", prev.key, k, fieldNames[f])
		}
		from := strings.TrimSpace(m.Fields[k])
		if from == "" {
			return mappingError("fields.%s: no source given", k)
		}
		src[f] = mapSource{key: k, from: from}
	}

	if p.format == FormatJSONL {
		var set []string
		if len(m.Columns) > 0 {
			set = append(set, "columns")
		}
		if m.Header {
			set = append(set, "header")
		}
		if m.Comma != "" {
			set = append(set, "comma")
		}
		if len(set) > 0 {
			return mappingError("%s: only for format csv, not jsonl", strings.Join(set, ", "))
		}
		jm := &jsonMapping{used: map[string]bool{}}
		for f, s := range src {
			path, err := mapping.ParsePath(s.from)
			if err != nil {
				return mappingError("fields.%s: %v", s.key, strings.Replace(err.Error(), "bad path", "bad JSON path", 1))
			}
			jm.paths[f] = &path
			jm.used[path.String()] = true
		}
		for f := field(0); f < numFields; f++ {
			if jm.paths[f] == nil {
				for _, k := range defaultKeys[f] {
					jm.used[k] = true
				}
			}
		}
		p.json = jm
		return nil
	}

	sep, err := compileComma(m.Comma)
	if err != nil {
		return err
	}
	if len(m.Columns) == 0 && !m.Header {
		return mappingError("format csv needs columns or header: true")
	}
	cm := &csvMapping{sep: sep, header: m.Header, src: src}
	if len(m.Columns) > 0 {
		names := make([]string, len(m.Columns))
		for i, c := range m.Columns {
			c = strings.TrimSpace(c)
			if c == "" {
				return mappingError("columns[%d]: empty name (use \"-\" to skip a column)", i)
			}
			if c != "-" {
				if j := slices.Index(names[:i], c); j >= 0 {
					return mappingError("columns[%d]: %q repeats columns[%d]", i, c, j)
				}
			}
			names[i] = c
		}
		if err := cm.bind(names, "columns"); err != nil {
			return mappingError("%v", err)
		}
		cm.columns = true
		cm.bound = !m.Header
	}
	p.csv = cm
	return nil
}

// bind resolves the field sources against the column names.
func (cm *csvMapping) bind(names []string, what string) error {
	for i := range cm.idx {
		cm.idx[i] = -1
	}
	find := func(name string) (int, error) {
		first := -1
		for i, n := range names {
			if n == name {
				if first >= 0 {
					return -1, fmt.Errorf("column %q appears twice in the %s", name, what)
				}
				first = i
			}
		}
		if first >= 0 {
			return first, nil
		}
		for i, n := range names {
			if strings.EqualFold(n, name) {
				return i, nil
			}
		}
		return -1, nil
	}
	for _, f := range sortedFields(cm.src) {
		s := cm.src[f]
		i, err := find(s.from)
		if err != nil {
			return fmt.Errorf("fields.%s: %v", s.key, err)
		}
		if i < 0 && allDigits(s.from) {
			n, err := strconv.Atoi(s.from)
			if err != nil || n < 1 || n > len(names) {
				return fmt.Errorf("fields.%s: column number %s out of range 1–%d", s.key, s.from, len(names))
			}
			i = n - 1
		}
		if i < 0 {
			return fmt.Errorf("fields.%s: column %q is not in the %s", s.key, s.from, what)
		}
		cm.idx[f] = i
	}
	for i, n := range names {
		if n == "-" {
			continue
		}
		if f, ok := lookupField(n); ok && cm.idx[f] < 0 {
			if _, mapped := cm.src[f]; !mapped {
				cm.idx[f] = i
			}
		}
	}
	if cm.idx[fStart] < 0 {
		return fmt.Errorf("no column for start (set fields.start or name a column start)")
	}
	if cm.idx[fCallerNumber] < 0 && cm.idx[fCLID] < 0 {
		return fmt.Errorf("no column for caller_number (set fields.caller_number or name a column caller_number)")
	}
	cm.extra = make([]string, len(names))
	for i, n := range names {
		if n != "-" && !slices.Contains(cm.idx[:], i) {
			cm.extra[i] = n
		}
	}
	cm.ncols = len(names)
	return nil
}

// WithHeader returns a parser for the lines that follow the given header
// line of a csv file (mapping header: true). The receiver is unchanged, so
// one parser serves several files. With columns also set, the header is
// only checked to have as many columns.
func (p *Parser) WithHeader(line []byte) (*Parser, error) {
	if p.csv == nil || !p.csv.header {
		return nil, fmt.Errorf("cdr: format %s: the mapping has no header line", p.format)
	}
	s, invalid := p.decode(line)
	if invalid {
		s = toValidUTF8(s)
	}
	names := splitCSV(nil, s, p.csv.sep)
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	np := *p
	cm := *p.csv
	np.csv = &cm
	if cm.columns {
		if len(names) != cm.ncols {
			return nil, fmt.Errorf("cdr: header: %d columns, the mapping's columns list %d", len(names), cm.ncols)
		}
	} else {
		for i, n := range names {
			if n == "" {
				names[i] = "-"
			}
		}
		if err := cm.bind(names, "header"); err != nil {
			return nil, fmt.Errorf("cdr: header: %v", err)
		}
	}
	cm.bound = true
	return &np, nil
}

func (p *Parser) mappedCSV(r *record) error {
	cm := p.csv
	if !cm.bound {
		return ErrNoHeader
	}
	var buf [32]string
	f := splitCSV(buf[:0], r.raw, cm.sep)
	if len(f) != cm.ncols {
		return p.malformed("", "%d columns, want %d", len(f), cm.ncols)
	}
	for i := field(0); i < numFields; i++ {
		if c := cm.idx[i]; c >= 0 {
			r.set(i, unExcel(f[c]), c+1)
		}
	}
	for i, name := range cm.extra {
		if name != "" {
			r.addExtra(name, strings.TrimSpace(unExcel(f[i])))
		}
	}
	return nil
}

// unExcel unwraps ="0791…", the spreadsheet way of keeping leading zeros.
func unExcel(s string) string {
	t := strings.TrimSpace(s)
	if len(t) >= 3 && t[0] == '=' && t[1] == '"' && t[len(t)-1] == '"' {
		return t[2 : len(t)-1]
	}
	return s
}

// maxExtra bounds the values a jsonl record adds to Extra.
const maxExtra = 256

func (p *Parser) mappedJSON(r *record) error {
	var obj map[string]any
	if err := decodeJSONLine(r.raw, &obj); err != nil {
		return p.malformed("", "%v", err)
	}
	jm := p.json
	for f := field(0); f < numFields; f++ {
		var v any
		found := false
		if path := jm.paths[f]; path != nil {
			v, found = path.Lookup(obj)
		} else {
			for _, k := range defaultKeys[f] {
				if v, found = obj[k]; found {
					break
				}
			}
		}
		if !found {
			continue
		}
		s, ok := scalarString(v)
		if !ok {
			return p.malformed("field "+fieldNames[f], "an object or array, not a value")
		}
		r.set(f, s, 0)
	}
	flatten(r, obj, "", jm.used, 0)
	return nil
}

// defaultKeys are the top-level keys read for a field the mapping does not
// name: its canonical name and aliases.
var defaultKeys = func() [numFields][]string {
	var k [numFields][]string
	for i, n := range fieldNames {
		k[i] = []string{n}
	}
	for _, a := range sortedKeys(fieldAliases) {
		f := fieldAliases[a]
		k[f] = append(k[f], a)
	}
	return k
}()

func flatten(r *record, v any, prefix string, used map[string]bool, depth int) {
	if depth > 16 || len(r.extra) >= maxExtra {
		return
	}
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			flatten(r, x[k], join(k), used, depth+1)
		}
	case []any:
		for i, e := range x {
			flatten(r, e, join(strconv.Itoa(i)), used, depth+1)
		}
	default:
		if used[prefix] || len(r.extra) >= maxExtra {
			return
		}
		if s, ok := scalarString(x); ok {
			r.addExtra(prefix, s)
		}
	}
}

func compileComma(c string) (byte, error) {
	switch c {
	case "":
		return ',', nil
	case "\t", `\t`, "tab", "TAB":
		return '\t', nil
	}
	if len(c) != 1 || c[0] >= 0x80 || c[0] == '"' || c[0] == '\r' || c[0] == '\n' {
		return 0, mappingError("comma: %q is not one ASCII character other than a quote or line break", c)
	}
	return c[0], nil
}

// compileLayout parses time_layout. Unix times are read whatever the
// layout, so unix and epoch keep the default layout.
func compileLayout(l string) (mapping.TimeLayout, error) {
	if strings.TrimSpace(l) == "" {
		return defaultLayout, nil
	}
	layout, err := mapping.ParseTimeLayout(l)
	if err != nil {
		return layout, mappingError("time_layout: %v", err)
	}
	switch {
	case layout.Kind() == mapping.TimeUnix:
		return defaultLayout, nil
	case !layout.HasDateTime():
		return layout, mappingError("time_layout %q must give year, month, day, hour and minute (Go layout like 2006-01-02 15:04:05, or strftime like %%Y-%%m-%%d %%H:%%M:%%S)", l)
	}
	return layout, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedFields(m map[field]mapSource) []field {
	fs := make([]field, 0, len(m))
	for f := range m {
		fs = append(fs, f)
	}
	slices.Sort(fs)
	return fs
}
