package deploy_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/court12368/petitiond/internal/testutil"
)

const alertsFile = "prometheus/petitiond-alerts.yml"

func TestAlertRulesCheck(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	out, err := exec.Command(promtool, "check", "rules", alertsFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// rule is an alerting rule of the shipped file.
type rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	return rules
}

// TestAlertRulesShape: every alert has a severity, English and Chinese
// summaries, a description and a runbook anchor that exists in
// deploy/README.md; annotations never show $value (no numbers that could
// carry data, and the tests can expand them exactly).
func TestAlertRulesShape(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ +(\S+)`).FindAllStringSubmatch(string(readme), -1) {
		anchors[strings.ToLower(m[1])] = true
	}
	for _, r := range loadRules(t) {
		switch r.Labels["severity"] {
		case "critical", "warning", "info":
		default:
			t.Errorf("%s: severity %q", r.Alert, r.Labels["severity"])
		}
		for _, a := range []string{"summary", "summary_zh", "description", "runbook"} {
			if r.Annotations[a] == "" {
				t.Errorf("%s: no %s annotation", r.Alert, a)
			}
		}
		for a, v := range r.Annotations {
			if strings.Contains(v, "$value") || strings.Contains(v, ".Value") {
				t.Errorf("%s: annotation %s shows the value", r.Alert, a)
			}
		}
		rb, ok := strings.CutPrefix(r.Annotations["runbook"], "deploy/README.md#")
		if !ok || !anchors[rb] {
			t.Errorf("%s: runbook %q is not a heading of deploy/README.md", r.Alert, r.Annotations["runbook"])
		}
	}
}

// scenario is a petitiond run: a scrape before and one after what the
// test did to it.
type scenario struct {
	instance      string
	before, after map[string]sample
}

// runHealthy starts petitiond on the embedded broker with a web channel,
// an imap channel whose server is not there (it keeps restarting) and a
// route rule that fails on one record (a dead letter); it submits a good
// petition, the trap and four invalid ones, and then a broken
// configuration by SIGHUP.
func runHealthy(t *testing.T) scenario {
	dir := t.TempDir()
	web, admin := testutil.FreeAddr(), testutil.FreeAddr()
	cfg := filepath.Join(dir, "petitiond.yaml")
	conf := fmt.Sprintf(`kafka:
  embedded: {listen: %q, data_dir: %q}
blobs: {dir: %q}
state: {dir: %q}
routes:
  rules:
    - {name: trap, when: 'subject == "trap" && int(content) > 0', topic: petitions.never}
channels:
  - {name: web-portal, type: web, settings: {listen: %q}}
  - name: letters
    type: imap
    settings: {address: %q, tls: none, username: u, password: p, reconnect_backoff_min: 50ms, reconnect_backoff_max: 200ms}
admin: {listen: %q}
`, testutil.FreeAddr(), filepath.Join(dir, "kafka"), filepath.Join(dir, "blobs"), filepath.Join(dir, "state"), web, testutil.FreeAddr(), admin)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := testutil.StartDaemon(binary, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop(30 * time.Second)
	if err := d.WaitLog("petitiond started", 60*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, d.Logs())
	}
	var before map[string]sample
	if !testutil.Eventually(30*time.Second, func() bool {
		before = scrape(t, admin)
		up, _ := find(before, "petitiond_kafka_up", nil)
		return up == 1
	}) {
		t.Fatalf("petitiond_kafka_up not 1 on the embedded broker:\n%s", d.Logs())
	}
	restarts0, _ := find(before, "petitiond_channel_restarts_total", map[string]string{"channel": "letters"})

	post := func(body string, want int) {
		t.Helper()
		r, err := http.Post("http://"+web+"/petitions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d", body, r.StatusCode, want)
		}
	}
	post(`{"name":"张三","subject":"立案","content":"材料至今未立案"}`, 201)
	post(`{"name":"李四","subject":"trap","content":"not a number"}`, 202) // dead-lettered: accepted, not a record
	for i := range 4 {
		post(fmt.Sprintf(`{"nmae":"x%d"}`, i), 422)
	}
	// A broken file, by SIGHUP: rejected, the old one keeps running.
	if err := os.WriteFile(cfg, []byte(conf+"bogus: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.Cmd.Process.Signal(syscall.SIGHUP)

	var after map[string]sample
	if !testutil.Eventually(60*time.Second, func() bool {
		after = scrape(t, admin)
		dead, _ := find(after, "petitiond_items_dead_lettered_total", map[string]string{"channel": "web-portal"})
		prod, _ := find(after, "petitiond_records_produced_total", map[string]string{"channel": "web-portal"})
		rej, _ := find(after, "petitiond_items_rejected_total", map[string]string{"channel": "web-portal"})
		restarts, _ := find(after, "petitiond_channel_restarts_total", map[string]string{"channel": "letters"})
		reload, _ := find(after, "petitiond_config_last_reload_successful", nil)
		return dead == 1 && prod == 1 && rej == 4 && restarts-restarts0 >= 4 && reload == 0
	}) {
		t.Fatalf("the scrape did not reach the wanted state (1 dead letter, 1 record, 4 rejections, 4 restarts of letters, reload failed):\n%v\n%s", after, d.Logs())
	}
	return scenario{instance: admin, before: before, after: after}
}

// runKafkaDown starts petitiond against a broker address nobody listens
// on, with a web channel and a calllog channel tailing a call record:
// two web submissions are answered 503, the call is refused by the
// pipeline (and retried by its channel).
func runKafkaDown(t *testing.T) scenario {
	dir := t.TempDir()
	web, admin := testutil.FreeAddr(), testutil.FreeAddr()
	cfg := filepath.Join(dir, "petitiond.yaml")
	cdr := filepath.Join(dir, "Master.csv")
	if err := os.WriteFile(cdr, []byte(`"","13912345678","12368","from-trunk","""张三"" <13912345678>","PJSIP/trunk-00000020","PJSIP/8001-00000021","Queue","petitions,t,,,300","2024-03-01 09:15:02","2024-03-01 09:15:03","2024-03-01 09:22:45",463,462,"ANSWERED","DOCUMENTATION","1709255702.32","立案咨询"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`kafka: {brokers: [%q], write_timeout: 1s}
blobs: {dir: %q}
state: {dir: %q}
pipeline: {drain_timeout: 2s}
channels:
  - {name: web-portal, type: web, settings: {listen: %q}}
  - {name: hotline, type: calllog, settings: {path: %q, format: asterisk-csv, mode: tail, area_code: "791"}}
admin: {listen: %q}
`, testutil.FreeAddr(), filepath.Join(dir, "blobs"), filepath.Join(dir, "state"), web, cdr, admin)), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := testutil.StartDaemon(binary, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop(30 * time.Second)
	if err := d.WaitLog("petitiond started", 60*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, d.Logs())
	}
	before := scrape(t, admin)
	calls0, _ := find(before, "petitiond_items_refused_total", map[string]string{"channel": "hotline"})
	for range 2 {
		r, err := http.Post("http://"+web+"/petitions", "application/json", strings.NewReader(`{"name":"张三","content":"立案难"}`))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 503 {
			t.Fatalf("POST with Kafka down: %d, want 503", r.StatusCode)
		}
	}
	var after map[string]sample
	if !testutil.Eventually(60*time.Second, func() bool {
		after = scrape(t, admin)
		calls, _ := find(after, "petitiond_items_refused_total", map[string]string{"channel": "hotline"})
		return calls > calls0
	}) {
		t.Fatalf("the call was not refused by the pipeline:\n%v\n%s", after, d.Logs())
	}
	refused, _ := find(after, "petitiond_items_refused_total", map[string]string{"channel": "web-portal"})
	unavailable, _ := find(after, "petitiond_items_rejected_total", map[string]string{"channel": "web-portal", "reason": "unavailable"})
	if refused+unavailable != 2 {
		t.Fatalf("refused %v + rejected as unavailable %v, want 2:\n%v", refused, unavailable, after)
	}
	return scenario{instance: admin, before: before, after: after}
}

// series is one input series of a promtool test: values per minute.
type series struct {
	name   string
	labels map[string]string
	values []string
}

const minutes = 61 // 0m … 60m

// fromScenario turns two scrapes into series: the first scrape's values
// until rampFrom, the second's from rampTo on; in between cumulative
// series grow linearly (what happened between the scrapes is spread over
// those minutes) and gauges step to the second value. A counter missing
// from the first scrape was 0 then; a gauge missing from it is absent.
func fromScenario(sc scenario, rampFrom, rampTo int) map[string]*series {
	out := map[string]*series{}
	base := map[string]string{"job": "petitiond", "instance": sc.instance}
	for key, s := range sc.after {
		labels := map[string]string{}
		for k, v := range s.labels {
			labels[k] = v
		}
		for k, v := range base {
			labels[k] = v
		}
		b, had := sc.before[key]
		v0 := b.value
		ser := &series{name: s.name, labels: labels}
		for m := range minutes {
			var v string
			switch {
			case m < rampFrom && !had && !s.cumulative():
				v = "_"
			case m < rampFrom:
				v = num(v0)
			case m >= rampTo || !s.cumulative():
				v = num(s.value)
			default:
				v = num(v0 + (s.value-v0)*float64(m-rampFrom)/float64(rampTo-rampFrom))
			}
			ser.values = append(ser.values, v)
		}
		out[seriesString(s.name, labels)] = ser
	}
	up := map[string]string{"job": "petitiond", "instance": sc.instance}
	out[seriesString("up", up)] = constant("up", up, 1)
	return out
}

func constant(name string, labels map[string]string, v float64) *series {
	s := &series{name: name, labels: labels}
	for range minutes {
		s.values = append(s.values, num(v))
	}
	return s
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// flat holds every series of a scrape at its value for the whole test:
// nothing happens, the base of the synthesised cases.
func flat(instance string, m map[string]sample) map[string]*series {
	return fromScenario(scenario{instance: instance, before: m, after: m}, 10, 20)
}

// want is an alert expected to fire: its name and the labels it is summed
// by (besides job and instance).
type want struct {
	alert   string
	channel string // "" for an alert per instance
	unit    string // for an alert per channel and unit (backlog)
}

type testCase struct {
	name     string
	instance string // "" for the healthy daemon's
	series   map[string]*series
	evals    map[int][]want // minute → every alert firing then
}

// promtoolTest writes the promtool test file: for each case and each
// evaluation time, every alert of the rule file is listed with exactly
// the alerts expected (none: it must not fire), labels and expanded
// annotations included.
func promtoolTest(t *testing.T, rules []rule, instance func(tc testCase) string, cases []testCase) []byte {
	t.Helper()
	type expAlert struct {
		ExpLabels      map[string]string `yaml:"exp_labels"`
		ExpAnnotations map[string]string `yaml:"exp_annotations"`
	}
	type alertTest struct {
		EvalTime  string     `yaml:"eval_time"`
		Alertname string     `yaml:"alertname"`
		ExpAlerts []expAlert `yaml:"exp_alerts"`
	}
	type inputSeries struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	}
	type test struct {
		Name          string        `yaml:"name"`
		Interval      string        `yaml:"interval"`
		InputSeries   []inputSeries `yaml:"input_series"`
		AlertRuleTest []alertTest   `yaml:"alert_rule_test"`
	}
	abs, _ := filepath.Abs(alertsFile)
	file := struct {
		RuleFiles          []string `yaml:"rule_files"`
		EvaluationInterval string   `yaml:"evaluation_interval"`
		Tests              []test   `yaml:"tests"`
	}{RuleFiles: []string{abs}, EvaluationInterval: "1m"}
	for _, tc := range cases {
		tt := test{Name: tc.name, Interval: "1m"}
		keys := make([]string, 0, len(tc.series))
		for k := range tc.series {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			tt.InputSeries = append(tt.InputSeries, inputSeries{Series: k, Values: strings.Join(tc.series[k].values, " ")})
		}
		evals := make([]int, 0, len(tc.evals))
		for m := range tc.evals {
			evals = append(evals, m)
		}
		sort.Ints(evals)
		for _, m := range evals {
			for _, r := range rules {
				at := alertTest{EvalTime: fmt.Sprintf("%dm", m), Alertname: r.Alert, ExpAlerts: []expAlert{}}
				for _, w := range tc.evals[m] {
					if w.alert != r.Alert {
						continue
					}
					labels := map[string]string{"job": "petitiond", "instance": instance(tc)}
					if w.channel != "" {
						labels["channel"] = w.channel
					}
					if w.unit != "" {
						labels["unit"] = w.unit
					}
					for k, v := range r.Labels {
						labels[k] = v
					}
					at.ExpAlerts = append(at.ExpAlerts, expAlert{ExpLabels: labels, ExpAnnotations: expand(t, r.Annotations, labels)})
				}
				tt.AlertRuleTest = append(tt.AlertRuleTest, at)
			}
		}
		file.Tests = append(file.Tests, tt)
	}
	b, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expand renders annotation templates as Prometheus does (text/template
// with $labels; the rules use nothing else).
func expand(t *testing.T, annotations, labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, text := range annotations {
		tmpl, err := template.New(k).Option("missingkey=zero").Parse("{{$labels := .Labels}}{{$value := .Value}}" + text)
		if err != nil {
			t.Fatalf("annotation %s: %v", k, err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, struct {
			Labels map[string]string
			Value  float64
		}{labels, 0}); err != nil {
			t.Fatalf("annotation %s: %v", k, err)
		}
		out[k] = b.String()
	}
	return out
}

// TestAlertsAgainstScrapes evaluates every alert with promtool test rules
// on series taken from scrapes of running daemons: one healthy daemon
// that saw a dead letter, invalid input, a channel that keeps restarting
// and a rejected reload, and one whose Kafka is unreachable; then cases
// synthesised from the real series names and labels for what a test
// cannot easily make happen (the target down, deliveries failing, a stuck
// pipeline, slow acknowledgements, a failed channel, an imap channel that
// reconnects in time, backlogs growing or not). In each case every alert is
// checked: those expected fire with their labels and annotations, the
// others don't.
func TestAlertsAgainstScrapes(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	rules := loadRules(t)
	healthy, down := runScenarios(t)

	const web, letters = "web-portal", "letters"
	cases := []testCase{
		{
			name:   "healthy daemon: dead letter, invalid input, imap restarting, reload rejected",
			series: fromScenario(healthy, 10, 20),
			evals: map[int][]want{
				5: nil, // the first scrape: nothing to alert on
				20: {
					{"PetitiondDeadLetters", web, ""},
					{"PetitiondRejectionsHigh", web, ""},
					{"PetitiondChannelRestarting", letters, ""},
					{"PetitiondChannelNotRunning", letters, ""}, // restarting since the first scrape
					{"PetitiondReloadFailed", "", ""},
				},
			},
		},
		{
			name:   "Kafka unreachable: submissions refused",
			series: fromScenario(down, 10, 20),
			evals: map[int][]want{
				5:  {{"PetitiondKafkaDown", "", ""}},
				20: {{"PetitiondKafkaDown", "", ""}, {"PetitiondSubmissionsRefused", web, ""}, {"PetitiondSubmissionsRefused", "hotline", ""}},
			},
		},
	}
	// The synthesised cases start from the healthy daemon's last scrape
	// held still (nothing happens), with its reload made successful and
	// the imap channel connected (running).
	base := func() map[string]*series {
		m := map[string]sample{}
		for k, s := range healthy.after {
			switch {
			case s.name == "petitiond_config_last_reload_successful":
				s.value = 1
			case s.name == "petitiond_channel_state" && s.labels["channel"] == letters:
				s.value = 0
				if s.labels["state"] == "running" {
					s.value = 1
				}
			}
			m[k] = s
		}
		return flat(healthy.instance, m)
	}
	// states sets the state series of the healthy daemon's channel ch (its
	// real labels: type, the five states) to the state of each minute.
	states := func(m map[string]*series, ch string, at func(minute int) string) {
		n := 0
		for _, s := range healthy.after {
			if s.name != "petitiond_channel_state" || s.labels["channel"] != ch {
				continue
			}
			n++
			l := map[string]string{"job": "petitiond", "instance": healthy.instance}
			for k, v := range s.labels {
				l[k] = v
			}
			ser := &series{name: s.name, labels: l}
			for i := range minutes {
				v := 0.0
				if at(i) == s.labels["state"] {
					v = 1
				}
				ser.values = append(ser.values, num(v))
			}
			m[seriesString(s.name, l)] = ser
		}
		if n != 5 {
			t.Fatalf("%d state series of %s in the scrape, want 5 (starting, running, restarting, failed, stopped)", n, ch)
		}
	}
	webLabels := func(name string, extra map[string]string) map[string]string {
		l := map[string]string{"job": "petitiond", "instance": healthy.instance, "channel": web}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	ramp := func(name string, labels map[string]string, from, to int, start, end float64) *series {
		s := &series{name: name, labels: labels}
		for m := range minutes {
			v := start
			if m >= to {
				v = end
			} else if m > from {
				v = start + (end-start)*float64(m-from)/float64(to-from)
			}
			s.values = append(s.values, num(v))
		}
		return s
	}
	set := func(m map[string]*series, s *series) { m[seriesString(s.name, s.labels)] = s }

	{ // the target stops answering
		m := base()
		up := map[string]string{"job": "petitiond", "instance": healthy.instance}
		set(m, ramp("up", up, 10, 11, 1, 0))
		cases = append(cases, testCase{name: "target down", series: m, evals: map[int][]want{5: nil, 20: {{"PetitiondDown", "", ""}}}})
	}
	{ // items fail: the series petitiond_items_failed_total the engine declares, with the real channel's labels
		m := base()
		set(m, ramp("petitiond_items_failed_total", webLabels("", nil), 5, 40, 0, 70))
		cases = append(cases, testCase{name: "items failing", series: m, evals: map[int][]want{20: {{"PetitiondItemsFailing", web, ""}}}})
	}
	{ // items in flight, nothing acknowledged
		m := base()
		set(m, constant("petitiond_items_in_flight", webLabels("", nil), 3))
		cases = append(cases, testCase{name: "in flight, stuck", series: m, evals: map[int][]want{20: {{"PetitiondInFlightStuck", web, ""}}}})
	}
	{ // acknowledgements slow: new observations land between 5 s and 10 s
		m := base()
		var n int
		for _, s := range healthy.after {
			if s.labels["channel"] != web || !strings.HasPrefix(s.name, "petitiond_item_latency_seconds") {
				continue
			}
			n++
			l := webLabels("", s.labels)
			grow := 0.0
			switch {
			case s.name == "petitiond_item_latency_seconds_count":
				grow = 350
			case s.name == "petitiond_item_latency_seconds_sum":
				grow = 350 * 8
			case s.name == "petitiond_item_latency_seconds_bucket":
				if le, _ := strconv.ParseFloat(s.labels["le"], 64); le >= 10 {
					grow = 350
				}
			}
			set(m, ramp(s.name, l, 5, 40, s.value, s.value+grow))
		}
		if n < 3 {
			t.Fatalf("no latency histogram of %s in the scrape", web)
		}
		// Records are acknowledged meanwhile: the pipeline is not stuck.
		for _, s := range healthy.after {
			if s.name == "petitiond_records_produced_total" && s.labels["channel"] == web {
				set(m, ramp(s.name, webLabels("", s.labels), 5, 40, s.value, s.value+350))
			}
		}
		cases = append(cases, testCase{name: "latency high", series: m, evals: map[int][]want{10: nil, 30: {{"PetitiondLatencyHigh", web, ""}}}})
	}

	{ // a channel fails for good (a Permanent error): no built-in channel
		// fails so today, so its real failed series is set to 1
		m := base()
		states(m, letters, func(i int) string {
			if i < 10 {
				return "restarting"
			}
			return "failed"
		})
		cases = append(cases, testCase{name: "channel failed", series: m, evals: map[int][]want{
			5:  nil, // restarting for 5 minutes: not yet
			11: nil, // failed for a minute: a reload may be replacing it
			20: {{"PetitiondChannelFailed", letters, ""}},
		}})
	}
	{ // the imap server comes back after 8 minutes of reconnecting
		m := base()
		states(m, letters, func(i int) string {
			switch {
			case i == 0:
				return "starting"
			case i < 8:
				return "restarting"
			}
			return "running"
		})
		cases = append(cases, testCase{name: "imap reconnected within 10 minutes", series: m, evals: map[int][]want{7: nil, 20: nil}})
	}

	// The backlog cases start from the Kafka-down daemon's last scrape
	// (its calllog channel reports a backlog in bytes) held still, Kafka
	// back; the backlog series is the scraped one, its values made up.
	var backlog sample
	baseDown := map[string]sample{}
	for k, s := range down.after {
		switch s.name {
		case "petitiond_kafka_up":
			s.value = 1
		case "petitiond_channel_backlog":
			if s.labels["channel"] == "hotline" && s.labels["unit"] == "bytes" {
				backlog = s
			}
		}
		baseDown[k] = s
	}
	if backlog.name == "" {
		t.Fatalf("no backlog in bytes of hotline in the scrape:\n%v", down.after)
	}
	backlogCase := func(name string, at func(minute int) float64, evals map[int][]want) {
		m := flat(down.instance, baseDown)
		l := map[string]string{"job": "petitiond", "instance": down.instance}
		for k, v := range backlog.labels {
			l[k] = v
		}
		s := &series{name: backlog.name, labels: l}
		for i := range minutes {
			s.values = append(s.values, num(at(i)))
		}
		set(m, s)
		cases = append(cases, testCase{name: name, instance: down.instance, series: m, evals: evals})
	}
	// A CDR file grows faster than it is read from minute 5 on: never
	// drained for 30 minutes from minute 35, for 15 minutes from 50.
	backlogCase("backlog growing", func(i int) float64 { return float64(max(i-4, 0) * 2000) }, map[int][]want{
		20: nil, 40: nil,
		50: {{"PetitiondBacklogGrowing", "hotline", "bytes"}},
		60: {{"PetitiondBacklogGrowing", "hotline", "bytes"}},
	})
	// A backfill being worked off: large, but falling.
	backlogCase("backlog draining", func(i int) float64 { return float64(60000 - 1000*i) }, map[int][]want{30: nil, 50: nil, 60: nil})
	// Busy but keeping up: bursts of growing size, each drained to 0
	// (evaluated at their peaks).
	backlogCase("backlog bursts drained", func(i int) float64 { return float64((i % 10) * 100 * (1 + i/10)) }, map[int][]want{39: nil, 49: nil, 59: nil})
	// Growing, but it drained once at minute 25: the channel caught up
	// then, so it is 30 minutes without a drain (from 56) and 15 more
	// before it fires — not within the hour.
	backlogCase("backlog growing, drained at 25", func(i int) float64 {
		if i == 25 {
			return 0
		}
		return float64(max(i-4, 0) * 2000)
	}, map[int][]want{45: nil, 60: nil})
	// Large and steady: not growing.
	backlogCase("backlog steady", func(int) float64 { return 5000 }, map[int][]want{50: nil, 60: nil})

	file := promtoolTest(t, rules, func(tc testCase) string {
		if tc.instance != "" {
			return tc.instance
		}
		if strings.HasPrefix(tc.name, "Kafka") {
			return down.instance
		}
		return healthy.instance
	}, cases)
	// Every alert fires in some case: none is left untested.
	fired := map[string]bool{}
	for _, tc := range cases {
		for _, ws := range tc.evals {
			for _, w := range ws {
				fired[w.alert] = true
			}
		}
	}
	for _, r := range rules {
		if !fired[r.Alert] {
			t.Errorf("alert %s fires in no test case", r.Alert)
		}
	}
	path := filepath.Join(t.TempDir(), "petitiond-alerts.test.yml")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput()
	if err != nil {
		os.WriteFile(filepath.Join(os.TempDir(), "petitiond-alerts.test.yml"), file, 0o644)
		t.Fatalf("promtool test rules (input kept in %s): %v\n%s", filepath.Join(os.TempDir(), "petitiond-alerts.test.yml"), err, out)
	}
	t.Logf("promtool test rules: %d cases, %d alerts each:\n%s", len(cases), len(rules), out)
}
