package ecs

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Alert is a detection or correlation result on vigil.alerts.
type Alert struct {
	// Timestamp is the event time of the event that completed the alert.
	Timestamp time.Time  `json:"@timestamp"`
	Message   string     `json:"message"`
	ECS       ECSMeta    `json:"ecs"`
	Event     EventMeta  `json:"event"`
	Rule      Rule       `json:"rule"`
	Threat    *Threat    `json:"threat,omitempty"`
	Cloud     *Cloud     `json:"cloud,omitempty"`
	Source    *Endpoint  `json:"source,omitempty"`
	User      *User      `json:"user,omitempty"`
	UserAgent *UserAgent `json:"user_agent,omitempty"`
	Related   *Related   `json:"related,omitempty"`
	Vigil     AlertInfo  `json:"vigil"`
}

// Rule is the ECS rule.* field set: the rule that fired, in an alert, or
// the rule of the tool that raised a normalized event (a Falco or Wazuh
// rule, a Prowler check).
type Rule struct {
	ID          string   `json:"id,omitempty"`
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	Category    string   `json:"category,omitempty"`
	Reference   []string `json:"reference,omitempty"`
	Author      []string `json:"author,omitempty"`
	Ruleset     string   `json:"ruleset,omitempty"`
	License     string   `json:"license,omitempty"`
	Version     string   `json:"version,omitempty"`
}

// Threat holds MITRE ATT&CK references.
type Threat struct {
	Framework string          `json:"framework,omitempty"`
	Tags      []string        `json:"tags,omitempty"`
	Tactic    *ThreatCategory `json:"tactic,omitempty"`
	Technique *ThreatCategory `json:"technique,omitempty"`
}

// ThreatCategory is threat.tactic.* or threat.technique.*.
type ThreatCategory struct {
	ID   []string `json:"id,omitempty"`
	Name []string `json:"name,omitempty"`
}

// AlertInfo is vigil's own part of an alert.
type AlertInfo struct {
	// Level is the rule's level: informational, low, medium, high,
	// critical.
	Level string `json:"level"`
	// Kind is detection (one event) or correlation (several).
	Kind string `json:"kind"`
	// Group holds the group-by values of a correlation.
	Group map[string]string `json:"group,omitempty"`
	// Window is the event-time window of a correlation.
	Window *Window `json:"window,omitempty"`
	// Count is how many events made the alert.
	Count int `json:"count"`
	// Value is the aggregated value a correlation's condition tested,
	// where it is not Count: distinct values (value_count), sum
	// (value_sum), average (value_avg), share in percent
	// (value_percentile), rules matched (temporal, temporal_ordered).
	Value *float64 `json:"value,omitempty"`
	// Field is the field a value_* correlation aggregates.
	Field string `json:"field,omitempty"`
	// FieldValue is, for value_percentile, the value of Field whose share
	// Value is.
	FieldValue string `json:"field_value,omitempty"`
	// Evidence lists the events that made the alert.
	Evidence []EventRef `json:"evidence"`
}

// Window is an event-time interval, start inclusive, end exclusive.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// EventRef points at one event.
type EventRef struct {
	ID      string `json:"id"`
	Dataset string `json:"dataset,omitempty"`
	Origin  string `json:"origin,omitempty"`
}

// Severity maps a Sigma level to ECS event.severity, on the scale Elastic's
// detection engine uses.
func Severity(level string) int {
	switch level {
	case "informational":
		return 1
	case "low":
		return 21
	case "medium":
		return 47
	case "high":
		return 73
	case "critical":
		return 99
	}
	return 0
}

// AlertID derives an alert id from the rule, the group key and the window,
// so that reprocessing the same input yields the same id.
func AlertID(ruleID, groupKey string, window string) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	h.Write([]byte{0})
	h.Write([]byte(groupKey))
	h.Write([]byte{0})
	h.Write([]byte(window))
	return hex.EncodeToString(h.Sum(nil)[:16])
}
