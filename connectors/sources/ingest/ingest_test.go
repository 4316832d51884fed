package ingest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var brokers []string

func setup(t *testing.T) (Options, string) {
	t.Helper()
	brokers = streamstest.Brokers(t)
	n := topics.Names{Prefix: streamstest.Prefix(t)}
	raw := n.Raw("test")
	streamstest.CreateTopics(t, brokers, 2, raw)
	streamstest.CreateTopics(t, brokers, 1, n.Progress())
	return Options{Name: "src", Kafka: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Topics: n, TransactionTimeout: 10 * time.Second}, raw
}

func open(t *testing.T, o Options) *Writer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func values(rs []*kgo.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Value))
	}
	return out
}

// TestRecordsAndProgressCommitTogether: committed records come with their
// progress; an aborted (crashed) transaction leaves neither.
func TestRecordsAndProgressCommitTogether(t *testing.T) {
	o, raw := setup(t)
	ctx := context.Background()
	w := open(t, o)
	if len(w.Units()) != 0 {
		t.Fatalf("progress on a new topic: %v", w.Units())
	}
	if err := w.Begin(); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a1", "a2", "a3"} {
		w.Produce(ctx, &kgo.Record{Topic: raw, Value: []byte(v)})
	}
	w.SetProgress(ctx, "obj/a", []byte("done"))
	c, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Records[raw] != 3 || len(c.Records) != 1 || c.Bytes != 6 {
		t.Errorf("committed %+v, want 3 records of 6 bytes on %s", c, raw)
	}

	// A transaction that never commits: the process dies.
	if err := w.Begin(); err != nil {
		t.Fatal(err)
	}
	w.Produce(ctx, &kgo.Record{Topic: raw, Value: []byte("b1")})
	w.SetProgress(ctx, "obj/b", []byte("done"))
	if err := w.cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Another process takes over: it fences this one, aborting its
	// transaction, and reads the committed progress.
	w2 := open(t, o)
	defer w2.Close()
	if got := w2.Units(); len(got) != 1 || got[0] != "obj/a" || string(w2.Progress("obj/a")) != "done" {
		t.Errorf("progress after the takeover: %v", got)
	}
	if _, err := w.Commit(ctx); err == nil {
		t.Error("the fenced writer committed")
	}
	w.Close()
	if got := values(streamstest.ReadCommitted(t, brokers, raw)); len(got) != 3 {
		t.Errorf("committed records %v, want a1 a2 a3", got)
	}

	// Forgetting a unit.
	if err := w2.Begin(); err != nil {
		t.Fatal(err)
	}
	w2.SetProgress(ctx, "obj/a", nil)
	w2.SetProgress(ctx, "obj/c", []byte("7"))
	if _, err := w2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := ReadProgress(ctx, o.Kafka, o.Topics, "src")
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 1 || string(p["obj/c"]) != "7" {
		t.Errorf("progress %q, want obj/c=7 only", p)
	}
	// Another source's progress is its own.
	other, err := ReadProgress(ctx, o.Kafka, o.Topics, "other")
	if err != nil || len(other) != 0 {
		t.Errorf("another source's progress: %v %v", other, err)
	}
}

// TestCommittedCountsByTopic: records to several topics, in turn, are
// counted by topic, progress left out.
func TestCommittedCountsByTopic(t *testing.T) {
	o, raw := setup(t)
	ctx := context.Background()
	dlq := o.Topics.DLQ()
	streamstest.CreateTopics(t, brokers, 1, dlq)
	w := open(t, o)
	defer w.Close()
	for range 2 {
		if err := w.Begin(); err != nil {
			t.Fatal(err)
		}
		for _, topic := range []string{raw, dlq, dlq, raw, raw, dlq, raw} {
			w.Produce(ctx, &kgo.Record{Topic: topic, Value: []byte("x")})
		}
		w.SetProgress(ctx, "obj/b", []byte("done"))
		c, err := w.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Records[raw] != 4 || c.Records[dlq] != 3 || len(c.Records) != 2 || c.Bytes != 7 {
			t.Errorf("committed %+v, want 4 records on %s and 3 on %s, 7 bytes", c, raw, dlq)
		}
	}
}

// TestKeepGoingRetries: a failing run is retried with a new writer, up to
// the retries given; a fencing is not retried; a run that succeeds ends
// it.
func TestKeepGoingRetries(t *testing.T) {
	o, _ := setup(t)
	ctx := context.Background()
	failure := errors.New("produce: OUT_OF_ORDER_SEQUENCE_NUMBER")
	for _, tc := range []struct {
		name    string
		retries int
		errs    []error // what the runs return, in turn
		runs    int
		want    error
	}{
		{"gives up", 1, []error{failure, failure, failure}, 2, failure},
		{"goes on", OnceRetries, []error{failure, nil}, 2, nil},
		{"fenced", Forever, []error{kerr.ProducerFenced, nil}, 1, kerr.ProducerFenced},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := 0
			var ready atomic.Bool
			err := KeepGoing(ctx, o, tc.retries, &ready, func(_ context.Context, w *Writer) error {
				if !ready.Load() || w == nil {
					t.Error("run without an open writer marked ready")
				}
				runs++
				return tc.errs[runs-1]
			})
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) || runs != tc.runs {
				t.Errorf("KeepGoing returned %v after %d runs, want %v after %d", err, runs, tc.want, tc.runs)
			}
			if ready.Load() {
				t.Error("still ready after KeepGoing returned")
			}
		})
	}
}
