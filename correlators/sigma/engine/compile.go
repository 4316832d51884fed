package engine

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// Options configures compilation. The zero value is ready to use.
type Options struct {
	// Placeholders are the values of the expand modifier's placeholders,
	// by name without the percent signs: a value "%admins%" becomes each
	// of Placeholders["admins"] (parsed as Sigma strings, wildcards
	// included). A rule using a placeholder that is not here fails to
	// compile. Default: none.
	Placeholders map[string][]string
	// IndexFields are the fields a Set routes events on: a rule that can
	// only match when one of them has one of a few exact values is
	// evaluated only on events with those values. The first field a rule
	// can be routed on is used. Default: DefaultIndexFields.
	IndexFields []string
}

// DefaultIndexFields are the fields Sets route on by default: the event
// name, as CloudTrail rules and as ECS rules write it.
var DefaultIndexFields = []string{"eventName", "event.action"}

// Error is the error of Compile and CompileRule: every problem found, each
// at the part of the rule at fault. Rules with problems are left out of
// the Set; the others work.
type Error struct {
	Problems []ast.Problem
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	return b.String()
}

// Rule is a compiled detection rule. It is read-only, and its Match safe
// for concurrent use.
type Rule struct {
	// AST is the rule as parsed.
	AST *ast.Rule
	// Filters are the Sigma filters applied to the rule.
	Filters []*ast.Rule
	cond    node
}

// Match reports whether ev matches the rule (and passes its filters).
func (r *Rule) Match(ev Event) bool { return r.cond.eval(ev) }

// CompileRule compiles one detection rule, without filters.
func CompileRule(r *ast.Rule, opts Options) (*Rule, error) {
	c := newCompiler(opts)
	cr := c.rule(r)
	if len(c.problems) > 0 {
		return nil, &Error{Problems: c.problems}
	}
	return cr, nil
}

// NewField resolves a field name as rules write it, for reading values
// from events outside rules (the group-by fields of correlations, say).
func NewField(name string) *Field { return resolve(name) }

// compiler compiles rules, collecting problems.
type compiler struct {
	opts     Options
	fields   map[string]*Field
	problems []ast.Problem
	cur      *ast.Rule
	failed   bool // the current rule has an error
}

func newCompiler(opts Options) *compiler {
	if opts.IndexFields == nil {
		opts.IndexFields = DefaultIndexFields
	}
	return &compiler{opts: opts, fields: map[string]*Field{}}
}

func (c *compiler) errorf(pos ast.Pos, format string, args ...any) {
	if pos.File == "" && c.cur != nil {
		pos.File = c.cur.Pos.File
	}
	id := ""
	if c.cur != nil {
		id = c.cur.ID
		if id == "" {
			id = c.cur.Title
		}
	}
	c.problems = append(c.problems, ast.Problem{Pos: pos, Severity: ast.Error, Rule: id, Msg: fmt.Sprintf(format, args...)})
	c.failed = true
}

// field returns the field named name, one per name.
func (c *compiler) field(name string) *Field {
	if f, ok := c.fields[name]; ok {
		return f
	}
	f := resolve(name)
	c.fields[name] = f
	return f
}

// fieldCost estimates the cost of reading f.
func fieldCost(f *Field) int {
	switch p := f.json[ECSDocument]; {
	case p.viaOriginal:
		return costOriginal
	case len(p.comps) > 3 && p.comps[1] == "cloudtrail" && p.comps[2] == "flattened":
		return costJSON
	}
	return costField
}

// rule compiles a detection rule; nil if it has errors.
func (c *compiler) rule(r *ast.Rule) *Rule {
	c.cur, c.failed = r, false
	if r.Kind != ast.KindDetection || r.Detection == nil {
		c.errorf(r.Pos, "not a detection rule")
		return nil
	}
	n := c.detection(r.Detection)
	if c.failed {
		return nil
	}
	return &Rule{AST: r, cond: n}
}

// detection compiles a detection's condition over its searches.
func (c *compiler) detection(d *ast.Detection) node {
	if d.Condition == nil {
		c.errorf(d.Pos, "the detection has no condition")
		return constNode(false)
	}
	searches := map[string]node{}
	return c.cond(d, d.Condition, searches)
}

func (c *compiler) cond(d *ast.Detection, x ast.Cond, searches map[string]node) node {
	switch x := x.(type) {
	case ast.And:
		return c.and(d, x.Parts, searches)
	case *ast.And:
		return c.and(d, x.Parts, searches)
	case ast.Or:
		return c.or(d, x.Parts, searches)
	case *ast.Or:
		return c.or(d, x.Parts, searches)
	case ast.Not:
		return notNode{c.cond(d, x.X, searches)}
	case *ast.Not:
		return notNode{c.cond(d, x.X, searches)}
	case ast.Ident:
		return c.ident(d, x, searches)
	case *ast.Ident:
		return c.ident(d, *x, searches)
	case ast.Of:
		return c.of(d, x, searches)
	case *ast.Of:
		return c.of(d, *x, searches)
	}
	c.errorf(d.ConditionPos, "unknown condition %T", x)
	return constNode(false)
}

func (c *compiler) and(d *ast.Detection, parts []ast.Cond, searches map[string]node) node {
	var ns andNode
	for _, p := range parts {
		n := c.cond(d, p, searches)
		if a, ok := n.(andNode); ok {
			ns = append(ns, a...)
		} else {
			ns = append(ns, n)
		}
	}
	if len(ns) == 1 {
		return ns[0]
	}
	sortAnd(ns)
	return ns
}

func (c *compiler) or(d *ast.Detection, parts []ast.Cond, searches map[string]node) node {
	var ns orNode
	for _, p := range parts {
		n := c.cond(d, p, searches)
		if o, ok := n.(orNode); ok {
			ns = append(ns, o...)
		} else {
			ns = append(ns, n)
		}
	}
	if len(ns) == 1 {
		return ns[0]
	}
	sortByCost(ns)
	return ns
}

func (c *compiler) ident(d *ast.Detection, id ast.Ident, searches map[string]node) node {
	if n, ok := searches[id.Name]; ok {
		return n
	}
	s := d.Search(id.Name)
	if s == nil {
		pos := id.Pos
		if pos.Line == 0 {
			pos = d.ConditionPos
		}
		c.errorf(pos, "the condition names %q, which is not a search of the detection", id.Name)
		return constNode(false)
	}
	n := c.search(s)
	searches[id.Name] = n
	return n
}

// of compiles "1 of", "all of" and "N of" a pattern of search names.
// Searches whose names begin with an underscore are left out, unless the
// pattern begins with one too.
func (c *compiler) of(d *ast.Detection, o ast.Of, searches map[string]node) node {
	var parts []node
	for _, s := range d.Searches {
		if strings.HasPrefix(s.Name, "_") && !strings.HasPrefix(o.Pattern, "_") {
			continue
		}
		if matchName(o.Pattern, s.Name) {
			parts = append(parts, c.ident(d, ast.Ident{Name: s.Name, Pos: o.Pos}, searches))
		}
	}
	pos := o.Pos
	if pos.Line == 0 {
		pos = d.ConditionPos
	}
	if len(parts) == 0 {
		c.errorf(pos, "no search matches %q", o.Pattern)
		return constNode(false)
	}
	switch o.Quant {
	case ast.All:
		if len(parts) == 1 {
			return parts[0]
		}
		sortByCost(parts)
		return andNode(parts)
	case ast.AtLeast:
		if o.N < 1 {
			c.errorf(pos, "%d of %s: the count must be at least 1", o.N, o.Pattern)
			return constNode(false)
		}
		if o.N > len(parts) {
			c.errorf(pos, "%d of %s: only %d searches match the pattern", o.N, o.Pattern, len(parts))
			return constNode(false)
		}
		if o.N > 1 {
			sortByCost(parts)
			return &atLeastNode{n: o.N, parts: parts}
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	sortByCost(parts)
	return orNode(parts)
}

// matchName matches a search name against a pattern with * wildcards.
func matchName(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, parts[len(parts)-1])
}

// search compiles a search identifier: its maps are alternatives, the
// items of a map all must match; or a keyword list.
func (c *compiler) search(s *ast.Search) node {
	if s.Keywords != nil {
		return c.item(&ast.FieldItem{Pos: s.Pos, Modifiers: s.KeywordMods, Values: s.Keywords})
	}
	if len(s.Maps) == 0 {
		c.errorf(s.Pos, "search %q is empty", s.Name)
		return constNode(false)
	}
	var alts orNode
	for _, m := range s.Maps {
		if len(m.Items) == 0 {
			c.errorf(m.Pos, "search %q has an empty map", s.Name)
			continue
		}
		var items andNode
		for _, it := range m.Items {
			items = append(items, c.item(it))
		}
		sortByCost(items)
		if len(items) == 1 {
			alts = append(alts, items[0])
		} else {
			alts = append(alts, items)
		}
	}
	if len(alts) == 0 {
		return constNode(false)
	}
	if len(alts) == 1 {
		return alts[0]
	}
	sortByCost(alts)
	return alts
}

// itemMods is a field item's modifiers, sorted out.
type itemMods struct {
	all, cased, neq, expand bool
	re, cidr, exists, ref   bool
	reFlags                 string
	cmp, timePart           string
	str                     []string // string transformations, in order
	encoded                 bool     // str has an encoding
	position                bool     // str has contains, startswith or endswith
}

// mods sorts out the modifiers of it, reporting misuses.
func (c *compiler) mods(it *ast.FieldItem) (itemMods, bool) {
	var m itemMods
	ok := true
	bad := func(format string, args ...any) {
		c.errorf(it.Pos, format, args...)
		ok = false
	}
	for _, mod := range it.Modifiers {
		switch mod {
		case "all":
			m.all = true
		case "cased":
			m.cased = true
		case "neq":
			m.neq = true
		case "expand":
			m.expand = true
		case "re":
			m.re = true
		case "i", "m", "s":
			if !m.re {
				bad("modifier %s is a flag of re and must follow it", mod)
			}
			if !strings.Contains(m.reFlags, mod) {
				m.reFlags += mod
			}
		case "cidr":
			m.cidr = true
		case "exists":
			m.exists = true
		case "fieldref":
			m.ref = true
		case "gt", "gte", "lt", "lte":
			if m.cmp != "" {
				bad("modifiers %s and %s: a value is compared one way", m.cmp, mod)
			}
			m.cmp = mod
		case "minute", "hour", "day", "week", "month", "year":
			if m.timePart != "" {
				bad("modifiers %s and %s: one part of a date at a time", m.timePart, mod)
			}
			m.timePart = mod
		case "contains", "startswith", "endswith":
			m.position = true
			m.str = append(m.str, mod)
		case "windash":
			m.str = append(m.str, mod)
		case "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide":
			m.encoded = true
			m.str = append(m.str, mod)
		default:
			bad("unknown modifier %q", mod)
		}
	}
	kinds := 0
	for _, k := range []bool{m.re, m.cidr, m.exists, m.ref, m.cmp != ""} {
		if k {
			kinds++
		}
	}
	switch {
	case kinds > 1:
		bad("modifiers %s: re, cidr, exists, fieldref and the comparisons exclude each other", strings.Join(it.Modifiers, "|"))
	case (m.re || m.cidr || m.exists || m.cmp != "") && len(m.str) > 0:
		bad("modifiers %s: %s cannot be combined with string modifiers", strings.Join(it.Modifiers, "|"), m.str[0])
	case m.ref && m.encoded:
		bad("modifiers %s: fieldref compares fields as they are; it cannot encode", strings.Join(it.Modifiers, "|"))
	case m.exists && (m.all || m.neq || m.cased || m.timePart != ""):
		bad("modifier exists takes no other modifiers")
	case m.timePart != "" && (m.re || m.cidr || m.ref || len(m.str) > 0):
		bad("modifier %s extracts a number: compare it with a number, gt, gte, lt or lte", m.timePart)
	case m.neq && m.all:
		bad("modifiers neq and all: use neq with the values as a list (none may match)")
	case m.expand && (m.re || m.cidr || m.exists || m.cmp != ""):
		bad("modifier expand applies to string values only")
	}
	if it.Field == "" && (m.exists || m.ref || m.cmp != "" || m.timePart != "" || m.neq) {
		bad("a keyword search has no field: exists, fieldref, neq, the comparisons and the time modifiers need one")
	}
	return m, ok
}

// item compiles a field item, or a keyword item (no field).
func (c *compiler) item(it *ast.FieldItem) node {
	m, ok := c.mods(it)
	if !ok {
		return constNode(false)
	}
	if len(it.Values) == 0 {
		c.errorf(it.Pos, "%s has no values", describeItem(it))
		return constNode(false)
	}
	keyword := it.Field == ""
	var f *Field
	if !keyword {
		f = c.field(it.Field)
	}
	switch {
	case m.exists:
		if len(it.Values) != 1 || it.Values[0].Kind != ast.Bool {
			c.errorf(it.Pos, "%s|exists takes one value, true or false", it.Field)
			return constNode(false)
		}
		n := newItemNode(f, existsLeaf{}, fieldCost(f))
		if it.Values[0].Bool {
			return n
		}
		return notNode{n}
	case m.ref:
		return c.fieldref(it, m, f)
	}
	groups := make([]leaf, 0, len(it.Values))
	for i := range it.Values {
		g := c.valueLeaf(it, m, &it.Values[i], keyword)
		if g == nil {
			return constNode(false)
		}
		groups = append(groups, g)
	}
	if keyword {
		kw := &keywordNode{all: m.all}
		if m.all {
			for _, g := range groups {
				kw.groups = append(kw.groups, &keywordGroup{l: g})
			}
		} else {
			kw.groups = []*keywordGroup{{l: mergeLeaves(groups, !m.cased && !m.encoded)}}
		}
		return kw
	}
	if m.all && len(groups) > 1 {
		var ns andNode
		for _, g := range groups {
			ns = append(ns, newItemNode(f, g, fieldCost(f)+leafCost(g)))
		}
		sortByCost(ns)
		return ns
	}
	l := mergeLeaves(groups, !m.cased && !m.encoded)
	cost := fieldCost(f) + leafCost(l)
	if m.neq {
		return &neqNode{f: f, l: l, c: cost}
	}
	return newItemNode(f, l, cost)
}

func describeItem(it *ast.FieldItem) string {
	if it.Field == "" {
		return "the keyword search"
	}
	return "field " + it.Field
}

// valueLeaf compiles one value of an item; nil on error.
func (c *compiler) valueLeaf(it *ast.FieldItem, m itemMods, v *ast.Value, keyword bool) leaf {
	pos := v.Pos
	if pos.Line == 0 {
		pos = it.Pos
	}
	switch {
	case m.re:
		if v.Kind == ast.Null {
			c.errorf(pos, "re needs a regular expression, not null")
			return nil
		}
		expr := v.Str
		if m.reFlags != "" {
			expr = "(?" + m.reFlags + ")" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			c.errorf(pos, "invalid regular expression %q: %v", v.Str, err)
			return nil
		}
		return &reLeaf{re: re, lit: requiredLiteral(expr)}
	case m.cidr:
		p, err := parseCIDR(v.Str)
		if err != nil || v.Kind != ast.String {
			c.errorf(pos, "cidr needs a network such as 10.0.0.0/8, not %q", v.Str)
			return nil
		}
		return &cidrLeaf{nets: []netip.Prefix{p}}
	case m.cmp != "":
		if v.Kind != ast.Number {
			c.errorf(pos, "%s compares numbers: %q is not one", m.cmp, v.Str)
			return nil
		}
		var l leaf = &cmpLeaf{op: m.cmp, n: v.Num}
		if m.timePart != "" {
			l = &timeLeaf{part: m.timePart, next: l}
		}
		return l
	case m.timePart != "":
		if v.Kind != ast.Number {
			c.errorf(pos, "%s extracts a number: compare it with a number, not %q", m.timePart, v.Str)
			return nil
		}
		return &timeLeaf{part: m.timePart, next: &numLeaf{n: v.Num}}
	}
	// String matching, with the string modifiers.
	var raws []string
	switch v.Kind {
	case ast.Null:
		if len(m.str) > 0 || keyword {
			c.errorf(pos, "null takes no string modifiers and is no keyword")
			return nil
		}
		return nullLeaf{}
	case ast.Bool:
		if len(m.str) == 0 && !keyword {
			return &boolLeaf{b: v.Bool}
		}
		raws = []string{fmt.Sprint(v.Bool)}
	case ast.Number:
		if len(m.str) == 0 && !keyword {
			return &numLeaf{n: v.Num}
		}
		raws = []string{v.Str}
	default:
		raws = []string{v.Str}
		if m.expand {
			var err error
			if raws, err = expandPlaceholders(v.Str, c.opts.Placeholders); err != nil {
				c.errorf(pos, "%v", err)
				return nil
			}
		}
	}
	var alts []sstring
	for _, r := range raws {
		alts = append(alts, parseSigmaString(r))
	}
	if keyword && !m.position {
		// A plain keyword appears anywhere in a string of the event.
		for i, a := range alts {
			alts[i] = a.withStars(true, true)
		}
	}
	for _, mod := range m.str {
		var err error
		if alts, err = transform(mod, alts); err != nil {
			c.errorf(pos, "%v", err)
			return nil
		}
	}
	fold := !m.cased && !m.encoded
	globs := make([]*glob, 0, len(alts))
	for _, a := range alts {
		globs = append(globs, compileGlob(a, fold))
	}
	return newStrLeaf(globs, fold)
}

// parseCIDR reads a network, or an address as a network of one.
func parseCIDR(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// setThreshold is how many exact strings a leaf holds before it looks
// them up in a map rather than comparing them one by one.
const setThreshold = 4

// newStrLeaf builds a leaf from globs that fold or not alike.
func newStrLeaf(globs []*glob, fold bool) *strLeaf {
	l := &strLeaf{}
	exact := 0
	for _, g := range globs {
		if g.shape == shapeExact {
			exact++
		}
	}
	for _, g := range globs {
		if g.shape == shapeExact && exact >= setThreshold {
			if l.set == nil {
				l.set = newStrSet(fold)
			}
			l.set.add(g.lit)
			continue
		}
		l.globs = append(l.globs, g)
	}
	return l
}

// mergeLeaves makes one leaf of the alternatives of an item; fold says
// whether its strings fold.
func mergeLeaves(ls []leaf, fold bool) leaf {
	if len(ls) == 1 {
		return ls[0]
	}
	var globs []*glob
	var other orLeaf
	for _, l := range ls {
		sl, ok := l.(*strLeaf)
		if !ok {
			other = append(other, l)
			continue
		}
		globs = append(globs, sl.globs...)
		if sl.set != nil {
			for k := range sl.set.m {
				globs = append(globs, &glob{fold: fold, shape: shapeExact, lit: k, valid: utf8.ValidString(k), src: k})
			}
		}
	}
	if len(globs) == 0 {
		if len(other) == 1 {
			return other[0]
		}
		return other
	}
	sl := newStrLeaf(globs, fold)
	if len(other) == 0 {
		return sl
	}
	return append(orLeaf{sl}, other...)
}

// leafCost estimates the cost of matching one value with l.
func leafCost(l leaf) int {
	switch l := l.(type) {
	case *strLeaf:
		c := 0
		if l.set != nil {
			c = 2
		}
		for _, g := range l.globs {
			switch g.shape {
			case shapeExact, shapePrefix, shapeAny:
				c++
			default:
				c += 2 + len(g.segs)
			}
		}
		return c
	case orLeaf:
		c := 0
		for _, p := range l {
			c += leafCost(p)
		}
		return c
	case *reLeaf:
		if l.lit != "" {
			// Most text is rejected by looking for the literal.
			return 3
		}
		return 20
	case *cidrLeaf:
		return 5
	case *timeLeaf:
		return 10
	}
	return 1
}

// fieldref compiles a field compared with other fields.
func (c *compiler) fieldref(it *ast.FieldItem, m itemMods, f *Field) node {
	n := &fieldrefNode{f: f, all: m.all, fold: !m.cased}
	for _, mod := range m.str {
		switch mod {
		case "contains":
			n.mode = refContains
		case "startswith":
			n.mode = refPrefix
		case "endswith":
			n.mode = refSuffix
		default:
			c.errorf(it.Pos, "fieldref cannot be combined with %s", mod)
			return constNode(false)
		}
	}
	for _, v := range it.Values {
		if v.Kind != ast.String || v.Str == "" {
			c.errorf(it.Pos, "fieldref names a field: %q is not a field name", v.Str)
			return constNode(false)
		}
		n.refs = append(n.refs, c.field(v.Str))
	}
	n.c = fieldCost(f)*(1+len(n.refs)) + 4*len(n.refs)
	var out node = n
	if m.neq {
		out = andNode{newItemNode(f, presentLeaf{}, fieldCost(f)), notNode{n}}
	}
	return out
}
