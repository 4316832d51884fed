package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// lines reads a process's output lines into a channel, so that a test can
// wait for several in turn.
func lines(sc *bufio.Scanner) <-chan string {
	ch := make(chan string, 1024)
	go func() {
		defer close(ch)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

func waitFor(t *testing.T, ch <-chan string, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("output ended before a line matching %s", re)
			}
			if re.MatchString(l) {
				return l
			}
		case <-deadline:
			t.Fatalf("no line matching %s", re)
		}
	}
}

func waitStderr(t *testing.T, buf *syncBuffer, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(buf.String(), substr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("stderr has %q fewer than %d times:\n%s", substr, n, buf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

const probeRule = `title: %s
id: 6d1f0c52-3b7e-4a3c-9d51-2f8e7a6b5c4d
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName%s: %s
    condition: selection
level: high
`

// TestRulesReloadInProcess runs vigil with a rule directory, changes the
// rule while it runs (the file watch reloads it), then breaks it and sends
// SIGHUP (the previous version keeps running).
func TestRulesReloadInProcess(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.Mkdir(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	ruleFile := filepath.Join(rules, "probe.yml")
	writeRule := func(title, mod, name string) {
		t.Helper()
		// Write aside and rename, as editors and ConfigMap updates do.
		tmp := filepath.Join(dir, "probe.yml.tmp")
		if err := os.WriteFile(tmp, []byte(fmt.Sprintf(probeRule, title, mod, name)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, ruleFile); err != nil {
			t.Fatal(err)
		}
	}
	writeRule("Probe A", "", "ProbeA")
	broker, ops := freePort(t), freePort(t)
	cfg := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`kafka:
  embedded: {listen: %q}
topics: {partitions: 1}
ops: {listen: %q}
log: {format: json}
rules:
  builtin: false
  paths: [%q]
apps:
  normalize: {sources: [cloudtrail]}
  detect: {datasets: [cloudtrail]}
sinks:
  console: {topics: [alerts], color: never}
`, broker, ops, rules)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, sc, stderr := start(t, "run", "--config", cfg)
	out := lines(sc)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + ops + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil never became ready:\n%s", stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	n := 0
	send := func(eventName string) {
		t.Helper()
		n++
		ev := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u","accountId":"111122223333","userName":"u"},"eventTime":"2026-11-02T10:00:%02dZ","eventSource":"ec2.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","sourceIPAddress":"198.51.100.1","eventID":"probe-%d","eventType":"AwsApiCall","recipientAccountId":"111122223333"}`, n, eventName, n)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "vigil.raw.cloudtrail", Value: []byte(ev)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	send("ProbeA")
	waitFor(t, out, regexp.MustCompile(`HIGH\s+Probe A\s+who=u`))

	// A change: the file watch reloads it in the detect app.
	writeRule("Probe B", "", "ProbeB")
	waitStderr(t, stderr, `"msg":"rules reloaded"`, 1)
	send("ProbeA")
	send("ProbeB")
	// The next alert is Probe B's: ProbeA no longer alerts.
	if l := waitFor(t, out, regexp.MustCompile(`Probe [ABC]`)); !regexp.MustCompile(`HIGH\s+Probe B\s+who=u .*action=ProbeB`).MatchString(l) {
		t.Errorf("after the reload: %s; want Probe B on ProbeB", l)
	}

	// A broken version, and SIGHUP: reported, and Probe B keeps running.
	writeRule("Probe C", "|nosuchmodifier", "ProbeC")
	time.Sleep(500 * time.Millisecond) // let the watch see it first, or not
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitStderr(t, stderr, `"msg":"SIGHUP: reloading rules"`, 1)
	waitStderr(t, stderr, `"msg":"rule not loaded; its previous version keeps running"`, 1)
	send("ProbeB")
	line := waitFor(t, out, regexp.MustCompile(`Probe [ABC]`))
	if !strings.Contains(line, "Probe B") {
		t.Errorf("after the broken reload: %s; want Probe B", line)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("vigil run after SIGTERM: %v\n%s", err, stderr)
	}
}
