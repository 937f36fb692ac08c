package mapping_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/mapping"
)

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var doc any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestParsePath(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"a", "a"},
		{"a.b.c", "a.b.c"},
		{"legs.0.agent", "legs.0.agent"},
		{"legs[0].agent", "legs.0.agent"},
		{"m[1][2]", "m.1.2"},
		{"a.b[10]", "a.b.10"},
		{"用户.姓名", "用户.姓名"},
	} {
		p, err := mapping.ParsePath(tt.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		if got := p.String(); got != tt.want {
			t.Errorf("ParsePath(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{
		"", ".", "a..b", ".a", "a.", "a[x]", "a[]", "a[", "a]", "a[0]b",
		"[0].a", "a.[0]", "a[-1]", "a[0", "a[1234567890]",
	} {
		if _, err := mapping.ParsePath(bad); err == nil || !strings.Contains(err.Error(), "bad path") {
			t.Errorf("ParsePath(%q) = %v, want a bad path error", bad, err)
		}
	}
}

func TestLookup(t *testing.T) {
	doc := decodeJSON(t, `{
	  "call": {"id": "c1", "from": {"number": "13912345678"}, "times": [1709255702, "x"]},
	  "legs": [{"agent": "A01"}, {"agent": "A02", "tags": [["t00", "t01"]]}],
	  "0": "zero key", "obj": {"1": "one"}, "n": null, "items[0]": "literal"
	}`)
	for _, tt := range []struct {
		path  string
		want  any
		found bool
	}{
		{"call.id", "c1", true},
		{"call.from.number", "13912345678", true},
		{"call.times.0", json.Number("1709255702"), true},
		{"call.times[1]", "x", true},
		{"legs.1.agent", "A02", true},
		{"legs[1].agent", "A02", true},
		{"legs[1].tags[0][1]", "t01", true},
		{"legs.1.tags.0.1", "t01", true},
		{"obj[1]", "one", true},        // [1] is .1 is a key in a map
		{"0", "zero key", true},        // a number is a key in a map
		{"n", nil, true},               // null is found
		{"items[0]", "literal", true},  // a key written with brackets
		{"legs.2.agent", nil, false},   // out of range
		{"legs.x", nil, false},         // a key into an array
		{"call.id.more", nil, false},   // into a scalar
		{"call.missing", nil, false},   // no such key
		{"legs[x].agent", nil, false},  // a bad path finds nothing
		{"call..id", nil, false},       // ditto
		{"legs[0][0]", nil, false},     // an index into an object
		{"legs.0.agent.0", nil, false}, // an index into a string
		{"call.times.1.0", nil, false}, // ditto
		{"call.times.01", "x", true},   // leading zeros are fine
		{"call.times[01]", "x", true},  // in both spellings
	} {
		v, ok := mapping.Lookup(doc, tt.path)
		if ok != tt.found || v != tt.want {
			t.Errorf("Lookup(%q) = %#v, %v, want %#v, %v", tt.path, v, ok, tt.want, tt.found)
		}
	}

	form := map[string][]string{"xm": {"赵六", "x"}, "empty": {}, "f[0]": {"php"}}
	for path, want := range map[string]string{"xm": "赵六", "f[0]": "php"} {
		if v, ok := mapping.Lookup(form, path); !ok || v != want {
			t.Errorf("form Lookup(%q) = %v, %v, want %q", path, v, ok, want)
		}
	}
	if v, ok := mapping.Lookup(form, "empty"); ok {
		t.Errorf("form Lookup(empty) = %v, found", v)
	}
	if v, ok := mapping.Lookup(map[string]string{"a": "b"}, "a"); !ok || v != "b" {
		t.Errorf("map[string]string Lookup = %v, %v", v, ok)
	}
}

func TestTimeLayouts(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	want := time.Date(2024, 3, 1, 9, 15, 2, 0, cst)
	for _, tt := range []struct {
		layout, value string
		kind          mapping.TimeKind
		want          time.Time
	}{
		{"2006-01-02 15:04:05", "2024-03-01 09:15:02", mapping.TimeGo, want},
		{"02/01/2006 15:04:05", "01/03/2024 09:15:02", mapping.TimeGo, want},
		{"%Y-%m-%d %H:%M:%S", "2024-03-01 09:15:02", mapping.TimeGo, want},
		{"%Y/%m/%d %H:%M:%S", "2024/03/01 09:15:02", mapping.TimeGo, want},
		{"%Y年%m月%d日 %H时%M分%S秒", "2024年03月01日 09时15分02秒", mapping.TimeGo, want},
		{"%d.%m.%Y %I:%M:%S %p", "01.03.2024 09:15:02 AM", mapping.TimeGo, want},
		{"%F %T", "2024-03-01 09:15:02", mapping.TimeGo, want},
		{"%Y-%m-%d %H:%M:%S.%f", "2024-03-01 09:15:02.250", mapping.TimeGo, want.Add(250 * time.Millisecond)},
		{"%Y%m%d%H%M%S", "20240301091502", mapping.TimeGo, want},
		{"%e %b %Y %H:%M %z", " 1 Mar 2024 01:15 +0000", mapping.TimeGo, want.Add(-2 * time.Second)},
		{"%Y-%m-%d (%%)", "2024-03-01 (%)", mapping.TimeGo, time.Date(2024, 3, 1, 0, 0, 0, 0, cst)},
		{"2006-01-02", "2024-03-01", mapping.TimeGo, time.Date(2024, 3, 1, 0, 0, 0, 0, cst)},
		{"unix", "1709255702", mapping.TimeUnix, want},
		{"epoch", "1709255702.5", mapping.TimeUnix, want.Add(500 * time.Millisecond)},
		{" UNIX ", "1709255702000", mapping.TimeUnix, want},
		{"unix", "1709255702000000", mapping.TimeUnix, want},
		{"unix", "1709255702000000000", mapping.TimeUnix, want},
		{"unix_ms", "1709255702000", mapping.TimeUnixMilli, want},
		{"unix_ms", "1709255702", mapping.TimeUnixMilli, time.UnixMilli(1709255702)},
		{"rfc3339", "2024-03-01T09:15:02+08:00", mapping.TimeRFC3339, want},
		{"RFC3339", "2024-03-01T01:15:02.5Z", mapping.TimeRFC3339, want.Add(500 * time.Millisecond)},
	} {
		l, err := mapping.ParseTimeLayout(tt.layout)
		if err != nil {
			t.Errorf("ParseTimeLayout(%q): %v", tt.layout, err)
			continue
		}
		if l.Kind() != tt.kind || l.String() != tt.layout {
			t.Errorf("ParseTimeLayout(%q) = kind %v, %q", tt.layout, l.Kind(), l.String())
		}
		got, err := l.Parse(tt.value, cst)
		if err != nil {
			t.Errorf("layout %q, Parse(%q): %v", tt.layout, tt.value, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("layout %q, Parse(%q) = %v, want %v", tt.layout, tt.value, got, tt.want)
		}
	}
}

func TestTimeLayoutErrors(t *testing.T) {
	for layout, want := range map[string]string{
		"":                     "empty time layout",
		"  ":                   "empty time layout",
		"%Y-%m-%d %Q":          "unknown directive %Q",
		"%Y-%m-%d %H:%M:%S %":  "pattern ends with %",
		"%Y-%m-%d %H:%M %f":    "%f must follow %S and a dot",
		"%Y-%m-%d %H:%M:%S %f": "%f must follow %S and a dot",
		"%Y-%m-%d %H:%M:%S.%k": "unknown directive %k",
	} {
		if _, err := mapping.ParseTimeLayout(layout); err == nil || err.Error() != want {
			t.Errorf("ParseTimeLayout(%q) = %v, want %q", layout, err, want)
		}
	}

	// HasDateTime: what the CDR mapping requires of a layout.
	for layout, has := range map[string]bool{
		"2006-01-02 15:04:05": true,
		"%Y%m%d%H%M":          true,
		"%d.%m.%y %I:%M %p":   true,
		"unix":                true,
		"unix_ms":             true,
		"rfc3339":             true,
		"%m-%d %H:%M":         false, // no year
		"2006-01 15:04":       false, // no day
		"%Y-%m-%d":            false, // no hour
		"%Y-%m-%d %H":         false, // no minute
		"%Y-%m-%d %I:%M":      false, // 12-hour clock without %p
		"YYYY-MM-DD hh:mm:ss": false, // no element at all
	} {
		l, err := mapping.ParseTimeLayout(layout)
		if err != nil {
			t.Errorf("ParseTimeLayout(%q): %v", layout, err)
			continue
		}
		if l.HasDateTime() != has {
			t.Errorf("ParseTimeLayout(%q).HasDateTime() = %v, want %v", layout, !has, has)
		}
	}

	for _, tt := range []struct{ layout, value, want string }{
		{"2006-01-02 15:04:05", "yesterday", `does not match layout "2006-01-02 15:04:05"`},
		{"%Y-%m-%d %H:%M:%S", "2024-13-01 09:15:02", `does not match layout "%Y-%m-%d %H:%M:%S": month out of range`},
		{"unix", "17092557O2", "not a Unix time"},
		{"unix", "-1", "not a Unix time"},
		{"unix", "1709255702000.5", "not a Unix time"},
		{"unix", "12345678901234567890", "not a Unix time"},
		{"unix_ms", "1.5", "not a number of milliseconds"},
		{"rfc3339", "2024-03-01 09:15:02", "not an RFC 3339 time"},
	} {
		_, err := mapping.MustTimeLayout(tt.layout).Parse(tt.value, time.UTC)
		if err == nil || err.Error() != tt.want {
			t.Errorf("layout %q, Parse(%q) = %v, want %q", tt.layout, tt.value, err, tt.want)
		}
	}
	_, err := mapping.MustTimeLayout("2006-01-02").Parse("2024-02-30", nil)
	var le *mapping.LayoutError
	var pe *time.ParseError
	if !errors.As(err, &le) || !errors.As(err, &pe) {
		t.Errorf("Parse error %v is not a *LayoutError wrapping a *time.ParseError", err)
	}
}

func TestParseUnix(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"0", time.Unix(0, 0), true},
		{"1", time.Unix(1, 0), true},
		{"99999999999", time.Unix(99999999999, 0), true},     // 11 digits: seconds
		{"100000000000", time.UnixMilli(100000000000), true}, // 12: milliseconds
		{"1709255702.123456789123", time.Unix(1709255702, 123456789), true},
		{"1709255702123456", time.UnixMicro(1709255702123456), true},
		{"1709255702123456789", time.Unix(0, 1709255702123456789), true},
		{"", time.Time{}, false},
		{".5", time.Time{}, false},
		{"1.", time.Time{}, false},
		{"1e9", time.Time{}, false},
		{"+1", time.Time{}, false},
	} {
		got, ok := mapping.ParseUnix(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseUnix(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
