package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Sigma rules that correlators/sigma vendors for its tests.
const sigmaCorpus = "../../correlators/sigma/testdata/corpus"

func runVigil(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(vigilBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

var problemLine = regexp.MustCompile(`^[^:]+\.yml:\d+:\d+: (error|warning): .+$`)

func TestRulesLint(t *testing.T) {
	// The SigmaHQ CloudTrail rules are clean.
	out, stderr, code := runVigil(t, "rules", "lint", filepath.Join(sigmaCorpus, "sigma/rules"))
	if code != 0 || out != "57 files, 57 rules: 0 errors, 0 warnings\n" || stderr != "" {
		t.Errorf("clean rules: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	// The rules with the retired aggregation syntax have errors: one
	// line each, then the summary; exit status 1.
	out, stderr, code = runVigil(t, "rules", "lint", filepath.Join(sigmaCorpus, "sigma/unsupported"), filepath.Join(sigmaCorpus, "sigma/rules/cloud/aws/cloudtrail/aws_root_account_usage.yml"))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 1 || len(lines) < 9 || !strings.Contains(stderr, "rules lint: ") {
		t.Fatalf("unsupported rules: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	for _, l := range lines[:len(lines)-1] {
		if !problemLine.MatchString(l) {
			t.Errorf("not a problem line: %q", l)
		}
	}
	if !strings.Contains(out, "aws_macic_evasion.yml:31:26: error: the condition uses the retired aggregation syntax \"| count() by sourceIPAddress > 5\"") {
		t.Errorf("the count() by error is missing:\n%s", out)
	}
	if sum := lines[len(lines)-1]; !regexp.MustCompile(`^9 files, 9 rules: \d+ errors, 0 warnings$`).MatchString(sum) {
		t.Errorf("summary %q", sum)
	}

	// Warnings alone do not fail; -q hides them but counts them.
	dir := t.TempDir()
	rule := `title: Unused search
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {eventName: ConsoleLogin}
    unused: {eventName: Other}
    condition: selection
`
	if err := os.WriteFile(filepath.Join(dir, "warn.yaml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = runVigil(t, "rules", "lint", dir)
	want := filepath.Join(dir, "warn.yaml") + ":5:5: warning: search \"unused\" is not used in the condition\n1 file, 1 rule: 0 errors, 1 warning\n"
	if code != 0 || out != want {
		t.Errorf("warnings: exit %d, stdout %q, want %q", code, out, want)
	}
	out, _, code = runVigil(t, "rules", "lint", "-q", dir)
	if code != 0 || out != "1 file, 1 rule: 0 errors, 1 warning\n" {
		t.Errorf("-q: exit %d, stdout %q", code, out)
	}

	// A logsource that maps to no dataset: a warning, by the default
	// mapping or the config's.
	win := strings.NewReplacer("product: aws, service: cloudtrail", "product: windows, category: process_creation", "    unused: {eventName: Other}\n", "").Replace(rule)
	if err := os.WriteFile(filepath.Join(dir, "warn.yaml"), []byte(win), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = runVigil(t, "rules", "lint", dir)
	want = filepath.Join(dir, "warn.yaml") + ":2:1: warning: logsource (product: windows, category: process_creation) maps to no dataset in rules.logsources: the rule does not run\n1 file, 1 rule: 0 errors, 1 warning\n"
	if code != 0 || out != want {
		t.Errorf("unmapped logsource: exit %d, stdout %q, want %q", code, out, want)
	}
	cfg := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(cfg, []byte("rules:\n  logsources:\n    - {product: windows, datasets: [sysmon]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = runVigil(t, "rules", "lint", "--config", cfg, dir)
	if code != 0 || out != "1 file, 1 rule: 0 errors, 0 warnings\n" {
		t.Errorf("mapped by the config: exit %d, stdout %q", code, out)
	}

	// Usage errors: no path, a path that does not exist.
	for _, args := range [][]string{{"rules", "lint"}, {"rules", "lint", filepath.Join(dir, "missing")}, {"rules", "lint", "--bogus", dir}} {
		_, stderr, code = runVigil(t, args...)
		if code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, stderr)
		}
	}
}
