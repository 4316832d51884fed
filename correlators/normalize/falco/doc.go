// Package falco normalizes Falco alerts to ECS.
package falco
