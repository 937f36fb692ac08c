package petition

import (
	"crypto/sha1"
	"encoding/hex"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// Namespace is the UUIDv5 namespace of petition ids.
var Namespace = uuid.MustParse("6f1c3a52-9d4e-5b7a-8c2d-12368c0a1e55")

// ID is the deterministic id of the petition made from a source
// item: UUIDv5 over the channel name and the source id. A replay of the same
// item through the same channel yields the same id.
func ID(channel, sourceID string) string {
	// uuid.NewSHA1 without its allocations (this runs for every record):
	// SHA-1 over the namespace and the name, version 5, RFC 4122 variant.
	var buf [256]byte
	name := append(append(append(append(buf[:0], Namespace[:]...), channel...), 0), sourceID...)
	sum := sha1.Sum(name)
	var u uuid.UUID
	copy(u[:], sum[:])
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:])
	return string(out[:])
}

// Crockford base32, without I L O U: readable aloud, no 0/O or 1/I mixups.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// TrackingNo derives the petitioner's receipt number from a petition id:
// 11 Crockford base32 symbols (55 bits of the id) and a check symbol,
// grouped 4-4-4, e.g. "7K3M-Q9TX-2BHF". It is stable for an id; the check
// symbol catches a mistyped character when a petitioner quotes it.
func TrackingNo(id string) string {
	u, err := uuid.Parse(id)
	if err != nil {
		return ""
	}
	var v uint64
	for _, b := range u[:8] {
		v = v<<8 | uint64(b)
	}
	v >>= 64 - 55
	var sym [12]byte
	for i := 10; i >= 0; i-- {
		sym[i] = crockford[v&31]
		v >>= 5
	}
	sym[11] = checkSymbol(sym[:11])
	s := string(sym[:])
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12]
}

func checkSymbol(data []byte) byte {
	// Weighted sum mod 31 (a prime), so a single changed symbol and most
	// adjacent swaps change the check.
	var sum int
	for i, c := range data {
		sum += (i + 1) * strings.IndexByte(crockford, c)
	}
	return crockford[sum%31]
}

var trackingRe = regexp.MustCompile(`(?i)\b([0-9A-HJKMNP-TV-Z]{4})[- ]?([0-9A-HJKMNP-TV-Z]{4})[- ]?([0-9A-HJKMNP-TV-Z]{4})\b`)

// FindTrackingNo returns the first valid tracking number in s (in canonical
// form), or "". Lower case and missing hyphens are accepted.
func FindTrackingNo(s string) string {
	for _, m := range trackingRe.FindAllStringSubmatch(s, -1) {
		raw := strings.ToUpper(m[1] + m[2] + m[3])
		if checkSymbol([]byte(raw[:11])) == raw[11] {
			return raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12]
		}
	}
	return ""
}
