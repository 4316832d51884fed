// Package file is a sink that appends records to a local file as JSON
// lines. The demo writes events and alerts under ./vigil-out/ with it.
package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sinks"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
)

// Config configures a file sink.
type Config struct {
	sinks.Common `yaml:",inline"`
	// Path is the file to append to; its directory is created. Required.
	Path string `yaml:"path"`
	// Format is "value" (each record's value on a line; JSON is compacted,
	// anything else is written as a JSON string) or "record" (a JSON object
	// with topic, partition, offset, key, headers and value). Default
	// "value".
	Format string `yaml:"format"`
	// Truncate empties the file when the sink starts. Default false.
	Truncate bool `yaml:"truncate"`
	// Sync fsyncs the file before each commit. Default true.
	Sync bool `yaml:"sync"`
}

// Validate implements plugin.Validator.
func (c *Config) Validate() []error {
	errs := c.Common.Validate()
	if c.Path == "" {
		errs = append(errs, errors.New("path must be set"))
	}
	if c.Format != "value" && c.Format != "record" {
		errs = append(errs, fmt.Errorf("format %q must be value or record", c.Format))
	}
	return errs
}

func init() {
	plugin.Register(plugin.Spec{
		Kind:    plugin.Sink,
		Name:    "file",
		Summary: "appends records to a file as JSON lines",
		Config: func() any {
			return &Config{Common: sinks.Common{Guarantee: "at_least_once"}, Format: "value", Sync: true}
		},
		New: func(cfg any, d plugin.Deps) (plugin.Component, error) {
			c := cfg.(*Config)
			w := &Writer{path: c.Path, record: c.Format == "record", truncate: c.Truncate, sync: c.Sync}
			app, err := sinks.NewApp(c.Common, d, w)
			if err != nil {
				return nil, err
			}
			return &sink{App: app, w: w}, nil
		},
	})
}

type sink struct {
	*sinks.App
	w *Writer
}

func (s *sink) Run(ctx context.Context) error {
	if err := s.w.open(); err != nil {
		return err
	}
	defer s.w.close()
	return s.App.Run(ctx)
}

// Writer is the file sink's processor.
type Writer struct {
	path     string
	record   bool
	truncate bool
	sync     bool

	mu  sync.Mutex
	f   *os.File
	buf *bufio.Writer
}

func (w *Writer) open() error {
	if err := os.MkdirAll(filepath.Dir(w.path), 0o755); err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if w.truncate {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(w.path, flags, 0o644)
	if err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	w.mu.Lock()
	w.f, w.buf = f, bufio.NewWriterSize(f, 256<<10)
	w.mu.Unlock()
	return nil
}

func (w *Writer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		_ = w.buf.Flush()
		_ = w.f.Close()
		w.f = nil
	}
}

// Process implements streams.Processor.
func (w *Writer) Process(_ *streams.Context, r *kgo.Record) error {
	line, err := Line(r, w.record)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return streams.Retryable(errors.New("file sink: file is not open"))
	}
	if _, err := w.buf.Write(line); err != nil {
		return streams.Retryable(err)
	}
	return nil
}

// Flush implements streams.Flusher: the batch commits only once its lines
// are written (and synced, if configured).
func (w *Writer) Flush(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return errors.New("file sink: file is not open")
	}
	if err := w.buf.Flush(); err != nil {
		return err
	}
	if w.sync {
		return w.f.Sync()
	}
	return nil
}

// Line formats one record as a JSON line.
func Line(r *kgo.Record, record bool) ([]byte, error) {
	var b bytes.Buffer
	if !record {
		if json.Valid(r.Value) {
			if err := json.Compact(&b, r.Value); err != nil {
				return nil, err
			}
		} else {
			s, _ := json.Marshal(string(r.Value))
			b.Write(s)
		}
		b.WriteByte('\n')
		return b.Bytes(), nil
	}
	headers := make(map[string]string, len(r.Headers))
	for _, h := range r.Headers {
		headers[h.Key] = string(h.Value)
	}
	out := struct {
		Topic     string            `json:"topic"`
		Partition int32             `json:"partition"`
		Offset    int64             `json:"offset"`
		Timestamp string            `json:"timestamp"`
		Key       string            `json:"key,omitempty"`
		Headers   map[string]string `json:"headers,omitempty"`
		Value     json.RawMessage   `json:"value"`
	}{r.Topic, r.Partition, r.Offset, r.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z07:00"), string(r.Key), headers, nil}
	if json.Valid(r.Value) {
		var c bytes.Buffer
		_ = json.Compact(&c, r.Value)
		out.Value = c.Bytes()
	} else {
		out.Value, _ = json.Marshal(string(r.Value))
	}
	enc, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return append(enc, '\n'), nil
}
