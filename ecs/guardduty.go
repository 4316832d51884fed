package ecs

// GuardDuty holds the aws.guardduty.* fields of normalized guardduty events.
type GuardDuty struct{}
