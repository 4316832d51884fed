package ecs

// VPCFlow holds the aws.vpcflow.* fields of normalized vpcflow events.
type VPCFlow struct{}
