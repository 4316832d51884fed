// Package detect is the stream app that evaluates Sigma detection rules on
// every normalized event. A match raises an alert on vigil.alerts, and,
// for each correlation rule that references the rule, a match record on
// vigil.matches for the correlate app: keyed by the correlation and its
// group-by values, carrying the value the correlation aggregates.
//
// The rules come from the rules section of the config (package
// ruleset): the built-in SigmaHQ and vigil rules and a team's own, routed
// to datasets by their logsource. They reload on change or SIGHUP
// without a restart; each record is evaluated against one version of the
// rules.
//
// As the Sigma correlation specification says, a rule that a correlation
// references raises no alert of its own, unless some correlation that
// references it says generate: true.
package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/bytedance/sonic"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/correlators/correlate"
	"github.com/vigilsec/vigil/correlators/ruleset"
	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/correlators/sigma/engine"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/rules"
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
	// License names the rule's licence.
	License string
}

// Info returns the alert information of a Sigma rule.
func Info(r *ast.Rule) RuleInfo {
	ri := RuleInfo{
		ID:          correlate.CorrelationID(r),
		Title:       r.Title,
		Description: strings.TrimSpace(r.Description),
		Level:       r.Level,
		References:  r.References,
		Tags:        r.Tags,
		License:     r.License,
	}
	if ri.Level == "" {
		ri.Level = "medium"
	}
	if r.Author != "" {
		for _, a := range strings.Split(r.Author, ",") {
			if a = strings.TrimSpace(a); a != "" {
				ri.Author = append(ri.Author, a)
			}
		}
	}
	if ri.License == "" && strings.HasPrefix(r.Pos.File, rules.Prefix+"sigmahq/") {
		ri.License = "DRL-1.1"
	}
	return ri
}

// Config configures the detect app.
type Config struct {
	// Datasets are the event topics to consume, by dataset. Default: the
	// datasets the rules run on (rules.logsources), when the app starts.
	Datasets []string `yaml:"datasets"`
	// Guarantee overrides kafka.guarantee for this app.
	Guarantee string `yaml:"guarantee"`
}

// Validate implements plugin.Validator.
func (c *Config) Validate() []error {
	var errs []error
	for _, d := range c.Datasets {
		if err := topics.ValidName(d); err != nil {
			errs = append(errs, fmt.Errorf("datasets: %w", err))
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
		Summary: "evaluates Sigma detection rules on every event, writing alerts to vigil.alerts and matches for correlations to vigil.matches",
		Config:  func() any { return &Config{} },
		New:     newApp,
	})
}

func newApp(cfg any, d plugin.Deps) (plugin.Component, error) {
	c := cfg.(*Config)
	w, err := ruleset.NewWatcher(d.Rules, d.Logger, d.Registerer)
	if err != nil {
		return nil, err
	}
	set := w.Current()
	datasets := c.Datasets
	if len(datasets) == 0 {
		datasets = set.Datasets()
	}
	if len(datasets) == 0 {
		return nil, fmt.Errorf("no rule runs on any dataset: check rules.logsources")
	}
	p, err := NewProcessor(set, Options{Alerts: d.Topics.Alerts(), Matches: d.Topics.Matches(), Names: d.Topics, Registerer: d.Registerer})
	if err != nil {
		return nil, err
	}
	w.Subscribe(func(s *ruleset.Set) {
		if err := p.Swap(s); err != nil {
			d.Logger.Error("rules not swapped in", "err", err)
			return
		}
		for _, ds := range s.Datasets() {
			if !slices.Contains(datasets, ds) {
				d.Logger.Warn("rules run on a dataset this app does not consume; restart it (or list the dataset in datasets)", "dataset", ds)
			}
		}
	})
	var inputs []string
	decl := []topics.Spec{
		{Name: d.Topics.Alerts(), Partitions: d.Partitions},
		{Name: d.Topics.Matches(), Partitions: d.Partitions},
		{Name: d.Topics.DLQ(), Partitions: d.Partitions},
	}
	for _, ds := range datasets {
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
	return &ruleset.App{Runner: r, Watcher: w, Decl: decl}, nil
}

// Options configure a Processor.
type Options struct {
	// Alerts and Matches are the topics alerts and matches are written
	// to. Defaults vigil.alerts and vigil.matches.
	Alerts, Matches string
	// Names resolves event topics to datasets. Default: topics.Names{}.
	Names topics.Names
	// Registerer registers the processor's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Processor evaluates Sigma rules on ECS events. It is safe for concurrent
// use; Swap replaces its rules between records.
type Processor struct {
	o       Options
	cur     atomic.Pointer[compiled]
	alerts  *prometheus.CounterVec
	matches prometheus.Counter
}

// compiled is one version of the rules, ready to evaluate.
type compiled struct {
	byTopic   map[string]*datasetRules
	byDataset map[string]*datasetRules
}

type datasetRules struct {
	set   *engine.Set
	rules []outRule // by index in set
}

// outRule is what a matching rule produces.
type outRule struct {
	info   RuleInfo
	alert  bool // raise an alert of its own
	routes []route
}

type route struct {
	corr  string
	group []groupField
	value *engine.Field
}

type groupField struct {
	name  string
	field *engine.Field
}

// NewProcessor returns a processor over the rules of set.
func NewProcessor(set *ruleset.Set, o Options) (*Processor, error) {
	if o.Alerts == "" {
		o.Alerts = "vigil.alerts"
	}
	if o.Matches == "" {
		o.Matches = "vigil.matches"
	}
	p := &Processor{
		o: o,
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_detect_alerts_total",
			Help: "Alerts raised by detection rules, by rule level.",
		}, []string{"level"}),
		matches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_detect_matches_total",
			Help: "Match records written to vigil.matches for correlation rules.",
		}),
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{p.alerts, p.matches} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	if err := p.Swap(set); err != nil {
		return nil, err
	}
	return p, nil
}

// Swap makes the processor evaluate the rules of set from the next record
// on.
func (p *Processor) Swap(set *ruleset.Set) error {
	routes := correlate.Routes(set.Rules)
	// A referenced rule alerts only if some correlation referencing it
	// says generate.
	generate := map[string]bool{}
	referenced := map[string]bool{}
	for _, r := range set.Rules {
		if r.Kind != ast.KindCorrelation || r.Correlation == nil {
			continue
		}
		for _, ref := range r.Correlation.Rules {
			referenced[ref] = true
			if r.Correlation.Generate {
				generate[ref] = true
			}
		}
	}
	c := &compiled{byTopic: map[string]*datasetRules{}, byDataset: map[string]*datasetRules{}}
	for _, ds := range set.Datasets() {
		es := set.Detection(ds)
		dr := &datasetRules{set: es, rules: make([]outRule, es.Len())}
		for i, er := range es.Rules() {
			r := er.AST
			o := outRule{info: Info(r), alert: true}
			if referenced[r.ID] || referenced[r.Name] {
				o.alert = generate[r.ID] || generate[r.Name]
			}
			var rts []correlate.Route
			for _, k := range []string{r.ID, r.Name} {
				if k != "" {
					rts = append(rts, routes[k]...)
				}
			}
			for _, rt := range rts {
				ro := route{corr: rt.Correlation}
				for name, field := range rt.Group {
					ro.group = append(ro.group, groupField{name: name, field: engine.NewField(field)})
				}
				if rt.ValueField != "" {
					ro.value = engine.NewField(rt.ValueField)
				}
				o.routes = append(o.routes, ro)
			}
			dr.rules[i] = o
		}
		c.byTopic[p.o.Names.Events(ds)] = dr
		c.byDataset[ds] = dr
	}
	p.cur.Store(c)
	return nil
}

// Process implements streams.Processor.
func (p *Processor) Process(c *streams.Context, r *kgo.Record) error {
	dr := p.cur.Load().byTopic[r.Topic]
	if dr == nil {
		return nil
	}
	var ev ecs.Event
	if err := DecodeEvent(r.Value, &ev); err != nil {
		return err
	}
	alerts, matches := dr.evaluate(&ev, streams.Origin(r))
	for _, a := range alerts {
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		c.EmitRecord(&kgo.Record{Topic: p.o.Alerts, Key: []byte(a.Event.ID), Value: b, Headers: streams.Provenance(r), Timestamp: a.Timestamp})
		p.alerts.WithLabelValues(a.Vigil.Level).Inc()
	}
	for _, m := range matches {
		rec, err := correlate.NewRecord(p.o.Matches, m)
		if err != nil {
			return fmt.Errorf("encode match: %w", err)
		}
		rec.Headers = streams.Provenance(r)
		c.EmitRecord(rec)
		p.matches.Inc()
	}
	return nil
}

// decoder decodes ECS documents as normalize encodes them (sonic, strings
// aliasing the record).
var decoder = sonic.Config{}.Froze()

// DecodeEvent decodes an ECS document as the detect app reads it. The
// event's strings may alias b.
func DecodeEvent(b []byte, ev *ecs.Event) error {
	if err := decoder.Unmarshal(b, ev); err != nil {
		return fmt.Errorf("decode ECS event: %w", err)
	}
	return nil
}

// Evaluate runs the rules of a dataset on one event, found at origin, and
// returns the alerts and the correlation matches it makes, as Process
// writes them.
func (p *Processor) Evaluate(dataset string, ev *ecs.Event, origin string) ([]*ecs.Alert, []*correlate.Match) {
	dr := p.cur.Load().byDataset[dataset]
	if dr == nil {
		return nil, nil
	}
	return dr.evaluate(ev, origin)
}

func (dr *datasetRules) evaluate(ev *ecs.Event, origin string) (alerts []*ecs.Alert, matches []*correlate.Match) {
	e := engine.ECS(ev)
	hits := dr.set.Match(e, nil)
	var vals []string
	for _, i := range hits {
		o := &dr.rules[i]
		if o.alert {
			alerts = append(alerts, NewAlert(o.info, ev, origin))
		}
		for _, rt := range o.routes {
			m := &correlate.Match{
				Correlation: rt.corr,
				Rule:        o.info.ID,
				RuleName:    dr.set.Rule(i).AST.Name,
				Group:       make(map[string]string, len(rt.group)),
				Time:        ev.Timestamp,
				EventID:     ev.Event.ID,
				Dataset:     ev.Event.Dataset,
				Origin:      origin,
			}
			for _, g := range rt.group {
				vals = engine.Lookup(e, g.field, vals[:0])
				m.Group[g.name] = strings.Join(vals, ",")
			}
			if rt.value != nil {
				vals = engine.Lookup(e, rt.value, vals[:0])
				if len(vals) > 0 {
					m.Value, m.HasValue = vals[0], true
				}
			}
			matches = append(matches, m)
		}
	}
	return alerts, matches
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
