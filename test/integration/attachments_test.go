package integration

import (
	"bytes"
	"mime/multipart"
	"net/textproto"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/internal/clamd"
)

// attachmentBody is a form with the petition fields and one attachment
// declared as ctype.
func attachmentBody(name, ctype string, content []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+name+`"; filename="scan.jpg"`)
	h.Set("Content-Type", ctype)
	w, _ := mw.CreatePart(h)
	w.Write(content)
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// TestWebAttachmentPolicy: the sniffed type is recorded beside the
// declared one, types off the allow-list are refused 415, clamd (here an
// in-process fake speaking its INSTREAM protocol) refuses malware with 422
// and an unreachable clamd makes the petition wait (503); nothing refused
// is left in the blob store or staging.
func TestWebAttachmentPolicy(t *testing.T) {
	av, err := clamd.NewFake()
	if err != nil {
		t.Fatal(err)
	}
	defer av.Close()
	e := newEnv(t, broker(t), "      attachments: {allowed_types: [application/pdf, \"image/*\"], antivirus: {address: \"tcp:"+av.Addr()+"\", timeout: 5s}}")
	e.start()
	blobs := filepath.Join(e.dir, "blobs")

	pdf := []byte("%PDF-1.4\n判决书扫描件\n%%EOF\n")
	ct, body := attachmentBody("judgment", "image/jpeg", pdf) // declared wrongly
	ok := e.mustPost(ct, body, nil)
	if ok.Status != 201 {
		t.Fatalf("PDF attachment: %d %q", ok.Status, ok.Error)
	}
	stored, _ := storeBytes(t, blobs)

	for _, c := range []struct {
		what    string
		content []byte
		status  int
	}{
		{"executable declared as JPEG", []byte("MZ\x90\x00\x03\x00\x00\x00 this program cannot be run in DOS mode"), 415},
		{"HTML", []byte("<html><script>alert(1)</script></html>"), 415},
		{"EICAR inside a PDF", append([]byte("%PDF-1.4\n"), clamd.EICAR...), 422},
	} {
		ct, body := attachmentBody("evidence", "image/jpeg", c.content)
		r := e.mustPost(ct, body, nil)
		if r.Status != c.status || r.Field != "evidence" {
			t.Errorf("%s: %d field=%q %q, want %d naming the part", c.what, r.Status, r.Field, r.Error, c.status)
		}
	}
	if !e.waitLog(`msg="web: attachment rejected by the antivirus scanner" channel=web-it signature=Eicar-Test-Signature`, 5*time.Second) {
		t.Errorf("the infected attachment was not logged with its signature")
	}
	av.Close() // clamd goes away: petitions with attachments wait
	ct, body = attachmentBody("judgment", "application/pdf", pdf)
	if r := e.mustPost(ct, body, nil); r.Status != 503 || r.Header.Get("Retry-After") == "" {
		t.Errorf("clamd unreachable: %d %q, want 503 with Retry-After", r.Status, r.Error)
	}
	if after, staged := storeBytes(t, blobs); after != stored || staged != 0 {
		t.Errorf("refused attachments left %d bytes in the store, %d staged", after-stored, staged)
	}

	recs := consume(t, e.brokers, e.topic, 1, 30*time.Second)
	if len(recs) != 1 || recs[0].Key != ok.ID {
		t.Fatalf("%d records, want the accepted petition", len(recs))
	}
	a := recs[0].Value["attachments"].([]any)[0].(map[string]any)
	if a["content_type"] != "image/jpeg" || a["sniffed_content_type"] != "application/pdf" {
		t.Errorf("attachment types: declared %v, sniffed %v", a["content_type"], a["sniffed_content_type"])
	}
	if m := recs[0].Value["meta"].(map[string]any); m["web.antivirus"] != "clean" {
		t.Errorf("meta web.antivirus = %v, want clean", m["web.antivirus"])
	}
}

// waitLog waits until the daemon's log holds s (lines reach the buffer a
// moment after they are written).
func (e *env) waitLog(s string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for !strings.Contains(e.logs(), s) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
