package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/web"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/engine"
	tu "github.com/court12368/petitiond/internal/testutil"
	"github.com/court12368/petitiond/mapping"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/petition"
	"github.com/court12368/petitiond/router"
)

type harness struct {
	url   string
	prod  *tu.FakeProducer
	blobs *blob.Dir
	stop  func()
}

func start(t *testing.T, mod func(*web.Config)) *harness {
	t.Helper()
	return startMapped(t, mod, nil)
}

func startMapped(t *testing.T, mod func(*web.Config), mapper *mapping.Mapper) *harness {
	t.Helper()
	return startRouted(t, mod, mapper, "")
}

// startRouted runs the channel with route rules (YAML, the routes.rules
// list) added to the engine's configuration.
func startRouted(t *testing.T, mod func(*web.Config), mapper *mapping.Mapper, rules string) *harness {
	t.Helper()
	cfg := web.NewConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.MaxBodySize = 4096
	cfg.MaxAttachmentSize = 1000
	cfg.MaxAttachments = 2
	if mod != nil {
		mod(cfg)
	}
	dir := t.TempDir()
	blobs, err := blob.NewDir(dir+"/blobs", "")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ch, err := web.New(cfg, channels.Env{Name: "web-t", Logger: log, Blobs: blobs, StateDir: dir + "/state", Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	routes := "routes: {default_topic: in, dead_letter_topic: dead}\n"
	if rules != "" {
		routes = "routes:\n  default_topic: in\n  dead_letter_topic: dead\n  rules:\n" + rules
	}
	rc, err := config.Parse("t.yaml", []byte("kafka: {brokers: [x]}\n"+routes), channels.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := router.Compile(rc)
	if err != nil {
		t.Fatal(err)
	}
	prod := tu.NewFakeProducer()
	m := engine.NewMetrics(prometheus.NewRegistry(), prod.Healthy)
	eng := engine.New(log, &normalize.Normalizer{Blobs: blobs}, compiled, prod, m, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ch.Run(ctx, eng.Sink("web-t", "web")) }()
	addr, err := ch.Addr(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{url: "http://" + addr.String() + cfg.Path, prod: prod, blobs: blobs}
	h.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(func() {
		if h.stop != nil {
			h.stop()
		}
	})
	return h
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
}

func (h *harness) post(t *testing.T, ctype string, body []byte, hdr map[string]string) resp {
	t.Helper()
	req, _ := http.NewRequest("POST", h.url, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("reply is not JSON: %q", b)
	}
	return resp{r.StatusCode, r.Header, m}
}

func (h *harness) record(t *testing.T, i int) map[string]any {
	t.Helper()
	msgs := h.prod.Messages()
	if len(msgs) <= i {
		t.Fatalf("only %d records produced", len(msgs))
	}
	tu.ValidatePetition(t, msgs[i].Value)
	var m map[string]any
	json.Unmarshal(msgs[i].Value, &m)
	return m
}

var submission = map[string]string{
	"name": "张三", "phone": "13912345678", "email": "zhang@example.cn", "address": "江西省南昌市东湖区",
	"subject": "立案问题", "content": "我于2024年3月提交的起诉材料至今未立案。", "case_number": "（2024）赣0102民初100号", "court": "东湖区人民法院",
}

func checkRecord(t *testing.T, rec map[string]any, reply resp) {
	t.Helper()
	if reply.status != 201 {
		t.Fatalf("status = %d (%v), want 201", reply.status, reply.body)
	}
	if rec["id"] != reply.body["id"] || rec["tracking_no"] != reply.body["tracking_no"] {
		t.Errorf("reply %v does not match record id %v / %v", reply.body, rec["id"], rec["tracking_no"])
	}
	p := rec["petitioner"].(map[string]any)
	if p["name"] != submission["name"] || p["address"] != submission["address"] || p["email"] != submission["email"] {
		t.Errorf("petitioner = %v", p)
	}
	if rec["subject"] != submission["subject"] || rec["content"] != submission["content"] {
		t.Errorf("subject/content = %q / %q", rec["subject"], rec["content"])
	}
	ch := rec["channel"].(map[string]any)
	if ch["name"] != "web-t" || ch["type"] != "web" {
		t.Errorf("channel = %v", ch)
	}
	src := rec["source"].(map[string]any)
	if orig := src["original"].(map[string]any); len(orig["sha256"].(string)) != 64 {
		t.Errorf("original not stored: %v", orig)
	}
}

func TestContentTypes(t *testing.T) {
	h := start(t, nil)
	flat, _ := json.Marshal(submission)
	reply := h.post(t, "application/json", flat, nil)
	checkRecord(t, h.record(t, 0), reply)

	nested := map[string]any{"petitioner": map[string]string{}}
	for k, v := range submission {
		switch k {
		case "name", "phone", "email", "address", "id_number":
			nested["petitioner"].(map[string]string)[k] = v
		default:
			nested[k] = v
		}
	}
	b, _ := json.Marshal(nested)
	reply = h.post(t, "application/json; charset=utf-8", b, nil)
	checkRecord(t, h.record(t, 1), reply)

	form := url.Values{}
	for k, v := range submission {
		form.Set(k, v)
	}
	reply = h.post(t, "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
	checkRecord(t, h.record(t, 2), reply)

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range submission {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("attachment", "判决书.pdf")
	fw.Write([]byte("%PDF-1.4 fake"))
	mw.Close()
	reply = h.post(t, mw.FormDataContentType(), buf.Bytes(), nil)
	rec := h.record(t, 3)
	checkRecord(t, rec, reply)
	atts := rec["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("attachments = %v", atts)
	}
	a := atts[0].(map[string]any)
	if a["filename"] != "判决书.pdf" || a["size"].(float64) != 13 {
		t.Errorf("attachment = %v", a)
	}
	rc, err := h.blobs.Open(a["sha256"].(string))
	if err != nil {
		t.Fatalf("attachment not in the blob store: %v", err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "%PDF-1.4 fake" {
		t.Errorf("stored attachment = %q", got)
	}
}

func TestIdempotencyKey(t *testing.T) {
	h := start(t, nil)
	b, _ := json.Marshal(submission)
	key := map[string]string{"Idempotency-Key": "portal-req-42"}
	first := h.post(t, "application/json", b, key)
	second := h.post(t, "application/json", b, key)
	if first.status != 201 || second.status != 201 {
		t.Fatalf("statuses %d, %d", first.status, second.status)
	}
	for _, k := range []string{"id", "tracking_no", "received_at"} {
		if first.body[k] != second.body[k] {
			t.Errorf("retry %s = %v, want %v", k, second.body[k], first.body[k])
		}
	}
	if second.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry not marked as replayed")
	}
	if n := len(h.prod.Messages()); n != 1 {
		t.Errorf("%d records for one idempotent petition, want 1", n)
	}
	if want := petition.ID("web-t", "idempotency-key:portal-req-42"); first.body["id"] != want {
		t.Errorf("id = %v, want %v (derived from the key)", first.body["id"], want)
	}
	other := map[string]string{"content": "完全不同的内容"}
	ob, _ := json.Marshal(other)
	if r := h.post(t, "application/json", ob, key); r.status != 422 || r.body["field"] != "Idempotency-Key" {
		t.Errorf("reused key with other content: %d %v, want 422 naming Idempotency-Key", r.status, r.body)
	}

	// Concurrent retries with one key make one record.
	key2 := map[string]string{"Idempotency-Key": "concurrent"}
	var wg sync.WaitGroup
	ids := make([]any, 8)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ids[i] = h.post(t, "application/json", b, key2).body["id"]
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == nil {
			t.Fatalf("concurrent retries got ids %v", ids)
		}
	}
	if n := len(h.prod.Messages()); n != 2 {
		t.Errorf("%d records after concurrent retries, want 2", n)
	}

	// The reply survives a restart of the channel (state on disk).
}

func TestClientErrors(t *testing.T) {
	h := start(t, func(c *web.Config) { c.AuthToken = "" })
	big := `{"content":"` + strings.Repeat("长", 2000) + `"}`
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("content", "有附件")
	fw, _ := mw.CreateFormFile("f", "big.bin")
	fw.Write(bytes.Repeat([]byte("x"), 1001))
	mw.Close()
	var mp3 bytes.Buffer
	mw3 := multipart.NewWriter(&mp3)
	mw3.WriteField("content", "三个附件")
	for i := 0; i < 3; i++ {
		f, _ := mw3.CreateFormFile("f", fmt.Sprintf("%d.txt", i))
		f.Write([]byte("a"))
	}
	mw3.Close()
	cases := []struct {
		name, ctype, body string
		status            int
		field             string
	}{
		{"too large", "application/json", big, 413, ""},
		{"wrong type", "text/plain", "hello", 415, "Content-Type"},
		{"no type", "", "hello", 415, "Content-Type"},
		{"malformed json", "application/json", `{"content":`, 400, ""},
		{"json array", "application/json", `[1,2]`, 400, ""},
		{"unknown field", "application/json", `{"content":"x","nmae":"y"}`, 422, "nmae"},
		{"non-string", "application/json", `{"content":["x"]}`, 422, "content"},
		{"empty content", "application/json", `{"name":"李四","content":"  "}`, 422, "content"},
		{"bad email", "application/json", `{"content":"x","email":"not-an-address"}`, 422, "email"},
		{"nested bad", "application/json", `{"content":"x","petitioner":{"age":3}}`, 422, "petitioner.age"},
		{"invalid utf8", "application/json", "{\"content\":\"\xff\xfe\"}", 400, ""},
		{"invalid utf8 form", "application/x-www-form-urlencoded", "content=%ff%fe", 422, "content"},
		{"attachment too large", mw.FormDataContentType(), mp.String(), 413, "f"},
		{"too many attachments", mw3.FormDataContentType(), mp3.String(), 413, "f"},
		{"form duplicate", "application/x-www-form-urlencoded", "content=a&content=b", 422, "content"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.post(t, c.ctype, []byte(c.body), nil)
			if r.status != c.status {
				t.Errorf("status = %d (%v), want %d", r.status, r.body, c.status)
			}
			if f, _ := r.body["field"].(string); f != c.field {
				t.Errorf("field = %q, want %q", f, c.field)
			}
			if e, _ := r.body["error"].(string); e == "" {
				t.Errorf("no error message")
			}
		})
	}
	if n := len(h.prod.Messages()); n != 0 {
		t.Errorf("%d records produced for bad requests, want 0", n)
	}
}

func TestUnavailable(t *testing.T) {
	h := start(t, nil)
	b, _ := json.Marshal(submission)
	h.prod.Set(false, nil)
	r := h.post(t, "application/json", b, nil)
	if r.status != 503 || r.header.Get("Retry-After") != "5" {
		t.Errorf("unhealthy: %d Retry-After=%q, want 503 with Retry-After 5", r.status, r.header.Get("Retry-After"))
	}
	h.prod.Set(true, errors.New("leader not available"))
	if r := h.post(t, "application/json", b, nil); r.status != 503 {
		t.Errorf("produce failure: %d, want 503", r.status)
	}
	h.prod.Set(true, nil)
	if r := h.post(t, "application/json", b, nil); r.status != 201 {
		t.Errorf("after recovery: %d, want 201", r.status)
	}
}

func TestAuthAndRateLimit(t *testing.T) {
	h := start(t, func(c *web.Config) {
		c.AuthToken = "tok"
		c.RateLimit = web.RateLimit{PerSecond: 0.001, Burst: 2}
	})
	b, _ := json.Marshal(submission)
	if r := h.post(t, "application/json", b, nil); r.status != 401 {
		t.Errorf("no token: %d, want 401", r.status)
	}
	auth := map[string]string{"Authorization": "Bearer tok"}
	for i := 0; i < 2; i++ {
		if r := h.post(t, "application/json", b, auth); r.status != 201 && r.status != 429 {
			t.Errorf("with token: %d", r.status)
		}
	}
	r := h.post(t, "application/json", b, auth)
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Errorf("over the limit: %d, want 429 with Retry-After", r.status)
	}
}

func TestDrainWaitsForInFlight(t *testing.T) {
	h := start(t, nil)
	h.prod.Hold = true
	h.prod.Notify = make(chan struct{}, 1)
	b, _ := json.Marshal(submission)
	got := make(chan resp, 1)
	go func() { got <- h.post(t, "application/json", b, nil) }()
	<-h.prod.Notify // the request reached the producer
	stopped := make(chan struct{})
	stop := h.stop
	h.stop = nil
	go func() { stop(); close(stopped) }()
	h.prod.Release(nil)
	r := <-got
	<-stopped
	if r.status != 201 {
		t.Errorf("in-flight request during shutdown: %d, want 201", r.status)
	}
}

// TestPartnerShapeThroughMapping: a partner's JSON that looks nothing like
// ours becomes a petition with YAML only; its own message id makes its
// retries one petition.
func TestPartnerShapeThroughMapping(t *testing.T) {
	var spec mapping.Spec
	err := config.DecodeStrict("m.yaml", []byte(`
name:        {from: user.realName, required: true}
phone:       {from: [user.mobile, user.tel]}
content:     {join: [detail.title, detail.body], sep: "\n", required: true}
received_at: {from: createTime, layout: "2006-01-02 15:04:05", timezone: Asia/Shanghai}
source_id:   {from: msgId}
meta.wx_openid: {from: user.openid}
`), &spec)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	h := startMapped(t, nil, m)
	body := []byte(`{"msgId":"wx-1","createTime":"2026-11-25 09:30:00","user":{"realName":"李华","mobile":"","tel":"13907911234","openid":"oX1"},
		"detail":{"title":"执行款","body":"判决生效半年未执行"},"extra":{"ignored":true}}`)
	first := h.post(t, "application/json", body, nil)
	again := h.post(t, "application/json", body, nil)
	if first.status != 201 || again.body["id"] != first.body["id"] {
		t.Fatalf("replies %v / %v, want 201 and the same id", first.body, again.body)
	}
	if n := len(h.prod.Messages()); n != 1 {
		t.Errorf("%d records for one partner message, want 1", n)
	}
	rec := h.record(t, 0)
	p := rec["petitioner"].(map[string]any)
	if p["name"] != "李华" || p["phone"] != "+8613907911234" || rec["content"] != "执行款\n判决生效半年未执行" {
		t.Errorf("record petitioner %v content %q", p, rec["content"])
	}
	if rec["received_at"] != "2026-11-25T01:30:00Z" {
		t.Errorf("received_at = %v, want the partner's time in UTC", rec["received_at"])
	}
	if rec["meta"].(map[string]any)["wx_openid"] != "oX1" {
		t.Errorf("meta = %v", rec["meta"])
	}
	bad := h.post(t, "application/json", []byte(`{"msgId":"wx-2","detail":{"title":"x"}}`), nil)
	if bad.status != 422 || bad.body["field"] != "name" {
		t.Errorf("missing required mapped field: %d %v, want 422 naming name", bad.status, bad.body)
	}
}

// TestReplayWhileKafkaDown: an answered Idempotency-Key gets its stored
// reply even while Kafka is unreachable; a new one gets 503.
func TestReplayWhileKafkaDown(t *testing.T) {
	h := start(t, nil)
	b, _ := json.Marshal(submission)
	first := h.post(t, "application/json", b, map[string]string{"Idempotency-Key": "k1"})
	h.prod.Set(false, nil)
	again := h.post(t, "application/json", b, map[string]string{"Idempotency-Key": "k1"})
	if again.status != 201 || again.body["id"] != first.body["id"] {
		t.Errorf("replay while down: %d %v, want the stored 201", again.status, again.body)
	}
	if r := h.post(t, "application/json", b, map[string]string{"Idempotency-Key": "k2"}); r.status != 503 {
		t.Errorf("new key while down: %d, want 503", r.status)
	}
}
