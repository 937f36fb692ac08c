// Command testsummary reads `go test -json` on stdin and keeps a long test
// run readable: it prints one line per package, the output of each failing
// test as soon as it fails (with build errors and package-level failures),
// and at the end the skipped tests with their reasons, the failed ones, and
// the line
//
//	tests: N passed, N failed, N skipped
//
// alone on its line (CI tooling reads "N passed, N failed"). Subtests count
// as tests. A package that fails outside any test (a build error, TestMain,
// a test binary that died) counts as one failed test, and a test that
// started but never finished (a timeout, os.Exit) as failed.
//
// The exit status is 1 when anything failed, or, with CI=true in the
// environment, when any test was skipped: in CI a missing service must not
// pass silently. It is the caller's job to fail on go test's own exit
// status too (scripts/test.sh does).
//
// Usage: go test -json ./... | testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	os.Exit(run(os.Stdin, os.Stdout, ci))
}

// event is one line of `go test -json` (cmd/test2json), including the
// build events go test adds.
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	Elapsed     float64
	ImportPath  string // build-output, build-fail
	FailedBuild string // on a package's fail
}

type testKey struct{ pkg, test string }

type result struct {
	name   string // package and test
	reason string // skip reason
}

type summary struct {
	w        io.Writer
	output   map[testKey][]string // output of running tests (test "" = package level)
	failed   map[testKey]bool     // failed tests: later output (a panic) is printed at once
	running  map[testKey]bool     // started, not finished
	subFail  map[testKey]bool     // tests with a failed subtest
	pkgFail  map[string]bool      // packages with a failed test
	build    map[string][]string  // build output by import path
	passed   int
	failures []result
	skips    []result
}

func run(r io.Reader, w io.Writer, ci bool) int {
	s := &summary{
		w:       w,
		output:  map[testKey][]string{},
		failed:  map[testKey]bool{},
		running: map[testKey]bool{},
		subFail: map[testKey]bool{},
		pkgFail: map[string]bool{},
		build:   map[string][]string{},
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event (go test's own errors): show it as it is.
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		s.handle(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(w, "testsummary: reading go test -json: %v\n", err)
		s.failures = append(s.failures, result{name: "(input: " + err.Error() + ")"})
	}
	// Tests still running when the stream ended never finished.
	for _, k := range sortedKeys(s.running) {
		s.unfinished(k)
	}
	return s.report(ci)
}

func (s *summary) handle(e event) {
	k := testKey{e.Package, e.Test}
	switch e.Action {
	case "build-output":
		s.build[e.ImportPath] = append(s.build[e.ImportPath], e.Output)
	case "build-fail":
		fmt.Fprintf(s.w, "=== BUILD FAILED %s\n%s", e.ImportPath, strings.Join(s.build[e.ImportPath], ""))
		delete(s.build, e.ImportPath)
	case "start":
		s.running[k] = true
	case "run":
		s.running[k] = true
	case "output":
		if s.failed[k] {
			fmt.Fprint(s.w, e.Output) // e.g. the panic after "--- FAIL"
			return
		}
		s.output[k] = append(s.output[k], e.Output)
	case "pass", "fail", "skip":
		delete(s.running, k)
		if e.Test == "" {
			s.endPackage(e)
		} else {
			s.endTest(k, e.Action)
		}
	}
}

func (s *summary) endTest(k testKey, action string) {
	out := s.output[k]
	delete(s.output, k)
	name := k.pkg + " " + k.test
	switch action {
	case "pass":
		s.passed++
	case "skip":
		s.skips = append(s.skips, result{name: name, reason: skipReason(out)})
	case "fail":
		s.failures = append(s.failures, result{name: name})
		s.failed[k] = true
		s.pkgFail[k.pkg] = true
		if i := strings.LastIndexByte(k.test, '/'); i > 0 {
			s.subFail[testKey{k.pkg, k.test[:i]}] = true
		}
		// A parent that failed only through its subtests has nothing
		// to add to what they printed.
		if s.subFail[k] && !hasContent(out) {
			return
		}
		fmt.Fprintf(s.w, "=== FAIL %s\n%s", name, strings.Join(out, ""))
	}
}

func (s *summary) endPackage(e event) {
	k := testKey{e.Package, ""}
	out := s.output[k]
	delete(s.output, k)
	// Tests of this package that never finished (the binary died).
	for _, t := range sortedKeys(s.running) {
		if t.pkg == e.Package {
			s.unfinished(t)
		}
	}
	switch e.Action {
	case "pass":
		fmt.Fprintf(s.w, "ok   %s %.2fs\n", e.Package, e.Elapsed)
	case "skip":
		fmt.Fprintf(s.w, "?    %s [no test files]\n", e.Package)
	case "fail":
		switch {
		case e.FailedBuild != "":
			s.failures = append(s.failures, result{name: e.Package + " [build failed]"})
		case !s.pkgFail[e.Package]:
			// TestMain, init or a crash outside any test: its output is
			// all there is to go on.
			s.failures = append(s.failures, result{name: e.Package + " [package failed outside any test]"})
			fmt.Fprintf(s.w, "=== FAIL %s\n%s", e.Package, strings.Join(packageOutput(e.Package, out), ""))
		}
		fmt.Fprintf(s.w, "FAIL %s %.2fs\n", e.Package, e.Elapsed)
	}
	for t := range s.failed {
		if t.pkg == e.Package {
			delete(s.failed, t)
		}
	}
	for t := range s.subFail {
		if t.pkg == e.Package {
			delete(s.subFail, t)
		}
	}
	delete(s.pkgFail, e.Package)
}

// unfinished reports a test (or package) that started and never ended.
func (s *summary) unfinished(k testKey) {
	delete(s.running, k)
	out := s.output[k]
	delete(s.output, k)
	if k.test == "" {
		if len(out) > 0 {
			fmt.Fprintf(s.w, "=== UNFINISHED %s\n%s", k.pkg, strings.Join(out, ""))
		}
		return
	}
	name := k.pkg + " " + k.test
	s.failures = append(s.failures, result{name: name + " [did not finish]"})
	s.pkgFail[k.pkg] = true
	fmt.Fprintf(s.w, "=== FAIL %s (did not finish)\n%s", name, strings.Join(out, ""))
}

func (s *summary) report(ci bool) int {
	if len(s.skips) > 0 {
		fmt.Fprintf(s.w, "\nSkipped:\n")
		for _, r := range s.skips {
			fmt.Fprintf(s.w, "  %s: %s\n", r.name, r.reason)
		}
	}
	if len(s.failures) > 0 {
		fmt.Fprintf(s.w, "\nFailed:\n")
		for _, r := range s.failures {
			fmt.Fprintf(s.w, "  %s\n", r.name)
		}
	}
	code := 0
	if len(s.failures) > 0 {
		code = 1
	}
	if ci && len(s.skips) > 0 {
		fmt.Fprintf(s.w, "\nCI=true: %d skipped test(s) count as failures\n", len(s.skips))
		code = 1
	}
	fmt.Fprintf(s.w, "\ntests: %d passed, %d failed, %d skipped\n", s.passed, len(s.failures), len(s.skips))
	return code
}

// framing tells the lines the test framework writes around a test's own
// output.
func framing(line string) bool {
	l := strings.TrimSpace(line)
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- FAIL", "--- SKIP"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return l == ""
}

// packageOutput drops go test's own result lines ("FAIL", "FAIL\tpkg\t0.1s")
// from a package's output: the summary prints its own.
func packageOutput(pkg string, out []string) []string {
	var keep []string
	for _, l := range out {
		t := strings.TrimSpace(l)
		if t == "FAIL" || t == "PASS" || strings.HasPrefix(t, "FAIL\t"+pkg) || strings.HasPrefix(t, "ok  \t"+pkg) {
			continue
		}
		keep = append(keep, l)
	}
	return keep
}

func hasContent(out []string) bool {
	for _, l := range out {
		if !framing(l) {
			return true
		}
	}
	return false
}

// skipReason is the last line the test wrote before it was skipped: the
// message of t.Skip.
func skipReason(out []string) string {
	for i := len(out) - 1; i >= 0; i-- {
		if !framing(out[i]) {
			return strings.TrimSpace(out[i])
		}
	}
	return "(no reason given)"
}

func sortedKeys[V any](m map[testKey]V) []testKey {
	ks := make([]testKey, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].pkg != ks[j].pkg {
			return ks[i].pkg < ks[j].pkg
		}
		return ks[i].test < ks[j].test
	})
	return ks
}
