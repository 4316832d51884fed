package ecs

// Macie holds the aws.macie.* fields of normalized macie events.
type Macie struct{}
