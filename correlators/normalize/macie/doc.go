// Package macie normalizes Amazon Macie findings to ECS.
package macie
