package s3

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestParseNoticeDocumented parses the documented examples in
// testdata/sqs/notices.
func TestParseNoticeDocumented(t *testing.T) {
	happy := ObjectRef{Bucket: "amzn-s3-demo-bucket", Key: "HappyFace.jpg", ETag: "d41d8cd98f00b204e9800998ecf8427e", Size: 1024, Modified: mustTime(t, "1970-01-01T00:00:00Z")}
	example := ObjectRef{Bucket: "amzn-s3-demo-bucket1", Key: "example-key", ETag: "b1946ac92492d2347c6235b4d2611184", Size: 5, Modified: mustTime(t, "2021-11-12T00:00:00Z")}
	for _, tc := range []struct {
		file string
		want notice
	}{
		{"s3-put.json", notice{Via: "s3", Objects: []ObjectRef{happy}}},
		{"s3-test-event.json", notice{Via: "s3", Ignored: []string{"s3:TestEvent"}}},
		{"s3-delete.json", notice{Via: "s3", Ignored: []string{"ObjectRemoved:Delete"}}},
		{"s3-encoded-keys.json", notice{Via: "s3", Objects: []ObjectRef{
			{Bucket: "amzn-s3-demo-bucket1", Key: "reports/red flower(2) = c++.json", ETag: "b1946ac92492d2347c6235b4d2611184", Size: 5, Modified: mustTime(t, "2026-01-02T00:05:17.123Z")},
			{Bucket: "amzn-s3-demo-bucket1", Key: "my trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0005Z_EXAMPLEa1b2c3d4.json.gz",
				ETag: "4af981f98d22a0b9979da24b259e5e42-5", Size: 26214400, Modified: mustTime(t, "2026-01-02T00:06:00Z")},
		}}},
		{"sns-s3-put.json", notice{Via: "sns+s3", Objects: []ObjectRef{happy}}},
		{"sns-s3-test-event.json", notice{Via: "sns+s3", Ignored: []string{"s3:TestEvent"}}},
		{"eventbridge-object-created.json", notice{Via: "eventbridge", Objects: []ObjectRef{example}}},
		{"eventbridge-object-deleted.json", notice{Via: "eventbridge", Ignored: []string{"Object Deleted"}}},
		{"sns-eventbridge-object-created.json", notice{Via: "sns+eventbridge", Objects: []ObjectRef{example}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "sqs", "notices", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseNotice(body)
			if err != nil {
				t.Fatalf("parseNotice: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseNotice:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestParseNoticeRejects checks that what is not a notice, or lacks what a
// notice must carry, is an error that says why.
func TestParseNoticeRejects(t *testing.T) {
	put := func(bucket, key string) string {
		return `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"` + bucket + `"},"object":{"key":"` + key + `","size":1}}}]}`
	}
	sns := func(msg string) string {
		b, _ := json.Marshal(msg)
		return `{"Type":"Notification","MessageId":"m","Message":` + string(b) + `}`
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"empty", ``, "not a JSON object"},
		{"text", `hello`, "not a JSON object"},
		{"array", `[{"Records":[]}]`, "not a JSON object"},
		{"unknown object", `{"foo":1}`, "neither S3 event notification"},
		{"no records", `{"Records":[]}`, "no Records"},
		{"null records", `{"Records":null}`, "no Records"},
		{"records not array", `{"Records":{"eventSource":"aws:s3"}}`, "Records:"},
		{"other event source", `{"Records":[{"eventSource":"aws:sqs","eventName":"ObjectCreated:Put"}]}`, `eventSource "aws:sqs" is not aws:s3`},
		{"cloudtrail log file", `{"Records":[{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"PutObject"}]}`, "is not aws:s3"},
		{"created without s3", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put"}]}`, "without s3"},
		{"no bucket", put("", "k"), "no bucket"},
		{"no key", put("b", ""), "no object key"},
		{"bad escape", put("b", "a%zzb"), `object key "a%zzb"`},
		{"size not a number", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","size":"big"}}}]}`, "not an integer"},
		{"negative size", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","size":-1}}}]}`, "negative size"},
		{"other event", `{"Event":"s3:Other"}`, `event "s3:Other" has no Records`},
		{"sns subscription confirmation", `{"Type":"SubscriptionConfirmation","Message":"You have chosen to subscribe","SubscribeURL":"https://sns.example/confirm"}`, "confirm or remove the subscription"},
		{"sns other type", `{"Type":"Weird"}`, `SNS message of type "Weird"`},
		{"sns without message", `{"Type":"Notification"}`, "without a Message"},
		{"sns message not a string", `{"Type":"Notification","Message":{"Records":[]}}`, "SNS Message:"},
		{"sns of garbage", sns("not json"), "SNS Message: body is not a JSON object"},
		{"sns of sns", sns(sns(put("b", "k"))), "inside an SNS notification"},
		{"sns of bad notice", sns(put("", "k")), "no bucket"},
		{"eventbridge other source", `{"detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":{}}`, `source "aws.guardduty", not aws.s3`},
		{"eventbridge without detail", `{"detail-type":"Object Created","source":"aws.s3"}`, "without detail"},
		{"eventbridge without key", `{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{}}}`, "no object key"},
		{"eventbridge source not string", `{"detail-type":"Object Created","source":1}`, "source:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := parseNotice([]byte(tc.body))
			if err == nil {
				t.Fatalf("parseNotice(%s) = %+v, want an error containing %q", tc.body, n, tc.want)
			}
			if !errors.Is(err, errNotice) {
				t.Errorf("error %v does not wrap errNotice", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestParseNoticeLenient checks what parseNotice accepts beyond the
// documented examples.
func TestParseNoticeLenient(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       notice
	}{
		{"size as string and quoted etag, bad time",
			`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Copy","eventTime":"yesterday","s3":{"bucket":{"name":"b"},"object":{"key":"a/b","size":"12","eTag":"\"e\""}}}]}`,
			notice{Via: "s3", Objects: []ObjectRef{{Bucket: "b", Key: "a/b", ETag: "e", Size: 12}}}},
		{"created and removed in one message",
			`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{}},{"eventSource":"aws:s3","eventName":"ObjectCreated:Post","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`,
			notice{Via: "s3", Objects: []ObjectRef{{Bucket: "b", Key: "k"}}, Ignored: []string{"ObjectRemoved:Delete"}}},
		{"eventbridge restore",
			`{"detail-type":"Object Restore Completed","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}`,
			notice{Via: "eventbridge", Ignored: []string{"Object Restore Completed"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseNotice([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzParseNotice checks that parseNotice never panics, that what it
// accepts names a bucket and a key for every object, and that wrapping a
// body in an SNS notification changes nothing but Via. The seed corpus is
// testdata/sqs/notices (documented examples, see its README).
func FuzzParseNotice(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "sqs", "notices", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("seed corpus: %v (%d files)", err, len(files))
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%2B+%25","size":"7"}}}]}`))
	f.Add([]byte(`{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{}\"}"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := parseNotice(body)
		if err != nil {
			if !errors.Is(err, errNotice) {
				t.Fatalf("error %v does not wrap errNotice", err)
			}
			return
		}
		for _, o := range n.Objects {
			if o.Bucket == "" || o.Key == "" || o.Size < 0 {
				t.Fatalf("accepted object %+v", o)
			}
		}
		if strings.HasPrefix(n.Via, "sns+") {
			return
		}
		// json.Marshal replaces invalid UTF-8, which may change what the
		// body says.
		valid := utf8.Valid(body)
		msg, _ := json.Marshal(string(body))
		wrapped, err := parseNotice([]byte(`{"Type":"Notification","Message":` + string(msg) + `}`))
		if err != nil {
			if valid {
				t.Fatalf("body parses alone (%+v) but not wrapped in SNS: %v", n, err)
			}
			return
		}
		if wrapped.Via != "sns+"+n.Via {
			t.Fatalf("wrapped Via %q, want sns+%s", wrapped.Via, n.Via)
		}
		wrapped.Via = n.Via
		if valid && !reflect.DeepEqual(wrapped, n) {
			t.Fatalf("wrapped in SNS: %+v, alone: %+v", wrapped, n)
		}
	})
}
