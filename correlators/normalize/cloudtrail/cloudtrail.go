// Package cloudtrail normalizes AWS CloudTrail events to ECS.
//
// It reads single events, whole log files ({"Records":[...]}) and EventBridge
// envelopes ("AWS API Call via CloudTrail", "AWS Console Sign In via
// CloudTrail"). Digest files are recognised and skipped. Field names follow
// Elastic's AWS integration (aws.cloudtrail.*).
package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/bytedance/sonic"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// Dataset is the event.dataset of CloudTrail events, and the topic suffix.
const Dataset = "aws.cloudtrail"

func init() { normalize.Register("cloudtrail", Decoder{}) }

// Decoder is the CloudTrail decoder.
type Decoder struct{}

// Dataset implements normalize.Decoder.
func (Decoder) Dataset() string { return "cloudtrail" }

// Record is one CloudTrail event as AWS writes it.
type Record struct {
	EventVersion        string        `json:"eventVersion"`
	UserIdentity        *UserIdentity `json:"userIdentity"`
	EventTime           string        `json:"eventTime"`
	EventSource         string        `json:"eventSource"`
	EventName           string        `json:"eventName"`
	AWSRegion           string        `json:"awsRegion"`
	SourceIPAddress     string        `json:"sourceIPAddress"`
	UserAgent           string        `json:"userAgent"`
	ErrorCode           string        `json:"errorCode"`
	ErrorMessage        string        `json:"errorMessage"`
	RequestParameters   Raw           `json:"requestParameters"`
	ResponseElements    Raw           `json:"responseElements"`
	AdditionalEventData Raw           `json:"additionalEventData"`
	RequestID           string        `json:"requestID"`
	EventID             string        `json:"eventID"`
	EventType           string        `json:"eventType"`
	EventCategory       string        `json:"eventCategory"`
	ReadOnly            *bool         `json:"readOnly"`
	ManagementEvent     *bool         `json:"managementEvent"`
	RecipientAccountID  string        `json:"recipientAccountId"`
	SharedEventID       string        `json:"sharedEventID"`
	Resources           []Resource    `json:"resources"`
}

// UserIdentity is who made the call.
type UserIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId"`
	ARN            string          `json:"arn"`
	AccountID      string          `json:"accountId"`
	AccessKeyID    string          `json:"accessKeyId"`
	UserName       string          `json:"userName"`
	InvokedBy      string          `json:"invokedBy"`
	SessionContext *SessionContext `json:"sessionContext"`
}

// SessionContext describes temporary credentials.
type SessionContext struct {
	SessionIssuer *struct {
		Type        string `json:"type"`
		PrincipalID string `json:"principalId"`
		ARN         string `json:"arn"`
		AccountID   string `json:"accountId"`
		UserName    string `json:"userName"`
	} `json:"sessionIssuer"`
	Attributes *struct {
		MFAAuthenticated string `json:"mfaAuthenticated"`
		CreationDate     string `json:"creationDate"`
	} `json:"attributes"`
}

// Resource is one resource an event touched.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
}

// Raw is a JSON value as the record has it. Unlike json.RawMessage it is
// not copied: it aliases the record's bytes, which Decode's caller hands
// over (see normalize.Decoder).
type Raw []byte

// UnmarshalJSON keeps b, a slice of the record being decoded.
func (r *Raw) UnmarshalJSON(b []byte) error {
	*r = b
	return nil
}

// MarshalJSON returns the value as it was, or null.
func (r Raw) MarshalJSON() ([]byte, error) {
	if r == nil {
		return []byte("null"), nil
	}
	return r, nil
}

// envelope is every top-level form a CloudTrail record can come in.
type envelope struct {
	Record
	Records         []json.RawMessage `json:"Records"`
	DetailType      string            `json:"detail-type"`
	Detail          json.RawMessage   `json:"detail"`
	DigestStartTime string            `json:"digestStartTime"`
	// Resources shadows Record.Resources: an EventBridge envelope's
	// resources are ARN strings, a CloudTrail event's are objects.
	Resources json.RawMessage `json:"resources"`
}

// Decode implements normalize.Decoder.
func (d Decoder) Decode(raw []byte, m normalize.Meta) ([]*ecs.Event, error) {
	dec := &decoded{}
	env := &dec.env
	if err := unmarshal(raw, env); err != nil {
		if isLogFile(raw) {
			// One bad record must not sink the file: split it by
			// structure and decode record by record.
			return decodeRecords(splitRecords(raw), m)
		}
		return nil, err
	}
	switch {
	case env.Records != nil:
		return decodeRecords(env.Records, m)
	case env.DigestStartTime != "":
		return nil, fmt.Errorf("%w: a CloudTrail digest file", normalize.ErrSkipped)
	case env.DetailType != "":
		if !strings.Contains(env.DetailType, "via CloudTrail") {
			return nil, fmt.Errorf("EventBridge detail-type %q is not a CloudTrail event", env.DetailType)
		}
		var rec Record
		if err := unmarshal(env.Detail, &rec); err != nil {
			return nil, fmt.Errorf("detail: %w", err)
		}
		ev, err := Normalize(&rec, env.Detail, m)
		if err != nil {
			return nil, err
		}
		if m.KeepOriginal {
			ev.Event.Original = normalize.Alias(raw)
		}
		return []*ecs.Event{ev}, nil
	}
	if len(env.Resources) > 0 {
		if err := unmarshal(env.Resources, &env.Record.Resources); err != nil {
			return nil, fmt.Errorf("resources: %w", err)
		}
	}
	ev, err := normalizeInto(&dec.block, &env.Record, raw, m)
	if err != nil {
		return nil, err
	}
	dec.one[0] = ev
	return dec.one[:], nil
}

// fastJSON rejects what encoding/json rejects (control characters in
// strings included) and does not copy strings: they point into the
// record's bytes, which an event may keep alive. Decode's callers hand
// over a record they do not reuse.
var fastJSON = sonic.Config{ValidateString: true}.Froze()

// unmarshal decodes with sonic in its encoding/json-compatible, strict
// configuration, several times faster than encoding/json on CloudTrail
// records. A record sonic rejects is decoded again with encoding/json,
// which decides and words the error with the field's name: errors are the
// rare path.
func unmarshal(b []byte, v any) error {
	// Strings alias the record (sonic's Unmarshal would copy it first).
	if err := fastJSON.UnmarshalFromString(normalize.Alias(b), v); err == nil {
		return nil
	}
	reflect.ValueOf(v).Elem().SetZero()
	return normalize.JSONError(json.Unmarshal(b, v))
}

// Normalize maps one decoded CloudTrail record to ECS. raw is the record's
// own bytes, kept in event.original when asked.
func Normalize(r *Record, raw []byte, m normalize.Meta) (*ecs.Event, error) {
	return normalizeInto(&block{}, r, raw, m)
}

// decoded is a record as decoded and the event made of it, allocated at
// once.
type decoded struct {
	block
	env envelope
	one [1]*ecs.Event // the slice Decode returns
}

// normalizeInto is Normalize into the parts in blk.
func normalizeInto(blk *block, r *Record, raw []byte, m normalize.Meta) (*ecs.Event, error) {
	if r.EventTime == "" {
		return nil, errors.New("not a CloudTrail event: no eventTime")
	}
	ts, err := time.Parse(time.RFC3339, r.EventTime)
	if err != nil {
		return nil, fmt.Errorf("eventTime %q is not an RFC 3339 time", r.EventTime)
	}
	// @timestamp must be set, and JSON can hold only years 0-9999.
	if ts = ts.UTC(); ts.IsZero() || ts.Year() < 1 || ts.Year() > 9999 {
		return nil, fmt.Errorf("eventTime %q is out of range", r.EventTime)
	}
	if r.EventName == "" && r.EventType == "" {
		return nil, errors.New("not a CloudTrail event: no eventName or eventType")
	}
	id := r.EventID
	if id == "" {
		id = normalize.DerivedID(raw, 0)
	}
	// One allocation for the event and the parts every CloudTrail event
	// has, instead of one each.
	ev := &blk.ev
	*ev = ecs.Event{
		Timestamp: ts,
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event: ecs.EventMeta{
			ID:       id,
			Kind:     "event",
			Action:   r.EventName,
			Provider: r.EventSource,
			Dataset:  Dataset,
			Module:   "aws",
			Outcome:  outcome(r),
		},
	}
	blk.cloud = ecs.Cloud{Provider: "aws", Region: r.AWSRegion}
	ev.Cloud = &blk.cloud
	ev.Event.Category, ev.Event.Type = categorize(r)
	if m.KeepOriginal {
		ev.Event.Original = normalize.Alias(raw)
	}

	account := r.RecipientAccountID
	if account == "" && r.UserIdentity != nil {
		account = r.UserIdentity.AccountID
	}
	if account != "" {
		blk.account = ecs.CloudAccount{ID: account}
		ev.Cloud.Account = &blk.account
	}
	if svc, _, ok := strings.Cut(r.EventSource, "."); ok {
		blk.service = ecs.CloudService{Name: svc}
		ev.Cloud.Service = &blk.service
	}

	related := &blk.related
	if r.SourceIPAddress != "" {
		blk.source = ecs.Endpoint{Address: r.SourceIPAddress}
		ev.Source = &blk.source
		if ip, err := netip.ParseAddr(r.SourceIPAddress); err == nil {
			ev.Source.IP = r.SourceIPAddress
			// ParseAddr takes IPv4 only in its canonical form.
			if !ip.Is4() && (ip.Zone() != "" || ip.String() != r.SourceIPAddress) {
				ev.Source.IP = ip.WithZone("").String() // the canonical form, without a zone
			}
			blk.ips[0] = ev.Source.IP
			related.IP = blk.ips[:1]
		} else {
			ev.Source.Domain = r.SourceIPAddress
		}
	}
	if r.UserAgent != "" {
		blk.agent = ecs.UserAgent{Original: r.UserAgent}
		ev.UserAgent = &blk.agent
	}

	ct := &blk.ct
	*ct = ecs.CloudTrail{
		EventVersion:       r.EventVersion,
		EventType:          r.EventType,
		EventCategory:      r.EventCategory,
		RecipientAccountID: r.RecipientAccountID,
		RequestID:          r.RequestID,
		SharedEventID:      r.SharedEventID,
		ErrorCode:          r.ErrorCode,
		ErrorMessage:       r.ErrorMessage,
		ReadOnly:           r.ReadOnly,
		ManagementEvent:    r.ManagementEvent,
	}
	if ui := r.UserIdentity; ui != nil {
		name := userName(ui)
		if name != "" || ui.PrincipalID != "" {
			blk.user = ecs.User{Name: name, ID: ui.PrincipalID}
			ev.User = &blk.user
		}
		if name != "" {
			blk.users[0] = name
			related.User = blk.users[:1]
		}
		blk.identity = ecs.UserIdentity{
			Type:        ui.Type,
			ARN:         ui.ARN,
			AccessKeyID: ui.AccessKeyID,
			InvokedBy:   ui.InvokedBy,
		}
		ct.UserIdentity = &blk.identity
		if sc := ui.SessionContext; sc != nil {
			s := &ecs.SessionContext{}
			if a := sc.Attributes; a != nil {
				s.MFAAuthenticated, s.CreationDate = a.MFAAuthenticated, a.CreationDate
			}
			if is := sc.SessionIssuer; is != nil {
				s.SessionIssuer = &ecs.SessionIssuer{Type: is.Type, PrincipalID: is.PrincipalID, ARN: is.ARN, AccountID: is.AccountID, UserName: is.UserName}
			}
			ct.UserIdentity.SessionContext = s
		}
	}
	flat := &blk.flat
	if s, v := jsonField(r.RequestParameters); s != "" {
		ct.RequestParameters, flat.RequestParameters = s, v
	}
	if s, v := jsonField(r.ResponseElements); s != "" {
		ct.ResponseElements, flat.ResponseElements = s, v
	}
	if s, v := jsonField(r.AdditionalEventData); s != "" {
		ct.AdditionalEventData, flat.AdditionalEventData = s, v
	}
	if flat.RequestParameters != nil || flat.ResponseElements != nil || flat.AdditionalEventData != nil {
		ct.Flattened = flat
	}
	if r.EventName == "ConsoleLogin" {
		ct.ConsoleLogin = consoleLogin(r.AdditionalEventData)
	}
	if len(r.Resources) > 0 {
		res := &ecs.CloudTrailResource{}
		for _, x := range r.Resources {
			res.ARN = append(res.ARN, x.ARN)
			res.AccountID = append(res.AccountID, x.AccountID)
			res.Type = append(res.Type, x.Type)
		}
		ct.Resources = res
	}
	blk.aws = ecs.AWS{CloudTrail: ct}
	ev.AWS = &blk.aws
	if len(related.IP) > 0 || len(related.User) > 0 {
		ev.Related = related
	}
	return ev, nil
}

// block holds an event and the parts of it every CloudTrail event has, so
// that they come in one allocation.
type block struct {
	ev       ecs.Event
	cloud    ecs.Cloud
	account  ecs.CloudAccount
	service  ecs.CloudService
	source   ecs.Endpoint
	agent    ecs.UserAgent
	user     ecs.User
	related  ecs.Related
	ct       ecs.CloudTrail
	identity ecs.UserIdentity
	flat     ecs.Flattened
	aws      ecs.AWS
	ips      [1]string
	users    [1]string
}

// userName is the name an analyst knows the caller by.
func userName(ui *UserIdentity) string {
	switch {
	case ui.UserName != "":
		return ui.UserName
	case ui.Type == "Root":
		return "root"
	case ui.ARN != "":
		if i := strings.LastIndexByte(ui.ARN, '/'); i >= 0 && i < len(ui.ARN)-1 {
			return strings.TrimSpace(ui.ARN[i+1:])
		}
	}
	return ""
}

func outcome(r *Record) string {
	if r.ErrorCode != "" {
		return "failure"
	}
	if r.EventName == "ConsoleLogin" {
		var resp struct {
			ConsoleLogin string `json:"ConsoleLogin"`
		}
		if fastJSON.Unmarshal(r.ResponseElements, &resp) == nil {
			switch resp.ConsoleLogin {
			case "Failure":
				return "failure"
			case "Success":
				return "success"
			}
		}
		if r.ErrorMessage != "" {
			return "failure"
		}
	}
	if r.EventType == "AwsCloudTrailInsight" {
		return ""
	}
	return "success"
}

// categorize assigns ECS event.category and event.type from the service and
// the verb that begins the event name.
// The category and type values, shared by every event: read-only.
var (
	catAuthentication = []string{"authentication"}
	catIAM            = []string{"iam"}
	catConfiguration  = []string{"configuration"}
	typStart          = []string{"start"}
	typCreation       = []string{"creation"}
	typDeletion       = []string{"deletion"}
	typChange         = []string{"change"}
	typAccess         = []string{"access"}
	typInfo           = []string{"info"}
)

func categorize(r *Record) (category, typ []string) {
	switch r.EventSource {
	case "signin.amazonaws.com":
		return catAuthentication, typStart
	case "iam.amazonaws.com", "sts.amazonaws.com", "sso.amazonaws.com", "identitystore.amazonaws.com":
		category = catIAM
	default:
		category = catConfiguration
	}
	n := r.EventName
	switch {
	case hasAnyPrefix(n, "Create", "Run", "Put", "Import", "Register", "Allocate", "Issue"):
		typ = typCreation
	case hasAnyPrefix(n, "Delete", "Terminate", "Remove", "Deregister", "Release", "Revoke"):
		typ = typDeletion
	case hasAnyPrefix(n, "Update", "Modify", "Attach", "Detach", "Add", "Set", "Enable", "Disable", "Associate", "Disassociate", "Replace", "Change", "Reset", "Start", "Stop", "Authorize", "Tag", "Untag"):
		typ = typChange
	case hasAnyPrefix(n, "Get", "List", "Describe", "Lookup", "Head", "Search", "AssumeRole"):
		typ = typAccess
	default:
		typ = typInfo
	}
	if category[0] == "iam" && typ[0] == "access" {
		typ = typInfo
	}
	return category, typ
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// jsonField returns a JSON field as compact text and, when it is an
// object, as compact JSON for the flattened form; "" for null or absent.
// The field was validated by the decoder, so compacting only drops
// whitespace outside strings.
func jsonField(b []byte) (string, json.RawMessage) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return "", nil
	}
	c := compact(b)
	if b[0] != '{' {
		return normalize.Alias(c), nil
	}
	return normalize.Alias(c), c
}

// compact returns valid JSON without the whitespace outside strings; it
// returns b itself when there is none.
func compact(b []byte) []byte {
	if !hasSpaceOutsideStrings(b) {
		return b
	}
	out := make([]byte, 0, len(b))
	inStr, esc := false, false
	start := 0
	for i, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			out = append(out, b[start:i]...)
			start = i + 1
		}
	}
	return append(out, b[start:]...)
}

// hasSpaceOutsideStrings reports whether compact has anything to drop.
func hasSpaceOutsideStrings(b []byte) bool {
	inStr, esc := false, false
	for _, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return true
		}
	}
	return false
}

func consoleLogin(b []byte) *ecs.ConsoleLogin {
	var d struct {
		MobileVersion string `json:"MobileVersion"`
		LoginTo       string `json:"LoginTo"`
		MFAUsed       string `json:"MFAUsed"`
	}
	if fastJSON.Unmarshal(b, &d) != nil {
		return nil
	}
	data := &ecs.ConsoleLoginData{LoginTo: d.LoginTo, MobileVersion: yesNo(d.MobileVersion), MFAUsed: yesNo(d.MFAUsed)}
	if data.LoginTo == "" && data.MobileVersion == nil && data.MFAUsed == nil {
		return nil
	}
	return &ecs.ConsoleLogin{AdditionalEventData: data}
}

func yesNo(s string) *bool {
	switch strings.ToLower(s) {
	case "yes", "true":
		t := true
		return &t
	case "no", "false":
		f := false
		return &f
	}
	return nil
}

// isLogFile reports whether raw begins like a CloudTrail log file.
func isLogFile(raw []byte) bool {
	sp := framing.New(bytes.NewReader(raw), framing.Auto, len(raw)+1)
	_, _ = sp.Next()
	return sp.Format() == framing.Records
}

// splitRecords returns the elements of a log file's Records array, valid or
// not, by structure.
func splitRecords(raw []byte) []json.RawMessage {
	sp := framing.New(bytes.NewReader(raw), framing.Records, len(raw)+1)
	var out []json.RawMessage
	for {
		fr, err := sp.Next()
		if err != nil {
			return out
		}
		out = append(out, fr.Data)
	}
}

// decodeRecords decodes the records of a log file, returning the good
// events and, in a *normalize.PartialError, the records that failed.
func decodeRecords(records []json.RawMessage, m normalize.Meta) ([]*ecs.Event, error) {
	out := make([]*ecs.Event, 0, len(records))
	var failed []normalize.ItemError
	for i, r := range records {
		dec := &decoded{}
		err := unmarshal(r, &dec.env.Record)
		var ev *ecs.Event
		if err == nil {
			ev, err = normalizeInto(&dec.block, &dec.env.Record, r, m)
		}
		if err != nil {
			failed = append(failed, normalize.ItemError{Index: i, Path: fmt.Sprintf("Records[%d]", i), Raw: r, Err: err})
			continue
		}
		out = append(out, ev)
	}
	if len(failed) > 0 {
		return out, &normalize.PartialError{Items: failed}
	}
	return out, nil
}
