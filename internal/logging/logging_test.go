package logging

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"id 360102198001010013 given":  "id 360102********0013 given",
		"id 11010519491231002X":        "id 110105********002X",
		"old 610104620927690":          "old 610104*****7690",
		"call 13912345678 back":        "call 139****5678 back",
		"call +86 13912345678":         "call 139****5678",
		"mail zhang.san@example.cn ok": "mail z***@example.cn ok",
		"uid 42 mailbox INBOX":         "uid 42 mailbox INBOX",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoggerMasksAttributes(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "debug", "json")
	log.Info("oops", "value", "13912345678", "err", errors.New("bad id 360102198001010013"))
	out := buf.String()
	for _, leak := range []string{"13912345678", "360102198001010013"} {
		if strings.Contains(out, leak) {
			t.Errorf("log line leaks %s: %s", leak, out)
		}
	}
}
