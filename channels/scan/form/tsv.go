// Package form reads a scanned registration form: it parses tesseract's
// TSV output into pages, lines and words with their confidences, and finds
// the values of labelled fields (姓名, 身份证号, 反映问题 …) in the two
// layouts desks use — "标签：值" lines, and bordered tables where OCR returns
// the label and the value on one line separated by spaces, or the value on
// the lines above or below a label split over two lines. It knows nothing
// of the domain: checking what was read (checksums, case-number grammar) is
// the scan decoder's job.
package form

import (
	"bufio"
	"fmt"
	"image"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Word is one word tesseract read, with its confidence (0–100).
type Word struct {
	Text string
	Conf float64
	// Left, Top, Width and Height are the word's box in pixels.
	Left, Top, Width, Height int
}

// Line is one line of text on a page.
type Line struct {
	Page  int
	Words []Word
	text  string
	spans [][2]int // byte span of each word in text
}

// Text is the line's words joined as they stand on the page: words next to
// a CJK character are joined directly (Chinese is written without spaces,
// and tesseract splits 2020年3月 into words), unless a real gap separates
// them (more than half the line height: a label and its value, two table
// cells), which becomes one space; other words get one space.
func (l *Line) Text() string {
	if l.spans == nil && len(l.Words) > 0 {
		var b strings.Builder
		h := 0
		for _, w := range l.Words {
			h = max(h, w.Height)
		}
		for i, w := range l.Words {
			if i > 0 {
				p := l.Words[i-1]
				gap := w.Left - (p.Left + p.Width)
				cjk := endsCJK(p.Text) || startsCJK(w.Text)
				if !cjk || (h > 0 && gap*2 > h) || (h == 0 && p.Width == 0) {
					b.WriteByte(' ')
				}
			}
			start := b.Len()
			b.WriteString(w.Text)
			l.spans = append(l.spans, [2]int{start, b.Len()})
		}
		l.text = b.String()
	}
	return l.text
}

// box is the union of the boxes of the words that overlap text[from:to].
func (l *Line) box(from, to int) image.Rectangle {
	l.Text()
	var r image.Rectangle
	for i, s := range l.spans {
		if s[1] > from && s[0] < to {
			w := l.Words[i]
			r = r.Union(image.Rect(w.Left, w.Top, w.Left+w.Width, w.Top+w.Height))
		}
	}
	return r
}

// conf is the mean confidence of the words that overlap text[from:to].
func (l *Line) conf(from, to int) float64 {
	l.Text()
	var sum float64
	n := 0
	for i, s := range l.spans {
		if s[1] > from && s[0] < to && l.Words[i].Conf >= 0 {
			sum += l.Words[i].Conf
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// Page is one page: its lines in reading order and the mean confidence of
// its words.
type Page struct {
	Num   int
	Lines []*Line
	Conf  float64
	Words int
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x303f) || (r >= 0xff00 && r <= 0xffef)
}

func startsCJK(s string) bool {
	for _, r := range s {
		return isCJK(r)
	}
	return false
}

func endsCJK(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	return n > 0 && isCJK(r)
}

// ParseTSV reads tesseract's TSV output (level, page_num, block_num,
// par_num, line_num, word_num, left, top, width, height, conf, text) of one
// or several pages. Pages are numbered from 1 in the order given; page
// numbers in the input are taken as they are, so the TSVs of several
// single-page runs can be concatenated with ParseTSVPages.
func ParseTSV(r io.Reader) ([]*Page, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var pages []*Page
	var cur *Line
	var curKey string
	pageOf := map[int]*Page{}
	n := 0
	for sc.Scan() {
		n++
		cols := strings.Split(sc.Text(), "\t")
		if n == 1 && len(cols) > 0 && cols[0] == "level" {
			continue
		}
		if len(cols) < 12 {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			return nil, fmt.Errorf("tsv line %d: %d columns, want 12", n, len(cols))
		}
		level, err1 := strconv.Atoi(cols[0])
		pnum, err2 := strconv.Atoi(cols[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("tsv line %d: level or page is not a number", n)
		}
		pg := pageOf[pnum]
		if pg == nil {
			pg = &Page{Num: pnum}
			pageOf[pnum] = pg
			pages = append(pages, pg)
		}
		if level != 5 {
			continue
		}
		text := strings.TrimSpace(strings.Join(cols[11:], "\t"))
		if text == "" {
			continue
		}
		conf, err := strconv.ParseFloat(cols[10], 64)
		if err != nil || conf != conf {
			return nil, fmt.Errorf("tsv line %d: confidence %q is not a number", n, cols[10])
		}
		// tesseract gives 0–100, and -1 for what is no word.
		conf = min(max(conf, -1), 100)
		key := cols[1] + "/" + cols[2] + "/" + cols[3] + "/" + cols[4]
		if cur == nil || key != curKey {
			cur = &Line{Page: pnum}
			curKey = key
			pg.Lines = append(pg.Lines, cur)
		}
		left, _ := strconv.Atoi(cols[6])
		width, _ := strconv.Atoi(cols[8])
		top, _ := strconv.Atoi(cols[7])
		height, _ := strconv.Atoi(cols[9])
		cur.Words = append(cur.Words, Word{Text: text, Conf: conf, Left: left, Top: top, Width: width, Height: height})
		if conf >= 0 {
			pg.Conf += conf
			pg.Words++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, p := range pages {
		if p.Words > 0 {
			p.Conf /= float64(p.Words)
		}
	}
	return pages, nil
}

// Text is the whole text of the pages, one line per line, pages separated
// by a blank line.
func Text(pages []*Page) string {
	var b strings.Builder
	for i, p := range pages {
		if i > 0 {
			b.WriteString("\n\n")
		}
		for j, l := range p.Lines {
			if j > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(l.Text())
		}
	}
	return b.String()
}

// MeanConf is the mean word confidence over all pages (0 when no word was
// read).
func MeanConf(pages []*Page) float64 {
	var sum float64
	n := 0
	for _, p := range pages {
		sum += p.Conf * float64(p.Words)
		n += p.Words
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// DigitFix maps characters OCR confuses with digits (O for 0, l for 1 …)
// to the digit, for runs that should be all digits.
var DigitFix = map[rune]rune{'O': '0', 'o': '0', 'D': '0', 'Q': '0', '〇': '0', 'l': '1', 'I': '1', 'i': '1', '|': '1', '!': '1', 'Z': '2', 'z': '2', 'S': '5', 's': '5', 'B': '8', 'g': '9', 'q': '9'}

// Digits keeps the digits of s (full-width ones folded), reading the
// characters in DigitFix as their digits; everything else is dropped.
func Digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case DigitFix[r] != 0:
			b.WriteRune(DigitFix[r])
		}
	}
	return b.String()
}
