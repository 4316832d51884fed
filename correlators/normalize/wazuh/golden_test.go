package wazuh

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
)

// The corpus has no Wazuh alerts: the inputs are built from Wazuh's
// documented alert format and ruleset (see testdata/README.md), one file
// per rule family, in the JSON lines of a manager's alerts.json.
func inputs(t testing.TB) []string {
	files, err := filepath.Glob("testdata/inputs/*.json")
	if err != nil || len(files) < 8 {
		t.Fatalf("testdata/inputs: %d files, %v", len(files), err)
	}
	return files
}

func goldenCases(t testing.TB) []normalizetest.Case {
	var cases []normalizetest.Case
	for _, f := range inputs(t) {
		c := normalizetest.Case{Input: f}
		if filepath.Base(f) == "batch.json" {
			// An array of alerts posted whole: one record.
			c.Format = framing.Values
		}
		cases = append(cases, c)
	}
	return cases
}

func TestGolden(t *testing.T) {
	normalizetest.Golden(t, Decoder{}, goldenCases(t))
}

func allInputs(t testing.TB) [][]byte {
	var out [][]byte
	for _, f := range inputs(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestRobust(t *testing.T) {
	normalizetest.Robust(t, Decoder{}, allInputs(t), normalize.Meta{Origin: "robust", KeepOriginal: true})
}
