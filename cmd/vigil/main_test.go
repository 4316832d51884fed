package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsec/vigil/schemas"
	"github.com/vigilsec/vigil/streams/streamstest"
)

// vigilBin is the vigil binary built for these tests.
var vigilBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vigil-cmd-test")
	if err != nil {
		panic(err)
	}
	vigilBin = filepath.Join(dir, "vigil")
	build := exec.Command("go", "build", "-o", vigilBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build vigil:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// start runs vigil with args; the process is killed when the test ends.
func start(t *testing.T, args ...string) (*exec.Cmd, *bufio.Scanner, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(vigilBin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, bufio.NewScanner(stdout), stderr
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine of exec and a
// reading test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLine reads lines until one matches re, or fails the test.
func waitLine(t *testing.T, sc *bufio.Scanner, re *regexp.Regexp) []string {
	t.Helper()
	found := make(chan []string, 1)
	go func() {
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
				// Keep draining so the process never blocks on a full pipe.
				for sc.Scan() {
				}
				return
			}
		}
		close(found)
	}()
	select {
	case m, ok := <-found:
		if !ok {
			t.Fatalf("output ended before a line matching %s", re)
		}
		return m
	case <-time.After(60 * time.Second):
		t.Fatalf("no line matching %s", re)
	}
	return nil
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(vigilBin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "vigil ") {
		t.Errorf("version output %q", out)
	}
}

func TestBrokerServesKcat(t *testing.T) {
	kc := streamstest.Kcat(t)
	_, sc, stderr := start(t, "broker", "--listen", "127.0.0.1:0", "--partitions", "3")
	addr := waitLine(t, sc, regexp.MustCompile(`listening on (\S+)`))[1]

	list, err := exec.Command(kc, "-b", addr, "-L", "-J").Output()
	if err != nil {
		t.Fatalf("kcat -L: %v\n%s", err, stderr)
	}
	var md struct {
		Topics []struct {
			Topic      string `json:"topic"`
			Partitions []any  `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(list, &md); err != nil {
		t.Fatalf("kcat -L -J output: %v\n%s", err, list)
	}
	parts := map[string]int{}
	for _, tp := range md.Topics {
		parts[tp.Topic] = len(tp.Partitions)
	}
	for _, want := range []string{"vigil.raw.cloudtrail", "vigil.events.cloudtrail", "vigil.alerts", "vigil.dlq"} {
		if parts[want] != 3 {
			t.Errorf("kcat lists %s with %d partitions, want 3 (topics: %v)", want, parts[want], parts)
		}
	}

	produce := exec.Command(kc, "-b", addr, "-P", "-t", "vigil.raw.cloudtrail", "-k", "111122223333", "-p", "1")
	produce.Stdin = strings.NewReader(`{"eventName":"ConsoleLogin"}` + "\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	out, err := exec.Command(kc, "-b", addr, "-C", "-t", "vigil.raw.cloudtrail", "-p", "1", "-o", "beginning", "-c", "1", "-e", "-f", `%k|%s\n`).Output()
	if err != nil {
		t.Fatalf("kcat -C: %v", err)
	}
	if got, want := strings.TrimSpace(string(out)), `111122223333|{"eventName":"ConsoleLogin"}`; got != want {
		t.Errorf("consumed %q, want %q", got, want)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("kafka:\n  guarantee: twice\ntopics:\n  partitons: 3\n  partitions: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(vigilBin, "run", "--check-config", "--config", bad)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2", err)
	}
	for _, want := range []string{"3 problems", `line 4: unknown key "partitons" in topics`, `kafka.guarantee: guarantee "twice"`, "topics.partitions (0) must be >= 1"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}

	out, err := exec.Command(vigilBin, "run", "--check-config", "--config", "../../vigil.example.yaml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is valid") {
		t.Errorf("example config: %v\n%s", err, out)
	}
	out, err = exec.Command(vigilBin, "run", "--check-config", "--app", "nope").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "no component named nope") {
		t.Errorf("--app nope: %v\n%s", err, out)
	}
}

// TestRunDrainsOnSIGTERM runs vigil as a process over a root login: the
// alert reaches the console, and SIGTERM stops every component cleanly.
func TestRunDrainsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	root, err := os.ReadFile("../../internal/demo/testdata/corpus/aws-cloudtrail-user-guide/cloudtrail-event-reference-aws-console-sign-in-events_block06.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root.json"), root, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`kafka:
  embedded: {listen: "127.0.0.1:0"}
topics: {partitions: 2}
ops: {listen: "127.0.0.1:0"}
log: {format: json}
sources:
  files: {type: file, source: cloudtrail, paths: [%q]}
sinks:
  console: {topics: [alerts], color: never}
`, filepath.Join(dir, "*.json"))), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, sc, stderr := start(t, "run", "--config", cfg)
	line := waitLine(t, sc, regexp.MustCompile(`MEDIUM\s+AWS Root Credentials\s+who=root account=111122223333 from=192.0.2.0`))
	t.Logf("console: %s", line[0])

	ops := regexp.MustCompile(`"msg":"serving /metrics, /healthz and /readyz","addr":"([^"]+)"`).FindStringSubmatch(stderr.String())
	if ops == nil {
		t.Fatalf("no ops address in the log:\n%s", stderr)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + ops[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	resp, err := http.Get("http://" + ops[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`vigil_records_consumed_total{app="normalize",topic="vigil.raw.cloudtrail"} 1`,
		// Root credentials, and a console login without MFA.
		`vigil_records_produced_total{app="detect",topic="vigil.alerts"} 2`,
		// The login, for the correlation of failed and successful logins.
		`vigil_records_produced_total{app="detect",topic="vigil.matches"} 1`,
		`vigil_rules_loaded{app="detect",kind="detection"} 59`,
		`vigil_rules_loaded{app="correlate",kind="correlation"} 4`,
		`vigil_source_records_total{app="files",topic="vigil.raw.cloudtrail"} 1`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("vigil run after SIGTERM: %v\n%s", err, stderr)
	}
	for _, app := range []string{"normalize", "detect", "correlate", "console"} {
		if !strings.Contains(stderr.String(), `"msg":"component stopped","app":"`+app+`"`) {
			t.Errorf("%s did not stop cleanly:\n%s", app, stderr)
		}
	}
}

func TestDemo(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, vigilBin, "demo", "--out", out, "--events", "300")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("vigil demo: %v\n%s", err, stderr.String())
	}
	if n := strings.Count(stdout.String(), "AWS Root Credentials"); n != 11 {
		t.Errorf("demo printed %d root credential alerts, want 11:\n%s", n, stdout.String())
	}
	// The scenario's attack, as the correlation rules see it.
	for _, want := range []string{
		"HIGH      AWS Console Login After a Failed One From the Same Address  sourceIPAddress=203.0.113.77 window=08:57:41..09:12:41 events=2",
		"HIGH      AWS Principal Denied Many Different Actions  userIdentity.arn=arn:aws:iam::111122223333:user/backup-admin window=09:14:40..09:24:40 events=3 value=3 (eventName)",
		"CRITICAL  AWS CloudTrail and VPC Flow Logs Disabled by One Principal  userIdentity.arn=arn:aws:iam::111122223333:user/backup-admin window=08:53:30..09:23:30 events=2",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("demo did not print %q:\n%s", want, stdout.String())
		}
	}
	// The demo's filter keeps the staff's bucket listings quiet; the
	// intruder's is left. Rules that only feed correlations say nothing.
	if n := strings.Count(stdout.String(), "Potential Bucket Enumeration on AWS"); n != 1 {
		t.Errorf("demo printed %d bucket enumeration alerts, want the intruder's only:\n%s", n, stdout.String())
	}
	if strings.Contains(stdout.String(), "INFORMATIONAL") {
		t.Errorf("a rule that only feeds correlations raised alerts:\n%s", stdout.String())
	}
	if n := strings.Count(stdout.String(), "DEAD-LETTER"); n != 6 {
		t.Errorf("demo printed %d dead letters, want 6:\n%s", n, stdout.String())
	}
	m := regexp.MustCompile(`detect +(\d+) alerts, (\d+) matches`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("summary:\n%s", stderr.String())
	}
	alerts, err := os.ReadFile(filepath.Join(out, "alerts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(alerts, []byte("\n")); strconv.Itoa(n) != m[1] || n != strings.Count(stdout.String(), "\n")-6 {
		t.Errorf("alerts.jsonl has %d lines; the summary says %s alerts; the terminal shows %d", n, m[1], strings.Count(stdout.String(), "\n")-6)
	}
	events, err := os.ReadFile(filepath.Join(out, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{schemas.Alert: alerts, schemas.Event: events} {
		lines := bytes.Split(bytes.TrimSpace(body), []byte("\n"))
		for i, l := range lines {
			if err := schemas.Validate(name, l); err != nil {
				t.Fatalf("%s line %d does not match %s: %v", filepath.Base(out), i+1, name, err)
			}
		}
		if name == schemas.Event && len(lines) < 300 {
			t.Errorf("events.jsonl has %d lines, want at least 300", len(lines))
		}
	}
}

func TestNormalizeCommand(t *testing.T) {
	corpus := "../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/"
	run := func(stdin []byte, args ...string) (string, string, int) {
		cmd := exec.Command(vigilBin, append([]string{"normalize"}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}

	// Good files: one ECS document per event, exit 0.
	out, errs, code := run(nil, "--source", "cloudtrail", corpus+"cloudtrail-log-file-examples_block10.json", corpus+"cloudtrail-event-reference-aws-console-sign-in-events_block06.json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || errs != "" {
		t.Fatalf("exit %d, %d lines, stderr %q", code, len(lines), errs)
	}
	for _, l := range lines {
		if err := schemas.Validate(schemas.Event, []byte(l)); err != nil {
			t.Errorf("output does not match the event schema: %v", err)
		}
	}

	// A bad file among good ones: its records are reported with their
	// origin, the rest still flows, exit 1.
	out, errs, code = run(nil, "-s", "cloudtrail", corpus+"cloudtrail-log-file-examples_block08.json-ish.txt", corpus+"cloudtrail-event-reference-user-identity_block06.json", corpus+"cloudtrail-log-file-examples_block03.json")
	if code != 1 || strings.Count(out, "\n") != 1 {
		t.Errorf("exit %d, output %q", code, out)
	}
	for _, want := range []string{"cloudtrail-log-file-examples_block08.json-ish.txt:Records[0]: invalid JSON", "cloudtrail-event-reference-user-identity_block06.json:1: not a CloudTrail event: no eventTime", "2 records could not be normalized"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}

	// gzip on standard input.
	raw, err := os.ReadFile(corpus + "cloudtrail-log-file-examples_block10.json")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	out, _, code = run(gz.Bytes(), "-s", "cloudtrail")
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("gzip stdin: exit %d, output %q", code, out)
	}

	// Usage errors exit 2.
	if _, errs, code := run(nil, "-s", "nosuch", "x"); code != 2 || !strings.Contains(errs, "known sources are") {
		t.Errorf("unknown source: exit %d, %q", code, errs)
	}
	if _, _, code := run(nil); code != 2 {
		t.Errorf("no --source: exit %d", code)
	}
	if _, _, code := run(nil, "-s", "cloudtrail", "--format", "xml"); code != 2 {
		t.Errorf("bad format: exit %d", code)
	}
	if _, errs, code := run(nil, "-s", "cloudtrail", "/nonexistent/file.json"); code != 1 || !strings.Contains(errs, "/nonexistent/file.json") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
}
