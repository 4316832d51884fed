package detect

import "github.com/vigilsec/vigil/ecs"

// rootUsage is SigmaHQ's "AWS Root Credentials" rule (8ad1600d), by
// vitaliy0x1, under the Detection Rule License 1.1: any CloudTrail event
// made with the account's root user, except events AWS services record on
// their own behalf (eventType AwsServiceEvent).
type rootUsage struct{}

func (rootUsage) Info() RuleInfo {
	return RuleInfo{
		ID:          "8ad1600d-e9dc-4251-b0ee-a65268f29add",
		Title:       "AWS Root Credentials",
		Description: "Detects AWS root account usage",
		Level:       "medium",
		References:  []string{"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html"},
		Author:      []string{"vitaliy0x1"},
		Tags:        []string{"attack.privilege-escalation", "attack.initial-access", "attack.persistence", "attack.stealth", "attack.t1078.004"},
		License:     "DRL-1.1",
		Datasets:    []string{"aws.cloudtrail"},
	}
}

func (rootUsage) Match(ev *ecs.Event) bool {
	if ev.AWS == nil || ev.AWS.CloudTrail == nil || ev.AWS.CloudTrail.UserIdentity == nil {
		return false
	}
	ct := ev.AWS.CloudTrail
	return ct.UserIdentity.Type == "Root" && ct.EventType != "AwsServiceEvent"
}

func init() { RegisterRule(rootUsage{}) }
