// Package daemon wires petitiond together: config → blob store, Kafka
// producer (or the embedded broker), normalizer, router, engine, channels
// under supervision, and the admin listener.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/engine"
	"github.com/court12368/petitiond/internal/sdnotify"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/producer"
	"github.com/court12368/petitiond/router"
)

// Version is set at build time.
var Version = "dev"

// Daemon is a running petitiond.
type Daemon struct {
	Log      *slog.Logger
	Registry *channels.Registry

	cfg          *config.Config
	blobs        *blob.Dir
	prod         *producer.KafkaProducer
	fake         *kfake.Cluster
	eng          *engine.Engine
	metrics      *engine.Metrics
	promReg      *prometheus.Registry
	admin        *http.Server
	adminLn      net.Listener
	reloads      *prometheus.CounterVec
	reloadOK     prometheus.Gauge
	reloadTime   prometheus.Gauge
	configInfo   *prometheus.GaugeVec
	ctx          context.Context
	cancel       context.CancelFunc
	mu           sync.Mutex
	channels     map[string]*instance
	listeners    *listenerPool
	wg           sync.WaitGroup
	reloadMu     sync.Mutex
	shuttingDown bool // under reloadMu: no reload once shutdown began
	rules        *router.Rules
	repeats      *normalize.Repeats
	notifier     *sdnotify.Notifier // under reloadMu; nil: no-op

	// For the status page.
	started     time.Time
	kafkaStatus KafkaStatus
	gatherMu    sync.Mutex // one gatherStatus at a time
	statusMu    sync.Mutex
	configFile  string    // under statusMu
	reloadAt    time.Time // under statusMu: the last reload tried
}

func (d *Daemon) saveRepeatsPeriodically() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
			if err := d.repeats.Save(); err != nil {
				d.Log.Warn("saving repeat-petition memory", "err", err)
			}
		}
	}
}

// Build validates everything that can be checked without I/O: the config,
// channel settings, routes and rules. It is what `petitiond check` runs.
func Build(cfg *config.Config, reg *channels.Registry) (*router.Rules, error) {
	var errs config.Errors
	rules, err := router.Compile(cfg)
	if err != nil {
		var ce config.Errors
		if errors.As(err, &ce) {
			errs = append(errs, ce...)
		} else {
			errs = append(errs, &config.Error{File: cfg.File, Msg: err.Error()})
		}
	}
	if _, err := buildNormalizer(cfg, nil, nil); err != nil {
		var ce config.Errors
		if errors.As(err, &ce) {
			errs = append(errs, ce...)
		} else {
			errs = append(errs, &config.Error{File: cfg.File, Msg: err.Error()})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return rules, nil
}

// Start brings the daemon up: it returns once channels are started.
func Start(cfg *config.Config, reg *channels.Registry, log *slog.Logger) (*Daemon, error) {
	rules, err := Build(cfg, reg)
	if err != nil {
		return nil, err
	}
	d := &Daemon{Log: log, Registry: reg, cfg: cfg, channels: map[string]*instance{}, listeners: newListenerPool(), rules: rules, started: time.Now()}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	ok := false
	defer func() {
		if !ok {
			d.cleanup()
		}
	}()

	noSync := cfg.Blobs.Sync != nil && !*cfg.Blobs.Sync
	if d.blobs, err = openBlobs(cfg.Blobs, noSync, log); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.State.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("state.dir: %w", err)
	}
	brokers := cfg.Kafka.Brokers
	if cfg.Kafka.Embedded != nil {
		d.fake, brokers, err = startEmbedded(cfg.Kafka.Embedded, log)
		if err != nil {
			return nil, err
		}
	}
	d.kafkaStatus = KafkaStatus{Embedded: cfg.Kafka.Embedded != nil, TLS: cfg.Kafka.TLS != nil}
	for _, b := range brokers {
		d.kafkaStatus.Brokers = append(d.kafkaStatus.Brokers, brokerAddr(b))
	}
	if cfg.Kafka.SASL != nil {
		d.kafkaStatus.SASL = cfg.Kafka.SASL.Mechanism
	}
	if d.prod, err = producer.NewKafkaProducer(cfg.Kafka, brokers, rules.DeadLetterTopic(), log); err != nil {
		return nil, err
	}
	warnKafkaSecurity(cfg.Kafka, log)
	d.prod.ProbeTopics(rules.Topics())
	if cfg.Kafka.CreateTopicsEnabled() {
		// In the background: an unreachable or black-holed broker must not
		// keep the listeners from coming up. The first records wait for
		// the first attempt; readiness tells the rest.
		d.prod.HoldForTopics()
		go d.createTopics(rules)
	}
	d.prod.Start()

	d.promReg = prometheus.NewRegistry()
	d.promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.metrics = engine.NewMetrics(d.promReg, d.prod.Ready)
	d.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "petitiond_config_reloads_total", Help: "Configuration reloads by result (success, failure).",
	}, []string{"result"})
	d.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "petitiond_config_last_reload_successful", Help: "1 when the last configuration reload (or the start) succeeded, 0 when it was rejected.",
	})
	d.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "petitiond_config_last_reload_success_timestamp_seconds", Help: "When the running configuration was loaded (Unix time).",
	})
	d.configInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "petitiond_config_info", Help: "The running configuration: hash is the SHA-256 of its file.",
	}, []string{"hash"})
	d.promReg.MustRegister(d.reloads, d.reloadOK, d.reloadTime, d.configInfo)
	d.promReg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "petitiond_build_info", Help: "Build information.", ConstLabels: prometheus.Labels{"version": Version},
	}, func() float64 { return 1 }))

	d.repeats, err = normalize.OpenRepeats(filepath.Join(cfg.State.Dir, "repeats.jsonl"), cfg.Normalize.Repeats.MaxEntries)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	go d.saveRepeatsPeriodically()
	norm, err := buildNormalizer(cfg, d.blobs, d.repeats)
	if err != nil {
		return nil, err
	}
	d.eng = engine.New(log, norm, rules, d.prod, d.metrics, cfg.Pipeline.MaxInFlight)
	d.eng.SetReferencer(d.blobs) // blob gc never deletes what a record references
	d.promReg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "petitiond_blob_staged_bytes", Help: "Bytes of uploads staged until their petition is accepted.",
	}, func() float64 { return float64(d.blobs.StagedBytes()) }))
	d.promReg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "petitiond_blob_fsyncs_total", Help: "fsyncs (and syncfs) of the blob store; concurrent small originals share one through the journal.",
	}, func() float64 { return float64(d.blobs.Fsyncs()) }))

	if err := d.startAdmin(); err != nil {
		return nil, err
	}
	c, err := d.prepare(cfg)
	if err != nil {
		return nil, err
	}
	d.commit(c)
	d.loaded(cfg)
	ok = true
	log.Info("petitiond started", "version", Version, "channels", len(cfg.Channels), "brokers", brokers)
	return d, nil
}

func (d *Daemon) ensureTopics(rules *router.Rules) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	partitions := d.cfg.Kafka.Partitions
	if partitions == 0 {
		partitions = -1
	}
	return d.prod.EnsureTopics(ctx, rules.Topics(), partitions, d.cfg.Kafka.ReplicationFactor)
}

// createTopics creates the route topics, retrying every second until it
// succeeds or the daemon stops; records wait for the first attempt only.
func (d *Daemon) createTopics(rules *router.Rules) {
	for attempt := 0; ; attempt++ {
		err := d.ensureTopics(rules)
		if attempt == 0 {
			d.prod.TopicsAttempted()
		}
		if err == nil {
			if attempt > 0 {
				d.Log.Info("topics ensured")
			}
			return
		}
		if attempt == 0 {
			// Not fatal: Kafka may come up later; readiness tells.
			d.Log.Warn("could not create topics (will retry in the background)", "err", err)
		}
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Addr returns the admin listener address.
func (d *Daemon) AdminAddr() string {
	if d.adminLn == nil {
		return ""
	}
	return d.adminLn.Addr().String()
}

func (d *Daemon) startAdmin() error {
	if d.cfg.Admin.Listen == "" {
		return nil
	}
	ln, err := adminListener(d.cfg.Admin)
	if err != nil {
		return err
	}
	d.adminLn = ln
	warnAdmin(d.cfg.Admin, d.Log)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(d.metricsGatherer(), promhttp.HandlerOpts{Registry: d.promReg}))
	src := d.statusSource()
	mux.HandleFunc("GET /{$}", src.serveStatusPage)
	mux.HandleFunc("GET /status.json", src.serveStatusJSON)
	if d.cfg.Admin.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", d.readyz)
	mux.HandleFunc("GET /schemas/{name}", serveSchema)
	d.admin = &http.Server{Handler: adminAuth(d.cfg.Admin.AuthToken, mux), ReadHeaderTimeout: 5 * time.Second}
	go d.admin.Serve(ln)
	d.Log.Info("admin listening", "addr", ln.Addr().String(), "tls", d.cfg.Admin.TLSCertFile != "", "auth", d.cfg.Admin.AuthToken != "")
	return nil
}

// readyz answers 200 when Kafka answered (the route topics' leaders serve)
// and has not failed since, and every channel is taking input;
// else 503 with one line per reason, naming the channels that are down.
// It answers without the admin token (probes call it), so a channel's
// last error is shown scrubbed as on the status page (scrubError).
func (d *Daemon) readyz(w http.ResponseWriter, r *http.Request) {
	var down []string
	if d.ctx.Err() != nil {
		down = append(down, "shutting down")
	}
	if !d.prod.Ready() {
		down = append(down, "kafka unreachable")
	}
	for _, st := range d.Channels() {
		if !st.Ready() {
			st.LastError = scrubError(st.LastError)
			down = append(down, "channel "+st.String())
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(down) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(strings.Join(down, "\n") + "\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// Shutdown stops intake, drains in-flight items up to the drain timeout,
// flushes the producer and stops everything. It returns an error when
// items were left unacknowledged (they are redelivered on the next start).
func (d *Daemon) Shutdown() error {
	d.reloadMu.Lock() // wait for a reload in progress; none starts after
	d.shuttingDown = true
	d.reloadMu.Unlock()
	d.Log.Info("shutting down: stopping intake and draining")
	timeout := d.cfg.Pipeline.DrainTimeout.D()
	deadline, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Channels stop taking input; their Run waits for their acks.
	d.cancel()
	chDone := make(chan struct{})
	go func() { d.wg.Wait(); close(chDone) }()
	var errs []error
	select {
	case <-chDone:
	case <-deadline.Done():
		errs = append(errs, errors.New("channels did not stop before the drain deadline"))
	}
	d.eng.StopIntake()
	if err := d.eng.Drain(deadline); err != nil {
		errs = append(errs, err)
	}
	d.cleanup()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	d.Log.Info("shutdown complete")
	return nil
}

func (d *Daemon) cleanup() {
	if d.cancel != nil {
		d.cancel()
	}
	if d.prod != nil {
		d.prod.Close()
	}
	if d.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		d.admin.Shutdown(ctx)
		cancel()
	}
	if d.fake != nil {
		d.fake.Close()
	}
	if d.blobs != nil {
		d.blobs.Close()
	}
	if d.repeats != nil {
		if err := d.repeats.Save(); err != nil {
			d.Log.Warn("saving repeat-petition memory", "err", err)
		}
	}
}
