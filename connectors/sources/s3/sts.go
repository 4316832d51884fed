package s3

// Cross-account reading.
//
// Logs of many accounts often live where the source's own credentials
// cannot read them: in each account's bucket, or encrypted with each
// account's KMS key. Config.Roles maps an account id to a role in that
// account that may read them:
//
//	roles:
//	  "111122223333": arn:aws:iam::111122223333:role/vigil-read-logs
//	  "444455556666": arn:aws:iam::444455556666:role/vigil-read-logs
//	external_id: vigil-7f3a   # when the roles' trust policies require one
//
// An object whose key follows AWS's log layout (see Layout:
// [prefix/]AWSLogs/[o-<org id>/]<account id>/..., or the Hive form
// AWSLogs/aws-account-id=<account id>/...), as CloudTrail, organization
// trails, VPC Flow Logs and GuardDuty exports write it, is read with the
// role of its account when Roles has one, and with the source's own
// credentials otherwise; so are objects announced in SQS mode. vigil assumes
// a role with STS AssumeRole, under the session name "vigil-<source name>"
// (the reader that CloudTrail in the other account shows) and with
// Config.ExternalID as the external id, when it first reads an object of
// the account, and keeps the temporary credentials, renewing them a minute
// before they expire (after 15 minutes).
//
// STS is reached with the source's own credentials at its regional endpoint
// for Config.Region (Config.Endpoint is S3's alone); AWS_ENDPOINT_URL_STS
// overrides it. Those credentials need sts:AssumeRole on the roles; each
// role needs s3:GetObject on the objects (and kms:Decrypt where they are
// encrypted with a KMS key), and a trust policy that lets the source's
// principal assume it, with the external id as a condition if one is
// configured. A role that cannot be assumed fails the reads of its
// account's objects, which are retried like any failed read.

import (
	"context"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// init sets the hook that setup calls when Config.Roles is not empty. The
// roles are assumed with base: the source's own credentials and region.
func init() {
	newAssumer = func(s *Source, base aws.Config) func(context.Context, string) (aws.CredentialsProvider, error) {
		return newRoles(sts.NewFromConfig(base), s.cfg.Roles, s.cfg.ExternalID, sessionName(s.deps.Name)).assume
	}
}

// roles assumes the role of each account once and keeps its credentials.
// It is safe for concurrent use.
type roles struct {
	client     stscreds.AssumeRoleAPIClient
	arns       map[string]string // account id -> role ARN
	externalID string
	session    string

	mu    sync.Mutex
	creds map[string]aws.CredentialsProvider // by account id
}

func newRoles(client stscreds.AssumeRoleAPIClient, arns map[string]string, externalID, session string) *roles {
	return &roles{client: client, arns: maps.Clone(arns), externalID: externalID, session: session, creds: map[string]aws.CredentialsProvider{}}
}

// assume returns the credentials to read account's objects with: the
// account's role's, or nil (and no error) when the account has no role,
// meaning the source's own. The credentials are fetched from STS when first
// used and renewed before they expire; a failure to assume the role shows
// as the error of the S3 request that needed them.
func (r *roles) assume(_ context.Context, account string) (aws.CredentialsProvider, error) {
	roleARN, ok := r.arns[account]
	if !ok {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.creds[account]; p != nil {
		return p, nil
	}
	p := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(r.client, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = r.session
		if r.externalID != "" {
			o.ExternalID = aws.String(r.externalID)
		}
	}), func(o *aws.CredentialsCacheOptions) {
		// Renew early enough that a request signed just before expiry
		// still reaches S3 with valid credentials.
		o.ExpiryWindow = time.Minute
	})
	r.creds[account] = p
	return p, nil
}

// sessionName is the role session name for a source: "vigil-<name>", cut
// to what STS accepts (2 to 64 characters of [\w+=,.@-]).
func sessionName(source string) string {
	b := []byte("vigil-" + source)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0
		if !ok {
			b[i] = '-'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}
