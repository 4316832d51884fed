package engine

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// setRules are rules of every routing kind.
func setRules() []*ast.Rule {
	return []*ast.Rule{
		// 0: routed on eventName.
		detRule("create-key", id("sel"), search("sel", fmap(it("eventSource", "iam.amazonaws.com"), it("eventName", "CreateAccessKey", "CreateUser")))),
		// 1: routed on event.action.
		detRule("ecs-login", id("sel"), search("sel", fmap(it("event.action", "ConsoleLogin")))),
		// 2: not routable (startswith): always evaluated.
		detRule("create-any", id("sel"), search("sel", fmap(it("eventName|startswith", "Create")))),
		// 3: not routable (not).
		detRule("not-list", and(id("sel"), not(id("filter"))),
			search("sel", fmap(it("eventSource", "iam.amazonaws.com"))),
			search("filter", fmap(it("eventName", "ListUsers")))),
		// 4: routed through "1 of" and "and".
		detRule("one-of", and(oneOf("sel_*"), id("src")),
			search("sel_a", fmap(it("eventName", "DeleteUser"))),
			search("sel_b", fmap(it("eventName", "CreateUser"))),
			search("src", fmap(it("eventSource", "iam.amazonaws.com")))),
		// 5: routed, case-sensitive value.
		detRule("cased", id("sel"), search("sel", fmap(it("eventName|cased", "createuser")))),
		// 6: keyword search.
		detRule("keyword", id("kw"), keywords("kw", nil, "backup-admin")),
	}
}

func TestSetRouting(t *testing.T) {
	s, err := Compile(setRules(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.always, []int32{2, 3, 6}; !slices.Equal(got, want) {
		t.Errorf("always evaluated: %v, want %v", got, want)
	}
	routed := map[string][]int32{}
	for _, ix := range s.index {
		routed[ix.f.Name] = ix.all
		if ix.f.Name == "eventName" {
			if got := ix.rules["createuser"]; !slices.Equal(got, []int32{0, 4, 5}) {
				t.Errorf("rules for CreateUser: %v, want [0 4 5]", got)
			}
		}
	}
	if want := map[string][]int32{"eventName": {0, 4, 5}, "event.action": {1}}; len(routed) != 2 || !slices.Equal(routed["eventName"], want["eventName"]) || !slices.Equal(routed["event.action"], want["event.action"]) {
		t.Errorf("routed: %v, want %v", routed, want)
	}

	tests := []struct {
		event string
		want  []int
	}{
		{`{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","requestParameters":{"userName":"backup-admin"}}`, []int{0, 2, 3, 4, 6}},
		{`{"eventSource":"iam.amazonaws.com","eventName":"CREATEUSER"}`, []int{0, 2, 3, 4}},
		{`{"eventSource":"iam.amazonaws.com","eventName":"createuser"}`, []int{0, 2, 3, 4, 5}},
		{`{"eventSource":"iam.amazonaws.com","eventName":"ListUsers"}`, nil},
		{`{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin"}`, []int{1}},
		{`{"eventSource":"iam.amazonaws.com","eventName":"DeleteUser"}`, []int{3, 4}},
		{`{"eventSource":"iam.amazonaws.com"}`, []int{3}},
		{`{"eventSource":"iam.amazonaws.com","eventName":["CreateUser","X"]}`, []int{0, 2, 3, 4}},
		{`{"eventSource":"iam.amazonaws.com","eventName":"Cr\u00e9ateUser"}`, []int{3}},
		{`{"eventSource":"iam.amazonaws.com","eventName":{"x":"CreateUser"}}`, []int{0, 2, 3, 4}},
	}
	for _, tt := range tests {
		ev := NewJSON([]byte(tt.event), CloudTrail)
		got := s.Match(ev, nil)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: matched %v, want %v", tt.event, got, tt.want)
		}
		// Routing changes nothing: every rule agrees.
		var each []int
		for i, r := range s.Rules() {
			if r.Match(ev) {
				each = append(each, i)
			}
		}
		if !slices.Equal(got, each) {
			t.Errorf("%s: set matched %v, rules one by one %v", tt.event, got, each)
		}
	}
	// ECS events route on event.action for both names.
	ev := ECS(decode(t, strings.Replace(record, `"eventName":"CreateAccessKey"`, `"eventName":"ConsoleLogin"`, 1), true))
	if got := s.Match(ev, nil); !slices.Equal(got, []int{1, 3, 6}) {
		t.Errorf("ConsoleLogin ECS event: matched %v, want [1 3 6]", got)
	}
}

func TestFilters(t *testing.T) {
	rule := detRule("6f3e2987-db24-4c78-a860-b4f4095a7095", id("sel"),
		search("sel", fmap(it("eventName", "CreateAccessKey"))))
	rule.Name = "access_key"
	other := detRule("other", id("sel"), search("sel", fmap(it("eventName", "CreateAccessKey"))))
	filter := func(refs []string, ls ast.LogSource, cond ast.Cond) *ast.Rule {
		return &ast.Rule{
			Kind: ast.KindFilter, ID: "f", Title: "filter", LogSource: ls,
			Filter: &ast.Filter{Rules: refs, Detection: &ast.Detection{
				Searches:  []*ast.Search{search("selection", fmap(it("userIdentity.arn|endswith", "/alice")))},
				Condition: cond,
			}},
		}
	}
	aws := ast.LogSource{Product: "aws"}
	// The event is alice's: a filter "not selection" tunes it out.
	ev := NewJSON([]byte(doc), AsWritten)
	tests := []struct {
		name string
		f    *ast.Rule
		want []int // of [rule, other]
	}{
		{"by id", filter([]string{rule.ID}, aws, not(id("selection"))), []int{1}},
		{"by name", filter([]string{"access_key"}, aws, not(id("selection"))), []int{1}},
		{"other rule", filter([]string{"nosuch"}, aws, not(id("selection"))), []int{0, 1}},
		{"any", filter([]string{"any"}, aws, not(id("selection"))), nil},
		{"logsource differs", filter([]string{rule.ID}, ast.LogSource{Product: "windows"}, not(id("selection"))), []int{0, 1}},
		{"logsource narrower", filter([]string{rule.ID}, ast.LogSource{Product: "aws", Service: "cloudtrail"}, not(id("selection"))), []int{1}},
		{"condition as pySigma", filter([]string{rule.ID}, aws, id("selection")), []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile([]*ast.Rule{rule, other, tt.f}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Match(ev, nil); !slices.Equal(got, tt.want) {
				t.Errorf("matched %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCompileKeepsGoodRules(t *testing.T) {
	bad := selRule(it("eventName|nosuch", "x"))
	bad.ID = "bad"
	good := selRule(it("eventName", "CreateAccessKey"))
	s, err := Compile([]*ast.Rule{bad, good}, Options{})
	var e *Error
	if !asError(err, &e) || len(e.Problems) != 1 || e.Problems[0].Rule != "bad" {
		t.Fatalf("got %v, want one problem with rule bad", err)
	}
	if s.Len() != 1 || s.Rule(0).AST != good {
		t.Fatalf("set has %d rules, want the good one", s.Len())
	}
	if got := s.Match(NewJSON([]byte(doc), AsWritten), nil); !slices.Equal(got, []int{0}) {
		t.Errorf("matched %v, want [0]", got)
	}
}

// Evaluating rules allocates nothing, on normalized events and on JSON
// documents: rules of every kind on a record with every field, and the 57
// SigmaHQ CloudTrail rules on every event of their test cases.
func TestMatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool, which regexp uses, drop what it is given: allocations vary")
	}
	rules := append(setRules(),
		selRule(it("requestParameters.userName|contains", "admin"), it("additionalEventData.MFAUsed", "no")),
		selRule(it("userIdentity.arn|re", ".+:user/.+"), it("sourceIPAddress|cidr", "203.0.113.0/24")),
		selRule(it("resources.type", "AWS::IAM::Role"), it("readOnly", false), it("errorCode", nil, "LimitExceeded")),
		selRule(it("requestParameters.tags.key|endswith", "TEAM"), it("userIdentity.userName|fieldref", "userIdentity.sessionContext.sessionIssuer.userName")),
		selRule(it("requestParameters|contains|all", "backup", "tags")),
		selRule(it("eventName", "A", "B", "C", "D", "E", "createaccesskey")),
		selRule(it("userAgent|windash|contains", "-foo"), it("event.category", "iam")),
		selRule(it("eventTime|hour", 9)),
	)
	s, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ecsEv := decode(t, record, true)
	jsonEv := NewJSON([]byte(record), CloudTrail)
	for name, ev := range map[string]Event{"ecs": ECS(ecsEv), "json": jsonEv} {
		dst := make([]int, 0, 32)
		var n int
		allocs := testing.AllocsPerRun(100, func() {
			n = len(s.Match(ev, dst[:0]))
		})
		if n < 5 {
			t.Errorf("%s: %d rules matched, want at least 5 (the test should exercise them)", name, n)
		}
		if allocs != 0 {
			t.Errorf("%s: Match allocates %.1f times per event, want 0", name, allocs)
		}
	}

	c := loadCorpus(t)
	for _, form := range []string{"ecs", "ecs without event.original", "raw json"} {
		dst := make([]int, 0, 32)
		matched := 0
		for _, cc := range c.cases {
			ev := corpusEvent(t, cc, form)
			allocs := testing.AllocsPerRun(20, func() {
				dst = c.set.Match(ev, dst[:0])
			})
			matched += len(dst)
			if allocs != 0 {
				t.Errorf("corpus, %s: %v: Match allocates %.1f times, want 0", form, cc, allocs)
			}
		}
		if matched == 0 {
			t.Errorf("corpus, %s: no event matched: the test exercises nothing", form)
		}
	}
}

func TestConcurrentMatch(t *testing.T) {
	s, err := Compile(setRules(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{
		`{"eventSource":"iam.amazonaws.com","eventName":"CreateUser"}`,
		`{"eventSource":"iam.amazonaws.com","eventName":"DeleteUser"}`,
		`{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin"}`,
	}
	want := make([][]int, len(docs))
	for i, d := range docs {
		want[i] = s.Match(NewJSON([]byte(d), CloudTrail), nil)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var dst []int
			for i := range 200 {
				k := (i + g) % len(docs)
				dst = s.Match(NewJSON([]byte(docs[k]), CloudTrail), dst[:0])
				if !slices.Equal(dst, want[k]) {
					t.Errorf("goroutine %d: %s matched %v, want %v", g, docs[k], dst, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}
