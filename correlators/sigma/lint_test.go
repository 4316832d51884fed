package sigma

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/lint")

// TestLintGolden lints each crafted bad rule file in testdata/lint on its
// own and compares the problems with NAME.golden next to it. Run with
// -update to rewrite the golden files, and read the diff.
func TestLintGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/lint/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, probs, n, err := Lint(f)
			if err != nil || n != 1 {
				t.Fatalf("Lint: %d files, %v", n, err)
			}
			var b strings.Builder
			for _, p := range probs {
				if p.Pos.File != f || p.Pos.Line < 1 {
					t.Errorf("problem without file and line: %v", p)
				}
				b.WriteString(p.String())
				b.WriteByte('\n')
			}
			golden := strings.TrimSuffix(f, ".yml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("problems differ from %s (rerun with -update and read the diff):\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	rules, probs := ParseFile("testdata/lint/cross.yml")
	if len(probs) != 0 {
		t.Fatalf("each document alone is fine, got %v", probs)
	}
	got := Check(rules)
	var msgs []string
	for _, p := range got {
		msgs = append(msgs, p.String())
	}
	want := []string{
		`testdata/lint/cross.yml:10:1: error: id 0a0a0a0a-1b1b-4c2c-8d3d-4e4e4e4e4e4e is also the id of "First" (testdata/lint/cross.yml:2)`,
		`testdata/lint/cross.yml:10:1: error: name "first" is also the name of "First" (testdata/lint/cross.yml:2)`,
		`testdata/lint/cross.yml:30:1: warning: the correlation refers to rule "nowhere", which is not among the rules loaded`,
		`testdata/lint/cross.yml:21:1: error: correlations refer to each other in a cycle: "Ping" -> "Pong" -> "Ping"`,
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}

	// A rule set that refers only within itself has no problem.
	ok, _ := ParseFile(specExamples + "/example_16.yml")
	if p := Check(ok); len(p) != 0 {
		t.Errorf("example_16: %v", p)
	}
}

func TestUsable(t *testing.T) {
	src := `title: Good
id: 11111111-1111-4111-8111-111111111111
logsource: {product: aws}
detection: {sel: {a: 1}, condition: sel}
---
title: Bad level
id: 22222222-2222-4222-8222-222222222222
logsource: {product: aws}
level: urgent
detection: {sel: {a: 1}, condition: sel}
---
title: Only a warning
logsource: {product: aws}
detection: {sel: {a: 1}, unused: {b: 1}, condition: sel}
---
logsource: {product: aws}
detection: {sel: {a: 1}, condition: sel}
---
id: null
title: Over the bad one
correlation: {type: event_count, rules: [22222222-2222-4222-8222-222222222222], group-by: [x], timespan: 1h, condition: {gte: 2}}
---
title: Over that correlation
correlation: {type: event_count, rules: [Over the bad one, 11111111-1111-4111-8111-111111111111], group-by: [x], timespan: 1h, condition: {gte: 2}}
---
title: Over the good one
correlation: {type: event_count, rules: [11111111-1111-4111-8111-111111111111], group-by: [x], timespan: 1h, condition: {gte: 2}}
`
	rules, probs := Parse("u.yml", []byte(src))
	if len(rules) != 7 {
		t.Fatalf("%d rules, want all 7 (even those with errors)", len(rules))
	}
	// Correlations refer to rules by id or name; give the one referred
	// to by title a name.
	rules[4].Name = "Over the bad one"
	var titles []string
	for _, r := range Usable(rules, probs) {
		titles = append(titles, r.Title)
	}
	if want := []string{"Good", "Only a warning", "Over the good one"}; !reflect.DeepEqual(titles, want) {
		t.Errorf("usable %q, want %q", titles, want)
	}
	if !HasErrors(probs) || HasErrors(probs[:0]) {
		t.Error("HasErrors")
	}
}

func TestRuleFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.yml", "b.yaml", "c.txt", "sub/d.YML", ".git/e.yml", "sub/.hidden/f.yml"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := RuleFiles(dir, filepath.Join(dir, "c.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i], _ = filepath.Rel(dir, got[i])
	}
	if want := []string{"a.yml", "b.yaml", "sub/d.YML", "c.txt"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := RuleFiles(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing path is not an error")
	}
	// Lint counts files and reports a file that cannot be read.
	if err := os.Chmod(filepath.Join(dir, "a.yml"), 0); err == nil && os.Getuid() != 0 {
		_, probs, n, err := Lint(dir)
		if err != nil || n != 3 || !HasErrors(probs) {
			t.Errorf("unreadable file: %d files, %v, %v", n, probs, err)
		}
	}
}

func TestSchemasCompile(t *testing.T) {
	s, err := compiledSchemas()
	if err != nil || len(s) != 3 {
		t.Fatalf("%d schemas, %v", len(s), err)
	}
}

// The schema check alone, without the native checks that hide its
// messages where they report the same line.
func TestSchemaMessages(t *testing.T) {
	src := `title: Schema
level: severe
logsource: {product: aws}
detection:
    sel: 5
    condition: sel
tags: [Bad]
`
	docs, prob := parseYAML("s.yml", []byte(src))
	if prob != nil {
		t.Fatal(prob)
	}
	probs := validateSchema("s.yml", ast.KindDetection, docs[0].body, "Schema", nil)
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	want := []string{
		"s.yml:2:1: error: JSON schema (sigma-detection-rule-schema.json): /level: must be one of informational, low, medium, high, critical",
		"s.yml:5:5: error: JSON schema (sigma-detection-rule-schema.json): /detection/sel: matches none of the allowed forms: got number, want array; or got number, want object",
		"s.yml:7:8: error: JSON schema (sigma-detection-rule-schema.json): /tags/0: 'Bad' does not match pattern '^[a-z0-9_-]+\\\\.[a-z0-9._-]+$'",
	}
	SortProblems(probs)
	got = got[:0]
	for _, p := range probs {
		got = append(got, p.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Through Parse, the native checks report these lines in their own
	// words, once each.
	_, all := Parse("s.yml", []byte(src))
	lines := map[int]int{}
	for _, p := range all {
		lines[p.Pos.Line]++
		if strings.Contains(p.Msg, "JSON schema") {
			t.Errorf("schema message where a native one says it: %v", p)
		}
	}
	if lines[2] != 1 || lines[5] != 1 || lines[7] != 1 {
		t.Errorf("problems per line %v, want one on each of lines 2, 5 and 7: %v", lines, all)
	}
}
