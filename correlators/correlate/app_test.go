package correlate

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/correlators/ruleset"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
)

// TestApp runs the app as the engine builds it, from its config, over the
// last example of the specification as it stands, and checks what goes to
// the dead-letter topic.
func TestApp(t *testing.T) {
	spec, ok := plugin.Lookup(plugin.App, "correlate")
	if !ok {
		t.Fatal("the correlate app is not registered")
	}
	cfg := spec.Config().(*Config)
	if cfg.Grace != 5*time.Minute || cfg.IdleTimeout != time.Minute {
		t.Errorf("defaults: grace %s, idle timeout %s", cfg.Grace, cfg.IdleTimeout)
	}
	cfg.IdleTimeout = 0
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	w := newWorld(t, 2)
	comp, err := spec.New(cfg, plugin.Deps{
		Name: "correlate", Kafka: []kgo.Opt{kgo.SeedBrokers(w.brokers...)}, Topics: w.names, Partitions: 2,
		InstanceID: "0", Logger: slog.New(slog.DiscardHandler), State: state.Options{Dir: t.TempDir()}, Observer: w.obs,
		Rules: ruleset.Config{Paths: []string{"testdata/spec/example_16.yml"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, s := range comp.(plugin.TopicDeclarer).Topics() {
		declared = append(declared, s.Name)
	}
	for _, want := range []string{w.names.Matches(), w.names.Alerts(), w.names.DLQ(), w.names.Late()} {
		if !slices.Contains(declared, want) {
			t.Errorf("the app does not declare %s (declares %v)", want, declared)
		}
	}
	run := startFunc(t, comp.Run)

	inner, outer := "a8418a5a-5fc4-46b5-b23b-6c73beb19d41", "b180ead8-d58f-40b2-ae54-c8940995b9b6"
	var recs []*kgo.Record
	for i, l := range repeat(10, inner+" failed_login User=alice %ds") {
		recs = append(recs, w.matchRecord(parseStep(t, t0, i, l)))
	}
	// A match names its rule by id and name; the correlation refers to
	// it by name.
	success := parseStep(t, t0, 10, outer+" x User=alice 1m")
	success.Rule, success.RuleName = "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8", "successful_login"
	recs = append(recs, w.matchRecord(success))
	bad := func(v string) *kgo.Record {
		return &kgo.Record{Topic: w.names.Matches(), Key: []byte("k"), Value: []byte(v), Partition: -1}
	}
	recs = append(recs,
		bad(`{"correlation":`),
		bad(`{"correlation":"nope","rule":"x","time":"2026-11-02T00:00:00Z","event_id":"a"}`),
		bad(`{"correlation":"`+outer+`","rule":"failed_login","time":"2026-11-02T00:00:00Z","event_id":"b"}`),
		bad(`{"correlation":"`+outer+`","rule":"successful_login","event_id":"c"}`),
	)
	w.produce(recs...)
	run.waitFor("the matches", w.quiet)
	run.stop()

	alerts := w.alerts()
	if len(alerts) != 1 || alerts[0].Rule.ID != outer || alerts[0].Vigil.Level != "high" || len(alerts[0].Vigil.Evidence) != 2 {
		var got []string
		for _, a := range alerts {
			got = append(got, render(a, t0))
		}
		t.Errorf("alerts: %v; want one of %s with two pieces of evidence", got, outer)
	}
	var reasons []string
	for _, r := range w.matchesIn(w.names.DLQ()) {
		reasons = append(reasons, streams.Header(r, streams.HeaderError))
	}
	for _, want := range []string{"decode match", `no correlation rule "nope"`, `does not reference rule "failed_login"`, "no time"} {
		if !slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(r, want) }) {
			t.Errorf("dead letters %q: none says %q", reasons, want)
		}
	}
	if len(reasons) != 4 {
		t.Errorf("%d dead letters, want 4", len(reasons))
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	cyclic := filepath.Join(dir, "cyclic.yml")
	if err := os.WriteFile(cyclic, []byte(`title: a
name: a
correlation:
  type: temporal
  rules: [b, x]
  group-by: [u]
  timespan: 1m
---
title: b
name: b
correlation:
  type: temporal
  rules: [a, y]
  group-by: [u]
  timespan: 1m
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		cfg   Config
		want  []string
		rules []string
	}{
		{"defaults", *DefaultConfig(), nil, nil},
		{"rules", Config{}, []string{
			// The fragments and incomplete examples are reported.
			"example_01.yml", "example_02.yml", `no "timespan"`,
		}, []string{"testdata/spec"}},
		{"durations and guarantee", Config{Grace: -time.Second, IdleTimeout: -time.Second, Guarantee: "twice"}, []string{"grace", "idle_timeout", "twice"}, nil},
		{"missing path", Config{}, []string{"none"}, []string{filepath.Join(dir, "none")}},
		{"cycle", Config{}, []string{"cycle"}, []string{cyclic}},
	} {
		errs := c.cfg.Validate()
		if c.rules != nil {
			// The rules are the config's rules section's, shared with
			// the detect app.
			rs := ruleset.Config{Paths: c.rules}
			errs = append(errs, ruleset.Validate(rs)...)
		}
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		text := strings.Join(all, "\n")
		if c.want == nil && len(errs) > 0 {
			t.Errorf("%s: %s", c.name, text)
		}
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: problems %q do not mention %q", c.name, text, w)
			}
		}
	}
}
