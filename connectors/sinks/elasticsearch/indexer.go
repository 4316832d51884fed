package elasticsearch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
)

// ErrNotIndexed is returned by Flush when it gives up on a batch because
// the sink is stopping before Elasticsearch took every document. The
// batch's offsets are not committed, so the documents are indexed after
// the restart.
var ErrNotIndexed = errors.New("elasticsearch: documents not indexed")

// maxIDBytes is Elasticsearch's limit on a document id; longer ids are
// replaced by their hash.
const maxIDBytes = 512

// Indexer is the sink's processor. Process hands each record to a bulk
// indexer as a create operation; Flush, called by the stream runtime after
// each batch and before its offsets commit, waits until Elasticsearch has
// acknowledged every document of the batch, retrying what it may and
// dead-lettering what it rejects.
//
// Process is called concurrently for different partitions; Flush is called
// once no Process call is running.
type Indexer struct {
	cfg      *Config
	app      string
	dlq      string
	remedTop string
	kafka    []kgo.Opt
	log      *slog.Logger
	m        *metrics

	es       *elasticsearch.Client
	bi       esutil.BulkIndexer
	producer *kgo.Client
	// produce sends dead letters and waits for them; a test may replace
	// it.
	produce func(ctx context.Context, recs []*kgo.Record) error

	mu      sync.Mutex
	pending []*item // the batch's documents, in arrival order

	indexes sync.Map // dataset -> data stream name

	up        atomic.Bool
	downSince time.Time // set by Flush while Elasticsearch fails
}

// item is one document of a batch. The bulk indexer's callbacks set the
// outcome fields from its worker goroutines; Flush reads them after the
// bulk indexer's Flush returns, which orders the two.
type item struct {
	rec     *kgo.Record
	index   string
	id      string
	dataset string
	body    []byte
	fails   int // server errors (5xx) of this document alone

	done    bool
	status  int
	errType string
	reason  string
	err     error // the whole request failed
}

// NewIndexer returns the processor of a sink. It does no I/O; Start
// connects.
func NewIndexer(c *Config, d plugin.Deps) (*Indexer, error) {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := d.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	ix := &Indexer{
		cfg:      c,
		app:      d.Name,
		dlq:      d.Topics.DLQ(),
		remedTop: d.Topics.RemediationResults(),
		kafka:    d.Kafka,
		log:      log,
		m:        newMetrics(reg),
	}
	ix.up.Store(true)
	return ix, nil
}

// Start connects the indexer: the Elasticsearch client, the bulk indexer
// and the producer of dead letters.
func (ix *Indexer) Start() error {
	es, err := newClient(ix.cfg, ix.m.instrument)
	if err != nil {
		return err
	}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:     es,
		NumWorkers: ix.cfg.Workers,
		FlushBytes: ix.cfg.FlushBytes,
		// Batches end with an explicit flush; the timer only sends what
		// a long batch has gathered.
		FlushInterval: time.Second,
		Decoder:       bulkDecoder{},
		OnError: func(_ context.Context, err error) {
			ix.log.Debug("bulk request failed", "err", err)
		},
	})
	if err != nil {
		return fmt.Errorf("elasticsearch: %w", err)
	}
	ix.es, ix.bi = es, bi
	if ix.produce == nil {
		opts := append(slices.Clone(ix.kafka), kgo.WithLogger(streams.KgoLogger(ix.log)))
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return fmt.Errorf("elasticsearch: dead-letter producer: %w", err)
		}
		ix.producer = cl
		ix.produce = func(ctx context.Context, recs []*kgo.Record) error {
			return cl.ProduceSync(ctx, recs...).FirstErr()
		}
	}
	return nil
}

// Close flushes what is left and closes the connections.
func (ix *Indexer) Close() {
	if ix.bi != nil {
		ctx, cancel := context.WithTimeout(context.Background(), ix.cfg.RequestTimeout)
		_ = ix.bi.Close(ctx)
		cancel()
	}
	if ix.producer != nil {
		ix.producer.Close()
	}
}

// Up reports whether Elasticsearch took the last documents sent.
func (ix *Indexer) Up() bool { return ix.up.Load() }

// Process implements streams.Processor. A record that cannot become a
// document (not a JSON object, no dataset) is returned as an error and
// dead-lettered by the runtime.
func (ix *Indexer) Process(_ *streams.Context, r *kgo.Record) error {
	it, err := ix.route(r)
	if err != nil {
		ix.m.failed.WithLabelValues("unknown", "invalid").Inc()
		return err
	}
	if err := ix.add(it); err != nil {
		return streams.Retryable(err)
	}
	ix.mu.Lock()
	ix.pending = append(ix.pending, it)
	ix.mu.Unlock()
	return nil
}

// route works out where a record goes: its data stream and its id.
func (ix *Indexer) route(r *kgo.Record) (*item, error) {
	body := r.Value
	i := 0
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n') {
		i++
	}
	if i == len(body) || body[i] != '{' || !gjson.ValidBytes(body) {
		return nil, errors.New("elasticsearch: the record is not a JSON object")
	}
	if bytes.IndexByte(body, '\n') >= 0 {
		// The bulk API takes one document per line.
		var b bytes.Buffer
		if err := json.Compact(&b, body); err != nil {
			return nil, fmt.Errorf("elasticsearch: %w", err)
		}
		body = b.Bytes()
	}
	var dataset, id string
	var ts gjson.Result
	if r.Topic == ix.remedTop {
		res := gjson.GetManyBytes(body, "request_id", "@timestamp")
		dataset, id, ts = RemediationDataset, res[0].String(), res[1]
	} else {
		res := gjson.GetManyBytes(body, "event.dataset", "event.id", "@timestamp")
		dataset, id, ts = res[0].String(), res[1].String(), res[2]
	}
	switch {
	case dataset == "":
		return nil, errors.New("elasticsearch: the document has no event.dataset to choose its data stream by")
	case !datasetRE.MatchString(dataset):
		return nil, fmt.Errorf("elasticsearch: event.dataset %q cannot name a data stream (1 to 100 of a-z, 0-9, '_' and '.')", dataset)
	case !ts.Exists():
		return nil, errors.New("elasticsearch: the document has no @timestamp, which data streams require")
	}
	if id == "" || len(id) > maxIDBytes {
		// No id of its own (or one too long for Elasticsearch): one
		// derived from the content is as stable across replays.
		src := body
		if id != "" {
			src = []byte(id)
		}
		sum := sha256.Sum256(src)
		id = hex.EncodeToString(sum[:16])
	}
	return &item{rec: r, index: ix.indexFor(dataset), id: id, dataset: dataset, body: body}, nil
}

func (ix *Indexer) indexFor(dataset string) string {
	if v, ok := ix.indexes.Load(dataset); ok {
		return v.(string)
	}
	name := IndexName(ix.cfg.Index, dataset, ix.cfg.Namespace)
	ix.indexes.Store(dataset, name)
	return name
}

// add hands a document to the bulk indexer.
func (ix *Indexer) add(it *item) error {
	it.done, it.status, it.errType, it.reason, it.err = false, 0, "", "", nil
	return ix.bi.Add(context.Background(), esutil.BulkIndexerItem{
		Index:      it.index,
		Action:     "create", // data streams take only creates
		DocumentID: it.id,
		Body:       bytes.NewReader(it.body),
		OnSuccess: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem) {
			it.done, it.status = true, res.Status
		},
		OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
			it.done, it.status, it.err = true, res.Status, err
			it.errType, it.reason = res.Error.Type, res.Error.Reason
			if res.Error.Cause.Type != "" {
				it.reason += " (caused by " + res.Error.Cause.Type + ": " + res.Error.Cause.Reason + ")"
			}
		},
	})
}

// verdict is what becomes of a document after a bulk round.
type verdict int

const (
	indexed  verdict = iota // acknowledged
	existed                 // 409: indexed before, by an earlier attempt or a replay
	retry                   // send again
	rejected                // dead-letter it
)

// judge sorts one document's outcome, and tells why when it is retried.
func (ix *Indexer) judge(it *item) (v verdict, why string) {
	switch {
	case !it.done:
		// The response did not mention it: a server that stopped
		// part-way. Not its fault.
		return retry, "no_result"
	case it.err != nil:
		return retry, "unavailable"
	case it.status == http.StatusConflict:
		return existed, ""
	case it.status >= 200 && it.status < 300:
		return indexed, ""
	case it.status == http.StatusTooManyRequests:
		return retry, "throttled"
	case it.status >= 500 || it.status == 0:
		it.fails++
		if it.fails >= ix.cfg.MaxItemRetries {
			return rejected, ""
		}
		return retry, "server_error"
	}
	return rejected, ""
}

// Flush implements streams.Flusher: it returns once Elasticsearch has
// acknowledged or rejected every document of the batch, and the rejected
// ones are on the dead-letter topic. While Elasticsearch fails it keeps
// retrying, and the runtime polls nothing more: the sink's partitions are
// paused until it is back. It gives up only when ctx ends (the app is
// stopping), and then the batch is not committed.
func (ix *Indexer) Flush(ctx context.Context) error {
	ix.mu.Lock()
	open := ix.pending
	ix.pending = nil
	ix.mu.Unlock()
	if len(open) == 0 {
		return nil
	}
	var dead []*kgo.Record
	wait := ix.cfg.RetryBackoff
	for round := 0; ; round++ {
		// The bulk indexer's own flush waits for the requests in flight;
		// they are bounded by the request timeout, so a stop is not held
		// up for long.
		if err := ix.bi.Flush(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("elasticsearch: %w", err)
		}
		var again []*item
		var unavailable error
		reasons := map[string]int{}
		for _, it := range open {
			v, why := ix.judge(it)
			switch v {
			case indexed:
				ix.m.indexed.WithLabelValues(it.dataset, "created").Inc()
			case existed:
				ix.m.indexed.WithLabelValues(it.dataset, "existed").Inc()
			case retry:
				again = append(again, it)
				reasons[why]++
				if it.err != nil && unavailable == nil {
					unavailable = it.err
				}
			case rejected:
				dead = append(dead, ix.deadLetter(it))
			}
		}
		if len(again) == 0 {
			ix.recovered()
			break
		}
		// A failing cluster, or documents throttled round after round:
		// say so, and report not ready until the batch goes through.
		if unavailable != nil || reasons["no_result"] > 0 || round >= 3 {
			ix.unavailable(unavailable, len(again))
		} else {
			ix.log.Debug("retrying documents", "documents", len(again), "reasons", reasons, "backoff", wait)
		}
		for why, n := range reasons {
			ix.m.retried.WithLabelValues(why).Add(float64(n))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %d of the batch still waiting after a stop was asked: %w", ErrNotIndexed, len(again), ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, ix.cfg.MaxRetryBackoff)
		for _, it := range again {
			if err := ix.add(it); err != nil {
				return fmt.Errorf("elasticsearch: %w", err)
			}
		}
		open = again
	}
	if len(dead) > 0 {
		if err := ix.produce(context.WithoutCancel(ctx), dead); err != nil {
			return fmt.Errorf("elasticsearch: dead letters: %w", err)
		}
	}
	return nil
}

// deadLetter builds the dead letter of a document Elasticsearch rejected,
// and counts and logs it.
func (ix *Indexer) deadLetter(it *item) *kgo.Record {
	kind := "rejected"
	if it.status >= 500 || it.status == 0 {
		kind = "server_error"
	}
	reason := fmt.Errorf("elasticsearch rejected the document (index %s, id %s): %d %s: %s", it.index, it.id, it.status, it.errType, it.reason)
	if kind == "server_error" {
		reason = fmt.Errorf("elasticsearch failed the document %d times (index %s, id %s): %d %s: %s", it.fails, it.index, it.id, it.status, it.errType, it.reason)
	}
	ix.m.failed.WithLabelValues(it.dataset, kind).Inc()
	ix.log.Warn("document sent to the dead-letter topic", "origin", streams.Origin(it.rec), "index", it.index, "id", it.id, "status", it.status, "err", reason)
	return streams.DeadLetter(ix.dlq, ix.app, it.rec, reason)
}

// unavailable notes that Elasticsearch is not taking documents.
func (ix *Indexer) unavailable(err error, n int) {
	if ix.downSince.IsZero() {
		ix.downSince = time.Now()
		ix.up.Store(false)
		ix.m.up.Set(0)
		msg := "documents without a result, or refused round after round"
		if err != nil {
			msg = err.Error()
		}
		ix.log.Warn("Elasticsearch is not taking documents; holding the batch and reading nothing more until it does",
			"documents", n, "err", msg)
	}
}

// recovered notes that a batch went through.
func (ix *Indexer) recovered() {
	if !ix.downSince.IsZero() {
		ix.log.Info("Elasticsearch takes documents again; resuming", "after", time.Since(ix.downSince).Round(time.Millisecond))
		ix.downSince = time.Time{}
	}
	ix.up.Store(true)
	ix.m.up.Set(1)
}

// bulkDecoder reads bulk responses. Besides Elasticsearch's, it
// understands servers that stop at the first document they cannot index
// and report it in a top-level "error", listing the documents up to and
// including that one as if they had succeeded (ZincSearch does): the last
// item listed is then marked failed with that error, and the documents
// after it, which have no result, are sent again.
type bulkDecoder struct{}

func (bulkDecoder) UnmarshalFromReader(r io.Reader, blk *esutil.BulkIndexerResponse) error {
	var raw struct {
		Took   int                                         `json:"took"`
		Errors bool                                        `json:"errors"`
		Items  []map[string]esutil.BulkIndexerResponseItem `json:"items"`
		Error  json.RawMessage                             `json:"error"`
	}
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return err
	}
	blk.Took, blk.HasErrors, blk.Items = raw.Took, raw.Errors, raw.Items
	msg := bytes.TrimSpace(raw.Error)
	if len(msg) == 0 || string(msg) == "null" || string(msg) == `""` || string(msg) == "{}" {
		return nil
	}
	var s string
	if json.Unmarshal(msg, &s) != nil {
		s = string(msg)
	}
	var failed esutil.BulkIndexerResponseItem
	failed.Status = http.StatusInternalServerError
	failed.Error.Type = "bulk_error"
	failed.Error.Reason = s
	if n := len(blk.Items); n > 0 {
		for op, v := range blk.Items[n-1] {
			failed.Index, failed.DocumentID = v.Index, v.DocumentID
			blk.Items[n-1] = map[string]esutil.BulkIndexerResponseItem{op: failed}
		}
	} else {
		blk.Items = append(blk.Items, map[string]esutil.BulkIndexerResponseItem{"create": failed})
	}
	blk.HasErrors = true
	return nil
}

// metrics are the sink's own, besides the stream runtime's.
type metrics struct {
	indexed   *prometheus.CounterVec
	failed    *prometheus.CounterVec
	retried   *prometheus.CounterVec
	requests  *prometheus.CounterVec
	bulkTime  prometheus.Histogram
	bulkBytes prometheus.Counter
	up        prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		indexed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_es_documents_indexed_total",
			Help: "Documents Elasticsearch acknowledged, by dataset; result is created, or existed for a 409 conflict (indexed before: a replay).",
		}, []string{"dataset", "result"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_es_documents_failed_total",
			Help: "Documents sent to the dead-letter topic, by dataset and reason: rejected (4xx, such as a mapping conflict), server_error (5xx max_item_retries times), invalid (not a document).",
		}, []string{"dataset", "reason"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_es_documents_retried_total",
			Help: "Documents sent again, by reason: unavailable (the request failed), throttled (429), server_error (5xx), no_result.",
		}, []string{"reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_es_bulk_requests_total",
			Help: "Bulk requests, by HTTP status code (error when there was no response).",
		}, []string{"code"}),
		bulkTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vigil_es_bulk_duration_seconds",
			Help:    "Latency of bulk requests.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 13),
		}),
		bulkBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_es_bulk_bytes_total",
			Help: "Bytes of bulk request bodies sent.",
		}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_es_up",
			Help: "1 when Elasticsearch took the last documents sent, 0 while the sink waits for it.",
		}),
	}
	m.indexed = streams.Register(reg, m.indexed)
	m.failed = streams.Register(reg, m.failed)
	m.retried = streams.Register(reg, m.retried)
	m.requests = streams.Register(reg, m.requests)
	m.bulkTime = streams.Register(reg, m.bulkTime)
	m.bulkBytes = streams.Register(reg, m.bulkBytes)
	m.up = streams.Register(reg, m.up)
	m.up.Set(1)
	return m
}

// instrument wraps the HTTP transport to time bulk requests.
func (m *metrics) instrument(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		bulk := len(req.URL.Path) >= 6 && req.URL.Path[len(req.URL.Path)-6:] == "/_bulk"
		start := time.Now()
		res, err := next.RoundTrip(req)
		if bulk {
			m.bulkTime.Observe(time.Since(start).Seconds())
			code := "error"
			if err == nil {
				code = strconv.Itoa(res.StatusCode)
			}
			m.requests.WithLabelValues(code).Inc()
			if req.ContentLength > 0 {
				m.bulkBytes.Add(float64(req.ContentLength))
			}
		}
		return res, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
