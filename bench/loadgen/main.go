// Command loadgen is petitiond's load harness (make bench). Against a real
// broker it measures, in one run:
//
//  1. a bare kafka-go producer loop (acks=all, async, batched) — the ceiling;
//  2. petitiond's web channel under a closed loop of concurrent clients —
//     sustained petitions/s with latency percentiles;
//  3. the web channel under an open loop at a fixed rate (default 2,000/s) —
//     latency percentiles at that rate.
//
// It starts the petitiond binary itself with a generated config.
//
// Its bare producers send fixed 1,100-byte values without headers, smaller
// than the records petitiond produces (~2,200 bytes with key and headers):
// make bench runs bench/report instead, whose limits send the channel's own
// records.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/court12368/petitiond/bench/internal/gen"
	"github.com/court12368/petitiond/bench/internal/load"
	"github.com/court12368/petitiond/internal/testutil"
	"github.com/segmentio/kafka-go"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "Kafka bootstrap")
	bin := flag.String("bin", "bin/petitiond", "petitiond binary")
	dur := flag.Duration("duration", 15*time.Second, "duration of each phase")
	conc := flag.Int("concurrency", 64, "closed-loop clients")
	rate := flag.Int("rate", 2000, "open-loop requests per second")
	profile := flag.String("cpuprofile", "", "write a 5s CPU profile of petitiond during the closed loop")
	blobSync := flag.Bool("blob-sync", true, "petitiond's blobs.sync (fsync every stored original)")
	flag.Parse()

	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	topicBare := "bench." + suffix + ".bare"
	topic := "bench." + suffix + ".intake"
	body := payload()
	bodies := gen.WebPetitions()

	fmt.Printf("# petitiond load harness — %s, %d cores, brokers %s\n", time.Now().Format(time.RFC3339), numCPU(), *brokers)
	fmt.Printf("# record value ~%d bytes (JSON petition %d bytes posted)\n\n", 1100, len(body))

	bare := bareProducer(*brokers, topicBare, *dur, *conc, body)
	fmt.Printf("bare kafka-go, pipelined     : %8.0f msgs/s  (acks=all, async writer, 10000 in flight)\n", bare)
	sync := syncProducer(*brokers, topicBare, *dur, *conc)
	fmt.Printf("bare kafka-go, %3d sync loops: %8.0f msgs/s  p50 %6.2f ms  p99 %6.2f ms  (each waits for its ack, like a web request)\n",
		*conc, sync.Rate, ms(sync.P50), ms(sync.P99))

	d, err := startDaemon(*bin, *brokers, topic, *blobSync)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting petitiond:", err)
		os.Exit(1)
	}
	defer d.stop()

	load.Closed(2*time.Second, *conc, load.PostEach(d.url, bodies)) // warm up
	if *profile != "" {
		go func() {
			r, err := http.Get("http://" + d.admin + "/debug/pprof/profile?seconds=5")
			if err == nil {
				f, _ := os.Create(*profile)
				io.Copy(f, r.Body)
				f.Close()
				r.Body.Close()
			}
		}()
	}
	cl := load.Closed(*dur, *conc, load.PostEach(d.url, bodies))
	fmt.Printf("(petitiond blobs.sync: %t)\n", *blobSync)
	fmt.Printf("web → Kafka, closed loop     : %8.0f petitions/s  p50 %6.2f ms  p99 %6.2f ms  (%d clients, %d ok, %d errors)\n",
		cl.Rate, ms(cl.P50), ms(cl.P99), *conc, cl.OK, cl.Errors)
	if w, err := wrkPhase(d.url, *dur, *conc, body); err == nil {
		fmt.Print(w)
	} else {
		fmt.Printf("web → Kafka, wrk             : not measured (%v)\n", err)
	}
	op := load.Open(*dur, *rate, load.PostEach(d.url, bodies))
	fmt.Printf("web → Kafka, open loop %5d/s: %8.0f petitions/s  p50 %6.2f ms  p99 %6.2f ms  (%d ok, %d errors)\n",
		*rate, op.Rate, ms(op.P50), ms(op.P99), op.OK, op.Errors)
	fmt.Printf("\nweb closed loop / bare sync loops: %.0f%%   web closed loop / bare pipelined: %.0f%%\n", 100*cl.Rate/sync.Rate, 100*cl.Rate/bare)
	if rss := d.peakRSS(); rss > 0 {
		fmt.Printf("petitiond peak RSS: %.1f MiB\n", float64(rss)/(1<<20))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func payload() []byte { return gen.WebPetition() }

func bareProducer(brokers, topic string, dur time.Duration, conc int, body []byte) float64 {
	cl := &kafka.Client{Addr: kafka.TCP(brokers)}
	cl.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}}})
	value := bytes.Repeat([]byte("x"), 1100)
	var acked atomic.Int64
	sem := make(chan struct{}, 10000)
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers), Topic: topic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, Async: true, BatchSize: 1000, BatchTimeout: 2 * time.Millisecond,
		Completion: func(msgs []kafka.Message, err error) {
			if err == nil {
				acked.Add(int64(len(msgs)))
			}
			for range msgs {
				<-sem
			}
		},
	}
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	var n atomic.Int64
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				sem <- struct{}{}
				k := fmt.Sprint(n.Add(1))
				if err := w.WriteMessages(context.Background(), kafka.Message{Key: []byte(k), Value: value}); err != nil {
					<-sem
				}
			}
		}()
	}
	wg.Wait()
	w.Close()
	return float64(acked.Load()) / time.Since(start).Seconds()
}

// wrkPhase drives the web channel with wrk (a C load generator that needs
// far less CPU than Go's HTTP client, which shares the 2 cores with
// petitiond and the broker) and returns a one-line summary.
func wrkPhase(url string, dur time.Duration, conc int, body []byte) (string, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return "", fmt.Errorf("wrk not installed")
	}
	script, err := os.CreateTemp("", "post-*.lua")
	if err != nil {
		return "", err
	}
	defer os.Remove(script.Name())
	q, _ := json.Marshal(string(body))
	fmt.Fprintf(script, "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = %s\n", q)
	// Every request its own serial, as gen.NumberedWebPetition does.
	fmt.Fprint(script, `local n = 0
request = function()
  n = n + 1
  local s, k = "", n
  for i = 1, 10 do s = string.char(97 + k % 26) .. s; k = math.floor(k / 26) end
  return wrk.format(nil, nil, nil, (wrk.body:gsub("aaaaaaaaaa", s, 1)))
end
`)
	script.Close()
	out, err := exec.Command("wrk", "-t1", fmt.Sprintf("-c%d", conc), fmt.Sprintf("-d%ds", int(dur.Seconds())),
		"--latency", "-s", script.Name(), url).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("wrk: %v: %s", err, out)
	}
	var rps, p50, p99, non2xx string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			rps = f[1]
		case len(f) == 2 && f[0] == "50%":
			p50 = f[1]
		case len(f) == 2 && f[0] == "99%":
			p99 = f[1]
		case strings.Contains(line, "Non-2xx"):
			non2xx = " " + strings.TrimSpace(line)
		}
	}
	return fmt.Sprintf("web → Kafka, wrk closed loop : %8s petitions/s  p50 %8s  p99 %8s  (%d connections%s)\n", rps, p50, p99, conc, non2xx), nil
}

// syncProducer is conc goroutines, each writing one message and waiting for
// its acknowledgement before the next — the same shape as web requests.
func syncProducer(brokers, topic string, dur time.Duration, conc int) load.Result {
	value := bytes.Repeat([]byte("x"), 1100)
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers), Topic: topic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchSize: 1000, BatchTimeout: 2 * time.Millisecond,
	}
	defer w.Close()
	var n atomic.Int64
	return load.Closed(dur, conc, func() (time.Duration, error) {
		return load.Timed(func() error {
			return w.WriteMessages(context.Background(), kafka.Message{Key: []byte(fmt.Sprint(n.Add(1))), Value: value})
		})
	})
}

// daemon is petitiond with one web channel, started for the measurement.
type daemon struct {
	*testutil.Daemon
	url   string
	admin string
	dir   string
}

func startDaemon(bin, brokers, topic string, blobSync bool) (*daemon, error) {
	dir, err := os.MkdirTemp("", "petitiond-bench-")
	if err != nil {
		return nil, err
	}
	web, admin := testutil.FreeAddr(), testutil.FreeAddr()
	cfg := fmt.Sprintf(`kafka: {brokers: [%q], replication_factor: 1}
blobs: {dir: %q, sync: %t}
state: {dir: %q}
routes: {default_topic: %s, dead_letter_topic: %s.dead}
channels:
  - name: web-bench
    type: web
    settings: {listen: %q, queue_wait: 10s, max_connections_per_client: 0}
admin: {listen: %q, pprof: true}
log: {level: warn}
`, brokers, filepath.Join(dir, "blobs"), blobSync, filepath.Join(dir, "state"), topic, topic, web, admin)
	file := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	td, err := testutil.StartDaemon(bin, file, func(line string) { fmt.Fprintln(os.Stderr, line) })
	if err != nil {
		return nil, err
	}
	d := &daemon{Daemon: td, url: "http://" + web + "/petitions", admin: admin, dir: dir}
	if err := td.WaitReady(admin, 10*time.Second); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func (d *daemon) peakRSS() int64 { return d.PeakRSS() }

func (d *daemon) stop() {
	d.Stop(time.Minute)
	os.RemoveAll(d.dir)
}
