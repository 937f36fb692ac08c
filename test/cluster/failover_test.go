//go:build cluster

package cluster

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/court12368/petitiond/internal/testutil"
	petitionid "github.com/court12368/petitiond/petition"
)

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// attempt is one HTTP request of a petition.
type attempt struct {
	key        string
	start, end time.Time
	status     int // 0: transport error
}

// petition is one client petition (one Idempotency-Key) and its outcome.
type petition struct {
	key, content string
	id           string
	status       int // final: 201 or 202; 0 if never answered
	first, done  time.Time
	refused      int // 503 answers before the final one
}

// event is a broker kill, restart or roll during the load.
type event struct {
	name  string
	at    time.Time
	node  int32
	parts []int32 // intake partitions the node led at that moment
}

// daemon is a petitiond with one web channel writing to the cluster.
type daemon struct {
	d                    *testutil.Daemon
	web, admin           string
	intake, dead, config string
	state                string
}

// startDaemon starts a petitiond with the web channel and channels (YAML
// list items); blobs is its blobs: block, "" for a local directory.
func startDaemon(t *testing.T, c *cluster, channels, blobs string) *daemon {
	t.Helper()
	s := randomSuffix()
	dir := t.TempDir()
	e := &daemon{
		web:    testutil.FreeAddr(),
		admin:  testutil.FreeAddr(),
		intake: "cl." + s + ".intake",
		dead:   "cl." + s + ".dead",
		state:  filepath.Join(dir, "state"),
	}
	brokers, _ := json.Marshal(c.brokers)
	partitioning := os.Getenv("PETITIOND_CLUSTER_PARTITIONING") // healthy (default) or key: the stall before and after
	if partitioning == "" {
		partitioning = "healthy"
	}
	if blobs == "" {
		blobs = fmt.Sprintf("{dir: %q}", filepath.Join(dir, "blobs"))
	}
	cfg := fmt.Sprintf(`kafka:
  brokers: %s
  partitions: 6
  replication_factor: 3
  partitioning: %s
blobs: %s
state: {dir: %q}
routes:
  default_topic: %s
  dead_letter_topic: %s
channels:
  - name: web-cluster
    type: web
    settings:
      listen: %q
      max_body_size: 64KiB
      idempotency_max_keys_per_client: 0
%s
admin: {listen: %q}
log: {level: info}
`, brokers, partitioning, blobs, filepath.Join(dir, "state"), e.intake, e.dead, e.web, channels, e.admin)
	e.config = filepath.Join(dir, "petitiond.yaml")
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := testutil.StartDaemon(binary, e.config, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	t.Cleanup(func() {
		d.Kill()
		if t.Failed() {
			logs := d.Lines()
			if len(logs) > 300 {
				logs = logs[len(logs)-300:]
			}
			t.Logf("petitiond log (last lines):\n%s", strings.Join(logs, "\n"))
		}
	})
	if err := d.WaitReady(e.admin, 90*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, d.Logs())
	}
	for _, topic := range []string{e.intake, e.dead} {
		if err := testutil.WaitTopic(c.brokers, topic, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		if rf := c.replicationFactor(topic); rf != 3 {
			t.Fatalf("%s created with replication factor %d, want 3", topic, rf)
		}
	}
	return e
}

var httpClient = &http.Client{
	Timeout:   120 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64},
}

var fields = map[string]string{
	"name":        "王小明",
	"phone":       "13907911234",
	"email":       "wang@example.cn",
	"address":     "江西省南昌市红谷滩区丰和中大道1号",
	"subject":     "关于执行款迟迟未到账",
	"case_number": "（2023）赣0102执1234号",
	"court":       "南昌市东湖区人民法院",
}

// submit posts one petition until it is answered 201 or 202, retrying
// with the same Idempotency-Key after a 503 or a transport error, as a
// portal does; it gives up at giveUp.
func submit(url string, p *petition, giveUp time.Time, attempts *[]attempt) {
	body := map[string]string{"content": p.content}
	for k, v := range fields {
		body[k] = v
	}
	js, _ := json.Marshal(body)
	p.first = time.Now()
	for time.Now().Before(giveUp) {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(js))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", p.key)
		a := attempt{key: p.key, start: time.Now()}
		r, err := httpClient.Do(req)
		a.end = time.Now()
		var rep struct {
			ID string `json:"id"`
		}
		if err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			a.status = r.StatusCode
			json.Unmarshal(b, &rep)
		}
		*attempts = append(*attempts, a)
		switch a.status {
		case 201, 202:
			p.status, p.id, p.done = a.status, rep.ID, a.end
			return
		case 503, 0:
			p.refused++
			time.Sleep(200 * time.Millisecond)
		default:
			// 4xx/5xx other than 503: a bug, kept for the report.
			p.status, p.done = a.status, a.end
			return
		}
	}
}

// runLoad runs clients until stop is closed; each finishes its petition.
func runLoad(url string, clients int, stop <-chan struct{}) func() ([]*petition, []attempt) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []*petition
	var atts []attempt
	run := randomSuffix()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []*petition
			var myAtts []attempt
			for i := 0; ; i++ {
				select {
				case <-stop:
					mu.Lock()
					all = append(all, mine...)
					atts = append(atts, myAtts...)
					mu.Unlock()
					return
				default:
				}
				key := fmt.Sprintf("cluster-%s-%d-%d", run, c, i)
				p := &petition{key: key, content: "我的案件判决已生效半年，执行款至今没有到账，请法院尽快处理。编号 " + key}
				submit(url, p, time.Now().Add(3*time.Minute), &myAtts)
				mine = append(mine, p)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return func() ([]*petition, []attempt) {
		wg.Wait()
		return all, atts
	}
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond)) }

// report writes the figures to the test log and, when
// PETITIOND_CLUSTER_REPORT names a file, appends them there.
func report(t *testing.T, lines []string) {
	t.Helper()
	for _, l := range lines {
		t.Log(l)
	}
	if f := os.Getenv("PETITIOND_CLUSTER_REPORT"); f != "" {
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(fh, strings.Join(lines, "\n"))
			fh.Close()
		}
	}
}

// TestFailover: under load from every channel — web clients post
// petitions, a PBX appends CDR lines to a tailed Master.csv, letters arrive
// in an IMAP mailbox, a desk drops scanned forms into the hot folder — the
// broker leading the most intake partitions is SIGKILLed and restarted,
// then another, then all three are restarted one at a time. Every 201,
// every acknowledged CDR line, every letter in the done mailbox and every
// scan in done/ must be in Kafka (the web ones with the content posted),
// with every original in the shared S3 bucket; petitiond keeps running
// throughout.
func TestFailover(t *testing.T) {
	c := newCluster(t)
	cdrPath := filepath.Join(t.TempDir(), "Master.csv")
	if err := os.WriteFile(cdrPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const calllogChannel, imapChannel, scanChannel = "calllog-cluster", "imap-cluster", "scan-cluster"
	mb := newMailbox(t)
	scanDir := filepath.Join(t.TempDir(), "scans")
	if err := os.MkdirAll(scanDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bkt := newBucket(t)
	e := startDaemon(t, c, calllogYAML(calllogChannel, cdrPath)+mb.yaml(imapChannel)+scanYAML(scanChannel, scanDir),
		bkt.yaml(filepath.Join(t.TempDir(), "blobs")))
	c.waitISR(90*time.Second, e.intake, e.dead)
	pid := e.d.Cmd.Process.Pid

	// Released to the source: letters in the done mailbox, scans in done/.
	watcher := mb.login(t)
	defer watcher.Close()
	imapDone := watchProgress(func() (int, error) { return mb.count(watcher, mb.done) })
	scanDone := watchProgress(func() (int, error) { return countFiles(filepath.Join(scanDir, "done")) })

	stop := make(chan struct{})
	wait := runLoad("http://"+e.web+"/petitions", 8, stop)
	cdrDone := cdrWriter(cdrPath, e.state, "cdr-"+randomSuffix(), 20*time.Millisecond, stop)
	lettersDone := mb.letterWriter(t, "letter-"+randomSuffix(), 100*time.Millisecond, stop)
	scansDone := scanDropper(scanDir, uint64(time.Now().UnixNano()), 4*time.Second, stop)
	t0 := time.Now()
	var events []event
	mark := func(name string, node int32, parts []int32) {
		events = append(events, event{name: name, at: time.Now(), node: node, parts: parts})
		t.Logf("%6.1fs %s (node %d, intake partitions %v)", time.Since(t0).Seconds(), name, node, parts)
	}
	time.Sleep(8 * time.Second)

	// Two crashes: the broker leading the most partitions, then another.
	var killed []int32
	for range 2 {
		n, parts := c.mostLeading(e.intake, killed...)
		mark("kill", n, parts)
		c.run("kill", fmt.Sprint(n))
		killed = append(killed, n)
		time.Sleep(10 * time.Second)
		mark("restart", n, nil)
		c.run("restart", fmt.Sprint(n))
		d := c.waitISR(120*time.Second, e.intake, e.dead)
		t.Logf("%6.1fs node %d back in the ISR of every partition %v after it was ready", time.Since(t0).Seconds(), n, d.Round(100*time.Millisecond))
	}
	// A rolling restart: SIGTERM (controlled shutdown), start, wait for the ISR.
	for n := int32(1); n <= 3; n++ {
		ps, _ := c.partitions(e.intake)
		var parts []int32
		for p, pi := range ps {
			if pi.leader == n {
				parts = append(parts, p)
			}
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		mark("roll", n, parts)
		c.run("restart", fmt.Sprint(n))
		c.waitISR(120*time.Second, e.intake, e.dead)
	}
	time.Sleep(5 * time.Second)
	mark("end", 0, nil)
	close(stop)
	petitions, attempts := wait()
	loadTime := time.Since(t0)
	cdrs, cdrErr := cdrDone(2 * time.Minute)
	if cdrErr != nil {
		t.Error(cdrErr)
	}
	letters, err := lettersDone()
	if err != nil {
		t.Error(err)
	}
	scans, err := scansDone()
	if err != nil {
		t.Error(err)
	}
	if n, err := imapDone.waitFor(len(letters), 3*time.Minute); n != len(letters) {
		t.Errorf("%d of %d letters in the done mailbox (%v)", n, len(letters), err)
	}
	if n, err := scanDone.waitFor(len(scans), 5*time.Minute); n != len(scans) {
		t.Errorf("%d of %d scans in done/ (%v)", n, len(scans), err)
	}
	imapTimes, scanTimes := imapDone.close(), scanDone.close()

	select {
	case <-e.d.Exited():
		t.Fatalf("petitiond exited during the load: %v", e.d.Err())
	default:
	}
	if e.d.Cmd.Process.Pid != pid {
		t.Fatal("petitiond was restarted")
	}

	// Everything in the topics, read to their ends.
	type got struct {
		content   string
		partition int32
	}
	byID := map[string][]got{}
	originals := map[string]struct{}{} // URIs of the petitions' originals
	var records int
	for _, topic := range []string{e.intake, e.dead} {
		recs, err := testutil.ReadAll(c.brokers, topic, 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		records += len(recs)
		for _, r := range recs {
			var v struct {
				ID      string `json:"id"`
				Content string `json:"content"`
				Source  struct {
					Original struct {
						URI string `json:"uri"`
					} `json:"original"`
				} `json:"source"`
			}
			if err := json.Unmarshal(r.Value, &v); err != nil {
				t.Errorf("%s/%d@%d: not JSON: %v", topic, r.Partition, r.Offset, err)
				continue
			}
			if v.ID != string(r.Key) {
				t.Errorf("%s/%d@%d: key %q, id %q", topic, r.Partition, r.Offset, r.Key, v.ID)
			}
			byID[v.ID] = append(byID[v.ID], got{v.Content, r.Partition})
			if topic == e.intake {
				originals[v.Source.Original.URI] = struct{}{}
			}
		}
	}

	var answered, held, unanswered, other, lost, changed, refusals int
	partOf := map[string]int32{}
	for _, p := range petitions {
		refusals += p.refused
		switch p.status {
		case 201, 202:
			if p.status == 201 {
				answered++
			} else {
				held++
			}
			recs := byID[p.id]
			if len(recs) == 0 {
				lost++
				if lost <= 10 {
					t.Errorf("petition %s answered %d id %s at %s: not in Kafka", p.key, p.status, p.id, p.done.Format(time.RFC3339Nano))
				}
				continue
			}
			partOf[p.key] = recs[0].partition
			for _, r := range recs {
				if r.content != p.content {
					changed++
					t.Errorf("id %s: content %q, posted %q", p.id, r.content, p.content)
				}
			}
		case 0:
			unanswered++
		default:
			other++
			t.Errorf("petition %s answered %d", p.key, p.status)
		}
	}
	dupes := 0 // extra records of the web petitions
	for _, p := range petitions {
		if p.id != "" {
			dupes += max(0, len(byID[p.id])-1)
		}
	}
	statuses := map[int]int{}
	for _, a := range attempts {
		statuses[a.status]++
	}

	lines := []string{
		fmt.Sprintf("web failover: %d clients for %s: %d petitions, %d answered 201, %d 202, %d never answered, %d other; %d records in Kafka (both channels), lost %d, duplicates %d, changed %d",
			8, loadTime.Round(time.Second), len(petitions), answered, held, unanswered, other, records, lost, dupes, changed),
		fmt.Sprintf("web failover: %d requests: %v (0 = transport error); %d retried after a 503 or an error", len(attempts), statuses, refusals),
	}
	// The stall around each event: requests in flight at the event or sent
	// before the next one, split by whether their record went to a
	// partition the node led at the event. Latency counts from the event
	// for requests sent before it.
	for i, ev := range events[:len(events)-1] {
		until := events[i+1].at
		victim := map[int32]bool{}
		for _, p := range ev.parts {
			victim[p] = true
		}
		var onVictim, onOther []time.Duration
		var n503, nErr int
		for _, a := range attempts {
			if a.end.Before(ev.at) || !a.start.Before(until) {
				continue
			}
			lat := a.end.Sub(later(a.start, ev.at))
			switch a.status {
			case 201, 202:
				if p, ok := partOf[a.key]; ok && victim[p] {
					onVictim = append(onVictim, lat)
				} else {
					onOther = append(onOther, lat)
				}
			case 503:
				n503++
			default:
				nErr++
			}
		}
		// The longest time without any 201 or 202 from the event on: how
		// long the whole intake stood still.
		var done []time.Time
		for _, a := range attempts {
			if (a.status == 201 || a.status == 202) && !a.end.Before(ev.at) && a.end.Before(until) {
				done = append(done, a.end)
			}
		}
		slices.SortFunc(done, func(x, y time.Time) int { return x.Compare(y) })
		gap, prev := time.Duration(0), ev.at
		for _, d := range append(done, until) {
			gap, prev = max(gap, d.Sub(prev)), d
		}
		var e2e time.Duration
		for _, p := range petitions {
			if !p.done.Before(ev.at) && p.first.Before(until) && p.refused > 0 {
				e2e = max(e2e, p.done.Sub(later(p.first, ev.at)))
			}
		}
		lines = append(lines, fmt.Sprintf("web %-7s node %d at %5.1fs (led %d partitions) for %4.1fs: led partitions %d answers p50 %s p99 %s max %s; others %d answers p99 %s max %s; %d 503, %d errors; longest retried petition %s; longest time without an answer %s",
			ev.name, ev.node, ev.at.Sub(t0).Seconds(), len(ev.parts), until.Sub(ev.at).Seconds(),
			len(onVictim), ms(pct(onVictim, 0.5)), ms(pct(onVictim, 0.99)), ms(pct(onVictim, 1)),
			len(onOther), ms(pct(onOther, 0.99)), ms(pct(onOther, 1)), n503, nErr, ms(e2e), ms(gap)))
	}
	// calllog: every line whose offset was saved must be in Kafka.
	var cdrLost, cdrDupes, cdrUnacked int
	for _, l := range cdrs {
		if l.acked.IsZero() {
			cdrUnacked++
			continue
		}
		n := len(byID[petitionid.ID(calllogChannel, l.uid)])
		if n == 0 {
			cdrLost++
			if cdrLost <= 10 {
				t.Errorf("CDR %s acknowledged at %s: not in Kafka", l.uid, l.acked.Format(time.RFC3339Nano))
			}
		}
		cdrDupes += max(0, n-1)
	}
	lines = append(lines, fmt.Sprintf("calllog failover: %d lines written (one per 20ms), %d acknowledged, lost %d, duplicates %d", len(cdrs), len(cdrs)-cdrUnacked, cdrLost, cdrDupes))
	for i, ev := range events[:len(events)-1] {
		until := events[i+1].at
		var lat []time.Duration
		var acks []time.Time
		for _, l := range cdrs {
			if l.acked.IsZero() || l.acked.Before(ev.at) || !l.written.Before(until) {
				continue
			}
			lat = append(lat, l.acked.Sub(later(l.written, ev.at)))
			if l.acked.Before(until) {
				acks = append(acks, l.acked)
			}
		}
		gap, prev := time.Duration(0), ev.at
		for _, a := range append(acks, until) {
			gap, prev = max(gap, a.Sub(prev)), a
		}
		lines = append(lines, fmt.Sprintf("calllog %-7s node %d at %5.1fs: %d lines, acknowledgement p50 %s p99 %s max %s; longest time without an acknowledgement %s",
			ev.name, ev.node, ev.at.Sub(t0).Seconds(), len(lat), ms(pct(lat, 0.5)), ms(pct(lat, 0.99)), ms(pct(lat, 1)), ms(gap)))
	}
	// imap and scan: every letter and scan released to its source (in the
	// done mailbox, in done/) has its record; the stall is the longest time
	// without one released, against the time before the first event.
	for _, ch := range []struct {
		name     string
		sent     []sentItem
		released []time.Time
		every    time.Duration
	}{{imapChannel, letters, imapTimes, 100 * time.Millisecond}, {scanChannel, scans, scanTimes, 4 * time.Second}} {
		var missing, dupes int
		for _, it := range ch.sent {
			n := len(byID[petitionid.ID(ch.name, it.sourceID)])
			if n == 0 {
				missing++
				if missing <= 10 {
					t.Errorf("%s: item %s sent at %s: not in Kafka", ch.name, it.sourceID, it.at.Format(time.RFC3339Nano))
				}
			}
			dupes += max(0, n-1)
		}
		lines = append(lines, fmt.Sprintf("%s failover: %d items sent (one per %v), %d released to the source, lost %d, duplicates %d; longest time without a release before the first event %s",
			ch.name, len(ch.sent), ch.every, len(ch.released), missing, dupes, ms(longestGap(ch.released, t0.Add(2*time.Second), events[0].at))))
		for i, ev := range events[:len(events)-1] {
			lines = append(lines, fmt.Sprintf("%s %-7s node %d at %5.1fs: longest time without a release %s",
				ch.name, ev.name, ev.node, ev.at.Sub(t0).Seconds(), ms(longestGap(ch.released, ev.at, events[i+1].at))))
		}
	}
	// Shared evidence: every original a petition references is an object
	// in the bucket, named by its sha256.
	var absent int
	for uri := range originals {
		if err := bkt.has(t, uri); err != nil {
			absent++
			if absent <= 10 {
				t.Errorf("original: %v", err)
			}
		}
	}
	lines = append(lines, fmt.Sprintf("blobs: %d distinct originals referenced by the petitions, all in bucket %s but %d", len(originals), bkt.name, absent))
	report(t, lines)
	if cdrLost > 0 || cdrUnacked > 0 {
		t.Fatalf("calllog: lost %d, never acknowledged %d", cdrLost, cdrUnacked)
	}

	if lost > 0 || changed > 0 || unanswered > 0 {
		t.Fatalf("lost %d, changed %d, never answered %d", lost, changed, unanswered)
	}
	if answered == 0 {
		t.Fatal("no petition answered 201")
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
