package ruleset

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

func errorsIn(ps []ast.Problem) []string {
	var out []string
	for _, p := range ps {
		if p.Severity == ast.Error {
			out = append(out, p.String())
		}
	}
	return out
}

func TestBuiltin(t *testing.T) {
	set, problems, err := Load(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Errorf("the built-in rules have problems:\n%v", problems)
	}
	d, c, f := set.Count()
	if d != 59 || c != 4 || f != 0 {
		t.Errorf("built-in rules: %d detection, %d correlation, %d filters; want 59 (57 SigmaHQ and 2 of vigil's), 4, 0", d, c, f)
	}
	if ds := set.Datasets(); len(ds) != 1 || ds[0] != "cloudtrail" {
		t.Errorf("datasets %v, want [cloudtrail]", ds)
	}
	if n := set.Detection("cloudtrail").Len(); n != 59 {
		t.Errorf("%d rules compiled for cloudtrail, want 59", n)
	}
	if set.Detection("vpcflow") != nil {
		t.Error("rules compiled for a dataset no rule runs on")
	}
	r := set.Find("aws_console_login_bruteforce")
	if r == nil || r.Kind != ast.KindCorrelation || !strings.HasPrefix(r.Pos.File, "builtin:vigil/") {
		t.Errorf("Find by name: %+v", r)
	}
	if set.Find("8ad1600d-e9dc-4251-b0ee-a65268f29add") == nil {
		t.Error("Find by id: no AWS Root Credentials")
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

const ruleA = `title: Rule A
id: 11111111-1111-4111-8111-111111111111
name: rule_a
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {eventName: A}
    condition: selection
level: high
`

const ruleWin = `title: Windows rule
id: 22222222-2222-4222-8222-222222222222
logsource: {product: windows, category: process_creation}
detection:
    selection: {Image|endswith: '\cmd.exe'}
    condition: selection
`

func TestLogsourcesAndDisable(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yml"), ruleA)
	write(t, filepath.Join(dir, "sub", "win.yaml"), ruleWin)
	cfg := Config{Paths: []string{dir}, Logsources: []Logsource{
		{Product: "aws", Datasets: []string{"cloudtrail", "all-aws"}},
		{Service: "cloudtrail", Datasets: []string{"cloudtrail"}},
	}}
	set, problems, err := Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Severity != ast.Warning || !strings.Contains(problems[0].String(), "win.yaml") ||
		!strings.Contains(problems[0].Msg, "logsource (product: windows, category: process_creation) maps to no dataset") {
		t.Errorf("problems: %v; want one warning about the Windows rule's logsource", problems)
	}
	if got := strings.Join(set.Datasets(), ","); got != "all-aws,cloudtrail" {
		t.Errorf("datasets %s", got)
	}
	if set.Detection("all-aws").Len() != 1 || set.Len() != 2 {
		t.Errorf("rules: %d in all-aws, %d in the set", set.Detection("all-aws").Len(), set.Len())
	}

	cfg.Disable = []string{"rule_a", "22222222-2222-4222-8222-222222222222", "nope"}
	set, problems, err = Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 0 {
		t.Errorf("%d rules run with every rule disabled", set.Len())
	}
	if errs := errorsIn(problems); len(errs) != 1 || !strings.Contains(errs[0], `rules.disable: no rule has the id or name "nope"`) {
		t.Errorf("errors %v", errs)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "bad.yml"), "title: Bad\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    selection: {eventName|nosuch: A}\n    condition: selection\n")
	c := DefaultConfig()
	c.Paths = []string{dir, filepath.Join(dir, "missing")}
	errs := Validate(c)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "missing") {
		t.Errorf("errors %v; want the missing path", errs)
	}
	c.Paths = []string{dir}
	errs = Validate(c)
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "bad.yml:4") || !strings.Contains(errs[0].Error(), "nosuch") {
		t.Errorf("errors %v; want the unknown modifier at bad.yml:4", errs)
	}
	empty := Config{}
	if errs := Validate(empty); len(errs) != 1 || !strings.Contains(errs[0].Error(), "no rules") {
		t.Errorf("no rules at all: %v", errs)
	}
	if errs := Validate(DefaultConfig()); len(errs) != 0 {
		t.Errorf("defaults: %v", errs)
	}
}

// TestReloadKeepsPreviousVersion: a file that breaks keeps its last good
// rules; the others take their new versions.
func TestReloadKeepsPreviousVersion(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yml"), ruleA)
	write(t, filepath.Join(dir, "b.yml"), strings.NewReplacer("Rule A", "Rule B", "1111", "3333", "rule_a", "rule_b").Replace(ruleA))
	cfg := Config{Paths: []string{dir}, Logsources: DefaultLogsources}
	prev, problems, err := Load(cfg, nil)
	if err != nil || len(problems) != 0 {
		t.Fatal(err, problems)
	}
	write(t, filepath.Join(dir, "a.yml"), strings.Replace(ruleA, "eventName: A", "eventName|bogus: A", 1))
	write(t, filepath.Join(dir, "b.yml"), strings.NewReplacer("Rule A", "Rule B v2", "1111", "3333", "rule_a", "rule_b").Replace(ruleA))
	set, problems, err := Load(cfg, prev)
	if err != nil {
		t.Fatal(err)
	}
	if len(errorsIn(problems)) == 0 {
		t.Error("the broken file is not reported")
	}
	a, b := set.Find("rule_a"), set.Find("rule_b")
	if a == nil || a != prev.Find("rule_a") {
		t.Errorf("rule_a: %+v; want its previous version", a)
	}
	if b == nil || b.Title != "Rule B v2" {
		t.Errorf("rule_b: %+v; want its new version", b)
	}
	if set.Detection("cloudtrail").Len() != 2 {
		t.Errorf("%d rules compiled, want 2", set.Detection("cloudtrail").Len())
	}
}

// TestWatcher: the watcher reloads on a file change and on SIGHUP, and
// counts its reloads.
func TestWatcher(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yml"), ruleA)
	// The test's own handler, so that a SIGHUP sent before the watcher
	// listens does not end the process.
	hup := make(chan os.Signal, 8)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	reg := prometheus.NewRegistry()
	w, err := NewWatcher(Config{Paths: []string{dir}, Logsources: DefaultLogsources, Reload: true}, slog.New(slog.DiscardHandler), reg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []*Set
	w.Subscribe(func(s *Set) {
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	waitFor := func(what string, n int, poke func()) *Set {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			if len(got) >= n {
				s := got[n-1]
				mu.Unlock()
				return s
			}
			mu.Unlock()
			if poke != nil {
				poke()
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no reload after %s", what)
		return nil
	}

	// A new file in a new directory.
	time.Sleep(100 * time.Millisecond)
	write(t, filepath.Join(dir, "new", "b.yml"), strings.NewReplacer("Rule A", "Rule B", "1111", "3333", "rule_a", "rule_b").Replace(ruleA))
	s := waitFor("a new file", 1, nil)
	if s.Find("rule_b") == nil || w.Current() != s {
		t.Errorf("after the new file: rule_b %v", s.Find("rule_b"))
	}
	if v := testutil.ToFloat64(w.loaded.WithLabelValues("detection")); v != 2 {
		t.Errorf("vigil_rules_loaded{kind=detection} = %v, want 2", v)
	}

	// A change, and SIGHUP until the reload is seen (the file watch may
	// see the change first; either reloads it).
	write(t, filepath.Join(dir, "a.yml"), strings.Replace(ruleA, "Rule A", "Rule A v2", 1))
	s = waitFor("SIGHUP", 2, func() { _ = syscall.Kill(os.Getpid(), syscall.SIGHUP) })
	if r := s.Find("rule_a"); r == nil || r.Title != "Rule A v2" {
		t.Errorf("after the change: %+v", r)
	}

	// Unchanged rules: a reload hands nothing on.
	w.Reload()
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	n := len(got)
	mu.Unlock()
	if n != 2 {
		t.Errorf("%d sets handed on after a reload that changed nothing, want 2", n)
	}
	if v := testutil.ToFloat64(w.reloads.WithLabelValues("ok")); v < 3 {
		t.Errorf("vigil_rules_reloads_total{result=ok} = %v, want at least 3", v)
	}
}

func TestWatcherRefusesBrokenRulesAtStart(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yml"), strings.Replace(ruleA, "eventName: A", "eventName|bogus: A", 1))
	_, err := NewWatcher(Config{Paths: []string{dir}, Logsources: DefaultLogsources}, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "a.yml") {
		t.Errorf("err = %v; want the broken rule named", err)
	}
}
