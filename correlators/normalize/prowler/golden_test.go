package prowler

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
)

const corpus = "../../../testdata/corpus/prowler/"

// cases are every Prowler output sample of the corpus (Prowler's own
// examples and the findings of its documentation) and the inputs crafted
// in testdata/ (see testdata/README.md).
func cases(t testing.TB) []normalizetest.Case {
	cs := []normalizetest.Case{
		{Input: corpus + "docs-extracted/reporting_json_asff_example.json"},
		{Input: corpus + "docs-extracted/reporting_json_ocsf_example.json"},
		{Input: corpus + "examples/output/example_output_aws.ocsf.json"},
		{Input: corpus + "examples/output/example_output_kubernetes.ocsf.json"},
		// The CSV file as the file source sends it with header_line...
		{Input: corpus + "examples/output/example_output_aws.csv", HeaderLine: true},
		// ... and without: the header line is skipped, the data lines are
		// read with the v4 layout.
		{Input: corpus + "examples/output/example_output_aws.csv", Golden: "testdata/golden/example_output_aws.csv.no_header_line.golden.jsonl"},
		{Input: "testdata/v3_from_metadata.jsonl"},
		{Input: "testdata/asff_batch.json"},
		{Input: "testdata/ocsf_lines.jsonl"},
		{Input: "testdata/csv_quoted.csv", HeaderLine: true},
	}
	for _, c := range cs {
		if _, err := os.Stat(c.Input); err != nil {
			t.Fatalf("input missing: %v", err)
		}
	}
	return cs
}

func TestGolden(t *testing.T) {
	normalizetest.Golden(t, Decoder{}, cases(t))
}

// inputs are the bytes of every golden input.
func inputs(t testing.TB) [][]byte {
	var out [][]byte
	for _, c := range cases(t) {
		b, err := os.ReadFile(c.Input)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestRobust(t *testing.T) {
	in := inputs(t)
	normalizetest.Robust(t, Decoder{}, in, normalize.Meta{Origin: "robust", KeepOriginal: true})
	// Every distinct record as the file source sends it, one at a time,
	// and the CSV lines with their file's header.
	var records, csvLines [][]byte
	seen := map[string]bool{}
	for _, c := range cases(t) {
		for _, l := range normalizetest.Run(t, Decoder{}, c) {
			if l.Event == nil || seen[l.Event.Event.Original] {
				continue
			}
			seen[l.Event.Event.Original] = true
			records = append(records, []byte(l.Event.Event.Original))
			if l.Event.Prowler.Format == "csv" {
				csvLines = append(csvLines, []byte(l.Event.Event.Original))
			}
		}
	}
	normalizetest.Robust(t, Decoder{}, records, normalize.Meta{Origin: "robust"})
	header, err := os.ReadFile(corpus + "examples/output/example_output_aws.csv")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := cutLine(header)
	normalizetest.Robust(t, Decoder{}, csvLines, normalize.Meta{Origin: "robust", FileHeader: string(first)})
}

func FuzzDecode(f *testing.F) {
	for _, b := range inputs(f) {
		f.Add(b, false)
	}
	for _, c := range cases(f) {
		if filepath.Ext(c.Input) != ".csv" {
			continue
		}
		b, _ := os.ReadFile(c.Input)
		_, rest, _ := cutLine(b)
		line, _, _ := cutLine(rest)
		f.Add(line, true)
	}
	header, err := os.ReadFile(corpus + "examples/output/example_output_aws.csv")
	if err != nil {
		f.Fatal(err)
	}
	first, _, _ := cutLine(header)
	f.Fuzz(func(t *testing.T, raw []byte, withHeader bool) {
		m := normalize.Meta{Origin: "fuzz", KeepOriginal: true}
		if withHeader {
			m.FileHeader = string(first)
		}
		evs, err := Decoder{}.Decode(raw, m)
		var pe *normalize.PartialError
		if err == nil && len(evs) == 0 {
			t.Fatal("no event and no error")
		}
		if err != nil && len(evs) > 0 && !errors.As(err, &pe) {
			t.Fatalf("%d events with the error %v", len(evs), err)
		}
		for _, ev := range evs {
			normalizetest.CheckEvent(t, "fuzz", ev)
		}
	})
}

func cutLine(b []byte) (line, rest []byte, ok bool) {
	for i, c := range b {
		if c == '\n' {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}
