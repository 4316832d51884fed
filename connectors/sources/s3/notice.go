package s3

// This file reads the bodies of SQS messages in SQS mode: which objects a
// message announces. See sqs.go for what is done with them.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// errNotice is wrapped by every error parseNotice returns: the message is
// not a notice vigil understands. Such a message is left on the queue (see
// runSQS).
var errNotice = errors.New("not an S3 notice")

// notice is what one SQS message announces.
type notice struct {
	// Via says how the notice arrived: "s3" (an S3 event notification sent
	// straight to the queue), "eventbridge", or either with an "sns+"
	// prefix when an SNS topic wrapped it.
	Via string
	// Objects are the objects created, in the order of the message.
	Objects []ObjectRef
	// Ignored names the events that announce no new object, such as
	// s3:TestEvent, ObjectRemoved:Delete or "Object Deleted".
	Ignored []string
}

// parseNotice parses an SQS message body into the objects it announces. It
// understands:
//
//   - S3 event notifications sent to the queue directly ({"Records":[...]},
//     each record with eventSource "aws:s3"); only ObjectCreated:* records
//     announce objects, the others are ignored;
//   - the s3:TestEvent S3 sends when a notification is configured (ignored);
//   - either of these, or an EventBridge event, wrapped by SNS
//     ({"Type":"Notification","Message":"<the JSON as a string>"}); with
//     raw message delivery SNS sends the body unwrapped;
//   - EventBridge events from source "aws.s3": "Object Created" announces
//     an object, other detail types are ignored.
//
// Object keys in S3 event notifications are URL-encoded the way HTML forms
// are ("red flower.jpg" arrives as "red+flower.jpg"), and so are those of
// EventBridge events (AWS's own Lambda Powertools decodes both with
// unquote_plus): parseNotice decodes them. The event time becomes the
// object's Modified time; ETags are returned as sent, without quotes.
//
// Every other body, and a known one that lacks what it must carry (a
// bucket, a key), is an error wrapping errNotice.
func parseNotice(body []byte) (notice, error) {
	n, err := parseNoticeIn(body, false)
	if err != nil {
		return notice{}, fmt.Errorf("%w: %v", errNotice, err)
	}
	return n, nil
}

func parseNoticeIn(body []byte, inSNS bool) (notice, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return notice{}, fmt.Errorf("body is not a JSON object: %v", err)
	}
	via := func(v string) string {
		if inSNS {
			return "sns+" + v
		}
		return v
	}
	switch {
	case top["Records"] != nil:
		n, err := parseS3Records(top["Records"])
		n.Via = via("s3")
		return n, err
	case top["detail-type"] != nil || top["detail"] != nil:
		n, err := parseEventBridge(top)
		n.Via = via("eventbridge")
		return n, err
	case top["Event"] != nil:
		var ev string
		if err := json.Unmarshal(top["Event"], &ev); err != nil {
			return notice{}, fmt.Errorf("Event: %v", err)
		}
		if ev != "s3:TestEvent" {
			return notice{}, fmt.Errorf("event %q has no Records", ev)
		}
		return notice{Via: via("s3"), Ignored: []string{ev}}, nil
	case top["Type"] != nil:
		var typ string
		if err := json.Unmarshal(top["Type"], &typ); err != nil {
			return notice{}, fmt.Errorf("Type: %v", err)
		}
		if inSNS {
			return notice{}, fmt.Errorf("SNS message %q inside an SNS notification", typ)
		}
		switch typ {
		case "Notification":
		case "SubscriptionConfirmation", "UnsubscribeConfirmation":
			return notice{}, fmt.Errorf("SNS %s: confirm or remove the subscription by hand (its SubscribeURL)", typ)
		default:
			return notice{}, fmt.Errorf("SNS message of type %q", typ)
		}
		var msg string
		if raw := top["Message"]; raw == nil {
			return notice{}, errors.New("SNS notification without a Message")
		} else if err := json.Unmarshal(raw, &msg); err != nil {
			return notice{}, fmt.Errorf("SNS Message: %v", err)
		}
		n, err := parseNoticeIn([]byte(msg), true)
		if err != nil {
			return notice{}, fmt.Errorf("SNS Message: %w", err)
		}
		return n, nil
	}
	return notice{}, errors.New("neither S3 event notification (Records), S3 test event, SNS notification nor EventBridge event")
}

// s3Record is one record of an S3 event notification, the fields vigil
// reads.
type s3Record struct {
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
	EventTime   string `json:"eventTime"`
	S3          *struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  *string   `json:"key"`
			Size jsonInt64 `json:"size"`
			ETag string    `json:"eTag"`
		} `json:"object"`
	} `json:"s3"`
}

func parseS3Records(raw json.RawMessage) (notice, error) {
	var recs []s3Record
	if err := json.Unmarshal(raw, &recs); err != nil {
		return notice{}, fmt.Errorf("Records: %v", err)
	}
	if len(recs) == 0 {
		return notice{}, errors.New("no Records")
	}
	var n notice
	for i, r := range recs {
		if r.EventSource != "aws:s3" {
			return notice{}, fmt.Errorf("Records[%d]: eventSource %q is not aws:s3", i, r.EventSource)
		}
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			n.Ignored = append(n.Ignored, r.EventName)
			continue
		}
		if r.S3 == nil {
			return notice{}, fmt.Errorf("Records[%d]: %s without s3", i, r.EventName)
		}
		ref, err := objectRef(r.S3.Bucket.Name, r.S3.Object.Key, r.S3.Object.Size, r.S3.Object.ETag, r.EventTime)
		if err != nil {
			return notice{}, fmt.Errorf("Records[%d]: %v", i, err)
		}
		n.Objects = append(n.Objects, ref)
	}
	return n, nil
}

// ebDetail is the detail of an EventBridge event from S3, the fields vigil
// reads.
type ebDetail struct {
	Bucket struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key  *string   `json:"key"`
		Size jsonInt64 `json:"size"`
		ETag string    `json:"etag"`
	} `json:"object"`
}

func parseEventBridge(top map[string]json.RawMessage) (notice, error) {
	var source, detailType, at string
	for name, p := range map[string]*string{"source": &source, "detail-type": &detailType, "time": &at} {
		if raw := top[name]; raw != nil {
			if err := json.Unmarshal(raw, p); err != nil {
				return notice{}, fmt.Errorf("EventBridge event: %s: %v", name, err)
			}
		}
	}
	if source != "aws.s3" {
		return notice{}, fmt.Errorf("EventBridge event from source %q, not aws.s3", source)
	}
	if detailType != "Object Created" {
		return notice{Ignored: []string{detailType}}, nil
	}
	var d ebDetail
	if raw := top["detail"]; raw == nil {
		return notice{}, errors.New("EventBridge Object Created event without detail")
	} else if err := json.Unmarshal(raw, &d); err != nil {
		return notice{}, fmt.Errorf("EventBridge event: detail: %v", err)
	}
	ref, err := objectRef(d.Bucket.Name, d.Object.Key, d.Object.Size, d.Object.ETag, at)
	if err != nil {
		return notice{}, fmt.Errorf("EventBridge event: %v", err)
	}
	return notice{Objects: []ObjectRef{ref}}, nil
}

// objectRef checks and decodes what a notice says of an object.
func objectRef(bucket string, key *string, size jsonInt64, etag, at string) (ObjectRef, error) {
	if bucket == "" {
		return ObjectRef{}, errors.New("no bucket name")
	}
	if key == nil || *key == "" {
		return ObjectRef{}, errors.New("no object key")
	}
	k, err := url.QueryUnescape(*key)
	if err != nil {
		return ObjectRef{}, fmt.Errorf("object key %q: %v", *key, err)
	}
	if size < 0 {
		return ObjectRef{}, fmt.Errorf("object %s: negative size %d", k, size)
	}
	ref := ObjectRef{Bucket: bucket, Key: k, ETag: strings.Trim(etag, `"`), Size: int64(size)}
	// A time that does not parse is no reason to leave the object unread:
	// it only feeds the delivery-lag metric.
	if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
		ref.Modified = t
	}
	return ref, nil
}

// jsonInt64 is an object size: a JSON number, or a string holding one as
// some S3-compatible servers send it.
type jsonInt64 int64

func (v *jsonInt64) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("size %s: not an integer", b)
	}
	*v = jsonInt64(n)
	return nil
}
