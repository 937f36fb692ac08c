// Command calllog measures the calllog channel against a real broker: CDR
// lines per second from an Asterisk Master.csv, tailed by the petitiond
// binary, to records acknowledged in Kafka (acks=all).
//
// For each configuration it starts petitiond with one calllog channel on an
// empty Master.csv, appends -lines lines (21-column Asterisk records, 20%
// missed calls, Chinese notes) as fast as the disk takes them, and times
// the first write to the moment the topic holds one record per line. The
// writer is far faster than the daemon, so this is the sustained tail rate.
//
//	go run ./bench/calllog -brokers 127.0.0.1:9092 -bin bin/petitiond
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/court12368/petitiond/bench/internal/gen"
	"github.com/court12368/petitiond/internal/testutil"
	"github.com/segmentio/kafka-go"
)

// Options is one measurement.
type Options struct {
	Brokers string
	Bin     string
	Lines   int
	// Originals is the channel's originals setting: line or chunk.
	Originals string
	// BlobSync keeps the blob store's fsync per blob (the default of
	// blobs.sync); off measures the pipeline without the disk.
	BlobSync bool
	// Profile, when set, receives a CPU profile of petitiond (10s).
	Profile string
	Log     func(format string, args ...any)
}

// Result is what one measurement gives.
type Result struct {
	Lines    int
	Elapsed  time.Duration
	PeakRSS  int64
	Dead     int64
	LinesPer float64
}

func main() {
	var o Options
	flag.StringVar(&o.Brokers, "brokers", "127.0.0.1:9092", "Kafka bootstrap")
	flag.StringVar(&o.Bin, "bin", "bin/petitiond", "petitiond binary")
	flag.IntVar(&o.Lines, "lines", 300000, "CDR lines per run")
	modes := flag.String("originals", "chunk,line", "originals settings to measure, comma-separated")
	syncs := flag.String("sync", "true", "blobs.sync values to measure, comma-separated (true,false)")
	flag.StringVar(&o.Profile, "cpuprofile", "", "write a 10s CPU profile of petitiond during the first run")
	bare := flag.Bool("bare", true, "also measure a bare kafka-go producer loop with records of the same size (the ceiling)")
	flag.Parse()
	o.Log = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

	fmt.Printf("# calllog tail → Kafka (acks=all) — %s, %d cores, brokers %s, %d lines per run\n",
		time.Now().Format(time.RFC3339), numCPU(), o.Brokers, o.Lines)
	if *bare {
		rate, err := Bare(o.Brokers, o.Lines, recordSize)
		if err != nil {
			fmt.Fprintln(os.Stderr, "calllog bench:", err)
			os.Exit(1)
		}
		fmt.Printf("bare kafka-go producer, %d-byte values        : %9.0f msgs/s  (async writer, 10000 in flight)\n", recordSize, rate)
	}
	for _, s := range strings.Split(*syncs, ",") {
		for _, m := range strings.Split(*modes, ",") {
			run := o
			run.Originals = strings.TrimSpace(m)
			run.BlobSync = strings.TrimSpace(s) == "true"
			res, err := Run(run)
			if err != nil {
				fmt.Fprintln(os.Stderr, "calllog bench:", err)
				os.Exit(1)
			}
			fmt.Printf("calllog tail, originals: %-5s blobs.sync: %-5v: %9.0f lines/s  (%d lines in %.2fs, %d dead letters, peak RSS %.0f MiB)\n",
				run.Originals, run.BlobSync, res.LinesPer, res.Lines, res.Elapsed.Seconds(), res.Dead, float64(res.PeakRSS)/(1<<20))
			o.Profile = ""
		}
	}
}

// recordSize is about the size of a calllog record value (JSON). The bare
// loop sends no key or headers; bench/report's limits send the channel's
// own records.
const recordSize = 1500

// Bare writes n messages of size bytes with a pipelined kafka-go writer
// (acks=all, the daemon's batch settings) and returns messages/s.
func Bare(brokers string, n, size int) (float64, error) {
	topic := fmt.Sprintf("bench.%d.bare", time.Now().UnixNano())
	cl := &kafka.Client{Addr: kafka.TCP(brokers), Timeout: 10 * time.Second}
	if _, err := cl.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}}}); err != nil {
		return 0, err
	}
	value := []byte(strings.Repeat("x", size))
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
	start := time.Now()
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		if err := w.WriteMessages(context.Background(), kafka.Message{Key: []byte(fmt.Sprint(i)), Value: value}); err != nil {
			<-sem
		}
	}
	w.Close()
	return float64(acked.Load()) / time.Since(start).Seconds(), nil
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

// Run performs one measurement.
func Run(o Options) (Result, error) {
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	dir, err := os.MkdirTemp("", "petitiond-calllog-bench-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	topic := "bench." + suffix + ".calllog"
	dead := topic + ".dead"
	master := filepath.Join(dir, "Master.csv")
	if err := os.WriteFile(master, nil, 0o644); err != nil {
		return Result{}, err
	}
	admin := testutil.FreeAddr()
	cfg := fmt.Sprintf(`kafka: {brokers: [%q], replication_factor: 1}
blobs: {dir: %q, sync: %v}
state: {dir: %q}
pipeline: {max_in_flight: 20000}
routes: {default_topic: %s, dead_letter_topic: %s}
channels:
  - name: calllog-bench
    type: calllog
    settings:
      path: %s
      format: asterisk-csv
      originals: %s
      max_in_flight: 20000
      poll_interval: 50ms
admin: {listen: %q, pprof: true}
log: {level: warn}
`, o.Brokers, filepath.Join(dir, "blobs"), o.BlobSync, filepath.Join(dir, "state"), topic, dead, master, o.Originals, admin)
	file := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		return Result{}, err
	}
	d, err := testutil.StartDaemon(o.Bin, file, func(line string) { fmt.Fprintln(os.Stderr, line) })
	if err != nil {
		return Result{}, err
	}
	defer d.Stop(time.Minute)
	if err := d.WaitReady(admin, 30*time.Second); err != nil {
		return Result{}, err
	}
	brokers := []string{o.Brokers}
	if err := testutil.WaitTopic(brokers, topic, 30*time.Second); err != nil {
		return Result{}, err
	}

	data := lines(o.Lines, suffix)
	if o.Profile != "" {
		go profile(admin, o.Profile)
	}
	start := time.Now()
	f, err := os.OpenFile(master, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return Result{}, err
	}
	for len(data) > 0 {
		n := min(len(data), 1<<20)
		cut := strings.LastIndexByte(data[:n], '\n') + 1
		if cut == 0 {
			cut = n
		}
		if _, err := f.WriteString(data[:cut]); err != nil {
			return Result{}, err
		}
		data = data[cut:]
	}
	f.Close()
	o.Log("calllog bench: %d lines written in %v", o.Lines, time.Since(start))

	var got int64
	last := time.Now()
	if !testutil.Eventually(10*time.Minute, func() bool {
		got, err = testutil.EndOffsets(brokers, topic)
		if time.Since(last) > 5*time.Second {
			o.Log("calllog bench: %d records so far", got)
			last = time.Now()
		}
		return err == nil && got >= int64(o.Lines)
	}) {
		return Result{}, fmt.Errorf("only %d of %d records after 10 minutes", got, o.Lines)
	}
	elapsed := time.Since(start)
	nDead, _ := testutil.EndOffsets(brokers, dead)
	return Result{Lines: o.Lines, Elapsed: elapsed, PeakRSS: d.PeakRSS(), Dead: nDead,
		LinesPer: float64(o.Lines) / elapsed.Seconds()}, nil
}

// lines returns n 21-column Asterisk Master.csv lines with unique ids.
func lines(n int, tag string) string {
	var b strings.Builder
	gen.CDR(&b, 0, n, tag)
	return b.String()
}

func profile(admin, file string) {
	r, err := http.Get("http://" + admin + "/debug/pprof/profile?seconds=10")
	if err != nil {
		return
	}
	defer r.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return
	}
	defer f.Close()
	bufio.NewReader(r.Body).WriteTo(f)
}
