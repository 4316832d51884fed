// Package elasticsearch is the sink that indexes vigil's events, alerts and
// remediation results into Elasticsearch data streams, one per dataset
// (logs-aws.cloudtrail-vigil, logs-vigil.alerts-vigil, ...), and the setup
// that prepares a cluster for them: index and component templates with ECS
// mappings derived from vigil's JSON schemas, and an ILM policy.
//
// The sink is a stream app with its own consumer group. Each batch it polls
// goes to Elasticsearch through esutil.BulkIndexer as create operations
// with deterministic ids (event.id, the alert id, the remediation request
// id), and its offsets commit only once every document of the batch is
// acknowledged. A replay therefore never duplicates a document: one that
// is already there comes back as a 409 conflict, which counts as indexed.
//
// Failures are sorted by who can fix them:
//   - Elasticsearch unreachable, a whole bulk request failing (429, 5xx) or
//     a document refused for load (429): the sink keeps the batch and
//     retries with backoff until Elasticsearch takes it, reading nothing
//     more meanwhile, so nothing is lost and nothing piles up in memory.
//   - A document Elasticsearch rejects (a mapping conflict, 400): it goes to
//     the dead-letter topic with the reason, and the batch carries on.
//   - A document failing with a 5xx of its own MaxItemRetries times in a
//     row is dead-lettered too, so that one bad document cannot stall the
//     sink forever.
package elasticsearch

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/connectors/sinks"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// Config configures an Elasticsearch sink. `vigil es setup` reads the same
// settings to install the templates that match.
type Config struct {
	sinks.Common `yaml:",inline"`
	// URLs are the Elasticsearch nodes, each with its scheme and any path
	// prefix (https://es-1.example.net:9200). Default
	// ["http://localhost:9200"].
	URLs []string `yaml:"urls"`
	// Username and Password authenticate with HTTP basic auth. Default:
	// none.
	Username string        `yaml:"username"`
	Password config.Secret `yaml:"password"`
	// APIKey is an Elasticsearch API key in its encoded form (the "encoded"
	// value the create API key call returns). It takes precedence over
	// Username and Password. Default: none.
	APIKey config.Secret `yaml:"api_key"`
	// TLS configures https URLs.
	TLS TLS `yaml:"tls"`
	// Index names the data stream of each document: {dataset} becomes its
	// event.dataset and {namespace} Namespace. Default
	// "logs-{dataset}-{namespace}", Elastic's data stream naming scheme.
	Index string `yaml:"index"`
	// Namespace separates environments sharing a cluster. Default "vigil".
	Namespace string `yaml:"namespace"`
	// Workers is the number of bulk requests in flight. Default 2.
	Workers int `yaml:"workers"`
	// FlushBytes is the size at which a bulk request is sent. Default
	// 5000000.
	FlushBytes int `yaml:"flush_bytes"`
	// BatchRecords bounds the records of one batch: offsets commit after
	// each batch. Default 10000.
	BatchRecords int `yaml:"batch_records"`
	// RequestTimeout bounds one bulk request. Default 60s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// RetryBackoff is the first wait before sending failed documents
	// again; it doubles up to MaxRetryBackoff. Defaults 200ms and 30s.
	RetryBackoff    time.Duration `yaml:"retry_backoff"`
	MaxRetryBackoff time.Duration `yaml:"max_retry_backoff"`
	// MaxItemRetries is how many times a document that fails on its own
	// with a server error (5xx) is sent before it is dead-lettered. Load
	// shedding (429) and unreachable or failing clusters are retried
	// without limit. Default 10.
	MaxItemRetries int `yaml:"max_item_retries"`
	// Compress gzips bulk requests. Default false.
	Compress bool `yaml:"compress"`
	// ILM is the index lifecycle policy `vigil es setup` installs.
	ILM ILM `yaml:"ilm"`
}

// TLS configures TLS to Elasticsearch.
type TLS struct {
	// CAFile is a PEM bundle of CAs to trust. Default: the system pool.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and key, for
	// mutual TLS. Default: none.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	// Default: the URL's host.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables certificate checks. Default false; for
	// tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// ILM configures the index lifecycle policy of vigil's data streams.
type ILM struct {
	// RolloverMaxAge and RolloverMaxPrimaryShardSize start a new backing
	// index when the current one is this old or its largest primary shard
	// this big. Defaults "30d" and "50gb", as Elastic's logs policy.
	RolloverMaxAge              string `yaml:"rollover_max_age"`
	RolloverMaxPrimaryShardSize string `yaml:"rollover_max_primary_shard_size"`
	// DeleteAfter deletes a backing index this long after its rollover.
	// Empty keeps data forever. Default "90d".
	DeleteAfter string `yaml:"delete_after"`
}

// DefaultConfig returns the sink's defaults.
func DefaultConfig() *Config {
	var topics []string
	for _, d := range Datasets {
		topics = append(topics, d.Topic)
	}
	return &Config{
		Common:          sinks.Common{Topics: topics, Guarantee: "at_least_once"},
		URLs:            []string{"http://localhost:9200"},
		Index:           "logs-{dataset}-{namespace}",
		Namespace:       "vigil",
		Workers:         2,
		FlushBytes:      5_000_000,
		BatchRecords:    10000,
		RequestTimeout:  60 * time.Second,
		RetryBackoff:    200 * time.Millisecond,
		MaxRetryBackoff: 30 * time.Second,
		MaxItemRetries:  10,
		ILM:             ILM{RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb", DeleteAfter: "90d"},
	}
}

var (
	namespaceRE = regexp.MustCompile(`^[a-z0-9_.]{1,100}$`)
	datasetRE   = regexp.MustCompile(`^[a-z0-9_.]{1,100}$`)
	timeUnitRE  = regexp.MustCompile(`^[0-9]+(d|h|m|s|ms|micros|nanos)$`)
	byteSizeRE  = regexp.MustCompile(`^[0-9]+(b|kb|mb|gb|tb|pb)$`)
)

// Validate implements plugin.Validator.
func (c *Config) Validate() []error {
	errs := c.Common.Validate()
	if len(c.URLs) == 0 {
		errs = append(errs, errors.New("urls must list at least one Elasticsearch node"))
	}
	for _, u := range c.URLs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("urls: %q must be an http:// or https:// URL", u))
		}
	}
	if c.APIKey.IsSet() && (c.Username != "" || c.Password.IsSet()) {
		errs = append(errs, errors.New("set api_key or username and password, not both"))
	}
	if c.Password.IsSet() && c.Username == "" {
		errs = append(errs, errors.New("password needs a username"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: set both cert_file and key_file, or neither"))
	}
	if !strings.Contains(c.Index, "{dataset}") {
		errs = append(errs, fmt.Errorf("index %q must contain {dataset}: every dataset has a data stream of its own", c.Index))
	} else if n := IndexName(c.Index, "aws.cloudtrail", c.Namespace); n != strings.ToLower(n) || strings.ContainsAny(n, `\/*?"<>| ,#:`) || strings.HasPrefix(n, "-") || strings.HasPrefix(n, "_") || strings.HasPrefix(n, ".") {
		errs = append(errs, fmt.Errorf("index %q gives %q, which is not a valid data stream name (lowercase, none of \\/*?\"<>| ,#:, not starting with -, _ or .)", c.Index, n))
	}
	if strings.Contains(c.Index, "{namespace}") && !namespaceRE.MatchString(c.Namespace) {
		errs = append(errs, fmt.Errorf("namespace %q must be 1 to 100 of a-z, 0-9, '_' and '.'", c.Namespace))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers (%d) must be >= 1", c.Workers))
	}
	if c.FlushBytes < 1024 {
		errs = append(errs, fmt.Errorf("flush_bytes (%d) must be >= 1024", c.FlushBytes))
	}
	if c.BatchRecords < 1 {
		errs = append(errs, fmt.Errorf("batch_records (%d) must be >= 1", c.BatchRecords))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("request_timeout (%s) must be > 0", c.RequestTimeout))
	}
	if c.RetryBackoff <= 0 || c.MaxRetryBackoff < c.RetryBackoff {
		errs = append(errs, fmt.Errorf("retry_backoff (%s) must be > 0 and max_retry_backoff (%s) >= retry_backoff", c.RetryBackoff, c.MaxRetryBackoff))
	}
	if c.MaxItemRetries < 1 {
		errs = append(errs, fmt.Errorf("max_item_retries (%d) must be >= 1", c.MaxItemRetries))
	}
	if !timeUnitRE.MatchString(c.ILM.RolloverMaxAge) {
		errs = append(errs, fmt.Errorf("ilm.rollover_max_age %q must be an Elasticsearch time value such as 30d or 12h", c.ILM.RolloverMaxAge))
	}
	if !byteSizeRE.MatchString(c.ILM.RolloverMaxPrimaryShardSize) {
		errs = append(errs, fmt.Errorf("ilm.rollover_max_primary_shard_size %q must be an Elasticsearch byte size such as 50gb", c.ILM.RolloverMaxPrimaryShardSize))
	}
	if c.ILM.DeleteAfter != "" && !timeUnitRE.MatchString(c.ILM.DeleteAfter) {
		errs = append(errs, fmt.Errorf("ilm.delete_after %q must be empty or an Elasticsearch time value such as 90d", c.ILM.DeleteAfter))
	}
	return errs
}

// IndexName returns the data stream of dataset under the index pattern.
func IndexName(pattern, dataset, namespace string) string {
	return strings.NewReplacer("{dataset}", dataset, "{namespace}", namespace).Replace(pattern)
}

func init() {
	plugin.Register(plugin.Spec{
		Kind:    plugin.Sink,
		Name:    "elasticsearch",
		Summary: "indexes events, alerts and remediation results into Elasticsearch data streams",
		Config:  func() any { return DefaultConfig() },
		New: func(cfg any, d plugin.Deps) (plugin.Component, error) {
			return New(cfg.(*Config), d)
		},
	})
}

// Sink is a running Elasticsearch sink.
type Sink struct {
	*streams.Runner
	ix   *Indexer
	decl []topics.Spec
}

// New builds a sink from its config. It does no I/O; Run connects.
func New(c *Config, d plugin.Deps) (*Sink, error) {
	g, err := streams.ParseGuarantee(c.Guarantee)
	if err != nil {
		return nil, err
	}
	ix, err := NewIndexer(c, d)
	if err != nil {
		return nil, err
	}
	inputs, decl, err := sinks.Inputs(c.Topics, d)
	if err != nil {
		return nil, err
	}
	app := d.App(streams.App{Inputs: inputs, Processor: ix, Guarantee: g})
	app.MaxPollRecords = c.BatchRecords
	r, err := streams.New(app)
	if err != nil {
		return nil, err
	}
	return &Sink{Runner: r, ix: ix, decl: decl}, nil
}

// Topics implements plugin.TopicDeclarer.
func (s *Sink) Topics() []topics.Spec { return s.decl }

// Ready reports whether the sink consumes and Elasticsearch takes its
// documents.
func (s *Sink) Ready() bool { return s.Runner.Ready() && s.ix.Up() }

// Run indexes until ctx is done.
func (s *Sink) Run(ctx context.Context) error {
	if err := s.ix.Start(); err != nil {
		return err
	}
	defer s.ix.Close()
	return s.Runner.Run(ctx)
}
