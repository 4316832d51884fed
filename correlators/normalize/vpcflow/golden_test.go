package vpcflow

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
)

const corpus = "../../../testdata/corpus/"

// elasticFiles are the raw flow log lines of Elastic's vpcflow pipeline
// tests: default v2 records, a v5 record, Amazon ECS (v7, v8) and transit
// gateway records, a custom format with its header lines, and the
// CloudWatch {"message": ...} wrapper.
func elasticFiles(t testing.TB) []string {
	return glob(t, corpus+"elastic-integrations/packages/aws/data_stream/vpcflow/_dev/test/pipeline/*.log", 7)
}

// awsDocFiles are the code blocks of the Amazon VPC User Guide's flow log
// record examples: records, and the header lines of the custom formats
// the records after them use.
func awsDocFiles(t testing.TB) []string {
	return glob(t, corpus+"aws-docs/amazon-vpc-user-guide/extracted/*", 22)
}

func glob(t testing.TB, pattern string, want int) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) != want {
		t.Fatalf("corpus %s: %d files, want %d (%v)", pattern, len(files), want, err)
	}
	return files
}

// docFormats pairs each custom format of the AWS examples (a block that is
// a header line) with the blocks of records in that format, as the guide
// presents them.
var docFormats = map[string][]string{
	"08": {"09", "10", "11"},       // TCP flag sequence
	"12": {"13", "14", "15", "16"}, // traffic through a NAT gateway
	"17": {"18", "19", "20"},       // traffic through a transit gateway
	"21": {"22"},                   // service name, traffic path and flow direction
}

func docBlock(t testing.TB, n string) []byte {
	t.Helper()
	b, err := os.ReadFile(corpus + "aws-docs/amazon-vpc-user-guide/extracted/flow-logs-records-examples_block" + n + ".txt")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstLineIsHeader reports whether a file begins with a header line.
func firstLineIsHeader(t testing.TB, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	return isHeaderLine(first)
}

// TestGolden runs every VPC flow log sample of the corpus through the
// decoder as the file source would send it.
//
// Each file is run on its own, a header line first as header_line. The
// AWS guide's records of custom formats are in blocks apart from their
// header lines: on their own, they are read as default formats and fail
// (as they would without their header in production); the
// "_blockHH+RR.txt" cases run them again behind their header (in a
// temporary file, so their line numbers there are one more than in the
// block). The NAT gateway format has no start or end field, and the golden
// runs have no ingest time: those records fail for want of a timestamp.
// Block 16 carries the guide's "#..." annotations, block 18 a "..." line.
func TestGolden(t *testing.T) {
	var cases []normalizetest.Case
	for _, f := range append(elasticFiles(t), awsDocFiles(t)...) {
		cases = append(cases, normalizetest.Case{Input: f, HeaderLine: firstLineIsHeader(t, f)})
	}
	dir := t.TempDir()
	for hdr, blocks := range docFormats {
		for _, blk := range blocks {
			in := filepath.Join(dir, "flow-logs-records-examples_block"+hdr+"+"+blk+".txt")
			if err := os.WriteFile(in, append(docBlock(t, hdr), docBlock(t, blk)...), 0o644); err != nil {
				t.Fatal(err)
			}
			cases = append(cases, normalizetest.Case{Input: in, HeaderLine: true})
		}
	}
	normalizetest.Golden(t, Decoder{}, cases)
}

// samples returns every sample file's bytes and every line of them.
func samples(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range append(elasticFiles(t), awsDocFiles(t)...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
		for _, line := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				out = append(out, line)
			}
		}
	}
	return out
}

// TestGoldenCoversEverySample checks what the goldens cannot show alone:
// that every record of Elastic's samples is an event, and that every
// record of the AWS guide's custom formats decodes behind its header line,
// given the ingest time the file source always sends (the NAT gateway and
// transit gateway formats have no start or end field).
func TestGoldenCoversEverySample(t *testing.T) {
	for _, f := range elasticFiles(t) {
		lines := normalizetest.Run(t, Decoder{}, normalizetest.Case{Input: f, HeaderLine: firstLineIsHeader(t, f)})
		for _, l := range lines {
			if l.Event == nil && l.Skipped == "" {
				t.Errorf("%s: %s", l.Origin, l.Error)
			}
		}
	}
	ingest := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// The guide's annotations: "#..." comments after the records of block
	// 16, a "..." line in block 18.
	annotated := regexp.MustCompile(`#|^\.\.\.$`)
	for hdr, blocks := range docFormats {
		m := normalize.Meta{FileHeader: strings.TrimSpace(string(docBlock(t, hdr))), IngestTime: ingest}
		for _, blk := range blocks {
			for i, line := range strings.Split(strings.TrimSpace(string(docBlock(t, blk))), "\n") {
				evs, err := Decoder{}.Decode([]byte(line), m)
				if annotated.MatchString(line) {
					if err == nil {
						t.Errorf("block %s line %d: an annotated line decoded", blk, i+1)
					}
					continue
				}
				if err != nil || len(evs) != 1 {
					t.Errorf("block %s line %d: %d events, %v", blk, i+1, len(evs), err)
					continue
				}
				if hasTime := strings.Contains(m.FileHeader, "start"); !hasTime && !evs[0].Timestamp.Equal(ingest) {
					t.Errorf("block %s line %d: @timestamp %v, want the ingest time", blk, i+1, evs[0].Timestamp)
				}
			}
		}
	}
}

// TestRobust decodes every sample and many mutations of it, with and
// without a file header.
func TestRobust(t *testing.T) {
	inputs := samples(t)
	normalizetest.Robust(t, Decoder{}, inputs, normalize.Meta{Origin: "robust", KeepOriginal: true})
	for hdr := range docFormats {
		h := strings.TrimSpace(string(docBlock(t, hdr)))
		normalizetest.Robust(t, Decoder{}, inputs, normalize.Meta{Origin: "robust", FileHeader: h})
	}
}

// FuzzDecode checks that no input makes Decode panic, drop a record
// silently or emit an event that breaks the event schema.
func FuzzDecode(f *testing.F) {
	headers := []string{""}
	for hdr := range docFormats {
		headers = append(headers, strings.TrimSpace(string(docBlock(f, hdr))))
	}
	for i, s := range samples(f) {
		f.Add(s, headers[i%len(headers)])
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, raw []byte, header string) {
		m := normalize.Meta{Origin: "fuzz", KeepOriginal: true, FileHeader: header}
		evs, err := Decoder{}.Decode(raw, m)
		var pe *normalize.PartialError
		switch {
		case err == nil && len(evs) == 0:
			t.Fatalf("no event and no error for %q", raw)
		case err != nil && !errors.As(err, &pe) && len(evs) > 0:
			t.Fatalf("%d events with the error %v", len(evs), err)
		case errors.As(err, &pe) && len(pe.Items) == 0:
			t.Fatalf("partial error without items")
		}
		for _, ev := range evs {
			normalizetest.CheckEvent(t, "fuzz", ev)
			if len(ev.Event.ID) != 32 || ev.Event.Dataset != Dataset {
				t.Fatalf("event id %q, dataset %q", ev.Event.ID, ev.Event.Dataset)
			}
		}
		if line := bytes.TrimSuffix(raw, []byte("\r")); len(evs) == 1 && bytes.IndexByte(raw, '\n') < 0 {
			if id := normalize.DerivedID(line[:len(line):len(line)], 0); evs[0].Event.ID != id || evs[0].Event.Original != string(line) {
				t.Fatalf("event id %s, original %q; want DerivedID(line, 0) %s and the line", evs[0].Event.ID, evs[0].Event.Original, id)
			}
		}
	})
}
