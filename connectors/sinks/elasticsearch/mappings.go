package elasticsearch

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/vigilsec/vigil/schemas"
)

// Dataset is one kind of document the sink indexes: an event.dataset of the
// normalized events, vigil's alerts, or the remediation results. Each has
// its own data stream, index template and mappings.
type Dataset struct {
	// Name is the event.dataset value ("aws.cloudtrail"); it names the data
	// stream (logs-aws.cloudtrail-vigil).
	Name string
	// Topic is the logical topic its documents arrive on (events.cloudtrail).
	Topic string
	// Schema is the JSON schema the documents follow, and Subtree the part
	// of it (dotted) that is the dataset's own: its fields are mapped in the
	// dataset's component template, the rest in the ECS one. An empty
	// Subtree means the whole schema is the dataset's own (alerts,
	// remediation results).
	Schema, Subtree string
	// ECS tells whether the documents are ECS documents that share the
	// common ECS mappings.
	ECS bool
}

// Datasets are the datasets vigil writes, in the order `vigil es setup`
// installs them. Normalized events of any other dataset are indexed too,
// under Elasticsearch's default mappings for logs-*-*.
var Datasets = []Dataset{
	{Name: "aws.cloudtrail", Topic: "events.cloudtrail", Schema: schemas.Event, Subtree: "aws.cloudtrail", ECS: true},
	{Name: "aws.vpcflow", Topic: "events.vpcflow", Schema: schemas.Event, Subtree: "aws.vpcflow", ECS: true},
	{Name: "aws.guardduty", Topic: "events.guardduty", Schema: schemas.Event, Subtree: "aws.guardduty", ECS: true},
	{Name: "aws.macie", Topic: "events.macie", Schema: schemas.Event, Subtree: "aws.macie", ECS: true},
	{Name: "prowler.finding", Topic: "events.prowler", Schema: schemas.Event, Subtree: "prowler", ECS: true},
	{Name: "falco.alerts", Topic: "events.falco", Schema: schemas.Event, Subtree: "falco", ECS: true},
	{Name: "wazuh.alerts", Topic: "events.wazuh", Schema: schemas.Event, Subtree: "wazuh", ECS: true},
	{Name: "custodian.action", Topic: "events.custodian", Schema: schemas.Event, Subtree: "custodian", ECS: true},
	{Name: AlertsDataset, Topic: "alerts", Schema: schemas.Alert, ECS: true},
	{Name: RemediationDataset, Topic: "remediation.results", Schema: schemas.RemediationResult},
}

// The datasets of vigil's own documents.
const (
	AlertsDataset      = "vigil.alerts"
	RemediationDataset = "vigil.remediation"
)

// LookupDataset returns the dataset named name.
func LookupDataset(name string) (Dataset, bool) {
	for _, d := range Datasets {
		if d.Name == name {
			return d, true
		}
	}
	return Dataset{}, false
}

// sourceSubtrees are the top-level fields of the event schema that belong to
// one source; the rest of the event schema is the common ECS part.
var sourceSubtrees = []string{"aws", "prowler", "falco", "wazuh", "custodian"}

// keywordIgnoreAbove keeps very long strings (request parameters, command
// lines) out of the keyword index instead of failing the document: Lucene
// rejects terms over 32 KB.
const keywordIgnoreAbove = 1024

// dynamicTemplates map strings nobody declared (custom fields, new fields of
// a source) as keywords, as ECS does, not as text with a keyword subfield.
var dynamicTemplates = []any{
	map[string]any{"strings_as_keyword": map[string]any{
		"match_mapping_type": "string",
		"mapping":            map[string]any{"type": "keyword", "ignore_above": keywordIgnoreAbove},
	}},
}

var (
	mappingsOnce sync.Once
	mappingsErr  error
	// schemaProps holds the properties mapping of each schema file.
	schemaProps map[string]map[string]any
)

// loadMappings derives the Elasticsearch mappings of every schema once.
func loadMappings() error {
	mappingsOnce.Do(func() {
		schemaProps = map[string]map[string]any{}
		g := &mapper{docs: map[string]map[string]any{}}
		for _, name := range []string{schemas.Event, schemas.Alert, schemas.RemediationResult} {
			m, err := g.mapping(name)
			if err != nil {
				mappingsErr = err
				return
			}
			props, _ := m["properties"].(map[string]any)
			schemaProps[name] = props
		}
	})
	return mappingsErr
}

// ECSMappings returns the properties of the mappings every ECS dataset
// shares: the event schema without the sources' own fields.
func ECSMappings() (map[string]any, error) {
	if err := loadMappings(); err != nil {
		return nil, err
	}
	props := maps.Clone(schemaProps[schemas.Event])
	for _, s := range sourceSubtrees {
		delete(props, s)
	}
	return deepCopy(props), nil
}

// DatasetMappings returns the properties of d's own mappings, rooted at the
// document (aws.cloudtrail's are under aws.properties.cloudtrail).
func DatasetMappings(d Dataset) (map[string]any, error) {
	if err := loadMappings(); err != nil {
		return nil, err
	}
	props := schemaProps[d.Schema]
	if props == nil {
		return nil, fmt.Errorf("elasticsearch: no mappings for schema %s", d.Schema)
	}
	if d.Subtree == "" {
		return deepCopy(props), nil
	}
	parts := strings.Split(d.Subtree, ".")
	node := props
	for i, p := range parts {
		sub, ok := node[p].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("elasticsearch: schema %s has no %s", d.Schema, strings.Join(parts[:i+1], "."))
		}
		if i == len(parts)-1 {
			// Wrap the subtree back into its parents.
			out := map[string]any{p: deepCopy(sub)}
			for j := i - 1; j >= 0; j-- {
				out = map[string]any{parts[j]: map[string]any{"properties": out}}
			}
			return out, nil
		}
		node, _ = sub["properties"].(map[string]any)
	}
	return nil, nil
}

// ComposedMappings returns the properties of d's data stream as its index
// template composes them: the ECS mappings (for ECS datasets) merged with
// the dataset's own.
func ComposedMappings(d Dataset) (map[string]any, error) {
	own, err := DatasetMappings(d)
	if err != nil {
		return nil, err
	}
	if !d.ECS {
		return own, nil
	}
	base, err := ECSMappings()
	if err != nil {
		return nil, err
	}
	if err := mergeProps(base, own, ""); err != nil {
		return nil, fmt.Errorf("elasticsearch: dataset %s: %w", d.Name, err)
	}
	return base, nil
}

// FieldTypes flattens a properties mapping into dotted field names and
// their types ("object" for objects with properties).
func FieldTypes(props map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(p map[string]any, prefix string)
	walk = func(p map[string]any, prefix string) {
		for name, v := range p {
			m := v.(map[string]any)
			if sub, ok := m["properties"].(map[string]any); ok {
				out[prefix+name] = "object"
				walk(sub, prefix+name+".")
				continue
			}
			t, _ := m["type"].(string)
			if t == "object" {
				t = "object-disabled"
			}
			out[prefix+name] = t
		}
	}
	walk(props, "")
	return out
}

// mergeProps merges src into dst; the same field mapped two ways is an
// error, as it is for Elasticsearch.
func mergeProps(dst, src map[string]any, prefix string) error {
	for name, v := range src {
		sv := v.(map[string]any)
		dv, ok := dst[name].(map[string]any)
		if !ok {
			dst[name] = sv
			continue
		}
		dp, dObj := dv["properties"].(map[string]any)
		sp, sObj := sv["properties"].(map[string]any)
		switch {
		case dObj && sObj:
			if err := mergeProps(dp, sp, prefix+name+"."); err != nil {
				return err
			}
		case dObj != sObj || dv["type"] != sv["type"]:
			return fmt.Errorf("field %s%s is mapped as %v and as %v", prefix, name, typeOf(dv), typeOf(sv))
		}
	}
	return nil
}

func typeOf(m map[string]any) any {
	if _, ok := m["properties"]; ok {
		return "object"
	}
	return m["type"]
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// mapper turns JSON schemas into Elasticsearch mappings.
//
// The schemas say what each field holds; the mapping follows from it the way
// ECS maps its fields:
//   - strings are keyword, date-time strings date, and strings whose schema
//     says ipv4 or ipv6 are ip;
//   - an object of exactly lat and lon is a geo_point (source.geo.location,
//     GuardDuty's geo_location);
//   - integers are long, numbers double, booleans boolean;
//   - free-form objects (a source's payload as the tool wrote it) are
//     flattened, so their keys never add fields or conflict; a free-form
//     value that may be any JSON is stored without being indexed;
//   - message is match_only_text and event.original is kept but not indexed;
//     host.ip and related.ip are ip, as in ECS.
type mapper struct {
	docs map[string]map[string]any
}

// view is what the schema says about one field once $ref and allOf are
// followed.
type view struct {
	types       map[string]bool
	formats     map[string]bool
	enum        []any
	props       map[string][]ref
	propOrder   []string
	items       []ref
	additional  bool // additionalProperties is a schema, or absent
	closed      bool // additionalProperties: false
	described   bool
	description string
	constraint  bool // anyOf/oneOf/enum/const/items: not free-form
}

type ref struct {
	node map[string]any
	doc  string
}

func (g *mapper) load(name string) (map[string]any, error) {
	if d, ok := g.docs[name]; ok {
		return d, nil
	}
	b, err := schemas.File(name)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: schema %s: %w", name, err)
	}
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("elasticsearch: schema %s: %w", name, err)
	}
	g.docs[name] = d
	return d, nil
}

func (g *mapper) resolve(r string, doc string) (ref, error) {
	file, frag, _ := strings.Cut(r, "#")
	if file == "" {
		file = doc
	}
	d, err := g.load(file)
	if err != nil {
		return ref{}, err
	}
	var node any = d
	for _, p := range strings.Split(strings.Trim(frag, "/"), "/") {
		if p == "" {
			continue
		}
		m, ok := node.(map[string]any)
		if !ok {
			return ref{}, fmt.Errorf("elasticsearch: schema %s: cannot resolve %s", doc, r)
		}
		node = m[p]
	}
	m, ok := node.(map[string]any)
	if !ok {
		return ref{}, fmt.Errorf("elasticsearch: schema %s: cannot resolve %s", doc, r)
	}
	return ref{m, file}, nil
}

func (g *mapper) mapping(name string) (map[string]any, error) {
	d, err := g.load(name)
	if err != nil {
		return nil, err
	}
	return g.field([]ref{{d, name}}, nil)
}

// collect folds the schema nodes of one field into a view.
func (g *mapper) collect(refs []ref, v *view, depth int) error {
	if depth > 32 {
		return fmt.Errorf("elasticsearch: schema references nest too deep")
	}
	for _, r := range refs {
		n := r.node
		if s, ok := n["$ref"].(string); ok {
			target, err := g.resolve(s, r.doc)
			if err != nil {
				return err
			}
			if err := g.collect([]ref{target}, v, depth+1); err != nil {
				return err
			}
		}
		if all, ok := n["allOf"].([]any); ok {
			for _, a := range all {
				if err := g.collect([]ref{{a.(map[string]any), r.doc}}, v, depth+1); err != nil {
					return err
				}
			}
		}
		for _, k := range []string{"anyOf", "oneOf"} {
			alts, ok := n[k].([]any)
			if !ok {
				continue
			}
			v.constraint = true
			for _, a := range alts {
				if err := g.collect([]ref{{a.(map[string]any), r.doc}}, v, depth+1); err != nil {
					return err
				}
			}
		}
		switch t := n["type"].(type) {
		case string:
			v.types[t] = true
		case []any:
			for _, x := range t {
				if s, ok := x.(string); ok && s != "null" {
					v.types[s] = true
				}
			}
		}
		if f, ok := n["format"].(string); ok {
			v.formats[f] = true
		}
		if e, ok := n["enum"].([]any); ok {
			v.enum = append(v.enum, e...)
			v.constraint = true
		}
		if c, ok := n["const"]; ok {
			v.enum = append(v.enum, c)
			v.constraint = true
		}
		if d, ok := n["description"].(string); ok {
			v.described = true
			v.description += " " + d
		}
		if props, ok := n["properties"].(map[string]any); ok {
			for _, k := range slices.Sorted(maps.Keys(props)) {
				if _, seen := v.props[k]; !seen {
					v.propOrder = append(v.propOrder, k)
				}
				v.props[k] = append(v.props[k], ref{props[k].(map[string]any), r.doc})
			}
		}
		if it, ok := n["items"].(map[string]any); ok {
			v.items = append(v.items, ref{it, r.doc})
			v.constraint = true
		}
		switch ap := n["additionalProperties"].(type) {
		case bool:
			v.closed = !ap
		case map[string]any:
			v.additional = true
		}
	}
	return nil
}

// field returns the mapping of one field described by refs, at path.
func (g *mapper) field(refs []ref, path []string) (map[string]any, error) {
	v := &view{types: map[string]bool{}, formats: map[string]bool{}, props: map[string][]ref{}}
	if err := g.collect(refs, v, 0); err != nil {
		return nil, err
	}
	dotted := strings.Join(path, ".")
	switch dotted {
	case "message":
		return map[string]any{"type": "match_only_text"}, nil
	case "event.original":
		return map[string]any{"type": "keyword", "index": false, "doc_values": false}, nil
	case "host.ip", "related.ip":
		// ip in ECS; the schema does not pin their format, so a value that
		// is not an address is kept in _source rather than failing the
		// document.
		return map[string]any{"type": "ip", "ignore_malformed": true}, nil
	}
	if len(v.props) > 0 {
		if len(v.props) == 2 && v.props["lat"] != nil && v.props["lon"] != nil {
			return map[string]any{"type": "geo_point"}, nil
		}
		props := map[string]any{}
		for _, k := range v.propOrder {
			m, err := g.field(v.props[k], append(slices.Clip(path), k))
			if err != nil {
				return nil, err
			}
			if m != nil {
				props[k] = m
			}
		}
		return map[string]any{"properties": props}, nil
	}
	if v.types["array"] || len(v.items) > 0 {
		if len(v.items) == 0 {
			return map[string]any{"type": "object", "enabled": false}, nil
		}
		return g.field(v.items, path)
	}
	if v.formats["ipv4"] || v.formats["ipv6"] {
		return map[string]any{"type": "ip"}, nil
	}
	t := ""
	for _, cand := range []string{"string", "integer", "number", "boolean", "object"} {
		if v.types[cand] {
			t = cand
			break
		}
	}
	if t == "" && len(v.enum) > 0 {
		t = "string"
		switch v.enum[0].(type) {
		case float64:
			t = "number"
		case bool:
			t = "boolean"
		}
	}
	switch t {
	case "string":
		if v.formats["date-time"] {
			return map[string]any{"type": "date"}, nil
		}
		return map[string]any{"type": "keyword", "ignore_above": keywordIgnoreAbove}, nil
	case "integer":
		return map[string]any{"type": "long"}, nil
	case "number":
		return map[string]any{"type": "double"}, nil
	case "boolean":
		return map[string]any{"type": "boolean"}, nil
	}
	if v.constraint && t == "" {
		// anyOf/oneOf of things that are not formats: keep, do not index.
		return map[string]any{"type": "object", "enabled": false}, nil
	}
	// A free-form value: what a tool wrote, keys and all. Flattened when
	// the schema says it is an object, or calls it flattened; but a value
	// the schema allows to be any JSON (a scalar, a list of strings) is
	// kept in _source without being indexed, as a flattened field takes
	// only objects and Elasticsearch would reject the document.
	if strings.Contains(v.description, "any JSON") {
		return map[string]any{"type": "object", "enabled": false}, nil
	}
	if t == "object" || strings.Contains(v.description, "flattened") || (len(path) > 1 && path[len(path)-2] == "flattened") {
		return map[string]any{"type": "flattened", "ignore_above": keywordIgnoreAbove}, nil
	}
	return map[string]any{"type": "object", "enabled": false}, nil
}
