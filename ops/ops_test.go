package ops_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilsec/vigil/ops"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	var ready atomic.Bool
	var health atomic.Pointer[error]
	srv, err := ops.Listen("127.0.0.1:0", reg,
		func() error {
			if e := health.Load(); e != nil {
				return *e
			}
			return nil
		},
		func() []ops.Check {
			return []ops.Check{{Name: "normalize", Ready: ready.Load}, {Name: "detect", Ready: func() bool { return true }}}
		})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve() }()
	defer srv.Shutdown(context.Background())
	base := "http://" + srv.Addr()

	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "not ready: normalize") || strings.Contains(body, "detect") {
		t.Errorf("/readyz before ready: %d %q", code, body)
	}
	ready.Store(true)
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz when ready: %d %q", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	fail := errors.New("normalize: broker fenced us")
	health.Store(&fail)
	if code, body := get(t, base+"/healthz"); code != 503 || !strings.Contains(body, "broker fenced us") {
		t.Errorf("/healthz after a failure: %d %q", code, body)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "vigil_test_total 3") {
		t.Errorf("/metrics: %d", code)
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	l, err := ops.NewLogger(&buf, "warn", "auto")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), `"msg":"shown"`) {
		t.Errorf("auto format off a terminal should be JSON at warn: %q", buf.String())
	}
	buf.Reset()
	l, _ = ops.NewLogger(&buf, "debug", "text")
	l.Debug("dbg")
	if !strings.Contains(buf.String(), "msg=dbg") {
		t.Errorf("text format: %q", buf.String())
	}
	if _, err := ops.NewLogger(&buf, "loud", "text"); err == nil {
		t.Error("bad level accepted")
	}
	if _, err := ops.NewLogger(&buf, "info", "xml"); err == nil {
		t.Error("bad format accepted")
	}
}
