// Package integration runs the built petitiond binary against a real Apache
// Kafka broker (scripts/kafka.sh) and reads the records back.
//
// PETITIOND_KAFKA names the broker (make test sets it). Without it the
// tests skip — except under CI=true, where a missing broker is a failure.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "petitiond-it-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "petitiond")
	build := exec.Command("go", "build", "-o", binary, "github.com/court12368/petitiond/cmd/petitiond")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building petitiond:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

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

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

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
	cmd       *exec.Cmd
	logs      *logBuffer
	exited    chan error
}

type logBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
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
	e.logs = &logBuffer{}
	cmd := exec.Command(binary, "run", "-c", e.cfgFile)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.cmd = cmd
	e.exited = make(chan error, 1)
	go func() { err := cmd.Wait(); pw.Close(); e.exited <- err }()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			e.logs.Write([]byte(line + "\n"))
			if !signalled && strings.Contains(line, "web channel listening") {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case <-ready:
	case err := <-e.exited:
		e.t.Fatalf("petitiond exited at start: %v\n%s", err, e.logs)
	case <-time.After(60 * time.Second):
		e.t.Fatalf("petitiond did not start listening\n%s", e.logs)
	}
	e.t.Cleanup(func() {
		if e.cmd.ProcessState == nil {
			e.cmd.Process.Kill()
			<-e.exited
		}
		if e.t.Failed() {
			e.t.Logf("petitiond logs:\n%s", e.logs)
		}
	})
}

// stop sends SIGTERM and returns the exit error.
func (e *env) stop() error {
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-e.exited:
		return err
	case <-time.After(60 * time.Second):
		e.cmd.Process.Kill()
		return fmt.Errorf("petitiond did not exit within 60s of SIGTERM")
	}
}

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
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var out []record
	for len(out) < want && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			rec := record{Key: string(r.Key), Raw: r.Value, Headers: map[string]string{}}
			json.Unmarshal(r.Value, &rec.Value)
			for _, h := range r.Headers {
				rec.Headers[h.Key] = string(h.Value)
			}
			out = append(out, rec)
		})
	}
	return out
}

// consumeAll reads everything in topic up to its current end.
func consumeAll(t *testing.T, brokers []string, topic string) []record {
	t.Helper()
	// Produce a marker? No: read until a poll returns nothing for a while
	// after the end offsets were reached.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	total := endOffsets(t, cl, topic)
	return consume(t, brokers, topic, int(total), 30*time.Second)
}

func endOffsets(t *testing.T, cl *kgo.Client, topic string) int64 {
	t.Helper()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	var total int64
	offs.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			total += o.Offset
		}
	})
	return total
}
