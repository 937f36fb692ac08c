package blob

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"testing"
)

// BenchmarkPutSmall stores distinct 2 KiB originals from 64 goroutines
// (the web channel's case: one posted body per request, many requests
// waiting at once). With sync the figure to watch is fsyncs/op: how many
// flushes one submission costs when concurrent writers share them.
func BenchmarkPutSmall(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "sync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) { benchPutSmall(b, Options{NoSync: !sync}) })
	}
}

func benchPutSmall(b *testing.B, opts Options) {
	d, err := Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var seq atomic.Uint64
	b.SetParallelism(32) // 64 writers on 2 cores
	b.ReportAllocs()
	b.SetBytes(2048)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		body := make([]byte, 2048)
		for pb.Next() {
			binary.LittleEndian.PutUint64(body, seq.Add(1))
			if _, err := d.Put(bytes.NewReader(body), 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(d.Fsyncs())/float64(b.N), "fsyncs/op")
}
