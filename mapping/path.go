package mapping

import (
	"fmt"
	"strconv"
	"strings"
)

// Path is a parsed path into a document: dot-separated keys, where a
// number (items.0.text) or a bracketed number (items[0].text, items[0][1])
// indexes an array; the two spellings are the same path. A number applied
// to a map is a key. It is the one path syntax of every mapping in
// petitiond: the web and scan channels' mapping (from, join) and the
// calllog CDR mapping (fields, for jsonl).
type Path struct {
	elems []string  // legs[0].agent: legs, 0, agent
	lits  []literal // the segments written with brackets
}

// literal is a dotted segment written with brackets (elems[start:end]),
// also looked up as a key as written, so that form fields named like
// items[0] are found by that name.
type literal struct {
	start, end int
	raw        string
}

// ParsePath checks and parses a path: "a.b.0.c", "a.b[0].c" and
// "a[0][1]" are valid; "", "a..b", ".a", "a.", "a[x]", "a[]", "a[0]b" and
// "a]" are not.
func ParsePath(s string) (Path, error) {
	bad := fmt.Errorf("bad path %q: use a.b.0.c or a.b[0].c", s)
	if s == "" {
		return Path{}, bad
	}
	var p Path
	for _, part := range strings.Split(s, ".") {
		key, rest, bracket := strings.Cut(part, "[")
		if key == "" || strings.IndexByte(key, ']') >= 0 {
			return Path{}, bad
		}
		start := len(p.elems)
		p.elems = append(p.elems, key)
		if !bracket {
			continue
		}
		rest = "[" + rest
		for rest != "" {
			end := strings.IndexByte(rest, ']')
			if rest[0] != '[' || end < 0 {
				return Path{}, bad
			}
			if _, ok := index(rest[1:end]); !ok {
				return Path{}, bad
			}
			p.elems = append(p.elems, rest[1:end])
			rest = rest[end+1:]
		}
		p.lits = append(p.lits, literal{start: start, end: len(p.elems), raw: part})
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
func (p Path) String() string { return strings.Join(p.elems, ".") }

// Lookup follows the path into a decoded JSON document (maps of string
// to any, slices of any) or a form (map[string][]string, whose first value
// counts; map[string]string). It reports whether the path leads to a
// value; that value may be nil (JSON null).
//
// A segment written with brackets that leads nowhere is tried as a key as
// written: a form field named items[0] is found by that name.
func (p Path) Lookup(doc any) (any, bool) {
	cur, li := doc, 0
	for i := 0; i < len(p.elems); {
		if li < len(p.lits) && p.lits[li].start == i {
			l := p.lits[li]
			li++
			v, ok := cur, true
			for _, e := range p.elems[l.start:l.end] {
				if v, ok = step(v, e); !ok {
					break
				}
			}
			if !ok {
				if v, ok = key(cur, l.raw); !ok {
					return nil, false
				}
			}
			cur, i = v, l.end
			continue
		}
		var ok bool
		if cur, ok = step(cur, p.elems[i]); !ok {
			return nil, false
		}
		i++
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
