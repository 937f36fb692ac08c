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
// Paths are dot-separated keys into the input document; a numeric segment
// indexes an array (items.0.text).
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
	From Paths `yaml:"from" json:"from,omitempty"`
	// Join concatenates the non-empty values of several paths with Sep.
	Join []string `yaml:"join" json:"join,omitempty"`
	Sep  string   `yaml:"sep" json:"sep,omitempty"`
	// Const is a fixed value.
	Const string `yaml:"const" json:"const,omitempty"`
	// Default is used when the value is empty.
	Default string `yaml:"default" json:"default,omitempty"`
	// Required makes an empty value an error naming the path.
	Required bool `yaml:"required" json:"required,omitempty"`
	// Decode: url, base64, gb18030 (raw GB18030 bytes given as Latin-1
	// text), gb18030-base64.
	Decode string `yaml:"decode" json:"decode,omitempty"`
	// Layout parses a time (received_at): a Go layout, or "unix",
	// "unix_ms", "rfc3339". Timezone applies to layouts without a zone.
	Layout   string `yaml:"layout" json:"layout,omitempty"`
	Timezone string `yaml:"timezone" json:"timezone,omitempty"`
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
	loc *time.Location
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
		for _, p := range append(append([]string{}, r.From...), r.Join...) {
			if p == "" || strings.Contains(p, "..") || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") {
				return nil, bad("bad path %q", p)
			}
		}
		switch r.Decode {
		case "", "url", "base64", "gb18030", "gb18030-base64":
		default:
			// The value is not quoted: a misplaced one may be personal data.
			return nil, bad("unknown decode (url, base64, gb18030, gb18030-base64)")
		}
		c := compiled{target: t, Rule: r, loc: time.Local}
		if r.Layout != "" && t != TargetReceivedAt {
			return nil, bad("layout applies to received_at only")
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
			for _, p := range r.Join {
				s, err := r.decode(lookup(doc, p))
				if err != nil {
					return nil, &Error{Target: r.target, Path: p, Reason: err.Error()}
				}
				if s != "" {
					parts = append(parts, s)
				}
			}
			v = strings.Join(parts, r.Sep)
			path = strings.Join(r.Join, "+")
		default:
			for _, p := range r.From {
				s, err := r.decode(lookup(doc, p))
				if err != nil {
					return nil, &Error{Target: r.target, Path: p, Reason: err.Error()}
				}
				path = p
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
			t, err := parseTime(v, r.Layout, r.loc)
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

func parseTime(v, layout string, loc *time.Location) (time.Time, error) {
	switch layout {
	case "", "rfc3339":
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("not an RFC 3339 time")
		}
		return t, nil
	case "unix", "unix_ms":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("not a number of seconds")
		}
		if layout == "unix_ms" {
			return time.UnixMilli(n), nil
		}
		return time.Unix(n, 0), nil
	}
	t, err := time.ParseInLocation(layout, v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("does not match layout %q", layout)
	}
	return t, nil
}

// lookup follows a dotted path; numbers index arrays. Scalars become text.
func lookup(doc any, path string) string {
	cur := doc
	for _, seg := range strings.Split(path, ".") {
		switch x := cur.(type) {
		case map[string]any:
			cur = x[seg]
		case map[string]string:
			cur = x[seg]
		case map[string][]string:
			if vs := x[seg]; len(vs) > 0 {
				cur = vs[0]
			} else {
				cur = nil
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return ""
			}
			cur = x[i]
		default:
			return ""
		}
	}
	switch x := cur.(type) {
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
