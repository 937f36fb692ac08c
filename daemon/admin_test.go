package daemon

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/court12368/petitiond/schema"
)

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9464": true, "[::1]:9464": true, "localhost:9464": true, "127.0.0.2:80": true,
		":9464": false, "0.0.0.0:9464": false, "[::]:9464": false, "10.0.0.5:9464": false, "admin.court:9464": false, "bad": false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestSchemas: the record schemas are served as shipped, without the admin
// token (they are the public contract), and nothing else under /schemas/.
func TestSchemas(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /schemas/{name}", serveSchema)
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) {})
	h := adminAuth("tok", mux)
	for _, c := range []struct {
		path string
		want int
		body []byte
	}{
		{"/schemas/petition.v1.json", 200, schema.PetitionV1},
		{"/schemas/deadletter.v1.json", 200, schema.DeadLetterV1},
		{"/schemas/config.schema.json", 404, nil},
		{"/schemas/", 404, nil},
		{"/status.json", 401, nil},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", c.path, nil))
		if w.Code != c.want {
			t.Errorf("GET %s: %d, want %d", c.path, w.Code, c.want)
			continue
		}
		if c.body != nil {
			if !bytes.Equal(w.Body.Bytes(), c.body) {
				t.Errorf("GET %s: body differs from the embedded schema", c.path)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/schema+json" {
				t.Errorf("GET %s: Content-Type %q", c.path, ct)
			}
		}
	}
}
