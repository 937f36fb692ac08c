package channels

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// EncodeOpenAPI encodes a channel's OpenAPI document (its embedded file,
// adjusted to the channel's settings) for serving: indented, without HTML
// escapes, the top-level keys in the order people read them (openapi,
// info, servers, paths, components; nested keys sorted).
func EncodeOpenAPI(doc map[string]any) ([]byte, error) {
	if len(doc) != 5 {
		return nil, fmt.Errorf("openapi document: %d top-level keys; list every one in openAPIOrder", len(doc))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(openAPIOrder{doc["openapi"], doc["info"], doc["servers"], doc["paths"], doc["components"]}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type openAPIOrder struct {
	OpenAPI    any `json:"openapi"`
	Info       any `json:"info"`
	Servers    any `json:"servers"`
	Paths      any `json:"paths"`
	Components any `json:"components"`
}

// ServeOpenAPI answers GET and HEAD <path>/openapi.json with doc, anything
// else 405. It asks for no token: the document describes the interface
// and holds no secret, and a partner's tooling fetches it before it has
// credentials configured.
func ServeOpenAPI(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.WriteHeader(http.StatusMethodNotAllowed)
			w.Write([]byte(`{"error":"use GET"}` + "\n"))
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(doc)
	})
}
