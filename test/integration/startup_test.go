package integration

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestListenersUpWithBlackHoledBroker: a broker address that accepts TCP
// connections and never answers (a black hole) must not delay the web and
// admin listeners; /healthz answers, /readyz says 503 and submissions are
// refused with 503 once the probe gave up.
func TestListenersUpWithBlackHoledBroker(t *testing.T) {
	hole, err := net.Listen("tcp", "127.0.0.1:0") // never Accept: the kernel completes handshakes, nobody answers
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	e := newEnv(t, hole.Addr().String(), "")
	t0 := time.Now()
	e.start() // returns once the web channel listens
	up := time.Since(t0)
	r, err := http.Get("http://" + e.adminAddr + "/healthz")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", err, r)
	}
	r.Body.Close()
	t.Logf("listeners up %v after exec with a black-holed broker", up.Round(time.Millisecond))
	if up > 4*time.Second {
		t.Errorf("listeners took %v to come up with a black-holed broker, want well under the 5 s connect timeout", up)
	}
	if st := readyz(t, e); st != 503 {
		t.Errorf("/readyz = %d with a black-holed broker, want 503", st)
	}
	// Once the probe timed out, submissions are refused at once.
	time.Sleep(4 * time.Second)
	js, _ := json.Marshal(fields)
	t1 := time.Now()
	rep := e.mustPost("application/json", js, nil)
	if rep.Status != 503 || rep.Header.Get("Retry-After") == "" {
		t.Errorf("reply %d %q, want 503 with Retry-After", rep.Status, rep.Error)
	}
	t.Logf("submission refused after %v", time.Since(t1).Round(time.Millisecond))
}
