package prowler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// Dataset is the event.dataset of Prowler findings.
const Dataset = "prowler.finding"

func init() { normalize.Register("prowler", Decoder{}) }

// Decoder is the Prowler decoder. It holds no state and is safe for
// concurrent use.
type Decoder struct{}

// Dataset implements normalize.Decoder: the topic suffix.
func (Decoder) Dataset() string { return "prowler" }

// Decode implements normalize.Decoder.
func (Decoder) Decode(raw []byte, m normalize.Meta) ([]*ecs.Event, error) {
	body := bytes.TrimSpace(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")))
	if len(body) == 0 {
		return nil, errors.New("empty record")
	}
	switch body[0] {
	case '{':
		return decodeObject(raw, m)
	case '[':
		// A whole JSON-OCSF or ASFF file pushed as one record.
		return decodeItems(splitArray(raw), "", m)
	default:
		return decodeCSV(raw, m)
	}
}

// envelope holds the keys that tell batches apart from single findings.
type envelope struct {
	Findings   json.RawMessage `json:"Findings"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

func decodeObject(raw []byte, m normalize.Meta) ([]*ecs.Event, error) {
	var env envelope
	if err := normalize.Unmarshal(raw, &env); err != nil {
		return nil, err
	}
	switch {
	case env.DetailType != "":
		if env.DetailType != "Security Hub Findings - Imported" {
			return nil, fmt.Errorf("EventBridge detail-type %q is not Security Hub findings", env.DetailType)
		}
		var d envelope
		if err := normalize.Unmarshal(env.Detail, &d); err != nil {
			return nil, fmt.Errorf("detail: %w", err)
		}
		items, err := rawItems(d.Findings, "detail.findings")
		if err != nil {
			return nil, err
		}
		return decodeItems(items, "detail.findings", m)
	case len(env.Findings) > 0 && !bytes.Equal(env.Findings, []byte("null")):
		items, err := rawItems(env.Findings, "Findings")
		if err != nil {
			return nil, err
		}
		return decodeItems(items, "Findings", m)
	}
	ev, err := decodeFinding(raw, m)
	if err != nil {
		return nil, err
	}
	return []*ecs.Event{ev}, nil
}

// rawItems returns the elements of a JSON array.
func rawItems(b json.RawMessage, path string) ([]item, error) {
	var items []json.RawMessage
	if err := normalize.Unmarshal(b, &items); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s is empty: no finding in the batch", path)
	}
	out := make([]item, len(items))
	for i, r := range items {
		out[i] = item{raw: r}
	}
	return out, nil
}

// splitArray returns the elements of a JSON array by structure, valid or
// not, so that one bad element does not sink the others. An element that
// cannot be delimited is returned with the error.
func splitArray(raw []byte) []item {
	sp := framing.New(bytes.NewReader(raw), framing.Array, len(raw)+1)
	var out []item
	for {
		fr, err := sp.Next()
		if err != nil {
			return out
		}
		out = append(out, item{raw: fr.Data, err: fr.Err})
	}
}

type item struct {
	raw []byte
	err error
}

// decodeItems decodes the findings of a batch. path names the array for
// error locations ("Findings"); "" for a top-level array.
func decodeItems(list []item, path string, m normalize.Meta) ([]*ecs.Event, error) {
	if len(list) == 0 {
		return nil, errors.New("an empty JSON array: no finding")
	}
	out := make([]*ecs.Event, 0, len(list))
	var failed []normalize.ItemError
	for i, it := range list {
		err := it.err
		if err == nil {
			var ev *ecs.Event
			if ev, err = decodeFinding(it.raw, m); err == nil {
				out = append(out, ev)
				continue
			}
		}
		failed = append(failed, normalize.ItemError{Index: i, Path: fmt.Sprintf("%s[%d]", path, i), Raw: it.raw, Err: err})
	}
	if len(failed) > 0 {
		return out, &normalize.PartialError{Items: failed}
	}
	return out, nil
}

// probe holds the keys that tell the JSON finding formats apart.
type probe struct {
	FindingInfo json.RawMessage `json:"finding_info"`
	ClassUID    json.RawMessage `json:"class_uid"`
	StatusCode  json.RawMessage `json:"status_code"`
	GeneratorID json.RawMessage `json:"GeneratorId"`
	ProductArn  json.RawMessage `json:"ProductArn"`
	CheckID     json.RawMessage `json:"CheckID"`
}

// decodeFinding decodes one finding in any of the JSON formats.
func decodeFinding(raw []byte, m normalize.Meta) (*ecs.Event, error) {
	var p probe
	if err := normalize.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	var (
		f   *finding
		err error
	)
	switch {
	case p.FindingInfo != nil || p.ClassUID != nil || p.StatusCode != nil:
		f, err = fromOCSF(raw)
	case p.GeneratorID != nil || p.ProductArn != nil:
		f, err = fromASFF(raw)
	case p.CheckID != nil:
		f, err = fromV3(raw)
	default:
		return nil, errors.New("not a Prowler finding: no finding_info (JSON-OCSF), GeneratorId or ProductArn (ASFF) or CheckID (v3 JSON)")
	}
	if err != nil {
		return nil, err
	}
	return f.event(raw, m)
}

// finding is a check result in any format, before it becomes an event.
type finding struct {
	format         string
	time           time.Time
	uid            string
	checkID        string
	checkTitle     string
	checkType      []string
	status         string
	statusExtended string
	muted          *bool
	severity       string
	serviceName    string
	subServiceName string
	description    string
	risk           string
	relatedURL     string
	additionalURLs []string
	remediation    ecs.ProwlerRemediation
	compliance     map[string][]string
	categories     []string
	dependsOn      []string
	relatedTo      []string
	notes          string

	provider    string
	accountID   string
	accountName string
	account     ecs.ProwlerAccount
	region      string
	namespace   string

	resourceUID  string
	resourceName string
	resourceType string
	resource     ecs.ProwlerResource

	version    string
	authMethod string
	profile    string
	asff       *ecs.ProwlerASFF
}

// severityID is the OCSF severity id of each Prowler severity.
var severityID = map[string]int{"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// event maps a finding to ECS; raw is the finding's own bytes.
func (f *finding) event(raw []byte, m normalize.Meta) (*ecs.Event, error) {
	f.checkID, f.uid = strings.TrimSpace(f.checkID), strings.TrimSpace(f.uid)
	if f.checkID == "" {
		return nil, fmt.Errorf("not a Prowler finding: no check id (%s)", checkIDField[f.format])
	}
	if f.time.IsZero() {
		return nil, fmt.Errorf("no finding time (%s)", timeField[f.format])
	}
	ts := f.time.UTC()
	if ts.Year() < 1 || ts.Year() > 9999 {
		return nil, fmt.Errorf("finding time %s is out of range", f.time.Format(time.RFC3339))
	}
	status := strings.ToUpper(strings.TrimSpace(f.status))
	if status == "" && (f.muted == nil || !*f.muted) {
		return nil, fmt.Errorf("no check status (%s)", statusField[f.format])
	}
	if strings.Trim(status, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != "" {
		return nil, fmt.Errorf("%s %q is not a check status such as PASS or FAIL", statusField[f.format], f.status)
	}
	id := f.uid
	if id == "" || isPlaceholder(id) {
		id = normalize.DerivedID(raw, 0)
	}
	severity := strings.ToLower(strings.TrimSpace(f.severity))
	ev := &ecs.Event{
		Timestamp: ts,
		Message:   f.statusExtended,
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event: ecs.EventMeta{
			ID:       id,
			Kind:     "state",
			Category: []string{"configuration"},
			Type:     []string{"info"},
			Action:   strings.ToLower(status),
			Outcome:  "unknown",
			Dataset:  Dataset,
			Module:   "prowler",
			Severity: severityID[severity],
		},
		Observer: &ecs.Observer{Vendor: "Prowler", Product: "Prowler", Version: f.version},
	}
	switch status {
	case "PASS":
		ev.Event.Outcome = "success"
	case "FAIL":
		ev.Event.Outcome = "failure"
	case "":
		ev.Event.Action = "muted"
	}
	if m.KeepOriginal {
		// JSON cannot carry invalid UTF-8: keep what it would become.
		ev.Event.Original = strings.ToValidUTF8(string(raw), "\uFFFD")
	}

	service := f.serviceName
	if service == "" {
		// Check ids begin with the service: "rds_instance_...".
		service, _, _ = strings.Cut(f.checkID, "_")
	}
	ev.Rule = &ecs.Rule{
		ID:          f.checkID,
		Name:        f.checkTitle,
		Description: f.description,
		Ruleset:     "prowler",
		Reference:   dedup(append([]string{f.relatedURL}, f.additionalURLs...)),
	}
	if len(f.checkType) > 0 {
		ev.Rule.Category = f.checkType[0]
	}
	if status == "FAIL" {
		ev.Vulnerability = &ecs.Vulnerability{
			ID:          f.checkID,
			Category:    f.categories,
			Description: f.description,
			Severity:    severity,
			Reference:   remediationURL(f),
			Scanner:     &ecs.VulnerabilityVendor{Vendor: "Prowler"},
		}
	}

	if t := techniques(f.compliance); t != nil {
		ev.Threat = &ecs.Threat{Framework: "MITRE ATT&CK", Technique: &ecs.ThreatCategory{ID: t}}
	}

	provider := strings.ToLower(strings.TrimSpace(f.provider))
	if provider == "kubernetes" {
		ns := f.namespace
		if ns == "" {
			ns = strings.TrimPrefix(f.region, "namespace: ")
		}
		ev.Orchestrator = &ecs.Orchestrator{Type: "kubernetes", Namespace: ns}
		if f.resourceName != "" || f.resourceType != "" {
			ev.Orchestrator.Resource = &ecs.OrchestratorResource{Name: f.resourceName, Type: f.resourceType}
		}
	} else if provider != "" || f.accountID != "" || f.region != "" {
		ev.Cloud = &ecs.Cloud{Provider: provider, Region: f.region}
		if f.accountID != "" || f.accountName != "" {
			ev.Cloud.Account = &ecs.CloudAccount{ID: f.accountID, Name: f.accountName}
		}
		if service != "" {
			ev.Cloud.Service = &ecs.CloudService{Name: service}
		}
	}
	if f.resourceUID != "" || f.resourceName != "" || f.resourceType != "" {
		ev.Resource = &ecs.Resource{ID: f.resourceUID, Type: f.resourceType, Name: f.resourceName, Region: f.region}
		if provider == "kubernetes" {
			ev.Resource.Region = ""
		}
	}

	p := &ecs.Prowler{
		Format:         f.format,
		FindingUID:     f.uid,
		Status:         status,
		StatusExtended: f.statusExtended,
		Muted:          f.muted,
		Severity:       severity,
		CheckType:      f.checkType,
		ServiceName:    service,
		SubServiceName: f.subServiceName,
		Risk:           f.risk,
		RelatedURL:     f.relatedURL,
		AdditionalURLs: f.additionalURLs,
		Compliance:     f.compliance,
		Categories:     f.categories,
		DependsOn:      f.dependsOn,
		RelatedTo:      f.relatedTo,
		Notes:          f.notes,
		AuthMethod:     f.authMethod,
		Profile:        f.profile,
		ASFF:           f.asff,
	}
	if r := f.remediation; r.Recommendation != nil || r.Code != nil || len(r.References) > 0 {
		p.Remediation = &r
	}
	if a := f.account; a.Email != "" || a.OrganizationUID != "" || a.OrganizationName != "" || len(a.Tags) > 0 {
		p.Account = &a
	}
	if r := f.resource; r.Partition != "" || r.Details != "" || len(r.Tags) > 0 || r.Metadata != nil {
		p.Resource = &r
	}
	ev.Prowler = p
	return ev, nil
}

var (
	checkIDField = map[string]string{"ocsf": "metadata.event_code", "asff": "GeneratorId", "json": "CheckID", "csv": "CHECK_ID"}
	timeField    = map[string]string{"ocsf": "time or time_dt", "asff": "UpdatedAt, CreatedAt or FirstObservedAt", "json": "AssessmentStartTime", "csv": "TIMESTAMP"}
	statusField  = map[string]string{"ocsf": "status_code", "asff": "Compliance.Status", "json": "Status", "csv": "STATUS"}
)

// techniques are the MITRE ATT&CK technique ids a check maps to in its
// compliance (Prowler's MITRE-ATTACK framework); nil if none.
func techniques(compliance map[string][]string) []string {
	var out []string
	for fw, ids := range compliance {
		if !strings.HasPrefix(strings.ToUpper(fw), "MITRE-ATTACK") {
			continue
		}
		for _, id := range ids {
			if isTechnique(id) && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// isTechnique reports whether s is an ATT&CK technique id: T1552 or
// T1552.001.
func isTechnique(s string) bool {
	digits := func(s string) bool {
		for _, c := range s {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	base, sub, hasSub := strings.Cut(s, ".")
	return len(base) == 5 && base[0] == 'T' && digits(base[1:]) && (!hasSub || len(sub) == 3 && digits(sub))
}

// remediationURL is where to read how to fix a failure.
func remediationURL(f *finding) string {
	if r := f.remediation.Recommendation; r != nil && r.URL != "" {
		return r.URL
	}
	for _, ref := range f.remediation.References {
		if strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://") {
			return ref
		}
	}
	return f.relatedURL
}

// isPlaceholder reports whether s is a value redacted as "<name>", as in
// Prowler's documentation examples.
func isPlaceholder(s string) bool {
	return len(s) > 2 && s[0] == '<' && s[len(s)-1] == '>' && !strings.ContainsAny(s[1:len(s)-1], "<> ")
}

// dedup drops empty and repeated strings, keeping the order; nil if none
// is left.
func dedup(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// nonEmpty returns the strings that are not blank, or nil.
func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// timeLayouts are the forms of Prowler's times: RFC 3339, and Python's
// isoformat() and str() of a datetime without a zone.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// parseTime parses a Prowler time. A time without a zone is read as UTC.
func parseTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q is not a time", field, s)
}

// flattened decodes a JSON value for a flattened field; nil for null,
// absent, an empty object or array, or invalid JSON.
func flattened(b json.RawMessage) any {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return nil
		}
	case []any:
		if len(x) == 0 {
			return nil
		}
	}
	return v
}

// labels parses tags written as "key: value" (JSON-OCSF labels) or
// "key=value" (CSV) into a map; nil if none.
func labels(list []string, sep string) map[string]string {
	var out map[string]string
	for _, l := range list {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		k, v, _ := strings.Cut(l, sep)
		if out == nil {
			out = map[string]string{}
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}
