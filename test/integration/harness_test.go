// Package integration runs the built petitiond binary against a real Apache
// Kafka broker (scripts/kafka.sh) and reads the records back.
//
// PETITIOND_KAFKA names the broker (make test sets it). Without it the
// tests skip — except under CI=true, where a missing broker is a failure.
package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/court12368/petitiond/internal/testutil"
)

var binary string

func TestMain(m *testing.M) { testutil.MainWithDaemon(m, "petitiond-it-", &binary) }

// broker returns the real broker's address, skipping (or failing in CI)
// when none is configured or reachable.
func broker(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("PETITIOND_KAFKA")
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real Kafka broker required in CI: %s (run scripts/kafka.sh start and set PETITIOND_KAFKA)", why)
		}
		t.Skipf("no real Kafka broker: %s (make test starts one)", why)
	}
	if addr == "" {
		missing("PETITIOND_KAFKA is not set")
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		missing(err.Error())
	}
	c.Close()
	return addr
}

func freeAddr(t *testing.T) string { return testutil.FreeAddr() }

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// env is one daemon under test with its own topics and directories.
type env struct {
	t         *testing.T
	dir       string
	brokers   []string
	topic     string
	dead      string
	webAddr   string
	adminAddr string
	cfgFile   string
	d         *testutil.Daemon
}

// newEnv prepares a config; extra is appended under channels: (YAML list
// items) when not empty, else one web channel is configured.
func newEnv(t *testing.T, brokerAddr string, extraSettings string) *env {
	t.Helper()
	s := randomSuffix()
	e := &env{
		t:         t,
		dir:       t.TempDir(),
		brokers:   []string{brokerAddr},
		topic:     "it." + s + ".intake",
		dead:      "it." + s + ".dead",
		webAddr:   freeAddr(t),
		adminAddr: freeAddr(t),
	}
	cfg := fmt.Sprintf(`kafka:
  brokers: [%q]
  max_attempts: 2
  write_timeout: 3s
blobs: {dir: %q}
state: {dir: %q}
pipeline: {drain_timeout: 20s}
routes:
  default_topic: %s
  dead_letter_topic: %s
  rules:
    - {name: priority, when: 'category == "filing_refusal"', topic: %s.priority}
channels:
  - name: web-it
    type: web
    settings:
      listen: %q
      max_body_size: 64KiB
      max_attachment_size: 1MiB
%s
admin: {listen: %q}
log: {level: debug}
`, brokerAddr, filepath.Join(e.dir, "blobs"), filepath.Join(e.dir, "state"), e.topic, e.dead, e.topic, e.webAddr, extraSettings, e.adminAddr)
	e.cfgFile = filepath.Join(e.dir, "petitiond.yaml")
	if err := os.WriteFile(e.cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// start runs the daemon and waits until its web channel listens.
func (e *env) start() {
	e.t.Helper()
	d, err := testutil.StartDaemon(binary, e.cfgFile, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	first := e.d == nil
	e.d = d
	if first {
		e.t.Cleanup(func() {
			e.d.Kill()
			if e.t.Failed() {
				e.t.Logf("petitiond logs:\n%s", e.d.Logs())
			}
		})
	}
	if err := d.WaitLog("web channel listening", 60*time.Second); err != nil {
		e.t.Fatalf("%v\n%s", err, d.Logs())
	}
}

// stop sends SIGTERM and returns the exit error.
func (e *env) stop() error { return e.d.Stop(60 * time.Second) }

// kill kills the daemon (a simulated crash).
func (e *env) kill() { e.d.Kill() }

// logs returns the running (or last) daemon's log.
func (e *env) logs() string { return e.d.Logs() }

type reply struct {
	Status     int    `json:"-"`
	Held       string `json:"status"` // held_for_review with 202
	Header     http.Header
	ID         string `json:"id"`
	TrackingNo string `json:"tracking_no"`
	ReceivedAt string `json:"received_at"`
	Error      string `json:"error"`
	Field      string `json:"field"`
}

var client = &http.Client{Timeout: 120 * time.Second}

func (e *env) post(ctype string, body []byte, hdr map[string]string) (reply, error) {
	req, _ := http.NewRequest("POST", "http://"+e.webAddr+"/petitions", bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	r, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer r.Body.Close()
	var rep reply
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &rep); err != nil {
		return reply{}, fmt.Errorf("status %d, reply not JSON: %q", r.StatusCode, b)
	}
	rep.Status = r.StatusCode
	rep.Header = r.Header
	return rep, nil
}

func (e *env) mustPost(ctype string, body []byte, hdr map[string]string) reply {
	e.t.Helper()
	r, err := e.post(ctype, body, hdr)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// record is a consumed Kafka record.
type record struct {
	Key     string
	Value   map[string]any
	Raw     []byte
	Headers map[string]string
}

// consume reads topic from the start until want records arrived or the
// deadline passed (then it returns what it has).
func consume(t *testing.T, brokers []string, topic string, want int, within time.Duration) []record {
	t.Helper()
	recs, err := testutil.ReadTopic(brokers, topic, want, within)
	if err != nil {
		t.Fatal(err)
	}
	return records(recs)
}

// consumeRouted reads the default topic and the priority topic (the
// harness routes filing refusals there) until there are want records, or
// within has passed.
func consumeRouted(t *testing.T, e *env, want int, within time.Duration) []record {
	t.Helper()
	var recs []record
	testutil.Eventually(within, func() bool {
		recs = append(consumeAll(t, e.brokers, e.topic), consumeAll(t, e.brokers, e.topic+".priority")...)
		return len(recs) >= want
	})
	return recs
}

// consumeAll reads everything in topic up to its current end. petitiond
// creates its topics in the background after it started, so a test that
// reads before anything was produced first waits for the topic.
func consumeAll(t *testing.T, brokers []string, topic string) []record {
	t.Helper()
	if err := testutil.WaitTopic(brokers, topic, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	recs, err := testutil.ReadAll(brokers, topic, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return records(recs)
}

func records(recs []*kgo.Record) []record {
	out := make([]record, 0, len(recs))
	for _, r := range recs {
		rec := record{Key: string(r.Key), Raw: r.Value, Headers: map[string]string{}}
		json.Unmarshal(r.Value, &rec.Value)
		for _, h := range r.Headers {
			rec.Headers[h.Key] = string(h.Value)
		}
		out = append(out, rec)
	}
	return out
}
