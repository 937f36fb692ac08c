package daemon_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/daemon"
	"github.com/court12368/petitiond/internal/testutil"
)

type reloadEnv struct {
	t     *testing.T
	kafka string
	dir   string
	file  string
	head  string
	reg   *channels.Registry
	logs  *syncBuffer
	d     *daemon.Daemon
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newReloadEnv(t *testing.T) *reloadEnv {
	dir := t.TempDir()
	e := &reloadEnv{t: t, dir: dir, file: filepath.Join(dir, "petitiond.yaml"), kafka: freeAddr(t), reg: channels.Default, logs: &syncBuffer{}}
	e.head = fmt.Sprintf(`kafka:
  embedded: {listen: %q, data_dir: %q}
blobs: {dir: %q}
state: {dir: %q}
routes: {default_topic: petitions.intake, dead_letter_topic: petitions.deadletter}
admin: {listen: %q}
`, e.kafka, filepath.Join(dir, "kafka"), filepath.Join(dir, "blobs"), filepath.Join(dir, "state"), freeAddr(t))
	return e
}

func (e *reloadEnv) write(channelsYAML string) {
	e.t.Helper()
	if err := os.WriteFile(e.file, []byte(e.head+"channels:\n"+channelsYAML), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func (e *reloadEnv) start() {
	e.t.Helper()
	cfg, err := config.Load(e.file, e.reg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.d, err = daemon.Start(cfg, e.reg, slog.New(slog.NewTextHandler(e.logs, nil)))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		e.d.Shutdown()
		if e.t.Failed() {
			e.t.Logf("daemon logs:\n%s", e.logs)
		}
	})
}

// metrics returns the admin listener's /metrics.
func (e *reloadEnv) metrics() string {
	e.t.Helper()
	r, err := http.Get("http://" + e.d.AdminAddr() + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// status returns the status of the named channel (zero when absent).
func (e *reloadEnv) status(name string) channels.Status {
	for _, st := range e.d.Channels() {
		if st.Name == name {
			return st
		}
	}
	return channels.Status{}
}

func webEntry(name, addr string) string {
	return fmt.Sprintf("  - {name: %s, type: web, settings: {listen: %q}}\n", name, addr)
}

func post(addr string) (int, error) {
	r, err := http.Post("http://"+addr+"/petitions", "application/json", bytes.NewReader([]byte(`{"content":"请求"}`)))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return r.StatusCode, nil
}

// waitServing posts once: a web channel's listener is bound when Start or
// Reload returns, so a connection waits for it to serve, never refused.
func waitServing(t *testing.T, addr string) {
	t.Helper()
	st, err := post(addr)
	if err != nil {
		t.Fatalf("%s does not serve: %v", addr, err)
	}
	if st != 201 {
		t.Fatalf("%s answered %d", addr, st)
	}
}

// TestReloadAddsAndRemovesWithoutDisturbing keeps a steady stream of
// requests on one web channel while another is added and then removed:
// the steady one never drops a request.
func TestReloadAddsAndRemovesWithoutDisturbing(t *testing.T) {
	e := newReloadEnv(t)
	a, b := freeAddr(t), freeAddr(t)
	e.write(webEntry("web-a", a))
	e.start()
	waitServing(t, a)

	load := hammer(func() (int, error) { return post(a) }, 4)

	e.write(webEntry("web-a", a) + webEntry("web-b", b))
	if err := e.d.Reload(e.file); err != nil {
		t.Fatalf("reload adding web-b: %v", err)
	}
	waitServing(t, b)

	// Hammer web-b while it is removed: every submission it acknowledged
	// must be in Kafka.
	var bMu sync.Mutex
	var bAcked []string
	bStop := make(chan struct{})
	bBusy := make(chan struct{})
	var bOnce sync.Once
	var bwg sync.WaitGroup
	for w := 0; w < 4; w++ {
		bwg.Add(1)
		go func() {
			defer bwg.Done()
			for {
				select {
				case <-bStop:
					return
				default:
				}
				r, err := http.Post("http://"+b+"/petitions", "application/json", bytes.NewReader([]byte(`{"content":"移除中"}`)))
				if err != nil {
					return
				}
				var rep struct{ ID string }
				json.NewDecoder(r.Body).Decode(&rep)
				r.Body.Close()
				if r.StatusCode == 201 {
					bMu.Lock()
					bAcked = append(bAcked, rep.ID)
					if len(bAcked) == 50 {
						bOnce.Do(func() { close(bBusy) })
					}
					bMu.Unlock()
				}
			}
		}()
	}
	<-bBusy // web-b is busy
	e.write(webEntry("web-a", a))
	if err := e.d.Reload(e.file); err != nil {
		t.Fatalf("reload removing web-b: %v", err)
	}
	close(bStop)
	bwg.Wait()
	have := map[string]bool{}
	for _, k := range consumeKeys(t, e.kafka, "petitions.intake") {
		have[k] = true
	}
	lost := 0
	for _, id := range bAcked {
		if !have[id] {
			lost++
		}
	}
	t.Logf("removed channel acknowledged %d submissions while draining", len(bAcked))
	if lost > 0 {
		t.Errorf("%d of %d submissions acknowledged by the removed channel are not in Kafka", lost, len(bAcked))
	}
	if _, err := post(b); err == nil {
		t.Errorf("web-b still answers after it was removed")
	}
	if sent, failed, _ := load(); sent == 0 || failed != 0 {
		t.Errorf("steady channel: %d requests, %d failed during reloads; want none failed", sent, failed)
	}
}

func TestBrokenReloadKeepsRunning(t *testing.T) {
	e := newReloadEnv(t)
	a := freeAddr(t)
	e.write(webEntry("web-a", a))
	e.start()
	waitServing(t, a)
	e.write("  - {name: web-a, type: web, settings: {listen: 1, bogus: true}}\n")
	if err := e.d.Reload(e.file); err == nil {
		t.Fatal("broken config reloaded without error")
	}
	if st, err := post(a); err != nil || st != 201 {
		t.Errorf("after a broken reload web-a answers %d, %v", st, err)
	}
	m := e.metrics()
	for _, want := range []string{`petitiond_config_reloads_total{result="failure"} 1`, "petitiond_config_last_reload_successful 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q after a failed reload", want)
		}
	}
}

// consumeKeys reads every record key of topic up to its end.
func consumeKeys(t *testing.T, broker, topic string) []string {
	t.Helper()
	recs, err := testutil.ReadAll([]string{broker}, topic, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = string(r.Key)
	}
	return keys
}

// hammer runs workers goroutines that call post until the returned stop
// function is called; stop waits for them and returns how many calls were
// made, how many did not answer 201, and the first failure.
func hammer(post func() (int, error), workers int) (stop func() (sent, failed int64, first string)) {
	done := make(chan struct{})
	var nSent, nFailed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				st, err := post()
				nSent.Add(1)
				if err != nil || st != 201 {
					nFailed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %v", st, err))
				}
			}
		}()
	}
	return func() (int64, int64, string) {
		close(done)
		wg.Wait()
		f, _ := firstErr.Load().(string)
		return nSent.Load(), nFailed.Load(), f
	}
}
