package mail

import (
	"strings"
)

// decodeHeader turns a raw header value into UTF-8 text: raw 8-bit bytes
// (GBK sent without encoded words) are decoded first, then RFC 2047 encoded
// words. what names the value in problems ("header Subject"). The result
// is not yet cleaned.
func (p *parser) decodeHeader(what, raw string) string {
	s, table := decodeRaw8bit(raw, p.declared)
	if table != "" {
		p.notef("%s: raw 8-bit bytes decoded as %s", what, table)
	}
	if !strings.Contains(s, "=?") {
		return s
	}
	return p.decodeWords(what, s)
}

// encodedWord is one parsed "=?charset?enc?text?=".
type encodedWord struct {
	charset string // normalised
	b       bool   // B (base64) rather than Q
	text    string
	end     int // index after "?="
}

// parseWord parses an encoded word at s[i:], which starts with "=?".
func parseWord(s string, i int) (encodedWord, bool) {
	j := i + 2
	cs := j
	for j < len(s) && s[j] != '?' {
		if s[j] <= ' ' || s[j] >= 0x7f || j-cs > 64 {
			return encodedWord{}, false
		}
		j++
	}
	if j == cs || j+2 >= len(s) || s[j+2] != '?' {
		return encodedWord{}, false
	}
	charset := s[cs:j]
	var b bool
	switch s[j+1] {
	case 'b', 'B':
		b = true
	case 'q', 'Q':
	default:
		return encodedWord{}, false
	}
	j += 3
	ts := j
	for j < len(s) && s[j] != '?' {
		if s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n' {
			return encodedWord{}, false
		}
		j++
	}
	if j+1 >= len(s) || s[j+1] != '=' {
		return encodedWord{}, false
	}
	return encodedWord{charset: normaliseCharset(charset), b: b, text: s[ts:j], end: j + 2}, true
}

// decodeWords decodes RFC 2047 encoded words in s. Adjacent words (only
// whitespace between them) in the same charset are joined as bytes before
// the charset is applied, so a character split across two words, or a
// base64 quantum split across two B words, survives. Words glued to other
// text are decoded too; malformed ones stay as they are.
func (p *parser) decodeWords(what, s string) string {
	var out strings.Builder
	var (
		active  bool
		charset string
		data    []byte
		b64     []byte // base64 text of consecutive B words, decoded together
	)
	flushB64 := func() {
		if len(b64) > 0 {
			d, bad := decodeBase64(b64)
			if bad {
				p.notef("%s: malformed base64 encoded word", what)
			}
			data = append(data, d...)
			b64 = b64[:0]
		}
	}
	flush := func() {
		if !active {
			return
		}
		flushB64()
		p.sawCharset(charset)
		text, n := decodeCharset(charset, data)
		if n != "" {
			p.notef("%s: %s", what, n)
		}
		out.WriteString(text)
		active, data = false, data[:0]
	}
	pos := 0
	for {
		k := strings.Index(s[pos:], "=?")
		if k < 0 {
			break
		}
		start := pos + k
		w, ok := parseWord(s, start)
		if !ok {
			// not a word: keep it as text and scan on after "=?"
			lit := s[pos : start+2]
			flush()
			out.WriteString(lit)
			pos = start + 2
			continue
		}
		lit := s[pos:start]
		if !active || strings.Trim(lit, " \t\r\n") != "" {
			flush()
			out.WriteString(lit)
		} else if w.charset != charset {
			flush() // whitespace between words is dropped (RFC 2047 §6.2)
		}
		if !active {
			active, charset = true, w.charset
		}
		if w.b {
			b64 = append(b64, w.text...)
		} else {
			flushB64()
			data = append(data, decodeQ(w.text)...)
		}
		pos = w.end
	}
	flush()
	out.WriteString(s[pos:])
	return out.String()
}

// decodeQ decodes the Q encoding of RFC 2047: '_' is a space, =XX a byte;
// a malformed escape is kept as it is.
func decodeQ(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			b = append(b, ' ')
		case c == '=' && i+2 < len(s):
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, h<<4|l)
				i += 2
			} else {
				b = append(b, c)
			}
		default:
			b = append(b, c)
		}
	}
	return b
}
