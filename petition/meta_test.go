package petition

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Meta must encode exactly as encoding/json encodes the same map: the
// record's bytes (and so consumers' diffs and golden files) do not change.
func TestMetaEncodesAsEncodingJSON(t *testing.T) {
	for _, m := range []map[string]any{
		nil,
		{},
		{"call.destination": "12368", "call.duration": 463, "call.missed": false, "n": int64(-7)},
		{"z": "后", "a": "前", "é": "x", "A": "upper"},
		{"esc": "<a href=\"x\">&amp;</a>\\\n\r\t\b\f\x00\x1f\x7f", "bad": "\xff\xfe中\xc3", "ls": "a\u2028b\u2029c"},
		{"nested": map[string]any{"b": []string{"x", "<y>"}, "a": []any{1, "二", nil, true, 2.5, map[string]any{}}}, "nil": nil},
		{"float": 0.1, "big": 1e21, "small": 1e-7, "t": time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)},
		{"emptyslice": []string{}, "nilslice": []string(nil), "nilmap": map[string]any(nil), "meta": Meta{"k": "v"}},
		{"classify.evidence": []string{"立案:不收材料", "negated:投诉"}, "struct": struct{ X int }{3}},
	} {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(Meta(m))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Meta(%v)\n got %s\nwant %s", m, got, want)
		}
	}
}

// An unencodable value fails as encoding/json fails.
func TestMetaUnencodable(t *testing.T) {
	if _, err := json.Marshal(Meta{"ch": make(chan int)}); err == nil {
		t.Error("a channel value encoded")
	}
}

func FuzzMetaString(f *testing.F) {
	for _, s := range []string{"", "中文", "<>&", "\u2028", "\xff", "\"\\", "\x00\x1f"} {
		f.Add("k"+s, s)
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		m := map[string]any{k: v, "x": []string{v, k}}
		want, _ := json.Marshal(m)
		got, err := json.Marshal(Meta(m))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %s (%v), want %s", got, err, want)
		}
	})
}

func BenchmarkMarshalPetition(b *testing.B) {
	p := &Petition{Schema: "x", ID: "id", Meta: Meta{}}
	for _, k := range []string{"call.caller_number", "call.destination", "call.duration", "call.billsec", "call.disposition",
		"call.missed", "call.uniqueid", "call.linked_id", "call.queue", "call.agent", "call.context", "call.answer_at", "call.end_at"} {
		p.Meta[k] = "值 " + k
	}
	p.Meta["call.duration"] = 463
	p.Meta["call.missed"] = false
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(p); err != nil {
			b.Fatal(err)
		}
	}
}

// ID is uuid.NewSHA1 over channel NUL source id, computed without its
// allocations: the ids of records already in Kafka must not change.
func TestIDIsUUIDv5(t *testing.T) {
	for _, tc := range [][2]string{{"web", "k1"}, {"hotline", "1709255702.20/42"}, {"", ""}, {"信箱", "<a@b.cn>"}, {"x\x00y", "z"}} {
		want := uuid.NewSHA1(Namespace, []byte(tc[0]+"\x00"+tc[1])).String()
		if got := ID(tc[0], tc[1]); got != want {
			t.Errorf("ID(%q, %q) = %s, want %s", tc[0], tc[1], got, want)
		}
	}
}

func FuzzID(f *testing.F) {
	f.Add("web", "idempotency-key")
	f.Fuzz(func(t *testing.T, ch, id string) {
		if got, want := ID(ch, id), uuid.NewSHA1(Namespace, []byte(ch+"\x00"+id)).String(); got != want {
			t.Fatalf("ID = %s, want %s", got, want)
		}
	})
}
