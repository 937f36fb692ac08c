package idcard

import (
	"time"
	"unicode/utf8"

	"github.com/court12368/petitiond/normalize/text"
)

// Find returns the valid resident id numbers in free text, in canonical
// 18-character form (15-digit numbers upgraded), in order of first
// appearance and without duplicates.
//
// A number is a run of 18 characters (17 digits and a digit or X/x) or of
// 15 digits, ASCII or full-width, that is not part of a longer run of
// digits or ASCII letters; the grouped forms 6-8-4 and 6-6-3 separated by
// single spaces or hyphens are accepted too. Only numbers that pass
// Normalize's checks are returned: free text is full of other long digit
// strings (bank card and account numbers, order numbers), and the checksum,
// date and region checks tell them apart. A labelled field ("身份证号：…")
// whose value may be invalid should be read with Normalize instead.
func Find(s string) []string {
	now := time.Now()
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		f := text.FoldRune(r)
		if !isDigitRune(f) {
			i += size
			continue
		}
		prev := prevRune(s, i)
		end, groups := scanRun(s, i)
		i = end
		if isASCIIAlnum(prev) {
			continue
		}
		if next, _ := utf8.DecodeRuneInString(s[end:]); isASCIIAlnum(text.FoldRune(next)) {
			continue
		}
		for g := 0; g < len(groups); {
			cand := groups[g]
			step := 1
			if g+2 < len(groups) {
				a, b, c := len(groups[g]), len(groups[g+1]), len(groups[g+2])
				if a == 6 && (b == 8 && c == 4 || b == 6 && c == 3) {
					cand = groups[g] + groups[g+1] + groups[g+2]
					step = 3
				}
			}
			g += step
			id, ok := normalizeAt(cand, now)
			if ok && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// scanRun reads, from s[i] (a digit), digit groups separated by single
// spaces or hyphens; a group may end with X/x. It returns the end of the
// run and the groups folded to ASCII.
func scanRun(s string, i int) (end int, groups []string) {
	var cur []byte
	end = i
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		f := text.FoldRune(r)
		switch {
		case isDigitRune(f):
			cur = append(cur, byte(f))
			i += size
			end = i
			continue
		case (f == 'X' || f == 'x') && len(cur) > 0:
			cur = append(cur, 'X')
			i += size
			end = i
			groups = append(groups, string(cur))
			return end, groups
		case (f == ' ' || f == '-') && len(cur) > 0:
			// a single separator followed by a digit continues the run
			if n, _ := utf8.DecodeRuneInString(s[i+size:]); isDigitRune(text.FoldRune(n)) {
				groups = append(groups, string(cur))
				cur = cur[:0]
				i += size
				continue
			}
		}
		break
	}
	if len(cur) > 0 {
		groups = append(groups, string(cur))
	}
	return end, groups
}

func prevRune(s string, i int) rune {
	if i == 0 {
		return 0
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return text.FoldRune(r)
}

func isDigitRune(r rune) bool { return r >= '0' && r <= '9' }

func isASCIIAlnum(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}
