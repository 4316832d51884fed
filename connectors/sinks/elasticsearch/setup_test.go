package elasticsearch

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/connectors/sinks/elasticsearch/estest"
)

// TestPlan checks what setup installs: an ILM policy with rollover and
// deletion, ECS mappings with the types Kibana needs, and for every dataset
// an index template that makes its data stream from components that exist.
func TestPlan(t *testing.T) {
	c := DefaultConfig()
	c.Namespace = "prod"
	c.ILM.DeleteAfter = "30d"
	steps, err := Plan(c)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Step{}
	for _, s := range steps {
		if _, dup := byName[s.Name]; dup {
			t.Errorf("step %s twice", s.Name)
		}
		byName[s.Name] = s
		if _, err := json.Marshal(s.Body); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	pol := byName["vigil-prod"]
	phases, _ := json.Marshal(pol.Body)
	for _, want := range []string{`"max_age":"30d"`, `"max_primary_shard_size":"50gb"`, `"delete":{"actions":{"delete":{}},"min_age":"30d"}`} {
		if !strings.Contains(string(phases), want) {
			t.Errorf("ILM policy %s lacks %s", phases, want)
		}
	}
	settings, _ := json.Marshal(byName["vigil-prod@settings"].Body)
	if !strings.Contains(string(settings), `"index.lifecycle.name":"vigil-prod"`) {
		t.Errorf("settings do not name the policy: %s", settings)
	}

	for _, d := range Datasets {
		stream := "logs-" + d.Name + "-prod"
		it, ok := byName["vigil-"+stream]
		if !ok {
			t.Errorf("no index template for %s", d.Name)
			continue
		}
		if !slices.Equal(it.Body["index_patterns"].([]string), []string{stream}) || it.Body["data_stream"] == nil || it.Body["priority"] != TemplatePriority {
			t.Errorf("index template of %s: %v", d.Name, it.Body)
		}
		for _, comp := range it.Body["composed_of"].([]string) {
			if s, ok := byName[comp]; !ok || s.Kind != "component template" || slices.IndexFunc(steps, func(x Step) bool { return x.Name == comp }) > slices.IndexFunc(steps, func(x Step) bool { return x.Name == it.Name }) {
				t.Errorf("%s is composed of %s, which is not installed before it", it.Name, comp)
			}
		}
		for _, k := range []string{"composed_of", "_meta", "settings"} {
			if _, ok := it.Inline[k]; ok {
				t.Errorf("inline template of %s has %s", d.Name, k)
			}
		}
		types := FieldTypes(it.Inline["template"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any))
		want := map[string]string{"@timestamp": "date", "message": "match_only_text"}
		if d.ECS {
			want["event.id"] = "keyword"
			want["event.dataset"] = "keyword"
			want["source.ip"] = "ip"
			want["source.geo.location"] = "geo_point"
			want["destination.geo.location"] = "geo_point"
			want["related.ip"] = "ip"
			want["event.severity"] = "long"
			want["event.original"] = "keyword"
		}
		for f, typ := range want {
			if types[f] != typ {
				t.Errorf("%s: %s is mapped as %q, want %q", d.Name, f, types[f], typ)
			}
		}
	}
	own := func(ds string) map[string]string {
		m, err := DatasetMappings(mustDataset(t, ds))
		if err != nil {
			t.Fatal(err)
		}
		return FieldTypes(m)
	}
	for f, typ := range map[string]string{
		"aws.vpcflow.pkt_srcaddr":                     "ip",
		"aws.vpcflow.start":                           "date",
		"aws.cloudtrail.flattened.request_parameters": "flattened",
		"aws.cloudtrail.read_only":                    "boolean",
		"aws.guardduty.severity.code":                 "double",
		"aws.guardduty.service.action.network_connection_action.remote_ip_details.geo_location": "geo_point",
		"custodian.resource":  "flattened",
		"prowler.compliance":  "flattened",
		"falco.output_fields": "flattened",
	} {
		ds := map[string]string{"aws": "", "custodian": "custodian.action", "prowler": "prowler.finding", "falco": "falco.alerts"}[strings.Split(f, ".")[0]]
		if ds == "" {
			ds = "aws." + strings.Split(f, ".")[1]
		}
		if got := own(ds)[f]; got != typ {
			t.Errorf("%s is mapped as %q, want %q", f, got, typ)
		}
	}
	if got := own(AlertsDataset)["vigil.group"]; got != "flattened" {
		t.Errorf("vigil.group is mapped as %q, want flattened: its keys are field names with dots", got)
	}
	if got := own(RemediationDataset)["changes.before"]; got != "object-disabled" {
		t.Errorf("changes.before is mapped as %q, want a disabled object: it may be any JSON value", got)
	}
}

func mustDataset(t *testing.T, name string) Dataset {
	d, ok := LookupDataset(name)
	if !ok {
		t.Fatalf("no dataset %s", name)
	}
	return d
}

// TestSetupIsIdempotent installs twice against the server. On ZincSearch,
// which has neither ILM nor component templates, those steps are skipped
// with a note and the index templates carry their mappings inline; the
// templates take effect on the indexes the sink writes.
func TestSetupIsIdempotent(t *testing.T) {
	es := estest.Start(t)
	h := newHarness(t, es)
	c := h.config("")
	first := h.setup(c)
	second := h.setup(c)
	if len(first) != len(second) {
		t.Fatalf("two runs did %d and %d steps", len(first), len(second))
	}
	for i := range first {
		if first[i].Status != second[i].Status || first[i].Note != second[i].Note {
			t.Errorf("%s %s: %s then %s", first[i].Kind, first[i].Name, first[i].Status, second[i].Status)
		}
		if es.Real && first[i].Status != "installed" {
			t.Errorf("%s %s: %s (%s) on Elasticsearch", first[i].Kind, first[i].Name, first[i].Status, first[i].Note)
		}
	}
	if !es.Real {
		for _, r := range first {
			want := "installed"
			if r.Kind != "index template" {
				want = "skipped"
			}
			if r.Status != want || r.Note == "" {
				t.Errorf("ZincSearch: %s %s: %s (%q), want %s with a note", r.Kind, r.Name, r.Status, r.Note, want)
			}
		}
	}

	// The template applies to the data stream the sink creates.
	stream := h.streamOf("aws.cloudtrail")
	var got map[string]any
	if _, err := es.Do(context.Background(), http.MethodGet, "_index_template/vigil-"+stream, nil, &got); err != nil {
		t.Fatal(err)
	}
	h.produce("events.cloudtrail", goldenEvents(t)["aws.cloudtrail"][0].doc)
	var obs commits
	h.run("es", c, &obs)
	waitCommitted(t, &obs, 1, timeout)
	var mapping map[string]any
	if _, err := es.Do(context.Background(), http.MethodGet, stream+"/_mapping", nil, &mapping); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(mapping)
	if !strings.Contains(string(b), `"event.dataset":{"type":"keyword"`) && !strings.Contains(string(b), `"dataset":{"type":"keyword"`) {
		t.Errorf("%s: event.dataset is not a keyword: %.600s", stream, b)
	}
}
