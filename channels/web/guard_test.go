package web

import (
	"fmt"
	"testing"
)

func TestFramingFindsAmbiguousHeads(t *testing.T) {
	body := `{"content":"x"}`
	good := fmt.Sprintf("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	chunked := "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"
	// The body of the first request looks like a head with both headers:
	// it must be skipped, not parsed.
	decoy := "POST /p HTTP/1.1\r\nContent-Length: 60\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: x\r\n\r\n"
	decoy = decoy[:len(decoy)-len("GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: x\r\n\r\n")] +
		fmt.Sprintf("%-60s", "GET / HTTP/1.1 Content-Length: 1 Transfer-Encoding: x")
	bad := "POST /p HTTP/1.1\r\nHost: a\r\ncontent-length: 4\r\nTRANSFER-ENCODING: chunked\r\n\r\n0\r\n\r\n"
	for _, c := range []struct {
		name   string
		stream string
		want   bool
	}{
		{"good", good, false},
		{"chunked", chunked, false},
		{"good, chunked, good", good + chunked + good, false},
		{"decoy in a body", decoy + good, false},
		{"both headers", bad, true},
		{"both after two good ones", good + chunked + bad, true},
	} {
		for _, step := range []int{1, 3, 7, 1 << 20} { // any split of the reads
			var f framing
			got := false
			for i := 0; i < len(c.stream); i += step {
				got = f.feed([]byte(c.stream[i:min(i+step, len(c.stream))])) || got
			}
			if got != c.want || f.lost {
				t.Errorf("%s (reads of %d): ambiguous=%v lost=%v, want %v", c.name, step, got, f.lost, c.want)
			}
		}
	}
}

func TestDuplicateKey(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1,"b":{"c":1,"d":[{"e":1,"e":2}]}}`: "b.d[0].e",
		`{"a":1,"a":1}`:             "a",
		`{"a":{"a":1},"b":{"a":1}}`: "",
		`[1,2,{"x":1}]`:             "",
		`{"a":`:                     "",
	} {
		got, _ := duplicateKey([]byte(body))
		if got != want {
			t.Errorf("duplicateKey(%s) = %q, want %q", body, got, want)
		}
	}
}
