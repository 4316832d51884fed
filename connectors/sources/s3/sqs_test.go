package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sources/ingest"
)

// A fixture is a recorded exchange sequence with an AWS API: the requests
// a test expects, in order, and the responses to play back. See
// testdata/sqs/README.md.
type fixture struct {
	// Repeatable lists operations whose requests may repeat an exchange
	// already played, with the same parameters, at any time: they get its
	// response again. For requests whose number depends on timing, such
	// as the visibility extensions of a slow test.
	Repeatable []string   `yaml:"repeatable"`
	Exchanges  []exchange `yaml:"exchanges"`
}

type exchange struct {
	Request struct {
		// Operation is the X-Amz-Target of a JSON-protocol request
		// (AmazonSQS.ReceiveMessage) or the Action of a Query-protocol one
		// (AssumeRole).
		Operation string `yaml:"operation"`
		// Params must be in the request with these values: members of the
		// JSON body, or form values.
		Params map[string]any `yaml:"params"`
		// Absent lists parameters the request must not have.
		Absent []string `yaml:"absent"`
		// Headers maps a header to substrings its value must contain.
		Headers map[string][]string `yaml:"headers"`
	} `yaml:"request"`
	Response struct {
		Status  int               `yaml:"status"`
		Headers map[string]string `yaml:"headers"`
		Body    string            `yaml:"body"`
	} `yaml:"response"`
}

// replay is an AWS API server that plays a fixture back and checks what
// it is sent. After the last exchange it answers ReceiveMessage as an
// empty queue does (holding the long poll until the client gives up or the
// test ends) and fails the test on any other request.
type replay struct {
	t    testing.TB
	name string
	fx   fixture
	srv  *httptest.Server

	// onExchange, if set, is called with an exchange's index before its
	// response is sent.
	onExchange func(i int)

	mu       sync.Mutex
	next     int           // index of the next exchange
	served   chan struct{} // closed and replaced after each exchange
	idle     chan struct{} // closed when a long poll follows the last exchange
	idleOnce sync.Once
	ended    chan struct{} // closed when the test ends
}

// startReplay serves testdata/<file>, with {{endpoint}} replaced by the
// server's URL.
func startReplay(t testing.TB, file string) *replay {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	r := &replay{t: t, name: file, served: make(chan struct{}), idle: make(chan struct{}), ended: make(chan struct{})}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Start()
	raw = bytes.ReplaceAll(raw, []byte("{{endpoint}}"), []byte(r.srv.URL))
	if err := yaml.UnmarshalWithOptions(raw, &r.fx, yaml.DisallowUnknownField()); err != nil {
		r.srv.Close()
		t.Fatalf("%s: %v", file, err)
	}
	t.Cleanup(func() {
		close(r.ended)
		r.srv.Close()
	})
	return r
}

// URL is the server's URL.
func (r *replay) URL() string { return r.srv.URL }

// Served returns how many exchanges were played.
func (r *replay) Served() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next
}

// reached returns a channel closed once n exchanges were played (or the
// test ended).
func (r *replay) reached(n int) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for {
			r.mu.Lock()
			got, served := r.next, r.served
			r.mu.Unlock()
			if got >= n {
				return
			}
			select {
			case <-served:
			case <-r.ended:
				return
			}
		}
	}()
	return ch
}

// checkAllServed fails the test unless every exchange was played.
func (r *replay) checkAllServed() {
	r.t.Helper()
	if got := r.Served(); got != len(r.fx.Exchanges) {
		r.t.Errorf("%s: %d of %d exchanges played", r.name, got, len(r.fx.Exchanges))
	}
}

func (r *replay) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	op, params, err := requestParams(req, body)
	if err != nil {
		r.t.Errorf("%s: bad request: %v", r.name, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	i := r.next
	if j := r.repeated(req, op, params); j >= 0 {
		r.mu.Unlock()
		r.respond(w, r.fx.Exchanges[j])
		return
	}
	if i >= len(r.fx.Exchanges) {
		r.mu.Unlock()
		if op == "AmazonSQS.ReceiveMessage" {
			// An empty queue: hold the long poll.
			r.idleOnce.Do(func() { close(r.idle) })
			select {
			case <-req.Context().Done():
			case <-r.ended:
			case <-time.After(20 * time.Second):
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			_, _ = io.WriteString(w, "{}")
			return
		}
		r.t.Errorf("%s: unexpected request after the last exchange: %s %s", r.name, op, body)
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	ex := r.fx.Exchanges[i]
	r.next++
	close(r.served)
	r.served = make(chan struct{})
	r.mu.Unlock()

	if problems := ex.check(req, op, params); len(problems) > 0 {
		r.t.Errorf("%s: exchange %d (%s): %s\nrequest: %s", r.name, i, ex.Request.Operation, strings.Join(problems, "; "), body)
	}
	if r.onExchange != nil {
		r.onExchange(i)
	}
	r.respond(w, ex)
}

// repeated returns the index of a played exchange that the request repeats
// (see fixture.Repeatable), or -1. r.mu is held.
func (r *replay) repeated(req *http.Request, op string, params map[string]any) int {
	if !slices.Contains(r.fx.Repeatable, op) {
		return -1
	}
	for j := range r.next {
		ex := r.fx.Exchanges[j]
		if ex.Request.Operation == op && len(ex.check(req, op, params)) == 0 && len(params) == len(ex.Request.Params) {
			return j
		}
	}
	return -1
}

func (r *replay) respond(w http.ResponseWriter, ex exchange) {
	for k, v := range ex.Response.Headers {
		w.Header().Set(k, v)
	}
	status := ex.Response.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, ex.Response.Body)
}

// requestParams returns a request's operation and parameters, for the AWS
// JSON protocol (X-Amz-Target, JSON body) and the Query protocol (form
// body with Action).
func requestParams(req *http.Request, body []byte) (string, map[string]any, error) {
	if target := req.Header.Get("X-Amz-Target"); target != "" {
		params := map[string]any{}
		if err := json.Unmarshal(body, &params); err != nil {
			return "", nil, fmt.Errorf("JSON body: %v", err)
		}
		return target, params, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", nil, fmt.Errorf("form body: %v", err)
	}
	params := map[string]any{}
	for k := range form {
		params[k] = form.Get(k)
	}
	return form.Get("Action"), params, nil
}

// check returns how the request differs from what the exchange expects.
func (ex exchange) check(req *http.Request, op string, params map[string]any) []string {
	var problems []string
	if op != ex.Request.Operation {
		problems = append(problems, fmt.Sprintf("operation %q, want %q", op, ex.Request.Operation))
	}
	if req.Method != http.MethodPost {
		problems = append(problems, "method "+req.Method)
	}
	for _, k := range slices.Sorted(maps.Keys(ex.Request.Params)) {
		want := normalize(ex.Request.Params[k])
		got, ok := params[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s missing, want %v", k, want))
			continue
		}
		if _, form := got.(string); form && req.Header.Get("X-Amz-Target") == "" {
			want = fmt.Sprint(ex.Request.Params[k])
		}
		if got = normalize(got); !reflect.DeepEqual(got, want) {
			problems = append(problems, fmt.Sprintf("%s = %v, want %v", k, got, want))
		}
	}
	for _, k := range ex.Request.Absent {
		if v, ok := params[k]; ok {
			problems = append(problems, fmt.Sprintf("%s = %v, want it absent", k, v))
		}
	}
	for h, subs := range ex.Request.Headers {
		for _, sub := range subs {
			if v := req.Header.Get(h); !strings.Contains(v, sub) {
				problems = append(problems, fmt.Sprintf("header %s = %q, want it to contain %q", h, v, sub))
			}
		}
	}
	return problems
}

// normalize makes YAML and JSON values comparable: numbers become float64.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

const testQueueURL = "https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue"

// replayClient returns an SQS client that sends to the replay server.
func replayClient(r *replay) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(r.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		HTTPClient:   r.srv.Client(),
	})
}

// published records what a fake publish was asked to publish.
type published struct {
	mu   sync.Mutex
	refs []ObjectRef
}

func (p *published) add(ref ObjectRef) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refs = append(p.refs, ref)
}

func (p *published) keys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.refs {
		out = append(out, r.Bucket+"/"+r.Key)
	}
	return out
}

// testQueue returns a queue on the replay server with fresh metrics.
func testQueue(t *testing.T, r *replay, visibility int32, publish func(context.Context, ObjectRef) error) (*queue, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	q := &queue{client: replayClient(r), url: testQueueURL, visibility: visibility, publish: publish,
		log: testLogger(t), retryMin: 10 * time.Millisecond, retryMax: 10 * time.Millisecond}
	q.errs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_source_errors_total", Help: "Errors."}, []string{"kind"})
	reg.MustRegister(q.errs)
	return q.init(reg), reg
}

// runUntil runs q until the replay has played every exchange and q waits
// for more, then stops it and returns what run returned.
func runUntil(t *testing.T, r *replay, q *queue) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- q.run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-r.idle:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s: %d exchanges played after 2 minutes, want %d and a long poll", r.name, r.Served(), len(r.fx.Exchanges))
	}
	cancel()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
		return nil
	}
}

func counter(t *testing.T, c prometheus.Collector, labels ...string) float64 {
	t.Helper()
	switch c := c.(type) {
	case *prometheus.CounterVec:
		return testutil.ToFloat64(c.WithLabelValues(labels...))
	default:
		return testutil.ToFloat64(c)
	}
}

// TestSQSDirectNotice: one S3 event notification with two objects (keys
// URL-encoded): both published in order, then the message deleted.
func TestSQSDirectNotice(t *testing.T) {
	r := startReplay(t, "sqs/direct.yaml")
	var p published
	q, _ := testQueue(t, r, 300, func(_ context.Context, ref ObjectRef) error {
		if r.Served() != 1 {
			t.Errorf("publishing %s after %d exchanges: the message was deleted before its objects were published", ref.Key, r.Served())
		}
		p.add(ref)
		return nil
	})
	if err := runUntil(t, r, q); err != nil {
		t.Fatal(err)
	}
	r.checkAllServed()
	want := []string{
		"amzn-s3-demo-bucket1/reports/red flower(2) = c++.json",
		"amzn-s3-demo-bucket1/my trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0005Z_EXAMPLEa1b2c3d4.json.gz",
	}
	if got := p.keys(); !reflect.DeepEqual(got, want) {
		t.Errorf("published %q, want %q", got, want)
	}
	if n := counter(t, q.messages, "done"); n != 1 {
		t.Errorf("messages done = %v, want 1", n)
	}
}

// TestSQSWrappedNotices: SNS-wrapped and EventBridge notices announce
// objects; a test event and a deletion announce none. All four messages are
// deleted, in order.
func TestSQSWrappedNotices(t *testing.T) {
	r := startReplay(t, "sqs/wrapped.yaml")
	var p published
	q, _ := testQueue(t, r, 300, func(_ context.Context, ref ObjectRef) error { p.add(ref); return nil })
	if err := runUntil(t, r, q); err != nil {
		t.Fatal(err)
	}
	r.checkAllServed()
	want := []string{"amzn-s3-demo-bucket/HappyFace.jpg", "amzn-s3-demo-bucket1/example-key"}
	if got := p.keys(); !reflect.DeepEqual(got, want) {
		t.Errorf("published %q, want %q", got, want)
	}
	if done, ignored := counter(t, q.messages, "done"), counter(t, q.messages, "ignored"); done != 2 || ignored != 2 {
		t.Errorf("messages done %v, ignored %v; want 2 and 2", done, ignored)
	}
}

// TestSQSFilter: objects outside the prefix, CloudTrail digests, other
// services' logs and logs older than since are skipped; the message is
// deleted.
func TestSQSFilter(t *testing.T) {
	r := startReplay(t, "sqs/filter.yaml")
	var p published
	q, _ := testQueue(t, r, 300, func(_ context.Context, ref ObjectRef) error { p.add(ref); return nil })
	old := &Source{since: mustTime(t, "2026-01-01T00:00:00Z")}
	q.prefix, q.services, q.tooOld = "my trail/", Services("cloudtrail"), old.tooOld
	if err := runUntil(t, r, q); err != nil {
		t.Fatal(err)
	}
	r.checkAllServed()
	want := []string{"amzn-s3-demo-bucket1/my trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0005Z_EXAMPLEa1b2c3d4.json.gz"}
	if got := p.keys(); !reflect.DeepEqual(got, want) {
		t.Errorf("published %q, want %q", got, want)
	}
}

// TestSQSVisibilityExtended: while the first of two messages is slow to
// publish, the visibility of both is extended (every half of the 2s
// timeout); each is deleted once published.
func TestSQSVisibilityExtended(t *testing.T) {
	r := startReplay(t, "sqs/visibility.yaml")
	var p published
	q, reg := testQueue(t, r, 2, func(_ context.Context, ref ObjectRef) error {
		if ref.Key == "HappyFace.jpg" {
			// A slow object: done only once both messages were kept
			// invisible.
			<-r.reached(3)
		}
		p.add(ref)
		return nil
	})
	_ = reg
	if err := runUntil(t, r, q); err != nil {
		t.Fatal(err)
	}
	r.checkAllServed()
	if n := counter(t, q.extensions); n != 2 {
		t.Errorf("visibility extensions = %v, want 2", n)
	}
	if got, want := p.keys(), []string{"amzn-s3-demo-bucket/HappyFace.jpg", "amzn-s3-demo-bucket1/example-key"}; !reflect.DeepEqual(got, want) {
		t.Errorf("published %q, want %q", got, want)
	}
}

// TestSQSFailures: a body that is not a notice and a message whose object
// cannot be read are left on the queue (not deleted); the next message is
// still published and deleted; a failed delete and a failed receive are
// counted, and receiving goes on.
func TestSQSFailures(t *testing.T) {
	r := startReplay(t, "sqs/failures.yaml")
	var p published
	q, _ := testQueue(t, r, 300, func(_ context.Context, ref ObjectRef) error {
		if ref.Key == "HappyFace.jpg" {
			return &retryError{errors.New("get s3://amzn-s3-demo-bucket/HappyFace.jpg: AccessDenied")}
		}
		p.add(ref)
		return nil
	})
	if err := runUntil(t, r, q); err != nil {
		t.Fatal(err)
	}
	r.checkAllServed()
	if got, want := p.keys(), []string{"amzn-s3-demo-bucket1/example-key"}; !reflect.DeepEqual(got, want) {
		t.Errorf("published %q, want %q", got, want)
	}
	for _, c := range []struct {
		what string
		c    *prometheus.CounterVec
		l    string
		want float64
	}{
		{"errors notice", q.errs, "notice", 1},
		{"errors queue", q.errs, "queue", 2},
		{"messages left", q.messages, "left", 2},
		{"messages done", q.messages, "done", 1},
	} {
		if got := counter(t, c.c, c.l); got != c.want {
			t.Errorf("%s = %v, want %v", c.what, got, c.want)
		}
	}
}

// TestSQSShutdown: stopping while an object is published makes the
// unfinished messages visible again at once, and deletes none.
func TestSQSShutdown(t *testing.T) {
	r := startReplay(t, "sqs/shutdown.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q, _ := testQueue(t, r, 300, func(ctx context.Context, ref ObjectRef) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	})
	if err := q.run(ctx); err != nil {
		t.Fatalf("run = %v, want nil after cancel", err)
	}
	r.checkAllServed()
}

// TestSQSKafkaFailure: when publishing fails on Kafka, run returns the
// error and the batch goes back to the queue.
func TestSQSKafkaFailure(t *testing.T) {
	r := startReplay(t, "sqs/kafka-failure.yaml")
	kafkaErr := errors.New("ingest: commit: PRODUCER_FENCED")
	q, _ := testQueue(t, r, 300, func(context.Context, ObjectRef) error { return kafkaErr })
	if err := q.run(context.Background()); !errors.Is(err, kafkaErr) {
		t.Fatalf("run = %v, want %v", err, kafkaErr)
	}
	r.checkAllServed()
}

// TestSQSClientFromQueueURL: the client sends to the host of a queue URL
// that is not AWS's, signs for the source's region, and receives with the
// configured visibility timeout.
func TestSQSClientFromQueueURL(t *testing.T) {
	r := startReplay(t, "sqs/endpoint.yaml")
	s := &Source{cfg: DefaultConfig(), log: testLogger(t)}
	s.cfg.Mode, s.cfg.QueueURL, s.cfg.VisibilityTimeout = ModeSQS, r.URL()+"/177715257436/MyQueue", 90*time.Second
	s.aws = aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "secret", "")}
	client, err := s.sqsClient()
	if err != nil {
		t.Fatal(err)
	}
	var p published
	q := s.newQueue(client, func(_ context.Context, ref ObjectRef) error { p.add(ref); return nil })
	if err := runUntil(t, r, q); err != nil {
		t.Fatal(err)
	}
	r.checkAllServed()
	if got, want := p.keys(), []string{"amzn-s3-demo-bucket/HappyFace.jpg"}; !reflect.DeepEqual(got, want) {
		t.Errorf("published %q, want %q", got, want)
	}
}

func TestQueueRegion(t *testing.T) {
	for _, tc := range []struct {
		host   string
		region string
		public bool
	}{
		{"sqs.eu-west-1.amazonaws.com", "eu-west-1", true},
		{"sqs.cn-north-1.amazonaws.com.cn", "cn-north-1", true},
		{"us-west-2.queue.amazonaws.com", "us-west-2", true},
		{"queue.amazonaws.com", "us-east-1", true},
		{"sqs-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1", false},
		{"vpce-0a1b2c3d4e5f6a7b8-abcdefgh.sqs.eu-central-1.vpce.amazonaws.com", "eu-central-1", false},
		{"localhost", "", false},
		{"sqs.eu-west-1.localhost.localstack.cloud", "", false},
	} {
		region, public := queueRegion(tc.host)
		if region != tc.region || public != tc.public {
			t.Errorf("queueRegion(%q) = %q, %v; want %q, %v", tc.host, region, public, tc.region, tc.public)
		}
	}
}

func TestVisibilitySeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int32
	}{
		{0, 300}, {time.Second, 2}, {1500 * time.Millisecond, 2}, {2500 * time.Millisecond, 3}, {5 * time.Minute, 300}, {13 * time.Hour, 43200},
	} {
		if got := visibilitySeconds(tc.d); got != tc.want {
			t.Errorf("visibilitySeconds(%s) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

// TestSQSEndToEnd runs the source in SQS mode as `vigil run` does, against
// versitygw and a Kafka broker, with the queue played back from
// testdata/sqs/e2e.yaml: announced objects are published exactly once, a
// message is deleted only after its objects are committed, the visibility
// of the messages is extended while an object is slow to read, and a
// message whose object cannot be read is left on the queue.
func TestSQSEndToEnd(t *testing.T) {
	e := newEnv(t)
	const bucket = "amzn-s3-demo-bucket1"
	e.srv.CreateBucket(t, bucket)
	files := testdata(t, "cloudtrail")
	names := sortedNames(files)
	k1 := "AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0005Z_EXAMPLEa1b2c3d4.json.gz"
	k2 := "AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0010Z_EXAMPLEe5f6a7b8.json.gz"
	k3 := "AWSLogs/444455556666/CloudTrail/eu-west-1/2026/01/02/444455556666_CloudTrail_eu-west-1_20260102T0015Z_EXAMPLE9c0d1e2f.json.gz"
	var want []string
	want = append(want, e.put(bucket, k1, bigTrail(t, files[names[0]], 3000), "cloudtrail")...)
	want = append(want, e.put(bucket, k2, files[names[1]], "cloudtrail")...)
	want = append(want, e.put(bucket, k3, files[names[2]], "cloudtrail")...)

	r := startReplay(t, "sqs/e2e.yaml")
	// The first object's body stops halfway until both messages'
	// visibility was extended (exchanges 1 and 2).
	proxy := slowProxy(t, e.srv.Endpoint, "/"+bucket+"/"+k1, r.reached(3))

	c := e.config("cloudtrail", "")
	c.Mode, c.QueueURL, c.VisibilityTimeout, c.Endpoint = ModeSQS, r.URL()+"/177715257436/MyQueue", 2*time.Second, proxy.URL
	reg := prometheus.NewRegistry()
	s := e.source("sqs-e2e", c, reg, nil)

	done := func(key string) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p, err := ingest.ReadProgress(ctx, []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, e.names, "sqs-e2e")
		if err != nil {
			t.Errorf("read progress: %v", err)
			return false
		}
		op, ok := parseProgress(p[ObjectUnit(bucket, key)])
		return ok && op.Done
	}
	r.onExchange = func(i int) {
		switch i {
		case 1: // visibility extended
			if done(k1) {
				t.Errorf("visibility extended only after the slow object was done")
			}
		case 3: // first message deleted
			if !done(k1) || !done(k2) {
				t.Errorf("first message deleted before its objects were committed")
			}
		case 4: // second message deleted
			if !done(k3) {
				t.Errorf("second message deleted before its object was committed")
			}
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	select {
	case <-r.idle:
	case err := <-errc:
		t.Fatalf("Run returned before the queue was drained: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatalf("%d of %d exchanges played after 3 minutes", r.Served(), len(r.fx.Exchanges))
	}
	if !s.Ready() {
		t.Error("not ready while running")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	r.checkAllServed()

	exactlyOnce(t, "sqs", e.origins(e.names.Raw("cloudtrail")), want)
	if st := s.Stats(); st.ObjectsDone != 3 || st.Records != int64(len(want)) {
		t.Errorf("stats %+v, want 3 objects and %d records", st, len(want))
	}
	for _, m := range []struct {
		name, label, value string
		want               float64
	}{
		{"vigil_source_sqs_messages_total", "outcome", "done", 3},
		{"vigil_source_sqs_messages_total", "outcome", "left", 1},
		{"vigil_source_errors_total", "kind", "read", 1},
		{"vigil_source_errors_total", "kind", "notice", 0},
	} {
		if got := metricValue(t, reg, m.name, m.label, m.value); got != m.want {
			t.Errorf("%s{%s=%q} = %v, want %v", m.name, m.label, m.value, got, m.want)
		}
	}
	if got := metricValue(t, reg, "vigil_source_sqs_visibility_extensions_total", "", ""); got < 2 {
		t.Errorf("visibility extensions = %v, want at least 2", got)
	}
}

// bigTrail returns a CloudTrail log file of n events, copies of the first
// event of file with their own eventID.
func bigTrail(t *testing.T, file []byte, n int) []byte {
	t.Helper()
	var log struct {
		Records []map[string]any `json:"Records"`
	}
	if err := json.Unmarshal(file, &log); err != nil || len(log.Records) == 0 {
		t.Fatalf("CloudTrail file: %v", err)
	}
	recs := make([]map[string]any, n)
	for i := range recs {
		ev := maps.Clone(log.Records[0])
		ev["eventID"] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		recs[i] = ev
	}
	b, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slowProxy is a proxy to an S3 endpoint that sends the body of the object
// at path only halfway until gate is closed.
func slowProxy(t *testing.T, target, path string, gate <-chan struct{}) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodGet && resp.Request.URL.Path == path && resp.StatusCode == http.StatusOK {
			resp.Body = &gatedBody{rc: resp.Body, left: max(resp.ContentLength/2, 1), gate: gate}
		}
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv
}

// gatedBody reads left bytes, then waits for gate before reading on.
type gatedBody struct {
	rc   io.ReadCloser
	left int64
	gate <-chan struct{}
}

func (g *gatedBody) Read(p []byte) (int, error) {
	if g.left == 0 {
		<-g.gate
		return g.rc.Read(p)
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.rc.Read(p)
	g.left -= int64(n)
	return n, err
}

func (g *gatedBody) Close() error { return g.rc.Close() }

// metricValue returns the value of the counter name (with label=value, if
// label is not empty) gathered from reg, 0 if there is none.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if label == "" || (l.GetName() == label && l.GetValue() == value) {
					return m.GetCounter().GetValue()
				}
			}
			if label == "" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
