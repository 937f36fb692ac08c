package idcard

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/court12368/petitiond/normalize/text"
)

// Find returns the valid resident id numbers in free text, in canonical
// 18-character form (15-digit numbers upgraded), in order of first
// appearance and without duplicates.
//
// A number is a run of 18 characters (17 digits and a digit or X, x, Ｘ or
// ×) or of 15 digits, ASCII or full-width, that is not part of a longer
// run of digits or ASCII letters; the grouped forms 6-8-4, 6-4-4-4 and
// 6-6-3 separated by single spaces or hyphens are accepted too. Only
// numbers that pass Normalize's checks are returned: free text is full of
// other long digit strings (bank card and account numbers, order numbers),
// and the checksum, date and region checks tell them apart.
//
// A 15-digit number has no check character, so business registration
// numbers (营业执照注册号) and IMEIs of 15 digits pass those checks as
// often as not: in prose a 15-digit number is read only when it is
// labelled as an id just before it (身份证号：…, 证件号码为…; see
// labelled15). A labelled field ("身份证号：…") whose value may be invalid
// should be read with Normalize instead.
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
		end, groups, starts := scanRun(s, i)
		i = end
		if isASCIIAlnum(prev) {
			continue
		}
		if next, _ := utf8.DecodeRuneInString(s[end:]); isASCIIAlnum(text.FoldRune(next)) {
			continue
		}
		for g := 0; g < len(groups); {
			cand, step := groups[g], 1
			switch {
			case hasShape(groups[g:], 6, 4, 4, 4):
				cand, step = strings.Join(groups[g:g+4], ""), 4
			case hasShape(groups[g:], 6, 8, 4), hasShape(groups[g:], 6, 6, 3):
				cand, step = strings.Join(groups[g:g+3], ""), 3
			}
			at := starts[g]
			g += step
			if len(cand) == 15 && !labelled15(s[:at]) {
				continue
			}
			id, ok := normalizeAt(cand, now)
			if ok && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// hasShape reports whether groups starts with groups of the given lengths.
func hasShape(groups []string, lens ...int) bool {
	if len(groups) < len(lens) {
		return false
	}
	for k, n := range lens {
		if len(groups[k]) != n {
			return false
		}
	}
	return true
}

// idLabels are the words that label a resident id number in prose.
var idLabels = []string{"身份证", "身份证号", "身份证号码", "公民身份号码", "公民身份证号码", "身份号码", "证件号", "证件号码"}

// notIDLabels are words that make a labelled 15-digit number something
// else even when an id label ends the text before it ("营业执照证件号").
var notIDLabels = []string{"营业执照", "执照", "注册号", "信用代码", "工商", "IMEI", "串号"}

// labelled15 reports whether the text before a 15-digit number ends with
// an id label, optionally followed by spaces, a colon, 是 or 为, and the
// clause holding the label does not name a business licence or an IMEI.
func labelled15(before string) bool {
	b := strings.TrimRightFunc(before, func(r rune) bool {
		f := text.FoldRune(r)
		return f == ':' || f == '是' || f == '为' || text.IsHorizontalSpace(r) || f == ' '
	})
	label := ""
	for _, l := range idLabels {
		if strings.HasSuffix(b, l) {
			label = l
			break
		}
	}
	if label == "" {
		return false
	}
	// The clause: back to the last sentence or clause break, at most 16 runes.
	clause := b
	if k := strings.LastIndexAny(clause, "，。；！？,;!?\n、"); k >= 0 {
		clause = clause[k:]
	}
	if n := utf8.RuneCountInString(clause); n > 16 {
		clause = string([]rune(clause)[n-16:])
	}
	clause = strings.ToUpper(foldString(clause))
	for _, w := range notIDLabels {
		if strings.Contains(clause, w) {
			return false
		}
	}
	return true
}

func foldString(s string) string {
	return strings.Map(text.FoldRune, s)
}

// scanRun reads, from s[i] (a digit), digit groups separated by single
// spaces or hyphens; a group may end with X, x, Ｘ or × (typed for the check
// character X). It returns the end of the run, the groups folded to ASCII
// and the byte offset where each group starts.
func scanRun(s string, i int) (end int, groups []string, starts []int) {
	var cur []byte
	end = i
	start := i
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		f := text.FoldRune(r)
		switch {
		case isDigitRune(f):
			if len(cur) == 0 {
				start = i
			}
			cur = append(cur, byte(f))
			i += size
			end = i
			continue
		case (f == 'X' || f == 'x' || f == '×') && len(cur) > 0:
			cur = append(cur, 'X')
			i += size
			end = i
			groups = append(groups, string(cur))
			starts = append(starts, start)
			return end, groups, starts
		case (f == ' ' || f == '-') && len(cur) > 0:
			// a single separator followed by a digit continues the run
			if n, _ := utf8.DecodeRuneInString(s[i+size:]); isDigitRune(text.FoldRune(n)) {
				groups = append(groups, string(cur))
				starts = append(starts, start)
				cur = cur[:0]
				i += size
				continue
			}
		}
		break
	}
	if len(cur) > 0 {
		groups = append(groups, string(cur))
		starts = append(starts, start)
	}
	return end, groups, starts
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
