package normalize_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/court12368/petitiond/channels"
	tu "github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/petition"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files")

func newNormalizer(t testing.TB) *normalize.Normalizer { return tu.Normalizer(t) }

// TestGoldenRecords runs whole web-style inputs through the normalizer and
// compares the record with testdata/records/<case>/want.json.
func TestGoldenRecords(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/records/*")
	if len(dirs) == 0 {
		t.Fatal("no golden cases")
	}
	n := newNormalizer(t)
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, "input.json"))
			if err != nil {
				t.Fatal(err)
			}
			var fields map[petition.Field]string
			if err := json.Unmarshal(in, &fields); err != nil {
				t.Fatal(err)
			}
			it := &channels.Item{
				SourceID: "golden:" + name, SourceRef: "test", Kind: channels.KindFields,
				ReceivedAt: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), Fields: fields,
			}
			pets, err := n.Normalize(petition.ChannelRef{Name: "web-golden", Type: "web"}, it)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			got, _ := json.MarshalIndent(pets[0], "", "  ")
			got = append(got, '\n')
			tu.ValidatePetition(t, got)
			want := filepath.Join(dir, "want.json")
			if *update {
				os.WriteFile(want, got, 0o644)
				return
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, w) {
				t.Errorf("record differs from %s (go test -update rewrites it):\n%s", want, got)
			}
		})
	}
}

func TestInvalidFieldsNamed(t *testing.T) {
	n := newNormalizer(t)
	for field, value := range map[petition.Field]string{
		"id_number": "G12345678",
		"phone":     "12",
		"email":     "nobody",
	} {
		it := &channels.Item{SourceID: "x", Kind: channels.KindFields, Fields: map[petition.Field]string{"content": "请立案", field: value}}
		_, err := n.Normalize(petition.ChannelRef{Name: "w", Type: "web"}, it)
		var ie *channels.InvalidError
		if !errors.As(err, &ie) || ie.Field != string(field) {
			t.Errorf("%s=%q: err = %v, want an InvalidError naming %s", field, value, err, field)
		}
	}
}

func TestRepeatPetitions(t *testing.T) {
	n := newNormalizer(t)
	file := filepath.Join(t.TempDir(), "repeats.jsonl")
	var err error
	n.Repeats, err = normalize.OpenRepeats(file, 100)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(src, content string) *petition.Petition {
		it := &channels.Item{SourceID: src, Kind: channels.KindFields,
			Fields: map[petition.Field]string{"phone": "13912345678", "content": content}}
		ps, err := n.Normalize(petition.ChannelRef{Name: "w", Type: "web"}, it)
		if err != nil {
			t.Fatal(err)
		}
		n.Committed(ps) // as the engine does once Kafka acknowledged them
		return ps[0]
	}
	// A petition that was never acknowledged is not remembered.
	it := &channels.Item{SourceID: "lost", Kind: channels.KindFields,
		Fields: map[petition.Field]string{"phone": "13912345678", "content": "（2023）赣0102执1234号"}}
	if _, err := n.Normalize(petition.ChannelRef{Name: "w", Type: "web"}, it); err != nil {
		t.Fatal(err)
	}
	first := mk("a", "（2023）赣0102执1234号还没执行")
	if contains(first.Labels, "repeat") {
		t.Errorf("first petition labelled repeat")
	}
	if again := mk("a", "（2023）赣0102执1234号还没执行"); contains(again.Labels, "repeat") {
		t.Errorf("a replay of the same petition is labelled a repeat of itself")
	}
	second := mk("b", "又来反映（2023）赣0102执1234号")
	if !contains(second.Labels, "repeat") || second.Meta["repeat_of"] != first.TrackingNo {
		t.Errorf("second petition labels %v meta %v, want repeat of %s", second.Labels, second.Meta, first.TrackingNo)
	}
	if other := mk("c", "（2023）赣0102执9999号"); contains(other.Labels, "repeat") {
		t.Errorf("another case is labelled repeat")
	}
	if first.Petitioner.Key == "" || first.Petitioner.Key != second.Petitioner.Key {
		t.Errorf("petitioner keys %q / %q, want equal and set", first.Petitioner.Key, second.Petitioner.Key)
	}
	if err := n.Repeats.Save(); err != nil {
		t.Fatal(err)
	}
	reloaded, err := normalize.OpenRepeats(file, 100)
	if err != nil || reloaded.Len() != 2 {
		t.Fatalf("reloaded %d entries (%v), want 2", reloaded.Len(), err)
	}
	bounded, _ := normalize.OpenRepeats(file, 1)
	if bounded.Len() != 1 {
		t.Errorf("bound 1 kept %d entries", bounded.Len())
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// BenchmarkNormalizeLetter is a typical 2 KB letter through the whole
// normalizer (parsing, classification, pseudonym).
func BenchmarkNormalizeLetter(b *testing.B) {
	n := newNormalizer(b)
	content := ""
	for len(content) < 2000 {
		content += "我是南昌市东湖区居民，（2023）赣0102执1234号案件判决生效后被执行人至今未履行，多次联系承办法官未果，电话0791-86123456转8001。"
	}
	fields := map[petition.Field]string{"name": "李四", "phone": "13907911234", "subject": "执行难", "content": content}
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		it := &channels.Item{SourceID: "bench", Kind: channels.KindFields, Fields: fields}
		if _, err := n.Normalize(petition.ChannelRef{Name: "w", Type: "web"}, it); err != nil {
			b.Fatal(err)
		}
	}
}
