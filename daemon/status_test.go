package daemon

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/engine"
)

// fakeStatus is a status source over a registry with the daemon's
// metrics, and a fixed set of channel statuses.
func fakeStatus(t *testing.T) (*statusSource, *engine.Metrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := engine.NewMetrics(reg, func() bool { return false })
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "petitiond_config_reloads_total"}, []string{"result"})
	ok := prometheus.NewGauge(prometheus.GaugeOpts{Name: "petitiond_config_last_reload_successful"})
	at := prometheus.NewGauge(prometheus.GaugeOpts{Name: "petitiond_config_last_reload_success_timestamp_seconds"})
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "petitiond_config_info"}, []string{"hash"})
	reg.MustRegister(reloads, ok, at, info)
	reloads.WithLabelValues("success").Add(2)
	reloads.WithLabelValues("failure").Inc()
	ok.Set(0)
	at.Set(1764556800.5)
	info.WithLabelValues("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").Set(1)

	m.Received.WithLabelValues("web-portal", "web").Add(5)
	m.Produced.WithLabelValues("web-portal", "petitions.intake").Add(3)
	m.Produced.WithLabelValues("web-portal", "petitions.priority").Add(1)
	m.DeadLettered.WithLabelValues("web-portal", "normalize").Inc()
	m.InFlight.WithLabelValues("web-portal").Set(0)
	m.LastRecord.WithLabelValues("web-portal").Set(1764557000.25)
	m.Received.WithLabelValues("letters", "imap").Add(12)
	m.Produced.WithLabelValues("letters", "petitions.intake").Add(10)
	m.InFlight.WithLabelValues("letters").Set(2)
	m.Backlog.WithLabelValues("letters", channels.UnitMessages).Set(7)
	m.Backlog.WithLabelValues("hotline", channels.UnitBytes).Set(4096)
	m.Backlog.WithLabelValues("hotline", channels.UnitFiles).Set(2)

	since := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	sts := []ChannelStatus{
		{Status: channels.Status{Name: "hotline", Type: "calllog", State: channels.StateRunning, Since: since}},
		{Reconnects: true, Status: channels.Status{Name: "letters", Type: "imap", State: channels.StateRestarting, Since: since, Restarts: 3,
			// As the supervisor keeps it: the first line. The rest is what a
			// page must not show even if a channel put it in its error.
			LastError: `imap: login petitions@mail.court: connection refused, caller "张三" 13912345678 id 11010519491231002X <script>alert(1)</script>`,
			RetryAt:   time.Now().Add(30 * time.Second)}},
		{Status: channels.Status{Name: "web-portal", Type: "web", State: channels.StateRunning, Since: since}},
	}
	src := &statusSource{
		version: "v1.2.3",
		started: time.Now().Add(-90 * time.Minute),
		kafka:   KafkaStatus{Brokers: []string{"kafka-1.court:9093", "kafka-2.court:9093"}, TLS: true, SASL: "scram-sha-512"},
		configFile: func() string {
			return "/etc/petitiond/petitiond.yaml"
		},
		reloadAt: func() time.Time { return time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC) },
		gather: func() ([]*dto.MetricFamily, []ChannelStatus, error) {
			mfs, err := reg.Gather()
			return mfs, sts, err
		},
	}
	return src, m
}

func get(t *testing.T, h http.HandlerFunc, path string) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h(w, httptest.NewRequest("GET", path, nil))
	r := w.Result()
	b, _ := io.ReadAll(r.Body)
	return r, string(b)
}

// cell returns the text of the cell data-field=field in the row of channel.
func cell(t *testing.T, page, channel, field string) string {
	t.Helper()
	row := regexp.MustCompile(`(?s)<tr data-channel="` + regexp.QuoteMeta(channel) + `">(.*?)</tr>`).FindStringSubmatch(page)
	if row == nil {
		t.Fatalf("no row for channel %s", channel)
	}
	c := regexp.MustCompile(`(?s)<td[^>]*data-field="` + field + `"[^>]*>(.*?)</td>`).FindStringSubmatch(row[1])
	if c == nil {
		t.Fatalf("channel %s: no cell %s", channel, field)
	}
	return strings.TrimSpace(c[1])
}

func TestStatusPage(t *testing.T) {
	src, _ := fakeStatus(t)
	r, page := get(t, src.serveStatusPage, "/")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for _, want := range []string{
		"通道", "Channels", "状态", "State", "积压", "Backlog", "Kafka 连接", "Broker connection", "配置", "Configuration",
		"v1.2.3", "kafka-1.court:9093", "scram-sha-512", "/etc/petitiond/petitiond.yaml", "0123456789ab",
		`http-equiv="refresh"`, "不可达 unreachable", "失败 failed", "重连中", "reconnecting",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for channel, want := range map[string]map[string]string{
		"web-portal": {"received": "5", "produced": "4", "dead_lettered": "1", "in_flight": "0"},
		"letters":    {"received": "12", "produced": "10", "dead_lettered": "0", "in_flight": "2"},
		"hotline":    {"received": "0", "produced": "0"},
	} {
		for field, v := range want {
			if got := cell(t, page, channel, field); got != v {
				t.Errorf("%s %s = %q, want %q", channel, field, got, v)
			}
		}
	}
	if b := cell(t, page, "letters", "backlog"); !strings.Contains(b, `data-unit="messages">7<`) {
		t.Errorf("letters backlog: %s", b)
	}
	if b := cell(t, page, "hotline", "backlog"); !strings.Contains(b, `data-unit="bytes">4096<`) || !strings.Contains(b, `data-unit="files">2<`) {
		t.Errorf("hotline backlog: %s", b)
	}
	if lr := cell(t, page, "web-portal", "last_record"); !strings.Contains(lr, `datetime="2025-12-01T02:43:20.250Z"`) {
		t.Errorf("web-portal last record: %s", lr)
	}
	if lr := cell(t, page, "letters", "last_record"); strings.Contains(lr, "<time") {
		t.Errorf("letters has no record yet, shows %s", lr)
	}
	// The error shows, without its quoted values, long numbers or markup.
	st := cell(t, page, "letters", "state")
	if !strings.Contains(st, "imap: login p***@mail.court: connection refused") || !strings.Contains(st, "retry at") {
		t.Errorf("letters state: %s", st)
	}
	for _, leak := range []string{"张三", "13912345678", "11010519491231002X", "<script", "alert(1)</script>"} {
		if strings.Contains(page, leak) {
			t.Errorf("page shows %q", leak)
		}
	}
	// A running channel shows no error; nothing on the page is a script.
	if st := cell(t, page, "web-portal", "state"); strings.Contains(st, "Last error") {
		t.Errorf("running channel shows an error: %s", st)
	}
	if regexp.MustCompile(`(?i)<script|\son[a-z]+=|javascript:`).MatchString(page) {
		t.Errorf("page has script")
	}
}

func TestStatusJSONMatchesPage(t *testing.T) {
	src, m := fakeStatus(t)
	m.Received.WithLabelValues("web-portal", "web").Inc()
	r, body := get(t, src.serveStatusJSON, "/status.json")
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Channels) != 3 || st.Channels[2].Name != "web-portal" || st.Channels[2].Received != 6 || st.Channels[2].Produced != 4 {
		t.Fatalf("channels %+v", st.Channels)
	}
	if st.Channels[1].LastError == "" || strings.Contains(st.Channels[1].LastError, "13912345678") {
		t.Errorf("last error %q", st.Channels[1].LastError)
	}
	if st.Kafka.Up || !st.Kafka.TLS || st.Kafka.SASL != "scram-sha-512" || st.Config.LastReload != "failure" ||
		st.Config.Reloads != 3 || st.Config.Failures != 1 || st.Config.Hash == "" {
		t.Errorf("kafka %+v config %+v", st.Kafka, st.Config)
	}
}

func TestScrubError(t *testing.T) {
	for in, want := range map[string]string{
		"dial tcp 10.0.0.5:993: connection refused":         "dial tcp 10.0.0.5:993: connection refused",
		`select "收信箱": NO no such mailbox`:                  `select "…": NO no such mailbox`,
		"open /var/spool/cdr/Master.csv: permission denied": "open /var/spool/cdr/Master.csv: permission denied",
		"callback to 13912345678 failed":                    "callback to 139****5678 failed",
		"id 11010519491231002X rejected":                    "id 110105********002X rejected",
		"login petitions@mail.court: NO":                    "login p***@mail.court: NO",
		"panic: 张三丰 13912345678王五":                          "panic: 张** 139****5678王*",
	} {
		if got := scrubError(in); got != want {
			t.Errorf("scrubError(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBrokerAddr(t *testing.T) {
	for in, want := range map[string]string{
		"kafka-1:9092": "kafka-1:9092", "user:secret@kafka-1:9092": "kafka-1:9092", "sasl_ssl://u:p@k:9093": "k:9093",
	} {
		if got := brokerAddr(in); got != want {
			t.Errorf("brokerAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStatusNeedsToken: the page is behind the admin token like /metrics.
func TestStatusNeedsToken(t *testing.T) {
	src, _ := fakeStatus(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", src.serveStatusPage)
	mux.HandleFunc("GET /status.json", src.serveStatusJSON)
	h := adminAuth("tok", mux)
	for _, c := range []struct {
		path, tok string
		want      int
	}{{"/", "", 401}, {"/status.json", "", 401}, {"/", "tok", 200}, {"/status.json", "tok", 200}, {"/nosuch", "tok", 404}} {
		req := httptest.NewRequest("GET", c.path, nil)
		if c.tok != "" {
			req.Header.Set("Authorization", "Bearer "+c.tok)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != c.want {
			t.Errorf("GET %s (token %q): %d, want %d", c.path, c.tok, w.Code, c.want)
		}
	}
}
