package calllog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// ctiOpenAPIDoc is the OpenAPI 3.1 document of the CTI webhook, written
// for the default path /cti; ctiOpenAPI fills in the configured path and
// options. openapi_test.go keeps it equal to the handler's behaviour.
//
//go:embed openapi.json
var ctiOpenAPIDoc []byte

// ctiSpecPath is where the webhook serves its OpenAPI document.
func ctiSpecPath(path string) string { return strings.TrimSuffix(path, "/") + "/openapi.json" }

// ctiOpenAPI returns the webhook's OpenAPI document for its configuration.
func ctiOpenAPI(cfg *CTIConfig) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(ctiOpenAPIDoc, &doc); err != nil {
		return nil, fmt.Errorf("calllog: embedded openapi.json: %w", err)
	}
	paths := doc["paths"].(map[string]any)
	post, spec := paths["/cti"], paths["/cti/openapi.json"]
	delete(paths, "/cti")
	delete(paths, "/cti/openapi.json")
	paths[cfg.Path] = post
	paths[ctiSpecPath(cfg.Path)] = spec
	op := post.(map[string]any)["post"].(map[string]any)
	if cfg.AuthToken == "" {
		delete(op, "security")
		delete(op["responses"].(map[string]any), "401")
	}
	info := doc["info"].(map[string]any)
	info["description"] = info["description"].(string) + fmt.Sprintf(
		"\n\nThis webhook: POST %s; a request at most %d bytes; authentication: %s.",
		cfg.Path, int64(cfg.MaxBodySize), map[bool]string{true: "bearer token", false: "none"}[cfg.AuthToken != ""])
	if len(doc) != 5 {
		return nil, fmt.Errorf("embedded openapi.json: %d top-level keys; list every one in ordered", len(doc))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ordered(doc)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// serveOpenAPI answers GET <path>/openapi.json. It needs no token: the
// document describes the interface and holds no secret.
func serveCTIOpenAPI(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusMethodNotAllowed)
			w.Write([]byte(`{"error":"use GET"}` + "\n"))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(doc)
	})
}

// ctiOpenAPIOrder is the order of the document's top-level keys (the rest
// are sorted by encoding/json), for people reading it.
type ctiOpenAPIOrder struct {
	OpenAPI    any `json:"openapi"`
	Info       any `json:"info"`
	Servers    any `json:"servers"`
	Paths      any `json:"paths"`
	Components any `json:"components"`
}

func ordered(doc map[string]any) ctiOpenAPIOrder {
	return ctiOpenAPIOrder{doc["openapi"], doc["info"], doc["servers"], doc["paths"], doc["components"]}
}
