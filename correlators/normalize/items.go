package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/ecs"
)

// What decoders share: telling a record of one JSON value from one of
// several, decoding the several item by item, SNS envelopes, and JSON
// errors that say where.

// Item is one value of a record that holds several.
type Item struct {
	Data []byte
	// Path says where it was: "[2]", "line 3", "findings[0]".
	Path string
	// Err is why the item could not be delimited, if it could not.
	Err error
}

// SplitValues tells a record of one JSON value from one of several (a JSON
// array, JSON lines, objects one after another) and splits the latter. Each
// item's bytes are its own, for event.original. A record that is one
// value, or broken beyond splitting, gives multi false: decode it whole
// and report its error.
func SplitValues(raw []byte) (items []Item, multi bool, err error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return nil, false, errors.New("empty record")
	}
	if t[0] == '[' {
		var elems []json.RawMessage
		if json.Unmarshal(t, &elems) == nil {
			items := make([]Item, len(elems))
			for i, e := range elems {
				items[i] = Item{Data: e, Path: "[" + strconv.Itoa(i) + "]"}
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
	for {
		fr, err := sp.Next()
		if err != nil {
			break
		}
		items = append(items, Item{Data: fr.Data, Path: "line " + strconv.Itoa(fr.Line), Err: frameErr(fr.Err)})
	}
	if len(items) < 2 || sp.Format() == framing.Records {
		return nil, false, nil
	}
	return items, true, nil
}

// frames splits raw by structure in the given format.
func frames(raw []byte, f framing.Format) []Item {
	sp := framing.New(bytes.NewReader(raw), f, len(raw)+1)
	var items []Item
	for {
		fr, err := sp.Next()
		if err != nil {
			return items
		}
		items = append(items, Item{Data: fr.Data, Path: "[" + strconv.Itoa(fr.Index) + "]", Err: frameErr(fr.Err)})
	}
}

func frameErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// DecodeItems decodes the items of a record with decode, returning the good
// events and, in a *PartialError, the items that failed (an item's own
// partial failures under its path). If none gave an event and none failed,
// the record was all skips: it returns ErrSkipped with why (empty, when
// there were no items).
func DecodeItems(items []Item, empty string, decode func(data []byte) ([]*ecs.Event, error)) ([]*ecs.Event, error) {
	var out []*ecs.Event
	var failed []ItemError
	var skipped []string
	for i, it := range items {
		if it.Err != nil {
			failed = append(failed, ItemError{Index: i, Path: it.Path, Raw: it.Data, Err: it.Err})
			continue
		}
		evs, err := decode(it.Data)
		out = append(out, evs...)
		var pe *PartialError
		switch {
		case err == nil:
		case errors.Is(err, ErrSkipped):
			skipped = append(skipped, it.Path+": "+err.Error())
		case errors.As(err, &pe):
			for _, sub := range pe.Items {
				failed = append(failed, ItemError{Index: i, Path: it.Path + "." + sub.Path, Raw: sub.Raw, Err: sub.Err})
			}
		default:
			failed = append(failed, ItemError{Index: i, Path: it.Path, Raw: it.Data, Err: err})
		}
	}
	if len(failed) > 0 {
		return out, &PartialError{Items: failed}
	}
	if len(out) == 0 {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("%w: every item: %s", ErrSkipped, strings.Join(skipped, "; "))
		}
		return nil, fmt.Errorf("%w: %s", ErrSkipped, empty)
	}
	return out, nil
}

// DecodeSNS decodes an SNS notification (top is its members) by decoding
// its message with decode. Subscription confirmations are skipped.
func DecodeSNS(top map[string]json.RawMessage, decode func(msg []byte) ([]*ecs.Event, error)) ([]*ecs.Event, error) {
	var typ, msg string
	_ = json.Unmarshal(top["Type"], &typ)
	switch typ {
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		return nil, fmt.Errorf("%w: an SNS %s", ErrSkipped, typ)
	case "Notification":
	default:
		return nil, fmt.Errorf("SNS message type %q is not a notification", typ)
	}
	if err := json.Unmarshal(top["Message"], &msg); err != nil {
		return nil, errors.New("SNS Message is not a string")
	}
	evs, err := decode([]byte(msg))
	if errors.Is(err, ErrSkipped) {
		return nil, fmt.Errorf("%w (in an SNS notification)", err)
	}
	if err != nil {
		return evs, fmt.Errorf("SNS Message: %w", err)
	}
	return evs, nil
}

// Unmarshal is json.Unmarshal with errors that say where (JSONError).
func Unmarshal(b []byte, v any) error { return JSONError(json.Unmarshal(b, v)) }

// JSONError rewrites an encoding/json error to say where: the byte of a
// syntax error, the field of a type mismatch. Nil stays nil.
func JSONError(err error) error {
	if err == nil {
		return nil
	}
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

// JSONKind names the kind of the JSON value b starts with (after leading
// space): object, array, string, boolean, null or number.
func JSONKind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "number"
	}
	switch b[0] {
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

// KeyList lists an object's member names for messages: sorted, at most
// eight, "none" for none.
func KeyList(top map[string]json.RawMessage) string {
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

// DecodeOneOrArray decodes a record that is one value or a JSON array of
// values, each with decode. An array is decoded item by item: the good
// events come back with a *PartialError naming the items that failed. An
// array that is not valid JSON is split by structure, so that one bad item
// does not sink the others; if splitting finds nothing wrong that decoding
// the whole did, the whole's error is reported. An empty array is skipped
// (ErrSkipped), saying "an empty array of <what>".
func DecodeOneOrArray(raw []byte, what string, decode func(data []byte) (*ecs.Event, error)) ([]*ecs.Event, error) {
	if b := bytes.TrimLeft(raw, " \t\r\n"); len(b) == 0 || b[0] != '[' {
		ev, err := decode(raw)
		if err != nil {
			return nil, err
		}
		return []*ecs.Event{ev}, nil
	}
	var items []json.RawMessage
	if err := Unmarshal(raw, &items); err != nil {
		sp := framing.New(bytes.NewReader(raw), framing.Array, len(raw)+1)
		var failed []ItemError
		var out []*ecs.Event
		for i := 0; ; i++ {
			fr, ferr := sp.Next()
			if ferr != nil {
				break
			}
			var ev *ecs.Event
			itemErr := fr.Err
			if itemErr == nil {
				ev, itemErr = decode(fr.Data)
			}
			if itemErr != nil {
				failed = append(failed, ItemError{Index: i, Path: "[" + strconv.Itoa(i) + "]", Raw: fr.Data, Err: itemErr})
				continue
			}
			out = append(out, ev)
		}
		if len(failed) == 0 {
			return nil, err
		}
		return out, &PartialError{Items: failed}
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: an empty array of %s", ErrSkipped, what)
	}
	out := make([]*ecs.Event, 0, len(items))
	var failed []ItemError
	for i, it := range items {
		ev, err := decode(it)
		if err != nil {
			failed = append(failed, ItemError{Index: i, Path: "[" + strconv.Itoa(i) + "]", Raw: it, Err: err})
			continue
		}
		out = append(out, ev)
	}
	if len(failed) > 0 {
		return out, &PartialError{Items: failed}
	}
	return out, nil
}
