package ecs

// Prowler holds the prowler.* fields of normalized prowler events: what a
// Prowler check result says beyond the ECS fields (rule.*, vulnerability.*,
// resource.*, cloud.*) it also fills. Field names follow Prowler's own
// (its CSV columns, in lower case).
type Prowler struct {
	// Format is the output the finding was read from: ocsf (JSON-OCSF),
	// asff (AWS Security Finding Format), json (Prowler v3's native JSON)
	// or csv.
	Format string `json:"format,omitempty"`
	// FindingUID is Prowler's id of the finding: the same for the same
	// check on the same resource in every scan.
	FindingUID string `json:"finding_uid,omitempty"`
	// Status is the check result: PASS, FAIL or MANUAL (v3 also wrote
	// INFO). Empty when the format does not say, as for a muted finding
	// in ASFF.
	Status string `json:"status,omitempty"`
	// StatusExtended is Prowler's sentence about this resource.
	StatusExtended string `json:"status_extended,omitempty"`
	// Muted is set when the format says whether the finding was muted by
	// a mutelist.
	Muted *bool `json:"muted,omitempty"`
	// Severity is the check's severity, in lower case: informational,
	// low, medium, high or critical.
	Severity string `json:"severity,omitempty"`
	// CheckType is the check's ASFF finding types.
	CheckType      []string `json:"check_type,omitempty"`
	ServiceName    string   `json:"service_name,omitempty"`
	SubServiceName string   `json:"sub_service_name,omitempty"`
	// Risk says what a failure exposes.
	Risk           string   `json:"risk,omitempty"`
	RelatedURL     string   `json:"related_url,omitempty"`
	AdditionalURLs []string `json:"additional_urls,omitempty"`
	// Remediation is how to fix a failure.
	Remediation *ProwlerRemediation `json:"remediation,omitempty"`
	// Compliance maps each framework (CIS-2.0, ...) to the requirement
	// ids the check covers. Elasticsearch maps it as a flattened field.
	Compliance map[string][]string `json:"compliance,omitempty"`
	Categories []string            `json:"categories,omitempty"`
	DependsOn  []string            `json:"depends_on,omitempty"`
	RelatedTo  []string            `json:"related_to,omitempty"`
	Notes      string              `json:"notes,omitempty"`
	// Account is what Prowler knows of the scanned account beyond
	// cloud.account.{id,name}.
	Account *ProwlerAccount `json:"account,omitempty"`
	// Resource is what Prowler knows of the resource beyond resource.*.
	Resource *ProwlerResource `json:"resource,omitempty"`
	// AuthMethod is how Prowler authenticated (CSV AUTH_METHOD).
	AuthMethod string `json:"auth_method,omitempty"`
	// Profile is the AWS profile Prowler v3 ran with.
	Profile string `json:"profile,omitempty"`
	// ASFF holds the Security Hub fields of an ASFF finding.
	ASFF *ProwlerASFF `json:"asff,omitempty"`
}

// ProwlerRemediation is prowler.remediation.
type ProwlerRemediation struct {
	Recommendation *ProwlerRecommendation  `json:"recommendation,omitempty"`
	Code           *ProwlerRemediationCode `json:"code,omitempty"`
	// References are the JSON-OCSF remediation references: URLs, and
	// sometimes commands.
	References []string `json:"references,omitempty"`
}

// ProwlerRecommendation is prowler.remediation.recommendation.
type ProwlerRecommendation struct {
	Text string `json:"text,omitempty"`
	URL  string `json:"url,omitempty"`
}

// ProwlerRemediationCode is prowler.remediation.code: fixes as code.
type ProwlerRemediationCode struct {
	NativeIaC string `json:"native_iac,omitempty"`
	Terraform string `json:"terraform,omitempty"`
	CLI       string `json:"cli,omitempty"`
	Other     string `json:"other,omitempty"`
}

// ProwlerAccount is prowler.account.
type ProwlerAccount struct {
	Email            string `json:"email,omitempty"`
	OrganizationUID  string `json:"organization_uid,omitempty"`
	OrganizationName string `json:"organization_name,omitempty"`
	// Tags are the account's tags (flattened).
	Tags map[string]string `json:"tags,omitempty"`
}

// ProwlerResource is prowler.resource.
type ProwlerResource struct {
	Partition string `json:"partition,omitempty"`
	Details   string `json:"details,omitempty"`
	// Tags are the resource's tags (flattened).
	Tags map[string]string `json:"tags,omitempty"`
	// Metadata is the resource as Prowler described it in JSON-OCSF
	// (flattened).
	Metadata any `json:"metadata,omitempty"`
}

// ProwlerASFF is prowler.asff.
type ProwlerASFF struct {
	// ComplianceStatus is PASSED, FAILED, WARNING (muted) or
	// NOT_AVAILABLE (manual).
	ComplianceStatus    string   `json:"compliance_status,omitempty"`
	RelatedRequirements []string `json:"related_requirements,omitempty"`
	RecordState         string   `json:"record_state,omitempty"`
	ProductARN          string   `json:"product_arn,omitempty"`
	GeneratorID         string   `json:"generator_id,omitempty"`
}
