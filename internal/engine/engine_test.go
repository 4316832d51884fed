package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/internal/engine"
	_ "github.com/vigilsec/vigil/plugin/all"
	"github.com/vigilsec/vigil/schemas"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const corpus = "../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/"

func readCorpus(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type result struct {
	names  topics.Names
	alerts []*kgo.Record
	events []*kgo.Record
	dlq    []*kgo.Record
}

// runPipeline runs a file source, normalize and detect over files until
// every record is processed and committed, then reads the topics back.
func runPipeline(t *testing.T, files map[string]string) result {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	brokers := streamstest.Brokers(t)
	prefix := streamstest.Prefix(t)
	src := fmt.Sprintf(`kafka:
  brokers: [%s]
  instance_id: test
topics:
  prefix: %s
  partitions: 3
ops:
  listen: ""
sources:
  in:
    type: file
    source: cloudtrail
    paths: [%q]
# One rule, so that the alerts are the pipeline's business, not the rules'.
rules:
  builtin: false
  paths: [../../rules/sigmahq/aws/cloudtrail/aws_root_account_usage.yml]
apps:
  normalize: {}
  detect: {}
sinks: {}
`, strings.Join(brokers, ", "), prefix, filepath.Join(dir, "*"))
	cfg, err := config.Parse([]byte(src), "test")
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Topics.Names()
	prog := engine.NewProgress("in")
	stages := []engine.Stage{
		{Name: "normalize", Inputs: []string{n.Raw("cloudtrail")}},
		{Name: "detect", Inputs: []string{n.Events("cloudtrail")}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- engine.Run(ctx, cfg, engine.Options{Observer: prog, Stopped: prog.Stopped})
	}()
	deadline := time.After(90 * time.Second)
	for !prog.Complete(stages) {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("engine stopped early: %v", err)
		case <-deadline:
			cancel()
			<-done
			t.Fatalf("pipeline did not finish: raw %d, events %d, normalize consumed %d",
				prog.Produced(n.Raw("cloudtrail")), prog.Produced(n.Events("cloudtrail")), prog.Consumed("normalize", n.Raw("cloudtrail")))
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("engine: %v", err)
	}
	res := result{
		names:  n,
		alerts: streamstest.ReadCommitted(t, brokers, n.Alerts()),
		events: streamstest.ReadCommitted(t, brokers, n.Events("cloudtrail")),
		dlq:    streamstest.ReadCommitted(t, brokers, n.DLQ()),
	}
	for _, r := range res.events {
		if err := schemas.Validate(schemas.Event, r.Value); err != nil {
			t.Errorf("event %s does not match the schema: %v", r.Key, err)
		}
	}
	for _, r := range res.alerts {
		if err := schemas.Validate(schemas.Alert, r.Value); err != nil {
			t.Errorf("alert %s does not match the schema: %v", r.Key, err)
		}
	}
	return res
}

func decodeAlert(t *testing.T, r *kgo.Record) ecs.Alert {
	t.Helper()
	var a ecs.Alert
	if err := json.Unmarshal(r.Value, &a); err != nil {
		t.Fatalf("alert is not JSON: %v", err)
	}
	return a
}

func TestRootConsoleLoginRaisesOneAlert(t *testing.T) {
	// A root console sign-in from the AWS CloudTrail User Guide.
	res := runPipeline(t, map[string]string{"root.json": readCorpus(t, "cloudtrail-event-reference-aws-console-sign-in-events_block06.json")})
	if len(res.events) != 1 {
		t.Fatalf("got %d events, want 1", len(res.events))
	}
	if len(res.alerts) != 1 {
		t.Fatalf("got %d alerts, want exactly 1", len(res.alerts))
	}
	a := decodeAlert(t, res.alerts[0])
	if a.Cloud == nil || a.Cloud.Account == nil || a.Cloud.Account.ID != "111122223333" {
		t.Errorf("alert does not name the account: %+v", a.Cloud)
	}
	if a.Source == nil || a.Source.IP != "192.0.2.0" {
		t.Errorf("alert does not name the source IP: %+v", a.Source)
	}
	if a.Rule.ID != "8ad1600d-e9dc-4251-b0ee-a65268f29add" || a.Event.Kind != "alert" || a.Vigil.Level != "medium" {
		t.Errorf("alert rule/kind/level: %+v %+v %+v", a.Rule, a.Event, a.Vigil)
	}
	if a.Event.Action != "ConsoleLogin" || a.User == nil || a.User.Name != "root" {
		t.Errorf("alert action/user: %q %+v", a.Event.Action, a.User)
	}
	if len(a.Vigil.Evidence) != 1 || a.Vigil.Evidence[0].ID != "deb1e1f9-c99b-4612-8e9f-21f93b5d79c0" {
		t.Errorf("alert evidence: %+v", a.Vigil.Evidence)
	}
	if !res.alerts[0].Timestamp.Equal(a.Timestamp) || !res.events[0].Timestamp.Equal(a.Timestamp) {
		t.Errorf("record timestamps %v (alert), %v (event) are not the event time %v", res.alerts[0].Timestamp, res.events[0].Timestamp, a.Timestamp)
	}
	if string(res.alerts[0].Key) != a.Event.ID || a.Event.ID == "" {
		t.Errorf("alert key %q is not its id %q", res.alerts[0].Key, a.Event.ID)
	}
	if got := streams.Header(res.alerts[0], streams.HeaderOrigin); !strings.HasSuffix(got, "root.json:1") {
		t.Errorf("alert origin header = %q", got)
	}
	if len(res.dlq) != 0 {
		t.Errorf("unexpected dead letters: %d", len(res.dlq))
	}
}

func TestNonRootLoginRaisesNoAlert(t *testing.T) {
	// An IAM user's console sign-in, in a CloudTrail log file.
	res := runPipeline(t, map[string]string{"iam-user.json": readCorpus(t, "cloudtrail-event-reference-aws-console-sign-in-events_block01.json")})
	if len(res.events) != 1 {
		t.Fatalf("got %d events, want 1", len(res.events))
	}
	var ev ecs.Event
	if err := json.Unmarshal(res.events[0].Value, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.User == nil || ev.User.Name != "anaya" || ev.Event.Action != "ConsoleLogin" {
		t.Errorf("event user/action: %+v %q", ev.User, ev.Event.Action)
	}
	if len(res.alerts) != 0 {
		t.Errorf("got %d alerts for a non-root login, want none", len(res.alerts))
	}
}

func TestBadInputIsReportedAndTheRestFlows(t *testing.T) {
	root := readCorpus(t, "cloudtrail-event-reference-aws-console-sign-in-events_block06.json")
	user := readCorpus(t, "cloudtrail-event-reference-aws-console-sign-in-events_block01.json")
	compact := func(s string) string {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	lines := compact(user) + "\n" + compact(root)[:120] + "\n" + compact(root) + "\n"
	// A whole log file on one line, as an HTTP push delivers it, with one
	// bad record in the middle.
	badTime := strings.Replace(compact(root), `"eventTime":"2022-11-10T16:24:34Z"`, `"eventTime":"yesterday"`, 1)
	otherRoot := strings.Replace(compact(root), "deb1e1f9", "0ther000", 1)
	pushed := `{"Records":[` + compact(root) + "," + badTime + "," + otherRoot + "]}\n" + compact(user) + "\n"
	res := runPipeline(t, map[string]string{
		"mixed.jsonl":  lines,
		"notes.txt":    "not json at all\n",
		"cut-off.json": `{"Records":[` + compact(root) + `,{"eventVersion":"1.05","eventTi`,
		"pushed.jsonl": pushed,
	})
	// Good: user (1 event from the log file), root (line 3), root
	// (Records[0]), two of the three pushed records and the user again.
	if len(res.events) != 6 {
		t.Errorf("got %d events, want 6", len(res.events))
	}
	if len(res.alerts) != 4 {
		t.Errorf("got %d alerts, want 4", len(res.alerts))
	}
	reasons := map[string]string{}
	for _, d := range res.dlq {
		reasons[filepath.Base(streams.Header(d, streams.HeaderOrigin))] = streams.Header(d, streams.HeaderError)
	}
	want := map[string]string{
		"mixed.jsonl:2":             "invalid JSON",
		"notes.txt:1":               "invalid JSON",
		"cut-off.json:Records[1]":   "input ends inside a JSON value",
		"pushed.jsonl:1:Records[1]": `eventTime "yesterday" is not an RFC 3339 time`,
	}
	for origin, reason := range want {
		if !strings.Contains(reasons[origin], reason) {
			t.Errorf("dead letter for %s: reason %q, want it to mention %q (all: %v)", origin, reasons[origin], reason, reasons)
		}
	}
	if len(res.dlq) != len(want) {
		t.Errorf("got %d dead letters, want %d: %v", len(res.dlq), len(want), reasons)
	}
}

func TestSelected(t *testing.T) {
	cfg, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.Selected(cfg, []string{"detect"})
	if err != nil || len(got) != 1 || got[0].Name != "detect" {
		t.Errorf("Selected(detect) = %v, %v", got, err)
	}
	if _, err := engine.Selected(cfg, []string{"nope"}); err == nil || !strings.Contains(err.Error(), "no component named nope") {
		t.Errorf("Selected(nope) error = %v", err)
	}
	all, _ := engine.Selected(cfg, nil)
	if len(all) != 4 {
		t.Errorf("Selected() = %d components, want 4 (normalize, detect, correlate, console)", len(all))
	}
}
