package cloudtrail_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/cloudtrail"
)

// benchEvents are CloudTrail events of about 600 bytes, the size the
// baselines in BASELINES.md use.
func benchEvents(b *testing.B) [][]byte {
	b.Helper()
	var out [][]byte
	for i := 0; i < 64; i++ {
		ev := map[string]any{
			"eventVersion": "1.08",
			"userIdentity": map[string]any{
				"type": "IAMUser", "principalId": "AIDAEXAMPLE" + string(rune('A'+i%26)),
				"arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333",
				"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "alice",
			},
			"eventTime":          time.Date(2026, 11, 2, 9, i%60, i%60, 0, time.UTC).Format(time.RFC3339),
			"eventSource":        "ec2.amazonaws.com",
			"eventName":          "DescribeInstances",
			"awsRegion":          "us-east-1",
			"sourceIPAddress":    "198.51.100.11",
			"userAgent":          "aws-cli/2.22.4 Python/3.12.6 Linux/6.8",
			"requestParameters":  map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": "i-0abc1234def567890"}}}},
			"responseElements":   nil,
			"requestID":          "6b8e4b57-5f2c-4c4a-9b7a-0c0e3f6f1a2b",
			"eventID":            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
			"readOnly":           true,
			"eventType":          "AwsApiCall",
			"managementEvent":    true,
			"recipientAccountId": "111122223333",
			"eventCategory":      "Management",
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

// BenchmarkBaselineDecodeMap is the baseline: encoding/json decoding the
// same bytes into map[string]any.
func BenchmarkBaselineDecodeMap(b *testing.B) {
	evs := benchEvents(b)
	b.SetBytes(int64(len(evs[0])))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var m map[string]any
		if err := json.Unmarshal(evs[i%len(evs)], &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalize decodes a raw event and encodes its ECS document, as
// the normalize app does per record, with the encoder it uses.
func BenchmarkNormalize(b *testing.B) {
	evs := benchEvents(b)
	var d cloudtrail.Decoder
	m := normalize.Meta{Origin: "bench", KeepOriginal: true}
	b.SetBytes(int64(len(evs[0])))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		out, err := d.Decode(evs[i%len(evs)], m)
		if err != nil || len(out) != 1 {
			b.Fatal(err)
		}
		if _, err := normalize.Marshal(out[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode is CloudTrail normalization itself: raw bytes to the ECS
// event, without encoding it.
func BenchmarkDecode(b *testing.B) {
	evs := benchEvents(b)
	var d cloudtrail.Decoder
	m := normalize.Meta{Origin: "bench", KeepOriginal: true}
	b.SetBytes(int64(len(evs[0])))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		out, err := d.Decode(evs[i%len(evs)], m)
		if err != nil || len(out) != 1 {
			b.Fatal(err)
		}
	}
}
