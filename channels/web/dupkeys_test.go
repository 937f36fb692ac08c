package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"unicode/utf8"
)

// dupReference is the first implementation (encoding/json's tokenizer):
// slow, but plainly right; the scanner must agree with it on every valid
// document.
func dupReference(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	path, err := dupRefValue(dec, "")
	if err == errDupRef {
		return path
	}
	return ""
}

var errDupRef = fmt.Errorf("duplicate key")

func dupRefValue(dec *json.Decoder, path string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return "", nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", err
			}
			k, _ := kt.(string)
			p := k
			if path != "" {
				p = path + "." + k
			}
			if seen[k] {
				return p, errDupRef
			}
			seen[k] = true
			if dp, err := dupRefValue(dec, p); err != nil {
				return dp, err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if dp, err := dupRefValue(dec, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return dp, err
			}
		}
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return "", err
	}
	return "", nil
}

var dupSeeds = []string{
	`{"a":1,"b":{"c":1,"d":[{"e":1,"e":2}]}}`,
	`{"a":1,"a":1}`,
	`{"a":{"a":1},"b":{"a":1}}`,
	`[1,2,{"x":1}]`,
	`[1,2,{"x":1,"y":[],"x":{}}]`,
	`{"na\u006de":"A","name":"B"}`,
	`{"a\"b":1,"a\"b":2}`,
	`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":0}`,
	` { "a" : [ 1 , -2.5e3 , true , null , "x\\" ] , "b" : { } , "c" : [ ] , "a" : 0 } `,
	`{"":1,"":2}`,
	`"just a string"`,
	`{"a":`,
}

// TestDuplicateKeyScanner: the one-pass scanner reports what the
// tokenizer does, path included.
func TestDuplicateKeyScanner(t *testing.T) {
	for _, body := range dupSeeds {
		got, _ := duplicateKey([]byte(body))
		want := ""
		if json.Valid([]byte(body)) {
			want = dupReference([]byte(body))
		}
		if got != want {
			t.Errorf("duplicateKey(%s) = %q, want %q", body, got, want)
		}
	}
}

func FuzzDuplicateKey(f *testing.F) {
	for _, s := range dupSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, _ := duplicateKey(body) // must not panic on anything
		if !json.Valid(body) || !utf8.Valid(body) {
			// parseJSON refuses invalid UTF-8 first; encoding/json would
			// read it as U+FFFD, so that "\x8d" and "\xdc" are one key.
			return
		}
		if want := dupReference(body); got != want {
			t.Errorf("duplicateKey(%q) = %q, reference %q", body, got, want)
		}
	})
}

func BenchmarkDuplicateKey(b *testing.B) {
	body := []byte(`{"name":"王小明","phone":"13907911234","email":"wang@example.cn","address":"江西省南昌市红谷滩区丰和中大道1号","subject":"关于执行款迟迟未到账","case_number":"（2023）赣0102执1234号","content":"我的案件判决已生效半年，执行款至今没有到账，请法院尽快处理。我的案件判决已生效半年，执行款至今没有到账，请法院尽快处理。"}`)
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			duplicateKey(body)
		}
	})
	b.Run("tokenizer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dupReference(body)
		}
	})
}
