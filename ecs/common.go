package ecs

// The ECS field sets that several sources fill: detection rules, threats,
// processes, files, containers, observers, agents and orchestrators, and
// vulnerabilities and findings.

// Process is the ECS process.* field set.
type Process struct {
	PID              int64          `json:"pid,omitempty"`
	Name             string         `json:"name,omitempty"`
	Executable       string         `json:"executable,omitempty"`
	CommandLine      string         `json:"command_line,omitempty"`
	Args             []string       `json:"args,omitempty"`
	WorkingDirectory string         `json:"working_directory,omitempty"`
	Parent           *ProcessParent `json:"parent,omitempty"`
	User             *User          `json:"user,omitempty"`
}

// ProcessParent is process.parent.*.
type ProcessParent struct {
	PID         int64  `json:"pid,omitempty"`
	Name        string `json:"name,omitempty"`
	Executable  string `json:"executable,omitempty"`
	CommandLine string `json:"command_line,omitempty"`
}

// File is the ECS file.* field set.
type File struct {
	Path      string `json:"path,omitempty"`
	Name      string `json:"name,omitempty"`
	Directory string `json:"directory,omitempty"`
}

// Container is the ECS container.* field set.
type Container struct {
	ID      string          `json:"id,omitempty"`
	Name    string          `json:"name,omitempty"`
	Runtime string          `json:"runtime,omitempty"`
	Image   *ContainerImage `json:"image,omitempty"`
}

// ContainerImage is container.image.*.
type ContainerImage struct {
	Name string   `json:"name,omitempty"`
	Tag  []string `json:"tag,omitempty"`
}

// Observer is the ECS observer.* field set: the tool that reported the
// event.
type Observer struct {
	Vendor   string `json:"vendor,omitempty"`
	Product  string `json:"product,omitempty"`
	Type     string `json:"type,omitempty"`
	Name     string `json:"name,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	Version  string `json:"version,omitempty"`
}

// Agent is the ECS agent.* field set: the agent that shipped the event
// (a Wazuh agent, say).
type Agent struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

// Orchestrator is the ECS orchestrator.* field set.
type Orchestrator struct {
	Type      string                `json:"type,omitempty"`
	Namespace string                `json:"namespace,omitempty"`
	Resource  *OrchestratorResource `json:"resource,omitempty"`
}

// OrchestratorResource is orchestrator.resource.*.
type OrchestratorResource struct {
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

// Vulnerability is the ECS vulnerability.* field set, which vigil also uses
// for posture findings (a failed Prowler check).
type Vulnerability struct {
	ID          string               `json:"id,omitempty"`
	Category    []string             `json:"category,omitempty"`
	Description string               `json:"description,omitempty"`
	Severity    string               `json:"severity,omitempty"`
	Reference   string               `json:"reference,omitempty"`
	Enumeration string               `json:"enumeration,omitempty"`
	Scanner     *VulnerabilityVendor `json:"scanner,omitempty"`
	Score       *VulnerabilityScore  `json:"score,omitempty"`
}

// VulnerabilityVendor is vulnerability.scanner.*.
type VulnerabilityVendor struct {
	Vendor string `json:"vendor,omitempty"`
}

// VulnerabilityScore is vulnerability.score.*.
type VulnerabilityScore struct {
	Base float64 `json:"base,omitempty"`
}

// Resource is the cloud resource a finding is about (vigil's own field set,
// as ECS has none): resource.{id,type,name,region}.
type Resource struct {
	ID     string `json:"id,omitempty"`
	Type   string `json:"type,omitempty"`
	Name   string `json:"name,omitempty"`
	Region string `json:"region,omitempty"`
}
