package engine

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vigilsec/vigil/ecs"
)

// node is a compiled condition, search or field item.
type node interface {
	eval(ev Event) bool
	// cost estimates the work of eval, so that cheap tests run first.
	cost() int
}

// Costs of the parts of a node, in rough units of one string comparison.
const (
	costField    = 1  // reading a field the event has in a struct
	costJSON     = 6  // looking a field up in JSON text
	costOriginal = 30 // looking a field up in event.original
	costSearch   = 60 // a keyword search over the whole event
)

type andNode []node

func (n andNode) eval(ev Event) bool {
	for _, p := range n {
		if !p.eval(ev) {
			return false
		}
	}
	return true
}

func (n andNode) cost() int { return sumCost(n) }

type orNode []node

func (n orNode) eval(ev Event) bool {
	for _, p := range n {
		if p.eval(ev) {
			return true
		}
	}
	return false
}

func (n orNode) cost() int { return sumCost(n) }

func sumCost(ns []node) int {
	c := 0
	for _, p := range ns {
		c += p.cost()
	}
	return c
}

// sortByCost orders the parts of an and or or so that cheap ones run
// first; the result is the same in any order.
func sortByCost(ns []node) {
	slices.SortStableFunc(ns, func(a, b node) int { return a.cost() - b.cost() })
}

// sortAnd orders the parts of an and: cheap ones first, negated ones
// counted at twice their cost. A rule's negated parts are mostly filters,
// which few events match, so that they seldom decide the and; its
// positive parts are selections, which most events fail.
func sortAnd(ns []node) {
	slices.SortStableFunc(ns, func(a, b node) int { return andCost(a) - andCost(b) })
}

func andCost(n node) int {
	if _, ok := n.(notNode); ok {
		return 2 * n.cost()
	}
	return n.cost()
}

type notNode struct{ x node }

func (n notNode) eval(ev Event) bool { return !n.x.eval(ev) }
func (n notNode) cost() int          { return n.x.cost() }

// atLeastNode matches when at least n of its parts do.
type atLeastNode struct {
	n     int
	parts []node
}

func (n *atLeastNode) eval(ev Event) bool {
	got := 0
	for i, p := range n.parts {
		if p.eval(ev) {
			if got++; got >= n.n {
				return true
			}
		}
		if got+len(n.parts)-i-1 < n.n {
			return false
		}
	}
	return false
}

func (n *atLeastNode) cost() int { return sumCost(n.parts) }

// constNode is a condition known when compiled.
type constNode bool

func (n constNode) eval(Event) bool { return bool(n) }
func (constNode) cost() int         { return 0 }

// itemNode is a field item: the field matches l (any of its values, for
// lists).
type itemNode struct {
	f *Field
	l leaf
	c int
	// str is l when it matches strings: string fields of normalized
	// events are matched with it directly, without a Value.
	str textMatcher
}

// textMatcher is a leaf that matches a string value by its text, and
// matches no missing field.
type textMatcher interface {
	leaf
	matchString(s string) bool
}

func newItemNode(f *Field, l leaf, cost int) *itemNode {
	n := &itemNode{f: f, l: l, c: cost}
	switch l := l.(type) {
	case *strLeaf:
		n.str = l
	case *reLeaf:
		n.str = l
	}
	return n
}

func (n *itemNode) eval(ev Event) bool {
	if n.str != nil && n.f.ecsStr != nil {
		if e, ok := ev.(*ecsEvent); ok {
			// A strLeaf matches no missing field.
			s := n.f.ecsStr((*ecs.Event)(e))
			return s != "" && n.str.matchString(s)
		}
	}
	return anyValue(ev.Value(n.f), n.l)
}
func (n *itemNode) cost() int { return n.c }

// neqNode is a field item with the neq modifier: the field is there and
// none of its values match.
type neqNode struct {
	f *Field
	l leaf
	c int
}

func (n *neqNode) eval(ev Event) bool {
	v := ev.Value(n.f)
	return anyValue(v, presentLeaf{}) && !anyValue(v, n.l)
}

func (n *neqNode) cost() int { return n.c }

// fieldrefNode compares a field with other fields of the same event.
type fieldrefNode struct {
	f    *Field
	refs []*Field
	all  bool
	mode refMode
	fold bool
	c    int
}

type refMode uint8

const (
	refEqual refMode = iota
	refPrefix
	refSuffix
	refContains
)

func (n *fieldrefNode) eval(ev Event) bool {
	v := ev.Value(n.f)
	for _, rf := range n.refs {
		ok := n.one(v, ev.Value(rf))
		if ok != n.all {
			return ok
		}
	}
	return n.all
}

// one reports whether any value of v relates to any value of ref.
func (n *fieldrefNode) one(v, ref Value) bool {
	if v.Kind == Missing || ref.Kind == Missing {
		return false
	}
	return eachValue(ref, func(r Value) bool {
		var rbuf textBuf
		rs, ok := valueText(&r, &rbuf)
		if !ok || r.Kind == Object {
			return false
		}
		return eachValue(v, func(x Value) bool {
			var buf textBuf
			s, ok := valueText(&x, &buf)
			return ok && x.Kind != Object && relate(s, rs, n.mode, n.fold)
		})
	})
}

func (n *fieldrefNode) cost() int { return n.c }

// relate compares two event strings, neither folded beforehand.
func relate(s, ref string, mode refMode, fold bool) bool {
	if mode == refEqual {
		if fold {
			return equalFoldStrings(s, ref)
		}
		return s == ref
	}
	valid := !fold && utf8.ValidString(ref)
	if valid {
		switch mode {
		case refPrefix:
			return strings.HasPrefix(s, ref)
		case refSuffix:
			return strings.HasSuffix(s, ref)
		}
		return strings.Contains(s, ref)
	}
	at := func(i int) (int, bool) {
		if fold {
			end, ok := prefixFoldBoth(s[i:], ref)
			return i + end, ok
		}
		return hasPrefixAt(s, i, ref, false)
	}
	if mode == refPrefix {
		_, ok := at(0)
		return ok
	}
	for i := 0; i <= len(s); i++ {
		if i < len(s) && !isUnitStart(s, i) {
			continue
		}
		if end, ok := at(i); ok && (mode == refContains || end == len(s)) {
			return true
		}
	}
	return false
}

// isUnitStart reports whether byte i of s begins a unit (see unitAt) when
// s is read from its start.
func isUnitStart(s string, i int) bool {
	c := s[i]
	if c < 0x80 || c >= 0xC0 {
		return true
	}
	// A continuation byte: it begins a unit only if no valid encoding
	// that starts up to three bytes back covers it.
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		if s[j] < 0x80 || s[j] >= 0xC0 {
			// s[j] begins a unit; read on from it.
			for k := j; k < i; {
				_, n := unitAt(s, k)
				k += n
				if k == i {
					return true
				}
				if k > i {
					return false
				}
			}
			return true
		}
	}
	return true
}

// prefixFoldBoth reports whether s begins with p under case folding,
// neither being folded beforehand, and where in s that prefix ends.
func prefixFoldBoth(s, p string) (int, bool) {
	i, j := 0, 0
	for j < len(p) {
		if i >= len(s) {
			return 0, false
		}
		sc, pc := s[i], p[j]
		if sc|pc < 0x80 {
			if lowerASCII[sc] != lowerASCII[pc] {
				return 0, false
			}
			i++
			j++
			continue
		}
		su, sn := unitAt(s, i)
		pu, pn := unitAt(p, j)
		if canon(su) != canon(pu) {
			return 0, false
		}
		i += sn
		j += pn
	}
	return i, true
}

// keywordNode is a keyword search: values matched against every string of
// the event.
type keywordNode struct {
	groups []*keywordGroup
	all    bool
}

// keywordGroup is one keyword (with its alternatives) as a StringMatcher.
type keywordGroup struct{ l leaf }

// MatchString implements StringMatcher.
func (g *keywordGroup) MatchString(s string) bool { return g.l.match(Value{Kind: String, Str: s}) }

func (n *keywordNode) eval(ev Event) bool {
	for _, g := range n.groups {
		ok := ev.SearchStrings(g)
		if ok != n.all {
			return ok
		}
	}
	return n.all
}

func (n *keywordNode) cost() int { return costSearch * len(n.groups) }
