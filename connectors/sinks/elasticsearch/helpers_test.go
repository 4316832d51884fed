package elasticsearch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/connectors/sinks/elasticsearch/estest"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

// golden is one normalizer output of the golden files.
type golden struct {
	origin string
	doc    []byte
}

var (
	goldenOnce sync.Once
	goldenDocs map[string][]golden // dataset -> unique documents
)

// goldenEvents returns the documents the normalizers produce for the
// samples of correlators/normalize/*/testdata, by dataset, one per event id.
func goldenEvents(t testing.TB) map[string][]golden {
	t.Helper()
	goldenOnce.Do(func() {
		goldenDocs = map[string][]golden{}
		files, _ := filepath.Glob("../../../correlators/normalize/*/testdata/golden/*.golden.jsonl")
		seen := map[string]bool{}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(bytes.NewReader(b))
			sc.Buffer(nil, 16<<20)
			for sc.Scan() {
				ev := gjson.GetBytes(sc.Bytes(), "event")
				if !ev.IsObject() {
					continue
				}
				id := ev.Get("event.id").String()
				ds := ev.Get("event.dataset").String()
				if seen[ds+"/"+id] {
					continue
				}
				seen[ds+"/"+id] = true
				goldenDocs[ds] = append(goldenDocs[ds], golden{
					origin: filepath.Base(f) + ":" + gjson.GetBytes(sc.Bytes(), "origin").String(),
					doc:    []byte(ev.Raw),
				})
			}
		}
	})
	if len(goldenDocs) == 0 {
		t.Fatal("no golden normalizer outputs found under correlators/normalize/*/testdata/golden")
	}
	return goldenDocs
}

// sampleAlert is an alert as the detect app writes it.
func sampleAlert(i int) []byte {
	ts := time.Date(2026, 11, 2, 9, 12, 41, 0, time.UTC).Add(time.Duration(i) * time.Second)
	a := ecs.Alert{
		Timestamp: ts,
		Message:   "AWS Root Credentials",
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event: ecs.EventMeta{ID: ecs.AlertID("rule-1", fmt.Sprint(i), ""), Kind: "alert", Dataset: AlertsDataset,
			Severity: ecs.Severity("medium"), Category: []string{"authentication"}},
		Rule:   ecs.Rule{ID: "rule-1", Name: "AWS Root Credentials"},
		Source: &ecs.Endpoint{IP: "203.0.113.77"},
		Vigil: ecs.AlertInfo{Level: "medium", Kind: "detection", Count: 1,
			Group:    map[string]string{"userIdentity.arn": "arn:aws:iam::111122223333:root"},
			Evidence: []ecs.EventRef{{ID: "e1", Dataset: "aws.cloudtrail"}}},
	}
	b, _ := json.Marshal(a)
	return b
}

// sampleResult is a remediation result.
func sampleResult(i int) []byte {
	return fmt.Appendf(nil, `{"request_id":"%032x","@timestamp":"2026-11-02T09:30:0%dZ","action":"disable-access-key","status":"succeeded","executor":"executor-0","message":"key disabled","changes":[{"description":"AKIA... now Inactive","before":"Active","after":"Inactive"}]}`, i+1, i%10)
}

// withID returns doc with event.id replaced.
func withID(doc []byte, id string) []byte {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		panic(err)
	}
	m["event"].(map[string]any)["id"] = id
	out, _ := json.Marshal(m)
	return out
}

// harness runs sinks against a Kafka broker and an Elasticsearch API
// server.
type harness struct {
	t       *testing.T
	brokers []string
	names   topics.Names
	es      *estest.Server
	reg     *prometheus.Registry
}

func newHarness(t *testing.T, es *estest.Server) *harness {
	h := &harness{t: t, brokers: streamstest.Brokers(t), names: topics.Names{Prefix: streamstest.Prefix(t)}, es: es, reg: prometheus.NewRegistry()}
	var names []string
	for _, d := range Datasets {
		n, _ := h.names.Resolve(d.Topic)
		names = append(names, n)
	}
	streamstest.CreateTopics(t, h.brokers, 3, append(names, h.names.DLQ())...)
	return h
}

// config returns a sink config for the harness's server at url (the
// server's own unless a proxy's is given).
func (h *harness) config(url string) *Config {
	c := DefaultConfig()
	if url == "" {
		url = h.es.URL
	}
	c.URLs = []string{url}
	c.Namespace = h.es.Prefix
	c.RetryBackoff = 50 * time.Millisecond
	c.MaxRetryBackoff = 500 * time.Millisecond
	c.RequestTimeout = 10 * time.Second
	c.Username = h.es.Username
	if h.es.Password != "" {
		env := "VIGIL_TEST_ES_PASSWORD_" + strings.ToUpper(h.es.Prefix)
		h.t.Setenv(env, h.es.Password)
		c.Password = config.Secret{Env: env}
	}
	if h.es.APIKey != "" {
		env := "VIGIL_TEST_ES_APIKEY_" + strings.ToUpper(h.es.Prefix)
		h.t.Setenv(env, h.es.APIKey)
		c.APIKey, c.Username, c.Password = config.Secret{Env: env}, "", config.Secret{}
	}
	c.TLS.CAFile = h.es.CAFile
	if errs := c.Validate(); len(errs) > 0 {
		h.t.Fatalf("config: %v", errs)
	}
	return c
}

// run starts a sink named name (its consumer group) and returns a function
// that stops it and waits.
func (h *harness) run(name string, c *Config, obs streams.Observer) (*Sink, func()) {
	h.t.Helper()
	d := plugin.Deps{
		Name:       name,
		Kafka:      []kgo.Opt{kgo.SeedBrokers(h.brokers...)},
		Topics:     h.names,
		Partitions: 3,
		Logger:     slog.New(slog.NewTextHandler(h.t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})).With("sink", name),
		Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"app": name}, h.reg),
		Observer:   obs,
	}
	s, err := New(c, d)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("sink %s: %v", name, err)
			}
		})
	}
	h.t.Cleanup(stop)
	return s, stop
}

// produce writes documents to a logical topic, keyed by their id.
func (h *harness) produce(topic string, docs ...[]byte) {
	h.t.Helper()
	name, err := h.names.Resolve(topic)
	if err != nil {
		h.t.Fatal(err)
	}
	recs := make([]*kgo.Record, len(docs))
	for i, d := range docs {
		recs[i] = &kgo.Record{Topic: name, Key: []byte(gjson.GetBytes(d, "event.id").String()), Value: d,
			Headers: []kgo.RecordHeader{{Key: streams.HeaderOrigin, Value: fmt.Appendf(nil, "test:%d", i)}}}
	}
	streamstest.Produce(h.t, h.brokers, recs...)
}

// counter sums a counter of the harness's registry over the label values
// given (name=value pairs; the rest summed).
func (h *harness) counter(name string, labels ...string) float64 {
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			if c := m.GetCounter(); c != nil {
				sum += c.GetValue()
			} else if g := m.GetGauge(); g != nil {
				sum += g.GetValue()
			}
		}
	}
	return sum
}

// commits counts the records an app has committed.
type commits struct{ n atomic.Int64 }

func (c *commits) Committed(_ string, consumed, _ map[string]int64) {
	for _, n := range consumed {
		c.n.Add(n)
	}
}

// waitCommitted waits until n records are committed.
func waitCommitted(t testing.TB, c *commits, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for c.n.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records committed after %s", c.n.Load(), n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// faultProxy stands between the sink and the server and breaks bulk
// requests on purpose: whole requests answered with an error status, and
// single documents answered with an item status of their own (without
// reaching the server).
type faultProxy struct {
	target string // the server's scheme and host
	prefix string // the path of its API
	srv    *httptest.Server
	client *http.Client

	mu       sync.Mutex
	requests []int            // statuses for the next bulk requests, in order
	items    map[string][]int // by document id: statuses for its next attempts
	bulks    int              // bulk requests seen
	sent     map[string]int   // documents forwarded, by id
}

func newFaultProxy(t testing.TB, api, caFile string) *faultProxy {
	u, err := url.Parse(api)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{target: u.Scheme + "://" + u.Host, prefix: strings.TrimSuffix(u.Path, "/"), items: map[string][]int{}, sent: map[string]int{}, client: http.DefaultClient}
	if caFile != "" {
		tc, err := TLSConfig(TLS{CAFile: caFile})
		if err != nil {
			t.Fatal(err)
		}
		p.client = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the API's URL through the proxy.
func (p *faultProxy) URL() string { return p.srv.URL + p.prefix }

func (p *faultProxy) failRequests(statuses ...int) {
	p.mu.Lock()
	p.requests = append(p.requests, statuses...)
	p.mu.Unlock()
}

func (p *faultProxy) failItem(id string, statuses ...int) {
	p.mu.Lock()
	p.items[id] = append(p.items[id], statuses...)
	p.mu.Unlock()
}

func (p *faultProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !strings.HasSuffix(r.URL.Path, "/_bulk") {
		p.forward(w, r, body)
		return
	}
	p.mu.Lock()
	p.bulks++
	if len(p.requests) > 0 {
		st := p.requests[0]
		p.requests = p.requests[1:]
		p.mu.Unlock()
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st)
		fmt.Fprintf(w, `{"error":{"type":"injected","reason":"injected by the test proxy"},"status":%d}`, st)
		return
	}
	// Split the request into action and document lines; keep the pairs
	// that are let through.
	lines := bytes.Split(bytes.TrimRight(body, "\n"), []byte("\n"))
	type slot struct {
		synthetic map[string]any
	}
	var slots []slot
	var kept bytes.Buffer
	for i := 0; i+1 < len(lines); i += 2 {
		id := gjson.GetBytes(lines[i], "*._id").String()
		if st := p.items[id]; len(st) > 0 {
			p.items[id] = st[1:]
			typ := "mapper_parsing_exception"
			switch {
			case st[0] == 429:
				typ = "es_rejected_execution_exception"
			case st[0] >= 500:
				typ = "internal_server_error"
			}
			slots = append(slots, slot{synthetic: map[string]any{"create": map[string]any{
				"_id": id, "status": st[0],
				"error": map[string]any{"type": typ, "reason": "injected by the test proxy", "caused_by": map[string]any{"type": "illegal_argument_exception", "reason": "injected"}},
			}}})
			continue
		}
		p.sent[id]++
		slots = append(slots, slot{})
		kept.Write(lines[i])
		kept.WriteByte('\n')
		kept.Write(lines[i+1])
		kept.WriteByte('\n')
	}
	p.mu.Unlock()
	var upstream struct {
		Items []json.RawMessage `json:"items"`
	}
	if kept.Len() > 0 {
		res, b, err := p.send(r, kept.Bytes())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if res.StatusCode != http.StatusOK {
			w.WriteHeader(res.StatusCode)
			_, _ = w.Write(b)
			return
		}
		_ = json.Unmarshal(b, &upstream)
	}
	var items []any
	n := 0
	errors := false
	for _, s := range slots {
		if s.synthetic != nil {
			items = append(items, s.synthetic)
			errors = true
			continue
		}
		if n < len(upstream.Items) {
			items = append(items, upstream.Items[n])
		}
		n++
	}
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"took": 1, "errors": errors, "items": items})
}

func (p *faultProxy) send(r *http.Request, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.Path+queryOf(r), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header = r.Header.Clone()
	req.Header.Del("Content-Length")
	req.Header.Del("Content-Encoding")
	res, err := p.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

func (p *faultProxy) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	res, b, err := p.send(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(b)
}

func queryOf(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
