package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/connectors/sinks/elasticsearch"
	"github.com/vigilsec/vigil/connectors/sinks/elasticsearch/estest"
)

// TestESSetupDryRun prints the requests without a server.
func TestESSetupDryRun(t *testing.T) {
	t.Setenv("VIGIL_CONFIG", "")
	out, err := runInProcess(t, "es", "setup", "--dry-run")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"PUT /_ilm/policy/vigil-vigil\n", "PUT /_component_template/vigil-ecs@mappings\n",
		"PUT /_index_template/vigil-logs-aws.cloudtrail-vigil\n", "PUT /_index_template/vigil-logs-vigil.alerts-vigil\n", `"geo_point"`} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run does not print %q", want)
		}
	}
}

// TestESSetup runs the setup twice against the test server, with the
// sink's settings from a config file: the same result each time. On
// ZincSearch the ILM policy and component templates are skipped with a
// note; on Elasticsearch everything is installed.
func TestESSetup(t *testing.T) {
	es := estest.Start(t)
	t.Setenv("VIGIL_TEST_ES_PW", es.Password)
	cfg := filepath.Join(t.TempDir(), "vigil.yaml")
	yaml := fmt.Sprintf("sinks:\n  console: {}\n  es:\n    type: elasticsearch\n    urls: [%q]\n    namespace: %s\n", es.URL, es.Prefix)
	if es.Username != "" {
		yaml += fmt.Sprintf("    username: %s\n    password: {env: VIGIL_TEST_ES_PW}\n", es.Username)
	}
	if es.CAFile != "" {
		yaml += fmt.Sprintf("    tls: {ca_file: %q}\n", es.CAFile)
	}
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	steps, _ := elasticsearch.Plan(&elasticsearch.Config{Index: "logs-{dataset}-{namespace}", Namespace: es.Prefix})
	var cleanup []string // what uses a resource goes before it
	for i := len(steps) - 1; i >= 0; i-- {
		if strings.Contains(steps[i].Name, es.Prefix) {
			cleanup = append(cleanup, steps[i].Path)
		}
	}
	es.Cleanup(t, cleanup...)

	var outs []string
	for range 2 {
		out, err := runInProcess(t, "es", "setup", "--config", cfg)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		outs = append(outs, out)
	}
	if outs[0] != outs[1] {
		t.Errorf("a second run differs:\n%s\n---\n%s", outs[0], outs[1])
	}
	out := strings.Join(strings.Fields(outs[0]), " ")
	tmpl := "vigil-logs-aws.cloudtrail-" + es.Prefix
	if !strings.Contains(out, "installed index template "+tmpl) {
		t.Errorf("the cloudtrail index template is not reported installed:\n%s", out)
	}
	if es.Real {
		if strings.Contains(out, "skipped") {
			t.Errorf("steps skipped on Elasticsearch:\n%s", out)
		}
	} else if !strings.Contains(out, "skipped ILM policy vigil-"+es.Prefix+" the server has no ILM API") ||
		!strings.Contains(out, "skipped component template vigil-ecs@mappings") {
		t.Errorf("ZincSearch's missing APIs are not reported skipped:\n%s", out)
	}
	if !strings.Contains(out, "logs-aws.cloudtrail-"+es.Prefix) {
		t.Errorf("the data streams are not listed:\n%s", out)
	}
}
