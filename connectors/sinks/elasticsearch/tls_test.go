package elasticsearch

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/connectors/sinks/elasticsearch/estest"
)

// TestTLSAndAPIKey indexes through an https endpoint whose certificate only
// the configured CA vouches for, authenticating with an API key: the
// endpoint checks the key and passes the requests on to the test server.
func TestTLSAndAPIKey(t *testing.T) {
	es := estest.Start(t)
	if es.Real {
		t.Skip("checks the sink's side of TLS and API keys with a local endpoint; a real cluster's own TLS is used throughout when VIGIL_TEST_ES_CA_FILE is set")
	}
	const key = "dmlnaWwtaWQ6dmlnaWwta2V5" // base64("vigil-id:vigil-key")
	target, _ := url.Parse(es.URL)
	target.Path = ""
	var refused atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The scheme is case-insensitive (the client writes "APIKey").
		if scheme, k, _ := strings.Cut(r.Header.Get("Authorization"), " "); !strings.EqualFold(scheme, "ApiKey") || k != key {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401}`)
			return
		}
		r.SetBasicAuth(es.Username, es.Password)
		rp.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake the test expects to fail
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	h := newHarness(t, es)
	c := h.config(srv.URL + "/es")
	t.Setenv("VIGIL_TEST_ES_KEY", key)
	c.Username, c.Password, c.APIKey = "", config.Secret{}, config.Secret{Env: "VIGIL_TEST_ES_KEY"}

	// Without the CA the server is not trusted.
	cl, err := NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ServerInfo(context.Background(), cl); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a server signed by an unknown CA was trusted: %v", err)
	}
	c.TLS.CAFile = ca
	cl, err = NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ServerInfo(context.Background(), cl); err != nil {
		t.Fatalf("with the CA: %v", err)
	}

	docs := goldenEvents(t)["aws.guardduty"]
	var vals [][]byte
	for _, g := range docs {
		vals = append(vals, g.doc)
	}
	h.produce("events.guardduty", vals...)
	var obs commits
	h.run("es", c, &obs)
	waitCommitted(t, &obs, int64(len(vals)), timeout)
	got := es.WaitFor(t, h.streamOf("aws.guardduty"), len(vals), settle, timeout)
	if len(got) != len(vals) {
		t.Errorf("%d documents indexed through TLS with an API key, want %d", len(got), len(vals))
	}
	if refused.Load() > 0 {
		t.Errorf("%d requests came without the API key", refused.Load())
	}
}
