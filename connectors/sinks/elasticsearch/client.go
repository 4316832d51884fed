package elasticsearch

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
)

// NewClient returns an Elasticsearch client for the sink's nodes, with its
// credentials and TLS settings. The client does not retry: the sink and
// the setup decide what to retry, and count it.
func NewClient(c *Config) (*elasticsearch.Client, error) { return newClient(c, nil) }

// newClient is NewClient with the HTTP transport wrapped by wrap, if set.
func newClient(c *Config, wrap func(http.RoundTripper) http.RoundTripper) (*elasticsearch.Client, error) {
	tr, err := transport(c)
	if err != nil {
		return nil, err
	}
	var rt http.RoundTripper = tr
	if wrap != nil {
		rt = wrap(tr)
	}
	cfg := elasticsearch.Config{
		Addresses:           c.URLs,
		Username:            c.Username,
		Transport:           rt,
		DisableRetry:        true,
		CompressRequestBody: c.Compress,
	}
	if c.Password.IsSet() {
		if cfg.Password, err = c.Password.Value(); err != nil {
			return nil, fmt.Errorf("elasticsearch: password: %w", err)
		}
	}
	if c.APIKey.IsSet() {
		if cfg.APIKey, err = c.APIKey.Value(); err != nil {
			return nil, fmt.Errorf("elasticsearch: api_key: %w", err)
		}
	}
	es, err := elasticsearch.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	return es, nil
}

// transport is the HTTP transport to the nodes: TLS as configured, enough
// idle connections for the workers, and a bound on waiting for a response.
func transport(c *Config) (*http.Transport, error) {
	tc, err := TLSConfig(c.TLS)
	if err != nil {
		return nil, err
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   max(4, 2*c.Workers),
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: c.RequestTimeout,
		ForceAttemptHTTP2:     true,
	}, nil
}

// TLSConfig builds the TLS configuration of t.
func TLSConfig(t TLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, for tests
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch: tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("elasticsearch: tls.ca_file %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
