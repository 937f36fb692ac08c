package web

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/court12368/petitiond/channels"
)

// openAPIDoc is the OpenAPI 3.1 document of the channel, written for the
// default path /petitions; openAPI fills in the configured path, limits
// and options. openapi_test.go keeps it equal to the handler's behaviour
// and to petition.InputFields and petition.FieldLimit.
//
//go:embed openapi.json
var openAPIDoc []byte

// specPath is where the channel serves its OpenAPI document.
func specPath(path string) string { return strings.TrimSuffix(path, "/") + "/openapi.json" }

// openAPI returns the channel's OpenAPI document for its configuration.
func (c *Channel) openAPI() ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		return nil, fmt.Errorf("web: embedded openapi.json: %w", err)
	}
	paths := doc["paths"].(map[string]any)
	post := paths["/petitions"].(map[string]any)
	spec := paths["/petitions/openapi.json"]
	delete(paths, "/petitions")
	delete(paths, "/petitions/openapi.json")
	paths[c.cfg.Path] = post
	paths[specPath(c.cfg.Path)] = spec

	op := post["post"].(map[string]any)
	responses := op["responses"].(map[string]any)
	if c.cfg.AuthToken == "" {
		delete(op, "security")
		delete(responses, "401")
	}
	if pre, ok := post["options"].(map[string]any); ok && c.cfg.AuthToken == "" {
		delete(pre["responses"].(map[string]any), "401")
	}
	if len(c.cfg.CORS.AllowedOrigins) == 0 {
		delete(post, "options")
		delete(responses, "403")
	} else if pre, ok := post["options"].(map[string]any); ok && !slices.Contains(c.cfg.CORS.AllowedOrigins, "*") {
		// The origins that may submit.
		for _, p := range pre["parameters"].([]any) {
			if p := p.(map[string]any); p["name"] == "Origin" {
				p["schema"] = map[string]any{"type": "string", "enum": c.cfg.CORS.AllowedOrigins}
			}
		}
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"PetitionJSON", "PetitionForm", "PetitionMultipart"} {
		s := schemas[name].(map[string]any)
		if c.cfg.AllowUnknownFields {
			s["additionalProperties"] = true
		}
	}
	att := schemas["PetitionMultipart"].(map[string]any)["properties"].(map[string]any)["attachments"].(map[string]any)
	att["maxItems"] = c.cfg.MaxAttachments
	if c.env.Mapper != nil {
		// The body is the partner's own shape: what the mapping reads.
		free := map[string]any{"type": "object", "description": "the partner's own shape, read by this channel's mapping"}
		schemas["PetitionJSON"] = free
		schemas["PetitionForm"] = free
		mp := map[string]any{"type": "object", "description": "the partner's own fields, read by this channel's mapping; every part with a filename is an attachment"}
		schemas["PetitionMultipart"] = mp
		delete(op["requestBody"].(map[string]any)["content"].(map[string]any)["multipart/form-data"].(map[string]any), "encoding")
	}
	info := doc["info"].(map[string]any)
	info["description"] = info["description"].(string) + fmt.Sprintf(
		"\n\nThis channel: POST %s; bodies (JSON, urlencoded) at most %d bytes, a multipart request at most %d bytes, "+
			"at most %d attachments of at most %d bytes each; authentication: %s.",
		c.cfg.Path, int64(c.cfg.MaxBodySize), int64(c.cfg.MaxRequestSize), c.cfg.MaxAttachments, int64(c.cfg.MaxAttachmentSize),
		map[bool]string{true: "bearer token", false: "none"}[c.cfg.AuthToken != ""])
	return channels.EncodeOpenAPI(doc)
}

// serveOpenAPI answers GET <path>/openapi.json with the document; the
// guard's framing check applies, not its token or origin check.
func (c *Channel) serveOpenAPI(doc []byte) http.Handler {
	serve := channels.ServeOpenAPI(doc)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.refuseAmbiguous(w, r) {
			serve.ServeHTTP(w, r)
		}
	})
}
