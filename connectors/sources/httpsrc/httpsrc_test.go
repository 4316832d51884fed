package httpsrc

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/vigilsec/vigil/broker"
	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/correlators/normalize"
	_ "github.com/vigilsec/vigil/correlators/normalize/cloudtrail"
	_ "github.com/vigilsec/vigil/correlators/normalize/falco"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

func TestMain(m *testing.M) {
	probeInterval = 50 * time.Millisecond
	goleak.VerifyTestMain(m)
}

const (
	token  = "s3cret-token"
	apiKey = "eventbridge-api-key"
)

// harness runs a source against a broker.
type harness struct {
	t       *testing.T
	brokers []string
	names   topics.Names
	src     *Source
	reg     *prometheus.Registry
	base    string // http://host:port or https://host:port
	client  *http.Client
}

// testConfig returns a config with endpoints cloudtrail (bearer token from
// the environment, api key header x-api-key from a file) and falco.
func testConfig(t *testing.T) Config {
	t.Helper()
	t.Setenv("VIGIL_TEST_HTTP_TOKEN", token)
	keyFile := filepath.Join(t.TempDir(), "api-key")
	if err := os.WriteFile(keyFile, []byte(apiKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := *DefaultConfig()
	c.Listen = "127.0.0.1:0"
	c.RequestTimeout = 10 * time.Second
	c.Endpoints = map[string]Endpoint{
		"cloudtrail": {
			Tokens:       []config.Secret{{Env: "VIGIL_TEST_HTTP_TOKEN"}, {File: keyFile}},
			APIKeyHeader: "x-api-key",
		},
		"falco": {Source: "falco", Tokens: []config.Secret{{Env: "VIGIL_TEST_HTTP_TOKEN"}}},
	}
	return c
}

// start runs a source with c against brokers (a new embedded broker when
// nil) and waits until it listens and, if wantReady, until it is ready.
func start(t *testing.T, c Config, brokers []string, wantReady bool) *harness {
	t.Helper()
	h := &harness{t: t, brokers: brokers, names: topics.Names{Prefix: streamstest.Prefix(t)}, reg: prometheus.NewRegistry()}
	if h.brokers == nil {
		h.brokers = streamstest.Brokers(t)
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	logger := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	src, err := New(c, plugin.Deps{
		Name: "http", Kafka: []kgo.Opt{kgo.SeedBrokers(h.brokers...)}, Topics: h.names, Partitions: 3,
		Logger: logger, Registerer: h.reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.src = src
	if wantReady {
		var names []string
		for _, s := range src.Topics() {
			names = append(names, s.Name)
		}
		streamstest.CreateTopics(t, h.brokers, 3, names...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for src.Addr() == "" || wantReady && !src.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("source not listening/ready (addr %q)", src.Addr())
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	h.base = "http://" + src.Addr()
	h.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(h.client.CloseIdleConnections)
	return h
}

type reply struct {
	code int
	hdr  http.Header
	body []byte
	resp Response
}

func (h *harness) do(method, path string, body io.Reader, hdr ...string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if b, ok := body.(*bytes.Reader); ok && b.Len() == 0 {
		req.ContentLength = 0
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := reply{code: res.StatusCode, hdr: res.Header, body: b}
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &r.resp); err != nil {
			h.t.Fatalf("200 with body %q: %v", b, err)
		}
	}
	return r
}

func (h *harness) post(path string, body []byte, hdr ...string) reply {
	h.t.Helper()
	return h.do(http.MethodPost, path, bytes.NewReader(body), hdr...)
}

var bearer = []string{"Authorization", "Bearer " + token}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const cloudTrailDocs = "../../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/"

// falcosidekickPayload is a real falcosidekick payload: the
// event.original of Elastic's Falco integration sample event.
func falcosidekickPayload(t *testing.T) []byte {
	t.Helper()
	var doc struct {
		Event struct {
			Original string `json:"original"`
		} `json:"event"`
	}
	b := readFile(t, "../../../testdata/corpus/elastic-integrations/packages/falco/data_stream/falco_alerts/sample_event.json")
	if err := json.Unmarshal(b, &doc); err != nil || doc.Event.Original == "" {
		t.Fatalf("sample_event.json: %v", err)
	}
	return []byte(doc.Event.Original)
}

// eventBridgeDelivery is what an EventBridge rule with an API destination
// target POSTs: the event, in EventBridge's envelope, here around a console
// sign-in event from the CloudTrail User Guide.
func eventBridgeDelivery(t *testing.T) []byte {
	t.Helper()
	var detail map[string]any
	if err := json.Unmarshal(readFile(t, cloudTrailDocs+"cloudtrail-event-reference-aws-console-sign-in-events_block08.json"), &detail); err != nil {
		t.Fatal(err)
	}
	env, err := json.Marshal(map[string]any{
		"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "AWS Console Sign In via CloudTrail",
		"source": "aws.signin", "account": "111122223333", "time": "2024-05-01T10:00:01Z", "region": "us-east-1",
		"resources": []any{}, "detail": detail,
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestIngest posts each form a sender uses and checks what reached the
// raw topics: every acknowledged record exactly once, with its key and
// provenance, and what the normalize decoders make of it.
func TestIngest(t *testing.T) {
	h := start(t, testConfig(t), nil, true)
	ctFile := readFile(t, cloudTrailDocs+"cloudtrail-log-file-examples_block10.json")
	single := []byte(`{"eventName":"ConsoleLogin","recipientAccountId":"111122223333","eventTime":"2026-11-02T09:00:00Z"}`)
	lines := []byte("{\"eventName\":\"A\",\"recipientAccountId\":\"1\"}\n\n{\"eventName\":\"B\",\"recipientAccountId\":\"2\"}\r\n{\"eventName\":\"C\"}\n")
	array := []byte(`[{"eventName":"A","userIdentity":{"accountId":"7"}}, {"eventName":"B"}]`)
	sidekick := falcosidekickPayload(t)
	ebridge := eventBridgeDelivery(t)

	type want struct {
		values  []string
		origins []string // suffixes after the request id
		keys    []string
	}
	cases := []struct {
		name string
		path string
		body []byte
		hdr  []string
		want want
	}{
		{"single object", "/ingest/cloudtrail", single, bearer, want{[]string{string(single)}, []string{":1"}, []string{"111122223333"}}},
		{"NDJSON", "/ingest/cloudtrail", lines, bearer, want{
			[]string{`{"eventName":"A","recipientAccountId":"1"}`, `{"eventName":"B","recipientAccountId":"2"}`, `{"eventName":"C"}`},
			[]string{":1", ":3", ":4"}, []string{"1", "2", ""}}},
		{"array", "/ingest/cloudtrail", array, bearer, want{
			[]string{`{"eventName":"A","userIdentity":{"accountId":"7"}}`, `{"eventName":"B"}`}, []string{":[0]", ":[1]"}, []string{"7", ""}}},
		{"gzip, Content-Encoding", "/ingest/cloudtrail", gz(t, lines), append([]string{"Content-Encoding", "gzip"}, bearer...), want{
			[]string{`{"eventName":"A","recipientAccountId":"1"}`, `{"eventName":"B","recipientAccountId":"2"}`, `{"eventName":"C"}`},
			[]string{":1", ":3", ":4"}, []string{"1", "2", ""}}},
		{"gzip, magic only", "/ingest/cloudtrail", gz(t, array), bearer, want{
			[]string{`{"eventName":"A","userIdentity":{"accountId":"7"}}`, `{"eventName":"B"}`}, []string{":[0]", ":[1]"}, []string{"7", ""}}},
		{"falcosidekick webhook", "/ingest/falco", sidekick, append([]string{"Content-Type", "application/json"}, bearer...), want{
			[]string{string(sidekick)}, []string{":1"}, []string{"c7c8c715c818"}}},
		{"EventBridge API destination, x-api-key", "/ingest/cloudtrail", ebridge, []string{"x-api-key", apiKey, "Content-Type", "application/json; charset=utf-8"}, want{
			[]string{string(ebridge)}, []string{":1"}, []string{"111122223333"}}},
	}
	// The CloudTrail log file, gzipped as CloudTrail writes it.
	var ctWant want
	{
		var f struct{ Records []json.RawMessage }
		if err := json.Unmarshal(ctFile, &f); err != nil || len(f.Records) < 2 {
			t.Fatalf("CloudTrail file: %v, %d records", err, len(f.Records))
		}
		for i, r := range f.Records {
			ctWant.values = append(ctWant.values, string(r))
			ctWant.origins = append(ctWant.origins, fmt.Sprintf(":Records[%d]", i))
			ctWant.keys = append(ctWant.keys, "123456789012")
		}
	}
	cases = append(cases, struct {
		name string
		path string
		body []byte
		hdr  []string
		want want
	}{"CloudTrail log file, gzipped", "/ingest/cloudtrail", gz(t, ctFile), append([]string{"Content-Encoding", "gzip"}, bearer...), ctWant})

	type acked struct {
		name  string
		topic string
		want  want
	}
	byRequest := map[string]acked{}
	total := 0
	for _, tc := range cases {
		r := h.post(tc.path, tc.body, tc.hdr...)
		if r.code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.name, r.code, r.body)
		}
		if r.resp.Records != len(tc.want.values) || r.resp.DeadLetters != 0 || r.resp.RequestID == "" {
			t.Errorf("%s: response %+v, want %d records", tc.name, r.resp, len(tc.want.values))
		}
		if r.hdr.Get("X-Request-Id") != r.resp.RequestID {
			t.Errorf("%s: X-Request-Id %q, body says %q", tc.name, r.hdr.Get("X-Request-Id"), r.resp.RequestID)
		}
		ep := strings.TrimPrefix(tc.path, "/ingest/")
		byRequest[r.resp.RequestID] = acked{tc.name, h.names.Raw(ep), tc.want}
		total += r.resp.Records
	}

	// Every acknowledged record, exactly once.
	var recs []*kgo.Record
	for _, src := range []string{"cloudtrail", "falco"} {
		recs = append(recs, streamstest.ReadCommitted(t, h.brokers, h.names.Raw(src))...)
	}
	if len(recs) != total {
		t.Errorf("%d records in the raw topics, %d acknowledged", len(recs), total)
	}
	got := map[string]*kgo.Record{}
	for _, r := range recs {
		o := streams.Header(r, streams.HeaderOrigin)
		if got[o] != nil {
			t.Errorf("origin %s twice", o)
		}
		got[o] = r
	}
	for id, a := range byRequest {
		for i, v := range a.want.values {
			origin := "http://" + strings.TrimPrefix(a.topic, h.names.Raw("")) + "/" + id + a.want.origins[i]
			r := got[origin]
			if r == nil {
				t.Errorf("%s: no record with origin %s", a.name, origin)
				continue
			}
			if r.Topic != a.topic || string(r.Value) != v || string(r.Key) != a.want.keys[i] {
				t.Errorf("%s: record %d = %s key %q value %.80q; want %s key %q value %.80q", a.name, i, r.Topic, r.Key, r.Value, a.topic, a.want.keys[i], v)
			}
			wantSource := strings.TrimPrefix(a.topic, h.names.Raw(""))
			if s := streams.Header(r, streams.HeaderSource); s != wantSource {
				t.Errorf("%s: source header %q", a.name, s)
			}
			if _, err := time.Parse(time.RFC3339Nano, streams.Header(r, streams.HeaderIngestTime)); err != nil {
				t.Errorf("%s: ingest time: %v", a.name, err)
			}
		}
	}

	// The decoders read what was published from the real payloads (the
	// made-up events above carry too little to normalize).
	decoded := 0
	for _, r := range recs {
		src := streams.Header(r, streams.HeaderSource)
		if a := byRequest[requestID(streams.Header(r, streams.HeaderOrigin))]; !strings.Contains(a.name, "falco") && !strings.Contains(a.name, "EventBridge") && !strings.Contains(a.name, "CloudTrail") {
			continue
		}
		decoded++
		dec, _ := normalize.Lookup(src)
		evs, err := dec.Decode(r.Value, normalize.Meta{Origin: streams.Header(r, streams.HeaderOrigin)})
		if err != nil || len(evs) != 1 {
			t.Errorf("%s decoder on %s: %d events, %v", src, streams.Header(r, streams.HeaderOrigin), len(evs), err)
		}
	}

	if decoded != 2+len(ctWant.values) {
		t.Errorf("%d records decoded", decoded)
	}

	// Metrics.
	if n := testutil.ToFloat64(h.src.requests.WithLabelValues("cloudtrail", "200")); n != float64(len(cases)-1) {
		t.Errorf("vigil_http_requests_total{endpoint=cloudtrail,code=200} = %v, want %d", n, len(cases)-1)
	}
	if n := testutil.ToFloat64(h.src.m.Records.WithLabelValues(h.names.Raw("cloudtrail"))) + testutil.ToFloat64(h.src.m.Records.WithLabelValues(h.names.Raw("falco"))); n != float64(total) {
		t.Errorf("vigil_source_records_total = %v, want %d", n, total)
	}
	if n := testutil.CollectAndCount(h.reg, "vigil_http_request_duration_seconds"); n != 2 {
		t.Errorf("%d duration histograms, want 2 (one per endpoint)", n)
	}
	if n := h.src.bytes.inUse(); n != 0 {
		t.Errorf("%d bytes still held after every request was answered", n)
	}
}

// TestDeadLetters: what cannot be delimited goes to the dead-letter topic,
// the rest to the raw topic, and the answer counts both.
func TestDeadLetters(t *testing.T) {
	c := testConfig(t)
	c.MaxRecordBytes = 100
	h := start(t, c, nil, true)
	big := `{"eventName":"` + strings.Repeat("x", 200) + `"}`
	body := "[{\"eventName\":\"ok\"}, " + big + ", {\"eventName\":\"cut"
	r := h.post("/ingest/cloudtrail", []byte(body), bearer...)
	if r.code != http.StatusOK || r.resp.Records != 1 || r.resp.DeadLetters != 2 {
		t.Fatalf("%d %s, want 200 with 1 record and 2 dead letters", r.code, r.body)
	}
	raw := streamstest.ReadCommitted(t, h.brokers, h.names.Raw("cloudtrail"))
	if len(raw) != 1 || string(raw[0].Value) != `{"eventName":"ok"}` {
		t.Errorf("raw topic: %d records", len(raw))
	}
	dlq := streamstest.ReadCommitted(t, h.brokers, h.names.DLQ())
	if len(dlq) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dlq))
	}
	for _, d := range dlq {
		if streams.Header(d, streams.HeaderError) == "" || !strings.HasPrefix(streams.Header(d, streams.HeaderOrigin), "http://cloudtrail/"+r.resp.RequestID+":[") {
			t.Errorf("dead letter without reason or origin: %v", d.Headers)
		}
	}
	if n := testutil.ToFloat64(h.src.m.Errors.WithLabelValues("framing")); n != 2 {
		t.Errorf("framing errors = %v", n)
	}
}

// TestRefusals: the answers to requests that publish nothing.
func TestRefusals(t *testing.T) {
	c := testConfig(t)
	c.MaxBodyBytes = 1000
	h := start(t, c, nil, true)
	ok := []byte(`{"a":1}`)
	basic := func(user, pw string) string {
		req, _ := http.NewRequest("POST", "/", nil)
		req.SetBasicAuth(user, pw)
		return req.Header.Get("Authorization")
	}
	chunked := func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) } // no length: chunked
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   io.Reader
		hdr    []string
		code   int
	}{
		{"no token", "POST", "/ingest/cloudtrail", bytes.NewReader(ok), nil, 401},
		{"wrong token", "POST", "/ingest/cloudtrail", bytes.NewReader(ok), []string{"Authorization", "Bearer s3cret-tokeN"}, 401},
		{"token prefix", "POST", "/ingest/cloudtrail", bytes.NewReader(ok), []string{"Authorization", "Bearer s3cret"}, 401},
		{"wrong api key", "POST", "/ingest/cloudtrail", bytes.NewReader(ok), []string{"x-api-key", "nope"}, 401},
		{"api key where no header is configured", "POST", "/ingest/falco", bytes.NewReader(ok), []string{"x-api-key", token}, 401},
		{"another endpoint's key", "POST", "/ingest/falco", bytes.NewReader(ok), []string{"Authorization", "Bearer " + apiKey}, 401},
		{"basic, right password", "POST", "/ingest/cloudtrail", bytes.NewReader(ok), []string{"Authorization", basic("eventbridge", token)}, 200},
		{"basic, wrong password", "POST", "/ingest/cloudtrail", bytes.NewReader(ok), []string{"Authorization", basic(token, "x")}, 401},
		{"api key file token as bearer", "POST", "/ingest/cloudtrail", bytes.NewReader(ok), []string{"Authorization", "Bearer " + apiKey}, 200},
		{"unknown endpoint", "POST", "/ingest/nope", bytes.NewReader(ok), bearer, 404},
		{"other path", "POST", "/ingest", bytes.NewReader(ok), bearer, 404},
		{"GET", "GET", "/ingest/cloudtrail", nil, bearer, 405},
		{"PUT", "PUT", "/ingest/cloudtrail", bytes.NewReader(ok), bearer, 405},
		{"too large", "POST", "/ingest/cloudtrail", bytes.NewReader(bytes.Repeat([]byte("{}\n"), 400)), bearer, 413},
		{"too large, chunked", "POST", "/ingest/cloudtrail", chunked(bytes.Repeat([]byte("{}\n"), 400)), bearer, 413},
		{"too large once gunzipped", "POST", "/ingest/cloudtrail", bytes.NewReader(gz(t, bytes.Repeat([]byte("{}\n"), 400))), bearer, 413},
		{"empty", "POST", "/ingest/cloudtrail", bytes.NewReader(nil), bearer, 400},
		{"blank", "POST", "/ingest/cloudtrail", bytes.NewReader([]byte(" \n\r\n")), bearer, 400},
		{"Content-Encoding gzip, not gzip", "POST", "/ingest/cloudtrail", bytes.NewReader(ok), append([]string{"Content-Encoding", "gzip"}, bearer...), 400},
		{"corrupt gzip", "POST", "/ingest/cloudtrail", bytes.NewReader(gz(t, ok)[:15]), append([]string{"Content-Encoding", "gzip"}, bearer...), 400},
		{"Content-Encoding br", "POST", "/ingest/cloudtrail", bytes.NewReader(ok), append([]string{"Content-Encoding", "br"}, bearer...), 415},
	} {
		r := h.do(tc.method, tc.path, tc.body, tc.hdr...)
		if r.code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, r.code, r.body, tc.code)
			continue
		}
		switch tc.code {
		case 401:
			if r.hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
			}
		case 405:
			if r.hdr.Get("Allow") != "POST" {
				t.Errorf("%s: Allow %q", tc.name, r.hdr.Get("Allow"))
			}
		}
		if tc.code != 200 && !bytes.Contains(r.body, []byte(`"error"`)) {
			t.Errorf("%s: body %q has no error", tc.name, r.body)
		}
	}
	raw := streamstest.ReadCommitted(t, h.brokers, h.names.Raw("cloudtrail"))
	if len(raw) != 2 {
		t.Errorf("%d records published, want the 2 of the accepted requests", len(raw))
	}
	if n := testutil.ToFloat64(h.src.requests.WithLabelValues("unknown", "404")); n != 2 {
		t.Errorf(`requests{endpoint="unknown",code="404"} = %v, want 2`, n)
	}
	if n := h.src.bytes.inUse(); n != 0 || h.src.inFlight.Load() != 0 {
		t.Errorf("%d bytes and %d requests held after every request was answered", n, h.src.inFlight.Load())
	}
}

// holdRequest starts a POST whose body does not end until the returned
// function is called with the rest; it returns once the server holds the
// request.
func (h *harness) holdRequest(first []byte) (finish func(rest []byte) reply) {
	h.t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", h.base+"/ingest/cloudtrail", pr)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res := make(chan reply, 1)
	go func() {
		resp, err := h.client.Do(req)
		if err != nil {
			res <- reply{code: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		r := reply{code: resp.StatusCode, hdr: resp.Header, body: b}
		_ = json.Unmarshal(b, &r.resp)
		res <- r
	}()
	if _, err := pw.Write(first); err != nil {
		h.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.src.inFlight.Load() == 0 {
		if time.Now().After(deadline) {
			h.t.Fatal("the held request never reached the server")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return func(rest []byte) reply {
		_, _ = pw.Write(rest)
		_ = pw.Close()
		return <-res
	}
}

// TestOverload: over max_in_flight_bytes or max_in_flight_requests a
// request is refused with 429 and Retry-After, and nothing of it is
// published; the held request still completes.
func TestOverload(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
	}{
		{"bytes", func(c *Config) { c.MaxBodyBytes, c.MaxInFlightBytes = 64<<10, 64<<10 }},
		{"requests", func(c *Config) { c.MaxInFlightRequests = 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t)
			tc.set(&c)
			h := start(t, c, nil, true)
			finish := h.holdRequest([]byte(`{"eventName":"held"}` + "\n"))
			r := h.post("/ingest/cloudtrail", []byte(`{"eventName":"refused"}`), bearer...)
			if r.code != http.StatusTooManyRequests || r.hdr.Get("Retry-After") == "" {
				t.Errorf("while a request is held: %d %s (Retry-After %q), want 429 with Retry-After", r.code, r.body, r.hdr.Get("Retry-After"))
			}
			if held := finish([]byte(`{"eventName":"held too"}`)); held.code != http.StatusOK || held.resp.Records != 2 {
				t.Errorf("held request: %d %s", held.code, held.body)
			}
			if r := h.post("/ingest/cloudtrail", []byte(`{"eventName":"retried"}`), bearer...); r.code != http.StatusOK {
				t.Errorf("retry: %d %s", r.code, r.body)
			}
			var names []string
			for _, rec := range streamstest.ReadCommitted(t, h.brokers, h.names.Raw("cloudtrail")) {
				names = append(names, string(rec.Value))
			}
			slices.Sort(names)
			want := []string{`{"eventName":"held too"}`, `{"eventName":"held"}`, `{"eventName":"retried"}`}
			if !slices.Equal(names, want) {
				t.Errorf("published %q, want %q", names, want)
			}
			if n := testutil.ToFloat64(h.src.requests.WithLabelValues("cloudtrail", "429")); n != 1 {
				t.Errorf("429s counted: %v", n)
			}
		})
	}
}

// TestKafkaUnreachable: with no broker, the server still listens, is not
// ready, and answers 503 with Retry-After.
func TestKafkaUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	c := testConfig(t)
	c.RequestTimeout = 500 * time.Millisecond
	h := start(t, c, []string{closed}, false)
	r := h.post("/ingest/cloudtrail", []byte(`{"a":1}`), bearer...)
	if r.code != http.StatusServiceUnavailable || r.hdr.Get("Retry-After") == "" {
		t.Errorf("%d %s (Retry-After %q), want 503 with Retry-After", r.code, r.body, r.hdr.Get("Retry-After"))
	}
	if h.src.Ready() {
		t.Error("ready without Kafka")
	}
}

// TestKafkaGoesAway: a broker that stops answering fails the requests in
// flight with 503 within request_timeout, and the source stops being
// ready.
func TestKafkaGoesAway(t *testing.T) {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := testConfig(t)
	c.RequestTimeout = time.Second
	h := start(t, c, []string{b.Addr()}, true)
	if r := h.post("/ingest/cloudtrail", []byte(`{"a":1}`), bearer...); r.code != http.StatusOK {
		t.Fatalf("with the broker up: %d %s", r.code, r.body)
	}
	b.Close()
	start := time.Now()
	r := h.post("/ingest/cloudtrail", []byte(`{"a":2}`), bearer...)
	if r.code != http.StatusServiceUnavailable || r.hdr.Get("Retry-After") == "" {
		t.Errorf("with the broker gone: %d %s (Retry-After %q), want 503 with Retry-After", r.code, r.body, r.hdr.Get("Retry-After"))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %s; request_timeout is 1s", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.src.Ready() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if h.src.Ready() {
		t.Error("still ready with the broker gone")
	}
}

// TestSlowAcknowledgement: a request whose body and acknowledgement each
// take most of request_timeout is answered 200: the time to read the body
// and the wait for Kafka are bounded separately.
func TestSlowAcknowledgement(t *testing.T) {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := testConfig(t)
	c.RequestTimeout = 2 * time.Second
	h := start(t, c, []string{b.Addr()}, true)
	cl := b.Cluster()
	cl.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		cl.SleepControl(func() { time.Sleep(1500 * time.Millisecond) })
		return nil, nil, false
	})
	finish := h.holdRequest([]byte(`{"eventName":"slow"}` + "\n"))
	time.Sleep(1200 * time.Millisecond)
	if r := finish([]byte(`{"eventName":"slower"}`)); r.code != http.StatusOK || r.resp.Records != 2 {
		t.Errorf("%d %s, want 200 with 2 records", r.code, r.body)
	}
}

// TestShutdownDrains: a request in flight when the source is told to stop
// is answered, and its records published, before Run returns.
func TestShutdownDrains(t *testing.T) {
	c := testConfig(t)
	h := start(t, c, nil, true)
	// Run a second source on the same broker whose context we control.
	c.Listen = "127.0.0.1:0"
	src, err := New(c, plugin.Deps{Name: "http2", Kafka: []kgo.Opt{kgo.SeedBrokers(h.brokers...)}, Topics: h.names, Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	for !src.Ready() {
		time.Sleep(5 * time.Millisecond)
	}
	h2 := *h
	h2.src, h2.base = src, "http://"+src.Addr()
	finish := h2.holdRequest([]byte(`{"eventName":"during shutdown"}` + "\n"))
	cancel()
	time.Sleep(100 * time.Millisecond) // Shutdown has begun
	r := finish([]byte(`{"eventName":"last"}`))
	if r.code != http.StatusOK || r.resp.Records != 2 {
		t.Errorf("request in flight at shutdown: %d %s", r.code, r.body)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if got := len(streamstest.ReadCommitted(t, h.brokers, h.names.Raw("cloudtrail"))); got != 2 {
		t.Errorf("%d records published, want 2", got)
	}
	if _, err := http.Post(h2.base+"/ingest/cloudtrail", "application/json", strings.NewReader("{}")); err == nil {
		t.Error("the server still accepts requests after Run returned")
	}
}

// TestTLS serves HTTPS with a certificate made here, then requires client
// certificates (mutual TLS) on an endpoint without tokens.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "vigil test CA", dir, "ca")
	newCert(t, ca, caKey, "127.0.0.1", dir, "server")
	clientCert, _ := newCert(t, ca, caKey, "falcosidekick", dir, "client")
	_ = clientCert
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	t.Run("server certificate", func(t *testing.T) {
		c := testConfig(t)
		c.TLS = TLS{CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server.key")}
		h := start(t, c, nil, true)
		h.base = "https://" + h.src.Addr()
		h.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		if r := h.post("/ingest/cloudtrail", []byte(`{"a":1}`), bearer...); r.code != http.StatusOK {
			t.Errorf("over TLS: %d %s", r.code, r.body)
		}
		if res, err := http.Post("http://"+h.src.Addr()+"/ingest/cloudtrail", "application/json", strings.NewReader("{}")); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				t.Error("plain HTTP accepted by a TLS server")
			}
		}
	})

	t.Run("client certificates", func(t *testing.T) {
		c := testConfig(t)
		c.TLS = TLS{CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server.key"), ClientCAFile: filepath.Join(dir, "ca.pem")}
		c.Endpoints["falco"] = Endpoint{} // the certificate authenticates
		h := start(t, c, nil, true)
		h.base = "https://" + h.src.Addr()
		cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key"))
		if err != nil {
			t.Fatal(err)
		}
		h.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}
		if r := h.post("/ingest/falco", falcosidekickPayload(t)); r.code != http.StatusOK {
			t.Errorf("with a client certificate: %d %s", r.code, r.body)
		}
		if r := h.post("/ingest/cloudtrail", []byte(`{"a":1}`)); r.code != http.StatusUnauthorized {
			t.Errorf("endpoint with tokens, certificate only: %d, want 401", r.code)
		}
		noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		defer noCert.CloseIdleConnections()
		if res, err := noCert.Post(h.base+"/ingest/falco", "application/json", strings.NewReader("{}")); err == nil {
			res.Body.Close()
			t.Errorf("without a client certificate: %d, want a failed handshake", res.StatusCode)
		}
	})
}

// newCert makes a certificate for name, signed by parent (self-signed, a
// CA, when parent is nil), and writes it and its key to dir/file.pem and
// dir/file.key.
func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name, dir, file string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	signer, signKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		signer, signKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestConcurrentRequests: many senders at once; every acknowledged record
// is in the raw topic exactly once.
func TestConcurrentRequests(t *testing.T) {
	h := start(t, testConfig(t), nil, true)
	const senders, perSender, perRequest = 8, 10, 50
	var mu sync.Mutex
	acked := map[string]int{}
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				var body bytes.Buffer
				for j := range perRequest {
					fmt.Fprintf(&body, `{"sender":%d,"request":%d,"n":%d,"recipientAccountId":"%d"}`+"\n", s, i, j, j%7)
				}
				req, _ := http.NewRequest("POST", h.base+"/ingest/cloudtrail", &body)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := h.client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var r Response
				_ = json.NewDecoder(res.Body).Decode(&r)
				res.Body.Close()
				if res.StatusCode != http.StatusOK || r.Records != perRequest {
					t.Errorf("sender %d request %d: %d %+v", s, i, res.StatusCode, r)
					continue
				}
				mu.Lock()
				acked[r.RequestID] = r.Records
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	perReq := map[string]int{}
	for _, r := range streamstest.ReadCommitted(t, h.brokers, h.names.Raw("cloudtrail")) {
		o := streams.Header(r, streams.HeaderOrigin)
		if seen[o] {
			t.Fatalf("record %s twice", o)
		}
		seen[o] = true
		perReq[requestID(o)]++
	}
	if len(perReq) != len(acked) {
		t.Errorf("records of %d requests, %d acknowledged", len(perReq), len(acked))
	}
	for id, n := range acked {
		if perReq[id] != n {
			t.Errorf("request %s: %d records published, %d acknowledged", id, perReq[id], n)
		}
	}
}

// requestID returns the request id in an origin header.
func requestID(origin string) string {
	rest := origin[strings.Index(origin, "://")+3:]
	rest = rest[strings.IndexByte(rest, '/')+1:]
	id, _, _ := strings.Cut(rest, ":")
	return id
}

func TestValidate(t *testing.T) {
	c := *DefaultConfig()
	if errs := c.Validate(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "endpoints") {
		t.Errorf("default config: %v, want only the missing endpoints", errs)
	}
	c = Config{
		Listen: "",
		TLS:    TLS{CertFile: "a.pem"},
		Endpoints: map[string]Endpoint{
			"Bad Name": {Tokens: []config.Secret{{Env: "X"}}},
			"falco":    {Source: "Falco!", Tokens: []config.Secret{{}, {Env: "A", File: "b"}}, APIKeyHeader: "x api key", Format: "xml"},
			"open":     {APIKeyHeader: "authorization"},
		},
		MaxBodyBytes: 100, MaxInFlightBytes: 10, MaxInFlightRequests: 0, MaxRecordBytes: 0, RequestTimeout: 0,
	}
	var msgs []string
	for _, e := range c.Validate() {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"listen", "cert_file and key_file", "endpoints: name \"Bad Name\"", "endpoints.falco.source",
		"endpoints.falco.tokens[0]", "endpoints.falco.tokens[1] sets both", "endpoints.falco.api_key_header",
		"endpoints.falco.format", "endpoints.open.tokens must list", "endpoints.open.api_key_header must not be Authorization",
		"max_in_flight_bytes (10) must be >= max_body_bytes (100)", "max_in_flight_requests (0)", "max_record_bytes (0)", "request_timeout",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem mentions %q:\n%s", want, all)
		}
	}
	if _, err := New(c, plugin.Deps{}); err == nil {
		t.Error("New accepted an invalid config")
	}
	c = *DefaultConfig()
	c.TLS.ClientCAFile = "ca.pem"
	c.Endpoints = map[string]Endpoint{"falco": {}}
	if errs := c.Validate(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "client_ca_file needs cert_file") {
		t.Errorf("client CA without a certificate: %v", errs)
	}
}

func TestContentEncoding(t *testing.T) {
	for _, tc := range []struct {
		vals     []string
		gzip, ok bool
	}{
		{nil, false, true},
		{[]string{"identity"}, false, true},
		{[]string{"GZIP"}, true, true},
		{[]string{"x-gzip"}, true, true},
		{[]string{"identity, gzip"}, true, true},
		{[]string{"gzip", "gzip"}, false, false},
		{[]string{"br"}, false, false},
		{[]string{"deflate"}, false, false},
	} {
		if g, ok := contentEncoding(tc.vals); g != tc.gzip || ok != tc.ok {
			t.Errorf("contentEncoding(%q) = %v, %v; want %v, %v", tc.vals, g, ok, tc.gzip, tc.ok)
		}
	}
}

// TestOrigin: the origins written are framing.Origin's.
func TestOrigin(t *testing.T) {
	var sl slab
	path := "http://cloudtrail/0123456789abcdef0123"
	for i := range 2000 { // several blocks
		for _, tc := range []struct {
			f  framing.Format
			fr framing.Frame
		}{
			{framing.Lines, framing.Frame{Line: i + 1, Index: -1}},
			{framing.Values, framing.Frame{Line: 3 * i, Index: -1}},
			{framing.Array, framing.Frame{Line: 1, Index: i}},
			{framing.Records, framing.Frame{Line: 1, Index: i}},
		} {
			if got, want := string(sl.origin(path, tc.f, tc.fr)), framing.Origin(path, tc.f, tc.fr); got != want {
				t.Fatalf("origin %q, framing.Origin %q", got, want)
			}
		}
	}
}
