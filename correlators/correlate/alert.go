package correlate

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/streams"
)

// firing is one result of a correlation.
type firing struct {
	at         int64 // the alert's time, ms
	start, end int64 // its window [start, end), ms
	entries    []entry
	value      float64
	// fieldValue is the value a value_percentile alert is about;
	// perValue says there is one (it may be "").
	fieldValue string
	perValue   bool
}

// defaultLevel is the level of alerts of correlations that set none.
const defaultLevel = "medium"

var levels = map[string]bool{"informational": true, "low": true, "medium": true, "high": true, "critical": true}

// fire raises the alert of a firing, if the correlation raises its own,
// and passes it on to the correlations that reference this one.
func (p *Processor) fire(c *streams.Context, cr *corr, key []byte, f firing) error {
	_, group := parseKey(key)
	a := newAlert(cr, group, string(key[fpLen+len(cr.id):]), f)
	if cr.alert {
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		c.EmitRecord(&kgo.Record{Topic: p.o.Alerts, Key: []byte(a.Event.ID), Value: b, Timestamp: a.Timestamp})
	}
	for _, outer := range cr.outs {
		m, ok := chained(cr, outer, a)
		if !ok {
			p.o.Logger.Warn("a correlation fired without a group value the correlation referencing it groups by; it is not passed on",
				"rule", cr.id, "outer", outer.id, "group", group)
			p.ignore("no_group_value")
			continue
		}
		rec, err := NewRecord(p.o.Matches, m)
		if err != nil {
			return err
		}
		c.EmitRecord(rec)
	}
	return nil
}

// chained is the match that an alert of inner makes for outer.
func chained(inner, outer *corr, a *ecs.Alert) (*Match, bool) {
	ref := inner.rule.ID
	if outer.ruleIndex(ref, "") < 0 {
		ref = inner.rule.Name
	}
	m := &Match{
		Correlation: outer.id,
		Rule:        inner.rule.ID,
		RuleName:    inner.rule.Name,
		Group:       make(map[string]string, len(outer.groupBy)),
		Time:        a.Timestamp,
		EventID:     a.Event.ID,
		Dataset:     "vigil.alerts",
		Origin:      "correlation " + inner.id,
	}
	for _, g := range outer.groupBy {
		v, ok := a.Vigil.Group[aliasField(outer.rule.Correlation, g, ref)]
		if !ok {
			return nil, false
		}
		m.Group[g] = v
	}
	if outer.field != "" {
		m.Value, m.HasValue = a.Vigil.Group[aliasField(outer.rule.Correlation, outer.field, ref)]
	}
	return m, true
}

// newAlert builds the alert of a firing.
func newAlert(cr *corr, group map[string]string, groupKey string, f firing) *ecs.Alert {
	r := cr.rule
	level := r.Level
	if !levels[level] {
		level = defaultLevel
	}
	win := &ecs.Window{Start: time.UnixMilli(f.start).UTC(), End: time.UnixMilli(f.end).UTC()}
	idWindow := win.Start.Format(time.RFC3339Nano) + "/" + win.End.Format(time.RFC3339Nano)
	if f.perValue {
		idWindow += "\x00" + f.fieldValue
	}
	a := &ecs.Alert{
		Timestamp: time.UnixMilli(f.at).UTC(),
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event: ecs.EventMeta{
			ID:       ecs.AlertID(cr.id, groupKey, idWindow),
			Kind:     "alert",
			Dataset:  "vigil.alerts",
			Module:   "vigil",
			Severity: ecs.Severity(level),
		},
		Rule: ecs.Rule{
			ID:          cr.id,
			Name:        r.Title,
			Description: r.Description,
			Reference:   r.References,
			Ruleset:     "sigma",
			License:     r.License,
		},
		Vigil: ecs.AlertInfo{
			Level:    level,
			Kind:     "correlation",
			Group:    group,
			Window:   win,
			Count:    len(f.entries),
			Evidence: evidence(cr, f.entries),
		},
	}
	if a.Rule.Name == "" {
		a.Rule.Name = cr.id
	}
	if r.Author != "" {
		a.Rule.Author = []string{r.Author}
	}
	if len(r.Tags) > 0 {
		a.Threat = &ecs.Threat{Framework: "MITRE ATT&CK", Tags: r.Tags}
	}
	if cr.typ != ast.EventCount {
		v := f.value
		a.Vigil.Value = &v
	}
	if cr.usesValue() {
		a.Vigil.Field = cr.field
		a.Vigil.FieldValue = f.fieldValue
	}
	a.Message = message(cr, a, f)
	return a
}

// evidence lists at most MaxEvidence of a firing's events, in time order:
// all of them if they fit; else, for temporal types, the latest match of
// each rule, then the most recent others.
func evidence(cr *corr, es []entry) []ecs.EventRef {
	pick := make([]bool, len(es))
	n := 0
	if len(es) <= MaxEvidence {
		for i := range pick {
			pick[i] = true
		}
		n = len(es)
	} else {
		if cr.typ == ast.Temporal || cr.typ == ast.TemporalOrdered {
			var seen uint64
			for i := len(es) - 1; i >= 0 && n < MaxEvidence; i-- {
				if es[i].rules&^seen != 0 {
					seen |= es[i].rules
					pick[i] = true
					n++
				}
			}
		}
		for i := len(es) - 1; i >= 0 && n < MaxEvidence; i-- {
			if !pick[i] {
				pick[i] = true
				n++
			}
		}
	}
	out := make([]ecs.EventRef, 0, n)
	for i := range es {
		if pick[i] {
			out = append(out, ecs.EventRef{ID: es[i].id, Dataset: es[i].dataset, Origin: es[i].origin})
		}
	}
	return out
}

// message is the alert's one line for people.
func message(cr *corr, a *ecs.Alert, f firing) string {
	var b strings.Builder
	b.WriteString(a.Rule.Name)
	b.WriteString(": ")
	n := len(f.entries)
	v := strconv.FormatFloat(f.value, 'f', -1, 64)
	switch cr.typ {
	case ast.EventCount:
		fmt.Fprintf(&b, "%d events", n)
	case ast.ValueCount:
		fmt.Fprintf(&b, "%s distinct values of %s in %d events", v, cr.field, n)
	case ast.ValueSum:
		fmt.Fprintf(&b, "%s summed to %s over %d events", cr.field, v, n)
	case ast.ValueAvg:
		fmt.Fprintf(&b, "%s averaged %s over %d events", cr.field, v, n)
	case ast.ValuePercentile:
		fmt.Fprintf(&b, "%s=%s in %s%% of events (%d)", cr.field, f.fieldValue, strconv.FormatFloat(f.value, 'f', 2, 64), n)
	case ast.Temporal:
		fmt.Fprintf(&b, "%s of %d rules matched (%d events)", v, len(cr.refs), n)
	case ast.TemporalOrdered:
		fmt.Fprintf(&b, "%s of %d rules matched in order (%d events)", v, len(cr.refs), n)
	}
	if len(a.Vigil.Group) > 0 {
		names := make([]string, 0, len(a.Vigil.Group))
		for k := range a.Vigil.Group {
			names = append(names, k)
		}
		sort.Strings(names)
		b.WriteString(" for")
		for _, k := range names {
			b.WriteString(" " + k + "=" + a.Vigil.Group[k])
		}
	}
	fmt.Fprintf(&b, " between %s and %s", a.Vigil.Window.Start.Format(time.RFC3339), a.Vigil.Window.End.Format(time.RFC3339))
	return b.String()
}
