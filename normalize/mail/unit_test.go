package mail

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestDecodeCharset(t *testing.T) {
	tests := []struct {
		label string
		in    string
		want  string
		note  bool // a problem is expected
	}{
		{"gb2312", gbk("朱镕基 王喆 李堃"), "朱镕基 王喆 李堃", false},
		{"GBK", gbk("镕"), "镕", false},
		{"GB_2312-80", gbk("喆"), "喆", false},
		{"x-gbk", gbk("堃"), "堃", false},
		{"cp936", gbk("堃"), "堃", false},
		{`"gb2312"`, gbk("中文"), "中文", false},
		{"gb2312", gb18030("𠀀"), "𠀀", false}, // four-byte GB18030 under a gb2312 label
		{"big5", big5("臺灣"), "臺灣", false},
		{"big5-hkscs", big5("許功蓋"), "許功蓋", false},
		{"utf-8", "中文", "中文", false},
		{"UTF8", "中文", "中文", false},
		{"iso-8859-1", "M\xfcller", "Müller", false},
		{"windows-1252", "\x80", "€", false},
		{"iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B", "こんにちは", false},
		{"hz-gb-2312", "~{VPND~}", "中文", false},
		{"", "plain", "plain", false},
		{"us-ascii", "plain", "plain", false},
		{"us-ascii", "中文", "中文", false}, // valid UTF-8 under an ASCII label
		{"", gbk("没有标注字符集的中文信件内容"), "没有标注字符集的中文信件内容", true},
		{"x-unknown-cs", gbk("未知字符集"), "未知字符集", true},
		{"x-unknown-cs", "已是 UTF-8", "已是 UTF-8", true},
		{"utf-8", gbk("标为 UTF-8 的国标码"), "标为 UTF-8 的国标码", true},
		{"iso-8859-1", gbk("标为西欧字符集的国标码文字"), "标为西欧字符集的国标码文字", true},
		{"us-ascii", big5("法官您好，本人於臺灣高等法院之案件，請協助查詢進度。"), "法官您好，本人於臺灣高等法院之案件，請協助查詢進度。", true},
		{"us-ascii", "Die Drachenk\xf6pfe unserer Boote bogen um das gelbe Segel, dachten wir, es waren drei\xdfig Kilometer, sch\xf6n.", "Die Drachenköpfe unserer Boote bogen um das gelbe Segel, dachten wir, es waren dreißig Kilometer, schön.", true},
		{"utf-8", "正文\xff", "正文\uFFFD", true}, // a damaged tail does not turn the text into GB18030
		// UTF-8 text labelled GB2312 (bulk mailers do this) is kept as UTF-8 ...
		{"gb2312", "你好！我公司可代开各类发票", "你好！我公司可代开各类发票", true},
		{"big5", "法院您好，請協助查詢", "法院您好，請協助查詢", true},
		// ... but GBK text that happens to be valid UTF-8 is still GBK: "一些"
		// is D2 BB D0 A9, which UTF-8 reads as Cyrillic "һЩ".
		{"gb2312", gbk("一些"), "一些", false},
		// A short Western text in an unlabelled or mislabelled body: too few
		// accented letters for the pattern, read as windows-1252 ...
		{"utf-8", "Det h\xe4r \xe4r ett flerdelat meddelande.", "Det här är ett flerdelat meddelande.", true},
		{"", "Det h\xe4r \xe4r ett flerdelat meddelande.", "Det här är ett flerdelat meddelande.", true},
		// ... but not frequent Chinese characters next to ASCII letters.
		{"", "ABC" + gbk("中") + "x", "ABC中x", true},
	}
	for _, tt := range tests {
		got, note := decodeCharset(tt.label, []byte(tt.in))
		if got != tt.want {
			t.Errorf("decodeCharset(%q, %q) = %q, want %q", tt.label, tt.in, got, tt.want)
		}
		if (note != "") != tt.note {
			t.Errorf("decodeCharset(%q, %q) note = %q, want a note: %v", tt.label, tt.in, note, tt.note)
		}
	}
}

func TestCharsetReader(t *testing.T) {
	r, err := CharsetReader("gb2312", strings.NewReader(gbk("镕")))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); string(b) != "镕" {
		t.Errorf("CharsetReader(gb2312) read %q, want 镕", b)
	}
	if _, err := CharsetReader("no-such-charset", strings.NewReader("x")); err == nil {
		t.Errorf("CharsetReader(no-such-charset) error = nil, want an error")
	}
}

func TestDecodeHeader(t *testing.T) {
	utf := []byte("执行案件")
	g := gbk("李四")
	tests := []struct {
		in, want string
	}{
		{"=?utf-8?B?5L2g5aW9?=", "你好"},
		{"=?UTF-8?Q?=E4=BD=A0=E5=A5=BD?=", "你好"},
		// a character split across two B words, and across two Q words
		{bWord("utf-8", string(utf[:4])) + " " + bWord("utf-8", string(utf[4:])), "执行案件"},
		{bWord("utf-8", string(utf[:4])) + "\r\n\t" + bWord("UTF-8", string(utf[4:])), "执行案件"},
		{qWord("gb2312", g[:1]) + " " + qWord("gb2312", g[1:]), "李四"},
		// base64 split in the middle of a quantum, without padding
		{"=?utf-8?B?5L2g5?= =?utf-8?B?aW9?=", "你好"},
		// different charsets side by side
		{qWord("gbk", gbk("中")) + " " + bWord("big5", big5("臺")), "中臺"},
		// words glued to text, text between words kept
		{"Re:=?utf-8?B?5L2g?=x =?utf-8?B?5aW9?= y", "Re:你x 好 y"},
		{"a =?utf-8?Q?b?= c", "a b c"},
		// malformed words stay as they are
		{"=?utf-8?X?abc?= =?utf-8?Q?no end", "=?utf-8?X?abc?= =?utf-8?Q?no end"},
		{"=?? plain", "=?? plain"},
		// raw 8-bit GBK, and raw 8-bit next to an encoded word
		{gbk("原始国标码"), "原始国标码"},
		{gbk("关于") + " =?utf-8?B?5L2g5aW9?=", "关于 你好"},
		{"已是 UTF-8", "已是 UTF-8"},
	}
	for _, tt := range tests {
		p := &parser{}
		if got := p.decodeHeader("header Subject", tt.in); got != tt.want {
			t.Errorf("decodeHeader(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseParamHeader(t *testing.T) {
	tests := []struct {
		in    string
		value string
		key   string
		want  string
	}{
		{`text/plain; charset="utf-8"`, "text/plain", "charset", "utf-8"},
		{`text/plain;charset=utf-8;format=flowed`, "text/plain", "format", "flowed"},
		{`application/pdf name="a b.pdf"`, "application/pdf", "name", "a b.pdf"}, // missing ';'
		{`attachment; filename=Invoice_(1).pdf`, "attachment", "filename", "Invoice_(1).pdf"},
		{`attachment; filename="a.pdf"; filename="b.pdf"`, "attachment", "filename", "a.pdf"},
		{`text/html; charset="UTF-8Return-Path: x`, "text/html", "charset", "UTF-8Return-Path: x"},
		{`attachment; filename="C:\dir\x.doc"`, "attachment", "filename", `C:\dir\x.doc`},
		{`attachment; filename="say \"hi\".txt"`, "attachment", "filename", `say "hi".txt`},
		{`attachment; filename*=UTF-8''%E8%B5%B7%E8%AF%89%E7%8A%B6.docx`, "attachment", "filename", "起诉状.docx"},
		{`attachment; filename*=utf-8'zh-cn'%E8%B5%B7`, "attachment", "filename", "起"},
		{`attachment; filename="plain.doc"; filename*=UTF-8''%E8%B5%B7.doc`, "attachment", "filename", "起.doc"},
		{`attachment; filename*0*=gbk''%D6%A4; filename*1*=%BE%DD.pdf`, "attachment", "filename", "证据.pdf"},
		{`attachment; filename*1="b.txt"; filename*0="a-"`, "attachment", "filename", "a-b.txt"},
		{`attachment; filename*=%E8%B5%B7`, "attachment", "filename", "起"}, // no charset part
		{`text/plain; charset=utf-8 format=flowed`, "text/plain", "format", "flowed"},
		{`Text/HTML; CHARSET=GBK`, "text/html", "charset", "GBK"},
	}
	for _, tt := range tests {
		ph := parseParamHeader(tt.in, func(string) {})
		if ph.value != tt.value {
			t.Errorf("parseParamHeader(%q).value = %q, want %q", tt.in, ph.value, tt.value)
		}
		if got := ph.params[tt.key]; got != tt.want {
			t.Errorf("parseParamHeader(%q).params[%q] = %q, want %q", tt.in, tt.key, got, tt.want)
		}
	}
}

func TestMediaType(t *testing.T) {
	tests := map[string]string{
		"text/plain":  "text/plain",
		"text/plain>": "text/plain",
		"<html>":      "",
		"":            "",
		"text":        "",
		"text/":       "",
		"image/x-png": "image/x-png",
	}
	for in, want := range tests {
		if got := mediaType(in); got != want {
			t.Errorf("mediaType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAddresses(t *testing.T) {
	tests := []struct {
		in   string
		want []Address
	}{
		{"a@example.cn", []Address{{Email: "a@example.cn"}}},
		{"张三 <zhang@QQ.COM>", []Address{{Name: "张三", Email: "zhang@qq.com"}}},
		{`"Zhou, Min" <z@x.cn>, b@y.cn`, []Address{{Name: "Zhou, Min", Email: "z@x.cn"}, {Email: "b@y.cn"}}},
		{"Bob <bob@x> Bobby <bobby@x>", []Address{{Name: "Bob", Email: "bob@x"}, {Name: "Bobby", Email: "bobby@x"}}},
		{"a@x.cn (Ann Lee)", []Address{{Name: "Ann Lee", Email: "a@x.cn"}}},
		{"Ann Lee a@x.cn", []Address{{Name: "Ann Lee", Email: "a@x.cn"}}},
		{"undisclosed-recipients:;", nil},
		{"friends: a@x.cn, b@x.cn;", []Address{{Email: "a@x.cn"}, {Email: "b@x.cn"}}},
		{`"=?utf-8?B?5byg5LiJ?=" <z@x.cn>`, []Address{{Name: "张三", Email: "z@x.cn"}}},
		{"=?gb2312?B?" + b64(gbk("李")) + "?= =?gb2312?B?" + b64(gbk("四")) + "?= <l@x.cn>", []Address{{Name: "李四", Email: "l@x.cn"}}},
		{gbk("王五") + " <w@x.cn>", []Address{{Name: "王五", Email: "w@x.cn"}}},
		{`"w@x.cn" <w@x.cn>`, []Address{{Email: "w@x.cn"}}},
		{"<mailto:m@x.cn>", []Address{{Email: "m@x.cn"}}},
		{"只有名字", []Address{{Name: "只有名字"}}},
		{"", nil},
		{"<a@x.cn> (comment)", []Address{{Email: "a@x.cn"}}},
		// comments inside the address are not part of it (RFC 5322 3.4.1, CFWS)
		{`Pete(A wonderful \) chap) <pete(his account)@silly.test(his host)>`, []Address{{Name: "Pete", Email: "pete@silly.test"}}},
		{"John Doe <jdoe@machine(comment).  example>", []Address{{Name: "John Doe", Email: "jdoe@machine.example"}}},
	}
	for _, tt := range tests {
		p := &parser{}
		got := p.parseAddresses("To", tt.in)
		if !equalAddresses(got, tt.want) {
			t.Errorf("parseAddresses(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestDropComments(t *testing.T) {
	for in, want := range map[string]string{
		"a@x.cn":                  "a@x.cn",
		"a(b(c)d)@x.cn":           "a@x.cn",
		`a(b\)c)@x.cn`:            "a@x.cn",
		`"q(not a comment)"@x.cn`: `"q(not a comment)"@x.cn`,
		"a@x.cn(unclosed":         "a@x.cn",
	} {
		if got := dropComments(in); got != want {
			t.Errorf("dropComments(%q) = %q, want %q", in, got, want)
		}
	}
}

func equalAddresses(a, b []Address) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHTMLToText(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"<p>a</p><p>b</p>", "a\n\nb"},
		{"a<br>b<br/>c", "a\nb\nc"},
		{"<div>a</div><div>b</div>", "a\nb"},
		{"<script>x()</script><style>p{}</style>text", "text"},
		{"<head><title>T</title></head><body>body</body>", "body"},
		{"<head><title>T</title>no closing head", "no closing head"},
		{"a   b\n\t c", "a b c"},
		{"&lt;&amp;&gt;&nbsp;&#20013;&#x6587;&quot;", `<&> 中文"`},
		{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a\tb\nc"},
		{"<p>a</p><pre>  x\n  y</pre>", "a\n\n  x\n  y"},
		{"<ul><li>1</li><li>2</li></ul>", "1\n2"},
		{"<!-- hidden -->shown", "shown"},
		{"<p>x</p><p></p><p></p><p>y</p>", "x\n\ny"},
		{"<b>bold</b> <i>it</i>", "bold it"},
	}
	for _, tt := range tests {
		if got := cleanText(htmlToText(tt.in)); got != tt.want {
			t.Errorf("htmlToText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"  a\r\nb\rc  \n", "a\nb\nc"},
		{"\ufeffBOM", "BOM"},
		{"ctl\x00\x07\x1b\u0085x", "ctlx"},
		{"tab\tkept", "tab\tkept"},
		{"e\u0301", "é"}, // NFC
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"trailing   \nspaces\t\n", "trailing\nspaces"},
	}
	for _, tt := range tests {
		if got := cleanText(tt.in); got != tt.want {
			t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := cleanLine(" a\n\tb  c "); got != "a b c" {
		t.Errorf("cleanLine = %q, want %q", got, "a b c")
	}
}

func TestUnflow(t *testing.T) {
	tests := []struct {
		in    string
		delsp bool
		want  string
	}{
		{"a \nb\nc", false, "a b\nc"},
		{"中文 \n继续", true, "中文继续"},
		{"> q \n> r\nx", false, "> q r\nx"},
		{" >stuffed", false, ">stuffed"},
		{"-- \nsig", false, "-- \nsig"},
	}
	for _, tt := range tests {
		if got := unflow(tt.in, tt.delsp); got != tt.want {
			t.Errorf("unflow(%q, %v) = %q, want %q", tt.in, tt.delsp, got, tt.want)
		}
	}
}

func TestTransferDecoders(t *testing.T) {
	tests := []struct {
		cte, in, want string
		problem       bool
	}{
		{"base64", "5L2g5aW9", "你好", false},
		{"BASE64", "5L2g\r\n5aW9\r\n", "你好", false},
		{"base64", "5L2g*5aW9", "你好", true},
		{"base64", "5L2g5a==5aW9", "你\xe5好", false}, // padding inside: concatenated blocks
		{"base64", "SGVsbG8gV29ybGQhA", "Hello World!", true},
		{"base64", "SGk", "Hi", false}, // unpadded tail
		{"base64", "this is plain text\nsent with a wrong label\n", "this is plain text\nsent with a wrong label\n", true},
		{"quoted-printable", "a=3Db=\r\nc", "a=bc", false},
		{"quoted-printable", "a=3db", "a=b", false},
		{"quoted-printable", "soft= \r\nbreak", "softbreak", false},
		{"quoted-printable", "trail  \r\nx", "trail\r\nx", false},
		{"quoted-printable", "raw \xd6\xd0 gbk", "raw \xd6\xd0 gbk", false},
		{"quoted-printable", "bad =ZZ and = x", "bad =ZZ and = x", true},
		{"quoted-printable", "end=", "end", false},
		{"quoted-printable", "end=4", "end=4", true},
		{"8bit", "as is", "as is", false},
		{"x-uuencode", "as is", "as is", true},
	}
	for _, tt := range tests {
		p := &parser{}
		for _, name := range []string{"whole", "one byte at a time"} {
			var src io.Reader = strings.NewReader(tt.in)
			if name != "whole" {
				src = iotest.OneByteReader(src)
			}
			got, err := io.ReadAll(p.transferDecoder(tt.cte, src, "1"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("%s decoding of %q (%s) = %q, want %q", tt.cte, tt.in, name, got, tt.want)
			}
		}
		if (len(p.problems) > 0) != tt.problem {
			t.Errorf("%s decoding of %q: problems %q, want problems: %v", tt.cte, tt.in, p.problems, tt.problem)
		}
	}
}

func TestMultipartReader(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		parts  []string // bodies, after the header
		closed bool
	}{
		{"crlf", "pre\r\n--b\r\nH: 1\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepilogue", []string{"one", "two"}, true},
		{"lf", "--b\nH: 1\n\none\n--b\n\ntwo\n--b--\n", []string{"one", "two"}, true},
		{"no preamble newline", "--b\r\n\r\nx\r\n--b--", []string{"x"}, true},
		{"similar boundary", "--b\r\n\r\n--b_alt\r\nin\r\n--b--", []string{"--b_alt\r\nin"}, true},
		{"padding after delimiter", "--b  \t\r\n\r\nx\r\n--b--  ", []string{"x"}, true},
		{"no closing delimiter", "--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n", []string{"x", "y\r\n"}, false},
		{"no delimiter at all", "just text", nil, false},
		{"empty part", "--b\r\n\r\n\r\n--b--", []string{""}, true},
		{"header runs into delimiter", "--b\r\nContent-Type: text/plain\r\n--b\r\n\r\ny\r\n--b--", []string{"", "y"}, true},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.body)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			m := newMultipartReader(r, "b", 0)
			var got []string
			for m.next() {
				readHeader(m.br, m.dash, false, func(string) {})
				b, err := io.ReadAll(m.cur)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(b))
			}
			if strings.Join(got, "|") != strings.Join(tt.parts, "|") || m.closed != tt.closed {
				t.Errorf("%s (one byte: %v): parts %q closed %v, want %q closed %v", tt.name, oneByte, got, m.closed, tt.parts, tt.closed)
			}
		}
	}
}

func TestReadHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		keys string // keys=values joined
		rest string
	}{
		{"plain", "A: 1\r\nB: 2\r\n\r\nbody", "A=1|B=2", "body"},
		{"folded", "A: 1\r\n  2\r\n\tthree\r\n\r\nbody", "A=1  2\tthree", "body"},
		{"mbox From line", "From x@y Mon Jan 1 00:00:00 2024\nA: 1\n\nbody", "A=1", "body"},
		{"indented first line", " A: 1\nB: 2\n\nbody", "A=1|B=2", "body"},
		{"unindented parameter", "Content-Type: x;\nname=\"a\"\n\nbody", "Content-Type=x; name=\"a\"", "body"},
		{"no blank line", "A: 1\nThis is the body.\n", "A=1", "This is the body.\n"},
		{"no header", "just a body\n", "", "just a body\n"},
		{"header only", "A: 1\r\n", "A=1", ""},
		{"space before colon", "Subject : x\n\n", "Subject=x", ""},
		{"leading blank line", "\nA: 1\nB: 2\n\nbody", "A=1|B=2", "body"},
		{"leading CRLF lines", "\r\n\r\nA: 1\r\n\r\nbody", "A=1", "body"},
		{"leading whitespace-only line", " \t\r\nA: 1\r\n\r\nbody", "A=1", "body"},
		{"leading blank then indented", "\n  A: 1\nB: 2\n\nbody", "A=1|B=2", "body"},
		{"tab-indented first line", "\tA: 1\nB: 2\n\nbody", "A=1|B=2", "body"},
		{"leading blank, no header", "\njust a body\n", "", "just a body\n"},
		{"leading blank, body with colon later", "\n\nhello\nA: 1\n", "", "\nhello\nA: 1\n"},
		{"indented text is body", "  hello world\nA: 1\n", "", "  hello world\nA: 1\n"},
	}
	for _, tt := range tests {
		br := bufio.NewReader(strings.NewReader(tt.in))
		h := readHeader(br, nil, true, func(string) {})
		var kv []string
		for _, f := range h.fields {
			kv = append(kv, f.key+"="+f.value)
		}
		rest, _ := io.ReadAll(br)
		if got := strings.Join(kv, "|"); got != tt.keys || string(rest) != tt.rest {
			t.Errorf("readHeader(%s) = %q, rest %q; want %q, rest %q", tt.name, got, rest, tt.keys, tt.rest)
		}
	}
}

func TestParseDate(t *testing.T) {
	cst := time.FixedZone("", 8*3600)
	want := time.Date(2024, 1, 15, 9, 30, 0, 0, cst)
	tests := []struct {
		in   string
		note bool
	}{
		{"Mon, 15 Jan 2024 09:30:00 +0800", false},
		{"15 Jan 2024 09:30:00 +0800", false},
		{"Mon, 15 Jan 2024 09:30:00 +0800 (CST)", false},
		{"Mon, 15 Jan 2024 09:30:00 CST", false},
		{"Mon, 15 Jan 2024 01:30:00 GMT", false},
		{"Mon, 15 Jan 2024 09:30:00 GMT+0800", false},
		{"Mon, 15 Jan 2024 09:30:00 GMT+8", false},
		{"Mon, 15 Jan 2024 09:30:00 +08:00", false},
		{"2024-01-15 09:30:00", true},
		{"2024年1月15日 09:30", true},
		{"Mon,  15 Jan 2024  09:30:00   +0800", false},
	}
	for _, tt := range tests {
		got, note := parseDate(tt.in)
		if !got.Equal(want) {
			t.Errorf("parseDate(%q) = %v, want %v", tt.in, got, want)
		}
		if (note != "") != tt.note {
			t.Errorf("parseDate(%q) note = %q, want a note: %v", tt.in, note, tt.note)
		}
	}
	if got, note := parseDate("yesterday"); !got.IsZero() || note == "" {
		t.Errorf("parseDate(yesterday) = %v, %q; want zero time and a note", got, note)
	}
}

func TestDetectAuto(t *testing.T) {
	tests := []struct {
		header string
		want   AutoKind
	}{
		{"From: a@x.cn\nSubject: 反映问题\n", AutoNone},
		{"From: a@x.cn\nAuto-Submitted: no\n", AutoNone},
		{"From: a@x.cn\nX-Auto-Response-Suppress: All\n", AutoNone}, // Outlook sets it on ordinary mail
		{"From: a@x.cn\nList-Id: <group.x.cn>\nList-Unsubscribe: <mailto:u@x.cn>\n", AutoNone},
		{"From: a@x.cn\nReturn-Path: <>\n", AutoNone},
		{"From: a@x.cn\nSubject: Re: 自动回复: 来信已收到\n", AutoNone}, // a person answering an auto-reply
		{"From: a@x.cn\nAuto-Submitted: auto-replied\n", AutoReply},
		{"From: a@x.cn\nAuto-Submitted: auto-generated; owner-email=x\n", AutoReply},
		{"From: a@x.cn\nX-Autoreply: yes\n", AutoReply},
		{"From: a@x.cn\nX-Autorespond: 1\n", AutoReply},
		{"From: a@x.cn\nX-Autogenerated: Reply\n", AutoReply},
		{"From: a@x.cn\nSubject: 自动回复：休假\n", AutoReply},
		{"From: a@x.cn\nSubject: Automatic reply: away\n", AutoReply},
		{"From: a@x.cn\nSubject: Out of Office: away\n", AutoReply},
		{"From: a@x.cn\nSubject: AUTO REPLY\n", AutoReply},
		{"From: a@x.cn\nPrecedence: bulk\n", AutoBulk},
		{"From: a@x.cn\nPrecedence: list\n", AutoBulk},
		{"From: a@x.cn\nPrecedence: junk\n", AutoBulk},
		{"From: a@x.cn\nX-Loop: 12368@court.example\n", AutoLoop},
		{"From: MAILER-DAEMON@mx.x.cn\n", AutoBounce},
		{"From: postmaster@x.cn\n", AutoBounce},
		{"From: a@x.cn\nX-Failed-Recipients: b@y.cn\n", AutoBounce},
		{"From: a@x.cn\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\n", AutoBounce},
		{"From: a@x.cn\nContent-Type: multipart/report; report-type=disposition-notification; boundary=x\n", AutoReceipt},
		{"From: a@x.cn\nSubject: 系统退信\n", AutoBounce},
	}
	for _, tt := range tests {
		br := bufio.NewReader(strings.NewReader(tt.header + "\n"))
		h := readHeader(br, nil, true, func(string) {})
		p := &parser{}
		from := p.parseAddresses("From", h.get("From"))
		got, reason := detectAuto(&h, from[0], cleanLine(p.decodeHeader("header Subject", h.get("Subject"))))
		if got != tt.want {
			t.Errorf("detectAuto(%q) = %q (%s), want %q", tt.header, got, reason, tt.want)
		}
		if got.IsAuto() != (tt.want != AutoNone) || (got.IsAuto() && reason == "") {
			t.Errorf("detectAuto(%q): IsAuto %v, reason %q", tt.header, got.IsAuto(), reason)
		}
	}
}

func TestSourceID(t *testing.T) {
	const sum = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got := SourceID(&Letter{MessageID: "a@b"}, sum); got != "a@b" {
		t.Errorf("SourceID(with Message-ID) = %q, want %q", got, "a@b")
	}
	if got := SourceID(&Letter{}, sum); got != "sha256:"+sum {
		t.Errorf("SourceID(without Message-ID) = %q, want %q", got, "sha256:"+sum)
	}
	l, err := Parse(strings.NewReader("Message-ID:   <x@y.cn>  \r\n\r\nbody"), newMemStore(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := SourceID(l, sum); got != "x@y.cn" {
		t.Errorf("SourceID(Parse(...)) = %q, want %q", got, "x@y.cn")
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "\r\n\r\n", "\n"} {
		if l, err := Parse(strings.NewReader(in), newMemStore(), Options{}); !errors.Is(err, ErrEmpty) || l != nil {
			t.Errorf("Parse(%q) = %v, %v; want nil, ErrEmpty", in, l, err)
		}
	}

	// a failing input is an error, not a letter with missing parts
	broken := io.MultiReader(strings.NewReader("From: a@x.cn\r\n\r\nbody"), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := Parse(broken, newMemStore(), Options{}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Parse(failing reader) error = %v, want it to wrap io.ErrUnexpectedEOF", err)
	}

	// a failing store is an error
	st := newMemStore()
	st.failPut = errDiskFull
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: image/png\r\n\r\npng\r\n--b--\r\n"
	if _, err := Parse(strings.NewReader(msg), st, Options{}); !errors.Is(err, errDiskFull) {
		t.Errorf("Parse(failing store) error = %v, want it to wrap the store's error", err)
	}
}

func TestMaxTextSize(t *testing.T) {
	body := strings.Repeat("字", 1000) // 3000 bytes
	l, err := Parse(strings.NewReader("Subject: long\r\n\r\n"+body), newMemStore(), Options{MaxTextSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Text) > 100 || !l.TextTruncated || !strings.HasPrefix(body, l.Text) || l.Text == "" {
		t.Errorf("Parse(3000-byte text, MaxTextSize 100): Text %d bytes, truncated %v; want a prefix of at most 100 bytes", len(l.Text), l.TextTruncated)
	}
}

// TestPartNumbers checks IMAP-style part numbers through nesting.
func TestPartNumbers(t *testing.T) {
	msg := strings.Join([]string{
		"Content-Type: multipart/mixed; boundary=o",
		"",
		"--o",
		"Content-Type: multipart/alternative; boundary=a",
		"",
		"--a",
		"Content-Type: text/plain",
		"",
		"text",
		"--a",
		"Content-Type: multipart/related; boundary=r",
		"",
		"--r",
		"Content-Type: text/html",
		"",
		"<p>html</p>",
		"--r",
		"Content-Type: image/gif",
		"Content-ID: <g>",
		"",
		"gif",
		"--r--",
		"--a--",
		"--o",
		"Content-Type: message/rfc822",
		"",
		"Subject: inner",
		"Content-Type: image/png",
		"",
		"png",
		"--o--",
		"",
	}, "\r\n")
	l, err := Parse(strings.NewReader(msg), newMemStore(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range l.Attachments {
		got = append(got, a.Part+":"+a.ContentType)
	}
	want := "1.2.2:image/gif 2:message/rfc822 2.1:image/png"
	if strings.Join(got, " ") != want {
		t.Errorf("attachment parts = %q, want %q", strings.Join(got, " "), want)
	}
	if l.Text != "text\n\n---------- Forwarded message ----------\nSubject: inner" {
		t.Errorf("Text = %q", l.Text)
	}
}

func TestSanitizeFilename(t *testing.T) {
	tests := map[string]string{
		"report.pdf":             "report.pdf",
		`C:\Users\x\起诉状.docx`:    "起诉状.docx",
		"../../etc/passwd":       "passwd",
		"a\x00b.txt":             "ab.txt",
		"  spaced  name.doc  ":   "spaced name.doc",
		"..":                     "",
		strings.Repeat("长", 100): strings.Repeat("长", 85),
	}
	for in, want := range tests {
		if got := sanitizeFilename(in); got != want {
			t.Errorf("sanitizeFilename(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestParseReadsToEnd: Parse drains its input, so a writer on the other
// end of a pipe is never left blocked.
func TestParseReadsToEnd(t *testing.T) {
	r := bytes.NewReader([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n" + strings.Repeat("epilogue\r\n", 10000)))
	if _, err := Parse(r, newMemStore(), Options{}); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Errorf("Parse left %d bytes unread", r.Len())
	}
}

// TestNamedTextPart: the only text/plain part with a name= or an inline
// filename= is the letter's text; other named or attached text parts stay
// attachments.
func TestNamedTextPart(t *testing.T) {
	mixed := func(parts ...string) string {
		var b strings.Builder
		b.WriteString("Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
		for _, p := range parts {
			b.WriteString("--b\r\n" + p + "\r\n")
		}
		b.WriteString("--b--\r\n")
		return b.String()
	}
	tests := []struct {
		name string
		in   string
		text string
		atts string // attachment filenames joined with "|"
	}{
		{"single part, name=", "Subject: x\r\nContent-Type: text/plain; charset=utf-8; name=\"letter.txt\"\r\n\r\n申请执行\r\n",
			"申请执行", ""},
		{"single part, inline filename=", "Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline; filename=\"a.txt\"\r\n\r\nbody\r\n",
			"body", ""},
		{"multipart, name= text and a pdf", mixed(
			"Content-Type: text/plain; charset=utf-8; name=\"body.txt\"\r\n\r\n正文",
			"Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n%PDF"),
			"正文", "a.pdf"},
		{"multipart, base64 named text", mixed(
			"Content-Type: text/plain; charset=utf-8; name=\"body.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n5q2j5paH"),
			"正文", ""},
		// negatives
		{"attachment disposition stays an attachment", "Content-Type: text/plain; name=\"a.txt\"\r\nContent-Disposition: attachment; filename=\"a.txt\"\r\n\r\nbody\r\n",
			"", "a.txt"},
		{"other plain text wins", mixed(
			"Content-Type: text/plain; charset=utf-8\r\n\r\nthe letter",
			"Content-Type: text/plain; charset=utf-8; name=\"notes.txt\"\r\n\r\nnotes"),
			"the letter", "notes.txt"},
		{"two named text parts stay attachments", mixed(
			"Content-Type: text/plain; name=\"a.txt\"\r\n\r\na",
			"Content-Type: text/plain; name=\"b.txt\"\r\n\r\nb"),
			"", "a.txt|b.txt"},
		{"named html stays an attachment", "Content-Type: text/html; name=\"a.html\"\r\n\r\n<p>x</p>\r\n",
			"", "a.html"},
		{"binary named text stays an attachment", "Content-Type: text/plain; name=\"rzkly.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=\r\n",
			"", "rzkly.txt"},
		{"empty named text stays an attachment", mixed(
			"Content-Type: text/plain; name=\"a.txt\"\r\n\r\n",
			"Content-Type: text/plain; name=\"b.txt\"\r\nContent-Disposition: attachment\r\n\r\nb"),
			"", "a.txt|b.txt"},
	}
	st := newStore(t)
	for _, tt := range tests {
		l, err := Parse(strings.NewReader(tt.in), st, Options{})
		if err != nil {
			t.Fatalf("%s: Parse error: %v", tt.name, err)
		}
		var names []string
		for _, a := range l.Attachments {
			names = append(names, a.Filename)
		}
		if got := strings.Join(names, "|"); l.Text != tt.text || got != tt.atts {
			t.Errorf("%s: Text %q, attachments %q; want %q, %q", tt.name, l.Text, got, tt.text, tt.atts)
		}
	}
}

// TestParseBOM: a UTF-8 byte order mark before the header (a .eml saved by
// a Windows editor) does not hide the header; elsewhere it changes nothing.
func TestParseBOM(t *testing.T) {
	msg := "From: Zhang <z@x.cn>\r\nSubject: 申请\r\n\r\n正文\r\n"
	for _, tt := range []struct {
		in      string
		subject string
		problem bool
	}{
		{"\xef\xbb\xbf" + msg, "申请", true},
		{msg, "申请", false},
		{"\xef\xbb" + msg, "", false}, // not a whole BOM: no header line, as before
	} {
		l, err := Parse(strings.NewReader(tt.in), newMemStore(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if l.Subject != tt.subject {
			t.Errorf("Parse(%q) Subject = %q, want %q", clip(tt.in, 12), l.Subject, tt.subject)
		}
		if tt.subject != "" && (l.From.Email != "z@x.cn" || l.Text != "正文") {
			t.Errorf("Parse(%q) From = %+v, Text = %q", clip(tt.in, 12), l.From, l.Text)
		}
		found := false
		for _, p := range l.Problems {
			found = found || strings.Contains(p, "byte order mark")
		}
		if found != tt.problem {
			t.Errorf("Parse(%q) Problems = %q, want a byte order mark problem: %v", clip(tt.in, 12), l.Problems, tt.problem)
		}
	}
}
