package clamd

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestScan(t *testing.T) {
	f, err := NewFake()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.MaxStream = 1 << 20
	c, err := Parse("tcp:"+f.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.ChunkSize = 1000 // several chunks
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := c.Scan(ctx, strings.NewReader(strings.Repeat("判决书扫描件", 500))); err != nil {
		t.Errorf("clean content: %v", err)
	}
	var inf *Infected
	err = c.Scan(ctx, strings.NewReader(strings.Repeat("x", 2500)+EICAR+strings.Repeat("y", 10)))
	if !errors.As(err, &inf) || inf.Signature != "Eicar-Test-Signature" {
		t.Errorf("EICAR: %v, want Infected Eicar-Test-Signature", err)
	}
	err = c.Scan(ctx, bytes.NewReader(make([]byte, 3<<20)))
	if err == nil || errors.As(err, &inf) || !strings.Contains(err.Error(), "size limit exceeded") {
		t.Errorf("over the stream limit: %v, want a scan error", err)
	}
	if f.Scans() != 2 {
		t.Errorf("%d scans, want 2", f.Scans())
	}
	dead, _ := Parse("127.0.0.1:1", time.Second)
	if err := dead.Scan(ctx, strings.NewReader("x")); err == nil {
		t.Errorf("unreachable clamd: no error")
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]string{
		"unix:/run/clamav/clamd.ctl": "unix /run/clamav/clamd.ctl",
		"tcp:127.0.0.1:3310":         "tcp 127.0.0.1:3310",
		"clamd.court:3310":           "tcp clamd.court:3310",
	} {
		c, err := Parse(in, 0)
		if err != nil || c.Network+" "+c.Address != want || c.Timeout != 30*time.Second {
			t.Errorf("Parse(%q) = %+v %v", in, c, err)
		}
	}
	for _, bad := range []string{"unix:", "3310", "tcp:nohost"} {
		if _, err := Parse(bad, 0); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
