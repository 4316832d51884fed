// Package sinks holds what sink components share. A sink is a stream app,
// its own consumer group, that writes records of vigil topics somewhere else
// and commits its offsets only after the write is done.
package sinks

import (
	"errors"
	"fmt"

	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// Common are the settings every sink has.
type Common struct {
	// Topics are the logical topics to read: alerts, dlq, events.<dataset>,
	// raw.<source>, remediation.results and so on.
	Topics []string `yaml:"topics"`
	// Guarantee is at_least_once (default) or exactly_once.
	Guarantee string `yaml:"guarantee"`
}

// Validate checks the common settings.
func (c *Common) Validate() []error {
	var errs []error
	if len(c.Topics) == 0 {
		errs = append(errs, errors.New("topics must list at least one topic"))
	}
	var n topics.Names
	for _, t := range c.Topics {
		if _, err := n.Resolve(t); err != nil {
			errs = append(errs, fmt.Errorf("topics: %w", err))
		}
	}
	if _, err := streams.ParseGuarantee(c.Guarantee); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// App is a sink's stream app.
type App struct {
	*streams.Runner
	decl []topics.Spec
}

// Topics implements plugin.TopicDeclarer.
func (a *App) Topics() []topics.Spec { return a.decl }

// Inputs resolves a sink's topics as the configuration names them
// ("alerts", "events.cloudtrail", ...) and declares them.
func Inputs(logical []string, d plugin.Deps) ([]string, []topics.Spec, error) {
	var inputs []string
	var decl []topics.Spec
	for _, t := range logical {
		name, err := d.Topics.Resolve(t)
		if err != nil {
			return nil, nil, err
		}
		inputs = append(inputs, name)
		decl = append(decl, topics.Spec{Name: name, Partitions: d.Partitions})
	}
	return inputs, decl, nil
}

// NewApp builds the stream app of a sink that hands each record of its
// topics to p.
func NewApp(c Common, d plugin.Deps, p streams.Processor) (*App, error) {
	g, err := streams.ParseGuarantee(c.Guarantee)
	if err != nil {
		return nil, err
	}
	inputs, decl, err := Inputs(c.Topics, d)
	if err != nil {
		return nil, err
	}
	r, err := streams.New(d.App(streams.App{Inputs: inputs, Processor: p, Guarantee: g}))
	if err != nil {
		return nil, err
	}
	return &App{Runner: r, decl: decl}, nil
}
