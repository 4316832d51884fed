package correlate

import (
	"fmt"
	"time"

	"github.com/vigilsec/vigil/correlators/ruleset"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// Config configures the correlate app. Its rules are the correlation
// rules of the config's rules section, which the detect app shares.
type Config struct {
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

// Validate implements plugin.Validator.
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
	return errs
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

func newApp(cfg any, d plugin.Deps) (plugin.Component, error) {
	c := cfg.(*Config)
	w, err := ruleset.NewWatcher(d.Rules, d.Logger, d.Registerer)
	if err != nil {
		return nil, err
	}
	p, err := NewProcessor(w.Current().Rules, Options{
		Alerts:     d.Topics.Alerts(),
		Matches:    d.Topics.Matches(),
		Grace:      c.Grace,
		Logger:     d.Logger,
		Registerer: d.Registerer,
	})
	if err != nil {
		return nil, err
	}
	if len(p.Correlations()) == 0 {
		d.Logger.Info("no correlation rules loaded: matches go to the dead-letter topic until some are")
	}
	w.Subscribe(func(s *ruleset.Set) {
		if err := p.Swap(s.Rules); err != nil {
			d.Logger.Error("correlation rules not swapped in; the previous ones keep running", "err", err)
		}
	})
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
	return &ruleset.App{Runner: r, Watcher: w, Decl: decl}, nil
}
