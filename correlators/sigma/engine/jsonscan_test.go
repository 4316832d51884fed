package engine

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScalarScanner checks the scanner against encoding/json: it yields
// the strings (decoded), numbers and booleans of a document, keys and nulls
// left out.
func FuzzScalarScanner(f *testing.F) {
	f.Add(`{"a":"x","b":[1,-2.5e3,true,false,null],"c":{"d":"q\"\\\/\u00e9\ud83d\ude00"}}`)
	f.Add(`{"policyDocument":"{\n  \"Effect\": \"Allow\",\n  \"Resource\": \"arn:aws:s3:::\u003cB\u003e/*\"\n}"}`)
	f.Add(`[ "a" , {"k" : "v"} , [] , {} ]`)
	f.Add(`{"bad":"\ud800x","lone":"\udc00"}`)
	f.Fuzz(func(t *testing.T, doc string) {
		if !json.Valid([]byte(doc)) || !utf8.ValidString(doc) {
			return
		}
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return
		}
		var want []string
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for _, e := range x {
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			case string:
				want = append(want, "s:"+x)
			case json.Number:
				want = append(want, "n:"+string(x))
			case bool:
				want = append(want, "b:"+map[bool]string{true: "true", false: "false"}[x])
			}
		}
		walk(v)
		var got []string
		sc := scalarScanner{s: doc}
		for {
			raw, kind, esc, ok := sc.next()
			if !ok {
				break
			}
			switch kind {
			case String:
				s := raw[1 : len(raw)-1]
				if esc {
					s = string(appendUnescaped(nil, raw))
				}
				got = append(got, "s:"+s)
			case Number:
				got = append(got, "n:"+raw)
			case Bool:
				got = append(got, "b:"+raw)
			}
		}
		// encoding/json keeps the last of duplicate keys: compare only
		// documents without them.
		if hasDuplicateKeys(doc) {
			return
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: scanned %q, want %q", doc, got, want)
		}
	})
}
