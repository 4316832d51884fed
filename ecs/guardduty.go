package ecs

import "time"

// GuardDuty holds the aws.guardduty.* fields of normalized guardduty events:
// the finding, named as in Elastic's AWS integration (data stream
// aws.guardduty, with its preserve_duplicate_custom_fields behaviour: the
// values also copied to ECS fields stay here too).
//
// The parts of a finding that Elastic keeps as flattened fields
// (service.additional_info, aws_api_call_action.affected_resources,
// s3_bucket_details.public_access) and the free-form process objects of
// runtime findings are kept as decoded JSON. Resource, service and action
// details that Elastic does not map (lambdaDetails, ebsVolumeScanDetails,
// service.detection and the like) are kept, under their AWS names, in
// Flattened.
type GuardDuty struct {
	SchemaVersion string             `json:"schema_version,omitempty"`
	AccountID     string             `json:"account_id,omitempty"`
	Region        string             `json:"region,omitempty"`
	Partition     string             `json:"partition,omitempty"`
	ID            string             `json:"id,omitempty"`
	ARN           string             `json:"arn,omitempty"`
	Type          string             `json:"type,omitempty"`
	Title         string             `json:"title,omitempty"`
	Description   string             `json:"description,omitempty"`
	Confidence    *float64           `json:"confidence,omitempty"`
	CreatedAt     *time.Time         `json:"created_at,omitempty"`
	UpdatedAt     *time.Time         `json:"updated_at,omitempty"`
	Severity      *GuardDutySeverity `json:"severity,omitempty"`
	Resource      *GuardDutyResource `json:"resource,omitempty"`
	Service       *GuardDutyService  `json:"service,omitempty"`
	// Flattened holds the details Elastic does not map, as AWS names them.
	Flattened *GuardDutyFlattened `json:"flattened,omitempty"`
}

// GuardDutySeverity is aws.guardduty.severity: the finding's score and its
// band (Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0).
type GuardDutySeverity struct {
	Code  float64 `json:"code"`
	Value string  `json:"value,omitempty"`
}

// GuardDutyTag is a resource tag.
type GuardDutyTag struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// GuardDutyResource is aws.guardduty.resource: what the finding is about.
type GuardDutyResource struct {
	Type                 string                      `json:"type,omitempty"`
	AccessKeyDetails     *GuardDutyAccessKeyDetails  `json:"access_key_details,omitempty"`
	ContainerDetails     *GuardDutyContainer         `json:"container_details,omitempty"`
	ECSClusterDetails    *GuardDutyECSCluster        `json:"ecs_cluster_details,omitempty"`
	EKSClusterDetails    *GuardDutyEKSCluster        `json:"eks_cluster_details,omitempty"`
	InstanceDetails      *GuardDutyInstance          `json:"instance_details,omitempty"`
	KubernetesDetails    *GuardDutyKubernetesDetails `json:"kubernetes_details,omitempty"`
	RDSDBInstanceDetails *GuardDutyRDSInstance       `json:"rdsdb_instance_details,omitempty"`
	RDSDBUserDetails     *GuardDutyRDSUser           `json:"rdsdb_user_details,omitempty"`
	S3BucketDetails      []GuardDutyS3Bucket         `json:"s3_bucket_details,omitempty"`
}

// GuardDutyAccessKeyDetails is resource.access_key_details.
type GuardDutyAccessKeyDetails struct {
	AccessKeyID string                  `json:"accesskey_id,omitempty"`
	PrincipalID string                  `json:"principal_id,omitempty"`
	User        *GuardDutyAccessKeyUser `json:"user,omitempty"`
}

// GuardDutyAccessKeyUser is resource.access_key_details.user.
type GuardDutyAccessKeyUser struct {
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

// GuardDutyContainer is a container of a resource: container_details, or
// one of the containers of an ECS task or a Kubernetes workload.
type GuardDutyContainer struct {
	ContainerRuntime string                    `json:"container_runtime,omitempty"`
	ID               string                    `json:"id,omitempty"`
	Name             string                    `json:"name,omitempty"`
	Image            *GuardDutyContainerImage  `json:"image,omitempty"`
	SecurityContext  *GuardDutySecurityContext `json:"security_context,omitempty"`
	VolumeMounts     []GuardDutyVolumeMount    `json:"volume_mounts,omitempty"`
}

// GuardDutyContainerImage is a container's image.
type GuardDutyContainerImage struct {
	Value  string `json:"value,omitempty"`
	Prefix string `json:"prefix,omitempty"`
}

// GuardDutySecurityContext is a container's security context.
type GuardDutySecurityContext struct {
	Privileged *bool `json:"privileged,omitempty"`
}

// GuardDutyVolumeMount is a volume mounted in a container.
type GuardDutyVolumeMount struct {
	MountPath string `json:"mount_path,omitempty"`
	Name      string `json:"name,omitempty"`
}

// GuardDutyVolume is a volume of an ECS task or a Kubernetes workload.
type GuardDutyVolume struct {
	HostPath *GuardDutyHostPath `json:"host_path,omitempty"`
	Name     string             `json:"name,omitempty"`
}

// GuardDutyHostPath is the host path a volume maps to.
type GuardDutyHostPath struct {
	Path string `json:"path,omitempty"`
}

// GuardDutyECSCluster is resource.ecs_cluster_details.
type GuardDutyECSCluster struct {
	ActiveServicesCount               *int64            `json:"active_services_count,omitempty"`
	ARN                               string            `json:"arn,omitempty"`
	Name                              string            `json:"name,omitempty"`
	RegisteredContainerInstancesCount *int64            `json:"registered_container_instances_count,omitempty"`
	RunningTasksCount                 *int64            `json:"running_tasks_count,omitempty"`
	Status                            string            `json:"status,omitempty"`
	Tags                              []GuardDutyTag    `json:"tags,omitempty"`
	TaskDetails                       *GuardDutyECSTask `json:"task_details,omitempty"`
}

// GuardDutyECSTask is resource.ecs_cluster_details.task_details.
type GuardDutyECSTask struct {
	ARN           string               `json:"arn,omitempty"`
	Containers    []GuardDutyContainer `json:"containers,omitempty"`
	CreatedAt     *time.Time           `json:"created_at,omitempty"`
	DefinitionARN string               `json:"definitionarn,omitempty"`
	Group         string               `json:"group,omitempty"`
	StartedAt     *time.Time           `json:"started_at,omitempty"`
	StartedBy     string               `json:"started_by,omitempty"`
	Tags          []GuardDutyTag       `json:"tags,omitempty"`
	Version       string               `json:"version,omitempty"`
	Volumes       []GuardDutyVolume    `json:"volumes,omitempty"`
}

// GuardDutyEKSCluster is resource.eks_cluster_details.
type GuardDutyEKSCluster struct {
	ARN       string         `json:"arn,omitempty"`
	CreatedAt *time.Time     `json:"created_at,omitempty"`
	Name      string         `json:"name,omitempty"`
	Status    string         `json:"status,omitempty"`
	Tags      []GuardDutyTag `json:"tags,omitempty"`
	VPCID     string         `json:"vpcid,omitempty"`
}

// GuardDutyInstance is resource.instance_details.
type GuardDutyInstance struct {
	AvailabilityZone   string                      `json:"availability_zone,omitempty"`
	IAMInstanceProfile *GuardDutyInstanceProfile   `json:"iaminstance_profile,omitempty"`
	Image              *GuardDutyInstanceImage     `json:"image,omitempty"`
	Instance           *GuardDutyInstanceInfo      `json:"instance,omitempty"`
	LaunchTime         *time.Time                  `json:"launch_time,omitempty"`
	NetworkInterfaces  []GuardDutyNetworkInterface `json:"network_interfaces,omitempty"`
	OutpostARN         string                      `json:"outpost_arn,omitempty"`
	Platform           string                      `json:"platform,omitempty"`
	ProductCodes       []GuardDutyProductCodes     `json:"product_codes,omitempty"`
	Tags               []GuardDutyTag              `json:"tags,omitempty"`
}

// GuardDutyInstanceProfile is an instance's IAM instance profile.
type GuardDutyInstanceProfile struct {
	ARN string `json:"arn,omitempty"`
	ID  string `json:"id,omitempty"`
}

// GuardDutyInstanceImage is an instance's AMI.
type GuardDutyInstanceImage struct {
	Description string `json:"description,omitempty"`
	ID          string `json:"id,omitempty"`
}

// GuardDutyInstanceInfo is instance_details.instance.
type GuardDutyInstanceInfo struct {
	ID    string `json:"id,omitempty"`
	State string `json:"state,omitempty"`
	Type  string `json:"type,omitempty"`
}

// GuardDutyNetworkInterface is one of an instance's network interfaces.
type GuardDutyNetworkInterface struct {
	IPv6Addresses      []string                 `json:"ipv6_addresses,omitempty"`
	NetworkInterfaceID string                   `json:"network_interface_id,omitempty"`
	Private            *GuardDutyPrivateAddress `json:"private,omitempty"`
	Public             *GuardDutyPublicAddress  `json:"public,omitempty"`
	SecurityGroups     []GuardDutySecurityGroup `json:"security_groups,omitempty"`
	SubnetID           string                   `json:"subnet_id,omitempty"`
	VPCID              string                   `json:"vpc_id,omitempty"`
}

// GuardDutyPrivateAddress is a network interface's private address and
// the list of all its private addresses.
type GuardDutyPrivateAddress struct {
	DNSName     string               `json:"dns_name,omitempty"`
	IPAddress   string               `json:"ip_address,omitempty"`
	IPAddresses []GuardDutyPrivateIP `json:"ip_addresses,omitempty"`
}

// GuardDutyPrivateIP is one entry of private.ip_addresses.
type GuardDutyPrivateIP struct {
	Private *GuardDutyPrivateName `json:"private,omitempty"`
}

// GuardDutyPrivateName is a private address and its DNS name.
type GuardDutyPrivateName struct {
	DNSName   string `json:"dns_name,omitempty"`
	IPAddress string `json:"ip_address,omitempty"`
}

// GuardDutyPublicAddress is a network interface's public address.
type GuardDutyPublicAddress struct {
	DNSName string `json:"dns_name,omitempty"`
	IP      string `json:"ip,omitempty"`
}

// GuardDutySecurityGroup is one security group of a network interface.
type GuardDutySecurityGroup struct {
	Group *GuardDutyGroup `json:"group,omitempty"`
}

// GuardDutyGroup names a security group.
type GuardDutyGroup struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// GuardDutyProductCodes is one of an instance's product codes.
type GuardDutyProductCodes struct {
	ProductCode *GuardDutyProductCode `json:"product_code,omitempty"`
}

// GuardDutyProductCode is a product code.
type GuardDutyProductCode struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type,omitempty"`
}

// GuardDutyKubernetesDetails is resource.kubernetes_details.
type GuardDutyKubernetesDetails struct {
	KubernetesUserDetails     *GuardDutyKubernetesUser     `json:"kubernetes_user_details,omitempty"`
	KubernetesWorkloadDetails *GuardDutyKubernetesWorkload `json:"kubernetes_workload_details,omitempty"`
}

// GuardDutyKubernetesUser is the Kubernetes user who made the call.
type GuardDutyKubernetesUser struct {
	Groups   []string `json:"groups,omitempty"`
	UID      string   `json:"uid,omitempty"`
	UserName string   `json:"user_name,omitempty"`
}

// GuardDutyKubernetesWorkload is the Kubernetes workload involved.
type GuardDutyKubernetesWorkload struct {
	Containers  []GuardDutyContainer `json:"containers,omitempty"`
	HostNetwork *bool                `json:"host_network,omitempty"`
	Name        string               `json:"name,omitempty"`
	NameSpace   string               `json:"name_space,omitempty"`
	Type        string               `json:"type,omitempty"`
	UID         string               `json:"uid,omitempty"`
	Volumes     []GuardDutyVolume    `json:"volumes,omitempty"`
}

// GuardDutyRDSInstance is resource.rdsdb_instance_details.
type GuardDutyRDSInstance struct {
	InstanceIdentifier string `json:"instance_identifier,omitempty"`
	Engine             string `json:"engine,omitempty"`
	EngineVersion      string `json:"engine_version,omitempty"`
	ClusterIdentifier  string `json:"cluster_identifier,omitempty"`
	InstanceARN        string `json:"instance_arn,omitempty"`
}

// GuardDutyRDSUser is resource.rdsdb_user_details.
type GuardDutyRDSUser struct {
	User        string `json:"user,omitempty"`
	Application string `json:"application,omitempty"`
	Database    string `json:"database,omitempty"`
	SSL         string `json:"ssl,omitempty"`
	AuthMethod  string `json:"auth_method,omitempty"`
}

// GuardDutyS3Bucket is one of resource.s3_bucket_details.
type GuardDutyS3Bucket struct {
	ARN                         string                     `json:"arn,omitempty"`
	CreatedAt                   *time.Time                 `json:"created_at,omitempty"`
	DefaultServerSideEncryption *GuardDutyBucketEncryption `json:"default_server_side_encryption,omitempty"`
	Name                        string                     `json:"name,omitempty"`
	Owner                       *GuardDutyBucketOwner      `json:"owner,omitempty"`
	// PublicAccess is the bucket's public access policies, as GuardDuty
	// gives them (a flattened field in Elastic).
	PublicAccess any            `json:"public_access,omitempty"`
	Tags         []GuardDutyTag `json:"tags,omitempty"`
	Type         string         `json:"type,omitempty"`
}

// GuardDutyBucketEncryption is a bucket's default encryption.
type GuardDutyBucketEncryption struct {
	EncryptionType  string `json:"encryption_type,omitempty"`
	KMSMasterKeyARN string `json:"kms_masterkey_arn,omitempty"`
}

// GuardDutyBucketOwner is a bucket's owner.
type GuardDutyBucketOwner struct {
	ID string `json:"id,omitempty"`
}

// GuardDutyService is aws.guardduty.service: what GuardDuty saw.
type GuardDutyService struct {
	Action *GuardDutyAction `json:"action,omitempty"`
	// AdditionalInfo is kept as GuardDuty gives it (a flattened field in
	// Elastic).
	AdditionalInfo any                    `json:"additional_info,omitempty"`
	Archived       *bool                  `json:"archived,omitempty"`
	Count          *int64                 `json:"count,omitempty"`
	DetectorID     string                 `json:"detector_id,omitempty"`
	Event          *GuardDutyServiceEvent `json:"event,omitempty"`
	Evidence       *GuardDutyEvidence     `json:"evidence,omitempty"`
	FeatureName    string                 `json:"feature_name,omitempty"`
	ResourceRole   string                 `json:"resource_role,omitempty"`
	RuntimeDetails *GuardDutyRuntime      `json:"runtime_details,omitempty"`
	ServiceName    string                 `json:"service_name,omitempty"`
	UserFeedback   string                 `json:"user_feedback,omitempty"`
}

// GuardDutyServiceEvent is when the activity was first and last seen.
type GuardDutyServiceEvent struct {
	FirstSeen *time.Time `json:"first_seen,omitempty"`
	LastSeen  *time.Time `json:"last_seen,omitempty"`
}

// GuardDutyEvidence is service.evidence.
type GuardDutyEvidence struct {
	ThreatIntelligenceDetails []GuardDutyThreatIntelligence `json:"threat_intelligence_details,omitempty"`
}

// GuardDutyThreatIntelligence is one threat list that matched.
type GuardDutyThreatIntelligence struct {
	Threat *GuardDutyThreatList `json:"threat,omitempty"`
}

// GuardDutyThreatList names a threat list and the threats on it.
type GuardDutyThreatList struct {
	ListName string   `json:"list_name,omitempty"`
	Names    []string `json:"names,omitempty"`
}

// GuardDutyAction is service.action.
type GuardDutyAction struct {
	Type                    string                      `json:"type,omitempty"`
	AWSAPICallAction        *GuardDutyAPICall           `json:"aws_api_call_action,omitempty"`
	DNSRequestAction        *GuardDutyDNSRequest        `json:"dns_request_action,omitempty"`
	KubernetesAPICallAction *GuardDutyKubernetesAPICall `json:"kubernetes_api_call_action,omitempty"`
	NetworkConnectionAction *GuardDutyNetworkConnection `json:"network_connection_action,omitempty"`
	PortProbeAction         *GuardDutyPortProbe         `json:"port_probe_action,omitempty"`
	RDSLoginAttemptAction   *GuardDutyRDSLoginAttempt   `json:"rds_login_attempt_action,omitempty"`
}

// GuardDutyRemoteIP is remote_ip_details: the remote address and where
// GuardDuty places it.
type GuardDutyRemoteIP struct {
	City         *GuardDutyName         `json:"city,omitempty"`
	Country      *GuardDutyCountry      `json:"country,omitempty"`
	GeoLocation  *Location              `json:"geo_location,omitempty"`
	IPAddressV4  string                 `json:"ip_address_v4,omitempty"`
	IPAddressV6  string                 `json:"ip_address_v6,omitempty"`
	Organization *GuardDutyOrganization `json:"organization,omitempty"`
}

// GuardDutyName is a named thing (a city).
type GuardDutyName struct {
	Name string `json:"name,omitempty"`
}

// GuardDutyCountry is a country.
type GuardDutyCountry struct {
	Code string `json:"code,omitempty"`
	Name string `json:"name,omitempty"`
}

// GuardDutyOrganization is the network an address belongs to.
type GuardDutyOrganization struct {
	ASN    string `json:"asn,omitempty"`
	ASNOrg string `json:"asnorg,omitempty"`
	ISP    string `json:"isp,omitempty"`
	Org    string `json:"org,omitempty"`
}

// GuardDutyLocalIP is local_ip_details.
type GuardDutyLocalIP struct {
	IPAddressV4 string `json:"ip_address_v4,omitempty"`
	IPAddressV6 string `json:"ip_address_v6,omitempty"`
}

// GuardDutyPortDetails is local_port_details or remote_port_details.
type GuardDutyPortDetails struct {
	Port *GuardDutyPort `json:"port,omitempty"`
}

// GuardDutyPort is a port number and its service name.
type GuardDutyPort struct {
	Name  string `json:"name,omitempty"`
	Value *int64 `json:"value,omitempty"`
}

// GuardDutyAPICall is service.action.aws_api_call_action.
type GuardDutyAPICall struct {
	// AffectedResources is kept as GuardDuty gives it (a flattened field
	// in Elastic).
	AffectedResources    any                     `json:"affected_resources,omitempty"`
	API                  string                  `json:"api,omitempty"`
	CallerType           string                  `json:"caller_type,omitempty"`
	DomainDetails        *GuardDutyDomain        `json:"domain_details,omitempty"`
	ErrorCode            string                  `json:"error_code,omitempty"`
	RemoteAccountDetails *GuardDutyRemoteAccount `json:"remote_account_details,omitempty"`
	RemoteIPDetails      *GuardDutyRemoteIP      `json:"remote_ip_details,omitempty"`
	ServiceName          string                  `json:"service_name,omitempty"`
	UserAgent            string                  `json:"user_agent,omitempty"`
}

// GuardDutyDomain is domain_details.
type GuardDutyDomain struct {
	Domain string `json:"domain,omitempty"`
}

// GuardDutyRemoteAccount is the AWS account of a remote caller.
type GuardDutyRemoteAccount struct {
	AccountID  string `json:"account_id,omitempty"`
	Affiliated *bool  `json:"affiliated,omitempty"`
}

// GuardDutyDNSRequest is service.action.dns_request_action.
type GuardDutyDNSRequest struct {
	Blocked           *bool  `json:"blocked,omitempty"`
	Domain            string `json:"domain,omitempty"`
	DomainWithSuffix  string `json:"domain_with_suffix,omitempty"`
	Protocol          string `json:"protocol,omitempty"`
	VPCOwnerAccountID string `json:"vpc_owner_account_id,omitempty"`
}

// GuardDutyKubernetesAPICall is service.action.kubernetes_api_call_action.
type GuardDutyKubernetesAPICall struct {
	Namespace       string             `json:"namespace,omitempty"`
	Parameters      string             `json:"parameters,omitempty"`
	RemoteIPDetails *GuardDutyRemoteIP `json:"remote_ip_details,omitempty"`
	RequestURI      string             `json:"request_uri,omitempty"`
	Resource        string             `json:"resource,omitempty"`
	ResourceName    string             `json:"resource_name,omitempty"`
	SourceIPs       []string           `json:"source_ips,omitempty"`
	StatusCode      *int64             `json:"status_code,omitempty"`
	Subresource     string             `json:"subresource,omitempty"`
	UserAgent       string             `json:"user_agent,omitempty"`
	Verb            string             `json:"verb,omitempty"`
}

// GuardDutyNetworkConnection is service.action.network_connection_action.
type GuardDutyNetworkConnection struct {
	Blocked             *bool                 `json:"blocked,omitempty"`
	ConnectionDirection string                `json:"connection_direction,omitempty"`
	LocalIPDetails      *GuardDutyLocalIP     `json:"local_ip_details,omitempty"`
	LocalPortDetails    *GuardDutyPortDetails `json:"local_port_details,omitempty"`
	RemoteIPDetails     *GuardDutyRemoteIP    `json:"remote_ip_details,omitempty"`
	RemotePortDetails   *GuardDutyPortDetails `json:"remote_port_details,omitempty"`
	Transport           string                `json:"transport,omitempty"`
}

// GuardDutyPortProbe is service.action.port_probe_action.
type GuardDutyPortProbe struct {
	Blocked          *bool                      `json:"blocked,omitempty"`
	PortProbeDetails []GuardDutyPortProbeDetail `json:"port_probe_details,omitempty"`
}

// GuardDutyPortProbeDetail is one probe.
type GuardDutyPortProbeDetail struct {
	LocalIPDetails   *GuardDutyLocalIP     `json:"local_ip_details,omitempty"`
	LocalPortDetails *GuardDutyPortDetails `json:"local_port_details,omitempty"`
	RemoteIPDetails  *GuardDutyRemoteIP    `json:"remote_ip_details,omitempty"`
}

// GuardDutyRDSLoginAttempt is service.action.rds_login_attempt_action.
type GuardDutyRDSLoginAttempt struct {
	RemoteIPDetails *GuardDutyRemoteIP `json:"remote_ip_details,omitempty"`
}

// GuardDutyRuntime is service.runtime_details, of Runtime Monitoring
// findings.
type GuardDutyRuntime struct {
	Context *GuardDutyRuntimeContext `json:"context,omitempty"`
	Process *GuardDutyRuntimeProcess `json:"process,omitempty"`
}

// GuardDutyRuntimeContext is service.runtime_details.context.
type GuardDutyRuntimeContext struct {
	AddressFamily      string     `json:"address_family,omitempty"`
	CommandLineExample string     `json:"command_line_example,omitempty"`
	FileSystemType     string     `json:"file_system_type,omitempty"`
	Flags              []string   `json:"flags,omitempty"`
	IANAProtocolNumber string     `json:"iana_protocol_number,omitempty"`
	LDPreload          string     `json:"ld_preload,omitempty"`
	LibraryPath        string     `json:"library_path,omitempty"`
	MemoryRegions      []string   `json:"memory_regions,omitempty"`
	ModifiedAt         *time.Time `json:"modified_at,omitempty"`
	// ModifyingProcess and TargetProcess are process objects, kept as
	// GuardDuty gives them.
	ModifyingProcess     any    `json:"modifying_process,omitempty"`
	ModuleFilePath       string `json:"module_file_path,omitempty"`
	ModuleName           string `json:"module_name,omitempty"`
	ModuleSHA256         string `json:"module_sha256,omitempty"`
	MountSource          string `json:"mount_source,omitempty"`
	MountTarget          string `json:"mount_target,omitempty"`
	ReleaseAgentPath     string `json:"release_agent_path,omitempty"`
	RuncBinaryPath       string `json:"runc_binary_path,omitempty"`
	ScriptPath           string `json:"script_path,omitempty"`
	ServiceName          string `json:"service_name,omitempty"`
	ShellHistoryFilePath string `json:"shell_history_file_path,omitempty"`
	SocketPath           string `json:"socket_path,omitempty"`
	TargetProcess        any    `json:"target_process,omitempty"`
	ThreatFilePath       string `json:"threat_file_path,omitempty"`
	ToolCategory         string `json:"tool_category,omitempty"`
	ToolName             string `json:"tool_name,omitempty"`
}

// GuardDutyRuntimeProcess is service.runtime_details.process.
type GuardDutyRuntimeProcess struct {
	EUID             *int64 `json:"euid,omitempty"`
	ExecutablePath   string `json:"executable_path,omitempty"`
	ExecutableSHA256 string `json:"executable_sha256,omitempty"`
	// Lineage is the process's ancestors, kept as GuardDuty gives them.
	Lineage      any        `json:"lineage,omitempty"`
	Name         string     `json:"name,omitempty"`
	NamespacePID *int64     `json:"namespace_pid,omitempty"`
	ParentUUID   string     `json:"parent_uuid,omitempty"`
	PID          *int64     `json:"pid,omitempty"`
	PWD          string     `json:"pwd,omitempty"`
	StartTime    *time.Time `json:"start_time,omitempty"`
	User         string     `json:"user,omitempty"`
	UserID       *int64     `json:"user_id,omitempty"`
	UUID         string     `json:"uuid,omitempty"`
}

// GuardDutyFlattened holds, by their AWS names, the members of a finding's
// resource, service and service.action that have no aws.guardduty field of
// their own.
type GuardDutyFlattened struct {
	Resource map[string]any `json:"resource,omitempty"`
	Service  map[string]any `json:"service,omitempty"`
	Action   map[string]any `json:"action,omitempty"`
}
