// Package load drives an operation the way the harnesses need: a closed
// loop of waiting clients or an open loop at a fixed rate, recording the
// latency of every success. bench/report and bench/loadgen share it.
package load

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Op is one operation: its latency, and nil when it succeeded.
type Op func() (time.Duration, error)

// Result is what a loop measured.
type Result struct {
	Rate       float64 // successes per second
	P50, P99   time.Duration
	OK, Errors int
	FirstError string
}

// recorder collects the latencies of successes and counts failures, from
// many goroutines.
type recorder struct {
	mu         sync.Mutex
	lat        []time.Duration
	ok, errors int
	first      string
}

func (r *recorder) add(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.ok++
		r.lat = append(r.lat, d)
		return
	}
	if r.errors == 0 {
		r.first = err.Error()
	}
	r.errors++
}

func (r *recorder) result(elapsed time.Duration) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	res := Result{OK: r.ok, Errors: r.errors, FirstError: r.first, Rate: float64(r.ok) / elapsed.Seconds()}
	if len(r.lat) > 0 {
		res.P50 = r.lat[len(r.lat)/2]
		res.P99 = r.lat[len(r.lat)*99/100]
	}
	return res
}

// Closed runs op in conc goroutines, each calling it again as soon as it
// returns, for dur: conc waiting clients.
func Closed(dur time.Duration, conc int, op Op) Result {
	var rec recorder
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				rec.add(op())
			}
		}()
	}
	wg.Wait()
	return rec.result(time.Since(start))
}

// Open starts op every 1/rate seconds for dur, whatever the answers.
func Open(dur time.Duration, rate int, op Op) Result {
	var rec recorder
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	for next := start; next.Before(start.Add(dur)); next = next.Add(interval) {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec.add(op())
		}()
	}
	wg.Wait()
	return rec.result(time.Since(start))
}

// Timed times f as an Op.
func Timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 1024}, Timeout: 60 * time.Second}

// Post is an Op posting a JSON petition: success is 201 Created.
func Post(url string, body []byte) Op {
	return PostEach(url, func(uint64) []byte { return body })
}

// PostEach is Post with a body made for each request: body(n) for the
// n-th request (n from 0), made before its timer starts.
func PostEach(url string, body func(n uint64) []byte) Op {
	var next atomic.Uint64
	return func() (time.Duration, error) {
		b := body(next.Add(1) - 1)
		return Timed(func() error {
			r, err := httpClient.Post(url, "application/json", bytes.NewReader(b))
			if err != nil {
				return err
			}
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			if r.StatusCode != http.StatusCreated {
				return fmt.Errorf("HTTP %d", r.StatusCode)
			}
			return nil
		})
	}
}
