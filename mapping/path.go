package mapping

import (
	"fmt"
	"strconv"
	"strings"
)

// Path is a parsed path into a document: dot-separated keys, where a
// number (items.0.text) or a bracketed number (items[0].text) indexes an
// array. It is the one path syntax of every mapping in petitiond: the web
// and scan channels' mapping (from, join) and the calllog CDR mapping
// (fields, for jsonl).
type Path []Segment

// Segment is one dot-separated part of a path: a key, then the indexes
// written in brackets after it (legs[0][1] is key legs, indexes 0 and 1).
type Segment struct {
	Key     string
	Indexes []int
	raw     string // as written, for documents whose keys hold brackets
}

// ParsePath checks and parses a path: "a.b.0.c", "a.b[0].c" and
// "a[0][1]" are valid; "", "a..b", ".a", "a.", "a[x]", "a[0]b" and
// "a]" are not.
func ParsePath(s string) (Path, error) {
	bad := fmt.Errorf("bad path %q: use a.b.0.c or a.b[0].c", s)
	if s == "" {
		return nil, bad
	}
	parts := strings.Split(s, ".")
	p := make(Path, 0, len(parts))
	for _, part := range parts {
		key, rest, bracket := strings.Cut(part, "[")
		if key == "" || strings.IndexByte(key, ']') >= 0 {
			return nil, bad
		}
		seg := Segment{Key: key, raw: part}
		if bracket {
			rest = "[" + rest
		}
		for rest != "" {
			end := strings.IndexByte(rest, ']')
			if rest[0] != '[' || end < 0 {
				return nil, bad
			}
			n, ok := index(rest[1:end])
			if !ok {
				return nil, bad
			}
			seg.Indexes = append(seg.Indexes, n)
			rest = rest[end+1:]
		}
		p = append(p, seg)
	}
	return p, nil
}

// index reads a bracketed array index: decimal digits only.
func index(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, _ := strconv.Atoi(s)
	return n, true
}

// String gives the path in its dotted form (legs[0].agent → legs.0.agent):
// the key of a value when a document is flattened.
func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Key)
		for _, n := range s.Indexes {
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(n))
		}
	}
	return b.String()
}

// Lookup follows the path into a decoded JSON document (maps of string
// to any, slices of any) or a form (map[string][]string, whose first value
// counts; map[string]string). A key applied to an array must be a number.
// It reports whether the path leads to a value; that value may be nil
// (JSON null).
//
// A map without a segment's key that holds the segment as written is read
// by it, so form fields named like items[0] are still found by that name.
func (p Path) Lookup(doc any) (any, bool) {
	cur := doc
	for _, s := range p {
		parent := cur
		var ok bool
		cur, ok = step(parent, s.Key)
		indexes := s.Indexes
		if !ok && len(indexes) > 0 {
			if cur, ok = key(parent, s.raw); ok {
				indexes = nil
			}
		}
		if !ok {
			return nil, false
		}
		for _, n := range indexes {
			a, isArray := cur.([]any)
			if !isArray || n >= len(a) {
				return nil, false
			}
			cur = a[n]
		}
	}
	return cur, true
}

// step applies a dotted segment: a key into a map, a number into an array.
func step(v any, k string) (any, bool) {
	if a, ok := v.([]any); ok {
		n, isIndex := index(k)
		if !isIndex || n >= len(a) {
			return nil, false
		}
		return a[n], true
	}
	return key(v, k)
}

func key(v any, k string) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		e, ok := x[k]
		return e, ok
	case map[string]string:
		e, ok := x[k]
		return e, ok
	case map[string][]string:
		e, ok := x[k]
		if !ok || len(e) == 0 {
			return nil, false
		}
		return e[0], true
	}
	return nil, false
}

// Lookup follows a path (see Path) into a document. A path ParsePath
// refuses finds nothing.
func Lookup(doc any, path string) (any, bool) {
	p, err := ParsePath(path)
	if err != nil {
		return nil, false
	}
	return p.Lookup(doc)
}
