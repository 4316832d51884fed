package correlate

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/streams/streamstest"
)

// restartRules cover sliding and tumbling windows of every kind of state.
func restartRules() []*ast.Rule {
	return []*ast.Rule{
		corrRule("r1", ast.EventCount, []string{"x"}, []string{"user"}, time.Minute, "gte=4"),
		corrRule("r2", ast.ValueCount, []string{"x"}, []string{"user"}, 2*time.Minute, "field=ip,gte=3"),
		corrRule("r3", ast.TemporalOrdered, []string{"a", "b", "c"}, []string{"user"}, time.Minute, ""),
		corrRule("r4", ast.EventCount, []string{"x"}, []string{"user"}, time.Minute, "gt=1,lte=3"),
		corrRule("r5", ast.ValueAvg, []string{"x"}, []string{"user"}, 2*time.Minute, "field=bytes,gt=60"),
		corrRule("r6", ast.ValuePercentile, []string{"x"}, []string{"user"}, 5*time.Minute, "field=ip,lte=10"),
	}
}

// restartWorkload is 1500 matches of 25 users over 25 minutes, mostly in
// order, some up to 40s late (grace is 30s), then ticks far ahead.
func restartWorkload(w *world) []*kgo.Record {
	rng := rand.New(rand.NewPCG(5, 9))
	var recs []*kgo.Record
	for i := 0; i < 1500; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		if rng.IntN(4) == 0 {
			at = at.Add(-time.Duration(rng.IntN(40000)) * time.Millisecond)
		}
		corr := "r" + strconv.Itoa(1+rng.IntN(6))
		rule := "x"
		if corr == "r3" {
			rule = []string{"a", "b", "c"}[rng.IntN(3)]
		}
		m := &Match{
			Correlation: corr, Rule: rule, Group: map[string]string{"user": fmt.Sprintf("u%02d", rng.IntN(25))},
			Time: at, EventID: fmt.Sprintf("ev%04d", i), Dataset: "test",
		}
		switch corr {
		case "r2", "r6":
			m.Value, m.HasValue = fmt.Sprintf("10.0.0.%d", rng.IntN(12)), true
		case "r5":
			m.Value, m.HasValue = strconv.Itoa(rng.IntN(100)), true
		}
		recs = append(recs, w.matchRecord(m))
	}
	return append(recs, w.ticks(t0.Add(2*time.Hour))...)
}

type outcome struct {
	alerts []string // alert documents, sorted
	late   []string // event ids, sorted
}

func (w *world) outcome() outcome {
	var o outcome
	for _, a := range w.alerts() {
		b, err := json.Marshal(a)
		if err != nil {
			w.t.Fatal(err)
		}
		o.alerts = append(o.alerts, string(b))
	}
	for _, r := range w.matchesIn(w.names.Late()) {
		var m Match
		if err := json.Unmarshal(r.Value, &m); err != nil {
			w.t.Fatal(err)
		}
		o.late = append(o.late, m.EventID)
	}
	slices.Sort(o.alerts)
	slices.Sort(o.late)
	return o
}

// TestRestartGivesTheSameOutput stops the app twice mid-stream, the second
// time losing its local state, and checks that what it wrote is exactly
// what an uninterrupted run writes.
func TestRestartGivesTheSameOutput(t *testing.T) {
	brokers := streamstest.Brokers(t)
	const graceRestart = 30 * time.Second

	// The reference: one run over everything.
	ref := newWorldOn(t, brokers, 3)
	ref.produce(restartWorkload(ref)...)
	run := start(t, ref.app(ref.processor(restartRules(), graceRestart), t.TempDir()))
	run.waitFor("uninterrupted run", ref.quiet)
	run.stop()
	want := ref.outcome()
	if len(want.alerts) < 50 || len(want.late) == 0 {
		t.Fatalf("the workload gave %d alerts and %d late matches; it should give many alerts and some late matches", len(want.alerts), len(want.late))
	}

	// Interrupted: stopped after each third of the matches, the second
	// time losing its state directory, so that it restores from the
	// changelogs. Each third is produced while the app is stopped: the
	// matches are the same, in the same order.
	w := newWorldOn(t, brokers, 3)
	recs := restartWorkload(w)
	dirs := []string{t.TempDir(), "", t.TempDir()}
	dirs[1] = dirs[0]
	for i, part := range [][]*kgo.Record{recs[:500], recs[500:1000], recs[1000:]} {
		w.produce(part...)
		run = start(t, w.app(w.processor(restartRules(), graceRestart), dirs[i]))
		run.waitFor(fmt.Sprintf("part %d", i+1), w.quiet)
		run.stop()
	}
	got := w.outcome()

	if !slices.Equal(got.late, want.late) {
		t.Errorf("late matches differ: %d interrupted, %d uninterrupted", len(got.late), len(want.late))
	}
	if !slices.Equal(got.alerts, want.alerts) {
		t.Errorf("alerts differ: %d interrupted, %d uninterrupted", len(got.alerts), len(want.alerts))
		for _, a := range got.alerts {
			if !slices.Contains(want.alerts, a) {
				t.Errorf("only interrupted: %s", a)
			}
		}
		for _, a := range want.alerts {
			if !slices.Contains(got.alerts, a) {
				t.Errorf("only uninterrupted: %s", a)
			}
		}
	}
}
