package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/kafka"
	"github.com/vigilsec/vigil/topics"
)

// selfSigned writes a CA-less self-signed certificate for 127.0.0.1 and
// returns the server TLS config and the PEM path clients trust.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vigil test broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, _ := x509.MarshalECPrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, ca
}

func TestTLSAndSASL(t *testing.T) {
	serverTLS, ca := selfSigned(t)
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(serverTLS),
				kfake.EnableSASL(), kfake.Superuser(mech, "vigil", "s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			t.Setenv("VIGIL_TEST_KAFKA_PW", "s3cret")
			k := config.DefaultConfig().Kafka
			k.Brokers = c.ListenAddrs()
			k.TLS = config.TLS{Enabled: true, CAFile: ca}
			k.SASL = config.SASL{Mechanism: mech, Username: "vigil", Password: config.Secret{Env: "VIGIL_TEST_KAFKA_PW"}}
			opts, err := kafka.ClientOptions(k, nil)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(append(opts, kgo.RequestRetries(1))...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			spec := []topics.Spec{{Name: "vigil.alerts", Partitions: 2}, {Name: "vigil.tables.assets", Partitions: 2, Compacted: true}}
			if err := kafka.EnsureTopics(ctx, kadm.NewClient(cl), -1, spec); err != nil {
				t.Fatalf("create topics over TLS+%s: %v", mech, err)
			}
			// Creating again is not an error.
			if err := kafka.EnsureTopics(ctx, kadm.NewClient(cl), -1, spec); err != nil {
				t.Fatalf("create existing topics: %v", err)
			}
			cfgs, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, "vigil.tables.assets")
			if err != nil {
				t.Fatal(err)
			}
			policy := ""
			for _, rc := range cfgs {
				for _, kv := range rc.Configs {
					if kv.Key == "cleanup.policy" && kv.Value != nil {
						policy = *kv.Value
					}
				}
			}
			if policy != "compact" {
				t.Errorf("table topic cleanup.policy = %q, want compact", policy)
			}
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "vigil.alerts", Value: []byte("x")}).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}

			// A wrong password is refused.
			t.Setenv("VIGIL_TEST_KAFKA_PW", "wrong")
			bad, _ := kafka.ClientOptions(k, nil)
			bc, _ := kgo.NewClient(append(bad, kgo.RequestRetries(0))...)
			defer bc.Close()
			pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer pcancel()
			if err := bc.Ping(pctx); err == nil {
				t.Error("a wrong password was accepted")
			}
		})
	}
}

func TestClientOptionsErrors(t *testing.T) {
	k := config.DefaultConfig().Kafka
	if _, err := kafka.ClientOptions(k, nil); err == nil || !strings.Contains(err.Error(), "no seed brokers") {
		t.Errorf("no brokers: %v", err)
	}
	k.Brokers = []string{"127.0.0.1:1"}
	k.TLS = config.TLS{Enabled: true, CAFile: filepath.Join(t.TempDir(), "missing.pem")}
	if _, err := kafka.ClientOptions(k, nil); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("missing CA file: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	_ = os.WriteFile(notPEM, []byte("hello"), 0o600)
	k.TLS.CAFile = notPEM
	if _, err := kafka.ClientOptions(k, nil); err == nil || !strings.Contains(err.Error(), "no PEM certificates") {
		t.Errorf("CA file without certificates: %v", err)
	}
	k.TLS = config.TLS{}
	k.SASL = config.SASL{Mechanism: "SCRAM-SHA-256", Username: "u", Password: config.Secret{Env: "VIGIL_TEST_NOT_SET"}}
	if _, err := kafka.ClientOptions(k, nil); err == nil || !strings.Contains(err.Error(), "VIGIL_TEST_NOT_SET") {
		t.Errorf("unset password: %v", err)
	}
}
