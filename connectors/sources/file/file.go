// Package file is a source that publishes events from local files to
// vigil.raw.<source>, one record per event, exactly once.
//
// Files are JSON lines, JSON arrays (Prowler's output), CloudTrail log
// files, concatenated JSON values or CSV, plain or gzip-compressed (see
// package framing). Each record carries provenance headers: the source, its
// origin (path:line, path:[i] or path:Records[i]) and the ingest time.
// Records are published as read, valid or not; the normalize app reports
// what it cannot parse. Only what cannot be delimited (a value cut off at
// the end of a file, an event over the size limit) goes straight to the
// dead-letter topic.
//
// # Progress
//
// How far each file has been read is committed to the progress topic in
// the same Kafka transaction as the records read (see package ingest), per
// file identity (device and inode, with the path it was read under): the
// byte offset of the next unread record, its line number, and for gzip
// files, whose compressed stream cannot be entered in the middle, the
// number of records taken. A source that stops, crashes or is replaced
// resumes every file where the last committed transaction left it, so a
// record is neither lost nor published twice. A second one-shot run over
// unchanged files publishes nothing.
//
// # Following
//
// By default the source reads the files that match once and its Run
// returns. With Follow it keeps going: it looks for new files every
// PollInterval, reads what is appended to plain files (complete lines only:
// a partial last line waits for its end), follows a file renamed by
// rotation to its end (under its new name if it still matches, through the
// handle kept open otherwise) while the new file at the path is read from
// its start, and starts over when a file shrinks below what was read
// (truncation) or its first kilobyte changed (rewritten in place). A gzip
// file is read once, when it has not changed for a PollInterval. The
// records of a file renamed away from the patterns keep the path it was
// read under in their origin.
package file

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/connectors/sources/ingest"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/topics"
)

// Config configures a file source.
type Config struct {
	// Source names the raw topic (vigil.raw.<source>) and the decoder that
	// reads it. Required.
	Source string `yaml:"source"`
	// Paths are files or glob patterns, read in sorted order. A path
	// element "**" matches any number of directories. Required.
	Paths []string `yaml:"paths"`
	// Format is auto, lines, array, records, values or csv. Default
	// "auto": csv for files named *.csv or *.csv.gz, otherwise detected
	// from the first bytes.
	Format string `yaml:"format"`
	// Key lists JSON paths tried in order for the record key, which spreads
	// records over partitions. Default: for cloudtrail, recipientAccountId,
	// userIdentity.accountId and account; otherwise none.
	Key []string `yaml:"key"`
	// MaxRecordBytes is the largest event published; larger ones go to the
	// dead-letter topic. Default 1000000.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// HeaderLine treats each file's first line as a header naming its
	// fields: it goes with every record of the file as the
	// vigil-file-header header. The line is also published, as a record
	// of its own, which decoders skip when they recognise a header, so a
	// file that lacks one loses nothing. Default: true for CSV files and for
	// source vpcflow (whose files begin "version account-id ..."), false
	// otherwise.
	HeaderLine *bool `yaml:"header_line"`
	// Follow keeps the source running: new files are picked up, plain
	// files are followed as they grow, rotate or are truncated. Default
	// false: the files are read once and the source stops.
	Follow bool `yaml:"follow"`
	// Start is where following begins in the files present when the
	// source first starts: beginning, or end (only what is written from
	// then on is read). Files that appear later are always read from
	// their beginning, and once the source has committed progress a
	// restart resumes from it. end needs Follow. Default "beginning".
	Start string `yaml:"start"`
	// PollInterval is how often, when following, the patterns are
	// matched again and files checked for growth. Default 1s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// CloseInactive is how long a followed file may go without growing
	// before its handle is closed (it is opened again when it grows). A
	// file that was renamed away from the patterns or deleted is then
	// read to its end, its last line published even without a line end,
	// and forgotten. Default 5m.
	CloseInactive time.Duration `yaml:"close_inactive"`
	// CommitRecords is the most records published in one transaction.
	// Default 10000.
	CommitRecords int `yaml:"commit_records"`
	// CommitInterval is the longest a transaction stays open: what was
	// read is visible to read_committed consumers at most this long (plus
	// a PollInterval) after it was written. It must be below the
	// transaction timeout (kafka.transaction_timeout). Default 1s.
	CommitInterval time.Duration `yaml:"commit_interval"`
}

// Start positions.
const (
	StartBeginning = "beginning"
	StartEnd       = "end"
)

// Defaults of the fields whose zero value means "the default".
const (
	DefaultPollInterval   = time.Second
	DefaultCloseInactive  = 5 * time.Minute
	DefaultCommitRecords  = 10000
	DefaultCommitInterval = time.Second
)

// Validate implements plugin.Validator.
func (c *Config) Validate() []error {
	var errs []error
	if c.Source == "" {
		errs = append(errs, errors.New("source must name the source (cloudtrail, vpcflow, ...)"))
	} else if err := topics.ValidName(c.Source); err != nil {
		errs = append(errs, fmt.Errorf("source: %w", err))
	}
	if len(c.Paths) == 0 {
		errs = append(errs, errors.New("paths must list at least one file or glob pattern"))
	}
	for _, p := range c.Paths {
		if _, err := filepath.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("paths: bad pattern %q: %w", p, err))
		}
	}
	if _, err := framing.ParseFormat(c.Format); err != nil {
		errs = append(errs, err)
	}
	if c.MaxRecordBytes < 1 || c.MaxRecordBytes > 100<<20 {
		errs = append(errs, fmt.Errorf("max_record_bytes (%d) must be between 1 and 104857600", c.MaxRecordBytes))
	}
	switch c.Start {
	case "", StartBeginning:
	case StartEnd:
		if !c.Follow {
			errs = append(errs, errors.New("start: end needs follow: true (a one-shot read from the end reads nothing)"))
		}
	default:
		errs = append(errs, fmt.Errorf("start %q must be beginning or end", c.Start))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"poll_interval", c.PollInterval}, {"close_inactive", c.CloseInactive}, {"commit_interval", c.CommitInterval}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s (%s) must not be negative", d.name, d.v))
		}
	}
	if c.CommitRecords < 0 {
		errs = append(errs, fmt.Errorf("commit_records (%d) must not be negative", c.CommitRecords))
	}
	return errs
}

// withDefaults returns c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	if c.Format == "" {
		c.Format = "auto"
	}
	if c.MaxRecordBytes == 0 {
		c.MaxRecordBytes = framing.DefaultMaxFrame
	}
	if c.Start == "" {
		c.Start = StartBeginning
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.CloseInactive == 0 {
		c.CloseInactive = DefaultCloseInactive
	}
	if c.CommitRecords == 0 {
		c.CommitRecords = DefaultCommitRecords
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	return c
}

// DefaultKeys are the key paths used when Key is not set.
var DefaultKeys = map[string][]string{
	"cloudtrail": {"recipientAccountId", "userIdentity.accountId", "account"},
}

func init() {
	plugin.Register(plugin.Spec{
		Kind:    plugin.Source,
		Name:    "file",
		Summary: "publishes events from local files (JSON lines, arrays, CloudTrail log files; gzip too), once or following them",
		Config:  func() any { c := Config{}.withDefaults(); return &c },
		New: func(cfg any, d plugin.Deps) (plugin.Component, error) {
			return New(*cfg.(*Config), d)
		},
	})
}

// ErrFenced is wrapped by the error Run returns when another process
// started the same source (same name and topic prefix) and took it over:
// this one must stop; the other resumes where the last committed
// transaction left off.
var ErrFenced = errors.New("another process took this file source over")

// Source is a file source.
type Source struct {
	cfg     Config
	deps    plugin.Deps
	topic   string
	format  framing.Format
	keys    []string
	ready   atomic.Bool
	metrics *ingest.Metrics
}

// New returns a file source. Zero durations and counts in c mean their
// defaults.
func New(c Config, d plugin.Deps) (*Source, error) {
	c = c.withDefaults()
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	f, err := framing.ParseFormat(c.Format)
	if err != nil {
		return nil, err
	}
	if tt := d.TransactionTimeout; tt > 0 && c.CommitInterval >= tt {
		return nil, fmt.Errorf("commit_interval (%s) must be below the transaction timeout (%s)", c.CommitInterval, tt)
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	keys := c.Key
	if len(keys) == 0 {
		keys = DefaultKeys[c.Source]
	}
	return &Source{
		cfg: c, deps: d, topic: d.Topics.Raw(c.Source), format: f, keys: keys,
		metrics: ingest.NewMetrics(d.Registerer),
	}, nil
}

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

// Run publishes the matching files: once, returning when every record is
// committed, or, with Follow, until ctx is done. On a stop it commits what
// it has read. It returns an error only when records could not be
// committed (wrapping ErrFenced when another process took the source over).
// Run is called once per Source.
//
// A Kafka error other than a fencing (a produce or a commit that failed)
// does not stop it: the open transaction is aborted, and a new writer goes
// on from the committed progress (ingest.KeepGoing); reading once, it
// gives up after ingest.OnceRetries such errors in a row.
func (s *Source) Run(ctx context.Context) error {
	retries := ingest.OnceRetries
	if s.cfg.Follow {
		retries = ingest.Forever
	}
	return ingest.KeepGoing(ctx, ingest.FromDeps(s.deps), retries, &s.ready, func(ctx context.Context, w *ingest.Writer) error {
		return newRunner(ctx, s, w).run()
	})
}

func (s *Source) key(data []byte) []byte {
	for _, k := range s.keys {
		if v := gjson.GetBytes(data, k); v.Type == gjson.String && v.Str != "" {
			return []byte(v.Str)
		}
	}
	return nil
}

// headerLine reports whether files of format f have a header line.
func (s *Source) headerLine(f framing.Format) bool {
	if s.cfg.HeaderLine != nil {
		return *s.cfg.HeaderLine
	}
	return framing.DefaultHeaderLine(s.cfg.Source, f)
}
