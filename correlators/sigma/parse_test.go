package sigma

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// fullRule has every top-level attribute of the rules specification and
// every shape of search and value.
const fullRule = `title: Every part of a rule
id: 929a690e-bef0-4204-a928-ef5e620d6fcc
name: every_part
related:
    - id: 08fbc97d-0a2f-491c-ae21-8ffcfd3174e9
      type: derived
    - id: 929a690e-bef0-4204-a928-ef5e620d6fcd
      type: obsolete
status: experimental
description: |
    Two lines
    of description.
license: DRL-1.1
author: Someone, Someone Else
references:
    - https://example.com/a
date: 2024-01-31
modified: 2024-02-29
logsource:
    category: cloud
    product: aws
    service: cloudtrail
    definition: CloudTrail management events
detection:
    selection:
        eventName: 'C:\Windows\*'
        eventSource: "a\\*b\t"
        userAgent: 'aws-cli/?.*'
        errorCode: null
        readOnly: false
        responseElements.count: 42
        requestParameters.ratio: -1.5
        requestParameters.hex: 0x1F
        requestParameters.empty: ''
        requestParameters.plain: plain text
        userIdentity.type|contains|all:
            - Root
            - 'Assumed*'
            - 7
    alternatives:
        - eventName: A
          eventSource: a.amazonaws.com
        - eventName|startswith: B
    keywords:
        - 'evil'
        - 1337
        - "*wild?card*"
    keyword_all:
        '|all':
            - foo
            - bar
    _anchored: &common
        eventSource: iam.amazonaws.com
    reused: *common
    tagged:
        requestParameters.port: !!str 443
    condition: (selection or 1 of alt* or keywords) and not keyword_all or all of _anchored or reused or tagged
fields:
    - userIdentity.arn
falsepositives:
    - Administrators
level: critical
tags:
    - attack.t1078
scope:
    - server
taxonomy: sigma
custom_number: 7
custom_map:
    nested: [1, two, null]
`

func TestParseFullRule(t *testing.T) {
	rules, probs := Parse("full.yml", []byte(fullRule))
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	if len(rules) != 1 {
		t.Fatalf("%d rules", len(rules))
	}
	r := rules[0]
	meta := *r
	meta.Detection, meta.Custom, meta.LogSource.Pos = nil, nil, ast.Pos{}
	want := ast.Rule{
		Pos:         ast.Pos{File: "full.yml", Line: 1, Col: 1},
		Kind:        ast.KindDetection,
		Title:       "Every part of a rule",
		ID:          "929a690e-bef0-4204-a928-ef5e620d6fcc",
		Name:        "every_part",
		Status:      "experimental",
		Description: "Two lines\nof description.\n",
		License:     "DRL-1.1",
		Author:      "Someone, Someone Else",
		Date:        "2024-01-31",
		Modified:    "2024-02-29",
		Level:       "critical",
		Taxonomy:    "sigma",
		Scope:       []string{"server"},
		References:  []string{"https://example.com/a"},
		Fields:      []string{"userIdentity.arn"},
		FalsePos:    []string{"Administrators"},
		Tags:        []string{"attack.t1078"},
		Related: []ast.Related{
			{ID: "08fbc97d-0a2f-491c-ae21-8ffcfd3174e9", Type: "derived"},
			{ID: "929a690e-bef0-4204-a928-ef5e620d6fcd", Type: "obsolete"},
		},
		LogSource: ast.LogSource{Category: "cloud", Product: "aws", Service: "cloudtrail", Definition: "CloudTrail management events"},
	}
	if !reflect.DeepEqual(meta, want) {
		t.Errorf("metadata:\n got %+v\nwant %+v", meta, want)
	}
	if want := map[string]any{"custom_number": int64(7), "custom_map": map[string]any{"nested": []any{int64(1), "two", nil}}}; !reflect.DeepEqual(r.Custom, want) {
		t.Errorf("custom: %#v", r.Custom)
	}
	if r.LogSource.Pos != (ast.Pos{File: "full.yml", Line: 19, Col: 1}) {
		t.Errorf("logsource at %+v", r.LogSource.Pos)
	}

	d := r.Detection
	var names []string
	for _, s := range d.Searches {
		names = append(names, s.Name)
	}
	if want := []string{"selection", "alternatives", "keywords", "keyword_all", "_anchored", "reused", "tagged"}; !reflect.DeepEqual(names, want) {
		t.Errorf("searches %v, want %v in file order", names, want)
	}
	if d.Pos != (ast.Pos{File: "full.yml", Line: 24, Col: 1}) {
		t.Errorf("detection at %+v", d.Pos)
	}

	// Values keep what the rule wrote: wildcards and backslashes are the
	// engine's to interpret; YAML escapes in double quotes are decoded.
	sel := d.Search("selection")
	if len(sel.Maps) != 1 || len(sel.Maps[0].Items) != 11 {
		t.Fatalf("selection: %+v", sel)
	}
	type v struct {
		field string
		kind  ast.ValueKind
		str   string
		num   float64
		b     bool
	}
	var got []v
	for _, it := range sel.Maps[0].Items[:10] {
		if len(it.Values) != 1 {
			t.Fatalf("%s: %d values", it.Field, len(it.Values))
		}
		x := it.Values[0]
		got = append(got, v{it.Field, x.Kind, x.Str, x.Num, x.Bool})
	}
	wantV := []v{
		{"eventName", ast.String, `C:\Windows\*`, 0, false},
		{"eventSource", ast.String, "a\\*b\t", 0, false},
		{"userAgent", ast.String, "aws-cli/?.*", 0, false},
		{"errorCode", ast.Null, "null", 0, false},
		{"readOnly", ast.Bool, "false", 0, false},
		{"responseElements.count", ast.Number, "42", 42, false},
		{"requestParameters.ratio", ast.Number, "-1.5", -1.5, false},
		{"requestParameters.hex", ast.Number, "0x1F", 31, false},
		{"requestParameters.empty", ast.String, "", 0, false},
		{"requestParameters.plain", ast.String, "plain text", 0, false},
	}
	if !reflect.DeepEqual(got, wantV) {
		t.Errorf("values:\n got %+v\nwant %+v", got, wantV)
	}
	all := sel.Maps[0].Items[10]
	if all.Field != "userIdentity.type" || !reflect.DeepEqual(all.Modifiers, []string{"contains", "all"}) || len(all.Values) != 3 ||
		all.Values[1].Str != "Assumed*" || all.Values[2].Kind != ast.Number {
		t.Errorf("contains|all: %+v", all)
	}
	if all.Pos != (ast.Pos{File: "full.yml", Line: 36, Col: 9}) || all.Values[2].Pos != (ast.Pos{File: "full.yml", Line: 39, Col: 15}) {
		t.Errorf("contains|all at %+v, its third value at %+v", all.Pos, all.Values[2].Pos)
	}

	alt := d.Search("alternatives")
	if len(alt.Maps) != 2 || len(alt.Maps[0].Items) != 2 || alt.Maps[1].Items[0].Modifiers[0] != "startswith" || alt.Keywords != nil {
		t.Errorf("alternatives: %+v", alt)
	}
	if alt.Maps[1].Pos.Line != 43 {
		t.Errorf("second map of alternatives at %+v", alt.Maps[1].Pos)
	}

	kw := d.Search("keywords")
	if len(kw.Maps) != 0 || len(kw.Keywords) != 3 || kw.Keywords[0].Str != "evil" || kw.Keywords[1].Kind != ast.Number || kw.Keywords[2].Str != "*wild?card*" {
		t.Errorf("keywords: %+v", kw)
	}

	ka := d.Search("keyword_all").Maps[0].Items[0]
	if ka.Field != "" || !reflect.DeepEqual(ka.Modifiers, []string{"all"}) || len(ka.Values) != 2 {
		t.Errorf("keyword item with all: %+v", ka)
	}

	// An alias repeats the anchored map.
	if a, b := d.Search("_anchored").Maps[0].Items[0], d.Search("reused").Maps[0].Items[0]; a.Field != b.Field || a.Values[0].Str != b.Values[0].Str {
		t.Errorf("alias: %+v vs %+v", a, b)
	}
	// !!str makes a number a string.
	if port := d.Search("tagged").Maps[0].Items[0].Values[0]; port.Kind != ast.String || port.Str != "443" {
		t.Errorf("!!str 443: %+v", port)
	}

	if got, want := FormatCondition(d.Condition), "(selection or 1 of alt* or keywords) and not keyword_all or all of _anchored or reused or tagged"; got != want {
		t.Errorf("condition %q, want %q", got, want)
	}
}

// Problems name the rule by its id, or its title.
func TestProblemRule(t *testing.T) {
	src := `title: No id
logsource: {product: aws}
detection:
    sel: {a: 1}
    unused: {b: 2}
    condition: sel
`
	_, probs := Parse("x.yml", []byte(src))
	if len(probs) != 1 || probs[0].Rule != "No id" || probs[0].Severity != ast.Warning {
		t.Errorf("got %+v", probs)
	}
	_, probs = Parse("x.yml", []byte("id: 929a690e-bef0-4204-a928-ef5e620d6fcc\n"+src))
	if len(probs) != 1 || probs[0].Rule != "929a690e-bef0-4204-a928-ef5e620d6fcc" {
		t.Errorf("got %+v", probs)
	}
}

func TestParseTimespan(t *testing.T) {
	for in, want := range map[string]string{"1s": "1s", "90m": "1h30m0s", "24h": "24h0m0s", "7d": "168h0m0s", "10s": "10s"} {
		d, err := ParseTimespan(in)
		if err != nil || d.String() != want {
			t.Errorf("%q: %v %v, want %s", in, d, err, want)
		}
	}
	for _, in := range []string{"", "h", "0m", "1w", "1H", "1.5h", "-1h", "1 h", "99999999999999999999d", "1h30m"} {
		if _, err := ParseTimespan(in); err == nil || !strings.Contains(err.Error(), "timespan") {
			t.Errorf("%q: error %v", in, err)
		}
	}
}

func TestParseFileUnreadable(t *testing.T) {
	rules, probs := ParseFile("testdata/does-not-exist.yml")
	if rules != nil || len(probs) != 1 || probs[0].Severity != ast.Error || probs[0].Pos.File != "testdata/does-not-exist.yml" {
		t.Errorf("got %v %v", rules, probs)
	}
}

// Odd YAML gives problems, not panics or huge allocations.
func TestParseHostileYAML(t *testing.T) {
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i := 0; i < 12; i++ {
		name := string(rune('b' + i))
		laughs += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = name
	}
	for name, src := range map[string]string{
		"billion laughs": laughs,
		"deep nesting":   strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
		"unknown alias":  "title: *nowhere\n",
		"tab indent":     "title: x\ndetection:\n\tsel: 1\n",
		"binary":         "\x00\x01\x02title",
		"only comments":  "# nothing here\n",
		"empty":          "",
		"only separator": "---\n---\n",
	} {
		rules, probs := Parse(name, []byte(src))
		if name == "only comments" || name == "empty" || name == "only separator" {
			if len(rules) != 0 || len(probs) != 0 {
				t.Errorf("%s: %v %v", name, rules, probs)
			}
			continue
		}
		if len(rules) != 0 || !HasErrors(probs) {
			t.Errorf("%s: got %d rules and %v, want an error", name, len(rules), probs)
		}
	}
}
