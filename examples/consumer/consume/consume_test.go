package consume

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestDedupeEvictsOldest(t *testing.T) {
	d := NewDedupe(3)
	for _, id := range []string{"a", "b", "c"} {
		d.Add(id)
	}
	d.Seen("a") // a is now the most recent: b is the oldest
	d.Add("d")
	for id, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if got := d.Seen(id); got != want {
			t.Errorf("Seen(%s) = %v, want %v", id, got, want)
		}
	}
}

func TestDedupeFileSurvivesRestartAndStaysBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seen")
	d, err := OpenDedupe(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := d.Add(fmt.Sprintf("id-%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n > 20 {
		t.Errorf("file has %d lines, want at most 2 × 10", n)
	}

	d, err = OpenDedupe(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Len() != 10 {
		t.Errorf("reopened with %d ids, want 10", d.Len())
	}
	if !d.Seen("id-099") || !d.Seen("id-090") || d.Seen("id-089") {
		t.Error("reopened store does not hold exactly the newest 10 ids")
	}
}

func TestDecode(t *testing.T) {
	p, err := Decode(kafka.Message{Topic: "t", Value: []byte(`{"schema":"petition.v1","id":"x1","tracking_no":"AAAA-BBBB-CCCC",
		"channel":{"name":"web","type":"web"},"category":"complaint","priority":"high",
		"petitioner":{"name":"张三","phone":"+8613912345678"},"content":"secret"}`)})
	if err != nil || p.Petition == nil || p.Key != "x1" {
		t.Fatalf("petition: %+v, %v", p, err)
	}
	s := Summary(p)
	if !strings.Contains(s, "tracking_no=AAAA-BBBB-CCCC") || strings.Contains(s, "张三") ||
		strings.Contains(s, "139") || strings.Contains(s, "secret") {
		t.Errorf("summary %q", s)
	}

	dl, err := Decode(kafka.Message{Value: []byte(`{"schema":"petition.deadletter.v1","id":"x1","stage":"normalize",
		"error":"unusable call-detail record","original":{"sha256":"ab","uri":"file:///b/ab"}}`),
		Headers: []kafka.Header{{Key: "ce_id", Value: []byte("x1")}}})
	if err != nil || dl.DeadLetter == nil || dl.Key != "deadletter:x1" {
		t.Fatalf("dead letter: %+v, %v", dl, err)
	}
	if s := Summary(dl); !strings.Contains(s, `reason="unusable call-detail record"`) || !strings.Contains(s, "original=file:///b/ab") {
		t.Errorf("summary %q", s)
	}

	if _, err := Decode(kafka.Message{Value: []byte(`{"schema":"other"}`)}); err == nil {
		t.Error("unknown schema decoded")
	}
	if _, err := Decode(kafka.Message{Value: []byte(`not json`)}); err == nil {
		t.Error("non-JSON decoded")
	}
}
