package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/court12368/petitiond/channels"
	_ "github.com/court12368/petitiond/channels/all"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/mapping"
	"github.com/court12368/petitiond/normalize/classify"
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

// schemaDoc is the generated config schema, decoded.
func schemaDoc(t *testing.T) map[string]any {
	t.Helper()
	b, err := config.JSONSchema(channels.Default)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// eachProperty calls f for every key the schema declares, with a readable
// path; the "if" of a channel type's branch is a condition, not a
// declaration.
func eachProperty(node any, path string, f func(path string, prop map[string]any)) {
	switch n := node.(type) {
	case map[string]any:
		if props, ok := n["properties"].(map[string]any); ok {
			for k, v := range props {
				p := strings.TrimPrefix(path+"."+k, ".")
				if m, ok := v.(map[string]any); ok {
					f(p, m)
				}
				eachProperty(v, p, f)
			}
		}
		for k, v := range n {
			switch k {
			case "properties", "if":
			case "items":
				eachProperty(v, path+"[]", f)
			default:
				eachProperty(v, path, f)
			}
		}
	case []any:
		for _, v := range n {
			eachProperty(v, path, f)
		}
	}
}

// TestConfigSchemaDescribesEverySetting: an editor can explain every key,
// in the top-level config and in each channel type's settings. A new
// setting needs a desc tag on its field.
func TestConfigSchemaDescribesEverySetting(t *testing.T) {
	n := 0
	eachProperty(schemaDoc(t), "", func(path string, prop map[string]any) {
		n++
		if d, _ := prop["description"].(string); strings.TrimSpace(d) == "" {
			t.Errorf("%s has no description: give its struct field a desc:\"…\" tag", path)
		}
	})
	if n < 150 {
		t.Errorf("only %d properties found: the walk is broken", n)
	}
}

// enumSettings lists the settings with a closed set of values: dotted
// path under the settings → the values.
func enumSettings(node map[string]any, prefix string, out map[string][]string) {
	props, _ := node["properties"].(map[string]any)
	for k, v := range props {
		prop, _ := v.(map[string]any)
		if vals, ok := prop["enum"].([]any); ok && prop["type"] == "string" {
			for _, x := range vals {
				out[prefix+k] = append(out[prefix+k], x.(string))
			}
		}
		if prop["type"] == "object" {
			enumSettings(prop, prefix+k+".", out)
		}
	}
}

// set sets the value at a dotted path in a YAML document's maps.
func set(m map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		if m[k] == nil {
			m[k] = map[string]any{}
		}
		m = m[k].(map[string]any)
	}
	m[keys[len(keys)-1]] = v
}

// checkEnum sets a setting to each of its enum values, and to one outside
// them, in an otherwise valid config: the loader must accept the former
// and name the setting for the latter, so the schema and the code agree.
func checkEnum(t *testing.T, path string, vals []string, doc func(value string) []byte) {
	t.Helper()
	errorsAt := func(value string) []string {
		_, err := config.Parse("enum.yaml", doc(value), channels.Default)
		var es config.Errors
		errors.As(err, &es)
		var at []string
		for _, e := range es {
			if e.Path == path {
				at = append(at, e.Error())
			}
		}
		if err != nil && len(es) == 0 {
			at = append(at, err.Error())
		}
		return at
	}
	for _, v := range vals {
		if errs := errorsAt(v); len(errs) > 0 {
			t.Errorf("%s: %q is in the schema's enum but refused: %v", path, v, errs)
		}
	}
	if errs := errorsAt("not-a-value"); len(errs) == 0 {
		t.Errorf("%s: a value outside the schema's enum is accepted", path)
	}
}

func TestConfigSchemaEnumsMatchTheCode(t *testing.T) {
	doc := schemaDoc(t)
	top := map[string][]string{}
	enumSettings(doc, "", top)
	delete(top, "normalize.classify") // not a string: rules are checked below
	if len(top) == 0 {
		t.Fatal("no enums in the top-level config")
	}
	for path, vals := range top {
		checkEnum(t, path, vals, func(v string) []byte {
			doc := map[string]any{"kafka": map[string]any{"brokers": []string{"127.0.0.1:9092"}}}
			set(doc, path, v)
			out, _ := yaml.Marshal(doc)
			return out
		})
	}

	// Each channel type: its example entry with one setting changed.
	branches := doc["properties"].(map[string]any)["channels"].(map[string]any)["items"].(map[string]any)["allOf"].([]any)
	for _, b := range branches {
		b := b.(map[string]any)
		typ := b["if"].(map[string]any)["properties"].(map[string]any)["type"].(map[string]any)["const"].(string)
		settings := b["then"].(map[string]any)["properties"].(map[string]any)["settings"].(map[string]any)
		enums := map[string][]string{}
		enumSettings(settings, "", enums)
		ct, _ := channels.Default.Lookup(typ)
		for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(string(ct.Example), -1) {
			t.Setenv(m[1], "example-secret")
		}
		for path, vals := range enums {
			checkEnum(t, "channels[0].settings."+path, vals, func(v string) []byte {
				var entries []map[string]any
				if err := yaml.Unmarshal(ct.Example, &entries); err != nil || len(entries) == 0 {
					t.Fatalf("%s example: %v", typ, err)
				}
				set(entries[0]["settings"].(map[string]any), path, v)
				out, _ := yaml.Marshal(map[string]any{"kafka": map[string]any{"brokers": []string{"127.0.0.1:9092"}}, "channels": entries[:1]})
				return out
			})
		}
	}
}

// TestRuleEnumsMatchTheCode: the enums of classification and mapping rules
// are what their compilers accept.
func TestRuleEnumsMatchTheCode(t *testing.T) {
	enum := func(v any, field string) []string {
		f, ok := reflect.TypeOf(v).FieldByName(field)
		if !ok || f.Tag.Get("enum") == "" {
			t.Fatalf("%T.%s has no enum tag", v, field)
		}
		return strings.Split(f.Tag.Get("enum"), ",")
	}
	if got, want := enum(classify.Rule{}, "Category"), classify.Categories(); !slices.Equal(got, want) {
		t.Errorf("classify.Rule category enum %v, want classify.Categories() %v", got, want)
	}
	compiles := func(r classify.Rule) bool {
		r.Name, r.Keywords = "r", []string{"x"}
		_, err := classify.Compile(classify.Config{Rules: []classify.Rule{r}})
		return err == nil
	}
	for _, p := range enum(classify.Rule{}, "Priority") {
		if !compiles(classify.Rule{Priority: p, Labels: []string{"l"}}) {
			t.Errorf("classify priority %q refused", p)
		}
	}
	for _, f := range enum(classify.Rule{}, "Fields") {
		if !compiles(classify.Rule{Fields: []string{f}, Category: classify.Other}) {
			t.Errorf("classify fields %q refused", f)
		}
	}
	if compiles(classify.Rule{Priority: "urgent"}) || compiles(classify.Rule{Fields: []string{"body"}, Category: classify.Other}) {
		t.Errorf("classify accepts a priority or field outside the enum")
	}
	decodes := func(d string) bool {
		_, err := mapping.Compile(mapping.Spec{"content": {From: mapping.Paths{"x"}, Decode: d}})
		return err == nil
	}
	for _, d := range enum(mapping.Rule{}, "Decode") {
		if !decodes(d) {
			t.Errorf("mapping decode %q refused", d)
		}
	}
	if decodes("rot13") {
		t.Errorf("mapping accepts a decode outside the enum")
	}
}
