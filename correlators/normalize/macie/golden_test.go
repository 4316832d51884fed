package macie

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
)

// The Macie findings of these tests are NOT real: the corpus has none, so
// testdata/*.json were written from AWS's documentation of the macie2
// finding format and of Macie's EventBridge events (testdata/README.md
// says how).
const (
	sensitiveFile   = "testdata/sensitive-data-personal.json"
	sensitiveEBFile = "testdata/sensitive-data-personal.eventbridge.json"
	policyFile      = "testdata/policy-s3-bucket-public.json"
	policyEBFile    = "testdata/policy-s3-bucket-public.eventbridge.json"
)

var inputFiles = []string{sensitiveFile, sensitiveEBFile, policyFile, policyEBFile}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGolden decodes every input as the file source would and compares the
// events with testdata/golden. Regenerate with go test
// ./correlators/normalize/macie/ -run TestGolden -args -update, and review
// the diff.
func TestGolden(t *testing.T) {
	var cases []normalizetest.Case
	for _, f := range inputFiles {
		cases = append(cases, normalizetest.Case{Input: f})
	}
	normalizetest.Golden(t, Decoder{}, cases)
}

func robustInputs(t testing.TB) [][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) != len(inputFiles) {
		t.Fatalf("testdata: %d inputs, %v", len(files), err)
	}
	var inputs [][]byte
	for _, f := range files {
		inputs = append(inputs, readFile(t, f))
	}
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
