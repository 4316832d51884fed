// Package s3test runs a real S3 API server for tests: versitygw (Versity's
// S3 gateway) over a POSIX directory in t.TempDir(), on a free port, with
// fixed credentials. `make tools` builds versitygw into .cache/bin.
//
// A test that needs S3 calls Start: it skips the test when versitygw is not
// installed, unless VIGIL_TEST_REQUIRE_S3 is set (make test sets it), in
// which case the test fails.
package s3test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Version is the versitygw release the tests run against.
const Version = "v1.8.0"

// EnvRequire, when set to anything but "" or "0", makes a missing versitygw
// fail tests instead of skipping them.
const EnvRequire = "VIGIL_TEST_REQUIRE_S3"

// EnvBinary names the versitygw binary to use instead of the one in
// .cache/bin or on PATH.
const EnvBinary = "VIGIL_VERSITYGW"

// Fixed test credentials and region.
const (
	AccessKey = "AKIAVIGILTEST0000000"
	SecretKey = "vigil-test-secret-key-0000000000000000000"
	Region    = "us-east-1"
)

// Server is a running versitygw.
type Server struct {
	// Endpoint is the server's URL, for path-style requests.
	Endpoint string
	// Client is an S3 client for the server.
	Client *s3.Client
	// Dir is the POSIX directory the server keeps buckets in.
	Dir string
}

// Binary returns the path of the versitygw binary: $VIGIL_VERSITYGW, else
// .cache/bin/versitygw at the module root, else versitygw on PATH.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		return p, nil
	}
	if root := moduleRoot(); root != "" {
		p := filepath.Join(root, ".cache", "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", errors.New("versitygw not found in .cache/bin or on PATH; `make tools` builds it (go install github.com/versity/versitygw/cmd/versitygw@" + Version + ")")
}

var (
	rootOnce sync.Once
	root     string
)

// moduleRoot finds the directory of go.mod above the working directory.
func moduleRoot() string {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	return root
}

// Require returns the versitygw binary, or skips (or, with
// VIGIL_TEST_REQUIRE_S3, fails) the test.
func Require(t testing.TB) string {
	t.Helper()
	p, err := Binary()
	if err != nil {
		if v := os.Getenv(EnvRequire); v != "" && v != "0" {
			t.Fatalf("%s is set but: %v", EnvRequire, err)
		}
		t.Skipf("skipping: %v", err)
	}
	return p
}

// Start runs versitygw for the test; it is stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Require(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 5 {
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey, "--region", Region,
			"--port", addr, "--quiet", "posix", data)
		cmd.Stdout, cmd.Stderr = &syncWriter{w: &out}, &syncWriter{w: &out}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start versitygw: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		if err := waitListening(addr, exited); err != nil {
			_ = cmd.Process.Kill()
			<-exited
			lastErr = fmt.Errorf("%v; output: %s", err, out.String())
			continue // most likely the port was taken meanwhile
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		srv := &Server{Endpoint: "http://" + addr, Dir: data}
		srv.Client = NewClient(srv.Endpoint)
		return srv
	}
	t.Fatalf("versitygw did not start: %v", lastErr)
	return nil
}

// NewClient returns a path-style S3 client for endpoint with the test
// credentials.
func NewClient(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		// versitygw checks the checksums it is sent; the SDK's default
		// CRC32 trailers on every upload are extra work for nothing here.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListening(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("versitygw exited")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("versitygw not listening on %s after 30s", addr)
}

// CreateBucket creates a bucket.
func (s *Server) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
}

// Put uploads an object.
func (s *Server) Put(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if _, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}); err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// Delete removes an object.
func (s *Server) Delete(t testing.TB, bucket, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatalf("delete s3://%s/%s: %v", bucket, key, err)
	}
}

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// Env returns the environment variables that point the AWS SDK's default
// credential chain and a vigil process at the server: for subprocesses.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=" + Region,
		// No shared config files or instance metadata lookups.
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Layout formats an AWS log key: AWSLogs/<account>/<service>/<region>/
// YYYY/MM/DD/<name>, service being CloudTrail, vpcflowlogs or GuardDuty.
func Layout(account, service, region string, day time.Time, name string) string {
	return strings.Join([]string{"AWSLogs", account, service, region, day.Format("2006/01/02"), name}, "/")
}
