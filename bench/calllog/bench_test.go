package main

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/court12368/petitiond/internal/testutil"
)

// BenchmarkCalllogTailKafka is the end-to-end figure of `make bench`: CDR
// lines/s from a tailed Master.csv to records acknowledged by the real
// broker (PETITIOND_KAFKA, default 127.0.0.1:9092; skipped without one),
// with the default blobs.sync, for originals: chunk and line.
func BenchmarkCalllogTailKafka(b *testing.B) {
	brokers := os.Getenv("PETITIOND_KAFKA")
	if brokers == "" {
		brokers = "127.0.0.1:9092"
	}
	c, err := net.DialTimeout("tcp", brokers, 2*time.Second)
	if err != nil {
		b.Skipf("no Kafka broker at %s: %v", brokers, err)
	}
	c.Close()
	bin, err := testutil.BuildDaemon(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		originals string
		lines     int
	}{{"chunk", 200_000}, {"line", 30_000}} {
		b.Run("originals="+tc.originals, func(b *testing.B) {
			var res Result
			for b.Loop() {
				res, err = Run(Options{Brokers: brokers, Bin: bin, Lines: tc.lines, Originals: tc.originals, BlobSync: true})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(res.LinesPer, "lines/s")
			b.ReportMetric(float64(res.PeakRSS)/(1<<20), "peak-MiB")
		})
	}
}
