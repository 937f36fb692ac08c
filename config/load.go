// Package config reads petitiond's YAML configuration.
//
// Decoding is strict everywhere, including inside each channel's settings:
// an unknown key is an error naming the file and line. ${VAR} and
// ${VAR:-default} are expanded from the environment in every scalar, and a
// key "foo_file" fills the string setting "foo" from a file, so secrets never
// have to be written into the YAML.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/court12368/petitiond/config/units"
)

// Error is one configuration problem at a position.
type Error struct {
	File string
	Line int
	Path string // e.g. channels[2].settings
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a file.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Duration is a time.Duration written as "250ms", "5s", "1h".
type Duration = units.Duration

// ByteSize is a size written as 1048576 or "10MiB".
type ByteSize = units.ByteSize

// decoder walks a YAML node tree against a Go type before yaml.v3 decodes
// it, because yaml.v3's KnownFields does not reach into nested Node.Decode
// calls. It reports every unknown key and bad scalar with its line, expands
// environment variables, and resolves *_file secrets.
type decoder struct {
	file   string
	errs   Errors
	lines  map[string]int
	getenv func(string) (string, bool)
	read   func(string) ([]byte, error)
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default} in every scalar; "$$" is a
// literal "$".
func (d *decoder) expand(n *yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode, yaml.MappingNode:
		for _, c := range n.Content {
			d.expand(c)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		orig := n.Value
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			if m == "$$" {
				return "$"
			}
			sub := envRef.FindStringSubmatch(m)
			v, set := d.getenv(sub[1])
			if v != "" {
				return v
			}
			if sub[2] != "" {
				return sub[3] // ${VAR:-default}: unset or empty
			}
			if set {
				d.errorf(n.Line, "", "environment variable %s is set but empty (write ${%s:-} to allow an empty value)", sub[1], sub[1])
			} else {
				d.errorf(n.Line, "", "environment variable %s is not set", sub[1])
			}
			return ""
		})
		if n.Value != orig && n.Style == 0 {
			n.Tag = "" // let yaml.v3 resolve the expanded value (int, bool …)
		}
	}
}

var (
	nodeType      = reflect.TypeOf(yaml.Node{})
	unmarshalType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

type fieldInfo struct {
	name  string
	typ   reflect.Type
	index []int
	tag   reflect.StructTag // desc and enum document the key (schema.go)
}

// fields lists the YAML keys of a struct type, following ",inline".
func fields(t reflect.Type) map[string]fieldInfo {
	out := map[string]fieldInfo{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range fields(ft) {
				v.index = append([]int{i}, v.index...)
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = fieldInfo{name: name, typ: f.Type, index: []int{i}, tag: f.Tag}
	}
	return out
}

func keyList(m map[string]fieldInfo) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// check walks n against t.
func (d *decoder) check(n *yaml.Node, t reflect.Type, path string) {
	if n == nil {
		return
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		d.check(n.Content[0], t, path)
		return
	}
	if d.lines != nil {
		if _, seen := d.lines[path]; !seen {
			d.lines[path] = n.Line
		}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == nodeType:
		return
	case reflect.PointerTo(t).Implements(unmarshalType):
		// A custom scalar type: let it judge the node now, so its error
		// gets a line and does not stop the decoding of the rest.
		if err := reflect.New(t).Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.errorf(n.Line, path, "%s", units.Message(err))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errorf(n.Line, path, "want a mapping of keys (%s)", keyList(fields(t)))
			return
		}
		fs := fields(t)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" { // merge key
				d.check(v, t, path)
				continue
			}
			if base, ok := strings.CutSuffix(k.Value, "_file"); ok {
				if _, direct := fs[k.Value]; !direct {
					if f, ok := fs[base]; ok && f.typ.Kind() == reflect.String {
						d.secretFile(k, v, base, join(path, k.Value))
					}
				}
			}
			f, ok := fs[k.Value]
			if !ok {
				d.errorf(k.Line, path, "unknown key %q (known keys: %s)", k.Value, keyList(fs))
				continue
			}
			if prev, dup := seen[k.Value]; dup {
				d.errorf(k.Line, path, "key %q given twice (first on line %d)", k.Value, prev)
			}
			seen[k.Value] = k.Line
			d.check(v, f.typ, join(path, k.Value))
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			if t.Elem().Kind() == reflect.Uint8 {
				return
			}
			d.errorf(n.Line, path, "want a list")
			return
		}
		for i, c := range n.Content {
			d.check(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n.Line, path, "want a mapping")
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.check(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	case reflect.Interface:
		return
	default:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n.Line, path, "want a single value, not a %s", kindName(n.Kind))
		}
	}
}

// secretFile turns "foo_file: /path" into "foo: <content>".
func (d *decoder) secretFile(k, v *yaml.Node, base, path string) {
	if v.Kind != yaml.ScalarNode {
		d.errorf(v.Line, path, "want a file path")
		return
	}
	k.Value = base // reported once, not again as an unknown key
	b, err := d.read(v.Value)
	if err != nil {
		d.errorf(v.Line, path, "reading secret: %v", err)
		v.Value = ""
		return
	}
	v.Value = strings.TrimRight(string(b), "\r\n")
	v.Tag = "!!str"
	v.Style = yaml.DoubleQuotedStyle
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// decodeInto checks n against out's type and then decodes it, collecting
// errors with positions. out must be a pointer.
//
// Decoding goes on after errors (yaml.v3 collects type errors and carries
// on), so that one run lists every problem.
func (d *decoder) decodeInto(n *yaml.Node, out any, path string) {
	d.check(n, reflect.TypeOf(out), path)
	if n == nil {
		return
	}
	if err := n.Decode(out); err != nil {
		d.yamlError(err, n.Line, path)
	}
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func (d *decoder) yamlError(err error, line int, path string) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		if sub := yamlLine.FindStringSubmatch(m); sub != nil {
			var l int
			fmt.Sscanf(sub[1], "%d", &l)
			if !d.reported(l, sub[2]) {
				d.errorf(l, path, "%s", sub[2])
			}
			continue
		}
		d.errorf(line, path, "%s", strings.TrimPrefix(m, "yaml: "))
	}
}

// reported tells whether the walk already reported msg at line (custom
// scalar types report the same error to both).
func (d *decoder) reported(line int, msg string) bool {
	for _, e := range d.errs {
		if e.Line == line && e.Msg == msg {
			return true
		}
	}
	return false
}

// DecodeStrict decodes a YAML document into out (a pointer) with the same
// strictness as the config file. Used for channel settings and tests.
func DecodeStrict(file string, data []byte, out any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return &Error{File: file, Msg: err.Error()}
	}
	d := newDecoder(file)
	d.expand(&root)
	if len(root.Content) > 0 {
		d.decodeInto(root.Content[0], out, "")
	}
	if len(d.errs) > 0 {
		return d.errs
	}
	return nil
}

func newDecoder(file string) *decoder {
	return &decoder{
		file:   file,
		lines:  map[string]int{},
		getenv: os.LookupEnv,
		read:   os.ReadFile,
	}
}

func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }
