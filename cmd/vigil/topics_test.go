package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/broker"
)

// TestTopicsCreate: "vigil topics --create" creates every topic the
// configuration uses, compacted where vigil keeps state, with the
// configured partitions; a second run finds them all, and "vigil topics"
// lists the same ones without connecting.
func TestTopicsCreate(t *testing.T) {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(cfg, []byte("kafka:\n  brokers: ["+b.Addr()+"]\ntopics:\n  prefix: tt\n  partitions: 4\n  create: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`^(\S+)\s+(\d+)\s+(\S+)(?:\s+(\S+))?$`)
	parse := func(out []byte) map[string][]string {
		rows := map[string][]string{}
		for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if i == 0 {
				continue // the header
			}
			m := row.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("unexpected line %q", line)
			}
			rows[m[1]] = m[2:]
		}
		return rows
	}

	out, err := exec.Command(vigilBin, "topics", "-c", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("vigil topics: %v\n%s", err, out)
	}
	listed := parse(out)
	for _, want := range []string{"tt.raw.cloudtrail", "tt.events.cloudtrail", "tt.alerts", "tt.matches", "tt.dlq", "tt-correlate-matches-changelog"} {
		if _, ok := listed[want]; !ok {
			t.Errorf("vigil topics does not list %s:\n%s", want, out)
		}
	}

	out, err = exec.Command(vigilBin, "topics", "--create", "-c", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("vigil topics --create: %v\n%s", err, out)
	}
	created := parse(out)
	if len(created) != len(listed) {
		t.Errorf("--create reports %d topics, the listing %d", len(created), len(listed))
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	details, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name, r := range created {
		names = append(names, name)
		if r[2] != "created" {
			t.Errorf("%s: status %q, want created", name, r[2])
		}
		d, ok := details[name]
		if !ok {
			t.Errorf("%s reported but not on the broker", name)
			continue
		}
		if len(d.Partitions) != 4 || r[0] != "4" {
			t.Errorf("%s: %d partitions (reported %s), want 4", name, len(d.Partitions), r[0])
		}
	}
	configs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range configs {
		policy := "delete"
		for _, c := range rc.Configs {
			if c.Key == "cleanup.policy" && c.Value != nil {
				policy = *c.Value
			}
		}
		if want := created[rc.Name][1]; policy != want {
			t.Errorf("%s: cleanup.policy %q, reported %q", rc.Name, policy, want)
		}
	}

	out, err = exec.Command(vigilBin, "topics", "--create", "-c", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("second vigil topics --create: %v\n%s", err, out)
	}
	for name, r := range parse(out) {
		if r[2] != "exists" {
			t.Errorf("second run: %s is %q, want exists", name, r[2])
		}
	}

	// Without brokers there is nothing to create on.
	out, err = exec.Command(vigilBin, "topics", "--create").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "needs kafka.brokers") {
		t.Errorf("--create without brokers: %v\n%s", err, out)
	}
}
