package engine_test

import (
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/cloudtrail"
	"github.com/vigilsec/vigil/correlators/sigma/engine"
	"github.com/vigilsec/vigil/ecs"
)

// The package's tests normalize CloudTrail records with vigil's decoder,
// which they cannot import (see export_test.go): this external test
// package can, and hands it to them.
func init() {
	engine.SetNormalizer(func(raw []byte, keepOriginal bool) ([]*ecs.Event, error) {
		return cloudtrail.Decoder{}.Decode(raw, normalize.Meta{Origin: "test", KeepOriginal: keepOriginal})
	}, normalize.Marshal)
}
