package engine

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// refGlob is the reference matcher the compiled globs are checked against:
// the subject and the pattern as lists of units, matched by dynamic
// programming, with no shortcut.
func refGlob(p sstring, s string, fold bool) bool {
	const star, one = -1 << 30, -1<<30 + 1
	var pat []rune
	for _, t := range p {
		switch t.kind {
		case tokStar:
			pat = append(pat, star)
		case tokOne:
			pat = append(pat, one)
		default:
			for i := 0; i < len(t.lit); {
				u, n := unitAt(t.lit, i)
				pat = append(pat, u)
				i += n
			}
		}
	}
	var sub []rune
	for i := 0; i < len(s); {
		u, n := unitAt(s, i)
		sub = append(sub, u)
		i += n
	}
	// m[j] says whether pat[:i] matches sub[:j].
	m := make([]bool, len(sub)+1)
	m[0] = true
	for _, pu := range pat {
		next := make([]bool, len(sub)+1)
		switch pu {
		case star:
			any := false
			for j := range m {
				any = any || m[j]
				next[j] = any
			}
		case one:
			for j := 1; j <= len(sub); j++ {
				next[j] = m[j-1]
			}
		default:
			for j := 1; j <= len(sub); j++ {
				su := sub[j-1]
				eq := su == pu
				if fold {
					eq = canon(su) == canon(pu)
				}
				next[j] = m[j-1] && eq
			}
		}
		m = next
	}
	return m[len(sub)]
}

func FuzzGlob(f *testing.F) {
	seeds := [][2]string{
		{"CreateAccessKey", "createaccesskey"},
		{"*key", "CreateAccessKey"},
		{"Cr*Ac?ess*", "CreateAccessKey"},
		{"*ΣΊΣ*", "σίσυφος"},
		{"5k", "5\u212a"},
		{"*\u212a*", "KKk"},
		{`a\*b\?c\\d*`, `a*b?c\d`},
		{"?", "é"},
		{"*?\xaa", "\xe2\x84\xaa"},
		{"*\xe2\x84", "\xe2\x84\xe2\x84\xaa"},
		{"**a**b**", "xaxbx"},
		{"*s*", "\u017f"},
		{"a?*?b", "a\xffcb"},
		{"", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], false)
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, pattern, subject string, cased bool) {
		p := parseSigmaString(pattern)
		if got := p.String(); parseSigmaString(got).String() != got {
			t.Fatalf("escaping %q is not stable: %q", pattern, got)
		}
		g := compileGlob(p, !cased)
		want := refGlob(p, subject, !cased)
		if got := g.match(subject); got != want {
			t.Fatalf("pattern %q (%q, cased %v) on %q: got %v, want %v", pattern, p.String(), cased, subject, got, want)
		}
		// The fast shapes of the same pattern with wildcards added.
		for _, v := range []sstring{p.withStars(true, true), p.withStars(false, true), p.withStars(true, false)} {
			g := compileGlob(v, !cased)
			if got, want := g.match(subject), refGlob(v, subject, !cased); got != want {
				t.Fatalf("pattern %q (cased %v) on %q: got %v, want %v", v.String(), cased, subject, got, want)
			}
		}
	})
}

func FuzzFold(f *testing.F) {
	f.Add("Straße", "STRASSE")
	f.Add("ΣΊΣΥΦΟΣ", "σίσυφος")
	f.Add("\u212a", "k")
	f.Add("\xff", "\xfe")
	f.Add("arn:aws:iam::1:user/Alice", "alice")
	f.Fuzz(func(t *testing.T, a, b string) {
		if utf8.ValidString(a) && utf8.ValidString(b) {
			if got, want := equalFoldStrings(a, b), strings.EqualFold(a, b); got != want {
				t.Fatalf("equalFold(%q, %q) = %v, strings.EqualFold says %v", a, b, got, want)
			}
		}
		// Folding is what the exact glob compares.
		if got, want := equalFoldStrings(a, b), refGlob(literalString(b), a, true); got != want {
			t.Fatalf("equalFold(%q, %q) = %v, reference %v", a, b, got, want)
		}
		if foldString(foldString(a)) != foldString(a) {
			t.Fatalf("folding %q twice differs", a)
		}
		// Field references: relate compares two event strings.
		lit := literalString(b)
		for _, c := range []struct {
			mode refMode
			p    sstring
		}{
			{refEqual, lit}, {refPrefix, lit.withStars(false, true)},
			{refSuffix, lit.withStars(true, false)}, {refContains, lit.withStars(true, true)},
		} {
			for _, fold := range []bool{true, false} {
				if got, want := relate(a, b, c.mode, fold), refGlob(c.p, a, fold); got != want {
					t.Fatalf("relate(%q, %q, %d, fold %v) = %v, want %v", a, b, c.mode, fold, got, want)
				}
			}
		}
		// The set of exact strings agrees with the glob.
		set := newStrSet(true)
		set.add(foldString(b))
		if got, want := set.has(a), refGlob(lit, a, true); got != want {
			t.Fatalf("set of %q has %q: %v, want %v", b, a, got, want)
		}
	})
}

// FuzzJSONField checks reading fields from JSON documents against
// encoding/json: a field|contains item matches exactly when a string, number
// or boolean that the path leads to (through arrays) contains the value.
func FuzzJSONField(f *testing.F) {
	f.Add(`{"a":{"b":[{"c":"xyz"},{"c":["q","XY"]}]}}`, "a.b.c", "xy")
	f.Add(`{"a":1,"b":true,"c":null}`, "b", "TRU")
	f.Add(`{"a.b":"x","a":{"b":"y"}}`, "a.b", "y")
	f.Add(`[{"a":"x"}]`, "a", "x")
	f.Add(`{"a":"\u00e9\u212a"}`, "a", "ÉK")
	f.Fuzz(func(t *testing.T, doc, field, value string) {
		if !json.Valid([]byte(doc)) || !utf8.ValidString(doc) || hasDuplicateKeys(doc) ||
			strings.ContainsAny(value, `*?\`) || slices.Contains(strings.Split(field, "."), "") {
			return
		}
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			return
		}
		want, objects := refLookup(v, strings.Split(field, "."), value)
		if objects {
			return // objects compare as their text, which differs in form
		}
		r, err := CompileRule(selRule(it(field+"|contains", value)), Options{})
		if err != nil {
			return
		}
		if got := r.Match(NewJSON([]byte(doc), AsWritten)); got != want {
			t.Fatalf("%s|contains %q on %s: got %v, want %v", field, value, doc, got, want)
		}
	})
}

// refLookup reports whether a scalar at path in v contains value, and
// whether the path led to an object.
func refLookup(v any, path []string, value string) (match, objects bool) {
	if len(path) == 0 {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				m, o := refLookup(e, nil, value)
				match, objects = match || m, objects || o
			}
			return match, objects
		case map[string]any:
			return false, true
		case nil:
			return false, false
		case string:
			return refGlob(literalString(value).withStars(true, true), x, true), false
		case bool:
			return refGlob(literalString(value).withStars(true, true), fmt.Sprint(x), true), false
		}
		// Numbers are matched as written in the document, which may
		// differ from how encoding/json writes them.
		return false, true
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			m, o := refLookup(e, path, value)
			match, objects = match || m, objects || o
		}
		return match, objects
	case map[string]any:
		e, ok := x[path[0]]
		if !ok {
			return false, false
		}
		// Duplicate keys: encoding/json keeps the last, gjson the first.
		return refLookup(e, path[1:], value)
	}
	return false, false
}

// hasDuplicateKeys reports whether an object in doc has a key twice
// (encoding/json keeps the last, gjson reads the first).
func hasDuplicateKeys(doc string) bool {
	dec := json.NewDecoder(strings.NewReader(doc))
	type frame struct {
		keys  map[string]bool
		isObj bool
		key   bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.isObj && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		if top != nil && top.isObj {
			top.key = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, isObj: true, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// FuzzRequiredLiteral checks the prefilter of re: whatever a regular
// expression matches contains its required literal.
func FuzzRequiredLiteral(f *testing.F) {
	f.Add(`.+:assumed-role/aws:.+`, "arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc")
	f.Add(`(?i)^create(user|role)`, "CreateUser")
	f.Add(`a(bc)+d|e`, "xe")
	f.Add(`x\x{FFFD}y`, "x\xffy")
	f.Fuzz(func(t *testing.T, expr, s string) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		lit := requiredLiteral(expr)
		if re.MatchString(s) && !strings.Contains(s, lit) {
			t.Fatalf("%q matches %q, which lacks the required literal %q", expr, s, lit)
		}
	})
}

func TestRequiredLiteral(t *testing.T) {
	for expr, want := range map[string]string{
		`.+:assumed-role/aws:.+`: ":assumed-role/aws:",
		`^Create`:                "Create",
		`(?i)create`:             "",
		`Create|Delete`:          "",
		`(foo)+bar(bazz)`:        "bazz",
		`fo*`:                    "f",
		`[ab]c`:                  "c",
		`(`:                      "",
	} {
		if got := requiredLiteral(expr); got != want {
			t.Errorf("requiredLiteral(%q) = %q, want %q", expr, got, want)
		}
	}
}
