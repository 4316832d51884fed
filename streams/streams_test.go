package streams_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashWorkerEnv) != "" {
		os.Exit(crashWorker())
	}
	goleak.VerifyTestMain(m)
}

// counter is an Observer that counts committed consumption.
type counter struct {
	mu       sync.Mutex
	consumed int64
	produced map[string]int64
}

func (c *counter) Committed(_ string, consumed, produced map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range consumed {
		c.consumed += n
	}
	if c.produced == nil {
		c.produced = map[string]int64{}
	}
	for t, n := range produced {
		c.produced[t] += n
	}
}

func (c *counter) total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.consumed
}

// upper emits each value upper-cased; "fail" fails, "panic" panics, and
// "flaky" fails retryably on its first two attempts.
type upper struct {
	out   string
	mu    sync.Mutex
	tries map[string]int
}

func (u *upper) Process(c *streams.Context, r *kgo.Record) error {
	v := string(r.Value)
	// Output emitted before a failure must never be committed.
	partial := func() { c.Emit(u.out, r.Key, []byte("partial"), kgo.RecordHeader{Key: "x", Value: []byte("y")}) }
	switch {
	case strings.HasPrefix(v, "fail"):
		partial()
		return errors.New("cannot process " + v)
	case strings.HasPrefix(v, "panic"):
		partial()
		panic("boom on " + v)
	case strings.HasPrefix(v, "flaky"):
		u.mu.Lock()
		u.tries[v]++
		n := u.tries[v]
		u.mu.Unlock()
		if n <= 2 {
			partial()
			return streams.Retryable(errors.New("dependency away"))
		}
	}
	c.Emit(u.out, r.Key, []byte(strings.ToUpper(v)))
	return nil
}

func runUntil(t *testing.T, app streams.App, obs *counter, want int64) {
	t.Helper()
	app.Observer = obs
	r, err := streams.New(app)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.After(60 * time.Second)
	for obs.total() < want {
		select {
		case err := <-done:
			t.Fatalf("runner stopped early: %v", err)
		case <-deadline:
			cancel()
			<-done
			t.Fatalf("committed %d of %d records in time", obs.total(), want)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r.Ready() {
		t.Error("runner still reports ready after stopping")
	}
}

func TestProcessingGuarantees(t *testing.T) {
	for _, g := range []streams.Guarantee{streams.ExactlyOnce, streams.AtLeastOnce} {
		t.Run(g.String(), func(t *testing.T) {
			brokers := streamstest.Brokers(t)
			p := streamstest.Prefix(t)
			in, out, dlq := p+".in", p+".out", p+".dlq"
			streamstest.CreateTopics(t, brokers, 3, in, out, dlq)

			var recs []*kgo.Record
			want := map[string]int{}
			for i := 0; i < 300; i++ {
				v := fmt.Sprintf("v%03d", i)
				switch i {
				case 17:
					v = "fail17"
				case 42:
					v = "panic42"
				case 99:
					v = "flaky99"
				}
				if i != 17 && i != 42 {
					want[strings.ToUpper(v)]++
				}
				recs = append(recs, &kgo.Record{Topic: in, Key: []byte(fmt.Sprint(i % 7)), Value: []byte(v),
					Headers: []kgo.RecordHeader{{Key: streams.HeaderOrigin, Value: []byte(fmt.Sprintf("test.jsonl:%d", i+1))}}})
			}
			streamstest.Produce(t, brokers, recs...)

			reg := prometheus.NewRegistry()
			app := streams.App{
				Name:         "upper",
				Group:        p + "-upper",
				Inputs:       []string{in},
				Processor:    &upper{out: out, tries: map[string]int{}},
				Guarantee:    g,
				Client:       []kgo.Opt{kgo.SeedBrokers(brokers...)},
				DLQ:          dlq,
				Registerer:   reg,
				RetryBackoff: time.Millisecond,
			}
			obs := &counter{}
			runUntil(t, app, obs, 300)

			got := map[string]int{}
			for _, r := range streamstest.ReadCommitted(t, brokers, out) {
				if string(r.Value) == "partial" {
					t.Fatalf("output of a failed attempt was committed: key %s", r.Key)
				}
				got[string(r.Value)]++
			}
			if len(got) != len(want) {
				t.Errorf("got %d distinct outputs, want %d", len(got), len(want))
			}
			for v, n := range want {
				if got[v] != n {
					t.Errorf("output %q appears %d times, want %d", v, got[v], n)
				}
			}

			dead := streamstest.ReadCommitted(t, brokers, dlq)
			if len(dead) != 2 {
				t.Fatalf("dead letters: got %d, want 2", len(dead))
			}
			reasons := map[string]string{}
			for _, d := range dead {
				reasons[string(d.Value)] = streams.Header(d, streams.HeaderError)
				if streams.Header(d, streams.HeaderApp) != "upper" || streams.Header(d, streams.HeaderFromTopic) != in {
					t.Errorf("dead letter %q lacks app or topic headers: %v", d.Value, d.Headers)
				}
				if !strings.HasPrefix(streams.Header(d, streams.HeaderOrigin), "test.jsonl:") {
					t.Errorf("dead letter %q lost its origin header", d.Value)
				}
				if streams.Header(d, streams.HeaderFromOffset) == "" {
					t.Errorf("dead letter %q has no offset header", d.Value)
				}
			}
			if !strings.Contains(reasons["fail17"], "cannot process fail17") {
				t.Errorf("fail17 reason = %q", reasons["fail17"])
			}
			if !strings.Contains(reasons["panic42"], "panic: boom on panic42") {
				t.Errorf("panic42 reason = %q", reasons["panic42"])
			}
			if n := testutil.ToFloat64(mustCounter(t, reg, "vigil_processing_retries_total")); n != 2 {
				t.Errorf("retries = %v, want 2", n)
			}

			// A second run of the same group resumes after the committed
			// offsets: only new input is processed.
			streamstest.Produce(t, brokers, &kgo.Record{Topic: in, Value: []byte("late1")}, &kgo.Record{Topic: in, Value: []byte("late2")})
			obs2 := &counter{}
			runUntil(t, app, obs2, 2)
			if obs2.total() != 2 {
				t.Errorf("second run consumed %d records, want 2", obs2.total())
			}
			after := streamstest.ReadCommitted(t, brokers, out)
			var late int
			for _, r := range after {
				if bytes.HasPrefix(r.Value, []byte("LATE")) {
					late++
				}
			}
			if late != 2 || len(after) != len(want)+2 {
				t.Errorf("after restart: %d outputs with %d late ones, want %d with 2", len(after), late, len(want)+2)
			}
		})
	}
}

func mustCounter(t *testing.T, g prometheus.Gatherer, name string) prometheus.Collector {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: "copy"})
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			c.Add(sum)
			return c
		}
	}
	t.Fatalf("metric %s not registered", name)
	return nil
}

func TestAppValidate(t *testing.T) {
	_, err := streams.New(streams.App{})
	if err == nil {
		t.Fatal("an empty app was accepted")
	}
	for _, want := range []string{"name is empty", "has no inputs", "has no processor"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestParseGuarantee(t *testing.T) {
	for _, g := range []streams.Guarantee{streams.ExactlyOnce, streams.AtLeastOnce} {
		back, err := streams.ParseGuarantee(g.String())
		if err != nil || back != g {
			t.Errorf("ParseGuarantee(%q) = %v, %v", g.String(), back, err)
		}
	}
	if _, err := streams.ParseGuarantee("maybe"); err == nil {
		t.Error("ParseGuarantee accepted \"maybe\"")
	}
}

func TestRetryable(t *testing.T) {
	base := errors.New("x")
	if streams.IsRetryable(base) {
		t.Error("plain error is retryable")
	}
	r := fmt.Errorf("wrapped: %w", streams.Retryable(base))
	if !streams.IsRetryable(r) || !errors.Is(r, base) {
		t.Error("Retryable lost through wrapping")
	}
	if streams.Retryable(nil) != nil {
		t.Error("Retryable(nil) != nil")
	}
}
