package ecs

import "time"

// Macie holds the aws.macie.* fields of normalized macie events: the
// Macie (macie2) finding, its members named as Macie names them in
// snake_case (Elastic's AWS integration has no Macie data stream). The
// deep, variable parts (where sensitive data occurs in an object, a bucket's
// permission configuration, a role session's context) are kept as Macie
// gives them.
type Macie struct {
	SchemaVersion         string               `json:"schema_version,omitempty"`
	ID                    string               `json:"id,omitempty"`
	AccountID             string               `json:"account_id,omitempty"`
	Partition             string               `json:"partition,omitempty"`
	Region                string               `json:"region,omitempty"`
	Type                  string               `json:"type,omitempty"`
	Title                 string               `json:"title,omitempty"`
	Description           string               `json:"description,omitempty"`
	Category              string               `json:"category,omitempty"`
	Count                 *int64               `json:"count,omitempty"`
	Archived              *bool                `json:"archived,omitempty"`
	Sample                *bool                `json:"sample,omitempty"`
	CreatedAt             *time.Time           `json:"created_at,omitempty"`
	UpdatedAt             *time.Time           `json:"updated_at,omitempty"`
	Severity              *MacieSeverity       `json:"severity,omitempty"`
	ResourcesAffected     *MacieResources      `json:"resources_affected,omitempty"`
	ClassificationDetails *MacieClassification `json:"classification_details,omitempty"`
	PolicyDetails         *MaciePolicy         `json:"policy_details,omitempty"`
}

// MacieSeverity is a finding's severity: a score from 1 (Low) to 3 (High)
// and its name.
type MacieSeverity struct {
	Score       float64 `json:"score"`
	Description string  `json:"description,omitempty"`
}

// MacieTag is a bucket or object tag.
type MacieTag struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// MacieResources is resources_affected: the bucket and object.
type MacieResources struct {
	S3Bucket *MacieS3Bucket `json:"s3_bucket,omitempty"`
	S3Object *MacieS3Object `json:"s3_object,omitempty"`
}

// MacieEncryption is a bucket's default or an object's encryption.
type MacieEncryption struct {
	EncryptionType string `json:"encryption_type,omitempty"`
	KMSMasterKeyID string `json:"kms_master_key_id,omitempty"`
}

// MacieS3Bucket is resources_affected.s3_bucket.
type MacieS3Bucket struct {
	AllowsUnencryptedObjectUploads string             `json:"allows_unencrypted_object_uploads,omitempty"`
	ARN                            string             `json:"arn,omitempty"`
	CreatedAt                      *time.Time         `json:"created_at,omitempty"`
	DefaultServerSideEncryption    *MacieEncryption   `json:"default_server_side_encryption,omitempty"`
	Name                           string             `json:"name,omitempty"`
	Owner                          *MacieBucketOwner  `json:"owner,omitempty"`
	PublicAccess                   *MaciePublicAccess `json:"public_access,omitempty"`
	Tags                           []MacieTag         `json:"tags,omitempty"`
}

// MacieBucketOwner is a bucket's owner.
type MacieBucketOwner struct {
	DisplayName string `json:"display_name,omitempty"`
	ID          string `json:"id,omitempty"`
}

// MaciePublicAccess is whether a bucket is public, and why.
type MaciePublicAccess struct {
	EffectivePermission string `json:"effective_permission,omitempty"`
	// PermissionConfiguration is the account- and bucket-level settings,
	// as Macie gives them.
	PermissionConfiguration any `json:"permission_configuration,omitempty"`
}

// MacieS3Object is resources_affected.s3_object.
type MacieS3Object struct {
	BucketARN            string           `json:"bucket_arn,omitempty"`
	ETag                 string           `json:"e_tag,omitempty"`
	Extension            string           `json:"extension,omitempty"`
	Key                  string           `json:"key,omitempty"`
	LastModified         *time.Time       `json:"last_modified,omitempty"`
	Path                 string           `json:"path,omitempty"`
	PublicAccess         *bool            `json:"public_access,omitempty"`
	ServerSideEncryption *MacieEncryption `json:"server_side_encryption,omitempty"`
	Size                 *int64           `json:"size,omitempty"`
	StorageClass         string           `json:"storage_class,omitempty"`
	Tags                 []MacieTag       `json:"tags,omitempty"`
	VersionID            string           `json:"version_id,omitempty"`
}

// MacieClassification is classification_details, of sensitive data
// findings.
type MacieClassification struct {
	DetailedResultsLocation string                     `json:"detailed_results_location,omitempty"`
	JobARN                  string                     `json:"job_arn,omitempty"`
	JobID                   string                     `json:"job_id,omitempty"`
	OriginType              string                     `json:"origin_type,omitempty"`
	Result                  *MacieClassificationResult `json:"result,omitempty"`
}

// MacieClassificationResult is what Macie found in the object.
type MacieClassificationResult struct {
	AdditionalOccurrences *bool                       `json:"additional_occurrences,omitempty"`
	CustomDataIdentifiers *MacieCustomDataIdentifiers `json:"custom_data_identifiers,omitempty"`
	MimeType              string                      `json:"mime_type,omitempty"`
	SensitiveData         []MacieSensitiveData        `json:"sensitive_data,omitempty"`
	SizeClassified        *int64                      `json:"size_classified,omitempty"`
	Status                *MacieStatus                `json:"status,omitempty"`
}

// MacieCustomDataIdentifiers is what custom data identifiers found.
type MacieCustomDataIdentifiers struct {
	Detections []MacieCustomDetection `json:"detections,omitempty"`
	TotalCount *int64                 `json:"total_count,omitempty"`
}

// MacieCustomDetection is what one custom data identifier found.
type MacieCustomDetection struct {
	ARN   string `json:"arn,omitempty"`
	Count *int64 `json:"count,omitempty"`
	Name  string `json:"name,omitempty"`
	// Occurrences is where, as Macie gives it.
	Occurrences any `json:"occurrences,omitempty"`
}

// MacieSensitiveData is what Macie found of one category of sensitive
// data.
type MacieSensitiveData struct {
	Category   string           `json:"category,omitempty"`
	Detections []MacieDetection `json:"detections,omitempty"`
	TotalCount *int64           `json:"total_count,omitempty"`
}

// MacieDetection is what Macie found of one type of sensitive data.
type MacieDetection struct {
	Type  string `json:"type,omitempty"`
	Count *int64 `json:"count,omitempty"`
	// Occurrences is where, as Macie gives it.
	Occurrences any `json:"occurrences,omitempty"`
}

// MacieStatus is the status of an object's classification.
type MacieStatus struct {
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// MaciePolicy is policy_details, of policy findings.
type MaciePolicy struct {
	Action *MacieAction `json:"action,omitempty"`
	Actor  *MacieActor  `json:"actor,omitempty"`
}

// MacieAction is the action that produced a policy finding.
type MacieAction struct {
	ActionType     string        `json:"action_type,omitempty"`
	APICallDetails *MacieAPICall `json:"api_call_details,omitempty"`
}

// MacieAPICall is the API call of a policy finding.
type MacieAPICall struct {
	API            string     `json:"api,omitempty"`
	APIServiceName string     `json:"api_service_name,omitempty"`
	FirstSeen      *time.Time `json:"first_seen,omitempty"`
	LastSeen       *time.Time `json:"last_seen,omitempty"`
}

// MacieActor is who made the call.
type MacieActor struct {
	DomainDetails    *MacieDomain       `json:"domain_details,omitempty"`
	IPAddressDetails *MacieIPAddress    `json:"ip_address_details,omitempty"`
	UserIdentity     *MacieUserIdentity `json:"user_identity,omitempty"`
}

// MacieDomain is the caller's domain.
type MacieDomain struct {
	DomainName string `json:"domain_name,omitempty"`
}

// MacieIPAddress is the caller's address and where Macie places it.
type MacieIPAddress struct {
	IPAddressV4   string        `json:"ip_address_v4,omitempty"`
	IPCity        *MacieName    `json:"ip_city,omitempty"`
	IPCountry     *MacieCountry `json:"ip_country,omitempty"`
	IPGeoLocation *Location     `json:"ip_geo_location,omitempty"`
	IPOwner       *MacieIPOwner `json:"ip_owner,omitempty"`
}

// MacieName is a named thing (a city).
type MacieName struct {
	Name string `json:"name,omitempty"`
}

// MacieCountry is a country.
type MacieCountry struct {
	Code string `json:"code,omitempty"`
	Name string `json:"name,omitempty"`
}

// MacieIPOwner is the network an address belongs to.
type MacieIPOwner struct {
	ASN    string `json:"asn,omitempty"`
	ASNOrg string `json:"asn_org,omitempty"`
	ISP    string `json:"isp,omitempty"`
	Org    string `json:"org,omitempty"`
}

// MacieUserIdentity is the caller: its type, and the details of that type.
type MacieUserIdentity struct {
	Type          string           `json:"type,omitempty"`
	AssumedRole   *MacieIdentity   `json:"assumed_role,omitempty"`
	AWSAccount    *MacieIdentity   `json:"aws_account,omitempty"`
	AWSService    *MacieAWSService `json:"aws_service,omitempty"`
	FederatedUser *MacieIdentity   `json:"federated_user,omitempty"`
	IAMUser       *MacieIdentity   `json:"iam_user,omitempty"`
	Root          *MacieIdentity   `json:"root,omitempty"`
}

// MacieIdentity is an IAM user, a role session, a federated user, a root
// user or an AWS account.
type MacieIdentity struct {
	AccessKeyID string `json:"access_key_id,omitempty"`
	AccountID   string `json:"account_id,omitempty"`
	ARN         string `json:"arn,omitempty"`
	PrincipalID string `json:"principal_id,omitempty"`
	UserName    string `json:"user_name,omitempty"`
	// SessionContext is a role or federated session's context, as Macie
	// gives it.
	SessionContext any `json:"session_context,omitempty"`
}

// MacieAWSService is an AWS service that made the call.
type MacieAWSService struct {
	InvokedBy string `json:"invoked_by,omitempty"`
}
