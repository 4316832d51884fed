package engine

import "github.com/vigilsec/vigil/ecs"

// vigil's CloudTrail normalizer, for the tests: decodeCloudTrail decodes a
// raw record (correlators/normalize/cloudtrail), marshalECS encodes an ECS
// document as the normalize app does (normalize.Marshal). The normalizer
// imports this package (through the plugin registry and the rule sets),
// so this package's own tests cannot import it: the external test package
// hands it over from an init function (normalizer_test.go).
var (
	decodeCloudTrail func(raw []byte, keepOriginal bool) ([]*ecs.Event, error)
	marshalECS       func(ev *ecs.Event) ([]byte, error)
)

// SetNormalizer sets the normalizer the tests use.
func SetNormalizer(decode func(raw []byte, keepOriginal bool) ([]*ecs.Event, error), marshal func(ev *ecs.Event) ([]byte, error)) {
	decodeCloudTrail, marshalECS = decode, marshal
}
