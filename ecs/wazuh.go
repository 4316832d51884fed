package ecs

// Wazuh holds the wazuh.* fields of normalized wazuh events: what a Wazuh
// alert carries beyond the ECS fields it is mapped to, named as in Wazuh's
// own alert format (alerts.json) and index template.
type Wazuh struct {
	// ID is the alert's id on its manager ("1700000000.123456": the
	// alert time and its offset in the manager's alerts file).
	ID         string           `json:"id,omitempty"`
	Rule       *WazuhRule       `json:"rule,omitempty"`
	Decoder    *WazuhDecoder    `json:"decoder,omitempty"`
	Predecoder *WazuhPredecoder `json:"predecoder,omitempty"`
	// Location is where the event was read: a log file, "syscheck",
	// "rootcheck", "EventChannel", "vulnerability-detector", ...
	Location string        `json:"location,omitempty"`
	Manager  *WazuhManager `json:"manager,omitempty"`
	Cluster  *WazuhCluster `json:"cluster,omitempty"`
	// Data is what the decoder extracted (srcip, dstuser, win.*, aws.*,
	// vulnerability.*, ...), as a flattened object.
	Data FlatObject `json:"data,omitempty"`
	// Syscheck is the file integrity monitoring part of a syscheck alert
	// (path, hashes and attributes before and after, who-data), as a
	// flattened object: its fields vary by platform and Wazuh version.
	Syscheck FlatObject `json:"syscheck,omitempty"`
	// PreviousOutput holds the earlier events of a frequency rule.
	PreviousOutput string `json:"previous_output,omitempty"`
}

// WazuhRule is wazuh.rule: the rule's fields that ECS rule.* and threat.*
// do not hold.
type WazuhRule struct {
	// Level is the rule's level, 0 to 15 (also event.severity).
	Level      int      `json:"level"`
	Groups     []string `json:"groups,omitempty"`
	FiredTimes int64    `json:"firedtimes,omitempty"`
	Frequency  int64    `json:"frequency,omitempty"`
	Mail       *bool    `json:"mail,omitempty"`
	PCIDSS     []string `json:"pci_dss,omitempty"`
	GDPR       []string `json:"gdpr,omitempty"`
	HIPAA      []string `json:"hipaa,omitempty"`
	NIST80053  []string `json:"nist_800_53,omitempty"`
	TSC        []string `json:"tsc,omitempty"`
	GPG13      []string `json:"gpg13,omitempty"`
}

// WazuhDecoder is wazuh.decoder: the decoder that parsed the event.
type WazuhDecoder struct {
	Name   string `json:"name,omitempty"`
	Parent string `json:"parent,omitempty"`
}

// WazuhPredecoder is wazuh.predecoder: the syslog header of the event.
type WazuhPredecoder struct {
	ProgramName string `json:"program_name,omitempty"`
	Timestamp   string `json:"timestamp,omitempty"`
	Hostname    string `json:"hostname,omitempty"`
}

// WazuhManager is wazuh.manager: the manager that raised the alert.
type WazuhManager struct {
	Name string `json:"name,omitempty"`
}

// WazuhCluster is wazuh.cluster: the manager's cluster and node.
type WazuhCluster struct {
	Name string `json:"name,omitempty"`
	Node string `json:"node,omitempty"`
}
