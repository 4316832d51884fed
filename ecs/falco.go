package ecs

// Falco holds the falco.* fields of normalized falco events.
type Falco struct{}
