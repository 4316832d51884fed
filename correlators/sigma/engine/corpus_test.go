package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/vigilsec/vigil/correlators/sigma"
	"github.com/vigilsec/vigil/ecs"
)

// The SigmaHQ CloudTrail rules, vendored by the sigma package, and the test
// cases written for them (../testdata/cloudtrail/README.md).
const (
	corpusRulesDir = "../testdata/corpus/sigma/rules/cloud/aws/cloudtrail"
	corpusCasesDir = "../testdata/cloudtrail"
	// corpusRuleCount is how many CloudTrail detection rules the vendored
	// rule set has.
	corpusRuleCount = 57
)

// corpusSkips are the cases the engine is not held to, by "file|why", with
// the reason. A case goes here only if it contradicts the Sigma
// specification; none does.
var corpusSkips = map[string]string{}

// corpusCase is one event of a case file.
type corpusCase struct {
	file     string // the case file's base name, which is the rule's
	why      string
	positive bool
	raw      []byte // the CloudTrail record, as the file's line has it
}

func (c *corpusCase) String() string {
	kind := "negative"
	if c.positive {
		kind = "positive"
	}
	return fmt.Sprintf("%s: %s %q", c.file, kind, c.why)
}

// corpus is the compiled rule set and the cases, loaded once.
type corpus struct {
	set *Set
	// rule numbers (for Set.Rule) by the rule file's base name.
	rules map[string]int
	cases []*corpusCase
}

var (
	corpusOnce sync.Once
	corpusVal  *corpus
	corpusErr  error
)

// loadCorpus compiles all the CloudTrail rules into one Set, with the
// default options, and reads every case file.
func loadCorpus(tb testing.TB) *corpus {
	tb.Helper()
	corpusOnce.Do(func() { corpusVal, corpusErr = readCorpus() })
	if corpusErr != nil {
		tb.Fatal(corpusErr)
	}
	return corpusVal
}

func readCorpus() (*corpus, error) {
	rules, problems, files, err := sigma.Lint(corpusRulesDir)
	if err != nil {
		return nil, err
	}
	if sigma.HasErrors(problems) {
		return nil, fmt.Errorf("the CloudTrail rules have errors: %v", problems)
	}
	if files != corpusRuleCount {
		return nil, fmt.Errorf("%d rule files in %s, want %d", files, corpusRulesDir, corpusRuleCount)
	}
	set, err := Compile(sigma.Usable(rules, problems), Options{})
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	c := &corpus{set: set, rules: map[string]int{}}
	for i, r := range set.Rules() {
		name := filepath.Base(r.AST.Pos.File)
		if _, dup := c.rules[name]; dup {
			return nil, fmt.Errorf("two rules in %s", name)
		}
		c.rules[name] = i
	}
	if len(c.rules) != corpusRuleCount {
		return nil, fmt.Errorf("the set has %d rules, want %d", len(c.rules), corpusRuleCount)
	}
	paths, err := filepath.Glob(filepath.Join(corpusCasesDir, "*.yml"))
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		cs, err := readCaseFile(p)
		if err != nil {
			return nil, err
		}
		c.cases = append(c.cases, cs...)
	}
	return c, nil
}

// caseEventLine is how a case file writes an event: one JSON object on one
// line, the bytes a runner hands to the decoder.
var caseEventLine = regexp.MustCompile(`^ +event: (\{.*\})\s*$`)

// readCaseFile reads a case file: the whys from the YAML, the events from
// their lines, in file order.
func readCaseFile(path string) ([]*corpusCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	type yamlCase struct {
		Why string `yaml:"why"`
	}
	var cf struct {
		Rule     string     `yaml:"rule"`
		Positive []yamlCase `yaml:"positive"`
		Negative []yamlCase `yaml:"negative"`
	}
	if err := yaml.Unmarshal(data, &cf); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if cf.Rule != name {
		return nil, fmt.Errorf("%s: rule %q, want the file's name", name, cf.Rule)
	}
	var lines [][]byte
	for l := range bytes.SplitSeq(data, []byte("\n")) {
		if m := caseEventLine.FindSubmatch(l); m != nil {
			lines = append(lines, m[1])
		}
	}
	var out []*corpusCase
	add := func(positive bool, cs []yamlCase) {
		for _, c := range cs {
			out = append(out, &corpusCase{file: name, why: c.Why, positive: positive})
		}
	}
	if bytes.Index(data, []byte("\nnegative:")) < bytes.Index(data, []byte("\npositive:")) {
		add(false, cf.Negative)
		add(true, cf.Positive)
	} else {
		add(true, cf.Positive)
		add(false, cf.Negative)
	}
	if len(lines) != len(out) {
		return nil, fmt.Errorf("%s: %d cases but %d one-line `event: {...}` lines", name, len(out), len(lines))
	}
	for i, c := range out {
		c.raw = lines[i]
	}
	return out, nil
}

// corpusForms are the forms of an event the cases are checked on.
var corpusForms = []string{"raw json", "ecs", "ecs without event.original", "ecs json", "ecs json without event.original"}

// corpusEvent returns c's event in the given form.
func corpusEvent(tb testing.TB, c *corpusCase, form string) Event {
	tb.Helper()
	switch form {
	case "raw json":
		return NewJSON(c.raw, CloudTrail)
	case "ecs":
		return ECS(decodeCase(tb, c, true))
	case "ecs without event.original":
		return ECS(decodeCase(tb, c, false))
	case "ecs json", "ecs json without event.original":
		doc, err := marshalECS(decodeCase(tb, c, form == "ecs json"))
		if err != nil {
			tb.Fatalf("%v: encode: %v", c, err)
		}
		return NewJSON(doc, ECSDocument)
	}
	tb.Fatalf("no event form %q", form)
	return nil
}

// decodeCase normalizes c's record with vigil's CloudTrail decoder, as the
// normalize app does.
func decodeCase(tb testing.TB, c *corpusCase, keepOriginal bool) *ecs.Event {
	tb.Helper()
	// The decoder may keep the bytes: hand it a copy of its own.
	evs, err := decodeCloudTrail(bytes.Clone(c.raw), keepOriginal)
	if err != nil || len(evs) != 1 {
		tb.Fatalf("%v: decode: %v (%d events)", c, err, len(evs))
	}
	return evs[0]
}

// Every case of every case file, on every form of its event: a positive
// matches its rule, a negative does not; and the Set, which routes events,
// agrees with the rule evaluated alone.
func TestCorpusCases(t *testing.T) {
	c := loadCorpus(t)
	if len(c.cases) == 0 {
		t.Fatal("no cases")
	}
	hit := map[string]map[string]bool{} // rule file -> forms its positives matched in
	var positives, negatives int
	for i, cc := range c.cases {
		if cc.positive {
			positives++
		} else {
			negatives++
		}
		rule, ok := c.rules[cc.file]
		if !ok {
			t.Errorf("%v: no rule %s in the set", cc, cc.file)
			continue
		}
		t.Run(fmt.Sprintf("%s/%d", strings.TrimSuffix(cc.file, ".yml"), i), func(t *testing.T) {
			if why, ok := corpusSkips[cc.file+"|"+cc.why]; ok {
				t.Skipf("%v: %s", cc, why)
			}
			dst := make([]int, 0, 8)
			for _, form := range corpusForms {
				ev := corpusEvent(t, cc, form)
				dst = c.set.Match(ev, dst[:0])
				got := slices.Contains(dst, rule)
				if alone := c.set.Rule(rule).Match(ev); alone != got {
					t.Errorf("%v: %s: the set says %v, the rule alone %v", cc, form, got, alone)
				}
				switch {
				case cc.positive && !got:
					t.Errorf("%v: %s: rule %s does not match", cc, form, cc.file)
				case !cc.positive && got:
					t.Errorf("%v: %s: rule %s matches", cc, form, cc.file)
				case cc.positive:
					if hit[cc.file] == nil {
						hit[cc.file] = map[string]bool{}
					}
					hit[cc.file][form] = true
				}
			}
		})
	}
	// Every rule of the set is hit by a positive, in every form.
	for name := range c.rules {
		for _, form := range corpusForms {
			if !hit[name][form] {
				t.Errorf("rule %s: no positive case matches it as %s", name, form)
			}
		}
	}
	t.Logf("%d rules, %d positive and %d negative cases, %d forms each", len(c.rules), positives, negatives, len(corpusForms))
}

// The outcome the engine derives for raw records (status, event.outcome)
// is the one the normalizer derives, on every record of the corpus and of
// the User Guide's examples.
func TestCorpusOutcome(t *testing.T) {
	status, outcome := NewField("status"), NewField("event.outcome")
	kinds := map[string]int{}
	for _, r := range cloudTrailRecords(t) {
		evs, err := decodeCloudTrail(bytes.Clone(r.raw), false)
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s: decode: %v", r.origin, err)
		}
		want := Lookup(ECS(evs[0]), outcome, nil)
		raw := NewJSON(r.raw, CloudTrail)
		for _, f := range []*Field{status, outcome} {
			if got := Lookup(raw, f, nil); !slices.Equal(got, want) {
				t.Errorf("%s: %s of the raw record is %q, the normalizer's event.outcome %q", r.origin, f.Name, got, want)
			}
		}
		kinds[strings.Join(want, ",")]++
	}
	if kinds["success"] == 0 || kinds["failure"] == 0 {
		t.Errorf("outcomes %v: want successes and failures", kinds)
	}
}

// benchRecord is one CloudTrail record for the benchmarks.
type benchRecord struct {
	origin string
	raw    []byte
}

// demoCorpusDir holds the CloudTrail User Guide's example records.
const demoCorpusDir = "../../../internal/demo/testdata/corpus/aws-cloudtrail-user-guide"

// cloudTrailRecords returns real CloudTrail records, one JSON record each,
// compact as CloudTrail writes them: the User Guide's examples (the
// records of its log files, and its single events) that vigil's decoder
// accepts, then the events of the test cases.
func cloudTrailRecords(tb testing.TB) []benchRecord {
	tb.Helper()
	var out []benchRecord
	paths, err := filepath.Glob(filepath.Join(demoCorpusDir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(paths) == 0 {
		tb.Fatalf("no CloudTrail examples in %s", demoCorpusDir)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		var file struct {
			Records []json.RawMessage `json:"Records"`
		}
		if json.Unmarshal(data, &file) != nil {
			continue // malformed on purpose (see the corpus's ATTRIBUTION.md)
		}
		recs := file.Records
		if recs == nil {
			recs = []json.RawMessage{data}
		}
		for i, r := range recs {
			var b bytes.Buffer
			if err := json.Compact(&b, r); err != nil {
				tb.Fatal(err)
			}
			evs, err := decodeCloudTrail(bytes.Clone(b.Bytes()), false)
			if err != nil || len(evs) != 1 {
				continue // not an event (a userIdentity fragment)
			}
			out = append(out, benchRecord{fmt.Sprintf("%s Records[%d]", filepath.Base(p), i), b.Bytes()})
		}
	}
	for _, cc := range loadCorpus(tb).cases {
		out = append(out, benchRecord{cc.String(), cc.raw})
	}
	return out
}
