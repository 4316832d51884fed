package detect

import (
	"testing"
	"time"

	"github.com/vigilsec/vigil/ecs"
)

func ctEvent(identity, eventType string) *ecs.Event {
	return &ecs.Event{
		Timestamp: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		Event:     ecs.EventMeta{ID: "ev-1", Kind: "event", Dataset: "aws.cloudtrail", Action: "ConsoleLogin", Outcome: "success"},
		Cloud:     &ecs.Cloud{Account: &ecs.CloudAccount{ID: "111122223333"}},
		Source:    &ecs.Endpoint{IP: "192.0.2.0", Address: "192.0.2.0"},
		User:      &ecs.User{Name: "root"},
		AWS:       &ecs.AWS{CloudTrail: &ecs.CloudTrail{EventType: eventType, UserIdentity: &ecs.UserIdentity{Type: identity}}},
	}
}

func TestRootUsage(t *testing.T) {
	r := rootUsage{}
	cases := []struct {
		ev   *ecs.Event
		want bool
	}{
		{ctEvent("Root", "AwsConsoleSignIn"), true},
		{ctEvent("Root", "AwsApiCall"), true},
		{ctEvent("Root", "AwsServiceEvent"), false},
		{ctEvent("IAMUser", "AwsConsoleSignIn"), false},
		{ctEvent("AssumedRole", "AwsApiCall"), false},
		{&ecs.Event{Event: ecs.EventMeta{Dataset: "aws.cloudtrail"}}, false},
	}
	for i, c := range cases {
		if got := r.Match(c.ev); got != c.want {
			t.Errorf("case %d: Match = %v, want %v", i, got, c.want)
		}
	}
}

func TestNewAlert(t *testing.T) {
	ev := ctEvent("Root", "AwsConsoleSignIn")
	a := NewAlert(rootUsage{}.Info(), ev, "f.json:1")
	b := NewAlert(rootUsage{}.Info(), ev, "elsewhere:9")
	if a.Event.ID != b.Event.ID || len(a.Event.ID) != 32 {
		t.Errorf("alert ids %q and %q: the same rule and event must give the same id", a.Event.ID, b.Event.ID)
	}
	ev2 := ctEvent("Root", "AwsConsoleSignIn")
	ev2.Event.ID = "ev-2"
	if NewAlert(rootUsage{}.Info(), ev2, "").Event.ID == a.Event.ID {
		t.Error("different events gave the same alert id")
	}
	if a.Event.Severity != 47 || a.Vigil.Level != "medium" || a.Rule.License != "DRL-1.1" || a.Threat == nil {
		t.Errorf("alert fields: %+v %+v", a.Event, a.Rule)
	}
	if want := "AWS Root Credentials: root called ConsoleLogin (success) from 192.0.2.0 in account 111122223333"; a.Message != want {
		t.Errorf("message %q, want %q", a.Message, want)
	}
	if len(a.Vigil.Evidence) != 1 || a.Vigil.Evidence[0].Origin != "f.json:1" {
		t.Errorf("evidence: %+v", a.Vigil.Evidence)
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{Datasets: []string{"Bad Name"}, Disable: []string{"nope"}, Guarantee: "twice"}
	if errs := c.Validate(); len(errs) != 3 {
		t.Errorf("got %d problems, want 3: %v", len(errs), errs)
	}
	if errs := (&Config{Datasets: []string{"cloudtrail"}, Disable: []string{rootUsage{}.Info().ID}}).Validate(); len(errs) != 0 {
		t.Errorf("valid config: %v", errs)
	}
}
