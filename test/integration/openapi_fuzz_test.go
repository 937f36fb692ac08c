package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// schemathesisChecks are the fuzzer's checks: no 5xx, and every status,
// content type, header and body as the OpenAPI document says.
const schemathesisChecks = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"

// schemathesis returns the fuzzer's command: PETITIOND_SCHEMATHESIS
// (make test sets it), else what scripts/schemathesis.sh installed. A
// missing fuzzer skips the test, and fails it under CI=true.
func schemathesis(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("PETITIOND_SCHEMATHESIS")
	if bin == "" {
		if out, err := exec.Command("bash", "../../scripts/schemathesis.sh", "path").Output(); err == nil {
			bin = strings.TrimSpace(string(out))
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("schemathesis required in CI: run scripts/schemathesis.sh install and set PETITIOND_SCHEMATHESIS")
		}
		t.Skip("no schemathesis (scripts/schemathesis.sh install; make test installs it)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("PETITIOND_SCHEMATHESIS: %v", err)
	}
	return bin
}

// TestOpenAPIFuzz runs schemathesis against a running daemon's web
// channels (one open, one with a token, CORS and a path of its own) and its
// CTI webhook, each from the OpenAPI document it serves: generated
// valid and invalid requests must get no 5xx and no response outside the
// document. A bounded number of examples keeps it under two minutes.
func TestOpenAPIFuzz(t *testing.T) {
	kafka := broker(t)
	bin := schemathesis(t)
	web, cti := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cdr := filepath.Join(dir, "Master.csv")
	if err := os.WriteFile(cdr, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, kafka, fmt.Sprintf(`  - name: web-fuzz
    type: web
    settings:
      listen: %q
      path: /api/v1/petitions
      auth_token: fuzz-token
      max_body_size: 64KiB
      max_attachment_size: 256KiB
      max_attachments: 3
      cors: {allowed_origins: ["https://portal.example"]}
  - name: hotline-fuzz
    type: calllog
    settings:
      path: %s
      format: asterisk-csv
      cti: {listen: %q, path: /hooks/cti, auth_token: fuzz-token, max_body_size: 64KiB}
`, web, cdr, cti))
	e.start()
	if err := e.d.WaitReady(e.adminAddr, 60*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, e.logs())
	}
	waitListening(t, cti, 30*time.Second)
	examples := os.Getenv("PETITIOND_FUZZ_EXAMPLES")
	if examples == "" {
		examples = "100"
	}
	for _, target := range []struct{ name, url string }{
		{"web", "http://" + e.webAddr + "/petitions/openapi.json"},
		{"web-guarded", "http://" + web + "/api/v1/petitions/openapi.json"},
		{"cti", "http://" + cti + "/hooks/cti/openapi.json"},
	} {
		t.Run(target.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			args := []string{"run", target.url, "--checks", schemathesisChecks, "--max-examples", examples,
				"--workers", "1", "--header", "Authorization: Bearer fuzz-token", "--request-timeout", "30",
				"--generation-database", "none", "--no-color"}
			if seed := os.Getenv("PETITIOND_FUZZ_SEED"); seed != "" {
				args = append(args, "--seed", seed)
			}
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Dir = t.TempDir()
			cmd.Env = append(os.Environ(), "NO_COLOR=1", "SCHEMATHESIS_TELEMETRY=false")
			start := time.Now()
			out, err := cmd.CombinedOutput()
			summary := regexp.MustCompile(`(?m)^\s*(\d+ generated.*|Seed: \d+)$`).FindAllString(string(out), -1)
			t.Logf("schemathesis %s in %v: %s", target.name, time.Since(start).Round(time.Second), strings.Join(trimAll(summary), "; "))
			if err != nil {
				t.Errorf("schemathesis found problems (%v):\n%s", err, out)
			}
			if len(summary) == 0 {
				t.Errorf("schemathesis ran no test cases:\n%s", out)
			}
		})
	}
	if strings.Contains(e.logs(), "panic") {
		t.Errorf("the daemon logged a panic:\n%s", e.logs())
	}
}

func trimAll(ss []string) []string {
	for i, s := range ss {
		ss[i] = strings.TrimSpace(s)
	}
	return ss
}
