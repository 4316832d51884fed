package engine

import (
	"strings"
	"unicode/utf8"
)

// Sigma string values: literal text with the wildcards * (any sequence of
// characters, none included) and ? (exactly one character). A backslash
// escapes *, ? and itself; before any other character, and at the end of
// the value, it is a literal backslash, so that Windows paths need no
// doubling (pySigma reads them the same way).

// tokKind is the kind of a token of a Sigma string.
type tokKind uint8

const (
	tokLit  tokKind = iota // literal text
	tokStar                // *
	tokOne                 // ?
)

// token is a part of a Sigma string.
type token struct {
	kind tokKind
	lit  string // for tokLit
}

// sstring is a Sigma string value as tokens; adjacent literals are merged.
type sstring []token

// parseSigmaString reads a value as written in a rule.
func parseSigmaString(s string) sstring {
	var out sstring
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, token{kind: tokLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
			} else {
				lit.WriteByte('\\')
			}
		case '*':
			flush()
			out = append(out, token{kind: tokStar})
		case '?':
			flush()
			out = append(out, token{kind: tokOne})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out
}

// literalString returns s as one plain string, for a value without
// wildcards.
func literalString(lit string) sstring {
	if lit == "" {
		return sstring{}
	}
	return sstring{{kind: tokLit, lit: lit}}
}

// hasWildcards reports whether s has * or ?.
func (s sstring) hasWildcards() bool {
	for _, t := range s {
		if t.kind != tokLit {
			return true
		}
	}
	return false
}

// text returns the literal text of s (wildcards left out).
func (s sstring) text() string {
	var b strings.Builder
	for _, t := range s {
		if t.kind == tokLit {
			b.WriteString(t.lit)
		}
	}
	return b.String()
}

// String returns s as a Sigma string again, escapes included.
func (s sstring) String() string {
	var b strings.Builder
	for _, t := range s {
		switch t.kind {
		case tokStar:
			b.WriteByte('*')
		case tokOne:
			b.WriteByte('?')
		default:
			for i := 0; i < len(t.lit); i++ {
				if c := t.lit[i]; c == '*' || c == '?' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(t.lit[i])
			}
		}
	}
	return b.String()
}

func (s sstring) startsWithStar() bool { return len(s) > 0 && s[0].kind == tokStar }
func (s sstring) endsWithStar() bool   { return len(s) > 0 && s[len(s)-1].kind == tokStar }

// withStars returns s with * before (if before) and after (if after),
// unless it already has one there.
func (s sstring) withStars(before, after bool) sstring {
	out := make(sstring, 0, len(s)+2)
	if before && !s.startsWithStar() {
		out = append(out, token{kind: tokStar})
	}
	out = append(out, s...)
	if after && !s.endsWithStar() {
		out = append(out, token{kind: tokStar})
	}
	return out
}

// elem is an element of a glob segment: a literal or ?.
type elem struct {
	one bool   // ?: any one unit
	lit string // literal, folded when the glob folds
	// valid says lit is valid UTF-8, so that a case-sensitive comparison
	// can be bytewise.
	valid bool
}

// segment is the part of a glob between two stars.
type segment struct {
	elems []elem
	units int // how many units of the subject it matches
	// first says which bytes can begin a match, for a segment that begins
	// with a literal (nil: any byte).
	first *[256]bool
}

// globShape names the common shapes a glob takes, matched without the
// general loop.
type globShape uint8

const (
	shapeGeneral  globShape = iota
	shapeExact              // lit
	shapePrefix             // lit*
	shapeSuffix             // *lit
	shapeContains           // *lit*
	shapeAny                // *
)

// glob is a compiled Sigma string: segments separated by *. The first
// segment is anchored at the start, the last at the end.
type glob struct {
	fold  bool
	shape globShape
	lit   string // the literal of the exact, prefix, suffix and contains shapes
	valid bool   // lit is valid UTF-8
	segs  []segment
	src   string // as written, for messages
}

// compileGlob compiles s; fold makes it case-insensitive.
func compileGlob(s sstring, fold bool) *glob {
	g := &glob{fold: fold, src: s.String()}
	var cur segment
	var litb strings.Builder
	flushLit := func() {
		if litb.Len() == 0 {
			return
		}
		lit := litb.String()
		litb.Reset()
		if fold {
			lit = foldString(lit)
		}
		cur.elems = append(cur.elems, elem{lit: lit, valid: utf8.ValidString(lit)})
		cur.units += unitCount(lit)
	}
	endSeg := func() {
		flushLit()
		g.segs = append(g.segs, cur)
		cur = segment{}
	}
	for _, t := range s {
		switch t.kind {
		case tokLit:
			litb.WriteString(t.lit)
		case tokOne:
			flushLit()
			cur.elems = append(cur.elems, elem{one: true})
			cur.units++
		case tokStar:
			endSeg()
		}
	}
	endSeg()
	// Consecutive stars leave empty middle segments: drop them.
	if len(g.segs) > 2 {
		mid := g.segs[1 : len(g.segs)-1]
		kept := g.segs[:1]
		for _, sg := range mid {
			if len(sg.elems) > 0 {
				kept = append(kept, sg)
			}
		}
		g.segs = append(kept, g.segs[len(g.segs)-1])
	}
	for i := range g.segs {
		g.segs[i].first = firstBytes(g.segs[i].elems, fold)
	}
	g.shape = shapeGeneral
	single := func(sg segment) bool { return len(sg.elems) == 1 && !sg.elems[0].one }
	empty := func(sg segment) bool { return len(sg.elems) == 0 }
	switch n := len(g.segs); {
	case n == 1 && empty(g.segs[0]):
		g.shape, g.lit, g.valid = shapeExact, "", true
	case n == 1 && single(g.segs[0]):
		g.shape = shapeExact
	case n == 2 && empty(g.segs[0]) && empty(g.segs[1]):
		g.shape = shapeAny
	case n == 2 && single(g.segs[0]) && empty(g.segs[1]):
		g.shape = shapePrefix
	case n == 2 && empty(g.segs[0]) && single(g.segs[1]):
		g.shape = shapeSuffix
	case n == 3 && empty(g.segs[0]) && single(g.segs[1]) && empty(g.segs[2]):
		g.shape = shapeContains
	}
	switch g.shape {
	case shapeExact, shapePrefix:
		if len(g.segs[0].elems) > 0 {
			g.lit, g.valid = g.segs[0].elems[0].lit, g.segs[0].elems[0].valid
		}
	case shapeSuffix, shapeContains:
		g.lit, g.valid = g.segs[1].elems[0].lit, g.segs[1].elems[0].valid
	}
	// A folded literal with nothing that has another case matches
	// exactly the bytes it has: compare without folding, faster.
	if g.fold && g.shape != shapeGeneral && g.valid && !needsFold(g.lit) {
		g.fold = false
	}
	return g
}

// needsFold reports whether some unit of s has another case.
func needsFold(s string) bool {
	for i := 0; i < len(s); {
		u, n := unitAt(s, i)
		if u >= 0 && len(orbit(u)) > 1 {
			return true
		}
		i += n
	}
	return false
}

// unitCount returns how many units s has.
func unitCount(s string) int {
	n := 0
	for i := 0; i < len(s); n++ {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, w := unitAt(s, i)
		i += w
	}
	return n
}

// firstBytes returns the bytes a match of a segment can begin with, or
// nil if any.
func firstBytes(elems []elem, fold bool) *[256]bool {
	if len(elems) == 0 || elems[0].one {
		return nil
	}
	var t [256]bool
	u, _ := unitAt(elems[0].lit, 0)
	members := []rune{u}
	if fold {
		members = orbit(u)
	}
	for _, m := range members {
		t[appendUnit(nil, m)[0]] = true
	}
	return &t
}

// match reports whether s matches the glob.
func (g *glob) match(s string) bool {
	switch g.shape {
	case shapeAny:
		return true
	case shapeExact:
		if !g.fold {
			return s == g.lit
		}
		if len(s) < len(g.lit) {
			return false
		}
		end, ok := hasPrefixFoldAt(s, 0, g.lit)
		return ok && end == len(s)
	case shapePrefix:
		if !g.fold {
			_, ok := hasPrefixAt(s, 0, g.lit, g.valid)
			return ok
		}
		_, ok := hasPrefixFoldAt(s, 0, g.lit)
		return ok
	case shapeSuffix:
		if !g.fold && g.valid {
			return strings.HasSuffix(s, g.lit)
		}
		return g.matchSuffix(s, 0, &g.segs[1])
	case shapeContains:
		if !g.fold && g.valid {
			return strings.Contains(s, g.lit)
		}
		_, ok := g.find(s, 0, &g.segs[1])
		return ok
	}
	last := len(g.segs) - 1
	if last == 0 {
		end, ok := g.matchAt(s, 0, &g.segs[0])
		return ok && end == len(s)
	}
	pos, ok := g.matchAt(s, 0, &g.segs[0])
	if !ok {
		return false
	}
	// Each middle segment is matched at its leftmost place: a match there
	// ends no later than any other, which leaves the most for the rest.
	for i := 1; i < last; i++ {
		if pos, ok = g.find(s, pos, &g.segs[i]); !ok {
			return false
		}
	}
	return g.matchSuffix(s, pos, &g.segs[last])
}

// matchAt matches seg at byte i of s, returning where the match ends.
func (g *glob) matchAt(s string, i int, seg *segment) (int, bool) {
	for k := range seg.elems {
		e := &seg.elems[k]
		if e.one {
			if i >= len(s) {
				return 0, false
			}
			if s[i] < utf8.RuneSelf {
				i++
			} else {
				_, n := unitAt(s, i)
				i += n
			}
			continue
		}
		var ok bool
		if g.fold {
			i, ok = hasPrefixFoldAt(s, i, e.lit)
		} else {
			i, ok = hasPrefixAt(s, i, e.lit, e.valid)
		}
		if !ok {
			return 0, false
		}
	}
	return i, true
}

// find matches seg at the leftmost unit of s from byte from that it
// matches, returning where the match ends.
func (g *glob) find(s string, from int, seg *segment) (int, bool) {
	if len(seg.elems) == 0 {
		return from, true
	}
	if !g.fold && len(seg.elems) == 1 && seg.elems[0].valid && !seg.elems[0].one {
		// A valid literal begins with a byte that always begins a
		// unit, so the leftmost byte match is the leftmost unit match.
		lit := seg.elems[0].lit
		if i := strings.Index(s[from:], lit); i >= 0 {
			return from + i + len(lit), true
		}
		return 0, false
	}
	first := seg.first
	for p := from; p < len(s); {
		c := s[p]
		if first == nil || first[c] {
			if end, ok := g.matchAt(s, p, seg); ok {
				return end, true
			}
		}
		if c < utf8.RuneSelf {
			p++
		} else {
			_, n := unitAt(s, p)
			p += n
		}
	}
	return 0, false
}

// matchSuffix reports whether seg matches the end of s, starting no
// earlier than byte from.
func (g *glob) matchSuffix(s string, from int, seg *segment) bool {
	k := seg.units
	if k == 0 {
		return true
	}
	// seg matches exactly k units: find where the last k units begin.
	p := len(s) - k
	if p < from {
		return false
	}
	ascii := true
	for i := p; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		// Count units from from (a unit boundary) to the end, then walk
		// to the k-th last.
		n := 0
		for i := from; i < len(s); n++ {
			_, w := unitAt(s, i)
			i += w
		}
		if n < k {
			return false
		}
		p = from
		for skip := n - k; skip > 0; skip-- {
			_, w := unitAt(s, p)
			p += w
		}
	}
	end, ok := g.matchAt(s, p, seg)
	return ok && end == len(s)
}
