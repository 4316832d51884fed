package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testRules = `title: Denied
id: 00000000-0000-4000-8000-000000000001
name: denied
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        errorCode: AccessDenied
    condition: selection
level: low
---
title: Three denials
id: 00000000-0000-4000-8000-000000000002
correlation:
    type: event_count
    rules: [denied]
    group-by: [userIdentity.arn]
    timespan: 10m
    condition: {gte: 3}
level: high
---
title: Big downloads
id: 00000000-0000-4000-8000-000000000003
name: download
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: GetObject
    condition: selection
---
title: Average download over 1000 bytes in an hour
id: 00000000-0000-4000-8000-000000000004
correlation:
    type: value_avg
    rules: [download]
    group-by: [sourceIPAddress]
    timespan: 1h
    condition: {field: additionalEventData.bytesTransferredOut, gt: 1000}
    generate: true
level: medium
`

// ctEvent is a raw CloudTrail record.
func ctEvent(id, at, name, arn, ip, errCode string, bytesOut int) string {
	extra := ""
	if errCode != "" {
		extra += fmt.Sprintf(`,"errorCode":%q`, errCode)
	}
	if bytesOut > 0 {
		extra += fmt.Sprintf(`,"additionalEventData":{"bytesTransferredOut":%d}`, bytesOut)
	}
	return fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":%q,"accountId":"111122223333","userName":"u"},"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","sourceIPAddress":%q,"userAgent":"aws-cli","eventID":%q,"eventType":"AwsApiCall","recipientAccountId":"111122223333"%s}`,
		arn, at, name, ip, id, extra)
}

// TestRulesTest runs rules offline over raw events, out of time order in
// two files, and over the same events normalized to ECS: a detection, an
// event_count that fires as the third denial arrives, and a value_avg
// judged when its hourly window closes, at the end of the input.
func TestRulesTest(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yml")
	alice, bob := "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/bob"
	a := strings.Join([]string{
		ctEvent("e3", "2026-11-02T10:04:00Z", "GetBucketPolicy", alice, "198.51.100.1", "AccessDenied", 0),
		ctEvent("e1", "2026-11-02T10:00:00Z", "ListBuckets", alice, "198.51.100.1", "AccessDenied", 0),
		ctEvent("d1", "2026-11-02T10:10:00Z", "GetObject", bob, "203.0.113.9", "", 900),
	}, "\n") + "\n"
	b := strings.Join([]string{
		ctEvent("e2", "2026-11-02T10:02:00Z", "ListUsers", alice, "198.51.100.1", "AccessDenied", 0),
		ctEvent("x1", "2026-11-02T10:03:00Z", "ListUsers", bob, "198.51.100.1", "AccessDenied", 0),
		ctEvent("d2", "2026-11-02T10:20:00Z", "GetObject", bob, "203.0.113.9", "", 1500),
		`{"eventVersion":`,
	}, "\n") + "\n"
	for name, body := range map[string]string{rules: testRules, filepath.Join(dir, "a.jsonl"): a, filepath.Join(dir, "b.jsonl"): b} {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code := runVigil(t, "rules", "test", "--rules", rules, "--events", filepath.Join(dir, "a.jsonl")+","+filepath.Join(dir, "b.jsonl"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "b.jsonl:4: ") {
		t.Errorf("the cut-off record is not reported: %q", stderr)
	}
	strip := func(s string) string { return strings.ReplaceAll(s, dir+string(filepath.Separator), "") }
	want := `{"rule_id":"00000000-0000-4000-8000-000000000002","rule_title":"Three denials","level":"high","group":{"userIdentity.arn":"arn:aws:iam::111122223333:user/alice"},"value":3,"window":{"start":"2026-11-02T09:54:00Z","end":"2026-11-02T10:04:00.001Z"},"events":["a.jsonl:2","b.jsonl:1","a.jsonl:1"]}
{"rule_id":"00000000-0000-4000-8000-000000000003","rule_title":"Big downloads","level":"medium","event":"a.jsonl:3"}
{"rule_id":"00000000-0000-4000-8000-000000000003","rule_title":"Big downloads","level":"medium","event":"b.jsonl:3"}
{"rule_id":"00000000-0000-4000-8000-000000000004","rule_title":"Average download over 1000 bytes in an hour","level":"medium","group":{"sourceIPAddress":"203.0.113.9"},"value":1200,"window":{"start":"2026-11-02T10:00:00Z","end":"2026-11-02T11:00:00Z"},"events":["a.jsonl:3","b.jsonl:3"]}
`
	if got := strip(out); got != want {
		t.Errorf("raw events:\n got %s\nwant %s", got, want)
	}

	// The same events, normalized to ECS first.
	ecsOut, stderr, code := runVigil(t, "normalize", "--source", "cloudtrail", filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl"))
	if code != 1 || ecsOut == "" {
		t.Fatalf("normalize: exit %d: %s", code, stderr)
	}
	ecsFile := filepath.Join(dir, "events.ecs.jsonl")
	if err := os.WriteFile(ecsFile, []byte(ecsOut), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = runVigil(t, "rules", "test", "--rules", rules, "--events", ecsFile)
	if code != 0 {
		t.Fatalf("ECS events: exit %d: %s", code, stderr)
	}
	// Origins are now lines of the ECS file: a.jsonl's three events, then
	// b.jsonl's.
	for i := 1; i <= 3; i++ {
		want = strings.ReplaceAll(want, fmt.Sprintf(`"a.jsonl:%d"`, i), fmt.Sprintf(`"events.ecs.jsonl:%d"`, i))
		want = strings.ReplaceAll(want, fmt.Sprintf(`"b.jsonl:%d"`, i), fmt.Sprintf(`"events.ecs.jsonl:%d"`, i+3))
	}
	if got := strip(out); got != want {
		t.Errorf("ECS events:\n got %s\nwant %s", got, want)
	}

	// Rules with errors: exit 1, each problem on standard error.
	if err := os.WriteFile(rules, []byte(strings.Replace(testRules, "errorCode: AccessDenied", "errorCode|nosuch: AccessDenied", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runVigil(t, "rules", "test", "--rules", rules, "--events", ecsFile); code != 1 || !strings.Contains(stderr, "rules.yml:7") {
		t.Errorf("broken rule: exit %d, stderr %q", code, stderr)
	}
	if _, _, code := runVigil(t, "rules", "test", "--rules", rules); code != 2 {
		t.Errorf("no events: exit %d, want 2", code)
	}
}
