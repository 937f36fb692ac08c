package calllog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/court12368/petitiond/channels"
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
	return channels.EncodeOpenAPI(doc)
}
