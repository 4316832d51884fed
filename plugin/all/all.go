// Package all compiles in every vigil component. Import it for its side
// effects.
package all

import (
	// Sources.
	_ "github.com/vigilsec/vigil/connectors/sources/file"

	// Stream apps and the decoders of normalize.
	_ "github.com/vigilsec/vigil/correlators/detect"
	_ "github.com/vigilsec/vigil/correlators/normalize"
	_ "github.com/vigilsec/vigil/correlators/normalize/cloudtrail"

	// Sinks.
	_ "github.com/vigilsec/vigil/connectors/sinks/console"
	_ "github.com/vigilsec/vigil/connectors/sinks/file"
)
