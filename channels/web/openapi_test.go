package web_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/court12368/petitiond/channels/web"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/internal/testutil/openapitest"
	"github.com/court12368/petitiond/mapping"
	"github.com/court12368/petitiond/petition"
)

// request builds a POST to the harness with the given content type and
// headers.
func (h *harness) request(method, ctype string, hdr map[string]string) *http.Request {
	req, _ := http.NewRequest(method, h.url, nil)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

func multipartBody(fields map[string]string, files ...string) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, name := range files {
		fw, _ := mw.CreateFormFile("attachments", name)
		fw.Write([]byte("%PDF-1.4 fake " + name))
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// TestOpenAPIExchanges sends requests that produce every response the
// document lists and validates each real request (when it is one the
// document describes) and each real response against the document the
// channel serves, with libopenapi-validator.
func TestOpenAPIExchanges(t *testing.T) {
	cov := openapitest.NewCoverage()
	client := &http.Client{}

	t.Run("open", func(t *testing.T) {
		h := startRouted(t, nil, nil, `    - {name: boom, when: 'subject == "dead-letter me" && int(content) > 0', topic: never}`+"\n")
		spec, _ := openapitest.Fetch(t, h.url+"/openapi.json", cov)
		get, _ := http.NewRequest("GET", h.url+"/openapi.json", nil)
		spec.Do(t, client, get, nil, true)

		js, _ := json.Marshal(submission)
		key := map[string]string{"Idempotency-Key": "oa-1"}
		first := spec.Do(t, client, h.request("POST", "application/json", key), js, true)
		again := spec.Do(t, client, h.request("POST", "application/json", key), js, true)
		if first.Resp.StatusCode != 201 || again.Resp.StatusCode != 201 || again.Resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("submission and its replay: %d, %d (Idempotent-Replayed %q)", first.Resp.StatusCode, again.Resp.StatusCode, again.Resp.Header.Get("Idempotent-Replayed"))
		}
		nested, _ := json.Marshal(map[string]any{"petitioner": map[string]any{"name": "张三", "phone": 13912345678}, "content": "请联系承办法官", "court": nil})
		if r := spec.Do(t, client, h.request("POST", "application/json; charset=utf-8", nil), nested, true); r.Resp.StatusCode != 201 {
			t.Errorf("nested petitioner: %d %s", r.Resp.StatusCode, r.Body)
		}
		form := url.Values{}
		for k, v := range submission {
			form.Set(k, v)
		}
		if r := spec.Do(t, client, h.request("POST", "application/x-www-form-urlencoded", nil), []byte(form.Encode()), true); r.Resp.StatusCode != 201 {
			t.Errorf("form: %d %s", r.Resp.StatusCode, r.Body)
		}
		ct, mp := multipartBody(submission, "判决书.pdf", "证据.pdf")
		if r := spec.Do(t, client, h.request("POST", ct, nil), mp, true); r.Resp.StatusCode != 201 {
			t.Errorf("multipart: %d %s", r.Resp.StatusCode, r.Body)
		}
		held, _ := json.Marshal(map[string]string{"subject": "dead-letter me", "content": "not a number"})
		if r := spec.Do(t, client, h.request("POST", "application/json", nil), held, true); r.Resp.StatusCode != 202 || r.JSON()["status"] != "held_for_review" {
			t.Errorf("dead-lettered: %d %s, want 202 held_for_review", r.Resp.StatusCode, r.Body)
		}

		refused := []struct {
			name, ctype string
			hdr         map[string]string
			body        string
			status      int
		}{
			{"malformed JSON", "application/json", nil, `{"content":`, 400},
			{"bad Idempotency-Key", "application/json", map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, `{"content":"x"}`, 400},
			{"too large", "application/json", nil, `{"content":"` + strings.Repeat("长", 2000) + `"}`, 413},
			{"text/plain", "text/plain", nil, "hello", 415},
			{"no Content-Type", "", nil, "hello", 415},
			{"unknown field", "application/json", nil, `{"content":"x","nmae":"y"}`, 422},
			{"blank content", "application/json", nil, `{"content":"  "}`, 422},
			{"key reused", "application/json", key, `{"content":"完全不同的内容"}`, 422},
		}
		for _, c := range refused {
			r := spec.Do(t, client, h.request("POST", c.ctype, c.hdr), []byte(c.body), false)
			if r.Resp.StatusCode != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, r.Resp.StatusCode, r.Body, c.status)
			}
		}
		ct, mp = multipartBody(map[string]string{"content": "三个附件"}, "1.pdf", "2.pdf", "3.pdf")
		if r := spec.Do(t, client, h.request("POST", ct, nil), mp, false); r.Resp.StatusCode != 413 {
			t.Errorf("three attachments: %d %s, want 413", r.Resp.StatusCode, r.Body)
		}

		h.prod.Set(false, nil)
		if r := spec.Do(t, client, h.request("POST", "application/json", nil), js, true); r.Resp.StatusCode != 503 {
			t.Errorf("Kafka down: %d %s, want 503", r.Resp.StatusCode, r.Body)
		}
		h.prod.Set(true, nil)
	})

	t.Run("guarded", func(t *testing.T) {
		h := start(t, func(c *web.Config) {
			c.AuthToken = "tok"
			c.AuthFailureLimit = web.RateLimit{PerSecond: 0.0001, Burst: 2}
			c.RateLimit = web.RateLimit{PerSecond: 0.0001, Burst: 1}
			c.CORS.AllowedOrigins = []string{"https://portal.example"}
			c.Attachments.AllowedTypes = []string{"application/pdf"}
		})
		spec, _ := openapitest.Fetch(t, h.url+"/openapi.json", cov)
		js, _ := json.Marshal(submission)
		auth := map[string]string{"Authorization": "Bearer tok"}
		good := map[string]string{"Origin": "https://portal.example"}
		evil := map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
		preflight := map[string]string{"Origin": "https://portal.example", "Access-Control-Request-Method": "POST"}

		steps := []struct {
			name, method, ctype string
			hdr                 []map[string]string
			body                []byte
			valid               bool
			status              int
		}{
			{"preflight", "OPTIONS", "", []map[string]string{preflight}, nil, true, 204},
			{"preflight from another origin", "OPTIONS", "", []map[string]string{evil}, nil, false, 403},
			{"OPTIONS without the preflight header", "OPTIONS", "", []map[string]string{good, auth}, nil, false, 405},
			{"OPTIONS without token", "OPTIONS", "", []map[string]string{good}, nil, false, 401},
			{"no token", "POST", "application/json", nil, js, false, 401},
			{"over the failure limit", "OPTIONS", "", []map[string]string{good}, nil, false, 429},
			{"over the failure limit", "POST", "application/json", []map[string]string{{"Authorization": "Bearer wrong"}}, js, false, 429},
			{"another origin", "POST", "application/json", []map[string]string{auth, {"Origin": "https://evil.example"}}, js, true, 403},
			{"attachment type", "POST", "", []map[string]string{auth, good}, nil, false, 415},
			{"over the rate limit", "POST", "application/json", []map[string]string{auth, good}, js, true, 429},
		}
		for _, s := range steps {
			hdr := map[string]string{}
			for _, m := range s.hdr {
				for k, v := range m {
					hdr[k] = v
				}
			}
			ctype, body := s.ctype, s.body
			if s.name == "attachment type" {
				var buf bytes.Buffer
				mw := multipart.NewWriter(&buf)
				mw.WriteField("content", "附件是图片")
				fw, _ := mw.CreateFormFile("photo", "a.png")
				fw.Write([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
				mw.Close()
				ctype, body = mw.FormDataContentType(), buf.Bytes()
			}
			r := spec.Do(t, client, h.request(s.method, ctype, hdr), body, s.valid)
			if r.Resp.StatusCode != s.status {
				t.Errorf("%s: %d %s, want %d", s.name, r.Resp.StatusCode, r.Body, s.status)
			}
		}
	})

	t.Run("connection cap", func(t *testing.T) {
		h := start(t, func(c *web.Config) {
			c.MaxConnections = 1
			c.CORS.AllowedOrigins = []string{"*"}
		})
		spec, _ := openapitest.Fetch(t, h.url+"/openapi.json", cov)
		u, _ := url.Parse(h.url)
		hold, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer hold.Close()
		noReuse := &http.Client{Transport: answerOnAccept{}}
		js, _ := json.Marshal(submission)
		for _, method := range []string{"OPTIONS", "POST"} {
			r := spec.Do(t, noReuse, h.request(method, "application/json", map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "POST"}), js, true)
			if r.Resp.StatusCode != 503 || r.Resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s over max_connections: %d %s, want 503 with Retry-After", method, r.Resp.StatusCode, r.Body)
			}
		}
	})

	src, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	missing, undocumented := cov.Missing(t, src)
	if len(missing) > 0 {
		t.Errorf("documented responses no test produced: %v", missing)
	}
	if len(undocumented) > 0 {
		t.Errorf("responses produced that openapi.json does not document: %v", undocumented)
	}
}

// TestOpenAPIFields keeps the request schemas equal to the petition input
// fields and their limits (petition.InputFields, petition.FieldLimit).
func TestOpenAPIFields(t *testing.T) {
	h := start(t, nil)
	spec, _ := openapitest.Fetch(t, h.url+"/openapi.json", nil)
	schemas := spec.Doc()["components"].(map[string]any)["schemas"].(map[string]any)
	check := func(where string, props map[string]any, fields []petition.Field, extra ...string) {
		t.Helper()
		var names []string
		for k := range props {
			if !slices.Contains(extra, k) {
				names = append(names, k)
			}
		}
		var want []string
		for _, f := range fields {
			want = append(want, string(f))
			p, ok := props[string(f)].(map[string]any)
			if !ok {
				t.Errorf("%s: input field %q is not in the schema", where, f)
				continue
			}
			if ml, _ := p["maxLength"].(float64); int(ml) != petition.FieldLimit(f) {
				t.Errorf("%s.%s: maxLength %v, petition.FieldLimit %d", where, f, p["maxLength"], petition.FieldLimit(f))
			}
		}
		slices.Sort(names)
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("%s: properties %v, want the input fields %v", where, names, want)
		}
	}
	for name, extra := range map[string][]string{"PetitionJSON": {"petitioner"}, "PetitionForm": nil, "PetitionMultipart": {"attachments"}} {
		s := schemas[name].(map[string]any)
		check(name, s["properties"].(map[string]any), petition.InputFields, extra...)
		if req := s["required"].([]any); len(req) != 1 || req[0] != string(petition.FieldContent) {
			t.Errorf("%s: required %v, want [content]", name, req)
		}
	}
	pet := schemas["PetitionJSON"].(map[string]any)["properties"].(map[string]any)["petitioner"].(map[string]any)["properties"].(map[string]any)
	check("PetitionJSON.petitioner", pet, []petition.Field{petition.FieldName, petition.FieldIDNumber, petition.FieldPhone, petition.FieldEmail, petition.FieldAddress})
}

// TestOpenAPIFollowsConfig: the served document names the configured
// path, and says what the settings change.
func TestOpenAPIFollowsConfig(t *testing.T) {
	h := start(t, func(c *web.Config) {
		c.Path = "/wx/petitions"
		c.AllowUnknownFields = true
		c.MaxAttachments = 3
	})
	spec, _ := openapitest.Fetch(t, h.url+"/openapi.json", nil)
	paths := spec.Doc()["paths"].(map[string]any)
	post, ok := paths["/wx/petitions"].(map[string]any)
	if !ok || paths["/wx/petitions/openapi.json"] == nil || len(paths) != 2 {
		t.Fatalf("paths %v, want /wx/petitions and /wx/petitions/openapi.json", paths)
	}
	if _, ok := post["options"]; ok {
		t.Errorf("OPTIONS documented without cors.allowed_origins")
	}
	op := post["post"].(map[string]any)
	if _, ok := op["security"]; ok {
		t.Errorf("security documented without auth_token")
	}
	if _, ok := op["responses"].(map[string]any)["401"]; ok {
		t.Errorf("401 documented without auth_token")
	}
	schemas := spec.Doc()["components"].(map[string]any)["schemas"].(map[string]any)
	if schemas["PetitionJSON"].(map[string]any)["additionalProperties"] != true {
		t.Errorf("allow_unknown_fields: additionalProperties not true")
	}
	att := schemas["PetitionMultipart"].(map[string]any)["properties"].(map[string]any)["attachments"].(map[string]any)
	if att["maxItems"] != 3.0 {
		t.Errorf("attachments maxItems = %v, want max_attachments 3", att["maxItems"])
	}
	// POST to the spec's URL is refused; the spec needs no token.
	r, err := http.Post(h.url+"/openapi.json", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 405 {
		t.Errorf("POST openapi.json: %d, want 405", r.StatusCode)
	}
}

// TestOpenAPIMapped: with a mapping the body is the partner's own shape,
// and the served document says so: the partner's request validates.
func TestOpenAPIMapped(t *testing.T) {
	var spec mapping.Spec
	if err := config.DecodeStrict("m.yaml", []byte("content: {from: detail.body, required: true}\nsource_id: {from: msgId}\n"), &spec); err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	h := startMapped(t, nil, m)
	doc, _ := openapitest.Fetch(t, h.url+"/openapi.json", nil)
	body := []byte(`{"msgId":"wx-9","detail":{"body":"判决生效半年未执行"},"user":{"openid":"oX1"}}`)
	if r := doc.Do(t, &http.Client{}, h.request("POST", "application/json", nil), body, true); r.Resp.StatusCode != 201 {
		t.Errorf("partner body: %d %s, want 201", r.Resp.StatusCode, r.Body)
	}
	if r := doc.Do(t, &http.Client{}, h.request("POST", "application/json", nil), []byte(`{"msgId":"wx-10"}`), true); r.Resp.StatusCode != 422 {
		t.Errorf("partner body without the mapped content: %d %s, want 422", r.Resp.StatusCode, r.Body)
	}
}

// answerOnAccept reads what the listener writes on accept to a connection
// over max_connections, without sending the request: the listener answers
// and closes before it reads, so sending would race that close (the client
// then sees a reset or an "unsolicited response", not the 503).
type answerOnAccept struct{}

func (answerOnAccept) RoundTrip(req *http.Request) (*http.Response, error) {
	c, err := net.Dial("tcp", req.URL.Host)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, err
}
