package correlate

import (
	"fmt"
	"time"

	"github.com/vigilsec/vigil/correlators/sigma"
	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// Config configures the correlate app.
type Config struct {
	// Rules are Sigma rule files and directories (searched recursively
	// for *.yml and *.yaml). The correlation rules among them run; the
	// detection rules they hold are there for references by name, and
	// are the detect app's to evaluate. Default: none.
	Rules []string `yaml:"rules"`
	// Grace is how late a match may arrive, behind the stream time of its
	// partition, and still count; windows evaluated at their end (see the
	// package documentation) are evaluated this long after it. Default 5m.
	Grace time.Duration `yaml:"grace"`
	// IdleTimeout is how long a partition may go without matches before
	// its stream time advances with the wall clock, so that its windows
	// close. Zero never advances it. Default 1m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// Guarantee overrides kafka.guarantee for this app.
	Guarantee string `yaml:"guarantee"`
}

// DefaultConfig returns the app's defaults.
func DefaultConfig() *Config {
	return &Config{Grace: 5 * time.Minute, IdleTimeout: time.Minute}
}

// Validate implements plugin.Validator. It loads the rules and reports the
// errors in them.
func (c *Config) Validate() []error {
	var errs []error
	if c.Grace < 0 {
		errs = append(errs, fmt.Errorf("grace (%s) must be >= 0", c.Grace))
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("idle_timeout (%s) must be >= 0", c.IdleTimeout))
	}
	if c.Guarantee != "" {
		if _, err := streams.ParseGuarantee(c.Guarantee); err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.Rules) > 0 {
		rules, problems, _, err := sigma.Lint(c.Rules...)
		if err != nil {
			errs = append(errs, fmt.Errorf("rules: %w", err))
		}
		for _, p := range problems {
			if p.Severity == ast.Error {
				errs = append(errs, fmt.Errorf("rules: %s", p))
			}
		}
		if _, err := compile(sigma.Usable(rules, problems)); err != nil {
			errs = append(errs, fmt.Errorf("rules: %w", err))
		}
	}
	return errs
}

// LoadRules reads the Sigma rules in paths (files and directories) and
// returns the ones without errors, with every problem found.
func LoadRules(paths ...string) ([]*ast.Rule, []ast.Problem, error) {
	rules, problems, _, err := sigma.Lint(paths...)
	if err != nil {
		return nil, nil, err
	}
	return sigma.Usable(rules, problems), problems, nil
}

func init() {
	plugin.Register(plugin.Spec{
		Kind:    plugin.App,
		Name:    "correlate",
		Summary: "runs Sigma correlation rules over vigil.matches in event-time windows, writing alerts to vigil.alerts",
		Config:  func() any { return DefaultConfig() },
		New:     newApp,
	})
}

type app struct {
	*streams.Runner
	decl []topics.Spec
}

func (a *app) Topics() []topics.Spec { return a.decl }

func newApp(cfg any, d plugin.Deps) (plugin.Component, error) {
	c := cfg.(*Config)
	var rules []*ast.Rule
	if len(c.Rules) > 0 {
		var problems []ast.Problem
		var err error
		if rules, problems, err = LoadRules(c.Rules...); err != nil {
			return nil, err
		}
		for _, p := range problems {
			if p.Severity == ast.Error {
				d.Logger.Error("rule not loaded", "problem", p.String())
			} else {
				d.Logger.Warn("rule problem", "problem", p.String())
			}
		}
	}
	p, err := NewProcessor(rules, Options{
		Alerts:     d.Topics.Alerts(),
		Matches:    d.Topics.Matches(),
		Grace:      c.Grace,
		Logger:     d.Logger,
		Registerer: d.Registerer,
	})
	if err != nil {
		return nil, err
	}
	if len(p.byID) == 0 {
		d.Logger.Info("no correlation rules configured (rules): every match goes to the dead-letter topic")
	}
	g := d.Guarantee
	if c.Guarantee != "" {
		g, _ = streams.ParseGuarantee(c.Guarantee)
	}
	r, err := streams.New(d.App(streams.App{
		Inputs:      []string{d.Topics.Matches()},
		Processor:   p,
		Guarantee:   g,
		Stores:      p.Stores(),
		State:       d.State,
		EventTime:   p.EventTime,
		IdleTimeout: c.IdleTimeout,
	}))
	if err != nil {
		return nil, err
	}
	decl := []topics.Spec{
		{Name: d.Topics.Matches(), Partitions: d.Partitions},
		{Name: d.Topics.Alerts(), Partitions: d.Partitions},
		{Name: d.Topics.DLQ(), Partitions: d.Partitions},
		{Name: d.Topics.Late(), Partitions: d.Partitions},
	}
	return &app{Runner: r, decl: decl}, nil
}
