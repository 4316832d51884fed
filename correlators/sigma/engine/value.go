package engine

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/vigilsec/vigil/ecs"
)

// Event is an event rules are evaluated on. Implementations read fields by
// the name a rule uses, resolved once, at compile time, into a *Field.
//
// The package implements it for normalized events (ECS) and for JSON
// documents (NewJSON). An Event is used by one goroutine at a time; the
// values it returns must stay valid until the evaluation that asked for
// them returns.
type Event interface {
	// Value returns the value of f in the event, or a Value of Kind
	// Missing.
	Value(f *Field) Value
	// SearchStrings reports whether m matches any string value of the
	// event (for keyword searches), stopping at the first that does.
	SearchStrings(m StringMatcher) bool
}

// StringMatcher matches strings, for Event.SearchStrings.
type StringMatcher interface {
	MatchString(s string) bool
}

// Kind is the type of a value in an event.
type Kind uint8

const (
	// Missing is a field the event does not have.
	Missing Kind = iota
	// Null is a JSON null.
	Null
	// String is text, in Str.
	String
	// Number is a number, in Num; Str holds it as written, if known.
	Number
	// Bool is a boolean, in Bool; Str holds it as written, if known.
	Bool
	// Object is a JSON object, as JSON text in Str. String matchers match
	// that text (requestParameters|contains: 'Suspended').
	Object
	// List is a list of strings, in List; a field matches when any
	// element does. An empty List is a missing field.
	List
	// JSON is a JSON value as text, in Str: an array (a field matches
	// when any element does), an object or a scalar, decoded when
	// matched.
	JSON

	// empty is an empty JSON array: present, but matching nothing.
	empty
	// timeKind is a time, in nanos: matched as RFC 3339 text, and by the
	// time modifiers.
	timeKind
)

// Value is the value of a field in an event.
type Value struct {
	Kind Kind
	Str  string
	Num  float64
	Bool bool
	List []string
	// nanos is a timeKind's time, in nanoseconds since the epoch.
	nanos int64
	// path is what remains to look up in the JSON text of a JSON value,
	// as gjson path components.
	path []string
}

// StringValue returns a String value, or Missing for "" (normalized
// events leave empty fields out).
func StringValue(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{Kind: String, Str: s}
}

// JSONValue returns the value of a field given as JSON text; "" is
// Missing.
func JSONValue(text string) Value {
	if text == "" {
		return Value{}
	}
	return Value{Kind: JSON, Str: text}
}

// Field is a field name as rules use it, resolved for each kind of event
// the package implements. Fields are shared by every rule of a Set that
// names them and are read-only after compilation.
type Field struct {
	// Name is the name as the rule writes it.
	Name string
	// Path is Name split at dots, for Event implementations that look
	// fields up in nested documents.
	Path []string

	ecs func(*ecs.Event) Value // for *ecs.Event
	// ecsStr, if not nil, reads the same string field as ecs, without a
	// Value ("" for a missing field).
	ecsStr func(*ecs.Event) string
	json   [numSchemas]jsonPath // for JSONEvent, by schema
}

// escapePath splits a dotted name into gjson path components.
func escapePath(name string) []string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = gjson.Escape(p)
	}
	return parts
}

// leaf matches single values (not lists or arrays: see anyValue).
type leaf interface {
	match(v Value) bool
}

// anyValue reports whether l matches v or, for a list or array, any of its
// elements. A missing field, or a path that leads nowhere, is matched as
// Missing.
func anyValue(v Value, l leaf) bool { return eachValue(v, l.match) }

// eachValue reports whether fn holds for v or, for a list or array, any
// of its elements; see anyValue.
func eachValue(v Value, fn func(Value) bool) bool {
	switch v.Kind {
	case List:
		if len(v.List) == 0 {
			return fn(Value{})
		}
		for _, s := range v.List {
			if fn(Value{Kind: String, Str: s}) {
				return true
			}
		}
		return false
	case JSON:
		found := false
		if walkJSON(gjson.Parse(v.Str), v.path, fn, &found) {
			return true
		}
		if !found {
			return fn(Value{})
		}
		return false
	}
	return fn(v)
}

// walkJSON reports whether fn holds for what path leads to from r,
// descending into arrays on the way; found is set when path leads
// somewhere.
func walkJSON(r gjson.Result, path []string, fn func(Value) bool, found *bool) bool {
	for len(path) > 0 {
		if r.IsArray() {
			matched := false
			r.ForEach(func(_, el gjson.Result) bool {
				matched = walkJSON(el, path, fn, found)
				return !matched
			})
			return matched
		}
		if !r.IsObject() {
			return false
		}
		r = r.Get(path[0])
		if !r.Exists() {
			return false
		}
		path = path[1:]
	}
	if r.IsArray() {
		matched, none := false, true
		r.ForEach(func(_, el gjson.Result) bool {
			none = false
			matched = walkJSON(el, nil, fn, found)
			return !matched
		})
		if none {
			*found = true
			return fn(Value{Kind: empty})
		}
		return matched
	}
	*found = true
	return fn(resultValue(r))
}

// resultValue converts a gjson scalar or object.
func resultValue(r gjson.Result) Value {
	switch r.Type {
	case gjson.String:
		return Value{Kind: String, Str: r.Str}
	case gjson.Number:
		return Value{Kind: Number, Num: r.Num, Str: r.Raw}
	case gjson.True:
		return Value{Kind: Bool, Bool: true, Str: r.Raw}
	case gjson.False:
		return Value{Kind: Bool, Str: r.Raw}
	case gjson.Null:
		return Value{Kind: Null}
	case gjson.JSON:
		return Value{Kind: Object, Str: r.Raw}
	}
	return Value{}
}

// searchJSON reports whether m matches any string value (not key) in the
// JSON text r.
func searchJSON(r gjson.Result, m StringMatcher) bool {
	switch r.Type {
	case gjson.String:
		return m.MatchString(r.Str)
	case gjson.JSON:
		matched := false
		r.ForEach(func(_, el gjson.Result) bool {
			matched = searchJSON(el, m)
			return !matched
		})
		return matched
	}
	return false
}
