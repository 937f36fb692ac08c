package gen

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every posted petition is its own original: distinct serials give
// distinct bodies of one length, still valid JSON, without digits added.
func TestNumberedWebPetition(t *testing.T) {
	body := WebPetition()
	seen := map[string]uint64{}
	for _, n := range []uint64{0, 1, 25, 26, 27, 675, 1 << 20, 1<<40 - 1} {
		b := NumberedWebPetition(body, n)
		if len(b) != len(body) {
			t.Fatalf("serial %d: %d bytes, want %d", n, len(b), len(body))
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("serial %d: %v", n, err)
		}
		_, serial, ok := strings.Cut(m["content"], serialMark)
		if !ok || len(serial) != 10 || strings.Trim(serial, "abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("serial %d: slot %q", n, serial)
		}
		if prev, dup := seen[string(b)]; dup {
			t.Fatalf("serials %d and %d give the same body", prev, n)
		}
		seen[string(b)] = n
	}
	if string(NumberedWebPetition(body, 0)) != string(body) {
		t.Error("serial 0 should be the template itself (all a)")
	}
}
