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
		want string // topic:key,…
	}{
		{"default", petition.Petition{ID: "id1"}, "in:id1"},
		{"refusal keyed by petitioner", petition.Petition{ID: "id2", Category: "filing_refusal", Petitioner: petition.Petitioner{Key: "pk"}}, "lane.refusal:pk"},
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
			got = append(got, tg.Topic+":"+tg.Key)
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
