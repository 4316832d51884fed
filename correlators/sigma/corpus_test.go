package sigma

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// The corpus: third-party files copied byte for byte; see
// testdata/corpus/README.md.
const (
	cloudtrailDir  = "testdata/corpus/sigma/rules/cloud/aws/cloudtrail"
	unsupportedDir = "testdata/corpus/sigma/unsupported/cloud"
	specTestsDir   = "testdata/corpus/sigma-specification/tests/schema"
	specExamples   = "testdata/corpus/sigma-specification/correlation-examples-extracted"
)

// TestCorpusUnchanged checks every vendored file against the sha256 that
// SOURCES.tsv records for it at its origin.
func TestCorpusUnchanged(t *testing.T) {
	f, err := os.Open("testdata/corpus/SOURCES.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	listed := map[string]bool{}
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 7 {
			t.Fatalf("SOURCES.tsv: %q has %d columns, want 7", sc.Text(), len(cols))
		}
		path, want := cols[0], cols[6]
		listed[path] = true
		data, err := os.ReadFile(filepath.Join("testdata/corpus", path))
		if err != nil {
			t.Error(err)
			continue
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:])[:16]; got != want {
			t.Errorf("%s: sha256 %s, SOURCES.tsv says %s: the file was changed", path, got, want)
		}
	}
	// Every file of the corpus is listed.
	err = filepath.WalkDir("testdata/corpus", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("testdata/corpus", p)
		if rel != "SOURCES.tsv" && rel != "README.md" && !listed[filepath.ToSlash(rel)] {
			t.Errorf("%s is not in SOURCES.tsv", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The embedded schemas are those of the specification.
	for name, want := range map[string]string{
		"sigma-detection-rule-schema.json":    "eb95ddb1bc250314",
		"sigma-correlation-rules-schema.json": "201f72a10b8fa89b",
		"sigma-filters-schema.json":           "20d2b118f2f08940",
	} {
		data, err := schemaFS.ReadFile("schema/" + name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:])[:16]; got != want {
			t.Errorf("schema/%s: sha256 %s, want %s (schema/README.md)", name, got, want)
		}
	}
}

// All 57 SigmaHQ CloudTrail rules load with no problem at all, alone and
// together.
func TestSigmaHQCloudTrailRules(t *testing.T) {
	files, err := filepath.Glob(cloudtrailDir + "/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 57 {
		t.Fatalf("%d CloudTrail rules, want 57", len(files))
	}
	byTitle := map[string]*ast.Rule{}
	for _, f := range files {
		rules, probs := ParseFile(f)
		for _, p := range probs {
			t.Errorf("%v", p)
		}
		if len(rules) != 1 {
			t.Errorf("%s: %d rules, want 1", f, len(rules))
			continue
		}
		r := rules[0]
		byTitle[r.Title] = r
		switch {
		case r.Kind != ast.KindDetection || r.Detection == nil:
			t.Errorf("%s: not a detection rule", f)
		case r.LogSource.Product != "aws" || r.LogSource.Service != "cloudtrail":
			t.Errorf("%s: logsource %+v", f, r.LogSource)
		case r.Detection.Condition == nil || len(r.Detection.Searches) == 0:
			t.Errorf("%s: no condition or no searches", f)
		case r.Title == "" || r.ID == "" || r.Level == "" || r.Status == "" || r.Author == "" || r.Date == "" || len(r.References) == 0 || len(r.Tags) == 0:
			t.Errorf("%s: metadata missing: %+v", f, r)
		case r.Pos.File != f || r.Pos.Line != 1 || r.Pos.Col != 1:
			t.Errorf("%s: rule at %+v", f, r.Pos)
		}
	}
	rules, probs, n, err := Lint(cloudtrailDir)
	if err != nil || n != 57 || len(rules) != 57 || len(probs) != 0 {
		t.Errorf("Lint: %d files, %d rules, problems %v, error %v", n, len(rules), probs, err)
	}
	if got := len(Usable(rules, probs)); got != 57 {
		t.Errorf("Usable: %d rules, want 57", got)
	}

	// A few rules in detail.
	r := byTitle["Malicious Usage Of IMDS Credentials Outside Of AWS Infrastructure"]
	if r == nil {
		t.Fatal("IMDS rule missing")
	}
	d := r.Detection
	sel := d.Search("selection")
	if len(sel.Maps) != 1 || len(sel.Maps[0].Items) != 1 {
		t.Fatalf("selection: %+v", sel)
	}
	it := sel.Maps[0].Items[0]
	if it.Field != "userIdentity.arn" || !reflect.DeepEqual(it.Modifiers, []string{"re"}) || len(it.Values) != 1 ||
		it.Values[0].Str != ".+:assumed-role/aws:.+" || it.Values[0].Kind != ast.String {
		t.Errorf("selection item: %+v", it)
	}
	if it.Pos.Line != 25 || it.Pos.Col != 9 || it.Values[0].Pos.Line != 25 || it.Values[0].Pos.Col != 30 {
		t.Errorf("selection item at %+v, value at %+v; want 25:9 and 25:30 (the quote)", it.Pos, it.Values[0].Pos)
	}
	filter := d.Search("filter_main_generic")
	if len(filter.Maps) != 3 || filter.Maps[2].Items[0].Field != "sourceIPAddress" || filter.Maps[2].Items[0].Values[0].Str != "AWS Internal" {
		t.Errorf("filter_main_generic: a list of 3 maps expected, got %+v", filter.Maps)
	}
	if FormatCondition(d.Condition) != "selection and not 1 of filter_main_*" {
		t.Errorf("condition %q", FormatCondition(d.Condition))
	}

	r = byTitle["AWS IAM S3Browser Templated S3 Bucket Policy Creation"]
	it = r.Detection.Search("selection").Maps[0].Items[3]
	if it.Field != "requestParameters" || !reflect.DeepEqual(it.Modifiers, []string{"contains", "all"}) || len(it.Values) != 3 ||
		it.Values[0].Str != `"arn:aws:s3:::<YOUR-BUCKET-NAME>/*"` {
		t.Errorf("contains|all item: %+v", it)
	}

	r = byTitle["AWS User Login Profile Was Modified"]
	it = r.Detection.Search("filter_main_user_identity").Maps[0].Items[0]
	if it.Field != "userIdentity.arn" || !reflect.DeepEqual(it.Modifiers, []string{"fieldref"}) || it.Values[0].Str != "requestParameters.userName" {
		t.Errorf("fieldref item: %+v", it)
	}

	r = byTitle["AWS Root Credentials"]
	if r.ID != "8ad1600d-e9dc-4251-b0ee-a65268f29add" || r.Level != "medium" || r.Status != "test" || r.Date != "2020-01-21" || r.Modified != "2022-10-09" {
		t.Errorf("root rule metadata: %+v", r)
	}
	if want := "selection_usertype and not selection_eventtype"; r.Detection.ConditionText != want || FormatCondition(r.Detection.Condition) != want {
		t.Errorf("root rule condition %q", r.Detection.ConditionText)
	}
}

// The 8 older rules with the retired aggregation syntax each get an error
// that names the syntax.
func TestRetiredAggregationSyntax(t *testing.T) {
	want := map[string][]string{
		"aws_ec2_download_userdata.yml":              {"detection.timeframe (30m) belongs to the retired aggregation syntax", `retired aggregation syntax "| count() > 10"`},
		"aws_enum_backup.yml":                        {"detection.timeframe (10m)", `retired aggregation syntax "| count() > 5"`},
		"aws_enum_listing.yml":                       {"detection.timeframe (10m)", `retired aggregation syntax "| count() > 50"`},
		"aws_enum_network.yml":                       {"detection.timeframe (10m)", `retired aggregation syntax "| count() > 5"`},
		"aws_enum_storage.yml":                       {"detection.timeframe (10m)", `retired aggregation syntax "| count() > 5"`},
		"aws_lambda_function_created_or_invoked.yml": {`retired near syntax "| near selection2"`},
		"aws_macic_evasion.yml":                      {"detection.timeframe (10m)", `retired aggregation syntax "| count() by sourceIPAddress > 5"`, `group-by for "by"`},
		"aws_ses_messaging_enabled.yml":              {"detection.timeframe (5m) belongs to the retired aggregation syntax"},
	}
	files, _ := filepath.Glob(unsupportedDir + "/*.yml")
	if len(files) != 8 {
		t.Fatalf("%d unsupported rules, want 8", len(files))
	}
	for _, f := range files {
		rules, probs := ParseFile(f)
		if len(rules) != 1 {
			t.Errorf("%s: %d rules, want 1 (with errors)", f, len(rules))
		}
		if got := Usable(rules, probs); len(got) != 0 {
			t.Errorf("%s: the rule is usable despite its errors", f)
		}
		var all []string
		for _, p := range probs {
			all = append(all, p.String())
		}
		text := strings.Join(all, "\n")
		wants, ok := want[filepath.Base(f)]
		if !ok {
			t.Errorf("%s: unexpected file", f)
		}
		for _, w := range wants {
			if !strings.Contains(text, "error: ") || !strings.Contains(text, w) {
				t.Errorf("%s: no error with %q in:\n%s", f, w, text)
			}
		}
		if !strings.Contains(text, "Sigma 2 replaced it with correlation rules") {
			t.Errorf("%s: the errors do not point to correlation rules:\n%s", f, text)
		}
	}
	// The error is on the line of the retired syntax.
	_, probs := ParseFile(unsupportedDir + "/aws_macic_evasion.yml")
	var lines []int
	for _, p := range probs {
		if strings.Contains(p.Msg, "retired") {
			lines = append(lines, p.Pos.Line)
		}
	}
	if !reflect.DeepEqual(lines, []int{30, 31}) {
		t.Errorf("retired syntax reported on lines %v, want 30 (timeframe) and 31 (condition)", lines)
	}
}

// The test rules of the specification's JSON schema tests are valid.
func TestSpecificationSchemaTests(t *testing.T) {
	var files []string
	for _, sub := range []string{"rules", "filter", "correlation"} {
		fs, _ := filepath.Glob(filepath.Join(specTestsDir, sub, "*.yml"))
		files = append(files, fs...)
	}
	if len(files) != 12 {
		t.Fatalf("%d files, want 12", len(files))
	}
	got := map[string]*ast.Rule{}
	for _, f := range files {
		rules, probs := ParseFile(f)
		for _, p := range probs {
			t.Errorf("%v", p)
		}
		if len(rules) != 1 {
			t.Fatalf("%s: %d rules", f, len(rules))
		}
		got[filepath.Base(f)] = rules[0]
	}

	r := got["rule_1.yml"]
	if r.Kind != ast.KindDetection || r.ID != "545a5da6-f103-4919-a519-e9aec1026ee4" || !reflect.DeepEqual(r.Related, []ast.Related{{ID: "6c82cf5c-090d-4d57-9188-533577631108", Type: "similar"}}) ||
		r.LogSource.Product != "windows" || r.LogSource.Service != "application" || r.Level != "high" ||
		!reflect.DeepEqual(r.Tags, []string{"attack.defense-evasion", "attack.t1211", "attack.t1562.001"}) ||
		!reflect.DeepEqual(r.FalsePos, []string{"a string"}) || len(r.References) != 2 {
		t.Errorf("rule_1: %+v", r)
	}
	if r := got["rule_ecs.yml"]; r.Taxonomy != "ecs" || r.Detection.Searches[0].Maps[0].Items[0].Field != "dns.question.name" {
		t.Errorf("rule_ecs: %+v", r)
	}

	f := got["filter_1.yml"]
	if f.Kind != ast.KindFilter || f.Filter == nil || f.Detection != nil ||
		!reflect.DeepEqual(f.Filter.Rules, []string{"6f3e2987-db24-4c78-a860-b4f4095a7095", "df0841c0-9846-4e9f-ad8a-7df91571771b"}) {
		t.Fatalf("filter_1: %+v", f)
	}
	fd := f.Filter.Detection
	if len(fd.Searches) != 1 || fd.Searches[0].Name != "selection" || FormatCondition(fd.Condition) != "selection" {
		t.Errorf("filter_1 detection: %+v", fd)
	}
	it := fd.Searches[0].Maps[0].Items[0]
	if it.Field != "User" || !reflect.DeepEqual(it.Modifiers, []string{"startswith"}) || it.Values[0].Str != "adm_" {
		t.Errorf("filter_1 item: %+v", it)
	}
	if f := got["filter_ecs.yml"]; f.Taxonomy != "ecs" || f.LogSource.Category != "network" || f.LogSource.Service != "dns" {
		t.Errorf("filter_ecs: %+v", f)
	}

	for _, tc := range []struct {
		file  string
		want  ast.Correlation
		field string
		tests []ast.CmpTest
	}{
		{"event_count.yml", ast.Correlation{Type: ast.EventCount, Rules: []string{"5638f7c0-ac70-491d-8465-2a65075e0d86"}, GroupBy: []string{"ComputerName"}, Timespan: time.Hour, TimespanText: "1h"}, "", []ast.CmpTest{{Op: "gte", Value: 100}}},
		{"event_count_ecs.yml", ast.Correlation{Type: ast.EventCount, Rules: []string{"5638f7c0-ac70-491d-8465-2a65075e0d86"}, GroupBy: []string{"dns.question.name"}, Timespan: time.Hour, TimespanText: "1h"}, "", []ast.CmpTest{{Op: "gte", Value: 100}}},
		{"value_count.yml", ast.Correlation{Type: ast.ValueCount, Rules: []string{"5638f7c0-ac70-491d-8465-2a65075e0d86"}, GroupBy: []string{"ComputerName", "WorkstationName"}, Timespan: 24 * time.Hour, TimespanText: "1d"}, "User", []ast.CmpTest{{Op: "gte", Value: 100}}},
		{"temporal.yml", ast.Correlation{Type: ast.Temporal, Rules: []string{"recon_cmd_a", "recon_cmd_b", "recon_cmd_c"}, GroupBy: []string{"ComputerName", "User"}, Timespan: 5 * time.Minute, TimespanText: "5m"}, "", nil},
		{"temporal_ordered.yml", ast.Correlation{Type: ast.TemporalOrdered, Rules: []string{"recon_cmd_a", "recon_cmd_b", "recon_cmd_c"}, GroupBy: []string{"ComputerName", "User"}, Timespan: 5 * time.Minute, TimespanText: "5m"}, "", nil},
		{"value_sum.yml", ast.Correlation{Type: ast.ValueSum, Rules: []string{"website_access"}, GroupBy: []string{"SourceIP", "User"}, Timespan: time.Hour, TimespanText: "1h"}, "bytes_sent", []ast.CmpTest{{Op: "gt", Value: 1000000}}},
		{"value_avg.yml", ast.Correlation{Type: ast.ValueAvg, Rules: []string{"rule_a_id"}, GroupBy: []string{"SourceIP", "User"}, Timespan: 24 * time.Hour, TimespanText: "24h"}, "BytesOut", []ast.CmpTest{{Op: "gt", Value: 500}}},
		{"value_percentile.yml", ast.Correlation{Type: ast.ValuePercentile, Rules: []string{"process_creation"}, GroupBy: []string{"ComputerName"}, Timespan: 24 * time.Hour, TimespanText: "24h"}, "Image", []ast.CmpTest{{Op: "lte", Value: 1}}},
	} {
		r := got[tc.file]
		if r.Kind != ast.KindCorrelation || r.Correlation == nil {
			t.Errorf("%s: not a correlation", tc.file)
			continue
		}
		checkCorrelation(t, tc.file, r.Correlation, tc.want, tc.field, tc.tests)
	}
}

func checkCorrelation(t *testing.T, name string, c *ast.Correlation, want ast.Correlation, field string, tests []ast.CmpTest) {
	t.Helper()
	if c.Type != want.Type || !reflect.DeepEqual(c.Rules, want.Rules) || !reflect.DeepEqual(c.GroupBy, want.GroupBy) ||
		c.Timespan != want.Timespan || c.TimespanText != want.TimespanText || c.Generate != want.Generate ||
		!reflect.DeepEqual(c.Aliases, want.Aliases) {
		t.Errorf("%s: got %+v\nwant %+v", name, *c, want)
	}
	switch {
	case tests == nil && c.Condition != nil:
		t.Errorf("%s: condition %+v, want none", name, *c.Condition)
	case tests != nil && c.Condition == nil:
		t.Errorf("%s: no condition", name)
	case tests != nil && (c.Condition.Field != field || !reflect.DeepEqual(c.Condition.Tests, tests)):
		t.Errorf("%s: condition %+v, want field %q and %+v", name, *c.Condition, field, tests)
	}
}

// Every example of the correlation rules specification parses; the
// complete ones are valid, the fragments (parts of a rule the
// specification shows on their own) get the errors that say what they
// lack.
func TestSpecificationCorrelationExamples(t *testing.T) {
	files, _ := filepath.Glob(specExamples + "/*.yml")
	if len(files) != 16 {
		t.Fatalf("%d examples, want 16", len(files))
	}
	wantErrors := map[string][]string{
		"example_01.yml": {"not a Sigma rule"}, // title and id only
		"example_02.yml": {`the correlation has no "type"`, `the correlation has no "timespan"`},
		"example_03.yml": {"not a Sigma rule"}, // group-by only
		"example_04.yml": {"not a Sigma rule"}, // condition only
		"example_05.yml": {"not a Sigma rule"}, // condition only
		"example_08.yml": {`missing required attribute "title"`},
		"example_09.yml": {`missing required attribute "title"`},
		"example_13.yml": {`missing required attribute "title"`, `missing required attribute "logsource"`},
		"example_14.yml": {`missing required attribute "title"`, `missing required attribute "logsource"`},
	}
	wantWarnings := map[string][]string{
		"example_15.yml": {`id "—" is not a UUID`},
	}
	parsed := map[string][]*ast.Rule{}
	for _, f := range files {
		base := filepath.Base(f)
		rules, probs := ParseFile(f)
		parsed[base] = rules
		var errs, warns []string
		for _, p := range probs {
			if p.Pos.File != f || p.Pos.Line < 1 {
				t.Errorf("%s: problem without a line: %v", base, p)
			}
			if p.Severity == ast.Error {
				errs = append(errs, p.Msg)
			} else {
				warns = append(warns, p.Msg)
			}
		}
		checkMessages(t, base+" errors", errs, wantErrors[base])
		checkMessages(t, base+" warnings", warns, wantWarnings[base])
	}

	checkCorrelation(t, "example_06", parsed["example_06.yml"][0].Correlation, ast.Correlation{
		Type: ast.EventCount, Rules: []string{"5638f7c0-ac70-491d-8465-2a65075e0d86"}, GroupBy: []string{"ComputerName"}, Timespan: time.Hour, TimespanText: "1h",
	}, "", []ast.CmpTest{{Op: "gte", Value: 100}})
	checkCorrelation(t, "example_07", parsed["example_07.yml"][0].Correlation, ast.Correlation{
		Type: ast.ValueCount, Rules: []string{"5638f7c0-ac70-491d-8465-2a65075e0d86"}, GroupBy: []string{"ComputerName", "WorkstationName"}, Timespan: 24 * time.Hour, TimespanText: "1d",
	}, "User", []ast.CmpTest{{Op: "gte", Value: 100}})
	checkCorrelation(t, "example_08", parsed["example_08.yml"][0].Correlation, ast.Correlation{
		Type: ast.Temporal, Rules: []string{"recon_cmd_a", "recon_cmd_b", "recon_cmd_c"}, GroupBy: []string{"ComputerName", "User"}, Timespan: 5 * time.Minute, TimespanText: "5m",
	}, "", nil)
	checkCorrelation(t, "example_09", parsed["example_09.yml"][0].Correlation, ast.Correlation{
		Type: ast.TemporalOrdered, Rules: []string{"many_failed_logins", "successful_login"}, GroupBy: []string{"User"}, Timespan: time.Hour, TimespanText: "1h",
	}, "", nil)
	checkCorrelation(t, "example_12", parsed["example_12.yml"][0].Correlation, ast.Correlation{
		Type: ast.ValuePercentile, Rules: []string{"process_creation"}, GroupBy: []string{"ComputerName"}, Timespan: 24 * time.Hour, TimespanText: "24h",
	}, "image", []ast.CmpTest{{Op: "lte", Value: 1}})

	// Aliases.
	ex15 := parsed["example_15.yml"][0]
	checkCorrelation(t, "example_15", ex15.Correlation, ast.Correlation{
		Type: ast.Temporal, Rules: []string{"internal_error", "new_network_connection"}, GroupBy: []string{"internal_ip", "remote_ip"},
		Timespan: 10 * time.Second, TimespanText: "10s",
		Aliases: map[string]map[string]string{
			"internal_ip": {"internal_error": "destination.ip", "new_network_connection": "source.ip"},
			"remote_ip":   {"internal_error": "source.ip", "new_network_connection": "destination.ip"},
		},
	}, "", nil)
	if ex15.Title != "—" || ex15.ID != "—" {
		t.Errorf("example_15: title %q id %q", ex15.Title, ex15.ID)
	}

	// The rules the aliases name.
	ex13 := parsed["example_13.yml"][0]
	if ex13.Name != "internal_error" || ex13.Detection.Search("selection").Maps[0].Items[0].Values[0].Num != 500 {
		t.Errorf("example_13: %+v", ex13)
	}

	// A multi-document file: a correlation of a correlation and two rules.
	ex16 := parsed["example_16.yml"]
	if len(ex16) != 4 {
		t.Fatalf("example_16: %d rules, want 4", len(ex16))
	}
	top := ex16[0]
	if top.Kind != ast.KindCorrelation || top.Status != "experimental" || top.Level != "high" || top.Date != "2023-06-16" ||
		top.Author != "Florian Roth (Nextron Systems)" || !reflect.DeepEqual(top.FalsePos, []string{"Unlikely"}) || top.Pos.Line != 1 {
		t.Errorf("example_16 top: %+v", top)
	}
	checkCorrelation(t, "example_16[0]", top.Correlation, ast.Correlation{
		Type: ast.TemporalOrdered, Rules: []string{"multiple_failed_login", "successful_login"}, GroupBy: []string{"User"}, Timespan: 10 * time.Minute, TimespanText: "10m",
	}, "", nil)
	inner := ex16[1]
	if inner.Name != "multiple_failed_login" || inner.ID != "a8418a5a-5fc4-46b5-b23b-6c73beb19d41" || inner.Pos.Line != 21 {
		t.Errorf("example_16[1]: %+v", inner)
	}
	checkCorrelation(t, "example_16[1]", inner.Correlation, ast.Correlation{
		Type: ast.EventCount, Rules: []string{"failed_login"}, GroupBy: []string{"User"}, Timespan: 10 * time.Minute, TimespanText: "10m",
	}, "", []ast.CmpTest{{Op: "gte", Value: 10}})
	failed := ex16[2]
	if failed.Name != "failed_login" || failed.Kind != ast.KindDetection || failed.Pos.Line != 35 {
		t.Errorf("example_16[2]: %+v", failed)
	}
	ids := failed.Detection.Search("selection").Maps[0].Items[0]
	if ids.Field != "EventID" || len(ids.Values) != 2 || ids.Values[0].Kind != ast.Number || ids.Values[0].Num != 529 || ids.Values[1].Str != "4625" {
		t.Errorf("example_16[2] EventID: %+v", ids)
	}
	// Together the four rules of the file refer to each other without a
	// problem.
	if probs := Check(ex16); len(probs) != 0 {
		t.Errorf("example_16 Check: %v", probs)
	}
}

// checkMessages checks that each message contains the wanted text of the
// same index, and that there are as many.
func checkMessages(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %q, want %d matching %q", what, got, len(want), want)
		return
	}
	for i := range got {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("%s: %q does not contain %q", what, got[i], want[i])
		}
	}
}
