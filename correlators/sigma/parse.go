// Package sigma reads Sigma rules: detection rules, correlation rules
// (specification 2.1) and filters, from YAML files into the syntax tree
// of package ast, with the position of every part, and reports every
// problem it finds in them with its file, line and column.
//
// Parse and ParseFile read one file, which may hold several documents:
// rules side by side (a correlation and the rules it correlates) or a
// rule collection (action: global, reset and repeat). Each document is
// checked on its own, natively and against the official JSON schemas of
// the Sigma specification. Check looks at a set of rules together
// (duplicate ids, references between rules), and Lint does both over
// files and directories, as "vigil rules lint" does.
//
// A rule with an error among its problems must not be run; Usable picks
// the others.
package sigma

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// ParseFile reads and parses the Sigma rule file at path; see Parse. A
// file that cannot be read gives one problem.
func ParseFile(path string) ([]*ast.Rule, []ast.Problem) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []ast.Problem{{Pos: ast.Pos{File: path}, Severity: ast.Error, Msg: err.Error()}}
	}
	return Parse(path, data)
}

// Parse parses the YAML documents in data, read from file (which is only
// used in positions), into rules, in file order, and reports the problems
// it finds, sorted by position. Every document that is a rule gives a
// rule, even one with errors, so that a linter can check references to
// it; use Usable to drop those with errors. A YAML syntax error gives one
// problem and no rules.
func Parse(file string, data []byte) ([]*ast.Rule, []ast.Problem) {
	docs, prob := parseYAML(file, data)
	if prob != nil {
		return nil, []ast.Problem{*prob}
	}
	merged, probs := expandCollection(file, docs)
	var rules []*ast.Rule
	for _, m := range merged {
		d := &docParser{file: file, key: fmt.Sprintf("document %d", m.index)}
		r := d.rule(m.body)
		native := d.probs
		if r != nil {
			rules = append(rules, r)
			native = append(native, validateSchema(file, r.Kind, m.body, d.key, native)...)
		}
		probs = append(probs, native...)
	}
	SortProblems(probs)
	return rules, probs
}

// docParser builds one rule from its document and collects the problems.
type docParser struct {
	file  string
	key   string // the rule's id, title or "document N", for Problem.Rule
	probs []ast.Problem
}

func (d *docParser) errorf(pos ast.Pos, format string, args ...any) {
	d.report(pos, ast.Error, format, args...)
}

func (d *docParser) warnf(pos ast.Pos, format string, args ...any) {
	d.report(pos, ast.Warning, format, args...)
}

func (d *docParser) report(pos ast.Pos, sev ast.Severity, format string, args ...any) {
	if pos.File == "" {
		pos.File = d.file
	}
	d.probs = append(d.probs, ast.Problem{Pos: pos, Severity: sev, Rule: d.key, Msg: fmt.Sprintf(format, args...)})
}

// Top-level attributes of the rules, correlation rules and filters
// specifications; the others are custom attributes.
var knownTop = map[string]bool{
	"title": true, "id": true, "name": true, "related": true, "taxonomy": true, "status": true,
	"description": true, "license": true, "author": true, "references": true, "date": true,
	"modified": true, "logsource": true, "detection": true, "fields": true, "falsepositives": true,
	"level": true, "tags": true, "scope": true, "correlation": true, "filter": true, "generate": true,
}

var (
	levels   = []string{"informational", "low", "medium", "high", "critical"}
	statuses = []string{"stable", "test", "experimental", "deprecated", "unsupported"}
	relTypes = []string{"derived", "obsolete", "merged", "renamed", "similar"}

	uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	dateRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$`)
	tagRE  = regexp.MustCompile(`^[a-z0-9_-]+\.[a-z0-9._-]+$`)
	aggRE  = regexp.MustCompile(`^(count|min|max|avg|sum)\s*\(`)
)

// rule builds the rule of one document; nil if it is not a rule at all.
func (d *docParser) rule(body *node) *ast.Rule {
	if body.kind != mapNode {
		d.errorf(body.pos, "a Sigma rule is a YAML map of attributes, but this document is %s", body.describe())
		return nil
	}
	r := &ast.Rule{Pos: body.pos}
	r.Pos.File = d.file
	// Problems name the rule as RuleKey will: by id, else by title.
	id, _, _ := body.get("id")
	title, _, _ := body.get("title")
	if k := cmp.Or(scalarText(id), scalarText(title)); k != "" {
		d.key = k
	}

	_, _, hasDet := body.get("detection")
	_, _, hasCorr := body.get("correlation")
	_, _, hasFilter := body.get("filter")
	_, _, hasLog := body.get("logsource")
	switch {
	case hasCorr && (hasDet || hasFilter):
		d.errorf(body.pos, "a document is one rule: it has a correlation and also a %s; put them in separate documents (---)", pick(hasDet, "detection", "filter"))
		r.Kind = ast.KindCorrelation
	case hasDet && hasFilter:
		d.errorf(body.pos, "a document is one rule: it has both a detection and a filter; put them in separate documents (---)")
		r.Kind = ast.KindDetection
	case hasCorr:
		r.Kind = ast.KindCorrelation
	case hasFilter:
		r.Kind = ast.KindFilter
	case hasDet || hasLog:
		r.Kind = ast.KindDetection
	default:
		d.errorf(body.pos, "not a Sigma rule: the document has no detection, correlation or filter")
		return nil
	}

	d.meta(r, body)

	switch r.Kind {
	case ast.KindDetection:
		if !hasLog {
			d.errorf(body.pos, "missing required attribute \"logsource\"")
		}
		if n, pos, ok := body.get("detection"); ok {
			r.Detection = d.detection(n, pos, "detection", nil)
		} else {
			d.errorf(body.pos, "missing required attribute \"detection\"")
		}
		if _, pos, ok := body.get("generate"); ok {
			d.errorf(pos, "\"generate\" belongs to correlation rules")
		}
	case ast.KindCorrelation:
		if _, pos, ok := body.get("logsource"); ok {
			d.warnf(pos, "a correlation rule has no logsource: the rules it correlates have theirs; this one is ignored")
		}
		n, pos, _ := body.get("correlation")
		r.Correlation = d.correlation(n, pos)
		if g, gpos, ok := body.get("generate"); ok && r.Correlation != nil {
			if b, ok := d.boolean(g, gpos, "generate"); ok {
				r.Correlation.Generate = r.Correlation.Generate || b
			}
		}
	case ast.KindFilter:
		if !hasLog {
			d.errorf(body.pos, "missing required attribute \"logsource\"")
		}
		n, pos, _ := body.get("filter")
		r.Filter = d.filter(n, pos)
		for _, a := range []string{"level", "status"} {
			if _, pos, ok := body.get(a); ok {
				d.warnf(pos, "a filter has no %s: it only removes matches from other rules", a)
			}
		}
	}
	return r
}

// scalarText is the text of a scalar that is not null, as str reads it.
func scalarText(n *node) string {
	if n.isNull() || n.kind != scalarNode {
		return ""
	}
	return n.scalar.Str
}

func pick(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

// meta reads the attributes common to every kind of rule.
func (d *docParser) meta(r *ast.Rule, body *node) {
	if n, pos, ok := body.get("title"); ok {
		r.Title, _ = d.str(n, pos, "title")
		if strings.TrimSpace(r.Title) == "" {
			d.errorf(pos, "\"title\" is empty")
		}
	} else {
		d.errorf(body.pos, "missing required attribute \"title\"")
	}
	if n, pos, ok := body.get("id"); ok {
		var isStr bool
		if r.ID, isStr = d.str(n, pos, "id"); isStr && !uuidRE.MatchString(r.ID) {
			d.warnf(n.pos, "id %q is not a UUID; Sigma rules are identified by a random UUID (version 4)", r.ID)
		}
	}
	if n, pos, ok := body.get("name"); ok {
		r.Name, _ = d.str(n, pos, "name")
		if strings.ContainsAny(r.Name, " \t") {
			d.warnf(n.pos, "name %q has spaces; correlation rules refer to it, and names are usually snake_case", r.Name)
		}
	}
	if n, pos, ok := body.get("status"); ok {
		r.Status, _ = d.str(n, pos, "status")
		if !slices.Contains(statuses, r.Status) {
			d.errorf(n.pos, "status %q is not one of %s", r.Status, strings.Join(statuses, ", "))
		}
	}
	if n, pos, ok := body.get("level"); ok {
		r.Level, _ = d.str(n, pos, "level")
		if !slices.Contains(levels, r.Level) {
			d.errorf(n.pos, "level %q is not one of %s", r.Level, strings.Join(levels, ", "))
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"description", &r.Description}, {"license", &r.License}, {"author", &r.Author}, {"taxonomy", &r.Taxonomy}} {
		if n, pos, ok := body.get(f.name); ok {
			*f.dst, _ = d.str(n, pos, f.name)
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"date", &r.Date}, {"modified", &r.Modified}} {
		if n, pos, ok := body.get(f.name); ok {
			if s, ok := d.str(n, pos, f.name); ok {
				*f.dst = s
				if !dateRE.MatchString(s) {
					d.errorf(n.pos, "%s %q is not a date written YYYY-MM-DD", f.name, s)
				}
			}
		}
	}
	for _, f := range []struct {
		name string
		dst  *[]string
	}{{"references", &r.References}, {"fields", &r.Fields}, {"falsepositives", &r.FalsePos}, {"tags", &r.Tags}, {"scope", &r.Scope}} {
		if n, pos, ok := body.get(f.name); ok {
			*f.dst = d.strList(n, pos, f.name)
		}
	}
	if n, _, ok := body.get("tags"); ok && n.kind == seqNode {
		for i, t := range r.Tags {
			if !tagRE.MatchString(t) {
				d.errorf(n.items[i].pos, "tag %q is not a lower-case namespace.name (such as attack.t1078)", t)
			}
		}
	}
	if n, pos, ok := body.get("related"); ok {
		r.Related = d.related(n, pos)
	}
	if n, pos, ok := body.get("logsource"); ok {
		r.LogSource = d.logsource(n, pos)
	}
	for _, e := range body.entries {
		if knownTop[e.key] {
			continue
		}
		if k := nearKnown(e.key); k != "" {
			d.warnf(e.keyPos, "unknown attribute %q; did you mean %q? (it is kept as a custom attribute)", e.key, k)
		}
		if r.Custom == nil {
			r.Custom = map[string]any{}
		}
		r.Custom[e.key] = e.val.toAny()
	}
}

// nearKnown returns the attribute of the specification that key is
// probably a typo of, or "".
func nearKnown(key string) string {
	if len(key) < 4 {
		return ""
	}
	best, bestD := "", 3
	for _, k := range slices.Sorted(maps.Keys(knownTop)) {
		if dist := editDistance(strings.ToLower(key), k); dist < bestD {
			best, bestD = k, dist
		}
	}
	return best
}

// str reads a string attribute. Numbers and booleans are taken as
// written (the schema check reports their type); maps and lists are
// errors.
func (d *docParser) str(n *node, keyPos ast.Pos, name string) (string, bool) {
	switch {
	case n.isNull():
		return "", false
	case n.kind != scalarNode:
		d.errorf(keyPos, "%q must be a string, not %s", name, n.describe())
		return "", false
	}
	return n.scalar.Str, n.scalar.Kind == ast.String
}

// strList reads a list of strings; a single string is taken as a list of
// one.
func (d *docParser) strList(n *node, keyPos ast.Pos, name string) []string {
	switch {
	case n.isNull():
		return nil
	case n.kind == scalarNode:
		return []string{n.scalar.Str}
	case n.kind == mapNode:
		d.errorf(keyPos, "%q must be a list of strings, not a map", name)
		return nil
	}
	out := make([]string, 0, len(n.items))
	for _, it := range n.items {
		if it.kind != scalarNode {
			d.errorf(it.pos, "%q must be a list of strings; this item is %s", name, it.describe())
			continue
		}
		out = append(out, it.scalar.Str)
	}
	return out
}

func (d *docParser) boolean(n *node, keyPos ast.Pos, name string) (bool, bool) {
	if n.kind != scalarNode || n.scalar.Kind != ast.Bool {
		d.errorf(keyPos, "%q must be true or false, not %s", name, n.describe())
		return false, false
	}
	return n.scalar.Bool, true
}

func (d *docParser) related(n *node, keyPos ast.Pos) []ast.Related {
	if n.kind != seqNode {
		d.errorf(keyPos, "\"related\" must be a list of {id, type}, not %s", n.describe())
		return nil
	}
	var out []ast.Related
	for _, it := range n.items {
		if it.kind != mapNode {
			d.errorf(it.pos, "each \"related\" entry is a map with id and type, not %s", it.describe())
			continue
		}
		var rel ast.Related
		if v, pos, ok := it.get("id"); ok {
			var isStr bool
			if rel.ID, isStr = d.str(v, pos, "id"); isStr && !uuidRE.MatchString(rel.ID) {
				d.warnf(v.pos, "related id %q is not a UUID", rel.ID)
			}
		} else {
			d.errorf(it.pos, "\"related\" entry without \"id\"")
		}
		if v, pos, ok := it.get("type"); ok {
			rel.Type, _ = d.str(v, pos, "type")
			if !slices.Contains(relTypes, rel.Type) {
				d.errorf(v.pos, "related type %q is not one of %s", rel.Type, strings.Join(relTypes, ", "))
			}
		} else {
			d.errorf(it.pos, "\"related\" entry without \"type\"")
		}
		out = append(out, rel)
	}
	return out
}

func (d *docParser) logsource(n *node, keyPos ast.Pos) ast.LogSource {
	ls := ast.LogSource{Pos: keyPos}
	if n.kind != mapNode {
		d.errorf(keyPos, "\"logsource\" must be a map of category, product and service, not %s", n.describe())
		return ls
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"category", &ls.Category}, {"product", &ls.Product}, {"service", &ls.Service}, {"definition", &ls.Definition}} {
		if v, pos, ok := n.get(f.name); ok {
			*f.dst, _ = d.str(v, pos, f.name)
		}
	}
	if ls.Category == "" && ls.Product == "" && ls.Service == "" {
		d.errorf(keyPos, "\"logsource\" needs at least one of category, product and service")
	}
	return ls
}

// detection reads a detection section (or the search part of a filter):
// every key but condition (and the retired timeframe, and the keys in
// skip) is a search identifier.
func (d *docParser) detection(n *node, keyPos ast.Pos, section string, skip map[string]bool) *ast.Detection {
	det := &ast.Detection{Pos: keyPos}
	if n.kind != mapNode {
		d.errorf(keyPos, "%q must be a map of search identifiers and a condition, not %s", section, n.describe())
		return det
	}
	var condNode *node
	var condKey ast.Pos
	for _, e := range n.entries {
		switch {
		case skip[e.key]:
		case e.key == "condition":
			condNode, condKey = e.val, e.keyPos
		case e.key == "timeframe":
			det.Timeframe, _ = d.str(e.val, e.keyPos, "timeframe")
			d.errorf(e.keyPos, "%s.timeframe (%s) belongs to the retired aggregation syntax; Sigma 2 replaced it with correlation rules, whose timespan gives the window", section, det.Timeframe)
		default:
			if s := d.search(e); s != nil {
				det.Searches = append(det.Searches, s)
			}
		}
	}
	if len(det.Searches) == 0 {
		d.errorf(keyPos, "%q defines no search identifier", section)
	}
	if condNode == nil {
		d.errorf(keyPos, "%q has no condition", section)
		return det
	}
	det.ConditionPos = condKey
	d.condition(det, condNode, condKey)
	return det
}

// search reads one search identifier.
func (d *docParser) search(e entry) *ast.Search {
	s := &ast.Search{Pos: e.keyPos, Name: e.key}
	n := e.val
	where := fmt.Sprintf("search %q", e.key)
	switch {
	case n.isNull(), n.kind == mapNode && len(n.entries) == 0, n.kind == seqNode && len(n.items) == 0:
		d.errorf(e.keyPos, "%s is empty", where)
		return s
	case n.kind == scalarNode:
		d.errorf(e.keyPos, "%s is a single value; write it as a list of keywords (\"- %s\") or as a map of fields", where, n.scalar.Str)
		return s
	case n.kind == mapNode:
		s.Maps = []*ast.FieldMap{d.fieldMap(n, where)}
		return s
	}
	var maps, scalars int
	for _, it := range n.items {
		switch it.kind {
		case mapNode:
			maps++
		case scalarNode:
			scalars++
		default:
			d.errorf(it.pos, "%s: an item of a search list is a map of fields or a keyword, not a list", where)
			return s
		}
	}
	if maps > 0 && scalars > 0 {
		d.errorf(e.keyPos, "%s mixes maps of fields and keywords in one list; put the keywords in a search of their own", where)
		return s
	}
	for _, it := range n.items {
		if it.kind == mapNode {
			if len(it.entries) == 0 {
				d.errorf(it.pos, "%s: empty map", where)
				continue
			}
			s.Maps = append(s.Maps, d.fieldMap(it, where))
			continue
		}
		v := it.scalar
		if v.Kind == ast.Null {
			d.errorf(it.pos, "%s: a keyword cannot be null", where)
			continue
		}
		s.Keywords = append(s.Keywords, v)
	}
	return s
}

// fieldMap reads a map of "field|modifiers: values".
func (d *docParser) fieldMap(n *node, where string) *ast.FieldMap {
	fm := &ast.FieldMap{Pos: n.pos}
	for _, e := range n.entries {
		parts := strings.Split(e.key, "|")
		it := &ast.FieldItem{Pos: e.keyPos, Field: parts[0]}
		if len(parts) > 1 {
			it.Modifiers = parts[1:]
		}
		it.Values = d.values(e, where)
		if len(it.Values) > 0 {
			d.checkModifiers(it, e.key)
		}
		fm.Items = append(fm.Items, it)
	}
	return fm
}

// values reads the value or list of values of a field item.
func (d *docParser) values(e entry, where string) []ast.Value {
	n := e.val
	switch n.kind {
	case scalarNode:
		return []ast.Value{n.scalar}
	case mapNode:
		sub := "name"
		if len(n.entries) > 0 {
			sub = n.entries[0].key
		}
		d.errorf(e.keyPos, "%s: the value of %q is a map; nested maps are not Sigma (write the field with dots, such as %s.%s)", where, e.key, e.key, sub)
		return nil
	}
	if len(n.items) == 0 {
		d.errorf(e.keyPos, "%s: %q has an empty list of values, which matches nothing", where, e.key)
		return nil
	}
	out := make([]ast.Value, 0, len(n.items))
	for _, it := range n.items {
		if it.kind != scalarNode {
			d.errorf(it.pos, "%s: the values of %q must be strings, numbers, booleans or null, not %s", where, e.key, it.describe())
			continue
		}
		out = append(out, it.scalar)
	}
	return out
}

// condition reads, parses and checks the condition of a detection.
func (d *docParser) condition(det *ast.Detection, n *node, keyPos ast.Pos) {
	var conds []*node
	switch {
	case n.kind == scalarNode && n.scalar.Kind == ast.String:
		conds = []*node{n}
		det.ConditionText = n.scalar.Str
	case n.kind == seqNode && len(n.items) > 0:
		texts := make([]string, 0, len(n.items))
		for _, it := range n.items {
			if it.kind != scalarNode || it.scalar.Kind != ast.String {
				d.errorf(it.pos, "each condition of the list must be a string, not %s", it.describe())
				return
			}
			conds = append(conds, it)
			texts = append(texts, it.scalar.Str)
		}
		det.ConditionText = texts[0]
		if len(n.items) > 1 {
			det.ConditionText = "[" + strings.Join(texts, ", ") + "]"
			d.warnf(keyPos, "a list of conditions (any of them) is not in Sigma 2 and other tools reject it; join them with \"or\"")
		}
	default:
		d.errorf(keyPos, "the condition must be a string, not %s", n.describe())
		return
	}
	var parts []ast.Cond
	for _, cn := range conds {
		text := cn.scalar.Str
		posOf := func(col int) ast.Pos {
			p := cn.pos
			p.File = d.file
			if cn.textCol > 0 {
				p.Col = cn.textCol + col - 1
			}
			return p
		}
		if i := strings.IndexByte(text, '|'); i >= 0 {
			col := len([]rune(text[:i])) + 1
			d.errorf(posOf(col), "%s", retiredMessage(text, i))
			continue
		}
		c, err := parseCondition(text, posOf)
		if err != nil {
			ce := err.(*ConditionError)
			d.errorf(posOf(ce.Col), "condition %q: %s (column %d of the condition)", text, ce.Msg, ce.Col)
			continue
		}
		parts = append(parts, c)
	}
	if len(parts) != len(conds) {
		return
	}
	if len(parts) == 1 {
		det.Condition = parts[0]
	} else {
		det.Condition = ast.Or{Parts: parts}
	}
	d.checkIdentifiers(det, keyPos)
}

// retiredMessage explains the retired aggregation syntax in a condition
// whose pipe is at byte i.
func retiredMessage(text string, i int) string {
	agg := strings.TrimSpace(text[i:])
	rest := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(agg, "|")))
	switch {
	case strings.HasPrefix(rest, "near"):
		return fmt.Sprintf("the condition uses the retired near syntax %q; Sigma 2 replaced it with correlation rules: write a temporal (or temporal_ordered) correlation of one rule per search", agg)
	case aggRE.MatchString(rest):
		fn := strings.TrimSpace(rest[:strings.IndexByte(rest, '(')])
		alt := "an event_count correlation (value_count for count(field); group-by for \"by\")"
		if fn != "count" {
			alt = "a value_sum, value_avg or value_percentile correlation"
		}
		return fmt.Sprintf("the condition uses the retired aggregation syntax %q (%s() after a pipe); Sigma 2 replaced it with correlation rules: write %s over a rule with this detection", agg, fn, alt)
	}
	return fmt.Sprintf("the condition has a pipe (%q), which only the retired aggregation syntax used; Sigma 2 replaced it with correlation rules", agg)
}

// checkIdentifiers reports identifiers of the condition that no search
// defines, patterns that match none, and searches the condition never
// uses.
func (d *docParser) checkIdentifiers(det *ast.Detection, keyPos ast.Pos) {
	used := map[string]bool{}
	names := make([]string, len(det.Searches))
	for i, s := range det.Searches {
		names[i] = s.Name
	}
	var walk func(c ast.Cond)
	walk = func(c ast.Cond) {
		switch c := c.(type) {
		case ast.And:
			for _, p := range c.Parts {
				walk(p)
			}
		case ast.Or:
			for _, p := range c.Parts {
				walk(p)
			}
		case ast.Not:
			walk(c.X)
		case ast.Ident:
			if det.Search(c.Name) == nil {
				d.errorf(c.Pos, "the condition uses %q, which no search defines (searches: %s)", c.Name, listOrNone(names))
				return
			}
			used[c.Name] = true
		case ast.Of:
			matched := Expand(det, c)
			what := FormatCondition(c)
			switch {
			case len(matched) == 0:
				d.errorf(c.Pos, "%q in the condition matches no search (searches: %s)", what, listOrNone(names))
			case c.Quant == ast.AtLeast && c.N > len(matched):
				d.errorf(c.Pos, "%q can never match: the pattern matches only %d searches", what, len(matched))
			}
			for _, s := range matched {
				used[s.Name] = true
			}
		}
	}
	walk(det.Condition)
	for _, s := range det.Searches {
		if !used[s.Name] {
			d.warnf(s.Pos, "search %q is not used in the condition", s.Name)
		}
	}
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Expand returns the searches of det that the quantified condition of
// selects, in file order: those whose names match its pattern, where *
// stands for any run of characters. Searches whose names begin with "_"
// are left out unless the pattern begins with "_" too (pySigma leaves them
// out of every pattern, "them" included).
func Expand(det *ast.Detection, of ast.Of) []*ast.Search {
	var out []*ast.Search
	for _, s := range det.Searches {
		if strings.HasPrefix(s.Name, "_") && !strings.HasPrefix(of.Pattern, "_") {
			continue
		}
		if MatchPattern(of.Pattern, s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// MatchPattern reports whether name matches pattern, where * in pattern
// stands for any run of characters and everything else for itself.
func MatchPattern(pattern, name string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == name
	}
	if !strings.HasPrefix(name, pattern[:star]) {
		return false
	}
	name, pattern = name[star:], pattern[star+1:]
	for {
		star = strings.IndexByte(pattern, '*')
		if star < 0 {
			return strings.HasSuffix(name, pattern)
		}
		i := strings.Index(name, pattern[:star])
		if i < 0 {
			return false
		}
		name, pattern = name[i+star:], pattern[star+1:]
	}
}

// ParseTimespan parses a correlation timespan: a positive whole number
// and a lower-case unit, s, m, h or d (a day is 24 hours).
func ParseTimespan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("timespan %q: want a number and a unit (s, m, h or d), such as 5m or 1h", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[s[len(s)-1]]
	num := s[:len(s)-1]
	if unit == 0 || !isNumber(num) {
		return 0, fmt.Errorf("timespan %q: want a number and a unit (s, m, h or d), such as 5m or 1h", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > int64(math.MaxInt64/unit) {
		return 0, fmt.Errorf("timespan %q: the number must be positive and not absurdly large", s)
	}
	return time.Duration(n) * unit, nil
}
