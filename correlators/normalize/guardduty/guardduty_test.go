package guardduty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/schemas"
)

// elasticLines are the findings of Elastic's pipeline test log, one per
// line, without the last line (an empty GetFindings response).
func elasticLines(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, l := range bytes.Split(readFile(t, elasticLog), []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 && !bytes.HasPrefix(l, []byte(`{"findings"`)) {
			out = append(out, l)
		}
	}
	if len(out) != 5 {
		t.Fatalf("%s: %d findings, want 5", elasticLog, len(out))
	}
	return out
}

// craftedLines are the findings of testdata/findings.json, written for
// these tests from the documented finding format (see testdata/README.md).
func craftedLines(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, l := range bytes.Split(readFile(t, "testdata/findings.json"), []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	if len(out) != 6 {
		t.Fatalf("testdata/findings.json: %d findings, want 6", len(out))
	}
	return out
}

// minimal is the least a finding needs.
const minimal = `{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","id":"f1",` +
	`"type":"Recon:EC2/PortProbeUnprotectedPort","severity":2,"updatedAt":"2024-05-01T10:00:00.000Z"}`

// envelope wraps a finding in an EventBridge event, as the GuardDuty user
// guide shows it (guardduty_findings_cloudwatch_block01.json-ish.txt).
func envelope(detailType, detail string) string {
	return `{"version":"0","id":"cd2d702e-ab31-411b-9344-793ce56b1bc7","detail-type":` + quote(detailType) +
		`,"source":"aws.guardduty","account":"111122223333","time":"1970-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":` + detail + `}`
}

// sns wraps a message in an SNS notification.
func sns(message string) string {
	return `{"Type":"Notification","MessageId":"9101dc6b-726f-4df0-8646-ec2f94e674bc","TopicArn":"arn:aws:sns:us-east-1:111122223333:findings",` +
		`"Message":` + quote(message) + `,"Timestamp":"2024-05-01T10:00:01.000Z"}`
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// crafted seed the robustness and fuzz tests with every form.
var crafted = []string{
	minimal,
	envelope(DetailType, minimal),
	sns(envelope(DetailType, minimal)),
	`{"findings":[` + minimal + `,` + minimal + `]}`,
	`[` + minimal + `,{"id":"x"}]`,
	minimal + "\n" + minimal + "\n",
}

// decode runs the decoder and checks what must hold of every result.
func decode(t *testing.T, raw string, keep bool) ([]*ecs.Event, error) {
	t.Helper()
	evs, err := Decoder{}.Decode([]byte(raw), normalize.Meta{Origin: "test", KeepOriginal: keep})
	var pe *normalize.PartialError
	if err != nil && !errors.As(err, &pe) && len(evs) > 0 {
		t.Errorf("Decode returned %d events with the error %v", len(evs), err)
	}
	if err == nil && len(evs) == 0 {
		t.Errorf("Decode returned no event and no error")
	}
	for _, ev := range evs {
		normalizetest.CheckEvent(t, "test", ev)
		if !keep && ev.Event.Original != "" {
			t.Errorf("event.original set without KeepOriginal")
		}
	}
	return evs, err
}

func decodeOne(t *testing.T, raw string) *ecs.Event {
	t.Helper()
	evs, err := decode(t, raw, false)
	if err != nil || len(evs) != 1 {
		t.Fatalf("Decode = %d events, %v; want 1 event", len(evs), err)
	}
	return evs[0]
}

func ts(t *testing.T, tm *time.Time) string {
	t.Helper()
	if tm == nil {
		return ""
	}
	return tm.Format(time.RFC3339Nano)
}

func TestRegistered(t *testing.T) {
	d, ok := normalize.Lookup("guardduty")
	if !ok {
		t.Fatal("no decoder registered for guardduty")
	}
	if d.Dataset() != "guardduty" {
		t.Errorf("Dataset() = %q", d.Dataset())
	}
}

// TestElasticLog checks the mapping of the findings of Elastic's pipeline
// test, one by one.
func TestElasticLog(t *testing.T) {
	type want struct {
		id, ts, created, action, rule, ruleset, category string
		severity                                         int
		resType, resID, resName                          string
		userName, userID                                 string
		srcIP                                            string
		relatedIP, relatedUser, relatedHosts             []string
		tactic                                           string
	}
	wants := []want{
		{
			id: "d6012345678912345678912349f831b8f", ts: "2022-11-22T12:22:20.934Z", created: "2022-11-17T09:33:19.224Z",
			action: "DNS_REQUEST", rule: "Trojan:EC2/BlackholeTraffic!DNS", ruleset: "Trojan:EC2", category: "Trojan", severity: 5,
			resType: "Instance", resID: "i-99999999",
			relatedIP: []string{"175.16.199.1"}, relatedHosts: []string{"GeneratedFindingDomainName"},
		},
		{
			id: "250023a9abcdefabcdef12345678", ts: "2022-11-22T12:22:20.935Z", created: "2022-11-17T09:33:19.225Z",
			action: "KUBERNETES_API_CALL", rule: "Persistence:Kubernetes/SuccessfulAnonymousAccess", ruleset: "Persistence:Kubernetes", category: "Persistence", severity: 8,
			resType: "EKSCluster", resID: "GeneratedFindingEKSClusterName", resName: "GeneratedFindingEKSClusterName",
			userName: "system:anonymous", userID: "GeneratedFindingUID", srcIP: "175.16.199.1",
			relatedIP: []string{"175.16.199.1"}, relatedUser: []string{"GeneratedFindingUID", "system:anonymous"},
			tactic: "TA0003",
		},
		{
			id: "43b6abcdeabcdeabcde1234562176924", ts: "2022-11-22T12:22:20.938Z", created: "2022-11-17T09:33:19.228Z",
			action: "KUBERNETES_API_CALL", rule: "Discovery:Kubernetes/TorIPCaller", ruleset: "Discovery:Kubernetes", category: "Discovery", severity: 5,
			resType: "EKSCluster", resID: "GeneratedFindingEKSClusterName", resName: "GeneratedFindingEKSClusterName",
			userName: "GeneratedFindingUserName", userID: "GeneratedFindingPrincipalId", srcIP: "175.16.199.1",
			relatedIP: []string{"175.16.199.1"}, relatedUser: []string{"GeneratedFindingPrincipalId", "GeneratedFindingUserName", "GeneratedFindingUID"},
			tactic: "TA0007",
		},
		{
			id: "5abcdefabcdefabcdef2a123456789f6", ts: "2022-12-07T10:28:35.948Z", created: "2022-12-07T10:28:35.948Z",
			action: "RDS_LOGIN_ATTEMPT", rule: "CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin", ruleset: "CredentialAccess:RDS", category: "CredentialAccess", severity: 8,
			resType: "RDSDBInstance", resID: "GeneratedFindingDBInstanceId", resName: "GeneratedFindingDBInstanceId",
			userName: "GeneratedFindingUserName", srcIP: "175.16.199.1",
			relatedIP: []string{"175.16.199.1"}, relatedUser: []string{"GeneratedFindingUserName"},
			tactic: "TA0006",
		},
		{
			id: "abcd1234", ts: "2024-10-04T04:09:13.066Z", created: "2024-07-24T04:06:10.359Z",
			rule: "PrivilegeEscalation:Runtime/DockerSocketAccessed", ruleset: "PrivilegeEscalation:Runtime", category: "PrivilegeEscalation", severity: 5,
			resType: "Container", resID: "abcd1234",
			relatedIP: []string{"10.30.30.15", "216.160.83.56"},
			tactic:    "TA0004",
		},
	}
	for i, raw := range elasticLines(t) {
		w := wants[i]
		t.Run(w.id, func(t *testing.T) {
			ev := decodeOne(t, string(raw))
			check := func(field string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", field, got, want)
				}
			}
			check("@timestamp", ts(t, &ev.Timestamp), w.ts)
			check("event.created", ts(t, ev.Event.Created), w.created)
			check("event.id", ev.Event.ID, w.id)
			check("event.kind", ev.Event.Kind, "alert")
			check("event.type", ev.Event.Type, []string{"info"})
			check("event.category", ev.Event.Category, []string(nil))
			check("event.dataset, module", ev.Event.Dataset+" "+ev.Event.Module, "aws.guardduty aws")
			check("event.action", ev.Event.Action, w.action)
			check("event.severity", ev.Event.Severity, w.severity)
			check("rule", *ev.Rule, ecs.Rule{Name: w.rule, Ruleset: w.ruleset, Category: w.category})
			check("cloud.provider", ev.Cloud.Provider, "aws")
			check("cloud.service.name", ev.Cloud.Service, &ecs.CloudService{Name: "guardduty"})
			check("resource.type", ev.Resource.Type, w.resType)
			check("resource.id", ev.Resource.ID, w.resID)
			check("resource.name", ev.Resource.Name, w.resName)
			var userName, userID, srcIP string
			if ev.User != nil {
				userName, userID = ev.User.Name, ev.User.ID
			}
			if ev.Source != nil {
				srcIP = ev.Source.IP
			}
			check("user.name", userName, w.userName)
			check("user.id", userID, w.userID)
			check("source.ip", srcIP, w.srcIP)
			check("related.ip", ev.Related.IP, w.relatedIP)
			check("related.user", ev.Related.User, w.relatedUser)
			check("related.hosts", ev.Related.Hosts, w.relatedHosts)
			var tactic string
			if ev.Threat != nil {
				tactic = ev.Threat.Tactic.ID[0]
				check("threat.framework", ev.Threat.Framework, "MITRE ATT&CK")
			}
			check("threat.tactic.id", tactic, w.tactic)
			if ev.Message == "" || ev.Message != ev.AWS.GuardDuty.Description {
				t.Errorf("message = %q, want the description", ev.Message)
			}
		})
	}
}

// TestElasticLogDetails checks fields the table leaves out.
func TestElasticLogDetails(t *testing.T) {
	lines := elasticLines(t)
	t.Run("dns request", func(t *testing.T) {
		ev := decodeOne(t, string(lines[0]))
		d := ev.AWS.GuardDuty.Service.Action.DNSRequestAction
		if d == nil || d.Domain != "GeneratedFindingDomainName" || d.Protocol != "UDP" || d.Blocked == nil || !*d.Blocked {
			t.Errorf("dns_request_action = %+v", d)
		}
		if ev.Network == nil || ev.Network.Transport != "udp" {
			t.Errorf("network = %+v, want transport udp", ev.Network)
		}
		if ev.Host == nil || ev.Host.ID != "i-99999999" || ev.Cloud.Instance == nil || ev.Cloud.Instance.ID != "i-99999999" {
			t.Errorf("host %+v, cloud.instance %+v", ev.Host, ev.Cloud.Instance)
		}
		in := ev.AWS.GuardDuty.Resource.InstanceDetails
		if in.Instance.Type != "m3.xlarge" || len(in.Tags) != 9 || in.NetworkInterfaces[0].Public.IP != "175.16.199.1" ||
			in.NetworkInterfaces[0].SecurityGroups[0].Group.ID != "GeneratedFindingSecurityId" || in.ProductCodes[0].ProductCode.ID != "GeneratedFindingProductCodeId" {
			t.Errorf("instance_details = %+v", in)
		}
		if got := ts(t, in.LaunchTime); got != "2016-08-02T02:05:06Z" {
			t.Errorf("launch_time = %s", got)
		}
		if s := ev.AWS.GuardDuty.Severity; s == nil || s.Code != 5 || s.Value != "Medium" {
			t.Errorf("severity = %+v", s)
		}
	})
	t.Run("EKS creation time in UNIX seconds", func(t *testing.T) {
		ev := decodeOne(t, string(lines[1]))
		if got := ts(t, ev.AWS.GuardDuty.Resource.EKSClusterDetails.CreatedAt); got != "2021-11-11T10:15:55.218Z" {
			t.Errorf("eks_cluster_details.created_at = %s, want 2021-11-11T10:15:55.218Z (1636625755.218)", got)
		}
		if ev.AWS.GuardDuty.Service.Evidence != nil {
			t.Errorf("evidence null gave %+v", ev.AWS.GuardDuty.Service.Evidence)
		}
		if g := ev.Source.Geo; g == nil || g.CityName != "GeneratedFindingCityName" || g.Location == nil {
			t.Errorf("source.geo = %+v", g)
		}
		if ev.Source.AS == nil || ev.Source.AS.Organization.Name != "GeneratedFindingASNOrg" || ev.Source.AS.Number != 0 {
			t.Errorf("source.as = %+v (ASN 0 is no AS number)", ev.Source.AS)
		}
	})
	t.Run("runtime monitoring", func(t *testing.T) {
		ev := decodeOne(t, string(lines[4]))
		if ev.Event.Action != "" || ev.AWS.GuardDuty.Service.Action != nil {
			t.Errorf("an empty action gave event.action %q, %+v", ev.Event.Action, ev.AWS.GuardDuty.Service.Action)
		}
		p := ev.Process
		if p == nil || p.PID != 2345 || p.Name != "sshd" || p.Executable != "/usr/bin/ssh" || p.WorkingDirectory != "/home/user" ||
			p.User == nil || p.User.Name != "admin" || p.User.ID != "1000" {
			t.Errorf("process = %+v", p)
		}
		if ev.Network == nil || ev.Network.IANANumber != "6" {
			t.Errorf("network = %+v, want iana_number 6", ev.Network)
		}
		rt := ev.AWS.GuardDuty.Service.RuntimeDetails
		if got := ts(t, rt.Process.StartTime); got != "2024-10-04T04:06:30.3773646Z" {
			t.Errorf("start_time = %s", got)
		}
		if rt.Context.SocketPath != "/var/run/docker.sock" || rt.Context.TargetProcess == nil || ts(t, rt.Context.ModifiedAt) != "2024-10-07T18:45:30Z" {
			t.Errorf("context = %+v", rt.Context)
		}
		if c := ev.Container; c == nil || c.ID != "abcd1234" || c.Runtime != "docker" || c.Image == nil {
			t.Errorf("container = %+v", c)
		}
		if ev.AWS.GuardDuty.Service.FeatureName != "RuntimeMonitoring" {
			t.Errorf("feature_name = %q", ev.AWS.GuardDuty.Service.FeatureName)
		}
	})
}

// TestElasticSample decodes the finding of Elastic's sample_event.json
// (its event.original) and checks that the result agrees with Elastic's
// document: every aws.guardduty field, and the ECS fields both fill.
func TestElasticSample(t *testing.T) {
	var sample map[string]any
	if err := json.Unmarshal(readFile(t, elasticSample), &sample); err != nil {
		t.Fatal(err)
	}
	original := sample["event"].(map[string]any)["original"].(string)
	ev := decodeOne(t, original)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var ours map[string]any
	if err := json.Unmarshal(b, &ours); err != nil {
		t.Fatal(err)
	}
	// aws.guardduty: the same fields and values.
	sameJSON(t, "aws.guardduty", get(ours, "aws", "guardduty"), get(sample, "aws", "guardduty"))
	// ECS fields: where Elastic writes a list, vigil writes its one value.
	for _, path := range [][]string{
		{"@timestamp"}, {"message"}, {"ecs", "version"},
		{"event", "id"}, {"event", "action"}, {"event", "created"}, {"event", "dataset"}, {"event", "severity"}, {"event", "type"},
		{"cloud"}, {"rule"}, {"related"},
		{"source", "address"}, {"source", "ip"}, {"source", "geo", "city_name"}, {"source", "geo", "country_name"}, {"source", "geo", "location"},
		{"source", "as", "organization", "name"},
		{"user", "name"}, {"user", "id"},
	} {
		want := get(sample, path...)
		if l, ok := want.([]any); ok && len(l) > 0 && path[0] != "related" && path[1] != "type" {
			want = l[0] // Elastic's list of one value; event.kind is a list too
		}
		sameJSON(t, strings.Join(path, "."), get(ours, path...), want)
	}
	// Elastic's sample says event.kind "event"; its pipeline now sets
	// "alert", as vigil does.
	if ev.Event.Kind != "alert" {
		t.Errorf("event.kind = %q", ev.Event.Kind)
	}
}

func get(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

// sameJSON compares decoded JSON values, taking strings that are the same
// instant in RFC 3339 as equal (Elastic writes .000 milliseconds, Go does
// not).
func sameJSON(t *testing.T, path string, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s = %#v, want an object", path, got)
			return
		}
		for k := range w {
			sameJSON(t, path+"."+k, g[k], w[k])
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				t.Errorf("%s.%s = %#v, which Elastic does not have", path, k, g[k])
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s = %#v, want %#v", path, got, want)
			return
		}
		for i := range w {
			sameJSON(t, fmt.Sprintf("%s[%d]", path, i), g[i], w[i])
		}
	case string:
		g, _ := got.(string)
		if g == w {
			return
		}
		gt, err1 := time.Parse(time.RFC3339Nano, g)
		wt, err2 := time.Parse(time.RFC3339Nano, w)
		if err1 != nil || err2 != nil || !gt.Equal(wt) {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	default:
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
}

// TestCrafted checks the action types the corpus lacks, on the findings of
// testdata/findings.json.
func TestCrafted(t *testing.T) {
	lines := craftedLines(t)
	t.Run("inbound connection", func(t *testing.T) {
		ev := decodeOne(t, string(lines[0]))
		src, dst := ev.Source, ev.Destination
		if src == nil || src.IP != "199.241.229.197" || src.Port != 46717 || src.Geo == nil || src.Geo.CountryISOCode != "US" ||
			src.Geo.Location == nil || src.Geo.Location.Lat != 42.5122 || src.AS == nil || src.AS.Number != 209 {
			t.Errorf("source = %+v", src)
		}
		if dst == nil || dst.IP != "172.31.43.6" || dst.Port != 22 || dst.Geo != nil {
			t.Errorf("destination = %+v", dst)
		}
		if ev.Network == nil || ev.Network.Direction != "inbound" || ev.Network.Transport != "tcp" {
			t.Errorf("network = %+v", ev.Network)
		}
		if !reflect.DeepEqual(ev.Related.IP, []string{"172.31.43.6", "18.234.130.16", "199.241.229.197"}) {
			t.Errorf("related.ip = %q", ev.Related.IP)
		}
		if ev.Resource.ID != "i-0c10c2c7863d1a356" || ev.Resource.Name != "kubectl" || ev.Resource.Region != "us-east-1" {
			t.Errorf("resource = %+v", ev.Resource)
		}
		if ev.Event.Severity != 2 || ev.AWS.GuardDuty.Severity.Value != "Low" {
			t.Errorf("severity %d, %+v", ev.Event.Severity, ev.AWS.GuardDuty.Severity)
		}
		if ev.Threat != nil {
			t.Errorf("UnauthorizedAccess is no ATT&CK tactic, threat = %+v", ev.Threat)
		}
		nc := ev.AWS.GuardDuty.Service.Action.NetworkConnectionAction
		if nc.LocalPortDetails.Port.Name != "SSH" || *nc.RemotePortDetails.Port.Value != 46717 || nc.Transport != "TCP" || nc.ConnectionDirection != "INBOUND" {
			t.Errorf("network_connection_action = %+v", nc)
		}
	})
	t.Run("outbound connection", func(t *testing.T) {
		ev := decodeOne(t, string(lines[1]))
		if ev.Source == nil || ev.Source.IP != "10.0.1.12" || ev.Source.Port != 49152 || ev.Source.Geo != nil {
			t.Errorf("source = %+v", ev.Source)
		}
		if ev.Destination == nil || ev.Destination.IP != "203.0.113.50" || ev.Destination.Port != 9001 || ev.Destination.Geo.CityName != "Frankfurt am Main" {
			t.Errorf("destination = %+v", ev.Destination)
		}
		if ev.Network.Direction != "outbound" || ev.Event.Severity != 8 || ev.AWS.GuardDuty.Severity.Value != "High" {
			t.Errorf("network %+v, severity %d", ev.Network, ev.Event.Severity)
		}
		ev2 := ev.AWS.GuardDuty.Service.Evidence
		if ev2 == nil || ev2.ThreatIntelligenceDetails[0].Threat.ListName != "ProofPoint" || ev2.ThreatIntelligenceDetails[0].Threat.Names != nil {
			t.Errorf("evidence = %+v", ev2)
		}
	})
	t.Run("port probe", func(t *testing.T) {
		ev := decodeOne(t, string(lines[2]))
		if ev.Source == nil || ev.Source.IP != "192.0.2.77" || ev.Source.Port != 0 {
			t.Errorf("source = %+v (the first prober)", ev.Source)
		}
		if ev.Destination == nil || ev.Destination.IP != "172.31.43.6" || ev.Destination.Port != 3389 {
			t.Errorf("destination = %+v", ev.Destination)
		}
		if !reflect.DeepEqual(ev.Related.IP, []string{"172.31.43.6", "18.234.130.16", "192.0.2.77", "192.0.2.78"}) {
			t.Errorf("related.ip = %q", ev.Related.IP)
		}
		if len(ev.AWS.GuardDuty.Service.Action.PortProbeAction.PortProbeDetails) != 2 {
			t.Errorf("port_probe_details = %+v", ev.AWS.GuardDuty.Service.Action.PortProbeAction)
		}
		if ev.Threat == nil || ev.Threat.Tactic.Name[0] != "Reconnaissance" {
			t.Errorf("threat = %+v", ev.Threat)
		}
	})
	t.Run("API call by an access key", func(t *testing.T) {
		ev := decodeOne(t, string(lines[3]))
		if ev.User == nil || ev.User.Name != "app-role" || ev.User.ID != "AROAEXAMPLEID:i-0f1e2d3c4b5a69788" {
			t.Errorf("user = %+v", ev.User)
		}
		if ev.Resource.Type != "AccessKey" || ev.Resource.ID != "ASIAIOSFODNN7EXAMPLE" || ev.Resource.Name != "app-role" {
			t.Errorf("resource = %+v", ev.Resource)
		}
		if ev.Event.Provider != "ec2.amazonaws.com" || ev.Event.Action != "AWS_API_CALL" || ev.Source.IP != "198.51.100.200" {
			t.Errorf("event.provider %q, action %q, source %+v", ev.Event.Provider, ev.Event.Action, ev.Source)
		}
		if ev.UserAgent == nil || !strings.HasPrefix(ev.UserAgent.Original, "aws-cli/2.15.30") {
			t.Errorf("user_agent = %+v", ev.UserAgent)
		}
		if ev.AWS.GuardDuty.Service.Action.AWSAPICallAction.AffectedResources != nil {
			t.Errorf("an empty affectedResources was kept")
		}
	})
	t.Run("S3 bucket", func(t *testing.T) {
		ev := decodeOne(t, string(lines[4]))
		if ev.Resource.Type != "S3Bucket" || ev.Resource.ID != "example-reports" {
			t.Errorf("resource = %+v", ev.Resource)
		}
		b := ev.AWS.GuardDuty.Resource.S3BucketDetails[0]
		if ts(t, b.CreatedAt) != "2022-05-05T10:40:00.5Z" || b.Owner.ID == "" || b.PublicAccess == nil || b.DefaultServerSideEncryption.EncryptionType != "AES256" {
			t.Errorf("s3_bucket_details = %+v", b)
		}
		if !reflect.DeepEqual(ev.Related.User, []string{"AIDAEXAMPLEALICE", "alice", b.Owner.ID}) {
			t.Errorf("related.user = %q", ev.Related.User)
		}
		if ar, ok := ev.AWS.GuardDuty.Service.Action.AWSAPICallAction.AffectedResources.(map[string]any); !ok || ar["AWS::S3::Bucket"] != "example-reports" {
			t.Errorf("affected_resources = %#v", ev.AWS.GuardDuty.Service.Action.AWSAPICallAction.AffectedResources)
		}
	})
	t.Run("unmapped details", func(t *testing.T) {
		ev := decodeOne(t, string(lines[5]))
		fl := ev.AWS.GuardDuty.Flattened
		if fl == nil || fl.Resource["lambdaDetails"] == nil || fl.Service["detection"] == nil || fl.Action != nil {
			t.Fatalf("flattened = %+v", fl)
		}
		if ev.AWS.GuardDuty.Service.UserFeedback != "USEFUL" {
			t.Errorf("user_feedback = %q", ev.AWS.GuardDuty.Service.UserFeedback)
		}
		if ev.Resource.Type != "Lambda" || ev.Resource.ID != "report-builder" {
			t.Errorf("resource = %+v", ev.Resource)
		}
		if ev.Destination.Port != 443 || ev.Source.Port != 40422 {
			t.Errorf("source %+v, destination %+v", ev.Source, ev.Destination)
		}
	})
}

// TestForms checks every form a finding comes in.
func TestForms(t *testing.T) {
	lines := elasticLines(t)
	first := string(lines[0])
	ids := func(evs []*ecs.Event) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Event.ID)
		}
		return out
	}
	all := []string{"d6012345678912345678912349f831b8f", "250023a9abcdefabcdef12345678", "43b6abcdeabcdeabcde1234562176924", "5abcdefabcdefabcdef2a123456789f6", "abcd1234"}
	tests := []struct {
		name string
		raw  string
		ids  []string
	}{
		{"one finding", first, all[:1]},
		{"EventBridge", envelope(DetailType, first), all[:1]},
		{"EventBridge via SNS", sns(envelope(DetailType, first)), all[:1]},
		{"finding via SNS", sns(first), all[:1]},
		{"GetFindings response", `{"findings":[` + string(bytes.Join(lines, []byte(","))) + `]}`, all},
		{"array", `[` + string(bytes.Join(lines, []byte(",\n"))) + `]`, all},
		{"JSON lines", string(bytes.Join(lines, []byte("\n"))) + "\n", all},
		{"JSON lines with CRLF", string(bytes.Join(lines, []byte("\r\n"))), all},
		{"pretty-printed findings", indent(t, lines[0]) + "\n" + indent(t, lines[1]), all[:2]},
		{"array of EventBridge events", `[` + envelope(DetailType, first) + `,` + envelope(DetailType, string(lines[1])) + `]`, all[:2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := decode(t, tc.raw, true)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := ids(evs); !reflect.DeepEqual(got, tc.ids) {
				t.Errorf("event ids = %q, want %q", got, tc.ids)
			}
		})
	}
}

func indent(t *testing.T, b []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestKeepOriginal(t *testing.T) {
	lines := elasticLines(t)
	t.Run("EventBridge keeps the envelope", func(t *testing.T) {
		raw := envelope(DetailType, string(lines[0]))
		evs, err := decode(t, raw, true)
		if err != nil || evs[0].Event.Original != raw {
			t.Errorf("event.original = %q, %v", evs[0].Event.Original, err)
		}
	})
	t.Run("each item keeps its own bytes", func(t *testing.T) {
		evs, err := decode(t, string(lines[0])+"\n"+string(lines[1]), true)
		if err != nil || len(evs) != 2 || evs[0].Event.Original != string(lines[0]) || evs[1].Event.Original != string(lines[1]) {
			t.Errorf("Decode = %d events, %v", len(evs), err)
		}
	})
	t.Run("off", func(t *testing.T) {
		if ev := decodeOne(t, string(lines[0])); ev.Event.Original != "" {
			t.Errorf("event.original = %q", ev.Event.Original)
		}
	})
}

// with returns the minimal finding with members replaced (nil deletes).
func with(t *testing.T, members map[string]any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(minimal), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range members {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string // in the error message
	}{
		{"wrong detail-type", envelope("Macie Finding", minimal), `detail-type "Macie Finding" is not a GuardDuty finding`},
		{"CloudTrail event", envelope("AWS API Call via CloudTrail", `{"eventName":"x"}`), `detail-type "AWS API Call via CloudTrail"`},
		{"event pattern", readCorpusString(t, "guardduty_findings_cloudwatch_block05.json"), "event pattern"},
		{"no detail", `{"detail-type":"GuardDuty Finding","source":"aws.guardduty"}`, "no detail"},
		{"null detail", `{"detail-type":"GuardDuty Finding","detail":null}`, "no detail"},
		{"detail not an object", `{"detail-type":"GuardDuty Finding","detail":[1]}`, "JSON array where a GuardDuty finding object belongs"},
		{"detail-type not a string", `{"detail-type":7,"detail":{}}`, "detail-type: JSON number"},
		{"detail without id", envelope(DetailType, with(t, map[string]any{"id": nil})), "EventBridge detail: GuardDuty finding has no id"},
		{"missing id", with(t, map[string]any{"id": nil}), "no id"},
		{"empty id", with(t, map[string]any{"id": ""}), "no id"},
		{"bad time", with(t, map[string]any{"updatedAt": "yesterday"}), `updatedAt "yesterday" is neither an RFC 3339 time nor UNIX seconds`},
		{"bad creation time", with(t, map[string]any{"createdAt": "2024-13-01T00:00:00Z"}), "createdAt"},
		{"time out of range", with(t, map[string]any{"updatedAt": 1e12}), "updatedAt 1000000000000 is out of range"},
		{"zero time", with(t, map[string]any{"updatedAt": "0001-01-01T00:00:00Z"}), `updatedAt "0001-01-01T00:00:00Z" is out of range`},
		{"time of the wrong type", with(t, map[string]any{"updatedAt": true}), "updatedAt true is neither"},
		{"no time", with(t, map[string]any{"updatedAt": nil}), "neither updatedAt nor createdAt"},
		{"bad nested time", with(t, map[string]any{"service": map[string]any{"eventFirstSeen": "soon"}}), `service.eventFirstSeen "soon"`},
		{"wrong type", with(t, map[string]any{"severity": "high"}), "field severity: JSON string where a float64 belongs"},
		{"wrong nested type", with(t, map[string]any{"service": map[string]any{"count": "2"}}), "field service.count"},
		{"not a finding", `{"severity":"$.detail.severity","Account_ID":"$.detail.accountId"}`, "not a GuardDuty finding: no id, type, schemaVersion or accountId (fields: Account_ID, severity)"},
		{"Macie finding", `{"id":"m","type":"SensitiveData:S3Object/Personal","severity":{"score":2},"resourcesAffected":{}}`, "a Macie finding"},
		{"Security Hub finding", readCorpusString(t, "securityhub-integration_block01.json"), "Security Hub"},
		{"CloudTrail file", `{"Records":[]}`, "CloudTrail log file"},
		{"Elastic's document", string(readFile(t, elasticSample)), "an ECS document"},
		{"empty", " \n", "empty record"},
		{"string", `"finding"`, "JSON string where a GuardDuty finding object belongs"},
		{"number", `5`, "JSON number where"},
		{"null", `null`, "JSON null where"},
		{"text", `AWS sns --region us-west-2 subscribe`, "invalid JSON"},
		{"truncated", minimal[:40], "invalid JSON"},
		{"placeholder", readCorpusString(t, "guardduty_findings_cloudwatch_block01.json-ish.txt"), "invalid JSON"},
		{"bad findings list", `{"findings":{"id":"x"}}`, "findings: JSON object where"},
		{"SNS message not JSON", sns("hello"), "SNS Message: invalid JSON"},
		{"SNS of the wrong detail-type", sns(envelope("Macie Finding", minimal)), `SNS Message: EventBridge detail-type "Macie Finding"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := decode(t, tc.raw, true)
			if err == nil {
				t.Fatalf("Decode returned %d events and no error", len(evs))
			}
			var pe *normalize.PartialError
			if errors.Is(err, normalize.ErrSkipped) || errors.As(err, &pe) {
				t.Fatalf("Decode: %v; want a plain error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func readCorpusString(t *testing.T, name string) string {
	return string(readFile(t, userGuide+name))
}

func TestSkipped(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"new finding types", readCorpusString(t, "guardduty_sns_block03.json"), "announcement (NEW_FINDINGS)"},
		{"new features via SNS", readCorpusString(t, "guardduty_sns_block04.json"), "announcement (NEW_FEATURES)"},
		{"empty GetFindings response", `{"findings": []}`, "GetFindings response with no findings"},
		{"empty array", ` [ ] `, "empty JSON array"},
		{"array of announcements", `[` + readCorpusString(t, "guardduty_sns_block05.json") + `]`, "every item: [0]"},
		{"SNS subscription", `{"Type":"SubscriptionConfirmation","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":"confirm"}`, "SubscriptionConfirmation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := decode(t, tc.raw, true)
			if !errors.Is(err, normalize.ErrSkipped) || len(evs) > 0 {
				t.Fatalf("Decode = %d events, %v; want normalize.ErrSkipped", len(evs), err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestPartial checks that one bad finding among several fails alone.
func TestPartial(t *testing.T) {
	lines := elasticLines(t)
	good0, good1 := string(lines[0]), string(lines[1])
	bad := with(t, map[string]any{"updatedAt": "yesterday"})
	tests := []struct {
		name     string
		raw      string
		goodIDs  []string
		badPath  string
		badIndex int
		badRaw   string
		want     string
	}{
		{"array", `[` + good0 + `,` + bad + `,` + good1 + `]`, []string{"d6012345678912345678912349f831b8f", "250023a9abcdefabcdef12345678"}, "[1]", 1, bad, "yesterday"},
		{"array with a non-object", `[` + good0 + `,"text"]`, []string{"d6012345678912345678912349f831b8f"}, "[1]", 1, `"text"`, "JSON string where"},
		{"invalid array", `[` + good0 + `,{"id":"x","a":tru}]`, []string{"d6012345678912345678912349f831b8f"}, "[1]", 1, `{"id":"x","a":tru}`, "invalid JSON"},
		{"JSON lines", good0 + "\n" + bad + "\n" + good1 + "\n", []string{"d6012345678912345678912349f831b8f", "250023a9abcdefabcdef12345678"}, "line 2", 1, bad, "yesterday"},
		{"JSON lines with a broken line", good0 + "\n{\"id\":\n", []string{"d6012345678912345678912349f831b8f"}, "line 2", 1, `{"id":`, "invalid JSON"},
		{"GetFindings response", `{"findings":[` + bad + `,` + good1 + `]}`, []string{"250023a9abcdefabcdef12345678"}, "findings[0]", 0, bad, "yesterday"},
		{"wrong detail-type in an array", `[` + envelope("Macie Finding", minimal) + `,` + good1 + `]`, []string{"250023a9abcdefabcdef12345678"}, "[0]", 0, envelope("Macie Finding", minimal), `"Macie Finding"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := decode(t, tc.raw, true)
			var pe *normalize.PartialError
			if !errors.As(err, &pe) {
				t.Fatalf("Decode = %d events, %v; want a *normalize.PartialError", len(evs), err)
			}
			var ids []string
			for _, ev := range evs {
				ids = append(ids, ev.Event.ID)
			}
			if !reflect.DeepEqual(ids, tc.goodIDs) {
				t.Errorf("good events %q, want %q", ids, tc.goodIDs)
			}
			if len(pe.Items) != 1 {
				t.Fatalf("failed items = %+v, want one", pe.Items)
			}
			it := pe.Items[0]
			if it.Path != tc.badPath || it.Index != tc.badIndex || strings.TrimSpace(string(it.Raw)) != tc.badRaw {
				t.Errorf("failed item = path %q, index %d, raw %q; want %q, %d, %q", it.Path, it.Index, it.Raw, tc.badPath, tc.badIndex, tc.badRaw)
			}
			if !strings.Contains(err.Error(), tc.badPath) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say where (%q) and what (%q)", err, tc.badPath, tc.want)
			}
		})
	}
	t.Run("all bad", func(t *testing.T) {
		evs, err := decode(t, `[`+bad+`,`+bad+`]`, true)
		var pe *normalize.PartialError
		if !errors.As(err, &pe) || len(pe.Items) != 2 || len(evs) != 0 {
			t.Errorf("Decode = %d events, %v; want a PartialError of 2 items", len(evs), err)
		}
	})
	t.Run("skips among findings", func(t *testing.T) {
		evs, err := decode(t, `[`+good0+`,{"findings":[]}]`, true)
		if err != nil || len(evs) != 1 {
			t.Errorf("Decode = %d events, %v; want the finding and no error", len(evs), err)
		}
	})
}

func TestFields(t *testing.T) {
	tests := []struct {
		name    string
		members map[string]any
		check   func(t *testing.T, ev *ecs.Event)
	}{
		{"createdAt when no updatedAt", map[string]any{"updatedAt": nil, "createdAt": "2024-05-01T09:00:00Z"}, func(t *testing.T, ev *ecs.Event) {
			if ts(t, &ev.Timestamp) != "2024-05-01T09:00:00Z" || ev.AWS.GuardDuty.UpdatedAt != nil {
				t.Errorf("@timestamp %v, updated_at %v", ev.Timestamp, ev.AWS.GuardDuty.UpdatedAt)
			}
		}},
		{"offset time", map[string]any{"updatedAt": "2024-05-01T12:00:00.250+02:00"}, func(t *testing.T, ev *ecs.Event) {
			if ts(t, &ev.Timestamp) != "2024-05-01T10:00:00.25Z" {
				t.Errorf("@timestamp = %v", ev.Timestamp)
			}
		}},
		{"UNIX time", map[string]any{"updatedAt": 1714557600.123}, func(t *testing.T, ev *ecs.Event) {
			if ts(t, &ev.Timestamp) != "2024-05-01T10:00:00.123Z" {
				t.Errorf("@timestamp = %v", ev.Timestamp)
			}
		}},
		{"fractional severity", map[string]any{"severity": 6.9}, func(t *testing.T, ev *ecs.Event) {
			if ev.Event.Severity != 6 || ev.AWS.GuardDuty.Severity.Value != "Medium" || ev.AWS.GuardDuty.Severity.Code != 6.9 {
				t.Errorf("event.severity %d, severity %+v", ev.Event.Severity, ev.AWS.GuardDuty.Severity)
			}
		}},
		{"critical severity", map[string]any{"severity": 9.5}, func(t *testing.T, ev *ecs.Event) {
			if ev.Event.Severity != 9 || ev.AWS.GuardDuty.Severity.Value != "Critical" {
				t.Errorf("event.severity %d, severity %+v", ev.Event.Severity, ev.AWS.GuardDuty.Severity)
			}
		}},
		{"no severity", map[string]any{"severity": nil}, func(t *testing.T, ev *ecs.Event) {
			if ev.Event.Severity != 0 || ev.AWS.GuardDuty.Severity != nil {
				t.Errorf("event.severity %d, severity %+v", ev.Event.Severity, ev.AWS.GuardDuty.Severity)
			}
		}},
		{"type without a resource", map[string]any{"type": "Weird"}, func(t *testing.T, ev *ecs.Event) {
			if !reflect.DeepEqual(*ev.Rule, ecs.Rule{Name: "Weird"}) || ev.Threat != nil {
				t.Errorf("rule %+v, threat %+v", ev.Rule, ev.Threat)
			}
		}},
		{"no type", map[string]any{"type": nil}, func(t *testing.T, ev *ecs.Event) {
			if ev.Rule != nil {
				t.Errorf("rule = %+v", ev.Rule)
			}
		}},
		{"partition", map[string]any{"partition": "aws-cn"}, func(t *testing.T, ev *ecs.Event) {
			if ev.Cloud.Provider != "aws" || ev.AWS.GuardDuty.Partition != "aws-cn" {
				t.Errorf("cloud.provider %q, partition %q", ev.Cloud.Provider, ev.AWS.GuardDuty.Partition)
			}
		}},
		{"addresses that are not IPs", map[string]any{"service": map[string]any{"action": map[string]any{
			"actionType": "AWS_API_CALL", "awsApiCallAction": map[string]any{"remoteIpDetails": map[string]any{"ipAddressV4": "not-an-ip", "geoLocation": map[string]any{"lat": 91, "lon": 0}}},
		}}}, func(t *testing.T, ev *ecs.Event) {
			if ev.Source == nil || ev.Source.IP != "" || ev.Source.Address != "not-an-ip" || ev.Source.Geo != nil || ev.Related != nil {
				t.Errorf("source %+v, related %+v", ev.Source, ev.Related)
			}
		}},
		{"IPv6 remote", map[string]any{"service": map[string]any{"action": map[string]any{
			"actionType": "AWS_API_CALL", "awsApiCallAction": map[string]any{"remoteIpDetails": map[string]any{"ipAddressV6": "2001:DB8::1"}},
		}}}, func(t *testing.T, ev *ecs.Event) {
			if ev.Source == nil || ev.Source.IP != "2001:db8::1" || ev.AWS.GuardDuty.Service.Action.AWSAPICallAction.RemoteIPDetails.IPAddressV6 != "2001:DB8::1" {
				t.Errorf("source %+v", ev.Source)
			}
		}},
		{"out-of-range port", map[string]any{"service": map[string]any{"action": map[string]any{
			"actionType": "NETWORK_CONNECTION", "networkConnectionAction": map[string]any{"connectionDirection": "INBOUND",
				"localPortDetails": map[string]any{"port": 70000}, "localIpDetails": map[string]any{"ipAddressV4": "10.0.0.1"}},
		}}}, func(t *testing.T, ev *ecs.Event) {
			if ev.Destination == nil || ev.Destination.Port != 0 || *ev.AWS.GuardDuty.Service.Action.NetworkConnectionAction.LocalPortDetails.Port.Value != 70000 {
				t.Errorf("destination %+v", ev.Destination)
			}
		}},
		{"unknown direction", map[string]any{"service": map[string]any{"action": map[string]any{
			"actionType": "NETWORK_CONNECTION", "networkConnectionAction": map[string]any{"connectionDirection": "UNKNOWN",
				"remoteIpDetails": map[string]any{"ipAddressV4": "192.0.2.1"}, "localIpDetails": map[string]any{"ipAddressV4": "10.0.0.1"}},
		}}}, func(t *testing.T, ev *ecs.Event) {
			if ev.Source != nil || ev.Destination != nil || ev.Network.Direction != "unknown" || !reflect.DeepEqual(ev.Related.IP, []string{"10.0.0.1", "192.0.2.1"}) {
				t.Errorf("source %+v, destination %+v, network %+v, related %+v", ev.Source, ev.Destination, ev.Network, ev.Related)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, decodeOne(t, with(t, tc.members)))
		})
	}
}

// TestConcurrent decodes the same inputs from many goroutines (run with
// -race) and checks that every goroutine gets the same events.
func TestConcurrent(t *testing.T) {
	inputs := append(elasticLines(t), craftedLines(t)...)
	want := make([][]byte, len(inputs))
	for i, in := range inputs {
		evs, err := Decoder{}.Decode(in, normalize.Meta{KeepOriginal: true})
		if err != nil {
			t.Fatal(err)
		}
		want[i], _ = json.Marshal(evs)
	}
	d, _ := normalize.Lookup("guardduty")
	var wg sync.WaitGroup
	errs := make(chan string, 16*len(inputs))
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, in := range inputs {
				evs, err := d.Decode(in, normalize.Meta{KeepOriginal: true})
				got, _ := json.Marshal(evs)
				if err != nil || !bytes.Equal(got, want[i]) {
					errs <- fmt.Sprintf("input %d: %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestSchemaStrict checks that guardduty.schema.json describes every field
// the decoder writes and nothing else: the crafted and corpus events pass
// (CheckEvent), an unknown field fails, and every object in it is closed.
func TestSchemaStrict(t *testing.T) {
	ev := decodeOne(t, string(elasticLines(t)[0]))
	b, _ := json.Marshal(ev)
	for _, bad := range []struct{ from, to string }{
		{`"detector_id":`, `"detectorid":`},
		{`"instance_details":{`, `"instance_details":{"extra":1,`},
		{`"severity":{"code":5,"value":"Medium"}`, `"severity":{"code":5,"value":"Moderate"}`},
	} {
		doc := strings.Replace(string(b), bad.from, bad.to, 1)
		if doc == string(b) {
			t.Fatalf("%q not in the event", bad.from)
		}
		if err := schemas.Validate(schemas.Event, []byte(doc)); err == nil {
			t.Errorf("schema accepts %s", bad.to)
		}
	}
	raw, err := schemas.File("guardduty.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	checkClosed(t, "guardduty.schema.json", s)
}

// checkClosed fails for an object schema with properties that does not
// forbid others.
func checkClosed(t *testing.T, path string, s any) {
	switch x := s.(type) {
	case map[string]any:
		if _, ok := x["properties"]; ok && x["additionalProperties"] != false {
			t.Errorf("%s: object schema without additionalProperties false", path)
		}
		for k, v := range x {
			checkClosed(t, path+"/"+k, v)
		}
	case []any:
		for i, v := range x {
			checkClosed(t, fmt.Sprintf("%s/%d", path, i), v)
		}
	}
}
