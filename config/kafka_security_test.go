package config_test

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKafkaTLSAndSASL(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	cfg, errs := parse(t, `kafka:
  brokers: ["k1:9096"]
  tls: {ca_file: /etc/ca.pem, cert_file: c.pem, key_file: k.pem, server_name: kafka.court}
  sasl: {mechanism: scram-sha-512, username: petitiond, password_file: `+pw+`}
routes: {default_topic: a, dead_letter_topic: b}
`)
	if errs != nil {
		t.Fatal(errs)
	}
	if cfg.Kafka.SASL.Password != "s3cret" || cfg.Kafka.TLS.ServerName != "kafka.court" || cfg.Kafka.Protocol() != "SASL_SSL" {
		t.Errorf("kafka = %+v / %+v / %s", cfg.Kafka.TLS, cfg.Kafka.SASL, cfg.Kafka.Protocol())
	}
	cfg, errs = parse(t, "kafka:\n  brokers: [k:1]\n  tls: {}\nroutes: {default_topic: a, dead_letter_topic: b}\n")
	if errs != nil || cfg.Kafka.TLS == nil || cfg.Kafka.Protocol() != "SSL" {
		t.Errorf("tls: {} = %v %v", cfg, errs)
	}
}

func TestKafkaSecurityErrors(t *testing.T) {
	_, errs := parse(t, `kafka:
  brokers: ["k1:9096"]
  tls: {cert_file: c.pem}
  sasl: {mechanism: gssapi}
routes: {default_topic: a, dead_letter_topic: b}
`)
	wantErrors(t, errs,
		`petitiond.yaml:3: kafka.tls: set both cert_file and key_file`,
		`petitiond.yaml:4: kafka.sasl.mechanism: unknown mechanism "gssapi" (plain, scram-sha-256, scram-sha-512)`,
		`petitiond.yaml:4: kafka.sasl.username: required`,
		`petitiond.yaml:4: kafka.sasl.password: required (password_file: PATH or password: ${VAR})`)
	_, errs = parse(t, `kafka:
  embedded: {}
  sasl: {mechanism: plain, username: u, password: p}
routes: {default_topic: a, dead_letter_topic: b}
`)
	wantErrors(t, errs, `kafka: tls and sasl apply to brokers, not to the embedded evaluation broker`)
}
