package daemon

import (
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/schema"
)

// adminListener listens for the admin server, over TLS when configured.
func adminListener(ac config.Admin) (net.Listener, error) {
	var cert tls.Certificate
	if ac.TLSCertFile != "" {
		var err error
		if cert, err = tls.LoadX509KeyPair(ac.TLSCertFile, ac.TLSKeyFile); err != nil {
			return nil, fmt.Errorf("admin.tls_cert_file/tls_key_file: %w", err)
		}
	}
	ln, err := net.Listen("tcp", ac.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin.listen: %w", err)
	}
	if ac.TLSCertFile != "" {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	return ln, nil
}

// adminAuth requires the bearer token for everything but the health
// probes, which load balancers and orchestrators call without one, and the
// record schemas, which are the public contract (they ship in the
// repository and hold nothing about any petition) and are fetched by
// consumers and registry tooling that have no admin token.
func adminAuth(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || strings.HasPrefix(r.URL.Path, "/schemas/") {
			next.ServeHTTP(w, r)
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="petitiond-admin"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Loopback reports whether a listen address is reachable from this host
// only. An empty host, 0.0.0.0 or :: listen on every interface; a name
// other than localhost may resolve to anything.
func Loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// warnAdmin logs, at every start, an admin listener that anyone on the
// network can reach.
func warnAdmin(ac config.Admin, log *slog.Logger) {
	if Loopback(ac.Listen) {
		return
	}
	if ac.AuthToken == "" {
		log.Warn("SECURITY: the admin listener is reachable beyond loopback without admin.auth_token: anyone who reaches it reads /metrics"+
			map[bool]string{true: " and the Go profiler", false: ""}[ac.Pprof]+"; bind it to 127.0.0.1 or set admin.auth_token_file", "addr", ac.Listen)
	}
	if ac.Pprof {
		log.Warn("SECURITY: admin.pprof is on and the admin listener is reachable beyond loopback: profiles and traces expose memory contents, including petitions; turn pprof off or bind admin to 127.0.0.1", "addr", ac.Listen)
	}
	if ac.TLSCertFile == "" && ac.AuthToken != "" {
		log.Warn("SECURITY: admin.auth_token is sent in clear text beyond loopback; set admin.tls_cert_file and tls_key_file", "addr", ac.Listen)
	}
}

// serveSchema serves the record JSON Schemas at /schemas/<file>
// (petition.v1.json, deadletter.v1.json): the documents the records'
// ce_dataschema header names by their $id.
func serveSchema(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	for _, f := range schema.Records() {
		if f.Name == name {
			w.Header().Set("Content-Type", "application/schema+json")
			w.Header().Set("Cache-Control", "max-age=300")
			w.Write(f.Data)
			return
		}
	}
	http.NotFound(w, r)
}
