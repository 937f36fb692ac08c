// Package mapping turns an input shape petitiond does not know (a partner
// portal's JSON, a vendor's form) into petition input fields, declared in
// YAML per channel:
//
//	mapping:
//	  name:        {from: user.realName}
//	  phone:       {from: [user.mobile, user.tel]}          # first non-empty
//	  content:     {join: [detail.title, detail.body], sep: "\n"}
//	  subject:     {from: detail.title, default: 小程序留言}
//	  court:       {const: 南昌市中级人民法院}
//	  received_at: {from: createTime, layout: "2006-01-02 15:04:05", timezone: Asia/Shanghai}
//	  source_id:   {from: msgId}                             # partner's id → stable petition id
//	  meta.wx_openid: {from: user.openid}
//	  address:     {from: addr, decode: url}                 # url | base64 | gb18030 | gb18030-base64
//
// Paths (see Path: items.0.text or items[0].text) and time layouts (see
// TimeLayout: a Go layout, a strftime pattern, unix, epoch, unix_ms,
// rfc3339) are the same language as the calllog CDR mapping's fields and
// time_layout.
package mapping

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
	"gopkg.in/yaml.v3"

	"github.com/court12368/petitiond/petition"
)

// Targets are the record inputs a mapping may fill, besides meta.<name>:
// the petition input fields, then received_at and source_id.
var Targets = func() []string {
	var ts []string
	for _, f := range petition.InputFields {
		ts = append(ts, string(f))
	}
	return append(ts, TargetReceivedAt, TargetSourceID)
}()

// The targets that are not petition fields.
const (
	TargetReceivedAt = "received_at"
	TargetSourceID   = "source_id"
)

// Rule fills one target. Exactly one of From, Join or Const is set.
type Rule struct {
	// From is one path, or a list of paths of which the first non-empty wins.
	From Paths `yaml:"from" json:"from,omitempty" desc:"a dotted path into the input (items.0.text or items[0].text indexes a list), or a list of paths of which the first non-empty value wins"`
	// Join concatenates the non-empty values of several paths with Sep.
	Join []string `yaml:"join" json:"join,omitempty" desc:"paths whose non-empty values are joined with sep"`
	Sep  string   `yaml:"sep" json:"sep,omitempty" desc:"separator of join"`
	// Const is a fixed value.
	Const string `yaml:"const" json:"const,omitempty" desc:"a fixed value"`
	// Default is used when the value is empty.
	Default string `yaml:"default" json:"default,omitempty" desc:"value used when the input gives an empty one"`
	// Required makes an empty value an error naming the path.
	Required bool `yaml:"required" json:"required,omitempty" desc:"an empty value is an error naming the target and path (web: 422)"`
	// Decode: url, base64, gb18030 (raw GB18030 bytes given as Latin-1
	// text), gb18030-base64.
	Decode string `yaml:"decode" json:"decode,omitempty" desc:"how the value is decoded first: url, base64, gb18030 (GB18030 bytes given as Latin-1 text), gb18030-base64" enum:"url,base64,gb18030,gb18030-base64"`
	// Layout parses a time (received_at), see TimeLayout: a Go layout, a
	// strftime pattern, "unix" or "epoch" (unit detected by the digits),
	// "unix_ms", "rfc3339" (the default). Timezone applies to layouts
	// without a zone.
	Layout   string `yaml:"layout" json:"layout,omitempty" desc:"received_at only: a Go time layout (2006-01-02 15:04:05) or strftime pattern (%Y-%m-%d %H:%M:%S); unix or epoch (seconds, ms, µs or ns, told by the digits), unix_ms, or rfc3339 (the default)"`
	Timezone string `yaml:"timezone" json:"timezone,omitempty" desc:"IANA zone (Asia/Shanghai) of layout times without a zone; default the host's"`
}

// Paths is one path or a list of paths.
type Paths []string

// UnmarshalYAML accepts a string or a list of strings.
func (p *Paths) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*p = Paths{n.Value}
		return nil
	case yaml.SequenceNode:
		var many []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				break
			}
			many = append(many, c.Value)
		}
		if len(many) == len(n.Content) {
			*p = many
			return nil
		}
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: from: want a path or a list of paths", n.Line)}}
}

// Spec is a channel's mapping: target → rule.
type Spec map[string]Rule

// Mapper is a compiled Spec.
type Mapper struct {
	rules []compiled
}

type compiled struct {
	target string
	Rule
	from, join []Path
	layout     TimeLayout
	loc        *time.Location
}

// Error names the target (and path) a mapping failed on.
type Error struct {
	Target string
	Path   string
	Reason string
}

func (e *Error) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("%s (from %s): %s", e.Target, e.Path, e.Reason)
	}
	return e.Target + ": " + e.Reason
}

// Compile checks a spec; errors name the target.
func Compile(spec Spec) (*Mapper, error) {
	valid := map[string]bool{}
	for _, t := range Targets {
		valid[t] = true
	}
	m := &Mapper{}
	targets := make([]string, 0, len(spec))
	for t := range spec {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		r := spec[t]
		bad := func(format string, args ...any) error {
			return &Error{Target: t, Reason: fmt.Sprintf(format, args...)}
		}
		if !valid[t] && !strings.HasPrefix(t, "meta.") {
			return nil, bad("unknown target (known: %s, meta.<name>)", strings.Join(Targets, ", "))
		}
		n := 0
		if len(r.From) > 0 {
			n++
		}
		if len(r.Join) > 0 {
			n++
		}
		if r.Const != "" {
			n++
		}
		if n != 1 {
			return nil, bad("set exactly one of from, join, const")
		}
		c := compiled{target: t, Rule: r, loc: time.Local}
		for _, ps := range []struct {
			src []string
			dst *[]Path
		}{{r.From, &c.from}, {r.Join, &c.join}} {
			for _, s := range ps.src {
				p, err := ParsePath(s)
				if err != nil {
					return nil, bad("%v", err)
				}
				*ps.dst = append(*ps.dst, p)
			}
		}
		switch r.Decode {
		case "", "url", "base64", "gb18030", "gb18030-base64":
		default:
			// The value is not quoted: a misplaced one may be personal data.
			return nil, bad("unknown decode (url, base64, gb18030, gb18030-base64)")
		}
		if r.Layout != "" && t != TargetReceivedAt {
			return nil, bad("layout applies to received_at only")
		}
		layout := r.Layout
		if layout == "" {
			layout = "rfc3339"
		}
		var err error
		if c.layout, err = ParseTimeLayout(layout); err != nil {
			return nil, bad("layout: %v", err)
		}
		if r.Timezone != "" {
			loc, err := time.LoadLocation(r.Timezone)
			if err != nil {
				return nil, bad("unknown timezone (an IANA name such as Asia/Shanghai)")
			}
			c.loc = loc
		}
		m.rules = append(m.rules, c)
	}
	return m, nil
}

// Result is what a mapping produced.
type Result struct {
	Fields     map[petition.Field]string
	Meta       map[string]any
	ReceivedAt time.Time
	SourceID   string
}

// Apply maps a decoded JSON document (or a map of form values).
func (m *Mapper) Apply(doc any) (*Result, error) {
	res := &Result{Fields: map[petition.Field]string{}, Meta: map[string]any{}}
	for _, r := range m.rules {
		var v, path string
		switch {
		case r.Const != "":
			v = r.Const
		case len(r.Join) > 0:
			var parts []string
			for i, p := range r.join {
				s, err := r.decode(text(p.Lookup(doc)))
				if err != nil {
					return nil, &Error{Target: r.target, Path: r.Join[i], Reason: err.Error()}
				}
				if s != "" {
					parts = append(parts, s)
				}
			}
			v = strings.Join(parts, r.Sep)
			path = strings.Join(r.Join, "+")
		default:
			for i, p := range r.from {
				s, err := r.decode(text(p.Lookup(doc)))
				if err != nil {
					return nil, &Error{Target: r.target, Path: r.From[i], Reason: err.Error()}
				}
				path = r.From[i]
				if s != "" {
					v = s
					break
				}
			}
		}
		if v == "" {
			v = r.Default
		}
		if v == "" && r.Required {
			return nil, &Error{Target: r.target, Path: path, Reason: "required but empty"}
		}
		switch {
		case r.target == TargetReceivedAt:
			if v == "" {
				continue
			}
			t, err := r.layout.Parse(v, r.loc)
			if err != nil {
				return nil, &Error{Target: r.target, Path: path, Reason: err.Error()}
			}
			res.ReceivedAt = t
		case r.target == TargetSourceID:
			res.SourceID = v
		case strings.HasPrefix(r.target, "meta."):
			if v != "" {
				res.Meta[strings.TrimPrefix(r.target, "meta.")] = v
			}
		default:
			if v != "" {
				res.Fields[petition.Field(r.target)] = v
			}
		}
	}
	return res, nil
}

func (r *compiled) decode(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	switch r.Decode {
	case "url":
		s, err := url.QueryUnescape(v)
		if err != nil {
			return "", fmt.Errorf("not URL-encoded")
		}
		return s, nil
	case "base64", "gb18030-base64":
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "", fmt.Errorf("not base64")
		}
		if r.Decode == "base64" {
			return string(b), nil
		}
		return gb18030(b)
	case "gb18030":
		b := make([]byte, 0, len(v))
		for _, c := range v {
			if c > 0xff {
				return v, nil // already decoded text
			}
			b = append(b, byte(c))
		}
		return gb18030(b)
	}
	return v, nil
}

func gb18030(b []byte) (string, error) {
	s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil {
		return "", fmt.Errorf("not GB18030")
	}
	return string(s), nil
}

// text is a looked-up value as text: scalars as written, objects and
// arrays as JSON, nothing and null as "".
func text(v any, _ bool) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
