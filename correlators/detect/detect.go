// Package detect is the stream app that evaluates detection rules on every
// normalized event and writes an alert to vigil.alerts for each match.
//
// Rules are registered Go values for now; the Sigma engine plugs in behind
// the same Rule interface.
package detect

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// RuleInfo describes a rule for the alerts it raises.
type RuleInfo struct {
	ID          string
	Title       string
	Description string
	// Level is informational, low, medium, high or critical.
	Level      string
	References []string
	Author     []string
	// Tags are ATT&CK and other tags, as in Sigma ("attack.t1078.004").
	Tags []string
	// License names the rule's licence when it is not vigil's own.
	License string
	// Datasets are the event datasets the rule applies to
	// ("aws.cloudtrail").
	Datasets []string
}

// Rule is a detection rule over single events.
type Rule interface {
	Info() RuleInfo
	// Match reports whether ev matches. It is called from one goroutine at
	// a time per app instance and must not keep ev.
	Match(ev *ecs.Event) bool
}

var (
	mu    sync.RWMutex
	rules = map[string]Rule{}
)

// RegisterRule adds a built-in rule. It panics on a duplicate id.
func RegisterRule(r Rule) {
	mu.Lock()
	defer mu.Unlock()
	id := r.Info().ID
	if _, dup := rules[id]; dup {
		panic("detect: rule registered twice: " + id)
	}
	rules[id] = r
}

// Rules returns the built-in rules sorted by id.
func Rules() []Rule {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Info().ID < out[j].Info().ID })
	return out
}

// Config configures the detect app.
type Config struct {
	// Datasets are the event topics to consume, by dataset. Default
	// ["cloudtrail"].
	Datasets []string `yaml:"datasets"`
	// Disable lists rule ids to switch off. Default: none.
	Disable []string `yaml:"disable"`
	// Guarantee overrides kafka.guarantee for this app.
	Guarantee string `yaml:"guarantee"`
}

// Validate implements plugin.Validator.
func (c *Config) Validate() []error {
	var errs []error
	if len(c.Datasets) == 0 {
		errs = append(errs, fmt.Errorf("datasets must not be empty"))
	}
	for _, d := range c.Datasets {
		if err := topics.ValidName(d); err != nil {
			errs = append(errs, fmt.Errorf("datasets: %w", err))
		}
	}
	known := map[string]bool{}
	for _, r := range Rules() {
		known[r.Info().ID] = true
	}
	for _, id := range c.Disable {
		if !known[id] {
			errs = append(errs, fmt.Errorf("disable: no rule with id %q", id))
		}
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
		Name:    "detect",
		Summary: "evaluates detection rules on every event, writing alerts to vigil.alerts",
		Config:  func() any { return &Config{Datasets: []string{"cloudtrail"}} },
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
	disabled := map[string]bool{}
	for _, id := range c.Disable {
		disabled[id] = true
	}
	var active []Rule
	for _, r := range Rules() {
		if !disabled[r.Info().ID] {
			active = append(active, r)
		}
	}
	p := NewProcessor(d.Topics.Alerts(), active)
	var inputs []string
	decl := []topics.Spec{{Name: d.Topics.Alerts(), Partitions: d.Partitions}, {Name: d.Topics.DLQ(), Partitions: d.Partitions}}
	for _, ds := range c.Datasets {
		inputs = append(inputs, d.Topics.Events(ds))
		decl = append(decl, topics.Spec{Name: d.Topics.Events(ds), Partitions: d.Partitions})
	}
	g := d.Guarantee
	if c.Guarantee != "" {
		g, _ = streams.ParseGuarantee(c.Guarantee)
	}
	r, err := streams.New(d.App(streams.App{Inputs: inputs, Processor: p, Guarantee: g}))
	if err != nil {
		return nil, err
	}
	return &app{Runner: r, decl: decl}, nil
}

// Processor evaluates rules on ECS events.
type Processor struct {
	alerts    string
	byDataset map[string][]Rule
}

// NewProcessor returns a processor that writes alerts of the given rules to
// the alerts topic.
func NewProcessor(alertsTopic string, rs []Rule) *Processor {
	p := &Processor{alerts: alertsTopic, byDataset: map[string][]Rule{}}
	for _, r := range rs {
		for _, ds := range r.Info().Datasets {
			p.byDataset[ds] = append(p.byDataset[ds], r)
		}
	}
	return p
}

// Process implements streams.Processor.
func (p *Processor) Process(c *streams.Context, r *kgo.Record) error {
	var ev ecs.Event
	if err := json.Unmarshal(r.Value, &ev); err != nil {
		return fmt.Errorf("decode ECS event: %w", err)
	}
	for _, rule := range p.byDataset[ev.Event.Dataset] {
		if !rule.Match(&ev) {
			continue
		}
		a := NewAlert(rule.Info(), &ev, streams.Origin(r))
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		c.EmitRecord(&kgo.Record{Topic: p.alerts, Key: []byte(a.Event.ID), Value: b, Headers: streams.Provenance(r), Timestamp: a.Timestamp})
	}
	return nil
}

// NewAlert builds the alert a detection rule raises for one event. Its id
// depends only on the rule and the event, so reprocessing yields the same
// alert.
func NewAlert(ri RuleInfo, ev *ecs.Event, origin string) *ecs.Alert {
	a := &ecs.Alert{
		Timestamp: ev.Timestamp,
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event: ecs.EventMeta{
			ID:       ecs.AlertID(ri.ID, ev.Event.ID, ""),
			Kind:     "alert",
			Category: ev.Event.Category,
			Type:     ev.Event.Type,
			Action:   ev.Event.Action,
			Outcome:  ev.Event.Outcome,
			Provider: ev.Event.Provider,
			Dataset:  "vigil.alerts",
			Module:   "vigil",
			Severity: ecs.Severity(ri.Level),
		},
		Rule: ecs.Rule{
			ID:          ri.ID,
			Name:        ri.Title,
			Description: ri.Description,
			Reference:   ri.References,
			Author:      ri.Author,
			Ruleset:     "vigil",
			License:     ri.License,
		},
		Cloud:     ev.Cloud,
		Source:    ev.Source,
		User:      ev.User,
		UserAgent: ev.UserAgent,
		Related:   ev.Related,
		Vigil: ecs.AlertInfo{
			Level:    ri.Level,
			Kind:     "detection",
			Count:    1,
			Evidence: []ecs.EventRef{{ID: ev.Event.ID, Dataset: ev.Event.Dataset, Origin: origin}},
		},
	}
	if len(ri.Tags) > 0 {
		a.Threat = &ecs.Threat{Framework: "MITRE ATT&CK", Tags: ri.Tags}
	}
	a.Message = message(ri, ev)
	return a
}

func message(ri RuleInfo, ev *ecs.Event) string {
	var b strings.Builder
	b.WriteString(ri.Title)
	b.WriteString(": ")
	who := "unknown principal"
	if ev.User != nil && ev.User.Name != "" {
		who = ev.User.Name
	}
	b.WriteString(who)
	if ev.Event.Action != "" {
		b.WriteString(" called ")
		b.WriteString(ev.Event.Action)
	}
	if ev.Event.Outcome != "" {
		b.WriteString(" (" + ev.Event.Outcome + ")")
	}
	if ev.Source != nil && ev.Source.Address != "" {
		b.WriteString(" from ")
		b.WriteString(ev.Source.Address)
	}
	if ev.Cloud != nil && ev.Cloud.Account != nil {
		b.WriteString(" in account ")
		b.WriteString(ev.Cloud.Account.ID)
	}
	return b.String()
}
