// Package ruleset loads the Sigma rules vigil runs, the built-in ones and
// a team's own, as the rules section of the config says: which files,
// which rules are switched off, how a rule's logsource maps to the event
// datasets (vigil.events.<dataset>) it runs on, and the values of
// placeholders. It compiles the detection rules per dataset, and reloads
// everything when the files change or the process gets SIGHUP (Watch).
//
// The detect app evaluates a Set's detection rules; the correlate app
// runs its correlation rules. Both load the same rules from the same
// section, so the matches detect writes for a correlation are the ones
// correlate expects.
package ruleset

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vigilsec/vigil/correlators/sigma"
	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/correlators/sigma/engine"
	"github.com/vigilsec/vigil/rules"
	"github.com/vigilsec/vigil/topics"
)

// Config is the rules section of vigil's config (see rules.Config).
type Config = rules.Config

// Logsource maps a Sigma logsource to datasets (see rules.Logsource).
type Logsource = rules.Logsource

// DefaultLogsources map the AWS logsources of SigmaHQ's taxonomy to the
// datasets of vigil's decoders.
var DefaultLogsources = rules.DefaultLogsources

// DefaultConfig returns the section's defaults.
func DefaultConfig() Config { return rules.DefaultConfig() }

// Validate checks the section and loads the rules, returning every
// problem: rules with errors are configuration errors at start-up (on a
// reload they are reported and the previous version keeps running).
func Validate(c Config) []error {
	var errs []error
	for i, l := range c.Logsources {
		if l.Product == "" && l.Service == "" && l.Category == "" {
			errs = append(errs, fmt.Errorf("logsources[%d]: set at least one of product, service, category", i))
		}
		if len(l.Datasets) == 0 {
			errs = append(errs, fmt.Errorf("logsources[%d] (%s): datasets must not be empty", i, l))
		}
		for _, d := range l.Datasets {
			if err := topics.ValidName(d); err != nil {
				errs = append(errs, fmt.Errorf("logsources[%d]: datasets: %w", i, err))
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	set, problems, err := Load(c, nil)
	if err != nil {
		return append(errs, err)
	}
	for _, p := range problems {
		if p.Severity == ast.Error {
			errs = append(errs, errors.New(p.String()))
		}
	}
	if set.Len() == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no rules: set builtin: true or name rule files in paths"))
	}
	return errs
}

// Set is a loaded, compiled set of rules. It is read-only.
type Set struct {
	// Rules are the rules that run: detection rules, correlation rules
	// and filters, less those with errors and those disabled.
	Rules []*ast.Rule
	// Files is the number of rule files read.
	Files int
	// Sources are the rule files and their contents' digests, by name, so
	// that a reload can tell what changed.
	Sources map[string]string

	detect   map[string]*engine.Set
	datasets map[*ast.Rule][]string
}

// Len is the number of rules that run.
func (s *Set) Len() int { return len(s.Rules) }

// Detection returns the compiled detection rules that run on a dataset,
// or nil if none do.
func (s *Set) Detection(dataset string) *engine.Set { return s.detect[dataset] }

// Datasets returns the datasets some detection rule runs on, sorted.
func (s *Set) Datasets() []string {
	out := make([]string, 0, len(s.detect))
	for d := range s.detect {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// RuleDatasets returns the datasets a detection rule runs on.
func (s *Set) RuleDatasets(r *ast.Rule) []string { return s.datasets[r] }

// Find returns the rule with the given id or name, or nil.
func (s *Set) Find(ref string) *ast.Rule {
	for _, r := range s.Rules {
		if ref != "" && (r.ID == ref || r.Name == ref) {
			return r
		}
	}
	return nil
}

// Count returns how many rules of each kind the set runs.
func (s *Set) Count() (detection, correlation, filter int) {
	for _, r := range s.Rules {
		switch r.Kind {
		case ast.KindDetection:
			detection++
		case ast.KindCorrelation:
			correlation++
		case ast.KindFilter:
			filter++
		}
	}
	return
}

// datasetsOf returns the datasets a logsource maps to.
func datasetsOf(ls ast.LogSource, maps []Logsource) []string {
	var out []string
	for _, m := range maps {
		if m.Product != "" && !strings.EqualFold(m.Product, ls.Product) ||
			m.Service != "" && !strings.EqualFold(m.Service, ls.Service) ||
			m.Category != "" && !strings.EqualFold(m.Category, ls.Category) {
			continue
		}
		for _, d := range m.Datasets {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// Load reads the rules the config names, checks them together and
// compiles them. It returns the set that can run and every problem found,
// sorted by position; the error is for paths that cannot be listed.
//
// With prev, the set running before a reload, a file that now has errors
// keeps its previous rules: a rule that fails to load is reported and
// its last good version goes on running.
func Load(c Config, prev *Set) (*Set, []ast.Problem, error) {
	type file struct {
		name string
		data []byte
	}
	var files []file
	if c.Builtin {
		for _, f := range rules.Files() {
			files = append(files, file{f.Name, f.Data})
		}
	}
	names, err := sigma.RuleFiles(c.Paths...)
	if err != nil {
		return nil, nil, fmt.Errorf("rules: %w", err)
	}
	var problems []ast.Problem
	for _, n := range names {
		data, err := readFile(n)
		if err != nil {
			problems = append(problems, ast.Problem{Pos: ast.Pos{File: n}, Severity: ast.Error, Msg: err.Error()})
			continue
		}
		files = append(files, file{n, data})
	}

	s := &Set{Files: len(files), Sources: map[string]string{}, detect: map[string]*engine.Set{}, datasets: map[*ast.Rule][]string{}}
	var all []*ast.Rule
	for _, f := range files {
		s.Sources[f.name] = digest(f.data)
		rs, ps := sigma.Parse(f.name, f.data)
		all = append(all, rs...)
		problems = append(problems, ps...)
	}
	problems = append(problems, sigma.Check(all)...)

	// Disabled rules, by id or name.
	disabled := map[string]bool{}
	for _, d := range c.Disable {
		disabled[d] = true
	}
	seen := map[string]bool{}
	var enabled []*ast.Rule
	for _, r := range all {
		off := false
		for _, k := range []string{r.ID, r.Name} {
			if k != "" && disabled[k] {
				seen[k], off = true, true
			}
		}
		if !off {
			enabled = append(enabled, r)
		}
	}
	for _, d := range c.Disable {
		if !seen[d] {
			problems = append(problems, ast.Problem{Pos: ast.Pos{File: "config"}, Severity: ast.Error, Msg: fmt.Sprintf("rules.disable: no rule has the id or name %q", d)})
		}
	}
	usable := sigma.Usable(enabled, problems)

	// On a reload, files with errors keep their previous rules.
	if prev != nil {
		bad := map[string]bool{}
		for _, p := range problems {
			if p.Severity == ast.Error && p.Pos.File != "" {
				bad[p.Pos.File] = true
			}
		}
		have := map[string]bool{}
		for _, r := range usable {
			have[sigma.RuleKey(r)] = true
		}
		for _, r := range prev.Rules {
			if bad[r.Pos.File] && !have[sigma.RuleKey(r)] && !disabledRule(r, disabled) {
				usable = append(usable, r)
				problems = append(problems, ast.Problem{Pos: r.Pos, Severity: ast.Warning, Rule: sigma.RuleKey(r), Msg: fmt.Sprintf("%q keeps running as it was before the reload, as its file has errors", r.Title)})
			}
		}
	}

	// Route detection rules to datasets; filters go with every dataset.
	problems = append(problems, LogsourceProblems(usable, c.Logsources)...)
	byDataset := map[string][]*ast.Rule{}
	var filters []*ast.Rule
	for _, r := range usable {
		switch r.Kind {
		case ast.KindDetection:
			ds := datasetsOf(r.LogSource, c.Logsources)
			s.datasets[r] = ds
			for _, d := range ds {
				byDataset[d] = append(byDataset[d], r)
			}
		case ast.KindFilter:
			filters = append(filters, r)
		}
	}
	failed := map[*ast.Rule]bool{}
	opts := engine.Options{Placeholders: c.Placeholders}
	for d, rs := range byDataset {
		set, err := engine.Compile(append(slices.Clone(rs), filters...), opts)
		var ce *engine.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				if !slices.ContainsFunc(problems, func(q ast.Problem) bool { return q == p }) {
					problems = append(problems, p)
				}
			}
			for _, r := range rs {
				if !slices.ContainsFunc(set.Rules(), func(cr *engine.Rule) bool { return cr.AST == r }) {
					failed[r] = true
				}
			}
		} else if err != nil {
			return nil, nil, err
		}
		s.detect[d] = set
	}
	for _, r := range usable {
		if !failed[r] {
			s.Rules = append(s.Rules, r)
		}
	}
	if len(failed) > 0 {
		// Correlations over rules that failed to compile cannot run.
		var ps []ast.Problem
		for r := range failed {
			ps = append(ps, ast.Problem{Pos: r.Pos, Severity: ast.Error, Rule: sigma.RuleKey(r)})
		}
		s.Rules = sigma.Usable(s.Rules, ps)
	}
	sigma.SortProblems(problems)
	return s, problems, nil
}

// LogsourceProblems warns of each detection rule whose logsource maps to
// no dataset: it would not run.
func LogsourceProblems(rs []*ast.Rule, maps []Logsource) []ast.Problem {
	var out []ast.Problem
	for _, r := range rs {
		if r.Kind != ast.KindDetection || len(datasetsOf(r.LogSource, maps)) > 0 {
			continue
		}
		ls := Logsource{Product: r.LogSource.Product, Service: r.LogSource.Service, Category: r.LogSource.Category}
		pos := r.LogSource.Pos
		if pos.Line == 0 {
			pos = r.Pos
		}
		out = append(out, ast.Problem{Pos: pos, Severity: ast.Warning, Rule: sigma.RuleKey(r),
			Msg: fmt.Sprintf("logsource (%s) maps to no dataset in rules.logsources: the rule does not run", ls)})
	}
	return out
}

func disabledRule(r *ast.Rule, disabled map[string]bool) bool {
	return r.ID != "" && disabled[r.ID] || r.Name != "" && disabled[r.Name]
}
