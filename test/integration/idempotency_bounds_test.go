package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func dirBytes(dir string) (files int, bytes int64) {
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			files++
			bytes += (info.Size() + 4095) / 4096 * 4096
		}
		return nil
	})
	return
}

func rssKiB(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// TestIdempotencyStoreBounded: a client submitting with random
// Idempotency-Keys cannot grow the remembered replies past the bounds nor
// push out another client's keys, whose replays stay exact; a retry of an
// evicted key gets the same id and tracking number (a new received_at).
func TestIdempotencyStoreBounded(t *testing.T) {
	e := newEnv(t, broker(t), "      trusted_proxies: [\"127.0.0.1\"]\n      idempotency_max_keys: 1500\n      idempotency_max_keys_per_client: 1000\n      idempotency_max_bytes: 16MiB")
	e.start()
	state := filepath.Join(e.dir, "state", "channels", "web-it", "idempotency")
	js, _ := json.Marshal(fields)
	post := func(client, key string) reply {
		req, _ := http.NewRequest("POST", "http://"+e.webAddr+"/petitions", bytes.NewReader(js))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("X-Forwarded-For", client)
		r, err := client0.Do(req)
		if err != nil {
			t.Error(err)
			return reply{}
		}
		defer r.Body.Close()
		var rep reply
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &rep)
		rep.Status, rep.Header = r.StatusCode, r.Header
		return rep
	}
	// A portal's keys, answered first (so the oldest).
	portal := map[string]reply{}
	for i := 0; i < 50; i++ {
		k := fmt.Sprintf("portal-%s-%d", randomSuffix(), i)
		if portal[k] = post("10.1.1.1", k); portal[k].Status != 201 {
			t.Fatalf("portal submission: %+v", portal[k])
		}
	}
	firstKey := "flood-first-" + randomSuffix()
	first := post("10.6.6.6", firstKey)
	rss0 := rssKiB(e.d.Cmd.Process.Pid)
	// The flood: random keys from one client.
	const n = 4000
	var wg sync.WaitGroup
	keys := make(chan string)
	var failed sync.Map
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				if r := post("10.6.6.6", k); r.Status != 201 {
					failed.Store(k, r.Status)
				}
			}
		}()
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		keys <- fmt.Sprintf("rnd-%s-%d", randomSuffix(), i)
	}
	close(keys)
	wg.Wait()
	took := time.Since(start)
	failed.Range(func(k, v any) bool { t.Errorf("flood key %v: %v", k, v); return false })
	files, size := dirBytes(state)
	t.Logf("%d random keys in %v: %d reply files, %d KiB on disk, RSS %d → %d KiB",
		n, took.Round(time.Millisecond), files, size>>10, rss0, rssKiB(e.d.Cmd.Process.Pid))
	if files > 1500 || size > 16<<20 {
		t.Errorf("%d reply files, %d bytes: over the bounds (1500 keys, 16 MiB)", files, size)
	}
	for k, want := range portal {
		got := post("10.1.1.1", k)
		if got.Status != 201 || got.ID != want.ID || got.ReceivedAt != want.ReceivedAt || got.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("portal key %s after the flood: %+v, want the exact reply %+v", k, got, want)
			break
		}
	}
	// The flood's first key was evicted: a retry is processed again and
	// gets the same id and tracking number, a new received_at.
	retry := post("10.6.6.6", firstKey)
	if retry.Status != 201 || retry.ID != first.ID || retry.TrackingNo != first.TrackingNo || retry.Header.Get("Idempotent-Replayed") == "true" {
		t.Errorf("retry of an evicted key: %+v, want 201 with id %s, not replayed", retry, first.ID)
	}
}
