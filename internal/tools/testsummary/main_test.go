package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func summarise(t *testing.T, input string, ci bool) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(strings.NewReader(input), &out, ci)
	return code, out.String()
}

func canned(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lastLine is the summary line: the output must end with it, alone.
func lastLine(t *testing.T, out string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestMixed(t *testing.T) {
	code, out := summarise(t, canned(t, "mixed.json"), false)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if got, want := lastLine(t, out), "tests: 3 passed, 7 failed, 2 skipped"; got != want {
		t.Errorf("summary %q, want %q\n%s", got, want, out)
	}
	for _, want := range []string{
		"got 1, want 2",                      // a failing test's message
		"some output",                        // and what it printed
		"p2 broken",                          // a parallel test's failure
		"sub failed",                         // a subtest's
		"undefined: undefined",               // the build error
		"setup failed: no broker",            // TestMain's output
		"assignment to entry in nil map",     // a panic printed after its fail event
		"example.com/tsum/b [build failed]",  // listed
		"example.com/tsum/d [package failed", // listed
		"example.com/tsum/a TestSkip: a_test.go:13: needs Kafka: PETITIOND_KAFKA not set",
		"example.com/tsum/a TestSub/skipped: a_test.go:17: not on linux",
		"FAIL example.com/tsum/a 0.01s", "?    example.com/tsum/c [no test files]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{
		"a_test.go:8: fine", // a passing test's log
		"a_test.go:19: p1",
		"=== FAIL example.com/tsum/a TestSub\n", // a parent that only failed through a subtest
	} {
		if strings.Contains(out, unwanted) {
			t.Errorf("output has %q:\n%s", unwanted, out)
		}
	}
	// Failures are printed as they come, before the summary.
	if strings.Index(out, "got 1, want 2") > strings.Index(out, "\nFailed:") {
		t.Errorf("failing output printed after the summary:\n%s", out)
	}
}

func TestTimeoutIsAFailure(t *testing.T) {
	code, out := summarise(t, canned(t, "timeout.json"), false)
	if code != 1 || lastLine(t, out) != "tests: 0 passed, 1 failed, 0 skipped" {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	if !strings.Contains(out, "TestSlow [did not finish]") || !strings.Contains(out, "panic: test timed out after 1s") {
		t.Errorf("timed-out test not reported with its output:\n%s", out)
	}
}

func TestSkipFailsOnlyInCI(t *testing.T) {
	in := canned(t, "skip.json")
	code, out := summarise(t, in, false)
	if code != 0 || lastLine(t, out) != "tests: 1 passed, 0 failed, 1 skipped" {
		t.Errorf("without CI: exit %d, output:\n%s", code, out)
	}
	if !strings.Contains(out, "ok   example.com/tsum/g 0.00s\n") {
		t.Errorf("no line for the passing package:\n%s", out)
	}
	if !strings.Contains(out, "TestNeedsKafka: g_test.go:12: PETITIOND_KAFKA not set") {
		t.Errorf("skip reason is not the t.Skip message:\n%s", out)
	}
	code, out = summarise(t, in, true)
	if code != 1 || lastLine(t, out) != "tests: 1 passed, 0 failed, 1 skipped" {
		t.Errorf("CI=true: exit %d, want 1; output:\n%s", code, out)
	}
}

func TestTruncatedStream(t *testing.T) {
	// go test was killed while a test ran: the test never finished.
	in := `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:3: half way\n"}
`
	code, out := summarise(t, in, false)
	if code != 1 || lastLine(t, out) != "tests: 0 passed, 1 failed, 0 skipped" || !strings.Contains(out, "half way") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestNonJSONLinesPassThrough(t *testing.T) {
	in := "go: updates to go.mod needed\n" + `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p"}
`
	code, out := summarise(t, in, false)
	if code != 0 || !strings.Contains(out, "go: updates to go.mod needed\n") || lastLine(t, out) != "tests: 1 passed, 0 failed, 0 skipped" {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}
