package classify

import (
	"slices"
	"testing"
)

func TestScorer(t *testing.T) {
	c := mustCompile(t, Config{})
	tests := []struct {
		name, content string
		fields        map[string]any
		category      string
		evidence      string // one expected evidence item, or ""
	}{
		{"ordered parts", "立案庭让我回去补材料，补了四次还是不收", nil, FilingRefusal, "filing_refusal:补了四次还是不收"},
		{"the other party does not pay", "官司赢了三年，对方照样开着豪车，我一分钱没见到", nil, Enforcement, ""},
		{"negation cancels its clause", "我不是要告法官，就想了解一下流程", nil, Consultation, "consultation:了解一下流程"},
		{"是不是does not negate", "我的案子是不是已经结了", nil, CaseQuery, "case_query:结了"},
		{"rhetorical question keeps evidence", "网上立案一直显示待审核，这不是拖着不立吗", nil, FilingRefusal, "filing_refusal:拖着不立"},
		{"police are not the court", "派出所不立案，我该怎么办？", nil, Consultation, ""},
		{"no court at all", "公安局把我的车扣了不还", nil, Other, ""},
		{"转告 is not suing", "请转告法官，我的地址变了", nil, ContactJudge, ""},
		{"enforcement case kind", "（2023）某01号案件的事情", map[string]any{"case_kinds": []string{"enforcement"}}, Enforcement, "enforcement:执 case number"},
		{"traditional script", "對方拒不履行判決，錢一分沒拿到", nil, Enforcement, "enforcement:拒不履行"},
		{"nothing scores", "你好", nil, Other, ""},
	}
	for _, tt := range tests {
		got := c.Classify(Input{Content: tt.content, Fields: tt.fields})
		if got.Category != tt.category || tt.evidence != "" && !slices.Contains(got.Evidence, tt.evidence) {
			t.Errorf("%s: Classify(%q) = %q, evidence %q; want %q with evidence %q",
				tt.name, tt.content, got.Category, got.Evidence, tt.category, tt.evidence)
		}
	}
	// The scorer follows defaults unless scorer says otherwise.
	off, on := false, true
	if got := mustCompile(t, Config{Defaults: &off}).Classify(Input{Content: "不予立案"}); got.Category != Other {
		t.Errorf("defaults: false: category %q, want other (no scorer)", got.Category)
	}
	if got := mustCompile(t, Config{Defaults: &off, Scorer: &on}).Classify(Input{Content: "不予立案"}); got.Category != FilingRefusal || got.Priority != PriorityHigh {
		t.Errorf("defaults: false, scorer: true: %+v, want filing_refusal, high", got)
	}
	if got := mustCompile(t, Config{Scorer: &off}).Classify(Input{Content: "不予立案"}); got.Category != Other {
		t.Errorf("scorer: false: category %q, want other", got.Category)
	}
}
