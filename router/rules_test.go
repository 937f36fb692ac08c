package router_test

import (
	"strings"
	"testing"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/petition"
	"github.com/court12368/petitiond/router"
)

func compile(t *testing.T, rules string) (*router.Rules, error) {
	t.Helper()
	cfg, err := config.Parse("r.yaml", []byte("kafka: {brokers: [x]}\nroutes:\n  default_topic: in\n  dead_letter_topic: dead\n  rules:\n"+rules), channels.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return router.Compile(cfg)
}

func TestRoute(t *testing.T) {
	rs, err := compile(t, `    - {name: refusal, when: 'category == "filing_refusal"', topic: lane.refusal, key: 'petitioner.key'}
    - {name: nanchang, when: 'any(cases, .court_code startsWith "赣01")', topic: court.nanchang}
    - {name: web-copy, when: 'channel.type == "web"', topic: archive.web, continue: true}
    - {name: high, when: 'priority == "high"', topic: lane.high}
`)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		p    petition.Petition
		want string // topic:key,… with ! after a key a rule chose (Keyed)
	}{
		{"default", petition.Petition{ID: "id1"}, "in:id1"},
		{"refusal keyed by petitioner", petition.Petition{ID: "id2", Category: "filing_refusal", Petitioner: petition.Petitioner{Key: "pk"}}, "lane.refusal:pk!"},
		{"refusal without key falls back to id", petition.Petition{ID: "id3", Category: "filing_refusal"}, "lane.refusal:id3"},
		{"case court", petition.Petition{ID: "id4", Cases: []petition.Case{{CourtCode: "赣0102"}}}, "court.nanchang:id4"},
		{"continue then high", petition.Petition{ID: "id5", Channel: petition.ChannelRef{Type: "web"}, Priority: "high"}, "archive.web:id5,lane.high:id5"},
		{"continue alone", petition.Petition{ID: "id6", Channel: petition.ChannelRef{Type: "web"}}, "archive.web:id6"},
	}
	for _, c := range cases {
		ts, err := rs.Route(&c.p)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, tg := range ts {
			k := tg.Topic + ":" + tg.Key
			if tg.Keyed {
				k += "!"
			}
			got = append(got, k)
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("%s: Route = %v, want %s", c.name, got, c.want)
		}
	}
	topics := strings.Join(rs.Topics(), ",")
	if topics != "in,dead,lane.refusal,court.nanchang,archive.web,lane.high" {
		t.Errorf("Topics() = %s", topics)
	}
}

func TestCompileErrorsHaveLines(t *testing.T) {
	_, err := compile(t, `    - name: typo
      when: 'categroy == "x"'
      topic: a
    - name: notbool
      when: 'subject'
      topic: b
`)
	if err == nil {
		t.Fatal("bad rules compiled")
	}
	for _, want := range []string{"r.yaml:7: routes.rules[0].when: unknown name categroy", "r.yaml:10: routes.rules[1].when:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors %q, want %q", err, want)
		}
	}
}

// TestRuleErrorsCarryNoValues: a rule that fails on a record says which
// rule and what kind of failure, never the record's values (the error goes
// to logs and to the dead-letter record).
func TestRuleErrorsCarryNoValues(t *testing.T) {
	pii := []string{"欧阳明月", "13907911234", "360102198001010013", "oyang.pii@example.cn", "zhang", "xe6"}
	for _, when := range []string{
		`int(petitioner.name) > 0`,
		`int(meta.contact) > 0`,
		`float(meta.contact) > 1`,
		`date(petitioner.name).Year() > 1`,
		`duration(petitioner.name) > duration("1s")`,
		`fromJSON(petitioner.name) == 1`,
		`split(petitioner.name, "")[9] == "a"`,
		`int(petitioner.email) > 1`,
	} {
		rs, err := compile(t, "    - {name: bad, when: '"+when+"', topic: t}\n")
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		p := &petition.Petition{ID: "x", Meta: map[string]any{"contact": "欧阳明月13907911234360102198001010013oyang.pii@example.cn"}}
		p.Petitioner.Name = "欧阳明月"
		p.Petitioner.Email = "zhang@example.cn"
		_, err = rs.Route(p)
		if err == nil || !strings.HasPrefix(err.Error(), "rule bad: when expression failed at column") {
			t.Errorf("%s: error %v, want one naming the rule", when, err)
			continue
		}
		for _, v := range pii {
			if strings.Contains(err.Error(), v) {
				t.Errorf("%s: error %q contains %q", when, err, v)
			}
		}
	}
}
