package elasticsearch

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/vigilsec/vigil/connectors/sinks/elasticsearch/estest"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The bulk indexer's and HTTP transport's idle goroutines end a
		// little after Close.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

// settle is how long a count must hold before a test believes it:
// ZincSearch makes documents searchable a few seconds after indexing them.
const (
	settle  = 1500 * time.Millisecond
	timeout = 90 * time.Second
)

// streamOf returns the data stream (index) pattern of a dataset under the
// harness's namespace.
func (h *harness) streamOf(dataset string) string {
	return IndexName("logs-{dataset}-{namespace}", dataset, h.es.Prefix)
}

// setup installs vigil's templates for the harness's namespace.
func (h *harness) setup(c *Config) []Result {
	h.t.Helper()
	es, err := NewClient(c)
	if err != nil {
		h.t.Fatal(err)
	}
	steps, err := Plan(c)
	if err != nil {
		h.t.Fatal(err)
	}
	res, err := Install(context.Background(), es, steps)
	if err != nil {
		h.t.Fatalf("setup: %v\n%v", err, res)
	}
	// Data streams go first, then what uses a resource before it: index
	// templates, components, the ILM policy.
	var paths []string
	for _, d := range Datasets {
		paths = append(paths, "_data_stream/"+h.streamOf(d.Name))
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if strings.Contains(steps[i].Name, h.es.Prefix) {
			paths = append(paths, steps[i].Path)
		}
	}
	h.es.Cleanup(h.t, paths...)
	return res
}

// TestIndexesEveryDataset runs the sink over the normalizers' outputs for
// every dataset, alerts and remediation results: each lands in its data
// stream under its own id, can be queried by field, and a replay by a
// second sink (another consumer group) adds nothing.
func TestIndexesEveryDataset(t *testing.T) {
	es := estest.Start(t)
	h := newHarness(t, es)
	c := h.config("")
	h.setup(c)

	want := map[string]map[string]bool{} // dataset -> ids
	total := 0
	for ds, docs := range goldenEvents(t) {
		d, ok := LookupDataset(ds)
		if !ok {
			t.Fatalf("golden documents of dataset %q, which vigil has no template for", ds)
		}
		var vals [][]byte
		for _, g := range docs {
			vals = append(vals, g.doc)
		}
		h.produce(d.Topic, vals...)
		want[ds] = map[string]bool{}
		for _, v := range vals {
			want[ds][idOf(v)] = true
		}
		total += len(vals)
	}
	var alerts, results [][]byte
	want[AlertsDataset], want[RemediationDataset] = map[string]bool{}, map[string]bool{}
	for i := range 5 {
		alerts = append(alerts, sampleAlert(i))
		results = append(results, sampleResult(i))
		want[AlertsDataset][idOf(alerts[i])] = true
		want[RemediationDataset][fmt.Sprintf("%032x", i+1)] = true
	}
	h.produce("alerts", alerts...)
	h.produce("remediation.results", results...)
	total += 10

	var obs commits
	_, stop := h.run("es", c, &obs)
	waitCommitted(t, &obs, int64(total), timeout)

	check := func() {
		t.Helper()
		counts := map[string]int{}
		for ds, ids := range want {
			counts[h.streamOf(ds)] = len(ids)
		}
		found := waitAll(t, es, counts)
		for ds, ids := range want {
			got := found[h.streamOf(ds)]
			for id := range ids {
				if got[id] != 1 {
					t.Errorf("%s: document %s found %d times", ds, id, got[id])
				}
			}
			if len(got) != len(ids) {
				t.Errorf("%s: %d documents, want %d", ds, len(got), len(ids))
			}
		}
	}
	check()
	if n := h.counter("vigil_es_documents_indexed_total"); n != float64(total) {
		t.Errorf("vigil_es_documents_indexed_total = %v, want %d", n, total)
	}
	if n := h.counter("vigil_es_documents_failed_total"); n != 0 {
		t.Errorf("vigil_es_documents_failed_total = %v, want 0", n)
	}

	// A query by field finds what the normalizer said.
	logins := 0
	for _, g := range goldenEvents(t)["aws.cloudtrail"] {
		if strings.Contains(string(g.doc), `"action":"ConsoleLogin"`) {
			logins++
		}
	}
	var res struct {
		Hits struct {
			Total struct{ Value int } `json:"total"`
		} `json:"hits"`
	}
	q := map[string]any{"size": 0, "track_total_hits": true, "query": map[string]any{"term": map[string]any{"event.action": "ConsoleLogin"}}}
	if _, err := es.Do(context.Background(), http.MethodPost, h.streamOf("aws.cloudtrail")+"/_search", q, &res); err != nil {
		t.Fatal(err)
	}
	if logins == 0 || res.Hits.Total.Value != logins {
		t.Errorf("event.action:ConsoleLogin finds %d documents, want %d", res.Hits.Total.Value, logins)
	}

	// A replay of everything (another consumer group) duplicates nothing.
	stop()
	var obs2 commits
	h.run("es-replay", c, &obs2)
	waitCommitted(t, &obs2, int64(total), timeout)
	check()
	if es.Real {
		// Elasticsearch answers a create of an existing id with 409.
		if n := h.counter("vigil_es_documents_indexed_total", "app", "es-replay", "result", "existed"); n != float64(total) {
			t.Errorf("replay: %v documents reported as existing, want %d", n, total)
		}
		checkRealCluster(t, h)
	}
}

// waitAll waits for several indexes at once (WaitFor on each) and returns
// the ids found in each.
func waitAll(t *testing.T, es *estest.Server, counts map[string]int) map[string]map[string]int {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]map[string]int{}
	for pattern, n := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := es.WaitFor(t, pattern, n, settle, timeout)
			mu.Lock()
			out[pattern] = ids
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func idOf(doc []byte) string { return gjson.GetBytes(doc, "event.id").String() }

// TestRetriesThrottlingAndServerErrors: whole bulk requests refused (429,
// 503, 502) and single documents throttled (429) or failing (503) a few
// times are sent again until they are indexed, each exactly once.
func TestRetriesThrottlingAndServerErrors(t *testing.T) {
	es := estest.Start(t)
	h := newHarness(t, es)
	h.setup(h.config(""))
	proxy := newFaultProxy(t, es.URL, es.CAFile)
	c := h.config(proxy.URL())
	c.MaxItemRetries = 5

	docs := goldenEvents(t)["aws.cloudtrail"]
	var vals [][]byte
	for i := range 200 {
		vals = append(vals, withID(docs[i%len(docs)].doc, fmt.Sprintf("retry-%03d", i)))
	}
	proxy.failRequests(429, 503, 502)
	for i := 0; i < 200; i += 20 {
		proxy.failItem(fmt.Sprintf("retry-%03d", i), 429, 429, 429)
		proxy.failItem(fmt.Sprintf("retry-%03d", i+1), 503, 503)
	}
	h.produce("events.cloudtrail", vals...)

	var obs commits
	h.run("es", c, &obs)
	waitCommitted(t, &obs, 200, timeout)
	got := es.WaitFor(t, h.streamOf("aws.cloudtrail"), 200, settle, timeout)
	for i := range 200 {
		if id := fmt.Sprintf("retry-%03d", i); got[id] != 1 {
			t.Errorf("document %s found %d times", id, got[id])
		}
	}
	if n := h.counter("vigil_es_documents_retried_total", "reason", "unavailable"); n < 3 {
		t.Errorf("documents retried after refused requests = %v, want at least 3", n)
	}
	if n := h.counter("vigil_es_documents_retried_total", "reason", "throttled"); n != 30 {
		t.Errorf("documents retried after a 429 = %v, want 30", n)
	}
	if n := h.counter("vigil_es_documents_retried_total", "reason", "server_error"); n != 20 {
		t.Errorf("documents retried after a 503 = %v, want 20", n)
	}
	if n := h.counter("vigil_es_documents_failed_total"); n != 0 {
		t.Errorf("documents dead-lettered = %v, want 0", n)
	}
	if recs := streamstest.ReadCommitted(t, h.brokers, h.names.DLQ()); len(recs) != 0 {
		t.Errorf("%d dead letters, want none", len(recs))
	}
	if n := h.counter("vigil_es_bulk_requests_total", "code", "429"); n < 1 {
		t.Errorf("vigil_es_bulk_requests_total{code=429} = %v", n)
	}
}

// TestRejectedDocumentsAreDeadLettered: a document Elasticsearch rejects
// (400, a mapping conflict), one that keeps failing with 500, and records
// that are no document at all go to vigil.dlq with the reason; the rest of
// the batch is indexed and committed.
func TestRejectedDocumentsAreDeadLettered(t *testing.T) {
	es := estest.Start(t)
	h := newHarness(t, es)
	h.setup(h.config(""))
	proxy := newFaultProxy(t, es.URL, es.CAFile)
	c := h.config(proxy.URL())
	c.MaxItemRetries = 3

	docs := goldenEvents(t)["aws.vpcflow"]
	var vals [][]byte
	for i := range 50 {
		vals = append(vals, withID(docs[i%len(docs)].doc, fmt.Sprintf("dlq-%02d", i)))
	}
	proxy.failItem("dlq-07", 400)
	proxy.failItem("dlq-08", 400)
	proxy.failItem("dlq-09", 500, 500, 500, 500)
	h.produce("events.vpcflow", vals...)
	h.produce("events.vpcflow", []byte("not json"), []byte(`{"@timestamp":"2026-01-01T00:00:00Z","event":{"id":"x"}}`))

	var obs commits
	h.run("es", c, &obs)
	waitCommitted(t, &obs, 52, timeout)
	got := es.WaitFor(t, h.streamOf("aws.vpcflow"), 47, settle, timeout)
	for i := range 50 {
		id := fmt.Sprintf("dlq-%02d", i)
		want := 1
		if i >= 7 && i <= 9 {
			want = 0
		}
		if got[id] != want {
			t.Errorf("document %s found %d times, want %d", id, got[id], want)
		}
	}

	dead := map[string]*kgo.Record{}
	for _, r := range streamstest.ReadCommitted(t, h.brokers, h.names.DLQ()) {
		dead[string(r.Key)] = r
		if streams.Header(r, streams.HeaderApp) != "es" || streams.Header(r, streams.HeaderFromTopic) == "" {
			t.Errorf("dead letter without app or origin headers: %v", r.Headers)
		}
	}
	for id, want := range map[string]string{
		"dlq-07": "400 mapper_parsing_exception",
		"dlq-08": "400 mapper_parsing_exception",
		"dlq-09": "failed the document 3 times",
	} {
		r := dead[id]
		if r == nil {
			t.Errorf("%s is not on the dead-letter topic", id)
			continue
		}
		if e := streams.Header(r, streams.HeaderError); !strings.Contains(e, want) || !strings.Contains(e, "injected") {
			t.Errorf("%s: vigil-error = %q, want it to say %q and why", id, e, want)
		}
		if string(r.Value) != string(vals[idIndex(id)]) {
			t.Errorf("%s: the dead letter does not carry the original document", id)
		}
	}
	if len(dead) != 5 {
		t.Errorf("%d dead letters, want 5 (3 rejected documents, 2 records that are no document): %v", len(dead), sortedKeys(dead))
	}
	for _, k := range []string{"", "x"} {
		if r := dead[k]; r == nil || !strings.Contains(streams.Header(r, streams.HeaderError), "elasticsearch:") {
			t.Errorf("record keyed %q: not dead-lettered with the sink's reason", k)
		}
	}
	if n := h.counter("vigil_es_documents_failed_total", "reason", "rejected"); n != 2 {
		t.Errorf("vigil_es_documents_failed_total{reason=rejected} = %v, want 2", n)
	}
	if n := h.counter("vigil_es_documents_failed_total", "reason", "server_error"); n != 1 {
		t.Errorf("vigil_es_documents_failed_total{reason=server_error} = %v, want 1", n)
	}
}

func idIndex(id string) int {
	var n int
	fmt.Sscanf(id[len(id)-2:], "%d", &n)
	return n
}

// TestOutage stops the server while documents stream in and starts it
// again on the same data: the sink waits without losing anything, and
// afterwards every document is there exactly once.
func TestOutage(t *testing.T) {
	es := estest.Start(t)
	if es.Real {
		t.Skip("a real Elasticsearch cannot be stopped by the test")
	}
	h := newHarness(t, es)
	c := h.config("")
	c.BatchRecords = 200
	h.setup(c)

	docs := goldenEvents(t)["aws.cloudtrail"]
	const n = 3000
	var vals [][]byte
	for i := range n {
		vals = append(vals, withID(docs[i%len(docs)].doc, fmt.Sprintf("outage-%04d", i)))
	}
	var obs commits
	s, _ := h.run("es", c, &obs)
	h.produce("events.cloudtrail", vals[:1000]...)
	waitCommitted(t, &obs, 300, timeout)

	es.Stop()
	h.produce("events.cloudtrail", vals[1000:2000]...)
	deadline := time.Now().Add(timeout)
	for s.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the sink still says it is ready while the server is down")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stuck := obs.n.Load()
	time.Sleep(time.Second)
	if obs.n.Load() != stuck {
		t.Errorf("the sink committed %d records while the server was down", obs.n.Load()-stuck)
	}
	if stuck >= 2000 {
		t.Errorf("all %d records committed before the outage showed", stuck)
	}
	es.StartAgain()
	h.produce("events.cloudtrail", vals[2000:]...)
	waitCommitted(t, &obs, n, timeout)
	if !s.Ready() {
		t.Error("the sink is not ready again after the server came back")
	}
	got := es.WaitFor(t, h.streamOf("aws.cloudtrail"), n, settle, timeout)
	missing, twice := 0, 0
	for i := range n {
		switch got[fmt.Sprintf("outage-%04d", i)] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing > 0 || twice > 0 || len(got) != n {
		t.Errorf("after the outage: %d documents missing, %d more than once, %d in all, want %d", missing, twice, len(got), n)
	}
	if v := h.counter("vigil_es_documents_retried_total", "reason", "unavailable"); v == 0 {
		t.Error("no document was retried for the outage")
	}
	if recs := streamstest.ReadCommitted(t, h.brokers, h.names.DLQ()); len(recs) != 0 {
		t.Errorf("%d dead letters, want none", len(recs))
	}
}
