// Package correlate is the stream app that runs Sigma correlation rules:
// it reads the matches of the rules they reference from vigil.matches,
// keeps them in event-time windows in Pebble, keyed by correlation and
// group-by values, and writes an alert to vigil.alerts when a
// correlation's condition holds.
package correlate

import (
	"sort"
	"strings"
	"time"
)

// Match is one event matched by a rule that a correlation references, as
// the detect app (or this app, for correlations of correlations) writes it
// to vigil.matches, one per correlation, keyed by Key.
type Match struct {
	// Correlation is the id of the correlation rule the match is for.
	Correlation string `json:"correlation"`
	// Rule is the id of the rule that matched; RuleName its name, if any.
	Rule     string `json:"rule"`
	RuleName string `json:"rule_name,omitempty"`
	// Group holds the values of the correlation's group-by fields (by
	// alias name where aliases apply) in the matched event.
	Group map[string]string `json:"group"`
	// Time is the event time of the matched event (for a correlation of
	// correlations, of the event that completed the inner alert).
	Time time.Time `json:"time"`
	// Value is the value of the correlation condition's field in the
	// event, for value_count, value_sum, value_avg and value_percentile;
	// HasValue is false if the event lacks the field.
	Value    string `json:"value,omitempty"`
	HasValue bool   `json:"has_value,omitempty"`
	// EventID, Dataset and Origin identify the event, for the evidence
	// of an alert.
	EventID string `json:"event_id"`
	Dataset string `json:"dataset,omitempty"`
	Origin  string `json:"origin,omitempty"`
	// Watermark marks a record that only says that stream time has
	// reached Time: it belongs to no correlation, and moves the stream
	// time of its partition on, closing the windows that end before it.
	// A replay that has no more matches writes one to every partition, so
	// that every window is judged (vigil rules test does).
	Watermark bool `json:"watermark,omitempty"`
}

// Key is the Kafka key of a match: its correlation and group values, so
// that every match of one group of one correlation is on one partition.
func (m *Match) Key() []byte {
	names := make([]string, 0, len(m.Group))
	for k := range m.Group {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(m.Correlation)
	for _, k := range names {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m.Group[k])
	}
	return []byte(b.String())
}
