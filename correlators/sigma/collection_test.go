package sigma

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

const collection = `action: global
title: Deletions in S3
status: test
logsource:
    product: aws
    service: cloudtrail
detection:
    source:
        eventSource: s3.amazonaws.com
    condition: source and selection
level: medium
---
id: 11111111-1111-4111-8111-111111111111
detection:
    selection:
        eventName: DeleteBucket
---
action: repeat
id: 22222222-2222-4222-8222-222222222222
level: high
detection:
    selection:
        eventName: DeleteBucketPolicy
---
action: reset
---
title: After the reset
id: 33333333-3333-4333-8333-333333333333
logsource:
    product: aws
detection:
    selection:
        eventName: ConsoleLogin
    condition: selection
`

func TestCollection(t *testing.T) {
	rules, probs := Parse("c.yml", []byte(collection))
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	if len(rules) != 3 {
		t.Fatalf("%d rules, want 3", len(rules))
	}
	type summary struct {
		ID, Title, Level, Status, Service string
		Searches                          []string
		Condition                         string
		EventName                         string
		Line                              int
	}
	sum := func(r *ast.Rule) summary {
		s := summary{ID: r.ID, Title: r.Title, Level: r.Level, Status: r.Status, Service: r.LogSource.Service,
			Condition: FormatCondition(r.Detection.Condition), Line: r.Pos.Line}
		for _, x := range r.Detection.Searches {
			s.Searches = append(s.Searches, x.Name)
		}
		s.EventName = r.Detection.Search("selection").Maps[0].Items[0].Values[0].Str
		return s
	}
	want := []summary{
		{"11111111-1111-4111-8111-111111111111", "Deletions in S3", "medium", "test", "cloudtrail", []string{"source", "selection"}, "source and selection", "DeleteBucket", 13},
		// repeat: the previous rule with this document's attributes over it.
		{"22222222-2222-4222-8222-222222222222", "Deletions in S3", "high", "test", "cloudtrail", []string{"source", "selection"}, "source and selection", "DeleteBucketPolicy", 18},
		// After reset, no global attributes.
		{"33333333-3333-4333-8333-333333333333", "After the reset", "", "", "", []string{"selection"}, "selection", "ConsoleLogin", 27},
	}
	for i, r := range rules {
		if got := sum(r); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("rule %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	// Positions come from the document that wrote each part.
	r := rules[0]
	if r.LogSource.Pos.Line != 4 || r.Detection.Search("source").Pos.Line != 8 || r.Detection.Search("selection").Pos.Line != 15 || r.Detection.ConditionPos.Line != 10 {
		t.Errorf("positions: logsource %d, source %d, selection %d, condition %d; want 4, 8, 15, 10",
			r.LogSource.Pos.Line, r.Detection.Search("source").Pos.Line, r.Detection.Search("selection").Pos.Line, r.Detection.ConditionPos.Line)
	}
	if got := rules[1].Detection.Search("selection").Maps[0].Items[0].Pos.Line; got != 23 {
		t.Errorf("repeated selection at line %d, want 23", got)
	}
	// The global document is not a rule, and "action" is not kept.
	for _, r := range rules {
		if _, ok := r.Custom["action"]; ok {
			t.Errorf("%s: action kept as a custom attribute", r.ID)
		}
	}
}

func TestCollectionProblems(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		rules     int
		want      []string // problems, as String() without the file
	}{
		{"unknown action", "action: include\ntitle: x\n", 0,
			[]string{`1:1: error: action "include" is not a rule collection action (global, reset or repeat); the document is skipped`}},
		{"repeat first", "action: repeat\ntitle: x\n", 0,
			[]string{"1:1: error: action: repeat, but no rule document precedes it to repeat"}},
		{"lonely global", "action: global\ntitle: x\n", 0,
			[]string{"1:1: warning: the global document (action: global) applies to no rule: no rule document follows it"}},
		{"global replaced before use", "action: global\nlevel: low\n---\naction: global\nlevel: high\n", 0,
			[]string{
				"1:1: warning: the global document (action: global) applies to no rule: no rule document follows it",
				"4:1: warning: the global document (action: global) applies to no rule: no rule document follows it",
			}},
		{"reset without global", "action: reset\n", 0,
			[]string{"1:1: warning: action: reset, but no global document precedes it"}},
		{"conflict", "action: global\nlevel: low\n---\ntitle: t\nlevel: high\nlogsource: {product: aws}\ndetection: {s: {a: 1}, condition: s}\n", 1,
			[]string{`5:1: warning: "level" here overrides the one in the global document at line 2 (pySigma would keep the global one)`}},
		{"global makes a rule valid", "action: global\nlogsource: {product: aws}\n---\ntitle: t\ndetection: {s: {a: 1}, condition: s}\n", 1, nil},
	} {
		rules, probs := Parse("c.yml", []byte(tc.src))
		var got []string
		for _, p := range probs {
			got = append(got, strings.TrimPrefix(p.String(), "c.yml:"))
		}
		if len(rules) != tc.rules || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %d rules, problems\n%q\nwant %d rules and\n%q", tc.name, len(rules), got, tc.rules, tc.want)
		}
	}
}
