// Package demo runs vigil end to end on the embedded broker: it writes the
// bundled sample data to disk, starts every app, replays the data through
// the pipeline, prints alerts as they come, and stops once everything
// replayed has been processed and committed.
package demo

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/internal/engine"
	"github.com/vigilsec/vigil/internal/term"
	"github.com/vigilsec/vigil/topics"
)

//go:embed testdata/corpus
var corpus embed.FS

// Options configure a demo run.
type Options struct {
	// Out is the output directory. Default "vigil-out".
	Out string
	// Follow keeps everything running after the replay.
	Follow bool
	// Background is the number of routine events in the scenario. Default
	// 12000.
	Background int
	// Listen is the embedded broker's address. Default "127.0.0.1:0".
	Listen string
	// OpsListen is the operations server's address. Default "127.0.0.1:0".
	OpsListen string
	// Stdout receives alerts; Stderr progress and logs. Defaults os.Stdout
	// and os.Stderr.
	Stdout, Stderr io.Writer
	// LogLevel is the level of log lines. Default "error".
	LogLevel string
	// Timeout bounds the replay. Default 5 minutes.
	Timeout time.Duration
}

// Summary is what a demo run did.
type Summary struct {
	Files      int
	Raw        int64
	Events     int64
	DeadLetter int64
	Alerts     int64
	Matches    int64
	Elapsed    time.Duration
	Outputs    []string
	Brokers    []string
	OpsAddr    string
}

// Config returns the demo's configuration as YAML, for a given output
// directory, broker address and ops address.
func Config(out, listen, opsListen string) string {
	s := filepath.ToSlash(filepath.Join(out, "samples"))
	return fmt.Sprintf(`# The configuration "vigil demo" runs.
kafka:
  embedded:
    listen: %q
topics:
  partitions: 6
ops:
  listen: %q
log:
  level: error
sources:
  aws-docs:
    type: file
    source: cloudtrail
    paths: [%q, %q]
  scenario:
    type: file
    source: cloudtrail
    paths: [%q]
  bad-input:
    type: file
    source: cloudtrail
    paths: [%q]
rules:
  paths: [%q]
apps:
  normalize:
    sources: [cloudtrail]
  detect:
    datasets: [cloudtrail]
  correlate:
    idle_timeout: 0s
sinks:
  console:
    topics: [alerts, dlq]
  alerts-file:
    type: file
    topics: [alerts]
    path: %q
    truncate: true
  events-file:
    type: file
    topics: [events.cloudtrail]
    path: %q
    truncate: true
  dlq-file:
    type: file
    topics: [dlq]
    path: %q
    format: record
    truncate: true
`, listen, opsListen,
		s+"/aws-cloudtrail-user-guide/*.json", s+"/aws-cloudtrail-user-guide/*.txt",
		s+"/scenario/AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz",
		s+"/bad-input/*",
		s+"/rules",
		filepath.ToSlash(filepath.Join(out, "alerts.jsonl")),
		filepath.ToSlash(filepath.Join(out, "events.jsonl")),
		filepath.ToSlash(filepath.Join(out, "dlq.jsonl")))
}

// demoFilter is the demo team's own tuning: a Sigma filter that keeps the
// SigmaHQ bucket enumeration rule quiet for staff in the office.
const demoFilter = `title: Staff list buckets from the office
id: 3c5e9f12-8b7a-4d6e-9f01-2a3b4c5d6e7f
description: The team lists its S3 buckets from the office network every day; only listings from elsewhere are worth an alert.
logsource:
    product: aws
    service: cloudtrail
filter:
    rules:
        - f305fd62-beca-47da-ad95-7690a0620084 # Potential Bucket Enumeration on AWS (SigmaHQ)
    selection:
        sourceIPAddress|cidr: 198.51.100.0/24
    condition: not selection
`

// Run runs the demo.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Out == "" {
		o.Out = "vigil-out"
	}
	if o.Background <= 0 {
		o.Background = 12000
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.OpsListen == "" {
		o.OpsListen = "127.0.0.1:0"
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.LogLevel == "" {
		o.LogLevel = "error"
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	start := time.Now()
	screen := term.New(o.Stdout, o.Stderr)

	samples := filepath.Join(o.Out, "samples")
	if err := os.RemoveAll(samples); err != nil {
		return nil, err
	}
	nfiles, err := writeSamples(samples, o.Background)
	if err != nil {
		return nil, fmt.Errorf("write samples: %w", err)
	}

	cfg, err := config.Parse([]byte(Config(o.Out, o.Listen, o.OpsListen)), "demo config")
	if err != nil {
		return nil, err
	}
	cfg.Log.Level = o.LogLevel
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(screen.Logs(), &slog.HandlerOptions{Level: lv}))

	names := cfg.Topics.Names()
	raw, events := names.Raw("cloudtrail"), names.Events("cloudtrail")
	stages := []engine.Stage{
		{Name: "normalize", Inputs: []string{raw}},
		{Name: "detect", Inputs: []string{events}},
		{Name: "correlate", Inputs: []string{names.Matches()}},
		{Name: "console", Inputs: []string{names.Alerts(), names.DLQ()}},
		{Name: "alerts-file", Inputs: []string{names.Alerts()}},
		{Name: "events-file", Inputs: []string{events}},
		{Name: "dlq-file", Inputs: []string{names.DLQ()}},
	}
	prog := engine.NewProgress("aws-docs", "scenario", "bad-input")

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var info engine.Info
	started := make(chan struct{})
	engineErr := make(chan error, 1)
	go func() {
		engineErr <- engine.Run(runCtx, cfg, engine.Options{
			Logger:   log,
			Registry: prometheus.NewRegistry(),
			Observer: prog,
			Stdout:   screen.Output(),
			Started: func(i engine.Info) {
				info = i
				close(started)
			},
			Stopped: prog.Stopped,
		})
	}()

	deadline := time.NewTimer(o.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-engineErr:
			screen.Clear()
			if err == nil {
				err = errors.New("the pipeline stopped before the replay was processed")
			}
			return nil, err
		case <-ctx.Done():
			stop()
			err := <-engineErr
			screen.Clear()
			return nil, errors.Join(ctx.Err(), err)
		case <-deadline.C:
			stop()
			<-engineErr
			screen.Clear()
			return nil, fmt.Errorf("the replay was not processed within %s: %s", o.Timeout, status(prog, names))
		case <-tick.C:
		}
		screen.Status(status(prog, names))
		if !prog.Complete(stages) {
			continue
		}
		screen.Clear()
		sum := &Summary{
			Files:      nfiles,
			Raw:        prog.Produced(raw),
			Events:     prog.Produced(events),
			DeadLetter: prog.Produced(names.DLQ()),
			Alerts:     prog.Produced(names.Alerts()),
			Matches:    prog.Produced(names.Matches()),
			Elapsed:    time.Since(start),
			Outputs: []string{
				filepath.Join(o.Out, "events.jsonl"),
				filepath.Join(o.Out, "alerts.jsonl"),
				filepath.Join(o.Out, "dlq.jsonl"),
			},
		}
		select {
		case <-started:
			sum.Brokers, sum.OpsAddr = info.Brokers, info.OpsAddr
		default:
		}
		if o.Follow {
			printSummary(o.Stderr, sum, true)
			<-ctx.Done()
			stop()
			return sum, <-engineErr
		}
		stop()
		if err := <-engineErr; err != nil {
			return nil, err
		}
		return sum, nil
	}
}

// PrintSummary writes a run's summary for a person.
func PrintSummary(w io.Writer, s *Summary) { printSummary(w, s, false) }

func printSummary(w io.Writer, s *Summary, following bool) {
	fmt.Fprintf(w, "\nvigil demo: %d raw events from %d files replayed in %.1fs\n", s.Raw, s.Files, s.Elapsed.Seconds())
	fmt.Fprintf(w, "  normalize  %d ECS events, %d dead letters (each printed above with its origin and reason)\n", s.Events, s.DeadLetter)
	fmt.Fprintf(w, "  detect     %d alerts, %d matches for correlation rules\n", s.Alerts, s.Matches)
	fmt.Fprintf(w, "  written    %s\n", strings.Join(s.Outputs, ", "))
	if following {
		fmt.Fprintf(w, "  following: broker %s, metrics http://%s/metrics; Ctrl-C stops\n", strings.Join(s.Brokers, ","), s.OpsAddr)
	}
}

// writeSamples writes the bundled corpus and the generated scenario under
// dir and returns how many files it wrote.
func writeSamples(dir string, background int) (int, error) {
	n := 0
	err := fs.WalkDir(corpus, "testdata/corpus", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := corpus.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, strings.TrimPrefix(p, "testdata/corpus/"))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".txt") {
			n++
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return 0, err
	}
	if _, err := writeScenario(filepath.Join(dir, "scenario"), background); err != nil {
		return 0, err
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "scenario", "AWSLogs", "*", "CloudTrail", "*", "*", "*", "*", "*.json.gz"))
	n += len(matches)
	if err := writeBadInput(filepath.Join(dir, "bad-input")); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "rules", "office_bucket_listing.yml"), []byte(demoFilter), 0o644); err != nil {
		return 0, err
	}
	return n + 2, nil
}

func status(p *engine.Progress, n topics.Names) string {
	done, total := p.SourcesDone()
	raw := n.Raw("cloudtrail")
	return fmt.Sprintf("replaying: sources %d/%d done · raw %d · normalized %d/%d · events %d · dead letters %d · alerts %d",
		done, total, p.Produced(raw), p.Consumed("normalize", raw), p.Produced(raw),
		p.Produced(n.Events("cloudtrail")), p.Produced(n.DLQ()), p.Produced(n.Alerts()))
}
