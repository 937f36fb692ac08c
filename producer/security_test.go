package producer

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/court12368/petitiond/config"
)

func TestNewSecurity(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "ca.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	_, err := NewSecurity(config.Kafka{TLS: &config.KafkaTLS{CAFile: bad}})
	if err == nil || !strings.Contains(err.Error(), "kafka.tls.ca_file") {
		t.Errorf("bad CA file: %v", err)
	}
	for _, m := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		s, err := NewSecurity(config.Kafka{TLS: &config.KafkaTLS{}, SASL: &config.KafkaSASL{Mechanism: m, Username: "u", Password: "p"}})
		if err != nil || s.SASL == nil || s.TLS == nil || s.Protocol != "SASL_SSL" {
			t.Errorf("%s: %+v %v", m, s, err)
		}
	}
}

func TestDescribeNamesListenerAndMechanism(t *testing.T) {
	s, _ := NewSecurity(config.Kafka{TLS: &config.KafkaTLS{}, SASL: &config.KafkaSASL{Mechanism: "scram-sha-512", Username: "petitiond", Password: "hunter2"}})
	err := s.Describe([]string{"k1:9096"}, fmt.Errorf("kafka.(*Client).Metadata: %w", kafka.SASLAuthenticationFailed))
	var se *SecurityError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `kafka SASL_SSL listener k1:9096: SASL scram-sha-512 authentication failed for user "petitiond"`) {
		t.Errorf("Describe = %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the password is in the error")
	}
	err = s.Describe([]string{"k1:9096"}, fmt.Errorf("x: %w", x509.UnknownAuthorityError{}))
	if !strings.Contains(err.Error(), "not signed by a trusted CA") {
		t.Errorf("Describe(unknown authority) = %v", err)
	}
	plain := errors.New("dial tcp: connection refused")
	if got := s.Describe([]string{"k1:9096"}, plain); got != plain {
		t.Errorf("Describe changed an unrelated error: %v", got)
	}
}
