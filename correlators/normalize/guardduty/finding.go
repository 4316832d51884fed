package guardduty

import "encoding/json"

// Finding is one GuardDuty finding as GetFindings returns it, as GuardDuty
// exports it to S3 and as EventBridge carries it in detail. Times are kept
// raw: GuardDuty writes most as RFC 3339 strings and some (EKS cluster
// creation, process start) as UNIX seconds.
type Finding struct {
	SchemaVersion string          `json:"schemaVersion"`
	AccountID     string          `json:"accountId"`
	Region        string          `json:"region"`
	Partition     string          `json:"partition"`
	ID            string          `json:"id"`
	ARN           string          `json:"arn"`
	Type          string          `json:"type"`
	Title         string          `json:"title"`
	Description   string          `json:"description"`
	Severity      *float64        `json:"severity"`
	Confidence    *float64        `json:"confidence"`
	CreatedAt     json.RawMessage `json:"createdAt"`
	UpdatedAt     json.RawMessage `json:"updatedAt"`
	Resource      *Resource       `json:"resource"`
	Service       *Service        `json:"service"`
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Resource is the resource a finding is about.
type Resource struct {
	ResourceType         string            `json:"resourceType"`
	AccessKeyDetails     *AccessKeyDetails `json:"accessKeyDetails"`
	ContainerDetails     *Container        `json:"containerDetails"`
	ECSClusterDetails    *ECSCluster       `json:"ecsClusterDetails"`
	EKSClusterDetails    *EKSCluster       `json:"eksClusterDetails"`
	InstanceDetails      *Instance         `json:"instanceDetails"`
	KubernetesDetails    *Kubernetes       `json:"kubernetesDetails"`
	RDSDBInstanceDetails *RDSInstance      `json:"rdsDbInstanceDetails"`
	RDSDBUserDetails     *RDSUser          `json:"rdsDbUserDetails"`
	S3BucketDetails      []S3Bucket        `json:"s3BucketDetails"`
	// LambdaDetails names the function of a Lambda finding, for
	// resource.id; Elastic does not map it, so the whole of it goes to
	// aws.guardduty.flattened.resource.
	LambdaDetails *struct {
		FunctionName string `json:"functionName"`
	} `json:"lambdaDetails"`
}

// resourceKeys are the members of resource that Resource maps; the others
// go to aws.guardduty.flattened.resource.
var resourceKeys = []string{
	"resourceType", "accessKeyDetails", "containerDetails", "ecsClusterDetails", "eksClusterDetails",
	"instanceDetails", "kubernetesDetails", "rdsDbInstanceDetails", "rdsDbUserDetails", "s3BucketDetails",
}

// AccessKeyDetails is the access key a finding involves.
type AccessKeyDetails struct {
	AccessKeyID string `json:"accessKeyId"`
	PrincipalID string `json:"principalId"`
	UserName    string `json:"userName"`
	UserType    string `json:"userType"`
}

// Container is a container.
type Container struct {
	ContainerRuntime string `json:"containerRuntime"`
	ID               string `json:"id"`
	Name             string `json:"name"`
	Image            string `json:"image"`
	ImagePrefix      string `json:"imagePrefix"`
	SecurityContext  *struct {
		Privileged *bool `json:"privileged"`
	} `json:"securityContext"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	} `json:"volumeMounts"`
}

// Volume is a volume of a task or workload.
type Volume struct {
	Name     string `json:"name"`
	HostPath *struct {
		Path string `json:"path"`
	} `json:"hostPath"`
}

// ECSCluster is an ECS cluster.
type ECSCluster struct {
	ActiveServicesCount               *int64   `json:"activeServicesCount"`
	ARN                               string   `json:"arn"`
	Name                              string   `json:"name"`
	RegisteredContainerInstancesCount *int64   `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 *int64   `json:"runningTasksCount"`
	Status                            string   `json:"status"`
	Tags                              []Tag    `json:"tags"`
	TaskDetails                       *ECSTask `json:"taskDetails"`
}

// ECSTask is an ECS task.
type ECSTask struct {
	ARN           string          `json:"arn"`
	DefinitionARN string          `json:"definitionArn"`
	Version       string          `json:"version"`
	CreatedAt     json.RawMessage `json:"createdAt"`
	StartedAt     json.RawMessage `json:"startedAt"`
	StartedBy     string          `json:"startedBy"`
	Group         string          `json:"group"`
	Tags          []Tag           `json:"tags"`
	Containers    []Container     `json:"containers"`
	Volumes       []Volume        `json:"volumes"`
}

// EKSCluster is an EKS cluster.
type EKSCluster struct {
	ARN       string          `json:"arn"`
	CreatedAt json.RawMessage `json:"createdAt"`
	Name      string          `json:"name"`
	Status    string          `json:"status"`
	Tags      []Tag           `json:"tags"`
	VPCID     string          `json:"vpcId"`
}

// Instance is an EC2 instance.
type Instance struct {
	AvailabilityZone   string `json:"availabilityZone"`
	IAMInstanceProfile *struct {
		ARN string `json:"arn"`
		ID  string `json:"id"`
	} `json:"iamInstanceProfile"`
	ImageDescription  string             `json:"imageDescription"`
	ImageID           string             `json:"imageId"`
	InstanceID        string             `json:"instanceId"`
	InstanceState     string             `json:"instanceState"`
	InstanceType      string             `json:"instanceType"`
	LaunchTime        json.RawMessage    `json:"launchTime"`
	NetworkInterfaces []NetworkInterface `json:"networkInterfaces"`
	OutpostARN        string             `json:"outpostArn"`
	Platform          string             `json:"platform"`
	ProductCodes      []struct {
		ProductCodeID   string `json:"productCodeId"`
		ProductCodeType string `json:"productCodeType"`
	} `json:"productCodes"`
	Tags []Tag `json:"tags"`
}

// NetworkInterface is an instance's network interface.
type NetworkInterface struct {
	IPv6Addresses      []string `json:"ipv6Addresses"`
	NetworkInterfaceID string   `json:"networkInterfaceId"`
	PrivateDNSName     string   `json:"privateDnsName"`
	PrivateIPAddress   string   `json:"privateIpAddress"`
	PrivateIPAddresses []struct {
		PrivateDNSName   string `json:"privateDnsName"`
		PrivateIPAddress string `json:"privateIpAddress"`
	} `json:"privateIpAddresses"`
	PublicDNSName  string `json:"publicDnsName"`
	PublicIP       string `json:"publicIp"`
	SecurityGroups []struct {
		GroupID   string `json:"groupId"`
		GroupName string `json:"groupName"`
	} `json:"securityGroups"`
	SubnetID string `json:"subnetId"`
	VPCID    string `json:"vpcId"`
}

// Kubernetes is the Kubernetes user and workload a finding involves.
type Kubernetes struct {
	KubernetesUserDetails *struct {
		Username string   `json:"username"`
		UID      string   `json:"uid"`
		Groups   []string `json:"groups"`
	} `json:"kubernetesUserDetails"`
	KubernetesWorkloadDetails *struct {
		Name        string      `json:"name"`
		Type        string      `json:"type"`
		UID         string      `json:"uid"`
		Namespace   string      `json:"namespace"`
		HostNetwork *bool       `json:"hostNetwork"`
		Containers  []Container `json:"containers"`
		Volumes     []Volume    `json:"volumes"`
	} `json:"kubernetesWorkloadDetails"`
}

// RDSInstance is an RDS database instance.
type RDSInstance struct {
	DBInstanceIdentifier string `json:"dbInstanceIdentifier"`
	Engine               string `json:"engine"`
	EngineVersion        string `json:"engineVersion"`
	DBClusterIdentifier  string `json:"dbClusterIdentifier"`
	DBInstanceARN        string `json:"dbInstanceArn"`
}

// RDSUser is the database user of an RDS login.
type RDSUser struct {
	User        string `json:"user"`
	Application string `json:"application"`
	Database    string `json:"database"`
	SSL         string `json:"ssl"`
	AuthMethod  string `json:"authMethod"`
}

// S3Bucket is an S3 bucket.
type S3Bucket struct {
	ARN                         string          `json:"arn"`
	Name                        string          `json:"name"`
	Type                        string          `json:"type"`
	CreatedAt                   json.RawMessage `json:"createdAt"`
	DefaultServerSideEncryption *struct {
		EncryptionType  string `json:"encryptionType"`
		KMSMasterKeyARN string `json:"kmsMasterKeyArn"`
	} `json:"defaultServerSideEncryption"`
	Owner *struct {
		ID string `json:"id"`
	} `json:"owner"`
	PublicAccess json.RawMessage `json:"publicAccess"`
	Tags         []Tag           `json:"tags"`
}

// Service is what GuardDuty observed.
type Service struct {
	Action         *Action         `json:"action"`
	AdditionalInfo json.RawMessage `json:"additionalInfo"`
	Archived       *bool           `json:"archived"`
	Count          *int64          `json:"count"`
	DetectorID     string          `json:"detectorId"`
	EventFirstSeen json.RawMessage `json:"eventFirstSeen"`
	EventLastSeen  json.RawMessage `json:"eventLastSeen"`
	Evidence       *struct {
		ThreatIntelligenceDetails []struct {
			ThreatListName string   `json:"threatListName"`
			ThreatNames    []string `json:"threatNames"`
		} `json:"threatIntelligenceDetails"`
	} `json:"evidence"`
	FeatureName    string          `json:"featureName"`
	ResourceRole   string          `json:"resourceRole"`
	RuntimeDetails *RuntimeDetails `json:"runtimeDetails"`
	ServiceName    string          `json:"serviceName"`
	UserFeedback   string          `json:"userFeedback"`
}

// serviceKeys are the members of service that Service maps.
var serviceKeys = []string{
	"action", "additionalInfo", "archived", "count", "detectorId", "eventFirstSeen", "eventLastSeen",
	"evidence", "featureName", "resourceRole", "runtimeDetails", "serviceName", "userFeedback",
}

// Action is the activity that prompted the finding.
type Action struct {
	ActionType              string             `json:"actionType"`
	AWSAPICallAction        *APICallAction     `json:"awsApiCallAction"`
	DNSRequestAction        *DNSRequestAction  `json:"dnsRequestAction"`
	KubernetesAPICallAction *KubernetesAPICall `json:"kubernetesApiCallAction"`
	NetworkConnectionAction *NetworkConnection `json:"networkConnectionAction"`
	PortProbeAction         *PortProbe         `json:"portProbeAction"`
	RDSLoginAttemptAction   *struct {
		RemoteIPDetails *RemoteIPDetails `json:"remoteIpDetails"`
	} `json:"rdsLoginAttemptAction"`
}

// actionKeys are the members of service.action that Action maps.
var actionKeys = []string{
	"actionType", "awsApiCallAction", "dnsRequestAction", "kubernetesApiCallAction",
	"networkConnectionAction", "portProbeAction", "rdsLoginAttemptAction",
}

// RemoteIPDetails is a remote address and where GuardDuty places it.
type RemoteIPDetails struct {
	City *struct {
		CityName string `json:"cityName"`
	} `json:"city"`
	Country *struct {
		CountryCode string `json:"countryCode"`
		CountryName string `json:"countryName"`
	} `json:"country"`
	GeoLocation *struct {
		Lat float64 `json:"lat"`
		Lon float64 `json:"lon"`
	} `json:"geoLocation"`
	IPAddressV4  string `json:"ipAddressV4"`
	IPAddressV6  string `json:"ipAddressV6"`
	Organization *struct {
		ASN    string `json:"asn"`
		ASNOrg string `json:"asnOrg"`
		ISP    string `json:"isp"`
		Org    string `json:"org"`
	} `json:"organization"`
}

// LocalIPDetails is a local address.
type LocalIPDetails struct {
	IPAddressV4 string `json:"ipAddressV4"`
	IPAddressV6 string `json:"ipAddressV6"`
}

// PortDetails is a port and its service name.
type PortDetails struct {
	Port     *int64 `json:"port"`
	PortName string `json:"portName"`
}

// APICallAction is an AWS API call.
type APICallAction struct {
	AffectedResources json.RawMessage `json:"affectedResources"`
	API               string          `json:"api"`
	CallerType        string          `json:"callerType"`
	DomainDetails     *struct {
		Domain string `json:"domain"`
	} `json:"domainDetails"`
	ErrorCode            string `json:"errorCode"`
	RemoteAccountDetails *struct {
		AccountID  string `json:"accountId"`
		Affiliated *bool  `json:"affiliated"`
	} `json:"remoteAccountDetails"`
	RemoteIPDetails *RemoteIPDetails `json:"remoteIpDetails"`
	ServiceName     string           `json:"serviceName"`
	UserAgent       string           `json:"userAgent"`
}

// DNSRequestAction is a DNS query.
type DNSRequestAction struct {
	Domain            string `json:"domain"`
	DomainWithSuffix  string `json:"domainWithSuffix"`
	Protocol          string `json:"protocol"`
	Blocked           *bool  `json:"blocked"`
	VPCOwnerAccountID string `json:"vpcOwnerAccountId"`
}

// KubernetesAPICall is a Kubernetes API call.
type KubernetesAPICall struct {
	Namespace       string           `json:"namespace"`
	Parameters      string           `json:"parameters"`
	RemoteIPDetails *RemoteIPDetails `json:"remoteIpDetails"`
	RequestURI      string           `json:"requestUri"`
	Resource        string           `json:"resource"`
	ResourceName    string           `json:"resourceName"`
	SourceIPs       []string         `json:"sourceIPs"`
	StatusCode      *int64           `json:"statusCode"`
	Subresource     string           `json:"subresource"`
	UserAgent       string           `json:"userAgent"`
	Verb            string           `json:"verb"`
}

// NetworkConnection is a network connection.
type NetworkConnection struct {
	Blocked             *bool            `json:"blocked"`
	ConnectionDirection string           `json:"connectionDirection"`
	LocalIPDetails      *LocalIPDetails  `json:"localIpDetails"`
	LocalPortDetails    *PortDetails     `json:"localPortDetails"`
	Protocol            string           `json:"protocol"`
	RemoteIPDetails     *RemoteIPDetails `json:"remoteIpDetails"`
	RemotePortDetails   *PortDetails     `json:"remotePortDetails"`
}

// PortProbe is a series of probes of unprotected ports.
type PortProbe struct {
	Blocked          *bool `json:"blocked"`
	PortProbeDetails []struct {
		LocalIPDetails   *LocalIPDetails  `json:"localIpDetails"`
		LocalPortDetails *PortDetails     `json:"localPortDetails"`
		RemoteIPDetails  *RemoteIPDetails `json:"remoteIpDetails"`
	} `json:"portProbeDetails"`
}

// RuntimeDetails is what Runtime Monitoring saw on the host.
type RuntimeDetails struct {
	Context *struct {
		AddressFamily        string          `json:"addressFamily"`
		CommandLineExample   string          `json:"commandLineExample"`
		FileSystemType       string          `json:"fileSystemType"`
		Flags                []string        `json:"flags"`
		IANAProtocolNumber   *int64          `json:"ianaProtocolNumber"`
		LDPreloadValue       string          `json:"ldPreloadValue"`
		LibraryPath          string          `json:"libraryPath"`
		MemoryRegions        []string        `json:"memoryRegions"`
		ModifiedAt           json.RawMessage `json:"modifiedAt"`
		ModifyingProcess     json.RawMessage `json:"modifyingProcess"`
		ModuleFilePath       string          `json:"moduleFilePath"`
		ModuleName           string          `json:"moduleName"`
		ModuleSHA256         string          `json:"moduleSha256"`
		MountSource          string          `json:"mountSource"`
		MountTarget          string          `json:"mountTarget"`
		ReleaseAgentPath     string          `json:"releaseAgentPath"`
		RuncBinaryPath       string          `json:"runcBinaryPath"`
		ScriptPath           string          `json:"scriptPath"`
		ServiceName          string          `json:"serviceName"`
		ShellHistoryFilePath string          `json:"shellHistoryFilePath"`
		SocketPath           string          `json:"socketPath"`
		TargetProcess        json.RawMessage `json:"targetProcess"`
		ThreatFilePath       string          `json:"threatFilePath"`
		ToolCategory         string          `json:"toolCategory"`
		ToolName             string          `json:"toolName"`
	} `json:"context"`
	Process *struct {
		EUID             *int64          `json:"euid"`
		ExecutablePath   string          `json:"executablePath"`
		ExecutableSHA256 string          `json:"executableSha256"`
		Lineage          json.RawMessage `json:"lineage"`
		Name             string          `json:"name"`
		NamespacePID     *int64          `json:"namespacePid"`
		ParentUUID       string          `json:"parentUuid"`
		PID              *int64          `json:"pid"`
		PWD              string          `json:"pwd"`
		StartTime        json.RawMessage `json:"startTime"`
		User             string          `json:"user"`
		UserID           *int64          `json:"userId"`
		UUID             string          `json:"uuid"`
	} `json:"process"`
}
