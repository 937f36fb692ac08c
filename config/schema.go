package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config/units"
	"github.com/court12368/petitiond/mapping"
)

// JSONSchema returns a JSON Schema (draft 2020-12) of the configuration
// file, generated from the Go types, with each registered channel type's
// settings. yaml-language-server uses it for completion and checking:
//
//	# yaml-language-server: $schema=schema/config.schema.json
//
// Every key is documented by struct tags on its field, the same way in the
// top-level config and in every channel type's settings:
//
//	MaxInFlight int `yaml:"max_in_flight" desc:"items taken and not yet acknowledged"`
//	TLS string `yaml:"tls" desc:"how the connection is encrypted" enum:"tls,starttls,none"`
//
// desc becomes the key's description (a test requires one on every key),
// enum the closed set of values a string (or each string of a list) may
// take. A non-zero value in the defaults (Defaults, a type's NewConfig)
// becomes the key's default.
func JSONSchema(reg *channels.Registry) ([]byte, error) {
	root := schemaOf(reflect.TypeOf(Config{}), reflect.ValueOf(Defaults()))
	props := root["properties"].(map[string]any)
	chItem := props["channels"].(map[string]any)["items"].(map[string]any)
	chProps := chItem["properties"].(map[string]any)
	var names []any
	var branches []any
	for _, t := range reg.Types() {
		names = append(names, t.Name)
		settings := schemaOf(reflect.TypeOf(t.NewConfig()), reflect.ValueOf(t.NewConfig()))
		settings["description"] = "settings of a " + t.Name + " channel: " + t.Summary
		branches = append(branches, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"type": map[string]any{"const": t.Name}}},
			"then": map[string]any{"properties": map[string]any{"settings": settings}},
		})
	}
	chProps["type"] = map[string]any{"enum": names, "description": "channel type (petitiond channels lists them)"}
	chProps["settings"] = map[string]any{"type": "object", "description": "the channel type's settings; petitiond example TYPE prints them commented"}
	chItem["required"] = []string{"name", "type"}
	chItem["allOf"] = branches
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://petitiond.court12368.cn/schema/config.schema.json"
	root["title"] = "petitiond configuration"
	root["description"] = "petitiond's YAML configuration, decoded strictly: an unknown key anywhere is an error. Any scalar may use ${VAR} or ${VAR:-default}; any string key foo may instead be given as foo_file."
	// Not json.MarshalIndent: it writes <dir> as \u003cdir\u003e.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

var (
	durationT = reflect.TypeOf(units.Duration(0))
	sizeT     = reflect.TypeOf(units.ByteSize(0))
	pathsT    = reflect.TypeOf(mapping.Paths{})
)

// schemaOf returns the schema of type t; def, when valid, holds t's
// default value.
func schemaOf(t reflect.Type, def reflect.Value) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for def.IsValid() && def.Kind() == reflect.Pointer {
		if def.IsNil() {
			def = reflect.Value{}
		} else {
			def = def.Elem()
		}
	}
	switch t {
	case nodeType:
		return map[string]any{}
	case durationT:
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, "description": "a duration: 500ms, 10s, 5m, 1h"}
	case sizeT:
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "integer", "minimum": 0},
			map[string]any{"type": "string", "pattern": `^[0-9]+ *([KMG]i?B?|B)?$`},
		}, "description": "bytes: 1048576, 512KiB, 10MiB"}
	case pathsT:
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "string"},
			map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		}}
	}
	switch t.Kind() {
	case reflect.Struct:
		props := map[string]any{}
		for name, f := range fields(t) {
			var fv reflect.Value
			if def.IsValid() {
				fv, _ = def.FieldByIndexErr(f.index)
			}
			s := schemaOf(f.typ, fv)
			document(s, f, fv)
			if f.typ.Kind() == reflect.String {
				// Any string may come from a file: foo_file.
				props[name+"_file"] = map[string]any{"type": "string", "description": "read " + name + " from this file (trailing newline trimmed), e.g. to keep a secret out of the configuration"}
			}
			props[name] = s
		}
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), reflect.Value{})}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && strings.HasPrefix(t.String(), "mapping.") {
			return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), reflect.Value{}),
				"propertyNames": map[string]any{"pattern": "^(" + strings.Join(mapping.Targets, "|") + `|meta\..+)$`}}
		}
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), reflect.Value{})}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	}
	return map[string]any{}
}

// document adds a field's desc and enum tags and its default to its
// schema s. The type's own description (the format of a duration or a
// size) is kept after the field's.
func document(s map[string]any, f fieldInfo, def reflect.Value) {
	if d := f.tag.Get("desc"); d != "" {
		if hint, ok := s["description"].(string); ok {
			d += " (" + hint + ")"
		}
		s["description"] = d
	}
	if e := f.tag.Get("enum"); e != "" {
		var vals []any
		for _, v := range strings.Split(e, ",") {
			vals = append(vals, v)
		}
		target := s
		if items, ok := s["items"].(map[string]any); ok {
			target = items // a list: each element is one of them
		}
		target["enum"] = vals
	}
	if v, ok := defaultValue(def); ok {
		s["default"] = v
	}
}

// defaultValue is a non-zero scalar default as it is written in YAML.
func defaultValue(v reflect.Value) (any, bool) {
	if !v.IsValid() || v.IsZero() {
		return nil, false
	}
	switch v.Type() {
	case durationT:
		return shortDuration(time.Duration(v.Int())), true
	case sizeT:
		return shortSize(v.Int()), true
	}
	switch v.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return v.Interface(), true
	}
	return nil, false
}

// shortDuration writes 2m rather than 2m0s, 168h rather than 168h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// shortSize writes 1MiB rather than 1048576 when it is exact.
func shortSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.suffix)
		}
	}
	return fmt.Sprint(n)
}
