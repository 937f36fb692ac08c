package classify

import (
	"strings"
	"unicode/utf8"
)

// phraseSet finds which of a fixed set of phrases occur in a text in one
// pass: for each rune of the text it looks up (in a table indexed by the
// rune, for the Basic Multilingual Plane) the phrases starting with it.
// The scorer asks dozens of "does the text contain any of …" questions
// (masks, negated bodies, question words, the later parts of lexicon
// entries); answered one strings.Contains at a time they were half of its
// time on a letter, Chinese text defeating the byte search's fast path.
type phraseSet struct {
	phrases []string
	// start[r]..start[r+1] index into cands the phrases whose first rune
	// is r, for r < 0x10000; astral first runes are in astral.
	start  []uint32
	cands  []int32
	astral map[rune][]int32
}

// newPhraseSet indexes phrases (ids are their positions; empty ones never
// match). Phrases are valid UTF-8: the text is searched at rune starts, so
// a phrase beginning with a continuation byte is not found inside a rune.
func newPhraseSet(phrases []string) *phraseSet {
	s := &phraseSet{phrases: phrases, start: make([]uint32, 0x10000+1), astral: map[rune][]int32{}}
	byRune := map[rune][]int32{}
	for id, p := range phrases {
		if p == "" {
			continue
		}
		r, _ := utf8.DecodeRuneInString(p)
		if r >= 0x10000 {
			s.astral[r] = append(s.astral[r], int32(id))
			continue
		}
		byRune[r] = append(byRune[r], int32(id))
	}
	for r := 0; r < 0x10000; r++ {
		s.start[r] = uint32(len(s.cands))
		s.cands = append(s.cands, byRune[rune(r)]...)
	}
	s.start[0x10000] = uint32(len(s.cands))
	return s
}

// scan sets found[id] for every phrase occurring in t (found has one
// entry per phrase and is cleared first).
func (s *phraseSet) scan(t string, found []bool) {
	clear(found)
	for i := 0; i < len(t); {
		r, size := rune(t[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(t[i:])
		}
		var ids []int32
		if r < 0x10000 {
			ids = s.cands[s.start[r]:s.start[r+1]]
		} else {
			ids = s.astral[r]
		}
		for _, id := range ids {
			if !found[id] && strings.HasPrefix(t[i:], s.phrases[id]) {
				found[id] = true
			}
		}
		i += size
	}
}

// group is a list of phrase ids of a phraseSet: "any of these".
type group []int32

func (g group) any(found []bool) bool {
	for _, id := range g {
		if found[id] {
			return true
		}
	}
	return false
}

// phraseIDs assigns ids to phrases, one per distinct phrase.
type phraseIDs struct {
	list []string
	ids  map[string]int32
}

func (p *phraseIDs) id(s string) int32 {
	if p.ids == nil {
		p.ids = map[string]int32{}
	}
	if id, ok := p.ids[s]; ok {
		return id
	}
	id := int32(len(p.list))
	p.list = append(p.list, s)
	p.ids[s] = id
	return id
}

func (p *phraseIDs) group(words []string) group {
	g := make(group, len(words))
	for i, w := range words {
		g[i] = p.id(w)
	}
	return g
}
