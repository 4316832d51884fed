// Package file is a source that publishes events from local files to
// vigil.raw.<source>, one record per event.
//
// Files are JSON lines, JSON arrays, CloudTrail log files or concatenated
// JSON values, plain or gzip-compressed (see package framing). Each record
// carries provenance headers: the source, its origin (path:line,
// path:[i] or path:Records[i]) and the ingest time. Records are published as
// read, valid or not; the normalize app reports what it cannot parse. Only
// what cannot be delimited (a value cut off at the end of a file, an event
// over the size limit) goes straight to the dead-letter topic.
package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// Config configures a file source.
type Config struct {
	// Source names the raw topic (vigil.raw.<source>) and the decoder that
	// reads it. Required.
	Source string `yaml:"source"`
	// Paths are files or glob patterns, read in sorted order. Required.
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
}

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
	return errs
}

// DefaultKeys are the key paths used when Key is not set.
var DefaultKeys = map[string][]string{
	"cloudtrail": {"recipientAccountId", "userIdentity.accountId", "account"},
}

func init() {
	plugin.Register(plugin.Spec{
		Kind:    plugin.Source,
		Name:    "file",
		Summary: "publishes events from local files (JSON lines, arrays, CloudTrail log files; gzip too)",
		Config:  func() any { return &Config{Format: "auto", MaxRecordBytes: framing.DefaultMaxFrame} },
		New: func(cfg any, d plugin.Deps) (plugin.Component, error) {
			return New(*cfg.(*Config), d)
		},
	})
}

// Source is a running file source.
type Source struct {
	cfg    Config
	deps   plugin.Deps
	topic  string
	format framing.Format
	keys   []string
	ready  atomic.Bool

	records *prometheus.CounterVec
	bytes   prometheus.Counter
	files   prometheus.Counter
	errs    *prometheus.CounterVec
}

// New returns a file source.
func New(c Config, d plugin.Deps) (*Source, error) {
	f, err := framing.ParseFormat(c.Format)
	if err != nil {
		return nil, err
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	keys := c.Key
	if len(keys) == 0 {
		keys = DefaultKeys[c.Source]
	}
	s := &Source{
		cfg: c, deps: d, topic: d.Topics.Raw(c.Source), format: f, keys: keys,
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_source_records_total",
			Help: "Records a source published, per topic (the dead-letter topic included).",
		}, []string{"topic"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_source_bytes_total",
			Help: "Bytes of events a source published.",
		}),
		files: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_source_objects_total",
			Help: "Files or objects a source read to the end.",
		}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_source_errors_total",
			Help: "Problems a source met, by kind: read (a file could not be read), framing (an event could not be delimited).",
		}, []string{"kind"}),
	}
	if r := d.Registerer; r != nil {
		s.records = streams.Register(r, s.records)
		s.bytes = streams.Register(r, s.bytes)
		s.files = streams.Register(r, s.files)
		s.errs = streams.Register(r, s.errs)
	}
	return s, nil
}

// Topics implements plugin.TopicDeclarer.
func (s *Source) Topics() []topics.Spec {
	return []topics.Spec{
		{Name: s.topic, Partitions: s.deps.Partitions},
		{Name: s.deps.Topics.DLQ(), Partitions: s.deps.Partitions},
	}
}

// Ready implements plugin.Readier.
func (s *Source) Ready() bool { return s.ready.Load() }

// Run publishes every matching file once, then returns.
func (s *Source) Run(ctx context.Context) error {
	cl, err := kgo.NewClient(append(slices.Clone(s.deps.Kafka),
		kgo.WithLogger(streams.KgoLogger(s.deps.Logger)),
		kgo.ProducerLinger(5*time.Millisecond),
	)...)
	if err != nil {
		return fmt.Errorf("file source: %w", err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("file source: reach brokers: %w", err)
	}
	s.ready.Store(true)
	defer s.ready.Store(false)

	paths, err := s.expand()
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		s.deps.Logger.Warn("no files match", "paths", s.cfg.Paths)
	}
	for _, p := range paths {
		if ctx.Err() != nil {
			return nil
		}
		if err := s.publishFile(ctx, cl, p); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

func (s *Source) expand() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, pat := range s.cfg.Paths {
		matches, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("file source: pattern %q: %w", pat, err)
		}
		sort.Strings(matches)
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() && !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// publishFile publishes one file's events and waits until Kafka has
// acknowledged them all. A file that cannot be read is reported and skipped;
// an error is returned only when records could not be published.
func (s *Source) publishFile(ctx context.Context, cl *kgo.Client, path string) error {
	log := s.deps.Logger.With("file", path)
	f, err := os.Open(path)
	if err != nil {
		s.errs.WithLabelValues("read").Inc()
		log.Error("cannot read file", "err", err)
		return nil
	}
	defer f.Close()
	r, err := Decompress(f)
	if err != nil {
		s.errs.WithLabelValues("read").Inc()
		log.Error("cannot read file", "err", err)
		return nil
	}
	format := framing.ForPath(path, s.format)
	headerLine := framing.DefaultHeaderLine(s.cfg.Source, format)
	if s.cfg.HeaderLine != nil {
		headerLine = *s.cfg.HeaderLine
	}
	var fileHeader []byte
	if headerLine {
		if fileHeader, r, err = framing.FileHeader(r); err != nil {
			s.errs.WithLabelValues("read").Inc()
			log.Error("cannot read file", "err", err)
			return nil
		}
	}
	sp := framing.New(r, format, s.cfg.MaxRecordBytes)

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		produced = map[string]int64{}
		nbytes   int64
	)
	promise := func(rec *kgo.Record, err error) {
		defer wg.Done()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		produced[rec.Topic]++
		nbytes += int64(len(rec.Value))
	}
	complete := true
	for {
		fr, err := sp.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			// What was read before the error is published; the file
			// is not counted as read.
			complete = false
			s.errs.WithLabelValues("read").Inc()
			log.Error("read error; the rest of the file is skipped", "err", err)
			break
		}
		origin := Origin(path, sp.Format(), fr)
		rec := &kgo.Record{Topic: s.topic, Value: fr.Data, Headers: []kgo.RecordHeader{
			{Key: streams.HeaderSource, Value: []byte(s.cfg.Source)},
			{Key: streams.HeaderOrigin, Value: []byte(origin)},
			{Key: streams.HeaderIngestTime, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
		}}
		if fileHeader != nil {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: streams.HeaderFileHeader, Value: fileHeader})
		}
		if fr.Err != nil {
			s.errs.WithLabelValues("framing").Inc()
			log.Warn("event cannot be delimited; sent to the dead-letter topic", "origin", origin, "err", fr.Err)
			rec = streams.DeadLetter(s.deps.Topics.DLQ(), s.deps.Name, rec, fr.Err)
			if len(rec.Value) > 1024 {
				rec.Value = rec.Value[:1024] // enough to recognise it; the whole would not fit a Kafka message
			}
		} else {
			rec.Key = s.key(fr.Data)
		}
		wg.Add(1)
		cl.Produce(ctx, rec, promise)
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("file source: publish %s: %w", path, firstErr)
	}
	for t, n := range produced {
		s.records.WithLabelValues(t).Add(float64(n))
	}
	s.bytes.Add(float64(nbytes))
	if complete {
		s.files.Inc()
	}
	if s.deps.Observer != nil {
		s.deps.Observer.Committed(s.deps.Name, nil, produced)
	}
	log.Info("file published", "records", produced[s.topic], "dead_letters", produced[s.deps.Topics.DLQ()])
	return nil
}

func (s *Source) key(data []byte) []byte {
	for _, k := range s.keys {
		if v := gjson.GetBytes(data, k); v.Type == gjson.String && v.Str != "" {
			return []byte(v.Str)
		}
	}
	return nil
}

// Origin formats where a frame was found; see framing.Origin.
func Origin(path string, f framing.Format, fr framing.Frame) string {
	return framing.Origin(path, f, fr)
}

// Decompress returns a reader of r's contents, gunzipping them if they are
// gzip; see framing.Decompress.
func Decompress(r io.Reader) (io.Reader, error) { return framing.Decompress(r) }
