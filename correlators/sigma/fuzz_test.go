package sigma

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// seedFiles are the rule files of testdata: the corpus and the crafted
// bad rules.
func seedFiles(f *testing.F) [][]byte {
	var out [][]byte
	err := filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") {
			return err
		}
		data, err := os.ReadFile(p)
		out = append(out, data)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	return out
}

// FuzzParse feeds arbitrary bytes to Parse: it must not panic, must say
// where each problem is, must give the same result twice, and a rule
// without errors must be complete and consistent.
func FuzzParse(f *testing.F) {
	for _, data := range seedFiles(f) {
		f.Add(data)
	}
	f.Add([]byte(fullRule))
	f.Add([]byte(collection))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, probs := Parse("fuzz.yml", data)
		_, again := Parse("fuzz.yml", data)
		if !reflect.DeepEqual(probs, again) {
			t.Fatalf("two parses differ:\n%v\n%v", probs, again)
		}
		for _, p := range probs {
			if p.Pos.File != "fuzz.yml" || p.Pos.Line < 0 || p.Pos.Col < 0 || p.Msg == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
		for _, r := range Usable(rules, probs) {
			checkUsableRule(t, r)
		}
	})
}

func checkUsableRule(t *testing.T, r *ast.Rule) {
	t.Helper()
	if r.Title == "" {
		t.Fatalf("usable rule without title: %+v", r)
	}
	switch r.Kind {
	case ast.KindDetection:
		if r.Detection == nil || r.Correlation != nil || r.Filter != nil {
			t.Fatalf("detection rule with the wrong sections: %+v", r)
		}
		checkDetection(t, r.Detection)
	case ast.KindFilter:
		if r.Filter == nil || r.Filter.Detection == nil || len(r.Filter.Rules) == 0 {
			t.Fatalf("incomplete filter: %+v", r)
		}
		checkDetection(t, r.Filter.Detection)
	case ast.KindCorrelation:
		c := r.Correlation
		if c == nil || len(c.Rules) == 0 || c.Timespan <= 0 || len(c.GroupBy) == 0 {
			t.Fatalf("incomplete correlation: %+v", c)
		}
		if needsField(c.Type) && (c.Condition == nil || c.Condition.Field == "") {
			t.Fatalf("%s without a field: %+v", c.Type, c)
		}
	}
}

func checkDetection(t *testing.T, d *ast.Detection) {
	t.Helper()
	if d.Condition == nil || len(d.Searches) == 0 {
		t.Fatalf("detection without condition or searches: %+v", d)
	}
	for _, s := range d.Searches {
		if len(s.Maps) == 0 && len(s.Keywords) == 0 {
			t.Fatalf("empty search %q", s.Name)
		}
		for _, m := range s.Maps {
			for _, it := range m.Items {
				if len(it.Values) == 0 {
					t.Fatalf("item %q without values", it.Field)
				}
				for _, mod := range it.Modifiers {
					if !KnownModifier(mod) {
						t.Fatalf("unknown modifier %q in a usable rule", mod)
					}
				}
			}
		}
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
			if d.Search(c.Name) == nil {
				t.Fatalf("condition names %q, which is not a search", c.Name)
			}
		case ast.Of:
			if len(Expand(d, c)) == 0 {
				t.Fatalf("%q matches no search", FormatCondition(c))
			}
		default:
			t.Fatalf("unexpected condition node %T", c)
		}
	}
	walk(d.Condition)
}

// conditionSeeds are conditions of every shape, good and bad.
var conditionSeeds = []string{
	"selection",
	"selection and not filter",
	"selection and not 1 of filter_main_*",
	"1 of selection_* and all of filter*",
	"(a or b) and not (c and d) or all of them",
	"2 of sel_* or any of x*",
	"not not a",
	"a AND b",
	"(a and b",
	"a b",
	"sel | count() by x > 5",
	"selection1 | near selection2",
	"0 of x",
	"ä and ö",
	"",
}

// FuzzParseCondition feeds arbitrary text to ParseCondition: an error
// names a column inside the text; a tree written back with
// FormatCondition parses to the same tree.
func FuzzParseCondition(f *testing.F) {
	for _, s := range conditionSeeds {
		f.Add(s)
	}
	// And the conditions of the corpus.
	for _, data := range seedFiles(f) {
		for _, line := range strings.Split(string(data), "\n") {
			if i := strings.Index(line, "condition:"); i >= 0 {
				f.Add(strings.TrimSpace(line[i+len("condition:"):]))
			}
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCondition(text)
		if err != nil {
			var ce *ConditionError
			if !errors.As(err, &ce) {
				t.Fatalf("%q: error %T %v", text, err, err)
			}
			if n := utf8.RuneCountInString(text); ce.Col < 1 || ce.Col > n+1 {
				t.Fatalf("%q: column %d outside 1..%d", text, ce.Col, n+1)
			}
			return
		}
		out := FormatCondition(c)
		again, err := ParseCondition(out)
		if err != nil {
			t.Fatalf("%q formats as %q, which does not parse: %v", text, out, err)
		}
		if !reflect.DeepEqual(stripPos(c), stripPos(again)) {
			t.Fatalf("%q formats as %q, which parses differently", text, out)
		}
	})
}
