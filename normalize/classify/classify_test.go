package classify

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func mustCompile(t testing.TB, cfg Config) *Classifier {
	t.Helper()
	c, err := Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := mustCompile(t, Config{})
	tests := []struct {
		name     string
		in       Input
		category string
		labels   []string // must all be present
		noLabels []string // must all be absent
		priority string
	}{
		{"filing refusal", Input{Content: "我去南昌县法院起诉，窗口工作人员不给立案，也不出具不予立案裁定，这是有案不立。"},
			FilingRefusal, []string{"filing_refusal"}, nil, PriorityHigh},
		{"filing refusal in subject", Input{Subject: "反映立案难问题", Content: "材料交了三次了。"},
			FilingRefusal, []string{"filing_refusal"}, nil, PriorityHigh},
		{"not filed for months", Input{Subject: "立案问题", Content: "我于三月提交的起诉材料至今未立案。"},
			FilingRefusal, []string{"filing_refusal"}, nil, PriorityHigh},
		{"police refusal is not a court's", Input{Content: "派出所不立案，我该怎么办？"},
			Consultation, []string{"consultation"}, []string{"filing_refusal"}, PriorityNormal},
		{"enforcement", Input{Content: "判决生效两年了，被执行人名下有房产，执行款一分没拿到，执行难啊。"},
			Enforcement, []string{"enforcement"}, nil, PriorityHigh},
		{"enforcement with spaces from OCR", Input{Content: "申 请 强 制 执 行 已 经 一 年"},
			Enforcement, []string{"enforcement"}, nil, PriorityHigh},
		{"enforcement judge complaint", Input{Content: "我要投诉执行法官态度恶劣，吃拿卡要。"},
			Complaint, []string{"complaint"}, []string{"enforcement"}, PriorityNormal},
		{"contact enforcement judge", Input{Content: "麻烦帮我联系一下执行法官，我有新的财产线索。"},
			ContactJudge, []string{"contact_judge"}, []string{"enforcement"}, PriorityNormal},
		{"complaint", Input{Content: "举报某法官收受当事人财物，违纪违法。"},
			Complaint, []string{"complaint"}, nil, PriorityNormal},
		{"contact judge", Input{Content: "我想联系承办法官，请提供法官电话。"},
			ContactJudge, []string{"contact_judge"}, nil, PriorityNormal},
		{"contact judge phone unreachable", Input{Content: "书记员的电话一直打不通。"},
			ContactJudge, []string{"contact_judge"}, nil, PriorityNormal},
		{"case query", Input{Content: "我想查询案件，（2021）赣01民初123号现在审理到哪一步了？"},
			CaseQuery, []string{"case_query"}, nil, PriorityNormal},
		{"case query filed", Input{Content: "上个月交的起诉状，立案了吗？"},
			CaseQuery, []string{"case_query"}, []string{"filing_refusal"}, PriorityNormal},
		{"suggestion", Input{Content: "建议诉讼服务中心周末也开放，方便上班族。"},
			Suggestion, []string{"suggestion"}, nil, PriorityNormal},
		{"judge's advice is no suggestion", Input{Content: "法官建议我们调解，鉴定意见也出来了，请问下一步如何？"},
			Consultation, []string{"consultation"}, []string{"suggestion"}, PriorityNormal},
		{"consultation", Input{Content: "请问离婚纠纷怎么起诉，需要什么材料？"},
			Consultation, []string{"consultation"}, nil, PriorityNormal},
		{"other", Input{Content: "谢谢你们的帮助。"},
			Other, nil, []string{"consultation"}, PriorityNormal},
		{"empty", Input{},
			Other, nil, nil, PriorityNormal},
		{"self-harm", Input{Content: "案子拖了三年，再不处理我就从法院楼上跳楼。"},
			Other, []string{"risk_self_harm"}, nil, PriorityHigh},
		{"self-harm with consultation", Input{Content: "请问还有什么办法，我真的不想活了。"},
			Consultation, []string{"risk_self_harm", "consultation"}, nil, PriorityHigh},
		{"violence", Input{Content: "再不执行我就和被执行人同归于尽。"},
			Enforcement, []string{"risk_violence", "enforcement"}, nil, PriorityHigh},
		{"fear of retaliation is no threat", Input{Content: "我举报后遭到打击报复，请求保护。"},
			Complaint, []string{"complaint"}, []string{"risk_violence"}, PriorityNormal},
		{"repeat", Input{Content: "我已经第三次反映这个问题了，至今没有答复。"},
			Other, []string{"repeat_hint"}, nil, PriorityNormal},
		{"lane order: filing refusal beats complaint", Input{Content: "投诉立案庭工作人员拒绝立案。"},
			// The scorer labels the winning category only (first-match
			// rules used to add complaint too).
			FilingRefusal, []string{"filing_refusal"}, nil, PriorityHigh},
		{"full width", Input{Content: "ＡＢＣ公司不予立案"},
			FilingRefusal, []string{"filing_refusal"}, nil, PriorityHigh},
	}
	for _, tt := range tests {
		got := c.Classify(tt.in)
		if got.Category != tt.category || got.Priority != tt.priority {
			t.Errorf("%s: Classify(%q).Category, Priority = %q, %q, want %q, %q (matched %v)",
				tt.name, tt.in.Subject+"|"+tt.in.Content, got.Category, got.Priority, tt.category, tt.priority, got.Matched)
		}
		for _, l := range tt.labels {
			if !slices.Contains(got.Labels, l) {
				t.Errorf("%s: Classify(...).Labels = %v, want %q among them", tt.name, got.Labels, l)
			}
		}
		for _, l := range tt.noLabels {
			if slices.Contains(got.Labels, l) {
				t.Errorf("%s: Classify(...).Labels = %v, want no %q", tt.name, got.Labels, l)
			}
		}
		if len(got.Errors) > 0 {
			t.Errorf("%s: Classify(...).Errors = %v, want none", tt.name, got.Errors)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	a := mustCompile(t, Config{})
	b := mustCompile(t, DefaultConfig())
	if len(a.rules) != len(b.rules) {
		t.Errorf("Compile(DefaultConfig()) has %d rules, Compile(Config{}) %d, want equal", len(b.rules), len(a.rules))
	}
	rules, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	// The shipped YAML round-trips through the strict decoder as a Config.
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(DefaultsYAML()))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil || !reflect.DeepEqual(cfg.Rules, rules) {
		t.Errorf("decoding DefaultsYAML() = %v, want the DefaultRules()", err)
	}
	for _, r := range rules {
		if r.Category != "" && !slices.Contains(r.Labels, r.Category) {
			t.Errorf("default rule %q: labels %v, want its category %q among them", r.Name, r.Labels, r.Category)
		}
	}
}

func TestOperatorRules(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		in       Input
		category string
		labels   []string
		priority string
		matched  []string
	}{
		{"operator rule runs first", `
rules:
  - name: vip-case
    category: case_query
    labels: [vip]
    priority: high
    keywords: [赣01民初123号]
`, Input{Content: "投诉（2021）赣01民初123号案件承办人"}, CaseQuery, []string{"vip"}, PriorityHigh,
			// A category set by a rule keeps the scorer out, so the
			// complaint label of the former default rule is gone.
			[]string{"vip-case"}},
		{"replace a default by name", `
rules:
  - name: risk-violence
    labels: [risk_violence]
    priority: high
    keywords: [报复]
    fields: [subject]
`, Input{Subject: "来信", Content: "我要报复"}, Other, nil, PriorityNormal, nil},
		{"disable a default", `
rules:
  - name: risk-violence
    disabled: true
`, Input{Content: "我要报复"}, Other, nil, PriorityNormal, nil},
		{"defaults off", `
defaults: false
rules:
  - name: only
    category: other
    labels: [seen]
    all_keywords: [法院, 电话]
`, Input{Content: "法院的电话是多少？投诉"}, Other, []string{"seen"}, PriorityNormal, []string{"only"}},
		{"all keywords must all occur", `
defaults: false
rules:
  - name: only
    category: complaint
    all_keywords: [法院, 电话]
`, Input{Content: "法院"}, Other, nil, PriorityNormal, nil},
		{"regex and when", `
defaults: false
rules:
  - name: phone-complaint
    category: complaint
    labels: [by_phone]
    regex: '投诉|举报'
    when: 'channel_type == "calllog" && has_case'
`, Input{Content: "我要投诉", Fields: map[string]any{"channel_type": "calllog", "has_case": true}}, Complaint, []string{"by_phone"}, PriorityNormal,
			[]string{"phone-complaint"}},
		{"when false", `
defaults: false
rules:
  - name: phone-complaint
    category: complaint
    when: 'channel_type == "calllog"'
`, Input{Content: "我要投诉", Fields: map[string]any{"channel_type": "web"}}, Other, nil, PriorityNormal, nil},
		{"when over missing field is false", `
defaults: false
rules:
  - name: kinds
    category: enforcement
    when: '"enforcement" in (case_kinds ?? [])'
`, Input{Content: "x"}, Other, nil, PriorityNormal, nil},
		{"when over case kinds", `
defaults: false
rules:
  - name: kinds
    category: enforcement
    when: '"enforcement" in case_kinds'
`, Input{Content: "x", Fields: map[string]any{"case_kinds": []string{"civil", "enforcement"}}}, Enforcement, nil, PriorityNormal, []string{"kinds"}},
		{"when sees subject", `
defaults: false
rules:
  - name: subj
    labels: [urgent]
    when: 'subject startsWith "急"'
`, Input{Subject: "急！", Content: "x"}, Other, []string{"urgent"}, PriorityNormal, []string{"subj"}},
		{"unconditional rule", `
defaults: false
rules:
  - name: all
    labels: [triage]
`, Input{}, Other, []string{"triage"}, PriorityNormal, []string{"all"}},
		{"ignore", `
defaults: false
rules:
  - name: s
    category: suggestion
    keywords: [意见]
    ignore: [鉴定意见]
`, Input{Content: "鉴定意见有误"}, Other, nil, PriorityNormal, nil},
		{"ascii keywords fold case and width", `
defaults: false
rules:
  - name: app
    labels: [app]
    keywords: [App]
`, Input{Content: "ＡＰＰ打不开"}, Other, []string{"app"}, PriorityNormal, []string{"app"}},
	}
	for _, tt := range tests {
		var cfg Config
		dec := yaml.NewDecoder(strings.NewReader(tt.yaml))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			t.Fatalf("%s: decode: %v", tt.name, err)
		}
		c := mustCompile(t, cfg)
		got := c.Classify(tt.in)
		if got.Category != tt.category || got.Priority != tt.priority || !reflect.DeepEqual(got.Labels, tt.labels) ||
			!reflect.DeepEqual(got.Matched, tt.matched) || len(got.Errors) > 0 {
			t.Errorf("%s: Classify(%+v) = %+v, want category %q, priority %q, labels %v, matched %v",
				tt.name, tt.in, got, tt.category, tt.priority, tt.labels, tt.matched)
		}
	}
}

func TestWhenRuntimeError(t *testing.T) {
	c := mustCompile(t, Config{Defaults: new(bool), Rules: []Rule{{Name: "bad", Category: Complaint, When: `has_case > 3`}}})
	got := c.Classify(Input{Fields: map[string]any{"has_case": "yes"}})
	if got.Category != Other || len(got.Errors) != 1 || !strings.HasPrefix(got.Errors[0], "bad: ") {
		t.Errorf("Classify with a failing when = %+v, want category other and one error naming rule bad", got)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		want  []string // substrings of the error
	}{
		{"no name", []Rule{{Category: Complaint}}, []string{"rules[0]: name: required"}},
		{"duplicate", []Rule{{Name: "a", Category: Complaint}, {Name: "a", Category: Complaint}}, []string{`rules[1] "a": name: duplicate`}},
		{"category", []Rule{{Name: "a", Category: "complaints"}}, []string{`rules[0] "a": category: "complaints" is not one of`}},
		{"priority", []Rule{{Name: "a", Category: Complaint, Priority: "urgent"}}, []string{`rules[0] "a": priority: "urgent"`}},
		{"no effect", []Rule{{Name: "a", Keywords: []string{"x"}}}, []string{`rules[0] "a": category: the rule sets no category`}},
		{"field", []Rule{{Name: "a", Category: Complaint, Fields: []string{"body"}}}, []string{`rules[0] "a": fields[0]: "body"`}},
		{"empty keyword", []Rule{{Name: "a", Category: Complaint, Keywords: []string{"投诉", " "}}}, []string{`rules[0] "a": keywords[1]: empty`}},
		{"empty all keyword", []Rule{{Name: "a", Category: Complaint, AllKeywords: []string{""}}}, []string{`rules[0] "a": all_keywords[0]: empty`}},
		{"label", []Rule{{Name: "a", Labels: []string{" x"}}}, []string{`rules[0] "a": labels[0]`}},
		{"regex", []Rule{{Name: "a", Category: Complaint, Regex: "(投诉"}}, []string{`rules[0] "a": regex: error parsing regexp`}},
		{"when syntax", []Rule{{Name: "a", Category: Complaint, When: "channel_type =="}}, []string{`rules[0] "a": when:`}},
		{"when not bool", []Rule{{Name: "a", Category: Complaint, When: `"x"`}}, []string{`rules[0] "a": when:`}},
		{"several at once", []Rule{{Name: "a", Category: "x"}, {Name: "b", Category: Complaint, Regex: "("}},
			[]string{`rules[0] "a": category`, `rules[1] "b": regex`}},
	}
	for _, tt := range tests {
		_, err := Compile(Config{Rules: tt.rules})
		if err == nil {
			t.Errorf("%s: Compile(%+v) = nil error, want %q", tt.name, tt.rules, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Compile(%+v) = %q, want it to contain %q", tt.name, tt.rules, err, w)
			}
		}
	}
}

func TestConcurrent(t *testing.T) {
	c := mustCompile(t, Config{Rules: []Rule{{Name: "w", Labels: []string{"w"}, When: `channel_type == "web"`}}})
	done := make(chan Result)
	for range 8 {
		go func() { done <- c.Classify(Input{Content: "执行难", Fields: map[string]any{"channel_type": "web"}}) }()
	}
	for range 8 {
		if got := <-done; got.Category != Enforcement || !slices.Contains(got.Labels, "w") {
			t.Errorf("concurrent Classify = %+v, want enforcement with label w", got)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"有案不立", "执 行 难", "法官建议我", "ＡＰＰ", "\xff\x00", "我已经第三次反映了"} {
		f.Add(s, s)
	}
	c := mustCompile(f, Config{})
	f.Fuzz(func(t *testing.T, subject, content string) {
		got := c.Classify(Input{Subject: subject, Content: content})
		if !slices.Contains(Categories(), got.Category) || got.Priority != PriorityNormal && got.Priority != PriorityHigh {
			t.Fatalf("Classify(%q, %q) = %+v", subject, content, got)
		}
	})
}

// letter2K is a realistic 2 KB petition letter.
var letter2K = func() string {
	p := "尊敬的江西省高级人民法院12368民意中心：我叫张三，住南昌市东湖区。2019年我与某公司发生买卖合同纠纷，" +
		"经南昌市东湖区人民法院作出（2019）赣0102民初1234号民事判决，判令对方支付货款二十万元。判决生效后，" +
		"对方一直未履行，我向法院提出申请，但至今款项未到位，多次电话联系承办人员均无人接听。"
	var b strings.Builder
	for b.Len() < 2048 {
		b.WriteString(p)
	}
	s := b.String()[:2048]
	return strings.ToValidUTF8(s, "")
}()

func BenchmarkClassify(b *testing.B) {
	c := mustCompile(b, Config{})
	in := Input{Subject: "关于案件执行的反映", Content: letter2K}
	b.SetBytes(int64(len(letter2K)))
	b.ReportAllocs()
	for b.Loop() {
		c.Classify(in)
	}
}
