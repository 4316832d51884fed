// Package all compiles in every vigil component. Import it for its side
// effects.
package all

import (
	// Sources.
	_ "github.com/vigilsec/vigil/connectors/sources/file"
	_ "github.com/vigilsec/vigil/connectors/sources/httpsrc"
	_ "github.com/vigilsec/vigil/connectors/sources/s3"

	// Stream apps and the decoders of normalize.
	_ "github.com/vigilsec/vigil/correlators/correlate"
	_ "github.com/vigilsec/vigil/correlators/detect"
	_ "github.com/vigilsec/vigil/correlators/normalize"
	_ "github.com/vigilsec/vigil/correlators/normalize/cloudtrail"
	_ "github.com/vigilsec/vigil/correlators/normalize/custodian"
	_ "github.com/vigilsec/vigil/correlators/normalize/falco"
	_ "github.com/vigilsec/vigil/correlators/normalize/guardduty"
	_ "github.com/vigilsec/vigil/correlators/normalize/macie"
	_ "github.com/vigilsec/vigil/correlators/normalize/prowler"
	_ "github.com/vigilsec/vigil/correlators/normalize/vpcflow"
	_ "github.com/vigilsec/vigil/correlators/normalize/wazuh"

	// Sinks.
	_ "github.com/vigilsec/vigil/connectors/sinks/console"
	_ "github.com/vigilsec/vigil/connectors/sinks/elasticsearch"
	_ "github.com/vigilsec/vigil/connectors/sinks/file"
)
