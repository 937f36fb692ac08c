package cdr

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/mapping"
)

// TestOneMappingLanguage: a path or time layout means the same in a CDR
// mapping (fields, time_layout) as in a channel mapping (from, layout).
func TestOneMappingLanguage(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no zone database")
	}
	const line = `{"caller_number": "13912345678", "start": "2024-03-01 09:15:02",
	  "call": {"id": "c1", "from": {"number": "0791-86123456"}, "times": ["1709255702", 1709255702000]},
	  "legs": [{"agent": "A01"}, {"agent": "A02", "skills": [["s00", "s01"]]}],
	  "form": {"1": "key one", "ok": true, "n": 7}}`

	viaCDR := func(fields map[string]string, layout string) (Call, error) {
		p, err := NewParser(Options{Format: FormatJSONL, Location: shanghai,
			Mapping: &Mapping{Fields: fields, TimeLayout: layout}})
		if err != nil {
			return Call{}, err
		}
		return p.ParseLine([]byte(strings.ReplaceAll(line, "\n", "")))
	}
	viaSpec := func(spec mapping.Spec) (*mapping.Result, error) {
		m, err := mapping.Compile(spec)
		if err != nil {
			return nil, err
		}
		var doc any
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		return m.Apply(doc)
	}

	for _, path := range []string{
		"call.id", "call.from.number", "call.times.0", "call.times[0]", "call.times.1",
		"legs.1.agent", "legs[1].agent", "legs[1].skills[0][1]", "legs.1.skills.0.1",
		"form.1", "form[1]", "form.ok", "form.n", "legs.2.agent", "legs.x", "nothing.here",
	} {
		c, err := viaCDR(map[string]string{"notes": path}, "")
		if err != nil {
			t.Errorf("path %q: CDR: %v", path, err)
			continue
		}
		res, err := viaSpec(mapping.Spec{"content": {From: mapping.Paths{path}}})
		if err != nil {
			t.Errorf("path %q: Spec: %v", path, err)
			continue
		}
		if got := string(res.Fields["content"]); got != c.Notes {
			t.Errorf("path %q: Spec gives %q, CDR gives %q", path, got, c.Notes)
		}
	}
	for _, bad := range []string{"call..id", ".call", "call.", "legs[x].agent", "legs[]", "legs[0]x", "legs]"} {
		_, cdrErr := viaCDR(map[string]string{"notes": bad}, "")
		_, specErr := viaSpec(mapping.Spec{"content": {From: mapping.Paths{bad}}})
		if cdrErr == nil || specErr == nil || !strings.Contains(cdrErr.Error(), "bad JSON path") ||
			!strings.Contains(specErr.Error(), "bad path") {
			t.Errorf("path %q: CDR error %v, Spec error %v; want both to refuse it", bad, cdrErr, specErr)
		}
	}

	want := time.Date(2024, 3, 1, 9, 15, 2, 0, shanghai)
	for _, tt := range []struct{ layout, path string }{
		{"2006-01-02 15:04:05", "start"},
		{"%Y-%m-%d %H:%M:%S", "start"},
		{"%F %T", "start"},
		{"unix", "call.times.0"},
		{"epoch", "call.times[1]"}, // milliseconds, told by the digits
		{"unix_ms", "call.times.1"},
	} {
		c, err := viaCDR(map[string]string{"start": tt.path}, tt.layout)
		if err != nil {
			t.Errorf("layout %q: CDR: %v", tt.layout, err)
			continue
		}
		res, err := viaSpec(mapping.Spec{"received_at": {From: mapping.Paths{tt.path}, Layout: tt.layout, Timezone: "Asia/Shanghai"}})
		if err != nil {
			t.Errorf("layout %q: Spec: %v", tt.layout, err)
			continue
		}
		if !c.Start.Equal(want) || !res.ReceivedAt.Equal(want) {
			t.Errorf("layout %q: CDR gives %v, Spec %v, want %v", tt.layout, c.Start, res.ReceivedAt, want)
		}
	}
	for _, tt := range []struct{ layout, value string }{
		{"rfc3339", "2024-03-01T09:15:02+08:00"},
		{"RFC3339", "2024-03-01T01:15:02Z"},
	} {
		l := fmt.Sprintf(`{"caller_number": "1", "t": %q}`, tt.value)
		p, err := NewParser(Options{Format: FormatJSONL, Location: shanghai,
			Mapping: &Mapping{Fields: map[string]string{"start": "t"}, TimeLayout: tt.layout}})
		if err != nil {
			t.Errorf("layout %q: CDR: %v", tt.layout, err)
			continue
		}
		c, err := p.ParseLine([]byte(l))
		if err != nil || !c.Start.Equal(want) {
			t.Errorf("layout %q: CDR gives %v, %v, want %v", tt.layout, c, err, want)
		}
	}
	// A layout with an unknown strftime directive is refused by both.
	for _, bad := range []string{"%Y-%m-%d %Q", "%Y-%m-%d %H:%M %f", "%Y-%m-%d %H:%M:%"} {
		_, cdrErr := viaCDR(map[string]string{"start": "start"}, bad)
		_, specErr := viaSpec(mapping.Spec{"received_at": {From: mapping.Paths{"start"}, Layout: bad}})
		if cdrErr == nil || specErr == nil {
			t.Errorf("layout %q: CDR error %v, Spec error %v; want both to refuse it", bad, cdrErr, specErr)
		}
	}
}
