package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/web"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/daemon"
)

// flaky fails (or panics) on its first runs, then runs until cancelled.
type flaky struct {
	runs    *atomic.Int32
	running chan struct{}
}

func (f *flaky) Run(ctx context.Context, _ channels.Sink) error {
	switch f.runs.Add(1) {
	case 1:
		return errors.New("source unreachable")
	case 2:
		panic("bug in a channel")
	}
	close(f.running)
	<-ctx.Done()
	return nil
}

// TestSupervisorRestartsFailingChannel: a channel that errors and panics is
// restarted with backoff, and the other channels keep serving meanwhile.
func TestSupervisorRestartsFailingChannel(t *testing.T) {
	reg := channels.NewRegistry()
	var runs atomic.Int32
	running := make(chan struct{})
	reg.Register(channels.Type{
		Name:      "flaky",
		NewConfig: func() any { return &struct{}{} },
		New: func(any, channels.Env) (channels.Channel, error) {
			return &flaky{runs: &runs, running: running}, nil
		},
	})
	reg.Register(channels.Type{
		Name:      "web",
		NewConfig: func() any { return web.NewConfig() },
		New:       func(c any, env channels.Env) (channels.Channel, error) { return web.New(c.(*web.Config), env) },
	})
	dir := t.TempDir()
	webAddr := freeAddr(t)
	src := fmt.Sprintf(`kafka: {embedded: {listen: %q, data_dir: %q}}
blobs: {dir: %q}
state: {dir: %q}
admin: {listen: "127.0.0.1:0"}
channels:
  - {name: flaky-one, type: flaky}
  - {name: web-ok, type: web, settings: {listen: %q}}
`, freeAddr(t), filepath.Join(dir, "k"), filepath.Join(dir, "b"), filepath.Join(dir, "s"), webAddr)
	cfg, err := config.Parse("s.yaml", []byte(src), reg)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	d, err := daemon.Start(cfg, reg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown()
	waitServing(t, webAddr) // the web channel serves while flaky fails
	<-running               // third run: after an error and a panic
	if n := runs.Load(); n != 3 {
		t.Errorf("runs = %d, want 3", n)
	}
	r, err := http.Get("http://" + d.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(b), `petitiond_channel_restarts_total{channel="flaky-one"} 2`) {
		t.Errorf("restarts not counted")
	}
	// The channel's logger carries its name; the supervisor must not add
	// it a second time.
	restarts := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "channel failed; restarting") {
			continue
		}
		restarts++
		if n := strings.Count(line, "channel=flaky-one"); n != 1 {
			t.Errorf("channel attribute %d times in %q, want once", n, line)
		}
	}
	if restarts != 2 {
		t.Errorf("%d restart log lines, want 2:\n%s", restarts, logs.String())
	}
}

// lockedBuffer is a bytes.Buffer safe for the daemon's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// down never connects.
type down struct{}

func (down) Run(context.Context, channels.Sink) error {
	return errors.New("connect 192.0.2.1:993: connection refused")
}

// leaky fails with an error that quotes what a caller sent: a mobile
// number, a resident id and a name.
type leaky struct{}

func (leaky) Run(context.Context, channels.Sink) error {
	return errors.New(`callback to 13912345678 for id 11010519491231002X failed: caller "张三" hung up`)
}

// TestReadyzNamesChannelsThatAreDown: a channel that keeps failing makes
// /readyz answer 503 naming it and its error, while the others serve.
// /readyz needs no admin token, so the error is scrubbed as on the status
// page: no phone number, resident id or quoted text in the answer.
func TestReadyzNamesChannelsThatAreDown(t *testing.T) {
	reg := channels.NewRegistry()
	reg.Register(channels.Type{
		Name:      "down",
		NewConfig: func() any { return &struct{}{} },
		New:       func(any, channels.Env) (channels.Channel, error) { return down{}, nil },
	})
	reg.Register(channels.Type{
		Name:      "leaky",
		NewConfig: func() any { return &struct{}{} },
		New:       func(any, channels.Env) (channels.Channel, error) { return leaky{}, nil },
	})
	reg.Register(channels.Type{
		Name:      "web",
		NewConfig: func() any { return web.NewConfig() },
		New:       func(c any, env channels.Env) (channels.Channel, error) { return web.New(c.(*web.Config), env) },
	})
	dir := t.TempDir()
	webAddr := freeAddr(t)
	src := fmt.Sprintf(`kafka: {embedded: {listen: %q, data_dir: %q}}
blobs: {dir: %q}
state: {dir: %q}
admin: {listen: "127.0.0.1:0"}
channels:
  - {name: letters, type: down}
  - {name: callbacks, type: leaky}
  - {name: web-ok, type: web, settings: {listen: %q}}
`, freeAddr(t), filepath.Join(dir, "k"), filepath.Join(dir, "b"), filepath.Join(dir, "s"), webAddr)
	cfg, err := config.Parse("s.yaml", []byte(src), reg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(cfg, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown()
	waitServing(t, webAddr)
	var body string
	var status int
	waitFor(t, "/readyz naming letters", func() bool {
		r, err := http.Get("http://" + d.AdminAddr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		status, body = r.StatusCode, string(b)
		return status == 503 && strings.Contains(body, "letters") && strings.Contains(body, "callbacks")
	})
	if status != 503 || !strings.Contains(body, "channel letters: restarting (connect 192.0.2.1:993: connection refused)") {
		t.Errorf("/readyz = %d %q, want 503 naming the channel letters and its error", status, body)
	}
	if want := `channel callbacks: restarting (callback to 139****5678 for id 110105********002X failed: caller "…" hung up)`; !strings.Contains(body, want) {
		t.Errorf("/readyz = %q, want the masked line %q", body, want)
	}
	for _, leak := range []string{"13912345678", "11010519491231002X", "张三"} {
		if strings.Contains(body, leak) {
			t.Errorf("/readyz shows %q unmasked: %q", leak, body)
		}
	}
	if strings.Contains(body, "web-ok") {
		t.Errorf("/readyz names the channel that serves: %q", body)
	}
	for _, st := range d.Channels() {
		if st.Name == "web-ok" && st.State != channels.StateRunning {
			t.Errorf("web-ok is %s", st.State)
		}
	}
}
