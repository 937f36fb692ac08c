package form

import (
	"fmt"
	"image"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/court12368/petitiond/petition"
)

// Fields a form has besides the petition input fields.
const (
	FieldGender       petition.Field = "gender"
	FieldReceptionist petition.Field = "receptionist"
	FieldVisitDate    petition.Field = "visit_date"
)

// Spec maps each field to the labels that introduce it on a form. The
// content field (the request) may run over several lines; the others are
// one line.
type Spec map[petition.Field][]string

// DefaultSpec holds the labels of the usual 来访登记表. "反映"/"问题" and
// "来访"/"事由" are also the halves of a label printed over two lines in a
// narrow table cell.
func DefaultSpec() Spec {
	return Spec{
		petition.FieldName:       {"姓名", "来访人", "来访人姓名", "来访者", "申请人", "反映人", "当事人"},
		FieldGender:              {"性别"},
		petition.FieldIDNumber:   {"身份证号", "身份证号码", "公民身份号码", "身份证", "证件号码", "身份证件号码"},
		petition.FieldPhone:      {"联系电话", "手机", "手机号", "手机号码", "电话", "联系方式", "电话号码"},
		petition.FieldAddress:    {"住址", "地址", "家庭住址", "现住址", "通讯地址", "联系地址", "户籍地址"},
		petition.FieldCaseNumber: {"涉及案号", "案号", "相关案号", "案件编号"},
		petition.FieldContent:    {"反映问题", "诉求", "来访事由", "反映问题及诉求", "主要诉求", "来访诉求", "反映内容", "具体诉求", "事由", "反映", "问题", "及诉求"},
		FieldReceptionist:        {"接待人", "接待人员", "接待法官", "接待人签名"},
		FieldVisitDate:           {"来访日期", "来访时间", "登记日期", "日期"},
	}
}

// Merge returns the default spec with the operator's fields added: an
// operator's list of labels replaces the default list of that field.
func (s Spec) Merge(over Spec) Spec {
	out := Spec{}
	for f, ls := range s {
		out[f] = ls
	}
	for f, ls := range over {
		out[f] = ls
	}
	return out
}

// Value is what a form says for one field, with the mean confidence of the
// words it was read from.
type Value struct {
	Text string
	Conf float64
	// Page and Box locate a one-line value on its page (for a second
	// reading); Box is empty for the multi-line request. First is the first
	// word of the value and FirstBox its box (a neighbouring cell may run
	// into a value).
	Page     int
	Box      image.Rectangle
	First    string
	FirstBox image.Rectangle
	// LineBox is the box of the whole line the value was read from.
	LineBox image.Rectangle
}

type matcher struct {
	field petition.Field
	label string
	re    *regexp.Regexp
}

// Extractor finds labelled values; build one with Compile.
type Extractor struct {
	ms []matcher
}

// Compile builds the extractor of a spec. Labels must not be empty.
func Compile(s Spec) (*Extractor, error) {
	x := &Extractor{}
	for f, labels := range s {
		for _, l := range labels {
			l = strings.TrimSpace(l)
			if l == "" {
				return nil, fmt.Errorf("field %s: empty label", f)
			}
			// OCR puts spaces inside labels (姓 名) and tables justify
			// them (姓　　名): any white space between the characters.
			var parts []string
			for _, r := range l {
				parts = append(parts, regexp.QuoteMeta(string(r)))
			}
			re := regexp.MustCompile(`^` + strings.Join(parts, `[ \t　]*`))
			x.ms = append(x.ms, matcher{field: f, label: l, re: re})
		}
	}
	// Longest label first: 身份证号码 before 身份证, 反映问题 before 反映.
	sort.SliceStable(x.ms, func(i, j int) bool {
		li, lj := utf8.RuneCountInString(x.ms[i].label), utf8.RuneCountInString(x.ms[j].label)
		if li != lj {
			return li > lj
		}
		return x.ms[i].label < x.ms[j].label
	})
	return x, nil
}

type hit struct {
	field      petition.Field
	start, end int // the label
	vstart     int // the value starts here (after separators)
}

const separators = " \t|｜:：;；、.,，"

// hits finds the labels of a line: at its start or after white space or a
// table bar, and followed by a colon, white space, a bar or the end of the
// line (a label of three or more characters may run into its value).
func (x *Extractor) hits(s string) []hit {
	var hs []hit
	for i := 0; i < len(s); {
		boundary := i == 0 || strings.ContainsRune(" \t|｜　", lastRune(s[:i]))
		if boundary && !strings.ContainsRune(separators+"　", firstRune(s[i:])) {
			if h, ok := x.match(s, i); ok {
				hs = append(hs, h)
				i = h.vstart
				continue
			}
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return hs
}

func (x *Extractor) match(s string, i int) (hit, bool) {
	for _, m := range x.ms {
		loc := m.re.FindStringIndex(s[i:])
		if loc == nil {
			continue
		}
		end := i + loc[1]
		rest := s[end:]
		sep := rest == "" || strings.ContainsRune(separators+"　", firstRune(rest))
		if !sep && utf8.RuneCountInString(m.label) < 3 {
			continue
		}
		v := end
		for v < len(s) && strings.ContainsRune(separators+"　", firstRune(s[v:])) {
			_, n := utf8.DecodeRuneInString(s[v:])
			v += n
		}
		return hit{field: m.field, start: i, end: end, vstart: v}, true
	}
	return hit{}, false
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

type seg struct {
	line     *Line
	from, to int
}

// Extract returns the value of each field found on the pages. A field found
// several times keeps its first non-empty value; the content collects every
// line from its label to the next label of another field, and the unlabelled
// lines just above its label (a table whose label cell is centred beside a
// long text).
func (x *Extractor) Extract(pages []*Page) map[petition.Field]Value {
	var lines []*Line
	for _, p := range pages {
		lines = append(lines, p.Lines...)
	}
	lineHits := make([][]hit, len(lines))
	for i, l := range lines {
		lineHits[i] = x.hits(l.Text())
	}
	claimed := make([]bool, len(lines))
	single := map[petition.Field]seg{}
	var pendingBelow []petition.Field // labels alone on their line, value below
	var content []seg
	inContent := false
	lastLabelLine := -1
	for i, l := range lines {
		s := l.Text()
		hs := lineHits[i]
		if len(hs) == 0 {
			switch {
			case inContent:
				content = append(content, seg{l, 0, len(s)})
				claimed[i] = true
			case len(pendingBelow) > 0:
				f := pendingBelow[0]
				pendingBelow = pendingBelow[1:]
				if _, ok := single[f]; !ok {
					single[f] = seg{l, 0, len(s)}
				}
				claimed[i] = true
			}
			continue
		}
		pendingBelow = nil
		startsContent := false
		for j, h := range hs {
			end := len(s)
			if j+1 < len(hs) {
				end = hs[j+1].start
			}
			v := seg{l, h.vstart, trimEnd(s, h.vstart, end)}
			if h.field == petition.FieldContent {
				if !inContent && !startsContent {
					startsContent = true
					// Unlabelled lines since the last label line belong
					// to the request when its label sits below them.
					for k := lastLabelLine + 1; k < i; k++ {
						if !claimed[k] && len(lineHits[k]) == 0 {
							content = append(content, seg{lines[k], 0, len(lines[k].Text())})
							claimed[k] = true
						}
					}
				}
				if v.to > v.from {
					content = append(content, v)
				}
				continue
			}
			if v.to > v.from {
				if _, ok := single[h.field]; !ok {
					single[h.field] = v
				}
			} else if _, ok := single[h.field]; !ok {
				pendingBelow = append(pendingBelow, h.field)
			}
		}
		// A line that names another field ends the request.
		onlyContent := true
		for _, h := range hs {
			if h.field != petition.FieldContent {
				onlyContent = false
			}
		}
		inContent = onlyContent && (inContent || startsContent)
		// A label with no value whose line follows unclaimed text takes
		// the line above (value printed above a two-line label).
		for _, f := range pendingBelow {
			if i > 0 && !claimed[i-1] && len(lineHits[i-1]) == 0 {
				if _, ok := single[f]; !ok {
					single[f] = seg{lines[i-1], 0, len(lines[i-1].Text())}
					claimed[i-1] = true
				}
			}
		}
		lastLabelLine = i
	}
	out := map[petition.Field]Value{}
	for f, sg := range single {
		t := strings.TrimSpace(sg.line.Text()[sg.from:sg.to])
		if t != "" {
			v := Value{Text: t, Conf: sg.line.conf(sg.from, sg.to), Page: sg.line.Page, Box: sg.line.box(sg.from, sg.to)}
			v.First, v.FirstBox = t, v.Box
			v.LineBox = sg.line.box(0, len(sg.line.Text()))
			if i := strings.IndexAny(t, " \t"); i > 0 {
				v.First = t[:i]
				off := strings.Index(sg.line.Text()[sg.from:], v.First)
				v.FirstBox = sg.line.box(sg.from+off, sg.from+off+len(v.First))
			}
			out[f] = v
		}
	}
	if len(content) > 0 {
		var b strings.Builder
		var sum float64
		var chars int
		for _, sg := range content {
			t := strings.TrimSpace(sg.line.Text()[sg.from:sg.to])
			if t == "" {
				continue
			}
			// Chinese prose wraps without spaces: join CJK to CJK directly.
			if b.Len() > 0 && !(endsCJK(b.String()) && startsCJK(t)) {
				b.WriteByte(' ')
			}
			b.WriteString(t)
			n := utf8.RuneCountInString(t)
			sum += sg.line.conf(sg.from, sg.to) * float64(n)
			chars += n
		}
		if chars > 0 {
			out[petition.FieldContent] = Value{Text: b.String(), Conf: sum / float64(chars)}
		}
	}
	return out
}

func trimEnd(s string, from, to int) int {
	for to > from && strings.ContainsRune(" \t|｜　", lastRune(s[from:to])) {
		_, n := utf8.DecodeLastRuneInString(s[from:to])
		to -= n
	}
	return to
}
