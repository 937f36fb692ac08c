package engine

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the per-channel pipeline metrics. Labels carry channel names
// and fixed reasons only, never anything from a petition.
type Metrics struct {
	Received     *prometheus.CounterVec
	Produced     *prometheus.CounterVec
	DeadLettered *prometheus.CounterVec
	Rejected     *prometheus.CounterVec
	Failed       *prometheus.CounterVec
	Ignored      *prometheus.CounterVec
	Refused      *prometheus.CounterVec
	InFlight     *prometheus.GaugeVec
	Latency      *prometheus.HistogramVec
	Restarts     *prometheus.CounterVec
	KafkaUp      prometheus.GaugeFunc
	// LastRecord is when a record made from a channel's item was last
	// acknowledged by Kafka (set by the engine).
	LastRecord *prometheus.GaugeVec
	// Backlog and State are set from the channels' Backlog and Status by
	// whoever gathers the metrics (the daemon, before every scrape).
	Backlog *prometheus.GaugeVec
	State   *prometheus.GaugeVec
}

// NewMetrics registers the pipeline metrics with reg.
func NewMetrics(reg prometheus.Registerer, kafkaUp func() bool) *Metrics {
	m := &Metrics{
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "petitiond_items_received_total", Help: "Items taken from a channel's source.",
		}, []string{"channel", "type"}),
		Produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "petitiond_records_produced_total", Help: "Petition records acknowledged by Kafka.",
		}, []string{"channel", "topic"}),
		DeadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "petitiond_items_dead_lettered_total", Help: "Items that went to the dead-letter topic.",
		}, []string{"channel", "stage"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "petitiond_items_rejected_total", Help: "Inputs refused with an error to the client (bad request, too large, invalid field).",
		}, []string{"channel", "reason"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "petitiond_items_failed_total", Help: "Items not delivered (kept by the source for a retry).",
		}, []string{"channel"}),
		Ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "petitiond_items_ignored_total", Help: "Items that are no petition (auto-replies, bounces).",
		}, []string{"channel"}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "petitiond_items_refused_total", Help: "Submissions refused because the pipeline was busy or Kafka unavailable.",
		}, []string{"channel"}),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "petitiond_items_in_flight", Help: "Items taken and not yet acknowledged.",
		}, []string{"channel"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "petitiond_item_latency_seconds",
			Help:    "Time from submission to acknowledgement.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"channel"}),
		Restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "petitiond_channel_restarts_total", Help: "Channel restarts after an error.",
		}, []string{"channel"}),
	}
	m.LastRecord = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "petitiond_channel_last_record_timestamp_seconds", Help: "When a petition record from the channel was last acknowledged by Kafka (Unix time).",
	}, []string{"channel"})
	m.Backlog = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "petitiond_channel_backlog", Help: "What waits at the channel's source, not yet taken (imap: messages; calllog: bytes, files; scan: files, pages), where the source knows.",
	}, []string{"channel", "unit"})
	m.State = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "petitiond_channel_state", Help: "1 for the channel's current state (starting, running, restarting, failed, stopped), 0 for the others.",
	}, []string{"channel", "type", "state"})
	m.KafkaUp = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "petitiond_kafka_up", Help: "1 when Kafka answered recently.",
	}, func() float64 {
		if kafkaUp() {
			return 1
		}
		return 0
	})
	reg.MustRegister(m.Received, m.Produced, m.DeadLettered, m.Rejected, m.Failed, m.Ignored,
		m.Refused, m.InFlight, m.Latency, m.Restarts, m.KafkaUp, m.LastRecord, m.Backlog, m.State)
	return m
}

// Forget removes a channel's series (after it was removed by a reload).
func (m *Metrics) Forget(channel string) {
	l := prometheus.Labels{"channel": channel}
	for _, v := range []*prometheus.MetricVec{m.Received.MetricVec, m.Produced.MetricVec, m.DeadLettered.MetricVec,
		m.Rejected.MetricVec, m.Failed.MetricVec, m.Ignored.MetricVec, m.Refused.MetricVec, m.InFlight.MetricVec,
		m.Latency.MetricVec, m.Restarts.MetricVec, m.LastRecord.MetricVec, m.Backlog.MetricVec, m.State.MetricVec} {
		v.DeletePartialMatch(l)
	}
}

// chanMetrics are one channel's series of the per-item metrics, looked up
// once for its sink rather than by label values for every item (hashing
// the labels was a measurable part of a CDR line's cost).
type chanMetrics struct {
	vecs                               *Metrics
	name                               string
	received, failed, invalid, ignored prometheus.Counter
	inFlight, lastRecord               prometheus.Gauge
	latency                            prometheus.Observer
	topics                             sync.Map // topic → prometheus.Counter
}

func (m *Metrics) forChannel(name, typ string) *chanMetrics {
	return &chanMetrics{
		vecs:       m,
		name:       name,
		received:   m.Received.WithLabelValues(name, typ),
		failed:     m.Failed.WithLabelValues(name),
		invalid:    m.Rejected.WithLabelValues(name, "invalid"),
		ignored:    m.Ignored.WithLabelValues(name),
		inFlight:   m.InFlight.WithLabelValues(name),
		lastRecord: m.LastRecord.WithLabelValues(name),
		latency:    m.Latency.WithLabelValues(name),
	}
}

// produced is the records-produced counter of one of the channel's topics.
func (c *chanMetrics) produced(topic string) prometheus.Counter {
	if v, ok := c.topics.Load(topic); ok {
		return v.(prometheus.Counter)
	}
	v, _ := c.topics.LoadOrStore(topic, c.vecs.Produced.WithLabelValues(c.name, topic))
	return v.(prometheus.Counter)
}
