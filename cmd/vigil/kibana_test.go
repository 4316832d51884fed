package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigilsec/vigil/connectors/sinks/elasticsearch"
)

// runInProcess runs the vigil command in-process and returns its output.
func runInProcess(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// fakeKibana answers the saved objects import API and records what it got.
type fakeKibana struct {
	mu      sync.Mutex
	path    string
	query   string
	xsrf    string
	auth    string
	ctype   string
	file    []byte
	name    string
	failing bool
}

func (k *fakeKibana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.path, k.query, k.xsrf, k.auth, k.ctype = r.URL.Path, r.URL.RawQuery, r.Header.Get("kbn-xsrf"), r.Header.Get("Authorization"), r.Header.Get("Content-Type")
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		http.Error(w, `{"statusCode":400,"error":"Bad Request","message":"no file"}`, http.StatusBadRequest)
		return
	}
	k.name = fh.Filename
	k.file, _ = io.ReadAll(f)
	n := bytes.Count(k.file, []byte("\n"))
	w.Header().Set("Content-Type", "application/json")
	if k.failing {
		fmt.Fprintf(w, `{"success":false,"successCount":%d,"errors":[{"id":"vigil-console-logins-map","type":"map","title":"Console logins on a map","error":{"type":"missing_references","references":[{"type":"index-pattern","id":"vigil-aws.cloudtrail"}]}}]}`, n-1)
		return
	}
	fmt.Fprintf(w, `{"success":true,"successCount":%d,"successResults":[]}`, n)
}

// TestKibanaImport checks the request `vigil kibana import` sends: a
// multipart POST of vigil's NDJSON to the saved objects import API of the
// space, overwriting, with the XSRF header and the credentials.
func TestKibanaImport(t *testing.T) {
	k := &fakeKibana{}
	srv := httptest.NewServer(k)
	defer srv.Close()
	t.Setenv("VIGIL_KIBANA_USERNAME", "analyst")
	t.Setenv("VIGIL_KIBANA_PASSWORD", "s3cret")
	t.Setenv("VIGIL_KIBANA_API_KEY", "")
	t.Setenv("VIGIL_CONFIG", "")

	out, err := runInProcess(t, "kibana", "import", "--url", srv.URL, "--space", "security")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want, _ := elasticsearch.SavedObjects()
	k.mu.Lock()
	if k.path != "/s/security/api/saved_objects/_import" || k.query != "overwrite=true" {
		t.Errorf("request to %s?%s", k.path, k.query)
	}
	if k.xsrf == "" || !strings.HasPrefix(k.ctype, "multipart/form-data; boundary=") || !strings.HasSuffix(k.name, ".ndjson") {
		t.Errorf("kbn-xsrf %q, content type %q, file name %q", k.xsrf, k.ctype, k.name)
	}
	if k.auth != "Basic YW5hbHlzdDpzM2NyZXQ=" {
		t.Errorf("Authorization %q", k.auth)
	}
	if !bytes.Equal(k.file, want) {
		t.Error("the file sent is not vigil's saved objects")
	}
	k.mu.Unlock()
	n := bytes.Count(want, []byte("\n"))
	if !strings.Contains(out, fmt.Sprintf("imported %d saved objects into space security", n)) || !strings.Contains(out, "/s/security/app/dashboards#/view/vigil-aws-security") {
		t.Errorf("output:\n%s", out)
	}
	// The checked-in file is what gets imported.
	onDisk, err := os.ReadFile("../../deploy/kibana/vigil.ndjson")
	if err != nil || !bytes.Equal(onDisk, want) {
		t.Errorf("deploy/kibana/vigil.ndjson differs from the built-in content (%v)", err)
	}

	// The default space, an API key, and a Kibana that refuses an object.
	t.Setenv("VIGIL_KIBANA_API_KEY", "a2V5OnNlY3JldA==")
	k.failing = true
	out, err = runInProcess(t, "kibana", "import", "--url", srv.URL)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("a failed import returns %v, want exit status 1", err)
	}
	if k.path != "/api/saved_objects/_import" || k.auth != "ApiKey a2V5OnNlY3JldA==" {
		t.Errorf("request to %s with %q", k.path, k.auth)
	}
	if !strings.Contains(out, `failed map vigil-console-logins-map "Console logins on a map": missing_references (missing index-pattern vigil-aws.cloudtrail)`) {
		t.Errorf("output does not say what failed:\n%s", out)
	}
}

// TestKibanaImportCredentialsFromConfig takes the Elasticsearch sink's
// credentials when the environment has none.
func TestKibanaImportCredentialsFromConfig(t *testing.T) {
	k := &fakeKibana{}
	srv := httptest.NewServer(k)
	defer srv.Close()
	t.Setenv("VIGIL_KIBANA_USERNAME", "")
	t.Setenv("VIGIL_KIBANA_API_KEY", "")
	t.Setenv("VIGIL_TEST_ES_PW", "from-env")
	cfg := filepath.Join(t.TempDir(), "vigil.yaml")
	os.WriteFile(cfg, []byte("sinks:\n  es:\n    type: elasticsearch\n    username: vigil\n    password: {env: VIGIL_TEST_ES_PW}\n"), 0o644)
	out, err := runInProcess(t, "kibana", "import", "--url", srv.URL, "--config", cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if k.auth != "Basic dmlnaWw6ZnJvbS1lbnY=" {
		t.Errorf("Authorization %q", k.auth)
	}
}
