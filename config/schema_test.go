package config_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/court12368/petitiond/channels"
	_ "github.com/court12368/petitiond/channels/all"
	"github.com/court12368/petitiond/config"
)

// TestConfigSchemaCurrent keeps schema/config.schema.json equal to what the
// code generates (petitiond schema > schema/config.schema.json updates it).
func TestConfigSchemaCurrent(t *testing.T) {
	got, err := config.JSONSchema(channels.Default)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	want, err := os.ReadFile("../schema/config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("schema/config.schema.json is stale: run go run ./cmd/petitiond schema > schema/config.schema.json")
	}
}

// TestSampleConfigMatchesSchema validates the shipped sample against the
// generated schema, the way an editor would.
func TestSampleConfigMatchesSchema(t *testing.T) {
	sch, err := config.JSONSchema(channels.Default)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(sch))
	c.AddResource("config.json", doc)
	s, err := c.Compile("config.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	for file, wantOK := range map[string]bool{"../examples/petitiond.yaml": true} {
		raw, _ := os.ReadFile(file)
		var v any
		if err := yaml.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(v)
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(js))
		if err := s.Validate(inst); (err == nil) != wantOK {
			t.Errorf("%s: validate = %v", file, err)
		}
	}
	bad := map[string]any{"kafka": map[string]any{"brokers": []any{"x"}}, "channels": []any{
		map[string]any{"name": "w", "type": "web", "settings": map[string]any{"listen": "x", "mailbx": 1}}}}
	js, _ := json.Marshal(bad)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if s.Validate(inst) == nil {
		t.Errorf("schema accepts an unknown key inside web settings")
	}
}
