package main

import (
	"os"
	"testing"
)

func TestPerfSummary(t *testing.T) {
	out := `5000 records sent, 999.8 records/sec (0.98 MB/sec), 2.1 ms avg latency, 301.0 ms max latency.
100000 records sent, 41753.6 records/sec (40.93 MB/sec), 512.45 ms avg latency, 901.00 ms max latency, 498 ms 50th, 850 ms 95th, 880 ms 99th, 899 ms 99.9th.
`
	m := perfSummary.FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		t.Fatalf("matched %d summary lines, want 1 (the periodic line has no percentiles)", len(m))
	}
	if got := m[0]; got[1] != "100000" || got[2] != "41753.6" || got[6] != "498" || got[8] != "880" {
		t.Errorf("parsed %q", got[1:])
	}
}

func TestCPUSecondsOfSelf(t *testing.T) {
	s, err := cpuSeconds(os.Getpid())
	if err != nil || s < 0 {
		t.Fatalf("cpuSeconds(self) = %v, %v", s, err)
	}
	if rss := statusKB(os.Getpid(), "VmRSS"); rss <= 0 {
		t.Errorf("VmRSS of self = %d", rss)
	}
}

func TestSampleMessage(t *testing.T) {
	s := &sample{Key: []byte("0123456789abcdef0123456789abcdef0123"), Value: []byte("v")}
	a, b := s.message(1), s.message(123456789)
	if len(a.Key) != len(s.Key) || len(b.Key) != len(s.Key) || string(a.Key) == string(b.Key) {
		t.Errorf("keys %q %q: want distinct keys of %d bytes", a.Key, b.Key, len(s.Key))
	}
	if s.Bytes() != len(s.Key)+1 {
		t.Errorf("Bytes() = %d", s.Bytes())
	}
}
