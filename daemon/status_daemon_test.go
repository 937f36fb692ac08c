package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/web"
	"github.com/court12368/petitiond/daemon"
)

// queue is a channel whose source says 7 messages wait; broken ones fail
// for good.
type queue struct{ broken bool }

func (q queue) Run(ctx context.Context, _ channels.Sink) error {
	if q.broken {
		return channels.Permanent(errors.New("mailbox \"收件箱\" refused\nsecond line"))
	}
	<-ctx.Done()
	return nil
}

func (queue) Backlog() []channels.Backlog {
	return []channels.Backlog{{Unit: channels.UnitMessages, N: 7}}
}

type queueConfig struct {
	Broken bool `yaml:"broken"`
}

func queueRegistry() *channels.Registry {
	reg := channels.NewRegistry()
	reg.Register(channels.Type{
		Name:      "queue",
		NewConfig: func() any { return &queueConfig{} },
		New: func(c any, _ channels.Env) (channels.Channel, error) {
			return queue{broken: c.(*queueConfig).Broken}, nil
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

func (e *reloadEnv) get(path string) string {
	e.t.Helper()
	r, err := http.Get("http://" + e.d.AdminAddr() + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 {
		e.t.Fatalf("GET %s: %d %s", path, r.StatusCode, b)
	}
	return string(b)
}

// TestChannelStatusMetrics: state, backlog and last record time are in
// /metrics and on the status page with the same values, and the series of
// a removed channel go.
func TestChannelStatusMetrics(t *testing.T) {
	e := newReloadEnv(t)
	e.reg = queueRegistry()
	a := freeAddr(t)
	e.write(webEntry("web-a", a) + "  - {name: mail, type: queue}\n  - {name: bad, type: queue, settings: {broken: true}}\n")
	e.start()
	waitServing(t, a)
	waitFor(t, "the broken channel failed", func() bool { return e.status("bad").State == channels.StateFailed })
	m := e.metrics()
	for _, want := range []string{
		`petitiond_channel_state{channel="web-a",state="running",type="web"} 1`,
		`petitiond_channel_state{channel="web-a",state="failed",type="web"} 0`,
		`petitiond_channel_state{channel="bad",state="failed",type="queue"} 1`,
		`petitiond_channel_state{channel="mail",state="running",type="queue"} 1`,
		`petitiond_channel_backlog{channel="mail",unit="messages"} 7`,
		`petitiond_channel_last_record_timestamp_seconds{channel="web-a"} 1.`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(m, "petitiond_channel_"))
		}
	}
	var st daemon.Status
	if err := json.Unmarshal([]byte(e.get("/status.json")), &st); err != nil {
		t.Fatal(err)
	}
	byName := map[string]daemon.ChannelStatus{}
	for _, c := range st.Channels {
		byName[c.Name] = c
	}
	if c := byName["web-a"]; c.Received != 1 || c.Produced != 1 || c.LastRecord.IsZero() || c.State != channels.StateRunning {
		t.Errorf("web-a %+v", c)
	}
	if c := byName["mail"]; len(c.Backlog) != 1 || c.Backlog[0].N != 7 {
		t.Errorf("mail %+v", c)
	}
	if c := byName["bad"]; c.State != channels.StateFailed || c.LastError != `mailbox "…" refused` {
		t.Errorf("bad: state %s, last error %q", c.State, c.LastError)
	}
	if !st.Kafka.Up || !st.Kafka.Embedded || st.Config.Hash == "" || st.Config.LastReload != "" {
		t.Errorf("kafka %+v config %+v", st.Kafka, st.Config)
	}
	page := e.get("/")
	if !strings.Contains(page, `<tr data-channel="mail">`) || !strings.Contains(page, `data-unit="messages">7<`) || strings.Contains(page, "second line") {
		t.Errorf("page:\n%s", page)
	}

	e.write(webEntry("web-a", a))
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	m = e.metrics()
	if strings.Contains(m, `channel="mail"`) || strings.Contains(m, `channel="bad"`) {
		t.Errorf("series of removed channels remain:\n%s", grep(m, "petitiond_channel_"))
	}
	if !strings.Contains(m, `petitiond_channel_state{channel="web-a",state="running",type="web"} 1`) {
		t.Errorf("web-a's state is gone:\n%s", grep(m, "petitiond_channel_"))
	}
	if err := json.Unmarshal([]byte(e.get("/status.json")), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Channels) != 1 || st.Config.LastReload != "success" {
		t.Errorf("after the reload: %d channels, last reload %q", len(st.Channels), st.Config.LastReload)
	}
}
