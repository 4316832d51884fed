package engine

import (
	"reflect"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/vigilsec/vigil/ecs"
)

// mapEntry maps a CloudTrail record's field to where vigil's ECS events
// keep it (see FIELDS.md, which lists the same table for people).
type mapEntry struct {
	// raw is the name in the CloudTrail record, as SigmaHQ's AWS rules
	// write it; ecs is the ECS name.
	raw, ecs string
	// prefix maps every name under raw (raw + "." + rest) to the same
	// rest under ecs.
	prefix bool
	// oneWay entries map raw names to ECS names only: the ECS name is
	// not read back from a raw record (it means more than the raw field).
	oneWay bool
	// when, if set, reads the ECS field only when the ECS field named by
	// when has the value whenValue (otherwise the field is missing).
	when, whenValue string
	// original says ECS events do not keep the field: it is read from
	// the raw record in event.original, when the event kept it.
	original bool
	// jsonText says ECS keeps the field as JSON text, in a string: it is
	// read as the JSON value the text holds, as in the raw record.
	jsonText bool
	// derived says raw records do not have the field: the engine derives
	// it from them as the normalizer does (see cloudTrailDerived).
	derived bool
	note    string
}

// cloudTrailFields is the field mapping between CloudTrail records and
// vigil's ECS events (correlators/normalize/cloudtrail).
var cloudTrailFields = []mapEntry{
	{raw: "eventName", ecs: "event.action"},
	{raw: "eventSource", ecs: "event.provider"},
	{raw: "eventTime", ecs: "@timestamp", note: "ECS holds the time as RFC 3339 in UTC"},
	{raw: "eventID", ecs: "event.id"},
	{raw: "awsRegion", ecs: "cloud.region"},
	{raw: "sourceIPAddress", ecs: "source.address", note: "as written; source.ip holds it when it is an IP address"},
	{raw: "userAgent", ecs: "user_agent.original"},
	{raw: "errorCode", ecs: "aws.cloudtrail.error_code"},
	{raw: "errorMessage", ecs: "aws.cloudtrail.error_message"},
	{raw: "eventType", ecs: "aws.cloudtrail.event_type"},
	{raw: "eventCategory", ecs: "aws.cloudtrail.event_category"},
	{raw: "eventVersion", ecs: "aws.cloudtrail.event_version"},
	{raw: "requestID", ecs: "aws.cloudtrail.request_id"},
	{raw: "sharedEventID", ecs: "aws.cloudtrail.shared_event_id"},
	{raw: "readOnly", ecs: "aws.cloudtrail.read_only"},
	{raw: "managementEvent", ecs: "aws.cloudtrail.management_event"},
	{raw: "recipientAccountId", ecs: "aws.cloudtrail.recipient_account_id"},
	{raw: "userIdentity.type", ecs: "aws.cloudtrail.user_identity.type"},
	{raw: "userIdentity.arn", ecs: "aws.cloudtrail.user_identity.arn"},
	{raw: "userIdentity.accessKeyId", ecs: "aws.cloudtrail.user_identity.access_key_id"},
	{raw: "userIdentity.invokedBy", ecs: "aws.cloudtrail.user_identity.invoked_by"},
	{raw: "userIdentity.principalId", ecs: "user.id"},
	{raw: "userIdentity.userName", ecs: "user.name", oneWay: true, when: "aws.cloudtrail.user_identity.type", whenValue: "IAMUser",
		note: "from event.original when kept; otherwise user.name for IAM users (for other identities user.name is derived, not userName)"},
	{raw: "userIdentity.accountId", original: true, note: "not kept in ECS (cloud.account.id is the recipient account): read from event.original when kept"},
	{raw: "userIdentity.sessionContext.attributes.mfaAuthenticated", ecs: "aws.cloudtrail.user_identity.session_context.mfa_authenticated"},
	{raw: "userIdentity.sessionContext.attributes.creationDate", ecs: "aws.cloudtrail.user_identity.session_context.creation_date"},
	{raw: "userIdentity.sessionContext.sessionIssuer.type", ecs: "aws.cloudtrail.user_identity.session_context.session_issuer.type"},
	{raw: "userIdentity.sessionContext.sessionIssuer.principalId", ecs: "aws.cloudtrail.user_identity.session_context.session_issuer.principal_id"},
	{raw: "userIdentity.sessionContext.sessionIssuer.arn", ecs: "aws.cloudtrail.user_identity.session_context.session_issuer.arn"},
	{raw: "userIdentity.sessionContext.sessionIssuer.accountId", ecs: "aws.cloudtrail.user_identity.session_context.session_issuer.account_id"},
	{raw: "userIdentity.sessionContext.sessionIssuer.userName", ecs: "aws.cloudtrail.user_identity.session_context.session_issuer.user_name"},
	{raw: "requestParameters", ecs: "aws.cloudtrail.request_parameters", jsonText: true, note: "ECS keeps the object as compact JSON text; both names read it as the object"},
	{raw: "responseElements", ecs: "aws.cloudtrail.response_elements", jsonText: true, note: "ECS keeps the object as compact JSON text; both names read it as the object"},
	{raw: "additionalEventData", ecs: "aws.cloudtrail.additional_eventdata", jsonText: true, note: "ECS keeps the object as compact JSON text; both names read it as the object"},
	{raw: "requestParameters", ecs: "aws.cloudtrail.flattened.request_parameters", prefix: true, note: "requestParameters.x.y is aws.cloudtrail.flattened.request_parameters.x.y"},
	{raw: "responseElements", ecs: "aws.cloudtrail.flattened.response_elements", prefix: true},
	{raw: "additionalEventData", ecs: "aws.cloudtrail.flattened.additional_eventdata", prefix: true},
	{raw: "resources.ARN", ecs: "aws.cloudtrail.resources.arn", note: "a list: one element per resource"},
	{raw: "resources.accountId", ecs: "aws.cloudtrail.resources.account_id"},
	{raw: "resources.type", ecs: "aws.cloudtrail.resources.type"},
	{raw: "status", ecs: "event.outcome", oneWay: true, derived: true,
		note: "not a CloudTrail field, but SigmaHQ's aws_delete_saml_provider uses it for the outcome (success, failure). On raw records both names read the outcome, derived from the record as the normalizer derives it"},
}

// Lookups into cloudTrailFields.
var (
	rawExact  = map[string]*mapEntry{} // raw name -> entry
	rawPrefix = map[string]*mapEntry{} // raw prefix -> entry
	ecsExact  = map[string]*mapEntry{} // ECS name -> two-way entry
	ecsPrefix = map[string]*mapEntry{} // ECS prefix -> entry
	// ecsTop holds the names of the top-level fields of ecs.Event.
	ecsTop = map[string]bool{}
)

func init() {
	for i := range cloudTrailFields {
		e := &cloudTrailFields[i]
		switch {
		case e.prefix:
			rawPrefix[e.raw] = e
			ecsPrefix[e.ecs] = e
		default:
			rawExact[e.raw] = e
			if !e.oneWay && !e.original {
				ecsExact[e.ecs] = e
			}
		}
	}
	t := reflect.TypeFor[ecs.Event]()
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "" {
			ecsTop[name] = true
		}
	}
}

// splitPrefix finds the longest prefix of name (at a dot) in m.
func splitPrefix(name string, m map[string]*mapEntry) (*mapEntry, string) {
	for i := len(name) - 1; i > 0; i-- {
		if name[i] != '.' {
			continue
		}
		if e, ok := m[name[:i]]; ok {
			return e, name[i+1:]
		}
	}
	return nil, ""
}

// Schema says how a JSON document names its fields.
type Schema uint8

const (
	// AsWritten documents are looked up by the names rules use, dots
	// separating nested objects.
	AsWritten Schema = iota
	// CloudTrail documents are raw CloudTrail records: names as written,
	// and the ECS names of the field mapping by their CloudTrail names
	// (event.action reads eventName).
	CloudTrail
	// ECSDocument documents are ECS documents as vigil writes them: names
	// as written, CloudTrail names of the field mapping by their ECS
	// names (eventName reads event.action), and other CloudTrail names
	// from the raw record in event.original.
	ECSDocument

	numSchemas = 3
)

// jsonPath is where a field is in a JSON document.
type jsonPath struct {
	comps []string // gjson path components, escaped
	// viaOriginal looks comps up in the JSON text held by the string at
	// event.original (ECS documents).
	viaOriginal bool
	// when, if set, is a condition on the document: the field is read
	// only if the value at when equals whenValue.
	when     []string
	whenLeaf *whenLeaf
	// preferOriginal, if set, is read from the raw record in
	// event.original instead, when the document kept it.
	preferOriginal []string
	// embedded says the value at comps is a string holding JSON text
	// (ECS documents' aws.cloudtrail.request_parameters): read the JSON.
	embedded bool
	// derive, if set, computes the field from the document.
	derive func(doc string) Value
}

// resolve returns the field for name, with its accessor for every kind of
// event.
func resolve(name string) *Field {
	f := &Field{Name: name, Path: strings.Split(name, ".")}
	f.json[AsWritten] = jsonPath{comps: escapePath(name)}
	f.json[CloudTrail] = cloudTrailPath(name)
	f.json[ECSDocument] = ecsDocPath(name)
	f.ecs = ecsAccessorFor(name)
	f.ecsStr = ecsStringAccessorFor(name)
	return f
}

// cloudTrailPath is where a raw CloudTrail record has name.
func cloudTrailPath(name string) jsonPath {
	if e, ok := rawExact[name]; ok && e.derived {
		return jsonPath{comps: escapePath(name), derive: cloudTrailOutcome}
	}
	for i := range cloudTrailFields {
		if e := &cloudTrailFields[i]; e.derived && e.ecs == name {
			return jsonPath{comps: escapePath(name), derive: cloudTrailOutcome}
		}
	}
	if e, ok := ecsExact[name]; ok {
		return jsonPath{comps: escapePath(e.raw)}
	}
	if e, rest := splitPrefix(name, ecsPrefix); e != nil {
		return jsonPath{comps: escapePath(e.raw + "." + rest)}
	}
	return jsonPath{comps: escapePath(name)}
}

// ecsDocPath is where an ECS document has name.
func ecsDocPath(name string) jsonPath {
	if e, ok := rawExact[name]; ok {
		if e.original {
			return jsonPath{comps: escapePath(name), viaOriginal: true}
		}
		p := jsonPath{comps: escapePath(e.ecs), embedded: e.jsonText}
		if e.when != "" {
			p.when, p.whenLeaf = escapePath(e.when), &whenLeaf{want: e.whenValue}
			p.preferOriginal = escapePath(name)
		}
		return p
	}
	if e, rest := splitPrefix(name, rawPrefix); e != nil {
		return jsonPath{comps: escapePath(e.ecs + "." + rest)}
	}
	top, _, _ := strings.Cut(name, ".")
	if ecsTop[top] {
		e, ok := ecsExact[name]
		return jsonPath{comps: escapePath(name), embedded: ok && e.jsonText}
	}
	return jsonPath{comps: escapePath(name), viaOriginal: true}
}

// The outcomes cloudTrailOutcome derives.
var (
	outcomeSuccess = Value{Kind: String, Str: "success"}
	outcomeFailure = Value{Kind: String, Str: "failure"}
)

// cloudTrailOutcome derives the outcome of a raw CloudTrail record, as
// correlators/normalize/cloudtrail derives event.outcome: failure when
// there is an error code; for ConsoleLogin, what responseElements.ConsoleLogin
// says, else failure when there is an error message; none for Insights
// events; success otherwise.
func cloudTrailOutcome(doc string) Value {
	if r := gjson.Get(doc, "errorCode"); r.Type == gjson.String && r.Str != "" {
		return outcomeFailure
	}
	if r := gjson.Get(doc, "eventName"); r.Type == gjson.String && r.Str == "ConsoleLogin" {
		switch gjson.Get(doc, "responseElements.ConsoleLogin").Str {
		case "Failure":
			return outcomeFailure
		case "Success":
			return outcomeSuccess
		}
		if r := gjson.Get(doc, "errorMessage"); r.Type == gjson.String && r.Str != "" {
			return outcomeFailure
		}
	}
	if gjson.Get(doc, "eventType").Str == "AwsCloudTrailInsight" {
		return Value{}
	}
	return outcomeSuccess
}
