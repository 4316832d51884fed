package custodian

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// Dataset is the event.dataset of Cloud Custodian events.
const Dataset = "custodian.action"

func init() { normalize.Register("custodian", Decoder{}) }

// Decoder is the Cloud Custodian decoder. It holds no state and is safe
// for concurrent use.
type Decoder struct{}

// Dataset implements normalize.Decoder: the topic suffix.
func (Decoder) Dataset() string { return "custodian" }

// runRecordHint says how to ship what resources.json lacks.
const runRecordHint = "ship run records instead, made in the run's output directory with: jq -c --slurpfile r resources.json '. + {resources: $r[0]}' metadata.json"

// maxMessage bounds an inflated notify message. Custodian keeps them
// under 256 KiB compressed.
const maxMessage = 8 << 20

// Decode implements normalize.Decoder.
func (Decoder) Decode(raw []byte, m normalize.Meta) ([]*ecs.Event, error) {
	body := bytes.TrimSpace(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")))
	if len(body) == 0 {
		return nil, errors.New("empty record")
	}
	switch body[0] {
	case '{':
		return decodeJSON(body, raw, m, false)
	case '[':
		return nil, errors.New("a JSON array, as resources.json is: its resources name neither the policy nor the run; " + runRecordHint)
	}
	if isLogLine(body) {
		return nil, fmt.Errorf("%w: a Cloud Custodian log line: log lines name no resource", normalize.ErrSkipped)
	}
	msg, err := unpack(body)
	if err != nil {
		return nil, fmt.Errorf("neither JSON nor a notify message as Custodian sends it (base64 of zlib of JSON): %w", err)
	}
	return decodeJSON(msg, raw, m, true)
}

// isLogLine reports whether b is a line of Custodian's text log:
// "2025-03-03 12:00:00,483 - custodian.policy - INFO - ..." in
// custodian-run.log and CloudWatch Logs, "...,483: custodian.policy:INFO
// ..." on the console.
func isLogLine(b []byte) bool {
	const stamp = "2006-01-02 15:04:05,000"
	if len(b) < len(stamp) {
		return false
	}
	if _, err := time.Parse("2006-01-02 15:04:05", string(b[:19])); err != nil || b[19] != ',' {
		return false
	}
	rest := b[len(stamp):]
	return bytes.HasPrefix(rest, []byte(" - custodian")) || bytes.HasPrefix(rest, []byte(": custodian"))
}

// unpack decodes a notify message as it travels on SQS and SNS: base64 of
// zlib-compressed JSON.
func unpack(b []byte) ([]byte, error) {
	z, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		return nil, fmt.Errorf("not base64: %v", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("not zlib data: %v", err)
	}
	defer zr.Close()
	msg, err := io.ReadAll(io.LimitReader(zr, maxMessage+1))
	if err != nil {
		return nil, fmt.Errorf("zlib: %v", err)
	}
	if len(msg) > maxMessage {
		return nil, fmt.Errorf("the message inflates past %d bytes", maxMessage)
	}
	msg = bytes.TrimSpace(msg)
	if len(msg) == 0 || msg[0] != '{' {
		return nil, errors.New("the inflated message is not a JSON object")
	}
	return msg, nil
}

// decodeJSON decodes a JSON object. raw is the record as received, kept in
// event.original for the events of a run; unwrapped says the object was
// already taken out of an envelope or encoding.
func decodeJSON(doc, raw []byte, m normalize.Meta, unwrapped bool) ([]*ecs.Event, error) {
	var top map[string]json.RawMessage
	if err := normalize.Unmarshal(doc, &top); err != nil {
		return nil, err
	}
	if s, _ := str(top["Type"]); s == "Notification" && !unwrapped {
		// An SNS notification delivered to SQS: the message is in Message.
		msg, ok := str(top["Message"])
		if !ok {
			return nil, errors.New("an SNS notification whose Message is not a string")
		}
		b := bytes.TrimSpace([]byte(msg))
		if len(b) == 0 || b[0] != '{' {
			var err error
			if b, err = unpack(b); err != nil {
				return nil, fmt.Errorf("SNS Message: %w", err)
			}
		}
		return decodeJSON(b, raw, m, true)
	}
	if s, _ := str(top["type"]); s == "log" {
		if logger, _ := str(top["logger"]); strings.HasPrefix(logger, "custodian") {
			return nil, fmt.Errorf("%w: a Cloud Custodian log line (%s): log lines name no resource", normalize.ErrSkipped, logger)
		}
	}
	if !isObject(top["policy"]) {
		if top["policy"] != nil {
			return nil, errors.New("policy is not an object")
		}
		return nil, errors.New("not a Cloud Custodian record: no policy. A resource of resources.json names neither the policy nor the run; " + runRecordHint)
	}
	switch {
	case isObject(top["execution"]):
		return decodeRun(doc, raw, m)
	case top["action"] != nil || top["execution_id"] != nil || top["execution_start"] != nil:
		return decodeNotify(doc, m)
	}
	return nil, errors.New("a Cloud Custodian record with a policy but neither an execution (metadata.json, run record) nor an action (notify message)")
}

// policyDoc is a policy as written in YAML, which Custodian records as
// JSON.
type policyDoc struct {
	Name        string            `json:"name"`
	Resource    string            `json:"resource"`
	Description string            `json:"description"`
	Mode        json.RawMessage   `json:"mode"`
	Filters     json.RawMessage   `json:"filters"`
	Actions     []json.RawMessage `json:"actions"`
}

// policy is what the events use of a policy.
type policy struct {
	doc     policyDoc
	actions []string // action types, in order
	out     *ecs.CustodianPolicy
}

func parsePolicy(b json.RawMessage) (*policy, error) {
	var p policy
	if err := normalize.Unmarshal(b, &p.doc); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if strings.TrimSpace(p.doc.Name) == "" {
		return nil, errors.New("policy has no name")
	}
	if strings.TrimSpace(p.doc.Resource) == "" {
		return nil, fmt.Errorf("policy %s has no resource type", p.doc.Name)
	}
	for i, a := range p.doc.Actions {
		t, ok := actionType(a)
		if !ok {
			return nil, fmt.Errorf("policy.actions[%d] is neither an action name nor an object with a type", i)
		}
		p.actions = append(p.actions, t)
	}
	mode := "pull"
	if len(p.doc.Mode) > 0 && !bytes.Equal(p.doc.Mode, []byte("null")) {
		var md struct {
			Type string `json:"type"`
		}
		if err := normalize.Unmarshal(p.doc.Mode, &md); err != nil {
			return nil, fmt.Errorf("policy.mode: %w", err)
		}
		if md.Type != "" {
			mode = md.Type
		}
	}
	p.out = &ecs.CustodianPolicy{
		Name:        p.doc.Name,
		Resource:    p.doc.Resource,
		Description: p.doc.Description,
		Mode:        mode,
		Actions:     p.actions,
		Filters:     flattened(p.doc.Filters),
	}
	return &p, nil
}

// actionType is the type of an action: "stop", or {"type": "stop", ...}.
func actionType(b json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s, s != ""
	}
	var a struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(b, &a) != nil || a.Type == "" {
		return "", false
	}
	return a.Type, true
}

// principal is the action an event of a resource reports: the first that
// is not notify; notify if it is the only one; match if there is none.
func (p *policy) principal() string {
	for _, a := range p.actions {
		if a != "notify" {
			return a
		}
	}
	if len(p.actions) > 0 {
		return "notify"
	}
	return "match"
}

// runDoc is metadata.json, and a run record (metadata.json with
// "resources").
type runDoc struct {
	Policy    json.RawMessage `json:"policy"`
	Version   string          `json:"version"`
	Execution struct {
		ID       string   `json:"id"`
		Start    *float64 `json:"start"`
		EndTime  *float64 `json:"end_time"`
		Duration *float64 `json:"duration"`
		RunMode  string   `json:"run_mode"`
	} `json:"execution"`
	Config struct {
		Region    string          `json:"region"`
		AccountID json.RawMessage `json:"account_id"`
		DryRun    *bool           `json:"dryrun"`
	} `json:"config"`
	Metrics []struct {
		MetricName string  `json:"MetricName"`
		Value      float64 `json:"Value"`
	} `json:"metrics"`
	APIStats  json.RawMessage `json:"api-stats"`
	Resources json.RawMessage `json:"resources"`
}

func decodeRun(doc, raw []byte, m normalize.Meta) ([]*ecs.Event, error) {
	var r runDoc
	if err := normalize.Unmarshal(doc, &r); err != nil {
		return nil, err
	}
	p, err := parsePolicy(r.Policy)
	if err != nil {
		return nil, err
	}
	if r.Execution.Start == nil {
		return nil, errors.New("no execution.start: the run's time is unknown")
	}
	start, err := normalize.UnixTime("execution.start", *r.Execution.Start)
	if err != nil {
		return nil, err
	}
	r.Execution.ID = strings.TrimSpace(r.Execution.ID)
	exec := &ecs.CustodianExecution{ID: r.Execution.ID, Start: &start, RunMode: r.Execution.RunMode}
	if r.Execution.EndTime != nil {
		end, err := normalize.UnixTime("execution.end_time", *r.Execution.EndTime)
		if err != nil {
			return nil, err
		}
		exec.End = &end
	}
	switch {
	case r.Execution.Duration != nil && *r.Execution.Duration >= 0 && *r.Execution.Duration < 1e9:
		exec.Duration = *r.Execution.Duration
	case exec.End != nil && exec.End.After(start):
		exec.Duration = exec.End.Sub(start).Seconds()
	}
	account, _ := str(r.Config.AccountID)
	ctx := &runContext{
		policy:  p,
		start:   start,
		exec:    exec,
		version: r.Version,
		account: account,
		region:  r.Config.Region,
		dryRun:  r.Config.DryRun,
	}
	metrics := map[string]float64{}
	for _, mt := range r.Metrics {
		if mt.MetricName != "" {
			metrics[mt.MetricName] = mt.Value
		}
	}
	ctx.failed = metrics["PolicyException"] > 0

	var resources []json.RawMessage
	record := "metadata"
	if len(r.Resources) > 0 && !bytes.Equal(r.Resources, []byte("null")) {
		if err := normalize.Unmarshal(r.Resources, &resources); err != nil {
			return nil, fmt.Errorf("resources: %w", err)
		}
		record = "run"
	}

	// The run's own event.
	ev := ctx.event(record, "policy-run")
	ev.Event.ID = r.Execution.ID
	if ev.Event.ID == "" {
		ev.Event.ID = normalize.DerivedID(raw, 0)
	}
	ev.Event.Type = []string{"info"}
	ev.Event.Outcome = "success"
	if ctx.failed {
		ev.Event.Outcome = "failure"
	}
	count := len(resources)
	if record == "metadata" {
		count = int(metrics["ResourceCount"])
		if _, ok := metrics["ResourceCount"]; !ok {
			count = -1
		}
	}
	if count >= 0 {
		ev.Custodian.ResourceCount = &count
	}
	if len(metrics) > 0 {
		ev.Custodian.Metrics = metrics
	}
	ev.Custodian.APIStats = flattened(r.APIStats)
	ev.Message = runMessage(ctx, count)
	if m.KeepOriginal {
		// JSON cannot carry invalid UTF-8: keep what it would become.
		ev.Event.Original = strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	out := []*ecs.Event{ev}

	var failed []normalize.ItemError
	for i, res := range resources {
		rev, err := ctx.resourceEvent(record, res, "", raw, i, m)
		if err != nil {
			failed = append(failed, normalize.ItemError{Index: i, Path: fmt.Sprintf("resources[%d]", i), Raw: res, Err: err})
			continue
		}
		out = append(out, rev)
	}
	if len(failed) > 0 {
		return out, &normalize.PartialError{Items: failed}
	}
	return out, nil
}

func runMessage(c *runContext, count int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "policy %s (%s)", c.policy.doc.Name, c.policy.doc.Resource)
	if count >= 0 {
		fmt.Fprintf(&b, " matched %d resource", count)
		if count != 1 {
			b.WriteString("s")
		}
	} else {
		b.WriteString(" ran")
	}
	if c.region != "" {
		b.WriteString(" in " + c.region)
	}
	if c.dryRun != nil && *c.dryRun {
		b.WriteString(" (dry run)")
	}
	if c.failed {
		b.WriteString("; the run failed")
	}
	return b.String()
}

// notifyDoc is a notify action's message (c7n/actions/notify.py).
type notifyDoc struct {
	Event          json.RawMessage `json:"event"`
	AccountID      json.RawMessage `json:"account_id"`
	Account        json.RawMessage `json:"account"`
	Version        string          `json:"version"`
	Region         string          `json:"region"`
	ExecutionID    string          `json:"execution_id"`
	ExecutionStart *float64        `json:"execution_start"`
	Policy         json.RawMessage `json:"policy"`
	Action         json.RawMessage `json:"action"`
	Resources      json.RawMessage `json:"resources"`
}

// notifyAction is the notify action of a message, with c7n-mailer's
// fields.
type notifyAction struct {
	Type          string   `json:"type"`
	To            []string `json:"to"`
	Cc            []string `json:"cc"`
	Subject       string   `json:"subject"`
	Template      string   `json:"template"`
	ViolationDesc string   `json:"violation_desc"`
	ActionDesc    string   `json:"action_desc"`
	Transport     *struct {
		Type  string `json:"type"`
		Queue string `json:"queue"`
		Topic string `json:"topic"`
	} `json:"transport"`
}

func decodeNotify(doc []byte, m normalize.Meta) ([]*ecs.Event, error) {
	var n notifyDoc
	if err := normalize.Unmarshal(doc, &n); err != nil {
		return nil, err
	}
	p, err := parsePolicy(n.Policy)
	if err != nil {
		return nil, err
	}
	if n.ExecutionStart == nil {
		return nil, errors.New("no execution_start: the run's time is unknown")
	}
	start, err := normalize.UnixTime("execution_start", *n.ExecutionStart)
	if err != nil {
		return nil, err
	}
	var a notifyAction
	if n.Action != nil {
		if err := normalize.Unmarshal(n.Action, &a); err != nil {
			return nil, fmt.Errorf("action: %w", err)
		}
	}
	notify := &ecs.CustodianNotify{
		To:            nonEmpty(a.To),
		Cc:            nonEmpty(a.Cc),
		Subject:       a.Subject,
		Template:      a.Template,
		ViolationDesc: a.ViolationDesc,
		ActionDesc:    a.ActionDesc,
	}
	if t := a.Transport; t != nil && (t.Type != "" || t.Queue != "" || t.Topic != "") {
		notify.Transport = &ecs.CustodianTransport{Type: t.Type, Queue: t.Queue, Topic: t.Topic}
	}
	var resources []json.RawMessage
	if len(n.Resources) > 0 && !bytes.Equal(n.Resources, []byte("null")) {
		if err := normalize.Unmarshal(n.Resources, &resources); err != nil {
			return nil, fmt.Errorf("resources: %w", err)
		}
	}
	if len(resources) == 0 {
		return nil, errors.New("a notify message without resources")
	}
	account, _ := str(n.AccountID)
	alias, _ := str(n.Account)
	ctx := &runContext{
		policy:  p,
		start:   start,
		exec:    &ecs.CustodianExecution{ID: strings.TrimSpace(n.ExecutionID), Start: &start},
		version: n.Version,
		account: account,
		alias:   alias,
		region:  n.Region,
		notify:  notify,
		trigger: flattened(n.Event),
	}
	// The notify action tells apart the messages of two notify actions
	// of one policy run.
	var key bytes.Buffer
	_ = json.Compact(&key, n.Action)
	var out []*ecs.Event
	var failed []normalize.ItemError
	for i, res := range resources {
		ev, err := ctx.resourceEvent("notify", res, key.String(), doc, i, m)
		if err != nil {
			failed = append(failed, normalize.ItemError{Index: i, Path: fmt.Sprintf("resources[%d]", i), Raw: res, Err: err})
			continue
		}
		out = append(out, ev)
	}
	if len(failed) > 0 {
		return out, &normalize.PartialError{Items: failed}
	}
	return out, nil
}

// runContext is what the events of one run share.
type runContext struct {
	policy  *policy
	start   time.Time
	exec    *ecs.CustodianExecution
	version string
	account string
	alias   string
	region  string
	dryRun  *bool
	failed  bool
	notify  *ecs.CustodianNotify
	trigger any
}

// event returns an event of the run with what every event of it carries.
func (c *runContext) event(record, action string) *ecs.Event {
	ev := &ecs.Event{
		Timestamp: c.start,
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event: ecs.EventMeta{
			Kind:     "event",
			Category: []string{"configuration"},
			Action:   action,
			Dataset:  Dataset,
			Module:   "custodian",
		},
		Rule: &ecs.Rule{
			Name:        c.policy.doc.Name,
			Description: c.policy.doc.Description,
			Ruleset:     "cloud-custodian",
		},
		Observer: &ecs.Observer{Vendor: "Cloud Custodian", Product: "Cloud Custodian", Version: c.version},
	}
	// Each event gets its own copies, so that no two share what a
	// consumer might change.
	pol, exec := *c.policy.out, *c.exec
	ev.Custodian = &ecs.Custodian{Record: record, Policy: &pol, Execution: &exec}
	if c.dryRun != nil {
		d := *c.dryRun
		ev.Custodian.DryRun = &d
	}
	provider, rtype := resourceType(c.policy.doc.Resource)
	if provider == "kubernetes" {
		ev.Orchestrator = &ecs.Orchestrator{Type: "kubernetes"}
	} else {
		ev.Cloud = &ecs.Cloud{Provider: provider, Region: c.region}
		if c.account != "" || c.alias != "" {
			ev.Cloud.Account = &ecs.CloudAccount{ID: c.account, Name: c.alias}
		}
		if t, ok := awsTypes[rtype]; ok && provider == "aws" {
			ev.Cloud.Service = &ecs.CloudService{Name: t.service}
		}
	}
	return ev
}

// resourceEvent is the event of one resource the policy acted on. key
// tells apart the records of one run that hold the same resource (two
// notify actions); raw is the record, for a derived id.
func (c *runContext) resourceEvent(record string, res json.RawMessage, key string, raw []byte, i int, m normalize.Meta) (*ecs.Event, error) {
	var r map[string]any
	if err := normalize.Unmarshal(res, &r); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("the resource is null")
	}
	action := c.policy.principal()
	ev := c.event(record, action)
	provider, rtype := resourceType(c.policy.doc.Resource)
	id, name := resourceID(rtype, provider, r)
	ev.Resource = &ecs.Resource{ID: id, Name: name, Type: rtype, Region: c.region}
	if provider == "aws" && rtype == "s3" {
		// Custodian lists every bucket from one region; a bucket's own is
		// its LocationConstraint (none means us-east-1, EU eu-west-1).
		if loc, ok := r["Location"].(map[string]any); ok {
			if lc, ok := loc["LocationConstraint"]; ok {
				switch lc, _ := lc.(string); lc {
				case "":
					ev.Resource.Region = "us-east-1"
				case "EU":
					ev.Resource.Region = "eu-west-1"
				default:
					ev.Resource.Region = lc
				}
			}
		}
	}
	if provider == "kubernetes" {
		ev.Resource.Region = ""
		ns, _ := dig(r, "metadata", "namespace").(string)
		ev.Orchestrator.Namespace = ns
		ev.Orchestrator.Resource = &ecs.OrchestratorResource{Name: name, Type: rtype}
	}
	changed := action != "notify" && action != "match" && (c.dryRun == nil || !*c.dryRun)
	switch {
	case changed:
		ev.Event.Type = []string{"change"}
		ev.Event.Outcome = "success"
		if c.failed {
			ev.Event.Outcome = "unknown"
		}
	default:
		ev.Event.Type = []string{"info"}
		if action == "notify" {
			ev.Event.Outcome = "success"
		}
	}
	if record == "notify" && c.notify != nil {
		n := *c.notify
		ev.Custodian.Notify = &n
		ev.Custodian.Event = c.trigger
	}
	ev.Related = related(rtype, provider, r, c.trigger)
	ev.Custodian.Resource = r
	ev.Custodian.ResourceARN = resourceARN(r)
	ev.Custodian.MatchedFilters = matchedFilters(r)

	what := id
	if what == "" {
		what = "a resource"
	}
	ev.Message = fmt.Sprintf("policy %s: %s on %s %s", c.policy.doc.Name, action, rtype, what)
	if c.dryRun != nil && *c.dryRun {
		ev.Message += " (dry run: not taken)"
	}
	if c.exec.ID != "" {
		rk := id
		if rk == "" {
			var b bytes.Buffer
			_ = json.Compact(&b, res)
			rk = b.String()
		}
		h := sha256.Sum256([]byte(c.exec.ID + "\x00" + record + "\x00" + key + "\x00" + rk))
		ev.Event.ID = hex.EncodeToString(h[:16])
	} else {
		ev.Event.ID = normalize.DerivedID(raw, i+1)
	}
	if m.KeepOriginal {
		ev.Event.Original = strings.ToValidUTF8(string(res), "\uFFFD")
	}
	return ev, nil
}

// related gathers the IPs and users an analyst pivots on: an EC2
// instance's or interface's addresses, an IAM user's name, and who made
// the call that triggered an event-mode policy, from where.
func related(rtype, provider string, r map[string]any, trigger any) *ecs.Related {
	var rel ecs.Related
	addIP := func(v any) {
		if s, _ := v.(string); s != "" {
			if ip, err := netip.ParseAddr(s); err == nil && !slices.Contains(rel.IP, ip.String()) {
				rel.IP = append(rel.IP, ip.String())
			}
		}
	}
	addUser := func(s string) {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(rel.User, s) {
			rel.User = append(rel.User, s)
		}
	}
	if provider == "aws" {
		switch rtype {
		case "ec2", "eni", "network-addr":
			addIP(r["PrivateIpAddress"])
			addIP(r["PublicIpAddress"])
		case "iam-user":
			addUser(scalar(r["UserName"]))
		}
	}
	if detail, ok := dig(trigger, "detail").(map[string]any); ok {
		addIP(detail["sourceIPAddress"])
		if name, _ := dig(detail, "userIdentity", "userName").(string); name != "" {
			addUser(name)
		} else if arn, _ := dig(detail, "userIdentity", "arn").(string); strings.Contains(arn, "/") {
			addUser(arn[strings.LastIndexByte(arn, '/')+1:])
		}
	}
	if len(rel.IP) == 0 && len(rel.User) == 0 {
		return nil
	}
	return &rel
}

// resourceType splits a Custodian resource type into its provider and
// the type as vigil records it ("aws.ec2" and "ec2" are both ec2 of aws).
func resourceType(t string) (provider, rtype string) {
	t = strings.TrimSpace(t)
	prefix, rest, ok := strings.Cut(t, ".")
	if !ok {
		return "aws", t
	}
	switch prefix {
	case "aws":
		return "aws", rest
	case "k8s":
		return "kubernetes", t
	}
	return prefix, t
}

// awsType is what vigil knows of a Custodian AWS resource type: the field
// that identifies a resource (Custodian's resource_type.id), the field
// that names it, if not the Name tag, and the AWS service.
type awsType struct{ id, name, service string }

var awsTypes = map[string]awsType{
	"ec2":             {"InstanceId", "", "ec2"},
	"ebs":             {"VolumeId", "", "ec2"},
	"ebs-snapshot":    {"SnapshotId", "", "ec2"},
	"ami":             {"ImageId", "Name", "ec2"},
	"security-group":  {"GroupId", "GroupName", "ec2"},
	"vpc":             {"VpcId", "", "ec2"},
	"subnet":          {"SubnetId", "", "ec2"},
	"eni":             {"NetworkInterfaceId", "", "ec2"},
	"network-addr":    {"AllocationId", "PublicIp", "ec2"},
	"s3":              {"Name", "Name", "s3"},
	"iam-user":        {"UserName", "UserName", "iam"},
	"iam-role":        {"RoleName", "RoleName", "iam"},
	"iam-group":       {"GroupName", "GroupName", "iam"},
	"iam-policy":      {"PolicyId", "PolicyName", "iam"},
	"rds":             {"DBInstanceIdentifier", "DBInstanceIdentifier", "rds"},
	"rds-cluster":     {"DBClusterIdentifier", "DBClusterIdentifier", "rds"},
	"rds-snapshot":    {"DBSnapshotIdentifier", "DBSnapshotIdentifier", "rds"},
	"lambda":          {"FunctionName", "FunctionName", "lambda"},
	"kms-key":         {"KeyId", "", "kms"},
	"elb":             {"LoadBalancerName", "LoadBalancerName", "elasticloadbalancing"},
	"app-elb":         {"LoadBalancerArn", "LoadBalancerName", "elasticloadbalancing"},
	"asg":             {"AutoScalingGroupName", "AutoScalingGroupName", "autoscaling"},
	"cloudtrail":      {"Name", "Name", "cloudtrail"},
	"sqs":             {"QueueUrl", "", "sqs"},
	"sns":             {"TopicArn", "", "sns"},
	"dynamodb-table":  {"TableName", "TableName", "dynamodb"},
	"ecr":             {"repositoryName", "repositoryName", "ecr"},
	"eks":             {"name", "name", "eks"},
	"efs":             {"FileSystemId", "Name", "elasticfilesystem"},
	"redshift":        {"ClusterIdentifier", "ClusterIdentifier", "redshift"},
	"log-group":       {"logGroupName", "logGroupName", "logs"},
	"secrets-manager": {"Name", "Name", "secretsmanager"},
	"distribution":    {"Id", "DomainName", "cloudfront"},
	"account":         {"account_id", "account_name", "account"},
}

// idKeys are tried, in order, for a resource of a type vigil does not
// know.
var idKeys = []string{"Arn", "ARN", "arn", "Id", "ID", "id", "selfLink", "Name", "name"}

// resourceID finds a resource's id and name.
func resourceID(rtype, provider string, r map[string]any) (id, name string) {
	if provider == "kubernetes" {
		id, _ = dig(r, "metadata", "uid").(string)
		name, _ = dig(r, "metadata", "name").(string)
		if id == "" {
			id = name
		}
		return id, name
	}
	if t, ok := awsTypes[rtype]; ok && provider == "aws" {
		id = scalar(r[t.id])
		if t.name != "" {
			name = scalar(r[t.name])
		}
	}
	if id == "" {
		for _, k := range idKeys {
			if id = scalar(r[k]); id != "" {
				break
			}
		}
	}
	if name == "" {
		name = nameTag(r)
	}
	if name == "" {
		if n := scalar(r["name"]); n != "" && n != id {
			name = n
		} else if n := scalar(r["Name"]); n != "" && n != id {
			name = n
		}
	}
	return id, name
}

// nameTag is the value of an AWS resource's Name tag.
func nameTag(r map[string]any) string {
	tags, _ := r["Tags"].([]any)
	for _, t := range tags {
		kv, _ := t.(map[string]any)
		if k, _ := kv["Key"].(string); k == "Name" {
			v, _ := kv["Value"].(string)
			return v
		}
	}
	return ""
}

// resourceARN is the resource's ARN: an Arn field, or another field whose
// name ends in Arn and whose value is an ARN.
func resourceARN(r map[string]any) string {
	for _, k := range []string{"Arn", "ARN", "arn"} {
		if s, _ := r[k].(string); strings.HasPrefix(s, "arn:") {
			return s
		}
	}
	best := ""
	for k, v := range r {
		s, _ := v.(string)
		if strings.HasSuffix(k, "Arn") && strings.HasPrefix(s, "arn:") && (best == "" || k < best) {
			best = k
		}
	}
	if best != "" {
		return r[best].(string)
	}
	return ""
}

// matchedFilters is the c7n:MatchedFilters annotation.
func matchedFilters(r map[string]any) []string {
	list, _ := r["c7n:MatchedFilters"].([]any)
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// scalar is a string or number as text; "" for anything else.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// dig walks nested objects.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func isObject(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// str reads a JSON string, or a number as its text.
func str(b json.RawMessage) (string, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "", false
	}
	if b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return "", false
		}
		return s, true
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		return n.String(), true
	}
	return "", false
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// flattened decodes a JSON value for a flattened field; nil for null,
// absent, an empty object or array, or invalid JSON.
func flattened(b json.RawMessage) any {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return nil
		}
	case []any:
		if len(x) == 0 {
			return nil
		}
	}
	return v
}
