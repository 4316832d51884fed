package falco

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// Dataset is the event.dataset of Falco events.
const Dataset = "falco.alerts"

// Kind is the event.kind of Falco events: ECS "alert", as the tool raised
// them. vigil's own alerts are told apart by event.dataset vigil.alerts.
const Kind = "alert"

func init() { normalize.Register("falco", Decoder{}) }

// Decoder is the Falco decoder. It is stateless and safe for concurrent
// use.
type Decoder struct{}

// Dataset implements normalize.Decoder.
func (Decoder) Dataset() string { return "falco" }

// Alert is one Falco alert as Falco's json_output writes it and as
// falcosidekick forwards it (falcosidekick adds uuid, and its customfields
// to output_fields).
type Alert struct {
	UUID         string          `json:"uuid"`
	Output       string          `json:"output"`
	Priority     string          `json:"priority"`
	Rule         string          `json:"rule"`
	Time         string          `json:"time"`
	OutputFields json.RawMessage `json:"output_fields"`
	Source       string          `json:"source"`
	Tags         []string        `json:"tags"`
	Hostname     string          `json:"hostname"`
}

// Decode implements normalize.Decoder. A record is one alert, or a JSON
// array of alerts (a batch POSTed whole); an array whose items partly fail
// returns the good events and a *normalize.PartialError.
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

// priorities are Falco's priorities, most severe first, with the
// event.severity Elastic's integration gives each (7 for Emergency down to
// 0 for Debug).
var priorities = []struct {
	name     string
	severity int
}{
	{"Emergency", 7}, {"Alert", 6}, {"Critical", 5}, {"Error", 4},
	{"Warning", 3}, {"Notice", 2}, {"Informational", 1}, {"Debug", 0},
}

// priority returns the canonical spelling of a Falco priority and its
// severity. Falco's own spelling is matched without regard to case, and
// "Info" (Falco's short form) is accepted.
func priority(s string) (string, int, bool) {
	if strings.EqualFold(s, "info") {
		s = "Informational"
	}
	for _, p := range priorities {
		if strings.EqualFold(s, p.name) {
			return p.name, p.severity, true
		}
	}
	return "", 0, false
}

// Normalize maps one decoded Falco alert to ECS. raw is the alert's own
// bytes: kept in event.original when asked, and the source of the event
// id when the alert has no uuid.
func Normalize(a *Alert, raw []byte, m normalize.Meta) (*ecs.Event, error) {
	if a.Time == "" {
		return nil, errors.New("not a Falco alert: no time")
	}
	ts, err := time.Parse(time.RFC3339Nano, a.Time)
	if err != nil {
		return nil, fmt.Errorf("time %q is not an RFC 3339 time", a.Time)
	}
	// @timestamp must be set, and JSON can hold only years 0-9999.
	if ts = ts.UTC(); ts.IsZero() || ts.Year() < 1 || ts.Year() > 9999 {
		return nil, fmt.Errorf("time %q is out of range", a.Time)
	}
	if a.Rule == "" {
		return nil, errors.New("not a Falco alert: no rule")
	}
	if a.Priority == "" {
		return nil, errors.New("not a Falco alert: no priority")
	}
	prio, severity, ok := priority(a.Priority)
	if !ok {
		return nil, fmt.Errorf("priority %q is not a Falco priority (Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug)", a.Priority)
	}
	fields, err := decodeFields(a.OutputFields)
	if err != nil {
		return nil, fmt.Errorf("output_fields: %w", err)
	}
	f := outputFields(fields)

	id := a.UUID
	if id == "" {
		id = normalize.DerivedID(raw, 0)
	}
	ev := &ecs.Event{
		Timestamp: ts,
		Message:   a.Output,
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event: ecs.EventMeta{
			ID:       id,
			Kind:     Kind,
			Action:   action(f),
			Outcome:  outcome(f),
			Provider: a.Source,
			Dataset:  Dataset,
			Module:   "falco",
			Severity: severity,
		},
		Rule:     &ecs.Rule{Name: a.Rule, Ruleset: "falco"},
		Threat:   threat(a.Tags),
		Observer: &ecs.Observer{Vendor: "Sysdig", Product: "Falco", Hostname: a.Hostname},
		Falco: &ecs.Falco{
			Hostname:     a.Hostname,
			OutputFields: fields,
			Priority:     prio,
			Source:       a.Source,
			Tags:         nonEmpty(a.Tags),
			UUID:         a.UUID,
		},
	}
	ev.Event.Category, ev.Event.Type = categorize(a.Source, f)
	if m.KeepOriginal {
		// JSON text holds only UTF-8: bytes that are not are replaced, as
		// encoding/json replaces them in the decoded fields.
		ev.Event.Original = strings.ToValidUTF8(string(raw), "\uFFFD")
	}

	var related ecs.Related
	if a.Hostname != "" {
		ev.Host = &ecs.Host{Name: a.Hostname, Hostname: a.Hostname}
		related.Hosts = append(related.Hosts, a.Hostname)
	}
	ev.Process = process(f)
	if u := user(a.Source, f); u != nil {
		ev.User = u
		if u.Name != "" {
			related.User = append(related.User, u.Name)
		}
	}
	ev.File = file(f)
	ev.Container = container(f)
	ev.Orchestrator = orchestrator(a.Source, f)
	ev.Source, ev.Destination, ev.Network = network(f)
	if a.Source == "aws_cloudtrail" {
		ev.Cloud = &ecs.Cloud{Provider: "aws", Region: f.str("ct.region")}
	}
	for _, ep := range []*ecs.Endpoint{ev.Source, ev.Destination} {
		if ep != nil && ep.IP != "" && !slices.Contains(related.IP, ep.IP) {
			related.IP = append(related.IP, ep.IP)
		}
	}
	if len(related.IP) > 0 || len(related.User) > 0 || len(related.Hosts) > 0 {
		ev.Related = &related
	}
	return ev, nil
}

// decodeFields decodes output_fields keeping numbers as json.Number, so
// that Falco's nanosecond times pass unchanged.
func decodeFields(b json.RawMessage) (ecs.FlatObject, error) {
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

// outputFields reads output_fields values by Falco field name.
type outputFields ecs.FlatObject

// str returns a field as text: strings as they are, numbers in their JSON
// form. Falco's "<NA>" (not available) and empty values read as "".
func (f outputFields) str(name string) string {
	switch v := f[name].(type) {
	case string:
		if v == "<NA>" || v == "N/A" {
			return ""
		}
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// integer returns a field as an integer: a JSON integer or a string holding
// one.
func (f outputFields) integer(name string) (int64, bool) {
	var s string
	switch v := f[name].(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// boolean returns a boolean field.
func (f outputFields) boolean(name string) (bool, bool) {
	switch v := f[name].(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	return false, false
}

func (f outputFields) first(names ...string) string {
	for _, n := range names {
		if s := f.str(n); s != "" {
			return s
		}
	}
	return ""
}

// action is what happened: the system call, the Kubernetes API verb, or
// the cloud API call (the cloudtrail plugin's ct.name).
func action(f outputFields) string {
	return f.first("evt.type", "ka.verb", "ct.name")
}

// outcome follows Elastic: evt.res SUCCESS is a success; a failed call
// (evt.failed, or an errno in evt.res) a failure.
func outcome(f outputFields) string {
	res := f.str("evt.res")
	if res == "SUCCESS" {
		return "success"
	}
	if failed, ok := f.boolean("evt.failed"); ok && failed {
		return "failure"
	}
	if strings.HasPrefix(res, "E") {
		return "failure"
	}
	return ""
}

// categorize assigns event.category and event.type. evt.category, when
// the rule outputs it, maps as Elastic's integration maps it; otherwise
// the category comes from the system call, the descriptor type and the
// event source (Elastic then says "process" whatever the call).
// event.type comes from the system call as in Elastic's integration, or
// from the Kubernetes verb.
func categorize(source string, f outputFields) (category, typ []string) {
	evtType := f.str("evt.type")
	typ = []string{syscallType(evtType)}
	if source == "k8s_audit" {
		typ = []string{verbType(f.str("ka.verb"))}
	}
	if c := f.str("evt.category"); c != "" {
		return []string{evtCategory(c)}, typ
	}
	switch source {
	case "k8s_audit", "aws_cloudtrail", "gcp_auditlog", "github":
		return []string{"configuration"}, typ
	case "okta":
		return []string{"authentication"}, typ
	}
	if c, ok := syscallCategory[evtType]; ok {
		return []string{c}, typ
	}
	switch f.str("fd.type") {
	case "file", "directory":
		return []string{"file"}, typ
	case "ipv4", "ipv6":
		return []string{"network"}, typ
	}
	return []string{"process"}, typ
}

// evtCategory maps Falco's evt.category as Elastic's integration does.
func evtCategory(c string) string {
	switch lc := strings.ToLower(c); lc {
	case "api", "authentication", "configuration", "database", "driver", "email", "file", "host",
		"iam", "intrusion_detection", "library", "malware", "network", "package", "process",
		"registry", "session", "threat", "vulnerability", "web":
		return lc
	case "time", "scheduler":
		return "configuration"
	case "system", "memory", "sleep", "wait", "internal":
		return "host"
	case "ipc", "net", "signal":
		return "network"
	case "user":
		return "session"
	}
	return "process"
}

// syscallCategory places the system calls Falco's rules fire on; others
// are placed by their descriptor, or are "process".
var syscallCategory = map[string]string{}

func init() {
	for _, s := range strings.Fields(`open openat openat2 creat unlink unlinkat rename renameat renameat2
		mkdir mkdirat rmdir chmod fchmod fchmodat chown fchown fchownat lchown link linkat symlink
		symlinkat mknod mknodat truncate ftruncate readlink readlinkat faccessat faccessat2
		setxattr fsetxattr removexattr fremovexattr`) {
		syscallCategory[s] = "file"
	}
	for _, s := range strings.Fields(`connect accept accept4 bind listen socket socketpair sendto
		sendmsg sendmmsg recvfrom recvmsg recvmmsg shutdown`) {
		syscallCategory[s] = "network"
	}
	for _, s := range strings.Fields(`execve execveat clone clone3 fork vfork kill tkill tgkill
		ptrace setuid setgid setresuid setresgid setreuid setregid capset prctl exit exit_group
		procexit`) {
		syscallCategory[s] = "process"
	}
	for t, calls := range map[string]string{
		"start":    `execve execveat execv io_uring_enter perf_event_open swapon`,
		"creation": `clone clone3 fork vfork creat mkdir mkdirat link linkat symlink symlinkat mknod mknodat memfd_create init_module mount dup dup2 dup3 pipe pipe2 eventfd eventfd2 timerfd_create inotify_init inotify_init1`,
		"deletion": `unlink unlinkat rmdir delete_module umount umount2 removexattr fremovexattr`,
		"change": `rename renameat renameat2 chmod fchmod fchmodat chown fchown fchownat lchown write writev pwrite64 pwritev
			truncate ftruncate setuid setgid setresuid setresgid setreuid setregid setns unshare prctl bpf mprotect chroot
			pivot_root capset setsockopt setrlimit prlimit64 setxattr fsetxattr chdir fchdir close`,
		"access":     `open openat openat2 read readv pread64 preadv readlink readlinkat faccessat faccessat2 access`,
		"connection": `connect accept accept4 sendto sendmsg sendmmsg recvfrom recvmsg recvmmsg socket socketpair`,
		"end":        `exit exit_group procexit kill tkill tgkill shutdown`,
		"admin":      `ptrace reboot`,
		"allowed":    `finit_module`,
		"info":       `bind listen getsockopt stat fstat lstat newfstatat statx getdents getdents64 ioctl`,
	} {
		for _, s := range strings.Fields(calls) {
			syscallTypes[s] = t
		}
	}
}

// syscallTypes gives the event.type of a system call, as Elastic's
// integration groups them.
var syscallTypes = map[string]string{}

func syscallType(s string) string {
	if t, ok := syscallTypes[s]; ok {
		return t
	}
	return "info"
}

// verbType gives the event.type of a Kubernetes API verb.
func verbType(v string) string {
	switch v {
	case "create":
		return "creation"
	case "delete", "deletecollection":
		return "deletion"
	case "update", "patch":
		return "change"
	case "get", "list", "watch":
		return "access"
	}
	return "info"
}

// tactics are the MITRE ATT&CK enterprise tactics, by the suffix of
// Falco's mitre_* tags.
var tactics = map[string]struct{ id, name string }{
	"reconnaissance":       {"TA0043", "Reconnaissance"},
	"resource_development": {"TA0042", "Resource Development"},
	"initial_access":       {"TA0001", "Initial Access"},
	"execution":            {"TA0002", "Execution"},
	"persistence":          {"TA0003", "Persistence"},
	"privilege_escalation": {"TA0004", "Privilege Escalation"},
	"defense_evasion":      {"TA0005", "Defense Evasion"},
	"credential_access":    {"TA0006", "Credential Access"},
	"discovery":            {"TA0007", "Discovery"},
	"lateral_movement":     {"TA0008", "Lateral Movement"},
	"collection":           {"TA0009", "Collection"},
	"exfiltration":         {"TA0010", "Exfiltration"},
	"command_and_control":  {"TA0011", "Command and Control"},
	"impact":               {"TA0040", "Impact"},
}

var techniqueTag = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// threat reads MITRE ATT&CK references from the rule's tags: mitre_<tactic>
// tags name tactics, T<nnnn>[.<nnn>] tags techniques (kept as tagged,
// sub-technique included).
func threat(tags []string) *ecs.Threat {
	var tac, tech ecs.ThreatCategory
	for _, t := range tags {
		if rest, ok := strings.CutPrefix(strings.ToLower(t), "mitre_"); ok {
			if x, ok := tactics[rest]; ok && !slices.Contains(tac.ID, x.id) {
				tac.ID = append(tac.ID, x.id)
				tac.Name = append(tac.Name, x.name)
			}
			continue
		}
		if techniqueTag.MatchString(t) && !slices.Contains(tech.ID, t) {
			tech.ID = append(tech.ID, t)
		}
	}
	if len(tac.ID) == 0 && len(tech.ID) == 0 {
		return nil
	}
	th := &ecs.Threat{Framework: "MITRE ATT&CK"}
	if len(tac.ID) > 0 {
		th.Tactic = &tac
	}
	if len(tech.ID) > 0 {
		th.Technique = &tech
	}
	return th
}

func process(f outputFields) *ecs.Process {
	p := &ecs.Process{
		Name:             f.str("proc.name"),
		Executable:       f.str("proc.exepath"),
		CommandLine:      f.str("proc.cmdline"),
		WorkingDirectory: f.str("proc.cwd"),
	}
	if p.Executable == "" {
		// Before Falco 0.35 rules printed proc.exe, the first argument,
		// which is the executable when it is a path.
		if exe := f.str("proc.exe"); strings.HasPrefix(exe, "/") {
			p.Executable = exe
		}
	}
	if pid, ok := f.integer("proc.pid"); ok && pid > 0 {
		p.PID = pid
	}
	// As Elastic: the executable, then proc.args split at spaces.
	if args := f.str("proc.args"); args != "" && p.Executable != "" {
		p.Args = append([]string{p.Executable}, strings.Fields(args)...)
	}
	parent := &ecs.ProcessParent{
		Name:        f.str("proc.pname"),
		Executable:  f.str("proc.pexepath"),
		CommandLine: f.str("proc.pcmdline"),
	}
	if ppid, ok := f.integer("proc.ppid"); ok && ppid > 0 {
		parent.PID = ppid
	}
	if *parent != (ecs.ProcessParent{}) {
		p.Parent = parent
	}
	if u := (ecs.User{Name: f.str("user.name"), ID: f.str("user.uid")}); u != (ecs.User{}) {
		p.User = &u
	}
	if p.Name == "" && p.Executable == "" && p.CommandLine == "" && p.PID == 0 && p.Parent == nil && p.User == nil && p.WorkingDirectory == "" {
		return nil
	}
	return p
}

// user is who acted: the process's user, or the caller of a Kubernetes
// or cloud API (ka.user.name, ct.user).
func user(source string, f outputFields) *ecs.User {
	u := ecs.User{Name: f.str("user.name"), ID: f.str("user.uid")}
	if source == "k8s_audit" || u == (ecs.User{}) {
		if n := f.first("ka.user.name", "ct.user"); n != "" {
			u = ecs.User{Name: n}
		}
	}
	if u == (ecs.User{}) {
		return nil
	}
	return &u
}

// file maps the descriptor when it is a file: fd.type says so, or, when
// the rule does not output fd.type, fd.name is an absolute path (sockets
// read "ip:port->ip:port").
func file(f outputFields) *ecs.File {
	name, typ := f.str("fd.name"), f.str("fd.type")
	isFile := typ == "file" || typ == "directory" || (typ == "" && strings.HasPrefix(name, "/"))
	if !isFile {
		return nil
	}
	// The directory and name come from the path, so that the three agree;
	// fd.directory and fd.filename serve when there is no path.
	fl := &ecs.File{Path: name, Directory: f.str("fd.directory"), Name: f.str("fd.filename")}
	if strings.HasPrefix(name, "/") && name != "/" {
		fl.Directory, fl.Name = path.Dir(name), path.Base(name)
	}
	if *fl == (ecs.File{}) {
		return nil
	}
	return fl
}

// container maps container.*. Falco names a process on the host itself
// container "host": that is no container.
func container(f outputFields) *ecs.Container {
	id := f.str("container.id")
	if id == "host" {
		return nil
	}
	c := &ecs.Container{ID: id, Name: f.str("container.name"), Runtime: f.str("container.type")}
	img := &ecs.ContainerImage{Name: f.str("container.image.repository")}
	tag := f.str("container.image.tag")
	if img.Name == "" {
		img.Name, tag = splitImage(f.str("container.image"), tag)
	}
	if tag != "" {
		img.Tag = []string{tag}
	}
	if img.Name != "" || img.Tag != nil {
		c.Image = img
	}
	if c.ID == "" && c.Name == "" && c.Image == nil && c.Runtime == "" {
		return nil
	}
	return c
}

// splitImage splits "registry:5000/repo:tag@sha256:..." into the
// repository and the tag (tag, when given, wins).
func splitImage(ref, tag string) (string, string) {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		if tag == "" {
			tag = ref[i+1:]
		}
		ref = ref[:i]
	}
	return ref, tag
}

// orchestrator maps the pod a syscall event happened in, or the target of
// a Kubernetes audit event.
func orchestrator(source string, f outputFields) *ecs.Orchestrator {
	ns, name, typ := f.str("k8s.ns.name"), f.str("k8s.pod.name"), "pod"
	if source == "k8s_audit" || (ns == "" && name == "") {
		if kns, kname := f.str("ka.target.namespace"), f.str("ka.target.name"); kns != "" || kname != "" {
			ns, name, typ = kns, kname, strings.TrimSuffix(f.str("ka.target.resource"), "s")
		}
	}
	if ns == "" && name == "" {
		return nil
	}
	o := &ecs.Orchestrator{Type: "kubernetes", Namespace: ns}
	if name != "" {
		o.Resource = &ecs.OrchestratorResource{Name: name, Type: typ}
	}
	return o
}

// network maps the connection: the client (fd.cip, fd.cport) is the
// source and the server (fd.sip, fd.sport) the destination. Without them
// the local end (fd.lip, fd.lport) is the source and the remote end
// (fd.rip, fd.rport) the destination, as Elastic maps them, except on an
// accepted connection, where the remote end is the one that connected.
func network(f outputFields) (src, dst *ecs.Endpoint, nw *ecs.Network) {
	local, remote := endpoint(f, "fd.lip", "fd.lport"), endpoint(f, "fd.rip", "fd.rport")
	if t := f.str("evt.type"); t == "accept" || t == "accept4" {
		local, remote = remote, local
	}
	src = endpoint(f, "fd.cip", "fd.cport")
	if src == nil {
		src = local
	}
	dst = endpoint(f, "fd.sip", "fd.sport")
	if dst == nil {
		dst = remote
	}
	if src == nil && dst == nil {
		// A cloud audit plugin's caller (the cloudtrail plugin's ct.srcip).
		if ip := f.str("ct.srcip"); ip != "" {
			src = &ecs.Endpoint{Address: ip}
			if a, err := netip.ParseAddr(ip); err == nil {
				src.IP = a.WithZone("").Unmap().String()
			}
		}
	}
	n := &ecs.Network{Transport: strings.ToLower(f.str("fd.l4proto"))}
	if t := f.str("fd.type"); t == "ipv4" || t == "ipv6" {
		n.Type = t
	}
	if *n != (ecs.Network{}) {
		nw = n
	}
	return src, dst, nw
}

func endpoint(f outputFields, ipField, portField string) *ecs.Endpoint {
	ep := &ecs.Endpoint{Domain: f.str(ipField + ".name")}
	if s := f.str(ipField); s != "" {
		ep.Address = s
		if ip, err := netip.ParseAddr(s); err == nil {
			ep.IP = ip.WithZone("").Unmap().String()
		}
	}
	if p, ok := f.integer(portField); ok && p > 0 && p <= 65535 {
		ep.Port = int(p)
	}
	if *ep == (ecs.Endpoint{}) {
		return nil
	}
	return ep
}

func nonEmpty(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}
