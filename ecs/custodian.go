package ecs

import "time"

// Custodian holds the custodian.* fields of normalized custodian events:
// what a Cloud Custodian policy run, or a notify message, says beyond the
// ECS fields (rule.*, resource.*, cloud.*) it also fills.
type Custodian struct {
	// Record is the Custodian output the event was read from: metadata (a
	// run's metadata.json), run (a run record: metadata.json with the
	// run's resources.json) or notify (a notify action's message).
	Record string `json:"record,omitempty"`
	// Policy is the policy that ran.
	Policy *CustodianPolicy `json:"policy,omitempty"`
	// Execution is the policy run.
	Execution *CustodianExecution `json:"execution,omitempty"`
	// DryRun is set when the run was a dry run: no action was taken.
	DryRun *bool `json:"dryrun,omitempty"`
	// ResourceCount is how many resources the policy matched, on the
	// event of the run itself.
	ResourceCount *int `json:"resource_count,omitempty"`
	// Metrics are the run's metrics (ResourceCount, ResourceTime,
	// ActionTime, PolicyException, ...) by name, on the event of the run.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// APIStats counts the cloud API calls of the run (flattened).
	APIStats any `json:"api_stats,omitempty"`
	// Resource is the resource as Custodian recorded it (flattened), on
	// the events of resources.
	Resource any `json:"resource,omitempty"`
	// ResourceARN is the resource's ARN, when it has one.
	ResourceARN string `json:"resource_arn,omitempty"`
	// MatchedFilters are the filters the resource matched
	// (c7n:MatchedFilters).
	MatchedFilters []string `json:"matched_filters,omitempty"`
	// Notify is the notify action that sent the message.
	Notify *CustodianNotify `json:"notify,omitempty"`
	// Event is the cloud event that triggered a policy in an event mode
	// (cloudtrail, ...), as the notify message holds it (flattened).
	Event any `json:"event,omitempty"`
}

// CustodianPolicy is custodian.policy.
type CustodianPolicy struct {
	Name        string `json:"name,omitempty"`
	Resource    string `json:"resource,omitempty"`
	Description string `json:"description,omitempty"`
	// Mode is the policy's execution mode: pull (the default), periodic,
	// cloudtrail, config-rule, ...
	Mode string `json:"mode,omitempty"`
	// Actions are the types of the policy's actions, in order.
	Actions []string `json:"actions,omitempty"`
	// Filters are the policy's filters as written (flattened).
	Filters any `json:"filters,omitempty"`
}

// CustodianExecution is custodian.execution.
type CustodianExecution struct {
	ID    string     `json:"id,omitempty"`
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`
	// Duration is the run's duration in seconds.
	Duration float64 `json:"duration,omitempty"`
	// RunMode is how the run was started, when Custodian records it.
	RunMode string `json:"run_mode,omitempty"`
}

// CustodianNotify is custodian.notify: the notify action, whose message
// c7n-mailer delivers.
type CustodianNotify struct {
	To            []string            `json:"to,omitempty"`
	Cc            []string            `json:"cc,omitempty"`
	Subject       string              `json:"subject,omitempty"`
	Template      string              `json:"template,omitempty"`
	ViolationDesc string              `json:"violation_desc,omitempty"`
	ActionDesc    string              `json:"action_desc,omitempty"`
	Transport     *CustodianTransport `json:"transport,omitempty"`
}

// CustodianTransport is where a notify message was sent.
type CustodianTransport struct {
	Type  string `json:"type,omitempty"`
	Queue string `json:"queue,omitempty"`
	Topic string `json:"topic,omitempty"`
}
