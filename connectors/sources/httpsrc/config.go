package httpsrc

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/topics"
)

// Config configures an HTTP source: one server, any number of endpoints.
type Config struct {
	// Listen is the host:port the server listens on. Default ":9465".
	Listen string `yaml:"listen"`
	// TLS serves HTTPS. Default: plain HTTP (terminate TLS in front of
	// vigil, or set cert_file and key_file).
	TLS TLS `yaml:"tls"`
	// Endpoints maps an endpoint's name to its settings; it is served at
	// POST /ingest/<name>. Required: at least one.
	Endpoints map[string]Endpoint `yaml:"endpoints"`
	// MaxBodyBytes is the largest request body accepted, as sent and
	// after gunzipping; a larger one is refused with 413. Default 10485760
	// (10 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxRecordBytes is the largest event published; larger ones go to the
	// dead-letter topic, cut short. Default 1000000.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// MaxInFlightBytes bounds the bytes of requests being read and of
	// records not yet acknowledged by Kafka, over all requests. A request
	// that would go over it is refused with 429 and Retry-After. At least
	// MaxBodyBytes. Default 67108864 (64 MiB).
	MaxInFlightBytes int64 `yaml:"max_in_flight_bytes"`
	// MaxInFlightRequests bounds the requests being handled at once; more
	// are refused with 429 and Retry-After. Default 256.
	MaxInFlightRequests int `yaml:"max_in_flight_requests"`
	// RequestTimeout bounds how long a request waits for Kafka to
	// acknowledge its records (and how long its body may take to arrive);
	// past it the answer is 503 with Retry-After. Default 30s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// TLS configures the server's certificate and, optionally, client
// certificates (mutual TLS).
type TLS struct {
	// CertFile and KeyFile are the server's PEM certificate (chain) and
	// key. Set both or neither; neither serves plain HTTP.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile is a PEM bundle of CAs: when set, every client must
	// present a certificate one of them signed. Default: none.
	ClientCAFile string `yaml:"client_ca_file"`
}

// Endpoint configures one endpoint, POST /ingest/<name>.
type Endpoint struct {
	// Source names the raw topic (vigil.raw.<source>) and the decoder that
	// reads it: cloudtrail, falco, guardduty, ... Default: the endpoint's
	// name.
	Source string `yaml:"source"`
	// Tokens are the secrets a client may present, each {env: NAME} or
	// {file: /path}: as "Authorization: Bearer <token>", as the password
	// of "Authorization: Basic" (the user name is ignored), or in the
	// APIKeyHeader header. Required unless tls.client_ca_file is set, in
	// which case a client certificate alone authenticates.
	Tokens []config.Secret `yaml:"tokens"`
	// APIKeyHeader names a request header that may carry a token, for
	// senders that put an API key in a header of their own, such as an
	// EventBridge API destination's API_KEY connection ("x-api-key").
	// Default: none.
	APIKeyHeader string `yaml:"api_key_header"`
	// Format is auto, lines, array, records, values or csv (see the file
	// source). Default "auto": detected from the first bytes, which reads
	// a single object, an array of events, JSON lines and CloudTrail log
	// files alike.
	Format string `yaml:"format"`
	// Key lists JSON paths tried in order for the record key, which spreads
	// records over partitions. Default: for cloudtrail recipientAccountId,
	// userIdentity.accountId and account (EventBridge's envelope); for
	// guardduty and macie accountId and account; for falco hostname;
	// otherwise none.
	Key []string `yaml:"key"`
}

// Defaults.
const (
	DefaultListen              = ":9465"
	DefaultMaxBodyBytes        = 10 << 20
	DefaultMaxInFlightBytes    = 64 << 20
	DefaultMaxInFlightRequests = 256
	DefaultRequestTimeout      = 30 * time.Second
)

// DefaultConfig returns a config holding every default; Endpoints is
// empty.
func DefaultConfig() *Config {
	return &Config{
		Listen:              DefaultListen,
		MaxBodyBytes:        DefaultMaxBodyBytes,
		MaxRecordBytes:      framing.DefaultMaxFrame,
		MaxInFlightBytes:    DefaultMaxInFlightBytes,
		MaxInFlightRequests: DefaultMaxInFlightRequests,
		RequestTimeout:      DefaultRequestTimeout,
	}
}

// DefaultKeys are the key paths used when an endpoint's Key is not set.
var DefaultKeys = map[string][]string{
	"cloudtrail": {"recipientAccountId", "userIdentity.accountId", "account"},
	"guardduty":  {"accountId", "account"},
	"macie":      {"accountId", "account"},
	"falco":      {"hostname"},
}

// Validate implements plugin.Validator.
func (c *Config) Validate() []error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("listen must be a host:port"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: set both cert_file and key_file, or neither"))
	}
	if c.TLS.ClientCAFile != "" && c.TLS.CertFile == "" {
		errs = append(errs, errors.New("tls.client_ca_file needs cert_file and key_file: client certificates are checked over TLS"))
	}
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("endpoints must configure at least one endpoint"))
	}
	names := make([]string, 0, len(c.Endpoints))
	for name := range c.Endpoints {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		e := c.Endpoints[name]
		p := "endpoints." + name
		if err := topics.ValidName(name); err != nil {
			errs = append(errs, fmt.Errorf("endpoints: %w", err))
		}
		if e.Source != "" {
			if err := topics.ValidName(e.Source); err != nil {
				errs = append(errs, fmt.Errorf("%s.source: %w", p, err))
			}
		}
		if len(e.Tokens) == 0 && c.TLS.ClientCAFile == "" {
			errs = append(errs, fmt.Errorf("%s.tokens must list at least one token ({env: NAME} or {file: /path}), unless tls.client_ca_file authenticates clients", p))
		}
		for i, t := range e.Tokens {
			switch {
			case !t.IsSet():
				errs = append(errs, fmt.Errorf("%s.tokens[%d] must be {env: NAME} or {file: /path}", p, i))
			case t.Env != "" && t.File != "":
				errs = append(errs, fmt.Errorf("%s.tokens[%d] sets both env and file", p, i))
			}
		}
		if h := e.APIKeyHeader; h != "" {
			if !validHeaderName(h) {
				errs = append(errs, fmt.Errorf("%s.api_key_header %q is not a valid header name", p, h))
			} else if strings.EqualFold(h, "Authorization") {
				errs = append(errs, fmt.Errorf("%s.api_key_header must not be Authorization, which is always read", p))
			}
		}
		if e.Format != "" {
			if _, err := framing.ParseFormat(e.Format); err != nil {
				errs = append(errs, fmt.Errorf("%s.%w", p, err))
			}
		}
	}
	if c.MaxBodyBytes < 1 {
		errs = append(errs, fmt.Errorf("max_body_bytes (%d) must be >= 1", c.MaxBodyBytes))
	}
	if c.MaxInFlightBytes < c.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("max_in_flight_bytes (%d) must be >= max_body_bytes (%d)", c.MaxInFlightBytes, c.MaxBodyBytes))
	}
	if c.MaxInFlightRequests < 1 {
		errs = append(errs, fmt.Errorf("max_in_flight_requests (%d) must be >= 1", c.MaxInFlightRequests))
	}
	if c.MaxRecordBytes < 1 || c.MaxRecordBytes > 100<<20 {
		errs = append(errs, fmt.Errorf("max_record_bytes (%d) must be between 1 and 104857600", c.MaxRecordBytes))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("request_timeout (%s) must be > 0", c.RequestTimeout))
	}
	return errs
}

// validHeaderName reports whether h is an HTTP header name: one or more
// token characters (RFC 9110, section 5.6.2).
func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
