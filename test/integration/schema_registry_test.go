package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/internal/schemaregistry"
	"github.com/court12368/petitiond/schema"
)

// schemaRegistry returns the Confluent-API base URL of a real schema
// registry: PETITIOND_SCHEMA_REGISTRY (make test starts one with
// scripts/schema-registry.sh). A missing or silent registry skips the test,
// and fails it under CI=true.
func schemaRegistry(t *testing.T) string {
	t.Helper()
	url := os.Getenv("PETITIOND_SCHEMA_REGISTRY")
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real schema registry required in CI: %s (run scripts/schema-registry.sh start and set PETITIOND_SCHEMA_REGISTRY)", why)
		}
		t.Skipf("no schema registry: %s (make test starts one)", why)
	}
	if url == "" {
		missing("PETITIOND_SCHEMA_REGISTRY is not set")
	}
	r, err := (&http.Client{Timeout: 5 * time.Second}).Get(url + "/subjects")
	if err != nil {
		missing(err.Error())
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		missing("GET /subjects: " + r.Status)
	}
	return url
}

// TestRecordSchemaEverywhere: the three places a consumer finds a record's
// schema agree with the shipped file: the ce_dataschema header of a record
// produced to the real broker names the schema's $id, the admin listener
// serves the file, and `petitiond schema register` puts it in a real
// registry (Apicurio, Confluent API) under <topic>-value, from which it
// reads back unchanged; registering again changes no id and adds no
// version.
func TestRecordSchemaEverywhere(t *testing.T) {
	reg := schemaRegistry(t)
	e := newEnv(t, broker(t), "")
	e.start()

	js, _ := json.Marshal(fields)
	if r := e.mustPost("application/json", js, nil); r.Status != 201 && r.Status != 202 {
		t.Fatalf("submission: %d %+v", r.Status, r)
	}
	recs := consumeRouted(t, e, 1, 60*time.Second)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	if got := recs[0].Headers["ce_dataschema"]; got != schema.PetitionV1ID {
		t.Errorf("ce_dataschema = %q, want %q", got, schema.PetitionV1ID)
	}

	for _, f := range schema.Records() {
		r, err := client.Get("http://" + e.adminAddr + "/schemas/" + f.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || !bytes.Equal(b, f.Data) {
			t.Errorf("admin /schemas/%s: %d, equal to the file: %v", f.Name, r.StatusCode, bytes.Equal(b, f.Data))
		}
	}

	register := func() string {
		t.Helper()
		cmd := exec.Command(binary, "schema", "register", "-c", e.cfgFile, "-registry", reg)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("schema register: %v\n%s%s", err, out, stderr.String())
		}
		return string(out)
	}
	first := register()
	for _, subject := range []string{e.topic + "-value", e.topic + ".priority-value", e.dead + "-value"} {
		if !strings.Contains(first, subject+"\t") {
			t.Errorf("schema register did not name %s:\n%s", subject, first)
		}
	}
	if again := register(); again != first {
		t.Errorf("registering again gave other ids:\n%s\nfirst:\n%s", again, first)
	}

	c := &schemaregistry.Client{URL: reg}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recsSchemas := schema.Records()
	for _, sub := range []struct {
		name string
		file schema.File
	}{{e.topic + "-value", recsSchemas[0]}, {e.topic + ".priority-value", recsSchemas[0]}, {e.dead + "-value", recsSchemas[1]}} {
		got, err := c.Latest(ctx, sub.name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 1 {
			t.Errorf("%s: version %d after registering twice, want 1", sub.name, got.Version)
		}
		if got.Schema != string(sub.file.Data) {
			t.Errorf("%s: the registry's schema differs from %s:\n%s", sub.name, sub.file.Name, got.Schema)
		}
		if line := sub.name + "\t" + sub.file.Name + "\tid " + strconv.Itoa(got.ID) + "\n"; !strings.Contains(first, line) {
			t.Errorf("%s: registry id %d is not the one schema register printed:\n%s", sub.name, got.ID, first)
		}
	}
}
