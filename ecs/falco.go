package ecs

import (
	"bytes"
	"encoding/json"
)

// Falco holds the falco.* fields of normalized falco events: what a Falco
// alert carries beyond the ECS fields it is mapped to. Names follow
// Elastic's Falco integration.
type Falco struct {
	// Hostname is the host Falco ran on, as Falco reports it.
	Hostname string `json:"hostname,omitempty"`
	// OutputFields are the alert's output_fields, keyed by Falco field
	// name exactly as Falco sends them ("proc.name", "fd.name",
	// "proc.aname[2]"): a flattened object.
	OutputFields FlatObject `json:"output_fields,omitempty"`
	// Priority is the rule's priority, spelled as Falco spells it:
	// Emergency, Alert, Critical, Error, Warning, Notice, Informational or
	// Debug.
	Priority string `json:"priority,omitempty"`
	// Source is the event source the rule ran on: syscall, k8s_audit, a
	// plugin's source.
	Source string `json:"source,omitempty"`
	// Tags are the rule's tags.
	Tags []string `json:"tags,omitempty"`
	// UUID is the id falcosidekick gives each alert it forwards.
	UUID string `json:"uuid,omitempty"`
}

// FlatObject is a free-form JSON object kept as it came, for parts of an
// event whose shape depends on the source (Elastic maps such fields as
// flattened). Numbers are json.Number, so that large integers (Falco's
// nanosecond times) survive unchanged; nested objects are map[string]any
// and arrays []any.
type FlatObject map[string]any

// UnmarshalJSON decodes an object keeping numbers as json.Number.
func (o *FlatObject) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*o = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return err
	}
	*o = m
	return nil
}
