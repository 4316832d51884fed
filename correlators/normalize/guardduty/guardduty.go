package guardduty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// Dataset is the event.dataset of GuardDuty events.
const Dataset = "aws.guardduty"

// DetailType is the EventBridge detail-type of GuardDuty findings.
const DetailType = "GuardDuty Finding"

func init() { normalize.Register("guardduty", Decoder{}) }

// Decoder is the GuardDuty decoder. It holds no state and is safe for
// concurrent use.
type Decoder struct{}

// Dataset implements normalize.Decoder.
func (Decoder) Dataset() string { return "guardduty" }

// maxDepth bounds how deep envelopes may nest (an SNS notification of an
// EventBridge event of a finding is 2).
const maxDepth = 4

// Decode implements normalize.Decoder. A record is one finding, an
// EventBridge event, an SNS notification of either, a GetFindings response
// ({"findings":[...]}), or several findings in one record: a JSON array or
// JSON lines (as GuardDuty exports them to S3). Of several, each that fails
// is reported in a *normalize.PartialError and the others are returned.
func (Decoder) Decode(raw []byte, m normalize.Meta) ([]*ecs.Event, error) {
	items, multi, err := split(raw)
	if err != nil {
		return nil, err
	}
	if !multi {
		return decodeValue(raw, raw, m, 0)
	}
	return decodeItems(items, m, 0, "no findings: an empty JSON array")
}

// item is one value of a record that holds several.
type item struct {
	data []byte
	path string
	err  error
}

// split tells a record of one value from one of several, and splits the
// latter. Each item's bytes are its own, for event.original.
func split(raw []byte) ([]item, bool, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return nil, false, errors.New("empty record")
	}
	if t[0] == '[' {
		var elems []json.RawMessage
		if json.Unmarshal(t, &elems) == nil {
			items := make([]item, len(elems))
			for i, e := range elems {
				items[i] = item{data: e, path: "[" + strconv.Itoa(i) + "]"}
			}
			return items, true, nil
		}
		// Invalid JSON: split by structure, so that one bad element
		// fails alone.
		items := frames(raw, framing.Array)
		if len(items) == 0 {
			return nil, false, nil // reported as the JSON error it is
		}
		return items, true, nil
	}
	if t[0] != '{' || json.Valid(t) {
		return nil, false, nil
	}
	// Not one valid object: several (JSON lines, or pretty-printed
	// objects one after another), or a broken one.
	sp := framing.New(bytes.NewReader(raw), framing.Auto, len(raw)+1)
	var items []item
	for {
		fr, err := sp.Next()
		if err != nil {
			break
		}
		items = append(items, item{data: fr.Data, path: "line " + strconv.Itoa(fr.Line), err: frameErr(fr.Err)})
	}
	if len(items) < 2 || sp.Format() == framing.Records {
		return nil, false, nil
	}
	return items, true, nil
}

// frames splits raw by structure in the given format.
func frames(raw []byte, f framing.Format) []item {
	sp := framing.New(bytes.NewReader(raw), f, len(raw)+1)
	var items []item
	for {
		fr, err := sp.Next()
		if err != nil {
			return items
		}
		items = append(items, item{data: fr.Data, path: "[" + strconv.Itoa(fr.Index) + "]", err: frameErr(fr.Err)})
	}
}

func frameErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// decodeItems decodes the items of a record, returning the good events and,
// in a *normalize.PartialError, the items that failed. If none gave an event
// and none failed, the record was all skips: it returns normalize.ErrSkipped
// with why (empty, when there were no items).
func decodeItems(items []item, m normalize.Meta, depth int, empty string) ([]*ecs.Event, error) {
	var out []*ecs.Event
	var failed []normalize.ItemError
	var skipped []string
	for i, it := range items {
		if it.err != nil {
			failed = append(failed, normalize.ItemError{Index: i, Path: it.path, Raw: it.data, Err: it.err})
			continue
		}
		evs, err := decodeValue(it.data, it.data, m, depth+1)
		out = append(out, evs...)
		var pe *normalize.PartialError
		switch {
		case err == nil:
		case errors.Is(err, normalize.ErrSkipped):
			skipped = append(skipped, it.path+": "+err.Error())
		case errors.As(err, &pe):
			for _, sub := range pe.Items {
				failed = append(failed, normalize.ItemError{Index: i, Path: it.path + "." + sub.Path, Raw: sub.Raw, Err: sub.Err})
			}
		default:
			failed = append(failed, normalize.ItemError{Index: i, Path: it.path, Raw: it.data, Err: err})
		}
	}
	if len(failed) > 0 {
		return out, &normalize.PartialError{Items: failed}
	}
	if len(out) == 0 {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("%w: every item: %s", normalize.ErrSkipped, strings.Join(skipped, "; "))
		}
		return nil, fmt.Errorf("%w: %s", normalize.ErrSkipped, empty)
	}
	return out, nil
}

// decodeValue decodes one JSON value: a finding or something that carries
// findings. orig is what event.original keeps: the outermost single value
// the findings came in.
func decodeValue(data, orig []byte, m normalize.Meta, depth int) ([]*ecs.Event, error) {
	if depth > maxDepth {
		return nil, errors.New("envelopes nested too deep")
	}
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return nil, errors.New("empty record")
	}
	if t[0] != '{' {
		if json.Valid(t) {
			return nil, fmt.Errorf("JSON %s where a GuardDuty finding object belongs", jsonKind(t[0]))
		}
		return nil, unmarshal(t, new(any))
	}
	var top map[string]json.RawMessage
	if err := unmarshal(t, &top); err != nil {
		return nil, err
	}
	has := func(k string) bool { _, ok := top[k]; return ok }
	switch {
	case has("detail-type"):
		return decodeEnvelope(top, orig, m)
	case has("findings"):
		var list []json.RawMessage
		if err := unmarshal(top["findings"], &list); err != nil {
			return nil, fmt.Errorf("findings: %w", err)
		}
		items := make([]item, len(list))
		for i, e := range list {
			items[i] = item{data: e, path: "findings[" + strconv.Itoa(i) + "]"}
		}
		return decodeItems(items, m, depth, "a GetFindings response with no findings")
	case has("Type") && has("Message") && (has("TopicArn") || has("MessageId")):
		return decodeSNS(top, orig, m, depth)
	case (has("findingDetails") || has("featureDetails")) && !has("id") && !has("schemaVersion"):
		var a struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(t, &a)
		return nil, fmt.Errorf("%w: a GuardDuty announcement (%s), not a finding", normalize.ErrSkipped, a.Type)
	case has("ProductArn") || has("AwsAccountId"):
		return nil, errors.New("an AWS Security Hub finding (ASFF), not a GuardDuty finding in GuardDuty's own format")
	case has("resourcesAffected") || has("classificationDetails") || has("policyDetails"):
		return nil, errors.New("a Macie finding, not a GuardDuty finding: it belongs to the macie source")
	case has("Records"):
		return nil, errors.New("a CloudTrail log file, not a GuardDuty finding")
	case has("@timestamp") && has("ecs"):
		return nil, errors.New("an ECS document (already normalized), not a GuardDuty finding")
	case !has("id") && !has("type") && !has("schemaVersion") && !has("accountId"):
		return nil, fmt.Errorf("not a GuardDuty finding: no id, type, schemaVersion or accountId (fields: %s)", keyList(top))
	}
	return decodeFinding(t, top, orig, m)
}

// decodeEnvelope decodes an EventBridge event.
func decodeEnvelope(top map[string]json.RawMessage, orig []byte, m normalize.Meta) ([]*ecs.Event, error) {
	dt := bytes.TrimSpace(top["detail-type"])
	var detailType string
	if err := json.Unmarshal(dt, &detailType); err != nil {
		if len(dt) > 0 && dt[0] == '[' {
			return nil, errors.New("an EventBridge event pattern (detail-type is a list), not an event")
		}
		return nil, fmt.Errorf("EventBridge detail-type: JSON %s where a string belongs", jsonKind(firstByte(dt)))
	}
	if detailType != DetailType {
		return nil, fmt.Errorf("EventBridge detail-type %q is not a GuardDuty finding (want %q)", detailType, DetailType)
	}
	detail := bytes.TrimSpace(top["detail"])
	if len(detail) == 0 || bytes.Equal(detail, []byte("null")) {
		return nil, errors.New("EventBridge event has no detail")
	}
	if detail[0] != '{' {
		return nil, fmt.Errorf("EventBridge detail: JSON %s where a GuardDuty finding object belongs", jsonKind(detail[0]))
	}
	var dtop map[string]json.RawMessage
	if err := unmarshal(detail, &dtop); err != nil {
		return nil, fmt.Errorf("EventBridge detail: %w", err)
	}
	evs, err := decodeFinding(detail, dtop, orig, m)
	if err != nil {
		return nil, fmt.Errorf("EventBridge detail: %w", err)
	}
	return evs, nil
}

// decodeSNS decodes an SNS notification whose message is a finding or an
// EventBridge event (EventBridge rules that target an SNS topic).
func decodeSNS(top map[string]json.RawMessage, orig []byte, m normalize.Meta, depth int) ([]*ecs.Event, error) {
	var typ, msg string
	_ = json.Unmarshal(top["Type"], &typ)
	switch typ {
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		return nil, fmt.Errorf("%w: an SNS %s", normalize.ErrSkipped, typ)
	case "Notification":
	default:
		return nil, fmt.Errorf("SNS message type %q is not a notification", typ)
	}
	if err := json.Unmarshal(top["Message"], &msg); err != nil {
		return nil, errors.New("SNS Message is not a string")
	}
	evs, err := decodeValue([]byte(msg), orig, m, depth+1)
	if errors.Is(err, normalize.ErrSkipped) {
		return nil, fmt.Errorf("%w (in an SNS notification)", err)
	}
	if err != nil {
		return evs, fmt.Errorf("SNS Message: %w", err)
	}
	return evs, nil
}

// decodeFinding decodes one finding; top is its members, raw.
func decodeFinding(data []byte, top map[string]json.RawMessage, orig []byte, m normalize.Meta) ([]*ecs.Event, error) {
	var f Finding
	if err := unmarshal(data, &f); err != nil {
		return nil, err
	}
	ev, err := Normalize(&f, leftovers(top))
	if err != nil {
		return nil, err
	}
	if m.KeepOriginal {
		// JSON strings hold only UTF-8: invalid bytes become U+FFFD here
		// rather than in the encoder, so that the event survives a JSON
		// round trip unchanged.
		ev.Event.Original = strings.ToValidUTF8(string(orig), "\uFFFD")
	}
	return []*ecs.Event{ev}, nil
}

// leftovers returns the members of the finding's resource, service and
// service.action that Finding does not map.
func leftovers(top map[string]json.RawMessage) *ecs.GuardDutyFlattened {
	fl := &ecs.GuardDutyFlattened{
		Resource: unmapped(top["resource"], resourceKeys),
	}
	var svc map[string]json.RawMessage
	if json.Unmarshal(top["service"], &svc) == nil {
		fl.Service = unmapped(top["service"], serviceKeys)
		fl.Action = unmapped(svc["action"], actionKeys)
	}
	if fl.Resource == nil && fl.Service == nil && fl.Action == nil {
		return nil
	}
	return fl
}

// unmapped returns the non-null members of the object raw whose names are
// not in known, decoded.
func unmapped(raw json.RawMessage, known []string) map[string]any {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	var out map[string]any
	for k, v := range obj {
		if contains(known, k) {
			continue
		}
		var x any
		if json.Unmarshal(v, &x) != nil || x == nil {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		out[k] = x
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func keyList(top map[string]json.RawMessage) string {
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 8 {
		keys = append(keys[:8], "...")
	}
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// jsonKind names the kind of JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// unmarshal is json.Unmarshal with errors that say where.
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

// parseTime reads a time as GuardDuty writes it: an RFC 3339 string, or
// UNIX seconds as a number (or a string of one). Absent, null and "" give
// nil. field names it in errors.
func parseTime(field string, raw json.RawMessage) (*time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %v", field, err)
		}
		if s == "" {
			return nil, nil
		}
	} else {
		s = string(raw)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var ok bool
		if t, ok = unixSeconds(s); !ok {
			return nil, fmt.Errorf("%s %s is neither an RFC 3339 time nor UNIX seconds", field, raw)
		}
	}
	// JSON can hold only years 0-9999, and @timestamp must not be zero.
	if t = t.UTC(); t.IsZero() || t.Year() < 1 || t.Year() > 9999 {
		return nil, fmt.Errorf("%s %s is out of range", field, raw)
	}
	return &t, nil
}

// unixSeconds parses non-negative decimal UNIX seconds exactly, to the
// nanosecond.
func unixSeconds(s string) (time.Time, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 15 || len(frac) > 9 || strings.Trim(whole+frac, "0123456789") != "" {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var nsec int64
	if frac != "" {
		nsec, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	return time.Unix(sec, nsec), true
}
