package file

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// FuzzParseProgress: any bytes parse to a checked progress or an error
// wrapping errBadProgress; what parses encodes and parses back the same.
func FuzzParseProgress(f *testing.F) {
	for _, s := range []string{
		`{"path":"/var/log/app.log","dev":2049,"inode":1234,"offset":4096,"size":5000,"line":41,"records":40,"fp":"cbf29ce484222325","fp_len":1024}`,
		`{"path":"/data/a.json.gz","dev":1,"inode":2,"offset":812,"size":300,"done":true,"line":1,"records":7,"gzip":true,"format":"records"}`,
		`{"path":"/data/findings.json","dev":1,"inode":3,"offset":17,"size":40,"line":3,"records":1,"index":1,"format":"array","in_array":true}`,
		`{"path":"x","dev":0,"inode":0,"offset":0,"size":0,"line":0,"records":0}`,
		`{"path":"","offset":-1}`,
		`{"path":"x","offset":5,"line":0}`,
		`{"path":"x","format":"xml"}`,
		`{"path":"x","fp":"zz","fp_len":3}`,
		`{"start":"end"}`,
		`null`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProgress(b)
		if err != nil {
			if !errors.Is(err, errBadProgress) {
				t.Fatalf("error %v does not wrap errBadProgress", err)
			}
			return
		}
		if p.Path == "" || p.Offset < 0 || p.Line < 1 || p.Records < 0 || p.Index < 0 || p.FingerprintLen > fpMax {
			t.Fatalf("accepted %+v", p)
		}
		q, err := ParseProgress(p.Marshal())
		if err != nil {
			t.Fatalf("a parsed value does not parse back: %v", err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip: %+v, then %+v", p, q)
		}
	})
}

func TestGlobDoubleStar(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{
		"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/a.json.gz",
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/02/b.json.gz",
		"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/c.json.gz",
		"AWSLogs/top.json.gz",
		"other/d.json.gz",
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"AWSLogs/**/*.json.gz", []string{
			"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/c.json.gz",
			"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/02/b.json.gz",
			"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/a.json.gz",
			"AWSLogs/top.json.gz",
		}},
		{"AWSLogs/*/CloudTrail/**/*.json.gz", []string{
			"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/02/b.json.gz",
			"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/a.json.gz",
		}},
		{"**/d.json.gz", []string{"other/d.json.gz"}},
		{"AWSLogs/*.json.gz", []string{"AWSLogs/top.json.gz"}},
	} {
		got, err := glob(filepath.Join(dir, tc.pattern))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, w := range tc.want {
			want = append(want, filepath.Join(dir, w))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.pattern, got, want)
		}
	}
}
