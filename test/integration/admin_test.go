package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "petitiond admin"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return
}

func rewriteConfig(t *testing.T, e *env, pairs ...string) {
	t.Helper()
	b, _ := os.ReadFile(e.cfgFile)
	s := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("config has no %q", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	os.WriteFile(e.cfgFile, []byte(s), 0o600)
}

// TestAdminTLSAndToken: with tls_cert_file/tls_key_file and auth_token the
// admin listener speaks HTTPS only, /metrics needs the token, the health
// probes do not.
func TestAdminTLSAndToken(t *testing.T) {
	e := newEnv(t, broker(t), "")
	certFile, keyFile, pool := selfSigned(t, e.dir)
	tokenFile := filepath.Join(e.dir, "admin-token")
	const token = "admin-t0ken-not-for-logs"
	os.WriteFile(tokenFile, []byte(token), 0o600)
	rewriteConfig(t, e, "admin: {listen: \""+e.adminAddr+"\"}",
		"admin: {listen: \""+e.adminAddr+"\", tls_cert_file: "+certFile+", tls_key_file: "+keyFile+", auth_token_file: "+tokenFile+"}")
	e.start()
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(path, tok string) int {
		req, _ := http.NewRequest("GET", "https://"+e.adminAddr+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		r, err := cl.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return r.StatusCode
	}
	for i := 0; i < 200 && get("/readyz", "") != 200; i++ {
		time.Sleep(50 * time.Millisecond) // ready once the topics are served
	}
	for _, c := range []struct {
		path, tok string
		want      int
	}{
		{"/metrics", "", 401}, {"/metrics", "wrong", 401}, {"/metrics", token, 200},
		{"/healthz", "", 200}, {"/readyz", "", 200}, {"/schemas/petition.v1.json", "", 200},
	} {
		if got := get(c.path, c.tok); got != c.want {
			t.Errorf("GET %s (token %q): %d, want %d", c.path, c.tok, got, c.want)
		}
	}
	if r, err := http.Get("http://" + e.adminAddr + "/healthz"); err == nil && r.StatusCode == 200 {
		t.Errorf("plain HTTP answered on the TLS admin listener")
	}
	if strings.Contains(e.logs(), token) {
		t.Errorf("the admin token appears in the logs")
	}
}

// TestSecurityWarningsAtStart: an admin listener without a token, pprof and
// a web listener without a token, all beyond loopback, are each warned
// about at start.
func TestSecurityWarningsAtStart(t *testing.T) {
	e := newEnv(t, broker(t), "")
	_, adminPort, _ := net.SplitHostPort(e.adminAddr)
	_, webPort, _ := net.SplitHostPort(e.webAddr)
	rewriteConfig(t, e,
		"admin: {listen: \""+e.adminAddr+"\"}", "admin: {listen: \"0.0.0.0:"+adminPort+"\", pprof: true}",
		"listen: \""+e.webAddr+"\"", "listen: \"0.0.0.0:"+webPort+"\"")
	e.start()
	e.waitLog("SECURITY: web channel listens beyond loopback", 5*time.Second)
	logs := e.logs()
	for _, w := range []string{
		"SECURITY: the admin listener is reachable beyond loopback without admin.auth_token",
		"SECURITY: admin.pprof is on and the admin listener is reachable beyond loopback",
		"SECURITY: web channel listens beyond loopback without auth_token",
	} {
		if !strings.Contains(logs, w) {
			t.Errorf("no warning %q in:\n%s", w, logs)
		}
	}
	// Loopback-only listeners are not warned about.
	q := newEnv(t, broker(t), "")
	q.start()
	if strings.Contains(q.logs(), "SECURITY:") {
		t.Errorf("warnings for loopback listeners:\n%s", q.logs())
	}
}
