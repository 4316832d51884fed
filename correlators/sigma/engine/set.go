package engine

import (
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/ecs"
)

// Set is a set of compiled detection rules, with their filters applied,
// that routes each event to the rules that can match it. It is read-only
// once compiled: Match is safe for concurrent use by any number of
// goroutines.
type Set struct {
	rules []*Rule
	// always are the rules that cannot be routed: evaluated on every
	// event.
	always []int32
	index  []*fieldIndex
}

// fieldIndex routes events on the value of one field.
type fieldIndex struct {
	f *Field
	// rules holds, by folded value, the rules that can match only when
	// the field has that value.
	rules  map[string][]int32
	all    []int32 // every rule routed on the field
	maxKey int
}

// Compile compiles the detection rules among rules and applies the
// filters among them (correlation rules are left to the correlate app).
// Rules that fail to compile are reported in the returned error, an
// *Error, and left out of the Set, which holds the others and is usable
// even when the error is not nil.
//
// A filter applies to the rules it names by id or name ("any" or "all"
// alone names every rule) whose log source has the filter's log source
// fields. As in pySigma, the filter's condition is added to the rule's
// with "and": a filter that tunes out events matching its selection says
// "condition: not selection".
func Compile(rules []*ast.Rule, opts Options) (*Set, error) {
	c := newCompiler(opts)
	type filter struct {
		r    *ast.Rule
		cond node
	}
	var filters []filter
	for _, r := range rules {
		if r.Kind != ast.KindFilter {
			continue
		}
		c.cur, c.failed = r, false
		if r.Filter == nil || r.Filter.Detection == nil {
			c.errorf(r.Pos, "the filter has no detection")
			continue
		}
		n := c.detection(r.Filter.Detection)
		if !c.failed {
			filters = append(filters, filter{r, n})
		}
	}
	s := &Set{}
	for _, r := range rules {
		if r.Kind != ast.KindDetection {
			continue
		}
		cr := c.rule(r)
		if cr == nil {
			continue
		}
		for _, f := range filters {
			if filterApplies(f.r, r) {
				cr.Filters = append(cr.Filters, f.r)
				cr.cond = andNode{cr.cond, f.cond}
			}
		}
		s.rules = append(s.rules, cr)
	}
	s.route(c)
	if len(c.problems) > 0 {
		return s, &Error{Problems: c.problems}
	}
	return s, nil
}

// filterApplies reports whether filter f applies to rule r.
func filterApplies(f, r *ast.Rule) bool {
	named := false
	refs := f.Filter.Rules
	if len(refs) == 1 && (strings.EqualFold(refs[0], "any") || strings.EqualFold(refs[0], "all")) {
		named = true
	}
	for _, ref := range refs {
		if ref != "" && (ref == r.ID || ref == r.Name) {
			named = true
		}
	}
	if !named {
		return false
	}
	fl, rl := f.LogSource, r.LogSource
	for _, p := range [][2]string{{fl.Category, rl.Category}, {fl.Product, rl.Product}, {fl.Service, rl.Service}} {
		if p[0] != "" && !strings.EqualFold(p[0], p[1]) {
			return false
		}
	}
	return true
}

// route builds the index: each rule goes under the first index field it
// can be routed on, or to always.
func (s *Set) route(c *compiler) {
	byField := map[*Field]*fieldIndex{}
	for _, name := range c.opts.IndexFields {
		f := c.field(name)
		if byField[f] == nil {
			ix := &fieldIndex{f: f, rules: map[string][]int32{}}
			byField[f] = ix
			s.index = append(s.index, ix)
		}
	}
	for i, r := range s.rules {
		routed := false
		for _, ix := range s.index {
			keys, ok := routeKeys(r.cond, ix.f)
			if !ok {
				continue
			}
			slices.Sort(keys)
			for _, k := range slices.Compact(keys) {
				ix.rules[k] = append(ix.rules[k], int32(i))
				ix.maxKey = max(ix.maxKey, len(k))
			}
			ix.all = append(ix.all, int32(i))
			routed = true
			break
		}
		if !routed {
			s.always = append(s.always, int32(i))
		}
	}
	s.index = slices.DeleteFunc(s.index, func(ix *fieldIndex) bool { return len(ix.all) == 0 })
}

// routeKeys returns the folded values f must have for n to match, if n
// requires f to have one of a known set of values.
func routeKeys(n node, f *Field) ([]string, bool) {
	switch n := n.(type) {
	case *itemNode:
		if n.f != f {
			return nil, false
		}
		if sl, ok := n.l.(*strLeaf); ok {
			return sl.exactKeys()
		}
	case andNode:
		var best []string
		found := false
		for _, p := range n {
			if keys, ok := routeKeys(p, f); ok && (!found || len(keys) < len(best)) {
				best, found = keys, true
			}
		}
		return best, found
	case orNode:
		return unionKeys(n, f)
	case *atLeastNode:
		return unionKeys(n.parts, f)
	}
	return nil, false
}

func unionKeys(ns []node, f *Field) ([]string, bool) {
	var all []string
	for _, p := range ns {
		keys, ok := routeKeys(p, f)
		if !ok {
			return nil, false
		}
		all = append(all, keys...)
	}
	return all, true
}

// exactKeys returns the folded strings l matches, if it matches only
// strings equal (in any case) to some.
func (l *strLeaf) exactKeys() ([]string, bool) {
	var keys []string
	if l.set != nil {
		for k := range l.set.m {
			if !l.set.fold {
				k = foldString(k)
			}
			keys = append(keys, k)
		}
	}
	for _, g := range l.globs {
		if g.shape != shapeExact {
			return nil, false
		}
		keys = append(keys, foldString(g.lit))
	}
	return keys, len(keys) > 0
}

// Len returns the number of rules in s.
func (s *Set) Len() int { return len(s.rules) }

// Rule returns rule i, as numbered by Match.
func (s *Set) Rule(i int) *Rule { return s.rules[i] }

// Rules returns the rules of s, in the order of the rules given to
// Compile. The slice is s's own: do not change it.
func (s *Set) Rules() []*Rule { return s.rules }

// Match appends to dst the numbers (for Rule) of the rules ev matches, in
// increasing order, and returns the extended slice. It allocates nothing
// when dst has room.
func (s *Set) Match(ev Event, dst []int) []int {
	start := len(dst)
	for _, i := range s.always {
		if s.rules[i].cond.eval(ev) {
			dst = append(dst, int(i))
		}
	}
	for _, ix := range s.index {
		for _, i := range ix.candidates(ev) {
			if s.rules[i].cond.eval(ev) {
				dst = append(dst, int(i))
			}
		}
	}
	// Few rules match one event: insertion sort.
	out := dst[start:]
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return dst
}

// candidates returns the rules routed on ix's field that ev may match.
func (ix *fieldIndex) candidates(ev Event) []int32 {
	if ix.f.ecsStr != nil {
		if e, ok := ev.(*ecsEvent); ok {
			s := ix.f.ecsStr((*ecs.Event)(e))
			if s == "" {
				return nil
			}
			return ix.lookup(s)
		}
	}
	v, ok := scalar(ev.Value(ix.f))
	if !ok {
		return ix.all
	}
	switch v.Kind {
	case Missing, Null, empty:
		return nil
	case timeKind:
		return ix.all
	case String:
		return ix.lookup(v.Str)
	case Object:
		// Values inside objects match too (see strLeaf.match).
		return ix.all
	}
	var buf textBuf
	if t, ok := valueText(&v, &buf); ok {
		return ix.lookup(t)
	}
	return ix.all
}

// lookup returns the rules routed on value s.
func (ix *fieldIndex) lookup(s string) []int32 {
	if isFolded(s) {
		return ix.rules[s]
	}
	if len(s) > 4*ix.maxKey {
		return nil
	}
	var buf [128]byte
	return ix.rules[string(appendFold(buf[:0], s))]
}

// scalar resolves v to one value, if it is one: false for lists and for
// arrays.
func scalar(v Value) (Value, bool) {
	switch v.Kind {
	case List:
		switch len(v.List) {
		case 0:
			return Value{}, true
		case 1:
			return Value{Kind: String, Str: v.List[0]}, true
		}
		return Value{}, false
	case JSON:
	default:
		return v, true
	}
	r := gjson.Parse(v.Str)
	for _, p := range v.path {
		if r.IsArray() {
			return Value{}, false
		}
		if !r.IsObject() {
			return Value{}, true
		}
		if r = r.Get(p); !r.Exists() {
			return Value{}, true
		}
	}
	if r.IsArray() {
		return Value{}, false
	}
	return resultValue(r), true
}

// Lookup appends to dst the values of f in ev as text (strings as they
// are, numbers and booleans as written, objects as JSON; one per element
// of a list or array; none for a missing field or null) and returns the
// extended slice.
func Lookup(ev Event, f *Field, dst []string) []string {
	eachValue(ev.Value(f), func(v Value) bool {
		var buf textBuf
		if s, ok := valueText(&v, &buf); ok {
			dst = append(dst, strings.Clone(s))
		}
		return false
	})
	return dst
}
