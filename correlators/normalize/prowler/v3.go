package prowler

import (
	"encoding/json"
	"errors"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// v3Finding is a finding of Prowler v3's native JSON output: the check's
// metadata (CheckID, CheckTitle, Severity, Remediation, ...) with the
// result fields of Check_Output_JSON and its AWS, Azure and GCP variants
// (prowler/lib/outputs/models.py in Prowler 3.x).
type v3Finding struct {
	AssessmentStartTime string   `json:"AssessmentStartTime"`
	FindingUniqueID     string   `json:"FindingUniqueId"`
	Provider            string   `json:"Provider"`
	CheckID             string   `json:"CheckID"`
	CheckTitle          string   `json:"CheckTitle"`
	CheckType           []string `json:"CheckType"`
	ServiceName         string   `json:"ServiceName"`
	SubServiceName      string   `json:"SubServiceName"`
	Status              string   `json:"Status"`
	StatusExtended      string   `json:"StatusExtended"`
	Severity            string   `json:"Severity"`
	ResourceType        string   `json:"ResourceType"`
	ResourceDetails     string   `json:"ResourceDetails"`
	Description         string   `json:"Description"`
	Risk                string   `json:"Risk"`
	RelatedURL          string   `json:"RelatedUrl"`
	AdditionalURLs      []string `json:"AdditionalURLs"`
	Remediation         struct {
		Code struct {
			NativeIaC string `json:"NativeIaC"`
			Terraform string `json:"Terraform"`
			CLI       string `json:"CLI"`
			Other     string `json:"Other"`
		} `json:"Code"`
		Recommendation struct {
			Text string `json:"Text"`
			URL  string `json:"Url"`
		} `json:"Recommendation"`
	} `json:"Remediation"`
	Compliance map[string][]string `json:"Compliance"`
	Categories []string            `json:"Categories"`
	DependsOn  []string            `json:"DependsOn"`
	RelatedTo  []string            `json:"RelatedTo"`
	Notes      string              `json:"Notes"`

	// AWS
	Profile           string          `json:"Profile"`
	AccountID         string          `json:"AccountId"`
	Region            string          `json:"Region"`
	ResourceID        string          `json:"ResourceId"`
	ResourceArn       string          `json:"ResourceArn"`
	ResourceTags      json.RawMessage `json:"ResourceTags"`
	OrganizationsInfo *struct {
		Email string `json:"account_details_email"`
		Name  string `json:"account_details_name"`
		Org   string `json:"account_details_org"`
	} `json:"OrganizationsInfo"`
	// Azure
	TenantDomain string `json:"Tenant_Domain"`
	Subscription string `json:"Subscription"`
	ResourceName string `json:"ResourceName"`
	// GCP
	ProjectID string `json:"ProjectId"`
	Location  string `json:"Location"`
}

func fromV3(raw []byte) (*finding, error) {
	var v v3Finding
	if err := normalize.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	f := &finding{
		format:         "json",
		uid:            v.FindingUniqueID,
		checkID:        v.CheckID,
		checkTitle:     v.CheckTitle,
		checkType:      nonEmpty(v.CheckType),
		status:         v.Status,
		statusExtended: v.StatusExtended,
		severity:       v.Severity,
		serviceName:    v.ServiceName,
		subServiceName: v.SubServiceName,
		description:    v.Description,
		risk:           v.Risk,
		relatedURL:     v.RelatedURL,
		additionalURLs: nonEmpty(v.AdditionalURLs),
		compliance:     compliance(v.Compliance),
		categories:     nonEmpty(v.Categories),
		dependsOn:      nonEmpty(v.DependsOn),
		relatedTo:      nonEmpty(v.RelatedTo),
		notes:          v.Notes,
		provider:       v.Provider,
		region:         v.Region,
		resourceType:   v.ResourceType,
		profile:        v.Profile,
	}
	r := v.Remediation
	if r.Recommendation.Text != "" || r.Recommendation.URL != "" {
		f.remediation.Recommendation = &ecs.ProwlerRecommendation{Text: r.Recommendation.Text, URL: r.Recommendation.URL}
	}
	if c := r.Code; c.NativeIaC != "" || c.Terraform != "" || c.CLI != "" || c.Other != "" {
		f.remediation.Code = &ecs.ProwlerRemediationCode{NativeIaC: c.NativeIaC, Terraform: c.Terraform, CLI: c.CLI, Other: c.Other}
	}
	switch {
	case v.Subscription != "": // Azure
		f.accountID, f.accountName = v.Subscription, v.TenantDomain
	case v.ProjectID != "": // GCP
		f.accountID = v.ProjectID
		if f.region == "" {
			f.region = v.Location
		}
	default:
		f.accountID = v.AccountID
	}
	// AWS findings have an ARN and an id ("i-0abc..."); the others a name
	// and an id.
	f.resourceUID, f.resourceName = v.ResourceArn, v.ResourceID
	if f.resourceUID == "" {
		f.resourceUID, f.resourceName = v.ResourceID, v.ResourceName
	}
	tags, err := v3Tags(v.ResourceTags)
	if err != nil {
		return nil, err
	}
	f.resource = ecs.ProwlerResource{Details: v.ResourceDetails, Tags: tags}
	if o := v.OrganizationsInfo; o != nil {
		f.accountName = o.Name
		f.account = ecs.ProwlerAccount{Email: o.Email, OrganizationUID: o.Org}
	}
	if v.AssessmentStartTime != "" {
		t, err := parseTime("AssessmentStartTime", v.AssessmentStartTime)
		if err != nil {
			return nil, err
		}
		f.time = t
	}
	return f, nil
}

// v3Tags reads ResourceTags: an object of tags, or a list of
// {"Key":..., "Value":...} or of single-tag objects.
func v3Tags(b json.RawMessage) (map[string]string, error) {
	if v := flattened(b); v == nil {
		return nil, nil
	}
	var m map[string]string
	if json.Unmarshal(b, &m) == nil {
		return nonEmptyMap(m), nil
	}
	var list []map[string]string
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, errors.New("ResourceTags is neither an object of strings nor a list of tags")
	}
	out := map[string]string{}
	for _, t := range list {
		if k, ok := t["Key"]; ok {
			out[k] = t["Value"]
			continue
		}
		for k, v := range t {
			out[k] = v
		}
	}
	return nonEmptyMap(out), nil
}
