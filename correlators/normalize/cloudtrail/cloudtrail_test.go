package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// corpusDir holds the code blocks of the AWS CloudTrail user guide,
// relative to this package's directory.
const corpusDir = "../../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/"

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Fatalf("corpus file missing (testdata/corpus holds the third-party test data): %v", err)
	}
	return b
}

// decode runs the decoder and checks what must hold of every result: an
// error comes without events, and every event is well formed and survives
// a JSON round trip.
func decode(t *testing.T, raw []byte, keep bool) ([]*ecs.Event, error) {
	t.Helper()
	evs, err := Decoder{}.Decode(raw, normalize.Meta{Origin: "test", KeepOriginal: keep})
	var pe *normalize.PartialError
	if err != nil && !errors.As(err, &pe) {
		if len(evs) > 0 {
			t.Errorf("Decode returned %d events with the error %v", len(evs), err)
		}
		return nil, err
	}
	for i, ev := range evs {
		if ev == nil {
			t.Fatalf("event %d is nil", i)
		}
		checkRoundTrip(t, ev)
		if !keep && ev.Event.Original != "" {
			t.Errorf("event %d: event.original set without KeepOriginal", i)
		}
		if keep && ev.Event.Original == "" {
			t.Errorf("event %d: event.original empty with KeepOriginal", i)
		}
	}
	return evs, err
}

// checkRoundTrip checks that an event marshals to JSON that unmarshals to
// an event that marshals to the same bytes.
func checkRoundTrip(t testing.TB, ev *ecs.Event) {
	t.Helper()
	first, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var back ecs.Event
	if err := json.Unmarshal(first, &back); err != nil {
		t.Fatalf("json.Unmarshal of %s: %v", first, err)
	}
	second, err := json.Marshal(&back)
	if err != nil {
		t.Fatalf("json.Marshal after the round trip: %v", err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("JSON changed in a round trip:\nfirst:  %s\nsecond: %s", first, second)
	}
}

func ptr[T any](v T) *T { return &v }

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// timestamp is an event's @timestamp as written in JSON.
func timestamp(t *testing.T, ev *ecs.Event) string {
	t.Helper()
	b, err := json.Marshal(ev.Timestamp)
	if err != nil {
		t.Fatalf("@timestamp %v: %v", ev.Timestamp, err)
	}
	return strings.Trim(string(b), `"`)
}

// wantEvent is what a golden test checks of one event. Empty strings and
// nil pointers are checked too: they mean the field must be empty.
type wantEvent struct {
	ts        string
	id        string
	action    string
	outcome   string
	category  []string
	typ       []string
	provider  string
	service   string
	region    string
	account   string
	userName  string
	userID    string
	ip        string
	errorCode string
	eventType string
	readOnly  *bool
	// console_login.additional_eventdata; nil means none.
	login *ecs.ConsoleLoginData
}

func checkEvent(t *testing.T, i int, ev *ecs.Event, w wantEvent) {
	t.Helper()
	errorf := func(field string, got, want any) {
		t.Helper()
		t.Errorf("event %d: %s = %#v, want %#v", i, field, got, want)
	}
	if ts := timestamp(t, ev); ts != w.ts {
		errorf("@timestamp", ts, w.ts)
	}
	if ev.ECS.Version != ecs.Version {
		errorf("ecs.version", ev.ECS.Version, ecs.Version)
	}
	e := ev.Event
	if e.Kind != "event" || e.Dataset != "aws.cloudtrail" || e.Module != "aws" {
		t.Errorf("event %d: kind, dataset, module = %q, %q, %q", i, e.Kind, e.Dataset, e.Module)
	}
	if e.ID != w.id && (w.id != "" || len(e.ID) != 32) {
		errorf("event.id (a record without eventID gets a 32-hex derived id)", e.ID, w.id)
	}
	if e.Action != w.action {
		errorf("event.action", e.Action, w.action)
	}
	if e.Outcome != w.outcome {
		errorf("event.outcome", e.Outcome, w.outcome)
	}
	if !equal(e.Category, w.category) {
		errorf("event.category", e.Category, w.category)
	}
	if !equal(e.Type, w.typ) {
		errorf("event.type", e.Type, w.typ)
	}
	if e.Provider != w.provider {
		errorf("event.provider", e.Provider, w.provider)
	}

	if ev.Cloud == nil {
		t.Fatalf("event %d: no cloud", i)
	}
	if ev.Cloud.Provider != "aws" {
		errorf("cloud.provider", ev.Cloud.Provider, "aws")
	}
	if ev.Cloud.Region != w.region {
		errorf("cloud.region", ev.Cloud.Region, w.region)
	}
	var account, service string
	if ev.Cloud.Account != nil {
		account = ev.Cloud.Account.ID
	}
	if account != w.account {
		errorf("cloud.account.id", account, w.account)
	}
	if ev.Cloud.Service != nil {
		service = ev.Cloud.Service.Name
	}
	if service != w.service {
		errorf("cloud.service.name", service, w.service)
	}

	var userName, userID string
	if ev.User != nil {
		userName, userID = ev.User.Name, ev.User.ID
	}
	if userName != w.userName {
		errorf("user.name", userName, w.userName)
	}
	if userID != w.userID {
		errorf("user.id", userID, w.userID)
	}
	var ip string
	if ev.Source != nil {
		ip = ev.Source.IP
	}
	if ip != w.ip {
		errorf("source.ip", ip, w.ip)
	}
	// related.* holds the IP and the user name, when known.
	var wantRelated *ecs.Related
	if w.ip != "" || w.userName != "" {
		wantRelated = &ecs.Related{}
		if w.ip != "" {
			wantRelated.IP = []string{w.ip}
		}
		if w.userName != "" {
			wantRelated.User = []string{w.userName}
		}
	}
	if (ev.Related == nil) != (wantRelated == nil) ||
		ev.Related != nil && (!equal(ev.Related.IP, wantRelated.IP) || !equal(ev.Related.User, wantRelated.User)) {
		errorf("related", ev.Related, wantRelated)
	}

	if ev.AWS == nil || ev.AWS.CloudTrail == nil {
		t.Fatalf("event %d: no aws.cloudtrail", i)
	}
	ct := ev.AWS.CloudTrail
	if ct.ErrorCode != w.errorCode {
		errorf("aws.cloudtrail.error_code", ct.ErrorCode, w.errorCode)
	}
	if ct.EventType != w.eventType {
		errorf("aws.cloudtrail.event_type", ct.EventType, w.eventType)
	}
	if (ct.ReadOnly == nil) != (w.readOnly == nil) || ct.ReadOnly != nil && *ct.ReadOnly != *w.readOnly {
		errorf("aws.cloudtrail.read_only", ct.ReadOnly, w.readOnly)
	}
	var login *ecs.ConsoleLoginData
	if ct.ConsoleLogin != nil {
		login = ct.ConsoleLogin.AdditionalEventData
		if login == nil {
			t.Errorf("event %d: console_login without additional_eventdata", i)
		}
	}
	switch {
	case (login == nil) != (w.login == nil):
		errorf("aws.cloudtrail.console_login.additional_eventdata", login, w.login)
	case login != nil:
		if !boolPtrEqual(login.MFAUsed, w.login.MFAUsed) {
			errorf("aws.cloudtrail.console_login.additional_eventdata.mfa_used", login.MFAUsed, w.login.MFAUsed)
		}
		if !boolPtrEqual(login.MobileVersion, w.login.MobileVersion) {
			errorf("aws.cloudtrail.console_login.additional_eventdata.mobile_version", login.MobileVersion, w.login.MobileVersion)
		}
		if login.LoginTo != w.login.LoginTo {
			errorf("aws.cloudtrail.console_login.additional_eventdata.login_to", login.LoginTo, w.login.LoginTo)
		}
	}
}

func boolPtrEqual(a, b *bool) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

const consoleHome = "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true"

// signIn is the common part of the console sign-in examples.
func signIn(user, id, outcome string, login *ecs.ConsoleLoginData) wantEvent {
	return wantEvent{
		ts: "2022-11-10T16:24:34Z", id: id, action: "ConsoleLogin", outcome: outcome,
		category: []string{"authentication"}, typ: []string{"start"},
		provider: "signin.amazonaws.com", service: "signin", region: "us-east-1",
		account: "111122223333", userName: user, userID: "AIDACKCEVSQ6C2EXAMPLE", ip: "192.0.2.0",
		eventType: "AwsConsoleSignIn", login: login,
	}
}

// alice is the common part of the log file examples.
func alice(ts, action, ip string, category, typ []string, provider string) wantEvent {
	return wantEvent{
		ts: ts, action: action, outcome: "success", category: category, typ: typ,
		provider: provider, service: strings.TrimSuffix(provider, ".amazonaws.com"), region: "us-east-2",
		account: "123456789012", userName: "Alice", userID: "EX_PRINCIPAL_ID", ip: ip,
	}
}

func TestDecodeAWSExamples(t *testing.T) {
	no, yes := ptr(false), ptr(true)
	config := []string{"configuration"}
	tests := []struct {
		file   string
		events []wantEvent
	}{
		{"cloudtrail-event-reference-aws-console-sign-in-events_block01.json", []wantEvent{func() wantEvent {
			w := signIn("anaya", "3fcfb182-98f8-4744-bd45-10a395ab61cb", "success",
				&ecs.ConsoleLoginData{MFAUsed: no, MobileVersion: no, LoginTo: "https://console.aws.amazon.com/sns"})
			w.region = "us-east-2" // and no recipientAccountId: the account is the caller's
			return w
		}()}},
		{"cloudtrail-event-reference-aws-console-sign-in-events_block02.json", []wantEvent{
			signIn("anaya", "fed06f42-cb12-4764-8c69-121063dc79b9", "success", &ecs.ConsoleLoginData{MFAUsed: yes, MobileVersion: no, LoginTo: consoleHome}),
		}},
		{"cloudtrail-event-reference-aws-console-sign-in-events_block03.json", []wantEvent{
			signIn("anaya", "d38ce1b3-4575-4cb8-a632-611b8243bfc3", "failure", &ecs.ConsoleLoginData{MFAUsed: yes, MobileVersion: no, LoginTo: consoleHome}),
		}},
		{"cloudtrail-event-reference-aws-console-sign-in-events_block04.json", []wantEvent{func() wantEvent {
			w := signIn("anaya", "f8ef8fc5-e3e8-4ee1-9d52-2f412ddf17e3", "success", nil)
			w.action = "CheckMfa"
			return w
		}()}},
		{"cloudtrail-event-reference-aws-console-sign-in-events_block05.json", []wantEvent{func() wantEvent {
			w := signIn("anaya", "f8ef8fc5-e3e8-4ee1-9d52-2f412ddf17e3", "success", nil)
			w.action = "CheckMfa"
			return w
		}()}},
		{"cloudtrail-event-reference-aws-console-sign-in-events_block06.json", []wantEvent{
			signIn("root", "deb1e1f9-c99b-4612-8e9f-21f93b5d79c0", "success", &ecs.ConsoleLoginData{MFAUsed: no, MobileVersion: no, LoginTo: consoleHome}),
		}},
		{"cloudtrail-event-reference-aws-console-sign-in-events_block07.json", []wantEvent{
			// "MFAUsed": "YES"
			signIn("root", "deb1e1f9-c99b-4612-8e9f-21f93b5d79c0", "success", &ecs.ConsoleLoginData{MFAUsed: yes, MobileVersion: no, LoginTo: consoleHome}),
		}},
		{"cloudtrail-event-reference-aws-console-sign-in-events_block08.json", []wantEvent{
			signIn("root", "a4fbbe77-91a0-4238-804a-64314184edb6", "failure", &ecs.ConsoleLoginData{MFAUsed: no, MobileVersion: no, LoginTo: consoleHome}),
		}},
		{"cloudtrail-event-reference-aws-console-sign-in-events_block09.json", []wantEvent{func() wantEvent {
			w := signIn("root", "EXAMPLEb-7dae-48cb-895f-20e86EXAMPLE", "success", nil)
			w.action, w.provider, w.service = "EnableMFADevice", "iam.amazonaws.com", "iam"
			w.category, w.typ = []string{"iam"}, []string{"change"}
			w.eventType, w.readOnly = "AwsApiCall", no
			return w
		}()}},
		{"cloudtrail-event-reference-aws-console-sign-in-events_block10.json", []wantEvent{func() wantEvent {
			w := signIn("root", "EXAMPLEd-244c-4044-abbf-21c64EXAMPLE", "success", nil)
			w.action = "PasswordUpdated"
			return w
		}()}},
		{"cloudtrail-log-file-examples_block03.json", []wantEvent{
			alice("2014-03-06T21:22:54Z", "StartInstances", "205.251.233.176", config, []string{"change"}, "ec2.amazonaws.com"),
		}},
		{"cloudtrail-log-file-examples_block04.json", []wantEvent{
			alice("2014-03-06T21:01:59Z", "StopInstances", "205.251.233.176", config, []string{"change"}, "ec2.amazonaws.com"),
		}},
		{"cloudtrail-log-file-examples_block05.json", []wantEvent{
			alice("2014-03-06T17:10:34Z", "CreateKeyPair", "72.21.198.64", config, []string{"creation"}, "ec2.amazonaws.com"),
		}},
		{"cloudtrail-log-file-examples_block06.json", []wantEvent{
			alice("2014-03-24T21:11:59Z", "CreateUser", "127.0.0.1", []string{"iam"}, []string{"creation"}, "iam.amazonaws.com"),
		}},
		{"cloudtrail-log-file-examples_block07.json", []wantEvent{
			alice("2014-03-25T21:08:14Z", "AddUserToGroup", "127.0.0.1", []string{"iam"}, []string{"change"}, "iam.amazonaws.com"),
		}},
		{"cloudtrail-log-file-examples_block09.json", []wantEvent{func() wantEvent {
			w := alice("2016-07-14T19:15:45Z", "UpdateTrail", "205.251.233.182", config, []string{"change"}, "cloudtrail.amazonaws.com")
			w.id, w.outcome, w.errorCode, w.eventType = "b7d4398e-b2f0-4faa-9c76-e2d316a8d67f", "failure", "TrailNotFoundException", "AwsApiCall"
			return w
		}()}},
		{"cloudtrail-log-file-examples_block10.json", []wantEvent{
			// Insight events: no caller, no outcome.
			{
				ts: "2019-11-14T00:51:00Z", id: "EXAMPLE8-9621-4d00-b913-beca2EXAMPLE", category: config, typ: []string{"info"},
				region: "us-east-1", account: "123456789012", eventType: "AwsCloudTrailInsight",
			},
			{
				ts: "2019-11-14T00:52:00Z", id: "EXAMPLEc-28be-486c-8928-49ce6EXAMPLE", category: config, typ: []string{"info"},
				region: "us-east-1", account: "123456789012", eventType: "AwsCloudTrailInsight",
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw := readCorpus(t, tc.file)
			for _, keep := range []bool{false, true} {
				evs, err := decode(t, raw, keep)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if len(evs) != len(tc.events) {
					t.Fatalf("Decode returned %d events, want %d", len(evs), len(tc.events))
				}
				for i, ev := range evs {
					checkEvent(t, i, ev, tc.events[i])
				}
			}
		})
	}
}

// TestDecodeAWSExamplesDetails checks fields the golden table leaves out.
func TestDecodeAWSExamplesDetails(t *testing.T) {
	t.Run("error message of a failed sign-in", func(t *testing.T) {
		evs, err := decode(t, readCorpus(t, "cloudtrail-event-reference-aws-console-sign-in-events_block03.json"), false)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Decode = %d events, %v", len(evs), err)
		}
		if got := evs[0].AWS.CloudTrail.ErrorMessage; got != "Failed authentication" {
			t.Errorf("error_message = %q", got)
		}
		if got := evs[0].UserAgent; got == nil || !strings.HasPrefix(got.Original, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6)") {
			t.Errorf("user_agent = %+v", got)
		}
	})
	t.Run("session context", func(t *testing.T) {
		evs, err := decode(t, readCorpus(t, "cloudtrail-log-file-examples_block05.json"), false)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Decode = %d events, %v", len(evs), err)
		}
		ui := evs[0].AWS.CloudTrail.UserIdentity
		if ui == nil || ui.Type != "IAMUser" || ui.ARN != "arn:aws:iam::123456789012:user/Alice" || ui.AccessKeyID != "EXAMPLE_KEY_ID" {
			t.Fatalf("user_identity = %+v", ui)
		}
		sc := ui.SessionContext
		if sc == nil || sc.MFAAuthenticated != "false" || sc.CreationDate != "2014-03-06T15:15:06Z" || sc.SessionIssuer != nil {
			t.Errorf("session_context = %+v", sc)
		}
	})
	t.Run("request and response", func(t *testing.T) {
		evs, err := decode(t, readCorpus(t, "cloudtrail-log-file-examples_block06.json"), false)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Decode = %d events, %v", len(evs), err)
		}
		ct := evs[0].AWS.CloudTrail
		if ct.RequestParameters != `{"userName":"Bob"}` {
			t.Errorf("request_parameters = %q", ct.RequestParameters)
		}
		if !strings.Contains(ct.ResponseElements, `"arn":"arn:aws:iam::123456789012:user/Bob"`) {
			t.Errorf("response_elements = %q", ct.ResponseElements)
		}
		if ct.Flattened == nil {
			t.Fatal("no flattened fields")
		}
		var rp map[string]any
		if err := json.Unmarshal(ct.Flattened.RequestParameters, &rp); err != nil || rp["userName"] != "Bob" {
			t.Errorf("flattened.request_parameters = %s", ct.Flattened.RequestParameters)
		}
	})
	t.Run("null response", func(t *testing.T) {
		evs, err := decode(t, readCorpus(t, "cloudtrail-log-file-examples_block07.json"), false)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Decode = %d events, %v", len(evs), err)
		}
		ct := evs[0].AWS.CloudTrail
		if ct.ResponseElements != "" || ct.Flattened == nil || ct.Flattened.ResponseElements != nil {
			t.Errorf("a null responseElements gave %q, %+v", ct.ResponseElements, ct.Flattened)
		}
		if ct.RequestParameters != `{"userName":"Bob","groupName":"admin"}` {
			t.Errorf("request_parameters = %q", ct.RequestParameters)
		}
	})
	t.Run("request id", func(t *testing.T) {
		evs, err := decode(t, readCorpus(t, "cloudtrail-log-file-examples_block09.json"), false)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Decode = %d events, %v", len(evs), err)
		}
		ct := evs[0].AWS.CloudTrail
		if ct.RequestID != "5d40662a-49f7-11e6-97e4-d9cb6ff7d6a3" || ct.RecipientAccountID != "123456789012" || ct.EventVersion != "1.04" {
			t.Errorf("request_id, recipient_account_id, event_version = %q, %q, %q", ct.RequestID, ct.RecipientAccountID, ct.EventVersion)
		}
		if ct.ErrorMessage != "Unknown trail: myTrail2 for the user: 123456789012" {
			t.Errorf("error_message = %q", ct.ErrorMessage)
		}
	})
	t.Run("insight", func(t *testing.T) {
		evs, err := decode(t, readCorpus(t, "cloudtrail-log-file-examples_block10.json"), false)
		if err != nil || len(evs) != 2 {
			t.Fatalf("Decode = %d events, %v", len(evs), err)
		}
		for i, ev := range evs {
			ct := ev.AWS.CloudTrail
			if ct.EventCategory != "Insight" || ct.SharedEventID != "EXAMPLE2-1729-42f1-b735-5d8c0EXAMPLE" {
				t.Errorf("event %d: event_category, shared_event_id = %q, %q", i, ct.EventCategory, ct.SharedEventID)
			}
			if ev.User != nil || ev.Source != nil || ev.UserAgent != nil {
				t.Errorf("event %d: an insight has no caller: user %+v, source %+v, user_agent %+v", i, ev.User, ev.Source, ev.UserAgent)
			}
		}
	})
}

func TestDecodeAWSExamplesErrors(t *testing.T) {
	tests := []struct {
		file string
		want string // in the error message
	}{
		// Only a userIdentity: not an event.
		{"cloudtrail-event-reference-user-identity_block06.json", "eventTime"},
		// A raw newline inside a string.
		{"cloudtrail-log-file-examples_block08.json-ish.txt", "invalid JSON"},
		// Fragments of events.
		{"cloudtrail-event-reference-user-identity_block01.txt", "invalid JSON"},
		{"cloudtrail-event-reference-user-identity_block04.txt", "invalid JSON"},
		{"cloudtrail-event-reference-user-identity_block05.txt", "invalid JSON"},
		// A log file name.
		{"cloudtrail-log-file-examples_block02.txt", "invalid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			evs, err := decode(t, readCorpus(t, tc.file), true)
			if err == nil {
				t.Fatalf("Decode returned %d events and no error", len(evs))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestDecodeAllExamples checks that every example file that is JSON gives
// events, and every other one an error.
func TestDecodeAllExamples(t *testing.T) {
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatalf("corpus missing: %v", err)
	}
	var n int
	for _, e := range entries {
		n++
		t.Run(e.Name(), func(t *testing.T) {
			raw := readCorpus(t, e.Name())
			evs, err := decode(t, raw, true)
			switch {
			case !json.Valid(raw):
				if err == nil {
					t.Errorf("invalid JSON decoded to %d events", len(evs))
				}
			case strings.HasSuffix(e.Name(), "user-identity_block06.json"):
				// The one valid JSON file that is not an event.
			case err != nil:
				t.Errorf("Decode: %v", err)
			case len(evs) == 0:
				t.Errorf("no events")
			}
		})
	}
	if n < 20 {
		t.Errorf("only %d example files in %s", n, corpusDir)
	}
}

// A minimal event, for the crafted tests.
const minimal = `{"eventVersion":"1.08","eventTime":"2024-05-01T10:00:00Z","eventSource":"ec2.amazonaws.com",` +
	`"eventName":"RunInstances","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.7",` +
	`"userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:dev","arn":"arn:aws:sts::123456789012:assumed-role/Dev/dev","accountId":"123456789012"},` +
	`"eventID":"11111111-2222-3333-4444-555555555555","recipientAccountId":"123456789012"}`

// with returns the minimal event with fields replaced or added.
func with(t *testing.T, fields map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(minimal), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
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
	return b
}

func decodeOne(t *testing.T, raw []byte, keep bool) *ecs.Event {
	t.Helper()
	evs, err := decode(t, raw, keep)
	if err != nil {
		t.Fatalf("Decode: %v\ninput: %s", err, raw)
	}
	if len(evs) != 1 {
		t.Fatalf("Decode returned %d events, want 1", len(evs))
	}
	return evs[0]
}

func TestDecodeEventBridge(t *testing.T) {
	apiCall := `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"AWS API Call via CloudTrail",` +
		`"source":"aws.iam","account":"123456789012","time":"2024-05-01T10:00:01Z","region":"us-east-1","resources":[],` +
		`"detail":{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/Alice","accountId":"123456789012","userName":"Alice"},` +
		`"eventTime":"2024-05-01T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1",` +
		`"sourceIPAddress":"198.51.100.4","requestParameters":{"userName":"Bob"},"eventID":"e1","eventType":"AwsApiCall","recipientAccountId":"123456789012"}}`

	t.Run("API call", func(t *testing.T) {
		ev := decodeOne(t, []byte(apiCall), false)
		checkEvent(t, 0, ev, wantEvent{
			ts: "2024-05-01T10:00:00Z", id: "e1", action: "CreateAccessKey", outcome: "success",
			category: []string{"iam"}, typ: []string{"creation"}, provider: "iam.amazonaws.com", service: "iam",
			region: "us-east-1", account: "123456789012", userName: "Alice", userID: "AIDAEXAMPLE", ip: "198.51.100.4",
			eventType: "AwsApiCall",
		})
		if ev.AWS.CloudTrail.RequestParameters != `{"userName":"Bob"}` {
			t.Errorf("request_parameters = %q", ev.AWS.CloudTrail.RequestParameters)
		}
	})
	t.Run("KeepOriginal keeps the envelope", func(t *testing.T) {
		ev := decodeOne(t, []byte(apiCall), true)
		if ev.Event.Original != apiCall {
			t.Errorf("event.original = %q, want the whole envelope", ev.Event.Original)
		}
	})
	t.Run("console sign-in", func(t *testing.T) {
		detail := readCorpus(t, "cloudtrail-event-reference-aws-console-sign-in-events_block08.json")
		env := `{"version":"0","id":"x","detail-type":"AWS Console Sign In via CloudTrail","source":"aws.signin",` +
			`"account":"111122223333","time":"2022-11-10T16:24:34Z","region":"us-east-1","resources":[],"detail":` + string(detail) + `}`
		ev := decodeOne(t, []byte(env), false)
		checkEvent(t, 0, ev, signIn("root", "a4fbbe77-91a0-4238-804a-64314184edb6", "failure",
			&ecs.ConsoleLoginData{MFAUsed: ptr(false), MobileVersion: ptr(false), LoginTo: consoleHome}))
	})
	t.Run("resources as ARNs", func(t *testing.T) {
		// EventBridge's resources are ARN strings, unlike CloudTrail's.
		env := strings.Replace(apiCall, `"resources":[]`, `"resources":["arn:aws:iam::123456789012:user/Bob"]`, 1)
		ev := decodeOne(t, []byte(env), false)
		if ev.Event.Action != "CreateAccessKey" {
			t.Errorf("event.action = %q", ev.Event.Action)
		}
		if ev.AWS.CloudTrail.Resources != nil {
			t.Errorf("the envelope's resources were taken for the event's: %+v", ev.AWS.CloudTrail.Resources)
		}
	})
	t.Run("resources of the event", func(t *testing.T) {
		env := strings.Replace(apiCall, `"eventID":"e1"`,
			`"eventID":"e1","resources":[{"ARN":"arn:aws:iam::123456789012:user/Bob","accountId":"123456789012","type":"AWS::IAM::User"}]`, 1)
		ev := decodeOne(t, []byte(env), false)
		res := ev.AWS.CloudTrail.Resources
		if res == nil || !equal(res.ARN, []string{"arn:aws:iam::123456789012:user/Bob"}) || !equal(res.Type, []string{"AWS::IAM::User"}) {
			t.Errorf("resources = %+v", res)
		}
	})

	errTests := []struct {
		name  string
		input string
		want  string
	}{
		{
			"not CloudTrail",
			`{"version":"0","id":"x","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012",` +
				`"time":"2024-05-01T10:00:00Z","region":"us-east-1","resources":[],"detail":{"schemaVersion":"2.0","type":"Recon:EC2/PortProbeUnprotectedPort"}}`,
			`detail-type "GuardDuty Finding" is not a CloudTrail event`,
		},
		{
			"not CloudTrail, with resources",
			`{"version":"0","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2",` +
				`"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-0123"],"detail":{"instance-id":"i-0123","state":"running"}}`,
			"is not a CloudTrail event",
		},
		{"no detail", `{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.iam"}`, "detail"},
		{"null detail", `{"version":"0","detail-type":"AWS API Call via CloudTrail","detail":null}`, "eventTime"},
		{"detail not an event", `{"version":"0","detail-type":"AWS API Call via CloudTrail","detail":{"a":1}}`, "eventTime"},
		{"detail not an object", `{"version":"0","detail-type":"AWS API Call via CloudTrail","detail":[1]}`, "detail"},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := decode(t, []byte(tc.input), true)
			if err == nil {
				t.Fatalf("Decode returned %d events and no error", len(evs))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestDecodeDigest(t *testing.T) {
	digest := `{
  "awsAccountId": "111122223333",
  "digestStartTime": "2024-05-01T10:00:00Z",
  "digestEndTime": "2024-05-01T11:00:00Z",
  "digestS3Bucket": "example-bucket",
  "digestS3Object": "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20240501T110000Z.json.gz",
  "digestPublicKeyFingerprint": "0123456789abcdef0123456789abcdef",
  "digestSignatureAlgorithm": "SHA256withRSA",
  "newestEventTime": "2024-05-01T10:59:00Z",
  "oldestEventTime": "2024-05-01T10:01:00Z",
  "previousDigestS3Bucket": null,
  "previousDigestS3Object": null,
  "previousDigestHashValue": null,
  "previousDigestHashAlgorithm": null,
  "previousDigestSignature": null,
  "logFiles": [{"s3Bucket": "example-bucket", "s3Object": "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/x.json.gz",
    "hashValue": "00", "hashAlgorithm": "SHA-256", "newestEventTime": "2024-05-01T10:59:00Z", "oldestEventTime": "2024-05-01T10:01:00Z"}]
}`
	evs, err := decode(t, []byte(digest), true)
	if !errors.Is(err, normalize.ErrSkipped) || len(evs) != 0 {
		t.Fatalf("Decode of a digest file = %d events, %v; want none and normalize.ErrSkipped", len(evs), err)
	}
}

func TestDecodeRecords(t *testing.T) {
	records := func(recs ...string) []byte { return []byte(`{"Records":[` + strings.Join(recs, ",\n") + `]}`) }
	r1 := string(with(t, map[string]any{"eventID": "r1"}))
	r2 := string(with(t, map[string]any{"eventID": "r2", "eventName": "DeleteBucket", "eventSource": "s3.amazonaws.com"}))
	r3 := "{\n  \"eventTime\": \"2024-05-01T10:00:02Z\",\n  \"eventName\": \"GetObject\",\n  \"eventID\": \"r3\"\n}"

	t.Run("several records", func(t *testing.T) {
		evs, err := decode(t, records(r1, r2, r3), true)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ev := range evs {
			ids = append(ids, ev.Event.ID)
		}
		if !equal(ids, []string{"r1", "r2", "r3"}) {
			t.Fatalf("event ids = %q, want r1, r2, r3 in order", ids)
		}
		// Each event keeps its own record, byte for byte.
		for i, want := range []string{r1, r2, r3} {
			if evs[i].Event.Original != want {
				t.Errorf("event %d: event.original = %q, want %q", i, evs[i].Event.Original, want)
			}
		}
		if got := evs[1].Event.Type; !equal(got, []string{"deletion"}) {
			t.Errorf("DeleteBucket: event.type = %q", got)
		}
		if got := evs[2].Event.Type; !equal(got, []string{"access"}) {
			t.Errorf("GetObject: event.type = %q", got)
		}
	})
	t.Run("empty", func(t *testing.T) {
		evs, err := decode(t, []byte(`{"Records":[]}`), true)
		if err != nil || len(evs) != 0 {
			t.Errorf("Decode = %d events, %v; want none and no error", len(evs), err)
		}
	})
	// One bad record fails alone: the others are returned with a
	// *normalize.PartialError naming the bad one.
	partial := func(t *testing.T, evs []*ecs.Event, err error, wantEvents int, wantIndex int, wantText string) {
		t.Helper()
		var pe *normalize.PartialError
		if !errors.As(err, &pe) {
			t.Fatalf("Decode = %d events, %v; want a *normalize.PartialError", len(evs), err)
		}
		if len(evs) != wantEvents {
			t.Errorf("got %d good events, want %d", len(evs), wantEvents)
		}
		if len(pe.Items) != 1 || pe.Items[0].Index != wantIndex || pe.Items[0].Path != fmt.Sprintf("Records[%d]", wantIndex) || len(pe.Items[0].Raw) == 0 {
			t.Fatalf("failed items = %+v, want Records[%d] with its bytes", pe.Items, wantIndex)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("Records[%d]", wantIndex)) || !strings.Contains(err.Error(), wantText) {
			t.Errorf("error %q does not say which record and what is wrong (%q)", err, wantText)
		}
	}
	t.Run("a bad record", func(t *testing.T) {
		bad := string(with(t, map[string]any{"eventTime": "yesterday"}))
		evs, err := decode(t, records(r1, bad, r3), true)
		partial(t, evs, err, 2, 1, "yesterday")
		if len(evs) == 2 && (evs[0].Event.ID != "r1" || evs[1].Event.ID != "r3") {
			t.Errorf("good events %q, %q; want r1, r3", evs[0].Event.ID, evs[1].Event.ID)
		}
	})
	t.Run("a record of the wrong type", func(t *testing.T) {
		evs, err := decode(t, records(r1, `"text"`), true)
		partial(t, evs, err, 1, 1, "JSON string where an object belongs")
	})
	t.Run("a record that is not JSON", func(t *testing.T) {
		// A raw line break inside a string makes the whole file invalid
		// JSON; the records around it still decode.
		evs, err := decode(t, records(r1, `{"eventTime":"2024-05-01T10:00:00Z","eventName":"a`+"\n"+`b"}`, r3), true)
		partial(t, evs, err, 2, 1, "invalid JSON")
	})
	t.Run("Records not an array", func(t *testing.T) {
		evs, err := decode(t, []byte(`{"Records":{"eventTime":"2024-05-01T10:00:00Z"}}`), true)
		if err == nil || !strings.Contains(err.Error(), "Records") {
			t.Errorf("Decode = %d events, %v; want an error about Records", len(evs), err)
		}
	})
}

func TestDecodeKeepOriginal(t *testing.T) {
	raw := []byte(" " + minimal + "\n")
	if ev := decodeOne(t, raw, true); ev.Event.Original != string(raw) {
		t.Errorf("KeepOriginal: event.original = %q, want the input", ev.Event.Original)
	}
	if ev := decodeOne(t, raw, false); ev.Event.Original != "" {
		t.Errorf("no KeepOriginal: event.original = %q, want none", ev.Event.Original)
	}
}

func TestDecodeFields(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]any
		check  func(t *testing.T, ev *ecs.Event)
	}{
		{
			"service as source", map[string]any{"sourceIPAddress": "ec2.amazonaws.com"},
			func(t *testing.T, ev *ecs.Event) {
				if s := ev.Source; s == nil || s.Domain != "ec2.amazonaws.com" || s.IP != "" || s.Address != "ec2.amazonaws.com" {
					t.Errorf("source = %+v, want domain and address ec2.amazonaws.com, no ip", s)
				}
				if ev.Related != nil && len(ev.Related.IP) > 0 {
					t.Errorf("related.ip = %q, want none", ev.Related.IP)
				}
			},
		},
		{
			"IPv6 source", map[string]any{"sourceIPAddress": "2001:DB8::1"},
			func(t *testing.T, ev *ecs.Event) {
				if s := ev.Source; s == nil || s.IP != "2001:db8::1" || s.Domain != "" || s.Address != "2001:DB8::1" {
					t.Errorf("source = %+v", s)
				}
				if ev.Related == nil || !equal(ev.Related.IP, []string{"2001:db8::1"}) {
					t.Errorf("related = %+v", ev.Related)
				}
			},
		},
		{
			"no source", map[string]any{"sourceIPAddress": nil},
			func(t *testing.T, ev *ecs.Event) {
				if ev.Source != nil {
					t.Errorf("source = %+v, want none", ev.Source)
				}
			},
		},
		{
			"error code", map[string]any{"errorCode": "Client.UnauthorizedOperation", "errorMessage": "You are not authorized"},
			func(t *testing.T, ev *ecs.Event) {
				if ev.Event.Outcome != "failure" || ev.AWS.CloudTrail.ErrorCode != "Client.UnauthorizedOperation" {
					t.Errorf("outcome %q, error_code %q", ev.Event.Outcome, ev.AWS.CloudTrail.ErrorCode)
				}
			},
		},
		{
			"no error", map[string]any{},
			func(t *testing.T, ev *ecs.Event) {
				if ev.Event.Outcome != "success" {
					t.Errorf("outcome %q, want success", ev.Event.Outcome)
				}
			},
		},
		{
			"console login failure by error code", map[string]any{
				"eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com", "errorCode": "Failed",
				"responseElements": map[string]any{"ConsoleLogin": "Success"},
			},
			func(t *testing.T, ev *ecs.Event) {
				if ev.Event.Outcome != "failure" {
					t.Errorf("outcome %q, want failure", ev.Event.Outcome)
				}
			},
		},
		{
			"console login failure by message", map[string]any{
				"eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com", "errorMessage": "Failed authentication",
				"responseElements": nil,
			},
			func(t *testing.T, ev *ecs.Event) {
				if ev.Event.Outcome != "failure" {
					t.Errorf("outcome %q, want failure", ev.Event.Outcome)
				}
				if ev.AWS.CloudTrail.ConsoleLogin != nil {
					t.Errorf("console_login = %+v, want none without additionalEventData", ev.AWS.CloudTrail.ConsoleLogin)
				}
			},
		},
		{
			"assumed role user is the session name", map[string]any{},
			func(t *testing.T, ev *ecs.Event) {
				if ev.User == nil || ev.User.Name != "dev" || ev.User.ID != "AROAEXAMPLE:dev" {
					t.Errorf("user = %+v", ev.User)
				}
			},
		},
		{
			"session issuer", map[string]any{"userIdentity": map[string]any{
				"type": "AssumedRole", "principalId": "AROAEXAMPLE:s", "arn": "arn:aws:sts::123456789012:assumed-role/Admin/s",
				"sessionContext": map[string]any{
					"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROAEXAMPLE", "arn": "arn:aws:iam::123456789012:role/Admin", "accountId": "123456789012", "userName": "Admin"},
					"attributes":    map[string]any{"mfaAuthenticated": "true", "creationDate": "2024-05-01T09:00:00Z"},
				},
			}},
			func(t *testing.T, ev *ecs.Event) {
				sc := ev.AWS.CloudTrail.UserIdentity.SessionContext
				if sc == nil || sc.SessionIssuer == nil || sc.SessionIssuer.UserName != "Admin" || sc.SessionIssuer.ARN != "arn:aws:iam::123456789012:role/Admin" || sc.MFAAuthenticated != "true" {
					t.Errorf("session_context = %+v", sc)
				}
				if ev.User.Name != "s" {
					t.Errorf("user.name = %q", ev.User.Name)
				}
			},
		},
		{
			"account from the caller", map[string]any{"recipientAccountId": nil},
			func(t *testing.T, ev *ecs.Event) {
				if ev.Cloud.Account == nil || ev.Cloud.Account.ID != "123456789012" {
					t.Errorf("cloud.account = %+v", ev.Cloud.Account)
				}
			},
		},
		{
			"no identity", map[string]any{"userIdentity": nil, "recipientAccountId": nil},
			func(t *testing.T, ev *ecs.Event) {
				if ev.User != nil || ev.Cloud.Account != nil || ev.AWS.CloudTrail.UserIdentity != nil {
					t.Errorf("user %+v, cloud.account %+v, user_identity %+v; want none", ev.User, ev.Cloud.Account, ev.AWS.CloudTrail.UserIdentity)
				}
			},
		},
		{
			"fractional seconds and offset", map[string]any{"eventTime": "2024-05-01T12:00:00.250+02:00"},
			func(t *testing.T, ev *ecs.Event) {
				if ts := timestamp(t, ev); ts != "2024-05-01T10:00:00.25Z" {
					t.Errorf("@timestamp = %s, want 2024-05-01T10:00:00.25Z", ts)
				}
			},
		},
		{
			"only eventType", map[string]any{"eventName": nil, "eventType": "AwsServiceEvent"},
			func(t *testing.T, ev *ecs.Event) {
				if ev.Event.Action != "" || ev.AWS.CloudTrail.EventType != "AwsServiceEvent" {
					t.Errorf("event.action %q, event_type %q", ev.Event.Action, ev.AWS.CloudTrail.EventType)
				}
			},
		},
		{
			"resources", map[string]any{"resources": []any{
				map[string]any{"ARN": "arn:aws:s3:::b", "accountId": "123456789012", "type": "AWS::S3::Bucket"},
				map[string]any{"ARN": "arn:aws:s3:::b/k", "type": "AWS::S3::Object"},
			}},
			func(t *testing.T, ev *ecs.Event) {
				r := ev.AWS.CloudTrail.Resources
				if r == nil || !equal(r.ARN, []string{"arn:aws:s3:::b", "arn:aws:s3:::b/k"}) ||
					!equal(r.AccountID, []string{"123456789012", ""}) || !equal(r.Type, []string{"AWS::S3::Bucket", "AWS::S3::Object"}) {
					t.Errorf("resources = %+v", r)
				}
			},
		},
		{
			"scalar request parameters", map[string]any{"requestParameters": "raw text", "additionalEventData": []any{1.5, "x"}},
			func(t *testing.T, ev *ecs.Event) {
				ct := ev.AWS.CloudTrail
				if ct.RequestParameters != `"raw text"` || ct.AdditionalEventData != `[1.5,"x"]` {
					t.Errorf("request_parameters %q, additional_eventdata %q", ct.RequestParameters, ct.AdditionalEventData)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, decodeOne(t, with(t, tc.fields), true))
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"bad eventTime", with(t, map[string]any{"eventTime": "2024-05-01 10:00:00"}), "eventTime"},
		{"eventTime without zone", with(t, map[string]any{"eventTime": "2024-05-01T10:00:00"}), "eventTime"},
		{"eventTime not a string", with(t, map[string]any{"eventTime": 1714557600}), "eventTime"},
		{"no eventTime", with(t, map[string]any{"eventTime": nil}), "eventTime"},
		{"zero eventTime", with(t, map[string]any{"eventTime": "0001-01-01T00:00:00Z"}), "eventTime"},
		{"eventTime before year 1", with(t, map[string]any{"eventTime": "0001-01-01T00:30:00+01:00"}), "eventTime"},
		{"eventTime after year 9999", with(t, map[string]any{"eventTime": "9999-12-31T23:30:00-01:00"}), "eventTime"},
		{"no eventName or eventType", with(t, map[string]any{"eventName": nil}), "eventName"},
		{"readOnly not a bool", with(t, map[string]any{"readOnly": "true"}), "readOnly"},
		{"not JSON", []byte(`{"eventTime":`), "invalid JSON"},
		{"empty", []byte{}, "invalid JSON"},
		{"array", []byte(`[` + minimal + `]`), "array"},
		{"trailing data", []byte(minimal + `{}`), "invalid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := decode(t, tc.input, true)
			if err == nil {
				t.Fatalf("Decode returned %d events and no error", len(evs))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestCategorize(t *testing.T) {
	tests := []struct {
		source, name string
		category     string
		typ          string
	}{
		{"signin.amazonaws.com", "ConsoleLogin", "authentication", "start"},
		{"signin.amazonaws.com", "CreateSomething", "authentication", "start"},
		{"iam.amazonaws.com", "CreateUser", "iam", "creation"},
		{"iam.amazonaws.com", "DeleteRole", "iam", "deletion"},
		{"iam.amazonaws.com", "AttachUserPolicy", "iam", "change"},
		{"iam.amazonaws.com", "ListUsers", "iam", "info"},
		{"sts.amazonaws.com", "AssumeRole", "iam", "info"},
		{"sso.amazonaws.com", "GetRoleCredentials", "iam", "info"},
		{"ec2.amazonaws.com", "RunInstances", "configuration", "creation"},
		{"ec2.amazonaws.com", "TerminateInstances", "configuration", "deletion"},
		{"ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", "configuration", "change"},
		{"s3.amazonaws.com", "GetObject", "configuration", "access"},
		{"ec2.amazonaws.com", "DescribeInstances", "configuration", "access"},
		{"kms.amazonaws.com", "Decrypt", "configuration", "info"},
		{"", "", "configuration", "info"},
	}
	for _, tc := range tests {
		t.Run(tc.source+"/"+tc.name, func(t *testing.T) {
			cat, typ := categorize(&Record{EventSource: tc.source, EventName: tc.name})
			if !equal(cat, []string{tc.category}) || !equal(typ, []string{tc.typ}) {
				t.Errorf("categorize = %q, %q; want [%s] [%s]", cat, typ, tc.category, tc.typ)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	d, ok := normalize.Lookup("cloudtrail")
	if !ok {
		t.Fatal(`no decoder registered for "cloudtrail"`)
	}
	if _, ok := d.(Decoder); !ok {
		t.Errorf("the decoder registered for cloudtrail is a %T", d)
	}
	if d.Dataset() != "cloudtrail" {
		t.Errorf("Dataset() = %q", d.Dataset())
	}
}

func FuzzDecode(f *testing.F) {
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		f.Logf("corpus not available: %v", err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(corpusDir, e.Name()))
		if err != nil {
			f.Logf("seed %s: %v", e.Name(), err)
			continue
		}
		f.Add(b, true)
	}
	for _, s := range []string{
		minimal,
		`{"Records":[` + minimal + `,` + minimal + `]}`,
		`{"Records":[]}`,
		`{"Records":null}`,
		`{"Records":[null,1,"x",{}]}`,
		`{"digestStartTime":"2024-05-01T10:00:00Z","awsAccountId":"1"}`,
		`{"detail-type":"AWS API Call via CloudTrail","resources":["arn:x"],"detail":` + minimal + `}`,
		`{"detail-type":"Scheduled Event","detail":{}}`,
		`{"eventTime":"0000-01-01T00:30:00+01:00","eventName":"X"}`,
		`{"eventTime":"2024-05-01T10:00:00Z","eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"Yes"}}`,
		`{"eventTime":"2024-05-01T10:00:00Z","eventType":"AwsCloudTrailInsight","requestParameters":{"a":[1e308,-0,"\u2028<>&"]}}`,
		`{"eventTime":"2024-05-01T10:00:00Z","eventName":"X","sourceIPAddress":"fe80::1%eth0","userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root/"}}`,
		`{"eventTime":"2024-05-01T10:00:00Z","eventName":"X","readOnly":"yes"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, keep bool) {
		evs, err := Decoder{}.Decode(data, normalize.Meta{KeepOriginal: keep})
		var pe *normalize.PartialError
		switch {
		case errors.As(err, &pe):
			// Good events come back with the failed items, each with
			// its bytes and where it is.
			if len(pe.Items) == 0 {
				t.Fatal("a PartialError without items")
			}
			for _, it := range pe.Items {
				if it.Err == nil || it.Path == "" || !bytes.Contains(data, it.Raw) {
					t.Fatalf("failed item %+v is incomplete or not part of the input", it)
				}
			}
		case err != nil:
			if evs != nil {
				t.Fatalf("Decode returned %d events with the error %v", len(evs), err)
			}
			return
		}
		validUTF8 := strings.ToValidUTF8(string(data), "") == string(data)
		for i, ev := range evs {
			if ev == nil {
				t.Fatalf("event %d is nil", i)
			}
			if ev.Timestamp.IsZero() {
				t.Fatalf("event %d: zero @timestamp", i)
			}
			if ev.Event.Kind != "event" || ev.Event.Dataset != "aws.cloudtrail" {
				t.Fatalf("event %d: kind %q, dataset %q", i, ev.Event.Kind, ev.Event.Dataset)
			}
			if keep != (ev.Event.Original != "") {
				t.Fatalf("event %d: KeepOriginal %v, event.original %q", i, keep, ev.Event.Original)
			}
			// The normalize app writes every event as JSON.
			if _, err := json.Marshal(ev); err != nil {
				t.Fatalf("event %d does not marshal: %v", i, err)
			}
			// Invalid UTF-8 in the input is replaced when marshalled,
			// which changes how it is escaped on the next round.
			if validUTF8 {
				checkRoundTrip(t, ev)
			}
		}
	})
}

// TestAliasesTheRecord checks what the decoder's speed rests on: the
// event's strings and raw JSON point into the record instead of copies
// (callers hand the record over, see normalize.Decoder). A JSON library
// that started passing copies, or temporary buffers, would show here.
func TestAliasesTheRecord(t *testing.T) {
	raw := []byte(`{"eventVersion":"1.08","eventTime":"2026-11-02T09:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"Root","accountId":"111122223333"},"requestParameters":{"userName":"Bob"},"eventID":"e1","recipientAccountId":"111122223333"}`)
	evs, err := Decoder{}.Decode(raw, normalize.Meta{KeepOriginal: true})
	if err != nil || len(evs) != 1 {
		t.Fatal(len(evs), err)
	}
	ev := evs[0]
	within := func(name string, p *byte) {
		t.Helper()
		start := uintptr(unsafe.Pointer(unsafe.SliceData(raw)))
		if a := uintptr(unsafe.Pointer(p)); a < start || a >= start+uintptr(len(raw)) {
			t.Errorf("%s is a copy, not the record's bytes", name)
		}
	}
	within("event.original", unsafe.StringData(ev.Event.Original))
	within("event.action", unsafe.StringData(ev.Event.Action))
	within("source.ip", unsafe.StringData(ev.Source.IP))
	within("aws.cloudtrail.request_parameters", unsafe.StringData(ev.AWS.CloudTrail.RequestParameters))
	within("aws.cloudtrail.flattened.request_parameters", unsafe.SliceData(ev.AWS.CloudTrail.Flattened.RequestParameters))
	if ev.AWS.CloudTrail.RequestParameters != `{"userName":"Bob"}` || ev.Event.Action != "CreateUser" {
		t.Errorf("request_parameters %q, action %q", ev.AWS.CloudTrail.RequestParameters, ev.Event.Action)
	}
}
