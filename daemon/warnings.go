package daemon

import (
	"log/slog"

	"github.com/court12368/petitiond/config"
)

// warnKafkaSecurity logs, at every start, settings that weaken the
// connection to Kafka, so that they cannot go unnoticed.
func warnKafkaSecurity(kc config.Kafka, log *slog.Logger) {
	if kc.TLS != nil && kc.TLS.InsecureSkipVerify {
		log.Warn("SECURITY: kafka.tls.insecure_skip_verify is on: the broker's certificate is NOT verified; " +
			"anyone on the network path can impersonate the broker, read petitions and the SASL password. Use kafka.tls.ca_file instead")
	}
	if kc.SASL != nil && kc.TLS == nil && kc.SASL.Mechanism == "plain" {
		log.Warn("SECURITY: kafka.sasl mechanism plain without kafka.tls sends the password in clear text; add kafka.tls")
	}
}
