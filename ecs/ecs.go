// Package ecs holds the Elastic Common Schema documents vigil writes: the
// normalized Event on vigil.events.<dataset> and the Alert on vigil.alerts.
//
// Field names follow ECS and, for source-specific fields, Elastic's own AWS
// integration (aws.cloudtrail.*), so that Kibana content and rules written
// for those work unchanged. Every field is optional except @timestamp and
// event.*; empty fields are left out of the JSON.
package ecs

import (
	"encoding/json"
	"time"
)

// Version is the ECS version vigil's documents follow.
const Version = "8.11.0"

// Event is one normalized event.
type Event struct {
	Timestamp   time.Time  `json:"@timestamp"`
	Message     string     `json:"message,omitempty"`
	Tags        []string   `json:"tags,omitempty"`
	ECS         ECSMeta    `json:"ecs"`
	Event       EventMeta  `json:"event"`
	Cloud       *Cloud     `json:"cloud,omitempty"`
	Source      *Endpoint  `json:"source,omitempty"`
	Destination *Endpoint  `json:"destination,omitempty"`
	Network     *Network   `json:"network,omitempty"`
	User        *User      `json:"user,omitempty"`
	UserAgent   *UserAgent `json:"user_agent,omitempty"`
	Related     *Related   `json:"related,omitempty"`
	Host        *Host      `json:"host,omitempty"`

	Rule          *Rule          `json:"rule,omitempty"`
	Threat        *Threat        `json:"threat,omitempty"`
	Process       *Process       `json:"process,omitempty"`
	File          *File          `json:"file,omitempty"`
	Container     *Container     `json:"container,omitempty"`
	Observer      *Observer      `json:"observer,omitempty"`
	Agent         *Agent         `json:"agent,omitempty"`
	Orchestrator  *Orchestrator  `json:"orchestrator,omitempty"`
	Vulnerability *Vulnerability `json:"vulnerability,omitempty"`
	Resource      *Resource      `json:"resource,omitempty"`

	AWS       *AWS       `json:"aws,omitempty"`
	Prowler   *Prowler   `json:"prowler,omitempty"`
	Falco     *Falco     `json:"falco,omitempty"`
	Wazuh     *Wazuh     `json:"wazuh,omitempty"`
	Custodian *Custodian `json:"custodian,omitempty"`
}

// ECSMeta names the schema version.
type ECSMeta struct {
	Version string `json:"version"`
}

// EventMeta is the ECS event.* field set.
type EventMeta struct {
	ID       string     `json:"id,omitempty"`
	Kind     string     `json:"kind"`
	Category []string   `json:"category,omitempty"`
	Type     []string   `json:"type,omitempty"`
	Action   string     `json:"action,omitempty"`
	Outcome  string     `json:"outcome,omitempty"`
	Provider string     `json:"provider,omitempty"`
	Dataset  string     `json:"dataset"`
	Module   string     `json:"module,omitempty"`
	Severity int        `json:"severity,omitempty"`
	Created  *time.Time `json:"created,omitempty"`
	Ingested *time.Time `json:"ingested,omitempty"`
	Original string     `json:"original,omitempty"`
}

// Cloud is the ECS cloud.* field set.
type Cloud struct {
	Provider string        `json:"provider,omitempty"`
	Region   string        `json:"region,omitempty"`
	Account  *CloudAccount `json:"account,omitempty"`
	Instance *CloudID      `json:"instance,omitempty"`
	Service  *CloudService `json:"service,omitempty"`
}

// CloudAccount identifies an account.
type CloudAccount struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// CloudID identifies a cloud resource.
type CloudID struct {
	ID string `json:"id,omitempty"`
}

// CloudService names a cloud service.
type CloudService struct {
	Name string `json:"name,omitempty"`
}

// Endpoint is the ECS source.* or destination.* field set.
type Endpoint struct {
	IP      string `json:"ip,omitempty"`
	Address string `json:"address,omitempty"`
	Domain  string `json:"domain,omitempty"`
	Port    int    `json:"port,omitempty"`
	Bytes   int64  `json:"bytes,omitempty"`
	Packets int64  `json:"packets,omitempty"`
	Geo     *Geo   `json:"geo,omitempty"`
	AS      *AS    `json:"as,omitempty"`
}

// Geo is the ECS geo.* field set.
type Geo struct {
	CountryISOCode string    `json:"country_iso_code,omitempty"`
	CountryName    string    `json:"country_name,omitempty"`
	CityName       string    `json:"city_name,omitempty"`
	Location       *Location `json:"location,omitempty"`
}

// Location is a geo_point.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// AS is the ECS as.* field set.
type AS struct {
	Number       int64   `json:"number,omitempty"`
	Organization *ASName `json:"organization,omitempty"`
}

// ASName names an autonomous system's organization.
type ASName struct {
	Name string `json:"name,omitempty"`
}

// Network is the ECS network.* field set.
type Network struct {
	Transport  string `json:"transport,omitempty"`
	IANANumber string `json:"iana_number,omitempty"`
	Direction  string `json:"direction,omitempty"`
	Type       string `json:"type,omitempty"`
	Bytes      int64  `json:"bytes,omitempty"`
	Packets    int64  `json:"packets,omitempty"`
}

// User is the ECS user.* field set.
type User struct {
	Name   string `json:"name,omitempty"`
	ID     string `json:"id,omitempty"`
	Domain string `json:"domain,omitempty"`
}

// UserAgent is the ECS user_agent.* field set.
type UserAgent struct {
	Original string `json:"original,omitempty"`
}

// Related holds the values an analyst pivots on.
type Related struct {
	IP    []string `json:"ip,omitempty"`
	User  []string `json:"user,omitempty"`
	Hosts []string `json:"hosts,omitempty"`
}

// Host is the ECS host.* field set.
type Host struct {
	Name     string   `json:"name,omitempty"`
	Hostname string   `json:"hostname,omitempty"`
	ID       string   `json:"id,omitempty"`
	IP       []string `json:"ip,omitempty"`
	OS       *HostOS  `json:"os,omitempty"`
}

// HostOS is host.os.*.
type HostOS struct {
	Name     string `json:"name,omitempty"`
	Platform string `json:"platform,omitempty"`
	Version  string `json:"version,omitempty"`
}

// AWS holds source-specific AWS fields.
type AWS struct {
	CloudTrail *CloudTrail `json:"cloudtrail,omitempty"`
	VPCFlow    *VPCFlow    `json:"vpcflow,omitempty"`
	GuardDuty  *GuardDuty  `json:"guardduty,omitempty"`
	Macie      *Macie      `json:"macie,omitempty"`
}

// CloudTrail holds aws.cloudtrail.* fields, named as in Elastic's AWS
// integration.
type CloudTrail struct {
	EventVersion        string              `json:"event_version,omitempty"`
	EventType           string              `json:"event_type,omitempty"`
	EventCategory       string              `json:"event_category,omitempty"`
	UserIdentity        *UserIdentity       `json:"user_identity,omitempty"`
	RecipientAccountID  string              `json:"recipient_account_id,omitempty"`
	RequestID           string              `json:"request_id,omitempty"`
	SharedEventID       string              `json:"shared_event_id,omitempty"`
	ErrorCode           string              `json:"error_code,omitempty"`
	ErrorMessage        string              `json:"error_message,omitempty"`
	ReadOnly            *bool               `json:"read_only,omitempty"`
	ManagementEvent     *bool               `json:"management_event,omitempty"`
	RequestParameters   string              `json:"request_parameters,omitempty"`
	ResponseElements    string              `json:"response_elements,omitempty"`
	AdditionalEventData string              `json:"additional_eventdata,omitempty"`
	ConsoleLogin        *ConsoleLogin       `json:"console_login,omitempty"`
	Resources           *CloudTrailResource `json:"resources,omitempty"`
	Flattened           *Flattened          `json:"flattened,omitempty"`
}

// UserIdentity is aws.cloudtrail.user_identity.
type UserIdentity struct {
	Type           string          `json:"type,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccessKeyID    string          `json:"access_key_id,omitempty"`
	InvokedBy      string          `json:"invoked_by,omitempty"`
	SessionContext *SessionContext `json:"session_context,omitempty"`
}

// SessionContext is aws.cloudtrail.user_identity.session_context.
type SessionContext struct {
	MFAAuthenticated string         `json:"mfa_authenticated,omitempty"`
	CreationDate     string         `json:"creation_date,omitempty"`
	SessionIssuer    *SessionIssuer `json:"session_issuer,omitempty"`
}

// SessionIssuer is the role or user that issued temporary credentials.
type SessionIssuer struct {
	Type        string `json:"type,omitempty"`
	PrincipalID string `json:"principal_id,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"account_id,omitempty"`
	UserName    string `json:"user_name,omitempty"`
}

// ConsoleLogin holds the sign-in details of ConsoleLogin events.
type ConsoleLogin struct {
	AdditionalEventData *ConsoleLoginData `json:"additional_eventdata,omitempty"`
}

// ConsoleLoginData is aws.cloudtrail.console_login.additional_eventdata.
type ConsoleLoginData struct {
	MobileVersion *bool  `json:"mobile_version,omitempty"`
	LoginTo       string `json:"login_to,omitempty"`
	MFAUsed       *bool  `json:"mfa_used,omitempty"`
}

// CloudTrailResource lists the resources an event touched.
type CloudTrailResource struct {
	ARN       []string `json:"arn,omitempty"`
	AccountID []string `json:"account_id,omitempty"`
	Type      []string `json:"type,omitempty"`
}

// Flattened keeps structured request and response data as objects (Elastic
// maps them as flattened fields), beside the string forms. They are the
// event's own JSON, compacted, passed through without decoding.
type Flattened struct {
	RequestParameters   json.RawMessage `json:"request_parameters,omitempty"`
	ResponseElements    json.RawMessage `json:"response_elements,omitempty"`
	AdditionalEventData json.RawMessage `json:"additional_eventdata,omitempty"`
}
