package console

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/streams"
)

func alert() *ecs.Alert {
	return &ecs.Alert{
		Timestamp: time.Date(2026, 11, 2, 9, 12, 41, 0, time.UTC),
		Event:     ecs.EventMeta{Kind: "alert", Dataset: "vigil.alerts", Action: "ConsoleLogin", Outcome: "success"},
		Rule:      ecs.Rule{ID: "r", Name: "AWS Root Credentials"},
		Cloud:     &ecs.Cloud{Region: "us-east-1", Account: &ecs.CloudAccount{ID: "111122223333"}},
		Source:    &ecs.Endpoint{IP: "203.0.113.77", Geo: &ecs.Geo{CityName: "Lisbon", CountryISOCode: "PT"}},
		User:      &ecs.User{Name: "root"},
		Vigil:     ecs.AlertInfo{Level: "high", Count: 1},
	}
}

func TestFormatAlert(t *testing.T) {
	got := FormatAlert(alert(), false)
	want := "2026-11-02 09:12:41  HIGH      AWS Root Credentials  who=root account=111122223333 from=203.0.113.77 (Lisbon, PT) region=us-east-1 action=ConsoleLogin/success"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	colored := FormatAlert(alert(), true)
	if !strings.Contains(colored, "\x1b[31mHIGH") || !strings.Contains(colored, "\x1b[1mAWS Root Credentials\x1b[0m") {
		t.Errorf("colored: %q", colored)
	}
	a := alert()
	a.User, a.Source, a.Vigil.Count = nil, nil, 3
	if got := FormatAlert(a, false); !strings.Contains(got, "who=- account=") || !strings.Contains(got, "events=3") || strings.Contains(got, "from=") {
		t.Errorf("sparse alert: %q", got)
	}
}

func TestPrinter(t *testing.T) {
	var out bytes.Buffer
	p := NewPrinter(&out, false, "vigil.dlq")
	b, _ := json.Marshal(alert())
	if err := p.Process(nil, &kgo.Record{Topic: "vigil.alerts", Value: b}); err != nil {
		t.Fatal(err)
	}
	dead := streams.DeadLetter("vigil.dlq", "normalize", &kgo.Record{Topic: "vigil.raw.cloudtrail", Value: []byte("x"),
		Headers: []kgo.RecordHeader{{Key: streams.HeaderOrigin, Value: []byte("notes.txt:1")}}}, errTest("invalid JSON\nat byte 1"))
	if err := p.Process(nil, dead); err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(ecs.Event{Timestamp: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Event: ecs.EventMeta{Kind: "event", Dataset: "aws.cloudtrail", Action: "ListBuckets"}, User: &ecs.User{Name: "bob"}})
	if err := p.Process(nil, &kgo.Record{Topic: "vigil.events.cloudtrail", Value: ev}); err != nil {
		t.Fatal(err)
	}
	if err := p.Process(nil, &kgo.Record{Topic: "vigil.raw.x", Value: []byte("plain   text")}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[0], "AWS Root Credentials") ||
		lines[1] != "DEAD-LETTER  notes.txt:1  invalid JSON at byte 1  (from normalize)" ||
		lines[2] != "2026-01-01 00:00:00  aws.cloudtrail  ListBuckets  user=bob" ||
		lines[3] != "vigil.raw.x  plain text" {
		t.Errorf("lines:\n%s", strings.Join(lines, "\n"))
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

func TestFormatCorrelationAlert(t *testing.T) {
	v := 3.0
	a := &ecs.Alert{
		Timestamp: time.Date(2026, 11, 2, 9, 24, 40, 0, time.UTC),
		Rule:      ecs.Rule{Name: "AWS Principal Denied Many Different Actions"},
		Vigil: ecs.AlertInfo{Level: "high", Kind: "correlation", Count: 3, Value: &v, Field: "eventName",
			Group:  map[string]string{"userIdentity.arn": "arn:aws:iam::111122223333:user/backup-admin", "a": ""},
			Window: &ecs.Window{Start: time.Date(2026, 11, 2, 9, 14, 40, 0, time.UTC), End: time.Date(2026, 11, 2, 9, 24, 40, 1e6, time.UTC)}},
	}
	want := "2026-11-02 09:24:40  HIGH      AWS Principal Denied Many Different Actions  a=-  userIdentity.arn=arn:aws:iam::111122223333:user/backup-admin window=09:14:40..09:24:40 events=3 value=3 (eventName)"
	if got := FormatAlert(a, false); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
