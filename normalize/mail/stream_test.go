package mail

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeLargeLetter writes a letter with a base64 attachment of size
// pseudo-random bytes (in 76-column lines, or in one huge line when
// oneLine) and a forwarded message holding another such attachment of
// nestedSize bytes, and returns the sha256 of both attachments.
func writeLargeLetter(w *io.PipeWriter, size, nestedSize int64, oneLine bool) (string, string) {
	sums := [2]string{}
	var err error
	defer func() { w.CloseWithError(err) }()
	p := func(s string) {
		if err == nil {
			_, err = io.WriteString(w, s)
		}
	}
	attachment := func(n int64, seed uint64, slot int) {
		rng := rand.NewChaCha8([32]byte{byte(seed)})
		h := sha256.New()
		raw := make([]byte, 57*64)
		line := make([]byte, 0, 80*64)
		for left := n; left > 0 && err == nil; {
			chunk := raw[:min(int64(len(raw)), left)]
			rng.Read(chunk)
			h.Write(chunk)
			left -= int64(len(chunk))
			line = line[:0]
			for i := 0; i < len(chunk); i += 57 {
				line = base64.StdEncoding.AppendEncode(line, chunk[i:min(i+57, len(chunk))])
				if !oneLine {
					line = append(line, '\r', '\n')
				}
			}
			_, err = w.Write(line)
		}
		p("\r\n")
		sums[slot] = hex.EncodeToString(h.Sum(nil))
	}
	p("From: big@example.cn\r\nSubject: large\r\nMessage-ID: <large@example.cn>\r\n" +
		"Content-Type: multipart/mixed; boundary=\"BIG\"\r\n\r\n" +
		"--BIG\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n见附件。\r\n" +
		"--BIG\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	attachment(size, 1, 0)
	p("--BIG\r\nContent-Type: message/rfc822\r\n\r\n" +
		"From: inner@example.cn\r\nSubject: inner\r\nContent-Type: multipart/mixed; boundary=\"IN\"\r\n\r\n" +
		"--IN\r\nContent-Type: text/plain\r\n\r\ninner text\r\n" +
		"--IN\r\nContent-Type: application/octet-stream; name=\"inner.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	attachment(nestedSize, 2, 1)
	p("--IN--\r\n\r\n--BIG--\r\n")
	return sums[0], sums[1]
}

// heapSampler records the peak of HeapInuse while it runs.
type heapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			s.peak = max(s.peak, ms.HeapInuse)
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *heapSampler) Stop() uint64 {
	close(s.stop)
	s.wg.Wait()
	return s.peak
}

func TestLargeAttachmentBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 60 MB to disk")
	}
	tests := []struct {
		name    string
		oneLine bool
	}{
		{"76-column lines", false},
		{"one line", true}, // a mailer that does not wrap base64
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const size, nestedSize = 50 << 20, 5 << 20
			st := newStore(t)
			pr, pw := io.Pipe()
			sums := make(chan [2]string, 1)
			go func() {
				a, b := writeLargeLetter(pw, size, nestedSize, tt.oneLine)
				sums <- [2]string{a, b}
			}()

			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			sampler := startHeapSampler()
			l, err := Parse(pr, st, Options{})
			peak := sampler.Stop()
			if err != nil {
				t.Fatalf("Parse(large letter) error: %v", err)
			}
			want := <-sums

			growth := int64(peak) - int64(before.HeapInuse)
			t.Logf("heap in use: %.1f MB before, %.1f MB peak (growth %.1f MB) for a %d MB attachment",
				float64(before.HeapInuse)/(1<<20), float64(peak)/(1<<20), float64(growth)/(1<<20), size>>20)
			if growth > 30<<20 {
				t.Errorf("heap grew by %d MB while parsing, want < 30 MB (attachments must be streamed)", growth>>20)
			}

			byName := map[string]Attachment{}
			for _, a := range l.Attachments {
				byName[a.Filename] = a
			}
			if a := byName["scan.pdf"]; a.Size != size || a.SHA256 != want[0] {
				t.Errorf("scan.pdf = %d bytes, sha256 %s; want %d bytes, %s", a.Size, a.SHA256, size, want[0])
			}
			if a := byName["inner.bin"]; a.Size != nestedSize || a.SHA256 != want[1] || a.Part != "3.2" {
				t.Errorf("inner.bin = part %s, %d bytes, sha256 %s; want part 3.2, %d bytes, %s", a.Part, a.Size, a.SHA256, nestedSize, want[1])
			}
			if a := byName["inner.eml"]; a.Size < nestedSize || a.ContentType != "message/rfc822" {
				t.Errorf("inner.eml = %+v, want the forwarded message stored whole", a)
			}
			if !strings.Contains(l.Text, "见附件。") || !strings.Contains(l.Text, "inner text") {
				t.Errorf("Text = %q, want the letter's and the forwarded message's text", l.Text)
			}
			checkStored(t, st, l)
		})
	}
}

func TestMaxAttachmentSize(t *testing.T) {
	pr, pw := io.Pipe()
	go writeLargeLetter(pw, 3<<20, 1<<10, false)
	l, err := Parse(pr, newMemStore(), Options{MaxAttachmentSize: 1 << 20})
	if err != nil {
		t.Fatalf("Parse error: %v", err)
	}
	var found bool
	for _, a := range l.Attachments {
		if a.Filename == "scan.pdf" {
			found = true
			if !a.TooLarge || a.Size != 3<<20 || a.SHA256 != "" || a.URI != "" {
				t.Errorf("scan.pdf = %+v, want TooLarge, Size %d, not stored", a, 3<<20)
			}
		}
	}
	if !found {
		t.Fatalf("no scan.pdf in %+v", l.Attachments)
	}
	wantProblem(t, l, "limit")
	if got := fmt.Sprint(len(l.Nested)); got != "1" {
		t.Errorf("len(Nested) = %s, want 1 (the small forwarded message is still parsed)", got)
	}
}
