package engine

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/ecs"
)

var update = flag.Bool("update", false, "rewrite the field mapping table in FIELDS.md")

// record is a CloudTrail record with every field the mapping names, in
// compact JSON so that objects read as text are the same everywhere.
const record = `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEALICE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","userName":"alice","invokedBy":"signin.amazonaws.com","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/Admin","accountId":"111122223333","userName":"Admin"},"attributes":{"creationDate":"2026-11-02T09:00:00Z","mfaAuthenticated":"true"}}},"eventTime":"2026-11-02T09:12:41Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"S3 Browser 11.5.7 https://s3browser.com","errorCode":"LimitExceeded","errorMessage":"Cannot exceed quota for AccessKeysPerUser: 2","requestParameters":{"userName":"backup-admin","tags":[{"key":"team","value":"ops"}]},"responseElements":{"accessKey":{"userName":"backup-admin","status":"Active"}},"additionalEventData":{"MFAUsed":"No","LoginTo":"https://console.aws.amazon.com"},"requestID":"6b8e4b57-5f2c-4c4a-9b7a-0c0e3f6f1a2b","eventID":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0","readOnly":false,"resources":[{"ARN":"arn:aws:iam::111122223333:user/backup-admin","accountId":"111122223333","type":"AWS::IAM::User"},{"ARN":"arn:aws:iam::111122223333:role/Admin","accountId":"111122223333","type":"AWS::IAM::Role"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","sharedEventID":"5e5e5e5e-1111-2222-3333-444455556666","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256"}}`

// decode normalizes a CloudTrail record as the normalize app does (with
// the decoder normalizer_test.go hands over).
func decode(t testing.TB, raw string, keepOriginal bool) *ecs.Event {
	t.Helper()
	evs, err := decodeCloudTrail([]byte(raw), keepOriginal)
	if err != nil || len(evs) != 1 {
		t.Fatalf("decode: %v (%d events)", err, len(evs))
	}
	return evs[0]
}

// events returns the record as every kind of event.
func events(t testing.TB, raw string) map[string]Event {
	kept := decode(t, raw, true)
	doc, err := marshalECS(kept)
	if err != nil {
		t.Fatal(err)
	}
	docNoOrig, err := marshalECS(decode(t, raw, false))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Event{
		"ecs":                   ECS(kept),
		"ecs without orig":      ECS(decode(t, raw, false)),
		"raw json":              NewJSON([]byte(raw), CloudTrail),
		"ecs json":              NewJSON(doc, ECSDocument),
		"ecs json without orig": NewJSON(docNoOrig, ECSDocument),
	}
}

func lookup(ev Event, name string) []string {
	return Lookup(ev, NewField(name), nil)
}

// Every two-way entry of the mapping reads the same values by its
// CloudTrail name and by its ECS name, from a normalized event, from its
// ECS document and from the raw record.
func TestMappingAgrees(t *testing.T) {
	evs := events(t, record)
	raw := NewJSON([]byte(record), AsWritten)
	for _, e := range cloudTrailFields {
		if e.oneWay || e.original {
			continue
		}
		rawName, ecsName := e.raw, e.ecs
		if e.prefix {
			// One name below the prefix, and one through an array.
			for _, sub := range [][2]string{{"userName", "backup-admin"}, {"tags.key", "team"}, {"accessKey.status", "Active"}, {"MFAUsed", "No"}} {
				r, x := rawName+"."+sub[0], ecsName+"."+sub[0]
				want := lookup(raw, r)
				if len(want) == 0 {
					continue
				}
				if want[0] != sub[1] {
					t.Errorf("raw %s = %v, want %s", r, want, sub[1])
				}
				checkAll(t, evs, r, x, want)
			}
			continue
		}
		want := lookup(raw, rawName)
		if len(want) == 0 {
			t.Errorf("the test record has no %s", rawName)
			continue
		}
		checkAll(t, evs, rawName, ecsName, want)
	}
}

func checkAll(t *testing.T, evs map[string]Event, rawName, ecsName string, want []string) {
	t.Helper()
	for kind, ev := range evs {
		for _, name := range []string{rawName, ecsName} {
			if got := lookup(ev, name); !slices.Equal(got, want) {
				t.Errorf("%s: %s = %q, want %q", kind, name, got, want)
			}
		}
	}
}

// The one-way entries and the fields ECS does not keep.
func TestMappingSpecial(t *testing.T) {
	evs := events(t, record)
	tests := []struct {
		name string
		want map[string][]string // by event kind; kinds not listed want nothing
	}{
		{"status", map[string][]string{"ecs": {"failure"}, "ecs without orig": {"failure"}, "raw json": {"failure"}, "ecs json": {"failure"}, "ecs json without orig": {"failure"}}},
		{"event.outcome", map[string][]string{"ecs": {"failure"}, "ecs without orig": {"failure"}, "raw json": {"failure"}, "ecs json": {"failure"}, "ecs json without orig": {"failure"}}},
		{"userIdentity.userName", map[string][]string{"ecs": {"alice"}, "ecs without orig": {"alice"}, "raw json": {"alice"}, "ecs json": {"alice"}, "ecs json without orig": {"alice"}}},
		{"userIdentity.accountId", map[string][]string{"ecs": {"111122223333"}, "raw json": {"111122223333"}, "ecs json": {"111122223333"}}},
		{"tlsDetails.tlsVersion", map[string][]string{"ecs": {"TLSv1.3"}, "raw json": {"TLSv1.3"}, "ecs json": {"TLSv1.3"}}},
		{"user.name", map[string][]string{"ecs": {"alice"}, "ecs without orig": {"alice"}, "ecs json": {"alice"}, "ecs json without orig": {"alice"}}},
		{"event.category", map[string][]string{"ecs": {"iam"}, "ecs without orig": {"iam"}, "ecs json": {"iam"}, "ecs json without orig": {"iam"}}},
		{"cloud.account.id", map[string][]string{"ecs": {"111122223333"}, "ecs without orig": {"111122223333"}, "ecs json": {"111122223333"}, "ecs json without orig": {"111122223333"}}},
		{"aws.cloudtrail.console_login.additional_eventdata.mfa_used", nil},
		{"event.nosuch", nil},
	}
	for _, tt := range tests {
		for kind, ev := range evs {
			want := tt.want[kind]
			if got := lookup(ev, tt.name); !slices.Equal(got, want) {
				t.Errorf("%s: %s = %q, want %q", kind, tt.name, got, want)
			}
		}
	}
}

// A rule matches a normalized CloudTrail event by raw names and by ECS
// names alike.
func TestRulesOnNormalizedEvent(t *testing.T) {
	ev := ECS(decode(t, record, true))
	evNoOrig := ECS(decode(t, record, false))
	tests := []struct {
		name string
		r    *ast.Rule
		want bool
	}{
		{"raw names", selRule(
			it("eventSource", "iam.amazonaws.com"),
			it("eventName", "CreateAccessKey"),
			it("userAgent|contains", "S3 Browser"),
			it("userIdentity.type", "IAMUser"),
			it("userIdentity.sessionContext.sessionIssuer.type", "Role"),
			it("requestParameters.userName", "backup-admin"),
			it("responseElements|contains", "backup-admin"),
			it("additionalEventData.MFAUsed", "NO"),
			it("readOnly", false),
			it("managementEvent", true),
			it("resources.type", "AWS::IAM::Role"),
			it("sourceIPAddress|cidr", "203.0.113.0/24"),
		), true},
		{"ecs names", selRule(
			it("event.provider", "iam.amazonaws.com"),
			it("event.action", "CreateAccessKey"),
			it("user_agent.original|contains", "S3 Browser"),
			it("aws.cloudtrail.user_identity.type", "IAMUser"),
			it("aws.cloudtrail.flattened.request_parameters.userName", "backup-admin"),
			it("source.ip|cidr", "203.0.113.0/24"),
			it("event.outcome", "failure"),
			it("cloud.region", "us-east-1"),
			it("event.category", "iam"),
		), true},
		{"fieldref across names", selRule(
			it("requestParameters.userName|fieldref", "aws.cloudtrail.flattened.response_elements.accessKey.userName"),
		), true},
		{"errorCode null", selRule(it("errorCode", nil)), false},
		{"eventType not missing", selRule(it("eventType|exists", false)), false},
		{"wrong action", selRule(it("event.action", "DeleteUser")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, tt.r, Options{})
			for _, e := range []Event{ev, evNoOrig} {
				if got := r.Match(e); got != tt.want {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// FIELDS.md lists the mapping; go test -run TestFieldsDoc -update
// rewrites its table.
func TestFieldsDoc(t *testing.T) {
	const begin, end = "<!-- mapping begin -->\n", "<!-- mapping end -->\n"
	var b strings.Builder
	b.WriteString("| CloudTrail record | vigil ECS event | notes |\n|---|---|---|\n")
	for _, e := range cloudTrailFields {
		r, x := "`"+e.raw+"`", "`"+e.ecs+"`"
		if e.prefix {
			r, x = "`"+e.raw+".*`", "`"+e.ecs+".*`"
		}
		if e.original {
			x = "(event.original)"
		}
		note := e.note
		if e.oneWay && !e.derived {
			note = strings.TrimSpace("one way: the ECS name does not read the raw field. " + note)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r, x, note)
	}
	table := b.String()
	doc, err := os.ReadFile("FIELDS.md")
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("FIELDS.md has no %q ... %q section", begin, end)
	}
	cur := string(doc[i+len(begin) : j])
	if cur == table {
		return
	}
	if *update {
		out := append([]byte{}, doc[:i+len(begin)]...)
		out = append(out, table...)
		out = append(out, doc[j:]...)
		if err := os.WriteFile("FIELDS.md", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("FIELDS.md's table is out of date: go test -run TestFieldsDoc -update")
}
