package engine

import (
	"unsafe"

	"github.com/tidwall/gjson"
)

// JSONEvent is an Event over a JSON document, for events that are not
// normalized: fields are looked up in the document's bytes as they are
// matched (with gjson), dots separating nested objects, arrays on the way
// searched element by element. How names map to the document depends on
// its Schema.
//
// A JSONEvent aliases the bytes it is given: they must not change while
// it is in use. Reset lets one JSONEvent serve a stream of documents
// without allocating.
type JSONEvent struct {
	doc    string
	schema Schema
}

// NewJSON returns doc as an Event; see JSONEvent.
func NewJSON(doc []byte, schema Schema) *JSONEvent {
	e := &JSONEvent{schema: schema}
	e.Reset(doc)
	return e
}

// Reset makes e the event in doc.
func (e *JSONEvent) Reset(doc []byte) {
	e.doc = unsafe.String(unsafe.SliceData(doc), len(doc))
}

// Value implements Event.
func (e *JSONEvent) Value(f *Field) Value {
	if e.schema >= numSchemas {
		return Value{}
	}
	p := &f.json[e.schema]
	if p.derive != nil {
		return p.derive(e.doc)
	}
	if p.viaOriginal || p.preferOriginal != nil {
		if o := gjson.Get(e.doc, "event.original"); o.Type == gjson.String {
			comps := p.comps
			if p.preferOriginal != nil {
				comps = p.preferOriginal
			}
			return Value{Kind: JSON, Str: o.Str, path: comps}
		}
		if p.viaOriginal {
			return Value{}
		}
	}
	if p.when != nil {
		found := false
		if !walkJSON(gjson.Parse(e.doc), p.when, p.whenLeaf.match, &found) {
			return Value{}
		}
	}
	if p.embedded {
		return embeddedValue(e.doc, p.comps)
	}
	return Value{Kind: JSON, Str: e.doc, path: p.comps}
}

// embeddedValue reads the JSON held as text by the string at comps in doc.
// The string has escapes (quotes, at least): gjson decodes it, which
// allocates.
func embeddedValue(doc string, comps []string) Value {
	r := gjson.Parse(doc)
	for _, c := range comps {
		if !r.IsObject() {
			return Value{}
		}
		r = r.Get(c)
	}
	switch r.Type {
	case gjson.String:
		return JSONValue(r.Str)
	case gjson.Null:
		return Value{Kind: Null}
	}
	if !r.Exists() {
		return Value{}
	}
	return Value{Kind: JSON, Str: r.Raw}
}

// whenLeaf matches a string equal to want.
type whenLeaf struct{ want string }

func (l *whenLeaf) match(v Value) bool { return v.Kind == String && v.Str == l.want }

// SearchStrings implements Event: every string value in the document.
func (e *JSONEvent) SearchStrings(m StringMatcher) bool {
	return searchJSON(gjson.Parse(e.doc), m)
}
