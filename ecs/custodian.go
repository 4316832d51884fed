package ecs

// Custodian holds the custodian.* fields of normalized custodian events.
type Custodian struct{}
