package mail

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/transform"
)

func TestUTF7(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hi Mom -+Jjo--!", "Hi Mom -☺-!"},
		{"+ZeVnLIqe-", "日本語"},
		{"+ZeVnLIqe", "日本語"}, // run ended by the end of input
		{"+-", "+"},
		{"1 +- 1 = 2", "1 + 1 = 2"},
		{"A+ImIDkQ.", "A≢Α."}, // RFC 2152 example: '.' ends the run and is kept
		{"+2D3eAQ-", "😁"},     // surrogate pair
		{"+ZeVnLIqe- text", "日本語 text"},
		{"plain ascii", "plain ascii"},
		{"", ""},
		// negatives: malformed input is replaced, not dropped or passed
		{"+2D0-x", "\uFFFDx"},    // lone high surrogate
		{"+3gE-", "\uFFFD"},      // lone low surrogate
		{"caf\xe9", "caf\uFFFD"}, // 8-bit byte is not UTF-7
		{"+", "+"},               // a '+' at the end
		{"a+ b", "a b"},          // empty run ended by a space: the space is kept
	}
	for _, tt := range tests {
		got, _, err := transform.String(UTF7.NewDecoder(), tt.in)
		if err != nil || got != tt.want {
			t.Errorf("UTF7 decode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		// one byte at a time through CharsetReader: the state survives
		// between calls
		r, err := CharsetReader("utf-7", iotest.OneByteReader(strings.NewReader(tt.in)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil || string(b) != tt.want {
			t.Errorf("CharsetReader(utf-7) on %q = %q, %v; want %q", tt.in, b, err, tt.want)
		}
	}
	if _, err := UTF7.NewEncoder().String("x"); err == nil {
		t.Error("UTF7 encoder: no error")
	}
}

func TestUTF7Labels(t *testing.T) {
	for _, label := range []string{"utf-7", "UTF-7", `"utf7"`, "unicode-1-1-utf-7", "csUnicode11UTF7"} {
		if s, note := decodeCharset(label, []byte("+ZeVnLIqe-")); s != "日本語" || note != "" {
			t.Errorf("decodeCharset(%q) = %q, %q; want 日本語", label, s, note)
		}
	}
	// negatives: a plus sign in other charsets is a plus sign
	for _, label := range []string{"utf-8", "us-ascii", "", "iso-8859-1"} {
		if s, _ := decodeCharset(label, []byte("+ZeVnLIqe-")); s != "+ZeVnLIqe-" {
			t.Errorf("decodeCharset(%q, +ZeVnLIqe-) = %q; want it unchanged", label, s)
		}
	}
}

func TestUTF7EncodedWordAndBody(t *testing.T) {
	msg := "Subject: =?utf-7?Q?Hi_Mom_-+Jjo--!?= =?UTF-7?B?K1plVm5MSXFlLQ==?=\r\n" +
		"Content-Type: text/plain; charset=utf-7\r\n\r\n+ZeVnLIqe- +- 1\r\n"
	l, err := Parse(strings.NewReader(msg), newStore(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Subject != "Hi Mom -☺-!日本語" || l.Text != "日本語 + 1" {
		t.Errorf("Parse(utf-7 mail): Subject %q, Text %q", l.Subject, l.Text)
	}
}
