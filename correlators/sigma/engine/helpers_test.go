package engine

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// Builders of syntax trees, as the parser makes them, for tests that do
// not depend on the parser.

// it builds a field item from "field|mod|mod" and values: strings, ints,
// floats, bools and nil (null).
func it(key string, values ...any) *ast.FieldItem {
	parts := strings.Split(key, "|")
	fi := &ast.FieldItem{Field: parts[0], Modifiers: parts[1:], Pos: ast.Pos{File: "test.yml", Line: 1}}
	for _, v := range values {
		fi.Values = append(fi.Values, val(v))
	}
	return fi
}

func val(v any) ast.Value {
	switch v := v.(type) {
	case nil:
		return ast.Value{Kind: ast.Null, Str: "null"}
	case string:
		return ast.Value{Kind: ast.String, Str: v}
	case bool:
		if v {
			return ast.Value{Kind: ast.Bool, Bool: true, Str: "true"}
		}
		return ast.Value{Kind: ast.Bool, Str: "false"}
	case int:
		return ast.Value{Kind: ast.Number, Num: float64(v), Str: strconv.Itoa(v)}
	case float64:
		return ast.Value{Kind: ast.Number, Num: v, Str: strconv.FormatFloat(v, 'f', -1, 64)}
	}
	panic("val: unsupported value")
}

// fmap is a map of items, all of which must match.
func fmap(items ...*ast.FieldItem) *ast.FieldMap { return &ast.FieldMap{Items: items} }

// search is a search of alternative maps.
func search(name string, maps ...*ast.FieldMap) *ast.Search {
	return &ast.Search{Name: name, Maps: maps}
}

// keywords is a keyword search; mods may be empty.
func keywords(name string, mods []string, values ...any) *ast.Search {
	s := &ast.Search{Name: name, KeywordMods: mods, Keywords: []ast.Value{}}
	for _, v := range values {
		s.Keywords = append(s.Keywords, val(v))
	}
	return s
}

func id(name string) ast.Cond            { return ast.Ident{Name: name} }
func and(parts ...ast.Cond) ast.Cond     { return ast.And{Parts: parts} }
func or(parts ...ast.Cond) ast.Cond      { return ast.Or{Parts: parts} }
func not(x ast.Cond) ast.Cond            { return ast.Not{X: x} }
func oneOf(pattern string) ast.Cond      { return ast.Of{Quant: ast.Any, Pattern: pattern} }
func allOf(pattern string) ast.Cond      { return ast.Of{Quant: ast.All, Pattern: pattern} }
func nOf(n int, pattern string) ast.Cond { return ast.Of{Quant: ast.AtLeast, N: n, Pattern: pattern} }

// detRule builds a detection rule.
func detRule(ruleID string, cond ast.Cond, searches ...*ast.Search) *ast.Rule {
	return &ast.Rule{
		Kind: ast.KindDetection, ID: ruleID, Title: ruleID,
		Pos:       ast.Pos{File: "test.yml", Line: 1},
		LogSource: ast.LogSource{Product: "aws", Service: "cloudtrail"},
		Detection: &ast.Detection{Searches: searches, Condition: cond},
	}
}

// selRule is a rule whose condition is its one search, a map of items.
func selRule(items ...*ast.FieldItem) *ast.Rule {
	return detRule("r", id("sel"), search("sel", fmap(items...)))
}

// mustCompile compiles one rule.
func mustCompile(t testing.TB, r *ast.Rule, opts Options) *Rule {
	t.Helper()
	cr, err := CompileRule(r, opts)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return cr
}
