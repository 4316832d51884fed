package prowler

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// asffFinding is a finding in the AWS Security Finding Format, as
// Prowler's prowler/lib/outputs/asff/asff.py writes it.
type asffFinding struct {
	ID            string            `json:"Id"`
	ProductArn    string            `json:"ProductArn"`
	RecordState   string            `json:"RecordState"`
	ProductFields map[string]string `json:"ProductFields"`
	GeneratorID   string            `json:"GeneratorId"`
	AwsAccountID  string            `json:"AwsAccountId"`
	Region        string            `json:"Region"`
	Types         []string          `json:"Types"`
	FirstObserved string            `json:"FirstObservedAt"`
	UpdatedAt     string            `json:"UpdatedAt"`
	CreatedAt     string            `json:"CreatedAt"`
	Severity      struct {
		Label string `json:"Label"`
	} `json:"Severity"`
	Title       string `json:"Title"`
	Description string `json:"Description"`
	Resources   []struct {
		Type      string            `json:"Type"`
		ID        string            `json:"Id"`
		Partition string            `json:"Partition"`
		Region    string            `json:"Region"`
		Tags      map[string]string `json:"Tags"`
	} `json:"Resources"`
	Compliance  *asffCompliance `json:"Compliance"`
	Remediation *struct {
		Recommendation struct {
			Text string `json:"Text"`
			URL  string `json:"Url"`
		} `json:"Recommendation"`
	} `json:"Remediation"`
}

type asffCompliance struct {
	Status              string   `json:"Status"`
	RelatedRequirements []string `json:"RelatedRequirements"`
}

// asffStatus maps Security Hub compliance statuses back to Prowler's:
// Prowler writes WARNING for a muted finding, whatever its status, and
// NOT_AVAILABLE for MANUAL.
var asffStatus = map[string]string{"PASSED": "PASS", "FAILED": "FAIL", "NOT_AVAILABLE": "MANUAL", "WARNING": ""}

func fromASFF(raw []byte) (*finding, error) {
	var a asffFinding
	if err := normalize.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(a.GeneratorID, "prowler-") && a.ProductFields["ProviderName"] != "Prowler" && !strings.Contains(a.ProductArn, "/prowler/prowler") {
		return nil, fmt.Errorf("an ASFF finding of %q, not from Prowler", a.ProductArn)
	}
	version := a.ProductFields["ProviderVersion"]
	f := &finding{
		format:      "asff",
		uid:         a.ID,
		checkID:     strings.TrimPrefix(a.GeneratorID, "prowler-"),
		checkTitle:  a.Title,
		checkType:   nonEmpty(a.Types),
		severity:    a.Severity.Label,
		provider:    "aws",
		accountID:   a.AwsAccountID,
		region:      a.Region,
		version:     version,
		compliance:  requirements(a.Compliance),
		asff:        &ecs.ProwlerASFF{RecordState: a.RecordState, ProductARN: a.ProductArn, GeneratorID: a.GeneratorID},
		description: a.Title,
	}
	// Prowler v3 wrote the check's description in Description; v4 and
	// later write the status extended there.
	if major(version) < 4 {
		f.description = a.Description
	} else {
		f.statusExtended = a.Description
	}
	if c := a.Compliance; c != nil {
		f.asff.RelatedRequirements = nonEmpty(c.RelatedRequirements)
		if c.Status != "" {
			status := strings.ToUpper(c.Status)
			s, ok := asffStatus[status]
			if !ok {
				return nil, fmt.Errorf("Compliance.Status %q is not PASSED, FAILED, WARNING or NOT_AVAILABLE", c.Status)
			}
			f.asff.ComplianceStatus, f.status = status, s
			if s == "" {
				f.muted = boolPtr(true)
			}
		}
	}
	if r := a.Remediation; r != nil && (r.Recommendation.Text != "" || r.Recommendation.URL != "") {
		f.remediation.Recommendation = &ecs.ProwlerRecommendation{Text: r.Recommendation.Text, URL: r.Recommendation.URL}
	}
	if len(a.Resources) > 0 {
		r := a.Resources[0]
		f.resourceUID, f.resourceType = r.ID, r.Type
		if n := a.ProductFields["ProwlerResourceName"]; n != r.ID {
			f.resourceName = n
		}
		if f.region == "" {
			f.region = r.Region
		}
		f.resource = ecs.ProwlerResource{Partition: r.Partition, Tags: nonEmptyMap(r.Tags)}
	}
	if f.region == "" {
		// arn:aws:securityhub:<region>::product/prowler/prowler
		if parts := strings.SplitN(a.ProductArn, ":", 5); len(parts) == 5 {
			f.region = parts[3]
		}
	}
	for _, c := range []struct{ name, v string }{{"UpdatedAt", a.UpdatedAt}, {"CreatedAt", a.CreatedAt}, {"FirstObservedAt", a.FirstObserved}} {
		if c.v == "" {
			continue
		}
		t, err := parseTime(c.name, c.v)
		if err != nil {
			return nil, err
		}
		f.time = t
		break
	}
	return f, nil
}

// requirements turns ASFF RelatedRequirements ("CIS-1.5 2.3.2", one per
// framework, cut at 64 characters by Prowler) back into a compliance map.
func requirements(c *asffCompliance) map[string][]string {
	if c == nil {
		return nil
	}
	var out map[string][]string
	for _, r := range c.RelatedRequirements {
		fields := strings.Fields(r)
		if len(fields) == 0 {
			continue
		}
		if out == nil {
			out = map[string][]string{}
		}
		out[fields[0]] = append(append([]string{}, out[fields[0]]...), fields[1:]...)
	}
	return out
}

// major is the major version of a version string ("3.0-beta" is 3); 0 if
// there is none.
func major(v string) int {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(v[:end])
	return n
}

func nonEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
