// Package text cleans petition text and identifiers before they go into a
// petition record, and masks personal data for places where a value may be
// shown but not disclosed (logs, metrics labels, operator screens).
//
// Two different normalisations are applied, following docs/domain.md ("Text"):
//
//   - Prose (subject, content, names, addresses) is kept in the petitioner's
//     own characters: it is only made valid UTF-8, stripped of control
//     characters, given LF line endings and tidy whitespace, and put into
//     Unicode Normalization Form C (UAX #15). NFC never changes the look of
//     a character, so full-width punctuation such as （） and ，stays as
//     written.
//   - Identifiers (案号, resident id numbers, phone numbers, e-mail local
//     parts typed on a Chinese keyboard) are width-folded: the full-width
//     forms U+FF01–U+FF5E of ASCII letters, digits and punctuation become
//     ASCII, exactly what NFKC does for that block, and all whitespace is
//     removed. Other characters (〔〕【】, Han characters) are left alone:
//     NFKC does not map 〔〕 or 【】, and the parsers that need them handle
//     them themselves.
//
// The original bytes are always kept in the blob store (docs/delivery.md,
// "Originals are evidence"), so cleaning may drop what carries no meaning.
//
// The package has no dependencies inside petitiond and no state; every
// function is safe for concurrent use.
package text

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/court12368/petitiond/internal/strbuf"
)

// FoldRune maps the full-width form of an ASCII character (U+FF01–U+FF5E)
// to the ASCII character and the ideographic space U+3000 to an ASCII
// space; every other rune is returned unchanged. It is the NFKC mapping
// restricted to what identifiers need, usable while scanning text without
// allocating.
func FoldRune(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}

// IsHorizontalSpace reports whether r is white space that does not break a
// line: tab, space, no-break spaces, the typographic spaces U+2000–U+200A
// and the ideographic space U+3000.
func IsHorizontalSpace(r rune) bool {
	switch r {
	case '\t', ' ', 0x00A0, 0x1680, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// Identifier returns s width-folded (see FoldRune) with all white space,
// control characters and zero-width format characters removed. It is
// meant for short identifier fields such as a case number, an id number
// or a phone number typed by a petitioner; prose must go through Clean.
func Identifier(s string) string {
	b := strbuf.Get()
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r > 0x3000 && r < 0xFEFF {
			b.WriteRune(r) // CJK and the like: nothing to fold or drop
			continue
		}
		r = FoldRune(r)
		if unicode.IsSpace(r) || IsHorizontalSpace(r) || unicode.IsControl(r) || isInvisible(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.Done(s)
}

// isInvisible reports zero-width characters that carry no meaning in
// petition text: the byte order mark / zero-width no-break space U+FEFF,
// the zero-width space U+200B and the word joiner U+2060. Joiners that
// shape emoji or scripts (U+200C, U+200D) and bidi marks are kept.
func isInvisible(r rune) bool {
	return r == 0xFEFF || r == 0x200B || r == 0x2060
}

// Clean makes prose fit for a petition record's text fields:
//
//   - invalid UTF-8 sequences become U+FFFD;
//   - CR LF, lone CR, NEL (U+0085), form feed, vertical tab and the line
//     separator U+2028 become LF; the paragraph separator U+2029 becomes a
//     blank line;
//   - other control characters are removed (tab and LF are kept), as are
//     U+FEFF, U+200B and U+2060;
//   - the text is put into NFC;
//   - each line is trimmed, and a run of horizontal white space inside a
//     line becomes one character: a tab if the run holds a tab, an
//     ideographic space if the run is made only of ideographic spaces
//     (Chinese layout uses them on purpose), otherwise an ASCII space;
//   - runs of blank lines become one blank line, so paragraph breaks
//     survive; leading and trailing blank lines are removed.
//
// Clean is idempotent: Clean(Clean(s)) == Clean(s).
func Clean(s string) string {
	if s == "" {
		return ""
	}
	// Pass 1: validity, line endings, control characters.
	b := strbuf.Get()
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				i++
			}
			b.WriteByte('\n')
		case r == '\n' || r == 0x0085 || r == '\f' || r == '\v' || r == 0x2028:
			b.WriteByte('\n')
		case r == 0x2029:
			b.WriteString("\n\n")
		case r == '\t':
			b.WriteByte('\t')
		case unicode.IsControl(r) || isInvisible(r):
			// dropped
		default:
			b.WriteRune(r)
		}
	}
	t := b.Done(s)
	if !plainNFC(t) && !norm.NFC.IsNormalString(t) {
		t = norm.NFC.String(t)
	}
	return tidy(t)
}

// plainNFC reports text that is NFC without asking the norm package (which
// allocates): only runes below the combining marks (U+0300), CJK unified
// ideographs, CJK punctuation other than its combining tone marks, and
// full-width forms — none of them composes or decomposes under NFC.
func plainNFC(s string) bool {
	for _, r := range s {
		switch {
		case r < 0x300, r >= 0x4E00 && r <= 0x9FFF, r >= 0x3000 && r <= 0x3029,
			r >= 0x3030 && r <= 0x303F, r >= 0xFF00 && r <= 0xFFEF:
		default:
			return false
		}
	}
	return true
}

// tidy trims lines, collapses horizontal white space and blank lines.
// Its input contains no CR and no control characters other than tab.
func tidy(s string) string {
	b := strbuf.Get()
	blank := 0 // pending newlines not yet written
	for line := range strings.Lines(s) {
		line = strings.TrimSuffix(line, "\n")
		line = strings.TrimFunc(line, IsHorizontalSpace)
		if line == "" {
			if b.Len() > 0 {
				blank++
			}
			continue
		}
		if b.Len() > 0 {
			if blank > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = 0
		writeCollapsed(b, line)
	}
	return b.Done(s)
}

// writeCollapsed writes line with each run of horizontal white space
// collapsed to one rune (see Clean).
func writeCollapsed(b *strbuf.Buffer, line string) {
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRuneInString(line[i:])
		if !IsHorizontalSpace(r) {
			b.WriteString(line[i : i+size])
			i += size
			continue
		}
		tab, ideo, other := false, false, false
		for i < len(line) {
			r, size = utf8.DecodeRuneInString(line[i:])
			if !IsHorizontalSpace(r) {
				break
			}
			switch r {
			case '\t':
				tab = true
			case 0x3000:
				ideo = true
			default:
				other = true
			}
			i += size
		}
		switch {
		case tab:
			b.WriteByte('\t')
		case ideo && !other:
			b.WriteRune(0x3000)
		default:
			b.WriteByte(' ')
		}
	}
}
