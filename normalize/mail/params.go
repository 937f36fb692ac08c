package mail

import (
	"sort"
	"strconv"
	"strings"
)

// paramHeader is a parsed Content-Type or Content-Disposition value.
type paramHeader struct {
	value  string            // lower-cased leading token, e.g. "text/plain"
	params map[string]string // keys lower-cased; values raw unless in utf8
	utf8   map[string]bool   // values already decoded to UTF-8 (RFC 2231)
}

// parseParamHeader parses `value; name=val; name*=charset'lang'pct; ...`
// leniently: a missing ';', unquoted specials, an unterminated quote,
// parameters without a value and duplicates (the first wins) are all
// accepted. RFC 2231 extended and continued parameters are joined and
// decoded in any charset (note receives guesses), and take precedence over
// the plain parameter of the same name.
func parseParamHeader(s string, note func(string)) paramHeader {
	ph := paramHeader{params: map[string]string{}}
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	start := i
	for i < len(s) && s[i] != ';' && s[i] != ' ' && s[i] != '\t' {
		i++
	}
	ph.value = strings.ToLower(s[start:i])

	type section struct {
		v   string
		ext bool
	}
	ext := map[string]map[int]section{}
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ';' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		if i >= len(s) {
			break
		}
		ks := i
		for i < len(s) && s[i] != '=' && s[i] != ';' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := strings.ToLower(s[ks:i])
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			// a token without a value: skip to the next ';'
			for i < len(s) && s[i] != ';' {
				i++
			}
			continue
		}
		i++ // '='
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var val string
		if i < len(s) && s[i] == '"' {
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				note("unterminated quoted parameter " + strconv.Quote(key))
			}
			val = b.String()
		} else {
			vs := i
			for i < len(s) && s[i] != ';' {
				if (s[i] == ' ' || s[i] == '\t') && startsParam(s[i:]) {
					break
				}
				i++
			}
			val = strings.TrimRight(s[vs:i], " \t\r\n")
		}
		if key == "" {
			continue
		}
		if star := strings.IndexByte(key, '*'); star > 0 {
			base, rest := key[:star], key[star+1:]
			sec, isExt := -1, false
			switch {
			case rest == "":
				isExt = true
			default:
				isExt = strings.HasSuffix(rest, "*")
				n, err := strconv.Atoi(strings.TrimSuffix(rest, "*"))
				if err != nil || n < 0 || n > 999 {
					sec = -2
				} else {
					sec = n
				}
			}
			if sec != -2 {
				if ext[base] == nil {
					ext[base] = map[int]section{}
				}
				if _, dup := ext[base][sec]; !dup {
					ext[base][sec] = section{val, isExt}
				}
				continue
			}
		}
		if _, dup := ph.params[key]; !dup {
			ph.params[key] = val
		}
	}

	for base, secs := range ext {
		keys := make([]int, 0, len(secs))
		for k := range secs {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		var raw []byte
		charset := ""
		for n, k := range keys {
			sec := secs[k]
			v := sec.v
			if sec.ext {
				if n == 0 {
					// charset'language'value
					if a := strings.IndexByte(v, '\''); a >= 0 {
						if b := strings.IndexByte(v[a+1:], '\''); b >= 0 {
							charset = v[:a]
							v = v[a+1+b+1:]
						}
					}
				}
				raw = append(raw, pctDecode(v)...)
			} else {
				raw = append(raw, v...)
			}
		}
		dec, n := decodeCharset(charset, raw)
		if n != "" {
			note("parameter " + base + ": " + n)
		}
		if ph.utf8 == nil {
			ph.utf8 = map[string]bool{}
		}
		ph.params[base] = dec
		ph.utf8[base] = true
	}
	return ph
}

// startsParam reports whether s (starting at whitespace) continues with a
// "token=" parameter, for headers that forgot the ';' between parameters.
func startsParam(s string) bool {
	s = strings.TrimLeft(s, " \t")
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return false
	}
	for j := 0; j < eq; j++ {
		if !isTokenByte(s[j]) && s[j] != '*' {
			return false
		}
	}
	return true
}

// pctDecode decodes %XX escapes; a malformed escape is kept as it is.
func pctDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if h, ok := unhex(s[i+1]); ok {
				if l, ok := unhex(s[i+2]); ok {
					b = append(b, h<<4|l)
					i += 2
					continue
				}
			}
		}
		b = append(b, s[i])
	}
	return b
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// mediaType extracts "type/subtype" from a lenient Content-Type value, or
// returns "" when there is none ("<html>", ";", garbage).
func mediaType(v string) string {
	slash := strings.IndexByte(v, '/')
	if slash <= 0 {
		return ""
	}
	for j := 0; j < slash; j++ {
		if !isTokenByte(v[j]) {
			return ""
		}
	}
	end := slash + 1
	for end < len(v) && isTokenByte(v[end]) {
		end++
	}
	if end == slash+1 {
		return ""
	}
	return v[:end]
}
