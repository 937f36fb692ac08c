package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestBrokerOutage stops the real broker: the web channel answers 503 with
// Retry-After, and accepts again once the broker is back, without a restart.
// It must run last in this package (it restarts the shared broker).
func TestBrokerOutage(t *testing.T) {
	addr := broker(t)
	script := os.Getenv("PETITIOND_KAFKA_SCRIPT")
	if script == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PETITIOND_KAFKA_SCRIPT must name scripts/kafka.sh in CI")
		}
		t.Skip("PETITIOND_KAFKA_SCRIPT not set: cannot stop and start the broker")
	}
	e := newEnv(t, addr, "")
	e.start()
	js, _ := json.Marshal(fields)
	if r := e.mustPost("application/json", js, nil); r.Status != 201 {
		t.Fatalf("before outage: %+v", r)
	}
	run := func(arg string) {
		out, err := exec.Command("bash", script, arg).CombinedOutput()
		if err != nil {
			t.Fatalf("kafka.sh %s: %v\n%s", arg, err, out)
		}
	}
	run("stop")
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			exec.Command("bash", script, "start").Run()
		}
	})
	// While the broker is down every answer is 503 with Retry-After (the
	// first ones may take up to the produce timeout), never 201, never a
	// hang.
	for i := 0; i < 5; i++ {
		r := e.mustPost("application/json", js, nil)
		if r.Status != 503 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("broker down: %d (%s) Retry-After=%q, want 503 with Retry-After", r.Status, r.Error, r.Header.Get("Retry-After"))
		}
	}
	if st := readyz(t, e); st != 503 {
		t.Errorf("/readyz while the broker is down = %d, want 503", st)
	}
	run("start")
	restarted = true
	deadline := time.Now().Add(90 * time.Second)
	var ok reply
	for time.Now().Before(deadline) {
		r := e.mustPost("application/json", js, map[string]string{"Idempotency-Key": "after-outage"})
		if r.Status == 201 {
			ok = r
			break
		}
		if r.Status != 503 {
			t.Fatalf("during recovery: %d %s", r.Status, r.Error)
		}
		ra, _ := time.ParseDuration(r.Header.Get("Retry-After") + "s")
		time.Sleep(min(ra, time.Second)) // the client honours Retry-After (capped)
	}
	if ok.ID == "" {
		t.Fatal("channel did not accept again within 90s of the broker's return")
	}
	if st := readyz(t, e); st != 200 {
		t.Errorf("/readyz after the broker's return = %d, want 200", st)
	}
	recs := consumeAll(t, e.brokers, e.topic)
	found := false
	for _, r := range recs {
		found = found || r.Key == ok.ID
	}
	if !found {
		t.Errorf("record %s accepted after the outage is not in Kafka", ok.ID)
	}
}

func readyz(t *testing.T, e *env) int {
	t.Helper()
	r, err := http.Get("http://" + e.adminAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r.StatusCode
}
