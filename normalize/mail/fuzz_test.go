package mail

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that any input gives a letter or an error (never a
// panic or a hang), and that what Parse returns keeps its promises.
// Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte("From: a@x.cn\r\nSubject: =?utf-8?B?5L2g?=\r\n\r\nbody"))
	st := newMemStore()
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(bytes.NewReader(data), st, Options{MaxTextSize: 1 << 16, MaxAttachmentSize: 1 << 20})
		if err != nil {
			if l != nil || !errors.Is(err, ErrEmpty) {
				t.Fatalf("Parse = %v, %v; want nil and ErrEmpty only", l, err)
			}
			return
		}
		checkLetter(t, l, 1<<16)
	})
}

func checkLetter(t *testing.T, l *Letter, maxText int) {
	t.Helper()
	if len(l.Text) > maxText {
		t.Errorf("len(Text) = %d, over MaxTextSize %d", len(l.Text), maxText)
	}
	for name, s := range map[string]string{"Text": l.Text, "Subject": l.Subject, "From.Name": l.From.Name, "From.Email": l.From.Email, "MessageID": l.MessageID} {
		if !utf8.ValidString(s) {
			t.Errorf("%s = %q is not valid UTF-8", name, s)
		}
		if strings.TrimSpace(s) != s {
			t.Errorf("%s = %q is not trimmed", name, s)
		}
		for _, r := range s {
			if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Errorf("%s = %q holds control character %U", name, s, r)
				break
			}
		}
	}
	if strings.ContainsAny(l.Subject, "\n\t") {
		t.Errorf("Subject = %q spans lines", l.Subject)
	}
	if !l.Auto.IsAuto() && l.Auto != AutoNone {
		t.Errorf("Auto = %q", l.Auto)
	}
	for _, a := range l.Attachments {
		if (a.SHA256 == "") != a.TooLarge || a.Part == "" {
			t.Errorf("attachment %+v: want stored (sha256) or TooLarge, and a part number", a)
		}
		if strings.ContainsAny(a.Filename, "/\\\x00") {
			t.Errorf("attachment filename %q is not a base name", a.Filename)
		}
	}
}
