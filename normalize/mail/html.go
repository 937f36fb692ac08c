package mail

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText renders HTML as readable plain text: script, style, title and
// template content is dropped; paragraphs, headings, lists, tables and other
// blocks start new lines (paragraph-like blocks leave a blank line);
// <br> is a line break; table cells are separated by a tab; entities are
// decoded; whitespace is collapsed except inside <pre>.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	z.SetMaxBuf(4 << 20)
	w := &textWriter{}
	skip := 0 // depth inside script/style/...
	pre := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.String()
		case html.TextToken:
			if skip > 0 {
				continue
			}
			if pre > 0 {
				w.raw(string(z.Text()))
			} else {
				w.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			start := tt != html.EndTagToken
			switch a {
			case atom.Script, atom.Style, atom.Title, atom.Template:
				// (not <head> as a whole: a missing </head> must not hide
				// the body, and what it holds besides these is markup)
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case atom.Br:
				if skip == 0 {
					w.newline()
				}
			case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
				atom.Blockquote, atom.Table, atom.Ul, atom.Ol, atom.Dl, atom.Hr:
				w.block(2)
			case atom.Pre:
				w.block(2)
				if tt == html.StartTagToken {
					pre++
				} else if tt == html.EndTagToken && pre > 0 {
					pre--
				}
			case atom.Div, atom.Li, atom.Tr, atom.Dt, atom.Dd, atom.Section,
				atom.Article, atom.Header, atom.Footer, atom.Nav, atom.Aside,
				atom.Address, atom.Form, atom.Fieldset, atom.Figure, atom.Main,
				atom.Caption, atom.Body, atom.Center:
				w.block(1)
			case atom.Td, atom.Th:
				if start {
					w.cell()
				}
			}
		}
	}
}

// textWriter accumulates rendered text, collapsing whitespace.
type textWriter struct {
	b        strings.Builder
	space    bool // a space is pending
	newlines int  // newlines at the end of b
	noSpace  bool // b ends with a separator (line break, tab): no space needed
}

// collapseSpace turns each run of HTML whitespace (and no-break spaces)
// into one space.
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch r {
		case ' ', '\t', '\n', '\r', '\f', '\u00a0':
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

func (w *textWriter) text(s string) {
	s = collapseSpace(s)
	if s == "" {
		return
	}
	if s[0] == ' ' {
		w.space = true
		s = s[1:]
	}
	trailing := strings.HasSuffix(s, " ")
	s = strings.TrimSuffix(s, " ")
	if s != "" {
		if w.space && w.b.Len() > 0 && w.newlines == 0 && !w.noSpace {
			w.b.WriteByte(' ')
		}
		w.b.WriteString(s)
		w.newlines = 0
		w.noSpace = false
		w.space = false
	}
	if trailing {
		w.space = true
	}
}

func (w *textWriter) raw(s string) {
	if s == "" {
		return
	}
	w.b.WriteString(s)
	w.space = false
	w.noSpace = false
	w.newlines = 0
	if strings.HasSuffix(s, "\n") {
		w.newlines = 1
	}
}

func (w *textWriter) newline() {
	w.b.WriteByte('\n')
	w.newlines++
	w.space = false
	w.noSpace = true
}

// block ends the current line and leaves n-1 empty lines, without adding
// to line breaks already there.
func (w *textWriter) block(n int) {
	if w.b.Len() == 0 {
		return
	}
	for w.newlines < n {
		w.b.WriteByte('\n')
		w.newlines++
	}
	w.space = false
	w.noSpace = true
}

func (w *textWriter) cell() {
	if w.newlines == 0 && w.b.Len() > 0 && !w.noSpace {
		w.b.WriteByte('\t')
		w.space = false
		w.noSpace = true
	}
}

func (w *textWriter) String() string {
	s := w.b.String()
	// at most one empty line in a row
	for strings.Contains(s, "\n\n\n") {
		s = strings.ReplaceAll(s, "\n\n\n", "\n\n")
	}
	return s
}

var metaCharset = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.+-]+)`)

// htmlCharset returns the charset named in an HTML <meta> within the first
// 2 KiB, or "".
func htmlCharset(b []byte) string {
	if len(b) > 2048 {
		b = b[:2048]
	}
	if m := metaCharset.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}
