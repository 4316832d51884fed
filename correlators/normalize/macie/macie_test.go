package macie

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/schemas"
)

// The findings these tests use are built from AWS's documentation of the
// Macie finding format, not taken from a real account (see
// testdata/README.md).

// compact returns a testdata file on one line.
func compact(t testing.TB, name string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, readFile(t, name)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// minimal is the least a finding needs.
const minimal = `{"schemaVersion":"1.0","id":"m1","accountId":"111122223333","region":"us-east-1",` +
	`"type":"SensitiveData:S3Object/Personal","category":"CLASSIFICATION","severity":{"score":2,"description":"Medium"},` +
	`"updatedAt":"2024-05-01T10:00:00.000Z"}`

func envelope(detailType, detail string) string {
	return `{"version":"0","id":"5a2c3ae1-7f42-4f0a-9d2e-3b1c4d5e6f70","detail-type":` + quote(detailType) +
		`,"source":"aws.macie","account":"111122223333","time":"2024-05-01T10:00:01Z","region":"us-east-1","resources":[],"detail":` + detail + `}`
}

func sns(message string) string {
	return `{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:111122223333:macie","Message":` + quote(message) + `}`
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// crafted seed the robustness and fuzz tests with every form.
var crafted = []string{
	minimal,
	envelope(DetailType, minimal),
	sns(envelope(DetailType, minimal)),
	`{"findings":[` + minimal + `,` + minimal + `]}`,
	`[` + minimal + `,{"id":"x"}]`,
	minimal + "\n" + minimal + "\n",
}

func decode(t *testing.T, raw string, keep bool) ([]*ecs.Event, error) {
	t.Helper()
	evs, err := Decoder{}.Decode([]byte(raw), normalize.Meta{Origin: "test", KeepOriginal: keep})
	var pe *normalize.PartialError
	if err != nil && !errors.As(err, &pe) && len(evs) > 0 {
		t.Errorf("Decode returned %d events with the error %v", len(evs), err)
	}
	if err == nil && len(evs) == 0 {
		t.Errorf("Decode returned no event and no error")
	}
	for _, ev := range evs {
		normalizetest.CheckEvent(t, "test", ev)
		if !keep && ev.Event.Original != "" {
			t.Errorf("event.original set without KeepOriginal")
		}
	}
	return evs, err
}

func decodeOne(t *testing.T, raw string) *ecs.Event {
	t.Helper()
	evs, err := decode(t, raw, false)
	if err != nil || len(evs) != 1 {
		t.Fatalf("Decode = %d events, %v; want 1 event", len(evs), err)
	}
	return evs[0]
}

func ts(tm *time.Time) string {
	if tm == nil {
		return ""
	}
	return tm.Format(time.RFC3339Nano)
}

func TestRegistered(t *testing.T) {
	d, ok := normalize.Lookup("macie")
	if !ok {
		t.Fatal("no decoder registered for macie")
	}
	if d.Dataset() != "macie" {
		t.Errorf("Dataset() = %q", d.Dataset())
	}
}

func TestSensitiveDataFinding(t *testing.T) {
	for _, file := range []string{sensitiveFile, sensitiveEBFile} {
		t.Run(file, func(t *testing.T) {
			ev := decodeOne(t, string(readFile(t, file)))
			check := func(field string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", field, got, want)
				}
			}
			check("@timestamp", ts(&ev.Timestamp), "2024-05-07T15:21:09.818Z")
			check("event.created", ts(ev.Event.Created), "2024-05-07T15:21:09.818Z")
			check("event.id", ev.Event.ID, "f3b1e9a2c4d65e7f8a9b0c1d2e3f4a5b")
			check("event.kind", ev.Event.Kind, "alert")
			check("event.category", ev.Event.Category, []string{"file"})
			check("event.type", ev.Event.Type, []string{"info"})
			check("event.action", ev.Event.Action, "SENSITIVE_DATA_DISCOVERY_JOB")
			check("event.dataset", ev.Event.Dataset, "aws.macie")
			check("event.module", ev.Event.Module, "aws")
			check("event.severity", ev.Event.Severity, 2)
			check("message", ev.Message, "The object contains personal information such as full names or mailing addresses.")
			check("rule", *ev.Rule, ecs.Rule{Name: "SensitiveData:S3Object/Personal", Category: "SensitiveData", Ruleset: "SensitiveData:S3Object"})
			check("cloud", *ev.Cloud, ecs.Cloud{Provider: "aws", Region: "us-east-1", Account: &ecs.CloudAccount{ID: "111122223333"}, Service: &ecs.CloudService{Name: "macie"}})
			check("resource", *ev.Resource, ecs.Resource{Type: "S3Object", ID: "amzn-s3-demo-bucket1/HR/2024/employees.csv", Name: "HR/2024/employees.csv", Region: "us-east-1"})
			check("file", *ev.File, ecs.File{Path: "amzn-s3-demo-bucket1/HR/2024/employees.csv", Name: "employees.csv", Directory: "amzn-s3-demo-bucket1/HR/2024"})
			check("user", ev.User, (*ecs.User)(nil))
			check("source", ev.Source, (*ecs.Endpoint)(nil))
			check("related", ev.Related, (*ecs.Related)(nil))
			check("threat", ev.Threat, (*ecs.Threat)(nil))

			m := ev.AWS.Macie
			check("aws.macie.category", m.Category, "CLASSIFICATION")
			check("aws.macie.severity", *m.Severity, ecs.MacieSeverity{Score: 2, Description: "Medium"})
			r := m.ClassificationDetails.Result
			check("status", *r.Status, ecs.MacieStatus{Code: "COMPLETE"})
			check("sensitive_data categories", r.SensitiveData[0].Category, "PERSONAL_INFORMATION")
			check("detections", []string{r.SensitiveData[0].Detections[0].Type, r.SensitiveData[0].Detections[1].Type}, []string{"NAME", "ADDRESS"})
			check("detection count", *r.SensitiveData[0].Detections[0].Count, int64(30))
			if cells, ok := r.SensitiveData[0].Detections[0].Occurrences.(map[string]any)["cells"].([]any); !ok || len(cells) != 2 {
				t.Errorf("occurrences = %#v", r.SensitiveData[0].Detections[0].Occurrences)
			}
			check("custom_data_identifiers", *r.CustomDataIdentifiers.TotalCount, int64(0))
			o := m.ResourcesAffected.S3Object
			check("s3_object.size", *o.Size, int64(4750))
			check("s3_object.e_tag", o.ETag, "6bb7fd4fa9d36d6b8fb8882caexample")
			check("s3_object.last_modified", ts(o.LastModified), "2024-05-06T22:08:25Z")
			check("s3_object.public_access", *o.PublicAccess, false)
			check("s3_object.tags", o.Tags, []ecs.MacieTag(nil))
			b := m.ResourcesAffected.S3Bucket
			check("s3_bucket.public_access.effective_permission", b.PublicAccess.EffectivePermission, "NOT_PUBLIC")
			check("policy_details", m.PolicyDetails, (*ecs.MaciePolicy)(nil))
		})
	}
}

func TestPolicyFinding(t *testing.T) {
	for _, file := range []string{policyFile, policyEBFile} {
		t.Run(file, func(t *testing.T) {
			ev := decodeOne(t, string(readFile(t, file)))
			check := func(field string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", field, got, want)
				}
			}
			check("event.id", ev.Event.ID, "90b1e2d3c4f5a6b7c8d9e0f1a2b3c4d5")
			check("event.category", ev.Event.Category, []string{"configuration"})
			check("event.type", ev.Event.Type, []string{"change"})
			check("event.action", ev.Event.Action, "AWS_API_CALL")
			check("event.provider", ev.Event.Provider, "s3.amazonaws.com")
			check("event.severity", ev.Event.Severity, 3)
			check("rule", *ev.Rule, ecs.Rule{Name: "Policy:IAMUser/S3BucketPublic", Category: "Policy", Ruleset: "Policy:IAMUser"})
			check("resource", *ev.Resource, ecs.Resource{Type: "S3Bucket", ID: "amzn-s3-demo-bucket3", Name: "amzn-s3-demo-bucket3", Region: "us-east-1"})
			check("file", ev.File, (*ecs.File)(nil))
			check("user", *ev.User, ecs.User{Name: "jane", ID: "AIDACKCEVSQ6C2EXAMPLE"})
			check("source", *ev.Source, ecs.Endpoint{
				IP: "198.51.100.34", Address: "198.51.100.34",
				Geo: &ecs.Geo{CountryISOCode: "US", CountryName: "United States", CityName: "Seattle", Location: &ecs.Location{Lat: 47.6062, Lon: -122.3321}},
				AS:  &ecs.AS{Number: 64501, Organization: &ecs.ASName{Name: "EXAMPLE-ASN"}},
			})
			check("related", *ev.Related, ecs.Related{IP: []string{"198.51.100.34"}, User: []string{"AIDACKCEVSQ6C2EXAMPLE", "jane"}})
			p := ev.AWS.Macie.PolicyDetails
			check("api_call_details", *p.Action.APICallDetails, ecs.MacieAPICall{
				API: "PutBucketPolicy", APIServiceName: "s3.amazonaws.com",
				FirstSeen: p.Action.APICallDetails.FirstSeen, LastSeen: p.Action.APICallDetails.LastSeen,
			})
			check("first_seen", ts(p.Action.APICallDetails.FirstSeen), "2024-05-08T09:08:47Z")
			check("user_identity", *p.Actor.UserIdentity, ecs.MacieUserIdentity{Type: "IAMUser", IAMUser: &ecs.MacieIdentity{
				AccountID: "111122223333", ARN: "arn:aws:iam::111122223333:user/jane", PrincipalID: "AIDACKCEVSQ6C2EXAMPLE", UserName: "jane",
			}})
			check("ip_owner", *p.Actor.IPAddressDetails.IPOwner, ecs.MacieIPOwner{ASN: "64501", ASNOrg: "EXAMPLE-ASN", ISP: "Example ISP", Org: "Example Org"})
			b := ev.AWS.Macie.ResourcesAffected
			check("s3_object", b.S3Object, (*ecs.MacieS3Object)(nil))
			check("effective_permission", b.S3Bucket.PublicAccess.EffectivePermission, "PUBLIC")
			check("default_server_side_encryption", *b.S3Bucket.DefaultServerSideEncryption, ecs.MacieEncryption{EncryptionType: "AES256"})
			check("allows_unencrypted_object_uploads", b.S3Bucket.AllowsUnencryptedObjectUploads, "TRUE")
			check("classification_details", ev.AWS.Macie.ClassificationDetails, (*ecs.MacieClassification)(nil))
		})
	}
}

// TestEnvelopeSameAsFinding checks that a finding and its EventBridge
// event give the same event, but for event.original.
func TestEnvelopeSameAsFinding(t *testing.T) {
	for _, pair := range [][2]string{{sensitiveFile, sensitiveEBFile}, {policyFile, policyEBFile}} {
		a := decodeOne(t, string(readFile(t, pair[0])))
		b := decodeOne(t, string(readFile(t, pair[1])))
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s and %s differ:\n%s\n%s", pair[0], pair[1], ja, jb)
		}
	}
}

func TestForms(t *testing.T) {
	s, p := compact(t, sensitiveFile), compact(t, policyFile)
	both := []string{"f3b1e9a2c4d65e7f8a9b0c1d2e3f4a5b", "90b1e2d3c4f5a6b7c8d9e0f1a2b3c4d5"}
	tests := []struct {
		name string
		raw  string
		ids  []string
	}{
		{"EventBridge via SNS", sns(envelope(DetailType, s)), both[:1]},
		{"GetFindings response", `{"findings":[` + s + `,` + p + `]}`, both},
		{"array", `[` + s + `,` + p + `]`, both},
		{"JSON lines", s + "\n" + p + "\n", both},
		{"pretty-printed findings", string(readFile(t, sensitiveFile)) + string(readFile(t, policyFile)), both},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := decode(t, tc.raw, true)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var ids []string
			for _, ev := range evs {
				ids = append(ids, ev.Event.ID)
			}
			if !reflect.DeepEqual(ids, tc.ids) {
				t.Errorf("event ids = %q, want %q", ids, tc.ids)
			}
		})
	}
}

func TestKeepOriginal(t *testing.T) {
	raw := string(readFile(t, policyEBFile))
	evs, err := decode(t, raw, true)
	if err != nil || evs[0].Event.Original != raw {
		t.Errorf("event.original is not the EventBridge event: %v", err)
	}
}

// with returns the minimal finding with members replaced (nil deletes).
func with(t *testing.T, members map[string]any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(minimal), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range members {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestErrors(t *testing.T) {
	gd := `{"schemaVersion":"2.0","id":"g","type":"Recon:EC2/PortProbeUnprotectedPort","severity":2,"resource":{},"service":{},"updatedAt":"2024-05-01T10:00:00Z"}`
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"wrong detail-type", envelope("GuardDuty Finding", minimal), `detail-type "GuardDuty Finding" is not a Macie finding`},
		{"Macie Classic alert", envelope("Macie Alert", minimal), `detail-type "Macie Alert"`},
		{"event pattern", `{"source":["aws.macie"],"detail-type":["Macie Finding"]}`, "event pattern"},
		{"no detail", `{"detail-type":"Macie Finding"}`, "no detail"},
		{"detail not an object", `{"detail-type":"Macie Finding","detail":"x"}`, "JSON string where a Macie finding object belongs"},
		{"missing id", with(t, map[string]any{"id": nil}), "Macie finding has no id"},
		{"missing id in detail", envelope(DetailType, with(t, map[string]any{"id": nil})), "EventBridge detail: Macie finding has no id"},
		{"bad time", with(t, map[string]any{"updatedAt": "last Tuesday"}), `updatedAt "last Tuesday" is neither an RFC 3339 time nor UNIX seconds`},
		{"no time", with(t, map[string]any{"updatedAt": nil}), "neither updatedAt nor createdAt"},
		{"zero time", with(t, map[string]any{"updatedAt": "0001-01-01T00:00:00Z"}), `updatedAt "0001-01-01T00:00:00Z" is out of range`},
		{"time out of range", with(t, map[string]any{"createdAt": "10000-01-01T00:00:00Z", "updatedAt": nil}), "createdAt"},
		{"bad nested time", with(t, map[string]any{"policyDetails": map[string]any{"action": map[string]any{"apiCallDetails": map[string]any{"firstSeen": "x"}}}}), "policyDetails.action.apiCallDetails.firstSeen"},
		{"bad object time", with(t, map[string]any{"resourcesAffected": map[string]any{"s3Object": map[string]any{"lastModified": "x"}}}), "resourcesAffected.s3Object.lastModified"},
		{"severity a number", with(t, map[string]any{"severity": 2}), "field severity: JSON number where"},
		{"wrong nested type", with(t, map[string]any{"resourcesAffected": map[string]any{"s3Object": map[string]any{"size": "big"}}}), "field resourcesAffected.s3Object.size"},
		{"GuardDuty finding", gd, "a GuardDuty finding"},
		{"Security Hub finding", `{"SchemaVersion":"2018-10-08","ProductArn":"arn:aws:securityhub:us-east-1::product/aws/macie","AwsAccountId":"1"}`, "Security Hub"},
		{"not a finding", `{"hello":"world"}`, "not a Macie finding: no id, type, schemaVersion or accountId (fields: hello)"},
		{"empty", "", "empty record"},
		{"array inside array", `[[` + minimal + `]]`, "[0]: JSON array where a Macie finding object belongs"},
		{"text", "Macie found something", "invalid JSON"},
		{"truncated", minimal[:50], "invalid JSON"},
		{"SNS of the wrong detail-type", sns(envelope("GuardDuty Finding", minimal)), `SNS Message: EventBridge detail-type "GuardDuty Finding"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := decode(t, tc.raw, true)
			if err == nil {
				t.Fatalf("Decode returned %d events and no error", len(evs))
			}
			if errors.Is(err, normalize.ErrSkipped) {
				t.Fatalf("Decode: %v; want an error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	for name, raw := range map[string]string{
		"empty GetFindings response": `{"findings":[]}`,
		"empty array":                `[]`,
		"SNS subscription":           `{"Type":"SubscriptionConfirmation","MessageId":"m","Message":"confirm"}`,
	} {
		t.Run(name, func(t *testing.T) {
			evs, err := decode(t, raw, true)
			if !errors.Is(err, normalize.ErrSkipped) || len(evs) > 0 {
				t.Errorf("Decode = %d events, %v; want normalize.ErrSkipped", len(evs), err)
			}
		})
	}
}

func TestPartial(t *testing.T) {
	s, p := compact(t, sensitiveFile), compact(t, policyFile)
	bad := with(t, map[string]any{"updatedAt": "last Tuesday"})
	tests := []struct {
		name    string
		raw     string
		goodIDs []string
		badPath string
	}{
		{"array", `[` + s + `,` + bad + `,` + p + `]`, []string{"f3b1e9a2c4d65e7f8a9b0c1d2e3f4a5b", "90b1e2d3c4f5a6b7c8d9e0f1a2b3c4d5"}, "[1]"},
		{"JSON lines", bad + "\n" + s + "\n", []string{"f3b1e9a2c4d65e7f8a9b0c1d2e3f4a5b"}, "line 1"},
		{"GetFindings response", `{"findings":[` + s + `,` + bad + `]}`, []string{"f3b1e9a2c4d65e7f8a9b0c1d2e3f4a5b"}, "findings[1]"},
		{"EventBridge events", `[` + envelope(DetailType, s) + `,` + envelope("GuardDuty Finding", p) + `]`, []string{"f3b1e9a2c4d65e7f8a9b0c1d2e3f4a5b"}, "[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := decode(t, tc.raw, true)
			var pe *normalize.PartialError
			if !errors.As(err, &pe) || len(pe.Items) != 1 {
				t.Fatalf("Decode = %d events, %v; want a *normalize.PartialError of one item", len(evs), err)
			}
			var ids []string
			for _, ev := range evs {
				ids = append(ids, ev.Event.ID)
			}
			if !reflect.DeepEqual(ids, tc.goodIDs) {
				t.Errorf("good events %q, want %q", ids, tc.goodIDs)
			}
			if pe.Items[0].Path != tc.badPath || len(pe.Items[0].Raw) == 0 || !strings.Contains(err.Error(), tc.badPath) {
				t.Errorf("failed item %q (%v), want %q with its bytes", pe.Items[0].Path, err, tc.badPath)
			}
		})
	}
}

func TestFields(t *testing.T) {
	tests := []struct {
		name    string
		members map[string]any
		check   func(t *testing.T, ev *ecs.Event)
	}{
		{"createdAt when no updatedAt", map[string]any{"updatedAt": nil, "createdAt": "2024-05-01T09:00:00Z"}, func(t *testing.T, ev *ecs.Event) {
			if ts(&ev.Timestamp) != "2024-05-01T09:00:00Z" {
				t.Errorf("@timestamp = %v", ev.Timestamp)
			}
		}},
		{"unknown category", map[string]any{"category": "OTHER"}, func(t *testing.T, ev *ecs.Event) {
			if ev.Event.Category != nil || !reflect.DeepEqual(ev.Event.Type, []string{"info"}) {
				t.Errorf("category %q, type %q", ev.Event.Category, ev.Event.Type)
			}
		}},
		{"no severity", map[string]any{"severity": nil}, func(t *testing.T, ev *ecs.Event) {
			if ev.Event.Severity != 0 || ev.AWS.Macie.Severity != nil {
				t.Errorf("event.severity %d, severity %+v", ev.Event.Severity, ev.AWS.Macie.Severity)
			}
		}},
		{"object without path", map[string]any{"resourcesAffected": map[string]any{"s3Bucket": map[string]any{"name": "b"}, "s3Object": map[string]any{"key": "k.txt"}}}, func(t *testing.T, ev *ecs.Event) {
			if ev.Resource.ID != "b/k.txt" || ev.File.Path != "b/k.txt" || ev.File.Name != "k.txt" || ev.File.Directory != "b" {
				t.Errorf("resource %+v, file %+v", ev.Resource, ev.File)
			}
		}},
		{"assumed role", map[string]any{"policyDetails": map[string]any{"actor": map[string]any{"userIdentity": map[string]any{
			"type": "AssumedRole", "assumedRole": map[string]any{
				"principalId": "AROA1234567890EXAMPLE:session", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/session",
				"sessionContext": map[string]any{"attributes": map[string]any{"mfaAuthenticated": false}},
			}}}}}, func(t *testing.T, ev *ecs.Event) {
			if ev.User == nil || ev.User.Name != "session" || ev.User.ID != "AROA1234567890EXAMPLE:session" {
				t.Errorf("user = %+v", ev.User)
			}
			if ev.AWS.Macie.PolicyDetails.Actor.UserIdentity.AssumedRole.SessionContext == nil {
				t.Error("session_context dropped")
			}
		}},
		{"root", map[string]any{"policyDetails": map[string]any{"actor": map[string]any{"userIdentity": map[string]any{
			"type": "Root", "root": map[string]any{"principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root"}}}}}, func(t *testing.T, ev *ecs.Event) {
			if ev.User == nil || ev.User.Name != "root" {
				t.Errorf("user = %+v", ev.User)
			}
		}},
		{"AWS service", map[string]any{"policyDetails": map[string]any{"actor": map[string]any{
			"userIdentity":  map[string]any{"type": "AWSService", "awsService": map[string]any{"invokedBy": "s3.amazonaws.com"}},
			"domainDetails": map[string]any{"domainName": "s3.amazonaws.com"}}}}, func(t *testing.T, ev *ecs.Event) {
			if ev.User != nil || ev.Source == nil || ev.Source.Domain != "s3.amazonaws.com" || ev.Source.IP != "" || !reflect.DeepEqual(ev.Related.Hosts, []string{"s3.amazonaws.com"}) {
				t.Errorf("user %+v, source %+v, related %+v", ev.User, ev.Source, ev.Related)
			}
		}},
		{"address that is not an IP", map[string]any{"policyDetails": map[string]any{"actor": map[string]any{
			"ipAddressDetails": map[string]any{"ipAddressV4": "nowhere", "ipGeoLocation": map[string]any{"lat": 0, "lon": 200}}}}}, func(t *testing.T, ev *ecs.Event) {
			if ev.Source == nil || ev.Source.IP != "" || ev.Source.Address != "nowhere" || ev.Source.Geo != nil || ev.Related != nil {
				t.Errorf("source %+v, related %+v", ev.Source, ev.Related)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, decodeOne(t, with(t, tc.members)))
		})
	}
}

func TestConcurrent(t *testing.T) {
	var inputs [][]byte
	for _, f := range inputFiles {
		inputs = append(inputs, readFile(t, f))
	}
	want := make([][]byte, len(inputs))
	for i, in := range inputs {
		evs, err := Decoder{}.Decode(in, normalize.Meta{KeepOriginal: true})
		if err != nil {
			t.Fatal(err)
		}
		want[i], _ = json.Marshal(evs)
	}
	d, _ := normalize.Lookup("macie")
	var wg sync.WaitGroup
	errs := make(chan string, 16*len(inputs))
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, in := range inputs {
				evs, err := d.Decode(in, normalize.Meta{KeepOriginal: true})
				got, _ := json.Marshal(evs)
				if err != nil || !bytes.Equal(got, want[i]) {
					errs <- fmt.Sprintf("input %d: %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestSchemaStrict(t *testing.T) {
	ev := decodeOne(t, string(readFile(t, policyFile)))
	b, _ := json.Marshal(ev)
	for _, bad := range []struct{ from, to string }{
		{`"effective_permission":`, `"effectivePermission":`},
		{`"iam_user":{`, `"iam_user":{"extra":1,`},
		{`"created_at":"2022-11-30T12:41:07Z"`, `"created_at":"yesterday"`},
	} {
		doc := strings.Replace(string(b), bad.from, bad.to, 1)
		if doc == string(b) {
			t.Fatalf("%q not in the event", bad.from)
		}
		if err := schemas.Validate(schemas.Event, []byte(doc)); err == nil {
			t.Errorf("schema accepts %s", bad.to)
		}
	}
	raw, err := schemas.File("macie.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	checkClosed(t, "macie.schema.json", s)
}

func checkClosed(t *testing.T, path string, s any) {
	switch x := s.(type) {
	case map[string]any:
		if _, ok := x["properties"]; ok && x["additionalProperties"] != false {
			t.Errorf("%s: object schema without additionalProperties false", path)
		}
		for k, v := range x {
			checkClosed(t, path+"/"+k, v)
		}
	case []any:
		for i, v := range x {
			checkClosed(t, fmt.Sprintf("%s/%d", path, i), v)
		}
	}
}
