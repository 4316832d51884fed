package guardduty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

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
	items, multi, err := normalize.SplitValues(raw)
	if err != nil {
		return nil, err
	}
	if !multi {
		return decodeValue(raw, raw, m, 0)
	}
	return normalize.DecodeItems(items, "no findings: an empty JSON array", func(d []byte) ([]*ecs.Event, error) { return decodeValue(d, d, m, 0+1) })
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
			return nil, fmt.Errorf("JSON %s where a GuardDuty finding object belongs", normalize.JSONKind(t))
		}
		return nil, normalize.Unmarshal(t, new(any))
	}
	var top map[string]json.RawMessage
	if err := normalize.Unmarshal(t, &top); err != nil {
		return nil, err
	}
	has := func(k string) bool { _, ok := top[k]; return ok }
	switch {
	case has("detail-type"):
		return decodeEnvelope(top, orig, m)
	case has("findings"):
		var list []json.RawMessage
		if err := normalize.Unmarshal(top["findings"], &list); err != nil {
			return nil, fmt.Errorf("findings: %w", err)
		}
		items := make([]normalize.Item, len(list))
		for i, e := range list {
			items[i] = normalize.Item{Data: e, Path: "findings[" + strconv.Itoa(i) + "]"}
		}
		return normalize.DecodeItems(items, "a GetFindings response with no findings", func(d []byte) ([]*ecs.Event, error) { return decodeValue(d, d, m, depth+1) })
	case has("Type") && has("Message") && (has("TopicArn") || has("MessageId")):
		return normalize.DecodeSNS(top, func(msg []byte) ([]*ecs.Event, error) { return decodeValue(msg, orig, m, depth+1) })
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
		return nil, fmt.Errorf("not a GuardDuty finding: no id, type, schemaVersion or accountId (fields: %s)", normalize.KeyList(top))
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
		return nil, fmt.Errorf("EventBridge detail-type: JSON %s where a string belongs", normalize.JSONKind(dt))
	}
	if detailType != DetailType {
		return nil, fmt.Errorf("EventBridge detail-type %q is not a GuardDuty finding (want %q)", detailType, DetailType)
	}
	detail := bytes.TrimSpace(top["detail"])
	if len(detail) == 0 || bytes.Equal(detail, []byte("null")) {
		return nil, errors.New("EventBridge event has no detail")
	}
	if detail[0] != '{' {
		return nil, fmt.Errorf("EventBridge detail: JSON %s where a GuardDuty finding object belongs", normalize.JSONKind(detail))
	}
	var dtop map[string]json.RawMessage
	if err := normalize.Unmarshal(detail, &dtop); err != nil {
		return nil, fmt.Errorf("EventBridge detail: %w", err)
	}
	evs, err := decodeFinding(detail, dtop, orig, m)
	if err != nil {
		return nil, fmt.Errorf("EventBridge detail: %w", err)
	}
	return evs, nil
}

// decodeFinding decodes one finding; top is its members, raw.
func decodeFinding(data []byte, top map[string]json.RawMessage, orig []byte, m normalize.Meta) ([]*ecs.Event, error) {
	var f Finding
	if err := normalize.Unmarshal(data, &f); err != nil {
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
		if slices.Contains(known, k) {
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
