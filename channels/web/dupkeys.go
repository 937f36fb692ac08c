package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// duplicateKey finds a key given twice in one JSON object, anywhere in the
// document. encoding/json keeps the last one silently, so {"name":"A",
// "name":"B"} would be a petition from B to a reader that keeps the first:
// refused like a repeated form field. It returns the key's dotted path.
//
// It runs on every JSON submission after the document was decoded (so it
// is valid JSON): one pass over the bytes, keys compared in place (an
// escaped key is compared decoded, "na\u006de" is "name"), no allocation
// for an object of plain keys. body is valid UTF-8 (parseJSON checks it
// first). On input that is not valid JSON it reports nothing: the decoder
// reports that.
func duplicateKey(body []byte) (string, error) {
	s := dupScanner{b: body}
	var buf [8]pathElem
	path, dup := s.value(buf[:0])
	if dup {
		return path, fmt.Errorf("field %q given twice", path)
	}
	return "", nil
}

type dupScanner struct {
	b   []byte
	i   int
	bad bool // not valid JSON: give up quietly
}

func (s *dupScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// str reads a string at s.i (at its opening quote) and returns its raw
// content and whether it holds escapes.
func (s *dupScanner) str() (raw []byte, escaped bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		s.bad = true
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			s.i = j + 1
			return s.b[start:j], escaped
		}
	}
	s.bad = true
	return nil, false
}

// key is an object key as its value compares: the raw bytes, or decoded
// when escaped.
func key(raw []byte, escaped bool) []byte {
	if !escaped {
		return raw
	}
	var k string
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	if json.Unmarshal(q, &k) != nil {
		return raw
	}
	return []byte(k)
}

// path is the dotted path of a value, built only when a duplicate is
// reported.
type pathElem struct {
	key   []byte
	index int // -1 for a key
}

func render(p []pathElem) string {
	var b []byte
	for i, e := range p {
		if e.index >= 0 {
			b = append(append(append(b, '['), strconv.Itoa(e.index)...), ']')
			continue
		}
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, e.key...)
	}
	return string(b)
}

// more reads what follows a member or an element: a comma (true: another
// follows) or the closing delimiter (false); anything else marks the
// document bad (false).
func (s *dupScanner) more(closing byte) bool {
	s.ws()
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case ',':
			s.i++
			return true
		case closing:
			s.i++
			return false
		}
	}
	s.bad = true
	return false
}

// value scans one value; it returns the path of the first duplicate key.
func (s *dupScanner) value(path []pathElem) (string, bool) {
	s.ws()
	if s.i >= len(s.b) {
		s.bad = true
		return "", false
	}
	switch s.b[s.i] {
	case '{':
		s.i++
		var seenArr [16][]byte
		seen := seenArr[:0]
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return "", false
		}
		for !s.bad {
			s.ws()
			k := key(s.str())
			s.ws()
			if s.bad || s.i >= len(s.b) || s.b[s.i] != ':' {
				s.bad = true
				return "", false
			}
			s.i++
			for _, o := range seen {
				if bytes.Equal(o, k) {
					return render(append(path, pathElem{key: k, index: -1})), true
				}
			}
			seen = append(seen, k)
			if p, dup := s.value(append(path, pathElem{key: k, index: -1})); dup {
				return p, true
			}
			if !s.more('}') {
				return "", false
			}
		}
	case '[':
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return "", false
		}
		for n := 0; !s.bad; n++ {
			if p, dup := s.value(append(path, pathElem{index: n})); dup {
				return p, true
			}
			if !s.more(']') {
				return "", false
			}
		}
	case '"':
		s.str()
	default: // number, true, false, null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', ']', '}', ' ', '\t', '\r', '\n':
				return "", false
			}
			s.i++
		}
	}
	return "", false
}
