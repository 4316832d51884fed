package guardduty

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
)

// corpus is the third-party test data, relative to this package.
const corpus = "../../../testdata/corpus/"

const (
	// elasticLog is the raw findings of Elastic's pipeline test, one per
	// line, and its last line an empty GetFindings response.
	elasticLog = corpus + "elastic-integrations/packages/aws/data_stream/guardduty/_dev/test/pipeline/test-guardduty.log"
	// elasticSample is Elastic's ECS document of a finding: its output,
	// not an input; event.original holds the finding.
	elasticSample = corpus + "elastic-integrations/packages/aws/data_stream/guardduty/sample_event.json"
	// userGuide holds the code blocks of the GuardDuty user guide:
	// EventBridge patterns and envelopes, SNS announcements, a Security
	// Hub finding and text.
	userGuide = corpus + "aws-docs/amazon-guardduty-user-guide/extracted/"
)

// corpusFiles are every GuardDuty sample of the corpus.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	guide, err := filepath.Glob(userGuide + "*")
	if err != nil || len(guide) != 13 {
		t.Fatalf("corpus: %d user guide files, %v (testdata/corpus holds the third-party test data)", len(guide), err)
	}
	return append([]string{elasticLog, elasticSample}, guide...)
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("corpus file missing (testdata/corpus holds the third-party test data): %v", err)
	}
	return b
}

// TestGolden decodes every GuardDuty sample as the file source would, and
// this package's crafted findings, and compares the events, errors and
// skips with testdata/golden. Regenerate with go test
// ./correlators/normalize/guardduty/ -run TestGolden -args -update, and
// review the diff.
func TestGolden(t *testing.T) {
	var cases []normalizetest.Case
	for _, f := range corpusFiles(t) {
		cases = append(cases, normalizetest.Case{Input: f})
	}
	cases = append(cases, normalizetest.Case{Input: "testdata/findings.json"})
	normalizetest.Golden(t, Decoder{}, cases)
}

// robustInputs are the corpus files, whole (mutations of the Elastic log
// reach its findings one by one), and this package's crafted findings.
func robustInputs(t testing.TB) [][]byte {
	t.Helper()
	var inputs [][]byte
	for _, f := range corpusFiles(t) {
		inputs = append(inputs, readFile(t, f))
	}
	inputs = append(inputs, readFile(t, "testdata/findings.json"))
	for _, c := range crafted {
		inputs = append(inputs, []byte(c))
	}
	return inputs
}

func TestRobust(t *testing.T) {
	normalizetest.Robust(t, Decoder{}, robustInputs(t), normalize.Meta{Origin: "robust", KeepOriginal: true})
}

// FuzzDecode checks that no input panics the decoder, that every input
// gives events or an error, and that every event is well formed.
func FuzzDecode(f *testing.F) {
	for _, in := range robustInputs(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		evs, err := Decoder{}.Decode(raw, normalize.Meta{Origin: "fuzz", KeepOriginal: true})
		var pe *normalize.PartialError
		switch {
		case err == nil && len(evs) == 0:
			t.Fatalf("no event and no error for %q", raw)
		case err != nil && !errors.As(err, &pe) && len(evs) > 0:
			t.Fatalf("%d events with the error %v", len(evs), err)
		case errors.As(err, &pe) && len(pe.Items) == 0:
			t.Fatalf("a PartialError with no items")
		}
		for _, ev := range evs {
			normalizetest.CheckEvent(t, "fuzz", ev)
			if ev != nil && ev.Event.ID == "" {
				t.Fatalf("event without event.id")
			}
		}
	})
}
