package load

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// Closed and Open count successes and failures, keep the first error and
// give percentiles of the successes only.
func TestLoops(t *testing.T) {
	var n atomic.Int64
	op := func() (time.Duration, error) {
		if n.Add(1)%4 == 0 {
			return time.Hour, errors.New("refused")
		}
		return time.Millisecond, nil
	}
	for name, r := range map[string]Result{
		"closed": Closed(50*time.Millisecond, 4, op),
		"open":   Open(50*time.Millisecond, 400, op),
	} {
		if r.OK == 0 || r.Errors == 0 || r.FirstError != "refused" || r.P99 != time.Millisecond || r.Rate <= 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
}
