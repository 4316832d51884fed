// Package vpcflow normalizes VPC Flow Logs to ECS.
package vpcflow
