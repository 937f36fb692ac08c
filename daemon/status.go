package daemon

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/internal/logging"
	"github.com/court12368/petitiond/internal/redact"
)

// The status page (/ on the admin listener) and /status.json show what
// /metrics shows, for people: both are made from one Gather of the
// Prometheus registry, after the channel state and backlog gauges were
// set from the channels (gatherStatus), so every number on the page is the
// number of the same scrape.

// Status is what the status page shows.
type Status struct {
	Version  string          `json:"version"`
	Now      time.Time       `json:"now"`
	Started  time.Time       `json:"started"`
	Uptime   string          `json:"uptime"`
	Channels []ChannelStatus `json:"channels"`
	Kafka    KafkaStatus     `json:"kafka"`
	Config   ConfigStatus    `json:"config"`
}

// ChannelStatus is one channel's row.
type ChannelStatus struct {
	channels.Status
	// Reconnects is set for a channel that keeps a connection (imap):
	// restarting means reconnecting.
	Reconnects bool `json:"reconnects,omitempty"`
	// From the metrics of the same scrape.
	Received     int64              `json:"items_received"`
	Produced     int64              `json:"records_produced"`
	DeadLettered int64              `json:"items_dead_lettered"`
	InFlight     int64              `json:"items_in_flight"`
	Backlog      []channels.Backlog `json:"backlog,omitempty"`
	LastRecord   time.Time          `json:"last_record,omitzero"`
}

// KafkaStatus is the broker connection.
type KafkaStatus struct {
	Up       bool     `json:"up"`
	Brokers  []string `json:"brokers"`
	Embedded bool     `json:"embedded"`
	TLS      bool     `json:"tls"`
	SASL     string   `json:"sasl,omitempty"` // the mechanism, "" without SASL
}

// ConfigStatus is the running configuration and the last reload.
type ConfigStatus struct {
	File     string    `json:"file"`
	Hash     string    `json:"hash"`
	LoadedAt time.Time `json:"loaded_at"`
	// LastReload is "" when no reload was tried since the start, else
	// "success" or "failure" (the running configuration was kept; the
	// log says why).
	LastReload   string    `json:"last_reload,omitempty"`
	LastReloadAt time.Time `json:"last_reload_at,omitzero"`
	Reloads      int64     `json:"reloads"`
	Failures     int64     `json:"reload_failures"`
}

// statusSource is what the status is made from: the daemon in production,
// fakes in the tests.
type statusSource struct {
	version    string
	started    time.Time
	kafka      KafkaStatus // Up is taken from the metrics
	configFile func() string
	reloadAt   func() time.Time
	// gather returns the metrics and the channels (Status and Reconnects
	// set) of one moment.
	gather func() ([]*dto.MetricFamily, []ChannelStatus, error)
}

// gatherStatus sets the state and backlog gauges of every channel and
// gathers the registry, under one lock so that concurrent scrapes see
// whole sets. It is the Gatherer behind /metrics, the page and the JSON.
func (d *Daemon) gatherStatus() ([]*dto.MetricFamily, []ChannelStatus, error) {
	d.gatherMu.Lock()
	defer d.gatherMu.Unlock()
	d.mu.Lock()
	ins := make([]*instance, 0, len(d.channels))
	for _, in := range d.channels {
		ins = append(ins, in)
	}
	d.mu.Unlock()
	m := d.metrics
	// Reset: series of channels removed since the last scrape go.
	m.State.Reset()
	m.Backlog.Reset()
	sts := make([]ChannelStatus, 0, len(ins))
	for _, in := range ins {
		st := in.sup.Status()
		_, reconnects := in.ch.(channels.Reconnector)
		sts = append(sts, ChannelStatus{Status: st, Reconnects: reconnects})
		for _, s := range channels.States {
			v := 0.0
			if s == st.State {
				v = 1
			}
			m.State.WithLabelValues(st.Name, st.Type, string(s)).Set(v)
		}
		if b, ok := in.ch.(channels.Backlogger); ok {
			for _, bl := range b.Backlog() {
				m.Backlog.WithLabelValues(st.Name, bl.Unit).Set(float64(bl.N))
			}
		}
	}
	slices.SortFunc(sts, func(a, b ChannelStatus) int { return strings.Compare(a.Name, b.Name) })
	mfs, err := d.promReg.Gather()
	return mfs, sts, err
}

// metricsGatherer is the registry as /metrics serves it.
func (d *Daemon) metricsGatherer() prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, _, err := d.gatherStatus()
		return mfs, err
	})
}

func (d *Daemon) statusSource() *statusSource {
	return &statusSource{
		version: Version,
		started: d.started,
		kafka:   d.kafkaStatus,
		configFile: func() string {
			d.statusMu.Lock()
			defer d.statusMu.Unlock()
			return d.configFile
		},
		reloadAt: func() time.Time {
			d.statusMu.Lock()
			defer d.statusMu.Unlock()
			return d.reloadAt
		},
		gather: d.gatherStatus,
	}
}

// brokerAddr drops anything but host:port from a broker address (a
// user:password@ a hand-written address might carry).
func brokerAddr(b string) string {
	if _, rest, ok := strings.Cut(b, "://"); ok {
		b = rest
	}
	if i := strings.LastIndex(b, "@"); i >= 0 {
		b = b[i+1:]
	}
	return b
}

// status makes the Status from one gather.
func (src *statusSource) status() (*Status, error) {
	mfs, sts, err := src.gather()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	s := &Status{
		Version: src.version, Now: now, Started: src.started,
		Uptime: now.Sub(src.started).Truncate(time.Second).String(),
		Kafka:  src.kafka,
	}
	s.Kafka.Brokers = slices.Clone(s.Kafka.Brokers)
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	// perChannel sums a family's series by their channel label.
	perChannel := func(name string) map[string]float64 {
		out := map[string]float64{}
		if mf := byName[name]; mf != nil {
			for _, m := range mf.GetMetric() {
				out[label(m, "channel")] += value(m)
			}
		}
		return out
	}
	received := perChannel("petitiond_items_received_total")
	produced := perChannel("petitiond_records_produced_total")
	dead := perChannel("petitiond_items_dead_lettered_total")
	inflight := perChannel("petitiond_items_in_flight")
	last := perChannel("petitiond_channel_last_record_timestamp_seconds")
	backlog := map[string][]channels.Backlog{}
	if mf := byName["petitiond_channel_backlog"]; mf != nil {
		for _, m := range mf.GetMetric() {
			ch := label(m, "channel")
			backlog[ch] = append(backlog[ch], channels.Backlog{Unit: label(m, "unit"), N: int64(value(m))})
		}
	}
	for _, row := range sts {
		name := row.Name
		row.LastError = scrubError(row.LastError)
		row.Received, row.Produced = int64(received[name]), int64(produced[name])
		row.DeadLettered, row.InFlight = int64(dead[name]), int64(inflight[name])
		row.Backlog = backlog[name]
		slices.SortFunc(row.Backlog, func(a, b channels.Backlog) int { return cmp.Compare(a.Unit, b.Unit) })
		if t := last[name]; t > 0 {
			row.LastRecord = time.UnixMilli(int64(t*1e3 + 0.5))
		}
		s.Channels = append(s.Channels, row)
	}
	if mf := byName["petitiond_kafka_up"]; mf != nil && len(mf.GetMetric()) > 0 {
		s.Kafka.Up = value(mf.GetMetric()[0]) == 1
	}
	s.Config.File = src.configFile()
	if mf := byName["petitiond_config_info"]; mf != nil && len(mf.GetMetric()) > 0 {
		s.Config.Hash = label(mf.GetMetric()[0], "hash")
	}
	if mf := byName["petitiond_config_last_reload_success_timestamp_seconds"]; mf != nil && len(mf.GetMetric()) > 0 {
		s.Config.LoadedAt = time.UnixMilli(int64(value(mf.GetMetric()[0]) * 1e3))
	}
	if mf := byName["petitiond_config_reloads_total"]; mf != nil {
		for _, m := range mf.GetMetric() {
			n := int64(value(m))
			s.Config.Reloads += n
			if label(m, "result") == "failure" {
				s.Config.Failures += n
			}
		}
	}
	if at := src.reloadAt(); !at.IsZero() {
		s.Config.LastReloadAt = at
		s.Config.LastReload = "success"
		if mf := byName["petitiond_config_last_reload_successful"]; mf != nil && len(mf.GetMetric()) > 0 && value(mf.GetMetric()[0]) != 1 {
			s.Config.LastReload = "failure"
		}
	}
	return s, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// scrubError is a channel's last error as the page shows it. It is the
// first line of the error already (channels.Status), and channel errors
// name addresses, mailboxes and files, not what petitioners sent; as a last
// line of defence values quoted from input are hidden (redact.Literals) and
// the log handler's masking applies (logging.Mask: resident ids, phone
// numbers, e-mail addresses, long digit runs, Chinese text), so the page
// shows no more than the log does.
func scrubError(s string) string {
	return logging.Mask(redact.Literals(s))
}

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"ts": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") },
	"iso": func(t time.Time) string {
		return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	},
	"ago": func(now, t time.Time) string { return now.Sub(t).Truncate(time.Second).String() },
	"in":  func(now, t time.Time) string { return t.Sub(now).Truncate(time.Second).String() },
	"stateZH": func(s channels.State, reconnects bool) string {
		if s == channels.StateRestarting && reconnects {
			return "重连中"
		}
		return map[channels.State]string{
			channels.StateStarting: "启动中", channels.StateRunning: "运行中", channels.StateRestarting: "重试中",
			channels.StateFailed: "已失败", channels.StateStopped: "已停止",
		}[s]
	},
	"unitZH": func(u string) string {
		return map[string]string{
			channels.UnitMessages: "封邮件", channels.UnitBytes: "字节", channels.UnitFiles: "个文件", channels.UnitPages: "页",
		}[u]
	},
	"short": func(h string) string { return h[:min(len(h), 12)] },
}).Parse(statusHTML))

// refreshSeconds is how often the page reloads itself (a meta refresh:
// no script).
const refreshSeconds = 15

// securePage sets the headers of an admin page: no script, no framing,
// nothing cached.
func securePage(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// serveStatusPage serves the HTML status page.
func (src *statusSource) serveStatusPage(w http.ResponseWriter, r *http.Request) {
	st, err := src.status()
	if err != nil {
		http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
		return
	}
	securePage(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	statusTemplate.Execute(w, struct {
		*Status
		Refresh int
	}{st, refreshSeconds})
}

// serveStatusJSON serves the same as JSON.
func (src *statusSource) serveStatusJSON(w http.ResponseWriter, r *http.Request) {
	st, err := src.status()
	if err != nil {
		http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
		return
	}
	securePage(w)
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(st)
}
