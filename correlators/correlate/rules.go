package correlate

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// maxRules bounds the rules one correlation references: a stored match
// keeps the rules it matched as a 64-bit set.
const maxRules = 64

// CorrelationID is the id under which a correlation rule's matches travel
// (Match.Correlation) and its alerts are raised (rule.id): its id, or its
// name if it has none, or its title. The detect app must use the same.
func CorrelationID(r *ast.Rule) string {
	switch {
	case r.ID != "":
		return r.ID
	case r.Name != "":
		return r.Name
	}
	return r.Title
}

// Route tells the detect app what to send to vigil.matches when an event
// matches a rule that a correlation references.
type Route struct {
	// Correlation is the id of the correlation (Match.Correlation).
	Correlation string
	// Group maps each group-by name of the correlation (an alias or a
	// field name) to the field to read from the matched event: the alias
	// resolved for this rule, or the name itself. Match.Group is keyed by
	// the group-by names.
	Group map[string]string
	// ValueField is the field whose value goes into Match.Value (the
	// condition's field of value_count, value_sum, value_avg and
	// value_percentile, aliases resolved), or "".
	ValueField string
}

// Routes returns, for each rule referenced by a correlation rule among rs,
// by the reference as written (the rule's name or id), the routes of its
// matches. Rules referenced by more than one correlation have more than
// one route; the detect app writes one Match per route.
func Routes(rs []*ast.Rule) map[string][]Route {
	out := map[string][]Route{}
	for _, r := range rs {
		if r.Kind != ast.KindCorrelation || r.Correlation == nil {
			continue
		}
		c := r.Correlation
		for _, ref := range c.Rules {
			rt := Route{Correlation: CorrelationID(r), Group: map[string]string{}}
			for _, g := range c.GroupBy {
				rt.Group[g] = aliasField(c, g, ref)
			}
			if c.Condition != nil && c.Condition.Field != "" {
				rt.ValueField = aliasField(c, c.Condition.Field, ref)
			}
			out[ref] = append(out[ref], rt)
		}
	}
	return out
}

// aliasField resolves a group-by name for the rule referenced as ref: the
// field the alias names for that rule, or the name itself.
func aliasField(c *ast.Correlation, name, ref string) string {
	if a, ok := c.Aliases[name]; ok {
		if f, ok := a[ref]; ok {
			return f
		}
	}
	return name
}

// corr is a compiled correlation rule.
type corr struct {
	rule *ast.Rule
	id   string
	typ  ast.CorrType
	refs []string // referenced rules, as written
	ts   int64    // timespan, ms
	// tests are the condition's comparisons; for temporal types without a
	// condition, "gte: number of rules".
	tests   []ast.CmpTest
	field   string
	groupBy []string
	// sliding correlations fire as soon as their condition holds in a
	// window ending at a match; the others are evaluated once, when their
	// tumbling window closes (see the package documentation).
	sliding bool
	// outs are the correlations that reference this one.
	outs []*corr
	// alert is false for a correlation that a correlation references
	// without generate: only the outer one raises an alert.
	alert bool
	// fp is the fingerprint of the definition, which prefixes the keys of
	// the correlation's state: a reload that changes the definition
	// starts it afresh.
	fp [fpLen]byte
}

// fpLen is the length of a definition's fingerprint.
const fpLen = 8

// fingerprint digests what a correlation's state depends on: its
// correlation section (not its title, level or other metadata).
func fingerprint(c *ast.Correlation) [fpLen]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%q\x00%q\x00%d\x00", c.Type, c.Rules, c.GroupBy, c.Timespan)
	if c.Condition != nil {
		fmt.Fprintf(h, "%s\x00%v\x00", c.Condition.Field, c.Condition.Tests)
	}
	aliases := make([]string, 0, len(c.Aliases))
	for a, m := range c.Aliases {
		for r, f := range m {
			aliases = append(aliases, a+"\x00"+r+"\x00"+f)
		}
	}
	sort.Strings(aliases)
	fmt.Fprintf(h, "%q\x00%v", aliases, c.Generate)
	var fp [fpLen]byte
	copy(fp[:], h.Sum(nil))
	return fp
}

// ruleIndex returns the position in the correlation's rules of the rule
// with the given id or name, or -1.
func (c *corr) ruleIndex(id, name string) int {
	for i, ref := range c.refs {
		if ref != "" && (ref == id || ref == name) {
			return i
		}
	}
	return -1
}

// references reports whether c references the rule r (by id or name).
func (c *corr) references(r *ast.Rule) bool {
	return c.ruleIndex(r.ID, r.Name) >= 0
}

// holds reports whether v passes every test of the condition.
func (c *corr) holds(v float64) bool {
	for _, t := range c.tests {
		var ok bool
		switch t.Op {
		case "gt":
			ok = v > t.Value
		case "gte":
			ok = v >= t.Value
		case "lt":
			ok = v < t.Value
		case "lte":
			ok = v <= t.Value
		case "eq":
			ok = v == t.Value
		case "neq":
			ok = v != t.Value
		}
		if !ok {
			return false
		}
	}
	return true
}

// usesValue reports whether matches must carry the condition field's
// value.
func (c *corr) usesValue() bool {
	switch c.typ {
	case ast.ValueCount, ast.ValueSum, ast.ValueAvg, ast.ValuePercentile:
		return true
	}
	return false
}

// numeric reports whether the value must be a number.
func (c *corr) numeric() bool { return c.typ == ast.ValueSum || c.typ == ast.ValueAvg }

var knownOps = map[string]bool{"gt": true, "gte": true, "lt": true, "lte": true, "eq": true, "neq": true}

// compile checks the correlation rules among rs and compiles them. Other
// rules are ignored: detection rules are the detect app's. It reports
// every problem at once.
func compile(rs []*ast.Rule) (map[string]*corr, error) {
	var errs []error
	byID := map[string]*corr{}
	var order []*corr
	for _, r := range rs {
		if r == nil || r.Kind != ast.KindCorrelation {
			continue
		}
		c, problems := compileOne(r)
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("%s: correlation %q: %s", posString(r.Pos), CorrelationID(r), p))
		}
		if c == nil {
			continue
		}
		if prev, dup := byID[c.id]; dup {
			errs = append(errs, fmt.Errorf("%s: correlation %q is also defined at %s", posString(r.Pos), c.id, posString(prev.rule.Pos)))
			continue
		}
		byID[c.id] = c
		order = append(order, c)
	}
	// Who references whom, and whether each raises its own alert.
	for _, inner := range order {
		referenced, generate := false, false
		for _, outer := range order {
			if outer != inner && outer.references(inner.rule) {
				inner.outs = append(inner.outs, outer)
				referenced = true
				generate = generate || outer.rule.Correlation.Generate
			}
		}
		inner.alert = !referenced || generate
	}
	if cyc := cycle(order); cyc != nil {
		errs = append(errs, fmt.Errorf("correlations reference each other in a cycle: %s", strings.Join(cyc, " -> ")))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return byID, nil
}

func posString(p ast.Pos) string {
	loc := p.File
	if loc == "" {
		loc = "rule"
	}
	if p.Line > 0 {
		loc += ":" + strconv.Itoa(p.Line)
	}
	return loc
}

func compileOne(r *ast.Rule) (*corr, []string) {
	cs := r.Correlation
	if cs == nil {
		return nil, []string{"no correlation section"}
	}
	var probs []string
	c := &corr{rule: r, id: CorrelationID(r), typ: cs.Type, refs: cs.Rules, ts: cs.Timespan.Milliseconds(), groupBy: cs.GroupBy, fp: fingerprint(cs)}
	if c.id == "" {
		probs = append(probs, "needs an id, a name or a title")
	}
	if strings.IndexByte(c.id, 0) >= 0 {
		probs = append(probs, "id holds a NUL byte")
	}
	switch cs.Type {
	case ast.EventCount, ast.ValueCount, ast.Temporal, ast.TemporalOrdered, ast.ValueSum, ast.ValueAvg, ast.ValuePercentile:
	default:
		probs = append(probs, fmt.Sprintf("unknown type %q", cs.Type))
	}
	if len(cs.Rules) == 0 {
		probs = append(probs, "references no rules")
	}
	if len(cs.Rules) > maxRules {
		probs = append(probs, fmt.Sprintf("references %d rules, more than the %d vigil supports", len(cs.Rules), maxRules))
	}
	seen := map[string]bool{}
	for _, ref := range cs.Rules {
		if ref == "" || seen[ref] {
			probs = append(probs, fmt.Sprintf("rule reference %q is empty or repeated", ref))
		}
		seen[ref] = true
	}
	if cs.Timespan < time.Millisecond {
		probs = append(probs, fmt.Sprintf("timespan (%s) must be at least 1ms", cs.Timespan))
	}
	for _, g := range cs.GroupBy {
		if g == "" || strings.ContainsAny(g, "=\x00") {
			probs = append(probs, fmt.Sprintf("group-by name %q must be non-empty, without '=' or NUL", g))
		}
	}
	if cs.Condition != nil {
		c.field = cs.Condition.Field
		c.tests = slices.Clone(cs.Condition.Tests)
		for _, t := range c.tests {
			if !knownOps[t.Op] {
				probs = append(probs, fmt.Sprintf("unknown condition operator %q", t.Op))
			}
		}
	}
	switch cs.Type {
	case ast.Temporal, ast.TemporalOrdered:
		if len(c.tests) == 0 {
			c.tests = []ast.CmpTest{{Op: "gte", Value: float64(len(cs.Rules))}}
		}
	default:
		if len(c.tests) == 0 {
			probs = append(probs, fmt.Sprintf("type %s needs a condition", cs.Type))
		}
	}
	if c.usesValue() && c.field == "" {
		probs = append(probs, fmt.Sprintf("type %s needs a field in its condition", cs.Type))
	}
	c.sliding = false
	switch cs.Type {
	case ast.EventCount, ast.ValueCount, ast.ValueSum, ast.Temporal, ast.TemporalOrdered:
		c.sliding = true
		for _, t := range c.tests {
			if t.Op != "gt" && t.Op != "gte" {
				c.sliding = false
			}
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return c, nil
}

// cycle returns a cycle of references among the correlations, or nil.
func cycle(cs []*corr) []string {
	const (
		white = iota
		grey
		black
	)
	color := map[*corr]int{}
	var stack []*corr
	var found []string
	var visit func(c *corr) bool
	visit = func(c *corr) bool {
		color[c] = grey
		stack = append(stack, c)
		// c's inner correlations: those it references.
		var inner []*corr
		for _, o := range cs {
			if o != c && c.references(o.rule) {
				inner = append(inner, o)
			}
		}
		sort.Slice(inner, func(i, j int) bool { return inner[i].id < inner[j].id })
		for _, o := range inner {
			switch color[o] {
			case grey:
				i := slices.Index(stack, o)
				for _, s := range stack[i:] {
					found = append(found, s.id)
				}
				found = append(found, o.id)
				return true
			case white:
				if visit(o) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[c] = black
		return false
	}
	for _, c := range cs {
		if color[c] == white && visit(c) {
			return found
		}
	}
	// A correlation referencing itself.
	for _, c := range cs {
		if c.references(c.rule) {
			return []string{c.id, c.id}
		}
	}
	return nil
}
