package detect

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/correlate"
	"github.com/vigilsec/vigil/correlators/normalize"
	_ "github.com/vigilsec/vigil/correlators/normalize/cloudtrail"
	"github.com/vigilsec/vigil/correlators/ruleset"
	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/ecs"
)

// decode normalizes a CloudTrail file as the pipeline would; every record
// must normalize.
func decode(t *testing.T, path string) []*ecs.Event {
	t.Helper()
	evs, errs := decodeFile(path)
	for _, err := range errs {
		t.Fatal(err)
	}
	return evs
}

// decodeFile normalizes the records of a CloudTrail file, returning the
// events and what failed.
func decodeFile(path string) ([]*ecs.Event, []error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []error{err}
	}
	defer f.Close()
	dec, _ := normalize.Lookup("cloudtrail")
	var out []*ecs.Event
	var errs []error
	err = normalize.DecodeStream(f, path, dec, normalize.StreamOptions{}, func(r normalize.Result) {
		switch {
		case r.Err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", r.Origin, r.Err))
		case r.Event != nil:
			out = append(out, r.Event)
		}
	})
	if err != nil {
		errs = append(errs, err)
	}
	return out, errs
}

func load(t *testing.T, cfg ruleset.Config) *ruleset.Set {
	t.Helper()
	set, problems, err := ruleset.Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if p.Severity == ast.Error {
			t.Fatalf("rules: %s", p)
		}
	}
	return set
}

func titles(as []*ecs.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Rule.Name)
	}
	slices.Sort(out)
	return out
}

// TestBuiltinRules runs the built-in rules on a real root console sign-in
// without MFA (AWS documentation).
func TestBuiltinRules(t *testing.T) {
	p, err := NewProcessor(load(t, ruleset.DefaultConfig()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	evs := decode(t, "../../internal/demo/testdata/corpus/aws-cloudtrail-user-guide/cloudtrail-event-reference-aws-console-sign-in-events_block06.json")
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	alerts, matches := p.Evaluate("cloudtrail", evs[0], "root.json:1")
	if got := titles(alerts); !slices.Equal(got, []string{"AWS Root Credentials", "AWS Successful Console Login Without MFA"}) {
		t.Errorf("alerts %q", got)
	}
	for _, a := range alerts {
		if a.Vigil.Kind != "detection" || a.Vigil.Evidence[0].Origin != "root.json:1" || a.Rule.License != "DRL-1.1" || len(a.Rule.Author) == 0 {
			t.Errorf("alert %+v", a)
		}
	}
	// The success feeds the correlation of failed and successful logins,
	// and raises no alert of its own (it is informational and referenced
	// without generate).
	if len(matches) != 1 {
		t.Fatalf("matches %+v, want one", matches)
	}
	m := matches[0]
	if m.Correlation != "9a4e2d17-61b8-4c0f-b3d5-7e2a8c9f0b64" || m.Rule != "5d0b7f0e-2c3a-4f55-8a8e-6c1d9a2b4e31" || m.RuleName != "aws_console_login_success" ||
		m.Group["sourceIPAddress"] != "192.0.2.0" || len(m.Group) != 1 || !m.Time.Equal(evs[0].Timestamp) || m.EventID != evs[0].Event.ID || m.Origin != "root.json:1" {
		t.Errorf("match %+v", m)
	}
	if a, m := p.Evaluate("vpcflow", evs[0], "x"); a != nil || m != nil {
		t.Error("rules ran on a dataset they do not map to")
	}
}

const rulesYAML = `title: Quiet
id: 10000000-0000-4000-8000-000000000001
name: quiet
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {eventName: ConsoleLogin}
    condition: selection
---
title: Loud
id: 10000000-0000-4000-8000-000000000002
name: loud
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {eventName: ConsoleLogin}
    condition: selection
level: high
---
title: Alone
id: 10000000-0000-4000-8000-000000000003
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {userIdentity.type: Root}
    condition: selection
---
title: Over quiet
id: 20000000-0000-4000-8000-000000000001
correlation:
    type: value_count
    rules: [quiet]
    group-by: [account, ip]
    aliases:
        ip:
            quiet: sourceIPAddress
    timespan: 1h
    condition: {field: eventName, gte: 2}
---
title: Over loud
id: 20000000-0000-4000-8000-000000000002
correlation:
    type: event_count
    rules: [loud, 10000000-0000-4000-8000-000000000003]
    group-by: [recipientAccountId]
    timespan: 1h
    condition: {gte: 2}
    generate: true
`

// TestGenerateAndRoutes: a referenced rule alerts only with generate; each
// correlation referencing a rule gets a match, its group read through the
// aliases, its value from the condition's field.
func TestGenerateAndRoutes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(rulesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := NewProcessor(load(t, ruleset.Config{Paths: []string{dir}, Logsources: ruleset.DefaultLogsources}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := decode(t, "../../internal/demo/testdata/corpus/aws-cloudtrail-user-guide/cloudtrail-event-reference-aws-console-sign-in-events_block06.json")[0]
	alerts, matches := p.Evaluate("cloudtrail", ev, "o")
	if got := titles(alerts); !slices.Equal(got, []string{"Alone", "Loud"}) {
		t.Errorf("alerts %q; want Loud (generate) and Alone (not referenced)", got)
	}
	got := map[string]*correlate.Match{}
	for _, m := range matches {
		got[m.Correlation+"/"+m.Rule] = m
	}
	q := got["20000000-0000-4000-8000-000000000001/10000000-0000-4000-8000-000000000001"]
	if q == nil || q.Group["ip"] != "192.0.2.0" || q.Group["account"] != "" || !q.HasValue || q.Value != "ConsoleLogin" {
		t.Errorf("match of quiet: %+v", q)
	}
	for _, rule := range []string{"10000000-0000-4000-8000-000000000002", "10000000-0000-4000-8000-000000000003"} {
		m := got["20000000-0000-4000-8000-000000000002/"+rule]
		if m == nil || m.Group["recipientAccountId"] != "111122223333" || m.HasValue {
			t.Errorf("match of %s: %+v", rule, m)
		}
	}
	if len(matches) != 3 {
		t.Errorf("%d matches, want 3", len(matches))
	}

	// Swap: the rules of the next version apply from the next event on.
	if err := p.Swap(load(t, ruleset.Config{Builtin: true, Logsources: ruleset.DefaultLogsources, Disable: []string{"aws_console_login_success", "aws_console_login_after_failure"}})); err != nil {
		t.Fatal(err)
	}
	alerts, matches = p.Evaluate("cloudtrail", ev, "o")
	if got := titles(alerts); !slices.Equal(got, []string{"AWS Root Credentials", "AWS Successful Console Login Without MFA"}) || len(matches) != 0 {
		t.Errorf("after the swap: alerts %q, %d matches", got, len(matches))
	}
}

func TestInfo(t *testing.T) {
	ri := Info(&ast.Rule{Title: "T", Name: "n", Author: "Ann, Bob ,", Description: " d \n", Pos: ast.Pos{File: "builtin:sigmahq/x.yml"}})
	if ri.ID != "n" || ri.Level != "medium" || !slices.Equal(ri.Author, []string{"Ann", "Bob"}) || ri.Description != "d" || ri.License != "DRL-1.1" {
		t.Errorf("%+v", ri)
	}
	if ri := Info(&ast.Rule{Title: "T", ID: "i", Level: "low", License: "MIT", Pos: ast.Pos{File: "mine.yml"}}); ri.ID != "i" || ri.Level != "low" || ri.License != "MIT" {
		t.Errorf("%+v", ri)
	}
}

func TestNewAlert(t *testing.T) {
	ev := &ecs.Event{Timestamp: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), Event: ecs.EventMeta{ID: "e1", Dataset: "aws.cloudtrail", Action: "ConsoleLogin"}}
	a := NewAlert(RuleInfo{ID: "r", Title: "T", Level: "high", Tags: []string{"attack.t1078"}}, ev, "f:1")
	b := NewAlert(RuleInfo{ID: "r", Title: "T", Level: "high"}, ev, "f:1")
	if a.Event.ID != b.Event.ID || a.Event.Severity != 73 || a.Threat == nil || !strings.HasPrefix(a.Message, "T: unknown principal called ConsoleLogin") {
		t.Errorf("%+v", a)
	}
}
