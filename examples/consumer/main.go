// Command consumer is a reference consumer of petitiond's topics: it reads
// them in a consumer group, deduplicates by petition id and prints a line
// per new petition or dead letter, without personal data. See README.md.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/court12368/petitiond/examples/consumer/consume"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated Kafka bootstrap brokers")
	group := flag.String("group", "petition-example", "consumer group id")
	topics := flag.String("topics", "petitions.intake,petitions.priority,petitions.deadletter", "comma-separated topics to read")
	dedupeFile := flag.String("dedupe-file", "", "append-only file of handled ids, so a restart still recognises them (empty: memory only)")
	dedupeSize := flag.Int("dedupe-size", 100_000, "how many recent ids are remembered (about 150 bytes of memory each)")
	verbose := flag.Bool("v", false, "log duplicates too")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(*brokers, *group, *topics, *dedupeFile, *dedupeSize, log); err != nil {
		log.Error("consumer stopped", "err", err)
		os.Exit(1)
	}
}

func run(brokers, group, topics, dedupeFile string, dedupeSize int, log *slog.Logger) error {
	dialer, err := dialerFromEnv()
	if err != nil {
		return err
	}
	seen := consume.NewDedupe(dedupeSize)
	if dedupeFile != "" {
		if seen, err = consume.OpenDedupe(dedupeFile, dedupeSize); err != nil {
			return err
		}
	}
	defer seen.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("consuming", "brokers", brokers, "group", group, "topics", topics, "remembered_ids", seen.Len())
	return consume.Run(ctx, consume.Config{
		Brokers: split(brokers),
		GroupID: group,
		Topics:  split(topics),
		Dialer:  dialer,
		Dedupe:  seen,
		Log:     log,
		// The handler of a real consumer writes to the downstream system
		// with an upsert keyed by the petition id; this one prints.
		Handler: func(_ context.Context, r consume.Record) error {
			_, err := fmt.Println(consume.Summary(r))
			return err
		},
	})
}

// dialerFromEnv builds the connection settings from the environment:
//
//	KAFKA_TLS=1                  use TLS (system roots)
//	KAFKA_TLS_CA_FILE=ca.pem     use TLS, trusting this CA
//	KAFKA_SASL_MECHANISM         PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
//	KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD
func dialerFromEnv() (*kafka.Dialer, error) {
	d := &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true}
	if ca := os.Getenv("KAFKA_TLS_CA_FILE"); ca != "" || os.Getenv("KAFKA_TLS") == "1" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return nil, err
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("KAFKA_TLS_CA_FILE %s holds no PEM certificate", ca)
			}
		}
		d.TLS = cfg
	}
	user, pass := os.Getenv("KAFKA_SASL_USERNAME"), os.Getenv("KAFKA_SASL_PASSWORD")
	var m sasl.Mechanism
	var err error
	switch mech := strings.ToUpper(os.Getenv("KAFKA_SASL_MECHANISM")); mech {
	case "":
	case "PLAIN":
		m = plain.Mechanism{Username: user, Password: pass}
	case "SCRAM-SHA-256":
		m, err = scram.Mechanism(scram.SHA256, user, pass)
	case "SCRAM-SHA-512":
		m, err = scram.Mechanism(scram.SHA512, user, pass)
	default:
		err = errors.New("KAFKA_SASL_MECHANISM: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	}
	if err != nil {
		return nil, err
	}
	d.SASLMechanism = m
	return d, nil
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
