// Package deploy_test checks what deploy/ ships against the real daemon:
// the Prometheus rules (promtool check rules, and promtool test rules with
// input series taken from scrapes of a running petitiond), the Grafana
// dashboard's metric names, the systemd unit (systemd-analyze verify) and
// the .deb (built with nfpm, installed with dpkg, started the way the unit
// starts it, purged).
//
// The tools come from Debian packages (scripts/deps.sh installs them).
// Without one a test skips — except under CI=true, where it fails.
package deploy_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/court12368/petitiond/internal/testutil"
)

var binary string

func TestMain(m *testing.M) { testutil.MainWithDaemon(m, "petitiond-deploy-", &binary) }

// tool returns the path of a command, skipping (or failing under CI=true)
// when it is not installed.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI (Debian package %s; scripts/deps.sh installs it)", name, pkg)
		}
		t.Skipf("%s not installed (Debian package %s; make test installs it)", name, pkg)
	}
	return p
}

// repoRoot is the repository's top directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// sample is one series of a scrape.
type sample struct {
	name   string
	labels map[string]string
	value  float64
	typ    string // counter, gauge, histogram, summary, untyped (of its family)
}

func (s sample) key() string { return seriesString(s.name, s.labels) }

// seriesString writes a series the way promtool's input_series wants it:
// name{a="x",b="y"} with sorted labels.
func seriesString(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%s", k, strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// scrape reads the daemon's /metrics (Prometheus text format 0.0.4).
func scrape(t *testing.T, admin string) map[string]sample {
	t.Helper()
	r, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("/metrics: %s", r.Status)
	}
	out, err := parseText(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parseText parses the text exposition format: enough of it for what
// client_golang writes (no timestamps, quoted label values with \\ \" \n).
func parseText(r io.Reader) (map[string]sample, error) {
	types := map[string]string{}
	out := map[string]sample{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			if len(f) == 4 {
				types[f[2]] = f[3]
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line
		if i := strings.IndexAny(rest, "{ "); i >= 0 {
			s.name, rest = rest[:i], rest[i:]
		}
		if strings.HasPrefix(rest, "{") {
			rest = rest[1:]
			for !strings.HasPrefix(rest, "}") {
				eq := strings.IndexByte(rest, '=')
				if eq < 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
					return nil, fmt.Errorf("bad labels in %q", line)
				}
				name := rest[:eq]
				rest = rest[eq+2:]
				var val strings.Builder
				for {
					if rest == "" {
						return nil, fmt.Errorf("unterminated label value in %q", line)
					}
					c := rest[0]
					rest = rest[1:]
					if c == '"' {
						break
					}
					if c == '\\' && rest != "" {
						switch rest[0] {
						case 'n':
							val.WriteByte('\n')
						default:
							val.WriteByte(rest[0])
						}
						rest = rest[1:]
						continue
					}
					val.WriteByte(c)
				}
				s.labels[name] = val.String()
				rest = strings.TrimPrefix(rest, ",")
			}
			rest = rest[1:]
		}
		f := strings.Fields(rest)
		if len(f) < 1 {
			return nil, fmt.Errorf("no value in %q", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("value in %q: %v", line, err)
		}
		s.value = v
		s.typ = types[s.name]
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(s.name, suf); ok && types[base] != "" && s.typ == "" {
				s.typ = types[base]
			}
		}
		out[s.key()] = s
	}
	return out, sc.Err()
}

// cumulative reports whether a series only grows (counters, histogram and
// summary parts).
func (s sample) cumulative() bool {
	switch s.typ {
	case "counter", "histogram":
		return true
	case "summary":
		return strings.HasSuffix(s.name, "_sum") || strings.HasSuffix(s.name, "_count")
	}
	return false
}

// find returns the value of the first series of name whose labels include
// match, and whether there is one.
func find(m map[string]sample, name string, match map[string]string) (float64, bool) {
	for _, s := range m {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range match {
			if s.labels[k] != v {
				ok = false
			}
		}
		if ok {
			return s.value, true
		}
	}
	return 0, false
}
