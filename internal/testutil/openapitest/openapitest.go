// Package openapitest checks real HTTP exchanges against an OpenAPI 3.1
// document with libopenapi-validator, and records which documented
// responses the exchanges covered.
package openapitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
)

// Spec is one OpenAPI document and the validator built from it.
type Spec struct {
	doc map[string]any
	v   validator.Validator
	cov *Coverage
}

// Coverage records the (operationId, status) pairs exchanges produced,
// over one or more documents.
type Coverage struct {
	mu   sync.Mutex
	seen map[string]bool
}

// NewCoverage returns an empty record.
func NewCoverage() *Coverage { return &Coverage{seen: map[string]bool{}} }

// Load parses and validates the document (against the OpenAPI 3.1
// meta-schema) and builds its validator. Exchanges are recorded in cov.
func Load(t testing.TB, src []byte, cov *Coverage) *Spec {
	t.Helper()
	doc, err := libopenapi.NewDocument(src)
	if err != nil {
		t.Fatalf("openapi: %v", err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions(), config.WithURLEncodedBodyValidation())
	if len(errs) > 0 {
		t.Fatalf("openapi validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("the document is not valid OpenAPI:\n%s", describe(verrs))
	}
	s := &Spec{v: v, cov: cov}
	if err := json.Unmarshal(src, &s.doc); err != nil {
		t.Fatal(err)
	}
	return s
}

// Fetch GETs the document from url and loads it.
func Fetch(t testing.TB, url string, cov *Coverage) (*Spec, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s %q", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return Load(t, b, cov), b
}

// Doc is the parsed document.
func (s *Spec) Doc() map[string]any { return s.doc }

// Exchange is one request sent and its response, body read.
type Exchange struct {
	Resp *http.Response
	Body []byte
}

// JSON decodes the response body into a map.
func (e Exchange) JSON() map[string]any {
	var m map[string]any
	json.Unmarshal(e.Body, &m)
	return m
}

// Do sends the request (its body is body) with client, validates the
// response against the document — always — and the request too when
// validRequest says the request is one the document describes. The
// exchange's (operationId, status) is recorded.
func (s *Spec) Do(t testing.TB, client *http.Client, req *http.Request, body []byte, validRequest bool) Exchange {
	t.Helper()
	mk := func() *http.Request {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		if body == nil {
			r.Body = http.NoBody
		}
		return r
	}
	if validRequest {
		if ok, errs := s.v.ValidateHttpRequestSync(mk()); !ok {
			t.Errorf("%s %s: the request does not match the document:\n%s", req.Method, req.URL.Path, describe(errs))
		}
	}
	resp, err := client.Do(mk())
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	if ok, errs := s.v.ValidateHttpResponse(mk(), resp); !ok {
		t.Errorf("%s %s → %d %q: the response does not match the document:\n%s", req.Method, req.URL.Path, resp.StatusCode, rb, describe(errs))
	}
	if s.cov != nil {
		s.cov.add(s.operationID(req.Method, req.URL.Path) + " " + strconv.Itoa(resp.StatusCode))
	}
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	return Exchange{Resp: resp, Body: rb}
}

func (s *Spec) operationID(method, path string) string {
	paths, _ := s.doc["paths"].(map[string]any)
	item, _ := paths[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if id, ok := op["operationId"].(string); ok {
		return id
	}
	return method + " " + path
}

func (c *Coverage) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[k] = true
}

// Missing lists the "operationId status" pairs documented in src that no
// exchange produced, and the ones produced that src does not document.
func (c *Coverage) Missing(t testing.TB, src []byte) (missing, undocumented []string) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, item := range doc["paths"].(map[string]any) {
		for _, op := range item.(map[string]any) {
			op, ok := op.(map[string]any)
			if !ok {
				continue
			}
			for status := range op["responses"].(map[string]any) {
				documented[op["operationId"].(string)+" "+status] = true
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range documented {
		if !c.seen[k] {
			missing = append(missing, k)
		}
	}
	for k := range c.seen {
		if !documented[k] {
			undocumented = append(undocumented, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(undocumented)
	return missing, undocumented
}

func describe[E interface{ Error() string }](errs []E) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("  - " + e.Error() + "\n")
	}
	return b.String()
}
