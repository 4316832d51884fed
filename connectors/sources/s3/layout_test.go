package s3

import (
	"strings"
	"testing"
	"time"
)

func TestParseLayout(t *testing.T) {
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		key  string
		ok   bool
		want Layout
	}{
		{"AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0005Z_abc.json.gz", true,
			Layout{Account: "111122223333", Service: "CloudTrail", Region: "us-east-1", Date: day, Partition: "AWSLogs/111122223333/CloudTrail/us-east-1/"}},
		{"trail/AWSLogs/o-exampleorgid/111122223333/CloudTrail/eu-west-1/2026/01/02/x.json.gz", true,
			Layout{Base: "trail/", Org: "o-exampleorgid", Account: "111122223333", Service: "CloudTrail", Region: "eu-west-1", Date: day, Partition: "trail/AWSLogs/o-exampleorgid/111122223333/CloudTrail/eu-west-1/"}},
		{"AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/01/02/111122223333_vpcflowlogs_us-east-1_fl-1234_20260102T0000Z_hash.log.gz", true,
			Layout{Account: "111122223333", Service: "vpcflowlogs", Region: "us-east-1", Date: day, Partition: "AWSLogs/111122223333/vpcflowlogs/us-east-1/"}},
		{"logs/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=01/day=02/x.log.gz", true,
			Layout{Base: "logs/", Account: "111122223333", Service: "vpcflowlogs", Region: "us-east-1", Date: day, Hive: true, Partition: "logs/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/"}},
		{"AWSLogs/111122223333/GuardDuty/us-east-1/2026/01/02/0b1c.jsonl.gz", true,
			Layout{Account: "111122223333", Service: "GuardDuty", Region: "us-east-1", Date: day, Partition: "AWSLogs/111122223333/GuardDuty/us-east-1/"}},
		// Prefixes stop early.
		{"AWSLogs/", true, Layout{}},
		{"AWSLogs/111122223333/", true, Layout{Account: "111122223333"}},
		{"AWSLogs/111122223333/CloudTrail/", true, Layout{Account: "111122223333", Service: "CloudTrail"}},
		{"AWSLogs/111122223333/CloudTrail/us-east-1/2026/", true, Layout{Account: "111122223333", Service: "CloudTrail", Region: "us-east-1", Partition: "AWSLogs/111122223333/CloudTrail/us-east-1/"}},
		// A bad date is no date.
		{"AWSLogs/111122223333/CloudTrail/us-east-1/2026/13/40/x", true, Layout{Account: "111122223333", Service: "CloudTrail", Region: "us-east-1", Partition: "AWSLogs/111122223333/CloudTrail/us-east-1/"}},
		// Not the layout.
		{"prowler/output/x.json", false, Layout{}},
		{"myAWSLogs/111122223333/CloudTrail/us-east-1/", false, Layout{}},
		{"AWSLogs/12345/CloudTrail/", false, Layout{}},
		{"AWSLogs/o-short/111122223333/", false, Layout{}},
		{"AWSLogs/aws-account-id=111122223333/vpcflowlogs/", false, Layout{}},
		{"AWSLogs/111122223333//us-east-1/", false, Layout{}},
	}
	for _, tt := range tests {
		got, ok := ParseLayout(tt.key)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseLayout(%q) = %+v, %v; want %+v, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDatePrefix(t *testing.T) {
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	l, _ := ParseLayout("AWSLogs/111122223333/CloudTrail/us-east-1/")
	if got := l.DatePrefix(day); got != "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/04" {
		t.Errorf("DatePrefix = %q", got)
	}
	h, _ := ParseLayout("AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/")
	if got := h.DatePrefix(day); got != "AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=03/day=04" {
		t.Errorf("Hive DatePrefix = %q", got)
	}
	// Every key of the day and after sorts after it; every key of the
	// day before sorts before it.
	for _, k := range []string{"2026/03/04/a", "2026/03/05/a", "2027/01/01/a"} {
		if !(l.Partition+k > l.DatePrefix(day)) {
			t.Errorf("%s sorts before the date prefix", k)
		}
	}
	if !(l.Partition+"2026/03/03/zzz" < l.DatePrefix(day)) {
		t.Error("the day before sorts after the date prefix")
	}
}

func TestClassify(t *testing.T) {
	ct := Services("cloudtrail")
	tests := []struct {
		prefix   string
		services map[string]bool
		want     node
	}{
		{"", ct, nodeOther},
		{"trail/", ct, nodeOther},
		{"AWSLogs/", ct, nodeAbove},
		{"trail/AWSLogs/", ct, nodeAbove},
		{"AWSLogs/o-exampleorgid/", ct, nodeAbove},
		{"AWSLogs/111122223333/", ct, nodeAbove},
		{"AWSLogs/111122223333/CloudTrail/", ct, nodeAbove},
		{"AWSLogs/111122223333/CloudTrail-Digest/", ct, nodeSkip},
		{"AWSLogs/111122223333/CloudTrail-Digest/", nil, nodeSkip},
		{"AWSLogs/111122223333/vpcflowlogs/", ct, nodeSkip},
		{"AWSLogs/111122223333/vpcflowlogs/", nil, nodeAbove},
		{"AWSLogs/111122223333/CloudTrail/us-east-1/", ct, nodePartition},
		{"AWSLogs/111122223333/CloudTrail/us-east-1/2026/", ct, nodeInside},
		{"AWSLogs/not-an-account/", ct, nodeOther},
	}
	for _, tt := range tests {
		if got := classify(tt.prefix, tt.services); got != tt.want {
			t.Errorf("classify(%q) = %d, want %d", tt.prefix, got, tt.want)
		}
	}
}

func TestIsDigest(t *testing.T) {
	if !IsDigest("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/01/02/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20260102T010000Z.json.gz") {
		t.Error("digest file not recognised")
	}
	if IsDigest("AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/x.json.gz") {
		t.Error("log file taken for a digest")
	}
}

// FuzzParseLayout checks that parsing never panics, that what it finds
// is consistent with the key, and that the partition of a key is a prefix
// the key's folders classify as a partition.
func FuzzParseLayout(f *testing.F) {
	for _, k := range []string{
		"AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0005Z_abc.json.gz",
		"trail/AWSLogs/o-exampleorgid/111122223333/CloudTrail/eu-west-1/2026/01/02/x.json.gz",
		"logs/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=01/day=02/x.log.gz",
		"AWSLogs/111122223333/GuardDuty/us-east-1/2026/01/02/0b1c.jsonl.gz",
		"AWSLogs/", "AWSLogs/111122223333/", "a/AWSLogs/AWSLogs/111122223333/x/", "", "/", "AWSLogs//",
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		l, ok := ParseLayout(key)
		if !ok {
			if l != (Layout{}) {
				t.Fatalf("not ok but fields set: %+v", l)
			}
			return
		}
		if !strings.HasPrefix(key, l.Base+awsLogs) {
			t.Fatalf("base %q is not what precedes AWSLogs/ in %q", l.Base, key)
		}
		if l.Account != "" && !isAccount(l.Account) {
			t.Fatalf("account %q", l.Account)
		}
		if l.Partition != "" {
			if !strings.HasPrefix(key, l.Partition) || !strings.HasSuffix(l.Partition, "/") {
				t.Fatalf("partition %q of %q", l.Partition, key)
			}
			if l.Region == "" || l.Service == "" || l.Account == "" {
				t.Fatalf("partition without account, service or region: %+v", l)
			}
			if n := classify(l.Partition, nil); n != nodePartition && n != nodeSkip {
				t.Fatalf("partition %q classifies as %d", l.Partition, n)
			}
			p, _ := ParseLayout(l.Partition)
			if p.Partition != l.Partition || p.Account != l.Account || p.Region != l.Region {
				t.Fatalf("the partition parses differently: %+v vs %+v", p, l)
			}
		}
		if !l.Date.IsZero() && l.Partition != "" && !(key > l.DatePrefix(l.Date)) {
			t.Fatalf("%q does not sort after its date prefix %q", key, l.DatePrefix(l.Date))
		}
	})
}
