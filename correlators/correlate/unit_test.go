package correlate

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

func TestCompileReportsEveryProblem(t *testing.T) {
	many := make([]string, 65)
	for i := range many {
		many[i] = fmt.Sprintf("r%d", i)
	}
	rules := []*ast.Rule{
		corrRule("no-cond", ast.EventCount, []string{"x"}, nil, time.Minute, ""),
		corrRule("no-field", ast.ValueSum, []string{"x"}, nil, time.Minute, "gt=1"),
		corrRule("bad-op", ast.EventCount, []string{"x"}, nil, time.Minute, "about=1"),
		corrRule("no-span", ast.EventCount, []string{"x"}, nil, 0, "gt=1"),
		corrRule("too-many", ast.Temporal, many, nil, time.Minute, ""),
		corrRule("bad-group", ast.Temporal, []string{"x", "y"}, []string{"a=b"}, time.Minute, ""),
		corrRule("twice", ast.Temporal, []string{"x", "x"}, nil, time.Minute, ""),
		corrRule("dup", ast.Temporal, []string{"x"}, nil, time.Minute, ""),
		corrRule("dup", ast.Temporal, []string{"y"}, nil, time.Minute, ""),
		corrRule("loop1", ast.Temporal, []string{"loop2"}, nil, time.Minute, ""),
		corrRule("loop2", ast.Temporal, []string{"loop1"}, nil, time.Minute, ""),
		{Kind: ast.KindCorrelation, Correlation: &ast.Correlation{Type: "nearby", Rules: []string{"x"}, Timespan: time.Minute}},
		{Kind: ast.KindDetection, ID: "a detection rule is not the app's"},
	}
	_, err := NewProcessor(rules, Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`"no-cond": type event_count needs a condition`,
		`"no-field": type value_sum needs a field`,
		`"bad-op": unknown condition operator "about"`,
		`"no-span": timespan (0s) must be at least 1ms`,
		`"too-many": references 65 rules`,
		`"bad-group": group-by name "a=b"`,
		`"twice": rule reference "x" is empty or repeated`,
		`correlation "dup" is also defined`,
		`cycle: loop1 -> loop2 -> loop1`,
		`unknown type "nearby"`,
		`needs an id, a name or a title`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the problems do not say %q:\n%v", want, err)
		}
	}
}

func TestSlidingOrTumbling(t *testing.T) {
	for _, c := range []struct {
		typ     ast.CorrType
		cond    string
		sliding bool
	}{
		{ast.EventCount, "gte=3", true},
		{ast.EventCount, "gt=100,lte=200", false},
		{ast.EventCount, "eq=2", false},
		{ast.EventCount, "neq=2", false},
		{ast.ValueCount, "field=f,gt=3", true},
		{ast.ValueCount, "field=f,lt=3", false},
		{ast.ValueSum, "field=f,gt=3", true},
		{ast.ValueAvg, "field=f,gt=3", false},
		{ast.ValuePercentile, "field=f,lte=1", false},
		{ast.Temporal, "", true},
		{ast.TemporalOrdered, "", true},
		{ast.TemporalOrdered, "lt=2", false},
	} {
		byID, err := compile([]*ast.Rule{corrRule("c", c.typ, []string{"a", "b"}, nil, time.Minute, c.cond)})
		if err != nil {
			t.Fatal(err)
		}
		if got := byID["c"].sliding; got != c.sliding {
			t.Errorf("%s %s: sliding %v, want %v", c.typ, c.cond, got, c.sliding)
		}
	}
}

func TestHolds(t *testing.T) {
	byID, err := compile([]*ast.Rule{corrRule("c", ast.EventCount, []string{"a"}, nil, time.Minute, "gt=100,lte=200,neq=150")})
	if err != nil {
		t.Fatal(err)
	}
	c := byID["c"]
	for v, want := range map[float64]bool{100: false, 101: true, 150: false, 200: true, 201: false} {
		if c.holds(v) != want {
			t.Errorf("holds(%v) = %v, want %v", v, !want, want)
		}
	}
}

func TestGenerateAndReferences(t *testing.T) {
	byID, err := compile([]*ast.Rule{
		corrRule("inner", ast.EventCount, []string{"x"}, []string{"u"}, time.Minute, "gte=2", named("inner_name")),
		corrRule("outer", ast.Temporal, []string{"inner_name", "y"}, []string{"u"}, time.Minute, ""),
		corrRule("inner2", ast.EventCount, []string{"x"}, []string{"u"}, time.Minute, "gte=2"),
		corrRule("outer2", ast.Temporal, []string{"inner2", "y"}, []string{"u"}, time.Minute, "", generate),
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"inner": false, "outer": true, "inner2": true, "outer2": true} {
		if byID[id].alert != want {
			t.Errorf("%s raises its own alerts: %v, want %v", id, byID[id].alert, want)
		}
	}
	if len(byID["inner"].outs) != 1 || byID["inner"].outs[0].id != "outer" {
		t.Errorf("inner passes its alerts to %v", byID["inner"].outs)
	}
}

func TestRoutes(t *testing.T) {
	got := Routes([]*ast.Rule{
		corrRule("vc", ast.ValueCount, []string{"login_failed", "id-of-other"}, []string{"host"}, time.Hour, "field=user,gte=10",
			aliases(map[string]map[string]string{"host": {"login_failed": "source.ip"}, "user": {"id-of-other": "user.name"}})),
		{Kind: ast.KindDetection, Name: "login_failed"},
	})
	want := map[string][]Route{
		"login_failed": {{Correlation: "vc", Group: map[string]string{"host": "source.ip"}, ValueField: "user"}},
		"id-of-other":  {{Correlation: "vc", Group: map[string]string{"host": "host"}, ValueField: "user.name"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes\n got %+v\nwant %+v", got, want)
	}
}

func TestHeadRoundTrip(t *testing.T) {
	for _, typ := range []ast.CorrType{ast.EventCount, ast.ValueCount, ast.ValueSum, ast.Temporal, ast.TemporalOrdered} {
		byID, err := compile([]*ast.Rule{corrRule("k", typ, []string{"a", "b", "c"}, nil, time.Minute, "field=f,gte=1")})
		if err != nil {
			t.Fatal(err)
		}
		c := byID["k"]
		h := &head{anchor: 5000, consumed: 1000, timer: noTime, agg: newAgg(c)}
		for i, v := range []string{"7", "x", "7"} {
			h.agg.add(&entry{t: int64(2000 + i), rules: 1 << i, value: v}, 1001)
		}
		got, err := decodeHead(c, h.encode())
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if !reflect.DeepEqual(got, h) {
			t.Errorf("%s: head %+v %+v after a round trip, want %+v %+v", typ, got, got.agg, h, h.agg)
		}
		// A head of another shape of the rule is not taken.
		other, _ := compile([]*ast.Rule{corrRule("k", typ, []string{"a", "b"}, nil, time.Minute, "field=f,gte=1")})
		if _, err := decodeHead(other["k"], h.encode()); err == nil && (typ == ast.Temporal || typ == ast.TemporalOrdered) {
			t.Errorf("%s: a head of three rules decoded for a rule of two", typ)
		}
	}
}

func TestEvidenceIsBounded(t *testing.T) {
	byID, err := compile([]*ast.Rule{corrRule("k", ast.Temporal, []string{"a", "b", "c"}, nil, time.Hour, "")})
	if err != nil {
		t.Fatal(err)
	}
	var es []entry
	es = append(es, entry{t: 0, rules: 1, id: "first-a"})
	es = append(es, entry{t: 1, rules: 2, id: "first-b"})
	for i := 0; i < 300; i++ {
		es = append(es, entry{t: int64(10 + i), rules: 4, id: fmt.Sprintf("c%d", i)})
	}
	ev := evidence(byID["k"], es)
	if len(ev) != MaxEvidence {
		t.Fatalf("%d pieces of evidence, want %d", len(ev), MaxEvidence)
	}
	// Every rule is represented, and the rest are the latest, in order.
	if ev[0].ID != "first-a" || ev[1].ID != "first-b" || ev[2].ID != "c202" || ev[99].ID != "c299" {
		t.Errorf("evidence %v ... %v", ev[:3], ev[99])
	}
}

func TestParseKey(t *testing.T) {
	// State keys are the definition's fingerprint and the match key.
	fp := fingerprint(&ast.Correlation{Type: ast.EventCount, Rules: []string{"r"}, Timespan: time.Minute})
	stateKey := func(m *Match) []byte { return append(fp[:], m.Key()...) }
	m := &Match{Correlation: "corr", Group: map[string]string{"b": "2=two", "a": ""}}
	id, group := parseKey(stateKey(m))
	if id != "corr" || !reflect.DeepEqual(group, m.Group) {
		t.Errorf("parseKey(%q) = %q %v", stateKey(m), id, group)
	}
	if id, group := parseKey(stateKey(&Match{Correlation: "c"})); id != "c" || len(group) != 0 {
		t.Errorf("no group: %q %v", id, group)
	}
	if id, _ := parseKey([]byte("short")); id != "" {
		t.Errorf("a key shorter than a fingerprint: id %q", id)
	}
}

func TestFingerprint(t *testing.T) {
	base := func() *ast.Correlation {
		return &ast.Correlation{Type: ast.EventCount, Rules: []string{"r"}, GroupBy: []string{"u"}, Timespan: time.Minute,
			Condition: &ast.CorrCondition{Tests: []ast.CmpTest{{Op: "gte", Value: 3}}}}
	}
	fp := fingerprint(base())
	if fingerprint(base()) != fp {
		t.Fatal("the fingerprint of one definition differs")
	}
	for name, change := range map[string]func(*ast.Correlation){
		"type":      func(c *ast.Correlation) { c.Type = ast.ValueCount },
		"rules":     func(c *ast.Correlation) { c.Rules = []string{"r", "s"} },
		"group-by":  func(c *ast.Correlation) { c.GroupBy = nil },
		"timespan":  func(c *ast.Correlation) { c.Timespan = time.Hour },
		"condition": func(c *ast.Correlation) { c.Condition.Tests[0].Value = 4 },
		"field":     func(c *ast.Correlation) { c.Condition.Field = "x" },
		"aliases":   func(c *ast.Correlation) { c.Aliases = map[string]map[string]string{"u": {"r": "x"}} },
		"generate":  func(c *ast.Correlation) { c.Generate = true },
	} {
		c := base()
		change(c)
		if fingerprint(c) == fp {
			t.Errorf("changing %s leaves the fingerprint", name)
		}
	}
}

func FuzzDecodeBucket(f *testing.F) {
	e := entry{rules: 5, id: "id", dataset: "ds", origin: "o", value: "v", hasValue: true}
	f.Add(appendEntry(appendEntry(nil, &e), &entry{id: "x"}))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := decodeBucket(7, b)
		if err != nil {
			return
		}
		var again []byte
		for i := range es {
			again = appendEntry(again, &es[i])
		}
		back, err := decodeBucket(7, again)
		if err != nil || !reflect.DeepEqual(back, es) {
			t.Errorf("round trip of %x: %v %v", b, err, back)
		}
		byID, _ := compile([]*ast.Rule{corrRule("c", ast.TemporalOrdered, []string{"a", "b"}, nil, time.Minute, "")})
		_, _ = decodeHead(byID["c"], b)
	})
}
