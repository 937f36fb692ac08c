package mail

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func latin1(s string) string { return encodeWith(charmap.ISO8859_1, s) }

func TestDecodeRaw8bit(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		declared []string
		want     string
		table    string // "" when kept as UTF-8
	}{
		// valid UTF-8 is UTF-8, whatever is declared
		{"utf-8 name", "Müller <m@x.de>", nil, "Müller <m@x.de>", ""},
		{"utf-8 under latin1", "João", []string{"iso-8859-1"}, "João", ""},
		{"utf-8 under gbk", "张三", []string{"gbk"}, "张三", ""},
		// detection: short Western names
		{"latin1 Müller", latin1("Müller"), nil, "Müller", "windows-1252"},
		{"latin1 João", latin1("João Silva <js@x.pt>"), nil, "João Silva <js@x.pt>", "windows-1252"},
		{"latin1 Zoë at the end", latin1("Zoë"), nil, "Zoë", "windows-1252"},
		{"latin1 Müßig (pair)", latin1("Herr Müßig"), nil, "Herr Müßig", "windows-1252"},
		{"latin1 Ángel at the start", latin1("Ángel"), nil, "Ángel", "windows-1252"},
		{"windows-1252 Œuvre", "\x8cuvre", nil, "Œuvre", "windows-1252"},
		// detection: GBK stays GB18030 (negatives for the Western shape)
		{"gbk name", gbk("张三"), nil, "张三", "GB18030"},
		{"gbk name with address", gbk("李四") + " <lisi@qq.com>", nil, "李四 <lisi@qq.com>", "GB18030"},
		{"gbk rare name", gbk("王喆"), nil, "王喆", "GB18030"},
		{"gbk subject", gbk("关于执行案件的反映"), nil, "关于执行案件的反映", "GB18030"},
		{"gbk glued to ascii letters", "Re:" + gbk("张") + "San", nil, "Re:张San", "GB18030"},
		// the message's declared charset
		{"declared latin1", latin1("Müller"), []string{"iso-8859-1"}, "Müller", "iso-8859-1 (declared)"},
		{"declared gbk", gbk("王喆"), []string{"gbk"}, "王喆", "gbk (declared)"},
		{"declared big5", big5("臺灣"), []string{"big5"}, "臺灣", "big5 (declared)"},
		{"text charset after utf-8 message charset", latin1("Müller"), []string{"utf-8", "windows-1252"}, "Müller", "windows-1252 (declared)"},
		{"encoded word charset first", latin1("Müller") + " =?iso-8859-15?Q?x?=", []string{"gbk"}, "Müller =?iso-8859-15?Q?x?=", "iso-8859-15 (declared)"},
		// declared but contradicted by the bytes, or not valid in it
		{"latin1 declared, gbk bytes", gbk("张三"), []string{"iso-8859-1"}, "张三", "GB18030"},
		{"gbk declared, latin1 bytes", latin1("Müller"), []string{"gb2312"}, "Müller", "windows-1252"},
		{"utf-8 declared, latin1 bytes", latin1("João"), []string{"utf-8"}, "João", "windows-1252"},
		{"utf-16 declared is not ascii-compatible", gbk("张三"), []string{"utf-16le"}, "张三", "GB18030"},
		{"unknown declared", gbk("张三"), []string{"x-bogus"}, "张三", "GB18030"},
		{"big5 declared, latin1 bytes", latin1("João"), []string{"big5"}, "João", "windows-1252"},
		{"big5 declared, lone lead byte is not valid", "ab\xa4", []string{"big5"}, "ab\uFFFD", "GB18030"},
	}
	for _, tt := range tests {
		got, table := decodeRaw8bit(tt.in, tt.declared)
		if got != tt.want || table != tt.table {
			t.Errorf("%s: decodeRaw8bit(%q, %q) = %q, %q; want %q, %q", tt.name, tt.in, tt.declared, got, table, tt.want, tt.table)
		}
	}
}

// TestRaw8bitHeadersFollowText: the charset of the text part, known only
// after the body is read, decides raw header bytes of a multipart message.
func TestRaw8bitHeadersFollowText(t *testing.T) {
	msg := "From: " + latin1("Jürgen Müller") + " <jm@example.de>\r\n" +
		"Subject: " + latin1("Bitte um Rückruf") + "\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n\r\n" + latin1("Grüße") + "\r\n--b--\r\n"
	l, err := Parse(strings.NewReader(msg), newStore(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l.From.Name != "Jürgen Müller" || l.Subject != "Bitte um Rückruf" || l.Text != "Grüße" {
		t.Errorf("Parse: From %q, Subject %q, Text %q", l.From.Name, l.Subject, l.Text)
	}
	want := "header Subject: raw 8-bit bytes decoded as iso-8859-1 (declared)"
	if len(l.Problems) == 0 || l.Problems[0] != want {
		t.Errorf("Problems = %q; want first %q", l.Problems, want)
	}
}
