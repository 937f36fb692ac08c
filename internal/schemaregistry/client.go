// Package schemaregistry registers the record JSON Schemas in a schema
// registry through the Confluent Schema Registry REST API, which Confluent
// Schema Registry, Karapace, Redpanda and Apicurio Registry (under
// /apis/ccompat/v7) all speak.
package schemaregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// contentType is the Confluent API's media type; plain application/json is
// accepted as well.
const contentType = "application/vnd.schemaregistry.v1+json"

// Client talks to one registry. URL is the API base (for Apicurio the
// ccompat root, e.g. http://host:8080/apis/ccompat/v7).
type Client struct {
	URL  string
	HTTP *http.Client // nil: a client with a 30 s timeout
	// User and Password, when User is set, are sent as HTTP basic auth
	// (Confluent's basic.auth.user.info); Token, when set, as a bearer token.
	User, Password string
	Token          string
}

// Schema is a registered schema version.
type Schema struct {
	Subject    string `json:"subject"`
	Version    int    `json:"version"`
	ID         int    `json:"id"`
	SchemaType string `json:"schemaType"` // empty means AVRO in the Confluent API
	Schema     string `json:"schema"`
}

// Error is a registry's error answer.
type Error struct {
	Status  int    // HTTP status
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("registry answered HTTP %d", e.Status)
	}
	return fmt.Sprintf("registry answered HTTP %d (error %d): %s", e.Status, e.Code, e.Message)
}

// Register registers a JSON Schema under subject and returns its global id.
// It is idempotent: registering a schema the subject already has returns
// the id it was given the first time and adds no version.
func (c *Client) Register(ctx context.Context, subject string, jsonSchema []byte) (int, error) {
	body, err := json.Marshal(struct {
		SchemaType string `json:"schemaType"`
		Schema     string `json:"schema"`
	}{"JSON", string(jsonSchema)})
	if err != nil {
		return 0, err
	}
	var out struct {
		ID int `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/subjects/"+url.PathEscape(subject)+"/versions", body, &out); err != nil {
		return 0, fmt.Errorf("register %s: %w", subject, err)
	}
	return out.ID, nil
}

// Latest returns the latest version of subject.
func (c *Client) Latest(ctx context.Context, subject string) (Schema, error) {
	var s Schema
	if err := c.do(ctx, http.MethodGet, "/subjects/"+url.PathEscape(subject)+"/versions/latest", nil, &s); err != nil {
		return s, fmt.Errorf("read %s: %w", subject, err)
	}
	return s, nil
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.URL, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", contentType+", application/json")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.User != "":
		req.SetBasicAuth(c.User, c.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(b[:min(len(b), 200)]))
		}
		return e
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("registry answer is not JSON: %w", err)
	}
	return nil
}
