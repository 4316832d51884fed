package correlate

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// TestSwapKeepsUnchangedState swaps the rules of a running app, as a
// reload does: the correlation whose definition did not change keeps the
// matches it had; the changed one starts afresh; a removed one no longer
// runs, and its matches go to the dead-letter topic.
func TestSwapKeepsUnchangedState(t *testing.T) {
	w := newWorld(t, 2)
	kept := corrRule("kept", ast.EventCount, []string{"r"}, []string{"u"}, time.Hour, "gte=3")
	changed := corrRule("changed", ast.EventCount, []string{"r"}, []string{"u"}, time.Hour, "gte=3")
	removed := corrRule("removed", ast.EventCount, []string{"r"}, []string{"u"}, time.Hour, "gte=1")
	p := w.processor([]*ast.Rule{kept, changed, removed}, time.Minute)
	run := start(t, w.app(p, t.TempDir()))

	match := func(corr string, i int) *Match {
		return &Match{Correlation: corr, Rule: "r", Group: map[string]string{"u": "alice"}, Time: t0.Add(time.Duration(i) * time.Minute), EventID: fmt.Sprintf("%s-%d", corr, i)}
	}
	for i := range 2 {
		w.produce(w.matchRecord(match("kept", i)), w.matchRecord(match("changed", i)))
	}
	run.waitFor("the first matches", w.quiet)
	if n := len(w.alerts()); n != 0 {
		t.Fatalf("%d alerts before the condition holds", n)
	}

	// The reload: "changed" gets a longer timespan, "removed" goes.
	changed2 := corrRule("changed", ast.EventCount, []string{"r"}, []string{"u"}, 2*time.Hour, "gte=3")
	if err := p.Swap([]*ast.Rule{sentinel(), kept, changed2}); err != nil {
		t.Fatal(err)
	}
	w.produce(w.matchRecord(match("kept", 2)), w.matchRecord(match("changed", 2)), w.matchRecord(match("removed", 2)))
	run.waitFor("the matches after the swap", w.quiet)
	got := map[string]int{}
	for _, a := range w.alerts() {
		got[a.Rule.ID]++
		if a.Rule.ID == "kept" && a.Vigil.Count != 3 {
			t.Errorf("kept fired on %d matches, want 3 (two of them from before the swap)", a.Vigil.Count)
		}
	}
	if got["kept"] != 1 || got["changed"] != 0 || got["removed"] != 0 {
		t.Errorf("alerts by rule %v; want kept once (its state kept), changed not yet (its state started afresh)", got)
	}
	if n := len(w.matchesIn(w.names.DLQ())); n != 1 {
		t.Errorf("%d dead letters, want 1: the match of the removed correlation", n)
	}

	// The changed correlation counts from the swap on.
	for i := 3; i < 5; i++ {
		w.produce(w.matchRecord(match("changed", i)))
	}
	run.waitFor("the last matches", w.quiet)
	for _, a := range w.alerts() {
		if a.Rule.ID == "changed" {
			if a.Vigil.Count != 3 || a.Vigil.Window.End.Sub(a.Vigil.Window.Start) <= time.Hour {
				t.Errorf("changed fired on %d matches over %s, want 3 over its new 2h timespan", a.Vigil.Count, a.Vigil.Window.End.Sub(a.Vigil.Window.Start))
			}
			return
		}
	}
	t.Error("the changed correlation never fired on the three matches after the swap")
}

// TestSwapRejectsBrokenRules: a swap to rules that do not compile
// leaves the running ones.
func TestSwapRejectsBrokenRules(t *testing.T) {
	p, err := NewProcessor([]*ast.Rule{corrRule("a", ast.EventCount, []string{"r"}, nil, time.Minute, "gte=2")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad := corrRule("b", ast.ValueSum, []string{"r"}, nil, time.Minute, "gte=2") // value_sum without a field
	if err := p.Swap([]*ast.Rule{bad}); err == nil {
		t.Fatal("a value_sum without a field swapped in")
	}
	if ids := p.Correlations(); len(ids) != 1 || ids[0] != "a" {
		t.Errorf("correlations after a failed swap: %v, want [a]", ids)
	}
}

// TestWatermarkClosesWindows: a watermark record moves stream time on and
// closes the tumbling windows before it; it counts toward nothing.
func TestWatermarkClosesWindows(t *testing.T) {
	w := newWorld(t, 1)
	avg := corrRule("avg", ast.ValueAvg, []string{"r"}, []string{"u"}, time.Hour, "field=bytes,gt=10")
	p := w.processor([]*ast.Rule{avg}, time.Minute)
	run := start(t, w.app(p, t.TempDir()))
	for i, v := range []string{"5", "30"} {
		m := &Match{Correlation: "avg", Rule: "r", Group: map[string]string{"u": "alice"}, Time: t0.Add(time.Duration(i) * time.Minute), EventID: fmt.Sprintf("e%d", i), Value: v, HasValue: true}
		w.produce(w.matchRecord(m))
	}
	run.waitFor("the matches", w.quiet)
	if n := len(w.alerts()); n != 0 {
		t.Fatalf("%d alerts before the window closed", n)
	}
	// Just before the window's end plus grace: still open.
	wm := func(at time.Time) {
		w.produce(w.matchRecord(&Match{Watermark: true, Time: at}))
	}
	wm(t0.Add(time.Hour + time.Minute - time.Millisecond))
	run.waitFor("the first watermark", w.quiet)
	if n := len(w.alerts()); n != 0 {
		t.Fatalf("%d alerts before the window's end plus grace", n)
	}
	wm(t0.Add(time.Hour + time.Minute))
	run.waitFor("the second watermark", w.quiet)
	alerts := w.alerts()
	if len(alerts) != 1 || alerts[0].Vigil.Value == nil || *alerts[0].Vigil.Value != 17.5 || alerts[0].Vigil.Count != 2 {
		t.Fatalf("alerts %+v; want one with the average 17.5 of two matches", alerts)
	}
	if n := len(w.matchesIn(w.names.DLQ())); n != 0 {
		t.Errorf("%d dead letters: watermarks are not errors", n)
	}
}
