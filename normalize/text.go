package normalize

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// CleanText makes prose clean: valid UTF-8, NFC, no control characters but
// newlines and tabs, LF line ends, trimmed.
func CleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || r == '\uFEFF' {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(norm.NFC.String(s))
}

// CleanLine is CleanText for one-line fields: whitespace runs become one
// space.
func CleanLine(s string) string {
	return strings.Join(strings.Fields(CleanText(s)), " ")
}
