package calllog

import (
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
	return json.MarshalIndent(doc, "", "  ")
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
