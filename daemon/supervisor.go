package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/engine"
)

// running is one supervised channel instance.
type running struct {
	cfg    config.Channel
	cancel context.CancelFunc
	done   chan struct{}
}

// supervise runs ch until ctx is done, restarting it with exponential
// backoff (1s … 1m) when Run fails or panics. One channel's failure never
// takes another down.
func supervise(ctx context.Context, log *slog.Logger, name string, ch channels.Channel, sink channels.Sink, m *engine.Metrics) {
	backoff := time.Second
	for {
		start := time.Now()
		err := runOnce(ctx, ch, sink)
		if ctx.Err() != nil {
			if err != nil {
				log.Warn("channel stopped with error", "channel", name, "err", err)
			}
			return
		}
		if err == nil {
			err = fmt.Errorf("Run returned without cancellation")
		}
		if time.Since(start) > 5*time.Minute {
			backoff = time.Second
		}
		m.Restarts.WithLabelValues(name).Inc()
		log.Error("channel failed; restarting", "channel", name, "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff *= 2
		if backoff > time.Minute {
			backoff = time.Minute
		}
	}
}

func runOnce(ctx context.Context, ch channels.Channel, sink channels.Sink) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return ch.Run(ctx, sink)
}
