package sigma

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// corrTypes are the correlation types of specification 2.1.
var corrTypes = []ast.CorrType{ast.EventCount, ast.ValueCount, ast.Temporal, ast.TemporalOrdered, ast.ValueSum, ast.ValueAvg, ast.ValuePercentile}

// needsField reports whether a correlation type aggregates the values of
// a field named in its condition.
func needsField(t ast.CorrType) bool {
	switch t {
	case ast.ValueCount, ast.ValueSum, ast.ValueAvg, ast.ValuePercentile:
		return true
	}
	return false
}

// article puts "a" or "an" before a correlation type.
func article(t ast.CorrType) string {
	if strings.HasPrefix(string(t), "e") {
		return "an " + string(t)
	}
	return "a " + string(t)
}

// isTemporal reports whether t is temporal or temporal_ordered.
func isTemporal(t ast.CorrType) bool { return t == ast.Temporal || t == ast.TemporalOrdered }

var corrOps = []string{"gt", "gte", "lt", "lte", "eq", "neq"}

// correlation reads the correlation section.
func (d *docParser) correlation(n *node, keyPos ast.Pos) *ast.Correlation {
	c := &ast.Correlation{Pos: keyPos}
	if n.kind != mapNode {
		d.errorf(keyPos, "\"correlation\" must be a map with type, rules, group-by, timespan and condition, not %s", n.describe())
		return c
	}
	known := map[string]bool{"type": true, "rules": true, "group-by": true, "timespan": true, "condition": true, "aliases": true, "generate": true}
	for _, e := range n.entries {
		if !known[e.key] {
			hint := ""
			switch e.key {
			case "group_by", "groupby":
				hint = "; did you mean \"group-by\"?"
			case "timeframe":
				hint = "; did you mean \"timespan\"?"
			}
			d.errorf(e.keyPos, "unknown correlation attribute %q%s", e.key, hint)
		}
	}

	typeKnown := false
	if v, pos, ok := n.get("type"); ok {
		s, _ := d.str(v, pos, "type")
		c.Type = ast.CorrType(s)
		if typeKnown = slices.Contains(corrTypes, c.Type); !typeKnown {
			names := make([]string, len(corrTypes))
			for i, t := range corrTypes {
				names[i] = string(t)
			}
			d.errorf(v.pos, "correlation type %q is not one of %s", s, strings.Join(names, ", "))
		}
	} else {
		d.errorf(keyPos, "the correlation has no \"type\"")
	}

	if v, pos, ok := n.get("rules"); ok {
		c.Rules = d.refList(v, pos, "rules")
		if len(c.Rules) == 0 && v.kind == seqNode {
			d.errorf(pos, "correlation.rules is empty: name at least one rule")
		}
		if isTemporal(c.Type) && len(c.Rules) == 1 {
			d.warnf(pos, "%s correlation of a single rule is an event_count in disguise; list the rules whose events must occur together", article(c.Type))
		}
	} else {
		d.errorf(keyPos, "the correlation has no \"rules\": list the names or ids of the rules it correlates")
	}

	if v, pos, ok := n.get("group-by"); ok {
		c.GroupBy = d.refList(v, pos, "group-by")
	} else if typeKnown {
		d.errorf(keyPos, "%s correlation needs \"group-by\": the fields whose values must be the same in the events", article(c.Type))
	}

	if v, pos, ok := n.get("timespan"); ok {
		if v.kind == scalarNode && !v.isNull() {
			c.TimespanText = v.scalar.Str
			ts, err := ParseTimespan(c.TimespanText)
			if err != nil {
				d.errorf(v.pos, "%v", err)
			}
			c.Timespan = ts
		} else {
			d.errorf(pos, "correlation.timespan must be a number and a unit (such as 5m, 1h or 1d), not %s", v.describe())
		}
	} else {
		d.errorf(keyPos, "the correlation has no \"timespan\" (such as 5m, 1h or 1d)")
	}

	if v, pos, ok := n.get("condition"); ok {
		c.Condition = d.corrCondition(c.Type, v, pos)
	} else if typeKnown && !isTemporal(c.Type) {
		d.errorf(keyPos, "%s correlation needs a \"condition\" (such as gte: 10)", article(c.Type))
	}
	if c.Condition != nil && typeKnown {
		switch {
		case needsField(c.Type) && c.Condition.Field == "":
			d.errorf(c.Condition.Pos, "%s correlation needs condition.field: the field whose values it aggregates", article(c.Type))
		case !needsField(c.Type) && c.Condition.Field != "":
			d.warnf(c.Condition.Pos, "condition.field is ignored by %s correlation (only value_count, value_sum, value_avg and value_percentile use it)", article(c.Type))
		}
	}

	if v, pos, ok := n.get("aliases"); ok {
		c.Aliases = d.aliases(c, v, pos)
	}
	if v, pos, ok := n.get("generate"); ok {
		c.Generate, _ = d.boolean(v, pos, "generate")
	}
	return c
}

// refList reads a list of rule references or field names.
func (d *docParser) refList(n *node, keyPos ast.Pos, name string) []string {
	if n.kind == scalarNode && !n.isNull() {
		d.errorf(keyPos, "correlation.%s must be a list (\"- %s\"), not a single value", name, n.scalar.Str)
		return []string{n.scalar.Str}
	}
	if n.kind != seqNode {
		d.errorf(keyPos, "correlation.%s must be a list, not %s", name, n.describe())
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, it := range n.items {
		if it.kind != scalarNode || it.scalar.Kind == ast.Null || it.scalar.Str == "" {
			d.errorf(it.pos, "correlation.%s: each item must be a name, not %s", name, it.describe())
			continue
		}
		s := it.scalar.Str
		if seen[s] {
			d.errorf(it.pos, "correlation.%s: %q is listed twice", name, s)
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// corrCondition reads the condition of a correlation: field and tests.
func (d *docParser) corrCondition(t ast.CorrType, n *node, keyPos ast.Pos) *ast.CorrCondition {
	if n.kind != mapNode {
		d.errorf(keyPos, "correlation.condition must be a map of comparisons (such as gte: 10), not %s", n.describe())
		return nil
	}
	cc := &ast.CorrCondition{Pos: keyPos}
	for _, e := range n.entries {
		v := e.val
		switch {
		case e.key == "field":
			switch {
			case v.kind == scalarNode && v.scalar.Kind == ast.String && v.scalar.Str != "":
				cc.Field = v.scalar.Str
			case v.kind == seqNode && len(v.items) == 1 && v.items[0].kind == scalarNode && v.items[0].scalar.Str != "":
				cc.Field = v.items[0].scalar.Str
			case v.kind == seqNode && len(v.items) > 1:
				d.errorf(e.keyPos, "condition.field lists %d fields; vigil aggregates one field (chain correlations, or group by the others)", len(v.items))
			default:
				d.errorf(e.keyPos, "condition.field must be a field name, not %s", v.describe())
			}
		case slices.Contains(corrOps, e.key):
			if v.kind != scalarNode || v.scalar.Kind != ast.Number || math.IsNaN(v.scalar.Num) {
				d.errorf(e.keyPos, "condition.%s must be a number, not %s", e.key, v.describe())
				continue
			}
			if !needsField(t) && v.scalar.Num != math.Trunc(v.scalar.Num) {
				d.warnf(v.pos, "condition.%s: %s correlation counts, and %s is not a whole number", e.key, article(t), v.scalar.Str)
			}
			cc.Tests = append(cc.Tests, ast.CmpTest{Op: e.key, Value: v.scalar.Num})
		default:
			hint := ""
			switch e.key {
			case ">", "greater":
				hint = " (use gt)"
			case ">=":
				hint = " (use gte)"
			case "<":
				hint = " (use lt)"
			case "<=":
				hint = " (use lte)"
			case "=", "==", "equal", "equals":
				hint = " (use eq)"
			case "!=", "ne":
				hint = " (use neq)"
			}
			d.errorf(e.keyPos, "unknown correlation condition operator %q%s; the operators are %s", e.key, hint, strings.Join(corrOps, ", "))
		}
	}
	if len(cc.Tests) == 0 {
		d.errorf(keyPos, "correlation.condition has no comparison (%s)", strings.Join(corrOps, ", "))
		return cc
	}
	if !satisfiable(cc.Tests) {
		d.warnf(keyPos, "correlation.condition can never hold: %s", describeTests(cc.Tests))
	}
	return cc
}

// satisfiable reports whether some number passes every test.
func satisfiable(tests []ast.CmpTest) bool {
	lo, hi := math.Inf(-1), math.Inf(1)
	loIncl, hiIncl := false, false
	var eqs, neqs []float64
	for _, t := range tests {
		switch t.Op {
		case "gt":
			if t.Value >= lo {
				lo, loIncl = t.Value, false
			}
		case "gte":
			if t.Value > lo {
				lo, loIncl = t.Value, true
			}
		case "lt":
			if t.Value <= hi {
				hi, hiIncl = t.Value, false
			}
		case "lte":
			if t.Value < hi {
				hi, hiIncl = t.Value, true
			}
		case "eq":
			eqs = append(eqs, t.Value)
		case "neq":
			neqs = append(neqs, t.Value)
		}
	}
	in := func(x float64) bool {
		if x < lo || (x == lo && !loIncl) || x > hi || (x == hi && !hiIncl) {
			return false
		}
		return !slices.Contains(neqs, x)
	}
	if len(eqs) > 0 {
		for _, e := range eqs[1:] {
			if e != eqs[0] {
				return false
			}
		}
		return in(eqs[0])
	}
	if lo > hi || (lo == hi && !(loIncl && hiIncl)) {
		return false
	}
	if lo == hi {
		return !slices.Contains(neqs, lo)
	}
	return true
}

func describeTests(tests []ast.CmpTest) string {
	parts := make([]string, len(tests))
	for i, t := range tests {
		parts[i] = fmt.Sprintf("%s %v", t.Op, t.Value)
	}
	return strings.Join(parts, " and ")
}

// aliases reads the aliases of a correlation: alias -> rule -> field.
func (d *docParser) aliases(c *ast.Correlation, n *node, keyPos ast.Pos) map[string]map[string]string {
	if n.kind != mapNode {
		d.errorf(keyPos, "correlation.aliases must be a map of alias names, not %s", n.describe())
		return nil
	}
	out := map[string]map[string]string{}
	for _, a := range n.entries {
		if a.val.kind != mapNode || len(a.val.entries) == 0 {
			d.errorf(a.keyPos, "alias %q must map rule names to field names, not %s", a.key, a.val.describe())
			continue
		}
		m := map[string]string{}
		for _, e := range a.val.entries {
			if e.val.kind != scalarNode || e.val.scalar.Kind != ast.String || e.val.scalar.Str == "" {
				d.errorf(e.keyPos, "alias %q: the field for rule %q must be a field name, not %s", a.key, e.key, e.val.describe())
				continue
			}
			if c.Rules != nil && !slices.Contains(c.Rules, e.key) {
				d.errorf(e.keyPos, "alias %q refers to rule %q, which correlation.rules does not list (rules: %s)", a.key, e.key, strings.Join(c.Rules, ", "))
			}
			m[e.key] = e.val.scalar.Str
		}
		out[a.key] = m
		if !slices.Contains(c.GroupBy, a.key) {
			d.warnf(a.keyPos, "alias %q is not used in group-by", a.key)
		}
	}
	return out
}

// filter reads the filter section of a Sigma filter.
func (d *docParser) filter(n *node, keyPos ast.Pos) *ast.Filter {
	f := &ast.Filter{Pos: keyPos}
	if n.kind != mapNode {
		d.errorf(keyPos, "\"filter\" must be a map with rules, searches and a condition, not %s", n.describe())
		return f
	}
	if v, pos, ok := n.get("rules"); ok {
		switch {
		case v.kind == seqNode:
			for _, it := range v.items {
				if it.kind != scalarNode || it.scalar.Str == "" {
					d.errorf(it.pos, "filter.rules: each item must be a rule id or name, not %s", it.describe())
					continue
				}
				f.Rules = append(f.Rules, it.scalar.Str)
			}
			if len(v.items) == 0 {
				d.errorf(pos, "filter.rules is empty: a filter applies to at least one rule")
			}
		case v.kind == scalarNode && !v.isNull():
			d.errorf(pos, "filter.rules must be a list (\"- %s\"), not a single value", v.scalar.Str)
			f.Rules = []string{v.scalar.Str}
		default:
			d.errorf(pos, "filter.rules must be a list of rule ids or names, not %s", v.describe())
		}
	} else {
		d.errorf(keyPos, "the filter has no \"rules\": list the ids or names of the rules it applies to")
	}
	f.Detection = d.detection(n, keyPos, "filter", map[string]bool{"rules": true})
	return f
}
