// Package redact removes values from error texts that reach logs, dead
// letters and `petitiond check`: a rule or a config may hold personal data
// (a watch-list rule comparing an id number), and parsers quote what they
// refused.
package redact

import "strings"

// Literals replaces what is inside "…", `…` and '…' quotes with "…",
// keeping the quotes, so that "error parsing regexp: missing closing ):
// `110105…(`" keeps its meaning without the pattern. An unclosed quote
// hides the rest of the text.
func Literals(s string) string {
	if !strings.ContainsAny(s, "\"`'") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '"' && c != '`' && c != '\'' {
			b.WriteByte(c)
			continue
		}
		// An apostrophe inside a word (doesn't) is no quote.
		if c == '\'' && i > 0 && isLetter(s[i-1]) && i+1 < len(s) && isLetter(s[i+1]) {
			b.WriteByte(c)
			continue
		}
		end := -1
		for j := i + 1; j < len(s); j++ {
			if s[j] == '\\' && c == '"' {
				j++
				continue
			}
			if s[j] == c {
				end = j
				break
			}
		}
		b.WriteByte(c)
		b.WriteString("…")
		if end < 0 {
			return b.String()
		}
		b.WriteByte(c)
		i = end
	}
	return b.String()
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
