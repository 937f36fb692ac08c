package classify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var phraseSeeds = []string{
	"", "a", "ab", "法院", "法官", "法", "执行款", "𠀀字", "𠀀", "吗", "？", "不是", "是不是", "案子",
}

// TestPhraseSet: one pass finds exactly the phrases strings.Contains finds.
func TestPhraseSet(t *testing.T) {
	s := newPhraseSet(phraseSeeds)
	found := make([]bool, len(phraseSeeds))
	for _, text := range []string{"", "我找法官问执行款吗？", "是不是𠀀字ab", "法\xff院", "aab法院法官法", strings.Repeat("案", 3) + "子"} {
		s.scan(text, found)
		for id, p := range phraseSeeds {
			if want := p != "" && strings.Contains(text, p); found[id] != want {
				t.Errorf("%q in %q: found %v, want %v", p, text, found[id], want)
			}
		}
	}
}

func FuzzPhraseSet(f *testing.F) {
	f.Add("我找法官问执行款吗？", "法官")
	f.Add("是不是𠀀字", "𠀀")
	f.Add("\xff\xfe法", "\xfe法")
	f.Fuzz(func(t *testing.T, text, extra string) {
		if !utf8.ValidString(extra) {
			return // phrases are valid UTF-8 (a continuation byte matches inside a rune for strings.Contains)
		}
		phrases := append(append([]string(nil), phraseSeeds...), extra)
		s := newPhraseSet(phrases)
		found := make([]bool, len(phrases))
		s.scan(text, found)
		for id, p := range phrases {
			want := p != "" && strings.Contains(text, p)
			if found[id] != want {
				t.Errorf("%q in %q: found %v, want %v", p, text, found[id], want)
			}
		}
	})
}
