// Command report is make bench's side-by-side report: it runs petitiond's
// channels one phase at a time against one broker (and one Dovecot), and
// next to each phase the limits measured in the same run on the same
// broker — a bare kafka-go producer sending records of the size and shape
// the channel produced, with the same concurrency, and Apache Kafka's own
// ProducerPerformance tool at the same record size — then prints one table
// and writes the same figures as JSON. See bench/README.md.
//
//	go run ./bench/report -brokers 127.0.0.1:29092 -imap 127.0.0.1:29143 \
//	    -bin bin/petitiond -scanbench bin/scanbench -kafka-libs ~/.cache/petitiond/kafka-4.4.0/libs
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Phase is one row of the report. The JSON field names are a stable
// schema (bench/README.md); a figure that does not apply is null.
type Phase struct {
	Name         string             `json:"name"`
	Rate         float64            `json:"rate"`
	Unit         string             `json:"unit"`
	Records      int64              `json:"records"`
	Seconds      float64            `json:"seconds"`
	P50ms        *float64           `json:"p50_ms"`
	P99ms        *float64           `json:"p99_ms"`
	CPUPer1000   *float64           `json:"cpu_s_per_1000"`
	PeakRSSBytes *int64             `json:"peak_rss_bytes"`
	RSSSamples   []RSSSample        `json:"rss_samples"`
	RSSMaxSample *RSSSample         `json:"rss_max_sample"`
	RecordBytes  *int               `json:"record_bytes"`
	Concurrency  string             `json:"concurrency"`
	BareRate     *float64           `json:"bare_rate"`
	PerfToolRate *float64           `json:"perf_tool_rate"`
	Bare         *Limit             `json:"bare"`
	PerfTool     *Limit             `json:"perf_tool"`
	Ratios       map[string]float64 `json:"ratios"`
	Pass         *bool              `json:"pass"`
	Note         string             `json:"note"`
	Error        string             `json:"error,omitempty"`
}

// RSSSample is the resident set at a point of the phase (percent of its
// duration).
type RSSSample struct {
	AtPercent int   `json:"at_percent"`
	RSSBytes  int64 `json:"rss_bytes"`
}

// Report is the JSON document.
type Report struct {
	Schema  int               `json:"schema"`
	Started time.Time         `json:"started"`
	Host    map[string]string `json:"host"`
	Config  map[string]string `json:"config"`
	Phases  []*Phase          `json:"phases"`
}

var (
	brokerList = flag.String("brokers", "127.0.0.1:29092", "Kafka bootstrap (the bench's own broker)")
	imapAddr   = flag.String("imap", "127.0.0.1:29143", "Dovecot address (plain/STARTTLS); empty skips the imap phases")
	imapUser   = flag.String("imap-user", "petitions", "IMAP user")
	imapPass   = flag.String("imap-pass", "secret", "IMAP password")
	bin        = flag.String("bin", "bin/petitiond", "petitiond binary")
	scanBin    = flag.String("scanbench", "bin/scanbench", "scanbench binary; empty skips the scan phases")
	kafkaLibs  = flag.String("kafka-libs", filepath.Join(os.Getenv("HOME"), ".cache/petitiond/kafka-4.4.0/libs"), "Kafka jars (kafka-tools for ProducerPerformance); empty skips the tool")
	jsonOut    = flag.String("json", "", "write the report as JSON here")
	only       = flag.String("phases", "web,open,calllog,imap,idle,big,scan", "phases to run, comma-separated")

	webDur    = flag.Duration("web-duration", 15*time.Second, "duration of each web phase")
	webConc   = flag.Int("web-clients", 64, "closed loop: waiting clients")
	openRate  = flag.Int("open-rate", 2000, "open loop: requests per second")
	cdrLines  = flag.Int("calllog-lines", 1_000_000, "CDR lines appended to Master.csv")
	letters   = flag.Int("imap-letters", 20_000, "letters in the imap backfill (~100 KB each)")
	idleN     = flag.Int("imap-idle", 20, "letters appended one at a time for the arrival → record latency")
	bigMB     = flag.Int("big-mb", 50, "attachment size of the memory phase's one letter, MB")
	bigLimit  = flag.Int("big-limit-mb", 100, "peak RSS the one-letter memory phase must stay under, MB")
	scanPages = flag.Int("scan-pages", 12, "pages per scan phase")
	perfBytes = flag.Int64("perf-bytes", 200<<20, "ProducerPerformance: records × size per run at most")
	perfMax   = flag.Int("perf-records", 200_000, "ProducerPerformance: records per run at most")
	bareMax   = flag.Int("bare-records", 300_000, "bare async producer: records per run at most")
	warmup    = flag.Duration("warmup", 20*time.Second, "load the broker this long before the first phase (its JIT warms up: the first phase measured on a cold broker ran 40% slower)")
	bareSecs  = flag.Duration("bare-duration", 0, "bare sync loops: duration (default: the web duration)")
)

var brokers []string

func main() {
	flag.Parse()
	brokers = strings.Split(*brokerList, ",")
	if *bareSecs == 0 {
		*bareSecs = *webDur
	}
	rep := &Report{Schema: 1, Started: time.Now().UTC(), Host: host(), Config: map[string]string{}}
	flag.VisitAll(func(f *flag.Flag) { rep.Config[f.Name] = f.Value.String() })
	run := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		run[strings.TrimSpace(p)] = true
	}
	logf("report: %d cores, brokers %s, petitiond %s", runtime.NumCPU(), *brokerList, *bin)
	warmBroker(*warmup)

	add := func(ps ...*Phase) {
		for _, p := range ps {
			ratios(p)
			rep.Phases = append(rep.Phases, p)
			logf("report: %s done: %.1f %s", p.Name, p.Rate, p.Unit)
		}
	}
	if run["web"] {
		add(webClosed())
	}
	if run["open"] {
		add(webOpen())
	}
	var memory []*Phase
	if run["calllog"] {
		p := calllogTail()
		add(p)
		memory = append(memory, memoryRow(p, fmt.Sprintf("memory: calllog %d lines (same run)", *cdrLines)))
	}
	if *imapAddr != "" && run["imap"] {
		p := imapBackfill()
		add(p)
		memory = append(memory, memoryRow(p, fmt.Sprintf("memory: imap backfill %d letters (same run)", *letters)))
	}
	if *imapAddr != "" && run["idle"] {
		add(imapIdle())
	}
	if *imapAddr != "" && run["big"] {
		memory = append([]*Phase{imapBig()}, memory...)
	}
	if *scanBin != "" && run["scan"] {
		add(scan(1), scan(2))
	}
	add(memory...)

	printTable(os.Stdout, rep)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		fmt.Printf("\nJSON: %s\n", *jsonOut)
	}
	os.Stdout.Sync()
	removeLeftovers()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func host() map[string]string {
	h := map[string]string{"cores": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version()}
	if n, err := os.Hostname(); err == nil {
		h["hostname"] = n
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		h["loadavg_at_start"] = strings.TrimSpace(string(b))
	}
	return h
}

// memoryRow repeats a phase's memory figures as a row of the memory
// section (the long runs are the memory tests; they are not run twice).
func memoryRow(p *Phase, name string) *Phase {
	m := &Phase{Name: name, Rate: p.Rate, Unit: p.Unit, Records: p.Records, Seconds: p.Seconds, CPUPer1000: p.CPUPer1000,
		PeakRSSBytes: p.PeakRSSBytes, RSSSamples: p.RSSSamples, RSSMaxSample: p.RSSMaxSample, Note: "RSS at 25/50/75/100% of the run; flat = no growth with records", Error: p.Error}
	return m
}

// ratios fills the ratios of a phase to its limits: rate (channel / limit,
// 1 = as fast as the bare producer) and p50/p99 (channel / limit, 1 = no
// added latency).
func ratios(p *Phase) {
	p.Ratios = map[string]float64{}
	for name, l := range map[string]*Limit{"bare": p.Bare, "perf_tool": p.PerfTool} {
		if l == nil {
			continue
		}
		if l.Rate > 0 && p.Rate > 0 {
			p.Ratios["rate_vs_"+name] = p.Rate / l.Rate
		}
		if name == "perf_tool" && !l.Paced {
			continue // flat out, the tool's latency is its own queueing
		}
		if p.P50ms != nil && l.P50ms != nil && *l.P50ms > 0 {
			p.Ratios["p50_vs_"+name] = *p.P50ms / *l.P50ms
		}
		if p.P99ms != nil && l.P99ms != nil && *l.P99ms > 0 {
			p.Ratios["p99_vs_"+name] = *p.P99ms / *l.P99ms
		}
	}
	if n := len(p.RSSSamples); n >= 2 && p.RSSSamples[0].RSSBytes > 0 {
		// Growth over the run: 1.00 = flat.
		p.Ratios["rss_end_vs_first_quarter"] = float64(p.RSSSamples[n-1].RSSBytes) / float64(p.RSSSamples[0].RSSBytes)
	}
	if p.Bare != nil {
		v := p.Bare.Rate
		p.BareRate = &v
	}
	if p.PerfTool != nil {
		v := p.PerfTool.Rate
		p.PerfToolRate = &v
	}
}

func printTable(f *os.File, rep *Report) {
	fmt.Fprintf(f, "# petitiond side by side — %s, %s cores, load at start %s, brokers %s\n",
		rep.Started.Format(time.RFC3339), rep.Host["cores"], rep.Host["loadavg_at_start"], *brokerList)
	fmt.Fprintln(f, "# rate/bare and rate/tool: channel ÷ limit (1.00 = the channel is as fast as a bare producer of the same records);")
	fmt.Fprintln(f, "# p99/bare, p99/tool: channel p99 ÷ limit p99 (latency phases). CPU: petitiond's utime+stime per 1,000 records.")
	tw := tabwriter.NewWriter(f, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\trate\tunit\tp50 ms\tp99 ms\tCPU s/1k\tpeak RSS MiB\tRSS 25/50/75/100% MiB\tmax sampled@%\trecord B\tbare rate\tbare p50/p99\ttool rate\ttool p50/p99\trate/bare\trate/tool\tp99/bare\tp99/tool\t")
	for _, p := range rep.Phases {
		name := p.Name
		if p.Error != "" {
			name += " (FAILED)"
		}
		var rss []string
		for _, s := range p.RSSSamples {
			rss = append(rss, fmt.Sprintf("%.0f", float64(s.RSSBytes)/(1<<20)))
		}
		peak := "-"
		if p.PeakRSSBytes != nil {
			peak = fmt.Sprintf("%.0f", float64(*p.PeakRSSBytes)/(1<<20))
			if p.Pass != nil {
				peak += map[bool]string{true: " ok", false: " OVER"}[*p.Pass]
			}
		}
		maxs := "-"
		if p.RSSMaxSample != nil {
			maxs = fmt.Sprintf("%.0f@%d", float64(p.RSSMaxSample.RSSBytes)/(1<<20), p.RSSMaxSample.AtPercent)
		}
		rb := "-"
		if p.RecordBytes != nil {
			rb = fmt.Sprint(*p.RecordBytes)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			name, num(p.Rate), p.Unit, fp(p.P50ms), fp(p.P99ms), fp3(p.CPUPer1000), peak, orDash(strings.Join(rss, "/")), maxs, rb,
			limRate(p.Bare), limLat(p.Bare), limRate(p.PerfTool), limLat(p.PerfTool),
			ratio(p, "rate_vs_bare"), ratio(p, "rate_vs_perf_tool"), ratio(p, "p99_vs_bare"), ratio(p, "p99_vs_perf_tool"))
	}
	tw.Flush()
	fmt.Fprintln(f)
	for _, p := range rep.Phases {
		var notes []string
		if p.Concurrency != "" {
			notes = append(notes, p.Concurrency)
		}
		if p.Note != "" {
			notes = append(notes, p.Note)
		}
		for _, l := range []struct {
			name string
			l    *Limit
		}{{"bare", p.Bare}, {"tool", p.PerfTool}} {
			if l.l == nil {
				continue
			}
			notes = append(notes, l.name+": "+l.l.How)
			if l.l.Errors > 0 {
				notes = append(notes, fmt.Sprintf("%s: %d failed (first: %s)", l.name, l.l.Errors, l.l.FirstError))
			}
		}
		if p.Error != "" {
			notes = append(notes, "ERROR: "+p.Error)
		}
		if len(notes) > 0 {
			fmt.Fprintf(f, "- %s: %s\n", p.Name, strings.Join(notes, "; "))
		}
	}
}

func num(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

func fp(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *v)
}

func fp3(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func limRate(l *Limit) string {
	if l == nil {
		return "-"
	}
	return num(l.Rate)
}

func limLat(l *Limit) string {
	if l == nil || l.P50ms == nil {
		return "-"
	}
	return fmt.Sprintf("%s/%s", fp(l.P50ms), fp(l.P99ms))
}

func ratio(p *Phase, k string) string {
	v, ok := p.Ratios[k]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}
