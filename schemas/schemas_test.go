package schemas_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/detect"
	"github.com/vigilsec/vigil/correlators/ruleset"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/schemas"
)

func TestSchemasCompile(t *testing.T) {
	for _, s := range []string{schemas.Event, schemas.Alert} {
		b, err := schemas.File(s)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s is not JSON: %v", s, err)
		}
		if v["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema = %v", s, v["$schema"])
		}
	}
	if err := schemas.Validate("nope.json", []byte(`{}`)); err == nil {
		t.Error("unknown schema accepted")
	}
}

func sampleEvent() *ecs.Event {
	ts := time.Date(2026, 11, 2, 9, 12, 41, 0, time.UTC)
	mfa := false
	return &ecs.Event{
		Timestamp: ts,
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event:     ecs.EventMeta{ID: "e1", Kind: "event", Dataset: "aws.cloudtrail", Action: "ConsoleLogin", Outcome: "success", Category: []string{"authentication"}, Type: []string{"start"}},
		Cloud:     &ecs.Cloud{Provider: "aws", Region: "us-east-1", Account: &ecs.CloudAccount{ID: "111122223333"}},
		Source:    &ecs.Endpoint{IP: "203.0.113.77", Address: "203.0.113.77"},
		User:      &ecs.User{Name: "root"},
		AWS: &ecs.AWS{CloudTrail: &ecs.CloudTrail{
			UserIdentity: &ecs.UserIdentity{Type: "Root"},
			ConsoleLogin: &ecs.ConsoleLogin{AdditionalEventData: &ecs.ConsoleLoginData{MFAUsed: &mfa}},
		}},
	}
}

func TestEventAndAlertValidate(t *testing.T) {
	ev := sampleEvent()
	b, _ := json.Marshal(ev)
	if err := schemas.Validate(schemas.Event, b); err != nil {
		t.Errorf("event: %v", err)
	}
	set, _, err := ruleset.Load(ruleset.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	root := set.Find("8ad1600d-e9dc-4251-b0ee-a65268f29add") // AWS Root Credentials
	if root == nil {
		t.Fatal("no AWS Root Credentials rule")
	}
	a := detect.NewAlert(detect.Info(root), ev, "f.json:1")
	b, _ = json.Marshal(a)
	if err := schemas.Validate(schemas.Alert, b); err != nil {
		t.Errorf("alert: %v", err)
	}
}

func TestViolationsAreReported(t *testing.T) {
	cases := map[string]struct {
		schema, doc, want string
	}{
		"missing timestamp": {schemas.Event, `{"ecs":{"version":"8.11.0"},"event":{"id":"x","kind":"event","dataset":"d"}}`, "@timestamp"},
		"bad ip":            {schemas.Event, `{"@timestamp":"2026-01-01T00:00:00Z","ecs":{"version":"8.11.0"},"event":{"id":"x","kind":"event","dataset":"d"},"source":{"ip":"not-an-ip"}}`, "/source/ip"},
		"unknown field":     {schemas.Event, `{"@timestamp":"2026-01-01T00:00:00Z","ecs":{"version":"8.11.0"},"event":{"id":"x","kind":"event","dataset":"d"},"sauce":{}}`, "sauce"},
		"alert kind":        {schemas.Alert, `{"@timestamp":"2026-01-01T00:00:00Z","message":"m","ecs":{"version":"8.11.0"},"event":{"id":"0123456789abcdef0123456789abcdef","kind":"event","dataset":"vigil.alerts","severity":47},"rule":{"id":"r","name":"n"},"vigil":{"level":"medium","kind":"detection","count":1,"evidence":[{"id":"e"}]}}`, "/event/kind"},
		"no evidence":       {schemas.Alert, `{"@timestamp":"2026-01-01T00:00:00Z","message":"m","ecs":{"version":"8.11.0"},"event":{"id":"0123456789abcdef0123456789abcdef","kind":"alert","dataset":"vigil.alerts","severity":47},"rule":{"id":"r","name":"n"},"vigil":{"level":"medium","kind":"detection","count":1,"evidence":[]}}`, "/vigil/evidence"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := schemas.Validate(c.schema, []byte(c.doc))
			if err == nil {
				t.Fatal("invalid document accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestRemediation(t *testing.T) {
	request := `{"id":"0123456789abcdef0123456789abcdef","@timestamp":"2026-11-02T09:15:12Z","action":"aws.iam.disable-access-key","mode":"dry_run",
		"target":{"cloud":{"provider":"aws","account":{"id":"111122223333"},"region":"us-east-1"},"resource":{"type":"AWS::IAM::AccessKey","id":"AKIAIOSFODNN7EXAMPLE"}},
		"parameters":{"user":"backup-admin"},"reason":"AWS Root Credentials: root called CreateAccessKey",
		"alert":{"id":"fedcba9876543210fedcba9876543210","rule":{"id":"8ad1600d-e9dc-4251-b0ee-a65268f29add","name":"AWS Root Credentials"}},"requested_by":"disable-keys-made-by-root"}`
	if err := schemas.Validate(schemas.RemediationRequest, []byte(request)); err != nil {
		t.Errorf("request: %v", err)
	}
	result := `{"request_id":"0123456789abcdef0123456789abcdef","@timestamp":"2026-11-02T09:15:13Z","action":"aws.iam.disable-access-key","status":"dry_run","executor":"executor-0",
		"changes":[{"description":"set access key AKIAIOSFODNN7EXAMPLE Inactive","before":"Active","after":"Inactive"}]}`
	if err := schemas.Validate(schemas.RemediationResult, []byte(result)); err != nil {
		t.Errorf("result: %v", err)
	}
	for name, c := range map[string]struct{ schema, doc, want string }{
		"unknown action":    {schemas.RemediationRequest, strings.Replace(request, "aws.iam.disable-access-key", "aws.iam.delete-everything", 1), "/action"},
		"no mode":           {schemas.RemediationRequest, strings.Replace(request, `"mode":"dry_run",`, "", 1), "mode"},
		"failed, no error":  {schemas.RemediationResult, strings.Replace(result, `"status":"dry_run"`, `"status":"failed"`, 1), "error"},
		"unknown status":    {schemas.RemediationResult, strings.Replace(result, `"status":"dry_run"`, `"status":"maybe"`, 1), "/status"},
		"target without id": {schemas.RemediationRequest, strings.Replace(request, `,"id":"AKIAIOSFODNN7EXAMPLE"`, "", 1), "id"},
	} {
		t.Run(name, func(t *testing.T) {
			err := schemas.Validate(c.schema, []byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v does not mention %q", err, c.want)
			}
		})
	}
}
