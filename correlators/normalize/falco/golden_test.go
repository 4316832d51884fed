package falco

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
)

// corpusDir holds Elastic's Falco integration test data, copied byte for
// byte (see testdata/corpus/SOURCES.tsv at the top of the repository).
const corpusDir = "../../../testdata/corpus/elastic-integrations/packages/falco/data_stream/falco_alerts"

var (
	corpusLog   = filepath.Join(corpusDir, "_dev/test/pipeline/test-falco.log")
	sampleEvent = filepath.Join(corpusDir, "sample_event.json")
)

// batchInputs are falcosidekick payloads that hold an array of alerts:
// they are framed whole, as a webhook POST body arrives, not split into
// items as the file source would split an array file.
var batchInputs = map[string]bool{
	"falcosidekick-batch.json":         true,
	"falcosidekick-batch-partial.json": true,
}

// craftedInputs are the payloads built for these tests (see
// testdata/README.md).
func craftedInputs(t testing.TB) []string {
	files, err := filepath.Glob("testdata/inputs/*")
	if err != nil || len(files) < 6 {
		t.Fatalf("testdata/inputs: %d files, %v", len(files), err)
	}
	return files
}

// sampleOriginal writes the Falco alert that Elastic's sample event was
// made from (its event.original, a falcosidekick payload) to a file of
// the same base name, so that it can be run like any other input.
func sampleOriginal(t testing.TB) string {
	b, err := os.ReadFile(sampleEvent)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Event struct {
			Original string `json:"original"`
		} `json:"event"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Event.Original == "" {
		t.Fatalf("%s: no event.original (%v)", sampleEvent, err)
	}
	p := filepath.Join(t.TempDir(), "sample_event.json")
	if err := os.WriteFile(p, []byte(doc.Event.Original+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func goldenCases(t testing.TB) []normalizetest.Case {
	cases := []normalizetest.Case{
		{Input: corpusLog},
		// Elastic's sample event is ECS output, not input: what it was
		// made from is its event.original.
		{Input: sampleOriginal(t), Golden: "testdata/golden/sample_event.json.golden.jsonl"},
	}
	for _, f := range craftedInputs(t) {
		c := normalizetest.Case{Input: f}
		if batchInputs[filepath.Base(f)] {
			c.Format = framing.Values
		}
		cases = append(cases, c)
	}
	return cases
}

func TestGolden(t *testing.T) {
	normalizetest.Golden(t, Decoder{}, goldenCases(t))
}

// allInputs are the raw bytes of every input: the corpus files, the
// alert inside Elastic's sample event, and the crafted payloads.
func allInputs(t testing.TB) [][]byte {
	var inputs [][]byte
	for _, c := range goldenCases(t) {
		b, err := os.ReadFile(c.Input)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	// Elastic's sample event itself: an ECS document, which must be
	// refused, not mistaken for an alert.
	b, err := os.ReadFile(sampleEvent)
	if err != nil {
		t.Fatal(err)
	}
	return append(inputs, b)
}

func TestRobust(t *testing.T) {
	normalizetest.Robust(t, Decoder{}, allInputs(t), normalize.Meta{Origin: "robust", KeepOriginal: true})
}
