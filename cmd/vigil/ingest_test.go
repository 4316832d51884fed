package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sources/ingest"
	"github.com/vigilsec/vigil/connectors/sources/s3/s3test"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

// vigilBroker starts `vigil broker` and returns its address.
func vigilBroker(t *testing.T) string {
	t.Helper()
	_, sc, _ := start(t, "broker", "--listen", "127.0.0.1:0", "--partitions", "3")
	return waitLine(t, sc, regexp.MustCompile(`listening on (\S+)`))[1]
}

// vigilWithEnv starts vigil with extra environment variables; it is
// killed when the test ends.
func vigilWithEnv(t *testing.T, env []string, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(vigilBin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, stdout, stderr
}

// TestIngestCommand backfills CloudTrail log files from versitygw with
// `vigil ingest --since`, and checks that a second run publishes nothing
// again.
func TestIngestCommand(t *testing.T) {
	srv := s3test.Start(t)
	addr := vigilBroker(t)
	const bucket = "backfill"
	srv.CreateBucket(t, bucket)
	files, err := filepath.Glob("../../connectors/sources/s3/testdata/cloudtrail/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata: %v %v", files, err)
	}
	old, recent := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var want int
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		day := old
		if i%2 == 1 {
			day = recent
			want += strings.Count(string(b), `"eventVersion"`)
		}
		srv.Put(t, bucket, s3test.Layout("111122223333", "CloudTrail", "us-east-1", day, fmt.Sprintf("111122223333_CloudTrail_us-east-1_%sT0%d05Z_X.json.gz", day.Format("20060102"), i)), s3test.Gzip(b))
	}
	cfg := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("kafka:\n  brokers: [\"%s\"]\ntopics:\n  partitions: 3\n", addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"ingest", "s3://" + bucket + "/AWSLogs/", "--source", "cloudtrail", "--since", "2026-01-01",
		"--endpoint", srv.Endpoint, "--config", cfg}
	run := func() string {
		t.Helper()
		cmd, stdout, stderr := vigilWithEnv(t, srv.Env(), args...)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("vigil ingest: %v\n%s", err, stderr)
		}
		if strings.Contains(stderr.String(), "\x1b[") {
			t.Errorf("terminal codes without a terminal: %q", stderr)
		}
		return stdout.String()
	}
	out := run()
	if !regexp.MustCompile(fmt.Sprintf(`^vigil ingest: %d objects \(.*\) published, %d records in .* to vigil\.raw\.cloudtrail\n$`, (len(files))/2, want)).MatchString(out) {
		t.Errorf("summary %q, want %d objects and %d records", out, len(files)/2, want)
	}
	recs := streamstest.ReadCommitted(t, []string{addr}, "vigil.raw.cloudtrail")
	if len(recs) != want {
		t.Errorf("%d records committed, want %d", len(recs), want)
	}
	if out := run(); !strings.HasPrefix(out, "vigil ingest: 0 objects (0 B) published, 0 records") {
		t.Errorf("second run: %q, want nothing new", out)
	}
	if n := len(streamstest.ReadCommitted(t, []string{addr}, "vigil.raw.cloudtrail")); n != want {
		t.Errorf("%d records after the second run, want %d", n, want)
	}

	// Usage errors exit 2.
	cmd, _, stderr := vigilWithEnv(t, nil, "ingest", "s3://"+bucket, "--source", "cloudtrail", "--since", "yesterday", "--config", cfg)
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 2 || !strings.Contains(stderr.String(), "since") {
		t.Errorf("bad --since: %v, %q", err, stderr)
	}
}

// TestS3SourceSurvivesSIGKILL runs `vigil run` with an s3 source over one
// gzipped object of 200,000 CloudTrail events, kills it with SIGKILL in
// the middle of the object, starts it again, and checks with kcat,
// reading committed records, that every event arrived exactly once.
func TestS3SourceSurvivesSIGKILL(t *testing.T) {
	kc := streamstest.Kcat(t)
	srv := s3test.Start(t)
	addr := vigilBroker(t)
	const bucket, lines = "crash", 200000
	srv.CreateBucket(t, bucket)
	var body bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&body, `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":"111122223333","userName":"alice"},"eventTime":"2026-01-01T00:%02d:%02dZ","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.%d","requestID":"%08d","eventID":"00000000-0000-4000-8000-%012d","recipientAccountId":"111122223333"}`+"\n",
			i/60%60, i%60, i%250, i, i)
	}
	key := s3test.Layout("111122223333", "CloudTrail", "us-east-1", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "111122223333_CloudTrail_us-east-1_20260101T0005Z_BIG.json.gz")
	srv.Put(t, bucket, key, s3test.Gzip(body.Bytes()))

	cfg := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`kafka:
  brokers: ["%s"]
  transaction_timeout: 20s
topics:
  partitions: 3
ops:
  listen: ""
log:
  level: info
  format: json
sources:
  trail:
    type: s3
    source: cloudtrail
    bucket: %s
    endpoint: %s
    poll_interval: 200ms
    commit_records: 1000
`, addr, bucket, srv.Endpoint)), 0o644); err != nil {
		t.Fatal(err)
	}
	names := topics.Names{Prefix: topics.DefaultPrefix}
	kopts := []kgo.Opt{kgo.SeedBrokers(addr)}
	unit := bucket + "/" + key
	progress := func() map[string][]byte {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p, err := ingest.ReadProgress(ctx, kopts, names, "trail")
		if err != nil {
			return nil // the progress topic does not exist yet
		}
		return p
	}

	cmd, _, stderr := vigilWithEnv(t, srv.Env(), "run", "--config", cfg, "--app", "trail")
	deadline := time.Now().Add(60 * time.Second)
	for {
		p := progress()
		if v := p[unit]; v != nil && strings.Contains(string(v), `"done":false`) {
			break
		}
		if len(p) > 0 && p[unit] == nil {
			t.Fatalf("the object was done before vigil could be killed: %q", p)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress after 60s; vigil said:\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	t.Logf("killed with progress %s", progress()[unit])

	cmd, _, stderr = vigilWithEnv(t, srv.Env(), "run", "--config", cfg, "--app", "trail")
	deadline = time.Now().Add(90 * time.Second)
	for {
		p := progress()
		if p[unit] == nil && strings.Contains(string(p["list:"+bucket+"/AWSLogs/111122223333/CloudTrail/us-east-1/"]), key) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the object was not done after 90s: %q; vigil said:\n%s", p, stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "resuming object") {
		t.Errorf("the restarted source did not resume inside the object:\n%s", stderr)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()

	out, err := exec.Command(kc, "-C", "-b", addr, "-t", names.Raw("cloudtrail"), "-e", "-q",
		"-X", "isolation.level=read_committed", "-f", "%h\n").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	seen := make([]int, lines+1)
	originRe := regexp.MustCompile(streams.HeaderOrigin + `=s3://` + bucket + `/` + regexp.QuoteMeta(key) + `:(\d+)`)
	var n, bad int
	for _, h := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		m := originRe.FindStringSubmatch(h)
		var line int
		if m != nil {
			fmt.Sscan(m[1], &line)
		}
		if line < 1 || line > lines {
			if bad++; bad < 5 {
				t.Errorf("unexpected record headers %q", h)
			}
			continue
		}
		seen[line]++
		n++
	}
	var missing, dup int
	for l := 1; l <= lines; l++ {
		switch {
		case seen[l] == 0:
			missing++
		case seen[l] > 1:
			dup++
		}
	}
	if n != lines || missing != 0 || dup != 0 || bad != 0 {
		t.Fatalf("kcat read %d committed records: %d lines missing, %d duplicated, %d unexpected; want each of %d once", n, missing, dup, bad, lines)
	}
}
