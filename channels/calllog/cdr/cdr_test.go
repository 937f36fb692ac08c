package cdr

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the want.json files of the golden tests")

// caseOptions is a golden case's options.yaml.
type caseOptions struct {
	GMT      bool     `yaml:"gmt"`
	Encoding string   `yaml:"encoding"`
	Location string   `yaml:"location"`
	Mapping  *Mapping `yaml:"mapping"`
}

// result is the outcome of one input line in want.json.
type result struct {
	Line     int    `json:"line"`
	Header   bool   `json:"header,omitempty"`
	SourceID string `json:"source_id,omitempty"`
	LineHash string `json:"line_hash,omitempty"`
	Error    string `json:"error,omitempty"`
	Call     *Call  `json:"call,omitempty"`
}

func decodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding YAML: %v", err)
	}
}

// TestGolden parses testdata/<format>/<case>/input.txt line by line and
// compares the results with want.json (rewritten with -update).
func TestGolden(t *testing.T) {
	n := 0
	for _, format := range Formats() {
		dirs, err := os.ReadDir(filepath.Join("testdata", string(format)))
		if err != nil {
			t.Errorf("format %s has no golden cases: %v", format, err)
			continue
		}
		for _, d := range dirs {
			if !d.IsDir() {
				continue
			}
			n++
			dir := filepath.Join("testdata", string(format), d.Name())
			t.Run(string(format)+"/"+d.Name(), func(t *testing.T) { runGolden(t, format, dir) })
		}
	}
	if n == 0 {
		t.Fatal("no golden cases")
	}
}

func runGolden(t *testing.T, format Format, dir string) {
	var co caseOptions
	if data, err := os.ReadFile(filepath.Join(dir, "options.yaml")); err == nil {
		decodeStrict(t, data, &co)
	}
	opts := Options{Format: format, GMT: co.GMT, Encoding: co.Encoding, Mapping: co.Mapping}
	if co.Location != "" {
		loc, err := time.LoadLocation(co.Location)
		if err != nil {
			t.Fatal(err)
		}
		opts.Location = loc
	}
	p, err := NewParser(opts)
	if err != nil {
		t.Fatalf("NewParser: %v", err)
	}
	input, err := os.ReadFile(filepath.Join(dir, "input.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(input, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	results := []result{}
	for i, line := range lines {
		res := result{Line: i + 1}
		if p.NeedsHeader() {
			res.Header = true
			hp, err := p.WithHeader(line)
			if err != nil {
				res.Error = err.Error()
			} else {
				p = hp
			}
			results = append(results, res)
			continue
		}
		c, err := p.ParseLine(line)
		if err != nil {
			res.Error = err.Error()
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAmbiguous) && !errors.Is(err, ErrEmpty) {
				t.Errorf("line %d: error %q wraps none of ErrMalformed, ErrAmbiguous, ErrEmpty", i+1, err)
			}
		} else {
			checkCall(t, c)
			res.Call = &c
			if res.SourceID = c.SourceID(); res.SourceID == "" {
				res.LineHash = LineHash(line)
			}
		}
		results = append(results, res)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(results); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	wantFile := filepath.Join(dir, "want.json")
	if *update {
		if err := os.WriteFile(wantFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(wantFile)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("results differ from %s (run go test -update and review the diff):\n%s", wantFile, got)
	}
}

// checkCall checks what holds for every parsed Call.
func checkCall(t *testing.T, c Call) {
	t.Helper()
	if !isCanonical(c.Disposition) {
		t.Errorf("Disposition = %q, not canonical", c.Disposition)
	}
	if c.Disposition != Answered && !c.Missed || c.Missed && c.Disposition == Answered && (c.Billsec != 0 || !c.Answer.IsZero()) {
		t.Errorf("Missed = %v with Disposition %q, Billsec %d, Answer %v", c.Missed, c.Disposition, c.Billsec, c.Answer)
	}
	if c.Start.IsZero() {
		t.Error("Start is zero")
	}
	if c.Duration < 0 || c.Billsec < 0 {
		t.Errorf("Duration %d, Billsec %d: negative", c.Duration, c.Billsec)
	}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Call
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustJSON(t, back), data) {
		t.Errorf("Call does not survive a JSON round trip:\n%s\n%s", data, mustJSON(t, back))
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGB18030Encoded(t *testing.T) {
	utf := `"","13912345678","12368","from-trunk","""张三"" <13912345678>","SIP/trunk-1","SIP/8001-2","Dial","SIP/8001","2024-03-01 09:15:02","2024-03-01 09:15:10","2024-03-01 09:18:40",218,210,"ANSWERED","DOCUMENTATION","1709255702.1","要求回电"`
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(utf)
	if err != nil {
		t.Fatal(err)
	}
	if gb == utf {
		t.Fatal("encoding did not change the line")
	}
	p, err := NewParser(Options{Format: FormatAsteriskCSV, Encoding: "GBK"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.ParseLine([]byte(gb))
	if err != nil {
		t.Fatal(err)
	}
	if c.CallerName != "张三" || c.Notes != "要求回电" || c.Raw != utf {
		t.Errorf("ParseLine(GB18030) = name %q, notes %q, raw %q", c.CallerName, c.Notes, c.Raw)
	}
	if c.Extra["charset_repaired"] != "" {
		t.Errorf("charset_repaired = %q for a configured GB18030 line", c.Extra["charset_repaired"])
	}
	// The same bytes in a file configured as UTF-8 are repaired value by
	// value.
	p, err = NewParser(Options{Format: FormatAsteriskCSV})
	if err != nil {
		t.Fatal(err)
	}
	c, err = p.ParseLine([]byte(gb))
	if err != nil {
		t.Fatal(err)
	}
	if c.CallerName != "张三" || c.Extra["charset_repaired"] != "gb18030" {
		t.Errorf("ParseLine(GB18030 as UTF-8) = name %q, charset_repaired %q", c.CallerName, c.Extra["charset_repaired"])
	}
}

func TestNewParserErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no format", Options{}, "no format given"},
		{"unknown format", Options{Format: "cisco"}, `unknown format "cisco"`},
		{"encoding", Options{Format: FormatAsteriskCSV, Encoding: "big5"}, `encoding "big5": want utf-8 or gb18030`},
		{"mapping not used", Options{Format: FormatAsteriskCSV, Mapping: &Mapping{}}, "a mapping is only used by the formats csv and jsonl"},
		{"csv without mapping", Options{Format: FormatCSV}, "format csv needs a mapping"},
		{"jsonl without mapping", Options{Format: FormatJSONL}, "format jsonl needs a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewParser(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewParser() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMappingErrors(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		yaml   string
		want   string
	}{
		{"csv needs columns", FormatCSV, `fields: {start: a}`,
			"cdr: mapping: format csv needs columns or header: true"},
		{"unknown field", FormatCSV, `{columns: [start, src], fields: {caller: src}}`,
			`cdr: mapping: fields: unknown field "caller" (known: uniqueid, linkedid,`},
		{"field twice", FormatCSV, `{columns: [start, a, b], fields: {caller_number: a, src: b}}`,
			`cdr: mapping: fields: "caller_number" and "src" both name the field caller_number`},
		{"empty source", FormatCSV, `{columns: [start, src], fields: {notes: ""}}`,
			"cdr: mapping: fields.notes: no source given"},
		{"column not in columns", FormatCSV, `{columns: [开始时间, src], fields: {start: 开始}}`,
			`cdr: mapping: fields.start: column "开始" is not in the columns`},
		{"column number out of range", FormatCSV, `{columns: [a, src], fields: {start: 3}}`,
			"cdr: mapping: fields.start: column number 3 out of range 1–2"},
		{"empty column name", FormatCSV, `{columns: [start, "", src]}`,
			`cdr: mapping: columns[1]: empty name (use "-" to skip a column)`},
		{"repeated column", FormatCSV, `{columns: [start, src, start]}`,
			`cdr: mapping: columns[2]: "start" repeats columns[0]`},
		{"no start", FormatCSV, `{columns: [src, end]}`,
			"cdr: mapping: no column for start (set fields.start or name a column start)"},
		{"no caller number", FormatCSV, `{columns: [start, end]}`,
			"cdr: mapping: no column for caller_number"},
		{"bad comma", FormatCSV, `{columns: [start, src], comma: ";;"}`,
			`cdr: mapping: comma: ";;" is not one ASCII character other than a quote or line break`},
		{"quote comma", FormatCSV, `{columns: [start, src], comma: '"'}`,
			`cdr: mapping: comma: "\"" is not one ASCII character`},
		{"disposition target", FormatCSV, `{columns: [start, src], dispositions: {接通: OK}}`,
			`cdr: mapping: dispositions["接通"]: "OK" is not one of ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION, ABANDONED`},
		{"layout without tokens", FormatCSV, `{columns: [start, src], time_layout: "YYYY-MM-DD hh:mm:ss"}`,
			`cdr: mapping: time_layout "YYYY-MM-DD hh:mm:ss" must give year, month, day, hour and minute`},
		{"layout without year", FormatCSV, `{columns: [start, src], time_layout: "%m-%d %H:%M"}`,
			`cdr: mapping: time_layout "%m-%d %H:%M" must give year, month, day, hour and minute`},
		{"strftime directive", FormatCSV, `{columns: [start, src], time_layout: "%Y-%m-%d %Q"}`,
			"cdr: mapping: time_layout: unknown directive %Q"},
		{"strftime fraction", FormatCSV, `{columns: [start, src], time_layout: "%Y-%m-%d %H:%M %f"}`,
			"cdr: mapping: time_layout: %f must follow %S and a dot"},
		{"csv keys in jsonl", FormatJSONL, `{columns: [a], header: true, comma: ";"}`,
			"cdr: mapping: columns, header, comma: only for format csv, not jsonl"},
		{"bad path", FormatJSONL, `{fields: {start: "call..start"}}`,
			`cdr: mapping: fields.start: bad JSON path "call..start": use a.b.0.c or a.b[0].c`},
		{"bad index", FormatJSONL, `{fields: {agent: "legs[x].agent"}}`,
			`cdr: mapping: fields.agent: bad JSON path "legs[x].agent"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Mapping
			decodeStrict(t, []byte(tt.yaml), &m)
			_, err := NewParser(Options{Format: tt.format, Mapping: &m})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewParser() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMappingLayouts(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	want := time.Date(2024, 3, 1, 9, 15, 2, 0, loc)
	tests := []struct{ layout, value string }{
		{"", "2024-03-01 09:15:02"},
		{"", "2024-03-01T09:15:02+08:00"},
		{"", "2024-03-01T01:15:02Z"},
		{"", "1709255702"},
		{"", "1709255702000"},
		{"", "1709255702000000"},
		{"", "1709255702000000000"},
		{"epoch", "1709255702.0"},
		{"%Y/%m/%d %H:%M:%S", "2024/03/01 09:15:02"},
		{"%Y年%m月%d日 %H时%M分%S秒", "2024年03月01日 09时15分02秒"},
		{"%d.%m.%Y %I:%M:%S %p", "01.03.2024 09:15:02 AM"},
		{"%F %T", "2024-03-01 09:15:02"},
		{"%Y-%m-%d %H:%M:%S.%f", "2024-03-01 09:15:02.000"},
		{"%Y%m%d%H%M%S", "20240301091502"},
		{"02/01/2006 15:04:05", "01/03/2024 09:15:02"},
	}
	for _, tt := range tests {
		m := &Mapping{Columns: []string{"start", "src"}, TimeLayout: tt.layout}
		p, err := NewParser(Options{Format: FormatCSV, Mapping: m, Location: loc})
		if err != nil {
			t.Errorf("layout %q: %v", tt.layout, err)
			continue
		}
		c, err := p.ParseLine([]byte(tt.value + ",13912345678"))
		if err != nil {
			t.Errorf("layout %q, value %q: %v", tt.layout, tt.value, err)
			continue
		}
		if !c.Start.Equal(want) || c.Start.Location() != loc {
			t.Errorf("layout %q, value %q: Start = %v, want %v", tt.layout, tt.value, c.Start, want)
		}
	}
}

func TestHeader(t *testing.T) {
	m := &Mapping{Header: true, Fields: map[string]string{"start": "开始时间", "caller_number": "主叫"}}
	p, err := NewParser(Options{Format: FormatCSV, Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	if !p.NeedsHeader() {
		t.Fatal("NeedsHeader() = false")
	}
	if _, err := p.ParseLine([]byte("2024-03-01 09:15:02,139")); !errors.Is(err, ErrNoHeader) {
		t.Errorf("ParseLine before WithHeader: error = %v, want ErrNoHeader", err)
	}
	if _, err := p.WithHeader([]byte("开始时间,被叫")); err == nil || err.Error() != `cdr: header: fields.caller_number: column "主叫" is not in the header` {
		t.Errorf("WithHeader(missing column) error = %v", err)
	}
	if _, err := p.WithHeader([]byte("开始时间,主叫,主叫")); err == nil || err.Error() != `cdr: header: fields.caller_number: column "主叫" appears twice in the header` {
		t.Errorf("WithHeader(repeated column) error = %v", err)
	}
	hp, err := p.WithHeader([]byte("\uFEFF开始时间,主叫\r"))
	if err != nil {
		t.Fatal(err)
	}
	if hp.NeedsHeader() || !p.NeedsHeader() {
		t.Error("WithHeader changed the receiver or did not bind the header")
	}
	c, err := hp.ParseLine([]byte("2024-03-01 09:15:02,139"))
	if err != nil || c.CallerNumber != "139" {
		t.Errorf("ParseLine = %+v, %v", c, err)
	}
	ap, err := NewParser(Options{Format: FormatAsteriskCSV})
	if err != nil {
		t.Fatal(err)
	}
	if ap.NeedsHeader() {
		t.Error("asterisk-csv NeedsHeader() = true")
	}
	if _, err := ap.WithHeader([]byte("a,b")); err == nil {
		t.Error("asterisk-csv WithHeader: no error")
	}
	// header: true with columns: the header line is checked and skipped.
	cp, err := NewParser(Options{Format: FormatCSV, Mapping: &Mapping{Header: true, Columns: []string{"start", "src"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !cp.NeedsHeader() {
		t.Fatal("header+columns: NeedsHeader() = false")
	}
	if _, err := cp.WithHeader([]byte("a,b,c")); err == nil || err.Error() != "cdr: header: 3 columns, the mapping's columns list 2" {
		t.Errorf("WithHeader(3 columns) error = %v", err)
	}
	cp, err = cp.WithHeader([]byte("时间,号码"))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := cp.ParseLine([]byte("2024-03-01 09:15:02,139")); err != nil || c.CallerNumber != "139" {
		t.Errorf("ParseLine = %+v, %v", c, err)
	}
}

func TestExampleMapping(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "example-mapping.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m Mapping
	decodeStrict(t, data, &m)
	if _, err := NewParser(Options{Format: FormatCSV, Mapping: &m}); err != nil {
		t.Fatal(err)
	}
	var bad Mapping
	dec := yaml.NewDecoder(strings.NewReader("columns: [start, src]\nheaders: true\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&bad); err == nil {
		t.Error("a misspelled key decoded without error")
	}
}

func TestSourceID(t *testing.T) {
	tests := []struct {
		c    Call
		want string
	}{
		{Call{}, ""},
		{Call{Sequence: "3"}, ""},
		{Call{UniqueID: "1709255702.20"}, "1709255702.20"},
		{Call{UniqueID: "1709255702.20", Sequence: "42"}, "1709255702.20/42"},
	}
	for _, tt := range tests {
		if got := tt.c.SourceID(); got != tt.want {
			t.Errorf("SourceID(%q, %q) = %q, want %q", tt.c.UniqueID, tt.c.Sequence, got, tt.want)
		}
	}
	if got, want := LineHash([]byte("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("LineHash(abc) = %s, want %s", got, want)
	}
}

func TestSplitCSV(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{``, []string{""}},
		{`a`, []string{"a"}},
		{`a,`, []string{"a", ""}},
		{`,`, []string{"", ""}},
		{`"a,b",c`, []string{"a,b", "c"}},
		{`"a""b",c`, []string{`a"b`, "c"}},
		{`"",,""`, []string{"", "", ""}},
		{`""""`, []string{`"`}},
		{`a"b,c`, []string{`a"b`, "c"}},
		{`""张三" <139>",x`, []string{`"张三" <139>`, "x"}},
		{`"unterminated,x`, []string{"unterminated,x"}},
		{` "a" , b`, []string{"a", " b"}},
		{`"a" x,b`, []string{`a" x,b`}},
		{`"a" x",b`, []string{`a" x`, "b"}},
	}
	for _, tt := range tests {
		got := splitCSV(nil, tt.in, ',')
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("splitCSV(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitCLID(t *testing.T) {
	tests := []struct{ clid, src, name, number string }{
		{`"张三" <13912345678>`, "13912345678", "张三", "13912345678"},
		{`张三 <13912345678>`, "", "张三", "13912345678"},
		{`"王"五" <138>`, "", `王"五`, "138"},
		{`<138>`, "", "", "138"},
		{`13912345678`, "", "", "13912345678"},
		{`anonymous`, "anonymous", "", "anonymous"},
		{`"法院 总机"`, "", "法院 总机", ""},
		{`李四`, "139", "李四", ""},
	}
	for _, tt := range tests {
		name, number := splitCLID(tt.clid, tt.src)
		if name != tt.name || number != tt.number {
			t.Errorf("splitCLID(%q, %q) = %q, %q, want %q, %q", tt.clid, tt.src, name, number, tt.name, tt.number)
		}
	}
}

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		ok   bool
		fail bool
	}{
		{"", 0, false, false},
		{"38", 38, true, false},
		{" 38 ", 38, true, false},
		{"38.9", 38, true, false},
		{"00:01:23", 83, true, false},
		{"1:23", 83, true, false},
		{"1:2:3:4", 0, false, true},
		{"-1", 0, false, true},
		{"abc", 0, false, true},
		{"1:-2", 0, false, true},
		{"99999999999", 0, false, true},
	}
	for _, tt := range tests {
		n, ok, err := parseSeconds(tt.in)
		if n != tt.n || ok != tt.ok || (err != nil) != tt.fail {
			t.Errorf("parseSeconds(%q) = %d, %v, %v", tt.in, n, ok, err)
		}
	}
}

func TestCauseDisposition(t *testing.T) {
	tests := []struct {
		cause    string
		answered bool
		want     string
	}{
		{"NORMAL_CLEARING", true, Answered},
		{"MEDIA_TIMEOUT", true, Answered},
		{"NORMAL_CLEARING", false, NoAnswer},
		{"NO_ANSWER", false, NoAnswer},
		{"NO_USER_RESPONSE", false, NoAnswer},
		{"ORIGINATOR_CANCEL", false, Abandoned},
		{"USER_BUSY", false, Busy},
		{"CALL_REJECTED", false, Busy},
		{"NORMAL_CIRCUIT_CONGESTION", false, Congestion},
		{"UNALLOCATED_NUMBER", false, Failed},
		{"NO_ROUTE_DESTINATION", false, Failed},
	}
	for _, tt := range tests {
		if got := causeDisposition(tt.cause, tt.answered); got != tt.want {
			t.Errorf("causeDisposition(%s, %v) = %s, want %s", tt.cause, tt.answered, got, tt.want)
		}
	}
}

func TestNormalizeDisposition(t *testing.T) {
	p := &Parser{disp: map[string]string{"IVR挂机": Abandoned, "OK": Answered}}
	tests := []struct{ in, want string }{
		{"ANSWERED", Answered},
		{"answered", Answered},
		{"NO ANSWER", NoAnswer},
		{"no_answer", NoAnswer},
		{"No-Answer", NoAnswer},
		{"NOANSWER", NoAnswer},
		{"CHANUNAVAIL", Failed},
		{"congestion", Congestion},
		{"未接通", NoAnswer},
		{"占线", Busy},
		{"ivr挂机", Abandoned},
		{"ok", Answered},
		{"转接成功", ""},
	}
	for _, tt := range tests {
		if got := p.normalizeDisposition(tt.in); got != tt.want {
			t.Errorf("normalizeDisposition(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestDefaultLocation checks the default zone without relying on the
// golden files' zone.
func TestDefaultLocation(t *testing.T) {
	p, err := NewParser(Options{Format: FormatFreeSWITCHCSV})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.ParseLine([]byte(`"","139","12368","public","2024-03-01 09:15:02","","2024-03-01 09:15:05","3","0","NO_ANSWER","u1","","","",""`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Start.UTC(), time.Date(2024, 3, 1, 1, 15, 2, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Start = %v, want %v", got, want)
	}
	if _, off := c.Start.Zone(); off != 8*3600 {
		t.Errorf("Start zone offset = %d, want +8h", off)
	}
}

// TestConcurrentUse runs one parser from several goroutines (run with
// -race): a Parser is immutable.
func TestConcurrentUse(t *testing.T) {
	m := &Mapping{Header: true, Fields: map[string]string{"start": "开始", "caller_number": "主叫"}}
	base, err := NewParser(Options{Format: FormatCSV, Encoding: "gb18030", Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	header, err := simplifiedchinese.GB18030.NewEncoder().String("开始,主叫,姓名")
	if err != nil {
		t.Fatal(err)
	}
	line, err := simplifiedchinese.GB18030.NewEncoder().String("2024-03-01 09:15:02,139,张三")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := base.WithHeader([]byte(header))
			if err != nil {
				errs <- err
				return
			}
			for range 200 {
				c, err := p.ParseLine([]byte(line))
				if err != nil {
					errs <- err
					return
				}
				if c.Extra["姓名"] != "张三" {
					errs <- errors.New("Extra[姓名] = " + c.Extra["姓名"])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
