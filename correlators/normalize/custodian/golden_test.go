package custodian

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
)

// inputFiles are the sample records of testdata/, built from Cloud
// Custodian's documentation and the code that writes each record (see
// testdata/README.md): there is no real Custodian output in the corpus.
var inputFiles = []string{
	"ec2-require-imdsv2/metadata.json",
	"ec2-require-imdsv2/resources.json",
	"ec2-require-imdsv2/run.jsonl",
	"s3-enforce-encryption/metadata-dryrun.json",
	"s3-enforce-encryption/run.jsonl",
	"iam-mfa-active-key-no-login/notify.json",
	"iam-mfa-active-key-no-login/notify.sqs.txt",
	"iam-mfa-active-key-no-login/notify.sns.json",
	"ec2-require-imdsv2-on-launch/notify.json",
	"custodian-run.log",
	"custodian-run.log.jsonl",
}

func cases(t testing.TB) []normalizetest.Case {
	var cs []normalizetest.Case
	for _, f := range inputFiles {
		in := filepath.Join("testdata", f)
		if _, err := os.Stat(in); err != nil {
			t.Fatalf("input missing: %v", err)
		}
		cs = append(cs, normalizetest.Case{
			Input:  in,
			Golden: filepath.Join("testdata", "golden", strings.ReplaceAll(f, "/", "__")+".golden.jsonl"),
		})
	}
	return cs
}

func TestGolden(t *testing.T) {
	normalizetest.Golden(t, Decoder{}, cases(t))
}

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
	normalizetest.Robust(t, Decoder{}, inputs(t), normalize.Meta{Origin: "robust", KeepOriginal: true})
	// Every record as the file source sends it.
	var records [][]byte
	for _, c := range cases(t) {
		b, err := os.ReadFile(c.Input)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(c.Input, ".jsonl") || strings.HasSuffix(c.Input, ".txt") || strings.HasSuffix(c.Input, ".log") {
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				records = append(records, []byte(l))
			}
		}
	}
	normalizetest.Robust(t, Decoder{}, records, normalize.Meta{Origin: "robust"})
}

func FuzzDecode(f *testing.F) {
	for _, b := range inputs(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		evs, err := Decoder{}.Decode(raw, normalize.Meta{Origin: "fuzz", KeepOriginal: true})
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
