package correlate

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/streams"
)

// scenario is a set of correlation rules, the matches they see (in
// production order, times as offsets from the scenario's start) and the
// alerts they must raise, rendered as render does.
type scenario struct {
	name  string
	rules []*ast.Rule
	steps []string
	want  []string
	// late are the event ids expected on the late topic.
	late []string
}

const grace = 2 * time.Minute

var scenarios = []scenario{{
	name:  "event_count: threshold, boundary of the timespan, groups, duplicates, repeated firing",
	rules: []*ast.Rule{corrRule("ec1", ast.EventCount, []string{"login"}, []string{"User"}, 10*time.Minute, "gte=3"), corrRule("ec2", ast.EventCount, []string{"login"}, []string{"User"}, 10*time.Minute, "gte=2")},
	steps: []string{
		"ec1 login User=alice 0s",
		"ec1 login User=alice 1m",
		"ec1 login User=alice 2m", // the third within 10m
		"ec1 login User=bob 3m",
		"ec1 login User=bob 8m",
		"ec1 login User=bob 13m", // exactly 10m after the first: inside
		"ec1 login User=carol 14m",
		"ec1 login User=carol 19m",
		"ec1 login User=carol 24m0.001s", // 10m and 1ms after the first: outside
		"ec1 login User=dave 25m",
		"ec1 login User=erin 26m", // another group does not count for dave
		"ec1 login User=dave 27m",
		"ec1 login User=frank 28m id=dup",
		"ec1 login User=frank 28m id=dup", // the same event again counts once
		"ec1 login User=frank 29m",
		"ec2 login User=alice 30m",
		"ec2 login User=alice 31m", // fires, and spends 30m and 31m
		"ec2 login User=alice 32m",
		"ec2 login User=alice 33m", // fires again with two new matches
		"ec2 login User=alice 34m", // one unspent match: no alert
	},
	want: []string{
		"ec1 User=alice [-8m0s,2m0.001s) n=3 ev=e0,e1,e2",
		"ec1 User=bob [3m0s,13m0.001s) n=3 ev=e3,e4,e5",
		"ec2 User=alice [21m0s,31m0.001s) n=2 ev=e15,e16",
		"ec2 User=alice [23m0s,33m0.001s) n=2 ev=e17,e18",
	},
}, {
	name: "out of order and late matches",
	rules: []*ast.Rule{
		corrRule("ooo1", ast.EventCount, []string{"login"}, []string{"User"}, 10*time.Minute, "gte=3"),
		corrRule("ooo2", ast.EventCount, []string{"login"}, []string{"User"}, time.Minute, "gte=3"),
		corrRule("ooo3", ast.EventCount, []string{"login"}, []string{"User"}, 10*time.Minute, "gte=2"),
	},
	steps: []string{
		"ooo1 login User=a 40s",
		"ooo1 login User=a 10s",
		"ooo1 login User=a 20s", // completes the window ending at 40s
		"ooo2 login User=b 1m10s",
		"ooo2 login User=b 1m40s",
		"ooo2 login User=b 3m10s",
		"ooo2 login User=b 2m10s", // completes the window ending at itself, not the newest
		"ooo3 login User=c 5m",
		"ooo3 login User=c 2m59.999s", // t + 1ms + grace = stream time: late
		"ooo3 login User=d 6m",
		"ooo3 login User=d 4m", // 1ms inside grace
	},
	want: []string{
		"ooo1 User=a [-9m20s,40.001s) n=3 ev=e1,e2,e0",
		"ooo2 User=b [1m10s,2m10.001s) n=3 ev=e3,e4,e6",
		"ooo3 User=d [-4m0s,6m0.001s) n=2 ev=e10,e9",
	},
	late: []string{"e8"},
}, {
	name:  "value_count",
	rules: []*ast.Rule{corrRule("vc1", ast.ValueCount, []string{"fail"}, []string{"Computer"}, 10*time.Minute, "field=User,gte=3")},
	steps: []string{
		"vc1 fail Computer=h1 0s v=a",
		"vc1 fail Computer=h1 1m v=b",
		"vc1 fail Computer=h1 2m v=a",
		"vc1 fail Computer=h1 3m v=c",
		"vc1 fail Computer=h2 4m v=a",
		"vc1 fail Computer=h2 5m v=a",
		"vc1 fail Computer=h2 6m v=a",
		"vc1 fail Computer=h3 7m", // no value: ignored
		"vc1 fail Computer=h3 8m v=a",
		"vc1 fail Computer=h3 9m v=b",
		"vc1 fail Computer=h4 10m v=a",
		"vc1 fail Computer=h4 15m v=b",
		"vc1 fail Computer=h4 20m0.001s v=c", // a has left the window
	},
	want: []string{"vc1 Computer=h1 [-7m0s,3m0.001s) n=4 v=3 f=User ev=e0,e1,e2,e3"},
}, {
	name:  "value_sum",
	rules: []*ast.Rule{corrRule("vs1", ast.ValueSum, []string{"upload"}, []string{"Host"}, 10*time.Minute, "field=bytes,gt=1000")},
	steps: []string{
		"vs1 upload Host=g1 0s v=400",
		"vs1 upload Host=g1 1m v=400",
		"vs1 upload Host=g1 2m v=300",
		"vs1 upload Host=g2 3m v=400",
		"vs1 upload Host=g2 4m v=600", // 1000 is not more than 1000
		"vs1 upload Host=g3 5m v=abc", // not a number: ignored
		"vs1 upload Host=g3 6m v=1500",
		"vs1 upload Host=g4 7m v=600",
		"vs1 upload Host=g4 17m0.001s v=600", // the first has left the window
		"vs1 upload Host=g5 18m v=2000",
		"vs1 upload Host=g5 19m v=1", // 2000 is spent
	},
	want: []string{
		"vs1 Host=g1 [-8m0s,2m0.001s) n=3 v=1100 f=bytes ev=e0,e1,e2",
		"vs1 Host=g3 [-4m0s,6m0.001s) n=1 v=1500 f=bytes ev=e6",
		"vs1 Host=g5 [8m0s,18m0.001s) n=1 v=2000 f=bytes ev=e9",
	},
}, {
	name: "temporal",
	rules: []*ast.Rule{
		corrRule("tp1", ast.Temporal, []string{"a", "b", "c"}, []string{"host"}, 5*time.Minute, ""),
		corrRule("tp2", ast.Temporal, []string{"a", "b", "c"}, []string{"host"}, 5*time.Minute, "gte=2"),
		corrRule("tp3", ast.Temporal, []string{"a", "b"}, []string{"host"}, 5*time.Minute, ""),
	},
	steps: []string{
		"tp1 a host=g1 0s",
		"tp1 c host=g1 1m",
		"tp1 b host=g1 2m",
		"tp1 a host=g2 3m",
		"tp1 b host=g2 4m",
		"tp1 c host=g2 9m", // a is 6m before
		"tp1 a host=g3 10m",
		"tp1 b host=g3 11m",
		"tp1 c host=g3 15m", // exactly 5m after a
		"tp2 a host=g4 16m",
		"tp2 a host=g4 17m", // one rule twice is one rule
		"tp2 a host=g5 18m",
		"tp2 c host=g5 19m",
		"tp3 a host=g6 20m id=x",
		"tp3 b host=g6 20m id=x", // one event matching both rules
		"tp3 a host=g7 21m id=y",
		"tp3 a host=g7 21m id=y",
	},
	want: []string{
		"tp1 host=g1 [-3m0s,2m0.001s) n=3 v=3 ev=e0,e1,e2",
		"tp1 host=g3 [10m0s,15m0.001s) n=3 v=3 ev=e6,e7,e8",
		"tp2 host=g5 [14m0s,19m0.001s) n=2 v=2 ev=e11,e12",
		"tp3 host=g6 [15m0s,20m0.001s) n=1 v=2 ev=x",
	},
}, {
	name: "temporal_ordered",
	rules: []*ast.Rule{
		corrRule("to1", ast.TemporalOrdered, []string{"a", "b", "c"}, []string{"host"}, 5*time.Minute, ""),
		corrRule("to2", ast.TemporalOrdered, []string{"a", "b", "c"}, []string{"host"}, 5*time.Minute, "gte=2"),
	},
	steps: []string{
		"to1 a host=g1 0s",
		"to1 b host=g1 1m",
		"to1 c host=g1 2m",
		"to1 b host=g2 3m", // b before a
		"to1 a host=g2 4m",
		"to1 c host=g2 5m",
		"to1 a host=g3 6m",
		"to1 c host=g3 8m",
		"to1 b host=g3 7m", // arrives last, belongs in the middle
		"to1 a host=g4 9m",
		"to1 b host=g4 10m",
		"to1 c host=g4 14m0.001s", // the chain spans more than 5m
		"to1 a host=g5 15m",
		"to1 b host=g5 15m", // the same millisecond, in order of arrival
		"to1 c host=g5 15m",
		"to2 b host=g6 16m",
		"to2 a host=g6 17m", // only a, from the start of the list
		"to2 a host=g7 18m",
		"to2 b host=g7 19m",
	},
	want: []string{
		"to1 host=g1 [-3m0s,2m0.001s) n=3 v=3 ev=e0,e1,e2",
		"to1 host=g3 [3m0s,8m0.001s) n=3 v=3 ev=e6,e8,e7",
		"to1 host=g5 [10m0s,15m0.001s) n=3 v=3 ev=e12,e13,e14",
		"to2 host=g7 [14m0s,19m0.001s) n=2 v=2 ev=e17,e18",
	},
}, {
	name: "tumbling windows: ranges, eq, neq, lt, and the types under them",
	rules: []*ast.Rule{
		corrRule("tw1", ast.EventCount, []string{"r"}, []string{"u"}, 10*time.Minute, "gt=2,lte=4"),
		corrRule("tw2", ast.EventCount, []string{"r"}, []string{"u"}, 10*time.Minute, "eq=2"),
		corrRule("tw3", ast.EventCount, []string{"r"}, []string{"u"}, 10*time.Minute, "neq=2"),
		corrRule("tw4", ast.EventCount, []string{"r"}, []string{"u"}, 10*time.Minute, "lt=3"),
		corrRule("tw5", ast.TemporalOrdered, []string{"a", "b"}, []string{"u"}, 10*time.Minute, "lt=2"),
		corrRule("tw6", ast.ValueCount, []string{"r"}, []string{"u"}, 10*time.Minute, "field=user,lte=1"),
		corrRule("tw7", ast.ValueSum, []string{"r"}, []string{"u"}, 10*time.Minute, "field=b,gte=10,lte=20"),
	},
	steps: []string{
		"tw1 r u=g1 1m", "tw1 r u=g2 1m", "tw1 r u=g3 1m",
		"tw1 r u=g1 2m", "tw1 r u=g2 2m", "tw1 r u=g3 2m",
		"tw1 r u=g1 3m", "tw1 r u=g2 3m", // g1: 3, in range
		"tw1 r u=g2 4m", "tw1 r u=g2 5m", // g2: 5, above
		"tw2 r u=h1 5m", "tw2 r u=h1 6m", // 2
		"tw2 r u=h2 5m", "tw2 r u=h2 6m", "tw2 r u=h2 7m",
		"tw3 r u=i1 5m", // 1 is not 2
		"tw3 r u=i2 5m", "tw3 r u=i2 6m",
		"tw4 r u=j1 6m", "tw4 r u=j1 7m",
		"tw4 r u=j2 6m", "tw4 r u=j2 7m", "tw4 r u=j2 7m",
		"tw5 b u=k1 7m", "tw5 a u=k1 8m", // not in order: 1 rule in order
		"tw5 a u=k2 7m", "tw5 b u=k2 8m",
		"tw6 r u=m1 8m v=x", "tw6 r u=m1 8m v=x",
		"tw6 r u=m2 8m v=x", "tw6 r u=m2 8m v=y",
		"tw7 r u=n1 8m v=5", "tw7 r u=n1 9m v=6",
		"tw7 r u=n2 8m v=5", "tw7 r u=n2 9m v=30",
		"tw1 r u=g4 9m", "tw1 r u=g4 9m30s", "tw1 r u=g4 11m", // split by the window's end
		"tw1 r u=g5 12m30s",
		"tw1 r u=g5 9m", // its window closed at 12m: late
		"tick 40m",
	},
	want: []string{
		"tw1 u=g1 [0s,10m0s) n=3 ev=e0,e3,e6",
		"tw2 u=h1 [0s,10m0s) n=2 ev=e10,e11",
		"tw3 u=i1 [0s,10m0s) n=1 ev=e15",
		"tw4 u=j1 [0s,10m0s) n=2 ev=e18,e19",
		"tw5 u=k1 [0s,10m0s) n=2 v=1 ev=e23,e24",
		"tw6 u=m1 [0s,10m0s) n=2 v=1 f=user ev=e27,e28",
		"tw7 u=n1 [0s,10m0s) n=2 v=11 f=b ev=e31,e32",
	},
	late: []string{"e39"},
}, {
	name:  "value_avg",
	rules: []*ast.Rule{corrRule("va1", ast.ValueAvg, []string{"r"}, []string{"h"}, 10*time.Minute, "field=bytes,gt=500")},
	steps: []string{
		"va1 r h=h1 1m v=400", "va1 r h=h1 2m v=700",
		"va1 r h=h2 1m v=400", "va1 r h=h2 2m v=500",
		"va1 r h=h3 1m v=x", "va1 r h=h3 2m v=600",
		"tick 30m",
	},
	want: []string{
		"va1 h=h1 [0s,10m0s) n=2 v=550 f=bytes ev=e0,e1",
		"va1 h=h3 [0s,10m0s) n=1 v=600 f=bytes ev=e5",
	},
}, {
	name: "value_percentile",
	rules: []*ast.Rule{
		corrRule("vp1", ast.ValuePercentile, []string{"proc"}, []string{"host"}, 10*time.Minute, "field=image,lte=20"),
		corrRule("vp2", ast.ValuePercentile, []string{"proc"}, []string{"host"}, 10*time.Minute, "field=image,gte=50"),
	},
	steps: []string{
		"vp1 proc host=c1 1m v=svchost", "vp1 proc host=c1 1m v=svchost", "vp1 proc host=c1 1m v=svchost",
		"vp1 proc host=c1 2m v=svchost", "vp1 proc host=c1 2m v=svchost", "vp1 proc host=c1 2m v=svchost",
		"vp1 proc host=c1 3m v=svchost", "vp1 proc host=c1 3m v=svchost", "vp1 proc host=c1 3m v=svchost",
		"vp1 proc host=c1 4m v=evil",
		"vp1 proc host=c2 4m v=a", "vp1 proc host=c2 4m v=a", "vp1 proc host=c2 4m v=a", "vp1 proc host=c2 4m v=a",
		"vp1 proc host=c2 5m v=b",
		"vp1 proc host=c3 5m v=a", "vp1 proc host=c3 5m v=a", "vp1 proc host=c3 5m v=b", "vp1 proc host=c3 5m v=b",
		"vp2 proc host=c4 5m v=a", "vp2 proc host=c4 5m v=a", "vp2 proc host=c4 5m v=a", "vp2 proc host=c4 5m v=b",
		"tick 30m",
	},
	want: []string{
		"vp1 host=c1 [0s,10m0s) n=1 v=10 f=image fv=evil ev=e9",
		"vp1 host=c2 [0s,10m0s) n=1 v=20 f=image fv=b ev=e14",
		"vp2 host=c4 [0s,10m0s) n=3 v=75 f=image fv=a ev=e19,e20,e21",
	},
}, {
	name: "aliases",
	rules: []*ast.Rule{corrRule("al1", ast.Temporal, []string{"internal_error", "new_network_connection"}, []string{"internal_ip", "remote_ip"}, 10*time.Second, "",
		aliases(map[string]map[string]string{
			"internal_ip": {"internal_error": "destination.ip", "new_network_connection": "source.ip"},
			"remote_ip":   {"internal_error": "source.ip", "new_network_connection": "destination.ip"},
		}))},
	steps: []string{
		"al1 internal_error internal_ip=10.0.0.5,remote_ip=203.0.113.9 0s",
		"al1 new_network_connection internal_ip=10.0.0.5,remote_ip=203.0.113.9 5s",
		"al1 internal_error internal_ip=10.0.0.6,remote_ip=203.0.113.9 6s",
		"al1 new_network_connection internal_ip=203.0.113.9,remote_ip=10.0.0.6 7s", // the other way round
	},
	want: []string{"al1 internal_ip=10.0.0.5,remote_ip=203.0.113.9 [-5s,5.001s) n=2 v=2 ev=e0,e1"},
}, {
	name: "correlations of correlations",
	rules: []*ast.Rule{
		corrRule("mf1", ast.EventCount, []string{"failed_login"}, []string{"User"}, 10*time.Minute, "gte=3", named("many_failed1")),
		corrRule("fs1", ast.TemporalOrdered, []string{"many_failed1", "successful_login"}, []string{"User"}, 10*time.Minute, ""),
		corrRule("mf2", ast.EventCount, []string{"failed_login"}, []string{"User"}, 10*time.Minute, "gte=2", named("many_failed2")),
		corrRule("fs2", ast.TemporalOrdered, []string{"many_failed2", "successful_login"}, []string{"User"}, 10*time.Minute, "", generate),
		// A tumbling inner correlation, referenced by id, through an alias.
		corrRule("mt3", ast.EventCount, []string{"failed_login"}, []string{"User"}, 10*time.Minute, "lt=3"),
		corrRule("ot3", ast.EventCount, []string{"mt3"}, []string{"Account"}, time.Hour, "gte=1",
			aliases(map[string]map[string]string{"Account": {"mt3": "User"}})),
	},
	// Each group's matches go to the app and are done with (wait) before
	// the next group's, so that the matches the app passes on from inner
	// to outer correlations come before later stream time.
	steps: []string{
		"mf1 failed_login User=alice 0s",
		"mf1 failed_login User=alice 1m",
		"mf1 failed_login User=alice 2m", // mf1 fires; its alert goes to fs1 only
		"fs1 successful_login User=alice 3m",
		"wait", // mf1's match for fs1 arrives after the success it precedes
		"fs1 successful_login User=bob 4m",
		"mf1 failed_login User=bob 5m",
		"mf1 failed_login User=bob 6m",
		"mf1 failed_login User=bob 7m", // after the success: not in order
		"wait",
		"mf2 failed_login User=carol 8m",
		"mf2 failed_login User=carol 9m",
		"fs2 successful_login User=carol 10m",
		"wait",
		"mt3 failed_login User=dave 11m", // window [10m, 20m) closes at 22m
		"wait",
		"tick 23m",
	},
	want: []string{
		"fs1 User=alice [-7m0s,3m0.001s) n=2 v=2 ev=@mf1,e3",
		"mf2 User=carol [-1m0s,9m0.001s) n=2 ev=e8,e9",
		"fs2 User=carol [0s,10m0.001s) n=2 v=2 ev=@mf2,e10",
		"ot3 Account=dave [-38m0s,22m0.001s) n=1 ev=@mt3",
	},
}}

func TestCorrelations(t *testing.T) { runScenarios(t, scenarios) }

// runScenarios runs scenarios one after the other, each to its end, days
// apart, in one app, and checks what each raised.
func runScenarios(t *testing.T, scenarios []scenario) {
	t.Helper()
	w := newWorld(t, 3)
	var rules []*ast.Rule
	owner := map[string]int{}
	byID := map[string]*ast.Rule{}
	for i, sc := range scenarios {
		rules = append(rules, sc.rules...)
		for _, r := range sc.rules {
			if r.Kind == ast.KindCorrelation {
				owner[CorrelationID(r)] = i
				byID[CorrelationID(r)] = r
			}
		}
	}
	p := w.processor(rules, grace)
	run := start(t, w.app(p, t.TempDir()))
	bases := make([]time.Time, len(scenarios))
	for i, sc := range scenarios {
		// Scenarios are days apart and run one after the other, each to
		// the end, so that stream time is theirs.
		bases[i] = t0.Add(time.Duration(i) * 72 * time.Hour)
		var recs []*kgo.Record
		n := 0
		for _, line := range sc.steps {
			switch f := strings.Fields(line); f[0] {
			case "wait":
				w.produce(recs...)
				recs = nil
				run.waitFor(sc.name, w.quiet)
			case "tick":
				at, err := time.ParseDuration(f[1])
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, w.ticks(bases[i].Add(at))...)
			default:
				recs = append(recs, w.matchRecord(parseStep(t, bases[i], n, line)))
				n++
			}
		}
		w.produce(recs...)
		run.waitFor(sc.name, w.quiet)
	}
	run.stop()

	got := make([][]string, len(scenarios))
	for _, a := range w.alerts() {
		i, ok := owner[a.Rule.ID]
		if !ok {
			t.Errorf("alert of unknown rule %s", a.Rule.ID)
			continue
		}
		got[i] = append(got[i], render(a, bases[i]))
		r := byID[a.Rule.ID]
		level := r.Level
		if level == "" {
			level = "medium"
		}
		if a.Vigil.Kind != "correlation" || a.Vigil.Level != level || a.Event.Severity != ecs.Severity(level) || a.Rule.Name != r.Title {
			t.Errorf("alert %s: kind %q level %q severity %d name %q", a.Rule.ID, a.Vigil.Kind, a.Vigil.Level, a.Event.Severity, a.Rule.Name)
		}
	}
	for i, sc := range scenarios {
		want := slices.Clone(sc.want)
		sort.Strings(want)
		sort.Strings(got[i])
		if !slices.Equal(got[i], want) {
			t.Errorf("%s: alerts\n got: %s\nwant: %s", sc.name, strings.Join(got[i], "\n      "), strings.Join(want, "\n      "))
		}
	}

	// Late matches went to the late topic, with the reason.
	gotLate := make([][]string, len(scenarios))
	for _, r := range w.matchesIn(w.names.Late()) {
		var m Match
		if err := json.Unmarshal(r.Value, &m); err != nil {
			t.Fatal(err)
		}
		if streams.Header(r, streams.HeaderLate) == "" {
			t.Errorf("late match %s without a reason", m.EventID)
		}
		i := owner[m.Correlation]
		gotLate[i] = append(gotLate[i], m.EventID)
	}
	for i, sc := range scenarios {
		if !slices.Equal(gotLate[i], sc.late) {
			t.Errorf("%s: late matches %v, want %v", sc.name, gotLate[i], sc.late)
		}
	}
	if dlq := w.matchesIn(w.names.DLQ()); len(dlq) > 0 {
		t.Errorf("%d records dead-lettered: first %s: %s", len(dlq), dlq[0].Value, streams.Header(dlq[0], streams.HeaderError))
	}
}
