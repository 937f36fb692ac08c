package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

const dashboardFile = "grafana/petitiond-dashboard.json"

// scenarios runs the two daemons of the alert tests once for all tests.
var scenarios struct {
	once          sync.Once
	healthy, down scenario
	ok            bool
}

func runScenarios(t *testing.T) (healthy, down scenario) {
	t.Helper()
	scenarios.once.Do(func() {
		scenarios.healthy = runHealthy(t)
		scenarios.down = runKafkaDown(t)
		scenarios.ok = true
	})
	if !scenarios.ok {
		t.Fatal("the daemons of an earlier test did not run")
	}
	return scenarios.healthy, scenarios.down
}

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
}

type panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	GridPos    *struct{ X, Y, W, H int }
	Targets    []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// exprs returns every PromQL expression of the dashboard: panel targets,
// variable queries (label_values(SELECTOR, label) gives its selector) and
// annotation queries, by where they are.
func (d dashboard) exprs(t *testing.T) map[string]string {
	out := map[string]string{}
	var walk func(ps []panel)
	ids := map[int]bool{}
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d used twice", p.ID)
			}
			ids[p.ID] = true
			if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
				t.Errorf("panel %q has no size", p.Title)
			}
			if p.Type != "row" {
				if !strings.Contains(string(p.Datasource), "${datasource}") {
					t.Errorf("panel %q does not use the datasource variable: %s", p.Title, p.Datasource)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
			}
			for i, tg := range p.Targets {
				out[fmt.Sprintf("panel %q target %d", p.Title, i)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	labelValues := regexp.MustCompile(`^label_values\((.*), *\w+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(SELECTOR, label)", v.Name, v.Definition)
			continue
		}
		out["variable "+v.Name] = m[1]
	}
	for i, a := range d.Annotations.List {
		out[fmt.Sprintf("annotation %d", i)] = a.Expr
	}
	return out
}

// notDriven are metrics the daemon declares that the test daemons do not
// make appear (a series exists only once it counted something): each
// must still be declared in the code.
var notDriven = []string{"petitiond_items_failed_total", "petitiond_items_ignored_total"}

var metricName = regexp.MustCompile(`\b(?:petitiond|go|process)_[a-z0-9_]+\b`)

// TestDashboard: the dashboard is valid JSON with the datasource, instance
// and channel variables; every query parses as PromQL (promtool check
// rules on them as recording rules) and names only metrics found in
// scrapes of running daemons, or declared by the code and listed in
// notDriven. The alert rules are held to the same.
func TestDashboard(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard without uid or title")
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	for name, typ := range map[string]string{"datasource": "datasource", "instance": "query", "channel": "query"} {
		if vars[name] != typ {
			t.Errorf("variable %s: type %q, want %q", name, vars[name], typ)
		}
	}
	exprs := d.exprs(t)

	// Parse: the queries as recording rules, the Grafana variables
	// replaced by what they stand for.
	r := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$instance", ".*", "$channel", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	where := make([]string, 0, len(exprs))
	for w := range exprs {
		where = append(where, w)
	}
	sort.Strings(where)
	for i, w := range where {
		if strings.Contains(r.Replace(exprs[w]), "$") {
			t.Errorf("%s: unknown variable in %q", w, exprs[w])
		}
		q, _ := json.Marshal(r.Replace(exprs[w]))
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	file := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	os.WriteFile(file, []byte(rules.String()), 0o644)
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("dashboard queries do not parse: %v\n%s\n%s", err, out, rules.String())
	}

	// Names: from the scrapes, else declared and listed in notDriven.
	healthy, down := runScenarios(t)
	scraped := map[string]bool{}
	for _, m := range []map[string]sample{healthy.after, down.after} {
		for _, s := range m {
			scraped[s.name] = true
		}
	}
	declared := declaredMetrics(t)
	for _, n := range notDriven {
		if !declared[n] {
			t.Errorf("%s is listed as not driven but the code declares no such metric", n)
		}
	}
	known := func(name string) bool {
		if scraped[name] {
			return true
		}
		for _, n := range notDriven {
			if n == name {
				return true
			}
		}
		return false
	}
	for _, w := range where {
		for _, name := range metricName.FindAllString(exprs[w], -1) {
			if !known(name) {
				t.Errorf("dashboard %s: metric %s is not exported by petitiond", w, name)
			}
		}
	}
	for _, rl := range loadRules(t) {
		for _, name := range metricName.FindAllString(rl.Expr, -1) {
			if !known(name) {
				t.Errorf("alert %s: metric %s is not exported by petitiond", rl.Alert, name)
			}
		}
	}
}

// declaredMetrics reads the metric names declared in the code
// (Name: "petitiond_…" in prometheus options).
func declaredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	re := regexp.MustCompile(`Name: +"(petitiond_[a-z0-9_]+)"`)
	root := repoRoot(t)
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (e.Name() == ".git" || e.Name() == "var" || e.Name() == "bin") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDashboardChannels: the channel variable lists every channel of the
// scrapes — also one that has counted nothing yet — and the state
// timeline's query, evaluated by promtool on the scraped state series,
// gives each channel the code of its current state (the imap channel
// whose server is missing: restarting).
func TestDashboardChannels(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	d := loadDashboard(t)
	exprs := d.exprs(t)
	if v := exprs["variable channel"]; !strings.HasPrefix(v, "petitiond_channel_state{") {
		t.Fatalf("variable channel is label_values(%s, channel), want petitiond_channel_state", v)
	}
	healthy, down := runScenarios(t)
	for _, sc := range []scenario{healthy, down} {
		all, listed := map[string]bool{}, map[string]bool{}
		for _, s := range sc.after {
			if ch, ok := s.labels["channel"]; ok {
				all[ch] = true
				if s.name == "petitiond_channel_state" {
					listed[ch] = true
				}
			}
		}
		for ch := range all {
			if !listed[ch] {
				t.Errorf("channel %s has series but no petitiond_channel_state: the variable would not list it", ch)
			}
		}
	}

	var timeline string
	for w, e := range exprs {
		if strings.Contains(w, `"Channel states"`) {
			timeline = e
		}
	}
	if timeline == "" {
		t.Fatal("no Channel states panel")
	}
	q := strings.NewReplacer("$instance", ".*", "$channel", ".*").Replace(timeline)
	var in strings.Builder
	for _, s := range healthy.after {
		if s.name == "petitiond_channel_state" {
			fmt.Fprintf(&in, "      - {series: %q, values: %q}\n", seriesString(s.name, s.labels), num(s.value)+"x5")
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "none.yml"), []byte("groups: []\n"), 0o644)
	qq, _ := json.Marshal(q)
	test := fmt.Sprintf(`rule_files: [none.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
%s    promql_expr_test:
      - expr: %s
        eval_time: 5m
        exp_samples:
          - {labels: '{channel="letters"}', value: 3}
          - {labels: '{channel="web-portal"}', value: 2}
`, in.String(), qq)
	file := filepath.Join(dir, "states.test.yml")
	os.WriteFile(file, []byte(test), 0o644)
	cmd := exec.Command(promtool, "test", "rules", file)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the state timeline's query on the scraped states: %v\n%s\n%s", err, out, test)
	}
}
