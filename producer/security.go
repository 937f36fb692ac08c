package producer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/court12368/petitiond/config"
)

// Security is the TLS and SASL setup shared by the writer, topic creation
// and the health probe.
type Security struct {
	TLS  *tls.Config
	SASL sasl.Mechanism
	// Protocol is PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; Mechanism the
	// configured SASL mechanism (for error messages).
	Protocol  string
	Mechanism string
	Username  string
}

// NewSecurity reads the CA and client certificate files and builds the SASL
// mechanism of kc.
func NewSecurity(kc config.Kafka) (*Security, error) {
	s := &Security{Protocol: kc.Protocol()}
	if t := kc.TLS; t != nil {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka.tls.ca_file: %s holds no PEM certificate", t.CAFile)
			}
			cfg.RootCAs = pool
		}
		if t.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("kafka.tls.cert_file/key_file: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		s.TLS = cfg
	}
	if sc := kc.SASL; sc != nil {
		s.Mechanism, s.Username = sc.Mechanism, sc.Username
		switch sc.Mechanism {
		case "plain":
			s.SASL = plain.Mechanism{Username: sc.Username, Password: sc.Password}
		case "scram-sha-256", "scram-sha-512":
			algo := scram.SHA256
			if sc.Mechanism == "scram-sha-512" {
				algo = scram.SHA512
			}
			m, err := scram.Mechanism(algo, sc.Username, sc.Password)
			if err != nil {
				// The error may quote the name or password it refused.
				return nil, fmt.Errorf("kafka.sasl: %s cannot use this username or password (SASLprep)", sc.Mechanism)
			}
			s.SASL = m
		default:
			return nil, fmt.Errorf("kafka.sasl.mechanism: unknown mechanism %q", sc.Mechanism)
		}
	}
	return s, nil
}

// Describe turns a connection error into one that says which listener and
// which part of the security setup failed: a wrong password, an unknown
// mechanism, an untrusted certificate, a listener that speaks another
// protocol. Other errors come back unchanged.
func (s *Security) Describe(brokers []string, err error) error {
	if err == nil || s == nil {
		return err
	}
	where := fmt.Sprintf("kafka %s listener %s", s.Protocol, strings.Join(brokers, ","))
	var ke kafka.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafka.SASLAuthenticationFailed:
			return &SecurityError{Msg: fmt.Sprintf("%s: SASL %s authentication failed for user %q (check kafka.sasl.username and the password)", where, s.Mechanism, s.Username), Err: err}
		case kafka.UnsupportedSASLMechanism:
			return &SecurityError{Msg: fmt.Sprintf("%s: the broker does not enable SASL mechanism %s on this listener", where, s.Mechanism), Err: err}
		case kafka.IllegalSASLState:
			return &SecurityError{Msg: fmt.Sprintf("%s: SASL %s exchange refused by the broker", where, s.Mechanism), Err: err}
		}
	}
	var (
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		ci  x509.CertificateInvalidError
		ve  *tls.CertificateVerificationError
		rhe tls.RecordHeaderError
		ae  tls.AlertError
	)
	switch {
	case errors.As(err, &ua), errors.As(err, &ve) && errors.As(ve.Err, &ua):
		return &SecurityError{Msg: fmt.Sprintf("%s: TLS: the broker's certificate is not signed by a trusted CA (kafka.tls.ca_file)", where), Err: err}
	case errors.As(err, &hn):
		return &SecurityError{Msg: fmt.Sprintf("%s: TLS: the broker's certificate is not valid for this host (kafka.tls.server_name)", where), Err: err}
	case errors.As(err, &ci):
		return &SecurityError{Msg: fmt.Sprintf("%s: TLS: the broker's certificate is invalid", where), Err: err}
	case errors.As(err, &ve):
		return &SecurityError{Msg: fmt.Sprintf("%s: TLS: the broker's certificate could not be verified", where), Err: err}
	case errors.As(err, &rhe):
		return &SecurityError{Msg: fmt.Sprintf("%s: TLS: the listener does not speak TLS (is it PLAINTEXT or SASL_PLAINTEXT?)", where), Err: err}
	case errors.As(err, &ae), strings.Contains(err.Error(), "remote error: tls:"):
		return &SecurityError{Msg: fmt.Sprintf("%s: TLS: the broker refused the handshake (a client certificate required? kafka.tls.cert_file)", where), Err: err}
	}
	if s.TLS == nil && isEOF(err) {
		return fmt.Errorf("%s: connection closed by the broker (does the listener expect TLS or SASL?): %w", where, err)
	}
	return err
}

func isEOF(err error) bool {
	var ne *net.OpError
	return err != nil && (strings.HasSuffix(err.Error(), "EOF") || (errors.As(err, &ne) && strings.Contains(ne.Err.Error(), "reset")))
}

// SecurityError is a failure of TLS or SASL: retrying does not help until
// the configuration or the broker changes.
type SecurityError struct {
	Msg string
	Err error
}

func (e *SecurityError) Error() string { return e.Msg + ": " + e.Err.Error() }
func (e *SecurityError) Unwrap() error { return e.Err }
