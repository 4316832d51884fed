package engine

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/vigilsec/vigil/ecs"
)

// ECS returns a normalized event as an Event. Fields resolve through the
// field mapping (FIELDS.md): CloudTrail names to the ECS fields that hold
// them, ECS names to the struct, anything else to the raw record in
// event.original when the event kept it. The conversion allocates nothing.
func ECS(ev *ecs.Event) Event { return (*ecsEvent)(ev) }

type ecsEvent ecs.Event

// Value implements Event.
func (e *ecsEvent) Value(f *Field) Value {
	if f.ecs == nil {
		return Value{}
	}
	return f.ecs((*ecs.Event)(e))
}

// SearchStrings implements Event: every string of the event, and every
// string value in its JSON parts (request parameters, response elements,
// additional event data, the original record).
func (e *ecsEvent) SearchStrings(m StringMatcher) bool {
	return searchReflect(reflect.ValueOf((*ecs.Event)(e)).Elem(), m)
}

type ecsAccessor = func(*ecs.Event) Value

func missing(*ecs.Event) Value { return Value{} }

func cloudTrail(e *ecs.Event) *ecs.CloudTrail {
	if e.AWS == nil {
		return nil
	}
	return e.AWS.CloudTrail
}

func identity(e *ecs.Event) *ecs.UserIdentity {
	if ct := cloudTrail(e); ct != nil {
		return ct.UserIdentity
	}
	return nil
}

// ecsFastString are the string fields CloudTrail rules read most, read
// without reflection; "" is a missing field. Rules match them without
// going through a Value (see itemNode.eval).
var ecsFastString = map[string]func(*ecs.Event) string{
	"event.action":   func(e *ecs.Event) string { return e.Event.Action },
	"event.provider": func(e *ecs.Event) string { return e.Event.Provider },
	"event.outcome":  func(e *ecs.Event) string { return e.Event.Outcome },
	"event.id":       func(e *ecs.Event) string { return e.Event.ID },
	"event.dataset":  func(e *ecs.Event) string { return e.Event.Dataset },
	"event.kind":     func(e *ecs.Event) string { return e.Event.Kind },
	"cloud.region": func(e *ecs.Event) string {
		if e.Cloud == nil {
			return ""
		}
		return e.Cloud.Region
	},
	"cloud.account.id": func(e *ecs.Event) string {
		if e.Cloud == nil || e.Cloud.Account == nil {
			return ""
		}
		return e.Cloud.Account.ID
	},
	"source.ip": func(e *ecs.Event) string {
		if e.Source == nil {
			return ""
		}
		return e.Source.IP
	},
	"source.address": func(e *ecs.Event) string {
		if e.Source == nil {
			return ""
		}
		return e.Source.Address
	},
	"user.name": func(e *ecs.Event) string {
		if e.User == nil {
			return ""
		}
		return e.User.Name
	},
	"user.id": func(e *ecs.Event) string {
		if e.User == nil {
			return ""
		}
		return e.User.ID
	},
	"user_agent.original": func(e *ecs.Event) string {
		if e.UserAgent == nil {
			return ""
		}
		return e.UserAgent.Original
	},
	"aws.cloudtrail.error_code": func(e *ecs.Event) string {
		if ct := cloudTrail(e); ct != nil {
			return ct.ErrorCode
		}
		return ""
	},
	"aws.cloudtrail.error_message": func(e *ecs.Event) string {
		if ct := cloudTrail(e); ct != nil {
			return ct.ErrorMessage
		}
		return ""
	},
	"aws.cloudtrail.event_type": func(e *ecs.Event) string {
		if ct := cloudTrail(e); ct != nil {
			return ct.EventType
		}
		return ""
	},
	"aws.cloudtrail.user_identity.type": func(e *ecs.Event) string {
		if id := identity(e); id != nil {
			return id.Type
		}
		return ""
	},
	"aws.cloudtrail.user_identity.arn": func(e *ecs.Event) string {
		if id := identity(e); id != nil {
			return id.ARN
		}
		return ""
	},
	"aws.cloudtrail.user_identity.session_context.session_issuer.type": func(e *ecs.Event) string {
		if id := identity(e); id != nil && id.SessionContext != nil && id.SessionContext.SessionIssuer != nil {
			return id.SessionContext.SessionIssuer.Type
		}
		return ""
	},
}

// ecsFast are the other fields read without reflection. The JSON parts of
// CloudTrail events (request parameters, response elements, additional
// event data), which ECS keeps as JSON text, read as the JSON values they
// are, as in the raw record.
var ecsFast = map[string]ecsAccessor{
	"event.category": func(e *ecs.Event) Value { return Value{Kind: List, List: e.Event.Category} },
	"event.type":     func(e *ecs.Event) Value { return Value{Kind: List, List: e.Event.Type} },
	"aws.cloudtrail.request_parameters": func(e *ecs.Event) Value {
		if ct := cloudTrail(e); ct != nil {
			return JSONValue(ct.RequestParameters)
		}
		return Value{}
	},
	"aws.cloudtrail.response_elements": func(e *ecs.Event) Value {
		if ct := cloudTrail(e); ct != nil {
			return JSONValue(ct.ResponseElements)
		}
		return Value{}
	},
	"aws.cloudtrail.additional_eventdata": func(e *ecs.Event) Value {
		if ct := cloudTrail(e); ct != nil {
			return JSONValue(ct.AdditionalEventData)
		}
		return Value{}
	},
}

func init() {
	for name, get := range ecsFastString {
		ecsFast[name] = func(e *ecs.Event) Value { return StringValue(get(e)) }
	}
}

// ecsStringAccessorFor returns the string accessor of name, as a rule
// writes it, if it resolves to one of ecsFastString; nil otherwise.
func ecsStringAccessorFor(name string) func(*ecs.Event) string {
	if e, ok := rawExact[name]; ok {
		if e.original || e.when != "" {
			return nil
		}
		return ecsFastString[e.ecs]
	}
	if e, _ := splitPrefix(name, rawPrefix); e != nil {
		return nil
	}
	return ecsFastString[name]
}

// flattenedParts are the JSON parts of a CloudTrail event, read as JSON
// from their string forms (which, unlike the flattened objects, also hold
// arrays and scalars).
var flattenedParts = map[string]func(*ecs.CloudTrail) string{
	"aws.cloudtrail.flattened.request_parameters":   func(ct *ecs.CloudTrail) string { return ct.RequestParameters },
	"aws.cloudtrail.flattened.response_elements":    func(ct *ecs.CloudTrail) string { return ct.ResponseElements },
	"aws.cloudtrail.flattened.additional_eventdata": func(ct *ecs.CloudTrail) string { return ct.AdditionalEventData },
}

// ecsAccessorFor resolves name, as a rule writes it, for *ecs.Event.
func ecsAccessorFor(name string) ecsAccessor {
	if e, ok := rawExact[name]; ok {
		switch {
		case e.original:
			return originalAccessor(escapePath(name))
		case e.when != "":
			orig := originalAccessor(escapePath(name))
			base, when, want := ecsPathAccessor(e.ecs), ecsPathAccessor(e.when), e.whenValue
			return func(ev *ecs.Event) Value {
				if ev.Event.Original != "" {
					return orig(ev)
				}
				if w := when(ev); w.Kind == String && w.Str == want {
					return base(ev)
				}
				return Value{}
			}
		}
		if acc := ecsPathAccessor(e.ecs); acc != nil {
			return acc
		}
	}
	if e, rest := splitPrefix(name, rawPrefix); e != nil {
		if acc := ecsPathAccessor(e.ecs + "." + rest); acc != nil {
			return acc
		}
	}
	top, _, _ := strings.Cut(name, ".")
	if ecsTop[top] {
		if acc := ecsPathAccessor(name); acc != nil {
			return acc
		}
		return missing
	}
	return originalAccessor(escapePath(name))
}

// originalAccessor reads comps from the raw record in event.original.
func originalAccessor(comps []string) ecsAccessor {
	return func(ev *ecs.Event) Value {
		if ev.Event.Original == "" {
			return Value{}
		}
		return Value{Kind: JSON, Str: ev.Event.Original, path: comps}
	}
}

// ecsPathAccessor resolves an ECS name to the struct, or returns nil.
func ecsPathAccessor(name string) ecsAccessor {
	if acc, ok := ecsFast[name]; ok {
		return acc
	}
	for part, get := range flattenedParts {
		rest, ok := strings.CutPrefix(name, part)
		if !ok || (rest != "" && rest[0] != '.') {
			continue
		}
		var comps []string
		if rest != "" {
			comps = escapePath(rest[1:])
		}
		return func(ev *ecs.Event) Value {
			ct := cloudTrail(ev)
			if ct == nil {
				return Value{}
			}
			s := get(ct)
			if s == "" {
				return Value{}
			}
			return Value{Kind: JSON, Str: s, path: comps}
		}
	}
	return reflectAccessor(strings.Split(name, "."))
}

// rstep is one step from a struct to one of its fields.
type rstep struct {
	index int
	ptr   bool // the field is a pointer to a struct
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawJSONType = reflect.TypeFor[json.RawMessage]()
)

// jsonName returns the JSON name of a struct field, "" if it has none.
func jsonName(sf reflect.StructField) string {
	if !sf.IsExported() {
		return ""
	}
	tag := sf.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	switch name {
	case "-":
		return ""
	case "":
		return sf.Name
	}
	return name
}

func omitEmpty(sf reflect.StructField) bool {
	_, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
	return strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
}

// reflectAccessor resolves comps through ecs.Event's JSON names, or
// returns nil.
func reflectAccessor(comps []string) ecsAccessor {
	t := reflect.TypeFor[ecs.Event]()
	var steps []rstep
	for i, c := range comps {
		var sf reflect.StructField
		found := false
		for j := range t.NumField() {
			if f := t.Field(j); jsonName(f) == c {
				sf, found = f, true
				break
			}
		}
		if !found {
			return nil
		}
		ft := sf.Type
		step := rstep{index: sf.Index[0]}
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct && ft.Elem() != timeType {
			step.ptr = true
			ft = ft.Elem()
		}
		steps = append(steps, step)
		rest := comps[i+1:]
		if ft.Kind() == reflect.Struct && ft != timeType && len(rest) > 0 {
			t = ft
			continue
		}
		return terminalAccessor(steps, ft, rest, omitEmpty(sf))
	}
	return nil
}

// walkSteps follows steps from ev; false if a pointer on the way is nil.
func walkSteps(ev *ecs.Event, steps []rstep) (reflect.Value, bool) {
	v := reflect.ValueOf(ev).Elem()
	for _, s := range steps {
		v = v.Field(s.index)
		if s.ptr {
			if v.IsNil() {
				return v, false
			}
			v = v.Elem()
		}
	}
	return v, true
}

// terminalAccessor reads a field of type t at steps; rest is what remains
// of the name below it, which only JSON-like fields can take.
func terminalAccessor(steps []rstep, t reflect.Type, rest []string, omit bool) ecsAccessor {
	var restComps []string
	for _, r := range rest {
		restComps = append(restComps, gjson.Escape(r))
	}
	scalar := func(get func(v reflect.Value) Value) ecsAccessor {
		if len(rest) > 0 {
			return nil
		}
		return func(ev *ecs.Event) Value {
			v, ok := walkSteps(ev, steps)
			if !ok || (omit && v.IsZero()) {
				return Value{}
			}
			return get(v)
		}
	}
	switch {
	case t == timeType:
		return scalar(func(v reflect.Value) Value {
			return timeValue((*time.Time)(v.Addr().UnsafePointer()))
		})
	case t.Kind() == reflect.Pointer && t.Elem() == timeType:
		return scalar(func(v reflect.Value) Value {
			if v.IsNil() {
				return Value{}
			}
			return timeValue((*time.Time)(v.UnsafePointer()))
		})
	case t == rawJSONType:
		return func(ev *ecs.Event) Value {
			v, ok := walkSteps(ev, steps)
			if !ok || v.Len() == 0 {
				return Value{}
			}
			b := v.Bytes()
			return Value{Kind: JSON, Str: unsafe.String(unsafe.SliceData(b), len(b)), path: restComps}
		}
	}
	switch t.Kind() {
	case reflect.String:
		return scalar(func(v reflect.Value) Value { return StringValue(v.String()) })
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return scalar(func(v reflect.Value) Value { return Value{Kind: Number, Num: float64(v.Int())} })
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return scalar(func(v reflect.Value) Value { return Value{Kind: Number, Num: float64(v.Uint())} })
	case reflect.Float32, reflect.Float64:
		return scalar(func(v reflect.Value) Value { return Value{Kind: Number, Num: v.Float()} })
	case reflect.Bool:
		return scalar(boolValue)
	case reflect.Pointer:
		if t.Elem().Kind() == reflect.Bool {
			return scalar(func(v reflect.Value) Value {
				if v.IsNil() {
					return Value{}
				}
				return boolValue(v.Elem())
			})
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String && len(rest) == 0 {
			return func(ev *ecs.Event) Value {
				v, ok := walkSteps(ev, steps)
				if !ok {
					return Value{}
				}
				return Value{Kind: List, List: *(*[]string)(v.Addr().UnsafePointer())}
			}
		}
	}
	// Structs named whole, maps, interfaces, slices of structs: encode
	// them as JSON and look the rest up in that. This allocates; no
	// CloudTrail rule needs it.
	return func(ev *ecs.Event) Value {
		v, ok := walkSteps(ev, steps)
		if !ok || v.IsZero() {
			return Value{}
		}
		b, err := json.Marshal(v.Interface())
		if err != nil {
			return Value{}
		}
		return Value{Kind: JSON, Str: string(b), path: restComps}
	}
}

// timeValue is a time as a value, formatted only if matched as text.
func timeValue(t *time.Time) Value {
	return Value{Kind: timeKind, nanos: t.UnixNano()}
}

func boolValue(v reflect.Value) Value {
	if v.Bool() {
		return Value{Kind: Bool, Bool: true, Str: "true"}
	}
	return Value{Kind: Bool, Str: "false"}
}

// rfield says how a keyword search treats a struct field.
type rfield struct {
	index int
	how   uint8
}

const (
	rWalk     uint8 = iota // search inside
	rJSONText              // a string holding JSON: search its values
)

var rfieldCache sync.Map // reflect.Type -> []rfield

// jsonTextFields are the string fields of ecs types that hold JSON text,
// and skipped are fields whose strings are elsewhere too.
var (
	jsonTextFields = map[string]bool{
		"EventMeta.Original":             true,
		"CloudTrail.RequestParameters":   true,
		"CloudTrail.ResponseElements":    true,
		"CloudTrail.AdditionalEventData": true,
	}
	skippedFields = map[string]bool{
		"CloudTrail.Flattened": true,
	}
)

func rfields(t reflect.Type) []rfield {
	if fs, ok := rfieldCache.Load(t); ok {
		return fs.([]rfield)
	}
	var fs []rfield
	for i := range t.NumField() {
		sf := t.Field(i)
		key := t.Name() + "." + sf.Name
		if !sf.IsExported() || skippedFields[key] || sf.Type == timeType {
			continue
		}
		how := rWalk
		if jsonTextFields[key] {
			how = rJSONText
		}
		fs = append(fs, rfield{index: i, how: how})
	}
	rfieldCache.Store(t, fs)
	return fs
}

// searchReflect reports whether m matches a string in v.
func searchReflect(v reflect.Value, m StringMatcher) bool {
	switch v.Kind() {
	case reflect.String:
		return v.Len() > 0 && m.MatchString(v.String())
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && searchReflect(v.Elem(), m)
	case reflect.Struct:
		if v.Type() == timeType {
			return false
		}
		for _, f := range rfields(v.Type()) {
			fv := v.Field(f.index)
			if f.how == rJSONText {
				if fv.Kind() == reflect.String && fv.Len() > 0 && searchJSON(gjson.Parse(fv.String()), m) {
					return true
				}
				continue
			}
			if searchReflect(fv, m) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type() == rawJSONType {
			b := v.Bytes()
			return len(b) > 0 && searchJSON(gjson.Parse(unsafe.String(unsafe.SliceData(b), len(b))), m)
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return false
		}
		for i := range v.Len() {
			if searchReflect(v.Index(i), m) {
				return true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if searchReflect(it.Value(), m) {
				return true
			}
		}
	}
	return false
}
