package normalize

import (
	"testing"

	"github.com/vigilsec/vigil/ecs"
)

func TestDirection(t *testing.T) {
	e, err := NewEnricher(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, dst, want string }{
		{"10.0.0.5", "10.0.1.7", "internal"},
		{"10.0.0.5", "81.2.69.1", "outbound"},
		{"81.2.69.1", "172.31.5.4", "inbound"},
		{"81.2.69.1", "8.8.8.8", "external"},
		{"fd00::1", "2a02:cf40::1", "outbound"},
	} {
		ev := &ecs.Event{Source: &ecs.Endpoint{IP: c.src}, Destination: &ecs.Endpoint{IP: c.dst}}
		e.Enrich(ev)
		if ev.Network == nil || ev.Network.Direction != c.want {
			t.Errorf("%s -> %s: direction %+v, want %s", c.src, c.dst, ev.Network, c.want)
		}
	}
	// A direction the source set stays; an event with one address gets none.
	ev := &ecs.Event{Source: &ecs.Endpoint{IP: "10.0.0.1"}, Destination: &ecs.Endpoint{IP: "8.8.8.8"}, Network: &ecs.Network{Direction: "inbound"}}
	e.Enrich(ev)
	if ev.Network.Direction != "inbound" {
		t.Errorf("the source's direction was replaced: %s", ev.Network.Direction)
	}
	ev = &ecs.Event{Source: &ecs.Endpoint{IP: "10.0.0.1"}}
	e.Enrich(ev)
	if ev.Network != nil {
		t.Errorf("direction without a destination: %+v", ev.Network)
	}
	custom, err := NewEnricher(nil, []string{"81.2.69.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	ev = &ecs.Event{Source: &ecs.Endpoint{IP: "10.0.0.1"}, Destination: &ecs.Endpoint{IP: "81.2.69.9"}}
	custom.Enrich(ev)
	if ev.Network.Direction != "inbound" {
		t.Errorf("configured internal networks ignored: %s", ev.Network.Direction)
	}
	if _, err := NewEnricher(nil, []string{"not a cidr"}); err == nil {
		t.Error("a bad CIDR accepted")
	}
}
