package s3

import (
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/connectors/sources/framing"
)

func TestValidate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.Source, c.Bucket = "cloudtrail", "example-logs"
		return c
	}
	if errs := func() []error { c := valid(); return c.Validate() }(); len(errs) != 0 {
		t.Fatalf("defaults with a source and bucket: %v", errs)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"nothing", func(c *Config) { c.Source, c.Bucket = "", "" }, []string{"source must name", "bucket is required"}},
		{"bad names", func(c *Config) { c.Source, c.Bucket = "Cloud Trail", "Bad_Bucket" }, []string{"source: name", `bucket "Bad_Bucket"`}},
		{"mode", func(c *Config) { c.Mode = "push" }, []string{`mode "push" must be poll or sqs`}},
		{"sqs", func(c *Config) { c.Mode, c.Bucket, c.VisibilityTimeout = ModeSQS, "", 13*time.Hour }, []string{"queue_url is required", "visibility_timeout (13h0m0s)"}},
		{"sqs url", func(c *Config) { c.Mode, c.QueueURL = ModeSQS, "not a url" }, []string{`queue_url "not a url" must be a URL`}},
		{"since", func(c *Config) { c.Since = "01/02/2026" }, []string{`since "01/02/2026" must be a date`}},
		{"endpoint", func(c *Config) { c.Endpoint = "localhost:7070" }, []string{`endpoint "localhost:7070" must be an http or https URL`}},
		{"half credentials", func(c *Config) { c.AccessKeyID = config.Secret{Env: "X"} }, []string{"set both or neither"}},
		{"roles", func(c *Config) {
			c.Roles = map[string]string{"12345": "arn:aws:iam::111122223333:role/r", "111122223333": "role/r"}
		}, []string{`"12345" is not an AWS account id`, `111122223333: "role/r" is not an IAM role ARN`}},
		{"external id alone", func(c *Config) { c.ExternalID = "x" }, []string{"external_id is set but roles is empty"}},
		{"numbers", func(c *Config) { c.PollInterval, c.MaxRecordBytes, c.CommitRecords, c.Format = 0, 0, 0, "xml" }, []string{
			"poll_interval (0s) must be > 0", "max_record_bytes (0)", "commit_records (0) must be >= 1", `format "xml"`,
		}},
	}
	for _, tt := range tests {
		c := valid()
		tt.edit(&c)
		errs := c.Validate()
		var got []string
		for _, e := range errs {
			got = append(got, e.Error())
		}
		all := strings.Join(got, "\n")
		for _, w := range tt.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: problems %q lack %q", tt.name, got, w)
			}
		}
		if len(errs) != len(tt.want) {
			t.Errorf("%s: %d problems %q, want %d", tt.name, len(errs), got, len(tt.want))
		}
	}
	// Roles that are right.
	c := valid()
	c.Roles = map[string]string{"111122223333": "arn:aws:iam::111122223333:role/vigil-read-logs", "444455556666": "arn:aws-us-gov:iam::444455556666:role/path/r"}
	c.ExternalID = "vigil-7f3a"
	if errs := c.Validate(); len(errs) != 0 {
		t.Errorf("valid roles: %v", errs)
	}
}

// TestArenaOrigin checks that origins are formatted as framing.Origin
// formats them.
func TestArenaOrigin(t *testing.T) {
	path := "s3://b/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/01/x.json.gz"
	a := newArena(3, len(path))
	var got [][]byte
	var want []string
	for i := range 3 * batchRecords {
		for _, f := range []framing.Format{framing.Lines, framing.Records, framing.Array, framing.Values} {
			fr := framing.Frame{Line: i + 1, Index: -1}
			if f == framing.Records || f == framing.Array {
				fr.Index = i
			}
			got = append(got, a.origin(path, f, fr))
			want = append(want, framing.Origin(path, f, fr))
		}
	}
	for i := range got {
		if string(got[i]) != want[i] {
			t.Fatalf("origin %q, want %q", got[i], want[i])
		}
	}
}
