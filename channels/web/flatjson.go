package web

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeFlat decodes the common submission — one JSON object whose values
// are all strings — without encoding/json's reflection (a tenth of the web
// path's CPU under load). It returns ok=false for anything else (a number,
// a nested object, a surrogate escape, trailing data, a syntax error), and
// the caller decodes that with encoding/json as before; for what it
// accepts it gives what encoding/json gives (FuzzDecodeFlat). body is
// valid UTF-8 (checked before).
func decodeFlat(body []byte) (obj map[string]any, ok bool) {
	s := flatScanner{b: body}
	s.ws()
	if !s.eat('{') {
		return nil, false
	}
	obj = make(map[string]any, 12)
	s.ws()
	if s.eat('}') {
		return obj, s.end()
	}
	for {
		s.ws()
		k, ok := s.str()
		if !ok {
			return nil, false
		}
		s.ws()
		if !s.eat(':') {
			return nil, false
		}
		s.ws()
		v, ok := s.str()
		if !ok {
			return nil, false
		}
		obj[k] = v // the last of a repeated key, as encoding/json (duplicateKey refuses it later)
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return obj, s.end()
		}
		return nil, false
	}
}

type flatScanner struct {
	b []byte
	i int
}

func (s *flatScanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\r' || s.b[s.i] == '\n') {
		s.i++
	}
}

func (s *flatScanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end: nothing but white space after the object.
func (s *flatScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// str reads a JSON string; escapes are decoded, a surrogate escape or a
// control character gives up.
func (s *flatScanner) str() (string, bool) {
	if !s.eat('"') {
		return "", false
	}
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			v := string(s.b[start:s.i])
			s.i++
			return v, true
		case c == '\\':
			return s.escaped(start)
		case c < 0x20:
			return "", false
		default:
			s.i++
		}
	}
	return "", false
}

// escaped continues str from the first backslash, building the value.
func (s *flatScanner) escaped(start int) (string, bool) {
	out := make([]byte, 0, s.i-start+16)
	out = append(out, s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return "", false
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if s.i+4 > len(s.b) {
				return "", false
			}
			n, err := strconv.ParseUint(string(s.b[s.i:s.i+4]), 16, 16)
			if err != nil || utf16.IsSurrogate(rune(n)) {
				return "", false // surrogates: encoding/json's rules, not repeated here
			}
			out = utf8.AppendRune(out, rune(n))
			s.i += 4
		default:
			return "", false
		}
	}
	return "", false
}
