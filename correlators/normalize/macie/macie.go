package macie

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// Dataset is the event.dataset of Macie events.
const Dataset = "aws.macie"

// DetailType is the EventBridge detail-type of Macie findings.
const DetailType = "Macie Finding"

func init() { normalize.Register("macie", Decoder{}) }

// Decoder is the Macie decoder. It holds no state and is safe for
// concurrent use.
type Decoder struct{}

// Dataset implements normalize.Decoder.
func (Decoder) Dataset() string { return "macie" }

// maxDepth bounds how deep envelopes may nest (an SNS notification of an
// EventBridge event of a finding is 2).
const maxDepth = 4

// Decode implements normalize.Decoder. A record is one finding, an
// EventBridge event, an SNS notification of either, a GetFindings response
// ({"findings":[...]}), or several findings in one record: a JSON array or
// JSON lines. Of several, each that fails
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
			return nil, fmt.Errorf("JSON %s where a Macie finding object belongs", normalize.JSONKind(t))
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
	case has("ProductArn") || has("AwsAccountId"):
		return nil, errors.New("an AWS Security Hub finding (ASFF), not a Macie finding in Macie's own format")
	case has("service") && has("resource"):
		return nil, errors.New("a GuardDuty finding, not a Macie finding: it belongs to the guardduty source")
	case has("Records"):
		return nil, errors.New("a CloudTrail log file, not a Macie finding")
	case has("@timestamp") && has("ecs"):
		return nil, errors.New("an ECS document (already normalized), not a Macie finding")
	case !has("id") && !has("type") && !has("schemaVersion") && !has("accountId"):
		return nil, fmt.Errorf("not a Macie finding: no id, type, schemaVersion or accountId (fields: %s)", normalize.KeyList(top))
	}
	return decodeFinding(t, orig, m)
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
		return nil, fmt.Errorf("EventBridge detail-type %q is not a Macie finding (want %q)", detailType, DetailType)
	}
	detail := bytes.TrimSpace(top["detail"])
	if len(detail) == 0 || bytes.Equal(detail, []byte("null")) {
		return nil, errors.New("EventBridge event has no detail")
	}
	if detail[0] != '{' {
		return nil, fmt.Errorf("EventBridge detail: JSON %s where a Macie finding object belongs", normalize.JSONKind(detail))
	}
	evs, err := decodeFinding(detail, orig, m)
	if err != nil {
		return nil, fmt.Errorf("EventBridge detail: %w", err)
	}
	return evs, nil
}

// decodeFinding decodes one finding.
func decodeFinding(data []byte, orig []byte, m normalize.Meta) ([]*ecs.Event, error) {
	var f Finding
	if err := normalize.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	ev, err := Normalize(&f)
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
