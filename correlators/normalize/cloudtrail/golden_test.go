package cloudtrail

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
)

// corpusFiles are the AWS CloudTrail User Guide's examples.
func corpusFiles(t *testing.T) []string {
	files, err := filepath.Glob("../../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/*")
	if err != nil || len(files) < 20 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	return files
}

func TestGolden(t *testing.T) {
	var cases []normalizetest.Case
	for _, f := range corpusFiles(t) {
		cases = append(cases, normalizetest.Case{Input: f})
	}
	normalizetest.Golden(t, Decoder{}, cases)
}

func TestRobust(t *testing.T) {
	var inputs [][]byte
	for _, f := range corpusFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	normalizetest.Robust(t, Decoder{}, inputs, normalize.Meta{Origin: "robust", KeepOriginal: true})
}
