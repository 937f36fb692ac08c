package phone

import (
	"strings"
	"unicode/utf8"

	"github.com/court12368/petitiond/normalize/text"
)

// Find returns the dialable phone numbers in free text — mobiles, fixed
// lines written with their area code, 400/800 numbers and international
// numbers — in order of appearance and without duplicates. Every returned
// Number is Valid; Raw is the text it was read from, extension included.
//
// Digits may be grouped by spaces, hyphens and brackets
// ("(0791) 8612-3456", "139 1234 5678", "+86 139-1234-5678"); the longest
// grouping that is a valid number wins. Find leaves out, on purpose:
//
//   - service numbers (12368, 110, 95588): in prose they are references
//     to hotlines, not a petitioner's contact; Parse still reads them;
//   - local numbers without an area code, which cannot be told from other
//     7- and 8-digit figures (use ParseIn on a labelled field);
//   - digit strings that are part of a longer run of digits or ASCII
//     letters (resident ids, bank cards, order numbers);
//   - figures followed by a unit or by 号 (2021年, 13912345678元, the
//     serial of a case number) or preceded by a currency sign or "QQ";
//     after a mobile number only a unit of money (元, 块, 万元 …, but not
//     万分感谢), a percent sign or 号 counts, since a mobile number is often
//     followed directly by prose ("13912345678张律师").
func Find(s string) []Number {
	var out []Number
	var seen map[string]bool
	memo := map[string]Number{} // the library is slow; letters repeat numbers
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isDigit(text.FoldRune(r)) {
			i += size
			continue
		}
		groups, runEnd := scanGroups(s, i)
		next := runEnd
		for g := 0; g < len(groups); {
			start := groups[g].lead
			n, last, end := bestAt(s, groups, g, memo)
			if last < 0 {
				g++
				continue
			}
			g = last + 1
			// A short group after a hyphen ends a fixed line: an extension.
			if n.Kind == KindFixed && g == len(groups)-1 && groups[g].hyphen && len(groups[g].digits) <= 5 {
				n.Extension = groups[g].digits
				end = groups[g].end
				g++
			} else if ext, e := extensionAfter(s, end); ext != "" {
				n.Extension = ext
				end = e
				next = max(next, e)
			}
			n.Raw = s[start:end]
			key := n.E164 + "#" + n.Extension
			if seen == nil {
				seen = map[string]bool{}
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, n)
			}
		}
		i = next
	}
	return out
}

// group is a run of digits inside a phone-like run of text.
type group struct {
	lead       int    // byte offset of a '+' before the digits, else of the first digit
	start, end int    // byte offsets of the digits
	digits     string // ASCII digits
	plus       bool   // written with a leading '+'
	hyphen     bool   // separated from the previous group by a hyphen
}

// scanGroups reads digit groups from s[i] (a digit) while they are
// separated by at most three separator runes (space, hyphen, dash, brackets)
// optionally followed by '+'.
func scanGroups(s string, i int) ([]group, int) {
	var groups []group
	plus := i > 0 && s[i-1] == '+' || strings.HasSuffix(s[:i], "＋")
	lead := i
	if plus {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		lead = i - size
	}
	if r, size := utf8.DecodeLastRuneInString(s[:lead]); r == '(' || r == '（' {
		lead -= size // keep "(0791)" whole in Raw
	}
	hyphen := false
	for {
		g := group{lead: lead, start: i, plus: plus, hyphen: hyphen}
		g.digits, i = digitsAt(s, i)
		g.end = i
		groups = append(groups, g)
		// separators
		j, seps := i, 0
		hyphen, plus = false, false
		for j < len(s) && seps < 4 {
			r, size := utf8.DecodeRuneInString(s[j:])
			f := text.FoldRune(r)
			if f == ' ' || f == '(' || f == ')' || f == '-' || f == '–' || f == '—' || f == '\u00a0' {
				if f != ' ' && f != '\u00a0' && f != '(' && f != ')' {
					hyphen = true
				}
				j += size
				seps++
				continue
			}
			if f == '+' && !plus {
				lead, plus = j, true
				j += size
				continue
			}
			break
		}
		if seps == 0 && !plus || seps > 3 || j >= len(s) {
			return groups, g.end
		}
		if r, _ := utf8.DecodeRuneInString(s[j:]); !isDigit(text.FoldRune(r)) {
			return groups, g.end
		}
		if !plus {
			lead = j
		}
		i = j
	}
}

// bestAt returns the longest valid number made of groups[g..last], with
// the byte offset where it ends, or last = -1.
func bestAt(s string, groups []group, g int, memo map[string]Number) (best Number, last, end int) {
	last = -1
	if g == 0 && badLeft(s, groups[0].lead) {
		return best, last, 0
	}
	var d strings.Builder
	for j := g; j < len(groups) && j < g+5; j++ {
		d.WriteString(groups[j].digits)
		if d.Len() > 17 {
			break
		}
		digits := d.String()
		if !plausible(digits, groups[g].plus) {
			continue
		}
		key := digits
		if groups[g].plus {
			key = "+" + digits
		}
		n, ok := memo[key]
		if !ok {
			n = classify(digits, groups[g].plus)
			memo[key] = n
		}
		if badRight(s, groups[j].end, n.Kind == KindMobile) {
			continue
		}
		if n.Valid && n.Kind != KindService {
			best, last, end = n, j, groups[j].end
		}
	}
	return best, last, end
}

// plausible filters digit strings worth asking the library about.
func plausible(d string, plus bool) bool {
	n := len(d)
	switch {
	case plus:
		return n >= 7 && n <= 15
	case strings.HasPrefix(d, "00"):
		return n >= 9 && n <= 17
	case d[0] == '0':
		return n >= 10 && n <= 12
	case d[0] == '1':
		return n == 11
	case strings.HasPrefix(d, "400") || strings.HasPrefix(d, "800"):
		return n == 10
	case strings.HasPrefix(d, "861"):
		return n == 13
	}
	return false
}

// units are characters that make a figure a quantity, a date or a serial.
const units = "号年月日元万亿个次份页岁米件条人天株台辆亩%‰两斤克吨户间套张本期届"

// badLeft reports context before a number that makes it something else:
// an ASCII letter or digit, a currency sign, "QQ".
func badLeft(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	r = text.FoldRune(r)
	if isDigit(r) || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '¥' || r == '$' || r == '￥' || r == '.' {
		return true
	}
	before := strings.TrimRight(s[max(0, i-12):i], " :：号")
	before = strings.ToLower(foldString(strings.ToValidUTF8(before, "")))
	return strings.HasSuffix(before, "qq")
}

// amountUnits are the words after a figure that make it a sum of money.
var amountUnits = []string{"元", "块", "圆", "万", "亿", "千元", "百元", "人民币", "美元", "美金", "港元", "港币", "欧元", "日元", "英镑"}

// notAmount are words that start with an amount unit but are prose:
// "13912345678万分感谢" is a phone number followed by thanks.
var notAmount = []string{"万分", "万一", "万望", "万万", "万幸", "万般", "万请", "万谢", "元旦", "元月", "元宵"}

// amountAfter reports whether s starts with a unit of money, optionally
// after 余 or 多 ("13912345678元", "13912345678余万元").
func amountAfter(s string) bool {
	s = foldString(prefixRunes(s, 6))
	for _, w := range notAmount {
		if strings.HasPrefix(s, w) {
			return false
		}
	}
	if t, ok := strings.CutPrefix(s, "余"); ok {
		s = t
	} else if t, ok := strings.CutPrefix(s, "多"); ok {
		s = t
	}
	for _, u := range amountUnits {
		if strings.HasPrefix(s, u) {
			return true
		}
	}
	return false
}

// badRight reports context after a number's last digit at s[i] that makes
// it something else: an ASCII letter that starts no extension, a decimal
// point, a unit. After a mobile number only a unit of money, a percent sign
// or 号 (the serial of a case number) counts: an 11-digit mobile number
// followed by prose ("13912345678张律师", "…两个号码") is a phone number, and
// the other units (张, 两, 个, 年 …) are common first characters of prose.
func badRight(s string, i int, mobile bool) bool {
	if i >= len(s) {
		return false
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	r = text.FoldRune(r)
	switch {
	case r == 'x' || r == 'X' || r == 'e' || r == 'E':
		return extOK(s[i:]) == ""
	case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		return true
	case r == '.':
		n, _ := utf8.DecodeRuneInString(s[i+size:])
		return isDigit(text.FoldRune(n))
	}
	if mobile {
		return r == '号' || r == '%' || r == '‰' || amountAfter(s[i:])
	}
	return strings.ContainsRune(units, r)
}

// extensionAfter reads an extension written after a number ending at s[i]:
// optional spaces, a marker (转, 分机, 分机号, ext, x, #), optional ':'
// and 1–6 digits. It returns the digits and where they end.
func extensionAfter(s string, i int) (string, int) {
	j := i
	for j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		if f := text.FoldRune(r); f != ' ' && f != ',' {
			break
		}
		j += size
	}
	ext := extOK(s[j:])
	if ext == "" {
		return "", i
	}
	return ext, j + extLen(s[j:])
}

// extOK returns the extension digits when s starts with a marker and
// digits, else "".
func extOK(s string) string {
	d, _ := parseExt(s)
	return d
}

func extLen(s string) int {
	_, n := parseExt(s)
	return n
}

func parseExt(s string) (digits string, n int) {
	f := strings.ToLower(foldString(prefixRunes(s, 12)))
	var marker string
	for _, m := range []string{"分机号", "分机", "转", "ext.", "ext", "x", "#"} {
		if strings.HasPrefix(f, m) {
			marker = m
			break
		}
	}
	if marker == "" {
		return "", 0
	}
	// Walk the original string over the marker, separators and digits.
	i := 0
	for range []rune(marker) {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if f := text.FoldRune(r); f != ' ' && f != ':' && f != '.' {
			break
		}
		i += size
	}
	b, i := digitsAt(s, i)
	if len(b) == 0 || len(b) > 6 {
		return "", 0
	}
	if r, _ := utf8.DecodeRuneInString(s[i:]); strings.ContainsRune(units, r) {
		return "", 0
	}
	return b, i
}

// prefixRunes returns the first n runes of s.
func prefixRunes(s string, n int) string {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// digitsAt reads the run of digits (ASCII or full-width) at s[i:] and
// returns them as ASCII and the index after them.
func digitsAt(s string, i int) (string, int) {
	var b []byte
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		f := text.FoldRune(r)
		if !isDigit(f) {
			break
		}
		b = append(b, byte(f))
		i += size
	}
	return string(b), i
}
