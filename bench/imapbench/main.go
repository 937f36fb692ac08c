// Command imapbench measures the imap channel against a real Dovecot
// (scripts/dovecot.sh) and a real Kafka broker (scripts/kafka.sh):
//
//  1. backfill: N letters (mixed encodings, attachments, ~100 KB on
//     average) are appended to a fresh mailbox, then petitiond is started on
//     it; letters/s is N over the time from the daemon's start until the
//     last record is read back from Kafka;
//  2. IDLE latency: with the daemon idle, letters are appended one at a
//     time and the time from the end of the APPEND to the record read back
//     from Kafka is measured. petitiond logs (at debug level, with
//     millisecond timestamps) when the server announces new mail, which
//     splits the latency into Dovecot's own IDLE notification delay and
//     the rest;
//  3. (-big) peak RSS of a fresh daemon taking in one letter with a 50 MB
//     attachment.
//
// It starts the petitiond binary itself with a generated config.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/court12368/petitiond/bench/internal/gen"
	"github.com/court12368/petitiond/internal/testutil"
	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/twmb/franz-go/pkg/kgo"
)

var (
	imapAddr = flag.String("imap", "127.0.0.1:10143", "Dovecot address (plain/STARTTLS port)")
	user     = flag.String("user", "petitions", "IMAP user")
	pass     = flag.String("pass", "secret", "IMAP password")
	brokers  = flag.String("brokers", "127.0.0.1:9092", "Kafka bootstrap")
	bin      = flag.String("bin", "bin/petitiond", "petitiond binary")
	n        = flag.Int("n", 3000, "letters in the backfill")
	idleN    = flag.Int("idle", 40, "letters appended one at a time for the IDLE latency")
	workers  = flag.Int("workers", 2, "imap channel workers setting")
	big      = flag.Bool("big", true, "also measure the peak RSS with one 50 MB attachment")
	keep     = flag.Bool("keep", false, "keep the mailboxes and the daemon's directory")
	verbose  = flag.Bool("v", false, "print petitiond's log")
	noSync   = flag.Bool("nosync", false, "blobs: {sync: false} (not durable; to see what fsync costs)")
	pprofOut = flag.String("cpuprofile", "", "write a CPU profile of petitiond during the backfill")
)

func main() {
	flag.Parse()
	tag := randHex(4)
	fmt.Printf("# petitiond imap bench — %s, %d cores, Dovecot %s, Kafka %s\n", time.Now().Format(time.RFC3339), runtime.NumCPU(), *imapAddr, *brokers)

	cl := login()
	base := "bench-" + tag
	boxes := []string{base, base + "/Done", base + "/Failed", base + "/Ignored"}
	for _, b := range boxes {
		must(cl.Create(b, nil).Wait())
	}
	if !*keep {
		defer func() {
			c := login()
			for i := len(boxes) - 1; i >= 0; i-- {
				c.Delete(boxes[i]).Wait()
			}
			c.Close()
		}()
	}

	// 1. Backfill.
	var total int64
	start := time.Now()
	for i := 0; i < *n; i++ {
		raw := gen.Letter(i, tag)
		total += int64(len(raw))
		appendMsg(cl, base, raw)
	}
	appendSecs := time.Since(start).Seconds()
	fmt.Printf("appended %d letters, %.1f MB (avg %.0f KB) in %.1fs (%.0f/s)\n", *n, float64(total)/1e6, float64(total)/float64(*n)/1e3, appendSecs, float64(*n)/appendSecs)

	topic := "bench." + tag + ".intake"
	cons := newConsumer(topic)
	defer cons.close()
	d := startDaemon(topic, base, *workers)
	if !*keep {
		defer d.cleanup()
	}
	defer d.stop()
	if *pprofOut != "" {
		go func() {
			if cons.waitCount(1, 10*time.Minute) {
				d.profile(*pprofOut, 5)
			}
		}()
	}
	if !cons.waitCount(*n, 10*time.Minute) {
		fail("backfill: only %d of %d records after 10 minutes", cons.count(), *n)
	}
	elapsed := cons.last().Sub(d.Started)
	fmt.Printf("backfill: %d letters into Kafka in %.2fs from daemon start: %.0f letters/s (%.1f MB/s); first record after %.2fs; peak RSS %d MB\n",
		*n, elapsed.Seconds(), float64(*n)/elapsed.Seconds(), float64(total)/1e6/elapsed.Seconds(),
		cons.first().Sub(d.Started).Seconds(), d.PeakRSS()>>20)
	waitEmpty(cl, base, 60*time.Second)
	if got := status(cl, base+"/Done"); got != *n {
		fmt.Printf("WARNING: done mailbox holds %d, want %d\n", got, *n)
	}
	if line := d.LastLine("backlog taken in"); line != "" {
		fmt.Printf("daemon log: %s\n", line)
	}

	// 2. IDLE latency, once the daemon is caught up (it then waits in
	// IDLE).
	if err := d.WaitLog("caught up; waiting for new letters", time.Minute); err != nil {
		fail("idle: %v", err)
	}
	var lat, notify, net []time.Duration
	for i := 0; i < *idleN; i++ {
		id := fmt.Sprintf("idle-%d.%s@bench.example.cn", i, tag)
		raw := gen.SmallLetter(id)
		appended := appendMsg(cl, base, raw)
		if *verbose {
			fmt.Fprintf(os.Stderr, "appended %s at %s\n", id, appended.UTC().Format("15:04:05.000"))
		}
		rec, ok := cons.waitID(id, 30*time.Second)
		if !ok {
			fail("idle: letter %d not in Kafka after 30s", i)
		}
		l := rec.Sub(appended)
		lat = append(lat, l)
		if seen, ok := d.announced(appended); ok {
			notify = append(notify, seen.Sub(appended))
			net = append(net, rec.Sub(seen))
		}
		time.Sleep(time.Duration(200+i%5*50) * time.Millisecond)
	}
	fmt.Printf("IDLE arrival → record in Kafka (%d letters): p50 %s  p90 %s  max %s\n", len(lat), pct(lat, 50), pct(lat, 90), pct(lat, 100))
	if len(notify) > 0 {
		fmt.Printf("  Dovecot's IDLE notification delay (APPEND done → EXISTS logged by petitiond): p50 %s  p90 %s\n", pct(notify, 50), pct(notify, 90))
		fmt.Printf("  net of it (EXISTS → record read back from Kafka: fetch, store, parse, produce, ack): p50 %s  p90 %s  max %s\n", pct(net, 50), pct(net, 90), pct(net, 100))
	}
	d.stop()

	// 3. One 50 MB attachment.
	if *big {
		bigBox := base + "/Big"
		must(cl.Create(bigBox, nil).Wait())
		boxes = append(boxes[:1], append([]string{bigBox}, boxes[1:]...)...)
		id := "big." + tag + "@bench.example.cn"
		raw := gen.BigLetter(id, 50<<20)
		appendMsg(cl, bigBox, raw)
		topic2 := topic + ".big"
		cons2 := newConsumer(topic2)
		d2 := startDaemon(topic2, bigBox, *workers)
		if !cons2.waitCount(1, 5*time.Minute) {
			fail("big: no record after 5 minutes")
		}
		took := cons2.last().Sub(d2.Started)
		fmt.Printf("one letter of %.1f MB (50 MB attachment): record after %.2fs, daemon peak RSS %d MB\n",
			float64(len(raw))/1e6, took.Seconds(), d2.PeakRSS()>>20)
		d2.stop()
		cons2.close()
		if !*keep {
			d2.cleanup()
		}
		c := login()
		c.Delete(bigBox + "/Done").Wait()
		c.Close()
	}
	cl.Close()
}

// ---------------------------------------------------------------- IMAP

func login() *imapclient.Client {
	cl, err := imapclient.DialInsecure(*imapAddr, nil)
	must(err)
	must(cl.Login(*user, *pass).Wait())
	return cl
}

func appendMsg(cl *imapclient.Client, box string, raw []byte) time.Time {
	cmd := cl.Append(box, int64(len(raw)), nil)
	_, err := cmd.Write(raw)
	must(err)
	must(cmd.Close())
	_, err = cmd.Wait()
	must(err)
	return time.Now()
}

func status(cl *imapclient.Client, box string) int {
	st, err := cl.Status(box, &goimap.StatusOptions{NumMessages: true}).Wait()
	must(err)
	return int(*st.NumMessages)
}

func waitEmpty(cl *imapclient.Client, box string, within time.Duration) {
	if !testutil.Eventually(within, func() bool { return status(cl, box) == 0 }) {
		fail("mailbox %s not empty after %s", box, within)
	}
}

// ---------------------------------------------------------------- Kafka

type consumer struct {
	cl     *kgo.Client
	mu     sync.Mutex
	n      int
	t0, t1 time.Time
	ids    map[string]time.Time
	cancel context.CancelFunc
	done   chan struct{}
}

func newConsumer(topic string) *consumer {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond),
		kgo.AllowAutoTopicCreation(), kgo.MetadataMinAge(100*time.Millisecond))
	must(err)
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cl: cl, ids: map[string]time.Time{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				var v struct {
					Source struct {
						ID string `json:"id"`
					} `json:"source"`
				}
				json.Unmarshal(r.Value, &v)
				c.mu.Lock()
				if c.n == 0 {
					c.t0 = now
				}
				c.n++
				c.t1 = now
				c.ids[v.Source.ID] = now
				c.mu.Unlock()
			})
		}
	}()
	return c
}

func (c *consumer) count() int       { c.mu.Lock(); defer c.mu.Unlock(); return c.n }
func (c *consumer) first() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t0 }
func (c *consumer) last() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t1 }

func (c *consumer) waitCount(want int, within time.Duration) bool {
	return testutil.Eventually(within, func() bool { return c.count() >= want })
}

func (c *consumer) waitID(id string, within time.Duration) (time.Time, bool) {
	var t time.Time
	ok := testutil.Eventually(within, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		var ok bool
		t, ok = c.ids[id]
		return ok
	})
	return t, ok
}

func (c *consumer) close() {
	c.cancel()
	<-c.done
	c.cl.Close()
}

// ---------------------------------------------------------------- daemon

// daemon is petitiond with one imap channel on the bench mailbox.
type daemon struct {
	*testutil.Daemon
	admin string
	dir   string
}

func startDaemon(topic, box string, workers int) *daemon {
	dir, err := os.MkdirTemp("", "petitiond-imapbench-")
	must(err)
	d := &daemon{dir: dir, admin: testutil.FreeAddr()}
	cfg := fmt.Sprintf(`kafka: {brokers: [%q], replication_factor: 1}
blobs: {dir: %q, sync: %v}
state: {dir: %q}
routes: {default_topic: %s, dead_letter_topic: %s.dead}
admin: {listen: %q, pprof: true}
channels:
  - name: letters-bench
    type: imap
    settings:
      address: %q
      tls: none
      username: %s
      password: %s
      mailbox: %q
      done_mailbox: %q
      failed_mailbox: %q
      ignored_mailbox: %q
      workers: %d
      max_message_size: 128MiB
log: {level: debug}
`, *brokers, filepath.Join(dir, "blobs"), !*noSync, filepath.Join(dir, "state"), topic, topic, d.admin,
		*imapAddr, *user, *pass, box, box+"/Done", box+"/Failed", box+"/Ignored", workers)
	file := filepath.Join(dir, "bench.yaml")
	must(os.WriteFile(file, []byte(cfg), 0o600))
	d.Daemon, err = testutil.StartDaemon(*bin, file, func(line string) {
		if *verbose || strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			fmt.Fprintln(os.Stderr, "petitiond:", line)
		}
	})
	must(err)
	return d
}

// announced returns when petitiond logged the first new-mail notification
// after t (its log has millisecond timestamps).
func (d *daemon) announced(after time.Time) (time.Time, bool) {
	after = after.Truncate(time.Millisecond)
	for _, line := range d.Lines() {
		if !strings.Contains(line, "new mail announced") {
			continue
		}
		ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err == nil && !t.Before(after) {
			return t, true
		}
	}
	return time.Time{}, false
}

func (d *daemon) stop() { d.Stop(time.Minute) }

func (d *daemon) cleanup() { os.RemoveAll(d.dir) }

// profile writes a CPU profile of the daemon over d.
func (d *daemon) profile(file string, secs int) {
	r, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", d.admin, secs))
	if err != nil {
		fmt.Fprintln(os.Stderr, "imapbench: profile:", err)
		return
	}
	defer r.Body.Close()
	f, err := os.Create(file)
	must(err)
	io.Copy(f, r.Body)
	f.Close()
}

// ---------------------------------------------------------------- letters

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------- misc

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := len(s) * p / 100
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i].Round(time.Millisecond)
}

func must(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "imapbench: "+format+"\n", args...)
	os.Exit(1)
}
