package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWebAuthFailuresLimitedAndLogged: wrong tokens are answered 401 and
// logged with the client's address but never the token; over the limit a
// client's wrong tokens get 429 without being checked; the right token
// always passes.
func TestWebAuthFailuresLimitedAndLogged(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	const token = "s3cr3t-t0ken-for-the-portal"
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	e := newEnv(t, broker(t), "      auth_token_file: "+tokenFile+"\n      auth_failure_limit: {per_second: 0.2, burst: 3}")
	e.start()
	js, _ := json.Marshal(fields)
	var got []int
	for i := 0; i < 5; i++ {
		r := e.mustPost("application/json", js, map[string]string{"Authorization": "Bearer guess-" + token[:6] + fmt.Sprint(i)})
		got = append(got, r.Status)
	}
	if fmt.Sprint(got) != "[401 401 401 429 429]" {
		t.Errorf("wrong tokens answered %v, want [401 401 401 429 429]", got)
	}
	if r := e.mustPost("application/json", js, map[string]string{"Authorization": "Bearer " + token}); r.Status != 201 {
		t.Errorf("right token after the failures: %d %q, want 201", r.Status, r.Error)
	}
	if r := e.mustPost("application/json", js, nil); r.Status != 429 {
		t.Errorf("no token while over the limit: %d, want 429", r.Status)
	}
	e.waitLog("authentication failures over the limit; client refused", 5*time.Second)
	logs := e.logs()
	if n := strings.Count(logs, `msg="web: authentication failed" channel=web-it client=127.0.0.1`); n != 3 {
		t.Errorf("%d 'authentication failed' lines, want 3:\n%s", n, logs)
	}
	if n := strings.Count(logs, "authentication failures over the limit; client refused"); n != 1 {
		t.Errorf("%d 'client refused' lines, want 1 (once a minute)", n)
	}
	if strings.Contains(logs, token[:6]) {
		t.Errorf("a token appears in the logs")
	}
	if m := metric(t, e, `petitiond_items_rejected_total{channel="web-it",reason="auth_rate_limited"}`); m != "3" {
		t.Errorf("auth_rate_limited rejections = %q, want 3", m)
	}
}

// TestWebAuditLine: one audit line per accepted submission (and per
// replay), with id, tracking number, channel and client address, and no
// petition content.
func TestWebAuditLine(t *testing.T) {
	e := newEnv(t, broker(t), "")
	e.start()
	js, _ := json.Marshal(fields)
	r := e.mustPost("application/json", js, map[string]string{"Idempotency-Key": "audit-" + randomSuffix()})
	r2 := e.mustPost("application/json", js, map[string]string{"Idempotency-Key": "audit-other-" + randomSuffix()})
	e.mustPost("application/json", []byte(`{"name":"x"}`), nil) // 422: no audit line
	if r.Status != 201 || r2.Status != 201 {
		t.Fatalf("replies %d %d", r.Status, r2.Status)
	}
	e.waitLog("id="+r2.ID, 5*time.Second)
	var audit []string
	for _, l := range strings.Split(e.logs(), "\n") {
		if strings.Contains(l, "audit=web.accepted") {
			audit = append(audit, l)
		}
	}
	if len(audit) != 2 {
		t.Fatalf("%d audit lines, want 2:\n%s", len(audit), strings.Join(audit, "\n"))
	}
	want := fmt.Sprintf(`msg="audit: submission accepted" channel=web-it audit=web.accepted status=201 id=%s tracking_no=%s client=127.0.0.1`, r.ID, r.TrackingNo)
	if !strings.Contains(audit[0], want) {
		t.Errorf("audit line %q, want it to contain %q", audit[0], want)
	}
	for _, v := range fields {
		if strings.Contains(strings.Join(audit, "\n"), v) {
			t.Errorf("audit lines contain %q", v)
		}
	}
}

// TestWebDuplicateJSONKey: a JSON key given twice is 422 naming it, like a
// repeated form field, and nothing is produced.
func TestWebDuplicateJSONKey(t *testing.T) {
	e := newEnv(t, broker(t), "")
	e.start()
	for body, field := range map[string]string{
		`{"name":"王小明","name":"李四","content":"请立案"}`:                         "name",
		`{"petitioner":{"phone":"13907911234","phone":"1"},"content":"请立案"}`: "petitioner.phone",
		`{"content":"请立案","content":"请不要立案"}`:                                "content",
	} {
		r := e.mustPost("application/json", []byte(body), nil)
		if r.Status != 422 || r.Field != field {
			t.Errorf("%s: %d field=%q %q, want 422 naming %s", body, r.Status, r.Field, r.Error, field)
		}
	}
	if n := endOffsetsOf(t, e); n != 0 {
		t.Errorf("%d records produced, want none", n)
	}
}

func endOffsetsOf(t *testing.T, e *env) int64 {
	t.Helper()
	recs := consume(t, e.brokers, e.topic, 1, 2*time.Second)
	return int64(len(recs))
}

// rawExchange writes req on a new connection and returns what the server
// answers until it closes the connection (or within passes).
func rawExchange(t *testing.T, addr, req string, within time.Duration) (string, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(within))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	closed := err == nil // EOF: the server closed the connection
	return string(b), closed
}

// TestWebContentLengthWithTransferEncoding: a request with both headers is
// refused 400 and its connection closed (RFC 9112 §6.3), also when it
// follows a good request on a kept-alive connection; nothing of it is
// produced.
func TestWebContentLengthWithTransferEncoding(t *testing.T) {
	e := newEnv(t, broker(t), "")
	e.start()
	body := `{"content":"走私的请求"}`
	smuggled := fmt.Sprintf("POST /petitions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	out, closed := rawExchange(t, e.webAddr, smuggled, 10*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 400 ") || !closed || !strings.Contains(out, "RFC 9112") {
		t.Errorf("CL+TE: closed=%v answer %q, want 400 and the connection closed", closed, out)
	}
	good, _ := json.Marshal(fields)
	pipelined := fmt.Sprintf("POST /petitions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(good), good) + smuggled
	out, closed = rawExchange(t, e.webAddr, pipelined, 30*time.Second)
	if n := strings.Count(out, "HTTP/1.1 "); !closed || !strings.Contains(out, "HTTP/1.1 400 ") || strings.Count(out, "HTTP/1.1 201 ") > 1 || n > 2 {
		t.Errorf("pipelined: closed=%v answers %q", closed, out)
	}
	// Chunked alone is fine.
	chunked := fmt.Sprintf("POST /petitions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(good), good)
	if out, _ := rawExchange(t, e.webAddr, chunked, 30*time.Second); !strings.HasPrefix(out, "HTTP/1.1 201 ") {
		t.Errorf("chunked alone: %q, want 201", out)
	}
	for _, r := range consumeAll(t, e.brokers, e.topic) {
		if strings.Contains(string(r.Raw), "走私") {
			t.Errorf("the smuggled request was produced")
		}
	}
}

// TestWebSlowBodyCutOff: a client trickling its body (slowloris) is cut off
// after about read_timeout, whatever Content-Length it announced; a fast
// upload larger than read_timeout × nothing goes through.
func TestWebSlowBodyCutOff(t *testing.T) {
	e := newEnv(t, broker(t), "      read_timeout: 2s\n      min_read_rate: 64KiB")
	e.start()
	c, err := net.Dial("tcp", e.webAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST /petitions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{\"content\":\"")
	done := make(chan time.Duration, 1)
	go func() {
		io.Copy(io.Discard, c) // returns when the server closes
		done <- time.Since(start)
	}()
	var took time.Duration
loop:
	for i := 0; i < 600; i++ {
		select {
		case took = <-done:
			break loop
		case <-time.After(100 * time.Millisecond):
			c.Write([]byte("慢")) // 3 bytes every 100 ms
		}
	}
	t.Logf("slow body cut off after %v (read_timeout 2s)", took.Round(10*time.Millisecond))
	if took == 0 || took > 6*time.Second {
		t.Errorf("a trickling body held the connection %v, want about read_timeout (2s)", took)
	}
	// The default keeps slowloris to seconds, not minutes.
	out, _ := osexec.Command(binary, "example", "web").CombinedOutput()
	if !strings.Contains(string(out), "read_timeout: 20s") {
		t.Errorf("the example does not show read_timeout: 20s")
	}
}

// TestWebConnectionCaps: over max_connections_per_client a client's new
// connection gets 503 and is closed; trusted proxies count only towards
// max_connections.
func TestWebConnectionCaps(t *testing.T) {
	e := newEnv(t, broker(t), "      max_connections_per_client: 3")
	e.start()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	open := func() (net.Conn, string) {
		c, err := net.Dial("tcp", e.webAddr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		b, _ := io.ReadAll(bufio.NewReader(c))
		c.SetReadDeadline(time.Time{})
		return c, string(b)
	}
	for i := 0; i < 3; i++ {
		if _, out := open(); out != "" {
			t.Fatalf("connection %d refused: %q", i+1, out)
		}
	}
	if _, out := open(); !strings.HasPrefix(out, "HTTP/1.1 503 ") || !strings.Contains(out, "Retry-After: 5") {
		t.Errorf("4th connection of one client: %q, want 503 with Retry-After", out)
	}
	conns[0].Close()
	time.Sleep(100 * time.Millisecond)
	js, _ := json.Marshal(fields)
	if r := e.mustPost("application/json", js, map[string]string{"Connection": "close"}); r.Status != 201 {
		t.Errorf("after one closed: %d, want 201", r.Status)
	}

	// Behind a trusted proxy only the total counts.
	p := newEnv(t, broker(t), "      max_connections: 4\n      max_connections_per_client: 1\n      trusted_proxies: [\"127.0.0.1\"]")
	p.start()
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", p.webAddr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(100 * time.Millisecond)
	out, closed := rawExchange(t, p.webAddr, "", 2*time.Second)
	if !closed || !strings.HasPrefix(out, "HTTP/1.1 503 ") {
		t.Errorf("5th connection: %q closed=%v, want 503 and closed", out, closed)
	}
}

// TestWebCORS: preflights and submissions from allowed origins get the
// CORS headers; other origins are refused 403; requests without Origin
// (server to server) are not affected.
func TestWebCORS(t *testing.T) {
	e := newEnv(t, broker(t), "      cors: {allowed_origins: [\"https://portal.court.example\"], max_age: 5m}")
	e.start()
	do := func(method, origin string, body []byte) *http.Response {
		req, _ := http.NewRequest(method, "http://"+e.webAddr+"/petitions", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if method == "OPTIONS" {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type,idempotency-key")
		}
		r, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return r
	}
	r := do("OPTIONS", "https://portal.court.example", nil)
	if r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://portal.court.example" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") || r.Header.Get("Access-Control-Max-Age") != "300" {
		t.Errorf("allowed preflight: %d %v", r.StatusCode, r.Header)
	}
	if r := do("OPTIONS", "https://evil.example", nil); r.StatusCode != 403 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin's preflight: %d %v", r.StatusCode, r.Header)
	}
	js, _ := json.Marshal(fields)
	if r := do("POST", "https://portal.court.example", js); r.StatusCode != 201 || r.Header.Get("Access-Control-Allow-Origin") != "https://portal.court.example" {
		t.Errorf("allowed POST: %d %v", r.StatusCode, r.Header)
	}
	if r := do("POST", "https://evil.example", js); r.StatusCode != 403 {
		t.Errorf("other origin's POST: %d, want 403", r.StatusCode)
	}
	if r := do("POST", "", js); r.StatusCode != 201 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("POST without Origin: %d %v", r.StatusCode, r.Header)
	}
}
