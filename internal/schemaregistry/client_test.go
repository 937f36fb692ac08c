package schemaregistry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/schema"
)

// fakeRegistry speaks the part of the Confluent Schema Registry API the
// client uses, as Confluent does: a schema gets one global id whatever
// subject it is registered under, and registering a schema a subject
// already has returns its id without adding a version.
type fakeRegistry struct {
	mu       sync.Mutex
	ids      map[string]int      // schema text -> global id
	subjects map[string][]string // subject -> schema text per version
	user     string
	pass     string
	posts    int
}

func newFake() *fakeRegistry {
	return &fakeRegistry{ids: map[string]int{}, subjects: map[string][]string{}}
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.user != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.pass {
			w.WriteHeader(401)
			w.Write([]byte(`{"error_code":401,"message":"Unauthorized"}`))
			return
		}
	}
	w.Header().Set("Content-Type", contentType)
	rest, ok := strings.CutPrefix(r.URL.Path, "/subjects/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	subject, op, _ := strings.Cut(rest, "/versions")
	switch {
	case r.Method == "POST" && op == "":
		f.posts++
		if ct := r.Header.Get("Content-Type"); ct != contentType {
			w.WriteHeader(415)
			return
		}
		var req struct {
			SchemaType string `json:"schemaType"`
			Schema     string `json:"schema"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.SchemaType != "JSON" || !json.Valid([]byte(req.Schema)) {
			w.WriteHeader(422)
			w.Write([]byte(`{"error_code":42201,"message":"Invalid schema"}`))
			return
		}
		id, ok := f.ids[req.Schema]
		if !ok {
			id = len(f.ids) + 1
			f.ids[req.Schema] = id
		}
		has := false
		for _, s := range f.subjects[subject] {
			has = has || s == req.Schema
		}
		if !has {
			f.subjects[subject] = append(f.subjects[subject], req.Schema)
		}
		json.NewEncoder(w).Encode(map[string]int{"id": id})
	case r.Method == "GET" && op == "/latest":
		vs := f.subjects[subject]
		if len(vs) == 0 {
			w.WriteHeader(404)
			w.Write([]byte(`{"error_code":40401,"message":"Subject '` + subject + `' not found."}`))
			return
		}
		json.NewEncoder(w).Encode(Schema{Subject: subject, Version: len(vs), ID: f.ids[vs[len(vs)-1]], SchemaType: "JSON", Schema: vs[len(vs)-1]})
	default:
		http.NotFound(w, r)
	}
}

func TestRegisterIdempotentAndReadBack(t *testing.T) {
	f := newFake()
	f.user, f.pass = "sr", "s3cret"
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := &Client{URL: srv.URL + "/", User: "sr", Password: "s3cret"}
	ctx := context.Background()
	plan, err := Plan(config.Routes{DefaultTopic: "petitions.intake", DeadLetterTopic: "petitions.deadletter",
		Rules: []config.Rule{{Topic: "petitions.urgent"}, {Topic: "petitions.intake"}}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range plan {
		names = append(names, s.Name+"="+s.Schema.Name)
	}
	if got, want := strings.Join(names, " "), "petitions.intake-value=petition.v1.json petitions.urgent-value=petition.v1.json petitions.deadletter-value=deadletter.v1.json"; got != want {
		t.Fatalf("plan = %s, want %s", got, want)
	}
	first := map[string]int{}
	for round := 0; round < 2; round++ {
		for _, s := range plan {
			id, err := c.Register(ctx, s.Name, s.Schema.Data)
			if err != nil {
				t.Fatal(err)
			}
			if round == 0 {
				first[s.Name] = id
			} else if id != first[s.Name] {
				t.Errorf("re-registering %s gave id %d, first %d", s.Name, id, first[s.Name])
			}
		}
	}
	if first["petitions.intake-value"] != first["petitions.urgent-value"] || first["petitions.intake-value"] == first["petitions.deadletter-value"] {
		t.Errorf("ids %v: one id per schema expected", first)
	}
	for _, s := range plan {
		got, err := c.Latest(ctx, s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 1 || got.Schema != string(s.Schema.Data) || got.SchemaType != "JSON" {
			t.Errorf("%s latest = version %d type %q, schema equal to the file: %v", s.Name, got.Version, got.SchemaType, got.Schema == string(s.Schema.Data))
		}
	}
}

func TestRegistryErrors(t *testing.T) {
	f := newFake()
	f.user, f.pass = "sr", "s3cret"
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := &Client{URL: srv.URL, User: "sr", Password: "wrong"}
	_, err := c.Register(context.Background(), "t-value", schema.PetitionV1)
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 || e.Message != "Unauthorized" {
		t.Errorf("wrong password: %v", err)
	}
	c.Password = "s3cret"
	_, err = c.Latest(context.Background(), "nosuch-value")
	if !errors.As(err, &e) || e.Code != 40401 {
		t.Errorf("unknown subject: %v", err)
	}
	if !strings.Contains(err.Error(), "nosuch-value") {
		t.Errorf("error %q does not name the subject", err)
	}
}

func TestPlanRefusesSharedTopic(t *testing.T) {
	_, err := Plan(config.Routes{DefaultTopic: "a", DeadLetterTopic: "a"})
	if err == nil {
		t.Error("a topic with both records was accepted")
	}
}
