package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/court12368/petitiond/internal/testutil"
)

// chromiumPath returns the headless browser, skipping (or failing in CI)
// when none is installed.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required in CI (scripts/deps.sh installs it)")
	}
	t.Skip("chromium not installed (make test installs it)")
	return ""
}

// browse runs headless Chromium on url with args (--dump-dom,
// --screenshot=…) and returns its standard output.
func browse(t *testing.T, chromium, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args = append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--lang=zh-CN"}, args...)
	cmd := exec.CommandContext(ctx, chromium, append(args, url)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out.Bytes()
}

// promSample is one line of /metrics.
var promSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
var promLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// scraped is /metrics as name → its samples (labels, value).
type scraped map[string][]struct {
	labels map[string]string
	value  float64
}

func scrape(t *testing.T, admin string) scraped {
	t.Helper()
	r, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	out := scraped{}
	for _, line := range strings.Split(string(b), "\n") {
		m := promSample.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, l := range promLabel.FindAllStringSubmatch(m[2], -1) {
			labels[l[1]] = l[2]
		}
		out[m[1]] = append(out[m[1]], struct {
			labels map[string]string
			value  float64
		}{labels, v})
	}
	return out
}

// sum adds the samples of name whose labels include match.
func (s scraped) sum(name string, match ...string) float64 {
	var total float64
next:
	for _, smp := range s[name] {
		for i := 0; i+1 < len(match); i += 2 {
			if smp.labels[match[i]] != match[i+1] {
				continue next
			}
		}
		total += smp.value
	}
	return total
}

// label returns label of name's first sample whose value is v.
func (s scraped) label(name, label string, v float64, match ...string) string {
next:
	for _, smp := range s[name] {
		for i := 0; i+1 < len(match); i += 2 {
			if smp.labels[match[i]] != match[i+1] {
				continue next
			}
		}
		if smp.value == v {
			return smp.labels[label]
		}
	}
	return ""
}

// renderedChannel is what the browser shows of one channel's row.
type renderedChannel struct {
	fields  map[string]string // data-field → text
	state   string
	backlog map[string]string // unit → text
	last    string            // last record datetime
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// readDOM reads the channel rows and the other data-field elements out of
// the browser's DOM.
func readDOM(t *testing.T, dom []byte) (map[string]*renderedChannel, map[string]*html.Node) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]*renderedChannel{}
	fields := map[string]*html.Node{}
	var walk func(n *html.Node, row *renderedChannel)
	walk = func(n *html.Node, row *renderedChannel) {
		if n.Type == html.ElementNode {
			if ch := attr(n, "data-channel"); n.Data == "tr" && ch != "" {
				row = &renderedChannel{fields: map[string]string{}, backlog: map[string]string{}}
				rows[ch] = row
			}
			if f := attr(n, "data-field"); f != "" {
				if row != nil && n.Data == "td" {
					row.fields[f] = text(n)
					if f == "state" {
						row.state = attr(n, "data-state")
					}
				} else {
					fields[f] = n
				}
			}
			if u := attr(n, "data-unit"); u != "" && row != nil {
				row.backlog[u] = text(n)
			}
			if n.Data == "time" && row != nil && row.last == "" {
				row.last = attr(n, "datetime") // the row's only <time>
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, row)
		}
	}
	walk(doc, nil)
	return rows, fields
}

// TestStatusPageInBrowser loads the status page in headless Chromium with
// channels in several states, and checks that every number the browser
// rendered is the number /metrics gives at the same (quiescent) moment.
// With PETITIOND_STATUS_SCREENSHOT set, the screenshot is kept there
// (docs/status-page.png is made so).
func TestStatusPageInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	cdrDir, scanDir := t.TempDir(), t.TempDir()
	cdr := filepath.Join(cdrDir, "Master.csv")
	os.WriteFile(cdr, []byte(masterLine("1733010001.1", "13912345678", "张三", 120, "咨询案件进度")+
		masterLine("1733010001.2", "13812345678", "李四", 0, "")+`"bad","line"`+"\n"), 0o644)
	for _, name := range []string{"visit-0001.pdf", "visit-0002.pdf"} {
		os.WriteFile(filepath.Join(scanDir, name), []byte("%PDF-1.4 being written"), 0o644)
	}
	deadIMAP := freeAddr(t) // nothing listens: the channel keeps reconnecting
	e := newEnv(t, broker(t), calllogYAML("hotline", "path: "+strconvQuote(cdr), "format: asterisk-csv", "start_at: beginning", "poll_interval: 100ms")+
		fmt.Sprintf("  - name: visits\n    type: scan\n    settings:\n      path: %q\n      court: 赣0102\n      min_age: 1h\n      poll_interval: 100ms\n", scanDir)+
		fmt.Sprintf("  - name: letters\n    type: imap\n    settings:\n      address: %q\n      tls: none\n      username: petitions\n      password: secret\n      reconnect_backoff_min: 20s\n      reconnect_backoff_max: 1m\n", deadIMAP))
	e.start()
	for i := 0; i < 3; i++ {
		// As a portal does: a 503 (the broker not serving a just-created
		// topic yet, on a loaded machine) is retried with the same key.
		body := []byte(fmt.Sprintf(`{"name":"王五","phone":"13712345678","content":"请求立案 %d"}`, i))
		key := map[string]string{"Idempotency-Key": fmt.Sprintf("status-page-%d", i)}
		var rep reply
		if !testutil.Eventually(30*time.Second, func() bool {
			rep = e.mustPost("application/json", body, key)
			return rep.Status != 503
		}) || rep.Status != 201 {
			t.Fatalf("post %d: %d %s", i, rep.Status, rep.Error)
		}
	}
	admin := e.adminAddr
	// Quiescent: the CDR lines are through, the scans counted, the imap
	// channel has failed once.
	var m scraped
	if !testutil.Eventually(60*time.Second, func() bool {
		m = scrape(t, admin)
		return m.sum("petitiond_kafka_up") == 1 &&
			m.sum("petitiond_records_produced_total", "channel", "hotline")+m.sum("petitiond_items_dead_lettered_total", "channel", "hotline") == 3 &&
			m.sum("petitiond_items_in_flight") == 0 &&
			m.sum("petitiond_channel_backlog", "channel", "visits", "unit", "files") == 2 &&
			m.sum("petitiond_channel_state", "channel", "letters", "state", "restarting") == 1
	}) {
		t.Fatalf("not quiescent:\n%v", m)
	}
	url := "http://" + admin + "/"
	var dom []byte
	for attempt := 0; ; attempt++ {
		before := scrape(t, admin)
		dom = browse(t, chromium, url, "--dump-dom")
		m = scrape(t, admin)
		if fmt.Sprint(counts(before)) == fmt.Sprint(counts(m)) {
			break
		}
		if attempt == 2 {
			t.Fatalf("the metrics keep changing: %v → %v", counts(before), counts(m))
		}
	}
	rows, fields := readDOM(t, dom)
	for _, ch := range []string{"web-it", "hotline", "visits", "letters"} {
		row := rows[ch]
		if row == nil {
			t.Errorf("the browser shows no row for %s:\n%s", ch, dom)
			continue
		}
		for field, metric := range map[string]string{
			"received": "petitiond_items_received_total", "produced": "petitiond_records_produced_total",
			"dead_lettered": "petitiond_items_dead_lettered_total", "in_flight": "petitiond_items_in_flight",
		} {
			if got, want := row.fields[field], fmt.Sprint(int64(m.sum(metric, "channel", ch))); got != want {
				t.Errorf("%s %s: the browser shows %q, /metrics %s", ch, field, got, want)
			}
		}
		if want := m.label("petitiond_channel_state", "state", 1, "channel", ch); row.state != want || want == "" {
			t.Errorf("%s state: the browser shows %q, /metrics %q", ch, row.state, want)
		}
		for _, smp := range m["petitiond_channel_backlog"] {
			if smp.labels["channel"] == ch {
				if got, want := row.backlog[smp.labels["unit"]], fmt.Sprint(int64(smp.value)); got != want {
					t.Errorf("%s backlog %s: the browser shows %q, /metrics %s", ch, smp.labels["unit"], got, want)
				}
			}
		}
		if len(row.backlog) != countLabel(m, "petitiond_channel_backlog", "channel", ch) {
			t.Errorf("%s: the browser shows backlog %v", ch, row.backlog)
		}
		if ts := m.sum("petitiond_channel_last_record_timestamp_seconds", "channel", ch); ts > 0 {
			at, err := time.Parse(time.RFC3339Nano, row.last)
			if err != nil || at.UnixMilli() != int64(ts*1e3+0.5) {
				t.Errorf("%s last record: the browser shows %q, /metrics %f", ch, row.last, ts)
			}
		} else if row.last != "" {
			t.Errorf("%s: no record yet, the browser shows %q", ch, row.last)
		}
	}
	if got := rows["web-it"].fields["produced"]; got != "3" {
		t.Errorf("web-it produced %q, want 3", got)
	}
	if got := rows["hotline"].fields["dead_lettered"]; got != "1" {
		t.Errorf("hotline dead-lettered %q, want 1", got)
	}
	if got := rows["visits"].backlog["files"]; got != "2" {
		t.Errorf("visits backlog %q files, want 2", got)
	}
	letters := rows["letters"].fields["state"]
	if !strings.Contains(letters, "connection refused") || !strings.Contains(letters, "重连中 reconnecting") {
		t.Errorf("letters state: %q", letters)
	}
	if n := fields["kafka_up"]; n == nil || attr(n, "data-up") != "true" {
		t.Errorf("the browser does not show Kafka reachable")
	}
	if n := fields["config_hash"]; n == nil || !strings.Contains(m.label("petitiond_config_info", "hash", 1), text(n)) || text(n) == "" {
		t.Errorf("config hash on the page does not match petitiond_config_info")
	}
	// No petition data on the page.
	for _, pii := range []string{"张三", "李四", "王五", "13912345678", "13712345678", "请求立案", "咨询案件进度"} {
		if bytes.Contains(dom, []byte(pii)) {
			t.Errorf("the page shows %q", pii)
		}
	}
	for _, label := range []string{"通道", "Channels", "积压", "Backlog", "最近记录", "Last record"} {
		if !bytes.Contains(dom, []byte(label)) {
			t.Errorf("the page lacks the label %q", label)
		}
	}

	shot := filepath.Join(t.TempDir(), "status.png")
	if keep := os.Getenv("PETITIOND_STATUS_SCREENSHOT"); keep != "" {
		shot = keep
	}
	browse(t, chromium, url, "--screenshot="+shot, "--window-size=1440,1100")
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 20000 {
		t.Fatalf("screenshot %s: %d bytes, %v", shot, len(png), err)
	}
}

// counts are the per-channel numbers the page shows, for telling whether
// /metrics moved.
func counts(m scraped) map[string]float64 {
	out := map[string]float64{}
	for _, name := range []string{"petitiond_items_received_total", "petitiond_records_produced_total", "petitiond_items_dead_lettered_total",
		"petitiond_items_in_flight", "petitiond_channel_backlog", "petitiond_channel_last_record_timestamp_seconds", "petitiond_channel_state"} {
		for _, s := range m[name] {
			out[name+fmt.Sprint(s.labels)] = s.value
		}
	}
	return out
}

func countLabel(m scraped, name, label, v string) int {
	n := 0
	for _, s := range m[name] {
		if s.labels[label] == v {
			n++
		}
	}
	return n
}

func strconvQuote(s string) string { return strconv.Quote(s) }
