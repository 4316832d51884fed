package elasticsearch

import (
	"context"
	"net/http"
	"testing"
)

// checkRealCluster checks, on a real Elasticsearch, what ZincSearch does not
// have: the data streams, their backing indexes' ILM policy, and the field
// types the templates gave them.
func checkRealCluster(t *testing.T, h *harness) {
	t.Helper()
	ctx := context.Background()
	for _, d := range Datasets {
		stream := h.streamOf(d.Name)
		var ds struct {
			DataStreams []struct {
				Name     string `json:"name"`
				Template string `json:"template"`
				ILM      string `json:"ilm_policy"`
			} `json:"data_streams"`
		}
		if _, err := h.es.Do(ctx, http.MethodGet, "_data_stream/"+stream, nil, &ds); err != nil {
			t.Errorf("data stream %s: %v", stream, err)
			continue
		}
		if len(ds.DataStreams) != 1 || ds.DataStreams[0].Template != "vigil-"+stream || ds.DataStreams[0].ILM != "vigil-"+h.es.Prefix {
			t.Errorf("data stream %s: %+v, want template vigil-%s and ILM policy vigil-%s", stream, ds.DataStreams, stream, h.es.Prefix)
		}
	}
	want := map[string]map[string]string{
		"aws.cloudtrail": {"source.ip": "ip", "source.geo.location": "geo_point", "@timestamp": "date", "event.id": "keyword", "aws.cloudtrail.flattened.request_parameters": "flattened", "message": "match_only_text"},
		"aws.vpcflow":    {"destination.ip": "ip", "destination.port": "long", "network.bytes": "long", "aws.vpcflow.start": "date"},
		"vigil.alerts":   {"vigil.group": "flattened", "event.severity": "long", "rule.name": "keyword"},
	}
	for ds, fields := range want {
		for f, typ := range fields {
			var m map[string]struct {
				Mappings map[string]struct {
					Mapping map[string]struct {
						Type string `json:"type"`
					} `json:"mapping"`
				} `json:"mappings"`
			}
			if _, err := h.es.Do(ctx, http.MethodGet, h.streamOf(ds)+"/_mapping/field/"+f, nil, &m); err != nil {
				t.Errorf("%s mapping of %s: %v", ds, f, err)
				continue
			}
			found := false
			for _, idx := range m {
				for _, fm := range idx.Mappings {
					for _, mm := range fm.Mapping {
						found = true
						if mm.Type != typ {
							t.Errorf("%s: %s is mapped as %s, want %s", ds, f, mm.Type, typ)
						}
					}
				}
			}
			if !found {
				t.Errorf("%s: %s is not mapped", ds, f)
			}
		}
	}
	var pol map[string]any
	if _, err := h.es.Do(ctx, http.MethodGet, "_ilm/policy/vigil-"+h.es.Prefix, nil, &pol); err != nil {
		t.Errorf("ILM policy: %v", err)
	}
}
