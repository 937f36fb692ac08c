// Package logging builds the daemon's slog logger. Its handler masks
// anything in a log attribute that looks like a resident id number, a phone
// number or an e-mail address, as a last line of defence: code must not log
// personal data in the first place.
package logging

import (
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

// Mask hides resident ids (first 6 + last 4 kept), mobile numbers (first 3
// + last 4) and e-mail local parts in s.
func Mask(s string) string {
	if !strings.ContainsAny(s, "0123456789@") {
		return s
	}
	s = idRe.ReplaceAllStringFunc(s, func(m string) string {
		return m[:6] + strings.Repeat("*", len(m)-10) + m[len(m)-4:]
	})
	s = phoneRe.ReplaceAllString(s, "$1****$2")
	s = mailRe.ReplaceAllString(s, "$1***@$2")
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
			if err, ok := a.Value.Any().(error); ok {
				a.Value = slog.StringValue(Mask(err.Error()))
			}
		}
		return a
	}}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
