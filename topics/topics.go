// Package topics names vigil's Kafka topics.
//
// Every topic name in vigil comes from a Names value so that one prefix,
// set in the configuration, moves the whole deployment onto other topics.
package topics

import (
	"fmt"
	"strings"
)

// DefaultPrefix is the prefix of every topic name unless configured otherwise.
const DefaultPrefix = "vigil"

// Names builds topic names from a prefix. The zero value uses DefaultPrefix.
type Names struct {
	// Prefix is the first dotted part of every name. Default "vigil".
	Prefix string
}

func (n Names) prefix() string {
	if n.Prefix == "" {
		return DefaultPrefix
	}
	return n.Prefix
}

// Raw is the topic that sources write raw events of one source to, for
// example "vigil.raw.cloudtrail".
func (n Names) Raw(source string) string { return n.prefix() + ".raw." + source }

// Events is the topic of normalized ECS documents of one dataset, for example
// "vigil.events.cloudtrail".
func (n Names) Events(dataset string) string { return n.prefix() + ".events." + dataset }

// Alerts is the topic that detections and correlations write alerts to.
func (n Names) Alerts() string { return n.prefix() + ".alerts" }

// DLQ is the dead-letter topic: records that could not be processed, with the
// reason in headers.
func (n Names) DLQ() string { return n.prefix() + ".dlq" }

// Matches is the topic of rule matches that correlation rules correlate,
// keyed by correlation and group.
func (n Names) Matches() string { return n.prefix() + ".matches" }

// Late is the topic for records that arrive after a window's grace period.
func (n Names) Late() string { return n.prefix() + ".late" }

// Progress is the compacted topic where sources keep their progress (an
// object done, a file's offset), committed with the records they produce.
func (n Names) Progress() string { return n.prefix() + ".sources.progress" }

// Table is the compacted topic that holds a lookup table such as assets.
func (n Names) Table(name string) string { return n.prefix() + ".tables." + name }

// RemediationRequests is the topic of remediation requests.
func (n Names) RemediationRequests() string { return n.prefix() + ".remediation.requests" }

// RemediationResults is the topic of remediation outcomes.
func (n Names) RemediationResults() string { return n.prefix() + ".remediation.results" }

// Group is the consumer group id of a stream app or sink. It carries the
// prefix so that deployments sharing a cluster under different prefixes
// never share groups or transactional ids.
func (n Names) Group(app string) string { return n.prefix() + "-" + app }

// Changelog is the compacted topic backing one store of one app.
func (n Names) Changelog(app, store string) string {
	return n.prefix() + "-" + app + "-" + store + "-changelog"
}

// Repartition is the topic an app re-keys records through.
func (n Names) Repartition(app, name string) string {
	return n.prefix() + "-" + app + "-" + name + "-repartition"
}

// ValidName reports whether s may be used as a source, dataset or table name
// inside a topic name: lower-case letters, digits, '-' and '_'.
func ValidName(s string) error {
	if s == "" {
		return fmt.Errorf("name is empty")
	}
	if len(s) > 100 {
		return fmt.Errorf("name %q is longer than 100 characters", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("name %q may hold only a-z, 0-9, '-' and '_'", s)
		}
	}
	return nil
}

// ValidPrefix reports whether p is a usable topic prefix.
func ValidPrefix(p string) error {
	if p == "" {
		return fmt.Errorf("prefix is empty")
	}
	if strings.Trim(p, ".-_") != p {
		return fmt.Errorf("prefix %q must not begin or end with '.', '-' or '_'", p)
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("prefix %q may hold only letters, digits, '.', '-' and '_'", p)
		}
	}
	return nil
}

// Spec describes a topic to create.
type Spec struct {
	Name       string
	Partitions int32
	// Compacted topics keep the latest value per key (tables, changelogs,
	// progress).
	Compacted bool
}

// Resolve turns a logical topic name as written in the config ("alerts",
// "dlq", "late", "events.cloudtrail", "raw.cloudtrail", "tables.assets",
// "remediation.requests", "remediation.results") into a topic name.
func (n Names) Resolve(logical string) (string, error) {
	switch logical {
	case "alerts":
		return n.Alerts(), nil
	case "dlq":
		return n.DLQ(), nil
	case "matches":
		return n.Matches(), nil
	case "late":
		return n.Late(), nil
	case "remediation.requests":
		return n.RemediationRequests(), nil
	case "remediation.results":
		return n.RemediationResults(), nil
	}
	kind, name, ok := strings.Cut(logical, ".")
	if ok {
		if err := ValidName(name); err != nil {
			return "", fmt.Errorf("topic %q: %w", logical, err)
		}
		switch kind {
		case "events":
			return n.Events(name), nil
		case "raw":
			return n.Raw(name), nil
		case "tables":
			return n.Table(name), nil
		}
	}
	return "", fmt.Errorf("topic %q must be alerts, dlq, late, remediation.requests, remediation.results, events.<dataset>, raw.<source> or tables.<name>", logical)
}
