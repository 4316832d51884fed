package streams_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigilsec/vigil/broker"
	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
)

// windowCount counts records per key in windows and emits
// "key start end count" lines.
type windowCount struct {
	w   *streams.Windowed
	out string
}

func newWindowCount(out string, kind streams.WindowKind, size, grace time.Duration) *windowCount {
	p := &windowCount{out: out}
	p.w = &streams.Windowed{
		Store: "counts", Kind: kind, Size: size, Advance: size / 2, Gap: size, Grace: grace, Emit: streams.EmitOnClose,
		Add: func(agg, _ []byte) ([]byte, error) {
			var n uint64
			if len(agg) == 8 {
				n = binary.BigEndian.Uint64(agg)
			}
			return binary.BigEndian.AppendUint64(nil, n+1), nil
		},
		Merge: func(a, b []byte) ([]byte, error) {
			return binary.BigEndian.AppendUint64(nil, binary.BigEndian.Uint64(a)+binary.BigEndian.Uint64(b)), nil
		},
		Result: func(c *streams.Context, key []byte, w state.Window, agg []byte) error {
			c.Emit(out, key, []byte(fmt.Sprintf("%s %d %d %d", key, w.Start.UnixMilli(), w.End.UnixMilli(), binary.BigEndian.Uint64(agg))))
			return nil
		},
	}
	return p
}

func (p *windowCount) Process(c *streams.Context, r *kgo.Record) error {
	return p.w.Aggregate(c, r.Key, nil, c.EventTime())
}

func (p *windowCount) OnStreamTime(c *streams.Context, st time.Time) error { return p.w.Close(c, st) }

// tumblingReference computes what a tumbling count emits on close, per
// partition in produce order.
func tumblingReference(recs []*kgo.Record, size, grace int64) map[string]int {
	type wk struct {
		key   string
		start int64
	}
	st := map[int32]int64{}
	counts := map[wk]int{}
	for _, r := range recs {
		t := r.Timestamp.UnixMilli()
		if t > st[r.Partition] {
			st[r.Partition] = t
		}
		start := t - ((t%size)+size)%size
		if start+size+grace <= st[r.Partition] {
			continue // late
		}
		counts[wk{string(r.Key), start}]++
	}
	out := map[string]int{}
	for k, n := range counts {
		if k.key == "end" {
			continue
		}
		out[fmt.Sprintf("%s %d %d %d", k.key, k.start, k.start+size, n)]++
	}
	return out
}

func runStateful(t *testing.T, app streams.App, until func() bool) {
	t.Helper()
	r, err := streams.New(app)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.After(90 * time.Second)
	for !until() {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("runner stopped early: %v", err)
		case <-deadline:
			cancel()
			<-done
			t.Fatal("condition not reached in time")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestWindowedCountSurvivesRestarts(t *testing.T) {
	for _, mode := range []string{"fresh state dir", "same state dir"} {
		t.Run(mode, func(t *testing.T) {
			brokers := streamstest.Brokers(t)
			p := streamstest.Prefix(t)
			in, out := p+".in", p+".out"
			streamstest.CreateTopics(t, brokers, 3, in, out, p+".dlq", p+".late")

			const size, grace = 10_000, 3_000
			rng := rand.New(rand.NewPCG(7, 7))
			base := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
			var recs []*kgo.Record
			for i := 0; i < 3000; i++ {
				k := rng.IntN(20)
				part := int32(k % 3) // a key lives in one partition
				// Mostly in order, some up to 5s late: some of those past grace.
				ts := base.Add(time.Duration(i*40)*time.Millisecond - time.Duration(rng.IntN(5000))*time.Millisecond)
				recs = append(recs, &kgo.Record{Topic: in, Partition: part, Key: []byte(fmt.Sprintf("k%02d", k)), Timestamp: ts})
			}
			firstHalf, secondHalf := recs[:1500], recs[1500:]
			var ends []*kgo.Record
			for part := int32(0); part < 3; part++ {
				ends = append(ends, &kgo.Record{Topic: in, Partition: part, Key: []byte("end"), Timestamp: base.Add(24 * time.Hour)})
			}
			manual := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner())}
			produce := func(rs []*kgo.Record) {
				cl := streamstest.Client(t, brokers, manual[1:]...)
				if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}

			dir := t.TempDir()
			app := func() streams.App {
				return streams.App{
					Name: "count", Group: p + "-count", Inputs: []string{in},
					Processor: newWindowCount(out, streams.Tumbling, size*time.Millisecond, grace*time.Millisecond),
					Stores:    []state.Spec{{Name: "counts", Kind: state.KindWindow, Retention: 20 * time.Second, SegmentInterval: 5 * time.Second}},
					State:     state.Options{Dir: dir},
					Client:    []kgo.Opt{kgo.SeedBrokers(brokers...)},
					DLQ:       p + ".dlq", LateTopic: p + ".late",
				}
			}
			var consumed atomic.Int64
			obs := observerFunc(func(c map[string]int64) {
				for _, n := range c {
					consumed.Add(n)
				}
			})
			a := app()
			a.Observer = obs
			produce(firstHalf)
			runStateful(t, a, func() bool { return consumed.Load() >= int64(len(firstHalf)) })

			if mode == "fresh state dir" {
				dir = t.TempDir() // everything restores from the changelogs
			}
			produce(secondHalf)
			produce(ends)
			a = app()
			a.Observer = obs
			runStateful(t, a, func() bool { return consumed.Load() >= int64(len(recs)+len(ends)) })

			want := tumblingReference(append(append([]*kgo.Record(nil), recs...), ends...), size, grace)
			got := map[string]int{}
			for _, r := range streamstest.ReadCommitted(t, brokers, out) {
				got[string(r.Value)]++
			}
			if diff := diffCounts(got, want); diff != "" {
				t.Errorf("window results differ from the reference (got %d, want %d):\n%s", len(got), len(want), diff)
			}
			late := streamstest.ReadCommitted(t, brokers, p+".late")
			if len(late) == 0 {
				t.Error("no record was late; the test data should have some")
			}
			for _, l := range late {
				if streams.Header(l, streams.HeaderLate) == "" {
					t.Errorf("late record without reason: %v", l.Headers)
				}
			}
		})
	}
}

type observerFunc func(consumed map[string]int64)

func (f observerFunc) Committed(_ string, consumed, _ map[string]int64) { f(consumed) }

func diffCounts(got, want map[string]int) string {
	var lines []string
	for k, n := range want {
		if got[k] != n {
			lines = append(lines, fmt.Sprintf("  %-40s got %d want %d", k, got[k], n))
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("  %-40s got %d want 0", k, n))
		}
	}
	sort.Strings(lines)
	if len(lines) > 20 {
		lines = append(lines[:20], fmt.Sprintf("  ... %d more", len(lines)-20))
	}
	return strings.Join(lines, "\n")
}

// TestExistingInternalTopicsAreNotCreated: once a stateful app's changelogs
// exist, it starts with credentials that may not create topics (the
// broker refuses every CreateTopics), as after "vigil topics --create".
func TestExistingInternalTopicsAreNotCreated(t *testing.T) {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	brokers := []string{b.Addr()}
	p := streamstest.Prefix(t)
	in, out := p+".in", p+".out"
	streamstest.CreateTopics(t, brokers, 3, in, out, p+".dlq", p+".late")
	app := streams.App{
		Name: "count", Group: p + "-count", Inputs: []string{in},
		Processor: newWindowCount(out, streams.Tumbling, 10*time.Second, time.Second),
		Stores:    []state.Spec{{Name: "counts", Kind: state.KindWindow, Retention: 20 * time.Second, SegmentInterval: 5 * time.Second}},
		State:     state.Options{Dir: t.TempDir()},
		Client:    []kgo.Opt{kgo.SeedBrokers(brokers...)},
		DLQ:       p + ".dlq", LateTopic: p + ".late",
	}
	r, err := streams.New(app)
	if err != nil {
		t.Fatal(err)
	}
	internal := r.InternalTopics()
	if len(internal) < 2 {
		t.Fatalf("InternalTopics = %v, want the changelogs of the task, timer and counts stores", internal)
	}
	// The operator creates them, as vigil topics --create would.
	adm := kadm.NewClient(streamstest.Client(t, brokers))
	for _, it := range internal {
		cfg := map[string]*string{}
		for k, v := range it.Config {
			cfg[k] = &v
		}
		if _, err := adm.CreateTopic(context.Background(), 3, -1, cfg, it.Name); err != nil {
			t.Fatal(err)
		}
	}
	var refused atomic.Int64
	cl := b.Cluster()
	cl.ControlKey(int16(kmsg.CreateTopics), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		refused.Add(1)
		resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, rt := range req.(*kmsg.CreateTopicsRequest).Topics {
			st := kmsg.NewCreateTopicsResponseTopic()
			st.Topic, st.ErrorCode = rt.Topic, kerr.TopicAuthorizationFailed.Code
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	produced := streamstest.Client(t, brokers)
	if err := produced.ProduceSync(context.Background(), &kgo.Record{Topic: in, Key: []byte("k"), Timestamp: time.Now()}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var consumed atomic.Int64
	app.Observer = observerFunc(func(c map[string]int64) {
		for _, n := range c {
			consumed.Add(n)
		}
	})
	runStateful(t, app, func() bool { return consumed.Load() >= 1 })
	if n := refused.Load(); n != 0 {
		t.Errorf("%d CreateTopics requests for topics that exist", n)
	}
}
