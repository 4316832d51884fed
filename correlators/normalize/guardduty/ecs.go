package guardduty

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// Normalize maps one finding to ECS, following Elastic's AWS integration
// (data stream aws.guardduty) where it maps a field, with these
// differences:
//
//   - event.kind is "alert", as Elastic's current pipeline sets it (its
//     older sample_event.json says "event"); vigil's own alerts are told
//     apart by event.dataset vigil.alerts.
//   - cloud.provider is "aws" whatever the partition (kept in
//     aws.guardduty.partition).
//   - ECS fields hold one value, not lists: the first port probe, the
//     first container. related.* lists them all.
//   - For a network connection the remote address is the source of an
//     inbound connection and the destination of an outbound one, with its
//     own port, geo and AS; the local address is the other end. A port
//     probe's prober is the source and the probed address and port the
//     destination. (Elastic puts the local port in source.port and all
//     geo data under source.)
//   - threat.tactic is set when the finding type's threat purpose is a
//     MITRE ATT&CK tactic (Discovery, CredentialAccess, ...), and
//     resource.* names the resource the finding is about.
//   - Also beyond Elastic: user_agent.original of API and Kubernetes
//     calls, process.user of runtime findings, container.* from the
//     resource's own container, orchestrator.type "kubernetes", and
//     resource.id of Lambda findings.
//   - Like Elastic, event.category is not set (event.type is ["info"]).
//
// flat holds the details Finding does not map; it may be nil.
func Normalize(f *Finding, flat *ecs.GuardDutyFlattened) (*ecs.Event, error) {
	if f.ID == "" {
		return nil, errors.New("GuardDuty finding has no id")
	}
	created, err := normalize.ParseJSONTime("createdAt", f.CreatedAt)
	if err != nil {
		return nil, err
	}
	updated, err := normalize.ParseJSONTime("updatedAt", f.UpdatedAt)
	if err != nil {
		return nil, err
	}
	ts := updated
	if ts == nil {
		ts = created
	}
	if ts == nil {
		return nil, errors.New("GuardDuty finding has neither updatedAt nor createdAt")
	}

	gd := &ecs.GuardDuty{
		SchemaVersion: f.SchemaVersion,
		AccountID:     f.AccountID,
		Region:        f.Region,
		Partition:     f.Partition,
		ID:            f.ID,
		ARN:           f.ARN,
		Type:          f.Type,
		Title:         f.Title,
		Description:   f.Description,
		Confidence:    f.Confidence,
		CreatedAt:     created,
		UpdatedAt:     updated,
		Flattened:     flat,
	}
	ev := &ecs.Event{
		Timestamp: *ts,
		Message:   f.Description,
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event: ecs.EventMeta{
			ID:      f.ID,
			Kind:    "alert",
			Type:    []string{"info"},
			Dataset: Dataset,
			Module:  "aws",
			Created: created,
		},
		Cloud: &ecs.Cloud{Provider: "aws", Region: f.Region},
		AWS:   &ecs.AWS{GuardDuty: gd},
	}
	if f.AccountID != "" {
		ev.Cloud.Account = &ecs.CloudAccount{ID: f.AccountID}
	}
	if f.Severity != nil {
		s := *f.Severity
		gd.Severity = &ecs.GuardDutySeverity{Code: s, Value: severityBand(s)}
		if s >= 0 && s < 1e6 {
			ev.Event.Severity = int(math.Floor(s))
		}
	}
	if f.Type != "" {
		ev.Rule = rule(f.Type)
		ev.Threat = threat(ev.Rule.Category)
	}

	var rel related
	if r := f.Resource; r != nil {
		res, err := resource(r)
		if err != nil {
			return nil, err
		}
		gd.Resource = res
		mapResource(ev, r, f.Region, &rel)
	}
	if s := f.Service; s != nil {
		svc, err := service(s)
		if err != nil {
			return nil, err
		}
		gd.Service = svc
		if s.ServiceName != "" {
			ev.Cloud.Service = &ecs.CloudService{Name: s.ServiceName}
		}
		mapService(ev, s, &rel)
	}
	ev.Related = rel.ecs()
	return ev, nil
}

// severityBand names GuardDuty's severity bands.
func severityBand(s float64) string {
	switch {
	case s >= 9 && s <= 10:
		return "Critical"
	case s >= 7 && s < 9:
		return "High"
	case s >= 4 && s < 7:
		return "Medium"
	case s >= 1 && s < 4:
		return "Low"
	}
	return ""
}

// rule maps a finding type, ThreatPurpose:ResourceTypeAffected/ThreatFamilyName,
// as Elastic does: rule.name is the type, rule.ruleset its part before the
// slash and rule.category the threat purpose.
func rule(typ string) *ecs.Rule {
	r := &ecs.Rule{Name: typ}
	purpose, rest, ok := strings.Cut(typ, ":")
	if !ok || purpose == "" {
		return r
	}
	r.Category = purpose
	if res, _, ok := strings.Cut(rest, "/"); ok && res != "" {
		r.Ruleset = purpose + ":" + res
	}
	return r
}

// tactics are the GuardDuty threat purposes that are MITRE ATT&CK tactics.
var tactics = map[string][2]string{
	"Recon":               {"TA0043", "Reconnaissance"},
	"InitialAccess":       {"TA0001", "Initial Access"},
	"Execution":           {"TA0002", "Execution"},
	"Persistence":         {"TA0003", "Persistence"},
	"PrivilegeEscalation": {"TA0004", "Privilege Escalation"},
	"DefenseEvasion":      {"TA0005", "Defense Evasion"},
	"CredentialAccess":    {"TA0006", "Credential Access"},
	"Discovery":           {"TA0007", "Discovery"},
	"Exfiltration":        {"TA0010", "Exfiltration"},
	"Impact":              {"TA0040", "Impact"},
}

func threat(purpose string) *ecs.Threat {
	t, ok := tactics[purpose]
	if !ok {
		return nil
	}
	return &ecs.Threat{Framework: "MITRE ATT&CK", Tactic: &ecs.ThreatCategory{ID: []string{t[0]}, Name: []string{t[1]}}}
}

// related collects related.* values, in order, without duplicates.
type related struct {
	ip, user, hosts []string
}

func addUnique(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// addIP adds v if it is an IP address, in canonical form.
func (r *related) addIP(v string) {
	if ip, ok := parseIP(v); ok {
		r.ip = addUnique(r.ip, ip)
	}
}

func (r *related) ecs() *ecs.Related {
	if len(r.ip) == 0 && len(r.user) == 0 && len(r.hosts) == 0 {
		return nil
	}
	return &ecs.Related{IP: r.ip, User: r.user, Hosts: r.hosts}
}

func parseIP(s string) (string, bool) {
	ip, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return "", false
	}
	return ip.Unmap().WithZone("").String(), true
}

// mapResource fills the ECS fields that come from the resource.
func mapResource(ev *ecs.Event, r *Resource, region string, rel *related) {
	res := &ecs.Resource{Type: r.ResourceType, Region: region}
	if in := r.InstanceDetails; in != nil {
		for _, ni := range in.NetworkInterfaces {
			for _, ip := range ni.IPv6Addresses {
				rel.addIP(ip)
			}
		}
		for _, ni := range in.NetworkInterfaces {
			rel.addIP(ni.PrivateIPAddress)
		}
		for _, ni := range in.NetworkInterfaces {
			for _, p := range ni.PrivateIPAddresses {
				rel.addIP(p.PrivateIPAddress)
			}
		}
		for _, ni := range in.NetworkInterfaces {
			rel.addIP(ni.PublicIP)
		}
		if in.InstanceID != "" {
			ev.Cloud.Instance = &ecs.CloudID{ID: in.InstanceID}
			ev.Host = &ecs.Host{ID: in.InstanceID}
		}
		if in.Platform != "" {
			if ev.Host == nil {
				ev.Host = &ecs.Host{}
			}
			ev.Host.OS = &ecs.HostOS{Platform: in.Platform}
		}
	}
	var userName, userID string
	if ak := r.AccessKeyDetails; ak != nil {
		rel.user = addUnique(rel.user, ak.PrincipalID)
		rel.user = addUnique(rel.user, ak.UserName)
		userName, userID = ak.UserName, ak.PrincipalID
	}
	if k := r.KubernetesDetails; k != nil {
		if u := k.KubernetesUserDetails; u != nil {
			rel.user = addUnique(rel.user, u.UID)
			rel.user = addUnique(rel.user, u.Username)
			userName = firstOf(userName, u.Username)
			userID = firstOf(userID, u.UID)
		}
		if w := k.KubernetesWorkloadDetails; w != nil && (w.Name != "" || w.Namespace != "" || w.Type != "") {
			ev.Orchestrator = &ecs.Orchestrator{Type: "kubernetes", Namespace: w.Namespace}
			if w.Name != "" || w.Type != "" {
				ev.Orchestrator.Resource = &ecs.OrchestratorResource{Name: w.Name, Type: w.Type}
			}
		}
	}
	if u := r.RDSDBUserDetails; u != nil {
		rel.user = addUnique(rel.user, u.User)
		userName = firstOf(userName, u.User)
	}
	for _, b := range r.S3BucketDetails {
		if b.Owner != nil {
			rel.user = addUnique(rel.user, b.Owner.ID)
		}
	}
	if userName != "" || userID != "" {
		ev.User = &ecs.User{Name: userName, ID: userID}
	}
	ev.Container = container(r)

	// resource.id is the identifier the resource's own API takes.
	switch {
	case r.ResourceType == "AccessKey" && r.AccessKeyDetails != nil:
		res.ID, res.Name = r.AccessKeyDetails.AccessKeyID, r.AccessKeyDetails.UserName
	case r.ResourceType == "S3Bucket" && len(r.S3BucketDetails) > 0:
		res.ID, res.Name = r.S3BucketDetails[0].Name, r.S3BucketDetails[0].Name
	case r.ResourceType == "EKSCluster" && r.EKSClusterDetails != nil:
		res.ID, res.Name = r.EKSClusterDetails.Name, r.EKSClusterDetails.Name
	case r.ResourceType == "ECSCluster" && r.ECSClusterDetails != nil:
		res.ID, res.Name = r.ECSClusterDetails.Name, r.ECSClusterDetails.Name
	case strings.HasPrefix(r.ResourceType, "RDS") && r.RDSDBInstanceDetails != nil:
		res.ID, res.Name = r.RDSDBInstanceDetails.DBInstanceIdentifier, r.RDSDBInstanceDetails.DBInstanceIdentifier
	case r.ResourceType == "Lambda" && r.LambdaDetails != nil:
		res.ID, res.Name = r.LambdaDetails.FunctionName, r.LambdaDetails.FunctionName
	case r.ResourceType == "Container" && r.ContainerDetails != nil:
		res.ID, res.Name = r.ContainerDetails.ID, r.ContainerDetails.Name
	case r.InstanceDetails != nil:
		res.ID = r.InstanceDetails.InstanceID
		for _, t := range r.InstanceDetails.Tags {
			if t.Key == "Name" {
				res.Name = t.Value
			}
		}
	}
	if *res != (ecs.Resource{Region: region}) {
		ev.Resource = res
	}
}

// container is the container of the finding: the resource's own, or the
// first of its ECS task.
func container(r *Resource) *ecs.Container {
	c := r.ContainerDetails
	if c == nil && r.ECSClusterDetails != nil && r.ECSClusterDetails.TaskDetails != nil && len(r.ECSClusterDetails.TaskDetails.Containers) > 0 {
		c = &r.ECSClusterDetails.TaskDetails.Containers[0]
	}
	if c == nil || c.ID == "" && c.Name == "" && c.ContainerRuntime == "" && c.Image == "" {
		return nil
	}
	out := &ecs.Container{ID: c.ID, Name: c.Name, Runtime: c.ContainerRuntime}
	if c.Image != "" {
		out.Image = &ecs.ContainerImage{Name: c.Image}
	}
	return out
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// mapService fills the ECS fields that come from the service: the action's
// addresses and the runtime process.
func mapService(ev *ecs.Event, s *Service, rel *related) {
	if rt := s.RuntimeDetails; rt != nil {
		if p := rt.Process; p != nil {
			proc := &ecs.Process{Name: p.Name, Executable: p.ExecutablePath, WorkingDirectory: p.PWD}
			if p.PID != nil {
				proc.PID = *p.PID
			}
			if p.User != "" || p.UserID != nil {
				proc.User = &ecs.User{Name: p.User}
				if p.UserID != nil {
					proc.User.ID = strconv.FormatInt(*p.UserID, 10)
				}
			}
			if proc.PID != 0 || proc.Name != "" || proc.Executable != "" || proc.WorkingDirectory != "" || proc.User != nil {
				ev.Process = proc
			}
		}
		if c := rt.Context; c != nil && c.IANAProtocolNumber != nil {
			ev.Network = &ecs.Network{IANANumber: strconv.FormatInt(*c.IANAProtocolNumber, 10)}
		}
	}
	a := s.Action
	if a == nil {
		return
	}
	ev.Event.Action = a.ActionType
	network := func() *ecs.Network {
		if ev.Network == nil {
			ev.Network = &ecs.Network{}
		}
		return ev.Network
	}
	if c := a.AWSAPICallAction; c != nil {
		ev.Event.Provider = c.ServiceName
		if c.DomainDetails != nil {
			rel.hosts = addUnique(rel.hosts, c.DomainDetails.Domain)
		}
		if c.UserAgent != "" {
			ev.UserAgent = &ecs.UserAgent{Original: c.UserAgent}
		}
		setEndpoint(&ev.Source, remote(c.RemoteIPDetails), rel)
	}
	if k := a.KubernetesAPICallAction; k != nil {
		src := remote(k.RemoteIPDetails)
		if src == nil && len(k.SourceIPs) > 0 {
			src = address(k.SourceIPs[0])
		}
		setEndpoint(&ev.Source, src, rel)
		for _, ip := range k.SourceIPs {
			rel.addIP(ip)
		}
		if k.UserAgent != "" && ev.UserAgent == nil {
			ev.UserAgent = &ecs.UserAgent{Original: k.UserAgent}
		}
	}
	if d := a.DNSRequestAction; d != nil {
		rel.hosts = addUnique(rel.hosts, d.Domain)
		if d.Protocol != "" {
			network().Transport = strings.ToLower(d.Protocol)
		}
	}
	if n := a.NetworkConnectionAction; n != nil {
		local, far := localEnd(n.LocalIPDetails), remote(n.RemoteIPDetails)
		local = withPort(local, n.LocalPortDetails)
		far = withPort(far, n.RemotePortDetails)
		if n.LocalIPDetails != nil {
			rel.addIP(firstOf(n.LocalIPDetails.IPAddressV4, n.LocalIPDetails.IPAddressV6))
		}
		dir := strings.ToLower(n.ConnectionDirection)
		switch dir {
		case "inbound":
			setEndpoint(&ev.Source, far, rel)
			setEndpoint(&ev.Destination, local, rel)
		case "outbound":
			setEndpoint(&ev.Source, local, rel)
			setEndpoint(&ev.Destination, far, rel)
		default:
			if far != nil {
				rel.addIP(far.IP)
			}
		}
		if dir == "inbound" || dir == "outbound" || dir == "unknown" {
			network().Direction = dir
		}
		if n.Protocol != "" {
			network().Transport = strings.ToLower(n.Protocol)
		}
	}
	if p := a.PortProbeAction; p != nil {
		for _, d := range p.PortProbeDetails {
			if d.LocalIPDetails != nil {
				rel.addIP(firstOf(d.LocalIPDetails.IPAddressV4, d.LocalIPDetails.IPAddressV6))
			}
		}
		for i, d := range p.PortProbeDetails {
			far := remote(d.RemoteIPDetails)
			if i == 0 {
				setEndpoint(&ev.Source, far, rel)
				setEndpoint(&ev.Destination, withPort(localEnd(d.LocalIPDetails), d.LocalPortDetails), rel)
			} else if far != nil {
				rel.addIP(far.IP)
			}
		}
	}
	if r := a.RDSLoginAttemptAction; r != nil {
		setEndpoint(&ev.Source, remote(r.RemoteIPDetails), rel)
	}
}

// setEndpoint sets *dst to e unless it is already set or e is nil, and
// adds e's address to related.ip either way.
func setEndpoint(dst **ecs.Endpoint, e *ecs.Endpoint, rel *related) {
	if e == nil {
		return
	}
	rel.addIP(e.IP)
	if *dst == nil {
		*dst = e
	}
}

// address is an endpoint of an address.
func address(a string) *ecs.Endpoint {
	if a == "" {
		return nil
	}
	e := &ecs.Endpoint{Address: a}
	if ip, ok := parseIP(a); ok {
		e.IP = ip
	}
	return e
}

func localEnd(l *LocalIPDetails) *ecs.Endpoint {
	if l == nil {
		return nil
	}
	return address(firstOf(l.IPAddressV4, l.IPAddressV6))
}

// withPort sets e's port from p, creating e if need be.
func withPort(e *ecs.Endpoint, p *PortDetails) *ecs.Endpoint {
	if p == nil || p.Port == nil || *p.Port <= 0 || *p.Port > 65535 {
		return e
	}
	if e == nil {
		e = &ecs.Endpoint{}
	}
	e.Port = int(*p.Port)
	return e
}

// remote is the endpoint of a remote address, with where GuardDuty places
// it.
func remote(r *RemoteIPDetails) *ecs.Endpoint {
	if r == nil {
		return nil
	}
	e := address(firstOf(r.IPAddressV4, r.IPAddressV6))
	if e == nil {
		e = &ecs.Endpoint{}
	}
	geo := &ecs.Geo{}
	if r.City != nil {
		geo.CityName = r.City.CityName
	}
	if r.Country != nil {
		geo.CountryISOCode, geo.CountryName = r.Country.CountryCode, r.Country.CountryName
	}
	if g := r.GeoLocation; g != nil && math.Abs(g.Lat) <= 90 && math.Abs(g.Lon) <= 180 {
		geo.Location = &ecs.Location{Lat: g.Lat, Lon: g.Lon}
	}
	if *geo != (ecs.Geo{}) {
		e.Geo = geo
	}
	if o := r.Organization; o != nil {
		as := &ecs.AS{}
		if n, err := strconv.ParseInt(o.ASN, 10, 64); err == nil && n > 0 {
			as.Number = n
		}
		if o.ASNOrg != "" {
			as.Organization = &ecs.ASName{Name: o.ASNOrg}
		}
		if as.Number != 0 || as.Organization != nil {
			e.AS = as
		}
	}
	if *e == (ecs.Endpoint{}) {
		return nil
	}
	return e
}

// resource converts the resource to aws.guardduty.resource.
func resource(r *Resource) (*ecs.GuardDutyResource, error) {
	out := &ecs.GuardDutyResource{Type: r.ResourceType}
	if ak := r.AccessKeyDetails; ak != nil {
		out.AccessKeyDetails = &ecs.GuardDutyAccessKeyDetails{AccessKeyID: ak.AccessKeyID, PrincipalID: ak.PrincipalID}
		if ak.UserName != "" || ak.UserType != "" {
			out.AccessKeyDetails.User = &ecs.GuardDutyAccessKeyUser{Name: ak.UserName, Type: ak.UserType}
		}
	}
	if c := r.ContainerDetails; c != nil {
		out.ContainerDetails = convContainer(c)
	}
	if c := r.ECSClusterDetails; c != nil {
		e := &ecs.GuardDutyECSCluster{
			ActiveServicesCount:               c.ActiveServicesCount,
			ARN:                               c.ARN,
			Name:                              c.Name,
			RegisteredContainerInstancesCount: c.RegisteredContainerInstancesCount,
			RunningTasksCount:                 c.RunningTasksCount,
			Status:                            c.Status,
			Tags:                              tags(c.Tags),
		}
		if t := c.TaskDetails; t != nil {
			task := &ecs.GuardDutyECSTask{
				ARN:           t.ARN,
				Containers:    containers(t.Containers),
				DefinitionARN: t.DefinitionARN,
				Group:         t.Group,
				StartedBy:     t.StartedBy,
				Tags:          tags(t.Tags),
				Version:       t.Version,
				Volumes:       volumes(t.Volumes),
			}
			var err error
			if task.CreatedAt, err = normalize.ParseJSONTime("resource.ecsClusterDetails.taskDetails.createdAt", t.CreatedAt); err != nil {
				return nil, err
			}
			if task.StartedAt, err = normalize.ParseJSONTime("resource.ecsClusterDetails.taskDetails.startedAt", t.StartedAt); err != nil {
				return nil, err
			}
			e.TaskDetails = task
		}
		out.ECSClusterDetails = e
	}
	if c := r.EKSClusterDetails; c != nil {
		created, err := normalize.ParseJSONTime("resource.eksClusterDetails.createdAt", c.CreatedAt)
		if err != nil {
			return nil, err
		}
		out.EKSClusterDetails = &ecs.GuardDutyEKSCluster{ARN: c.ARN, CreatedAt: created, Name: c.Name, Status: c.Status, Tags: tags(c.Tags), VPCID: c.VPCID}
	}
	if in := r.InstanceDetails; in != nil {
		launch, err := normalize.ParseJSONTime("resource.instanceDetails.launchTime", in.LaunchTime)
		if err != nil {
			return nil, err
		}
		o := &ecs.GuardDutyInstance{
			AvailabilityZone: in.AvailabilityZone,
			LaunchTime:       launch,
			OutpostARN:       in.OutpostARN,
			Platform:         in.Platform,
			Tags:             tags(in.Tags),
		}
		if p := in.IAMInstanceProfile; p != nil && (p.ARN != "" || p.ID != "") {
			o.IAMInstanceProfile = &ecs.GuardDutyInstanceProfile{ARN: p.ARN, ID: p.ID}
		}
		if in.ImageDescription != "" || in.ImageID != "" {
			o.Image = &ecs.GuardDutyInstanceImage{Description: in.ImageDescription, ID: in.ImageID}
		}
		if in.InstanceID != "" || in.InstanceState != "" || in.InstanceType != "" {
			o.Instance = &ecs.GuardDutyInstanceInfo{ID: in.InstanceID, State: in.InstanceState, Type: in.InstanceType}
		}
		for _, ni := range in.NetworkInterfaces {
			n := ecs.GuardDutyNetworkInterface{
				IPv6Addresses:      ni.IPv6Addresses,
				NetworkInterfaceID: ni.NetworkInterfaceID,
				SubnetID:           ni.SubnetID,
				VPCID:              ni.VPCID,
			}
			if len(n.IPv6Addresses) == 0 {
				n.IPv6Addresses = nil
			}
			priv := &ecs.GuardDutyPrivateAddress{DNSName: ni.PrivateDNSName, IPAddress: ni.PrivateIPAddress}
			for _, p := range ni.PrivateIPAddresses {
				var pn *ecs.GuardDutyPrivateName
				if p.PrivateDNSName != "" || p.PrivateIPAddress != "" {
					pn = &ecs.GuardDutyPrivateName{DNSName: p.PrivateDNSName, IPAddress: p.PrivateIPAddress}
				}
				priv.IPAddresses = append(priv.IPAddresses, ecs.GuardDutyPrivateIP{Private: pn})
			}
			if priv.DNSName != "" || priv.IPAddress != "" || len(priv.IPAddresses) > 0 {
				n.Private = priv
			}
			if ni.PublicDNSName != "" || ni.PublicIP != "" {
				n.Public = &ecs.GuardDutyPublicAddress{DNSName: ni.PublicDNSName, IP: ni.PublicIP}
			}
			for _, sg := range ni.SecurityGroups {
				var g *ecs.GuardDutyGroup
				if sg.GroupID != "" || sg.GroupName != "" {
					g = &ecs.GuardDutyGroup{ID: sg.GroupID, Name: sg.GroupName}
				}
				n.SecurityGroups = append(n.SecurityGroups, ecs.GuardDutySecurityGroup{Group: g})
			}
			o.NetworkInterfaces = append(o.NetworkInterfaces, n)
		}
		for _, pc := range in.ProductCodes {
			var c *ecs.GuardDutyProductCode
			if pc.ProductCodeID != "" || pc.ProductCodeType != "" {
				c = &ecs.GuardDutyProductCode{ID: pc.ProductCodeID, Type: pc.ProductCodeType}
			}
			o.ProductCodes = append(o.ProductCodes, ecs.GuardDutyProductCodes{ProductCode: c})
		}
		out.InstanceDetails = o
	}
	if k := r.KubernetesDetails; k != nil {
		kd := &ecs.GuardDutyKubernetesDetails{}
		if u := k.KubernetesUserDetails; u != nil {
			kd.KubernetesUserDetails = &ecs.GuardDutyKubernetesUser{Groups: nonEmpty(u.Groups), UID: u.UID, UserName: u.Username}
		}
		if kd.KubernetesUserDetails != nil && kd.KubernetesUserDetails.UID == "" && kd.KubernetesUserDetails.UserName == "" && kd.KubernetesUserDetails.Groups == nil {
			kd.KubernetesUserDetails = nil
		}
		if w := k.KubernetesWorkloadDetails; w != nil {
			kd.KubernetesWorkloadDetails = &ecs.GuardDutyKubernetesWorkload{
				Containers:  containers(w.Containers),
				HostNetwork: w.HostNetwork,
				Name:        w.Name,
				NameSpace:   w.Namespace,
				Type:        w.Type,
				UID:         w.UID,
				Volumes:     volumes(w.Volumes),
			}
		}
		if kd.KubernetesUserDetails != nil || kd.KubernetesWorkloadDetails != nil {
			out.KubernetesDetails = kd
		}
	}
	if d := r.RDSDBInstanceDetails; d != nil {
		out.RDSDBInstanceDetails = &ecs.GuardDutyRDSInstance{
			InstanceIdentifier: d.DBInstanceIdentifier,
			Engine:             d.Engine,
			EngineVersion:      d.EngineVersion,
			ClusterIdentifier:  d.DBClusterIdentifier,
			InstanceARN:        d.DBInstanceARN,
		}
	}
	if u := r.RDSDBUserDetails; u != nil {
		out.RDSDBUserDetails = &ecs.GuardDutyRDSUser{User: u.User, Application: u.Application, Database: u.Database, SSL: u.SSL, AuthMethod: u.AuthMethod}
	}
	for i, b := range r.S3BucketDetails {
		created, err := normalize.ParseJSONTime("resource.s3BucketDetails["+strconv.Itoa(i)+"].createdAt", b.CreatedAt)
		if err != nil {
			return nil, err
		}
		o := ecs.GuardDutyS3Bucket{ARN: b.ARN, CreatedAt: created, Name: b.Name, Type: b.Type, Tags: tags(b.Tags), PublicAccess: decoded(b.PublicAccess)}
		if e := b.DefaultServerSideEncryption; e != nil && (e.EncryptionType != "" || e.KMSMasterKeyARN != "") {
			o.DefaultServerSideEncryption = &ecs.GuardDutyBucketEncryption{EncryptionType: e.EncryptionType, KMSMasterKeyARN: e.KMSMasterKeyARN}
		}
		if b.Owner != nil && b.Owner.ID != "" {
			o.Owner = &ecs.GuardDutyBucketOwner{ID: b.Owner.ID}
		}
		out.S3BucketDetails = append(out.S3BucketDetails, o)
	}
	return out, nil
}

func convContainer(c *Container) *ecs.GuardDutyContainer {
	o := &ecs.GuardDutyContainer{ContainerRuntime: c.ContainerRuntime, ID: c.ID, Name: c.Name}
	if c.Image != "" || c.ImagePrefix != "" {
		o.Image = &ecs.GuardDutyContainerImage{Value: c.Image, Prefix: c.ImagePrefix}
	}
	if c.SecurityContext != nil && c.SecurityContext.Privileged != nil {
		o.SecurityContext = &ecs.GuardDutySecurityContext{Privileged: c.SecurityContext.Privileged}
	}
	for _, v := range c.VolumeMounts {
		o.VolumeMounts = append(o.VolumeMounts, ecs.GuardDutyVolumeMount{MountPath: v.MountPath, Name: v.Name})
	}
	return o
}

func containers(cs []Container) []ecs.GuardDutyContainer {
	var out []ecs.GuardDutyContainer
	for i := range cs {
		out = append(out, *convContainer(&cs[i]))
	}
	return out
}

func volumes(vs []Volume) []ecs.GuardDutyVolume {
	var out []ecs.GuardDutyVolume
	for _, v := range vs {
		o := ecs.GuardDutyVolume{Name: v.Name}
		if v.HostPath != nil && v.HostPath.Path != "" {
			o.HostPath = &ecs.GuardDutyHostPath{Path: v.HostPath.Path}
		}
		out = append(out, o)
	}
	return out
}

func tags(ts []Tag) []ecs.GuardDutyTag {
	var out []ecs.GuardDutyTag
	for _, t := range ts {
		out = append(out, ecs.GuardDutyTag{Key: t.Key, Value: t.Value})
	}
	return out
}

func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// decoded returns raw JSON decoded, nil for absent, null or an empty
// object or array.
func decoded(raw json.RawMessage) any {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
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
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}

// service converts the service to aws.guardduty.service.
func service(s *Service) (*ecs.GuardDutyService, error) {
	out := &ecs.GuardDutyService{
		AdditionalInfo: decoded(s.AdditionalInfo),
		Archived:       s.Archived,
		Count:          s.Count,
		DetectorID:     s.DetectorID,
		FeatureName:    s.FeatureName,
		ResourceRole:   s.ResourceRole,
		ServiceName:    s.ServiceName,
		UserFeedback:   s.UserFeedback,
	}
	first, err := normalize.ParseJSONTime("service.eventFirstSeen", s.EventFirstSeen)
	if err != nil {
		return nil, err
	}
	last, err := normalize.ParseJSONTime("service.eventLastSeen", s.EventLastSeen)
	if err != nil {
		return nil, err
	}
	if first != nil || last != nil {
		out.Event = &ecs.GuardDutyServiceEvent{FirstSeen: first, LastSeen: last}
	}
	if e := s.Evidence; e != nil && len(e.ThreatIntelligenceDetails) > 0 {
		out.Evidence = &ecs.GuardDutyEvidence{}
		for _, t := range e.ThreatIntelligenceDetails {
			var tl *ecs.GuardDutyThreatList
			if t.ThreatListName != "" || len(t.ThreatNames) > 0 {
				tl = &ecs.GuardDutyThreatList{ListName: t.ThreatListName, Names: nonEmpty(t.ThreatNames)}
			}
			out.Evidence.ThreatIntelligenceDetails = append(out.Evidence.ThreatIntelligenceDetails, ecs.GuardDutyThreatIntelligence{Threat: tl})
		}
	}
	if a := s.Action; a != nil {
		act := action(a)
		if (*act != ecs.GuardDutyAction{}) {
			out.Action = act
		}
	}
	if rt := s.RuntimeDetails; rt != nil {
		r := &ecs.GuardDutyRuntime{}
		if c := rt.Context; c != nil {
			modified, err := normalize.ParseJSONTime("service.runtimeDetails.context.modifiedAt", c.ModifiedAt)
			if err != nil {
				return nil, err
			}
			r.Context = &ecs.GuardDutyRuntimeContext{
				AddressFamily:        c.AddressFamily,
				CommandLineExample:   c.CommandLineExample,
				FileSystemType:       c.FileSystemType,
				Flags:                nonEmpty(c.Flags),
				LDPreload:            c.LDPreloadValue,
				LibraryPath:          c.LibraryPath,
				MemoryRegions:        nonEmpty(c.MemoryRegions),
				ModifiedAt:           modified,
				ModifyingProcess:     decoded(c.ModifyingProcess),
				ModuleFilePath:       c.ModuleFilePath,
				ModuleName:           c.ModuleName,
				ModuleSHA256:         c.ModuleSHA256,
				MountSource:          c.MountSource,
				MountTarget:          c.MountTarget,
				ReleaseAgentPath:     c.ReleaseAgentPath,
				RuncBinaryPath:       c.RuncBinaryPath,
				ScriptPath:           c.ScriptPath,
				ServiceName:          c.ServiceName,
				ShellHistoryFilePath: c.ShellHistoryFilePath,
				SocketPath:           c.SocketPath,
				TargetProcess:        decoded(c.TargetProcess),
				ThreatFilePath:       c.ThreatFilePath,
				ToolCategory:         c.ToolCategory,
				ToolName:             c.ToolName,
			}
			if c.IANAProtocolNumber != nil {
				r.Context.IANAProtocolNumber = strconv.FormatInt(*c.IANAProtocolNumber, 10)
			}
		}
		if p := rt.Process; p != nil {
			start, err := normalize.ParseJSONTime("service.runtimeDetails.process.startTime", p.StartTime)
			if err != nil {
				return nil, err
			}
			r.Process = &ecs.GuardDutyRuntimeProcess{
				EUID:             p.EUID,
				ExecutablePath:   p.ExecutablePath,
				ExecutableSHA256: p.ExecutableSHA256,
				Lineage:          decoded(p.Lineage),
				Name:             p.Name,
				NamespacePID:     p.NamespacePID,
				ParentUUID:       p.ParentUUID,
				PID:              p.PID,
				PWD:              p.PWD,
				StartTime:        start,
				User:             p.User,
				UserID:           p.UserID,
				UUID:             p.UUID,
			}
		}
		if r.Context != nil || r.Process != nil {
			out.RuntimeDetails = r
		}
	}
	return out, nil
}

func action(a *Action) *ecs.GuardDutyAction {
	out := &ecs.GuardDutyAction{Type: a.ActionType}
	if c := a.AWSAPICallAction; c != nil {
		o := &ecs.GuardDutyAPICall{
			AffectedResources: decoded(c.AffectedResources),
			API:               c.API,
			CallerType:        c.CallerType,
			ErrorCode:         c.ErrorCode,
			RemoteIPDetails:   remoteIP(c.RemoteIPDetails),
			ServiceName:       c.ServiceName,
			UserAgent:         c.UserAgent,
		}
		if c.DomainDetails != nil && c.DomainDetails.Domain != "" {
			o.DomainDetails = &ecs.GuardDutyDomain{Domain: c.DomainDetails.Domain}
		}
		if r := c.RemoteAccountDetails; r != nil && (r.AccountID != "" || r.Affiliated != nil) {
			o.RemoteAccountDetails = &ecs.GuardDutyRemoteAccount{AccountID: r.AccountID, Affiliated: r.Affiliated}
		}
		out.AWSAPICallAction = o
	}
	if d := a.DNSRequestAction; d != nil {
		out.DNSRequestAction = &ecs.GuardDutyDNSRequest{Blocked: d.Blocked, Domain: d.Domain, DomainWithSuffix: d.DomainWithSuffix, Protocol: d.Protocol, VPCOwnerAccountID: d.VPCOwnerAccountID}
	}
	if k := a.KubernetesAPICallAction; k != nil {
		out.KubernetesAPICallAction = &ecs.GuardDutyKubernetesAPICall{
			Namespace:       k.Namespace,
			Parameters:      k.Parameters,
			RemoteIPDetails: remoteIP(k.RemoteIPDetails),
			RequestURI:      k.RequestURI,
			Resource:        k.Resource,
			ResourceName:    k.ResourceName,
			SourceIPs:       nonEmpty(k.SourceIPs),
			StatusCode:      k.StatusCode,
			Subresource:     k.Subresource,
			UserAgent:       k.UserAgent,
			Verb:            k.Verb,
		}
	}
	if n := a.NetworkConnectionAction; n != nil {
		out.NetworkConnectionAction = &ecs.GuardDutyNetworkConnection{
			Blocked:             n.Blocked,
			ConnectionDirection: n.ConnectionDirection,
			LocalIPDetails:      localIP(n.LocalIPDetails),
			LocalPortDetails:    port(n.LocalPortDetails),
			RemoteIPDetails:     remoteIP(n.RemoteIPDetails),
			RemotePortDetails:   port(n.RemotePortDetails),
			Transport:           n.Protocol,
		}
	}
	if p := a.PortProbeAction; p != nil {
		o := &ecs.GuardDutyPortProbe{Blocked: p.Blocked}
		for _, d := range p.PortProbeDetails {
			o.PortProbeDetails = append(o.PortProbeDetails, ecs.GuardDutyPortProbeDetail{
				LocalIPDetails:   localIP(d.LocalIPDetails),
				LocalPortDetails: port(d.LocalPortDetails),
				RemoteIPDetails:  remoteIP(d.RemoteIPDetails),
			})
		}
		out.PortProbeAction = o
	}
	if r := a.RDSLoginAttemptAction; r != nil {
		out.RDSLoginAttemptAction = &ecs.GuardDutyRDSLoginAttempt{RemoteIPDetails: remoteIP(r.RemoteIPDetails)}
	}
	return out
}

func remoteIP(r *RemoteIPDetails) *ecs.GuardDutyRemoteIP {
	if r == nil {
		return nil
	}
	o := &ecs.GuardDutyRemoteIP{IPAddressV4: r.IPAddressV4, IPAddressV6: r.IPAddressV6}
	if r.City != nil && r.City.CityName != "" {
		o.City = &ecs.GuardDutyName{Name: r.City.CityName}
	}
	if c := r.Country; c != nil && (c.CountryCode != "" || c.CountryName != "") {
		o.Country = &ecs.GuardDutyCountry{Code: c.CountryCode, Name: c.CountryName}
	}
	if g := r.GeoLocation; g != nil {
		o.GeoLocation = &ecs.Location{Lat: g.Lat, Lon: g.Lon}
	}
	if g := r.Organization; g != nil && (g.ASN != "" || g.ASNOrg != "" || g.ISP != "" || g.Org != "") {
		o.Organization = &ecs.GuardDutyOrganization{ASN: g.ASN, ASNOrg: g.ASNOrg, ISP: g.ISP, Org: g.Org}
	}
	if *o == (ecs.GuardDutyRemoteIP{}) {
		return nil
	}
	return o
}

func localIP(l *LocalIPDetails) *ecs.GuardDutyLocalIP {
	if l == nil || l.IPAddressV4 == "" && l.IPAddressV6 == "" {
		return nil
	}
	return &ecs.GuardDutyLocalIP{IPAddressV4: l.IPAddressV4, IPAddressV6: l.IPAddressV6}
}

func port(p *PortDetails) *ecs.GuardDutyPortDetails {
	if p == nil || p.Port == nil && p.PortName == "" {
		return nil
	}
	return &ecs.GuardDutyPortDetails{Port: &ecs.GuardDutyPort{Name: p.PortName, Value: p.Port}}
}
