package integration

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// storeBytes sums the sizes of the blobs in the store (<aa>/<sha256>) and
// of the files in its staging area.
func storeBytes(t *testing.T, dir string) (stored, staged int64) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		switch rel, _ := filepath.Rel(dir, p); {
		case strings.HasPrefix(rel, "staging/") || strings.HasPrefix(rel, "tmp/"):
			staged += info.Size()
		case len(filepath.Base(p)) == 64:
			stored += info.Size()
		}
		return nil
	})
	return
}

// multipartBody is a form with the petition fields (minus skip) and one
// attachment of size bytes.
func multipartBody(skip string, size int, extra map[string]string) (string, []byte) {
	return multipartBodyN(skip, size, 1, extra)
}

func multipartBodyN(skip string, size, count int, extra map[string]string) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if k != skip {
			mw.WriteField(k, v)
		}
	}
	for k, v := range extra {
		mw.WriteField(k, v)
	}
	chunk := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{'x'}, 64<<10)...)
	for i := 0; i < count; i++ {
		fw, _ := mw.CreateFormFile("attachment", fmt.Sprintf("scan%d.pdf", i))
		for n := 0; n < size; n += len(chunk) {
			fw.Write(chunk[:min(len(chunk), size-n)])
		}
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func metric(t *testing.T, e *env, name string) string {
	t.Helper()
	r, err := http.Get("http://" + e.adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(?:\{[^}]*\})? (\S+)$`).FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// TestRejectedUploadsLeaveNothing: rejected multipart requests (an
// attachment over the limit, an invalid petition, an unknown field) are
// staged and deleted, never written to the store; an accepted one is
// promoted; `petitiond blobs gc` deletes what no record references and
// keeps what one does.
func TestRejectedUploadsLeaveNothing(t *testing.T) {
	e := newEnv(t, broker(t), "      max_request_size: 32MiB")
	e.start()
	blobs := filepath.Join(e.dir, "blobs")
	stored0, _ := storeBytes(t, blobs)

	const n = 5
	cases := []struct {
		skip   string
		size   int
		extra  map[string]string
		status int
	}{
		{"", 20 << 20, nil, 413},                                 // attachment over max_attachment_size (1MiB)
		{"content", 900 << 10, nil, 422},                         // no content: normalize refuses it
		{"", 900 << 10, map[string]string{"nickname": "x"}, 422}, // unknown field
		{"", 40 << 20, nil, 413},                                 // request over max_request_size
		{"", 20 << 20, nil, 413},
	}
	var sent int64
	for i := 0; i < n; i++ {
		c := cases[i%len(cases)]
		ct, body := multipartBody(c.skip, c.size, c.extra)
		sent += int64(len(body))
		r, err := e.post(ct, body, nil)
		if err != nil && c.status == 413 {
			continue // the server may close the connection on a refused upload
		}
		if err != nil || r.Status != c.status {
			t.Errorf("upload %d: %v %d %q, want %d", i, err, r.Status, r.Error, c.status)
		}
	}
	stored1, staged1 := storeBytes(t, blobs)
	t.Logf("%d rejected uploads (%d MiB sent): store grew by %d bytes, %d bytes staged, petitiond_blob_staged_bytes %s",
		n, sent>>20, stored1-stored0, staged1, metric(t, e, "petitiond_blob_staged_bytes"))
	if stored1 != stored0 || staged1 != 0 || metric(t, e, "petitiond_blob_staged_bytes") != "0" {
		t.Errorf("rejected uploads left data behind: store +%d bytes, staging %d bytes", stored1-stored0, staged1)
	}

	ct, body := multipartBody("", 900<<10, nil)
	ok := e.mustPost(ct, body, nil)
	if ok.Status != 201 {
		t.Fatalf("accepted upload: %+v", ok)
	}
	stored2, staged2 := storeBytes(t, blobs)
	if stored2-stored1 < int64(len(body)) || staged2 != 0 {
		t.Errorf("accepted upload: store +%d bytes (request %d), staging %d", stored2-stored1, len(body), staged2)
	}

	// An orphan (say an ignored auto-reply's original) older than the
	// minimum age is collected; the accepted petition's blobs, aged as
	// much, are kept because the reference log lists them.
	orphan := filepath.Join(blobs, "ab", "ab"+strings.Repeat("0", 62))
	os.WriteFile(orphan, []byte("orphan"), 0o600)
	old := time.Now().Add(-48 * time.Hour)
	filepath.Walk(blobs, func(p string, info os.FileInfo, err error) error {
		if err == nil && len(info.Name()) == 64 {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	out, err := exec.Command(binary, "blobs", "gc", "-c", e.cfgFile, "-min-age", "24h").CombinedOutput()
	if err != nil {
		t.Fatalf("blobs gc: %v\n%s", err, out)
	}
	t.Logf("blobs gc: %s", out)
	if !strings.Contains(string(out), "deleted 1 unreferenced blobs (6 bytes)") {
		t.Errorf("blobs gc output %q, want the orphan deleted", out)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphan still there")
	}
	recs := consume(t, e.brokers, e.topic, 1, 30*time.Second)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	var refs []string
	src := recs[0].Value["source"].(map[string]any)["original"].(map[string]any)
	refs = append(refs, src["uri"].(string))
	for _, a := range recs[0].Value["attachments"].([]any) {
		refs = append(refs, a.(map[string]any)["uri"].(string))
		if st := a.(map[string]any)["sniffed_content_type"]; st != "application/pdf" {
			t.Errorf("sniffed_content_type = %v, want application/pdf", st)
		}
	}
	for _, u := range refs {
		if _, err := os.Stat(strings.TrimPrefix(u, "file://")); err != nil {
			t.Errorf("blob %s referenced by a produced record: %v", u, err)
		}
	}
}

// TestStagingBounds: one client cannot stage more than its share (429),
// and all clients together not more than the total (503); both with
// Retry-After.
func TestStagingBounds(t *testing.T) {
	e := newEnv(t, broker(t), "      max_request_size: 8MiB\n      trusted_proxies: [\"127.0.0.1\"]")
	b, _ := os.ReadFile(e.cfgFile)
	os.WriteFile(e.cfgFile, bytes.Replace(b, []byte("blobs: {dir: "), []byte("blobs: {staging: {max_bytes: 2560KiB, max_bytes_per_client: 2MiB}, dir: "), 1), 0o600)
	e.start()
	post := func(client string, body io.Reader, ct string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+e.webAddr+"/petitions", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Forwarded-For", client)
		r, err := client0.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer r.Body.Close()
		io.Copy(io.Discard, r.Body)
		return r.StatusCode, r.Header.Get("Retry-After")
	}
	// Over the client's share in one request: the request (1.8 MiB) and
	// its first attachment (0.9 MiB) are staged.
	ct, body := multipartBodyN("", 900<<10, 2, nil)
	if st, ra := post("10.0.0.1", bytes.NewReader(body), ct); st != 429 || ra == "" {
		t.Errorf("over the client share: %d Retry-After=%q, want 429 with Retry-After", st, ra)
	}
	// Client A holds 0.9 MiB staged (its upload stalls); B's request and
	// attachment (2 × 0.9 MiB) do not fit the 2.5 MiB total.
	pr, pw := io.Pipe()
	ctA, bodyA := multipartBody("", 900<<10, nil)
	doneA := make(chan int, 1)
	go func() { st, _ := post("10.0.0.2", pr, ctA); doneA <- st }()
	pw.Write(bodyA[:len(bodyA)-4096])
	deadline := time.Now().Add(10 * time.Second)
	for stagedBytes(t, e) < 800<<10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	ctB, bodyB := multipartBody("", 900<<10, nil)
	if st, ra := post("10.0.0.3", bytes.NewReader(bodyB), ctB); st != 503 || ra == "" {
		t.Errorf("over the total: %d Retry-After=%q, want 503 with Retry-After (staged %s)", st, ra, metric(t, e, "petitiond_blob_staged_bytes"))
	}
	pw.Write(bodyA[len(bodyA)-4096:])
	pw.Close()
	if st := <-doneA; st != 201 {
		t.Errorf("the stalled upload, once complete: %d, want 201", st)
	}
	if s := metric(t, e, "petitiond_blob_staged_bytes"); s != "0" {
		t.Errorf("staged bytes after all answers: %s", s)
	}
}

func stagedBytes(t *testing.T, e *env) float64 {
	t.Helper()
	v, _ := strconv.ParseFloat(metric(t, e, "petitiond_blob_staged_bytes"), 64)
	return v
}

var client0 = &http.Client{Timeout: 60 * time.Second}
