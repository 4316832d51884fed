package sigma

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// RuleFiles returns the rule files named by paths: files as given, and
// the *.yml and *.yaml files under directories, recursively, in lexical
// order. Hidden directories (.git) are skipped. A path that does not
// exist is an error.
func RuleFiles(paths ...string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if ext := strings.ToLower(filepath.Ext(path)); ext == ".yml" || ext == ".yaml" {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Lint parses every rule file named by paths (see RuleFiles), checks the
// rules together (see Check) and returns the rules and all problems,
// sorted by position. The error is only for paths that cannot be listed;
// a file that cannot be read is a problem.
func Lint(paths ...string) (rules []*ast.Rule, problems []ast.Problem, files int, err error) {
	names, err := RuleFiles(paths...)
	if err != nil {
		return nil, nil, 0, err
	}
	for _, name := range names {
		rs, ps := ParseFile(name)
		rules = append(rules, rs...)
		problems = append(problems, ps...)
	}
	problems = append(problems, Check(rules)...)
	SortProblems(problems)
	return rules, problems, len(names), nil
}

// RuleKey is how problems name a rule (Problem.Rule): its id, or its
// title if it has no id.
func RuleKey(r *ast.Rule) string {
	if r.ID != "" {
		return r.ID
	}
	return r.Title
}

// Check looks at rules together, as a set that runs together: ids and
// names must be unique; the rules a correlation or a filter refers to
// should be in the set (a warning, since the set may be partial); a
// correlation cannot refer to a filter, nor, through other correlations,
// to itself.
func Check(rules []*ast.Rule) []ast.Problem {
	var probs []ast.Problem
	report := func(r *ast.Rule, pos ast.Pos, sev ast.Severity, format string, args ...any) {
		probs = append(probs, ast.Problem{Pos: pos, Severity: sev, Rule: RuleKey(r), Msg: fmt.Sprintf(format, args...)})
	}
	byID := map[string]*ast.Rule{}
	byName := map[string]*ast.Rule{}
	for _, r := range rules {
		if r.ID != "" {
			if o := byID[r.ID]; o != nil {
				report(r, r.Pos, ast.Error, "id %s is also the id of %q (%s)", r.ID, o.Title, where(o.Pos))
			} else {
				byID[r.ID] = r
			}
		}
		if r.Name != "" {
			if o := byName[r.Name]; o != nil {
				report(r, r.Pos, ast.Error, "name %q is also the name of %q (%s)", r.Name, o.Title, where(o.Pos))
			} else {
				byName[r.Name] = r
			}
		}
	}
	resolve := func(ref string) *ast.Rule {
		if r := byID[ref]; r != nil {
			return r
		}
		return byName[ref]
	}
	for _, r := range rules {
		switch {
		case r.Correlation != nil:
			for _, ref := range r.Correlation.Rules {
				t := resolve(ref)
				switch {
				case t == nil:
					report(r, r.Correlation.Pos, ast.Warning, "the correlation refers to rule %q, which is not among the rules loaded", ref)
				case t.Kind == ast.KindFilter:
					report(r, r.Correlation.Pos, ast.Error, "the correlation refers to %q, which is a filter, not a rule", ref)
				case t == r:
					report(r, r.Correlation.Pos, ast.Error, "the correlation refers to itself")
				}
			}
		case r.Filter != nil:
			for _, ref := range r.Filter.Rules {
				t := resolve(ref)
				switch {
				case t == nil:
					report(r, r.Filter.Pos, ast.Warning, "the filter applies to rule %q, which is not among the rules loaded", ref)
				case t.Kind != ast.KindDetection:
					report(r, r.Filter.Pos, ast.Error, "the filter applies to %q, which is not a detection rule", ref)
				}
			}
		}
	}
	// Cycles of correlations: a depth-first search from each correlation.
	state := map[*ast.Rule]int{} // 1 visiting, 2 done
	var visit func(r *ast.Rule, path []*ast.Rule)
	visit = func(r *ast.Rule, path []*ast.Rule) {
		state[r] = 1
		for _, ref := range r.Correlation.Rules {
			t := resolve(ref)
			if t == nil || t == r || t.Correlation == nil {
				continue
			}
			switch state[t] {
			case 1:
				i := slices.Index(path, t)
				titles := []string{}
				for _, p := range append(path[i:], t) {
					titles = append(titles, fmt.Sprintf("%q", p.Title))
				}
				report(t, t.Correlation.Pos, ast.Error, "correlations refer to each other in a cycle: %s", strings.Join(titles, " -> "))
			case 0:
				visit(t, append(path, t))
			}
		}
		state[r] = 2
	}
	for _, r := range rules {
		if r.Correlation != nil && state[r] == 0 {
			visit(r, []*ast.Rule{r})
		}
	}
	return probs
}

func where(p ast.Pos) string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

// Usable returns the rules that can run: those that no error in problems
// is about (matched by file and Problem.Rule, as Parse, Check and Lint
// set it), less the correlations that refer, directly or through other
// correlations, to a rule of the set that cannot run.
func Usable(rules []*ast.Rule, problems []ast.Problem) []*ast.Rule {
	bad := map[[2]string]bool{}
	for _, p := range problems {
		if p.Severity == ast.Error && p.Rule != "" {
			bad[[2]string{p.Pos.File, p.Rule}] = true
		}
	}
	broken := map[*ast.Rule]bool{}
	refs := map[string][]*ast.Rule{} // id or name -> rules
	for _, r := range rules {
		// A rule with neither id nor title has an error (title is
		// required) that names it by its document number.
		if RuleKey(r) == "" || bad[[2]string{r.Pos.File, RuleKey(r)}] {
			broken[r] = true
		}
		for _, k := range []string{r.ID, r.Name} {
			if k != "" {
				refs[k] = append(refs[k], r)
			}
		}
	}
	// Spread brokenness to the correlations over broken rules, until
	// nothing changes (chains of correlations are short).
	for changed := true; changed; {
		changed = false
		for _, r := range rules {
			if broken[r] || r.Correlation == nil {
				continue
			}
			for _, ref := range r.Correlation.Rules {
				if slices.ContainsFunc(refs[ref], func(t *ast.Rule) bool { return broken[t] }) {
					broken[r], changed = true, true
					break
				}
			}
		}
	}
	var out []*ast.Rule
	for _, r := range rules {
		if !broken[r] {
			out = append(out, r)
		}
	}
	return out
}

// HasErrors reports whether any problem is an error.
func HasErrors(problems []ast.Problem) bool {
	return slices.ContainsFunc(problems, func(p ast.Problem) bool { return p.Severity == ast.Error })
}

// SortProblems sorts problems by file, line and column, errors first
// where they share a position.
func SortProblems(ps []ast.Problem) {
	slices.SortStableFunc(ps, func(a, b ast.Problem) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Severity, b.Severity),
		)
	})
}
