package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
)

// The Kibana content: one dashboard of the panels security teams look at,
// over data views of vigil's data streams. It is written as saved objects
// in the format of Kibana 7.17, which every Kibana 8 imports (and migrates)
// and 7.17 reads as is: agg-based visualizations, saved searches for the
// tables of documents, and a Maps map.
//
// deploy/kibana/vigil.ndjson is generated from Panels by
// `go generate ./connectors/sinks/elasticsearch` (a test checks that it is
// current), and `vigil kibana import` loads the same bytes.

//go:generate go test -run TestKibanaNDJSON -update .

// KibanaDashboardID is the saved object id of vigil's dashboard.
const KibanaDashboardID = "vigil-aws-security"

// kibanaVersion is the Kibana version whose saved object format the
// objects follow.
const kibanaVersion = "7.17.0"

// Panel is one panel of the dashboard.
type Panel struct {
	// ID names the panel's saved object (vigil-<ID>).
	ID string
	// Title and Description are shown on the panel.
	Title, Description string
	// Dataset is the dataset whose data view the panel reads.
	Dataset string
	// Query is KQL; QueryFields are the fields it uses.
	Query       string
	QueryFields []string
	// Kind is "search" (a table of documents with Columns), "table" (a
	// table of Terms buckets), "pie", "bar" (Terms on the x axis, split by
	// Split), "time" (a date histogram of Interval, bars, or a line when
	// Metric is an average), or "map" (documents at GeoField).
	Kind string
	// Columns are the columns of a search, or the tooltip of a map.
	Columns []string
	// Terms are the buckets of a table, pie or bar, outermost first; Split
	// splits a bar's or time chart's series.
	Terms []Terms
	Split *Terms
	// Metric is "count" (default) or "avg:<field>" or "sum:<field>".
	Metric string
	// Interval is a time chart's bucket ("h" for hourly).
	Interval string
	// GeoField is a map's geo_point field.
	GeoField string
	// W and H are the panel's size on the dashboard's 48-column grid.
	W, H int
}

// Terms is a terms aggregation.
type Terms struct {
	Field string
	Size  int
	Label string
}

// Fields returns every field the panel uses, with how: "query", "column",
// "terms", "metric" or "geo".
func (p Panel) Fields() map[string][]string {
	out := map[string][]string{}
	add := func(f, use string) {
		if !slices.Contains(out[f], use) {
			out[f] = append(out[f], use)
		}
	}
	for _, f := range p.QueryFields {
		add(f, "query")
	}
	for _, f := range p.Columns {
		add(f, "column")
	}
	for _, t := range p.Terms {
		add(t.Field, "terms")
	}
	if p.Split != nil {
		add(p.Split.Field, "terms")
	}
	if f := metricField(p.Metric); f != "" {
		add(f, "metric")
	}
	if p.GeoField != "" {
		add(p.GeoField, "geo")
	}
	if p.Kind == "time" || p.Kind == "search" || p.Kind == "map" {
		add("@timestamp", "time")
	}
	return out
}

func metricField(m string) string {
	for _, p := range []string{"avg:", "sum:"} {
		if len(m) > len(p) && m[:len(p)] == p {
			return m[len(p):]
		}
	}
	return ""
}

// kqlField finds the field names of a KQL query ("field: value").
var kqlField = regexp.MustCompile(`([A-Za-z_@][A-Za-z0-9_.@]*)\s*:`)

// QueryFieldsOf returns the fields a KQL query names.
func QueryFieldsOf(q string) []string {
	var out []string
	for _, m := range kqlField.FindAllStringSubmatch(q, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

const (
	unauthorizedCodes = `aws.cloudtrail.error_code: ("Client.OperationNotPermitted" or "Client.UnauthorizedOperation" or "AccessDenied" or "Client.AuthFailure")`
	naclActions       = `event.action: ("CreateNetworkAcl" or "CreateNetworkAclEntry" or "DeleteNetworkAcl" or "DeleteNetworkAclEntry" or "ReplaceNetworkAclEntry" or "ReplaceNetworkAclAssociation")`
	// authorizedRanges stands for the networks IAM users are expected to
	// come from. Edit the panel's query to list yours (offices, VPN, CI).
	authorizedRanges = `("10.0.0.0/8" or "172.16.0.0/12" or "192.168.0.0/16")`
)

// Panels are the dashboard's panels, in order.
var Panels = []Panel{
	{ID: "root-account-access", Title: "Root account access", Dataset: "aws.cloudtrail", Kind: "search", W: 24, H: 14,
		Description: "Every action taken with the root user's credentials: the root account should not be used day to day.",
		Query:       `aws.cloudtrail.user_identity.type: "Root"`, QueryFields: []string{"aws.cloudtrail.user_identity.type"},
		Columns: []string{"event.action", "event.outcome", "cloud.account.id", "source.ip", "source.geo.country_name", "user_agent.original"}},
	{ID: "guardduty-findings", Title: "GuardDuty findings", Dataset: "aws.guardduty", Kind: "search", W: 24, H: 14,
		Description: "All GuardDuty findings, most recent first.",
		Columns:     []string{"aws.guardduty.type", "aws.guardduty.severity.code", "aws.guardduty.title", "cloud.account.id", "cloud.region", "aws.guardduty.resource.type"}},
	{ID: "guardduty-finding-types", Title: "GuardDuty finding types", Dataset: "aws.guardduty", Kind: "pie", W: 16, H: 14,
		Description: "GuardDuty findings by type.",
		Terms:       []Terms{{Field: "aws.guardduty.type", Size: 20, Label: "Finding type"}}},
	{ID: "iam-users-unauthorized-ips", Title: "IAM users acting from non-authorized addresses", Dataset: "aws.cloudtrail", Kind: "table", W: 16, H: 14,
		Description: "API calls and sign-ins of IAM users from addresses outside the authorized ranges. Edit the query to list your own ranges (offices, VPN, CI); the default excludes the private networks.",
		Query:       `aws.cloudtrail.user_identity.type: "IAMUser" and source.ip: * and not source.ip: ` + authorizedRanges,
		QueryFields: []string{"aws.cloudtrail.user_identity.type", "source.ip"},
		Terms: []Terms{{Field: "user.name", Size: 20, Label: "IAM user"}, {Field: "source.ip", Size: 10, Label: "Address"},
			{Field: "source.geo.country_name", Size: 5, Label: "Country"}}},
	{ID: "event-sources", Title: "AWS event sources", Dataset: "aws.cloudtrail", Kind: "pie", W: 16, H: 14,
		Description: "CloudTrail events by the AWS service that recorded them.",
		Terms:       []Terms{{Field: "event.provider", Size: 15, Label: "Event source"}}},
	{ID: "console-logins", Title: "Console logins", Dataset: "aws.cloudtrail", Kind: "search", W: 28, H: 16,
		Description: "Sign-ins to the AWS console: who, into which account, from where, and whether with MFA.",
		Query:       `event.action: "ConsoleLogin"`, QueryFields: []string{"event.action"},
		Columns: []string{"user.name", "aws.cloudtrail.user_identity.type", "aws.cloudtrail.user_identity.arn", "cloud.account.id",
			"source.ip", "source.geo.country_name", "source.geo.city_name", "event.outcome", "aws.cloudtrail.console_login.additional_eventdata.mfa_used"}},
	{ID: "console-logins-map", Title: "Console logins on a map", Dataset: "aws.cloudtrail", Kind: "map", W: 20, H: 16,
		Description: "Where console sign-ins come from (addresses with a location: GeoIP enrichment must be on).",
		Query:       `event.action: "ConsoleLogin"`, QueryFields: []string{"event.action"}, GeoField: "source.geo.location",
		Columns: []string{"user.name", "cloud.account.id", "source.ip", "source.geo.city_name", "source.geo.country_name", "event.outcome"}},
	{ID: "unauthorized-api-calls", Title: "Unauthorized API calls", Dataset: "aws.cloudtrail", Kind: "table", W: 24, H: 14,
		Description: "Calls refused for lack of permission (Client.OperationNotPermitted, Client.UnauthorizedOperation, AccessDenied, Client.AuthFailure), by principal and action.",
		Query:       unauthorizedCodes, QueryFields: []string{"aws.cloudtrail.error_code"},
		Terms: []Terms{{Field: "aws.cloudtrail.user_identity.arn", Size: 20, Label: "Principal"}, {Field: "event.action", Size: 10, Label: "Action"},
			{Field: "aws.cloudtrail.error_code", Size: 4, Label: "Error code"}}},
	{ID: "network-acl-changes", Title: "Network ACL changes", Dataset: "aws.cloudtrail", Kind: "table", W: 24, H: 14,
		Description: "Network ACLs and their entries created, replaced or deleted, and who did it.",
		Query:       naclActions, QueryFields: []string{"event.action"},
		Terms: []Terms{{Field: "event.action", Size: 6, Label: "Change"}, {Field: "aws.cloudtrail.user_identity.arn", Size: 20, Label: "Who"},
			{Field: "cloud.account.id", Size: 10, Label: "Account"}}},
	{ID: "iam-user-role-creation", Title: "IAM users and roles created", Dataset: "aws.cloudtrail", Kind: "search", W: 24, H: 14,
		Description: "CreateUser and CreateRole calls: who created what (the new name is in the request parameters).",
		Query:       `event.provider: "iam.amazonaws.com" and event.action: ("CreateUser" or "CreateRole")`, QueryFields: []string{"event.provider", "event.action"},
		Columns: []string{"event.action", "event.outcome", "aws.cloudtrail.user_identity.arn", "aws.cloudtrail.request_parameters", "cloud.account.id"}},
	{ID: "macie-alerts", Title: "Macie alerts", Dataset: "aws.macie", Kind: "search", W: 24, H: 14,
		Description: "Macie findings: sensitive data and bucket policy problems.",
		Columns:     []string{"aws.macie.type", "aws.macie.severity.description", "aws.macie.title", "aws.macie.resources_affected.s3_bucket.name", "cloud.account.id", "cloud.region"}},
	{ID: "custodian-remediations", Title: "Incident response: Cloud Custodian remediations", Dataset: "custodian.action", Kind: "search", W: 24, H: 14,
		Description: "What Cloud Custodian policies did, to which resources, and whether in dry-run mode.",
		Columns:     []string{"custodian.policy.name", "event.action", "resource.type", "resource.id", "custodian.dryrun", "event.outcome", "cloud.account.id"}},
	{ID: "lambda-invocations", Title: "Incident response: Lambda invocations", Dataset: "aws.cloudtrail", Kind: "table", W: 24, H: 14,
		Description: "Lambda functions invoked (a response function at work, or someone running code), by caller.",
		Query:       `event.provider: "lambda.amazonaws.com" and event.action: Invoke*`, QueryFields: []string{"event.provider", "event.action"},
		Terms: []Terms{{Field: "aws.cloudtrail.user_identity.arn", Size: 20, Label: "Caller"}, {Field: "event.action", Size: 5, Label: "Action"},
			{Field: "cloud.account.id", Size: 10, Label: "Account"}}},
	{ID: "vpc-accepted-inbound", Title: "VPC flows accepted inbound, by internal host", Dataset: "aws.vpcflow", Kind: "table", W: 16, H: 14,
		Description: "Traffic from outside let in, by the internal address it reached.",
		Query:       `aws.vpcflow.action: "ACCEPT" and network.direction: "inbound"`, QueryFields: []string{"aws.vpcflow.action", "network.direction"},
		Terms: []Terms{{Field: "destination.ip", Size: 20, Label: "Internal host"}, {Field: "destination.port", Size: 5, Label: "Port"}}},
	{ID: "vpc-accepted-outbound", Title: "VPC flows accepted outbound, by external host", Dataset: "aws.vpcflow", Kind: "table", W: 16, H: 14,
		Description: "Traffic let out, by the external address it went to.",
		Query:       `aws.vpcflow.action: "ACCEPT" and network.direction: "outbound"`, QueryFields: []string{"aws.vpcflow.action", "network.direction"},
		Terms: []Terms{{Field: "destination.ip", Size: 20, Label: "External host"}, {Field: "destination.geo.country_name", Size: 3, Label: "Country"}}},
	{ID: "vpc-rejected-external-destination", Title: "VPC flows rejected, by external destination", Dataset: "aws.vpcflow", Kind: "table", W: 16, H: 14,
		Description: "Outbound traffic refused, by the external address it was going to.",
		Query:       `aws.vpcflow.action: "REJECT" and network.direction: "outbound"`, QueryFields: []string{"aws.vpcflow.action", "network.direction"},
		Terms: []Terms{{Field: "destination.ip", Size: 20, Label: "External destination"}, {Field: "destination.port", Size: 5, Label: "Port"}}},
	{ID: "vpc-rejected-internal-host", Title: "VPC flows rejected, by internal host and attacker", Dataset: "aws.vpcflow", Kind: "table", W: 24, H: 14,
		Description: "Inbound traffic refused: the internal address it was aimed at and the address it came from.",
		Query:       `aws.vpcflow.action: "REJECT" and network.direction: "inbound"`, QueryFields: []string{"aws.vpcflow.action", "network.direction"},
		Terms: []Terms{{Field: "destination.ip", Size: 20, Label: "Internal host"}, {Field: "source.ip", Size: 10, Label: "Attacker"},
			{Field: "source.geo.country_name", Size: 3, Label: "Country"}}},
	{ID: "vpc-rejected-destination-port", Title: "VPC flows rejected, by destination port", Dataset: "aws.vpcflow", Kind: "bar", W: 24, H: 14,
		Description: "Refused traffic by the port it was aimed at.",
		Query:       `aws.vpcflow.action: "REJECT"`, QueryFields: []string{"aws.vpcflow.action"},
		Terms: []Terms{{Field: "destination.port", Size: 20, Label: "Destination port"}}},
	{ID: "prowler-failed-checks", Title: "Prowler failed checks", Dataset: "prowler.finding", Kind: "table", W: 24, H: 14,
		Description: "Posture checks that failed, by check and severity.",
		Query:       `prowler.status: "FAIL"`, QueryFields: []string{"prowler.status"},
		Terms: []Terms{{Field: "rule.name", Size: 30, Label: "Check"}, {Field: "prowler.severity", Size: 5, Label: "Severity"},
			{Field: "cloud.account.id", Size: 10, Label: "Account"}}},
	{ID: "inbound-rejected-per-hour", Title: "Inbound rejected traffic per hour", Dataset: "aws.vpcflow", Kind: "time", W: 24, H: 12,
		Description: "Inbound flows refused, per hour.",
		Query:       `aws.vpcflow.action: "REJECT" and network.direction: "inbound"`, QueryFields: []string{"aws.vpcflow.action", "network.direction"},
		Interval: "h"},
	{ID: "bytes-to-internet-per-hour", Title: "Average bytes to the Internet per hour", Dataset: "aws.vpcflow", Kind: "time", W: 24, H: 12,
		Description: "Average bytes of the accepted flows going out to the Internet, per hour.",
		Query:       `aws.vpcflow.action: "ACCEPT" and network.direction: "outbound"`, QueryFields: []string{"aws.vpcflow.action", "network.direction"},
		Interval: "h", Metric: "avg:network.bytes"},
	{ID: "vigil-alerts", Title: "vigil alerts by rule and severity", Dataset: AlertsDataset, Kind: "bar", W: 48, H: 14,
		Description: "The alerts vigil's detection and correlation rules raised, by rule, split by level.",
		Terms:       []Terms{{Field: "rule.name", Size: 25, Label: "Rule"}},
		Split:       &Terms{Field: "vigil.level", Size: 5, Label: "Level"}},
}

// DataViewID returns the saved object id of a dataset's data view.
func DataViewID(dataset string) string { return "vigil-" + dataset }

// DataViewPattern returns the index pattern of a dataset's data view: its
// data streams in every namespace.
func DataViewPattern(dataset string) string { return "logs-" + dataset + "-*" }

type savedObject struct {
	Type                 string            `json:"type"`
	ID                   string            `json:"id"`
	Attributes           map[string]any    `json:"attributes"`
	References           []reference       `json:"references"`
	CoreMigrationVersion string            `json:"coreMigrationVersion"`
	MigrationVersion     map[string]string `json:"migrationVersion"`
}

type reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// jsonString encodes v as the JSON string Kibana keeps inside attributes.
func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// SavedObjects returns the Kibana content as saved objects NDJSON: the data
// views, one object per panel, and the dashboard.
func SavedObjects() ([]byte, error) {
	var objs []savedObject
	obj := func(typ, id string, attrs map[string]any, refs ...reference) {
		if refs == nil {
			refs = []reference{}
		}
		objs = append(objs, savedObject{Type: typ, ID: id, Attributes: attrs, References: refs,
			CoreMigrationVersion: kibanaVersion, MigrationVersion: map[string]string{typ: kibanaVersion}})
	}
	var datasets []string
	for _, p := range Panels {
		if !slices.Contains(datasets, p.Dataset) {
			datasets = append(datasets, p.Dataset)
		}
	}
	for _, ds := range datasets {
		obj("index-pattern", DataViewID(ds), map[string]any{
			"title":         DataViewPattern(ds),
			"timeFieldName": "@timestamp",
			"fieldAttrs":    "{}",
		})
	}
	indexRef := func(ds string) reference {
		return reference{Name: "kibanaSavedObjectMeta.searchSourceJSON.index", Type: "index-pattern", ID: DataViewID(ds)}
	}
	searchSource := func(q string) map[string]any {
		return map[string]any{"searchSourceJSON": jsonString(map[string]any{
			"query":        map[string]any{"query": q, "language": "kuery"},
			"filter":       []any{},
			"indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
		})}
	}

	type dashPanel struct {
		Version        string         `json:"version"`
		Type           string         `json:"type"`
		GridData       map[string]any `json:"gridData"`
		PanelIndex     string         `json:"panelIndex"`
		EmbeddableCfg  map[string]any `json:"embeddableConfig"`
		PanelRefName   string         `json:"panelRefName"`
		Title          string         `json:"title,omitempty"`
		HidePanelTitle bool           `json:"hidePanelTitles,omitempty"`
	}
	var panels []dashPanel
	var dashRefs []reference
	x, y, rowH := 0, 0, 0

	for i, p := range Panels {
		id := "vigil-" + p.ID
		var typ string
		switch p.Kind {
		case "search":
			typ = "search"
			obj(typ, id, map[string]any{
				"title":                 p.Title,
				"description":           p.Description,
				"columns":               p.Columns,
				"sort":                  [][]string{{"@timestamp", "desc"}},
				"grid":                  map[string]any{},
				"hideChart":             false,
				"kibanaSavedObjectMeta": searchSource(p.Query),
			}, indexRef(p.Dataset))
		case "map":
			typ = "map"
			obj(typ, id, mapAttributes(p), reference{Name: "layer_1_source_index_pattern", Type: "index-pattern", ID: DataViewID(p.Dataset)})
		default:
			typ = "visualization"
			vs, err := visState(p)
			if err != nil {
				return nil, err
			}
			obj(typ, id, map[string]any{
				"title":                 p.Title,
				"description":           p.Description,
				"visState":              jsonString(vs),
				"uiStateJSON":           "{}",
				"version":               1,
				"kibanaSavedObjectMeta": searchSource(p.Query),
			}, indexRef(p.Dataset))
		}
		// Lay the panels out left to right in rows of 48 columns.
		if x+p.W > 48 {
			x, y, rowH = 0, y+rowH, 0
		}
		n := strconv.Itoa(i + 1)
		panels = append(panels, dashPanel{Version: kibanaVersion, Type: typ,
			GridData:   map[string]any{"x": x, "y": y, "w": p.W, "h": p.H, "i": n},
			PanelIndex: n, EmbeddableCfg: map[string]any{"enhancements": map[string]any{}}, PanelRefName: "panel_" + strconv.Itoa(i)})
		dashRefs = append(dashRefs, reference{Name: "panel_" + strconv.Itoa(i), Type: typ, ID: id})
		x += p.W
		rowH = max(rowH, p.H)
	}
	obj("dashboard", KibanaDashboardID, map[string]any{
		"title":       "vigil: AWS security",
		"description": "Root account use, GuardDuty and Macie findings, console logins, unauthorized calls, IAM and network ACL changes, incident response, VPC flows, Prowler failures and vigil's alerts. Indexed by vigil's Elasticsearch sink.",
		"hits":        0,
		"panelsJSON":  jsonString(panels),
		"optionsJSON": jsonString(map[string]any{"useMargins": true, "syncColors": false, "hidePanelTitles": false}),
		"version":     1,
		"timeRestore": true,
		"timeFrom":    "now-24h",
		"timeTo":      "now",
		"refreshInterval": map[string]any{
			"pause": true, "value": 0,
		},
		"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": jsonString(map[string]any{
			"query": map[string]any{"query": "", "language": "kuery"}, "filter": []any{},
		})},
	}, dashRefs...)

	var buf bytes.Buffer
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// visState is the definition of an agg-based visualization.
func visState(p Panel) (map[string]any, error) {
	metric := map[string]any{"id": "1", "enabled": true, "type": "count", "params": map[string]any{}, "schema": "metric"}
	metricLabel := "Count"
	if f := metricField(p.Metric); f != "" {
		kind := p.Metric[:3]
		metricLabel = map[string]string{"avg": "Average ", "sum": "Sum of "}[kind] + f
		metric = map[string]any{"id": "1", "enabled": true, "type": kind, "params": map[string]any{"field": f, "customLabel": metricLabel}, "schema": "metric"}
	}
	aggs := []any{metric}
	termsAgg := func(id int, t Terms, schema string) map[string]any {
		return map[string]any{"id": strconv.Itoa(id), "enabled": true, "type": "terms", "schema": schema, "params": map[string]any{
			"field": t.Field, "orderBy": "1", "order": "desc", "size": t.Size,
			"otherBucket": false, "otherBucketLabel": "Other", "missingBucket": false, "missingBucketLabel": "Missing",
			"customLabel": t.Label,
		}}
	}
	var params map[string]any
	switch p.Kind {
	case "table":
		for i, t := range p.Terms {
			aggs = append(aggs, termsAgg(i+2, t, "bucket"))
		}
		params = map[string]any{"perPage": 10, "showPartialRows": false, "showMetricsAtAllLevels": false,
			"showTotal": false, "totalFunc": "sum", "percentageCol": "", "showToolbar": true}
	case "pie":
		for i, t := range p.Terms {
			aggs = append(aggs, termsAgg(i+2, t, "segment"))
		}
		params = map[string]any{"type": "pie", "addTooltip": true, "addLegend": true, "legendPosition": "right", "isDonut": true,
			"labels":         map[string]any{"show": true, "values": true, "last_level": true, "truncate": 100},
			"palette":        map[string]any{"type": "palette", "name": "default"},
			"distinctColors": true, "nestedLegend": false}
	case "bar", "time":
		chart := "histogram"
		if p.Kind == "time" {
			aggs = append(aggs, map[string]any{"id": "2", "enabled": true, "type": "date_histogram", "schema": "segment", "params": map[string]any{
				"field": "@timestamp", "useNormalizedEsInterval": true, "scaleMetricValues": false, "interval": p.Interval,
				"drop_partials": false, "min_doc_count": 1, "extended_bounds": map[string]any{},
			}})
			if metricField(p.Metric) != "" {
				chart = "line"
			}
		} else {
			for i, t := range p.Terms {
				aggs = append(aggs, termsAgg(i+2, t, "segment"))
			}
		}
		if p.Split != nil {
			aggs = append(aggs, termsAgg(len(aggs)+1, *p.Split, "group"))
		}
		params = xyParams(chart, metricLabel)
	default:
		return nil, fmt.Errorf("kibana: panel %s: unknown kind %q", p.ID, p.Kind)
	}
	typ := p.Kind
	switch p.Kind {
	case "bar":
		typ = "histogram"
	case "time":
		typ = params["type"].(string)
	}
	return map[string]any{"title": p.Title, "type": typ, "aggs": aggs, "params": params}, nil
}

// xyParams are the parameters of a vertical bar or line chart.
func xyParams(chart, label string) map[string]any {
	return map[string]any{
		"type": chart,
		"grid": map[string]any{"categoryLines": false},
		"categoryAxes": []any{map[string]any{
			"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": true, "style": map[string]any{},
			"scale":  map[string]any{"type": "linear"},
			"labels": map[string]any{"show": true, "filter": true, "truncate": 100}, "title": map[string]any{},
		}},
		"valueAxes": []any{map[string]any{
			"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": true, "style": map[string]any{},
			"scale":  map[string]any{"type": "linear", "mode": "normal"},
			"labels": map[string]any{"show": true, "rotate": 0, "filter": false, "truncate": 100},
			"title":  map[string]any{"text": label},
		}},
		"seriesParams": []any{map[string]any{
			"show": true, "type": chart, "mode": "stacked", "data": map[string]any{"label": label, "id": "1"},
			"valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": true, "lineWidth": 2, "showCircles": true, "interpolate": "linear",
		}},
		"addTooltip": true, "addLegend": true, "legendPosition": "right", "times": []any{}, "addTimeMarker": false,
		"labels":          map[string]any{"show": false},
		"thresholdLine":   map[string]any{"show": false, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
		"detailedTooltip": true, "palette": map[string]any{"type": "palette", "name": "default"},
		"isVislibVis": true, "fittingFunction": "linear", "radiusRatio": 9,
	}
}

// mapAttributes are a Maps map of the documents at p.GeoField over the
// default basemap.
func mapAttributes(p Panel) map[string]any {
	layers := []any{
		map[string]any{
			"id": "basemap", "label": nil, "minZoom": 0, "maxZoom": 24, "alpha": 1, "visible": true,
			"sourceDescriptor": map[string]any{"type": "EMS_TMS", "isAutoSelect": true},
			"style":            map[string]any{"type": "TILE"},
			"type":             "VECTOR_TILE",
		},
		map[string]any{
			"id": "documents", "label": p.Title, "minZoom": 0, "maxZoom": 24, "alpha": 0.75, "visible": true,
			"sourceDescriptor": map[string]any{
				"type": "ES_SEARCH", "id": "vigil-" + p.ID + "-source",
				"geoField": p.GeoField, "geoFieldType": "geo_point",
				"indexPatternRefName": "layer_1_source_index_pattern",
				"scalingType":         "LIMIT",
				"tooltipProperties":   p.Columns,
				"sortField":           "@timestamp", "sortOrder": "desc",
				"topHitsSplitField": "", "topHitsSize": 1,
				"applyGlobalQuery": true, "applyGlobalTime": true,
				"filterByMapBounds": true,
			},
			"query": map[string]any{"query": p.Query, "language": "kuery"},
			"style": map[string]any{"type": "VECTOR", "isTimeAware": true, "properties": map[string]any{
				"fillColor":   map[string]any{"type": "STATIC", "options": map[string]any{"color": "#E7664C"}},
				"lineColor":   map[string]any{"type": "STATIC", "options": map[string]any{"color": "#FFFFFF"}},
				"lineWidth":   map[string]any{"type": "STATIC", "options": map[string]any{"size": 1}},
				"iconSize":    map[string]any{"type": "STATIC", "options": map[string]any{"size": 6}},
				"symbolizeAs": map[string]any{"options": map[string]any{"value": "circle"}},
			}},
			"type": "VECTOR",
		},
	}
	return map[string]any{
		"title":         p.Title,
		"description":   p.Description,
		"layerListJSON": jsonString(layers),
		"mapStateJSON": jsonString(map[string]any{
			"zoom": 1.4, "center": map[string]any{"lon": 0, "lat": 20},
			"timeFilters":   map[string]any{"from": "now-24h", "to": "now"},
			"refreshConfig": map[string]any{"isPaused": true, "interval": 0},
			"query":         map[string]any{"query": "", "language": "kuery"},
			"filters":       []any{},
			"settings":      map[string]any{"autoFitToDataBounds": false},
		}),
		"uiStateJSON": jsonString(map[string]any{"isLayerTOCOpen": true, "openTOCDetails": []any{}}),
	}
}
