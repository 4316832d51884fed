package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
)

// TemplatePriority is the priority of vigil's index templates: above the
// 200 of Elastic's integrations (logs-aws.cloudtrail-*), whose patterns
// overlap, and Elasticsearch's built-in logs-*-* (100).
const TemplatePriority = 250

// totalFieldsLimit leaves room above the largest dataset's mapping
// (GuardDuty, about 550 fields with its objects) for fields nobody declared.
const totalFieldsLimit = 2000

// Step is one resource `vigil es setup` installs with a PUT.
type Step struct {
	// Kind is "ILM policy", "component template" or "index template".
	Kind string
	// Name is the resource's name.
	Name string
	// Path is the API path, without the leading slash.
	Path string
	// Body is the request body.
	Body map[string]any
	// Inline is, for an index template, the template for servers without
	// component templates: the composed mappings inlined, and only the
	// keys every index template API knows (no composed_of, _meta or
	// settings).
	Inline map[string]any
	// Dataset is the dataset of an index template.
	Dataset string
}

// Plan returns what `vigil es setup` installs for the sink configured by
// c, in order: the ILM policy, the component templates (the ECS mappings,
// each dataset's own, the settings), then one index template per dataset
// that makes its data stream.
func Plan(c *Config) ([]Step, error) {
	meta := map[string]any{"managed_by": "vigil", "description": "installed by vigil es setup; edits are overwritten by the next run"}
	policy := "vigil"
	if strings.Contains(c.Index, "{namespace}") {
		policy = "vigil-" + c.Namespace
	}
	settings := policy + "@settings"
	var steps []Step

	hot := map[string]any{"actions": map[string]any{"rollover": map[string]any{
		"max_age":                c.ILM.RolloverMaxAge,
		"max_primary_shard_size": c.ILM.RolloverMaxPrimaryShardSize,
	}}}
	phases := map[string]any{"hot": hot}
	if c.ILM.DeleteAfter != "" {
		phases["delete"] = map[string]any{"min_age": c.ILM.DeleteAfter, "actions": map[string]any{"delete": map[string]any{}}}
	}
	steps = append(steps, Step{Kind: "ILM policy", Name: policy, Path: "_ilm/policy/" + policy,
		Body: map[string]any{"policy": map[string]any{"_meta": meta, "phases": phases}}})

	mappings := func(props map[string]any) map[string]any {
		return map[string]any{"dynamic_templates": dynamicTemplates, "properties": props}
	}
	ecs, err := ECSMappings()
	if err != nil {
		return nil, err
	}
	steps = append(steps, Step{Kind: "component template", Name: "vigil-ecs@mappings", Path: "_component_template/vigil-ecs@mappings",
		Body: map[string]any{"template": map[string]any{"mappings": mappings(ecs)}, "_meta": meta}})
	for _, d := range Datasets {
		own, err := DatasetMappings(d)
		if err != nil {
			return nil, err
		}
		name := "vigil-" + d.Name + "@mappings"
		steps = append(steps, Step{Kind: "component template", Name: name, Path: "_component_template/" + name,
			Body: map[string]any{"template": map[string]any{"mappings": mappings(own)}, "_meta": meta}})
	}
	steps = append(steps, Step{Kind: "component template", Name: settings, Path: "_component_template/" + settings,
		Body: map[string]any{"template": map[string]any{"settings": map[string]any{
			"index.lifecycle.name":             policy,
			"index.mapping.total_fields.limit": totalFieldsLimit,
			"index.codec":                      "best_compression",
		}}, "_meta": meta}})

	for _, d := range Datasets {
		stream := IndexName(c.Index, d.Name, c.Namespace)
		var composed []string
		if d.ECS {
			composed = append(composed, "vigil-ecs@mappings")
		}
		composed = append(composed, "vigil-"+d.Name+"@mappings", settings)
		all, err := ComposedMappings(d)
		if err != nil {
			return nil, err
		}
		name := "vigil-" + stream
		steps = append(steps, Step{Kind: "index template", Name: name, Path: "_index_template/" + name, Dataset: d.Name,
			Body: map[string]any{
				"index_patterns": []string{stream},
				"data_stream":    map[string]any{},
				"priority":       TemplatePriority,
				"composed_of":    composed,
				"_meta":          meta,
			},
			Inline: map[string]any{
				"index_patterns": []string{stream},
				"data_stream":    map[string]any{},
				"priority":       TemplatePriority,
				"template":       map[string]any{"mappings": mappings(all)},
			}})
	}
	return steps, nil
}

// Result is what became of one step.
type Result struct {
	Step
	// Status is "installed" or "skipped".
	Status string
	// Note says why a step was skipped or what was left out.
	Note string
}

// ErrSetup is returned by Install when some resources could not be
// installed; the results say which and why.
var ErrSetup = errors.New("elasticsearch: setup incomplete")

// Install PUTs the steps, in order. PUT replaces a resource with the same
// name, so installing twice leaves the same state: setup is idempotent.
//
// Servers that speak only part of Elasticsearch's API (ZincSearch) are
// handled step by step: an API the server does not have (404 or 405)
// skips its steps with a note, and without component templates each index
// template carries its mappings inline. Any other failure is reported in
// its result and makes Install return ErrSetup after trying the rest.
func Install(ctx context.Context, es *elasticsearch.Client, steps []Step) ([]Result, error) {
	var out []Result
	var failed []string
	noComponents := false
	for _, s := range steps {
		body := s.Body
		r := Result{Step: s, Status: "installed"}
		if s.Kind == "index template" && noComponents {
			body = s.Inline
			r.Note = "mappings inline, as the server has no component templates; it ignores what it does not support (ip, geo_point, flattened, ILM)"
		}
		code, msg, err := put(ctx, es, s.Path, body)
		switch {
		case err != nil:
			return out, fmt.Errorf("elasticsearch: %s %s: %w", s.Kind, s.Name, err)
		case code >= 200 && code < 300:
		case code == http.StatusNotFound || code == http.StatusMethodNotAllowed:
			r.Status = "skipped"
			switch s.Kind {
			case "ILM policy":
				r.Note = fmt.Sprintf("the server has no ILM API (%d): indices are neither rolled over nor deleted by age", code)
			case "component template":
				noComponents = true
				r.Note = fmt.Sprintf("the server has no component template API (%d)", code)
			default:
				r.Note = fmt.Sprintf("the server has no index template API (%d): it maps fields as they come", code)
			}
		default:
			r.Status = "failed"
			r.Note = fmt.Sprintf("%d: %s", code, msg)
			failed = append(failed, s.Kind+" "+s.Name)
		}
		out = append(out, r)
	}
	if len(failed) > 0 {
		return out, fmt.Errorf("%w: %s", ErrSetup, strings.Join(failed, ", "))
	}
	return out, nil
}

// put sends one PUT and returns the status code and, for an error, the
// server's reason.
func put(ctx context.Context, es *elasticsearch.Client, path string, body any) (int, string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "/"+path, bytes.NewReader(b))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := es.Perform(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 300 {
		return res.StatusCode, "", nil
	}
	return res.StatusCode, errorReason(rb), nil
}

// errorReason extracts the reason from an Elasticsearch error body.
func errorReason(b []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s
		}
		var o struct {
			Type      string `json:"type"`
			Reason    string `json:"reason"`
			RootCause []struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"root_cause"`
		}
		if json.Unmarshal(e.Error, &o) == nil && o.Type != "" {
			return o.Type + ": " + o.Reason
		}
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// Info is what a server says about itself at its root.
type Info struct {
	Name    string `json:"name"`
	Version struct {
		Number      string `json:"number"`
		BuildFlavor string `json:"build_flavor"`
	} `json:"version"`
	Tagline string `json:"tagline"`
}

// ServerInfo asks the server for its name and version.
func ServerInfo(ctx context.Context, es *elasticsearch.Client) (Info, error) {
	var info Info
	res, err := es.Info(es.Info.WithContext(ctx))
	if err != nil {
		return info, fmt.Errorf("elasticsearch: %w", err)
	}
	defer res.Body.Close()
	if res.IsError() {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		return info, fmt.Errorf("elasticsearch: %s: %s", res.Status(), errorReason(b))
	}
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		return info, fmt.Errorf("elasticsearch: reading server info: %w", err)
	}
	return info, nil
}
