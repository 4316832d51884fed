package macie

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"path"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// Normalize maps one Macie finding to ECS. Elastic's AWS integration has no
// Macie data stream; the mapping follows its GuardDuty one:
//
//   - event.kind is "alert" (a finding the service raised), event.type ["info"], event.id the finding id,
//     event.severity the severity score (1 Low, 2 Medium, 3 High),
//     event.created createdAt and @timestamp updatedAt.
//   - event.category is ["file"] for a sensitive data (CLASSIFICATION)
//     finding, about an S3 object, and ["configuration"] with event.type
//     ["change"] for a POLICY finding, which Macie raises when a bucket's
//     settings or policy change so as to weaken its security. Neither is an
//     intrusion detection.
//   - rule.name is the finding type, rule.ruleset its part before the slash
//     and rule.category the part before the colon (SensitiveData, Policy).
//   - resource.* is the object (type S3Object, id its path) or the bucket
//     (type S3Bucket, id its name); file.* the object.
//   - event.action is the policy finding's action type (AWS_API_CALL) or
//     the sensitive data finding's origin (SENSITIVE_DATA_DISCOVERY_JOB,
//     AUTOMATED_SENSITIVE_DATA_DISCOVERY); event.provider the API's service.
//   - user.* and source.* are the caller of a policy finding.
func Normalize(f *Finding) (*ecs.Event, error) {
	if f.ID == "" {
		return nil, errors.New("Macie finding has no id")
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
		return nil, errors.New("Macie finding has neither updatedAt nor createdAt")
	}
	mc := &ecs.Macie{
		SchemaVersion: f.SchemaVersion,
		ID:            f.ID,
		AccountID:     f.AccountID,
		Partition:     f.Partition,
		Region:        f.Region,
		Type:          f.Type,
		Title:         f.Title,
		Description:   f.Description,
		Category:      f.Category,
		Count:         f.Count,
		Archived:      f.Archived,
		Sample:        f.Sample,
		CreatedAt:     created,
		UpdatedAt:     updated,
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
		Cloud: &ecs.Cloud{Provider: "aws", Region: f.Region, Service: &ecs.CloudService{Name: "macie"}},
		AWS:   &ecs.AWS{Macie: mc},
	}
	if f.AccountID != "" {
		ev.Cloud.Account = &ecs.CloudAccount{ID: f.AccountID}
	}
	switch f.Category {
	case "CLASSIFICATION":
		ev.Event.Category = []string{"file"}
	case "POLICY":
		ev.Event.Category, ev.Event.Type = []string{"configuration"}, []string{"change"}
	}
	if s := f.Severity; s != nil && (s.Score != nil || s.Description != "") {
		mc.Severity = &ecs.MacieSeverity{Description: s.Description}
		if s.Score != nil {
			mc.Severity.Score = *s.Score
			if *s.Score >= 0 && *s.Score < 1e6 {
				ev.Event.Severity = int(math.Floor(*s.Score))
			}
		}
	}
	if f.Type != "" {
		ev.Rule = rule(f.Type)
	}
	var rel related
	if r := f.ResourcesAffected; r != nil {
		res, err := resources(r)
		if err != nil {
			return nil, err
		}
		mc.ResourcesAffected = res
		mapResources(ev, r, f.Region)
	}
	if c := f.ClassificationDetails; c != nil {
		mc.ClassificationDetails = classification(c)
		ev.Event.Action = c.OriginType
	}
	if p := f.PolicyDetails; p != nil {
		pol, err := policy(p)
		if err != nil {
			return nil, err
		}
		mc.PolicyDetails = pol
		mapPolicy(ev, p, &rel)
	}
	ev.Related = rel.ecs()
	return ev, nil
}

// rule maps a finding type, as GuardDuty's are mapped: rule.name is the
// type, rule.ruleset its part before the slash and rule.category the part
// before the colon.
func rule(typ string) *ecs.Rule {
	r := &ecs.Rule{Name: typ}
	cat, rest, ok := strings.Cut(typ, ":")
	if !ok || cat == "" {
		return r
	}
	r.Category = cat
	if res, _, ok := strings.Cut(rest, "/"); ok && res != "" {
		r.Ruleset = cat + ":" + res
	}
	return r
}

// mapResources fills resource.* and file.*.
func mapResources(ev *ecs.Event, r *ResourcesAffected, region string) {
	res := &ecs.Resource{Region: region}
	if o := r.S3Object; o != nil && (o.Path != "" || o.Key != "") {
		p := o.Path
		if p == "" && r.S3Bucket != nil && r.S3Bucket.Name != "" {
			p = r.S3Bucket.Name + "/" + o.Key
		}
		if p == "" {
			p = o.Key
		}
		res.Type, res.ID = "S3Object", p
		f := &ecs.File{Path: p}
		if o.Key != "" {
			f.Name = path.Base(o.Key)
			res.Name = o.Key
		}
		if i := strings.LastIndexByte(p, '/'); i > 0 {
			f.Directory = p[:i]
		}
		ev.File = f
	} else if b := r.S3Bucket; b != nil && b.Name != "" {
		res.Type, res.ID, res.Name = "S3Bucket", b.Name, b.Name
	}
	if res.Type != "" {
		ev.Resource = res
	}
}

// mapPolicy fills the fields of a policy finding's action and actor.
func mapPolicy(ev *ecs.Event, p *PolicyDetails, rel *related) {
	if a := p.Action; a != nil {
		if a.ActionType != "" {
			ev.Event.Action = a.ActionType
		}
		if c := a.APICallDetails; c != nil {
			ev.Event.Provider = c.APIServiceName
		}
	}
	act := p.Actor
	if act == nil {
		return
	}
	if ip := act.IPAddressDetails; ip != nil {
		e := &ecs.Endpoint{Address: ip.IPAddressV4}
		if a, ok := parseIP(ip.IPAddressV4); ok {
			e.IP = a
			rel.ip = addUnique(rel.ip, a)
		}
		geo := &ecs.Geo{}
		if ip.IPCity != nil {
			geo.CityName = ip.IPCity.Name
		}
		if c := ip.IPCountry; c != nil {
			geo.CountryISOCode, geo.CountryName = c.Code, c.Name
		}
		if g := ip.IPGeoLocation; g != nil && math.Abs(g.Lat) <= 90 && math.Abs(g.Lon) <= 180 {
			geo.Location = &ecs.Location{Lat: g.Lat, Lon: g.Lon}
		}
		if *geo != (ecs.Geo{}) {
			e.Geo = geo
		}
		if o := ip.IPOwner; o != nil {
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
		if *e != (ecs.Endpoint{}) {
			ev.Source = e
		}
	}
	if d := act.DomainDetails; d != nil && d.DomainName != "" {
		if ev.Source == nil {
			ev.Source = &ecs.Endpoint{Address: d.DomainName}
		}
		ev.Source.Domain = d.DomainName
		rel.hosts = addUnique(rel.hosts, d.DomainName)
	}
	if u := act.UserIdentity; u != nil {
		name, id := caller(u)
		rel.user = addUnique(rel.user, id)
		rel.user = addUnique(rel.user, name)
		if name != "" || id != "" {
			ev.User = &ecs.User{Name: name, ID: id}
		}
	}
}

// caller returns the name and principal id of the caller of a policy
// finding, as the CloudTrail decoder names callers.
func caller(u *UserIdentity) (name, id string) {
	var who *Identity
	switch {
	case u.IAMUser != nil:
		who = u.IAMUser
	case u.AssumedRole != nil:
		who = u.AssumedRole
	case u.FederatedUser != nil:
		who = u.FederatedUser
	case u.Root != nil:
		who = u.Root
		name = "root"
	case u.AWSAccount != nil:
		who = u.AWSAccount
	default:
		return "", ""
	}
	id = who.PrincipalID
	switch {
	case name != "":
	case who.UserName != "":
		name = who.UserName
	case who.ARN != "" && who != u.AWSAccount:
		if i := strings.LastIndexByte(who.ARN, '/'); i >= 0 && i < len(who.ARN)-1 {
			name = who.ARN[i+1:]
		}
	}
	return name, id
}

// related collects related.* values, in order, without duplicates.
type related struct {
	ip, user, hosts []string
}

func (r *related) ecs() *ecs.Related {
	if len(r.ip) == 0 && len(r.user) == 0 && len(r.hosts) == 0 {
		return nil
	}
	return &ecs.Related{IP: r.ip, User: r.user, Hosts: r.hosts}
}

func addUnique(list []string, v string) []string {
	if v == "" {
		return list
	}
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func parseIP(s string) (string, bool) {
	ip, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return "", false
	}
	return ip.Unmap().WithZone("").String(), true
}

func encryption(e *Encryption) *ecs.MacieEncryption {
	if e == nil || e.EncryptionType == "" && e.KMSMasterKeyID == "" {
		return nil
	}
	return &ecs.MacieEncryption{EncryptionType: e.EncryptionType, KMSMasterKeyID: e.KMSMasterKeyID}
}

func tags(ts []Tag) []ecs.MacieTag {
	var out []ecs.MacieTag
	for _, t := range ts {
		out = append(out, ecs.MacieTag{Key: t.Key, Value: t.Value})
	}
	return out
}

// resources converts resourcesAffected to aws.macie.resources_affected.
func resources(r *ResourcesAffected) (*ecs.MacieResources, error) {
	out := &ecs.MacieResources{}
	if b := r.S3Bucket; b != nil {
		created, err := normalize.ParseJSONTime("resourcesAffected.s3Bucket.createdAt", b.CreatedAt)
		if err != nil {
			return nil, err
		}
		o := &ecs.MacieS3Bucket{
			AllowsUnencryptedObjectUploads: b.AllowsUnencryptedObjectUploads,
			ARN:                            b.ARN,
			CreatedAt:                      created,
			DefaultServerSideEncryption:    encryption(b.DefaultServerSideEncryption),
			Name:                           b.Name,
			Tags:                           tags(b.Tags),
		}
		if w := b.Owner; w != nil && (w.DisplayName != "" || w.ID != "") {
			o.Owner = &ecs.MacieBucketOwner{DisplayName: w.DisplayName, ID: w.ID}
		}
		if p := b.PublicAccess; p != nil {
			pa := &ecs.MaciePublicAccess{EffectivePermission: p.EffectivePermission, PermissionConfiguration: decoded(p.PermissionConfiguration)}
			if pa.EffectivePermission != "" || pa.PermissionConfiguration != nil {
				o.PublicAccess = pa
			}
		}
		out.S3Bucket = o
	}
	if s := r.S3Object; s != nil {
		modified, err := normalize.ParseJSONTime("resourcesAffected.s3Object.lastModified", s.LastModified)
		if err != nil {
			return nil, err
		}
		out.S3Object = &ecs.MacieS3Object{
			BucketARN:            s.BucketARN,
			ETag:                 s.ETag,
			Extension:            s.Extension,
			Key:                  s.Key,
			LastModified:         modified,
			Path:                 s.Path,
			PublicAccess:         s.PublicAccess,
			ServerSideEncryption: encryption(s.ServerSideEncryption),
			Size:                 s.Size,
			StorageClass:         s.StorageClass,
			Tags:                 tags(s.Tags),
			VersionID:            s.VersionID,
		}
	}
	if out.S3Bucket == nil && out.S3Object == nil {
		return nil, nil
	}
	return out, nil
}

// classification converts classificationDetails.
func classification(c *ClassificationDetails) *ecs.MacieClassification {
	out := &ecs.MacieClassification{
		DetailedResultsLocation: c.DetailedResultsLocation,
		JobARN:                  c.JobARN,
		JobID:                   c.JobID,
		OriginType:              c.OriginType,
	}
	if r := c.Result; r != nil {
		res := &ecs.MacieClassificationResult{
			AdditionalOccurrences: r.AdditionalOccurrences,
			MimeType:              r.MimeType,
			SizeClassified:        r.SizeClassified,
		}
		if cd := r.CustomDataIdentifiers; cd != nil {
			o := &ecs.MacieCustomDataIdentifiers{TotalCount: cd.TotalCount}
			for _, d := range cd.Detections {
				o.Detections = append(o.Detections, ecs.MacieCustomDetection{ARN: d.ARN, Count: d.Count, Name: d.Name, Occurrences: decoded(d.Occurrences)})
			}
			res.CustomDataIdentifiers = o
		}
		for _, sd := range r.SensitiveData {
			o := ecs.MacieSensitiveData{Category: sd.Category, TotalCount: sd.TotalCount}
			for _, d := range sd.Detections {
				o.Detections = append(o.Detections, ecs.MacieDetection{Type: d.Type, Count: d.Count, Occurrences: decoded(d.Occurrences)})
			}
			res.SensitiveData = append(res.SensitiveData, o)
		}
		if s := r.Status; s != nil && (s.Code != "" || s.Reason != "") {
			res.Status = &ecs.MacieStatus{Code: s.Code, Reason: s.Reason}
		}
		out.Result = res
	}
	return out
}

// policy converts policyDetails.
func policy(p *PolicyDetails) (*ecs.MaciePolicy, error) {
	out := &ecs.MaciePolicy{}
	if a := p.Action; a != nil {
		out.Action = &ecs.MacieAction{ActionType: a.ActionType}
		if c := a.APICallDetails; c != nil {
			first, err := normalize.ParseJSONTime("policyDetails.action.apiCallDetails.firstSeen", c.FirstSeen)
			if err != nil {
				return nil, err
			}
			last, err := normalize.ParseJSONTime("policyDetails.action.apiCallDetails.lastSeen", c.LastSeen)
			if err != nil {
				return nil, err
			}
			out.Action.APICallDetails = &ecs.MacieAPICall{API: c.API, APIServiceName: c.APIServiceName, FirstSeen: first, LastSeen: last}
		}
	}
	if a := p.Actor; a != nil {
		act := &ecs.MacieActor{}
		if d := a.DomainDetails; d != nil && d.DomainName != "" {
			act.DomainDetails = &ecs.MacieDomain{DomainName: d.DomainName}
		}
		if ip := a.IPAddressDetails; ip != nil {
			o := &ecs.MacieIPAddress{IPAddressV4: ip.IPAddressV4}
			if ip.IPCity != nil && ip.IPCity.Name != "" {
				o.IPCity = &ecs.MacieName{Name: ip.IPCity.Name}
			}
			if c := ip.IPCountry; c != nil && (c.Code != "" || c.Name != "") {
				o.IPCountry = &ecs.MacieCountry{Code: c.Code, Name: c.Name}
			}
			if g := ip.IPGeoLocation; g != nil {
				o.IPGeoLocation = &ecs.Location{Lat: g.Lat, Lon: g.Lon}
			}
			if w := ip.IPOwner; w != nil && (w.ASN != "" || w.ASNOrg != "" || w.ISP != "" || w.Org != "") {
				o.IPOwner = &ecs.MacieIPOwner{ASN: w.ASN, ASNOrg: w.ASNOrg, ISP: w.ISP, Org: w.Org}
			}
			if *o != (ecs.MacieIPAddress{}) {
				act.IPAddressDetails = o
			}
		}
		if u := a.UserIdentity; u != nil {
			ui := &ecs.MacieUserIdentity{
				Type:          u.Type,
				AssumedRole:   identity(u.AssumedRole),
				AWSAccount:    identity(u.AWSAccount),
				FederatedUser: identity(u.FederatedUser),
				IAMUser:       identity(u.IAMUser),
				Root:          identity(u.Root),
			}
			if u.AWSService != nil && u.AWSService.InvokedBy != "" {
				ui.AWSService = &ecs.MacieAWSService{InvokedBy: u.AWSService.InvokedBy}
			}
			act.UserIdentity = ui
		}
		out.Actor = act
	}
	return out, nil
}

func identity(i *Identity) *ecs.MacieIdentity {
	if i == nil {
		return nil
	}
	return &ecs.MacieIdentity{
		AccessKeyID:    i.AccessKeyID,
		AccountID:      i.AccountID,
		ARN:            i.ARN,
		PrincipalID:    i.PrincipalID,
		UserName:       i.UserName,
		SessionContext: decoded(i.SessionContext),
	}
}

// decoded returns raw JSON decoded, nil for absent, null or an empty
// object, array or string.
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
