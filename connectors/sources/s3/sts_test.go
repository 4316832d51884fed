package s3

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/plugin"
)

const (
	testRole1 = "arn:aws:iam::111122223333:role/vigil-read-logs"
	testRole2 = "arn:aws:iam::444455556666:role/vigil-read-logs"
	// testToken is the session token of the STS fixtures, without the
	// digit that ends it.
	testToken = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)

// replaySTS returns an STS client that sends to the replay server, signing
// with the source's own (fixture) credentials.
func replaySTS(r *replay) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(r.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		HTTPClient:   r.srv.Client(),
	})
}

func retrieve(t *testing.T, p aws.CredentialsProvider) aws.Credentials {
	t.Helper()
	if p == nil {
		t.Fatal("no credentials provider")
	}
	c, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	return c
}

// TestAssumeRoles: each account's role is assumed once, with the session
// name and external id, and its credentials kept; an account without a
// role gets none (the source's own).
func TestAssumeRoles(t *testing.T) {
	r := startReplay(t, "sts/assume-role.yaml")
	rs := newRoles(replaySTS(r), map[string]string{"111122223333": testRole1, "444455556666": testRole2}, "vigil-7f3a", sessionName("cloudtrail-org"))
	ctx := context.Background()

	p1, err := rs.assume(ctx, "111122223333")
	if err != nil {
		t.Fatal(err)
	}
	if r.Served() != 0 {
		t.Errorf("assume asked STS before the credentials were used")
	}
	c := retrieve(t, p1)
	if c.AccessKeyID != "ASIAIOSFODNN7EXAMPL1" || c.SessionToken != testToken+"1" || !c.CanExpire {
		t.Errorf("account 1 credentials: %+v", c)
	}
	p1b, _ := rs.assume(ctx, "111122223333")
	if c := retrieve(t, p1b); c.AccessKeyID != "ASIAIOSFODNN7EXAMPL1" {
		t.Errorf("account 1 again: %s", c.AccessKeyID)
	}
	if r.Served() != 1 {
		t.Errorf("%d AssumeRole calls after using account 1's credentials twice, want 1", r.Served())
	}

	p2, _ := rs.assume(ctx, "444455556666")
	if c := retrieve(t, p2); c.AccessKeyID != "ASIAIOSFODNN7EXAMPL2" || c.SessionToken != testToken+"2" {
		t.Errorf("account 2 credentials: %+v", c)
	}

	if p, err := rs.assume(ctx, "999999999999"); p != nil || err != nil {
		t.Errorf("account without a role: %v, %v; want nil, nil", p, err)
	}

	// Concurrent readers share the kept credentials.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			account := []string{"111122223333", "444455556666"}[i%2]
			p, err := rs.assume(ctx, account)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := p.Retrieve(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	r.checkAllServed()
}

// TestAssumeRoleNoExternalID: without an external id, none is sent.
func TestAssumeRoleNoExternalID(t *testing.T) {
	r := startReplay(t, "sts/no-external-id.yaml")
	rs := newRoles(replaySTS(r), map[string]string{"111122223333": testRole1}, "", sessionName("cloudtrail-org"))
	p, err := rs.assume(context.Background(), "111122223333")
	if err != nil {
		t.Fatal(err)
	}
	if c := retrieve(t, p); c.AccessKeyID != "ASIAIOSFODNN7EXAMPL1" {
		t.Errorf("credentials: %+v", c)
	}
	r.checkAllServed()
}

// TestAssumeRoleDenied: a role that cannot be assumed is an error when its
// credentials are used, and is asked for again next time.
func TestAssumeRoleDenied(t *testing.T) {
	r := startReplay(t, "sts/denied.yaml")
	rs := newRoles(replaySTS(r), map[string]string{"111122223333": testRole1}, "vigil-7f3a", sessionName("cloudtrail-org"))
	p, err := rs.assume(context.Background(), "111122223333")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("Retrieve = %v, want AccessDenied", err)
	}
	if c := retrieve(t, p); c.AccessKeyID != "ASIAIOSFODNN7EXAMPL1" {
		t.Errorf("after the trust policy was fixed: %+v", c)
	}
	r.checkAllServed()
}

// TestRolesThroughSource reads objects through the source's clients: the
// object of an account with a role is fetched with the role's credentials,
// the other with the source's own; STS is reached at AWS_ENDPOINT_URL_STS.
func TestRolesThroughSource(t *testing.T) {
	r := startReplay(t, "sts/s3-reads.yaml")
	type seen struct{ path, auth, token string }
	var mu sync.Mutex
	var got []seen
	fakeS3 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		got = append(got, seen{req.URL.Path, req.Header.Get("Authorization"), req.Header.Get("X-Amz-Security-Token")})
		mu.Unlock()
		w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
		_, _ = io.WriteString(w, "{}\n")
	}))
	defer fakeS3.Close()

	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_ENDPOINT_URL_STS", r.URL())
	t.Setenv("VIGIL_TEST_STS_ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("VIGIL_TEST_STS_SECRET_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	c := DefaultConfig()
	c.Source, c.Bucket, c.Region, c.Endpoint = "cloudtrail", "amzn-s3-demo-bucket", "us-east-1", fakeS3.URL
	c.AccessKeyID = config.Secret{Env: "VIGIL_TEST_STS_ACCESS_KEY"}
	c.SecretAccessKey = config.Secret{Env: "VIGIL_TEST_STS_SECRET_KEY"}
	c.Roles = map[string]string{"111122223333": testRole1}
	c.ExternalID = "vigil-7f3a"
	s, err := New(c, plugin.Deps{Name: "cloudtrail-org", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.setup(ctx); err != nil {
		t.Fatal(err)
	}
	keys := []string{
		"AWSLogs/o-aa111bb222/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0005Z_a.json.gz",
		"AWSLogs/o-aa111bb222/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0010Z_b.json.gz",
		"AWSLogs/o-aa111bb222/444455556666/CloudTrail/us-east-1/2026/01/02/444455556666_CloudTrail_us-east-1_20260102T0005Z_c.json.gz",
	}
	for _, k := range keys {
		l, _ := ParseLayout(k)
		cl, err := s.clientFor(ctx, l.Account)
		if err != nil {
			t.Fatal(err)
		}
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", k, err)
		}
		_ = out.Body.Close()
	}
	r.checkAllServed()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(keys) {
		t.Fatalf("S3 saw %d requests, want %d", len(got), len(keys))
	}
	for i, g := range got {
		wantKey, wantToken := "Credential=ASIAIOSFODNN7EXAMPL1/", testToken+"1"
		if i == 2 {
			wantKey, wantToken = "Credential=AKIAIOSFODNN7EXAMPLE/", ""
		}
		if !strings.HasSuffix(g.path, "/"+keys[i]) || !strings.Contains(g.auth, wantKey) || g.token != wantToken {
			t.Errorf("S3 request %d: path %s, Authorization %q, token %q; want key %s signed with %s, token %q", i, g.path, g.auth, g.token, keys[i], wantKey, wantToken)
		}
	}
}

func TestSessionName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"cloudtrail-org", "vigil-cloudtrail-org"},
		{"s3 prod/eu:1", "vigil-s3-prod-eu-1"},
		{"a.b@c=d,e+f_g", "vigil-a.b@c=d,e+f_g"},
		{strings.Repeat("x", 80), "vigil-" + strings.Repeat("x", 58)},
	} {
		if got := sessionName(tc.in); got != tc.want {
			t.Errorf("sessionName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
