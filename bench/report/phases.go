package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/court12368/petitiond/bench/internal/gen"
	"github.com/court12368/petitiond/bench/internal/load"
	"github.com/court12368/petitiond/channels/calllog"
	"github.com/court12368/petitiond/channels/imap"
	"github.com/court12368/petitiond/internal/testutil"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ---------------------------------------------------------------- daemon

// daemon is petitiond with one channel, started for one phase, with a
// watcher on its CPU and memory.
type daemon struct {
	*testutil.Daemon
	dir   string
	admin string
	topic string
	w     *watcher
}

func tag() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// startDaemon starts petitiond with the channel given as YAML (its
// settings); everything else is petitiond's defaults but for the broker,
// the topics (fresh ones), the directories and the admin listener.
// blobs.sync is on (its default) and written out.
func startDaemon(channel, level string) (*daemon, error) {
	dir, err := os.MkdirTemp("", "petitiond-report-")
	if err != nil {
		return nil, err
	}
	d := &daemon{dir: dir, admin: testutil.FreeAddr(), topic: "bench.report." + tag()}
	cfg := fmt.Sprintf(`kafka: {brokers: [%q], replication_factor: 1}
blobs: {dir: %q, sync: true}
state: {dir: %q}
routes: {default_topic: %s, dead_letter_topic: %s.dead}
admin: {listen: %q}
log: {level: %s}
channels:
  - %s
`, strings.Join(brokers, `", "`), filepath.Join(dir, "blobs"), filepath.Join(dir, "state"), d.topic, d.topic, d.admin, level,
		strings.ReplaceAll(strings.TrimSpace(channel), "\n", "\n    "))
	file := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	d.Daemon, err = testutil.StartDaemon(*bin, file, func(line string) {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			fmt.Fprintln(os.Stderr, "petitiond:", line)
		}
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	d.w = watch(d.Cmd.Process.Pid)
	return d, nil
}

func (d *daemon) stop() {
	d.w.close()
	d.Stop(time.Minute)
	leftovers = append(leftovers, d.dir)
}

// leftovers are the daemons' directories, removed when the report is out:
// removing a blob store of a million originals takes minutes of system
// time, which must not fall into the next phase (nor hold up the table).
var leftovers []string

func removeLeftovers() {
	seen := map[string]bool{}
	start := time.Now()
	for _, dir := range leftovers {
		if !seen[dir] {
			seen[dir] = true
			os.RemoveAll(dir)
		}
	}
	logf("report: removed %d daemon directories in %v", len(seen), time.Since(start).Round(time.Millisecond))
}

// finish fills the phase's machine figures from the watcher (call it
// before stopping the daemon).
func finish(p *Phase, u usage) {
	if p.Records > 0 {
		v := u.CPUSeconds / float64(p.Records) * 1000
		p.CPUPer1000 = &v
	}
	if u.PeakRSS > 0 {
		v := u.PeakRSS
		p.PeakRSSBytes = &v
	}
	p.RSSSamples = u.Samples
	if u.MaxSampled.RSSBytes > 0 {
		m := u.MaxSampled
		p.RSSMaxSample = &m
	}
}

// limits reads one record of the phase's topic back and measures, on
// fresh topics with as many partitions, the bare producer (bare) and
// ProducerPerformance (n records; throughput -1 = as fast as it can).
func limits(p *Phase, topic string, bare func(s *sample, topic string) Limit, n, throughput int) {
	s, err := readSample(brokers, topic)
	if err != nil {
		p.Note = strings.TrimPrefix(p.Note+"; no limits: "+err.Error(), "; ")
		return
	}
	size := s.Bytes()
	p.RecordBytes = &size
	bt := topic + ".bare"
	if err := createTopic(brokers, bt, s.Partitions); err != nil {
		p.Note = strings.TrimPrefix(p.Note+"; bare topic: "+err.Error(), "; ")
	} else {
		logf("report: %s: bare kafka-go, %d-byte records (value %d, key %d, %d headers)", p.Name, size, len(s.Value), len(s.Key), len(s.Headers))
		l := bare(s, bt)
		p.Bare = &l
	}
	if *kafkaLibs == "" {
		return
	}
	if n <= 0 {
		n = int(min(int64(*perfMax), *perfBytes/int64(size)))
		n = max(n, 1000)
	}
	tt := topic + ".tool"
	if err := createTopic(brokers, tt, s.Partitions); err != nil {
		p.Note = strings.TrimPrefix(p.Note+"; tool topic: "+err.Error(), "; ")
		return
	}
	logf("report: %s: ProducerPerformance, %d records of %d bytes", p.Name, n, size)
	l, err := perfTool(*kafkaLibs, brokers, tt, n, size, throughput)
	if err != nil {
		p.Note = strings.TrimPrefix(p.Note+"; "+err.Error(), "; ")
		return
	}
	p.PerfTool = &l
}

func fail(p *Phase, err error) *Phase {
	p.Error = err.Error()
	logf("report: %s: %v", p.Name, err)
	return p
}

// ---------------------------------------------------------------- web

func webPhase(p *Phase, drive func(url string) load.Result, bare func(s *sample, topic string) Limit, perfN, perfRate int) *Phase {
	listen := testutil.FreeAddr()
	d, err := startDaemon(fmt.Sprintf("name: web-bench\ntype: web\nsettings: {listen: %q, max_connections_per_client: 0}", listen), "warn")
	if err != nil {
		return fail(p, err)
	}
	if err := d.WaitReady(d.admin, 30*time.Second); err != nil {
		d.stop()
		return fail(p, err)
	}
	url := "http://" + listen + "/petitions"
	load.Closed(2*time.Second, *webConc, load.PostEach(url, gen.WebPetitions())) // warm up
	d.w.begin()
	r := drive(url)
	u := d.w.end()
	d.stop()
	p.Rate, p.Records = r.Rate, int64(r.OK)
	if r.Rate > 0 {
		p.Seconds = float64(r.OK) / r.Rate
	}
	p.P50ms, p.P99ms = msp(r.P50), msp(r.P99)
	if r.Errors > 0 {
		p.Note = fmt.Sprintf("%d requests failed", r.Errors)
	}
	finish(p, u)
	limits(p, d.topic, bare, perfN, perfRate)
	return p
}

func webClosed() *Phase {
	p := &Phase{Name: "web closed loop", Unit: "petitions/s",
		Concurrency: fmt.Sprintf("%d waiting clients (Go HTTP client, one address: max_connections_per_client 0), blobs.sync on", *webConc)}
	logf("report: %s, %d clients, %s", p.Name, *webConc, *webDur)
	return webPhase(p, func(url string) load.Result {
		return load.Closed(*webDur, *webConc, load.PostEach(url, gen.WebPetitions()))
	},
		func(s *sample, topic string) Limit { return bareSync(brokers, topic, s, *webConc, *bareSecs) }, 0, -1)
}

func webOpen() *Phase {
	p := &Phase{Name: fmt.Sprintf("web open loop %d/s", *openRate), Unit: "petitions/s",
		Concurrency: fmt.Sprintf("open loop: one request every 1/%d s whatever the answers (one address: max_connections_per_client 0), blobs.sync on", *openRate)}
	logf("report: %s, %s", p.Name, *webDur)
	return webPhase(p, func(url string) load.Result {
		return load.Open(*webDur, *openRate, load.PostEach(url, gen.WebPetitions()))
	},
		func(s *sample, topic string) Limit { return bareOpen(brokers, topic, s, *openRate, *webDur) },
		*openRate*int(webDur.Seconds()), *openRate)
}

// ---------------------------------------------------------------- calllog

// The channels' defaults, which the phases run with and describe.
var (
	calllogDefaults = calllog.NewConfig()
	imapDefaults    = imap.NewConfig()
)

// calllogTail appends -calllog-lines CDR lines to an empty Master.csv
// tailed by a calllog channel with its default settings, and times the
// first write to the moment the topic holds one record per line.
func calllogTail() *Phase {
	p := &Phase{Name: "calllog tail (defaults)", Unit: "lines/s",
		Concurrency: fmt.Sprintf("channel defaults (max_in_flight %d, originals: %s, poll %s), blobs.sync on",
			calllogDefaults.MaxInFlight, calllogDefaults.Originals, calllogDefaults.PollInterval.D())}
	logf("report: %s, %d lines", p.Name, *cdrLines)
	dir, err := os.MkdirTemp("", "petitiond-report-cdr-")
	if err != nil {
		return fail(p, err)
	}
	defer os.RemoveAll(dir)
	master := filepath.Join(dir, "Master.csv")
	if err := os.WriteFile(master, nil, 0o644); err != nil {
		return fail(p, err)
	}
	d, err := startDaemon(fmt.Sprintf("name: calllog-bench\ntype: calllog\nsettings: {path: %q, format: asterisk-csv}", master), "warn")
	if err != nil {
		return fail(p, err)
	}
	defer d.stop()
	if err := d.WaitReady(d.admin, 30*time.Second); err != nil {
		return fail(p, err)
	}
	if err := testutil.WaitTopic(brokers, d.topic, 30*time.Second); err != nil {
		return fail(p, err)
	}
	d.w.begin()
	start := time.Now()
	werr := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(master, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			werr <- err
			return
		}
		err = gen.CDR(f, 0, *cdrLines, tag())
		f.Close()
		logf("report: calllog: %d lines written in %v", *cdrLines, time.Since(start).Round(time.Millisecond))
		werr <- err
	}()
	if err := waitRecords(d, d.topic, int64(*cdrLines), 30*time.Minute, werr); err != nil {
		return fail(p, err)
	}
	el := time.Since(start)
	u := d.w.end()
	p.Records, p.Seconds, p.Rate = int64(*cdrLines), el.Seconds(), float64(*cdrLines)/el.Seconds()
	if dead, _ := testutil.EndOffsets(brokers, d.topic+".dead"); dead > 0 {
		p.Note = fmt.Sprintf("%d dead letters", dead)
	}
	finish(p, u)
	d.stop()
	limits(p, d.topic, func(s *sample, topic string) Limit {
		return bareAsync(brokers, topic, s, bareN(*cdrLines), calllogDefaults.MaxInFlight)
	}, 0, -1)
	return p
}

// bareN is how many records the bare async producer sends for a phase of
// n: as many, but at least 20,000 (a short run is all start-up) and at
// most -bare-records.
func bareN(n int) int { return min(max(n, 20_000), *bareMax) }

// waitRecords polls the topic's end offsets until it holds want records.
func waitRecords(d *daemon, topic string, want int64, within time.Duration, errs <-chan error) error {
	var got int64
	var err error
	last := time.Now()
	ok := testutil.Eventually(within, func() bool {
		select {
		case e := <-errs:
			if e != nil {
				err = e
				return true
			}
		case <-d.Exited():
			err = fmt.Errorf("petitiond exited: %v", d.Err())
			return true
		default:
		}
		got, _ = testutil.EndOffsets(brokers, topic)
		if time.Since(last) > 10*time.Second {
			logf("report: %d of %d records", got, want)
			last = time.Now()
		}
		return got >= want
	})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("only %d of %d records after %v", got, want, within)
	}
	return nil
}

// ---------------------------------------------------------------- imap

func imapLogin() (*imapclient.Client, error) {
	cl, err := imapclient.DialInsecure(*imapAddr, nil)
	if err != nil {
		return nil, err
	}
	if err := cl.Login(*imapUser, *imapPass).Wait(); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

func appendMsg(cl *imapclient.Client, box string, raw []byte) (time.Time, error) {
	cmd := cl.Append(box, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		return time.Time{}, err
	}
	if err := cmd.Close(); err != nil {
		return time.Time{}, err
	}
	_, err := cmd.Wait()
	return time.Now(), err
}

// mailbox creates a fresh mailbox and returns its name and a function
// deleting it and its Done/Failed/Ignored children.
func mailbox(name string) (string, func(), error) {
	cl, err := imapLogin()
	if err != nil {
		return "", nil, err
	}
	defer cl.Close()
	box := "report-" + name + "-" + tag()
	if err := cl.Create(box, nil).Wait(); err != nil {
		return "", nil, err
	}
	return box, func() {
		c, err := imapLogin()
		if err != nil {
			return
		}
		defer c.Close()
		for _, b := range []string{box + "/Done", box + "/Failed", box + "/Ignored", box} {
			c.Delete(b).Wait()
		}
	}, nil
}

func imapChannel(box string, extra string) string {
	return fmt.Sprintf(`name: letters-bench
type: imap
settings:
  address: %q
  tls: none
  username: %q
  password: %q
  mailbox: %q
  done_mailbox: %q
  failed_mailbox: %q
  ignored_mailbox: %q%s`, *imapAddr, *imapUser, *imapPass, box, box+"/Done", box+"/Failed", box+"/Ignored", extra)
}

// imapBackfill appends -imap-letters letters (~100 KB, mixed encodings and
// attachments) to a fresh mailbox, then starts petitiond on it with the
// channel's defaults; letters/s is from the daemon's start to the last
// record in the topic.
func imapBackfill() *Phase {
	p := &Phase{Name: "imap backfill", Unit: "letters/s",
		Concurrency: fmt.Sprintf("channel defaults (workers %d, max_in_flight %d, batch %d), blobs.sync on",
			imapDefaults.Workers, imapDefaults.MaxInFlight, imapDefaults.BatchSize)}
	box, cleanup, err := mailbox("backfill")
	if err != nil {
		return fail(p, err)
	}
	defer cleanup()
	t := tag()
	logf("report: imap: appending %d letters to %s", *letters, box)
	start := time.Now()
	var total int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	const conns = 4
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cl, err := imapLogin()
			if err == nil {
				defer cl.Close()
				for i := c; i < *letters && err == nil; i += conns {
					raw := gen.Letter(i, t)
					_, err = appendMsg(cl, box, raw)
					mu.Lock()
					total += int64(len(raw))
					mu.Unlock()
				}
			}
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	if firstErr != nil {
		return fail(p, firstErr)
	}
	logf("report: imap: %d letters, %.0f MB (avg %.0f KB) appended in %v", *letters, float64(total)/1e6,
		float64(total)/float64(*letters)/1e3, time.Since(start).Round(time.Millisecond))
	p.Name = fmt.Sprintf("imap backfill (%.0f KB letters)", float64(total)/float64(*letters)/1e3)
	d, err := startDaemon(imapChannel(box, ""), "warn")
	if err != nil {
		return fail(p, err)
	}
	defer d.stop()
	d.w.begin()
	if err := waitRecords(d, d.topic, int64(*letters), 60*time.Minute, nil); err != nil {
		return fail(p, err)
	}
	el := time.Since(d.Started)
	u := d.w.end()
	p.Records, p.Seconds, p.Rate = int64(*letters), el.Seconds(), float64(*letters)/el.Seconds()
	p.Note = fmt.Sprintf("from the daemon's start; %.1f MB/s of mail", float64(total)/1e6/el.Seconds())
	finish(p, u)
	d.stop()
	limits(p, d.topic, func(s *sample, topic string) Limit {
		return bareAsync(brokers, topic, s, bareN(*letters), imapDefaults.MaxInFlight)
	}, 0, -1)
	return p
}

// consumer reads a topic and notes when each petition (by source.id)
// arrived.
type consumer struct {
	cl     *kgo.Client
	mu     sync.Mutex
	ids    map[string]time.Time
	cancel context.CancelFunc
	done   chan struct{}
}

func newConsumer(topic string) (*consumer, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond),
		kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
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
				c.ids[v.Source.ID] = now
				c.mu.Unlock()
			})
		}
	}()
	return c, nil
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

// announced returns when petitiond logged the first new-mail notification
// at or after t (its debug log has millisecond timestamps).
func announced(d *daemon, after time.Time) (time.Time, bool) {
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

// imapIdle appends letters one at a time to a mailbox petitiond idles on
// and splits arrival → record into Dovecot's IDLE notification delay and
// petitiond's own part (EXISTS logged → record read back from Kafka).
func imapIdle() *Phase {
	p := &Phase{Name: "imap arrival→record (own part)", Unit: "letters",
		Concurrency: "one letter at a time; p50/p99 = petitiond's own part: EXISTS logged → record read back"}
	box, cleanup, err := mailbox("idle")
	if err != nil {
		return fail(p, err)
	}
	defer cleanup()
	d, err := startDaemon(imapChannel(box, ""), "debug")
	if err != nil {
		return fail(p, err)
	}
	defer d.stop()
	cons, err := newConsumer(d.topic)
	if err != nil {
		return fail(p, err)
	}
	defer cons.close()
	if err := d.WaitLog("caught up; waiting for new letters", time.Minute); err != nil {
		return fail(p, err)
	}
	cl, err := imapLogin()
	if err != nil {
		return fail(p, err)
	}
	defer cl.Close()
	t := tag()
	var total, own, notify []time.Duration
	d.w.begin()
	start := time.Now()
	for i := 0; i < *idleN; i++ {
		id := fmt.Sprintf("idle-%d.%s@bench.example.cn", i, t)
		appended, err := appendMsg(cl, box, gen.SmallLetter(id))
		if err != nil {
			return fail(p, err)
		}
		rec, ok := cons.waitID(id, 30*time.Second)
		if !ok {
			return fail(p, fmt.Errorf("letter %d not in Kafka after 30s", i))
		}
		total = append(total, rec.Sub(appended))
		if seen, ok := announced(d, appended); ok {
			notify = append(notify, seen.Sub(appended))
			own = append(own, rec.Sub(seen))
		}
		time.Sleep(time.Duration(200+i%5*50) * time.Millisecond)
	}
	el := time.Since(start)
	u := d.w.end()
	p.Records, p.Seconds = int64(*idleN), el.Seconds()
	if len(own) > 0 {
		p.P50ms, p.P99ms = msp(pct(own, 50)), msp(pct(own, 99))
	}
	p.Note = fmt.Sprintf("whole arrival→record p50 %v p99 %v; Dovecot's IDLE delay p50 %v (own part measured for %d of %d letters)",
		pct(total, 50), pct(total, 99), pct(notify, 50), len(own), len(total))
	finish(p, u)
	d.stop()
	limits(p, d.topic, func(s *sample, topic string) Limit { return bareSync(brokers, topic, s, 1, 5*time.Second) }, 100, 20)
	return p
}

// imapBig is petitiond taking in one letter with a -big-mb attachment:
// its peak RSS must stay under -big-limit-mb. max_message_size is raised
// to 128 MiB (the default, 64 MiB, refuses a 50 MB attachment in base64).
func imapBig() *Phase {
	p := &Phase{Name: fmt.Sprintf("memory: one letter, %d MB attachment", *bigMB), Unit: "letters"}
	box, cleanup, err := mailbox("big")
	if err != nil {
		return fail(p, err)
	}
	defer cleanup()
	cl, err := imapLogin()
	if err != nil {
		return fail(p, err)
	}
	raw := gen.BigLetter("big."+tag()+"@bench.example.cn", *bigMB<<20)
	_, err = appendMsg(cl, box, raw)
	cl.Close()
	if err != nil {
		return fail(p, err)
	}
	logf("report: %s (%.0f MB letter)", p.Name, float64(len(raw))/1e6)
	raw = nil
	d, err := startDaemon(imapChannel(box, "\n  max_message_size: 128MiB"), "warn")
	if err != nil {
		return fail(p, err)
	}
	defer d.stop()
	d.w.begin()
	if err := waitRecords(d, d.topic, 1, 5*time.Minute, nil); err != nil {
		return fail(p, err)
	}
	u := d.w.end()
	p.Records, p.Seconds = 1, time.Since(d.Started).Seconds()
	finish(p, u)
	pass := u.PeakRSS > 0 && u.PeakRSS < int64(*bigLimit)<<20
	p.Pass = &pass
	p.CPUPer1000 = nil
	p.Note = fmt.Sprintf("peak RSS must stay under %d MiB; record after %.1fs", *bigLimit, p.Seconds)
	return p
}

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

// ---------------------------------------------------------------- scan

// scan runs bench/scanbench -throughput with one worker count in its own
// process: the real scan channel (hot folder, tesseract, decoder) with a
// sink that acknowledges at once, so no Kafka and no limits.
func scan(workers int) *Phase {
	p := &Phase{Name: fmt.Sprintf("scan, %d worker(s)", workers), Unit: "pages/min",
		Concurrency: fmt.Sprintf("%d OCR worker(s), in-process sink (no Kafka)", workers),
		Note:        "CPU and peak RSS are scanbench's process with its tesseract children, rendering the test forms included"}
	logf("report: %s, %d pages", p.Name, *scanPages)
	out, err := os.CreateTemp("", "report-scan-*.json")
	if err != nil {
		return fail(p, err)
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.Command(*scanBin, "-throughput", "-pages", fmt.Sprint(*scanPages), "-workers", fmt.Sprint(workers), "-json", out.Name())
	cmd.Stderr = os.Stderr
	start := time.Now()
	if b, err := cmd.Output(); err != nil {
		return fail(p, fmt.Errorf("scanbench: %v: %s", err, b))
	}
	var res struct {
		Throughput map[string]float64 `json:"throughput"`
	}
	b, _ := os.ReadFile(out.Name())
	if err := json.Unmarshal(b, &res); err != nil {
		return fail(p, err)
	}
	p.Rate = res.Throughput[fmt.Sprintf("pages_per_minute_%d_workers", workers)]
	p.Records, p.Seconds = int64(*scanPages), time.Since(start).Seconds()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9 / float64(*scanPages) * 1000
		rss := ru.Maxrss << 10
		p.CPUPer1000, p.PeakRSSBytes = &cpu, &rss
	}
	return p
}
