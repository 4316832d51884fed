// Package schemas holds the JSON Schemas (draft 2020-12) of the records vigil
// writes, and validates documents against them.
//
// The schema files are the reference for anyone consuming vigil's topics:
// event.schema.json for vigil.events.<dataset>, alert.schema.json for
// vigil.alerts.
package schemas

import (
	"bytes"
	"embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed *.schema.json
var files embed.FS

// The schema names. The event schema refers to one schema per source for
// its source-specific fields (cloudtrail.schema.json, vpcflow.schema.json,
// ...).
const (
	Event              = "event.schema.json"
	Alert              = "alert.schema.json"
	RemediationRequest = "remediation-request.schema.json"
	RemediationResult  = "remediation-result.schema.json"
)

// baseURL is where the schemas' $id values place them.
const baseURL = "https://vigil.dev/schemas/"

var (
	once     sync.Once
	compiled map[string]*jsonschema.Schema
	loadErr  error
)

func load() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	entries, err := files.ReadDir(".")
	if err != nil {
		loadErr = err
		return
	}
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			loadErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			loadErr = fmt.Errorf("schemas: %s: %w", e.Name(), err)
			return
		}
		if err := c.AddResource(baseURL+e.Name(), doc); err != nil {
			loadErr = fmt.Errorf("schemas: %s: %w", e.Name(), err)
			return
		}
	}
	compiled = map[string]*jsonschema.Schema{}
	for _, e := range entries {
		s, err := c.Compile(baseURL + e.Name())
		if err != nil {
			loadErr = fmt.Errorf("schemas: %w", err)
			return
		}
		compiled[e.Name()] = s
	}
}

// Validate checks a JSON document against the named schema (Event or
// Alert). The error lists every violation with its location.
func Validate(schema string, doc []byte) error {
	once.Do(load)
	if loadErr != nil {
		return loadErr
	}
	s, ok := compiled[schema]
	if !ok {
		return fmt.Errorf("schemas: no schema %q", schema)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("schemas: not JSON: %w", err)
	}
	return s.Validate(v)
}

// File returns the text of a schema file.
func File(schema string) ([]byte, error) { return files.ReadFile(schema) }
