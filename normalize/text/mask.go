package text

import (
	"strings"
	"unicode/utf8"
)

// The Mask functions hide personal data while leaving enough to tell two
// values apart on an operator screen. They follow the practice of the
// national standard GB/T 35273-2020 (personal information de-identification)
// and of court disclosure rules for judgments (法释〔2016〕19号): an id
// number shows at most its first 6 and last 4 characters, a phone number
// its last 4 digits, a name its first character. The output has one rune
// per input rune, so lengths remain recognisable; none of them is a
// security boundary (a masked id still reveals region and check digit).

// MaskID masks a resident id number (or any other identity document
// number): 360102198001010013 → 360102********0013. Values of 15 runes or
// more keep their first 6 and last 4 runes; shorter values keep their
// first third and last quarter, rounded down, so nothing short is shown
// whole. The empty string stays empty.
func MaskID(id string) string {
	n := utf8.RuneCountInString(id)
	head, tail := 6, 4
	if n < 15 {
		head, tail = n/3, n/4
	}
	return maskRunes(id, n, head, tail)
}

// MaskPhone masks a phone number, keeping its last 4 digits and any
// leading '+' and separators: 13912345678 → *******5678,
// +8613912345678 → +*********5678, 0791-86123456 → ****-****3456.
// A number with 4 digits or fewer is masked completely.
func MaskPhone(phone string) string {
	digits := 0
	for _, r := range phone {
		if r >= '0' && r <= '9' || r >= '０' && r <= '９' {
			digits++
		}
	}
	keep := 4
	if digits <= 4 {
		keep = 0
	}
	var b strings.Builder
	b.Grow(len(phone))
	seen := 0
	for _, r := range phone {
		switch {
		case r >= '0' && r <= '9' || r >= '０' && r <= '９':
			seen++
			if seen > digits-keep {
				b.WriteRune(r)
			} else {
				b.WriteByte('*')
			}
		case r == '+' || r == '-' || r == ' ' || r == '(' || r == ')':
			b.WriteRune(r)
		default:
			b.WriteByte('*')
		}
	}
	return b.String()
}

// MaskName keeps the first character of a personal name and masks the
// rest: 张三丰 → 张**, 欧阳娜娜 → 欧***. A one-character name is masked
// whole ("*"), since its first character is all of it.
func MaskName(name string) string {
	n := utf8.RuneCountInString(name)
	if n <= 1 {
		return strings.Repeat("*", n)
	}
	return maskRunes(name, n, 1, 0)
}

// MaskEmail keeps the first character of the local part and the domain:
// zhangsan@example.org → z***@example.org. The number of stars is fixed so
// the local part's length is not revealed. A value without '@' is masked as
// "***".
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return "***"
	}
	r, _ := utf8.DecodeRuneInString(email)
	return string(r) + "***" + email[at:]
}

// maskRunes keeps the first head and last tail runes of s (which has n
// runes) and replaces the others by '*'.
func maskRunes(s string, n, head, tail int) string {
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for _, r := range s {
		if i < head || i >= n-tail {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
		i++
	}
	return b.String()
}
