package petition

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fill sets every field of v (recursively) to a value built from seed:
// strings with characters encoding/json escapes, non-zero numbers, true,
// one-element slices, times. A field added to the record is filled too,
// so AppendJSON must encode it to pass.
func fill(v reflect.Value, seed int) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2024, 3, 1, 9, 15, 2, seed*1000003, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), seed*31+i)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("值%d <&>\"\\\n\u2028", seed))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(seed%9999 + 1))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), seed+1)
		v.Set(s)
	case reflect.Map:
		v.Set(reflect.ValueOf(Meta{"k": fmt.Sprint(seed), "n": seed, "list": []string{"a", "<b>"}}))
	}
}

// plain is Petition without AppendJSON: what encoding/json makes of it.
type plain Petition

func TestAppendJSONIsEncodingJSON(t *testing.T) {
	full := &Petition{}
	fill(reflect.ValueOf(full).Elem(), 7)
	zero := &Petition{}
	empty := &Petition{Cases: []Case{}, Labels: []string{}, Attachments: []Attachment{}, Meta: Meta{},
		ReceivedAt: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)}
	mixed := &Petition{}
	fill(reflect.ValueOf(mixed).Elem(), 3)
	mixed.Petitioner.OtherPhones, mixed.Petitioner.PhoneExtension, mixed.FollowUpOf = nil, "", ""
	mixed.Cases[0].OldStyle, mixed.Cases[0].Raw, mixed.Attachments[0].SniffedContentType = false, "", ""
	mixed.Meta = nil
	for name, p := range map[string]*Petition{"every field": full, "zero": zero, "empty lists": empty, "omitted": mixed} {
		want, err := json.Marshal((*plain)(p))
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// A time encoding/json refuses is refused.
func TestAppendJSONBadTime(t *testing.T) {
	p := &Petition{ReceivedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := p.AppendJSON(nil); err == nil {
		t.Error("year 10000 encoded")
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("张三", "咨询<案件>", int64(3), true)
	f.Fuzz(func(t *testing.T, s, c string, n int64, ok bool) {
		p := &Petition{Subject: s, Content: c, Petitioner: Petitioner{Name: s, IDNumberValid: ok, OtherPhones: []string{c}},
			Cases: []Case{{Number: c, Year: int(n), OldStyle: ok}}, Attachments: []Attachment{{Filename: s, Size: n}},
			Meta: Meta{s: c}}
		want, _ := json.Marshal((*plain)(p))
		got, err := p.AppendJSON(nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %s (%v)\nwant %s", got, err, want)
		}
	})
}

// BenchmarkEncodePetition encodes a letter-like record: 600 characters of
// Chinese content, a case, a dozen meta keys.
func BenchmarkEncodePetition(b *testing.B) {
	p := &Petition{}
	fill(reflect.ValueOf(p).Elem(), 5)
	p.Content = strings.Repeat("立案庭让我回去补材料，补了四次还是不收。", 30)
	p.Subject, p.Petitioner.Name, p.Petitioner.Address = "关于立案难的反映", "张三", "江西省南昌市东湖区八一大道100号"
	p.Meta = Meta{}
	for i := 0; i < 12; i++ {
		p.Meta[fmt.Sprintf("call.key%d", i)] = fmt.Sprintf("值%d", i)
	}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(p)
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.AppendJSON(make([]byte, 0, 1024))
		}
	})
}
