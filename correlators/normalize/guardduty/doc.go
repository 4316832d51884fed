// Package guardduty normalizes Amazon GuardDuty findings to ECS.
package guardduty
