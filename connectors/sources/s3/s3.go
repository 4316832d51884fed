package s3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/connectors/sources/ingest"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/topics"
)

// Modes of finding objects.
const (
	ModePoll = "poll"
	ModeSQS  = "sqs"
)

// SinceLayout is the format of Config.Since.
const SinceLayout = "2006-01-02"

// Config configures an S3 source.
type Config struct {
	// Source names the raw topic (vigil.raw.<source>) and the decoder that
	// reads it: cloudtrail, vpcflow, guardduty, macie, ... Required.
	Source string `yaml:"source"`
	// Mode is poll (list the bucket every PollInterval) or sqs (read S3
	// event notifications from QueueURL). Default "poll".
	Mode string `yaml:"mode"`
	// Bucket is the bucket to read. Required in poll mode; in sqs mode the
	// notices name the buckets.
	Bucket string `yaml:"bucket"`
	// Prefix limits poll mode to keys that begin with it, such as the
	// trail's prefix ("my-trail/AWSLogs/") or one account's logs. Default
	// "": the whole bucket.
	Prefix string `yaml:"prefix"`
	// Since, a date (2006-01-02), publishes only objects of that day and
	// later: by the date in the key under AWS's log layout, else by the
	// last-modified time. Default "": every object.
	Since string `yaml:"since"`
	// Region is the bucket's region. Default: the AWS SDK's (AWS_REGION,
	// the profile), else us-east-1.
	Region string `yaml:"region"`
	// Endpoint is the URL of an S3-compatible service (MinIO, versitygw),
	// addressed path-style. Default "": AWS.
	Endpoint string `yaml:"endpoint"`
	// AccessKeyID and SecretAccessKey are static credentials; set both or
	// neither. Default: the AWS SDK's default chain (environment, profile,
	// web identity, container and instance roles).
	AccessKeyID     config.Secret `yaml:"access_key_id"`
	SecretAccessKey config.Secret `yaml:"secret_access_key"`
	// PollInterval is how long poll mode waits between listings. Default 1m.
	PollInterval time.Duration `yaml:"poll_interval"`
	// QueueURL is the SQS queue that receives the bucket's event
	// notifications (directly, or through SNS or EventBridge). Required in
	// sqs mode.
	QueueURL string `yaml:"queue_url"`
	// VisibilityTimeout is how long a received notice stays hidden from
	// other consumers; it is extended while a large object is read.
	// Default 5m.
	VisibilityTimeout time.Duration `yaml:"visibility_timeout"`
	// Roles maps an AWS account id to the ARN of a role to assume to read
	// that account's objects (cross-account reading); the account of an
	// object is the one in its key (AWSLogs/<account>/...). Default: none,
	// every object is read with the source's own credentials.
	Roles map[string]string `yaml:"roles"`
	// ExternalID is sent when assuming Roles. Default "": none.
	ExternalID string `yaml:"external_id"`
	// Format is auto, lines, array, records, values or csv (see the file
	// source). Default "auto".
	Format string `yaml:"format"`
	// Key lists JSON paths tried in order for the record key. Default: the
	// account in the object's key (AWSLogs/<account>/..., which for
	// CloudTrail is every event's recipientAccountId); for objects outside
	// that layout, for cloudtrail, recipientAccountId,
	// userIdentity.accountId and account.
	Key []string `yaml:"key"`
	// MaxRecordBytes is the largest event published; larger ones go to the
	// dead-letter topic. Default 1000000.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// HeaderLine treats each object's first line as a header naming its
	// fields (see the file source). Default: true for CSV objects and for
	// source vpcflow, false otherwise.
	HeaderLine *bool `yaml:"header_line"`
	// CommitRecords is the most records one Kafka transaction holds: a
	// large object is published in several, each committing how far the
	// object is done. Default 100000: a commit stalls producing while it
	// waits for the broker, and small records (VPC flow lines) come by the
	// million a second in a backfill. Transactions also end at
	// CommitBytes, and after a quarter of the transaction timeout.
	CommitRecords int `yaml:"commit_records"`
	// CommitBytes ends a transaction once its records' values add up to
	// this many bytes, which bounds what the source holds until it
	// commits (the records themselves take about as much again, more for
	// small records). Default 16777216 (16 MiB).
	CommitBytes int `yaml:"commit_bytes"`
	// FetchAhead is how many objects poll mode fetches and reads ahead of
	// the one it publishes (in key order, still): it hides each object's
	// request latency, and keeps the cores busy. Each holds up to a few
	// megabytes of read-ahead. Default 4.
	FetchAhead int `yaml:"fetch_ahead"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Mode:              ModePoll,
		PollInterval:      time.Minute,
		VisibilityTimeout: 5 * time.Minute,
		Format:            "auto",
		MaxRecordBytes:    framing.DefaultMaxFrame,
		CommitRecords:     100000,
		CommitBytes:       16 << 20,
		FetchAhead:        4,
	}
}

var (
	accountRe = regexp.MustCompile(`^[0-9]{12}$`)
	roleARNRe = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	bucketRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// Validate implements plugin.Validator.
func (c *Config) Validate() []error {
	var errs []error
	if c.Source == "" {
		errs = append(errs, errors.New("source must name the source (cloudtrail, vpcflow, guardduty, ...)"))
	} else if err := topics.ValidName(c.Source); err != nil {
		errs = append(errs, fmt.Errorf("source: %w", err))
	}
	switch c.Mode {
	case ModePoll:
		if c.Bucket == "" {
			errs = append(errs, errors.New("bucket is required in poll mode"))
		}
		if c.PollInterval <= 0 {
			errs = append(errs, fmt.Errorf("poll_interval (%s) must be > 0", c.PollInterval))
		}
	case ModeSQS:
		if c.QueueURL == "" {
			errs = append(errs, errors.New("queue_url is required in sqs mode"))
		} else if u, err := url.Parse(c.QueueURL); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("queue_url %q must be a URL", c.QueueURL))
		}
		if c.VisibilityTimeout < time.Second || c.VisibilityTimeout > 12*time.Hour {
			errs = append(errs, fmt.Errorf("visibility_timeout (%s) must be between 1s and 12h", c.VisibilityTimeout))
		}
	default:
		errs = append(errs, fmt.Errorf("mode %q must be poll or sqs", c.Mode))
	}
	if c.Bucket != "" && !bucketRe.MatchString(c.Bucket) {
		errs = append(errs, fmt.Errorf("bucket %q is not a bucket name", c.Bucket))
	}
	if c.Since != "" {
		if _, err := time.Parse(SinceLayout, c.Since); err != nil {
			errs = append(errs, fmt.Errorf("since %q must be a date such as 2026-01-31", c.Since))
		}
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("endpoint %q must be an http or https URL", c.Endpoint))
		}
	}
	if c.AccessKeyID.IsSet() != c.SecretAccessKey.IsSet() {
		errs = append(errs, errors.New("access_key_id and secret_access_key: set both or neither"))
	}
	accounts := make([]string, 0, len(c.Roles))
	for a := range c.Roles {
		accounts = append(accounts, a)
	}
	sort.Strings(accounts)
	for _, a := range accounts {
		if !accountRe.MatchString(a) {
			errs = append(errs, fmt.Errorf("roles: %q is not an AWS account id (12 digits)", a))
		}
		if arn := c.Roles[a]; !roleARNRe.MatchString(arn) {
			errs = append(errs, fmt.Errorf("roles: %s: %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", a, arn))
		}
	}
	if c.ExternalID != "" && len(c.Roles) == 0 {
		errs = append(errs, errors.New("external_id is set but roles is empty"))
	}
	if _, err := framing.ParseFormat(c.Format); err != nil {
		errs = append(errs, err)
	}
	if c.MaxRecordBytes < 1 || c.MaxRecordBytes > 100<<20 {
		errs = append(errs, fmt.Errorf("max_record_bytes (%d) must be between 1 and 104857600", c.MaxRecordBytes))
	}
	if c.CommitRecords < 1 {
		errs = append(errs, fmt.Errorf("commit_records (%d) must be >= 1", c.CommitRecords))
	}
	if c.CommitBytes < 1 {
		errs = append(errs, fmt.Errorf("commit_bytes (%d) must be >= 1", c.CommitBytes))
	}
	if c.FetchAhead < 1 || c.FetchAhead > 64 {
		errs = append(errs, fmt.Errorf("fetch_ahead (%d) must be between 1 and 64", c.FetchAhead))
	}
	return errs
}

// DefaultKeys are the key paths used when Key is not set.
var DefaultKeys = map[string][]string{
	"cloudtrail": {"recipientAccountId", "userIdentity.accountId", "account"},
}

func init() {
	plugin.Register(plugin.Spec{
		Kind:    plugin.Source,
		Name:    "s3",
		Summary: "publishes events from S3 objects, polling a bucket or on SQS notices (CloudTrail, VPC Flow Logs, GuardDuty; gzip too)",
		Config:  func() any { c := DefaultConfig(); return &c },
		New: func(cfg any, d plugin.Deps) (plugin.Component, error) {
			return New(*cfg.(*Config), d)
		},
	})
}

// Hooks that sqs.go and sts.go set from init, so that each mode and feature
// lives in a file of its own.
var (
	// runSQS runs sqs mode until ctx is done.
	runSQS func(ctx context.Context, s *Source) error
	// newAssumer returns the function that assumes cfg.Roles for an
	// account, given the source's AWS configuration.
	newAssumer func(s *Source, base aws.Config) func(ctx context.Context, account string) (aws.CredentialsProvider, error)
)

// Source is a running S3 source. Its methods are for one goroutine, except
// Stats and Ready.
type Source struct {
	cfg      Config
	deps     plugin.Deps
	log      *slog.Logger
	topic    string
	format   framing.Format
	keys     []string
	since    time.Time // zero: no limit
	services map[string]bool
	metrics  *ingest.Metrics
	ready    atomic.Bool
	stats    stats

	// aws is the SDK configuration the clients are made from, set by
	// setup.
	aws  aws.Config
	base *s3.Client
	// assume returns credentials for reading an account's objects, or
	// nil for the source's own; nil means no roles. sts.go sets it.
	assume  func(ctx context.Context, account string) (aws.CredentialsProvider, error)
	mu      sync.Mutex
	clients map[string]*s3.Client
}

// New returns an S3 source. It does no I/O.
func New(c Config, d plugin.Deps) (*Source, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	f, _ := framing.ParseFormat(c.Format)
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	keys := c.Key
	if len(keys) == 0 {
		keys = DefaultKeys[c.Source]
	}
	s := &Source{
		cfg: c, deps: d, log: d.Logger, topic: d.Topics.Raw(c.Source), format: f, keys: keys,
		services: Services(c.Source),
		metrics:  ingest.NewMetrics(d.Registerer),
		clients:  map[string]*s3.Client{},
	}
	if c.Since != "" {
		s.since, _ = time.Parse(SinceLayout, c.Since)
	}
	return s, nil
}

// Config returns the source's configuration.
func (s *Source) Config() Config { return s.cfg }

// Topics implements plugin.TopicDeclarer.
func (s *Source) Topics() []topics.Spec {
	return []topics.Spec{
		{Name: s.topic, Partitions: s.deps.Partitions},
		{Name: s.deps.Topics.DLQ(), Partitions: s.deps.Partitions},
		ingest.ProgressTopic(s.deps.Topics),
	}
}

// Ready implements plugin.Readier.
func (s *Source) Ready() bool { return s.ready.Load() }

// Run publishes objects until ctx is done, then returns nil. A Kafka error
// other than a fencing (another process took the source over) does not
// stop it: the open transaction is aborted, and a new writer goes on from
// the committed progress (ingest.KeepGoing).
func (s *Source) Run(ctx context.Context) error {
	if err := s.setup(ctx); err != nil {
		return err
	}
	if s.cfg.Mode == ModeSQS {
		if runSQS == nil {
			return errors.New("s3 source: sqs mode is not built into this binary")
		}
		return runSQS(ctx, s)
	}
	return ingest.KeepGoing(ctx, ingest.FromDeps(s.deps), ingest.Forever, &s.ready, s.runPoll)
}

// setup makes the AWS configuration and the base client.
func (s *Source) setup(ctx context.Context) error {
	if s.base != nil {
		return nil
	}
	var opts []func(*awsconfig.LoadOptions) error
	if s.cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(s.cfg.Region))
	}
	if s.cfg.AccessKeyID.IsSet() {
		id, err := s.cfg.AccessKeyID.Value()
		if err != nil {
			return fmt.Errorf("s3 source: access_key_id: %w", err)
		}
		secret, err := s.cfg.SecretAccessKey.Value()
		if err != nil {
			return fmt.Errorf("s3 source: secret_access_key: %w", err)
		}
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, "")))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("s3 source: AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	s.aws = cfg
	s.base = s.newClient(cfg.Credentials)
	if len(s.cfg.Roles) > 0 {
		if newAssumer == nil {
			return errors.New("s3 source: roles: assuming roles is not built into this binary")
		}
		s.assume = newAssumer(s, cfg)
	}
	return nil
}

// newClient returns an S3 client with the source's settings and creds.
func (s *Source) newClient(creds aws.CredentialsProvider) *s3.Client {
	return s3.NewFromConfig(s.aws, func(o *s3.Options) {
		o.Credentials = creds
		// Objects uploaded without a checksum (most log deliveries) are
		// not worth a debug line each.
		o.DisableLogOutputChecksumValidationSkipped = true
		if s.cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.cfg.Endpoint)
			o.UsePathStyle = true
		}
	})
}

// clientFor returns the client that reads the objects of an account (the
// one in their key, "" when unknown): the base client, or one with the
// credentials of the role configured for the account.
func (s *Source) clientFor(ctx context.Context, account string) (*s3.Client, error) {
	if s.base == nil {
		if err := s.setup(ctx); err != nil {
			return nil, err
		}
	}
	if s.assume == nil || account == "" {
		return s.base, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cl, ok := s.clients[account]; ok {
		return cl, nil
	}
	creds, err := s.assume(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("s3 source: credentials for account %s: %w", account, err)
	}
	cl := s.base
	if creds != nil {
		if _, cached := creds.(*aws.CredentialsCache); !cached {
			creds = aws.NewCredentialsCache(creds)
		}
		cl = s.newClient(creds)
	}
	s.clients[account] = cl
	return cl, nil
}

// Services returns the log layout's service folders that the source reads
// (AWSLogs/<account>/<service>/...): for cloudtrail CloudTrail and
// CloudTrail-Insight, for vpcflow vpcflowlogs, for guardduty GuardDuty; nil
// (every one but CloudTrail-Digest) for other sources.
func Services(source string) map[string]bool {
	switch source {
	case "cloudtrail":
		return map[string]bool{"CloudTrail": true, "CloudTrail-Insight": true}
	case "vpcflow":
		return map[string]bool{"vpcflowlogs": true}
	case "guardduty":
		return map[string]bool{"GuardDuty": true}
	}
	return nil
}

// Stats are counts of a source's work since it started, for progress
// displays.
type Stats struct {
	// ObjectsFound and BytesFound count the objects listed to publish and
	// their stored size.
	ObjectsFound, BytesFound int64
	// ObjectsDone and BytesDone count the objects published.
	ObjectsDone, BytesDone int64
	// Records counts the records committed.
	Records int64
	// Failed counts objects and prefixes that could not be read or listed
	// (they are tried again at the next poll).
	Failed int64
	// Listing reports whether a listing is under way.
	Listing bool
}

type stats struct {
	objectsFound, bytesFound, objectsDone, bytesDone, records, failed atomic.Int64
	listing                                                           atomic.Bool
}

// Stats returns the source's counts. It is safe to call at any time.
func (s *Source) Stats() Stats {
	return Stats{
		ObjectsFound: s.stats.objectsFound.Load(), BytesFound: s.stats.bytesFound.Load(),
		ObjectsDone: s.stats.objectsDone.Load(), BytesDone: s.stats.bytesDone.Load(),
		Records: s.stats.records.Load(), Failed: s.stats.failed.Load(),
		Listing: s.stats.listing.Load(),
	}
}
