// Package httpsrc is a source that receives events pushed over HTTP and
// publishes them to vigil.raw.<source>, one record per event.
//
// One server serves any number of endpoints, each POST /ingest/<name> with
// tokens and a raw topic of its own. A body is a single JSON object, a JSON
// array of events, JSON lines, a CloudTrail log file ({"Records":[...]}) or
// concatenated JSON values, plain or gzip-compressed (Content-Encoding:
// gzip, or the gzip magic number): what falcosidekick's webhook output and
// EventBridge API destinations send, and what curl sends from a file. It is
// split into events as package framing splits files.
//
// The answer is 200 only once Kafka has acknowledged every record of the
// request, with {"records": N, "dead_letters": M, "request_id": "..."}.
// Records that cannot be delimited (a value cut off at the end of the
// body, an event over max_record_bytes) go to the dead-letter topic and
// are counted in dead_letters; a body that holds no event at all is 400.
// Every record carries provenance headers: the source, its origin
// (http://<endpoint>/<request id>:<line>, :[i] or :Records[i]) and the
// ingest time. The sender's address is not recorded.
//
// When vigil cannot keep up, requests are refused before anything of them
// is published: 429 with Retry-After when max_in_flight_bytes or
// max_in_flight_requests would be exceeded, 503 with Retry-After while
// Kafka is unreachable. A request whose records Kafka does not acknowledge
// within request_timeout is answered 503 too; some of its records may
// have been written, so the sender's retry can repeat them (delivery is at
// least once; the normalize app derives event ids from the events, so
// repeats share an id). A record of a request answered 200 is never lost.
//
// Records are produced with the default idempotent producer, not in
// transactions: there is no progress to commit with them, only the answer.
package httpsrc

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/connectors/sources/ingest"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

func init() {
	plugin.Register(plugin.Spec{
		Kind:    plugin.Source,
		Name:    "http",
		Summary: "receives events pushed over HTTP (webhooks, falcosidekick, EventBridge API destinations; JSON, NDJSON, gzip)",
		Config:  func() any { return DefaultConfig() },
		New: func(cfg any, d plugin.Deps) (plugin.Component, error) {
			return New(*cfg.(*Config), d)
		},
	})
}

// Retry-After values, in seconds: a 429 clears as soon as requests in
// flight are acknowledged; a 503 waits for Kafka to come back.
const (
	retryAfterBusy        = "1"
	retryAfterUnavailable = "5"
)

// probeInterval is how often an unreachable Kafka is pinged.
var probeInterval = time.Second

// Source is a running HTTP source.
type Source struct {
	cfg       Config
	deps      plugin.Deps
	endpoints map[string]*endpoint
	dlq       string
	log       *slog.Logger

	m        *ingest.Metrics
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	bytes    budget
	inFlight atomic.Int64 // requests being handled

	cl        *kgo.Client // set by Run before the server starts
	kafkaOK   atomic.Bool
	listening atomic.Bool
	addr      atomic.Pointer[string]
	wake      chan struct{} // asks the prober to ping Kafka now
}

// endpoint is one configured endpoint, ready to serve.
type endpoint struct {
	name, source, topic string
	format              framing.Format
	keys                []string
	apiKeyHeader        string
	cfg                 Endpoint

	// tokens are the SHA-256 digests of the endpoint's tokens, read by
	// Run; comparing digests keeps the comparison constant-time whatever
	// the lengths.
	tokens [][sha256.Size]byte
	// certOnly is set when the endpoint has no tokens and client
	// certificates authenticate.
	certOnly bool
}

// New returns an HTTP source. Tokens are read when it runs.
func New(c Config, d plugin.Deps) (*Source, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Source{
		cfg: c, deps: d, dlq: d.Topics.DLQ(), log: d.Logger,
		endpoints: map[string]*endpoint{},
		m:         ingest.NewMetrics(d.Registerer),
		bytes:     budget{max: c.MaxInFlightBytes},
		wake:      make(chan struct{}, 1),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_http_requests_total",
			Help: "Requests an HTTP source answered, by endpoint (\"unknown\" for other paths) and status code.",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_http_request_duration_seconds",
			Help:    "How long an HTTP source took to answer a request, reading its body and waiting for Kafka included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
	}
	for name, e := range c.Endpoints {
		f, _ := framing.ParseFormat(e.Format)
		src := e.Source
		if src == "" {
			src = name
		}
		keys := e.Key
		if len(keys) == 0 {
			keys = DefaultKeys[src]
		}
		s.endpoints[name] = &endpoint{
			name: name, source: src, topic: d.Topics.Raw(src), format: f, keys: keys,
			apiKeyHeader: e.APIKeyHeader, cfg: e,
			certOnly: len(e.Tokens) == 0 && c.TLS.ClientCAFile != "",
		}
	}
	if r := d.Registerer; r != nil {
		s.requests = streams.Register(r, s.requests)
		s.duration = streams.Register(r, s.duration)
		_ = r.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_http_in_flight_requests",
			Help: "Requests an HTTP source is handling.",
		}, func() float64 { return float64(s.inFlight.Load()) }))
		_ = r.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_http_in_flight_bytes",
			Help: "Bytes an HTTP source holds for requests being read and records Kafka has not acknowledged yet (bounded by max_in_flight_bytes).",
		}, func() float64 { return float64(s.bytes.inUse()) }))
	}
	return s, nil
}

// Topics implements plugin.TopicDeclarer.
func (s *Source) Topics() []topics.Spec {
	seen := map[string]bool{}
	var out []topics.Spec
	for _, e := range s.endpoints {
		if !seen[e.topic] {
			seen[e.topic] = true
			out = append(out, topics.Spec{Name: e.topic, Partitions: s.deps.Partitions})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return append(out, topics.Spec{Name: s.dlq, Partitions: s.deps.Partitions})
}

// Ready implements plugin.Readier: the server listens and Kafka is
// reachable.
func (s *Source) Ready() bool { return s.listening.Load() && s.kafkaOK.Load() }

// Addr returns the address the server listens on, or "" before it
// listens.
func (s *Source) Addr() string {
	if a := s.addr.Load(); a != nil {
		return *a
	}
	return ""
}

// Run serves until ctx is done, then stops accepting requests, waits for
// those in flight to be answered (at most request_timeout and a little
// more), and flushes what they produced.
func (s *Source) Run(ctx context.Context) error {
	if err := s.readTokens(); err != nil {
		return err
	}
	tlsCfg, err := s.tlsConfig()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(slices.Clone(s.deps.Kafka),
		kgo.WithLogger(streams.KgoLogger(s.log)),
		kgo.ProducerLinger(5*time.Millisecond),
		// A record that Kafka cannot take in time fails, so that its
		// request is answered and its bytes are freed.
		// (franz-go's least is 1s.)
		kgo.RecordDeliveryTimeout(max(s.cfg.RequestTimeout, time.Second)),
		// max_in_flight_bytes bounds what is buffered; every record is
		// charged at least recordOverhead bytes, so this many records
		// never block Produce.
		kgo.MaxBufferedRecords(int(s.cfg.MaxInFlightBytes/recordOverhead)+1000),
	)...)
	if err != nil {
		return fmt.Errorf("http source: %w", err)
	}
	defer cl.Close()
	s.cl = cl

	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("http source: %w", err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	s.addr.Store(&addr)
	s.listening.Store(true)
	names := make([]string, 0, len(s.endpoints))
	for n := range s.endpoints {
		names = append(names, n)
	}
	sort.Strings(names)
	s.log.Info("http source listening", "addr", addr, "tls", tlsCfg != nil, "endpoints", names)

	pctx, stopProbe := context.WithCancel(context.Background())
	var probing sync.WaitGroup
	probing.Add(1)
	go func() {
		defer probing.Done()
		s.probe(pctx)
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	s.listening.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout+10*time.Second)
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Warn("http source: requests still in flight at shutdown; closing their connections", "err", err)
		_ = srv.Close()
	}
	cancel()
	stopProbe()
	probing.Wait()
	// Every request has been answered: what is still buffered belongs to
	// requests answered 503 or whose senders went away, which will send
	// it again. It is flushed if Kafka is there, without waiting long.
	if s.kafkaOK.Load() {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = cl.Flush(fctx)
		cancel()
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("http source: %w", serveErr)
	}
	return nil
}

// readTokens reads every endpoint's tokens.
func (s *Source) readTokens() error {
	var errs []error
	for _, e := range s.endpoints {
		e.tokens = e.tokens[:0]
		for i, t := range e.cfg.Tokens {
			v, err := t.Value()
			if err != nil {
				errs = append(errs, fmt.Errorf("http source: endpoints.%s.tokens[%d] (%s): %w", e.name, i, t, err))
				continue
			}
			e.tokens = append(e.tokens, sha256.Sum256([]byte(v)))
		}
	}
	return errors.Join(errs...)
}

// tlsConfig returns the server's TLS configuration, or nil for plain HTTP.
func (s *Source) tlsConfig() (*tls.Config, error) {
	t := s.cfg.TLS
	if t.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("http source: tls: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("http source: tls: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("http source: tls: no certificate in client_ca_file %s", t.ClientCAFile)
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// probe pings Kafka while it is not known to be reachable: at start, and
// after a produce failed.
func (s *Source) probe(ctx context.Context) {
	warned := false
	for {
		if !s.kafkaOK.Load() {
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := s.cl.Ping(pctx)
			cancel()
			switch {
			case err == nil:
				s.kafkaOK.Store(true)
				if warned {
					s.log.Info("http source: Kafka is reachable again")
				}
				warned = false
			case ctx.Err() == nil && !warned:
				warned = true
				s.log.Warn("http source: Kafka is unreachable; answering 503 until it is back", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-time.After(probeInterval):
		}
	}
}

// kafkaFailed notes a failed produce: requests are refused with 503 until
// a ping succeeds.
func (s *Source) kafkaFailed() {
	s.kafkaOK.Store(false)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// budget bounds bytes held over all requests.
type budget struct {
	mu        sync.Mutex
	max, used int64
}

func (b *budget) tryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
