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
	"strings"
	"time"

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
	EventVersion        string          `json:"eventVersion"`
	UserIdentity        *UserIdentity   `json:"userIdentity"`
	EventTime           string          `json:"eventTime"`
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"`
	AWSRegion           string          `json:"awsRegion"`
	SourceIPAddress     string          `json:"sourceIPAddress"`
	UserAgent           string          `json:"userAgent"`
	ErrorCode           string          `json:"errorCode"`
	ErrorMessage        string          `json:"errorMessage"`
	RequestParameters   json.RawMessage `json:"requestParameters"`
	ResponseElements    json.RawMessage `json:"responseElements"`
	AdditionalEventData json.RawMessage `json:"additionalEventData"`
	RequestID           string          `json:"requestID"`
	EventID             string          `json:"eventID"`
	EventType           string          `json:"eventType"`
	EventCategory       string          `json:"eventCategory"`
	ReadOnly            *bool           `json:"readOnly"`
	ManagementEvent     *bool           `json:"managementEvent"`
	RecipientAccountID  string          `json:"recipientAccountId"`
	SharedEventID       string          `json:"sharedEventID"`
	Resources           []Resource      `json:"resources"`
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
	var env envelope
	if err := unmarshal(raw, &env); err != nil {
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
			ev.Event.Original = string(raw)
		}
		return []*ecs.Event{ev}, nil
	}
	if len(env.Resources) > 0 {
		if err := unmarshal(env.Resources, &env.Record.Resources); err != nil {
			return nil, fmt.Errorf("resources: %w", err)
		}
	}
	ev, err := Normalize(&env.Record, raw, m)
	if err != nil {
		return nil, err
	}
	return []*ecs.Event{ev}, nil
}

func unmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return fmt.Errorf("JSON %s where an object belongs", te.Value)
			}
			return fmt.Errorf("field %s: JSON %s where a %s belongs", te.Field, te.Value, te.Type)
		}
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return nil
}

// Normalize maps one decoded CloudTrail record to ECS. raw is the record's
// own bytes, kept in event.original when asked.
func Normalize(r *Record, raw []byte, m normalize.Meta) (*ecs.Event, error) {
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
	ev := &ecs.Event{
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
		Cloud: &ecs.Cloud{Provider: "aws", Region: r.AWSRegion},
	}
	ev.Event.Category, ev.Event.Type = categorize(r)
	if m.KeepOriginal {
		ev.Event.Original = string(raw)
	}

	account := r.RecipientAccountID
	if account == "" && r.UserIdentity != nil {
		account = r.UserIdentity.AccountID
	}
	if account != "" {
		ev.Cloud.Account = &ecs.CloudAccount{ID: account}
	}
	if svc, _, ok := strings.Cut(r.EventSource, "."); ok {
		ev.Cloud.Service = &ecs.CloudService{Name: svc}
	}

	var related ecs.Related
	if r.SourceIPAddress != "" {
		ev.Source = &ecs.Endpoint{Address: r.SourceIPAddress}
		if ip, err := netip.ParseAddr(r.SourceIPAddress); err == nil {
			ev.Source.IP = ip.String()
			related.IP = append(related.IP, ip.String())
		} else {
			ev.Source.Domain = r.SourceIPAddress
		}
	}
	if r.UserAgent != "" {
		ev.UserAgent = &ecs.UserAgent{Original: r.UserAgent}
	}

	ct := &ecs.CloudTrail{
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
			ev.User = &ecs.User{Name: name, ID: ui.PrincipalID}
		}
		if name != "" {
			related.User = append(related.User, name)
		}
		ct.UserIdentity = &ecs.UserIdentity{
			Type:        ui.Type,
			ARN:         ui.ARN,
			AccessKeyID: ui.AccessKeyID,
			InvokedBy:   ui.InvokedBy,
		}
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
	flat := &ecs.Flattened{}
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
	ev.AWS = &ecs.AWS{CloudTrail: ct}
	if len(related.IP) > 0 || len(related.User) > 0 {
		ev.Related = &related
	}
	return ev, nil
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
		if json.Unmarshal(r.ResponseElements, &resp) == nil {
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
func categorize(r *Record) (category, typ []string) {
	switch r.EventSource {
	case "signin.amazonaws.com":
		return []string{"authentication"}, []string{"start"}
	case "iam.amazonaws.com", "sts.amazonaws.com", "sso.amazonaws.com", "identitystore.amazonaws.com":
		category = []string{"iam"}
	default:
		category = []string{"configuration"}
	}
	n := r.EventName
	switch {
	case hasAnyPrefix(n, "Create", "Run", "Put", "Import", "Register", "Allocate", "Issue"):
		typ = []string{"creation"}
	case hasAnyPrefix(n, "Delete", "Terminate", "Remove", "Deregister", "Release", "Revoke"):
		typ = []string{"deletion"}
	case hasAnyPrefix(n, "Update", "Modify", "Attach", "Detach", "Add", "Set", "Enable", "Disable", "Associate", "Disassociate", "Replace", "Change", "Reset", "Start", "Stop", "Authorize", "Tag", "Untag"):
		typ = []string{"change"}
	case hasAnyPrefix(n, "Get", "List", "Describe", "Lookup", "Head", "Search", "AssumeRole"):
		typ = []string{"access"}
	default:
		typ = []string{"info"}
	}
	if category[0] == "iam" && typ[0] == "access" {
		typ = []string{"info"}
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

// jsonField returns a JSON object field as compact text and as a value; ""
// for null or absent.
func jsonField(b json.RawMessage) (string, any) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return "", nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b), nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return buf.String(), nil
	}
	return buf.String(), v
}

func consoleLogin(b json.RawMessage) *ecs.ConsoleLogin {
	var d struct {
		MobileVersion string `json:"MobileVersion"`
		LoginTo       string `json:"LoginTo"`
		MFAUsed       string `json:"MFAUsed"`
	}
	if json.Unmarshal(b, &d) != nil {
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
		var rec Record
		err := unmarshal(r, &rec)
		var ev *ecs.Event
		if err == nil {
			ev, err = Normalize(&rec, r, m)
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
