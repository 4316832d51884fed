package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/vigilsec/vigil/correlators/normalize"
)

// The test cases for the SigmaHQ CloudTrail rules live with the Sigma
// package (correlators/sigma/testdata/cloudtrail, described in its
// README.md). The Sigma engine runs them; this test checks that they are
// what they claim to be: raw CloudTrail records this package decodes, one
// case file per rule, every source that names a file pointing at one, and
// every event taken verbatim from a file equal to the record there.
const (
	sigmaRepoRoot    = "../../.."
	sigmaCasesDir    = "../../sigma/testdata/cloudtrail"
	sigmaTestdataDir = "../../sigma/testdata"
	// The rule set in the shared corpus, next to the project.
	sigmaSharedRules = "../../../../shared/corpus/sigma/rules/cloud/aws/cloudtrail"
	// A rule every copy of the CloudTrail rule set has.
	sigmaMarkerRule = "aws_cloudtrail_bucket_deleted.yml"
)

type sigmaCaseFile struct {
	Rule     string      `yaml:"rule"`
	Note     string      `yaml:"note"`
	Positive []sigmaCase `yaml:"positive"`
	Negative []sigmaCase `yaml:"negative"`
}

type sigmaCase struct {
	Why    string         `yaml:"why"`
	Source string         `yaml:"source"`
	Event  map[string]any `yaml:"event"`
}

// sigmaEventLine is how a case file writes an event: one JSON object on the
// line, so that it can be read either as YAML or as the line's text.
var sigmaEventLine = regexp.MustCompile(`^ +event: (\{.*\})\s*$`)

func sigmaCaseFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sigmaCasesDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no case files in %s", sigmaCasesDir)
	}
	return files
}

func TestSigmaCloudTrailCases(t *testing.T) {
	var positives, negatives, verbatim, adapted, crafted int
	for _, path := range sigmaCaseFiles(t) {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".yml"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var cf sigmaCaseFile
			if err := yaml.UnmarshalWithOptions(data, &cf, yaml.DisallowUnknownField()); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if cf.Rule != name {
				t.Errorf("rule: %q, want the file's name %q", cf.Rule, name)
			}
			if len(cf.Positive) == 0 || len(cf.Negative) == 0 {
				t.Errorf("%d positive and %d negative cases: want at least one of each", len(cf.Positive), len(cf.Negative))
			}
			positives += len(cf.Positive)
			negatives += len(cf.Negative)

			// The events as the lines have them, in file order.
			var lines []string
			var lineNos []int
			for i, l := range strings.Split(string(data), "\n") {
				if m := sigmaEventLine.FindStringSubmatch(l); m != nil {
					lines = append(lines, m[1])
					lineNos = append(lineNos, i+1)
				}
			}
			cases := append(slices.Clone(cf.Positive), cf.Negative...)
			kinds := append(slices.Repeat([]string{"positive"}, len(cf.Positive)), slices.Repeat([]string{"negative"}, len(cf.Negative))...)
			if strings.Index(string(data), "\nnegative:") < strings.Index(string(data), "\npositive:") {
				cases = append(slices.Clone(cf.Negative), cf.Positive...)
				kinds = append(slices.Repeat([]string{"negative"}, len(cf.Negative)), slices.Repeat([]string{"positive"}, len(cf.Positive))...)
			}
			if len(lines) != len(cases) {
				t.Fatalf("%d cases but %d one-line `event: {...}` lines", len(cases), len(lines))
			}
			for i, c := range cases {
				where := fmt.Sprintf("%s:%d (%s %q)", name, lineNos[i], kinds[i], c.Why)
				switch k := checkSigmaCase(t, where, c, lines[i]); k {
				case "verbatim":
					verbatim++
				case "adapted":
					adapted++
				case "crafted":
					crafted++
				}
			}
		})
	}
	t.Logf("%d positive and %d negative events: %d verbatim from a file, %d adapted, %d crafted",
		positives, negatives, verbatim, adapted, crafted)
}

// checkSigmaCase checks one case and says where its event came from.
func checkSigmaCase(t *testing.T, where string, c sigmaCase, line string) string {
	t.Helper()
	if strings.TrimSpace(c.Why) == "" || strings.Contains(c.Why, "\n") {
		t.Errorf("%s: why must be one non-empty line", where)
	}
	// The YAML reading and the line's text must be the same event.
	var fromLine any
	if err := json.Unmarshal([]byte(line), &fromLine); err != nil {
		t.Errorf("%s: the event line is not JSON: %v", where, err)
		return ""
	}
	if !reflect.DeepEqual(fromLine, jsonValue(t, c.Event)) {
		t.Errorf("%s: the event read as YAML differs from the line read as JSON", where)
	}
	rec := fromLine.(map[string]any)
	for _, k := range []string{"Records", "detail", "detail-type"} {
		if _, ok := rec[k]; ok {
			t.Errorf("%s: has %q: an event must be one CloudTrail record, not a log file or an EventBridge envelope", where, k)
		}
	}
	for _, k := range []string{"eventVersion", "eventTime"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("%s: no %s", where, k)
		}
	}
	evs, err := Decoder{}.Decode([]byte(line), normalize.Meta{Origin: where})
	if err != nil {
		t.Errorf("%s: the decoder rejects it: %v", where, err)
	} else if len(evs) != 1 {
		t.Errorf("%s: decodes to %d events, want 1", where, len(evs))
	}
	return checkSigmaSource(t, where, c.Source, fromLine)
}

// checkSigmaSource checks the provenance: "crafted", "PATH [Records[N]]"
// for an event copied from a file (it must equal the record there), or
// "adapted from PATH [Records[N]]: what changed".
func checkSigmaSource(t *testing.T, where, source string, event any) string {
	t.Helper()
	if source == "crafted" {
		return "crafted"
	}
	rest, isAdapted := strings.CutPrefix(source, "adapted from ")
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		t.Errorf("%s: source is empty: want crafted, a path, or adapted from a path", where)
		return ""
	}
	path := strings.TrimRight(fields[0], ":,;")
	index := -1
	if len(fields) > 1 && strings.HasPrefix(fields[1], "Records[") {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimRight(strings.TrimPrefix(fields[1], "Records["), ":,;"), "]"))
		if err != nil {
			t.Errorf("%s: source %q: bad record index", where, source)
			return ""
		}
		index = n
	}
	if filepath.IsAbs(path) {
		t.Errorf("%s: source path %q must be relative to the repository root", where, path)
		return ""
	}
	data, err := os.ReadFile(filepath.Join(sigmaRepoRoot, path))
	if err != nil {
		t.Errorf("%s: source %q: %v", where, source, err)
		return ""
	}
	if isAdapted {
		return "adapted"
	}
	if len(fields) > 2 || (len(fields) == 2 && index < 0) {
		t.Errorf("%s: source %q: a verbatim source is PATH or PATH Records[N]; say \"adapted from\" for a changed event", where, source)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Errorf("%s: source %q is not a JSON file, so the event cannot be verbatim from it: %v", where, path, err)
		return ""
	}
	want := doc
	if index >= 0 {
		recs, _ := doc.(map[string]any)["Records"].([]any)
		if index >= len(recs) {
			t.Errorf("%s: source %q: the file has %d records", where, source, len(recs))
			return ""
		}
		want = recs[index]
	}
	if !reflect.DeepEqual(event, want) {
		t.Errorf("%s: the event differs from the record in %s; say \"adapted from\" if it was changed", where, source)
	}
	return "verbatim"
}

// jsonValue is v as encoding/json would decode it.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSigmaCloudTrailCasesCoverRules checks there is a case file for every
// CloudTrail detection rule in the vendored rule set (or, until it is
// vendored, the shared corpus's), and none for a rule not in it.
func TestSigmaCloudTrailCasesCoverRules(t *testing.T) {
	dir, err := sigmaRuleDir()
	if err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		t.Skipf("no copy of the CloudTrail rules under %s, and no %s", sigmaTestdataDir, sigmaSharedRules)
	}
	rules, err := sigmaDetectionRules(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, f := range sigmaCaseFiles(t) {
		cases = append(cases, filepath.Base(f))
	}
	for _, r := range rules {
		if !slices.Contains(cases, r) {
			t.Errorf("rule %s (in %s) has no case file in %s", r, dir, sigmaCasesDir)
		}
	}
	for _, c := range cases {
		if !slices.Contains(rules, c) {
			t.Errorf("case file %s has no rule in %s", c, dir)
		}
	}
	t.Logf("%d rules in %s, %d case files", len(rules), dir, len(cases))
}

// sigmaRuleDir finds the vendored copy of the rule set (the directory under
// correlators/sigma/testdata, other than the cases', that holds the marker
// rule), falling back on the shared corpus; "" when there is neither.
func sigmaRuleDir() (string, error) {
	cases, err := filepath.Abs(sigmaCasesDir)
	if err != nil {
		return "", err
	}
	var found string
	err = filepath.WalkDir(sigmaTestdataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if abs, _ := filepath.Abs(path); abs == cases {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == sigmaMarkerRule && found == "" {
			found = filepath.Dir(path)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if found != "" {
		return found, nil
	}
	if _, err := os.Stat(filepath.Join(sigmaSharedRules, sigmaMarkerRule)); err == nil {
		return sigmaSharedRules, nil
	}
	return "", nil
}

// sigmaDetectionRules are the names of the CloudTrail detection rules in
// dir: rules for logsource aws/cloudtrail whose condition is not the
// retired aggregation syntax (`... | count() by ...`), which gets a lint
// error instead of test cases.
func sigmaDetectionRules(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var rule struct {
			Logsource struct {
				Product string `yaml:"product"`
				Service string `yaml:"service"`
			} `yaml:"logsource"`
			Detection map[string]any `yaml:"detection"`
		}
		if err := yaml.Unmarshal(data, &rule); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if rule.Logsource.Product != "aws" || rule.Logsource.Service != "cloudtrail" || rule.Detection == nil {
			continue
		}
		if cond := fmt.Sprint(rule.Detection["condition"]); strings.Contains(cond, "|") {
			continue
		}
		names = append(names, filepath.Base(f))
	}
	return names, nil
}
