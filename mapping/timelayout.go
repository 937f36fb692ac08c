package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TimeKind is what a TimeLayout reads.
type TimeKind int

const (
	// TimeGo is a Go layout (2006-01-02 15:04:05), perhaps written as a
	// strftime pattern (%Y-%m-%d %H:%M:%S).
	TimeGo TimeKind = iota
	// TimeUnix is a Unix time ("unix" or "epoch") whose unit follows from
	// its number of integer digits: up to 11 seconds (with an optional
	// fraction), 12–14 milliseconds, 15–17 microseconds, 18–19
	// nanoseconds.
	TimeUnix
	// TimeUnixMilli is a whole number of milliseconds ("unix_ms").
	TimeUnixMilli
	// TimeRFC3339 is an RFC 3339 time with a zone ("rfc3339").
	TimeRFC3339
)

// TimeLayout is a parsed time layout, the one layout syntax of every
// mapping in petitiond (the web and scan channels' received_at layout, the
// calllog CDR mapping's time_layout):
//
//   - unix or epoch: Unix times, seconds, milliseconds, microseconds or
//     nanoseconds told apart by their digits (see TimeUnix);
//   - unix_ms: Unix milliseconds;
//   - rfc3339: 2024-03-01T09:15:02+08:00, with an optional fraction;
//   - a strftime pattern, anything with a %: %Y %y %m %d %e %H %I %M %S
//     %p %b %h %B %a %A %z %Z %T %F %f (after %S and a dot) %%;
//   - else a Go layout (2006-01-02 15:04:05).
//
// The keywords are read ignoring case and surrounding space. The zero
// TimeLayout is the Go layout "", which parses nothing but "".
type TimeLayout struct {
	kind   TimeKind
	layout string // the Go layout, for TimeGo
	src    string // as written
}

// ParseTimeLayout checks and parses a layout. An empty one is refused:
// each mapping has its own default.
func ParseTimeLayout(s string) (TimeLayout, error) {
	l := TimeLayout{src: s}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return l, errors.New("empty time layout")
	case "unix", "epoch":
		l.kind = TimeUnix
		return l, nil
	case "unix_ms":
		l.kind = TimeUnixMilli
		return l, nil
	case "rfc3339":
		l.kind = TimeRFC3339
		return l, nil
	}
	layout, err := strftimeLayout(s)
	if err != nil {
		return l, err
	}
	l.layout = layout
	return l, nil
}

// MustTimeLayout is ParseTimeLayout for layouts known to be valid.
func MustTimeLayout(s string) TimeLayout {
	l, err := ParseTimeLayout(s)
	if err != nil {
		panic(err)
	}
	return l
}

// Kind says what the layout reads.
func (l TimeLayout) Kind() TimeKind { return l.kind }

// String is the layout as written.
func (l TimeLayout) String() string { return l.src }

// GoLayout is the Go layout of a TimeGo layout (a strftime pattern
// converted), "" for the others.
func (l TimeLayout) GoLayout() string { return l.layout }

// layoutCheck is formatted with a layout and parsed back: a layout that
// loses any part of it does not give a full date and time.
var layoutCheck = time.Date(2024, time.November, 23, 19, 47, 0, 0, time.UTC)

// HasDateTime says the layout gives the year, month, day, hour and minute
// of a time. Unix times and RFC 3339 do; a Go layout or strftime pattern
// must have all five.
func (l TimeLayout) HasDateTime() bool {
	if l.kind != TimeGo {
		return true
	}
	t, err := time.ParseInLocation(l.layout, layoutCheck.Format(l.layout), time.UTC)
	return err == nil && t.Equal(layoutCheck)
}

// Parse reads a time. loc is the zone of times that carry none (Go
// layouts without a zone) and that of Unix times; nil is UTC. RFC 3339
// times and Go layouts with a zone keep theirs.
func (l TimeLayout) Parse(value string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	switch l.kind {
	case TimeRFC3339:
		t, err := time.Parse(time.RFC3339Nano, value)
		if err != nil {
			return time.Time{}, errors.New("not an RFC 3339 time")
		}
		return t, nil
	case TimeUnix:
		t, ok := ParseUnix(value)
		if !ok {
			return time.Time{}, errors.New("not a Unix time")
		}
		return t.In(loc), nil
	case TimeUnixMilli:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return time.Time{}, errors.New("not a number of milliseconds")
		}
		return time.UnixMilli(n).In(loc), nil
	}
	t, err := time.ParseInLocation(l.layout, value, loc)
	if err != nil {
		le := &LayoutError{Layout: l.src}
		errors.As(err, &le.Err)
		return time.Time{}, le
	}
	return t, nil
}

// LayoutError is a value that a Go layout (or strftime pattern) does not
// read.
type LayoutError struct {
	Layout string           // as written
	Err    *time.ParseError // the time package's reason, if any
}

func (e *LayoutError) Error() string {
	if e.Err != nil && e.Err.Message != "" {
		// The value has the layout's shape, a part is out of range.
		return fmt.Sprintf("does not match layout %q: %s", e.Layout, strings.TrimPrefix(e.Err.Message, ": "))
	}
	return fmt.Sprintf("does not match layout %q", e.Layout)
}

func (e *LayoutError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// ParseUnix reads a Unix time whose unit follows from the number of
// integer digits (see TimeUnix). Only seconds may have a fraction.
func ParseUnix(s string) (time.Time, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	if !digits(whole) || (dot && !digits(frac)) || len(whole) > 19 {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	switch {
	case len(whole) <= 11:
		ns := 0
		if dot {
			if len(frac) > 9 {
				frac = frac[:9]
			}
			ns, _ = strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
		}
		return time.Unix(n, int64(ns)), true
	case dot:
		return time.Time{}, false
	case len(whole) <= 14:
		return time.UnixMilli(n), true
	case len(whole) <= 17:
		return time.UnixMicro(n), true
	}
	return time.Unix(0, n), true
}

func digits(s string) bool {
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

// strftimeLayout turns a strftime pattern into a Go layout; a layout
// without "%" is returned as it is.
func strftimeLayout(l string) (string, error) {
	if !strings.Contains(l, "%") {
		return l, nil
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(l) {
			return "", errors.New("pattern ends with %")
		}
		switch l[i] {
		case 'Y':
			b.WriteString("2006")
		case 'y':
			b.WriteString("06")
		case 'm':
			b.WriteString("01")
		case 'd':
			b.WriteString("02")
		case 'e':
			b.WriteString("_2")
		case 'H':
			b.WriteString("15")
		case 'I':
			b.WriteString("03")
		case 'M':
			b.WriteString("04")
		case 'S':
			b.WriteString("05")
		case 'p':
			b.WriteString("PM")
		case 'b', 'h':
			b.WriteString("Jan")
		case 'B':
			b.WriteString("January")
		case 'a':
			b.WriteString("Mon")
		case 'A':
			b.WriteString("Monday")
		case 'z':
			b.WriteString("-0700")
		case 'Z':
			b.WriteString("MST")
		case 'T':
			b.WriteString("15:04:05")
		case 'F':
			b.WriteString("2006-01-02")
		case 'f':
			// Go accepts a fraction after the seconds when parsing
			// without it being in the layout: drop ".%f".
			s := b.String()
			if !strings.HasSuffix(s, "05.") && !strings.HasSuffix(s, "05,") {
				return "", errors.New("%f must follow %S and a dot")
			}
			b.Reset()
			b.WriteString(s[:len(s)-1])
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("unknown directive %%%c", l[i])
		}
	}
	return b.String(), nil
}
