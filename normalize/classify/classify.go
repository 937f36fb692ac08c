// Package classify assigns a petition its category, labels and priority
// from rules kept in YAML and, for the category, a lexicon scorer.
//
// The categories are the functions of the 12368 litigation service
// hotline of the people's courts and the lanes of the public opinion
// centre (docs/domain.md, "Categories"): 诉讼咨询 consultation, 案件查询 case_query, 联系法官
// contact_judge, 投诉举报 complaint, 意见建议 suggestion, and the centre's
// own lanes 有案不立/立案难 filing_refusal (followed daily) and 执行难
// enforcement; everything else is other.
//
// Rules are evaluated in order. A rule matches when every condition it
// sets holds:
//
//   - keywords: at least one of them occurs;
//   - all_keywords: each of them occurs;
//   - regex: the RE2 expression matches;
//   - when: the expr-lang expression (github.com/expr-lang/expr) is true.
//
// Keywords are matched on a compact form of the text — full-width ASCII
// folded, ASCII lower-cased, white space removed — so "执 行 难" from an
// OCR scan and "ＡＰＰ" match 执行难 and app. An occurrence of a keyword
// that overlaps an occurrence of one of the rule's ignore phrases does not
// count, so a rule can say "建议, but not in 鉴定意见 or 法官建议我…". The
// regex runs on the text as given. All keywords of all rules are found in
// one pass over the text, so long keyword lists are cheap; a regex costs a
// pass of its own (about 100 µs on a 2 KB letter), which is why the
// defaults use keywords only. fields limits a rule to the subject or the content (default:
// both; a keyword counts when found in either).
//
// The first matching rule that has a category decides the category; the
// labels of all matching rules accumulate; the priority is high when any
// matching rule says high. A rule without conditions matches every input.
//
// When no rule sets a category, the scorer (scorer.go) decides it from
// evidence: phrase lexicons per category matched clause by clause, with
// negation (不是/并非/不要 … cancels what follows it in its clause),
// questions leaning to consultation or case_query, actors told apart by
// ordered phrases (对方…不还 is enforcement, 法官…态度 a complaint) and 执
// case numbers counting for enforcement. The best score wins (ties in a
// fixed order); nothing scoring means "other". The scorer adds the category
// as a label, makes filing_refusal and enforcement high priority, and
// explains itself in Result.Evidence ("filing_refusal:补…还是不收"). The
// shipped rules (defaults.yaml) now only label risks (self-harm, violence,
// group incidents, indirect forms included) and repeat petitions.
//
// Operators' rules run before the shipped defaults (DefaultRules), which
// follow unless the configuration says defaults: false; an operator rule
// named like a default rule replaces it (disabled: true just removes it).
// The scorer runs unless scorer: false, or defaults: false without scorer.
package classify

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/court12368/petitiond/internal/redact"
	"github.com/court12368/petitiond/normalize/text"
)

// Categories.
const (
	Consultation  = "consultation"
	CaseQuery     = "case_query"
	ContactJudge  = "contact_judge"
	Complaint     = "complaint"
	Suggestion    = "suggestion"
	FilingRefusal = "filing_refusal"
	Enforcement   = "enforcement"
	Other         = "other"
)

var categories = []string{Consultation, CaseQuery, ContactJudge, Complaint, Suggestion, FilingRefusal, Enforcement, Other}

// Categories lists every category in the order of the petition record
// contract (docs/record.md).
func Categories() []string { return slices.Clone(categories) }

// Priorities.
const (
	PriorityNormal = "normal"
	PriorityHigh   = "high"
)

// Fields a rule can look at.
const (
	FieldSubject = "subject"
	FieldContent = "content"
)

// Config is the classification section of petitiond's configuration. It
// is plain data for the strict YAML decoder.
type Config struct {
	// Rules are the operator's rules, evaluated before the defaults.
	Rules []Rule `yaml:"rules" json:"rules,omitempty" desc:"the operator's classification rules, evaluated before the shipped defaults (normalize/classify/defaults.yaml)"`
	// Defaults tells whether the shipped default rules run after Rules;
	// absent means true.
	Defaults *bool `yaml:"defaults" json:"defaults,omitempty" desc:"run the shipped default rules after rules (default true)"`
	// Scorer tells whether the shipped scorer decides the category when
	// no rule sets one; absent means the same as Defaults.
	Scorer *bool `yaml:"scorer" json:"scorer,omitempty" desc:"let the shipped lexicon scorer decide the category when no rule sets one (default: the value of defaults)"`
}

// Rule is one classification rule; see the package documentation.
type Rule struct {
	// Name identifies the rule in Result.Matched and in errors; required
	// and unique. An operator rule named like a default rule replaces it.
	Name string `yaml:"name" json:"name" desc:"names the rule in errors and in the result; required and unique. A rule named like a default rule replaces it"`
	// Disabled removes the rule (and a default rule of the same name).
	Disabled bool `yaml:"disabled" json:"disabled,omitempty" desc:"drop this rule (and a default rule of the same name)"`
	// Category is set when the rule is the first matching one with a
	// category; empty for rules that only add labels or priority.
	Category string `yaml:"category" json:"category,omitempty" desc:"category set when this is the first matching rule with a category; empty for rules that only add labels or priority" enum:"consultation,case_query,contact_judge,complaint,suggestion,filing_refusal,enforcement,other"`
	// Labels are added to the result when the rule matches.
	Labels []string `yaml:"labels" json:"labels,omitempty" desc:"labels added to the petition when the rule matches"`
	// Priority "high" makes the result high; "" or "normal" leave it.
	Priority string `yaml:"priority" json:"priority,omitempty" desc:"high makes the petition high priority; normal or empty leave it" enum:"normal,high"`
	// Keywords: at least one must occur.
	Keywords []string `yaml:"keywords" json:"keywords,omitempty" desc:"phrases of which at least one must occur (matched with width folded, ASCII lower-cased, white space removed)"`
	// AllKeywords: each must occur.
	AllKeywords []string `yaml:"all_keywords" json:"all_keywords,omitempty" desc:"phrases that must all occur"`
	// Ignore lists phrases inside which Keywords and AllKeywords do not
	// count.
	Ignore []string `yaml:"ignore" json:"ignore,omitempty" desc:"phrases inside which keywords and all_keywords do not count, e.g. keyword 建议 with ignore 法官建议"`
	// Regex must match (RE2 syntax, on the text as given).
	Regex string `yaml:"regex" json:"regex,omitempty" desc:"RE2 regular expression that must match the text as given"`
	// Fields limits the rule to "subject" and/or "content"; default both.
	Fields []string `yaml:"fields" json:"fields,omitempty" desc:"which texts the rule looks at; default both" enum:"subject,content"`
	// When is an expr-lang boolean expression over subject, content and
	// the Input's Fields (channel_type, has_case, case_kinds, …); names
	// that an input lacks are nil.
	When string `yaml:"when" json:"when,omitempty" desc:"expr-lang expression that must be true, over subject, content, channel, channel_type, has_case, case_kinds, has_id_number, has_phone"`
}

// Input is what a petition offers to classification.
type Input struct {
	Subject string
	Content string
	// Fields are extra values for when-expressions. Suggested names:
	// channel (name), channel_type, has_case (bool), case_kinds ([]string
	// of casenum kinds), has_id_number (bool), has_phone (bool). The names
	// subject and content are always set from the fields above.
	Fields map[string]any
	// CaseKinds are the kinds of the case numbers found (casenum kinds):
	// an enforcement case is evidence for enforcement. When nil, the
	// scorer reads Fields["case_kinds"].
	CaseKinds []string
}

// UsesFields reports whether a rule reads Input.Fields (a when
// expression): the caller may leave them out otherwise.
func (c *Classifier) UsesFields() bool { return c.useWhen }

// Result is the outcome of Classify.
type Result struct {
	Category string   `json:"category"`
	Labels   []string `json:"labels,omitempty"`
	Priority string   `json:"priority"`
	// Matched names the matching rules, in order.
	Matched []string `json:"matched,omitempty"`
	// Evidence explains the category: "rule:<name>" when a rule set it,
	// else the scorer's evidence as "category:phrase" (see scorer.go).
	Evidence []string `json:"evidence,omitempty"`
	// Errors names rules whose when-expression failed at run time (such
	// a rule does not match); for metrics, not for the record.
	Errors []string `json:"errors,omitempty"`
}

// Classifier applies compiled rules. It is immutable and safe for
// concurrent use.
type Classifier struct {
	rules   []*rule
	useWhen bool
	scorer  bool
	// phrases are the compacted keywords and ignore phrases of all rules;
	// byFirst indexes them by their first rune.
	phrases []string
	byFirst map[rune][]int
}

type rule struct {
	name      string
	category  string
	labels    []string
	high      bool
	subject   bool
	content   bool
	any       []int // phrase ids
	all       []int
	ignore    []int
	re        *regexp.Regexp
	when      *vm.Program
	alwaysYes bool
}

// Compile checks cfg and builds a Classifier. Every problem is reported,
// joined, each naming the rule ("rules[2] \"name\": …" for operator rules,
// "defaults[3] …" for shipped ones) and the field.
func Compile(cfg Config) (*Classifier, error) {
	var errs []error
	c := &Classifier{byFirst: map[rune][]int{}}
	names := map[string]bool{}
	for i, r := range cfg.Rules {
		where := fmt.Sprintf("rules[%d] %q", i, r.Name)
		if r.Name == "" {
			errs = append(errs, fmt.Errorf("classify: rules[%d]: name: required", i))
		} else if names[r.Name] {
			errs = append(errs, fmt.Errorf("classify: %s: name: duplicate", where))
		}
		names[r.Name] = true
		if r.Disabled {
			continue
		}
		cr, err := c.compileRule(where, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.rules = append(c.rules, cr)
	}
	if cfg.Defaults == nil || *cfg.Defaults {
		defaults, err := DefaultRules()
		if err != nil {
			return nil, err
		}
		for i, r := range defaults {
			if names[r.Name] {
				continue // replaced or disabled by the operator
			}
			cr, err := c.compileRule(fmt.Sprintf("defaults[%d] %q", i, r.Name), r)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			c.rules = append(c.rules, cr)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.scorer = cfg.Defaults == nil || *cfg.Defaults
	if cfg.Scorer != nil {
		c.scorer = *cfg.Scorer
	}
	for _, r := range c.rules {
		if r.when != nil {
			c.useWhen = true
		}
	}
	return c, nil
}

func (c *Classifier) compileRule(where string, r Rule) (*rule, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("classify: %s: %s: %s", where, field, fmt.Sprintf(format, args...)))
	}
	cr := &rule{name: r.Name, category: r.Category, subject: true, content: true}
	if r.Category != "" && !slices.Contains(categories, r.Category) {
		bad("category", "%q is not one of %s", r.Category, strings.Join(categories, ", "))
	}
	switch r.Priority {
	case "", PriorityNormal:
	case PriorityHigh:
		cr.high = true
	default:
		bad("priority", "%q is not normal or high", r.Priority)
	}
	for i, l := range r.Labels {
		if strings.TrimSpace(l) == "" || strings.TrimSpace(l) != l {
			bad(fmt.Sprintf("labels[%d]", i), "%q: empty or padded with spaces", l)
		} else if !slices.Contains(cr.labels, l) {
			cr.labels = append(cr.labels, l)
		}
	}
	if r.Category == "" && len(cr.labels) == 0 && !cr.high {
		bad("category", "the rule sets no category, labels or high priority, so it has no effect")
	}
	if len(r.Fields) > 0 {
		cr.subject, cr.content = false, false
		for i, f := range r.Fields {
			switch f {
			case FieldSubject:
				cr.subject = true
			case FieldContent:
				cr.content = true
			default:
				bad(fmt.Sprintf("fields[%d]", i), "%q is not subject or content", f)
			}
		}
	}
	compactAll := func(field string, in []string) []int {
		out := make([]int, 0, len(in))
		for i, k := range in {
			k = compact(k)
			if k == "" {
				bad(fmt.Sprintf("%s[%d]", field, i), "empty")
				continue
			}
			out = append(out, c.phraseID(k))
		}
		return out
	}
	cr.any = compactAll("keywords", r.Keywords)
	cr.all = compactAll("all_keywords", r.AllKeywords)
	cr.ignore = compactAll("ignore", r.Ignore)
	if r.Regex != "" {
		re, err := regexp.Compile(r.Regex)
		if err != nil {
			bad("regex", "%v", redact.Literals(err.Error()))
		}
		cr.re = re
	}
	if strings.TrimSpace(r.When) != "" {
		p, err := expr.Compile(r.When, expr.Env(map[string]any{FieldSubject: "", FieldContent: ""}),
			expr.AllowUndefinedVariables(), expr.AsBool())
		if err != nil {
			bad("when", "%v", redact.Literals(err.Error()))
		}
		cr.when = p
	}
	cr.alwaysYes = len(cr.any) == 0 && len(cr.all) == 0 && cr.re == nil && cr.when == nil
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cr, nil
}

// phraseID returns the id of a compacted phrase, adding it to the index.
func (c *Classifier) phraseID(k string) int {
	first, _ := utf8.DecodeRuneInString(k)
	for _, id := range c.byFirst[first] {
		if c.phrases[id] == k {
			return id
		}
	}
	id := len(c.phrases)
	c.phrases = append(c.phrases, k)
	c.byFirst[first] = append(c.byFirst[first], id)
	return id
}

// compact folds width, lower-cases ASCII and removes white space, for
// keyword matching.
func compact(s string) string {
	s = text.Identifier(s)
	if strings.IndexFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' }) >= 0 {
		s = strings.ToLower(s)
	}
	return s
}

// occurrence is where a phrase occurs in the subject (field 0) or the
// content (field 1), in byte offsets of the compacted text.
type occurrence struct {
	id, field, start, end int
}

// find appends the occurrences of all phrases in t.
func (c *Classifier) find(occ []occurrence, t string, field int) []occurrence {
	for i := 0; i < len(t); {
		r, size := utf8.DecodeRuneInString(t[i:])
		for _, id := range c.byFirst[r] {
			if p := c.phrases[id]; strings.HasPrefix(t[i:], p) {
				occ = append(occ, occurrence{id: id, field: field, start: i, end: i + len(p)})
			}
		}
		i += size
	}
	return occ
}

// Classify classifies one petition.
func (c *Classifier) Classify(in Input) Result {
	var buf [32]occurrence
	subject, content := compact(in.Subject), compact(in.Content)
	occ := c.find(buf[:0], subject, 0)
	occ = c.find(occ, content, 1)
	var env map[string]any
	if c.useWhen {
		env = make(map[string]any, len(in.Fields)+2)
		for k, v := range in.Fields {
			env[k] = v
		}
		env[FieldSubject], env[FieldContent] = in.Subject, in.Content
	}
	res := Result{Priority: PriorityNormal}
	for _, r := range c.rules {
		ok, err := r.match(in, occ, env)
		if err != nil {
			res.Errors = append(res.Errors, r.name+": "+err.Error())
			continue
		}
		if !ok {
			continue
		}
		res.Matched = append(res.Matched, r.name)
		if res.Category == "" && r.category != "" {
			res.Category = r.category
			res.Evidence = append(res.Evidence, "rule:"+r.name)
		}
		for _, l := range r.labels {
			if !slices.Contains(res.Labels, l) {
				res.Labels = append(res.Labels, l)
			}
		}
		if r.high {
			res.Priority = PriorityHigh
		}
	}
	if res.Category == "" && c.scorer {
		res.Category, res.Evidence = score(in, subject, content)
		if res.Category != Other && !slices.Contains(res.Labels, res.Category) {
			res.Labels = append(res.Labels, res.Category)
		}
		if res.Category == FilingRefusal || res.Category == Enforcement {
			res.Priority = PriorityHigh // the centre follows these lanes daily
		}
	}
	if res.Category == "" {
		res.Category = Other
	}
	return res
}

func (r *rule) match(in Input, occ []occurrence, env map[string]any) (bool, error) {
	if r.alwaysYes {
		return true, nil
	}
	if len(r.any) > 0 && !slices.ContainsFunc(r.any, func(id int) bool { return r.occurs(occ, id) }) {
		return false, nil
	}
	for _, id := range r.all {
		if !r.occurs(occ, id) {
			return false, nil
		}
	}
	if r.re != nil && !(r.subject && r.re.MatchString(in.Subject) || r.content && r.re.MatchString(in.Content)) {
		return false, nil
	}
	if r.when != nil {
		out, err := expr.Run(r.when, env)
		if err != nil {
			return false, err
		}
		if b, _ := out.(bool); !b {
			return false, nil
		}
	}
	return true, nil
}

// occurs reports whether phrase id occurs in a field the rule looks at,
// outside every occurrence of the rule's ignore phrases.
func (r *rule) occurs(occ []occurrence, id int) bool {
	for _, o := range occ {
		if o.id != id || o.field == 0 && !r.subject || o.field == 1 && !r.content {
			continue
		}
		if !r.ignored(occ, o) {
			return true
		}
	}
	return false
}

func (r *rule) ignored(occ []occurrence, o occurrence) bool {
	if len(r.ignore) == 0 {
		return false
	}
	for _, g := range occ {
		if g.field == o.field && g.start < o.end && o.start < g.end && slices.Contains(r.ignore, g.id) {
			return true
		}
	}
	return false
}
