package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/connectors/sources/ingest"
	"github.com/vigilsec/vigil/connectors/sources/s3/s3test"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The AWS SDK's HTTP clients keep idle connections open.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// env is a versitygw server and a Kafka broker for a test.
type env struct {
	t       *testing.T
	srv     *s3test.Server
	brokers []string
	names   topics.Names
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, streamstest.Brokers(t))
}

// newEnvOn is newEnv with the given brokers.
func newEnvOn(t *testing.T, brokers []string) *env {
	t.Helper()
	srv := s3test.Start(t)
	t.Setenv("VIGIL_TEST_S3_ACCESS_KEY", s3test.AccessKey)
	t.Setenv("VIGIL_TEST_S3_SECRET_KEY", s3test.SecretKey)
	e := &env{t: t, srv: srv, brokers: brokers, names: topics.Names{Prefix: streamstest.Prefix(t)}}
	streamstest.CreateTopics(t, e.brokers, 3, e.names.DLQ())
	streamstest.CreateTopics(t, e.brokers, 1, e.names.Progress())
	return e
}

// config returns a source config for the server.
func (e *env) config(source, bucket string) Config {
	c := DefaultConfig()
	c.Source, c.Bucket = source, bucket
	c.Endpoint, c.Region = e.srv.Endpoint, s3test.Region
	c.AccessKeyID = config.Secret{Env: "VIGIL_TEST_S3_ACCESS_KEY"}
	c.SecretAccessKey = config.Secret{Env: "VIGIL_TEST_S3_SECRET_KEY"}
	return c
}

var createdRaw sync.Map

// source returns a source named name; reg may be nil.
func (e *env) source(name string, c Config, reg prometheus.Registerer, obs streams.Observer) *Source {
	e.t.Helper()
	raw := e.names.Raw(c.Source)
	if _, loaded := createdRaw.LoadOrStore(e.names.Prefix+raw, true); !loaded {
		streamstest.CreateTopics(e.t, e.brokers, 3, raw)
	}
	s, err := New(c, plugin.Deps{
		Name: name, Kafka: []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, Topics: e.names, Partitions: 3,
		TransactionTimeout: 20 * time.Second, Logger: testLogger(e.t), Registerer: reg, Observer: obs,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// once runs one pass of the source and fails the test on error.
func (e *env) once(s *Source) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := s.Once(ctx); err != nil {
		e.t.Fatalf("Once: %v", err)
	}
}

// origins returns the vigil-origin header of every committed record of
// topic, sorted.
func (e *env) origins(topic string) []string {
	e.t.Helper()
	var out []string
	for _, r := range streamstest.ReadCommitted(e.t, e.brokers, topic) {
		out = append(out, streams.Header(r, streams.HeaderOrigin))
	}
	sort.Strings(out)
	return out
}

// put uploads content gzipped at key and returns the origins its records
// should have.
func (e *env) put(bucket, key string, content []byte, source string) []string {
	e.t.Helper()
	e.srv.Put(e.t, bucket, key, s3test.Gzip(content))
	return expectOrigins(e.t, "s3://"+bucket+"/"+key, content, source)
}

// expectOrigins frames content as the source does and returns the origins.
func expectOrigins(t testing.TB, path string, content []byte, source string) []string {
	t.Helper()
	var r io.Reader = bytes.NewReader(content)
	format := framing.ForPath(path, framing.Auto)
	if framing.DefaultHeaderLine(source, format) {
		_, r, _ = framing.FileHeader(r)
	}
	sp := framing.New(r, format, 0)
	var out []string
	for {
		fr, err := sp.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, framing.Origin(path, sp.Format(), fr))
	}
}

// exactlyOnce checks that got holds each of want once and nothing else.
func exactlyOnce(t testing.TB, what string, got, want []string) {
	t.Helper()
	want = slices.Clone(want)
	sort.Strings(want)
	count := map[string]int{}
	for _, o := range got {
		count[o]++
	}
	var dup, missing, extra []string
	for o, n := range count {
		if n > 1 {
			dup = append(dup, fmt.Sprintf("%s x%d", o, n))
		}
	}
	wantSet := map[string]bool{}
	for _, o := range want {
		wantSet[o] = true
		if count[o] == 0 {
			missing = append(missing, o)
		}
	}
	for o := range count {
		if !wantSet[o] {
			extra = append(extra, o)
		}
	}
	if len(dup)+len(missing)+len(extra) > 0 {
		sort.Strings(dup)
		sort.Strings(missing)
		sort.Strings(extra)
		t.Fatalf("%s: %d records, want %d once each\nduplicated: %v\nmissing: %v\nunexpected: %v", what, len(got), len(want), first(dup), first(missing), first(extra))
	}
}

func first(s []string) []string {
	if len(s) > 10 {
		return append(s[:10:10], fmt.Sprintf("... %d more", len(s)-10))
	}
	return s
}

// progress reads the committed progress of source name.
func (e *env) progress(name string) map[string][]byte {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := ingest.ReadProgress(ctx, []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, e.names, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// testdata returns the files of a testdata folder, by name.
func testdata(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		if strings.Contains(filepath.Base(p), "LICENSE") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	if len(out) == 0 {
		t.Fatalf("no files in testdata/%s", dir)
	}
	return out
}

func sortedNames(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// testLogger logs to the test's output while it runs, and nowhere after.
func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
