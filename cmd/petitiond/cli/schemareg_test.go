package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/court12368/petitiond/schema"
)

// TestSchemaRegister runs `petitiond schema register` against a server
// speaking the Confluent registry API: the subjects follow the routes, the
// bodies are the shipped schemas, credentials come from a file.
func TestSchemaRegister(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "sr" || p != "pa:ss" {
			w.WriteHeader(401)
			w.Write([]byte(`{"error_code":401,"message":"Unauthorized"}`))
			return
		}
		subject, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/subjects/"), "/versions")
		var req struct{ SchemaType, Schema string }
		if r.Method != "POST" || !ok || json.NewDecoder(r.Body).Decode(&req) != nil || req.SchemaType != "JSON" {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		got[subject] = req.Schema
		mu.Unlock()
		w.Write([]byte(`{"id":7}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "p.yaml")
	os.WriteFile(cfg, []byte("kafka: {brokers: [x]}\nroutes:\n  default_topic: in\n  dead_letter_topic: dead\n  rules: [{when: 'priority == \"high\"', topic: hot}]\n"), 0o600)
	cred := filepath.Join(dir, "cred")
	os.WriteFile(cred, []byte("sr:pa:ss\n"), 0o600)

	code, out, errs := run("schema", "register", "-c", cfg, "-registry", srv.URL, "-dry-run")
	if code != 0 || out != "in-value\tpetition.v1.json\t"+schema.PetitionV1ID+"\nhot-value\tpetition.v1.json\t"+schema.PetitionV1ID+"\ndead-value\tdeadletter.v1.json\t"+schema.DeadLetterV1ID+"\n" {
		t.Fatalf("dry run: %d %q %q", code, out, errs)
	}
	if len(got) != 0 {
		t.Fatal("the dry run registered")
	}
	if code, _, errs := run("schema", "register", "-c", cfg, "-registry", srv.URL); code != 1 || !strings.Contains(errs, "401") {
		t.Errorf("without credentials: %d %q", code, errs)
	}
	code, out, errs = run("schema", "register", "-c", cfg, "-registry", srv.URL, "-basic-auth-file", cred)
	if code != 0 || strings.Count(out, "id 7") != 3 {
		t.Fatalf("register: %d %q %q", code, out, errs)
	}
	if got["in-value"] != string(schema.PetitionV1) || got["hot-value"] != string(schema.PetitionV1) || got["dead-value"] != string(schema.DeadLetterV1) {
		t.Errorf("registered subjects %v", func() (s []string) {
			for k := range got {
				s = append(s, k)
			}
			return
		}())
	}
	t.Setenv("PETITIOND_SCHEMA_REGISTRY_BASIC_AUTH", "sr:pa:ss")
	if code, _, errs := run("schema", "register", "-c", cfg, "-registry", srv.URL); code != 0 {
		t.Errorf("credentials from the environment: %d %q", code, errs)
	}
	if code, _, _ := run("schema", "register", "-c", cfg); code != 2 {
		t.Errorf("without -registry: exit %d, want 2", code)
	}
}
