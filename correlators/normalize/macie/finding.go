package macie

import "encoding/json"

// Finding is one Macie (macie2) finding as GetFindings returns it and as
// EventBridge carries it in detail. Times are kept raw.
type Finding struct {
	SchemaVersion         string                 `json:"schemaVersion"`
	ID                    string                 `json:"id"`
	AccountID             string                 `json:"accountId"`
	Partition             string                 `json:"partition"`
	Region                string                 `json:"region"`
	Type                  string                 `json:"type"`
	Title                 string                 `json:"title"`
	Description           string                 `json:"description"`
	Category              string                 `json:"category"`
	Count                 *int64                 `json:"count"`
	Archived              *bool                  `json:"archived"`
	Sample                *bool                  `json:"sample"`
	CreatedAt             json.RawMessage        `json:"createdAt"`
	UpdatedAt             json.RawMessage        `json:"updatedAt"`
	Severity              *Severity              `json:"severity"`
	ResourcesAffected     *ResourcesAffected     `json:"resourcesAffected"`
	ClassificationDetails *ClassificationDetails `json:"classificationDetails"`
	PolicyDetails         *PolicyDetails         `json:"policyDetails"`
}

// Severity is a finding's severity.
type Severity struct {
	Score       *float64 `json:"score"`
	Description string   `json:"description"`
}

// Tag is a bucket or object tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Encryption is a bucket's default or an object's encryption.
type Encryption struct {
	EncryptionType string `json:"encryptionType"`
	KMSMasterKeyID string `json:"kmsMasterKeyId"`
}

// ResourcesAffected is the bucket and object of a finding.
type ResourcesAffected struct {
	S3Bucket *S3Bucket `json:"s3Bucket"`
	S3Object *S3Object `json:"s3Object"`
}

// S3Bucket is the bucket of a finding.
type S3Bucket struct {
	AllowsUnencryptedObjectUploads string          `json:"allowsUnencryptedObjectUploads"`
	ARN                            string          `json:"arn"`
	CreatedAt                      json.RawMessage `json:"createdAt"`
	DefaultServerSideEncryption    *Encryption     `json:"defaultServerSideEncryption"`
	Name                           string          `json:"name"`
	Owner                          *struct {
		DisplayName string `json:"displayName"`
		ID          string `json:"id"`
	} `json:"owner"`
	PublicAccess *struct {
		EffectivePermission     string          `json:"effectivePermission"`
		PermissionConfiguration json.RawMessage `json:"permissionConfiguration"`
	} `json:"publicAccess"`
	Tags []Tag `json:"tags"`
}

// S3Object is the object of a sensitive data finding.
type S3Object struct {
	BucketARN            string          `json:"bucketArn"`
	ETag                 string          `json:"eTag"`
	Extension            string          `json:"extension"`
	Key                  string          `json:"key"`
	LastModified         json.RawMessage `json:"lastModified"`
	Path                 string          `json:"path"`
	PublicAccess         *bool           `json:"publicAccess"`
	ServerSideEncryption *Encryption     `json:"serverSideEncryption"`
	Size                 *int64          `json:"size"`
	StorageClass         string          `json:"storageClass"`
	Tags                 []Tag           `json:"tags"`
	VersionID            string          `json:"versionId"`
}

// ClassificationDetails is what a sensitive data finding found.
type ClassificationDetails struct {
	DetailedResultsLocation string `json:"detailedResultsLocation"`
	JobARN                  string `json:"jobArn"`
	JobID                   string `json:"jobId"`
	OriginType              string `json:"originType"`
	Result                  *struct {
		AdditionalOccurrences *bool `json:"additionalOccurrences"`
		CustomDataIdentifiers *struct {
			Detections []struct {
				ARN         string          `json:"arn"`
				Count       *int64          `json:"count"`
				Name        string          `json:"name"`
				Occurrences json.RawMessage `json:"occurrences"`
			} `json:"detections"`
			TotalCount *int64 `json:"totalCount"`
		} `json:"customDataIdentifiers"`
		MimeType      string `json:"mimeType"`
		SensitiveData []struct {
			Category   string `json:"category"`
			Detections []struct {
				Type        string          `json:"type"`
				Count       *int64          `json:"count"`
				Occurrences json.RawMessage `json:"occurrences"`
			} `json:"detections"`
			TotalCount *int64 `json:"totalCount"`
		} `json:"sensitiveData"`
		SizeClassified *int64 `json:"sizeClassified"`
		Status         *struct {
			Code   string `json:"code"`
			Reason string `json:"reason"`
		} `json:"status"`
	} `json:"result"`
}

// PolicyDetails is the action and actor of a policy finding.
type PolicyDetails struct {
	Action *struct {
		ActionType     string `json:"actionType"`
		APICallDetails *struct {
			API            string          `json:"api"`
			APIServiceName string          `json:"apiServiceName"`
			FirstSeen      json.RawMessage `json:"firstSeen"`
			LastSeen       json.RawMessage `json:"lastSeen"`
		} `json:"apiCallDetails"`
	} `json:"action"`
	Actor *struct {
		DomainDetails *struct {
			DomainName string `json:"domainName"`
		} `json:"domainDetails"`
		IPAddressDetails *struct {
			IPAddressV4 string `json:"ipAddressV4"`
			IPCity      *struct {
				Name string `json:"name"`
			} `json:"ipCity"`
			IPCountry *struct {
				Code string `json:"code"`
				Name string `json:"name"`
			} `json:"ipCountry"`
			IPGeoLocation *struct {
				Lat float64 `json:"lat"`
				Lon float64 `json:"lon"`
			} `json:"ipGeoLocation"`
			IPOwner *struct {
				ASN    string `json:"asn"`
				ASNOrg string `json:"asnOrg"`
				ISP    string `json:"isp"`
				Org    string `json:"org"`
			} `json:"ipOwner"`
		} `json:"ipAddressDetails"`
		UserIdentity *UserIdentity `json:"userIdentity"`
	} `json:"actor"`
}

// UserIdentity is who made the call of a policy finding.
type UserIdentity struct {
	Type        string    `json:"type"`
	AssumedRole *Identity `json:"assumedRole"`
	AWSAccount  *Identity `json:"awsAccount"`
	AWSService  *struct {
		InvokedBy string `json:"invokedBy"`
	} `json:"awsService"`
	FederatedUser *Identity `json:"federatedUser"`
	IAMUser       *Identity `json:"iamUser"`
	Root          *Identity `json:"root"`
}

// Identity is an IAM user, a role session, a federated user, a root user
// or an AWS account: the members of Macie's several identity types.
type Identity struct {
	AccessKeyID    string          `json:"accessKeyId"`
	AccountID      string          `json:"accountId"`
	ARN            string          `json:"arn"`
	PrincipalID    string          `json:"principalId"`
	UserName       string          `json:"userName"`
	SessionContext json.RawMessage `json:"sessionContext"`
}
