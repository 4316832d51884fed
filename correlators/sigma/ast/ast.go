// Package ast is the syntax of Sigma rules as vigil reads them: detection
// rules, correlation rules (specification 2.1) and filters, with the
// position of every part in its file, so that problems can name their
// line. The sigma package parses and lints it; the engine compiles
// detection rules into matchers; the correlate app runs correlations.
package ast

import (
	"strconv"
	"time"
)

// Pos is a position in a rule file; Line and Col are 1-based, 0 if
// unknown.
type Pos struct {
	File      string
	Line, Col int
}

// Kind says what a rule document is.
type Kind int

const (
	// KindDetection is a detection rule: logsource and detection.
	KindDetection Kind = iota
	// KindCorrelation is a correlation rule over other rules' matches.
	KindCorrelation
	// KindFilter is a Sigma filter: conditions that exclude events from
	// other rules.
	KindFilter
)

// Rule is one rule document.
type Rule struct {
	Pos  Pos
	Kind Kind

	Title       string
	ID          string
	Name        string // referenced by correlations (besides the id)
	Status      string
	Description string
	License     string
	Author      string
	Date        string
	Modified    string
	Level       string
	Taxonomy    string
	Scope       []string
	References  []string
	Fields      []string
	FalsePos    []string
	Tags        []string
	Related     []Related
	LogSource   LogSource

	// Detection is set for KindDetection.
	Detection *Detection
	// Correlation is set for KindCorrelation.
	Correlation *Correlation
	// Filter is set for KindFilter.
	Filter *Filter

	// Custom holds top-level attributes the specification does not
	// define, which it allows, by name.
	Custom map[string]any
}

// Related is an entry of a rule's related list.
type Related struct {
	ID   string
	Type string // derived, obsolete, merged, renamed, similar
}

// LogSource says what events a rule is about.
type LogSource struct {
	Pos        Pos
	Category   string
	Product    string
	Service    string
	Definition string
}

// Detection is a rule's (or a filter's) searches and condition.
type Detection struct {
	Pos Pos
	// Searches are the named search identifiers, in file order.
	Searches []*Search
	// Condition is the condition; a list of conditions in the file
	// means any of them (Or).
	Condition Cond
	// ConditionText is the condition as written, for messages.
	ConditionText string
	ConditionPos  Pos
	// Timeframe is the retired detection.timeframe attribute, if set.
	Timeframe string
}

// Search returns the search with the given identifier, or nil.
func (d *Detection) Search(name string) *Search {
	for _, s := range d.Searches {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Search is one search identifier: a map of field items (all must match),
// a list of such maps (any must match), or a list of keywords (any must
// appear in the event).
type Search struct {
	Pos  Pos
	Name string
	// Maps are alternatives: the search matches when any map matches.
	// A single map in the file is a list of one.
	Maps []*FieldMap
	// Keywords, when set, is a keyword search: values any of which must
	// appear anywhere in the event (with the modifiers in KeywordMods).
	Keywords    []Value
	KeywordMods []string
}

// FieldMap is a map of field items; it matches when every item does.
type FieldMap struct {
	Pos   Pos
	Items []*FieldItem
}

// FieldItem is "field|modifier|...: value(s)". Values are alternatives
// (any matches) unless the all modifier says all must.
type FieldItem struct {
	Pos   Pos
	Field string // as written, without modifiers; "" for a keyword item
	// Modifiers in order, as written ("contains", "all", "re", "i", ...).
	Modifiers []string
	Values    []Value
}

// ValueKind is the type of a YAML scalar in a rule.
type ValueKind int

const (
	// String values may hold * and ? wildcards, escaped with \.
	String ValueKind = iota
	Number
	Bool
	Null
)

// Value is one value of a field item or keyword list.
type Value struct {
	Pos  Pos
	Kind ValueKind
	// Str is the value as written (for numbers and booleans too).
	Str  string
	Num  float64
	Bool bool
}

// Cond is a node of a condition.
type Cond interface{ cond() }

// And matches when every part does.
type And struct{ Parts []Cond }

// Or matches when any part does.
type Or struct{ Parts []Cond }

// Not matches when X does not.
type Not struct{ X Cond }

// Ident is a search identifier.
type Ident struct {
	Name string
	Pos  Pos
}

// Quantifier is how many of a set of searches must match.
type Quantifier int

const (
	// Any is "1 of".
	Any Quantifier = iota
	// All is "all of".
	All
	// AtLeast is "N of", with N in Of.N.
	AtLeast
)

// Of is "1 of pattern", "all of them", "N of pattern*".
type Of struct {
	Quant Quantifier
	N     int
	// Pattern is a search identifier, possibly with * wildcards; "them"
	// (every search) is the pattern "*".
	Pattern string
	Pos     Pos
}

func (And) cond()   {}
func (Or) cond()    {}
func (Not) cond()   {}
func (Ident) cond() {}
func (Of) cond()    {}

// CorrType is the type of a correlation rule.
type CorrType string

const (
	EventCount      CorrType = "event_count"
	ValueCount      CorrType = "value_count"
	Temporal        CorrType = "temporal"
	TemporalOrdered CorrType = "temporal_ordered"
	ValueSum        CorrType = "value_sum"
	ValueAvg        CorrType = "value_avg"
	ValuePercentile CorrType = "value_percentile"
)

// Correlation is the correlation section of a correlation rule.
type Correlation struct {
	Pos  Pos
	Type CorrType
	// Rules are the names or ids of the rules (detection or correlation)
	// whose matches are correlated, in order (the order matters for
	// temporal_ordered).
	Rules []string
	// GroupBy are the fields (or aliases) whose values group matches.
	GroupBy []string
	// Timespan is the window; TimespanText as written ("1h").
	Timespan     time.Duration
	TimespanText string
	// Condition is nil for temporal types without one (every rule must
	// match within the timespan).
	Condition *CorrCondition
	// Aliases: alias -> rule name or id -> field name in that rule's
	// events.
	Aliases map[string]map[string]string
	// Generate also raises the referenced rules' own alerts; by default
	// rules referenced by a correlation raise none.
	Generate bool
}

// CorrCondition is a correlation's condition: tests on the count or value,
// all of which must hold (gte: 10 and lte: 20 is a range).
type CorrCondition struct {
	Pos Pos
	// Field is the field whose values are counted (value_count) or
	// aggregated (value_sum, value_avg, value_percentile).
	Field string
	Tests []CmpTest
}

// CmpTest is one comparison of a correlation condition.
type CmpTest struct {
	Op    string // gt, gte, lt, lte, eq, neq
	Value float64
}

// Filter is the filter section of a Sigma filter: the rules it applies to
// and a detection whose matches are excluded from them.
type Filter struct {
	Pos Pos
	// Rules are the ids or names of the rules filtered; empty means none
	// (the specification requires at least one).
	Rules     []string
	Detection *Detection
}

// Severity of a problem.
type Severity int

const (
	// Error makes a rule unusable.
	Error Severity = iota
	// Warning is a rule that loads but is likely wrong or will not run
	// where expected.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Problem is something wrong with a rule, at a position.
type Problem struct {
	Pos      Pos
	Severity Severity
	// Rule is the id (or title) of the rule, when known.
	Rule string
	Msg  string
}

func (p Problem) String() string {
	loc := p.Pos.File
	if p.Pos.Line > 0 {
		loc += ":" + strconv.Itoa(p.Pos.Line)
		if p.Pos.Col > 0 {
			loc += ":" + strconv.Itoa(p.Pos.Col)
		}
	}
	return loc + ": " + p.Severity.String() + ": " + p.Msg
}
