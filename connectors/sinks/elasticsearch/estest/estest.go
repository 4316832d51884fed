// Package estest gives tests an Elasticsearch API server: ZincSearch v0.4.10
// started on a free port with a data directory of the test's own, or the
// real Elasticsearch that VIGIL_TEST_ES_URL names.
//
// ZincSearch is built by scripts/zincsearch.sh into .cache/bin/zincsearch
// (make tools does it). Without it, tests skip with a message saying so,
// unless VIGIL_TEST_REQUIRE_ES is set, in which case they fail.
package estest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment variables.
const (
	// EnvURL names a real Elasticsearch for the tests, credentials in the
	// URL if it needs them: https://elastic:secret@es.example.net:9200.
	EnvURL = "VIGIL_TEST_ES_URL"
	// EnvAPIKey is an encoded API key for EnvURL, instead of a password.
	EnvAPIKey = "VIGIL_TEST_ES_API_KEY"
	// EnvCAFile is a PEM CA bundle to trust for EnvURL.
	EnvCAFile = "VIGIL_TEST_ES_CA_FILE"
	// EnvRequire makes a missing server a failure instead of a skip.
	EnvRequire = "VIGIL_TEST_REQUIRE_ES"
	// EnvZincSearch names the ZincSearch binary. Default: .cache/bin/zincsearch
	// under the module root, then zincsearch on PATH.
	EnvZincSearch = "VIGIL_ZINCSEARCH"
)

// Server is an Elasticsearch API server for one test.
type Server struct {
	// URL is the base URL of the Elasticsearch API, without credentials
	// (ZincSearch's is under /es).
	URL string
	// Username and Password are basic auth credentials; APIKey an encoded
	// API key; CAFile a CA bundle. Empty when not needed.
	Username, Password, APIKey, CAFile string
	// Real is true for a real Elasticsearch, which has templates, ILM and
	// data streams; false for ZincSearch.
	Real bool
	// Prefix is unique to the test: a namespace or index prefix that keeps
	// tests against a shared cluster apart.
	Prefix string

	mu   sync.Mutex
	t    testing.TB
	bin  string
	dir  string
	port string
	cmd  *exec.Cmd
	done chan struct{}
	logf *os.File
}

// Start returns a server for t: the real one of VIGIL_TEST_ES_URL, or a new
// ZincSearch stopped when the test ends. It skips t when neither is
// available and VIGIL_TEST_REQUIRE_ES is unset.
func Start(t testing.TB) *Server {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "vt" + hex.EncodeToString(b)
	if env := os.Getenv(EnvURL); env != "" {
		u, err := url.Parse(env)
		if err != nil {
			t.Fatalf("%s: %v", EnvURL, err)
		}
		s := &Server{Real: true, Prefix: prefix, APIKey: os.Getenv(EnvAPIKey), CAFile: os.Getenv(EnvCAFile), t: t}
		if u.User != nil {
			s.Username = u.User.Username()
			s.Password, _ = u.User.Password()
			u.User = nil
		}
		s.URL = strings.TrimSuffix(u.String(), "/")
		return s
	}
	bin := Binary()
	if bin == "" {
		msg := "no Elasticsearch API server: build ZincSearch with scripts/zincsearch.sh (make tools), or set " + EnvURL
		if os.Getenv(EnvRequire) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{Prefix: prefix, Username: "admin", Password: "vigil-test-" + prefix, bin: bin, dir: t.TempDir(), port: freePort(t), t: t}
	s.URL = "http://127.0.0.1:" + s.port + "/es"
	s.StartAgain()
	t.Cleanup(s.Stop)
	return s
}

// Binary returns the ZincSearch binary to run, or "" if there is none.
func Binary() string {
	if b := os.Getenv(EnvZincSearch); b != "" {
		if _, err := os.Stat(b); err != nil {
			return ""
		}
		return b
	}
	if root := moduleRoot(); root != "" {
		b := filepath.Join(root, ".cache", "bin", "zincsearch")
		if fi, err := os.Stat(b); err == nil && !fi.IsDir() {
			return b
		}
	}
	if b, err := exec.LookPath("zincsearch"); err == nil {
		return b
	}
	return ""
}

func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// StartAgain starts ZincSearch (again, after Stop) on the same port and data
// directory, and waits until it answers.
func (s *Server) StartAgain() {
	s.t.Helper()
	if s.Real {
		s.t.Fatal("estest: a real Elasticsearch cannot be restarted by a test")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "zincsearch.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.bin)
	cmd.Dir = s.dir // ZincSearch reads a .env from its working directory
	cmd.Env = append(os.Environ(),
		"ZINC_FIRST_ADMIN_USER="+s.Username,
		"ZINC_FIRST_ADMIN_PASSWORD="+s.Password,
		"ZINC_DATA_PATH="+filepath.Join(s.dir, "data"),
		"ZINC_SERVER_ADDRESS=127.0.0.1",
		"ZINC_SERVER_PORT="+s.port,
		"ZINC_TELEMETRY=false",
		"ZINC_SENTRY=false",
		"ZINC_PROMETHEUS_ENABLE=false",
		"GIN_MODE=release",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.t.Fatalf("start %s: %v", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done, s.logf = cmd, done, logf
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/", nil)
		req.SetBasicAuth(s.Username, s.Password)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			s.t.Fatalf("zincsearch exited at start-up:\n%s", s.log())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("zincsearch did not answer within 30s:\n%s", s.log())
		}
	}
}

// Stop stops ZincSearch gracefully (SIGTERM, so that it closes its
// indexes) and waits for it to exit.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	s.logf.Close()
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "zincsearch.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Do sends a request to the API and decodes a JSON response into out (if
// not nil). It returns the status code.
func (s *Server) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			r = bytes.NewReader(b)
		case string:
			r = strings.NewReader(b)
		default:
			enc, err := json.Marshal(body)
			if err != nil {
				return 0, err
			}
			r = bytes.NewReader(enc)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+"/"+strings.TrimPrefix(path, "/"), r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	switch {
	case s.APIKey != "":
		req.Header.Set("Authorization", "ApiKey "+s.APIKey)
	case s.Username != "":
		req.SetBasicAuth(s.Username, s.Password)
	}
	cl := http.DefaultClient
	if s.CAFile != "" {
		cl = caClient(s.t, s.CAFile)
	}
	res, err := cl.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %d %s: %w", method, path, res.StatusCode, b, err)
		}
	}
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(b))
	}
	return res.StatusCode, nil
}

// IDs returns the _id of every document in the indexes matching pattern
// (at most 10000), counting repeats, and the total the server reports.
// Documents become searchable some time after they are indexed, on
// ZincSearch a few seconds: use WaitFor.
func (s *Server) IDs(ctx context.Context, pattern string) (map[string]int, int, error) {
	if s.Real {
		if _, err := s.Do(ctx, http.MethodPost, pattern+"/_refresh", nil, nil); err != nil {
			return nil, 0, err
		}
	}
	var res struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	q := map[string]any{"size": 10000, "track_total_hits": true, "_source": false, "query": map[string]any{"match_all": map[string]any{}}}
	if _, err := s.Do(ctx, http.MethodPost, pattern+"/_search", q, &res); err != nil {
		// Elasticsearch says index_not_found (404), ZincSearch "does not exists" (400).
		if msg := err.Error(); strings.Contains(msg, "index_not_found") || strings.Contains(msg, "does not exist") {
			return map[string]int{}, 0, nil
		}
		return nil, 0, err
	}
	ids := map[string]int{}
	for _, h := range res.Hits.Hits {
		ids[h.ID]++
	}
	return ids, res.Hits.Total.Value, nil
}

// WaitFor polls IDs until the indexes matching pattern hold want documents
// and stay so for settle, or until timeout; it returns the last IDs seen.
func (s *Server) WaitFor(t testing.TB, pattern string, want int, settle, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var ids map[string]int
	var total int
	var since time.Time
	for {
		var err error
		ids, total, err = s.IDs(context.Background(), pattern)
		if err != nil {
			t.Logf("search %s: %v", pattern, err)
		}
		if err == nil && total == want {
			if since.IsZero() {
				since = time.Now()
			}
			if time.Since(since) >= settle {
				return ids
			}
		} else {
			since = time.Time{}
		}
		if time.Now().After(deadline) {
			t.Logf("%s holds %d documents, want %d", pattern, total, want)
			return ids
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Cleanup deletes, when the test ends, the data streams and templates a test
// made on a real Elasticsearch under names containing Prefix.
func (s *Server) Cleanup(t testing.TB, paths ...string) {
	if !s.Real {
		return
	}
	t.Cleanup(func() {
		for _, p := range paths {
			_, _ = s.Do(context.Background(), http.MethodDelete, p, nil, nil)
		}
	})
}

func caClient(t testing.TB, caFile string) *http.Client {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("%s: %v", EnvCAFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s: no PEM certificate in %s", EnvCAFile, caFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}
