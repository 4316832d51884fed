package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/broker"
	"github.com/vigilsec/vigil/correlators/correlate"
	"github.com/vigilsec/vigil/correlators/detect"
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/ruleset"
	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/rules"
	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

func newRulesTestCmd() *cobra.Command {
	var (
		rulePaths []string
		events    []string
		builtin   bool
		source    string
		grace     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "test --rules PATH... --events FILE...",
		Short: "Run Sigma rules offline over events and print the alerts",
		Long: `test evaluates Sigma detection and correlation rules over events from files,
offline, and prints one JSON line per alert, in event-time order:

    {"rule_id","rule_title","level","event":"FILE:LINE"}

for a detection rule, and for a correlation rule

    {"rule_id","rule_title","level","group":{...},"value":N,
     "window":{"start","end"},"events":["FILE:LINE",...]}

where value is the count or the aggregated value the condition tested.

Events are raw (of the source --source names, in any form "vigil normalize"
reads: JSON lines, arrays, CloudTrail log files, gzip) or normalized ECS
documents, one per line, told apart by the first record of each file. They
are sorted by event time; the detection rules run as the detect app runs
them, and the correlation rules on the streams runtime, as the correlate app
runs them, over an in-process broker. Every window is judged at the end, as
if time had moved on past it.

Exit status: 0 when the rules loaded and the events were read (a record
that cannot be normalized is reported on standard error and skipped), 1 when
a rule has errors, 2 on usage errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(rulePaths) == 0 && !builtin {
				return usageErr("rules test: name rule files or directories with --rules (or --builtin)")
			}
			if len(events) == 0 {
				return usageErr("rules test: name event files with --events")
			}
			dec, ok := normalize.Lookup(source)
			if !ok {
				return usageErr("--source %q: known sources are %s", source, strings.Join(normalize.Sources(), ", "))
			}
			if grace < 0 {
				return usageErr("--grace must be >= 0")
			}
			cfg := rules.Config{Builtin: builtin, Paths: rulePaths, Logsources: ruleset.DefaultLogsources}
			set, problems, err := ruleset.Load(cfg, nil)
			if err != nil {
				return usageErr("rules test: %v", err)
			}
			stderr := cmd.ErrOrStderr()
			bad := 0
			for _, p := range problems {
				fmt.Fprintln(stderr, p.String())
				if p.Severity == ast.Error {
					bad++
				}
			}
			if bad > 0 {
				return &exitError{code: 1, err: fmt.Errorf("rules test: the rules have %s", rulesPlural(bad, "error"))}
			}
			evs, err := readTestEvents(events, source, dec, stderr)
			if err != nil {
				return usageErr("rules test: %v", err)
			}
			out, err := runRulesTest(cmd.Context(), set, evs, grace)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			for _, o := range out {
				b, err := json.Marshal(o.line)
				if err != nil {
					return err
				}
				w.Write(b)
				w.WriteByte('\n')
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&rulePaths, "rules", nil, "Sigma rule files and directories (repeatable)")
	f.StringSliceVar(&events, "events", nil, "event files, raw or ECS, gzip allowed (repeatable)")
	f.BoolVar(&builtin, "builtin", false, "also run the rules built into vigil")
	f.StringVar(&source, "source", "cloudtrail", "the source of raw events (ECS files need none)")
	f.DurationVar(&grace, "grace", 0, "how far out of event-time order a match may be and still count; the events are sorted, so only ties matter")
	return cmd
}

// testEvent is an event of a rules test, with where it was read.
type testEvent struct {
	ev      *ecs.Event
	dataset string
	origin  string
}

// readTestEvents reads every file: ECS documents, one per line, if the
// file's first record is one, else raw records of source.
func readTestEvents(files []string, source string, dec normalize.Decoder, stderr io.Writer) ([]testEvent, error) {
	var out []testEvent
	for _, name := range files {
		data, err := readMaybeGzip(name)
		if err != nil {
			return nil, err
		}
		if isECS(data) {
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 64<<20)
			for line := 1; sc.Scan(); line++ {
				b := bytes.TrimSpace(sc.Bytes())
				if len(b) == 0 {
					continue
				}
				origin := name + ":" + strconv.Itoa(line)
				var ev ecs.Event
				if err := json.Unmarshal(b, &ev); err != nil {
					fmt.Fprintf(stderr, "%s: %v\n", origin, err)
					continue
				}
				out = append(out, testEvent{ev: &ev, dataset: datasetOf(ev.Event.Dataset), origin: origin})
			}
			if err := sc.Err(); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			continue
		}
		err = normalize.DecodeStream(bytes.NewReader(data), name, dec, normalize.StreamOptions{}, func(r normalize.Result) {
			switch {
			case r.Skipped:
			case r.Err != nil:
				fmt.Fprintf(stderr, "%s: %v\n", r.Origin, r.Err)
			default:
				out = append(out, testEvent{ev: r.Event, dataset: source, origin: r.Origin})
			}
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ev.Timestamp.Before(out[j].ev.Timestamp) })
	return out, nil
}

func readMaybeGzip(name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return io.ReadAll(zr)
	}
	return data, nil
}

// isECS reports whether the first line of data is an ECS document.
func isECS(data []byte) bool {
	line, _, _ := bytes.Cut(bytes.TrimSpace(data), []byte("\n"))
	var probe struct {
		Timestamp json.RawMessage `json:"@timestamp"`
		ECS       json.RawMessage `json:"ecs"`
		Event     struct {
			Dataset string `json:"dataset"`
		} `json:"event"`
	}
	return json.Unmarshal(line, &probe) == nil && probe.Timestamp != nil && probe.ECS != nil && probe.Event.Dataset != ""
}

// datasetOf is the dataset (the topic name's last part) of an ECS
// event.dataset: aws.cloudtrail is cloudtrail, falco.alerts is falco.
func datasetOf(ds string) string {
	ds = strings.TrimPrefix(ds, "aws.")
	before, _, _ := strings.Cut(ds, ".")
	return before
}

// testAlert is one line of output, with the time that orders it.
type testAlert struct {
	at   time.Time
	line any
}

type detectionLine struct {
	RuleID    string `json:"rule_id"`
	RuleTitle string `json:"rule_title"`
	Level     string `json:"level"`
	Event     string `json:"event"`
}

type correlationLine struct {
	RuleID    string            `json:"rule_id"`
	RuleTitle string            `json:"rule_title"`
	Level     string            `json:"level"`
	Group     map[string]string `json:"group"`
	Value     float64           `json:"value"`
	Window    *ecs.Window       `json:"window"`
	Events    []string          `json:"events"`
}

// runRulesTest evaluates the rules over the events.
func runRulesTest(ctx context.Context, set *ruleset.Set, evs []testEvent, grace time.Duration) ([]testAlert, error) {
	p, err := detect.NewProcessor(set, detect.Options{})
	if err != nil {
		return nil, err
	}
	var out []testAlert
	var matches []*correlate.Match
	for _, e := range evs {
		alerts, ms := p.Evaluate(e.dataset, e.ev, e.origin)
		for _, a := range alerts {
			out = append(out, testAlert{at: a.Timestamp, line: detectionLine{a.Rule.ID, a.Rule.Name, a.Vigil.Level, e.origin}})
		}
		matches = append(matches, ms...)
	}
	if len(matches) > 0 {
		alerts, err := correlateOffline(ctx, set.Rules, matches, grace)
		if err != nil {
			return nil, err
		}
		for _, a := range alerts {
			l := correlationLine{RuleID: a.Rule.ID, RuleTitle: a.Rule.Name, Level: a.Vigil.Level, Group: a.Vigil.Group, Value: float64(a.Vigil.Count), Window: a.Vigil.Window, Events: []string{}}
			if a.Vigil.Value != nil {
				l.Value = *a.Vigil.Value
			}
			if l.Group == nil {
				l.Group = map[string]string{}
			}
			for _, ev := range a.Vigil.Evidence {
				l.Events = append(l.Events, ev.Origin)
			}
			out = append(out, testAlert{at: a.Timestamp, line: l})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out, nil
}

// correlateOffline runs the correlation rules over matches as the
// correlate app does, on an in-process broker with one partition, then
// moves stream time past every window, and returns the alerts.
func correlateOffline(ctx context.Context, rs []*ast.Rule, matches []*correlate.Match, grace time.Duration) ([]*ecs.Alert, error) {
	names := topics.Names{Prefix: "vigil-rules-test"}
	p, err := correlate.NewProcessor(rs, correlate.Options{Alerts: names.Alerts(), Matches: names.Matches(), Grace: grace})
	if err != nil {
		return nil, err
	}
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", Partitions: 1})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopics(ctx, 1, 1, nil, names.Matches(), names.Alerts(), names.DLQ(), names.Late()); err != nil {
		return nil, err
	}

	// The matches, then a watermark past every window.
	var longest time.Duration
	for _, r := range rs {
		if r.Correlation != nil {
			longest = max(longest, r.Correlation.Timespan)
		}
	}
	var recs []*kgo.Record
	last := matches[0].Time
	for _, m := range matches {
		rec, err := correlate.NewRecord(names.Matches(), m)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
		if m.Time.After(last) {
			last = m.Time
		}
	}
	wm, err := correlate.NewRecord(names.Matches(), &correlate.Match{Watermark: true, Time: last.Add(2*longest + grace + time.Second)})
	if err != nil {
		return nil, err
	}
	recs = append(recs, wm)
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "vigil-rules-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	obs := &offlineObserver{topic: names.Matches(), want: int64(len(recs)), done: make(chan struct{})}
	r, err := streams.New(streams.App{
		Name:      "rules-test",
		Group:     names.Group("rules-test"),
		Inputs:    []string{names.Matches()},
		Processor: p,
		Stores:    p.Stores(),
		State:     state.Options{Dir: dir},
		EventTime: p.EventTime,
		Client:    []kgo.Opt{kgo.SeedBrokers(b.Addr())},
		DLQ:       names.DLQ(),
		LateTopic: names.Late(),
		Guarantee: streams.AtLeastOnce,
		Observer:  obs,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	select {
	case <-obs.done:
	case err := <-done:
		if err == nil {
			err = errors.New("the correlation runtime stopped early")
		}
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	stop()
	if err := <-done; err != nil {
		return nil, err
	}
	return readAlerts(ctx, cl, names.Alerts())
}

// offlineObserver tells when the app has consumed every record on the
// matches topic: those written before it started and those it wrote
// itself (matches of correlations of correlations).
type offlineObserver struct {
	topic string
	mu    sync.Mutex
	want  int64
	got   int64
	done  chan struct{}
	once  sync.Once
}

func (o *offlineObserver) Committed(_ string, consumed, produced map[string]int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got += consumed[o.topic]
	o.want += produced[o.topic]
	if o.got >= o.want {
		o.once.Do(func() { close(o.done) })
	}
}

// readAlerts reads every alert on the topic.
func readAlerts(ctx context.Context, cl *kgo.Client, topic string) ([]*ecs.Alert, error) {
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	var out []*ecs.Alert
	if want == 0 {
		return out, nil
	}
	cl.AddConsumeTopics(topic)
	seen := int64(0)
	for seen < want {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return nil, err
		}
		var ferr error
		fs.EachRecord(func(r *kgo.Record) {
			seen = r.Offset + 1
			var a ecs.Alert
			if err := json.Unmarshal(r.Value, &a); err != nil {
				ferr = err
				return
			}
			out = append(out, &a)
		})
		if ferr != nil {
			return nil, ferr
		}
	}
	return out, nil
}
