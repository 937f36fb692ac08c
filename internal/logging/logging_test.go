package logging

import (
	"bytes"
	"errors"
	"log/slog"
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
		"name 欧阳明月 from 赣州市章贡区红旗大道88号": "name 欧*** from 赣*********88号",
		// values run together: no \b between them
		"欧阳明月13907911234360102198001010013oyang.pii@example.cn":                                      "欧***1***@example.cn",
		"欧阳明月13907911234360102198001010013":                                                          "欧***139************************13",
		"landline 079186123456":                                                                      "landline 079*******56",
		"id 7f3c2a50-1234-5678-9abc-123456789012 sha 1234567890123456789012345678901234567890abcdef": "id 7f3c2a50-1234-5678-9abc-123456789012 sha 1234567890123456789012345678901234567890abcdef",
		"call 1709256902.123":                                                                        "call 1709256902.123",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoggerMasksAttributes(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "debug", "json")
	log.Info("oops", "value", "13912345678", "err", errors.New("bad id 360102198001010013"),
		"names", []string{"欧阳明月"}, "group", slog.GroupValue(slog.String("address", "赣州市章贡区红旗大道88号")))
	out := buf.String()
	for _, leak := range []string{"13912345678", "360102198001010013", "欧阳明月", "章贡区"} {
		if strings.Contains(out, leak) {
			t.Errorf("log line leaks %s: %s", leak, out)
		}
	}
}
