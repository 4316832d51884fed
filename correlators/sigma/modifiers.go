package sigma

import (
	"fmt"
	"net/netip"
	"regexp/syntax"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// modClass groups the modifiers the Sigma modifiers appendix defines by
// what they do to a value.
type modClass int

const (
	modGeneric  modClass = iota // all, cased, neq
	modPosition                 // contains, startswith, endswith
	modRegex                    // re
	modReFlag                   // i, m, s after re
	modEncoding                 // base64, base64offset
	modUTF16                    // utf16le, utf16be, utf16, wide
	modWindash                  // windash
	modCompare                  // gt, gte, lt, lte
	modTime                     // minute, hour, day, week, month, year
	modCIDR                     // cidr
	modExists                   // exists
	modFieldref                 // fieldref
	modExpand                   // expand
)

// modifiers maps every field modifier vigil knows to its class.
var modifiers = map[string]modClass{}

func init() {
	for cls, names := range map[modClass][]string{
		modGeneric:  {"all", "cased", "neq"},
		modPosition: {"contains", "startswith", "endswith"},
		modRegex:    {"re"},
		modReFlag:   {"i", "m", "s"},
		modEncoding: {"base64", "base64offset"},
		modUTF16:    {"utf16le", "utf16be", "utf16", "wide"},
		modWindash:  {"windash"},
		modCompare:  {"gt", "gte", "lt", "lte"},
		modTime:     {"minute", "hour", "day", "week", "month", "year"},
		modCIDR:     {"cidr"},
		modExists:   {"exists"},
		modFieldref: {"fieldref"},
		modExpand:   {"expand"},
	} {
		for _, n := range names {
			modifiers[n] = cls
		}
	}
}

// KnownModifier reports whether name is a field modifier of the Sigma
// specification (v2.1) that vigil knows.
func KnownModifier(name string) bool {
	_, ok := modifiers[name]
	return ok
}

// checkModifiers reports unknown modifiers and combinations that have no
// meaning, and values that do not fit the modifiers.
func (d *docParser) checkModifiers(it *ast.FieldItem, key string) {
	at := it.Pos
	where := fmt.Sprintf("%q", key)
	seen := map[string]bool{}
	count := map[modClass][]string{}
	ok := true
	for i, m := range it.Modifiers {
		cls, known := modifiers[m]
		switch {
		case m == "":
			d.errorf(at, "%s: empty modifier (two \"|\" in a row or a trailing \"|\")", where)
			ok = false
			continue
		case !known:
			hint := ""
			if lm := strings.ToLower(m); lm != m && KnownModifier(lm) {
				hint = fmt.Sprintf("; modifiers are lower case: %q", lm)
			} else if s := closest(m); s != "" {
				hint = fmt.Sprintf("; did you mean %q?", s)
			}
			d.errorf(at, "%s: unknown modifier %q%s", where, m, hint)
			ok = false
			continue
		case seen[m]:
			d.errorf(at, "%s: modifier %q given twice", where, m)
			ok = false
			continue
		}
		seen[m] = true
		count[cls] = append(count[cls], m)
		if cls == modReFlag {
			prev := ""
			if i > 0 {
				prev = it.Modifiers[i-1]
			}
			if prev != "re" && modifiers[prev] != modReFlag {
				d.errorf(at, "%s: modifier %q is a flag of \"re\" and must follow it (as in |re|%s)", where, m, m)
				ok = false
			}
		}
	}
	if !ok {
		return
	}
	one := func(cls modClass, what string) {
		if ms := count[cls]; len(ms) > 1 {
			d.errorf(at, "%s: modifiers %s cannot be combined: use one %s", where, quoteJoin(ms), what)
			ok = false
		}
	}
	one(modPosition, "of contains, startswith and endswith")
	one(modEncoding, "of base64 and base64offset")
	one(modUTF16, "of utf16le, utf16be, utf16 and wide")
	one(modCompare, "of gt, gte, lt and lte")
	one(modTime, "time modifier")

	// The modifiers that replace the usual string comparison: each of
	// them allows only some others beside it.
	exclusive := []struct {
		cls     modClass
		allowed []modClass
	}{
		{modRegex, []modClass{modReFlag, modGeneric}},
		{modCIDR, []modClass{modGeneric}},
		{modExists, nil},
		{modCompare, []modClass{modTime}},
		{modTime, []modClass{modCompare, modGeneric}},
		{modFieldref, []modClass{modGeneric}},
	}
	for _, ex := range exclusive {
		if len(count[ex.cls]) == 0 {
			continue
		}
		for _, m := range it.Modifiers {
			c := modifiers[m]
			if c == ex.cls || slices.Contains(ex.allowed, c) {
				continue
			}
			d.errorf(at, "%s: modifier %q cannot be combined with %q", where, count[ex.cls][0], m)
			ok = false
			break
		}
	}
	if seen["cased"] && (len(count[modCIDR]) > 0 || len(count[modTime]) > 0) {
		d.errorf(at, "%s: \"cased\" applies to strings and has no meaning here", where)
		ok = false
	}
	if !ok {
		return
	}
	// The encodings are applied in order: UTF-16 before base64.
	if e, u := idx(it.Modifiers, modEncoding), idx(it.Modifiers, modUTF16); e >= 0 && u > e {
		d.errorf(at, "%s: %q must come before %q (the value is encoded to UTF-16 first, then to base64)", where, it.Modifiers[u], it.Modifiers[e])
	}
	if seen["base64offset"] && !seen["contains"] {
		d.warnf(at, "%s: \"base64offset\" finds a value inside a longer base64 string and needs \"contains\" after it", where)
	}
	if seen["all"] && len(it.Values) == 1 {
		d.warnf(at, "%s: \"all\" with a single value has no effect (the specification does not allow it)", where)
	}
	d.checkValues(it, where, seen, count)
}

// checkValues checks that the values of an item fit its modifiers.
func (d *docParser) checkValues(it *ast.FieldItem, where string, seen map[string]bool, count map[modClass][]string) {
	stringMods := len(count[modPosition]) + len(count[modEncoding]) + len(count[modUTF16]) + len(count[modWindash]) + len(count[modRegex]) + len(count[modCIDR]) + len(count[modFieldref]) + len(count[modExpand])
	for _, v := range it.Values {
		switch {
		case seen["exists"]:
			if v.Kind != ast.Bool {
				d.errorf(v.Pos, "%s: \"exists\" takes true or false, not %s", where, describeValue(v))
			}
			if len(it.Values) > 1 {
				d.errorf(it.Pos, "%s: \"exists\" takes a single true or false", where)
				return
			}
		case len(count[modCompare]) > 0 || len(count[modTime]) > 0:
			if v.Kind != ast.Number {
				d.errorf(v.Pos, "%s: %q compares numbers; %s is not a number", where, firstOf(count[modCompare], count[modTime]), describeValue(v))
			}
		case v.Kind == ast.Null:
			if len(it.Modifiers) > 0 && !(len(it.Modifiers) == 1 && seen["neq"]) {
				d.errorf(v.Pos, "%s: null (the field is missing or empty) cannot take modifiers", where)
			}
		case v.Kind == ast.Bool && stringMods > 0:
			d.errorf(v.Pos, "%s: modifier %q applies to strings, not to the boolean %s", where, firstStringMod(it.Modifiers), v.Str)
		case seen["re"]:
			flags := syntax.Perl
			if _, err := syntax.Parse(v.Str, flags); err != nil {
				d.errorf(v.Pos, "%s: invalid regular expression %q: %v", where, v.Str, regexpErr(err))
			}
		case seen["cidr"]:
			if _, err := netip.ParsePrefix(v.Str); err != nil {
				d.errorf(v.Pos, "%s: %q is not a CIDR network (such as 10.0.0.0/8 or 2001:db8::/32)", where, v.Str)
			}
		case seen["fieldref"]:
			if v.Kind != ast.String || v.Str == "" {
				d.errorf(v.Pos, "%s: \"fieldref\" takes the name of another field, not %s", where, describeValue(v))
			}
		case seen["expand"]:
			if !strings.Contains(v.Str, "%") {
				d.warnf(v.Pos, "%s: \"expand\" replaces %%placeholders%%, and %q has none", where, v.Str)
			}
		}
	}
}

func regexpErr(err error) string {
	if se, ok := err.(*syntax.Error); ok {
		return string(se.Code)
	}
	return err.Error()
}

func describeValue(v ast.Value) string {
	switch v.Kind {
	case ast.Number:
		return "the number " + v.Str
	case ast.Bool:
		return "the boolean " + v.Str
	case ast.Null:
		return "null"
	}
	return fmt.Sprintf("the string %q", v.Str)
}

func firstOf(a, b []string) string {
	if len(a) > 0 {
		return a[0]
	}
	if len(b) > 0 {
		return b[0]
	}
	return ""
}

func firstStringMod(mods []string) string {
	for _, m := range mods {
		switch modifiers[m] {
		case modGeneric, modReFlag, modCompare, modTime, modExists:
			continue
		}
		return m
	}
	return ""
}

func idx(mods []string, cls modClass) int {
	for i, m := range mods {
		if modifiers[m] == cls {
			return i
		}
	}
	return -1
}

func quoteJoin(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, " and ")
}

// closest returns the known modifier nearest to m by edit distance, if
// it is near enough to be a likely typo.
func closest(m string) string {
	names := make([]string, 0, len(modifiers))
	for name := range modifiers {
		if len(name) >= 3 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	best, bestD := "", 3
	for _, name := range names {
		if dist := editDistance(strings.ToLower(m), name); dist < bestD {
			best, bestD = name, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
