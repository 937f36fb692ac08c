package integration

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/court12368/petitiond/internal/testutil"
)

// TestBrokerOutage stops the broker: the web channel answers 503 with
// Retry-After, and accepts again once the broker is back, without a restart.
// It runs a broker of its own, so it disturbs no other test and depends on
// no order.
func TestBrokerOutage(t *testing.T) {
	addr, kafka := privateBroker(t)
	e := newEnv(t, addr, "")
	e.start()
	js, _ := json.Marshal(fields)
	// The fresh broker may still be electing the leaders of the topics
	// petitiond just created: wait for a first 201.
	var first reply
	if !testutil.Eventually(60*time.Second, func() bool {
		first = e.mustPost("application/json", js, map[string]string{"Idempotency-Key": "before-outage"})
		return first.Status == 201
	}) {
		t.Fatalf("before outage: %+v", first)
	}
	kafka("stop")
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
	kafka("start")
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

// privateBroker starts a single-node broker of the test's own with
// scripts/kafka.sh (PETITIOND_KAFKA_SCRIPT): a fresh state dir and free
// ports. It returns its address and a function running kafka.sh commands
// on it; the broker is stopped when the test ends.
func privateBroker(t *testing.T) (string, func(cmd string)) {
	t.Helper()
	addr, command := newPrivateBroker(t)
	run := func(cmd string) {
		t.Helper()
		if out, err := command(cmd).CombinedOutput(); err != nil {
			t.Fatalf("kafka.sh %s: %v\n%s", cmd, err, out)
		}
	}
	run("start")
	return addr, run
}

// newPrivateBroker prepares a broker of the test's own (not started) and
// returns its address and a maker of kafka.sh commands on it; the broker is
// stopped when the test ends.
func newPrivateBroker(t *testing.T) (string, func(cmd string) *exec.Cmd) {
	t.Helper()
	script := os.Getenv("PETITIOND_KAFKA_SCRIPT")
	if script == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PETITIOND_KAFKA_SCRIPT must name scripts/kafka.sh in CI")
		}
		t.Skip("PETITIOND_KAFKA_SCRIPT not set: cannot start a broker of the test's own")
	}
	addr, controller := freeAddr(t), freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	_, cport, _ := net.SplitHostPort(controller)
	env := append(os.Environ(), "KAFKA_STATE_DIR="+t.TempDir(), "KAFKA_PORT="+port, "KAFKA_CONTROLLER_PORT="+cport)
	command := func(cmd string) *exec.Cmd {
		c := exec.Command("bash", script, cmd)
		c.Env = env
		return c
	}
	t.Cleanup(func() { command("stop").Run() })
	return addr, command
}
