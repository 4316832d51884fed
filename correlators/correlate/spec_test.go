package correlate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/correlators/sigma"
	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// The first 16 hex digits of the SHA-256 of each example, as the corpus's
// SOURCES.tsv lists them.
var specSums = map[string]string{
	"example_01.yml": "8071359dd88203c1", "example_02.yml": "a0253495565ef617",
	"example_03.yml": "e2afa35ba7865c7d", "example_04.yml": "fc6e870fd3c9d218",
	"example_05.yml": "b1a0e45f8547c430", "example_06.yml": "ad3e2a0dff093069",
	"example_07.yml": "a08f51eec35ff197", "example_08.yml": "b532c59993ec5982",
	"example_09.yml": "0718375851314a3c", "example_10.yml": "4c0372d1dfcc90d0",
	"example_11.yml": "8fbe8e357ba08acf", "example_12.yml": "9afdb510b023791a",
	"example_13.yml": "5e44273c51ce7e02", "example_14.yml": "605dac2fe66011cc",
	"example_15.yml": "0a73f34796e3b621", "example_16.yml": "c67ca3c7d3be8a10",
}

func TestSpecExamplesAreVerbatim(t *testing.T) {
	files, err := filepath.Glob("testdata/spec/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(specSums) {
		t.Errorf("%d examples in testdata/spec, want %d", len(files), len(specSums))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:8]); got != specSums[filepath.Base(f)] {
			t.Errorf("%s: sha256 %s, want %s", f, got, specSums[filepath.Base(f)])
		}
	}
}

func specText(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/spec", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parseRules parses text as the rule file name and fails on errors.
func parseRules(t *testing.T, name, text string) []*ast.Rule {
	t.Helper()
	rules, problems := sigma.Parse(name, []byte(text))
	for _, p := range problems {
		if p.Severity == ast.Error {
			t.Errorf("%s: %s", name, p)
		}
	}
	if len(rules) == 0 {
		t.Fatalf("%s: no rules", name)
	}
	return rules
}

// asID gives a parsed example's correlation the id id: several examples
// of the specification share one.
func asID(id string, rules []*ast.Rule) []*ast.Rule {
	for _, r := range rules {
		if r.Kind == ast.KindCorrelation {
			r.ID = id
		}
	}
	return rules
}

// indent indents every line of a fragment by n spaces, to place it in a
// correlation section.
func indent(text string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "")
}

// repeat returns n steps made by format with the step's number.
func repeat(n int, format string) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf(format, i))
	}
	return out
}

// TestSpecExamplesParse checks the examples that are not rules as they
// stand: the parser must say why.
func TestSpecExamplesParse(t *testing.T) {
	for _, c := range []struct {
		file string
		msgs []string
	}{
		{"example_01.yml", []string{"not a Sigma rule"}},
		{"example_02.yml", []string{`no "type"`, `no "timespan"`}},
		{"example_03.yml", []string{"not a Sigma rule"}},
		{"example_04.yml", []string{"not a Sigma rule"}},
		{"example_05.yml", []string{"not a Sigma rule"}},
		{"example_08.yml", []string{`"title"`}},
		{"example_09.yml", []string{`"title"`}},
	} {
		_, problems := sigma.Parse(c.file, []byte(specText(t, c.file)))
		var errs []string
		for _, p := range problems {
			if p.Severity == ast.Error {
				errs = append(errs, p.Msg)
			}
		}
		all := strings.Join(errs, "; ")
		for _, m := range c.msgs {
			if !strings.Contains(all, m) {
				t.Errorf("%s: errors %q do not mention %q", c.file, all, m)
			}
		}
		// Such a rule cannot run.
		rules, _ := sigma.Parse(c.file, []byte(specText(t, c.file)))
		if usable := sigma.Usable(rules, problems); len(usable) != 0 {
			t.Errorf("%s: %d usable rules, want none", c.file, len(usable))
		}
	}
}

// TestSpecRoutes checks the detect side's view of example 15's aliases,
// with the two rules it correlates (examples 13 and 14, which the parser
// reports as lacking a title and a logsource but reads).
func TestSpecRoutes(t *testing.T) {
	var rules []*ast.Rule
	for _, f := range []string{"example_13.yml", "example_14.yml", "example_15.yml"} {
		rs, _ := sigma.Parse(f, []byte(specText(t, f)))
		rules = append(rules, rs...)
	}
	got := Routes(rules)
	want := map[string][]Route{
		"internal_error":         {{Correlation: "—", Group: map[string]string{"internal_ip": "destination.ip", "remote_ip": "source.ip"}}},
		"new_network_connection": {{Correlation: "—", Group: map[string]string{"internal_ip": "source.ip", "remote_ip": "destination.ip"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes\n got %+v\nwant %+v", got, want)
	}
}

// TestSpecExamples runs every correlation example of the specification
// over matches written for it. Fragments are placed into a complete rule;
// examples without a title get one; examples sharing an id get their own.
func TestSpecExamples(t *testing.T) {
	base := func(id, typ, rest string) string {
		return "title: example " + id + "\nid: " + id + "\ncorrelation:\n  type: " + typ + "\n" + rest
	}
	var scs []scenario

	// 1 and 2: a title and id, then the rules list of a correlation. With
	// a type, timespan, group-by and condition added, both referenced
	// rules, one by id, one by name, count together.
	ex02 := specText(t, "example_02.yml") + "  type: event_count\n  group-by:\n    - SourceIP\n  timespan: 1m\n  condition:\n    gte: 2\n"
	if !strings.HasPrefix(ex02, specText(t, "example_01.yml")) {
		t.Fatal("example 2 does not begin with example 1")
	}
	scs = append(scs, scenario{
		name:  "examples 1 and 2",
		rules: asID("ex02", parseRules(t, "example_02.yml", ex02)),
		steps: []string{
			"ex02 5638f7c0-ac70-491d-8465-2a65075e0d86 SourceIP=198.51.100.7 0s",
			"ex02 firewall_block SourceIP=198.51.100.7 10s",
			"ex02 firewall_block SourceIP=198.51.100.8 20s",
		},
		want: []string{"ex02 SourceIP=198.51.100.7 [-50s,10.001s) n=2 ev=e0,e1"},
	})

	// 3: a group-by of two fields, linked by AND.
	scs = append(scs, scenario{
		name:  "example 3",
		rules: parseRules(t, "example_03.yml", base("ex03", "event_count", "  rules:\n    - failed_login\n  timespan: 1h\n  condition:\n    gte: 2\n"+indent(specText(t, "example_03.yml"), 2))),
		steps: []string{
			"ex03 failed_login TargetUserName=alice,TargetDomainName=CORP 0s",
			"ex03 failed_login TargetUserName=alice,TargetDomainName=LAB 1m",
			"ex03 failed_login TargetUserName=bob,TargetDomainName=CORP 2m",
			"ex03 failed_login TargetUserName=alice,TargetDomainName=CORP 3m",
		},
		want: []string{"ex03 TargetDomainName=CORP,TargetUserName=alice [-57m0s,3m0.001s) n=2 ev=e0,e3"},
	})

	// 4: gte 100.
	scs = append(scs, scenario{
		name:  "example 4",
		rules: parseRules(t, "example_04.yml", base("ex04", "event_count", "  rules:\n    - failed_login\n  group-by:\n    - ComputerName\n  timespan: 1h\n"+indent(specText(t, "example_04.yml"), 2))),
		steps: append(repeat(99, "ex04 failed_login ComputerName=B %ds"), repeat(100, "ex04 failed_login ComputerName=A 1m%ds")...),
		want:  []string{"ex04 ComputerName=A [-57m21s,2m39.001s) n=100 ev=" + strings.Join(evRange(99, 199), ",")},
	})

	// 5: a range, gt 100 and lte 200, judged on whole windows.
	steps5 := append(repeat(150, "ex05 failed_login ComputerName=A %ds"), repeat(100, "ex05 failed_login ComputerName=B %ds")...)
	steps5 = append(append(steps5, repeat(201, "ex05 failed_login ComputerName=C %ds")...), "tick 3h")
	scs = append(scs, scenario{
		name:  "example 5",
		rules: parseRules(t, "example_05.yml", base("ex05", "event_count", "  rules:\n    - failed_login\n  group-by:\n    - ComputerName\n  timespan: 1h\n"+indent(specText(t, "example_05.yml"), 2))),
		steps: steps5,
		want:  []string{"ex05 ComputerName=A [0s,1h0m0s) n=150 ev=" + strings.Join(evRange(50, 150), ",")},
	})

	// 6: 100 failed logins on one computer within an hour.
	steps6 := repeat(100, "ex06 5638f7c0-ac70-491d-8465-2a65075e0d86 ComputerName=WS1 %dm0s")[:60]
	steps6 = append(steps6, repeat(40, "ex06 5638f7c0-ac70-491d-8465-2a65075e0d86 ComputerName=WS1 1h1m%ds")...)
	steps6 = append(steps6, repeat(100, "ex06 5638f7c0-ac70-491d-8465-2a65075e0d86 ComputerName=WS2 2h%ds")...)
	scs = append(scs, scenario{
		name:  "example 6",
		rules: asID("ex06", parseRules(t, "example_06.yml", specText(t, "example_06.yml"))),
		steps: steps6,
		want:  []string{"ex06 ComputerName=WS2 [1h1m39s,2h1m39.001s) n=100 ev=" + strings.Join(evRange(100, 200), ",")},
	})

	// 7: failed logins of 100 different users.
	steps7 := repeat(99, "ex07 5638f7c0-ac70-491d-8465-2a65075e0d86 ComputerName=DC1,WorkstationName=W1 %dm v=user%[1]d")
	steps7 = append(steps7, repeat(99, "ex07 5638f7c0-ac70-491d-8465-2a65075e0d86 ComputerName=DC1,WorkstationName=W2 2h%dm v=user%[1]d")...)
	steps7 = append(steps7, "ex07 5638f7c0-ac70-491d-8465-2a65075e0d86 ComputerName=DC1,WorkstationName=W2 5h v=user0")
	steps7 = append(steps7, "ex07 5638f7c0-ac70-491d-8465-2a65075e0d86 ComputerName=DC1,WorkstationName=W1 5h v=user100")
	scs = append(scs, scenario{
		name:  "example 7",
		rules: asID("ex07", parseRules(t, "example_07.yml", specText(t, "example_07.yml"))),
		steps: steps7,
		want:  []string{"ex07 ComputerName=DC1,WorkstationName=W1 [-19h0m0s,5h0m0.001s) n=100 v=100 f=User ev=" + strings.Join(append(evRange(0, 99), "e199"), ",")},
	})

	// 8: three reconnaissance commands within 5 minutes, any order.
	scs = append(scs, scenario{
		name:  "example 8",
		rules: asID("ex08", parseRules(t, "example_08.yml", "title: Recon\n"+specText(t, "example_08.yml"))),
		steps: []string{
			"ex08 recon_cmd_c ComputerName=WS1,User=mallory 0s",
			"ex08 recon_cmd_a ComputerName=WS1,User=mallory 1m",
			"ex08 recon_cmd_a ComputerName=WS2,User=mallory 2m", // another computer
			"ex08 recon_cmd_b ComputerName=WS1,User=mallory 3m",
			"ex08 recon_cmd_b ComputerName=WS2,User=mallory 8m",
			"ex08 recon_cmd_c ComputerName=WS2,User=mallory 9m",
		},
		want: []string{"ex08 ComputerName=WS1,User=mallory [-2m0s,3m0.001s) n=3 v=3 ev=e0,e1,e3"},
	})

	// 9: many failed logins, then a successful one.
	scs = append(scs, scenario{
		name:  "example 9",
		rules: asID("ex09", parseRules(t, "example_09.yml", "title: Brute force\n"+specText(t, "example_09.yml"))),
		steps: []string{
			"ex09 many_failed_logins User=alice 0s",
			"ex09 successful_login User=alice 50m",
			"ex09 successful_login User=bob 51m",
			"ex09 many_failed_logins User=bob 52m", // the wrong order
		},
		want: []string{"ex09 User=alice [-10m0s,50m0.001s) n=2 v=2 ev=e0,e1"},
	})

	// 10: more than 1,000,000 bytes sent in an hour.
	scs = append(scs, scenario{
		name:  "example 10",
		rules: asID("ex10", parseRules(t, "example_10.yml", specText(t, "example_10.yml"))),
		steps: []string{
			"ex10 website_access SourceIP=10.1.1.1,User=bob 0s v=400000",
			"ex10 website_access SourceIP=10.1.1.1,User=bob 20m v=400000",
			"ex10 website_access SourceIP=10.1.1.2,User=bob 30m v=900000",
			"ex10 website_access SourceIP=10.1.1.1,User=bob 40m v=400000",
		},
		want: []string{"ex10 SourceIP=10.1.1.1,User=bob [-20m0s,40m0.001s) n=3 v=1200000 f=bytes_sent ev=e0,e1,e3"},
	})

	// 11: average traffic over a (UTC) day.
	scs = append(scs, scenario{
		name:  "example 11",
		rules: asID("ex11", parseRules(t, "example_11.yml", specText(t, "example_11.yml"))),
		steps: []string{
			"ex11 rule_a_id SourceIP=10.1.1.1,User=bob 1h v=300",
			"ex11 rule_a_id SourceIP=10.1.1.1,User=bob 20h v=900",
			"ex11 rule_a_id SourceIP=10.1.1.2,User=bob 1h v=300",
			"ex11 rule_a_id SourceIP=10.1.1.2,User=bob 2h v=700",
			"tick 30h",
		},
		want: []string{"ex11 SourceIP=10.1.1.1,User=bob [0s,24h0m0s) n=2 v=600 f=BytesOut ev=e0,e1"},
	})

	// 12: a process name seen in at most 1% of a computer's process
	// creations in a day.
	steps12 := append(repeat(199, "ex12 process_creation ComputerName=WS1 %ds v=svchost.exe"), "ex12 process_creation ComputerName=WS1 1h v=mimikatz.exe")
	steps12 = append(steps12, repeat(10, "ex12 process_creation ComputerName=WS2 %ds v=explorer.exe")...)
	steps12 = append(steps12, "ex12 process_creation ComputerName=WS2 1h v=mimikatz.exe", "tick 30h")
	scs = append(scs, scenario{
		name:  "example 12",
		rules: asID("ex12", parseRules(t, "example_12.yml", specText(t, "example_12.yml"))),
		steps: steps12,
		want:  []string{"ex12 ComputerName=WS1 [0s,24h0m0s) n=1 v=0.5 f=image fv=mimikatz.exe ev=e199"},
	})

	// 13 to 15: aliases. 13 and 14 are the rules correlated; the detect
	// side resolves the aliases (TestSpecRoutes), the matches arrive
	// grouped by alias.
	scs = append(scs, scenario{
		name:  "examples 13 to 15",
		rules: asID("ex15", parseRules(t, "example_15.yml", specText(t, "example_15.yml"))),
		steps: []string{
			"ex15 internal_error internal_ip=10.0.0.5,remote_ip=203.0.113.9 0s",
			"ex15 new_network_connection internal_ip=10.0.0.5,remote_ip=203.0.113.9 8s",
			"ex15 internal_error internal_ip=10.0.0.6,remote_ip=203.0.113.9 20s",
			"ex15 new_network_connection internal_ip=10.0.0.6,remote_ip=203.0.113.9 31s", // 11s later
		},
		want: []string{"ex15 internal_ip=10.0.0.5,remote_ip=203.0.113.9 [-2s,8.001s) n=2 v=2 ev=e0,e1"},
	})

	// 16: the whole example, a correlation of a correlation.
	steps16 := repeat(10, "a8418a5a-5fc4-46b5-b23b-6c73beb19d41 failed_login User=alice %d0s")
	steps16 = append(steps16, "b180ead8-d58f-40b2-ae54-c8940995b9b6 successful_login User=alice 2m", "wait")
	steps16 = append(steps16, repeat(9, "a8418a5a-5fc4-46b5-b23b-6c73beb19d41 failed_login User=bob 3m%ds")...)
	steps16 = append(steps16, "b180ead8-d58f-40b2-ae54-c8940995b9b6 successful_login User=bob 4m", "wait")
	scs = append(scs, scenario{
		name:  "example 16",
		rules: parseRules(t, "example_16.yml", specText(t, "example_16.yml")),
		steps: steps16,
		want:  []string{"b180ead8-d58f-40b2-ae54-c8940995b9b6 User=alice [-8m0s,2m0.001s) n=2 v=2 ev=@a8418a5a-5fc4-46b5-b23b-6c73beb19d41,e10"},
	})

	runScenarios(t, scs)
}

// evRange is the event ids e<from> to e<to-1>.
func evRange(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("e%d", i))
	}
	return out
}
