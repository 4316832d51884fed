package sigma_test

import (
	"fmt"

	"github.com/vigilsec/vigil/correlators/sigma"
	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

func ExampleParse() {
	src := `title: Root console login from a new place
id: 2f4b6a1e-7c3d-4e5f-9a8b-1c2d3e4f5a6b
name: root_login
status: experimental
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        userIdentity.type: Root
    filter_known:
        sourceIPAddress|cidr: 203.0.113.0/24
    condition: selection and not filter_known
level: high
---
title: Many root logins
id: 8e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b
correlation:
    type: event_count
    rules:
        - root_login
    group-by:
        - recipientAccountId
    timespan: 1h
    condition:
        gte: 3
level: critical
`
	rules, problems := sigma.Parse("root.yml", []byte(src))
	for _, p := range problems {
		fmt.Println(p)
	}
	for _, r := range sigma.Usable(rules, problems) {
		switch r.Kind {
		case ast.KindDetection:
			d := r.Detection
			fmt.Printf("%s at line %d: %d searches, condition %s\n", r.Title, r.Pos.Line, len(d.Searches), sigma.FormatCondition(d.Condition))
			it := d.Search("filter_known").Maps[0].Items[0]
			fmt.Printf("  %s %v %q at line %d\n", it.Field, it.Modifiers, it.Values[0].Str, it.Pos.Line)
		case ast.KindCorrelation:
			c := r.Correlation
			fmt.Printf("%s: %s of %v by %v within %v, %s %v\n", r.Title, c.Type, c.Rules, c.GroupBy, c.Timespan, c.Condition.Tests[0].Op, c.Condition.Tests[0].Value)
		}
	}
	// Output:
	// Root console login from a new place at line 1: 2 searches, condition selection and not filter_known
	//   sourceIPAddress [cidr] "203.0.113.0/24" at line 13
	// Many root logins: event_count of [root_login] by [recipientAccountId] within 1h0m0s, gte 3
}

func ExampleParseCondition() {
	c, err := sigma.ParseCondition("selection and not 1 of filter_* or keywords")
	fmt.Printf("%#v %v\n", c.(ast.Or).Parts[1], err)

	_, err = sigma.ParseCondition("selection and (filter or")
	fmt.Println(err)
	// Output:
	// ast.Ident{Name:"keywords", Pos:ast.Pos{File:"", Line:1, Col:36}} <nil>
	// column 25: expected a search identifier, "not", "(" or "1 of", found end of condition
}
