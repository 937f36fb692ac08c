// Package casenum finds and parses case numbers (案号) of the people's
// courts.
//
// The format is fixed by 《最高人民法院关于人民法院案件案号的若干规定》
// (法〔2015〕137号, in force since 1 January 2016, amended by
// 法〔2018〕335号):
//
//	（收案年度）法院代字[专门审判代字]类型代字案件编号号
//	（2021）赣01民初123号
//	（2021）最高法知民终2270号
//
// Its parts:
//
//   - The year is the year the case was received. A year before 1949 or
//     after the current year is refused (ErrYear): a number cannot have been
//     given yet.
//   - The court code is 最高法 for the Supreme People's Court; the province
//     abbreviation (京 津 冀 … 新, plus 兵 for the Production and
//     Construction Corps branch and 军 for the military courts) for a high
//     court; that abbreviation and 2 digits for an intermediate court
//     (赣01 南昌); and 4 digits for a basic court (赣0102 东湖区). 71–99
//     in the intermediate position are special ranges (railway transport,
//     maritime, intellectual property, financial courts …). Court codes
//     do not follow later changes of administrative regions.
//   - An optional special trial code, in practice 知 (intellectual
//     property), precedes the type code.
//   - The type code (民初, 刑终, 执恢, 司救民 …) is one of the closed table
//     typeCodes, taken from 《人民法院案件类型及其代字标准》 (法〔2015〕137号,
//     法〔2018〕335号), plus 民诉前调 seen in practice; each has a Kind. A
//     short word that merely starts like a code (民事, 执行, 刑事判决, 知识产权)
//     is not a type code, and a number with one is not a case number.
//     Old-style numbers (before 2016) had no standard codes and are checked
//     more loosely, see validType.
//   - The serial restarts per court, type and year.
//
// Written in the wild (docs/domain.md), all of which Find and Parse accept: the
// brackets （） () 〔〕 【】 [] 〖〗, spaces anywhere, 第 before the serial,
// full-width digits, a suffix such as 号之一, several serials sharing one
// prefix, with one 号 or one each ((2021)粤0111民初30063、30062、30064号 and
// (2021)赣01民初123号、124号 are three and two cases), and the
// format used before 2016, （2015）赣民一终字第12号, reported with
// OldStyle set.
//
// Court codes with digits (赣01, 赣0102) exist only since the rules came into
// force on 1 January 2016. A number with one and an earlier year is still
// returned, since the year or the court code may just be misread or
// mistyped, but with Suspicious set to SuspiciousOldDigits so the record
// can say so and a reviewer check it; it is not rejected, because a petition
// loses nothing by keeping a doubtful number and a real one would be lost.
//
// Before 2016 many courts used free abbreviations (洪, 南 …)
// that cannot be checked; only numbers whose court code fits the current
// scheme are accepted, so document numbers such as 法释〔2020〕17号 or
// 国办发〔2021〕15号 never pass for case numbers.
package casenum

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/court12368/petitiond/normalize/text"
)

// Case is one parsed case number. The JSON names number, year, court_code,
// type_code and seq are those of the petition record's cases
// (docs/record.md).
type Case struct {
	// Number is the canonical form: full-width brackets, ASCII digits, no
	// spaces and no 第, e.g. （2021）赣01民初123号. Old-style numbers keep
	// 字第: （2015）赣民一终字第12号.
	Number string `json:"number"`
	// Raw is the text the number was read from, unchanged. Several cases
	// read from one text with several serials share it.
	Raw string `json:"raw"`
	// Year is the year the case was received.
	Year int `json:"year"`
	// CourtCode is the court code: 最高法, 赣, 赣01, 赣0102, 兵08 …
	CourtCode string `json:"court_code"`
	// Province is the province abbreviation of the court code (赣), empty
	// for the Supreme People's Court.
	Province string `json:"province,omitempty"`
	// Level is one of the Level constants.
	Level string `json:"level"`
	// CourtName is the court's name when the package knows it.
	CourtName string `json:"court_name,omitempty"`
	// SpecialCode is the special trial code (知) or empty.
	SpecialCode string `json:"special_code,omitempty"`
	// TypeCode is the type code without the special code: 民初, 执恢; for
	// old-style numbers what stood before 字 (民一终).
	TypeCode string `json:"type_code"`
	// Kind is one of the Kind constants, derived from TypeCode.
	Kind string `json:"kind"`
	// Seq is the serial.
	Seq int `json:"seq"`
	// SeqSuffix is a suffix after 号 such as 之一, or empty.
	SeqSuffix string `json:"seq_suffix,omitempty"`
	// OldStyle is set for the pre-2016 format with 字.
	OldStyle bool `json:"old_style,omitempty"`
	// Suspicious is empty for a plausible number, else why it is doubtful:
	// one of the Suspicious constants.
	Suspicious string `json:"suspicious,omitempty"`
}

// Reasons for Case.Suspicious.
const (
	// SuspiciousOldDigits: a court code with digits (赣01, 赣0102) and a
	// year before 2016, when those codes did not exist yet.
	SuspiciousOldDigits = "court code with digits before 2016"
)

// firstDigitYear is the first year of court codes with digits
// (法〔2015〕137号, in force since 1 January 2016).
const firstDigitYear = 2016

// Errors returned by Parse, wrapped with details.
var (
	ErrSyntax  = errors.New("casenum: not a case number")
	ErrYear    = errors.New("casenum: implausible year")
	ErrCourt   = errors.New("casenum: unknown court code")
	ErrType    = errors.New("casenum: unknown type code")
	ErrSeveral = errors.New("casenum: several case numbers, use Find")
)

// minYear is the first plausible year: the people's courts date from 1949.
const minYear = 1949

const (
	openBrackets  = "([〔【〖﹝"
	closeBrackets = ")]〕】〗﹞"
	// openBracketsRaw are the opening brackets before width folding, for
	// strings.IndexAny.
	openBracketsRaw = "([〔【〖﹝（［"
	serialSeps      = "、,;"
	chineseNumerals = "一二三四五六七八九十"
)

// Parse parses a field that holds exactly one case number, such as the web
// form's case_number. Surrounding white space is ignored. A field with
// several serials returns ErrSeveral; use Find for those and for free text.
func Parse(s string) (Case, error) {
	s = strings.TrimSpace(s)
	r, _ := utf8.DecodeRuneInString(s)
	if !strings.ContainsRune(openBrackets, text.FoldRune(r)) {
		return Case{}, fmt.Errorf("%w: no opening bracket before the year", ErrSyntax)
	}
	cases, end, err := parseAt(s, 0, time.Now().Year(), true)
	if err != nil {
		return Case{}, err
	}
	if end != len(s) {
		return Case{}, fmt.Errorf("%w: unexpected text after the number at byte %d", ErrSyntax, end)
	}
	if len(cases) > 1 {
		return Case{}, ErrSeveral
	}
	return cases[0], nil
}

// Find returns every case number in free text, in order of appearance and
// without duplicates (by Number). A number with several serials yields one
// Case per serial.
func Find(s string) []Case {
	var out []Case
	var seen map[string]bool
	year := time.Now().Year()
	for i := 0; i < len(s); {
		j := strings.IndexAny(s[i:], openBracketsRaw)
		if j < 0 {
			break
		}
		i += j
		cases, end, err := parseAt(s, i, year, false)
		if err != nil {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			continue
		}
		for _, c := range cases {
			if seen == nil {
				seen = map[string]bool{}
			}
			if !seen[c.Number] {
				seen[c.Number] = true
				out = append(out, c)
			}
		}
		i = end
	}
	return out
}

// scanner reads width-folded runes from s.
type scanner struct {
	s string
	i int
}

// peek returns the next rune, width-folded, and its size; 0, 0 at the end.
func (p *scanner) peek() (rune, int) {
	if p.i >= len(p.s) {
		return 0, 0
	}
	r, size := utf8.DecodeRuneInString(p.s[p.i:])
	return text.FoldRune(r), size
}

// space skips white space.
func (p *scanner) space() {
	for {
		r, size := p.peek()
		if size == 0 || !(unicode.IsSpace(r) || text.IsHorizontalSpace(r)) {
			return
		}
		p.i += size
	}
}

// accept consumes the next rune if it is one of set.
func (p *scanner) accept(set string) (rune, bool) {
	r, size := p.peek()
	if size == 0 || !strings.ContainsRune(set, r) {
		return 0, false
	}
	p.i += size
	return r, true
}

// digits reads up to max+1 digits, allowing white space between them. It
// also returns the position after the first contiguous chunk of digits and
// that chunk's length.
func (p *scanner) digits(max int) (d string, firstEnd, firstLen int) {
	var b []byte
	firstEnd = -1
	for len(b) <= max {
		r, size := p.peek()
		if r < '0' || r > '9' {
			break
		}
		b = append(b, byte(r))
		p.i += size
		if r, _ := p.peek(); r >= '0' && r <= '9' {
			continue
		}
		if firstEnd < 0 {
			firstEnd, firstLen = p.i, len(b)
		}
		save := p.i
		p.space()
		if r, _ := p.peek(); p.i == save || r < '0' || r > '9' {
			p.i = save
			break
		}
	}
	if firstEnd < 0 {
		firstEnd, firstLen = p.i, len(b)
	}
	return string(b), firstEnd, firstLen
}

// hanRun reads up to max Han characters that are not one of stop, skipping
// white space between them.
func (p *scanner) hanRun(max int, stop string) string {
	var b strings.Builder
	n := 0
	for n < max {
		save := p.i
		p.space()
		r, size := p.peek()
		if size == 0 || !unicode.Is(unicode.Han, r) || strings.ContainsRune(stop, r) {
			p.i = save
			break
		}
		b.WriteRune(r)
		p.i += size
		n++
	}
	return b.String()
}

// parseAt parses the case number(s) starting with the opening bracket at
// s[i] and returns them with the byte offset after the last one. Errors
// carry details only when detail is set (Find discards them).
func parseAt(s string, i int, thisYear int, detail bool) ([]Case, int, error) {
	sc := scanner{s: s, i: i}
	p := &sc
	start := i
	if _, ok := p.accept(openBrackets); !ok {
		return nil, 0, failf(detail, ErrSyntax, "no opening bracket")
	}
	p.space()
	y, _, firstLen := p.digits(4)
	if len(y) != 4 || firstLen != 4 {
		return nil, 0, failf(detail, ErrSyntax, "the year needs 4 digits")
	}
	year, _ := strconv.Atoi(y)
	if year < minYear || year > thisYear {
		return nil, 0, failf(detail, ErrYear, "%d", year)
	}
	p.space()
	if _, ok := p.accept(closeBrackets); !ok {
		return nil, 0, failf(detail, ErrSyntax, "no closing bracket after the year")
	}
	p.space()

	c := Case{Year: year}
	switch r, size := p.peek(); {
	case strings.HasPrefix(s[p.i:], supremeCode):
		p.i += len(supremeCode)
		c.CourtCode, c.Level, c.CourtName = supremeCode, LevelSupreme, "最高人民法院"
	case highCourts[string(r)] != "":
		p.i += size
		p.space()
		d, _, _ := p.digits(4)
		switch {
		case len(d) != 0 && len(d) != 2 && len(d) != 4:
			return nil, 0, failf(detail, ErrCourt, "%c followed by %d digits", r, len(d))
		case len(d) >= 2 && d[:2] == "00", len(d) == 4 && d[2:] == "00":
			return nil, 0, failf(detail, ErrCourt, "%c%s", r, d)
		}
		c.Province = string(r)
		c.CourtCode = c.Province + d
		if d != "" && year < firstDigitYear {
			c.Suspicious = SuspiciousOldDigits
		}
		c.Level = courtLevel(d)
		if d == "" {
			c.CourtName = highCourts[c.Province]
		} else {
			c.CourtName = courtNames[c.CourtCode]
		}
	default:
		return nil, 0, failf(detail, ErrCourt, "at byte %d", p.i)
	}

	code := p.hanRun(6, "第字号之")
	p.space()
	if _, ok := p.accept("字"); ok {
		c.OldStyle = true
	}
	if err := c.setType(code, detail); err != nil {
		return nil, 0, err
	}

	// Serials.
	p.space()
	p.accept("第")
	p.space()
	var serialsBuf, cutBuf, endsBuf [4]int
	serials := serialsBuf[:0]
	firstEnds := endsBuf[:0] // end of the serial if the run had to be cut
	cutSerials := cutBuf[:0]
	for {
		d, firstEnd, firstLen := p.digits(8)
		if len(d) > 8 {
			return nil, 0, failf(detail, ErrSyntax, "serial too long")
		}
		if d == "" {
			break
		}
		seq, _ := strconv.Atoi(d)
		cut, _ := strconv.Atoi(d[:firstLen])
		serials = append(serials, seq)
		firstEnds = append(firstEnds, firstEnd)
		cutSerials = append(cutSerials, cut)
		save := p.i
		p.space()
		if _, ok := p.accept(serialSeps + "，；"); !ok {
			p.i = save
			break
		}
		p.space()
		p.accept("第")
		p.space()
		if r, _ := p.peek(); r < '0' || r > '9' {
			p.i = save
			break
		}
	}
	if len(serials) == 0 {
		return nil, 0, failf(detail, ErrSyntax, "no serial")
	}
	save := p.i
	p.space()
	var more []Case // serials repeated with their own 号: 123号、124号
	if _, ok := p.accept("号"); ok {
		c.SeqSuffix = p.suffix()
		more = p.moreSerials(c)
	} else {
		// Without 号 the number ends after the first serial's first
		// chunk of digits: "（2021）赣01民初123 2022年" is serial 123, and
		// a list of serials needs its 号.
		p.i = save
		serials = []int{cutSerials[0]}
		p.i = firstEnds[0]
	}
	for _, seq := range serials {
		if seq <= 0 {
			return nil, 0, failf(detail, ErrSyntax, "serial 0")
		}
	}
	raw := s[start:p.i]
	out := make([]Case, 0, len(serials)+len(more))
	for _, seq := range serials {
		k := c
		k.Seq = seq
		out = append(out, k)
	}
	out = append(out, more...)
	for i := range out {
		out[i].Raw = raw
		out[i].Number = out[i].canonical()
	}
	return out, p.i, nil
}

// moreSerials reads the serials that follow a complete number and repeat
// its 号, (2021)赣01民初123号、124号、第125号之一: after 、 one or more
// serials (themselves listed with 、) and 号, each group with its own
// suffix. The cases are c with Seq and SeqSuffix set. Whatever does not
// end in 号 is left unread: 123号、2022年 is one case.
func (p *scanner) moreSerials(c Case) []Case {
	var out []Case
	var group []int
	end := p.i // after the last 号 and its suffix
	for {
		p.space()
		if _, ok := p.accept("、"); !ok {
			break
		}
		p.space()
		p.accept("第")
		p.space()
		d, _, _ := p.digits(8)
		if d == "" || len(d) > 8 {
			break
		}
		seq, _ := strconv.Atoi(d)
		if seq <= 0 {
			break
		}
		group = append(group, seq)
		p.space()
		if _, ok := p.accept("号"); ok {
			suffix := p.suffix()
			for _, seq := range group {
				k := c
				k.Seq, k.SeqSuffix = seq, suffix
				out = append(out, k)
			}
			group, end = nil, p.i
		}
	}
	p.i = end
	return out
}

// failf returns base, wrapped with a formatted detail when detail is set.
func failf(detail bool, base error, format string, args ...any) error {
	if !detail {
		return base
	}
	return fmt.Errorf("%w: "+format, append([]any{base}, args...)...)
}

// suffix reads 之 and a Chinese numeral after 号 (号之一), or nothing.
func (p *scanner) suffix() string {
	save := p.i
	if _, ok := p.accept("之"); !ok {
		return ""
	}
	var b strings.Builder
	for n := 0; n < 3; n++ {
		r, ok := p.accept(chineseNumerals)
		if !ok {
			break
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		p.i = save
		return ""
	}
	return "之" + b.String()
}

// setType checks the type code (with an optional special code before it)
// and sets SpecialCode, TypeCode and Kind.
func (c *Case) setType(code string, detail bool) error {
	if code == "" {
		return failf(detail, ErrType, "missing")
	}
	first, size := utf8.DecodeRuneInString(code)
	if strings.ContainsRune(specialCodes, first) && len(code) > size {
		if rest := code[size:]; validType(rest, c.OldStyle) {
			c.SpecialCode, code = string(first), rest
		}
	}
	if !validType(code, c.OldStyle) {
		return failf(detail, ErrType, "%s", code)
	}
	c.TypeCode, c.Kind = code, kindOf(code)
	return nil
}

// canonical builds Number.
func (c *Case) canonical() string {
	var b strings.Builder
	b.Grow(len("（）字第号") + 4 + len(c.CourtCode) + len(c.SpecialCode) + len(c.TypeCode) + 8 + len(c.SeqSuffix))
	b.WriteString("（")
	b.WriteString(strconv.Itoa(c.Year))
	b.WriteString("）")
	b.WriteString(c.CourtCode)
	b.WriteString(c.SpecialCode)
	b.WriteString(c.TypeCode)
	if c.OldStyle {
		b.WriteString("字第")
	}
	b.WriteString(strconv.Itoa(c.Seq))
	b.WriteString("号")
	b.WriteString(c.SeqSuffix)
	return b.String()
}
