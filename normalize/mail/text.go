package mail

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// cleanText makes body text fit for the record: valid UTF-8, CRLF and lone
// CR turned into LF, control characters removed (tab and newline kept),
// byte-order marks removed, trailing blanks of each line removed, NFC, and
// trimmed.
func cleanText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				i++
			}
			b.WriteByte('\n')
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == utf8.RuneError && size == 1:
			b.WriteRune('\uFFFD')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\uFEFF':
			// control character or BOM: dropped
		default:
			b.WriteRune(r)
		}
	}
	s = b.String()
	if strings.Contains(s, " \n") || strings.Contains(s, "\t\n") {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " \t")
		}
		s = strings.Join(lines, "\n")
	}
	return strings.TrimSpace(norm.NFC.String(s))
}

// cleanLine cleans a one-line value (subject, name, header): like
// cleanText, with every run of whitespace, line breaks included, turned
// into one space.
func cleanLine(s string) string {
	return strings.Join(strings.Fields(cleanText(s)), " ")
}

// unflow undoes format=flowed (RFC 3676): soft-broken lines (ending in a
// space) are joined with the next line of the same quote depth, space
// stuffing is removed, and with delsp=yes the breaking space goes too.
func unflow(s string, delsp bool) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	var out strings.Builder
	out.Grow(len(s))
	open := false // the previous line was flowed
	openDepth := 0
	for _, line := range lines {
		depth := 0
		for depth < len(line) && line[depth] == '>' {
			depth++
		}
		text := line[depth:]
		if strings.HasPrefix(text, " ") {
			text = text[1:] // space stuffing
		}
		flowed := strings.HasSuffix(text, " ") && text != "-- "
		if flowed && delsp {
			text = text[:len(text)-1]
		}
		if open && depth == openDepth {
			out.WriteString(text)
		} else {
			if open {
				out.WriteByte('\n')
			}
			if out.Len() > 0 && !open {
				out.WriteByte('\n')
			}
			if depth > 0 {
				out.WriteString(strings.Repeat(">", depth))
				out.WriteByte(' ')
			}
			out.WriteString(text)
		}
		open, openDepth = flowed, depth
	}
	return out.String()
}
