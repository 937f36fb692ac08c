package config

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config/units"
	"github.com/court12368/petitiond/mapping"
)

// JSONSchema returns a JSON Schema (draft 2020-12) of the configuration
// file, generated from the Go types, with each registered channel type's
// settings. yaml-language-server uses it for completion and checking:
//
//	# yaml-language-server: $schema=schema/config.schema.json
func JSONSchema(reg *channels.Registry) ([]byte, error) {
	root := schemaOf(reflect.TypeOf(Config{}))
	props := root["properties"].(map[string]any)
	chItem := props["channels"].(map[string]any)["items"].(map[string]any)
	chProps := chItem["properties"].(map[string]any)
	var names []any
	var branches []any
	for _, t := range reg.Types() {
		names = append(names, t.Name)
		branches = append(branches, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"type": map[string]any{"const": t.Name}}},
			"then": map[string]any{"properties": map[string]any{"settings": schemaOf(reflect.TypeOf(t.NewConfig()))}},
		})
	}
	chProps["type"] = map[string]any{"enum": names, "description": "channel type (petitiond channels lists them)"}
	chProps["settings"] = map[string]any{"type": "object"}
	chItem["required"] = []string{"name", "type"}
	chItem["allOf"] = branches
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://petitiond.court12368.cn/schema/config.schema.json"
	root["title"] = "petitiond configuration"
	return json.MarshalIndent(root, "", "  ")
}

var (
	durationT = reflect.TypeOf(units.Duration(0))
	sizeT     = reflect.TypeOf(units.ByteSize(0))
	pathsT    = reflect.TypeOf(mapping.Paths{})
)

func schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
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
			s := schemaOf(f.typ)
			if f.typ.Kind() == reflect.String || f.typ.Kind() == reflect.Struct {
				// Any string or section may come from a file: foo_file.
				if f.typ.Kind() == reflect.String {
					props[name+"_file"] = map[string]any{"type": "string", "description": "read " + name + " from this file"}
				}
			}
			props[name] = s
		}
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && strings.HasPrefix(t.String(), "mapping.") {
			return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem()),
				"propertyNames": map[string]any{"pattern": "^(" + strings.Join(mapping.Targets, "|") + `|meta\..+)$`}}
		}
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
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
