package daemon_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/web"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/daemon"
)

// fragileType is a channel type whose New fails while fail is set, and
// whose Run fails for good (channels.Permanent) while broken is set.
type fragileType struct {
	fail, broken atomic.Bool
	news         atomic.Int32
}

type fragileConfig struct {
	X int `yaml:"x"`
}

type fragile struct{ ft *fragileType }

func (f fragile) Run(ctx context.Context, _ channels.Sink) error {
	if f.ft.broken.Load() {
		return channels.Permanent(errors.New("the source refuses these settings"))
	}
	<-ctx.Done()
	return nil
}

// registry has the web type and a fragile one.
func (ft *fragileType) registry() *channels.Registry {
	reg := channels.NewRegistry()
	reg.Register(channels.Type{
		Name:      "fragile",
		NewConfig: func() any { return &fragileConfig{} },
		New: func(any, channels.Env) (channels.Channel, error) {
			if ft.fail.Load() {
				return nil, errors.New("cannot read the CA file")
			}
			ft.news.Add(1)
			return fragile{ft}, nil
		},
	})
	reg.Register(channels.Type{
		Name:      "web",
		NewConfig: func() any { return web.NewConfig() },
		New:       func(c any, env channels.Env) (channels.Channel, error) { return web.New(c.(*web.Config), env) },
		Mapping:   true,
	})
	return reg
}

func (e *reloadEnv) reload() error {
	e.t.Helper()
	return e.d.Reload(e.file)
}

// TestCommentOnlyEditKeepsChannel: editing only comments and layout of a
// channel's entry does not restart it.
func TestCommentOnlyEditKeepsChannel(t *testing.T) {
	e := newReloadEnv(t)
	a := freeAddr(t)
	e.write(webEntry("web-portal", a))
	e.start()
	waitServing(t, a)
	before := e.status("web-portal")
	e.write(fmt.Sprintf("  # the citizens' portal\n  - name: web-portal # keep the name\n    type: web\n    settings:\n      listen: %q # behind the proxy\n", a))
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	if l := lastLine(e.logs.String(), "configuration reloaded"); !strings.Contains(l, "added=[] removed=[] changed=[]") {
		t.Errorf("a comment-only edit changed channels: %s", l)
	}
	if after := e.status("web-portal"); after.Since != before.Since {
		t.Errorf("web-portal was restarted by a comment-only edit")
	}
	if st, err := post(a); err != nil || st != 201 {
		t.Errorf("after the reload web-portal answers %d, %v", st, err)
	}
}

func lastLine(logs, substr string) string {
	lines := strings.Split(logs, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], substr) {
			return lines[i]
		}
	}
	return ""
}

// TestConstructorFailureOnReload: a channel whose New fails rejects the
// whole reload (the old instance keeps running), and the same file
// reloaded again once the cause is mended applies it — the failed
// settings are not recorded as running.
func TestConstructorFailureOnReload(t *testing.T) {
	ft := &fragileType{}
	e := newReloadEnv(t)
	e.reg = ft.registry()
	a := freeAddr(t)
	e.write(webEntry("web-a", a) + "  - {name: frag, type: fragile, settings: {x: 1}}\n")
	e.start()
	waitServing(t, a)
	old := e.status("frag")

	ft.fail.Store(true)
	e.write(webEntry("web-a", a) + "  - {name: frag, type: fragile, settings: {x: 2}}\n  - {name: frag-new, type: fragile}\n")
	err := e.reload()
	if err == nil {
		t.Fatal("a reload whose channels cannot be built succeeded")
	}
	for _, want := range []string{"channels[1]: frag: cannot read the CA file", "channels[2]: frag-new: cannot read the CA file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("reload error lacks %q:\n%v", want, err)
		}
	}
	if st := e.status("frag"); st.State != channels.StateRunning || st.Since != old.Since {
		t.Errorf("the old frag instance was touched by the rejected reload: %+v", st)
	}
	if st := e.status("frag-new"); st.Name != "" {
		t.Errorf("frag-new is recorded although it could not be built: %+v", st)
	}
	if m := e.metrics(); !strings.Contains(m, "petitiond_config_last_reload_successful 0") {
		t.Errorf("a rejected reload is not in the metrics")
	}

	ft.fail.Store(false)
	if err := e.reload(); err != nil {
		t.Fatalf("the same file, reloaded once New succeeds: %v", err)
	}
	if st := e.status("frag"); st.Since == old.Since {
		t.Errorf("frag was not restarted with its new settings")
	}
	waitFor(t, "frag-new running", func() bool { return e.status("frag-new").State == channels.StateRunning })
	if l := lastLine(e.logs.String(), "configuration reloaded"); !strings.Contains(l, "added=[frag-new] removed=[] changed=[frag]") {
		t.Errorf("reload log: %s", l)
	}
}

// TestFailedChannelIsRebuiltOnReload: a channel that failed for good is
// built again by the next reload, even of an unchanged file.
func TestFailedChannelIsRebuiltOnReload(t *testing.T) {
	ft := &fragileType{}
	ft.broken.Store(true)
	e := newReloadEnv(t)
	e.reg = ft.registry()
	e.write("  - {name: frag, type: fragile}\n")
	e.start()
	waitFor(t, "frag failed", func() bool { return e.status("frag").State == channels.StateFailed })
	ft.broken.Store(false)
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "frag running after the reload", func() bool { return e.status("frag").State == channels.StateRunning })
	if n := ft.news.Load(); n != 2 {
		t.Errorf("frag built %d times, want 2", n)
	}
}

// TestBindFailureAtStart: a listener that cannot bind makes the start
// fail with the channel and the address named; nothing is left running.
func TestBindFailureAtStart(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	e := newReloadEnv(t)
	free := freeAddr(t)
	e.write(webEntry("web-free", free) + webEntry("web-taken", taken.Addr().String()))
	cfg, err := config.Load(e.file, channels.Default)
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(cfg, channels.Default, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		d.Shutdown()
		t.Fatal("the daemon started with a listener that cannot bind")
	}
	want := fmt.Sprintf("petitiond.yaml:%d: channels[1]: web-taken: web: listen: listen tcp %s: bind: address already in use", 9, taken.Addr())
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Start error:\n%v\nwant it to contain\n%s", err, want)
	}
	if _, err := post(free); err == nil {
		t.Errorf("web-free still listens after the failed start")
	}
	if ln, err := net.Listen("tcp", free); err != nil {
		t.Errorf("web-free's address was not released: %v", err)
	} else {
		ln.Close()
	}
}

// TestBindFailureOnReload: a reload adding a listener that cannot bind is
// rejected as a whole.
func TestBindFailureOnReload(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	e := newReloadEnv(t)
	a, b := freeAddr(t), freeAddr(t)
	e.write(webEntry("web-a", a))
	e.start()
	waitServing(t, a)
	e.write(webEntry("web-a", a) + webEntry("web-b", b) + webEntry("web-c", taken.Addr().String()))
	if err := e.reload(); err == nil || !strings.Contains(err.Error(), "web-c: web: listen") {
		t.Fatalf("reload = %v, want web-c's listen error", err)
	}
	if _, err := post(b); err == nil {
		t.Errorf("web-b serves although its reload was rejected")
	}
	if len(e.d.Channels()) != 1 {
		t.Errorf("channels after the rejected reload: %v", e.d.Channels())
	}
	// Two channels of one configuration cannot share an address.
	e.write(webEntry("web-a", a) + webEntry("web-twin", a))
	if err := e.reload(); err == nil || !strings.Contains(err.Error(), "address already used by channel web-a") {
		t.Fatalf("reload with two channels on one address = %v", err)
	}
	if st, err := post(a); err != nil || st != 201 {
		t.Errorf("web-a after the rejected reloads: %d, %v", st, err)
	}
}

// TestChangedWebChannelKeepsItsSocket: a web channel restarted with new
// settings on the same address refuses no connection meanwhile. (Each
// request on a new connection: an idle keep-alive connection the old
// instance closes as it stops is retried by clients that send an
// Idempotency-Key, as Go's own client does.)
func TestChangedWebChannelKeepsItsSocket(t *testing.T) {
	e := newReloadEnv(t)
	a := freeAddr(t)
	e.write(webEntry("web-a", a))
	e.start()
	waitServing(t, a)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	post := func(addr string) (int, error) {
		r, err := client.Post("http://"+addr+"/petitions", "application/json", strings.NewReader(`{"content":"请求"}`))
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return r.StatusCode, nil
	}
	load := hammer(func() (int, error) { return post(a) }, 4)
	for i, size := range []string{"128KiB", "256KiB", "64KiB"} {
		e.write(fmt.Sprintf("  - {name: web-a, type: web, settings: {listen: %q, max_body_size: %s}}\n", a, size))
		if err := e.reload(); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	sent, failed, first := load()
	if !strings.Contains(e.logs.String(), "changed=[web-a]") {
		t.Errorf("web-a was not restarted")
	}
	if failed > 0 {
		t.Errorf("%d of %d requests failed while web-a was restarted on its address (first: %v)", failed, sent, first)
	}
}

// TestReloadMetrics: the reload metrics say whether the last reload
// succeeded, when the running configuration was loaded, and which one it is.
func TestReloadMetrics(t *testing.T) {
	e := newReloadEnv(t)
	a := freeAddr(t)
	e.write(webEntry("web-a", a))
	e.start()
	hash := func() string {
		b, err := os.ReadFile(e.file)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:])
	}
	first := hash()
	m := e.metrics()
	for _, want := range []string{"petitiond_config_last_reload_successful 1", `petitiond_config_info{hash="` + first + `"} 1`,
		"petitiond_config_last_reload_success_timestamp_seconds 1."} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics after the start lacks %q", want)
		}
	}
	e.write(webEntry("web-a", a) + "  - {name: broken, type: nosuch}\n")
	e.reload()
	if m := e.metrics(); !strings.Contains(m, "petitiond_config_last_reload_successful 0") || !strings.Contains(m, `petitiond_config_info{hash="`+first+`"} 1`) {
		t.Errorf("after a rejected reload: want successful 0 and the running config's hash")
	}
	e.write(webEntry("web-a", a) + "# a comment\n")
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	m = e.metrics()
	if !strings.Contains(m, "petitiond_config_last_reload_successful 1") || !strings.Contains(m, `petitiond_config_info{hash="`+hash()+`"} 1`) ||
		strings.Contains(m, first) {
		t.Errorf("after a successful reload: want successful 1 and only the new hash:\n%s", grep(m, "petitiond_config"))
	}
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
