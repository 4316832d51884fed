package sigma

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

func TestParseConditionPrecedence(t *testing.T) {
	for _, tc := range []struct {
		in string
		// want is the tree written with full parentheses.
		want string
	}{
		{"selection", "selection"},
		{"a and b", "(a and b)"},
		{"a or b", "(a or b)"},
		{"a and b and c", "(a and b and c)"},
		{"a or b and c", "(a or (b and c))"},
		{"a and b or c", "((a and b) or c)"},
		{"not a and b", "((not a) and b)"},
		{"not a or b", "((not a) or b)"},
		{"a and not b or not c and d", "((a and (not b)) or ((not c) and d))"},
		{"not not a", "(not (not a))"},
		{"(a or b) and c", "((a or b) and c)"},
		{"not (a or b)", "(not (a or b))"},
		{"a and (b or (c and not d))", "(a and (b or (c and (not d))))"},
		{"((a))", "a"},
		{"selection and not 1 of filter_main_*", "(selection and (not 1 of filter_main_*))"},
		{"1 of selection_* and all of filter*", "(1 of selection_* and all of filter*)"},
		{"all of them", "all of them"},
		{"1 of them", "1 of them"},
		{"any of sel*", "1 of sel*"},
		{"2 of sel_*", "2 of sel_*"},
		{"1 of sel", "1 of sel"},
		{"not 1 of filter* or all of sel*", "((not 1 of filter*) or all of sel*)"},
		{"  a\tand\n b  ", "(a and b)"},
		{"sel-1 and sel.2 and Auswahl_ä", "(sel-1 and sel.2 and Auswahl_ä)"},
		{"1 of *", "1 of them"},
	} {
		c, err := ParseCondition(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := fullParens(c); got != tc.want {
			t.Errorf("%q: parsed as %s, want %s", tc.in, got, tc.want)
		}
		// FormatCondition writes it back so that it parses to the same.
		again, err := ParseCondition(FormatCondition(c))
		if err != nil {
			t.Errorf("%q: FormatCondition gave %q, which does not parse: %v", tc.in, FormatCondition(c), err)
		} else if !reflect.DeepEqual(stripPos(again), stripPos(c)) {
			t.Errorf("%q: FormatCondition gave %q, which parses differently", tc.in, FormatCondition(c))
		}
	}
}

// fullParens writes a condition with parentheses around every operator.
func fullParens(c ast.Cond) string {
	switch c := c.(type) {
	case ast.And:
		return "(" + joinConds(c.Parts, " and ") + ")"
	case ast.Or:
		return "(" + joinConds(c.Parts, " or ") + ")"
	case ast.Not:
		return "(not " + fullParens(c.X) + ")"
	}
	return FormatCondition(c)
}

func joinConds(cs []ast.Cond, sep string) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = fullParens(c)
	}
	return strings.Join(s, sep)
}

// stripPos drops positions, to compare trees by shape.
func stripPos(c ast.Cond) ast.Cond {
	switch c := c.(type) {
	case ast.And:
		out := ast.And{}
		for _, p := range c.Parts {
			out.Parts = append(out.Parts, stripPos(p))
		}
		return out
	case ast.Or:
		out := ast.Or{}
		for _, p := range c.Parts {
			out.Parts = append(out.Parts, stripPos(p))
		}
		return out
	case ast.Not:
		return ast.Not{X: stripPos(c.X)}
	case ast.Ident:
		return ast.Ident{Name: c.Name}
	case ast.Of:
		c.Pos = ast.Pos{}
		return c
	}
	return c
}

func TestParseConditionNodes(t *testing.T) {
	c, err := ParseCondition("sel and 3 of f_* or not all of them")
	if err != nil {
		t.Fatal(err)
	}
	want := ast.Or{Parts: []ast.Cond{
		ast.And{Parts: []ast.Cond{
			ast.Ident{Name: "sel", Pos: ast.Pos{Line: 1, Col: 1}},
			ast.Of{Quant: ast.AtLeast, N: 3, Pattern: "f_*", Pos: ast.Pos{Line: 1, Col: 9}},
		}},
		ast.Not{X: ast.Of{Quant: ast.All, Pattern: "*", Pos: ast.Pos{Line: 1, Col: 25}}},
	}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %#v\nwant %#v", c, want)
	}
	c, _ = ParseCondition("1 of x")
	if of := c.(ast.Of); of.Quant != ast.Any || of.N != 1 || of.Pattern != "x" {
		t.Errorf("1 of x: %#v", of)
	}
}

func TestParseConditionErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		col  int
		want string
	}{
		{"", 1, "empty"},
		{"   ", 1, "empty"},
		{"a and", 6, "expected a search identifier"},
		{"and a", 1, "expected a search identifier, \"not\", \"(\" or \"1 of\", found \"and\""},
		{"a b", 3, "unexpected \"b\" after a complete condition; missing \"and\" or \"or\"?"},
		{"(a and b", 1, "\"(\" is never closed"},
		{"(a and b c)", 10, "expected \")\" to close the \"(\" at column 1, found \"c\""},
		{"a and b)", 8, "unexpected \")\" without a matching \"(\""},
		{"()", 2, "empty parentheses"},
		{"a AND b", 3, "operators are lower case: write \"and\", not \"AND\""},
		{"NOT a", 1, "operators are lower case: write \"not\", not \"NOT\""},
		{"a Or b", 3, "operators are lower case"},
		{"sel*", 1, "wildcard pattern \"sel*\" is only allowed after \"1 of\" or \"all of\""},
		{"1 sel", 1, "expected \"of\" after \"1\""},
		{"all", 1, "expected \"of\" after \"all\""},
		{"of sel", 1, "\"of\" must follow a number"},
		{"0 of sel*", 1, "the number must be at least 1"},
		{"x of sel*", 1, "expected a number, \"all\" or \"any\" before \"of\""},
		{"1 of", 5, "after \"of\", found end of condition"},
		{"1 of and", 6, "after \"of\", found \"and\""},
		{"1 of (a)", 6, "after \"of\", found \"(\""},
		{"them", 1, "\"them\" is only allowed after"},
		{"a and not", 10, "found end of condition"},
		{"sel | count() > 5", 5, "pipe \"|\" starts an aggregation"},
		{"a = b", 3, "unexpected character '='"},
		{"a and \"b\"", 7, "unexpected character '\"'"},
		{"ä and ö and $", 13, "unexpected character '$'"},
		{"a\xffb", 2, "invalid UTF-8"},
		{strings.Repeat("(", 200) + "a" + strings.Repeat(")", 200), 101, "nests more than 100 levels"},
		{strings.Repeat("not ", 150) + "a", 401, "nests more than 100 levels"},
	} {
		_, err := ParseCondition(tc.in)
		var ce *ConditionError
		if !errors.As(err, &ce) {
			t.Errorf("%q: got %v, want a ConditionError", tc.in, err)
			continue
		}
		if ce.Col != tc.col || !strings.Contains(ce.Msg, tc.want) {
			t.Errorf("%q: got column %d %q, want column %d and %q", tc.in, ce.Col, ce.Msg, tc.col, tc.want)
		}
		if !strings.HasPrefix(err.Error(), "column ") {
			t.Errorf("%q: Error() = %q, want it to name the column", tc.in, err)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"sel", "sel", true},
		{"sel", "selection", false},
		{"sel*", "selection", true},
		{"sel*", "sel", true},
		{"sel*", "xsel", false},
		{"*", "anything", true},
		{"*_main_*", "filter_main_generic", true},
		{"*_main_*", "filter_optional", false},
		{"f*r*", "filter", true},
		{"f*r", "filter", true},
		{"f*r", "filters", false},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"*tion", "selection", true},
	} {
		if got := MatchPattern(tc.pattern, tc.name); got != tc.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestExpandUnderscore(t *testing.T) {
	det := &ast.Detection{Searches: []*ast.Search{{Name: "sel_a"}, {Name: "_helper"}, {Name: "sel_b"}}}
	names := func(ss []*ast.Search) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return out
	}
	if got := names(Expand(det, ast.Of{Pattern: "*"})); !reflect.DeepEqual(got, []string{"sel_a", "sel_b"}) {
		t.Errorf("them = %v; searches beginning with _ are left out", got)
	}
	if got := names(Expand(det, ast.Of{Pattern: "_*"})); !reflect.DeepEqual(got, []string{"_helper"}) {
		t.Errorf("_* = %v", got)
	}
}

// The positions in a rule's condition are those of the file.
func TestConditionPositionsInFile(t *testing.T) {
	src := `title: Positions
logsource: {product: aws}
detection:
    sel: {a: 1}
    filter_x: {b: 2}
    condition: sel and not 1 of filter_*
`
	rules, probs := Parse("p.yml", []byte(src))
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	d := rules[0].Detection
	and := d.Condition.(ast.And)
	if id := and.Parts[0].(ast.Ident); id.Pos != (ast.Pos{File: "p.yml", Line: 6, Col: 16}) {
		t.Errorf("sel at %+v, want p.yml:6:16", id.Pos)
	}
	if of := and.Parts[1].(ast.Not).X.(ast.Of); of.Pos != (ast.Pos{File: "p.yml", Line: 6, Col: 28}) {
		t.Errorf("1 of at %+v, want p.yml:6:28", of.Pos)
	}
	if d.ConditionPos != (ast.Pos{File: "p.yml", Line: 6, Col: 5}) || d.ConditionText != "sel and not 1 of filter_*" {
		t.Errorf("condition %q at %+v", d.ConditionText, d.ConditionPos)
	}

	// A quoted condition: the column counts the quote.
	src = strings.Replace(src, "condition: sel and not 1 of filter_*", "condition: 'sel and not 1 of filter_* or nope'", 1)
	_, probs = Parse("p.yml", []byte(src))
	if len(probs) != 1 || probs[0].Pos.Line != 6 || probs[0].Pos.Col != 46 || !strings.Contains(probs[0].Msg, `"nope"`) {
		t.Errorf("got %v, want the unknown identifier nope at 6:46", probs)
	}

	// A folded condition over two lines cannot map columns: the problem
	// is at the start of the condition, and the message has the column.
	src = strings.Replace(src, "condition: 'sel and not 1 of filter_* or nope'", "condition: sel and\n        not 1 of filter_* or (", 1)
	_, probs = Parse("p.yml", []byte(src))
	if len(probs) != 1 || probs[0].Pos.Line != 6 || probs[0].Pos.Col != 16 || !strings.Contains(probs[0].Msg, "column 31 of the condition") {
		t.Errorf("got %v, want an error at 6:16 naming column 31", probs)
	}
}
