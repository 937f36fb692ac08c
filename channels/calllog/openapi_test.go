package calllog

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/config/units"
	"github.com/court12368/petitiond/internal/testutil/openapitest"
)

// TestCTIOpenAPIExchanges sends webhook requests that produce every
// response the CTI document lists, and validates each real request (when
// the document describes it) and each real response against the document
// the webhook serves, with libopenapi-validator.
func TestCTIOpenAPIExchanges(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.CTI = &CTIConfig{Listen: "127.0.0.1:0", Path: "/hooks/cti", Window: units.Duration(time.Minute), MaxBodySize: 4096, AuthToken: "tok"}
	})
	h.start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, err := h.ch.CTIAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr + "/hooks/cti"
	cov := openapitest.NewCoverage()
	spec, _ := openapitest.Fetch(t, base+"/openapi.json", cov)
	client := &http.Client{}
	get, _ := http.NewRequest("GET", base+"/openapi.json", nil)
	spec.Do(t, client, get, nil, true)

	post := func(ctype, token, body string, valid bool, status int) openapitest.Exchange {
		t.Helper()
		req, _ := http.NewRequest("POST", base, nil)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		r := spec.Do(t, client, req, []byte(body), valid)
		if r.Resp.StatusCode != status {
			t.Errorf("%.60s: %d %s, want %d", body, r.Resp.StatusCode, r.Body, status)
		}
		return r
	}
	note := `{"call_id":"1709255702.20","event":"note","id":"evt-1","at":"2024-03-01T09:23:10+08:00","note":"咨询案件进度","final":false,"agent":"8001","queue":"petitions","caller_number":"13912345678","caller_name":"张三"}`
	if r := post("application/json", "tok", note, true, 202); r.JSON()["accepted"] != 1.0 {
		t.Errorf("note: %s, want accepted 1", r.Body)
	}
	if r := post("application/json; charset=utf-8", "tok", note, true, 202); r.JSON()["duplicates"] != 1.0 {
		t.Errorf("the same note again: %s, want duplicates 1", r.Body)
	}
	post("application/json", "tok", `[{"call_id":1709255702.21,"event":"hangup","at":1709255800},{"call_id":"x","event":"transfer","at":null,"note":null}]`, true, 202)
	post("application/json", "", note, false, 401)
	post("application/json", "wrong", note, true, 401)
	post("application/json", "tok", `{`, false, 400)
	post("application/json", "tok", `[1]`, false, 400)
	post("application/json", "tok", `{"call_id":"1","note":"`+strings.Repeat("长", 2000)+`","event":"note"}`, false, 413)
	post("text/plain", "tok", note, false, 415)
	post("application/json", "tok", `{"event":"note","note":"x"}`, false, 422)
	post("application/json", "tok", `{"call_id":"1","event":"note","at":"yesterday"}`, false, 422)
	post("", "tok", `{"call_id":"1","event":7}`, false, 422)

	h.run().join.jr.close() // the journal cannot be written
	if r := post("application/json", "tok", `{"call_id":"2","event":"note","note":"y"}`, true, 503); r.Resp.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}

	missing, undocumented := cov.Missing(t, ctiOpenAPIDoc)
	if len(missing) > 0 {
		t.Errorf("documented responses no test produced: %v", missing)
	}
	if len(undocumented) > 0 {
		t.Errorf("responses produced that openapi.json does not document: %v", undocumented)
	}
}

// TestCTIOpenAPIFields keeps the event schema equal to what the webhook
// reads (ctiInput) and its limits.
func TestCTIOpenAPIFields(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(ctiOpenAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	ev := doc["components"].(map[string]any)["schemas"].(map[string]any)["Event"].(map[string]any)
	props := ev["properties"].(map[string]any)
	var names, want []string
	for k := range props {
		names = append(names, k)
	}
	rt := reflect.TypeFor[ctiInput]()
	for i := range rt.NumField() {
		want = append(want, strings.Split(rt.Field(i).Tag.Get("json"), ",")[0])
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("Event properties %v, want the fields the webhook reads %v", names, want)
	}
	for f, limit := range map[string]int{"note": maxNote, "call_id": 128, "id": 256, "caller_number": 256, "caller_name": 256, "agent": 256, "queue": 256} {
		if ml, _ := props[f].(map[string]any)["maxLength"].(float64); int(ml) != limit {
			t.Errorf("Event.%s maxLength %v, want %d", f, props[f].(map[string]any)["maxLength"], limit)
		}
	}
	for typ := range eventTypes {
		if d, _ := props["event"].(map[string]any)["description"].(string); !strings.Contains(d, typ) {
			t.Errorf("event type %q is not in the document", typ)
		}
	}
	cfg := &CTIConfig{Path: "/x/cti/", MaxBodySize: 1 << 20}
	b, err := ctiOpenAPI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var served map[string]any
	json.Unmarshal(b, &served)
	paths := served["paths"].(map[string]any)
	if paths["/x/cti/"] == nil || paths["/x/cti/openapi.json"] == nil || len(paths) != 2 {
		t.Errorf("paths %v, want /x/cti/ and /x/cti/openapi.json", paths)
	}
	if _, ok := paths["/x/cti/"].(map[string]any)["post"].(map[string]any)["responses"].(map[string]any)["401"]; ok {
		t.Errorf("401 documented without auth_token")
	}
}
