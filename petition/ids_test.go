package petition

import (
	"strings"
	"testing"
)

func TestPetitionIDDeterministic(t *testing.T) {
	a := ID("web-portal", "idempotency-key:abc")
	b := ID("web-portal", "idempotency-key:abc")
	if a != b {
		t.Errorf("PetitionID not stable: %s != %s", a, b)
	}
	if c := ID("web-other", "idempotency-key:abc"); c == a {
		t.Errorf("PetitionID ignores the channel name: %s", c)
	}
	if c := ID("web-portal", "idempotency-key:abd"); c == a {
		t.Errorf("PetitionID ignores the source id: %s", c)
	}
	// Channel "a" + source "b\x00c" must differ from channel "a\x00b" + "c".
	if ID("a", "b") == ID("a\x00", "b") {
		t.Errorf("PetitionID is ambiguous between channel and source id")
	}
	if a[14] != '5' {
		t.Errorf("PetitionID = %s, want a version 5 UUID", a)
	}
}

func TestTrackingNo(t *testing.T) {
	seen := map[string]string{}
	for i := 0; i < 20000; i++ {
		id := ID("web", strings.Repeat("x", i%7)+string(rune('a'+i%26))+itoa(i))
		tn := TrackingNo(id)
		if len(tn) != 14 || tn[4] != '-' || tn[9] != '-' {
			t.Fatalf("TrackingNo(%s) = %q, want XXXX-XXXX-XXXX", id, tn)
		}
		if TrackingNo(id) != tn {
			t.Fatalf("TrackingNo(%s) not stable", id)
		}
		if prev, dup := seen[tn]; dup {
			t.Fatalf("TrackingNo collision: %s and %s both give %s", prev, id, tn)
		}
		seen[tn] = id
		if got := FindTrackingNo("回复：关于 " + strings.ToLower(tn) + " 的补充材料"); got != tn {
			t.Fatalf("FindTrackingNo(lower-case %s) = %q", tn, got)
		}
	}
	if TrackingNo("not-a-uuid") != "" {
		t.Errorf("TrackingNo(bad id) should be empty")
	}
}

func TestFindTrackingNoRejectsTypos(t *testing.T) {
	tn := TrackingNo(ID("web", "1"))
	raw := []byte(tn)
	// Change one symbol: the check symbol must catch it.
	for i := range raw {
		if raw[i] == '-' {
			continue
		}
		typo := append([]byte(nil), raw...)
		if typo[i] == 'A' {
			typo[i] = 'B'
		} else {
			typo[i] = 'A'
		}
		if got := FindTrackingNo(string(typo)); got != "" {
			t.Errorf("FindTrackingNo(%s) = %q, want no match for a mistyped number", typo, got)
		}
	}
	if got := FindTrackingNo("（2021）赣01民初123号 ABCD-EFGH-JKMN"); got != "" && got != "ABCD-EFGH-JKMN" {
		t.Errorf("FindTrackingNo returned a non-canonical %q", got)
	}
}

func itoa(i int) string {
	const d = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{d[i%10]}, b...)
	}
	return string(b)
}
