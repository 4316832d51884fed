package elasticsearch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/vigilsec/vigil/correlators/detect"
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/geoip"
	"github.com/vigilsec/vigil/ecs"
)

var update = flag.Bool("update", false, "rewrite deploy/kibana/vigil.ndjson")

const ndjsonPath = "../../../deploy/kibana/vigil.ndjson"

// TestKibanaNDJSON keeps deploy/kibana/vigil.ndjson what SavedObjects
// generates (go generate, or go test -run TestKibanaNDJSON -update).
func TestKibanaNDJSON(t *testing.T) {
	b, err := SavedObjects()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(ndjsonPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(ndjsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b) {
		t.Errorf("%s is not what the panels generate: run go generate ./connectors/sinks/elasticsearch", ndjsonPath)
	}
}

// TestKibanaObjects checks the saved objects hold together: ids unique,
// every reference resolves, the dashboard shows every panel, and the JSON
// kept in strings parses.
func TestKibanaObjects(t *testing.T) {
	b, err := SavedObjects()
	if err != nil {
		t.Fatal(err)
	}
	type obj struct {
		Type       string         `json:"type"`
		ID         string         `json:"id"`
		Attributes map[string]any `json:"attributes"`
		References []reference    `json:"references"`
	}
	byID := map[string]obj{}
	var dash obj
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var o obj
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("not JSON: %s", sc.Bytes())
		}
		if _, dup := byID[o.Type+"/"+o.ID]; dup {
			t.Errorf("%s/%s twice", o.Type, o.ID)
		}
		byID[o.Type+"/"+o.ID] = o
		if o.Type == "dashboard" {
			dash = o
		}
		for _, r := range o.References {
			if _, ok := byID[r.Type+"/"+r.ID]; !ok {
				t.Errorf("%s/%s refers to %s/%s, which comes later or not at all", o.Type, o.ID, r.Type, r.ID)
			}
		}
		for _, k := range []string{"visState", "uiStateJSON", "panelsJSON", "optionsJSON", "layerListJSON", "mapStateJSON"} {
			if s, ok := o.Attributes[k].(string); ok && !json.Valid([]byte(s)) {
				t.Errorf("%s/%s: %s is not JSON: %s", o.Type, o.ID, k, s)
			}
		}
		if m, ok := o.Attributes["kibanaSavedObjectMeta"].(map[string]any); ok {
			var ss struct {
				IndexRefName string `json:"indexRefName"`
			}
			if err := json.Unmarshal([]byte(m["searchSourceJSON"].(string)), &ss); err != nil {
				t.Errorf("%s/%s: searchSourceJSON: %v", o.Type, o.ID, err)
			}
			if ss.IndexRefName != "" && !slices.ContainsFunc(o.References, func(r reference) bool { return r.Name == ss.IndexRefName }) {
				t.Errorf("%s/%s: no reference named %s", o.Type, o.ID, ss.IndexRefName)
			}
		}
	}
	if dash.ID != KibanaDashboardID {
		t.Fatal("no dashboard")
	}
	var panels []struct {
		PanelRefName string         `json:"panelRefName"`
		GridData     map[string]any `json:"gridData"`
		PanelIndex   string         `json:"panelIndex"`
	}
	if err := json.Unmarshal([]byte(dash.Attributes["panelsJSON"].(string)), &panels); err != nil {
		t.Fatal(err)
	}
	if len(panels) != len(Panels) || len(dash.References) != len(Panels) {
		t.Errorf("the dashboard has %d panels and %d references for %d panels", len(panels), len(dash.References), len(Panels))
	}
	for _, p := range panels {
		if !slices.ContainsFunc(dash.References, func(r reference) bool { return r.Name == p.PanelRefName }) {
			t.Errorf("panel %s has no reference", p.PanelRefName)
		}
		if p.GridData["i"] != p.PanelIndex || p.GridData["x"].(float64)+p.GridData["w"].(float64) > 48 {
			t.Errorf("panel %s: grid %v", p.PanelIndex, p.GridData)
		}
	}

	// Every panel the dashboard must have (issue 7).
	for _, id := range []string{
		"root-account-access", "guardduty-findings", "guardduty-finding-types", "iam-users-unauthorized-ips",
		"console-logins", "console-logins-map", "unauthorized-api-calls", "event-sources", "network-acl-changes",
		"iam-user-role-creation", "macie-alerts", "custodian-remediations", "lambda-invocations",
		"vpc-accepted-inbound", "vpc-accepted-outbound", "vpc-rejected-external-destination", "vpc-rejected-internal-host",
		"vpc-rejected-destination-port", "prowler-failed-checks", "inbound-rejected-per-hour", "bytes-to-internet-per-hour", "vigil-alerts",
	} {
		if !slices.ContainsFunc(Panels, func(p Panel) bool { return p.ID == id }) {
			t.Errorf("no panel %s", id)
		}
	}
	for _, code := range []string{"Client.OperationNotPermitted", "Client.UnauthorizedOperation", "AccessDenied", "Client.AuthFailure"} {
		if !strings.Contains(unauthorizedCodes, `"`+code+`"`) {
			t.Errorf("unauthorized API calls do not include %s", code)
		}
	}
}

// TestPanelFields checks that every field a panel uses is mapped by the
// templates with a type that can do what the panel does with it, and is
// produced by the normalizers: present in at least one document of the
// panel's dataset that the decoders make of the golden samples, enriched
// as the normalize app enriches them (GeoIP, network direction); for
// vigil's alerts, in the alerts the detect app makes of those events.
func TestPanelFields(t *testing.T) {
	produced := producedFields(t)
	for _, p := range Panels {
		d, ok := LookupDataset(p.Dataset)
		if !ok {
			t.Errorf("panel %s: no dataset %s", p.ID, p.Dataset)
			continue
		}
		if got, want := sorted(QueryFieldsOf(p.Query)), sorted(p.QueryFields); !slices.Equal(got, want) {
			t.Errorf("panel %s: the query names %v, QueryFields says %v", p.ID, got, want)
		}
		m, err := ComposedMappings(d)
		if err != nil {
			t.Fatal(err)
		}
		types := FieldTypes(m)
		for f, uses := range p.Fields() {
			typ := types[f]
			if typ == "" || typ == "object" || typ == "object-disabled" {
				t.Errorf("panel %s: %s is not mapped for %s (%q)", p.ID, f, p.Dataset, typ)
				continue
			}
			for _, use := range uses {
				var ok bool
				switch use {
				case "terms":
					ok = slices.Contains([]string{"keyword", "ip", "long", "double", "boolean", "date"}, typ)
				case "metric":
					ok = typ == "long" || typ == "double"
				case "geo":
					ok = typ == "geo_point"
				case "time":
					ok = typ == "date"
				default:
					ok = true
				}
				if !ok {
					t.Errorf("panel %s: %s is mapped as %s, which cannot serve as %s", p.ID, f, typ, use)
				}
			}
			if !produced[p.Dataset][f] {
				t.Errorf("panel %s: no %s document the normalizers produce has %s", p.ID, p.Dataset, f)
			}
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// producedFields returns, by dataset, the fields present in the enriched
// normalizer outputs (objects' own paths included: source.geo.location).
func producedFields(t *testing.T) map[string]map[string]bool {
	t.Helper()
	db, err := geoip.Open([]string{worldCityDB(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	enr, err := normalize.NewEnricher(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	add := func(ds string, doc []byte) {
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			t.Fatal(err)
		}
		if out[ds] == nil {
			out[ds] = map[string]bool{}
		}
		flattenPaths(v, "", out[ds])
	}
	for ds, docs := range goldenEvents(t) {
		for _, g := range docs {
			var ev ecs.Event
			if err := json.Unmarshal(g.doc, &ev); err != nil {
				t.Fatalf("%s: %v", g.origin, err)
			}
			enr.Enrich(&ev)
			b, err := normalize.Marshal(&ev)
			if err != nil {
				t.Fatal(err)
			}
			add(ds, b)
			if ds == "aws.cloudtrail" {
				a := detect.NewAlert(detect.RuleInfo{ID: "r", Title: "AWS Root Credentials", Level: "medium", Tags: []string{"attack.t1078"}}, &ev, g.origin)
				b, _ := json.Marshal(a)
				add(AlertsDataset, b)
			}
		}
	}
	return out
}

func flattenPaths(v any, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		if prefix != "" {
			out[strings.TrimSuffix(prefix, ".")] = true
		}
		for k, sub := range x {
			flattenPaths(sub, prefix+k+".", out)
		}
	case []any:
		for _, sub := range x {
			flattenPaths(sub, prefix, out)
		}
	default:
		if x != nil && prefix != "" {
			out[strings.TrimSuffix(prefix, ".")] = true
		}
	}
}

// worldCityDB writes a city database that places every address in London,
// so that enrichment adds geo fields to every public address.
func worldCityDB(t *testing.T) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", IPVersion: 6, RecordSize: 24,
		IncludeReservedNetworks: true, DisableIPv4Aliasing: true})
	if err != nil {
		t.Fatal(err)
	}
	_, all, _ := net.ParseCIDR("::/0")
	if err := w.Insert(all, mmdbtype.Map{
		"country":  mmdbtype.Map{"iso_code": mmdbtype.String("GB"), "names": mmdbtype.Map{"en": mmdbtype.String("United Kingdom")}},
		"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("London")}},
		"location": mmdbtype.Map{"latitude": mmdbtype.Float64(51.5142), "longitude": mmdbtype.Float64(-0.0931)},
	}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}
