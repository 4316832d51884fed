// Package custodian normalizes Cloud Custodian records to ECS.
package custodian
