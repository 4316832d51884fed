package engine

import (
	"bytes"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// textBuf holds the text of a value formatted for matching.
type textBuf [40]byte

// valueText returns the text string patterns match in v: strings as they
// are, objects as JSON text, numbers and booleans as written (formatted
// into buf when the event does not have the text), times in RFC 3339.
func valueText(v *Value, buf *textBuf) (string, bool) {
	switch v.Kind {
	case timeKind:
		b := time.Unix(0, v.nanos).UTC().AppendFormat(buf[:0], time.RFC3339Nano)
		return unsafe.String(unsafe.SliceData(b), len(b)), true
	case String, Object:
		return v.Str, true
	case Number:
		if v.Str != "" {
			return v.Str, true
		}
		b := strconv.AppendFloat(buf[:0], v.Num, 'f', -1, 64)
		return unsafe.String(unsafe.SliceData(b), len(b)), true
	case Bool:
		if v.Str != "" {
			return v.Str, true
		}
		if v.Bool {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// strSet is a set of exact strings, folded unless cased.
type strSet struct {
	fold   bool
	m      map[string]struct{}
	maxLen int
}

func newStrSet(fold bool) *strSet { return &strSet{fold: fold, m: map[string]struct{}{}} }

// add adds s, which is folded already if the set folds.
func (t *strSet) add(s string) {
	t.m[s] = struct{}{}
	t.maxLen = max(t.maxLen, len(s))
}

func (t *strSet) has(s string) bool {
	if !t.fold || isFolded(s) {
		_, ok := t.m[s]
		return ok
	}
	// A folded string is at least a quarter as long as the original.
	if len(s) > 4*t.maxLen {
		return false
	}
	var buf [128]byte
	b := appendFold(buf[:0], s)
	_, ok := t.m[string(b)]
	return ok
}

// strLeaf matches the text of a value against exact strings and globs.
type strLeaf struct {
	set   *strSet
	globs []*glob
}

func (l *strLeaf) match(v Value) bool {
	var buf textBuf
	s, ok := valueText(&v, &buf)
	if !ok {
		return false
	}
	if l.matchString(s) {
		return true
	}
	return v.Kind == Object && l.matchInside(v.Str)
}

// matchInside reports whether l matches a string, number or boolean in
// the JSON text of an object, strings decoded: a policy document held as
// a string in requestParameters has its quotes escaped in the object's
// text, not in the string.
func (l *strLeaf) matchInside(text string) bool { return matchInside(l, text) }

// scalarMatcher matches the scalars of a JSON text (matchInside).
type scalarMatcher interface {
	// matchString matches a decoded value.
	matchString(s string) bool
	// matchEscaped matches a JSON string literal that has escapes.
	matchEscaped(raw string) bool
}

// matchInside reports whether m matches a string, number or boolean of
// the JSON text.
func matchInside[M scalarMatcher](m M, text string) bool {
	sc := scalarScanner{s: text}
	for {
		raw, kind, esc, ok := sc.next()
		switch {
		case !ok:
			return false
		case esc:
			if m.matchEscaped(raw) {
				return true
			}
		case kind == String:
			if m.matchString(raw[1 : len(raw)-1]) {
				return true
			}
		default:
			if m.matchString(raw) {
				return true
			}
		}
	}
}

// matchEscaped matches the JSON string literal raw, which has escapes,
// decoded on the stack when it fits there.
//
//go:noinline
func (l *strLeaf) matchEscaped(raw string) bool {
	var buf [2048]byte
	b := appendUnescaped(buf[:0], raw)
	return l.matchString(unsafe.String(unsafe.SliceData(b), len(b)))
}

func (l *strLeaf) matchString(s string) bool {
	if l.set != nil && l.set.has(s) {
		return true
	}
	for _, g := range l.globs {
		if g.match(s) {
			return true
		}
	}
	return false
}

// orLeaf matches when any of its parts does.
type orLeaf []leaf

func (l orLeaf) match(v Value) bool {
	for _, p := range l {
		if p.match(v) {
			return true
		}
	}
	return false
}

// numLeaf is a number value: it matches a number equal to it, or a string
// that is such a number written in decimal.
type numLeaf struct{ n float64 }

func (l *numLeaf) match(v Value) bool {
	switch v.Kind {
	case Number:
		return v.Num == l.n
	case String:
		n, ok := parseNumber(v.Str)
		return ok && n == l.n
	}
	return false
}

// boolLeaf is a boolean value: it matches that boolean, or the string
// "true" or "false", in any case.
type boolLeaf struct{ b bool }

func (l *boolLeaf) match(v Value) bool {
	switch v.Kind {
	case Bool:
		return v.Bool == l.b
	case String:
		if l.b {
			return equalFoldStrings(v.Str, "true")
		}
		return equalFoldStrings(v.Str, "false")
	}
	return false
}

// nullLeaf is the null value: a missing field or a JSON null.
type nullLeaf struct{}

func (nullLeaf) match(v Value) bool { return v.Kind == Missing || v.Kind == Null }

// existsLeaf matches any value that is there, null and empty included.
type existsLeaf struct{}

func (existsLeaf) match(v Value) bool { return v.Kind != Missing }

// presentLeaf matches any value but a missing field and null.
type presentLeaf struct{}

func (presentLeaf) match(v Value) bool { return v.Kind != Missing && v.Kind != Null }

// cmpLeaf compares numbers (gt, gte, lt, lte); strings holding a decimal
// number compare as that number.
type cmpLeaf struct {
	op string
	n  float64
}

func (l *cmpLeaf) match(v Value) bool {
	var x float64
	switch v.Kind {
	case Number:
		x = v.Num
	case String:
		n, ok := parseNumber(v.Str)
		if !ok {
			return false
		}
		x = n
	default:
		return false
	}
	switch l.op {
	case "gt":
		return x > l.n
	case "gte":
		return x >= l.n
	case "lt":
		return x < l.n
	case "lte":
		return x <= l.n
	}
	return false
}

// cidrLeaf matches IP addresses in any of its networks.
type cidrLeaf struct{ nets []netip.Prefix }

func (l *cidrLeaf) match(v Value) bool {
	if v.Kind != String || !maybeIP(v.Str) {
		return false
	}
	ip, err := netip.ParseAddr(v.Str)
	if err != nil {
		return false
	}
	ip = ip.Unmap().WithZone("")
	for _, n := range l.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// maybeIP reports whether s has only the characters of IP addresses, so
// that most non-addresses are rejected without ParseAddr's error (which
// allocates).
func maybeIP(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	v6 := strings.IndexByte(s, ':') >= 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '.':
		case v6 && (c == ':' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'):
		case v6 && c == '%':
			return true // a zone, which may hold anything
		default:
			return false
		}
	}
	return true
}

// reLeaf matches text against a regular expression, anywhere in it.
type reLeaf struct {
	re *regexp.Regexp
	// lit, if not "", is text every match contains (see
	// requiredLiteral): text without it is rejected before the regular
	// expression runs.
	lit string
}

func (l *reLeaf) match(v Value) bool {
	if v.Str != "" && v.Kind != Missing && v.Kind != Null {
		// The text is in the event: the common case.
		if l.matchString(v.Str) {
			return true
		}
		return v.Kind == Object && l.matchInside(v.Str)
	}
	var buf textBuf
	s, ok := valueText(&v, &buf)
	if !ok || !strings.Contains(s, l.lit) {
		return false
	}
	// regexp keeps its input: a copy spares buf from the heap.
	return l.re.MatchString(strings.Clone(s))
}

// matchString matches s, which the event holds.
func (l *reLeaf) matchString(s string) bool {
	return strings.Contains(s, l.lit) && l.re.MatchString(s)
}

// matchInside is strLeaf.matchInside for a regular expression.
func (l *reLeaf) matchInside(text string) bool { return matchInside(l, text) }

// matchEscaped matches the JSON string literal raw, which has escapes:
// decoded on the stack, when it fits, to look for lit, and on the heap
// (regexp keeps its input) to run the regular expression.
//
//go:noinline
func (l *reLeaf) matchEscaped(raw string) bool {
	var buf [2048]byte
	b := appendUnescaped(buf[:0], raw)
	if !bytes.Contains(b, []byte(l.lit)) {
		return false
	}
	return l.re.Match(bytes.Clone(b))
}

// requiredLiteral returns text that every match of the regular expression
// expr contains (the longest case-sensitive literal of its top-level
// concatenation), or "".
func requiredLiteral(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	best := ""
	for _, p := range parts {
		for p.Op == syntax.OpCapture {
			p = p.Sub[0]
		}
		if p.Op != syntax.OpLiteral || p.Flags&syntax.FoldCase != 0 {
			continue
		}
		// An invalid byte of the input matches as U+FFFD: a literal
		// with it is not a substring of every match.
		if slices.Contains(p.Rune, utf8.RuneError) {
			continue
		}
		if s := string(p.Rune); len(s) > len(best) {
			best = s
		}
	}
	return best
}

// timeLeaf extracts a part of a date (the time modifiers) and matches the
// number with next.
type timeLeaf struct {
	part string
	next leaf
}

// timeLayouts are the date forms the time modifiers read.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

func (l *timeLeaf) match(v Value) bool {
	var t time.Time
	switch v.Kind {
	case timeKind:
		t = time.Unix(0, v.nanos).UTC()
	case String:
		if len(v.Str) < 10 || v.Str[4] != '-' {
			return false
		}
		ok := false
		for _, layout := range timeLayouts {
			var err error
			if t, err = time.Parse(layout, v.Str); err == nil {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	case Number:
		// Seconds since the epoch.
		t = time.Unix(int64(v.Num), 0).UTC()
	default:
		return false
	}
	var n int
	switch l.part {
	case "minute":
		n = t.Minute()
	case "hour":
		n = t.Hour()
	case "day":
		n = t.Day()
	case "week":
		_, n = t.ISOWeek()
	case "month":
		n = int(t.Month())
	case "year":
		n = t.Year()
	}
	return l.next.match(Value{Kind: Number, Num: float64(n)})
}

// parseNumber reads a decimal number: an optional sign, digits with an
// optional fraction, and an optional exponent. It does not allocate.
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 || exp > 3 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	return n, err == nil
}
