package demo

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// The scripted scenario: an ordinary working day in two AWS accounts, during
// which someone who has stolen the production account's root password signs
// in, creates a backdoor administrator, and uses it from elsewhere to open
// the network, blind the logging and look for data. All addresses are from
// the documentation ranges (RFC 5737).
const (
	prodAccount  = "111122223333"
	devAccount   = "444455556666"
	attackerIP   = "203.0.113.77"
	attackerIP2  = "192.0.2.200"
	adminIP      = "198.51.100.10"
	backdoorUser = "backup-admin"
)

var scenarioDay = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

type employee struct {
	name, ip, account string
}

var employees = []employee{
	{"alice", "198.51.100.11", prodAccount},
	{"bob", "198.51.100.12", prodAccount},
	{"carol", "198.51.100.13", devAccount},
	{"dave", "198.51.100.14", devAccount},
	{"erin", "198.51.100.15", prodAccount},
}

type call struct {
	source, name string
	readOnly     bool
}

var routine = []call{
	{"ec2.amazonaws.com", "DescribeInstances", true},
	{"ec2.amazonaws.com", "DescribeSecurityGroups", true},
	{"ec2.amazonaws.com", "DescribeVpcs", true},
	{"s3.amazonaws.com", "ListBuckets", true},
	{"s3.amazonaws.com", "GetBucketLocation", true},
	{"sts.amazonaws.com", "GetCallerIdentity", true},
	{"lambda.amazonaws.com", "ListFunctions20150331", true},
	{"cloudwatch.amazonaws.com", "GetMetricData", true},
	{"logs.amazonaws.com", "DescribeLogGroups", true},
	{"ec2.amazonaws.com", "StartInstances", false},
	{"ec2.amazonaws.com", "StopInstances", false},
	{"ssm.amazonaws.com", "UpdateInstanceInformation", false},
}

// event is one CloudTrail record, encoded with sorted keys.
type event map[string]any

func newEvent(t time.Time, id int, source, name, region, ip, agent string, identity map[string]any, account string) event {
	return event{
		"eventVersion":       "1.08",
		"userIdentity":       identity,
		"eventTime":          t.UTC().Format(time.RFC3339),
		"eventSource":        source,
		"eventName":          name,
		"awsRegion":          region,
		"sourceIPAddress":    ip,
		"userAgent":          agent,
		"requestParameters":  nil,
		"responseElements":   nil,
		"requestID":          fmt.Sprintf("%08x-demo-4000-8000-%012x", id, id*7919),
		"eventID":            fmt.Sprintf("%08x-5ce0-4e1a-9d00-%012x", id, id*104729),
		"readOnly":           false,
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": account,
		"eventCategory":      "Management",
	}
}

func iamUser(account, name string) map[string]any {
	return map[string]any{
		"type":        "IAMUser",
		"principalId": "AIDA" + upperID(name),
		"arn":         "arn:aws:iam::" + account + ":user/" + name,
		"accountId":   account,
		"accessKeyId": "AKIA" + upperID(name+"key"),
		"userName":    name,
	}
}

func root(account string) map[string]any {
	return map[string]any{
		"type":        "Root",
		"principalId": account,
		"arn":         "arn:aws:iam::" + account + ":root",
		"accountId":   account,
		"accessKeyId": "",
	}
}

func upperID(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var h uint64 = 1469598103934665603
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	b := make([]byte, 16)
	for i := range b {
		b[i] = alphabet[h%32]
		h = h/32 + uint64(i)*2654435761
	}
	return string(b)
}

const browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// scenarioEvents returns the day's events: background work plus the attack.
// The same n gives the same events.
func scenarioEvents(n int) []event {
	rng := rand.New(rand.NewPCG(2026, 11))
	var evs []event
	id := 1
	next := func() int { id++; return id }

	// Morning sign-ins, with MFA.
	for i, e := range employees {
		t := scenarioDay.Add(8*time.Hour + time.Duration(i*7)*time.Minute)
		ev := newEvent(t, next(), "signin.amazonaws.com", "ConsoleLogin", "us-east-1", e.ip, browser, iamUser(e.account, e.name), e.account)
		ev["eventType"] = "AwsConsoleSignIn"
		ev["responseElements"] = map[string]any{"ConsoleLogin": "Success"}
		ev["additionalEventData"] = map[string]any{"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "Yes"}
		evs = append(evs, ev)
	}
	// Routine API calls between 08:00 and 18:00.
	for i := 0; i < n; i++ {
		e := employees[rng.IntN(len(employees))]
		c := routine[rng.IntN(len(routine))]
		t := scenarioDay.Add(8*time.Hour + time.Duration(rng.Int64N(int64(10*time.Hour))))
		region := []string{"us-east-1", "eu-west-1"}[rng.IntN(2)]
		agent := []string{"aws-cli/2.22.4 Python/3.12.6 Linux/6.8", "Boto3/1.35.70 Python/3.12.6", "terraform/1.9.8"}[rng.IntN(3)]
		ev := newEvent(t, next(), c.source, c.name, region, e.ip, agent, iamUser(e.account, e.name), e.account)
		ev["readOnly"] = c.readOnly
		if c.name == "StartInstances" || c.name == "StopInstances" {
			ev["requestParameters"] = map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": fmt.Sprintf("i-0%015x", rng.Uint64()>>4)}}}}
		}
		evs = append(evs, ev)
	}
	// An AWS service acting as the root user: the rule must not fire.
	svc := newEvent(scenarioDay.Add(3*time.Hour), next(), "health.amazonaws.com", "AWSHealthEvent", "us-east-1", "health.amazonaws.com", "health.amazonaws.com", root(prodAccount), prodAccount)
	svc["eventType"] = "AwsServiceEvent"
	evs = append(evs, svc)

	// The attack.
	at := func(h, m, s int) time.Time {
		return scenarioDay.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	login := func(t time.Time, ip, outcome, mfa string) event {
		ev := newEvent(t, next(), "signin.amazonaws.com", "ConsoleLogin", "us-east-1", ip, browser, root(prodAccount), prodAccount)
		ev["eventType"] = "AwsConsoleSignIn"
		ev["responseElements"] = map[string]any{"ConsoleLogin": outcome}
		ev["additionalEventData"] = map[string]any{"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": mfa}
		if outcome == "Failure" {
			ev["errorMessage"] = "Failed authentication"
		}
		return ev
	}
	evs = append(evs, login(at(9, 12, 7), attackerIP, "Failure", "No"), login(at(9, 12, 41), attackerIP, "Success", "No"))
	iam := func(t time.Time, name string, params map[string]any) event {
		ev := newEvent(t, next(), "iam.amazonaws.com", name, "us-east-1", attackerIP, browser, root(prodAccount), prodAccount)
		ev["requestParameters"] = params
		return ev
	}
	evs = append(evs,
		iam(at(9, 14, 2), "CreateUser", map[string]any{"userName": backdoorUser}),
		iam(at(9, 14, 30), "AttachUserPolicy", map[string]any{"userName": backdoorUser, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
		iam(at(9, 15, 11), "CreateAccessKey", map[string]any{"userName": backdoorUser}),
	)
	bd := iamUser(prodAccount, backdoorUser)
	by := func(t time.Time, source, name string, params map[string]any, errCode string) event {
		ev := newEvent(t, next(), source, name, "eu-west-1", attackerIP2, "aws-cli/2.22.4 Python/3.12.6 Linux/6.8", bd, prodAccount)
		ev["requestParameters"] = params
		if errCode != "" {
			ev["errorCode"] = errCode
			ev["errorMessage"] = "User: arn:aws:iam::" + prodAccount + ":user/" + backdoorUser + " is not authorized to perform this operation"
		}
		return ev
	}
	evs = append(evs,
		by(at(9, 21, 45), "ec2.amazonaws.com", "DescribeInstances", nil, ""),
		by(at(9, 22, 10), "ec2.amazonaws.com", "CreateNetworkAclEntry", map[string]any{"networkAclId": "acl-0a1b2c3d4e5f60718", "ruleNumber": 90, "egress": false, "ruleAction": "allow", "cidrBlock": "0.0.0.0/0", "protocol": "6", "portRange": map[string]any{"from": 22, "to": 22}}, ""),
		by(at(9, 22, 40), "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", map[string]any{"groupId": "sg-0123456789abcdef0", "ipPermissions": map[string]any{"items": []any{map[string]any{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}}}}}}, ""),
		by(at(9, 23, 5), "cloudtrail.amazonaws.com", "StopLogging", map[string]any{"name": "arn:aws:cloudtrail:eu-west-1:" + prodAccount + ":trail/org-trail"}, ""),
		by(at(9, 23, 30), "ec2.amazonaws.com", "DeleteFlowLogs", map[string]any{"flowLogIds": []any{"fl-0abc1234def567890"}}, ""),
		by(at(9, 24, 1), "s3.amazonaws.com", "ListBuckets", nil, ""),
		by(at(9, 24, 20), "s3.amazonaws.com", "GetBucketPolicy", map[string]any{"bucketName": "payroll-exports"}, "AccessDenied"),
		by(at(9, 24, 21), "kms.amazonaws.com", "Decrypt", nil, "AccessDenied"),
		by(at(9, 24, 40), "ec2.amazonaws.com", "RunInstances", map[string]any{"instanceType": "p4d.24xlarge"}, "Client.UnauthorizedOperation"),
	)
	// The real administrator notices and signs in as root, with MFA.
	evs = append(evs, login(at(9, 30, 2), adminIP, "Success", "Yes"))

	sort.SliceStable(evs, func(i, j int) bool { return evs[i]["eventTime"].(string) < evs[j]["eventTime"].(string) })
	return evs
}

// writeScenario writes the scenario as gzipped CloudTrail log files in
// CloudTrail's S3 key layout under dir, one file per account, region and
// five minutes, and returns the number of events written.
func writeScenario(dir string, background int) (int, error) {
	evs := scenarioEvents(background)
	type fileKey struct{ account, region, slot string }
	files := map[fileKey][]event{}
	for _, ev := range evs {
		t, _ := time.Parse(time.RFC3339, ev["eventTime"].(string))
		k := fileKey{ev["recipientAccountId"].(string), ev["awsRegion"].(string), t.Truncate(5 * time.Minute).Format("20060102T1504Z")}
		files[k] = append(files[k], ev)
	}
	for k, recs := range files {
		d := filepath.Join(dir, "AWSLogs", k.account, "CloudTrail", k.region, k.slot[:4], k.slot[4:6], k.slot[6:8])
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
		body, err := json.Marshal(map[string]any{"Records": recs})
		if err != nil {
			return 0, err
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return 0, err
		}
		name := fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", k.account, k.region, k.slot, upperID(k.account + k.region + k.slot)[:16])
		if err := os.WriteFile(filepath.Join(d, name), buf.Bytes(), 0o644); err != nil {
			return 0, err
		}
	}
	return len(evs), nil
}

// writeBadInput writes input that vigil must report without stopping: a
// JSON lines file with one line cut short between good ones, and a file that
// is not JSON at all.
func writeBadInput(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var lines bytes.Buffer
	for i, e := range employees[:3] {
		ev := newEvent(scenarioDay.Add(17*time.Hour+time.Duration(i)*time.Minute), 900000+i, "s3.amazonaws.com", "ListBuckets", "us-east-1", e.ip, "aws-cli/2.22.4", iamUser(e.account, e.name), e.account)
		b, _ := json.Marshal(ev)
		if i == 1 {
			b = b[:len(b)/2] // the writer died mid-line
		}
		lines.Write(b)
		lines.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "export-truncated.jsonl"), lines.Bytes(), 0o644); err != nil {
		return err
	}
	notes := "Incident notes, 2026-11-02\n- rotate the root password\n- remove backup-admin\n"
	return os.WriteFile(filepath.Join(dir, "notes.txt"), []byte(notes), 0o644)
}
