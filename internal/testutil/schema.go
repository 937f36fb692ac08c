// Package testutil holds helpers shared by tests.
package testutil

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/normalize/classify"
	"github.com/court12368/petitiond/schema"
)

var (
	once     sync.Once
	petition *jsonschema.Schema
	dead     *jsonschema.Schema
	compErr  error
)

func compile() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for name, src := range map[string][]byte{"petition.v1.json": schema.PetitionV1, "deadletter.v1.json": schema.DeadLetterV1} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
		if err != nil {
			compErr = err
			return
		}
		if err := c.AddResource(name, doc); err != nil {
			compErr = err
			return
		}
	}
	petition, compErr = c.Compile("petition.v1.json")
	if compErr == nil {
		dead, compErr = c.Compile("deadletter.v1.json")
	}
}

func validate(t testing.TB, s func() *jsonschema.Schema, value []byte) {
	t.Helper()
	once.Do(compile)
	if compErr != nil {
		t.Fatalf("compiling schema: %v", compErr)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(value))
	if err != nil {
		t.Fatalf("record is not JSON: %v", err)
	}
	if err := s().Validate(doc); err != nil {
		t.Errorf("record does not validate against the schema: %v\nrecord: %s", err, value)
	}
}

// ValidatePetition fails t when value is not a valid petition.v1 record.
func ValidatePetition(t testing.TB, value []byte) {
	t.Helper()
	validate(t, func() *jsonschema.Schema { return petition }, value)
}

// ValidateDeadLetter fails t when value is not a valid dead-letter record.
func ValidateDeadLetter(t testing.TB, value []byte) {
	t.Helper()
	validate(t, func() *jsonschema.Schema { return dead }, value)
}

// MustJSON marshals v or fails.
func MustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Normalizer returns a normalizer with the shipped classification rules, a
// fixed petitioner-key secret and a fixed clock (2026-11-25 10:00 UTC), as
// the golden records expect.
func Normalizer(t testing.TB) *normalize.Normalizer {
	t.Helper()
	cls, err := classify.Compile(classify.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return &normalize.Normalizer{
		Classifier: cls,
		KeySecret:  []byte("test-secret"),
		Now:        func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) },
	}
}
