package cdr

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/court12368/petitiond/mapping"
)

// defaultLayout is Asterisk's and FreeSWITCH's "%Y-%m-%d %H:%M:%S".
var defaultLayout = mapping.MustTimeLayout("2006-01-02 15:04:05")

// defaultLocation is Asia/Shanghai, or UTC+8 without a zone database
// (China has had no daylight saving time since 1991).
var defaultLocation = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
})

// timeParser reads CDR times. Every value is tried, in order, as: empty or
// zero ("", "0", "0000-00-00 00:00:00", "-", "NULL", `\N`) → zero time;
// the layout, in the zone of local times; epoch seconds, milliseconds,
// microseconds or nanoseconds (told apart by the number of digits: ≤11,
// 12–14, 15–17, 18–19), with an optional fraction for seconds; RFC 3339
// and ISO 8601 without zone. Results are in the output zone.
type timeParser struct {
	layout mapping.TimeLayout
	loc    *time.Location // zone of times that carry none
	out    *time.Location
	fast   bool
}

func newTimeParser(layout mapping.TimeLayout, out *time.Location, gmt bool) timeParser {
	fast := layout.Kind() == mapping.TimeGo && layout.GoLayout() == defaultLayout.GoLayout()
	tp := timeParser{layout: layout, loc: out, out: out, fast: fast}
	if gmt {
		tp.loc = time.UTC
	}
	return tp
}

var fallbackLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006/01/02 15:04:05.999999999",
	"2006-01-02 15:04",
	"2006/01/02 15:04",
}

// Times before 1970 or after 2200 are refused: no call-centre record has
// them, and they are what a misread column gives.
const minYear, maxYear = 1970, 2200

func (tp timeParser) parse(s string) (time.Time, error) {
	t, err := tp.parseAny(strings.TrimSpace(s))
	if err != nil || t.IsZero() {
		return t, err
	}
	if y := t.Year(); y < minYear || y > maxYear {
		return time.Time{}, fmt.Errorf("time %s is out of range (%d–%d)", quoteShort(s), minYear, maxYear)
	}
	return t, nil
}

func (tp timeParser) parseAny(s string) (time.Time, error) {
	if zeroTime(s) {
		return time.Time{}, nil
	}
	if tp.fast {
		if t, ok := parseFast(s, tp.loc); ok {
			return t.In(tp.out), nil
		}
	}
	t, layoutErr := tp.layout.Parse(s, tp.loc)
	if layoutErr == nil {
		return t.In(tp.out), nil
	}
	if t, ok := mapping.ParseUnix(s); ok {
		return t.In(tp.out), nil
	}
	for _, l := range fallbackLayouts {
		if t, err := time.ParseInLocation(l, s, tp.loc); err == nil {
			return t.In(tp.out), nil
		}
	}
	var pe *time.ParseError
	if errors.As(layoutErr, &pe) && pe.Message != "" {
		// The value has the layout's shape, a part is out of range.
		return time.Time{}, fmt.Errorf("time %s: %s", quoteShort(s), strings.TrimPrefix(pe.Message, ": "))
	}
	return time.Time{}, fmt.Errorf("time %s does not match layout %q, epoch or RFC 3339", quoteShort(s), tp.layout.String())
}

func zeroTime(s string) bool {
	switch s {
	case "", "-", "NULL", "null", `\N`:
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '0', '-', ':', ' ', '.', 'T', '/':
		default:
			return false
		}
	}
	return true
}

// parseFast reads "2006-01-02 15:04:05" (or with "T") without allocating.
func parseFast(s string, loc *time.Location) (time.Time, bool) {
	if len(s) != 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for j := i; j < i+n; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	if day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc), true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
