package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// secure is the SASL_SSL broker of scripts/kafka-secure.sh.
type secure struct {
	saslSSL, ssl, dir string
	user, password    string
}

func (s secure) file(name string) string { return filepath.Join(s.dir, name) }

// secureBroker returns the SASL_SSL broker, skipping (or failing in CI)
// when none is configured.
func secureBroker(t *testing.T) secure {
	t.Helper()
	s := secure{saslSSL: os.Getenv("PETITIOND_KAFKA_SASL_SSL"), ssl: os.Getenv("PETITIOND_KAFKA_SSL"), dir: os.Getenv("PETITIOND_KAFKA_SECURE_DIR")}
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("SASL_SSL Kafka broker required in CI: %s (scripts/kafka-secure.sh start)", why)
		}
		t.Skipf("no SASL_SSL Kafka broker: %s (make test starts one)", why)
	}
	if s.saslSSL == "" || s.ssl == "" || s.dir == "" {
		missing("PETITIOND_KAFKA_SASL_SSL, PETITIOND_KAFKA_SSL or PETITIOND_KAFKA_SECURE_DIR not set")
	}
	u, err1 := os.ReadFile(s.file("username"))
	p, err2 := os.ReadFile(s.file("password"))
	if err1 != nil || err2 != nil {
		missing("no username/password in " + s.dir)
	}
	s.user, s.password = strings.TrimSpace(string(u)), strings.TrimSpace(string(p))
	return s
}

// kafkaSettings adds lines under kafka: in the env's config and points it
// at addr.
func (e *env) kafkaSettings(addr string, lines ...string) {
	e.t.Helper()
	b, err := os.ReadFile(e.cfgFile)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "  max_attempts: 2\n", "  max_attempts: 2\n  "+strings.Join(lines, "\n  ")+"\n", 1)
	cfg = strings.Replace(cfg, "brokers: [\""+e.brokers[0]+"\"]", "brokers: [\""+addr+"\"]", 1)
	e.brokers = []string{addr}
	if err := os.WriteFile(e.cfgFile, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// secureClient consumes through the SASL_SSL listener with franz-go and
// SCRAM-SHA-512 (Debian's kcat cannot do SCRAM with Kafka 4).
func (s secure) consume(t *testing.T, topic string, want int, within time.Duration) []record {
	t.Helper()
	pem, err := os.ReadFile(s.file("ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.saslSSL), kgo.ConsumeTopics(topic),
		kgo.DialTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}),
		kgo.SASL(scram.Auth{User: s.user, Pass: s.password}.AsSha512Mechanism()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var out []record
	for len(out) < want && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		for _, fe := range fs.Errors() {
			if fe.Err != context.DeadlineExceeded && fe.Err != context.Canceled {
				t.Logf("consume %s: %v", topic, fe.Err)
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			rec := record{Key: string(r.Key), Raw: r.Value, Headers: map[string]string{}}
			json.Unmarshal(r.Value, &rec.Value)
			for _, h := range r.Headers {
				rec.Headers[h.Key] = string(h.Value)
			}
			out = append(out, rec)
		})
	}
	return out
}

// waitReady polls /readyz until it answers want or within passes.
func waitReady(t *testing.T, e *env, want int, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	st := 0
	for time.Since(start) < within {
		if st = readyz(t, e); st == want {
			return st, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return st, time.Since(start)
}

// TestKafkaSASLSSL: records are produced over SASL_SSL with each mechanism
// (topics created and the health probe answered over the same listener),
// the password coming from a file or from the environment; the password is
// never logged.
func TestKafkaSASLSSL(t *testing.T) {
	s := secureBroker(t)
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		t.Run(mech, func(t *testing.T) {
			e := newEnv(t, s.saslSSL, "")
			password := "password_file: " + s.file("password")
			if mech == "plain" {
				t.Setenv("PETITIOND_IT_KAFKA_PASSWORD", s.password)
				password = `password: "${PETITIOND_IT_KAFKA_PASSWORD}"`
			}
			e.kafkaSettings(s.saslSSL,
				"tls: {ca_file: "+s.file("ca.crt")+"}",
				"sasl: {mechanism: "+mech+", username: "+s.user+", "+password+"}")
			e.start()
			if st, took := waitReady(t, e, 200, 30*time.Second); st != 200 {
				t.Fatalf("/readyz = %d after %v, want 200", st, took)
			}
			js, _ := json.Marshal(fields)
			rep := e.mustPost("application/json", js, nil)
			if rep.Status != 201 {
				t.Fatalf("reply %+v, want 201", rep)
			}
			recs := s.consume(t, e.topic, 1, 30*time.Second)
			if len(recs) != 1 || recs[0].Key != rep.ID {
				t.Fatalf("topic %s holds %d records, want the petition %s", e.topic, len(recs), rep.ID)
			}
			checkRecord(t, mech, recs[0], rep)
			if err := e.stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
			if strings.Contains(e.logs(), s.password) {
				t.Errorf("the SASL password appears in the logs")
			}
		})
	}
}

// refused starts a daemon whose Kafka settings cannot work and checks that
// /readyz says 503, that no submission is answered 201, and that the log
// explains why (wantLog).
func refused(t *testing.T, e *env, secret string, wantLog ...string) {
	t.Helper()
	e.start()
	js, _ := json.Marshal(fields)
	for i := 0; i < 3; i++ {
		r := e.mustPost("application/json", js, nil)
		if r.Status == 201 {
			t.Fatalf("a submission was answered 201 although Kafka refused petitiond")
		}
		if r.Status != 503 || r.Header.Get("Retry-After") == "" {
			t.Errorf("reply %d %q, want 503 with Retry-After", r.Status, r.Error)
		}
	}
	if st, took := waitReady(t, e, 503, 15*time.Second); st != 503 {
		t.Errorf("/readyz = %d after %v, want 503", st, took)
	}
	time.Sleep(700 * time.Millisecond) // a probe or two more
	if st := readyz(t, e); st != 503 {
		t.Errorf("/readyz = %d later, want 503", st)
	}
	logs := e.logs()
	for _, w := range wantLog {
		if !strings.Contains(logs, w) {
			t.Errorf("logs do not say %q:\n%s", w, logs)
		}
	}
	if secret != "" && strings.Contains(logs, secret) {
		t.Errorf("the password appears in the logs")
	}
}

func TestKafkaWrongPassword(t *testing.T) {
	s := secureBroker(t)
	e := newEnv(t, s.saslSSL, "")
	wrong := filepath.Join(e.dir, "wrong-password")
	os.WriteFile(wrong, []byte("not-"+s.password+"\n"), 0o600)
	e.kafkaSettings(s.saslSSL,
		"tls: {ca_file: "+s.file("ca.crt")+"}",
		"sasl: {mechanism: scram-sha-512, username: "+s.user+", password_file: "+wrong+"}")
	refused(t, e, "not-"+s.password,
		"kafka SASL_SSL listener "+s.saslSSL+": SASL scram-sha-512 authentication failed for user \\\""+s.user+"\\\"")
}

func TestKafkaUntrustedBrokerCertificate(t *testing.T) {
	s := secureBroker(t)
	e := newEnv(t, s.saslSSL, "")
	e.kafkaSettings(s.saslSSL,
		"tls: {ca_file: "+s.file("other-ca.crt")+"}",
		"sasl: {mechanism: scram-sha-256, username: "+s.user+", password_file: "+s.file("password")+"}")
	refused(t, e, s.password, "kafka SASL_SSL listener "+s.saslSSL+": TLS: the broker's certificate is not signed by a trusted CA")
}

// TestKafkaMutualTLS: the SSL listener requires a client certificate:
// with cert_file/key_file records are produced, without them the broker
// refuses the handshake.
func TestKafkaMutualTLS(t *testing.T) {
	s := secureBroker(t)
	t.Run("with client certificate", func(t *testing.T) {
		e := newEnv(t, s.ssl, "")
		e.kafkaSettings(s.ssl, "tls: {ca_file: "+s.file("ca.crt")+", cert_file: "+s.file("client.crt")+", key_file: "+s.file("client.key")+", server_name: localhost}")
		e.start()
		js, _ := json.Marshal(fields)
		rep := e.mustPost("application/json", js, nil)
		if rep.Status != 201 {
			t.Fatalf("reply %+v, want 201", rep)
		}
		if recs := s.consume(t, e.topic, 1, 30*time.Second); len(recs) != 1 || recs[0].Key != rep.ID {
			t.Fatalf("%d records, want the petition %s", len(recs), rep.ID)
		}
	})
	t.Run("without", func(t *testing.T) {
		e := newEnv(t, s.ssl, "")
		e.kafkaSettings(s.ssl, "tls: {ca_file: "+s.file("ca.crt")+"}")
		refused(t, e, "", "kafka SSL listener "+s.ssl)
	})
}

// TestInsecureSkipVerifyWarns: insecure_skip_verify works but says so
// loudly at start.
func TestInsecureSkipVerifyWarns(t *testing.T) {
	s := secureBroker(t)
	e := newEnv(t, s.saslSSL, "")
	e.kafkaSettings(s.saslSSL,
		"tls: {insecure_skip_verify: true}",
		"sasl: {mechanism: scram-sha-512, username: "+s.user+", password_file: "+s.file("password")+"}")
	e.start()
	js, _ := json.Marshal(fields)
	if rep := e.mustPost("application/json", js, nil); rep.Status != 201 {
		t.Fatalf("reply %+v, want 201", rep)
	}
	if !strings.Contains(e.logs(), "SECURITY: kafka.tls.insecure_skip_verify is on") {
		t.Errorf("no warning about insecure_skip_verify in the logs")
	}
}
