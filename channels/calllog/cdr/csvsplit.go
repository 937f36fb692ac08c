package cdr

import "strings"

// splitCSV appends the fields of one CSV line to dst and returns it.
// Fields are substrings of s unless they hold doubled quotes.
//
// Quoting is RFC 4180, read leniently the way encoding/csv does with
// LazyQuotes: a quoted field may hold sep and "" (one quote); a quote in a
// quoted field that is neither doubled nor followed by sep or the end of
// the line (spaces allowed in between) is kept as a character; a quote in
// an unquoted field is a character; an unterminated quoted field runs to
// the end of the line; spaces before an opening quote are skipped. A line
// is one record: there are no multi-line fields.
func splitCSV(dst []string, s string, sep byte) []string {
	for {
		i := 0
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') && s[i] != sep {
			i++
		}
		if i == len(s) || s[i] != '"' {
			j := strings.IndexByte(s, sep)
			if j < 0 {
				return append(dst, s)
			}
			dst = append(dst, s[:j])
			s = s[j+1:]
			continue
		}
		s = s[i+1:]
		var b []byte // the field so far, once a doubled quote was seen
		start, pos := 0, 0
		for {
			j := strings.IndexByte(s[pos:], '"')
			if j < 0 {
				return append(dst, joinField(b, s[start:]))
			}
			j += pos
			if j+1 < len(s) && s[j+1] == '"' {
				b = append(b, s[start:j+1]...)
				start, pos = j+2, j+2
				continue
			}
			k := j + 1
			for k < len(s) && (s[k] == ' ' || s[k] == '\t') && s[k] != sep {
				k++
			}
			if k == len(s) {
				return append(dst, joinField(b, s[start:j]))
			}
			if s[k] == sep {
				dst = append(dst, joinField(b, s[start:j]))
				s = s[k+1:]
				break
			}
			pos = j + 1 // a lone quote inside the field
		}
	}
}

func joinField(b []byte, rest string) string {
	if b == nil {
		return rest
	}
	return string(append(b, rest...))
}
