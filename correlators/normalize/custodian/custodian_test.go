package custodian

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
	"github.com/vigilsec/vigil/ecs"
)

func read(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lines returns the non-empty lines of a testdata file.
func lines(t testing.TB, path string) []string {
	return strings.Split(strings.TrimSpace(read(t, path)), "\n")
}

func decode(t *testing.T, raw string) []*ecs.Event {
	t.Helper()
	evs, err := Decoder{}.Decode([]byte(raw), normalize.Meta{KeepOriginal: true})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for _, ev := range evs {
		normalizetest.CheckEvent(t, "test", ev)
	}
	return evs
}

// edit decodes a JSON object, lets f change it, and encodes it again.
func edit(t *testing.T, raw string, f func(map[string]any)) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	f(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pack(t *testing.T, doc string) string {
	t.Helper()
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	if _, err := w.Write([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func TestRegistered(t *testing.T) {
	d, ok := normalize.Lookup("custodian")
	if !ok {
		t.Fatal("no decoder registered for source custodian")
	}
	if d.Dataset() != "custodian" {
		t.Errorf("Dataset() = %q", d.Dataset())
	}
}

// TestRunRecord: metadata.json alone gives the run's event; the run record
// gives the same event and one per resource.
func TestRunRecord(t *testing.T) {
	meta := decode(t, read(t, "ec2-require-imdsv2/metadata.json"))
	run := decode(t, lines(t, "ec2-require-imdsv2/run.jsonl")[0])
	if len(meta) != 1 || len(run) != 3 {
		t.Fatalf("%d events from metadata.json, %d from the run record; want 1 and 3", len(meta), len(run))
	}
	m, r := meta[0], run[0]
	if m.Event.ID != "6a1f1c9e-3c55-4a2e-9d7e-1f0b8f3d2c41" || r.Event.ID != m.Event.ID {
		t.Errorf("run event ids %q and %q, want the execution id", m.Event.ID, r.Event.ID)
	}
	if m.Event.Action != "policy-run" || m.Event.Outcome != "success" || !reflect.DeepEqual(m.Event.Type, []string{"info"}) {
		t.Errorf("run event: %+v", m.Event)
	}
	if *m.Custodian.ResourceCount != 2 || *r.Custodian.ResourceCount != 2 || m.Custodian.Metrics["ResourceCount"] != 2 {
		t.Errorf("resource count %d / %d", *m.Custodian.ResourceCount, *r.Custodian.ResourceCount)
	}
	if m.Custodian.Record != "metadata" || r.Custodian.Record != "run" {
		t.Errorf("records %q, %q", m.Custodian.Record, r.Custodian.Record)
	}
	want := time.Date(2025, 3, 3, 12, 0, 0, 482913000, time.UTC)
	for i, ev := range append(meta, run...) {
		if !ev.Timestamp.Equal(want) {
			t.Errorf("%d: @timestamp %v, want the execution start %v", i, ev.Timestamp, want)
		}
		if ev.Event.Kind != "event" || ev.Event.Dataset != "custodian.action" || ev.Event.Module != "custodian" || !reflect.DeepEqual(ev.Event.Category, []string{"configuration"}) {
			t.Errorf("%d: event %+v", i, ev.Event)
		}
		if ev.Rule.Name != "ec2-require-imdsv2" || ev.Rule.Ruleset != "cloud-custodian" {
			t.Errorf("%d: rule %+v", i, ev.Rule)
		}
		if ev.Observer.Vendor != "Cloud Custodian" || ev.Observer.Version != "0.9.43" {
			t.Errorf("%d: observer %+v", i, ev.Observer)
		}
		if ev.Cloud.Provider != "aws" || ev.Cloud.Region != "us-east-1" || ev.Cloud.Account.ID != "123456789012" || ev.Cloud.Service.Name != "ec2" {
			t.Errorf("%d: cloud %+v", i, ev.Cloud)
		}
	}
	for i, ev := range run[1:] {
		wantID := []string{"i-0a1b2c3d4e5f67890", "i-0fedcba9876543210"}[i]
		if ev.Resource == nil || ev.Resource.ID != wantID || ev.Resource.Type != "ec2" || ev.Resource.Name != []string{"web-1", "web-2"}[i] || ev.Resource.Region != "us-east-1" {
			t.Errorf("resource %d: %+v", i, ev.Resource)
		}
		if ev.Event.Action != "set-metadata-access" || ev.Event.Outcome != "success" || !reflect.DeepEqual(ev.Event.Type, []string{"change"}) {
			t.Errorf("resource %d: event %+v", i, ev.Event)
		}
		if !reflect.DeepEqual(ev.Custodian.MatchedFilters, []string{"MetadataOptions.HttpTokens"}) || ev.Custodian.Resource == nil {
			t.Errorf("resource %d: custodian %+v", i, ev.Custodian)
		}
		if ev.Related == nil || len(ev.Related.IP) != 2 {
			t.Errorf("resource %d: related %+v", i, ev.Related)
		}
		if !strings.Contains(ev.Event.Original, wantID) || strings.Contains(ev.Event.Original, `"policy"`) {
			t.Errorf("resource %d: event.original should be the resource", i)
		}
	}
	// Re-serialized, the record gives the same ids.
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(lines(t, "ec2-require-imdsv2/run.jsonl")[0]), "", "    "); err != nil {
		t.Fatal(err)
	}
	again := decode(t, pretty.String())
	for i := range run {
		if again[i].Event.ID != run[i].Event.ID {
			t.Errorf("event %d: id %q after re-serialization, was %q", i, again[i].Event.ID, run[i].Event.ID)
		}
	}
}

// TestNotifyForms: the notify message as JSON, as sent on SQS (base64 of
// zlib) and inside an SNS notification gives the same events.
func TestNotifyForms(t *testing.T) {
	forms := map[string]string{
		"json":          read(t, "iam-mfa-active-key-no-login/notify.json"),
		"sqs":           lines(t, "iam-mfa-active-key-no-login/notify.sqs.txt")[0],
		"sns":           lines(t, "iam-mfa-active-key-no-login/notify.sns.json")[0],
		"sns with json": edit(t, lines(t, "iam-mfa-active-key-no-login/notify.sns.json")[0], func(v map[string]any) { v["Message"] = read(t, "iam-mfa-active-key-no-login/notify.json") }),
	}
	var want []string
	for _, name := range []string{"json", "sqs", "sns", "sns with json"} {
		evs := decode(t, forms[name])
		if len(evs) != 2 {
			t.Fatalf("%s: %d events, want 2", name, len(evs))
		}
		var ids []string
		for i, ev := range evs {
			ids = append(ids, ev.Event.ID)
			user := []string{"alice", "bob"}[i]
			if ev.Resource.ID != user || ev.Resource.Type != "iam-user" || ev.Custodian.ResourceARN != "arn:aws:iam::123456789012:user/"+user {
				t.Errorf("%s %d: resource %+v arn %q", name, i, ev.Resource, ev.Custodian.ResourceARN)
			}
			if ev.Event.Action != "remove-keys" || ev.Event.Outcome != "success" || ev.Custodian.Record != "notify" {
				t.Errorf("%s %d: event %+v", name, i, ev.Event)
			}
			if ev.Cloud.Account.Name != "example-prod" || ev.Cloud.Service.Name != "iam" {
				t.Errorf("%s %d: cloud %+v", name, i, ev.Cloud)
			}
			n := ev.Custodian.Notify
			if n == nil || !reflect.DeepEqual(n.To, []string{"resource-owner", "security@example.com"}) || n.Transport.Type != "sqs" || n.ViolationDesc == "" {
				t.Errorf("%s %d: notify %+v", name, i, n)
			}
			if !reflect.DeepEqual(ev.Custodian.Policy.Actions, []string{"remove-keys", "remove-keys", "notify"}) {
				t.Errorf("%s %d: actions %v", name, i, ev.Custodian.Policy.Actions)
			}
		}
		if want == nil {
			want = ids
		} else if !reflect.DeepEqual(ids, want) {
			t.Errorf("%s: ids %v, want %v as from the JSON message", name, ids, want)
		}
	}
	// Two notify actions of one run send the same resources: different
	// ids.
	other := edit(t, forms["json"], func(v map[string]any) { v["action"].(map[string]any)["to"] = []string{"other@example.com"} })
	if evs := decode(t, other); evs[0].Event.ID == want[0] {
		t.Error("two notify actions give the same event.id")
	}
}

func TestCloudTrailMode(t *testing.T) {
	evs := decode(t, read(t, "ec2-require-imdsv2-on-launch/notify.json"))
	ev := evs[0]
	if ev.Custodian.Policy.Mode != "cloudtrail" || ev.Custodian.Event == nil {
		t.Errorf("mode %q, event %v", ev.Custodian.Policy.Mode, ev.Custodian.Event)
	}
	if ev.Related == nil || !reflect.DeepEqual(ev.Related.User, []string{"bob"}) || !strings.Contains(strings.Join(ev.Related.IP, ","), "198.51.100.7") {
		t.Errorf("related %+v", ev.Related)
	}
}

func TestMapping(t *testing.T) {
	run := lines(t, "ec2-require-imdsv2/run.jsonl")[0]
	setActions := func(actions ...any) func(map[string]any) {
		return func(v map[string]any) { v["policy"].(map[string]any)["actions"] = actions }
	}
	tests := []struct {
		name       string
		edit       func(map[string]any)
		runOutcome string
		action     string
		typ        string
		outcome    string
	}{
		{"taken", func(map[string]any) {}, "success", "set-metadata-access", "change", "success"},
		{"dry run", func(v map[string]any) { v["config"].(map[string]any)["dryrun"] = true }, "success", "set-metadata-access", "info", ""},
		{"run failed", func(v map[string]any) {
			v["metrics"] = append(v["metrics"].([]any), map[string]any{"MetricName": "PolicyException", "Value": 1, "Unit": "Count"})
		}, "failure", "set-metadata-access", "change", "unknown"},
		{"no actions", setActions(), "success", "match", "info", ""},
		{"notify only", setActions(map[string]any{"type": "notify", "to": []string{"x@example.com"}}), "success", "notify", "info", "success"},
		{"notify first", setActions("notify", "stop"), "success", "stop", "change", "success"},
		{"action names", setActions("stop", map[string]any{"type": "tag", "key": "k", "value": "v"}), "success", "stop", "change", "success"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs := decode(t, edit(t, run, tc.edit))
			if evs[0].Event.Outcome != tc.runOutcome || evs[0].Event.Action != "policy-run" {
				t.Errorf("run event: action %q outcome %q", evs[0].Event.Action, evs[0].Event.Outcome)
			}
			for _, ev := range evs[1:] {
				if ev.Event.Action != tc.action || ev.Event.Type[0] != tc.typ || ev.Event.Outcome != tc.outcome {
					t.Errorf("resource event: action %q type %v outcome %q", ev.Event.Action, ev.Event.Type, ev.Event.Outcome)
				}
			}
		})
	}
}

func TestProviders(t *testing.T) {
	run := lines(t, "ec2-require-imdsv2/run.jsonl")[0]
	tests := []struct {
		resource string
		res      map[string]any
		provider string
		id, name string
	}{
		{"aws.ec2", map[string]any{"InstanceId": "i-1", "Tags": []any{map[string]any{"Key": "Name", "Value": "n"}}}, "aws", "i-1", "n"},
		{"s3", map[string]any{"Name": "bucket"}, "aws", "bucket", "bucket"},
		{"glue-job", map[string]any{"Name": "etl"}, "aws", "etl", ""},
		{"azure.vm", map[string]any{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1", "name": "vm1"}, "azure", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1", "vm1"},
		{"gcp.instance", map[string]any{"id": "1234", "name": "inst-1", "selfLink": "https://compute.googleapis.com/x"}, "gcp", "1234", "inst-1"},
		{"k8s.pod", map[string]any{"metadata": map[string]any{"name": "web", "namespace": "prod", "uid": "u-1"}}, "kubernetes", "u-1", "web"},
	}
	for _, tc := range tests {
		t.Run(tc.resource, func(t *testing.T) {
			raw := edit(t, run, func(v map[string]any) {
				v["policy"].(map[string]any)["resource"] = tc.resource
				v["resources"] = []any{tc.res}
			})
			ev := decode(t, raw)[1]
			if ev.Resource.ID != tc.id || ev.Resource.Name != tc.name {
				t.Errorf("resource %+v, want id %q name %q", ev.Resource, tc.id, tc.name)
			}
			if tc.provider == "kubernetes" {
				if ev.Cloud != nil || ev.Orchestrator == nil || ev.Orchestrator.Namespace != "prod" {
					t.Errorf("cloud %+v orchestrator %+v", ev.Cloud, ev.Orchestrator)
				}
				return
			}
			if ev.Cloud == nil || ev.Cloud.Provider != tc.provider {
				t.Errorf("cloud %+v, want provider %s", ev.Cloud, tc.provider)
			}
		})
	}
}

// TestPartial: a record with a bad resource gives the other events and a
// PartialError that locates it.
func TestPartial(t *testing.T) {
	run := edit(t, lines(t, "ec2-require-imdsv2/run.jsonl")[0], func(v map[string]any) {
		rs := v["resources"].([]any)
		v["resources"] = []any{rs[0], 42, rs[1], nil}
	})
	notify := edit(t, read(t, "iam-mfa-active-key-no-login/notify.json"), func(v map[string]any) {
		rs := v["resources"].([]any)
		v["resources"] = []any{"alice", rs[1]}
	})
	for _, tc := range []struct {
		name, raw string
		good      int
		paths     []string
	}{
		{"run record", run, 3, []string{"resources[1]", "resources[3]"}},
		{"notify", notify, 1, []string{"resources[0]"}},
	} {
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
			var paths []string
			for _, it := range pe.Items {
				paths = append(paths, it.Path)
				if len(it.Raw) == 0 || it.Err == nil {
					t.Errorf("item %+v", it)
				}
			}
			if !reflect.DeepEqual(paths, tc.paths) {
				t.Errorf("failed items at %v, want %v", paths, tc.paths)
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	for _, l := range append(lines(t, "custodian-run.log"), lines(t, "custodian-run.log.jsonl")...) {
		evs, err := Decoder{}.Decode([]byte(l), normalize.Meta{})
		if len(evs) != 0 || !errors.Is(err, normalize.ErrSkipped) {
			t.Errorf("%.60s: %d events, %v", l, len(evs), err)
		}
	}
	// The console form of the log.
	if _, err := (Decoder{}).Decode([]byte("2016-12-20 08:35:07,514: custodian.policy:INFO policy: my-first-policy resource:azure.vm has count:1 time:1.38"), normalize.Meta{}); !errors.Is(err, normalize.ErrSkipped) {
		t.Errorf("console log line: %v", err)
	}
}

func TestErrors(t *testing.T) {
	meta := read(t, "ec2-require-imdsv2/metadata.json")
	notify := read(t, "iam-mfa-active-key-no-login/notify.json")
	var bomb bytes.Buffer
	w := zlib.NewWriter(&bomb)
	_, _ = w.Write([]byte("{" + strings.Repeat(" ", maxMessage+10) + "}"))
	_ = w.Close()
	tests := []struct{ name, raw, want string }{
		{"empty", " \n", "empty record"},
		{"bare resource", `{"InstanceId":"i-1","Tags":[]}`, "ship run records"},
		{"resources.json whole", read(t, "ec2-require-imdsv2/resources.json"), "ship run records"},
		{"truncated", meta[:300], "invalid JSON"},
		{"no start", edit(t, meta, func(v map[string]any) { delete(v["execution"].(map[string]any), "start") }), "no execution.start"},
		{"start out of range", edit(t, meta, func(v map[string]any) { v["execution"].(map[string]any)["start"] = 1e20 }), "out of range"},
		{"policy without name", edit(t, meta, func(v map[string]any) { delete(v["policy"].(map[string]any), "name") }), "policy has no name"},
		{"policy without resource", edit(t, meta, func(v map[string]any) { delete(v["policy"].(map[string]any), "resource") }), "has no resource type"},
		{"bad action", edit(t, meta, func(v map[string]any) { v["policy"].(map[string]any)["actions"] = []any{42} }), "policy.actions[0]"},
		{"policy not an object", `{"policy":"p","execution":{}}`, "policy is not an object"},
		{"policy alone", `{"policy":{"name":"p","resource":"ec2"}}`, "neither an execution"},
		{"resources not a list", edit(t, meta, func(v map[string]any) { v["resources"] = map[string]any{} }), "resources: JSON object"},
		{"notify without resources", edit(t, notify, func(v map[string]any) { v["resources"] = []any{} }), "without resources"},
		{"notify without start", edit(t, notify, func(v map[string]any) { delete(v, "execution_start") }), "no execution_start"},
		{"notify bad action", edit(t, notify, func(v map[string]any) { v["action"] = map[string]any{"to": "x"} }), "action: field to"},
		{"not base64", "hello world", "not base64"},
		{"base64, not zlib", base64.StdEncoding.EncodeToString([]byte("hello")), "not zlib"},
		{"zlib, not JSON", pack(t, "hello"), "not a JSON object"},
		{"zlib bomb", base64.StdEncoding.EncodeToString(bomb.Bytes()), "inflates past"},
		{"SNS, bad message", `{"Type":"Notification","Message":"%%%"}`, "SNS Message"},
		{"SNS, message not a string", `{"Type":"Notification","Message":{}}`, "not a string"},
		{"other log", `{"type":"log","logger":"app"}`, "no policy"},
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

// TestConcurrent decodes every sample from many goroutines at once (run
// with -race) and checks that every result is the serial one.
func TestConcurrent(t *testing.T) {
	records := []string{
		read(t, "ec2-require-imdsv2/metadata.json"),
		read(t, "iam-mfa-active-key-no-login/notify.json"),
		read(t, "ec2-require-imdsv2-on-launch/notify.json"),
	}
	for _, f := range []string{"ec2-require-imdsv2/run.jsonl", "s3-enforce-encryption/run.jsonl", "iam-mfa-active-key-no-login/notify.sqs.txt", "iam-mfa-active-key-no-login/notify.sns.json"} {
		records = append(records, lines(t, f)...)
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

// TestS3Region: Custodian lists all buckets from one region; a bucket's
// region is its LocationConstraint.
func TestS3Region(t *testing.T) {
	run := lines(t, "s3-enforce-encryption/run.jsonl")[1]
	for _, tc := range []struct {
		location any
		want     string
	}{
		{map[string]any{"LocationConstraint": "ap-southeast-2"}, "ap-southeast-2"},
		{map[string]any{"LocationConstraint": nil}, "us-east-1"},
		{map[string]any{"LocationConstraint": "EU"}, "eu-west-1"},
		{nil, "eu-west-1"}, // unknown: the run's region
	} {
		raw := edit(t, run, func(v map[string]any) {
			v["resources"].([]any)[0].(map[string]any)["Location"] = tc.location
		})
		if got := decode(t, raw)[1].Resource.Region; got != tc.want {
			t.Errorf("Location %v: region %q, want %q", tc.location, got, tc.want)
		}
	}
}
