package scan_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/scan"
	"github.com/court12368/petitiond/config/units"
	"github.com/court12368/petitiond/engine"
	tu "github.com/court12368/petitiond/internal/testutil"
)

// TestBacklog: scans waiting in the hot folder (here: not yet complete,
// so none is taken and no OCR tool is needed) count as files; nil before
// Run and after it returned.
func TestBacklog(t *testing.T) {
	dir := t.TempDir()
	inbox := filepath.Join(dir, "in")
	cfg := scan.NewConfig()
	cfg.Path = inbox
	cfg.MinAge = units.Duration(time.Hour) // never complete: nothing is taken
	cfg.PollInterval = units.Duration(20 * time.Millisecond)
	cfg.Court = "赣0102"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.Open(filepath.Join(dir, "blobs"), blob.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := scan.New(cfg, channels.Env{Name: "visits", Logger: slog.New(slog.DiscardHandler), Blobs: blobs, StateDir: filepath.Join(dir, "state"), DrainTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if b := ch.Backlog(); b != nil {
		t.Fatalf("backlog before Run: %v", b)
	}
	os.MkdirAll(inbox, 0o755)
	for _, name := range []string{"a.png", "b.pdf", "c.tif", ".d.png.tmp", "e.json"} {
		os.WriteFile(filepath.Join(inbox, name), []byte("x"), 0o644)
	}
	prod := tu.NewFakeProducer()
	eng := engine.New(slog.New(slog.DiscardHandler), tu.Normalizer(t), nil, prod, engine.NewMetrics(prometheus.NewRegistry(), prod.Healthy), 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ch.Run(ctx, eng.Sink("visits", "scan")) }()
	want := []channels.Backlog{{Unit: channels.UnitFiles, N: 3}, {Unit: channels.UnitPages, N: 0}}
	if !tu.Eventually(5*time.Second, func() bool { return slices.Equal(ch.Backlog(), want) }) {
		t.Errorf("backlog %v, want %v", ch.Backlog(), want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b := ch.Backlog(); b != nil {
		t.Errorf("backlog after Run returned: %v", b)
	}
}
