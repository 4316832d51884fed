package wazuh

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// Dataset is the event.dataset of Wazuh events.
const Dataset = "wazuh.alerts"

// Kind is the event.kind of Wazuh events: ECS "alert", as the tool raised
// them. vigil's own alerts are told apart by event.dataset vigil.alerts.
const Kind = "alert"

func init() { normalize.Register("wazuh", Decoder{}) }

// Decoder is the Wazuh decoder. It is stateless and safe for concurrent
// use.
type Decoder struct{}

// Dataset implements normalize.Decoder.
func (Decoder) Dataset() string { return "wazuh" }

// Alert is one alert as a Wazuh manager writes it to alerts.json.
type Alert struct {
	Timestamp      string          `json:"timestamp"`
	Rule           *Rule           `json:"rule"`
	Agent          *Agent          `json:"agent"`
	Manager        *Manager        `json:"manager"`
	ID             string          `json:"id"`
	Cluster        *Cluster        `json:"cluster"`
	FullLog        string          `json:"full_log"`
	PreviousOutput string          `json:"previous_output"`
	Decoder        *DecoderInfo    `json:"decoder"`
	Predecoder     *Predecoder     `json:"predecoder"`
	Location       string          `json:"location"`
	Data           json.RawMessage `json:"data"`
	Syscheck       json.RawMessage `json:"syscheck"`
}

// Rule is the rule that raised the alert.
type Rule struct {
	Level       json.RawMessage `json:"level"`
	Description string          `json:"description"`
	ID          flexString      `json:"id"`
	Mitre       *Mitre          `json:"mitre"`
	Groups      []string        `json:"groups"`
	FiredTimes  int64           `json:"firedtimes"`
	Frequency   int64           `json:"frequency"`
	Mail        *bool           `json:"mail"`
	PCIDSS      []string        `json:"pci_dss"`
	GDPR        []string        `json:"gdpr"`
	HIPAA       []string        `json:"hipaa"`
	NIST80053   []string        `json:"nist_800_53"`
	TSC         []string        `json:"tsc"`
	GPG13       []string        `json:"gpg13"`
}

// Mitre is rule.mitre: MITRE ATT&CK technique ids, and the names of the
// techniques and their tactics.
type Mitre struct {
	ID        []string `json:"id"`
	Tactic    []string `json:"tactic"`
	Technique []string `json:"technique"`
}

// Agent is the agent the event came from; 000 is the manager itself.
type Agent struct {
	ID   flexString `json:"id"`
	Name string     `json:"name"`
	IP   string     `json:"ip"`
}

// Manager is the manager that raised the alert.
type Manager struct {
	Name string `json:"name"`
}

// Cluster is the manager's cluster.
type Cluster struct {
	Name string `json:"name"`
	Node string `json:"node"`
}

// DecoderInfo is the decoder that parsed the event.
type DecoderInfo struct {
	Name   string `json:"name"`
	Parent string `json:"parent"`
}

// Predecoder is the syslog header of the event.
type Predecoder struct {
	ProgramName string `json:"program_name"`
	Timestamp   string `json:"timestamp"`
	Hostname    string `json:"hostname"`
}

// flexString is a JSON string, or a number taken as its text: ids are
// strings in Wazuh's alerts, numbers in some tools' renderings of them.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '"' && b[0] != 'n' {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*s = flexString(n)
		return nil
	}
	var str *string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	if str != nil {
		*s = flexString(*str)
	}
	return nil
}

// Decode implements normalize.Decoder. A record is one alert (a line of
// alerts.json), or a JSON array of alerts; an array whose items partly
// fail returns the good events and a *normalize.PartialError.
func (d Decoder) Decode(raw []byte, m normalize.Meta) ([]*ecs.Event, error) {
	return normalize.DecodeOneOrArray(raw, "alerts", func(b []byte) (*ecs.Event, error) { return decodeOne(b, m) })
}

func decodeOne(raw []byte, m normalize.Meta) (*ecs.Event, error) {
	var a Alert
	if err := normalize.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	return Normalize(&a, raw, m)
}

// timeLayouts are the forms of an alert's timestamp: Wazuh's own
// ("2026-11-02T09:12:41.123+0000", no colon in the offset), and RFC 3339
// as tools that re-encode alerts write it.
var timeLayouts = []string{"2006-01-02T15:04:05Z0700", time.RFC3339Nano}

func parseTime(s string) (time.Time, error) {
	var err error
	for _, l := range timeLayouts {
		var t time.Time
		if t, err = time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// Normalize maps one decoded Wazuh alert to ECS. raw is the alert's own
// bytes: kept in event.original when asked, and the source of the event
// id.
func Normalize(a *Alert, raw []byte, m normalize.Meta) (*ecs.Event, error) {
	if a.Timestamp == "" {
		return nil, errors.New("not a Wazuh alert: no timestamp")
	}
	ts, err := parseTime(a.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("timestamp %q is not a Wazuh or RFC 3339 time", a.Timestamp)
	}
	// @timestamp must be set, and JSON can hold only years 0-9999.
	if ts = ts.UTC(); ts.IsZero() || ts.Year() < 1 || ts.Year() > 9999 {
		return nil, fmt.Errorf("timestamp %q is out of range", a.Timestamp)
	}
	r := a.Rule
	if r == nil {
		return nil, errors.New("not a Wazuh alert: no rule")
	}
	lv := bytes.TrimSpace(r.Level)
	if len(lv) == 0 || bytes.Equal(lv, []byte("null")) {
		return nil, errors.New("not a Wazuh alert: no rule.level")
	}
	level, err := strconv.Atoi(string(lv))
	if err != nil || level < 0 || level > 15 {
		return nil, fmt.Errorf("rule.level %s is not a Wazuh level (an integer from 0 to 15)", lv)
	}
	data, err := object(a.Data)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	syscheck, err := object(a.Syscheck)
	if err != nil {
		return nil, fmt.Errorf("syscheck: %w", err)
	}
	d, sc := fields(data), fields(syscheck)

	ev := &ecs.Event{
		Timestamp: ts,
		Message:   a.FullLog,
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event: ecs.EventMeta{
			// The alert id is unique only on its manager and its alerts
			// file: the event id is derived from the alert's bytes.
			ID:       normalize.DerivedID(raw, 0),
			Kind:     Kind,
			Dataset:  Dataset,
			Module:   "wazuh",
			Severity: level,
		},
		Rule:     &ecs.Rule{ID: string(r.ID), Name: r.Description, Ruleset: "wazuh"},
		Threat:   threat(r.Mitre),
		Observer: &ecs.Observer{Vendor: "Wazuh", Product: "Wazuh"},
		Wazuh: &ecs.Wazuh{
			ID: a.ID,
			Rule: &ecs.WazuhRule{
				Level:      level,
				Groups:     nonEmpty(r.Groups),
				FiredTimes: r.FiredTimes,
				Frequency:  r.Frequency,
				Mail:       r.Mail,
				PCIDSS:     nonEmpty(r.PCIDSS),
				GDPR:       nonEmpty(r.GDPR),
				HIPAA:      nonEmpty(r.HIPAA),
				NIST80053:  nonEmpty(r.NIST80053),
				TSC:        nonEmpty(r.TSC),
				GPG13:      nonEmpty(r.GPG13),
			},
			Location:       a.Location,
			Data:           data,
			Syscheck:       syscheck,
			PreviousOutput: a.PreviousOutput,
		},
	}
	if ev.Message == "" {
		// Rules with no_full_log (cloud modules, for one) leave no log:
		// the rule's description says what happened.
		ev.Message = r.Description
	}
	if len(r.Groups) > 0 {
		ev.Rule.Category = r.Groups[0]
	}
	if m.KeepOriginal {
		// JSON text holds only UTF-8: bytes that are not are replaced, as
		// encoding/json replaces them in the decoded fields.
		ev.Event.Original = strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	if x := a.Decoder; x != nil && *x != (DecoderInfo{}) {
		ev.Wazuh.Decoder = &ecs.WazuhDecoder{Name: x.Name, Parent: x.Parent}
	}
	if x := a.Predecoder; x != nil && *x != (Predecoder{}) {
		ev.Wazuh.Predecoder = &ecs.WazuhPredecoder{ProgramName: x.ProgramName, Timestamp: x.Timestamp, Hostname: x.Hostname}
	}
	if x := a.Manager; x != nil && x.Name != "" {
		ev.Wazuh.Manager = &ecs.WazuhManager{Name: x.Name}
		ev.Observer.Name = x.Name
	}
	if x := a.Cluster; x != nil && *x != (Cluster{}) {
		ev.Wazuh.Cluster = &ecs.WazuhCluster{Name: x.Name, Node: x.Node}
	}

	var related ecs.Related
	addIP := func(ip string) {
		if ip != "" && !slices.Contains(related.IP, ip) {
			related.IP = append(related.IP, ip)
		}
	}
	if ag := a.Agent; ag != nil && (ag.ID != "" || ag.Name != "") {
		ev.Agent = &ecs.Agent{ID: string(ag.ID), Name: ag.Name, Type: "wazuh"}
		h := &ecs.Host{Name: ag.Name}
		if ip := parseIP(ag.IP); ip != "" {
			h.IP = []string{ip}
			addIP(ip)
		}
		if h.Name != "" || h.IP != nil {
			ev.Host = h
		}
		if ag.Name != "" {
			related.Hosts = append(related.Hosts, ag.Name)
		}
	}

	groups := groupSet(r.Groups)
	ev.Event.Category, ev.Event.Type = categorize(groups, d, sc)
	ev.Event.Outcome = outcome(groups, d)
	ev.Event.Action = action(r.Groups, d, sc)
	ev.Event.Provider = provider(a, d)

	ev.Source = endpoint(d.first("srcip", "win.eventdata.ipAddress", "aws.sourceIPAddress"), d.first("srcport", "win.eventdata.ipPort"))
	ev.Destination = endpoint(d.str("dstip"), d.str("dstport"))
	for _, ep := range []*ecs.Endpoint{ev.Source, ev.Destination} {
		if ep != nil {
			addIP(ep.IP)
		}
	}
	if u := user(d); u != nil {
		ev.User = u
		related.User = append(related.User, u.Name)
	}
	if src := d.str("srcuser"); src != "" && !slices.Contains(related.User, src) {
		related.User = append(related.User, src)
	}
	ev.File = file(groups, d, sc)
	ev.Vulnerability = vulnerability(groups, d)
	ev.Cloud = cloud(d)
	if len(related.IP) > 0 || len(related.User) > 0 || len(related.Hosts) > 0 {
		ev.Related = &related
	}
	return ev, nil
}

// object decodes a free-form object, numbers kept as json.Number.
func object(b json.RawMessage) (ecs.FlatObject, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil, nil
	}
	if b[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var o ecs.FlatObject
	if err := o.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	if len(o) == 0 {
		return nil, nil
	}
	return o, nil
}

// fields reads a nested object by dotted path ("win.eventdata.ipAddress").
type fields ecs.FlatObject

func (f fields) get(path string) any {
	var cur any = map[string]any(f)
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// str returns a value as text: strings as they are, numbers in their JSON
// form; anything else is "".
func (f fields) str(path string) string {
	switch v := f.get(path).(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	}
	return ""
}

func (f fields) first(paths ...string) string {
	for _, p := range paths {
		if s := f.str(p); s != "" {
			return s
		}
	}
	return ""
}

func groupSet(groups []string) map[string]bool {
	s := make(map[string]bool, len(groups))
	for _, g := range groups {
		s[g] = true
	}
	return s
}

func hasAny(groups map[string]bool, names ...string) bool {
	for _, n := range names {
		if groups[n] {
			return true
		}
	}
	return false
}

// authentication failure and success groups of Wazuh's ruleset.
var (
	authFailed  = []string{"authentication_failed", "authentication_failures", "win_authentication_failed", "invalid_login"}
	authSuccess = []string{"authentication_success"}
)

// categorize assigns event.category and event.type from the rule's
// groups, which name what Wazuh's ruleset saw: authentication, file
// integrity, vulnerabilities, ... An alert whose groups say nothing more
// specific is an intrusion detection.
func categorize(g map[string]bool, d, sc fields) (category, typ []string) {
	switch {
	case hasAny(g, authFailed...) || hasAny(g, authSuccess...):
		return []string{"authentication"}, []string{"start"}
	case hasAny(g, "sshd", "pam", "login", "authentication", "win_authentication"):
		return []string{"authentication"}, []string{"info"}
	case g["syscheck"] || len(sc) > 0:
		cat := "file"
		if g["syscheck_registry"] || g["syscheck_registry_key"] || g["syscheck_registry_value"] || strings.HasPrefix(sc.str("path"), "HKEY_") {
			cat = "registry"
		}
		switch {
		case g["syscheck_entry_added"] || sc.str("event") == "added":
			typ = []string{"creation"}
		case g["syscheck_entry_deleted"] || sc.str("event") == "deleted":
			typ = []string{"deletion"}
		default:
			typ = []string{"change"}
		}
		return []string{cat}, typ
	case g["vulnerability-detector"]:
		return []string{"vulnerability"}, []string{"info"}
	case hasAny(g, "adduser", "addgroup", "account_changed", "userdel", "groupdel", "group_changed"):
		typ = []string{"change"}
		switch {
		case g["adduser"]:
			typ = []string{"user", "creation"}
		case g["addgroup"]:
			typ = []string{"group", "creation"}
		case g["userdel"]:
			typ = []string{"user", "deletion"}
		case g["groupdel"]:
			typ = []string{"group", "deletion"}
		case g["group_changed"]:
			typ = []string{"group", "change"}
		case g["account_changed"]:
			typ = []string{"user", "change"}
		}
		return []string{"iam"}, typ
	case g["aws_cloudtrail"]:
		switch d.str("aws.eventSource") {
		case "iam.amazonaws.com", "sts.amazonaws.com", "sso.amazonaws.com":
			category = []string{"iam"}
		default:
			category = []string{"configuration"}
		}
		if ro := d.get("aws.readOnly"); ro == true || ro == "true" {
			return category, []string{"access"}
		}
		return category, []string{"change"}
	case hasAny(g, "web", "accesslog", "attack", "web_scan", "sql_injection"):
		return []string{"web"}, []string{"access"}
	case hasAny(g, "firewall", "firewall_drop", "iptables"):
		if hasAny(g, "firewall_drop", "drop") {
			return []string{"network"}, []string{"connection", "denied"}
		}
		return []string{"network"}, []string{"connection"}
	case hasAny(g, "ids", "suricata"):
		return []string{"network", "intrusion_detection"}, []string{"info"}
	case hasAny(g, "virus", "malware", "virustotal", "yara"):
		return []string{"malware"}, []string{"info"}
	case g["sca"]:
		return []string{"configuration"}, []string{"info"}
	case g["sudo"]:
		return []string{"process"}, []string{"start"}
	case hasAny(g, "package_installed", "dpkg", "yum", "installed"):
		return []string{"package"}, []string{"installation"}
	}
	return []string{"intrusion_detection"}, []string{"info"}
}

// outcome is success or failure for authentication and, for CloudTrail,
// for any call with an error code.
func outcome(g map[string]bool, d fields) string {
	switch {
	case hasAny(g, authFailed...):
		return "failure"
	case hasAny(g, authSuccess...):
		return "success"
	case g["aws_cloudtrail"]:
		if d.str("aws.errorCode") != "" {
			return "failure"
		}
		return "success"
	}
	return ""
}

// action is what happened: the CloudTrail call, the file integrity event
// (added, modified, deleted), or else the rule's last, most specific,
// group.
func action(groups []string, d, sc fields) string {
	if s := d.str("aws.eventName"); s != "" {
		return s
	}
	if s := sc.str("event"); s != "" {
		return s
	}
	if len(groups) > 0 {
		return groups[len(groups)-1]
	}
	return ""
}

// provider is the source of the event within the host: the Windows event
// provider, the AWS service, the program a decoder is for, or the Wazuh
// module (syscheck, rootcheck, vulnerability-detector) that the location
// names where the decoder is a generic one (json, syscheck_*).
func provider(a *Alert, d fields) string {
	if s := d.first("win.system.providerName", "aws.eventSource"); s != "" {
		return s
	}
	if dec := a.Decoder; dec != nil {
		if dec.Parent != "" {
			return dec.Parent
		}
		if dec.Name != "" && dec.Name != "json" && !strings.HasPrefix(dec.Name, "syscheck_") {
			return dec.Name
		}
	}
	if l := a.Location; l != "" && !strings.ContainsAny(l, `/\`) {
		return l
	}
	return ""
}

// user is the account acted on or logged into: dstuser in Wazuh's
// decoders, else srcuser, else a Windows logon's target, else the AWS
// caller.
func user(d fields) *ecs.User {
	if n := d.first("dstuser", "srcuser", "win.eventdata.targetUserName"); n != "" {
		u := &ecs.User{Name: n}
		if n == d.str("win.eventdata.targetUserName") {
			u.Domain = d.str("win.eventdata.targetDomainName")
		}
		return u
	}
	if n := d.str("aws.userIdentity.userName"); n != "" {
		return &ecs.User{Name: n, ID: d.str("aws.userIdentity.principalId")}
	}
	return nil
}

// file maps the file of a file integrity alert (syscheck.path), or the
// file a rootcheck alert names (data.file).
func file(g map[string]bool, d, sc fields) *ecs.File {
	p := sc.str("path")
	if p == "" && g["rootcheck"] {
		p = d.str("file")
	}
	if p == "" || strings.HasPrefix(p, "HKEY_") {
		return nil
	}
	f := &ecs.File{Path: p}
	sep := "/"
	if len(p) > 2 && p[1] == ':' || strings.HasPrefix(p, `\\`) {
		sep = `\`
	}
	if i := strings.LastIndex(p, sep); i >= 0 && i < len(p)-1 {
		f.Name = p[i+1:]
		f.Directory = p[:i]
		if f.Directory == "" {
			f.Directory = sep
		}
	}
	return f
}

// vulnerability maps a vulnerability detector alert's data.vulnerability.
func vulnerability(g map[string]bool, d fields) *ecs.Vulnerability {
	if !g["vulnerability-detector"] {
		return nil
	}
	id := d.str("vulnerability.cve")
	if id == "" {
		return nil
	}
	v := &ecs.Vulnerability{
		ID:          id,
		Severity:    d.str("vulnerability.severity"),
		Description: d.first("vulnerability.rationale", "vulnerability.title"),
		Reference:   d.str("vulnerability.reference"),
		Enumeration: "CVE",
		Scanner:     &ecs.VulnerabilityVendor{Vendor: "Wazuh"},
	}
	if v.Reference == "" {
		if refs, ok := d.get("vulnerability.references").([]any); ok && len(refs) > 0 {
			v.Reference, _ = refs[0].(string)
		}
	}
	for _, p := range []string{"vulnerability.score.base", "vulnerability.cvss.cvss3.base_score", "vulnerability.cvss.cvss2.base_score"} {
		if f, err := strconv.ParseFloat(d.str(p), 64); err == nil && f > 0 && f <= 10 {
			v.Score = &ecs.VulnerabilityScore{Base: f}
			break
		}
	}
	return v
}

// cloud maps the account and region of an AWS module alert.
func cloud(d fields) *ecs.Cloud {
	if d.get("aws") == nil {
		return nil
	}
	c := &ecs.Cloud{Provider: "aws", Region: d.first("aws.awsRegion", "aws.region")}
	if acct := d.first("aws.recipientAccountId", "aws.aws_account_id", "aws.userIdentity.accountId"); acct != "" {
		c.Account = &ecs.CloudAccount{ID: acct}
	}
	if svc, _, ok := strings.Cut(d.str("aws.eventSource"), "."); ok {
		c.Service = &ecs.CloudService{Name: svc}
	}
	return c
}

// tactics are the MITRE ATT&CK enterprise tactics, by the name Wazuh's
// rules give them.
var tactics = map[string]string{
	"Reconnaissance":       "TA0043",
	"Resource Development": "TA0042",
	"Initial Access":       "TA0001",
	"Execution":            "TA0002",
	"Persistence":          "TA0003",
	"Privilege Escalation": "TA0004",
	"Defense Evasion":      "TA0005",
	"Credential Access":    "TA0006",
	"Discovery":            "TA0007",
	"Lateral Movement":     "TA0008",
	"Collection":           "TA0009",
	"Exfiltration":         "TA0010",
	"Command and Control":  "TA0011",
	"Impact":               "TA0040",
}

// threat maps rule.mitre. Technique ids are kept as Wazuh gives them,
// sub-technique included (T1110.001); tactic ids are looked up by name.
func threat(m *Mitre) *ecs.Threat {
	if m == nil || len(m.ID) == 0 && len(m.Tactic) == 0 && len(m.Technique) == 0 {
		return nil
	}
	th := &ecs.Threat{Framework: "MITRE ATT&CK"}
	if len(m.ID) > 0 || len(m.Technique) > 0 {
		th.Technique = &ecs.ThreatCategory{ID: nonEmpty(m.ID), Name: nonEmpty(m.Technique)}
	}
	if len(m.Tactic) > 0 {
		tac := &ecs.ThreatCategory{Name: m.Tactic}
		for _, n := range m.Tactic {
			if id, ok := tactics[n]; ok && !slices.Contains(tac.ID, id) {
				tac.ID = append(tac.ID, id)
			}
		}
		th.Tactic = tac
	}
	return th
}

// endpoint maps an address and port from decoded data. Wazuh writes ports
// as strings.
func endpoint(ip, port string) *ecs.Endpoint {
	ep := &ecs.Endpoint{}
	if ip != "" && ip != "-" {
		ep.Address = ip
		ep.IP = parseIP(ip)
		if ep.IP == "" && isHostname(ip) {
			// CloudTrail's sourceIPAddress is a service's name when a
			// service made the call.
			ep.Domain = ip
		}
	}
	if p, err := strconv.Atoi(port); err == nil && p > 0 && p <= 65535 {
		ep.Port = p
	}
	if *ep == (ecs.Endpoint{}) {
		return nil
	}
	return ep
}

// isHostname reports whether s looks like a dotted host name.
func isHostname(s string) bool {
	if !strings.Contains(s, ".") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// parseIP returns an address in canonical form, or "" for what is not one
// (agents registered with "any", for one).
func parseIP(s string) string {
	ip, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	return ip.WithZone("").Unmap().String()
}

func nonEmpty(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}
