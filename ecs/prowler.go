package ecs

// Prowler holds the prowler.* fields of normalized prowler events.
type Prowler struct{}
