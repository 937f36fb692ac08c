package cdr

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// fuzzParsers are parsers for every format and code path a line can take.
func fuzzParsers(tb testing.TB) []*Parser {
	tb.Helper()
	var ps []*Parser
	add := func(opts Options, header string) {
		p, err := NewParser(opts)
		if err != nil {
			tb.Fatal(err)
		}
		if header != "" {
			if p, err = p.WithHeader([]byte(header)); err != nil {
				tb.Fatal(err)
			}
		}
		ps = append(ps, p)
	}
	for _, f := range []Format{FormatAsteriskCSV, FormatAsteriskCustom, FormatFreeSWITCHCSV, FormatFreeSWITCHJSON} {
		add(Options{Format: f}, "")
		add(Options{Format: f, Encoding: "gb18030", GMT: true}, "")
	}
	add(Options{Format: FormatCSV, Mapping: &Mapping{
		Columns: []string{"uniqueid", "clid", "dst", "start", "answer", "end", "duration", "billsec", "disposition", "-", "备注"},
		Fields:  map[string]string{"notes": "备注"},
	}}, "")
	add(Options{Format: FormatCSV, Encoding: "gb18030", Mapping: &Mapping{
		Header:       true,
		Comma:        ";",
		TimeLayout:   "%Y/%m/%d %H:%M:%S",
		Fields:       map[string]string{"caller_number": "主叫", "start": "开始", "billsec": "时长", "disposition": "结果"},
		Dispositions: map[string]string{"人工接听": Answered},
	}}, gb18030(tb, "主叫;开始;时长;结果;备注"))
	add(Options{Format: FormatJSONL, Mapping: &Mapping{
		Fields: map[string]string{"caller_number": "call.from", "start": "call.times[0]", "agent": "legs.0.agent"},
	}}, "")
	return ps
}

func gb18030(tb testing.TB, s string) string {
	tb.Helper()
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(s)
	if err != nil {
		tb.Fatal(err)
	}
	return gb
}

// FuzzParseLine feeds every line to every parser: nothing may panic, every
// error wraps a sentinel, and every Call holds valid UTF-8, a canonical
// disposition, a start time and a consistent Missed.
func FuzzParseLine(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*", "*", "input.txt"))
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	parsers := fuzzParsers(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, p := range parsers {
			c, err := p.ParseLine(line)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAmbiguous) && !errors.Is(err, ErrEmpty) {
					t.Fatalf("%s: error %q wraps no sentinel", p.Format(), err)
				}
				continue
			}
			checkCall(t, c)
			for name, s := range map[string]string{
				"UniqueID": c.UniqueID, "CallerName": c.CallerName, "CallerNumber": c.CallerNumber,
				"Destination": c.Destination, "Notes": c.Notes, "UserField": c.UserField, "Raw": c.Raw,
				"LastData": c.LastData, "Agent": c.Agent, "Queue": c.Queue,
			} {
				if !utf8.ValidString(s) {
					t.Fatalf("%s: %s is not valid UTF-8: %q", p.Format(), name, s)
				}
			}
			for k, v := range c.Extra {
				if !utf8.ValidString(k) || !utf8.ValidString(v) {
					t.Fatalf("%s: Extra[%q] = %q is not valid UTF-8", p.Format(), k, v)
				}
			}
		}
	})
}

// FuzzFreeSWITCHCallerName checks the claim of freeswitch-csv: whatever
// the caller name holds (quotes, commas, the separator), a line whose
// other values are well-formed gives back exactly that name.
func FuzzFreeSWITCHCallerName(f *testing.F) {
	for _, s := range []string{"张三", "张,三", `张三 "法官"`, `张三","李四`, `王五",`, `","`, `"`, `,"`, `"",""`, ""} {
		f.Add(s)
	}
	p, err := NewParser(Options{Format: FormatFreeSWITCHCSV})
	if err != nil {
		f.Fatal(err)
	}
	rest := `","13912345678","12368","public","2024-03-01 09:15:02","","2024-03-01 09:15:40","38","0","NO_ANSWER","a1b2c3d4-0001-4000-8000-000000000001","","court01","PCMA","PCMA"`
	f.Fuzz(func(t *testing.T, name string) {
		if !utf8.ValidString(name) || strings.ContainsAny(name, "\r\n") {
			t.Skip()
		}
		c, err := p.ParseLine([]byte(`"` + name + rest))
		if err != nil {
			t.Fatalf("caller name %q: %v", name, err)
		}
		if want := strings.TrimSpace(name); c.CallerName != want || c.CallerNumber != "13912345678" || c.Disposition != NoAnswer {
			t.Fatalf("caller name %q: got name %q, number %q, disposition %q", name, c.CallerName, c.CallerNumber, c.Disposition)
		}
	})
}
