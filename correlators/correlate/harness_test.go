package correlate

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/schemas"
	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the start of test time: a day boundary, so that tumbling windows
// start at whole offsets from it.
var t0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// world is a broker (or the cluster VIGIL_TEST_KAFKA names) with the
// app's topics under a prefix of the test's own.
type world struct {
	t       *testing.T
	brokers []string
	names   topics.Names
	parts   int32
	obs     *observer

	mu       sync.Mutex
	produced int64 // matches the test produced
}

func newWorld(t *testing.T, parts int32) *world {
	t.Helper()
	return newWorldOn(t, streamstest.Brokers(t), parts)
}

// newWorldOn is newWorld on brokers already started.
func newWorldOn(t *testing.T, brokers []string, parts int32) *world {
	t.Helper()
	w := &world{t: t, brokers: brokers, names: topics.Names{Prefix: streamstest.Prefix(t)}, parts: parts, obs: &observer{consumed: map[string]int64{}, produced: map[string]int64{}}}
	streamstest.CreateTopics(t, w.brokers, parts, w.names.Matches(), w.names.Alerts(), w.names.DLQ(), w.names.Late())
	return w
}

// observer totals what the app committed, across runs.
type observer struct {
	mu       sync.Mutex
	consumed map[string]int64
	produced map[string]int64
}

func (o *observer) Committed(_ string, consumed, produced map[string]int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, n := range consumed {
		o.consumed[k] += n
	}
	for k, n := range produced {
		o.produced[k] += n
	}
}

// quiet reports whether the app has consumed every match the test and the
// app itself produced: nothing is in flight.
func (w *world) quiet() bool {
	w.mu.Lock()
	want := w.produced
	w.mu.Unlock()
	w.obs.mu.Lock()
	defer w.obs.mu.Unlock()
	m := w.names.Matches()
	return w.obs.consumed[m] == want+w.obs.produced[m]
}

func (w *world) consumed() int64 {
	w.obs.mu.Lock()
	defer w.obs.mu.Unlock()
	return w.obs.consumed[w.names.Matches()]
}

// produce writes records to the matches topic, keyed records by key hash,
// those with a partition set (ticks) to it.
func (w *world) produce(recs ...*kgo.Record) {
	w.t.Helper()
	if len(recs) == 0 {
		return
	}
	cl := streamstest.Client(w.t, w.brokers, kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
		hash := kgo.StickyKeyPartitioner(nil).ForTopic("")
		return func(r *kgo.Record, n int) int {
			if r.Partition >= 0 {
				return int(r.Partition)
			}
			return hash.Partition(r, n)
		}
	})))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		w.t.Fatalf("produce: %v", err)
	}
	w.mu.Lock()
	w.produced += int64(len(recs))
	w.mu.Unlock()
	cl.Close()
}

func (w *world) matchRecord(m *Match) *kgo.Record {
	w.t.Helper()
	rec, err := NewRecord(w.names.Matches(), m)
	if err != nil {
		w.t.Fatal(err)
	}
	rec.Partition = -1
	return rec
}

// ticks are matches of the sentinel correlation at time at, one to every
// partition, to move every task's stream time on.
func (w *world) ticks(at time.Time) []*kgo.Record {
	var out []*kgo.Record
	for p := int32(0); p < w.parts; p++ {
		r := w.matchRecord(&Match{Correlation: sentinelID, Rule: "tick", Group: map[string]string{"p": strconv.Itoa(int(p))}, Time: at, EventID: fmt.Sprintf("tick-%d-%d", p, at.UnixMilli())})
		r.Partition = p
		out = append(out, r)
	}
	return out
}

// sentinelID is a correlation every test rule set has, that never fires:
// ticks are its matches.
const sentinelID = "sentinel"

func sentinel() *ast.Rule {
	return corrRule(sentinelID, ast.EventCount, []string{"tick"}, []string{"p"}, time.Minute, "gte=1000000")
}

// app returns the stream app around p.
func (w *world) app(p *Processor, dir string) streams.App {
	return streams.App{
		Name:           "correlate",
		Group:          w.names.Group("correlate"),
		Inputs:         []string{w.names.Matches()},
		Processor:      p,
		Stores:         p.Stores(),
		State:          state.Options{Dir: dir},
		EventTime:      p.EventTime,
		Client:         []kgo.Opt{kgo.SeedBrokers(w.brokers...)},
		DLQ:            w.names.DLQ(),
		LateTopic:      w.names.Late(),
		Observer:       w.obs,
		MaxPollRecords: 100,
		CommitInterval: 50 * time.Millisecond,
	}
}

func (w *world) processor(rules []*ast.Rule, grace time.Duration) *Processor {
	w.t.Helper()
	p, err := NewProcessor(append([]*ast.Rule{sentinel()}, rules...), Options{Alerts: w.names.Alerts(), Matches: w.names.Matches(), Grace: grace})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// running is an app running in the background.
type running struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, app streams.App) *running {
	t.Helper()
	r, err := streams.New(app)
	if err != nil {
		t.Fatal(err)
	}
	return startFunc(t, r.Run)
}

// startFunc runs fn in the background until stopped.
func startFunc(t *testing.T, fn func(context.Context) error) *running {
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- fn(ctx) }()
	t.Cleanup(func() { run.stop() })
	return run
}

// waitFor polls cond until it holds, failing the test after a deadline.
func (r *running) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		select {
		case err := <-r.done:
			r.done <- err
			r.t.Fatalf("app stopped while waiting for %s: %v", what, err)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *running) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil {
		r.t.Errorf("app: %v", err)
	}
}

// alerts reads the committed alerts, checking each against the schema.
func (w *world) alerts() []*ecs.Alert {
	w.t.Helper()
	var out []*ecs.Alert
	ids := map[string]bool{}
	for _, r := range streamstest.ReadCommitted(w.t, w.brokers, w.names.Alerts()) {
		if err := schemas.Validate(schemas.Alert, r.Value); err != nil {
			w.t.Errorf("alert does not match the schema: %v\n%s", err, r.Value)
		}
		var a ecs.Alert
		if err := json.Unmarshal(r.Value, &a); err != nil {
			w.t.Fatal(err)
		}
		if string(r.Key) != a.Event.ID {
			w.t.Errorf("alert keyed %q, id %q", r.Key, a.Event.ID)
		}
		if ids[a.Event.ID] {
			w.t.Errorf("alert id %s twice", a.Event.ID)
		}
		ids[a.Event.ID] = true
		out = append(out, &a)
	}
	return out
}

// matchesIn decodes the matches on topic (late or dead-letter).
func (w *world) matchesIn(topic string) []*kgo.Record {
	w.t.Helper()
	return streamstest.ReadCommitted(w.t, w.brokers, topic)
}

// corrRule builds a correlation rule. cond is "op=value,..." with
// "field=name" for the field.
func corrRule(id string, typ ast.CorrType, refs, groupBy []string, ts time.Duration, cond string, opts ...func(*ast.Rule)) *ast.Rule {
	r := &ast.Rule{Kind: ast.KindCorrelation, ID: id, Title: "rule " + id, Level: "high", Correlation: &ast.Correlation{
		Type: typ, Rules: refs, GroupBy: groupBy, Timespan: ts, TimespanText: ts.String(),
	}}
	if cond != "" {
		c := &ast.CorrCondition{}
		for _, part := range strings.Split(cond, ",") {
			k, v, _ := strings.Cut(part, "=")
			if k == "field" {
				c.Field = v
				continue
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				panic(err)
			}
			c.Tests = append(c.Tests, ast.CmpTest{Op: k, Value: f})
		}
		r.Correlation.Condition = c
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

func named(name string) func(*ast.Rule) { return func(r *ast.Rule) { r.Name = name } }

func generate(r *ast.Rule) { r.Correlation.Generate = true }

func aliases(a map[string]map[string]string) func(*ast.Rule) {
	return func(r *ast.Rule) { r.Correlation.Aliases = a }
}

// parseStep parses one match of a scenario, written
// "corr rule group at [v=value] [id=event]" with group "k=v,k=v" (or "-")
// and at an offset from base. The event id defaults to e<i>.
func parseStep(t *testing.T, base time.Time, i int, line string) *Match {
	t.Helper()
	f := strings.Fields(line)
	if len(f) < 4 {
		t.Fatalf("step %q: want corr rule group at", line)
	}
	d, err := time.ParseDuration(f[3])
	if err != nil {
		t.Fatalf("step %q: %v", line, err)
	}
	m := &Match{Correlation: f[0], Rule: f[1], RuleName: f[1], Group: map[string]string{}, Time: base.Add(d), EventID: fmt.Sprintf("e%d", i), Dataset: "test", Origin: fmt.Sprintf("step %d", i)}
	if f[2] != "-" {
		for _, kv := range strings.Split(f[2], ",") {
			k, v, _ := strings.Cut(kv, "=")
			m.Group[k] = v
		}
	}
	for _, opt := range f[4:] {
		switch {
		case strings.HasPrefix(opt, "v="):
			m.Value, m.HasValue = strings.TrimPrefix(opt, "v="), true
		case strings.HasPrefix(opt, "id="):
			m.EventID = strings.TrimPrefix(opt, "id=")
		default:
			t.Fatalf("step %q: unknown option %q", line, opt)
		}
	}
	return m
}

// render writes an alert as the scenarios expect it:
// "rule group [start,end) n=count [v=value] [f=field] [fv=value] ev=ids",
// times as offsets from base, evidence that is another alert as @rule.
func render(a *ecs.Alert, base time.Time) string {
	var b strings.Builder
	b.WriteString(a.Rule.ID)
	var g []string
	for k, v := range a.Vigil.Group {
		g = append(g, k+"="+v)
	}
	sort.Strings(g)
	if len(g) == 0 {
		g = []string{"-"}
	}
	b.WriteString(" " + strings.Join(g, ","))
	if a.Vigil.Window != nil {
		fmt.Fprintf(&b, " [%s,%s)", a.Vigil.Window.Start.Sub(base), a.Vigil.Window.End.Sub(base))
	}
	fmt.Fprintf(&b, " n=%d", a.Vigil.Count)
	if a.Vigil.Value != nil {
		b.WriteString(" v=" + strconv.FormatFloat(*a.Vigil.Value, 'f', -1, 64))
	}
	if a.Vigil.Field != "" {
		b.WriteString(" f=" + a.Vigil.Field)
	}
	if a.Vigil.FieldValue != "" {
		b.WriteString(" fv=" + a.Vigil.FieldValue)
	}
	var ev []string
	for _, e := range a.Vigil.Evidence {
		if e.Dataset == "vigil.alerts" {
			ev = append(ev, "@"+strings.TrimPrefix(e.Origin, "correlation "))
		} else {
			ev = append(ev, e.ID)
		}
	}
	b.WriteString(" ev=" + strings.Join(ev, ","))
	return b.String()
}
