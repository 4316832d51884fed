// Package prowler normalizes Prowler check results to ECS.
package prowler
