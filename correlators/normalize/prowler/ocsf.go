package prowler

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// ocsfFinding is a Prowler JSON-OCSF Detection Finding (class 2004), as
// Prowler's prowler/lib/outputs/ocsf/ocsf.py writes it.
type ocsfFinding struct {
	Message  string `json:"message"`
	Metadata struct {
		EventCode string `json:"event_code"`
		Product   struct {
			Name       string `json:"name"`
			VendorName string `json:"vendor_name"`
			Version    string `json:"version"`
		} `json:"product"`
		Profiles  []string `json:"profiles"`
		TenantUID string   `json:"tenant_uid"`
	} `json:"metadata"`
	Severity     string `json:"severity"`
	Status       string `json:"status"`
	StatusCode   string `json:"status_code"`
	StatusDetail string `json:"status_detail"`
	Unmapped     struct {
		RelatedURL     string              `json:"related_url"`
		Categories     []string            `json:"categories"`
		DependsOn      []string            `json:"depends_on"`
		RelatedTo      []string            `json:"related_to"`
		AdditionalURLs []string            `json:"additional_urls"`
		Notes          string              `json:"notes"`
		Compliance     map[string][]string `json:"compliance"`
	} `json:"unmapped"`
	FindingInfo struct {
		CreatedTime   *float64 `json:"created_time"`
		CreatedTimeDT string   `json:"created_time_dt"`
		Desc          string   `json:"desc"`
		Title         string   `json:"title"`
		Types         []string `json:"types"`
		UID           string   `json:"uid"`
	} `json:"finding_info"`
	Resources []struct {
		CloudPartition string `json:"cloud_partition"`
		Region         string `json:"region"`
		Data           struct {
			Details  string          `json:"details"`
			Metadata json.RawMessage `json:"metadata"`
		} `json:"data"`
		Group struct {
			Name string `json:"name"`
		} `json:"group"`
		Labels    []string `json:"labels"`
		Name      string   `json:"name"`
		Namespace string   `json:"namespace"`
		Type      string   `json:"type"`
		UID       string   `json:"uid"`
	} `json:"resources"`
	Cloud *struct {
		Account struct {
			Name   string   `json:"name"`
			UID    string   `json:"uid"`
			Labels []string `json:"labels"`
		} `json:"account"`
		Org struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"org"`
		Provider string `json:"provider"`
		Region   string `json:"region"`
	} `json:"cloud"`
	Remediation struct {
		Desc       string   `json:"desc"`
		References []string `json:"references"`
	} `json:"remediation"`
	RiskDetails string   `json:"risk_details"`
	Time        *float64 `json:"time"`
	TimeDT      string   `json:"time_dt"`
}

func fromOCSF(raw []byte) (*finding, error) {
	var o ocsfFinding
	if err := normalize.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	if p := o.Metadata.Product; p.Name != "" && !strings.EqualFold(p.Name, "prowler") {
		return nil, fmt.Errorf("an OCSF finding from %q, not from Prowler", p.Name)
	}
	f := &finding{
		format:         "ocsf",
		uid:            o.FindingInfo.UID,
		checkID:        o.Metadata.EventCode,
		checkTitle:     o.FindingInfo.Title,
		checkType:      nonEmpty(o.FindingInfo.Types),
		status:         o.StatusCode,
		statusExtended: o.StatusDetail,
		severity:       o.Severity,
		description:    o.FindingInfo.Desc,
		risk:           o.RiskDetails,
		relatedURL:     o.Unmapped.RelatedURL,
		additionalURLs: nonEmpty(o.Unmapped.AdditionalURLs),
		compliance:     compliance(o.Unmapped.Compliance),
		categories:     nonEmpty(o.Unmapped.Categories),
		dependsOn:      nonEmpty(o.Unmapped.DependsOn),
		relatedTo:      nonEmpty(o.Unmapped.RelatedTo),
		notes:          o.Unmapped.Notes,
		version:        o.Metadata.Product.Version,
	}
	if f.statusExtended == "" {
		f.statusExtended = o.Message
	}
	switch o.Status {
	case "Suppressed":
		f.muted = boolPtr(true)
	case "New":
		f.muted = boolPtr(false)
	}
	if o.Remediation.Desc != "" {
		f.remediation.Recommendation = &ecs.ProwlerRecommendation{Text: o.Remediation.Desc}
	}
	f.remediation.References = nonEmpty(o.Remediation.References)
	if c := o.Cloud; c != nil {
		f.provider, f.region = c.Provider, c.Region
		f.accountID, f.accountName = c.Account.UID, c.Account.Name
		f.account = ecs.ProwlerAccount{OrganizationUID: c.Org.UID, OrganizationName: c.Org.Name, Tags: labels(c.Account.Labels, ": ")}
	}
	if len(o.Resources) > 0 {
		r := o.Resources[0]
		f.resourceUID, f.resourceName, f.resourceType = r.UID, r.Name, r.Type
		f.serviceName, f.namespace = r.Group.Name, r.Namespace
		if f.region == "" {
			f.region = r.Region
		}
		f.resource = ecs.ProwlerResource{
			Partition: r.CloudPartition,
			Details:   r.Data.Details,
			Tags:      labels(r.Labels, ": "),
			Metadata:  flattened(r.Data.Metadata),
		}
	}
	if f.provider == "" && (slices.Contains(o.Metadata.Profiles, "container") || f.namespace != "") {
		f.provider = "kubernetes"
	}
	t, err := ocsfTime(&o)
	if err != nil {
		return nil, err
	}
	f.time = t
	return f, nil
}

// ocsfTime is the finding time. Prowler writes time_dt as the scanner's
// local time without a zone and time as epoch seconds, so time wins
// unless time_dt carries a zone.
func ocsfTime(o *ocsfFinding) (time.Time, error) {
	if o.TimeDT != "" && hasZone(o.TimeDT) {
		return parseTime("time_dt", o.TimeDT)
	}
	if o.Time != nil {
		return normalize.UnixTime("time", *o.Time)
	}
	if o.TimeDT != "" {
		return parseTime("time_dt", o.TimeDT)
	}
	if o.FindingInfo.CreatedTime != nil {
		return normalize.UnixTime("finding_info.created_time", *o.FindingInfo.CreatedTime)
	}
	if o.FindingInfo.CreatedTimeDT != "" {
		return parseTime("finding_info.created_time_dt", o.FindingInfo.CreatedTimeDT)
	}
	return time.Time{}, nil
}

// hasZone reports whether an ISO 8601 time names its zone.
func hasZone(s string) bool {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		return true
	}
	// "+01:00" or "-05:00" after the time of day.
	if i := strings.LastIndexAny(s, "+-"); i > 10 && strings.Count(s[i:], ":") <= 1 {
		return true
	}
	return false
}

// compliance drops empty frameworks and requirement ids; nil if none.
func compliance(in map[string][]string) map[string][]string {
	var out map[string][]string
	for k, v := range in {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if out == nil {
			out = map[string][]string{}
		}
		out[k] = nonEmpty(v)
		if out[k] == nil {
			out[k] = []string{}
		}
	}
	return out
}

func boolPtr(b bool) *bool { return &b }
