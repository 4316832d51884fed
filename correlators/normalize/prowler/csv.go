package prowler

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// defaultHeader is the column layout of Prowler's v4 and v5 CSV output
// (examples/output/example_output_aws.csv), used for a line that arrives
// without its file's header.
var defaultHeader = strings.Split("AUTH_METHOD;TIMESTAMP;ACCOUNT_UID;ACCOUNT_NAME;ACCOUNT_EMAIL;ACCOUNT_ORGANIZATION_UID;ACCOUNT_ORGANIZATION_NAME;ACCOUNT_TAGS;FINDING_UID;PROVIDER;CHECK_ID;CHECK_TITLE;CHECK_TYPE;STATUS;STATUS_EXTENDED;MUTED;SERVICE_NAME;SUBSERVICE_NAME;SEVERITY;RESOURCE_TYPE;RESOURCE_UID;RESOURCE_NAME;RESOURCE_DETAILS;RESOURCE_TAGS;PARTITION;REGION;DESCRIPTION;RISK;RELATED_URL;REMEDIATION_RECOMMENDATION_TEXT;REMEDIATION_RECOMMENDATION_URL;REMEDIATION_CODE_NATIVEIAC;REMEDIATION_CODE_TERRAFORM;REMEDIATION_CODE_CLI;REMEDIATION_CODE_OTHER;COMPLIANCE;CATEGORIES;DEPENDS_ON;RELATED_TO;NOTES;PROWLER_VERSION;ADDITIONAL_URLS", ";")

// knownColumns are the column names of Prowler's CSV outputs, v4 and v3,
// upper-cased.
var knownColumns = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range defaultHeader {
		m[c] = true
	}
	for _, c := range []string{
		// v3
		"ASSESSMENT_START_TIME", "FINDING_UNIQUE_ID", "REMEDIATION_RECOMMENDATION_CODE_NATIVEIAC",
		"REMEDIATION_RECOMMENDATION_CODE_TERRAFORM", "REMEDIATION_RECOMMENDATION_CODE_CLI",
		"REMEDIATION_RECOMMENDATION_CODE_OTHER", "PROFILE", "ACCOUNT_ID", "ACCOUNT_ARN", "ACCOUNT_ORG",
		"RESOURCE_ID", "RESOURCE_ARN", "TENANT_DOMAIN", "SUBSCRIPTION", "PROJECT_ID", "LOCATION",
	} {
		m[c] = true
	}
	return m
}()

// splitCSV parses one semicolon-separated record, quoted as Python's csv
// module quotes (a field holding ';', '"' or a line break is quoted,
// quotes doubled).
func splitCSV(line string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(line))
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			switch {
			case errors.Is(pe.Err, csv.ErrQuote):
				return nil, fmt.Errorf("CSV: a quoted field is not closed (column %d): a field with a line break splits its record in two when the file is read as lines; read it with format csv (the default for *.csv files)", pe.Column)
			case errors.Is(pe.Err, csv.ErrBareQuote):
				return nil, fmt.Errorf("CSV: a quote inside an unquoted field (column %d): this may be the rest of a record that a line break inside a quoted field split in two", pe.Column)
			}
		}
		return nil, fmt.Errorf("CSV: %v", err)
	}
	if _, err := r.Read(); err != io.EOF {
		return nil, errors.New("CSV: the record holds more than one line")
	}
	return rec, nil
}

// isHeader reports whether fields are a Prowler CSV header line.
func isHeader(fields []string) bool {
	known := 0
	check := false
	for _, f := range fields {
		f = strings.ToUpper(strings.TrimSpace(f))
		if knownColumns[f] {
			known++
		}
		if f == "CHECK_ID" {
			check = true
		}
	}
	return check && known*2 > len(fields)
}

func decodeCSV(raw []byte, m normalize.Meta) ([]*ecs.Event, error) {
	// Invalid UTF-8 would not survive JSON: read it as JSON would.
	line := strings.ToValidUTF8(strings.TrimRight(string(raw), "\r\n"), "\uFFFD")
	fields, err := splitCSV(line)
	if err != nil {
		return nil, err
	}
	header := strings.ToValidUTF8(strings.TrimRight(m.FileHeader, "\r\n"), "\uFFFD")
	if isHeader(fields) || (header != "" && line == header) {
		return nil, fmt.Errorf("%w: the header line of a Prowler CSV file", normalize.ErrSkipped)
	}
	cols := defaultHeader
	if m.FileHeader != "" {
		h, err := splitCSV(header)
		if err != nil || !isHeader(h) {
			return nil, fmt.Errorf("not a Prowler record: the file header %q is not a Prowler CSV header (no CHECK_ID column)", trimmed(m.FileHeader))
		}
		cols = h
	} else if len(fields) != len(defaultHeader) {
		if len(fields) < 2 {
			return nil, errors.New("not a Prowler finding: neither JSON nor a semicolon-separated CSV line")
		}
		return nil, fmt.Errorf("a CSV line of %d fields without its file header: configure the source with header_line (the v4 layout, the only one known without a header, has %d)", len(fields), len(defaultHeader))
	}
	if len(fields) != len(cols) {
		return nil, fmt.Errorf("CSV: %d fields where the header names %d: an unquoted ';', or part of a record split at a line break inside a quoted field", len(fields), len(cols))
	}
	rec := make(map[string]string, len(cols))
	for i, c := range cols {
		rec[strings.ToUpper(strings.TrimSpace(c))] = fields[i]
	}
	f, err := fromCSV(rec)
	if err != nil {
		return nil, err
	}
	ev, err := f.event(raw, m)
	if err != nil {
		return nil, err
	}
	return []*ecs.Event{ev}, nil
}

// fromCSV reads a CSV record by column name, v4 names first, then v3.
func fromCSV(rec map[string]string) (*finding, error) {
	get := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(rec[n]); v != "" {
				return v
			}
		}
		return ""
	}
	f := &finding{
		format:         "csv",
		uid:            get("FINDING_UID", "FINDING_UNIQUE_ID"),
		checkID:        get("CHECK_ID"),
		checkTitle:     get("CHECK_TITLE"),
		checkType:      splitList(get("CHECK_TYPE"), "|,"),
		status:         get("STATUS"),
		statusExtended: get("STATUS_EXTENDED"),
		severity:       get("SEVERITY"),
		serviceName:    get("SERVICE_NAME"),
		subServiceName: get("SUBSERVICE_NAME"),
		description:    get("DESCRIPTION"),
		risk:           get("RISK"),
		relatedURL:     get("RELATED_URL"),
		additionalURLs: splitList(get("ADDITIONAL_URLS"), "|"),
		compliance:     csvCompliance(get("COMPLIANCE")),
		categories:     splitList(get("CATEGORIES"), "|"),
		dependsOn:      splitList(get("DEPENDS_ON"), "|"),
		relatedTo:      splitList(get("RELATED_TO"), "|"),
		notes:          get("NOTES"),
		provider:       get("PROVIDER"),
		accountID:      get("ACCOUNT_UID", "ACCOUNT_ID", "SUBSCRIPTION", "PROJECT_ID"),
		accountName:    get("ACCOUNT_NAME", "TENANT_DOMAIN"),
		region:         get("REGION", "LOCATION"),
		resourceUID:    get("RESOURCE_UID", "RESOURCE_ARN", "RESOURCE_ID"),
		resourceName:   get("RESOURCE_NAME", "RESOURCE_ID"),
		resourceType:   get("RESOURCE_TYPE"),
		version:        get("PROWLER_VERSION"),
		authMethod:     get("AUTH_METHOD"),
		profile:        get("PROFILE"),
		account: ecs.ProwlerAccount{
			Email:            get("ACCOUNT_EMAIL"),
			OrganizationUID:  get("ACCOUNT_ORGANIZATION_UID", "ACCOUNT_ORG"),
			OrganizationName: get("ACCOUNT_ORGANIZATION_NAME"),
			Tags:             labels(splitList(get("ACCOUNT_TAGS"), "|"), "="),
		},
		resource: ecs.ProwlerResource{
			Partition: get("PARTITION"),
			Details:   get("RESOURCE_DETAILS"),
			Tags:      labels(splitList(get("RESOURCE_TAGS"), "|"), "="),
		},
	}
	switch strings.ToLower(get("MUTED")) {
	case "true":
		f.muted = boolPtr(true)
	case "false":
		f.muted = boolPtr(false)
	}
	if t, u := get("REMEDIATION_RECOMMENDATION_TEXT"), get("REMEDIATION_RECOMMENDATION_URL"); t != "" || u != "" {
		f.remediation.Recommendation = &ecs.ProwlerRecommendation{Text: t, URL: u}
	}
	code := ecs.ProwlerRemediationCode{
		NativeIaC: get("REMEDIATION_CODE_NATIVEIAC", "REMEDIATION_RECOMMENDATION_CODE_NATIVEIAC"),
		Terraform: get("REMEDIATION_CODE_TERRAFORM", "REMEDIATION_RECOMMENDATION_CODE_TERRAFORM"),
		CLI:       get("REMEDIATION_CODE_CLI", "REMEDIATION_RECOMMENDATION_CODE_CLI"),
		Other:     get("REMEDIATION_CODE_OTHER", "REMEDIATION_RECOMMENDATION_CODE_OTHER"),
	}
	if code != (ecs.ProwlerRemediationCode{}) {
		f.remediation.Code = &code
	}
	if strings.EqualFold(f.provider, "kubernetes") {
		f.namespace = strings.TrimPrefix(f.region, "namespace: ")
	}
	if ts := get("TIMESTAMP", "ASSESSMENT_START_TIME"); ts != "" {
		t, err := parseTime("TIMESTAMP", ts)
		if err != nil {
			return nil, err
		}
		f.time = t
	}
	return f, nil
}

// splitList splits a list that Prowler joined with " | " (or, for check
// types, ","); nil if empty.
func splitList(s string, seps string) []string {
	if s == "" {
		return nil
	}
	return nonEmpty(strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) }))
}

// csvCompliance parses Prowler's CSV compliance column, "CIS-2.0: 1.20 |
// KISA-ISMS-P-2023: 2.5.6, 2.6.4", into framework -> requirement ids. A
// requirement id that itself holds ", " cannot be told from two.
func csvCompliance(s string) map[string][]string {
	var out map[string][]string
	for _, part := range strings.Split(s, "|") {
		k, v, _ := strings.Cut(part, ":")
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if out == nil {
			out = map[string][]string{}
		}
		ids := nonEmpty(strings.Split(v, ","))
		if ids == nil {
			ids = []string{}
		}
		out[k] = append(append([]string{}, out[k]...), ids...)
	}
	return out
}

func trimmed(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
