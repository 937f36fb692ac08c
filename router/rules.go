// Package router decides where petition records go: the topic and key of
// each record, from YAML rules (expr expressions over the record). Writing
// them to Kafka is the producer package's.
package router

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/internal/redact"
	"github.com/court12368/petitiond/petition"
)

// Target is one destination of a record.
type Target struct {
	Topic string
	Key   string
	// Keyed is true when a rule's key expression chose Key: such records
	// keep murmur2 partitioning over all partitions (same key, same
	// partition). Otherwise Key is the petition id and the producer may
	// pick any partition with a live leader.
	Keyed bool
	Rule  string // the rule that chose it; "" for the default topic
}

type rule struct {
	name      string
	when      *vm.Program
	key       *vm.Program
	topic     string
	continue_ bool
}

// Rules is a compiled rule set.
type Rules struct {
	rules        []rule
	defaultTopic string
	deadLetter   string
}

// Compile checks and compiles the routes of a config. Errors carry the
// config file and line of the offending rule.
func Compile(cfg *config.Config) (*Rules, error) {
	rc := cfg.Routes
	rs := &Rules{defaultTopic: rc.DefaultTopic, deadLetter: rc.DeadLetterTopic}
	var errs config.Errors
	env := expr.Env(petition.Petition{})
	for i, r := range rc.Rules {
		p := fmt.Sprintf("routes.rules[%d]", i)
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("rule%d", i+1)
		}
		cr := rule{name: name, topic: r.Topic, continue_: r.Continue}
		w, err := expr.Compile(r.When, env, expr.AsBool())
		if err != nil {
			errs = append(errs, cfg.Errorf(p+".when", "%v", redact.Literals(oneLine(err))))
		}
		cr.when = w
		if r.Key != "" {
			k, err := expr.Compile(r.Key, env, expr.AsKind(reflect.String))
			if err != nil {
				errs = append(errs, cfg.Errorf(p+".key", "%v", redact.Literals(oneLine(err))))
			}
			cr.key = k
		}
		rs.rules = append(rs.rules, cr)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return rs, nil
}

func oneLine(err error) string {
	s := err.Error()
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

// DeadLetterTopic is where unusable items go.
func (rs *Rules) DeadLetterTopic() string { return rs.deadLetter }

// Topics lists every topic the rules may produce to.
func (rs *Rules) Topics() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range append([]string{rs.defaultTopic, rs.deadLetter}, rs.ruleTopics()...) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

func (rs *Rules) ruleTopics() []string {
	out := make([]string, len(rs.rules))
	for i, r := range rs.rules {
		out[i] = r.topic
	}
	return out
}

// Route returns the targets of a record: the topic of the first matching
// rule (and of later ones while rules say continue), else the default topic.
func (rs *Rules) Route(p *petition.Petition) ([]Target, error) {
	var out []Target
	for _, r := range rs.rules {
		v, err := expr.Run(r.when, p)
		if err != nil {
			return nil, runError(r.name, "when", err)
		}
		if ok, _ := v.(bool); !ok {
			continue
		}
		key, keyed := p.ID, false
		if r.key != nil {
			k, err := expr.Run(r.key, p)
			if err != nil {
				return nil, runError(r.name, "key", err)
			}
			if s, _ := k.(string); s != "" {
				key, keyed = s, true
			}
		}
		out = append(out, Target{Topic: r.topic, Key: key, Keyed: keyed, Rule: r.name})
		if !r.continue_ {
			break
		}
	}
	if len(out) == 0 {
		out = append(out, Target{Topic: rs.defaultTopic, Key: p.ID})
	}
	return out, nil
}

// errorKinds are the fixed openings of expr's runtime errors. What follows
// them is often a value of the record ("invalid operation: int(张三)",
// "invalid date 2024…", a quoted string), so only the opening is kept.
var errorKinds = []string{
	"invalid operation", "index out of range", "invalid date", "invalid duration",
	"invalid character", "cannot fetch", "cannot use", "cannot convert", "division by zero",
	"integer divide by zero", "interface conversion", "invalid argument", "not enough arguments",
	"too many arguments", "unexpected end of JSON input", "invalid memory address", "nil pointer",
	"strconv", "time", "json",
}

// runError reports a rule that failed on a record without quoting any of
// the record's values: it goes to logs and to the dead-letter record.
func runError(rule, part string, err error) error {
	msg := err.Error()
	var fe *file.Error
	where := ""
	if errors.As(err, &fe) {
		msg = fe.Message
		where = fmt.Sprintf(" at column %d", fe.Column+1)
	}
	kind := "evaluation error"
	lower := strings.ToLower(msg)
	for _, k := range errorKinds {
		if strings.HasPrefix(lower, k) || strings.Contains(lower, ": "+k) {
			kind = k
			break
		}
	}
	if kind == "invalid operation" || kind == "strconv" || kind == "invalid date" || kind == "invalid duration" || kind == "time" {
		kind += " (a field holds a value of another type or format than the expression expects)"
	}
	return fmt.Errorf("rule %s: %s expression failed%s: %s (values not shown)", rule, part, where, kind)
}
