// Package kafka turns vigil's Kafka configuration into franz-go client
// options and creates the topics vigil needs.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/topics"
)

// ClientOptions returns the options every vigil client shares: seed brokers,
// client id, TLS and SASL. seeds overrides k.Brokers (the embedded broker's
// address).
func ClientOptions(k config.Kafka, seeds []string) ([]kgo.Opt, error) {
	if len(seeds) == 0 {
		seeds = k.Brokers
	}
	if len(seeds) == 0 {
		return nil, errors.New("kafka: no seed brokers")
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ClientID(k.ClientID),
		kgo.DialTimeout(k.DialTimeout),
	}
	if k.TLS.Enabled {
		tc, err := TLSConfig(k.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if k.SASL.Mechanism != "" {
		pass, err := k.SASL.Password.Value()
		if err != nil {
			return nil, fmt.Errorf("kafka: sasl password: %w", err)
		}
		switch k.SASL.Mechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: k.SASL.Username, Pass: pass}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: k.SASL.Username, Pass: pass}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: k.SASL.Username, Pass: pass}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("kafka: unknown SASL mechanism %q", k.SASL.Mechanism)
		}
	}
	return opts, nil
}

// TLSConfig builds a client TLS config from files.
func TLSConfig(t config.TLS) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // an explicit, documented test-only option
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: tls ca_file %s holds no PEM certificates", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// EnsureTopics creates the topics that do not exist yet. Topics that exist
// are left as they are, whatever their partition count.
func EnsureTopics(ctx context.Context, adm *kadm.Client, replication int16, specs []topics.Spec) error {
	var errs []error
	for _, s := range Dedupe(specs) {
		var cfg map[string]*string
		if s.Compacted {
			compact := "compact"
			cfg = map[string]*string{"cleanup.policy": &compact}
		}
		resp, err := adm.CreateTopic(ctx, s.Partitions, replication, cfg, s.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Dedupe returns specs without the repeats of a name (the first stays),
// in order.
func Dedupe(specs []topics.Spec) []topics.Spec {
	seen := map[string]bool{}
	var out []topics.Spec
	for _, s := range specs {
		if !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s)
		}
	}
	return out
}
