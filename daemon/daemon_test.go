package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/court12368/petitiond/channels"
	_ "github.com/court12368/petitiond/channels/all"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/daemon"
	"github.com/court12368/petitiond/internal/testutil"
)

func TestSampleConfigIsValid(t *testing.T) {
	cfg, err := config.Load("../examples/petitiond.yaml", channels.Default)
	if err != nil {
		t.Fatalf("examples/petitiond.yaml: %v", err)
	}
	if _, err := daemon.Build(cfg, channels.Default); err != nil {
		t.Fatalf("examples/petitiond.yaml: %v", err)
	}
	if cfg.Kafka.Embedded == nil {
		t.Errorf("the sample config must use the embedded broker (make run needs nothing else)")
	}
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

// TestEmbeddedEndToEnd is what `make run` does: the embedded broker, a web
// submission, the record read back with a Kafka client.
func TestEmbeddedEndToEnd(t *testing.T) {
	dir := t.TempDir()
	kafkaAddr, webAddr := freeAddr(t), freeAddr(t)
	src := fmt.Sprintf(`kafka:
  embedded: {listen: %q, data_dir: %q}
blobs: {dir: %q}
state: {dir: %q}
routes: {default_topic: petitions.intake, dead_letter_topic: petitions.deadletter}
channels:
  - {name: web-portal, type: web, settings: {listen: %q}}
admin: {listen: "127.0.0.1:0"}
`, kafkaAddr, filepath.Join(dir, "kafka"), filepath.Join(dir, "blobs"), filepath.Join(dir, "state"), webAddr)
	cfg, err := config.Parse("embedded.yaml", []byte(src), channels.Default)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	d, err := daemon.Start(cfg, channels.Default, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()
	if !strings.Contains(logs.String(), "single-node") {
		t.Errorf("the embedded broker is not announced as single-node:\n%s", logs.String())
	}
	body := []byte(`{"name":"张三","content":"请求立案"}`)
	var rep struct{ ID, TrackingNo string }
	// The listener is bound once Start returns.
	r, err := http.Post("http://"+webAddr+"/petitions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 201 {
		t.Fatalf("status %d: %s", r.StatusCode, b)
	}
	json.Unmarshal(b, &rep)
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr), kgo.ConsumeTopics("petitions.intake"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var rec *kgo.Record
	for rec == nil && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { rec = r })
	}
	if rec == nil {
		t.Fatal("no record in the embedded broker")
	}
	if string(rec.Key) != rep.ID {
		t.Errorf("record key %s, reply id %s", rec.Key, rep.ID)
	}
	testutil.ValidatePetition(t, rec.Value)
}

// waitFor waits until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !testutil.Eventually(10*time.Second, cond) {
		t.Fatalf("%s: not within 10s", what)
	}
}
