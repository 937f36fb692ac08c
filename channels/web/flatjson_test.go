package web

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

var flatSeeds = []string{
	`{"name":"王小明","content":"执行款\n至今\t未到账\"（2023）\""}`,
	`{}`, ` { "a" : "" } `, `{"a":"\u4e2d\u6587\/\\","b":"x"}`,
	`{"a":"\ud83d\ude00"}`, `{"a":1}`, `{"a":{"b":"c"}}`, `{"a":"x"} x`, `{"a":"x",}`,
	`{"a":"b","a":"c"}`, `{"a":"\u00e9\u0000"}`, `{"a":"` + "\x01" + `"}`, `[]`, `"s"`, `{"a":"x"`,
	`{"a":"\uZZZZ"}`, `{"a":"\q"}`,
}

// TestDecodeFlat: what the fast path accepts decodes as encoding/json
// decodes it; what it refuses goes to encoding/json.
func TestDecodeFlat(t *testing.T) {
	accepted := 0
	for _, s := range flatSeeds {
		if checkFlat(t, []byte(s)) {
			accepted++
		}
	}
	if accepted < 6 {
		t.Errorf("the fast path took only %d of the seeds", accepted)
	}
}

func checkFlat(t *testing.T, body []byte) bool {
	got, ok := decodeFlat(body)
	if !ok {
		return false
	}
	var want map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&want); err != nil || dec.More() {
		t.Errorf("decodeFlat took %q, which encoding/json refuses (%v)", body, err)
		return true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decodeFlat(%q) = %#v, encoding/json %#v", body, got, want)
	}
	return true
}

func FuzzDecodeFlat(f *testing.F) {
	for _, s := range flatSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return // parseJSON refuses it before
		}
		checkFlat(t, body)
	})
}
