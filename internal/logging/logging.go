// Package logging builds the daemon's slog logger. Its handler masks
// anything in a log attribute that looks like a resident id number, a phone
// number or an e-mail address, as a last line of defence: code must not log
// personal data in the first place.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

var (
	idRe    = regexp.MustCompile(`\b(\d{6})\d{8}(\d{3}[\dXx])\b|\b(\d{6})\d{5}(\d{4})\b`)
	phoneRe = regexp.MustCompile(`(?:\+?86[- ]?)?\b(1[3-9]\d)\d{4}(\d{4})\b`)
	mailRe  = regexp.MustCompile(`\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b`)
)

var (
	// protectedRe are identifiers that look like numbers but are not
	// personal: UUIDs (petition ids) and hex digests.
	protectedRe = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{40,}`)
	// longDigitsRe catches what the patterns above miss when values are run
	// together (a name, a phone, an id and an e-mail joined without
	// separators): any run of 11 or more digits.
	longDigitsRe = regexp.MustCompile(`[0-9０-９]{11,}[Xx]?`)
	hanRe        = regexp.MustCompile(`[\p{Han}]{2,}`)
)

// Mask hides personal data in s: resident ids (first 6 + last 4 kept),
// mobile numbers (first 3 + last 4), e-mail local parts, any other run of 11
// or more digits (first 3 + last 2), and Chinese text (names, addresses:
// the first character of a run kept). UUIDs and hex digests are left alone.
func Mask(s string) string {
	if isPlainASCII(s) && !strings.ContainsAny(s, "0123456789@") {
		return s
	}
	locs := protectedRe.FindAllStringIndex(s, -1)
	if len(locs) == 0 {
		return mask(s)
	}
	var b strings.Builder
	prev := 0
	for _, l := range locs {
		b.WriteString(mask(s[prev:l[0]]))
		b.WriteString(s[l[0]:l[1]])
		prev = l[1]
	}
	b.WriteString(mask(s[prev:]))
	return b.String()
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func mask(s string) string {
	s = idRe.ReplaceAllStringFunc(s, func(m string) string {
		return m[:6] + strings.Repeat("*", len(m)-10) + m[len(m)-4:]
	})
	s = phoneRe.ReplaceAllString(s, "$1****$2")
	s = mailRe.ReplaceAllString(s, "$1***@$2")
	s = longDigitsRe.ReplaceAllStringFunc(s, func(m string) string {
		r := []rune(m)
		return string(r[:3]) + strings.Repeat("*", len(r)-5) + string(r[len(r)-2:])
	})
	s = hanRe.ReplaceAllStringFunc(s, func(m string) string {
		r := []rune(m)
		return string(r[0]) + strings.Repeat("*", len(r)-1)
	})
	return s
}

// New returns a logger writing text or JSON at the given level.
func New(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		switch a.Value.Kind() {
		case slog.KindString:
			if m := Mask(a.Value.String()); m != a.Value.String() {
				a.Value = slog.StringValue(m)
			}
		case slog.KindAny:
			switch v := a.Value.Any().(type) {
			case error:
				a.Value = slog.StringValue(Mask(v.Error()))
			case fmt.Stringer:
				a.Value = slog.StringValue(Mask(v.String()))
			default:
				// Lists and maps: masked as text when they hold anything
				// to mask, else left as they are.
				if txt := fmt.Sprint(v); Mask(txt) != txt {
					a.Value = slog.StringValue(Mask(txt))
				}
			}
		}
		return a
	}}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
