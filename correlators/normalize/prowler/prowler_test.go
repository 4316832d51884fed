package prowler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
	"github.com/vigilsec/vigil/ecs"
)

func decode(t *testing.T, raw string, m normalize.Meta) []*ecs.Event {
	t.Helper()
	evs, err := Decoder{}.Decode([]byte(raw), m)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for _, ev := range evs {
		normalizetest.CheckEvent(t, "test", ev)
	}
	return evs
}

func one(t *testing.T, raw string, m normalize.Meta) *ecs.Event {
	t.Helper()
	evs := decode(t, raw, m)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	return evs[0]
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// elements returns the elements of a JSON array file, compact.
func elements(t testing.TB, path string) []string {
	t.Helper()
	var items []json.RawMessage
	if err := json.Unmarshal(readFile(t, path), &items); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		var b bytes.Buffer
		if err := json.Compact(&b, it); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.String())
	}
	return out
}

func TestRegistered(t *testing.T) {
	d, ok := normalize.Lookup("prowler")
	if !ok {
		t.Fatal("no decoder registered for source prowler")
	}
	if d.Dataset() != "prowler" {
		t.Errorf("Dataset() = %q", d.Dataset())
	}
}

// TestForms decodes one finding in every form and checks what every form
// must give.
func TestForms(t *testing.T) {
	ocsf := elements(t, corpus+"docs-extracted/reporting_json_ocsf_example.json")[0]
	asff := elements(t, corpus+"docs-extracted/reporting_json_asff_example.json")[0]
	csvFile := readFile(t, corpus+"examples/output/example_output_aws.csv")
	header, rest, _ := cutLine(csvFile)
	csvLine, _, _ := cutLine(rest)
	v3 := v3Records(t)[0]

	tests := []struct {
		name, raw  string
		meta       normalize.Meta
		format     string
		checkID    string
		action     string
		wantEvents int
	}{
		{"ocsf", ocsf, normalize.Meta{}, "ocsf", "ecs_task_definitions_no_environment_secrets", "fail", 1},
		{"ocsf pretty-printed", func() string { var b bytes.Buffer; _ = json.Indent(&b, []byte(ocsf), "", "  "); return b.String() }(), normalize.Meta{}, "ocsf", "ecs_task_definitions_no_environment_secrets", "fail", 1},
		{"asff", asff, normalize.Meta{}, "asff", "rds_instance_minor_version_upgrade_enabled", "pass", 1},
		{"asff batch", `{"Findings":[` + asff + `,` + asff + `]}`, normalize.Meta{}, "asff", "rds_instance_minor_version_upgrade_enabled", "pass", 2},
		{"eventbridge", `{"version":"0","id":"x","detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","account":"123456789012","time":"2022-12-01T13:17:00Z","region":"eu-west-1","resources":[],"detail":{"findings":[` + asff + `]}}`, normalize.Meta{}, "asff", "rds_instance_minor_version_upgrade_enabled", "pass", 1},
		{"json array pushed whole", `[` + ocsf + `,` + ocsf + `]`, normalize.Meta{}, "ocsf", "ecs_task_definitions_no_environment_secrets", "fail", 2},
		{"v3 json", v3, normalize.Meta{}, "json", "ec2_instance_imdsv2_enabled", "fail", 1},
		{"csv with header", string(csvLine), normalize.Meta{FileHeader: string(header)}, "csv", "accessanalyzer_enabled", "fail", 1},
		{"csv without header", string(csvLine), normalize.Meta{}, "csv", "accessanalyzer_enabled", "fail", 1},
		{"csv with CRLF", string(csvLine) + "\r", normalize.Meta{FileHeader: string(header) + "\r"}, "csv", "accessanalyzer_enabled", "fail", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs := decode(t, tc.raw, tc.meta)
			if len(evs) != tc.wantEvents {
				t.Fatalf("%d events, want %d", len(evs), tc.wantEvents)
			}
			ev := evs[0]
			if ev.Prowler.Format != tc.format {
				t.Errorf("prowler.format = %q, want %q", ev.Prowler.Format, tc.format)
			}
			if ev.Rule.ID != tc.checkID || ev.Rule.Ruleset != "prowler" {
				t.Errorf("rule = %+v", ev.Rule)
			}
			if ev.Event.Action != tc.action {
				t.Errorf("event.action = %q, want %q", ev.Event.Action, tc.action)
			}
			if ev.Event.Kind != "state" || ev.Event.Dataset != "prowler.finding" || ev.Event.Module != "prowler" {
				t.Errorf("event = %+v", ev.Event)
			}
			if !reflect.DeepEqual(ev.Event.Category, []string{"configuration"}) || !reflect.DeepEqual(ev.Event.Type, []string{"info"}) {
				t.Errorf("event.category %v, event.type %v", ev.Event.Category, ev.Event.Type)
			}
			if ev.Observer == nil || ev.Observer.Vendor != "Prowler" || ev.Observer.Product != "Prowler" {
				t.Errorf("observer = %+v", ev.Observer)
			}
			if ev.Event.ID == "" {
				t.Error("no event.id")
			}
		})
	}
}

// v3Records are Prowler v3 JSON findings. There is no real v3 output in
// the corpus, so they are built from Prowler's own check metadata (the
// *.metadata.json files of four AWS checks, copied from Prowler's
// repository) and the result fields that Prowler v3's Check_Output_JSON
// model adds (AssessmentStartTime, FindingUniqueId, Status,
// StatusExtended, AccountId, Region, ResourceId, ResourceArn,
// ResourceTags, Compliance, ...). testdata/v3_from_metadata.jsonl is built
// the same way, with jq (testdata/README.md).
func v3Records(t testing.TB) []string {
	dir := corpus + "prowler/providers/aws/services/"
	results := []struct {
		metadata, status, ext, region, id, arn string
	}{
		{"ec2/ec2_instance_imdsv2_enabled/ec2_instance_imdsv2_enabled.metadata.json", "FAIL", "EC2 Instance i-0a1b2c3d4e5f67890 has IMDSv2 disabled or not required.", "eu-west-1", "i-0a1b2c3d4e5f67890", "arn:aws:ec2:eu-west-1:123456789012:instance/i-0a1b2c3d4e5f67890"},
		{"s3/s3_bucket_default_encryption/s3_bucket_default_encryption.metadata.json", "PASS", "S3 Bucket example-logs has Server Side Encryption with AES256.", "eu-west-1", "example-logs", "arn:aws:s3:::example-logs"},
		{"iam/iam_rotate_access_key_90_days/iam_rotate_access_key_90_days.metadata.json", "FAIL", "User alice has not rotated access key 1 in over 90 days (112 days).", "us-east-1", "alice", "arn:aws:iam::123456789012:user/alice"},
		{"iam/iam_root_mfa_enabled/iam_root_mfa_enabled.metadata.json", "PASS", "MFA is enabled for root account.", "us-east-1", "<root_account>", "arn:aws:iam::123456789012:root"},
	}
	var out []string
	for _, r := range results {
		var rec map[string]any
		if err := json.Unmarshal(readFile(t, dir+r.metadata), &rec); err != nil {
			t.Fatal(err)
		}
		rec["AssessmentStartTime"] = "2023-06-12T09:41:07.112233"
		rec["FindingUniqueId"] = fmt.Sprintf("prowler-aws-%s-123456789012-%s-%s", rec["CheckID"], r.region, r.id)
		rec["Status"], rec["StatusExtended"], rec["ResourceDetails"] = r.status, r.ext, ""
		rec["Profile"], rec["AccountId"], rec["OrganizationsInfo"] = "default", "123456789012", nil
		rec["Region"], rec["ResourceId"], rec["ResourceArn"] = r.region, r.id, r.arn
		rec["ResourceTags"] = map[string]string{"env": "prod"}
		rec["Compliance"] = map[string][]string{"CIS-2.0": {"1.14"}}
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestV3FromMetadata checks the v3 mapping on records built from
// Prowler's check metadata (see v3Records).
func TestV3FromMetadata(t *testing.T) {
	for i, raw := range v3Records(t) {
		var meta struct {
			CheckID, CheckTitle, Severity, ServiceName, ResourceType, Description string
			Categories                                                            []string
			Remediation                                                           struct {
				Recommendation struct{ Url string }
				Code           struct{ CLI string }
			}
		}
		if err := json.Unmarshal([]byte(raw), &meta); err != nil {
			t.Fatal(err)
		}
		ev := one(t, raw, normalize.Meta{KeepOriginal: true})
		if ev.Rule.ID != meta.CheckID || ev.Rule.Name != meta.CheckTitle || ev.Rule.Description != meta.Description {
			t.Errorf("%d: rule = %+v", i, ev.Rule)
		}
		if ev.Prowler.Severity != meta.Severity || ev.Event.Severity != severityID[meta.Severity] {
			t.Errorf("%d: severity %q / %d, want %q", i, ev.Prowler.Severity, ev.Event.Severity, meta.Severity)
		}
		if ev.Cloud == nil || ev.Cloud.Provider != "aws" || ev.Cloud.Account.ID != "123456789012" || ev.Cloud.Service.Name != meta.ServiceName {
			t.Errorf("%d: cloud = %+v", i, ev.Cloud)
		}
		if ev.Resource == nil || ev.Resource.Type != meta.ResourceType || !strings.HasPrefix(ev.Resource.ID, "arn:aws:") {
			t.Errorf("%d: resource = %+v", i, ev.Resource)
		}
		if ev.Prowler.Remediation == nil || ev.Prowler.Remediation.Code == nil || ev.Prowler.Remediation.Code.CLI != meta.Remediation.Code.CLI {
			t.Errorf("%d: remediation = %+v", i, ev.Prowler.Remediation)
		}
		if !reflect.DeepEqual(ev.Prowler.Compliance, map[string][]string{"CIS-2.0": {"1.14"}}) {
			t.Errorf("%d: compliance = %v", i, ev.Prowler.Compliance)
		}
		if ev.Prowler.Resource == nil || ev.Prowler.Resource.Tags["env"] != "prod" {
			t.Errorf("%d: resource tags = %+v", i, ev.Prowler.Resource)
		}
		fail := ev.Prowler.Status == "FAIL"
		if fail != (ev.Vulnerability != nil) {
			t.Errorf("%d: status %s with vulnerability %+v", i, ev.Prowler.Status, ev.Vulnerability)
		}
		if fail && (ev.Vulnerability.ID != meta.CheckID || ev.Vulnerability.Severity != meta.Severity || ev.Vulnerability.Reference != meta.Remediation.Recommendation.Url || !reflect.DeepEqual(ev.Vulnerability.Category, meta.Categories) || ev.Vulnerability.Scanner.Vendor != "Prowler") {
			t.Errorf("%d: vulnerability = %+v", i, ev.Vulnerability)
		}
		if want := time.Date(2023, 6, 12, 9, 41, 7, 112233000, time.UTC); !ev.Timestamp.Equal(want) {
			t.Errorf("%d: @timestamp %v, want %v", i, ev.Timestamp, want)
		}
		if ev.Event.Original != raw {
			t.Errorf("%d: event.original is not the record", i)
		}
	}
}

func TestStatusMapping(t *testing.T) {
	base := v3Records(t)[0]
	for _, tc := range []struct {
		status, action, outcome string
		vulnerability           bool
	}{
		{"PASS", "pass", "success", false},
		{"FAIL", "fail", "failure", true},
		{"MANUAL", "manual", "unknown", false},
		{"INFO", "info", "unknown", false},
		{"fail", "fail", "failure", true},
	} {
		raw := strings.Replace(base, `"Status":"FAIL"`, `"Status":"`+tc.status+`"`, 1)
		ev := one(t, raw, normalize.Meta{})
		if ev.Event.Action != tc.action || ev.Event.Outcome != tc.outcome || (ev.Vulnerability != nil) != tc.vulnerability {
			t.Errorf("%s: action %q outcome %q vulnerability %v", tc.status, ev.Event.Action, ev.Event.Outcome, ev.Vulnerability != nil)
		}
	}
}

func TestASFFStatus(t *testing.T) {
	asff := elements(t, corpus+"docs-extracted/reporting_json_asff_example.json")[0]
	for _, tc := range []struct {
		status, prowler, action string
		muted                   bool
	}{
		{"PASSED", "PASS", "pass", false},
		{"FAILED", "FAIL", "fail", false},
		{"NOT_AVAILABLE", "MANUAL", "manual", false},
		{"WARNING", "", "muted", true},
	} {
		raw := strings.Replace(asff, `"Status":"PASSED"`, `"Status":"`+tc.status+`"`, 1)
		ev := one(t, raw, normalize.Meta{})
		if ev.Prowler.Status != tc.prowler || ev.Event.Action != tc.action || (ev.Prowler.Muted != nil && *ev.Prowler.Muted) != tc.muted {
			t.Errorf("%s: status %q action %q muted %v", tc.status, ev.Prowler.Status, ev.Event.Action, ev.Prowler.Muted)
		}
	}
	// v4 and later put the status extended in Description; v3 the check's
	// description.
	v4 := strings.Replace(asff, `"ProviderVersion":"3.0-beta-21Nov2022"`, `"ProviderVersion":"5.4.0"`, 1)
	ev := one(t, v4, normalize.Meta{})
	if ev.Message != "Ensure RDS instances have minor version upgrade enabled." || ev.Prowler.StatusExtended == "" {
		t.Errorf("v4 ASFF: message %q", ev.Message)
	}
	ev = one(t, asff, normalize.Meta{})
	if ev.Message != "" || ev.Rule.Description == "" {
		t.Errorf("v3 ASFF: message %q, rule.description %q", ev.Message, ev.Rule.Description)
	}
}

// TestEventID: the finding uid, or a derived id for a finding without one
// or with a documentation placeholder.
func TestEventID(t *testing.T) {
	ocsf := elements(t, corpus+"examples/output/example_output_aws.ocsf.json")
	ids := map[string]bool{}
	for _, raw := range ocsf {
		ev := one(t, raw, normalize.Meta{})
		if ev.Event.ID != normalize.DerivedID([]byte(raw), 0) {
			t.Errorf("placeholder uid: event.id %q is not the derived id", ev.Event.ID)
		}
		if ev.Prowler.FindingUID != "<finding_uid>" {
			t.Errorf("prowler.finding_uid = %q", ev.Prowler.FindingUID)
		}
		ids[ev.Event.ID] = true
		if again := one(t, raw, normalize.Meta{}); again.Event.ID != ev.Event.ID {
			t.Error("event.id is not stable")
		}
	}
	if len(ids) != len(ocsf) {
		t.Errorf("%d distinct ids for %d findings", len(ids), len(ocsf))
	}
	real := elements(t, corpus+"docs-extracted/reporting_json_ocsf_example.json")[0]
	if ev := one(t, real, normalize.Meta{}); ev.Event.ID != "prowler-aws-ecs_task_definitions_no_environment_secrets-123456789012-eu-central-1-manufacturer-api:7" {
		t.Errorf("event.id = %q, want the finding uid", ev.Event.ID)
	}
}

func TestTimes(t *testing.T) {
	ocsf := elements(t, corpus+"examples/output/example_output_aws.ocsf.json")[0]
	// time (epoch) wins over time_dt, the scanner's local time.
	if ev := one(t, ocsf, normalize.Meta{}); !ev.Timestamp.Equal(time.Unix(1739539623, 0)) {
		t.Errorf("@timestamp = %v", ev.Timestamp)
	}
	// time_dt with a zone wins.
	withZone := strings.Replace(ocsf, `"time_dt":"2025-02-14T14:27:03.913874"`, `"time_dt":"2025-02-14T14:27:03.913874+01:00"`, 1)
	if ev := one(t, withZone, normalize.Meta{}); !ev.Timestamp.Equal(time.Date(2025, 2, 14, 13, 27, 3, 913874000, time.UTC)) {
		t.Errorf("@timestamp = %v", ev.Timestamp)
	}
	// Without time, a time_dt without a zone is read as UTC.
	noEpoch := strings.Replace(ocsf, `"time":1739539623,`, ``, 1)
	if ev := one(t, noEpoch, normalize.Meta{}); !ev.Timestamp.Equal(time.Date(2025, 2, 14, 14, 27, 3, 913874000, time.UTC)) {
		t.Errorf("@timestamp = %v", ev.Timestamp)
	}
}

// TestCSVQuoting: a field quoted because it holds ';' and quotes, as
// Python's csv module writes it.
func TestCSVQuoting(t *testing.T) {
	csvFile := readFile(t, corpus+"examples/output/example_output_aws.csv")
	header, rest, _ := cutLine(csvFile)
	line, _, _ := cutLine(rest)
	const ext = `Analyzer "default" missing; account 123456789012 exposed`
	quoted := strings.Replace(string(line), "IAM Access Analyzer in account <account_uid> is not enabled.", `"Analyzer ""default"" missing; account 123456789012 exposed"`, 1)
	if quoted == string(line) {
		t.Fatal("the sample line changed")
	}
	for _, m := range []normalize.Meta{{FileHeader: string(header)}, {}} {
		ev := one(t, quoted, m)
		if ev.Message != ext || ev.Prowler.StatusExtended != ext {
			t.Errorf("status extended %q, want %q", ev.Prowler.StatusExtended, ext)
		}
		if ev.Rule.ID != "accessanalyzer_enabled" || ev.Prowler.Severity != "low" {
			t.Errorf("fields shifted: rule.id %q, severity %q", ev.Rule.ID, ev.Prowler.Severity)
		}
	}
	// An unquoted ';' shifts the fields: the count no longer matches.
	unquoted := strings.Replace(string(line), "IAM Access Analyzer in account <account_uid> is not enabled.", "missing; exposed", 1)
	_, err := Decoder{}.Decode([]byte(unquoted), normalize.Meta{FileHeader: string(header)})
	if err == nil || !strings.Contains(err.Error(), "43 fields where the header names 42") {
		t.Errorf("unquoted ';': %v", err)
	}
}

// TestCSVLineBreak: a quoted field with a line break. Framed as CSV (as the
// file source reads *.csv files) the record is whole and decodes. Framed
// by lines it arrives in two pieces; each is an error that says why, and
// neither becomes an event.
func TestCSVLineBreak(t *testing.T) {
	csvFile := readFile(t, corpus+"examples/output/example_output_aws.csv")
	header, rest, _ := cutLine(csvFile)
	line, _, _ := cutLine(rest)
	const cli = "aws accessanalyzer create-analyzer --analyzer-name <NAME> --type <ACCOUNT|ORGANIZATION>"
	record := strings.Replace(string(line), cli, "\"aws accessanalyzer create-analyzer \\\n  --analyzer-name <NAME>\"", 1)
	file := string(header) + "\n" + record + "\n"

	frame := func(f framing.Format) [][]byte {
		sp := framing.New(strings.NewReader(file), f, 0)
		var frames [][]byte
		for {
			fr, err := sp.Next()
			if err != nil {
				return frames
			}
			if fr.Err != nil {
				t.Fatalf("%v frame: %v", f, fr.Err)
			}
			frames = append(frames, fr.Data)
		}
	}
	m := normalize.Meta{FileHeader: string(header)}

	frames := frame(framing.CSV)
	if len(frames) != 2 {
		t.Fatalf("%d CSV frames, want the header and the record", len(frames))
	}
	if _, err := (Decoder{}).Decode(frames[0], m); !errors.Is(err, normalize.ErrSkipped) {
		t.Errorf("header line: %v", err)
	}
	ev := one(t, string(frames[1]), m)
	if ev.Prowler.Remediation.Code.CLI != "aws accessanalyzer create-analyzer \\\n  --analyzer-name <NAME>" {
		t.Errorf("cli = %q", ev.Prowler.Remediation.Code.CLI)
	}

	frames = frame(framing.Lines)
	if len(frames) != 3 {
		t.Fatalf("%d line frames, want the header and two halves", len(frames))
	}
	for i, want := range []string{"a field with a line break splits its record in two", "the rest of a record that a line break inside a quoted field split"} {
		evs, err := Decoder{}.Decode(frames[i+1], m)
		if len(evs) != 0 || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("half %d: %d events, error %v; want %q", i+1, len(evs), err, want)
		}
	}
}

func TestCSVHeader(t *testing.T) {
	csvFile := readFile(t, corpus+"examples/output/example_output_aws.csv")
	header, _, _ := cutLine(csvFile)
	for _, m := range []normalize.Meta{{}, {FileHeader: string(header)}} {
		evs, err := Decoder{}.Decode(header, m)
		if len(evs) != 0 || !errors.Is(err, normalize.ErrSkipped) {
			t.Errorf("header line: %d events, %v", len(evs), err)
		}
	}
	// A v3 header, lower case.
	v3Header := "assessment_start_time;finding_unique_id;provider;check_id;check_title;check_type;status;status_extended;service_name;subservice_name;severity;resource_type;resource_details;resource_tags;description;risk;related_url;remediation_recommendation_text;remediation_recommendation_url;remediation_recommendation_code_nativeiac;remediation_recommendation_code_terraform;remediation_recommendation_code_cli;remediation_recommendation_code_other;compliance;categories;depends_on;related_to;notes;profile;account_id;account_name;account_email;account_arn;account_org;account_tags;region;resource_id;resource_arn"
	if _, err := (Decoder{}).Decode([]byte(v3Header), normalize.Meta{}); !errors.Is(err, normalize.ErrSkipped) {
		t.Errorf("v3 header: %v", err)
	}
	v3Line := "2023-06-12T09:41:07.112233;prowler-aws-s3_bucket_default_encryption-123456789012-eu-west-1-example-logs;aws;s3_bucket_default_encryption;Check if S3 buckets have default encryption (SSE) enabled;Data Protection;FAIL;S3 Bucket example-logs has Server Side Encryption disabled.;s3;;medium;AwsS3Bucket;;team=platform | env=prod;Check if S3 buckets have default encryption.;Data at rest is exposed.;;Enable default encryption.;https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html;;;aws s3api put-bucket-encryption;;CIS-1.5: 2.1.1 | ENS-RD2022: mp.si.2.aws.s3.1;encryption;;;;default;123456789012;;;;;;eu-west-1;example-logs;arn:aws:s3:::example-logs"
	ev := one(t, v3Line, normalize.Meta{FileHeader: v3Header})
	if ev.Rule.ID != "s3_bucket_default_encryption" || ev.Resource.ID != "arn:aws:s3:::example-logs" || ev.Resource.Name != "example-logs" || ev.Cloud.Account.ID != "123456789012" || ev.Prowler.Profile != "default" {
		t.Errorf("v3 CSV: rule %+v resource %+v cloud %+v", ev.Rule, ev.Resource, ev.Cloud)
	}
	if !reflect.DeepEqual(ev.Prowler.Compliance, map[string][]string{"CIS-1.5": {"2.1.1"}, "ENS-RD2022": {"mp.si.2.aws.s3.1"}}) {
		t.Errorf("compliance = %v", ev.Prowler.Compliance)
	}
	if !reflect.DeepEqual(ev.Prowler.Resource.Tags, map[string]string{"team": "platform", "env": "prod"}) {
		t.Errorf("tags = %v", ev.Prowler.Resource.Tags)
	}
	// Without its header, a line of another width cannot be read.
	_, err := Decoder{}.Decode([]byte(v3Line), normalize.Meta{})
	if err == nil || !strings.Contains(err.Error(), "header_line") {
		t.Errorf("v3 line without header: %v", err)
	}
	// A header that is not Prowler's.
	_, err = Decoder{}.Decode([]byte(v3Line), normalize.Meta{FileHeader: "a;b;c"})
	if err == nil || !strings.Contains(err.Error(), "not a Prowler CSV header") {
		t.Errorf("foreign header: %v", err)
	}
}

// TestPartial: a batch with a bad item gives the good events and a
// PartialError that locates the bad one.
func TestPartial(t *testing.T) {
	asff := elements(t, corpus+"docs-extracted/reporting_json_asff_example.json")[0]
	ocsf := elements(t, corpus+"docs-extracted/reporting_json_ocsf_example.json")[0]
	noTime := strings.Replace(asff, `"UpdatedAt":"2022-12-01T13:16:57Z","CreatedAt":"2022-12-01T13:16:57Z"`, `"UpdatedAt":"yesterday"`, 1)
	tests := []struct {
		name, raw string
		good      int
		path      string
		want      string
	}{
		{"asff batch", `{"Findings":[` + asff + `,` + noTime + `,` + asff + `]}`, 2, "Findings[1]", `UpdatedAt "yesterday" is not a time`},
		{"asff batch, item not an object", `{"Findings":[` + asff + `,42]}`, 1, "Findings[1]", "JSON number where an object belongs"},
		{"eventbridge", `{"detail-type":"Security Hub Findings - Imported","detail":{"findings":[{"GeneratorId":"prowler-x"},` + asff + `]}}`, 1, "detail.findings[0]", "no finding time"},
		{"array", `[` + ocsf + `, {"CheckID": 7}, ` + ocsf + `]`, 2, "[1]", "field CheckID"},
		{"array, broken element", `[` + ocsf + `, {"finding_info": ]`, 1, "[1]", "invalid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := Decoder{}.Decode([]byte(tc.raw), normalize.Meta{})
			var pe *normalize.PartialError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a PartialError", err)
			}
			if len(evs) != tc.good {
				t.Errorf("%d events, want %d", len(evs), tc.good)
			}
			for _, ev := range evs {
				normalizetest.CheckEvent(t, tc.name, ev)
			}
			// A broken element can also leave the array unclosed: that is
			// reported after it.
			if len(pe.Items) < 1 || pe.Items[0].Path != tc.path || !strings.Contains(pe.Items[0].Err.Error(), tc.want) || len(pe.Items[0].Raw) == 0 {
				t.Errorf("items = %+v; want one at %s: %s", pe.Items, tc.path, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ocsf := elements(t, corpus+"docs-extracted/reporting_json_ocsf_example.json")[0]
	asff := elements(t, corpus+"docs-extracted/reporting_json_asff_example.json")[0]
	tests := []struct{ name, raw, want string }{
		{"empty", "  \n", "empty record"},
		{"truncated JSON", ocsf[:200], "invalid JSON"},
		{"not a finding", `{"hello":"world"}`, "not a Prowler finding"},
		{"other OCSF product", strings.Replace(ocsf, `"name":"Prowler"`, `"name":"Wiz"`, 1), `an OCSF finding from "Wiz"`},
		{"no check id", strings.Replace(ocsf, `"event_code":"ecs_task_definitions_no_environment_secrets"`, `"event_code":""`, 1), "no check id (metadata.event_code)"},
		{"no time", strings.NewReplacer(`"time":1737995806,`, ``, `"time_dt":"2025-01-27T17:36:46.855898",`, ``, `"created_time":1737995806,`, ``, `"created_time_dt":"2025-01-27T17:36:46.855898",`, ``).Replace(ocsf), "no finding time"},
		{"time out of range", strings.Replace(ocsf, `"time":1737995806`, `"time":1e300`, 1), "out of range"},
		{"bad status", strings.Replace(ocsf, `"status_code":"FAIL"`, `"status_code":"F A I L"`, 1), "not a check status"},
		{"no status", strings.Replace(ocsf, `"status_code":"FAIL"`, `"status_code":""`, 1), "no check status (status_code)"},
		{"other ASFF product", strings.NewReplacer(`"GeneratorId":"prowler-`, `"GeneratorId":"`, `product/prowler/prowler`, `product/aws/guardduty`, `"ProviderName":"Prowler"`, `"ProviderName":"GuardDuty"`).Replace(asff), "not from Prowler"},
		{"bad ASFF status", strings.Replace(asff, `"Status":"PASSED"`, `"Status":"GREEN"`, 1), `Compliance.Status "GREEN"`},
		{"no ASFF status", strings.Replace(asff, `"Status":"PASSED",`, ``, 1), "no check status (Compliance.Status)"},
		{"other detail-type", `{"detail-type":"GuardDuty Finding","detail":{}}`, "not Security Hub findings"},
		{"empty batch", `{"Findings":[]}`, "no finding in the batch"},
		{"empty array", `[]`, "empty JSON array"},
		{"not JSON, not CSV", `hello`, "neither JSON nor a semicolon-separated CSV line"},
		{"bad CSV time", "x;2025-13-45 99:00:00;" + strings.Repeat(";", 39), "TIMESTAMP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := Decoder{}.Decode([]byte(tc.raw), normalize.Meta{})
			if err == nil || len(evs) != 0 || errors.Is(err, normalize.ErrSkipped) {
				t.Fatalf("%d events, error %v", len(evs), err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestConcurrent decodes the corpus from many goroutines at once (run
// with -race) and checks that every result is the serial one.
func TestConcurrent(t *testing.T) {
	var records []string
	for _, c := range cases(t) {
		for _, l := range normalizetest.Run(t, Decoder{}, c) {
			if l.Event != nil {
				records = append(records, l.Event.Event.Original)
			}
		}
	}
	want := make([][]byte, len(records))
	for i, r := range records {
		evs, _ := Decoder{}.Decode([]byte(r), normalize.Meta{KeepOriginal: true})
		want[i], _ = json.Marshal(evs)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, r := range records {
				evs, _ := Decoder{}.Decode([]byte(r), normalize.Meta{KeepOriginal: true})
				got, _ := json.Marshal(evs)
				if !bytes.Equal(got, want[i]) {
					t.Errorf("record %d decodes differently when concurrent", i)
					return
				}
			}
		}()
	}
	wg.Wait()
}
