// Package ingest is what vigil's sources share to bring records into Kafka
// exactly once: a transactional writer that commits the records a source
// produced together with its progress (an S3 object done, a file read to an
// offset), and the progress itself, kept in a compacted topic
// (Names.Progress, "vigil.sources.progress"), so that a source restarted
// anywhere resumes where the last committed transaction left it. A crash
// at any moment aborts the open transaction: its records are never seen by
// read_committed consumers, and its progress is not either, so they are
// produced again, once.
//
// One process at a time writes for a source: its transactional id is the
// source's (Names.Group(name)), so a process that starts the source fences
// any earlier one, whose transactions then fail. Run one replica of each
// source; a replacement takes over where it stopped.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// ProgressTopic is the spec of the progress topic, for a source's
// plugin.TopicDeclarer.
func ProgressTopic(n topics.Names) topics.Spec {
	return topics.Spec{Name: n.Progress(), Partitions: 1, Compacted: true}
}

// Options configure a Writer.
type Options struct {
	// Name is the source's name: progress keys begin with it, and the
	// transactional id is Topics.Group(Name).
	Name string
	// Kafka are the client options (seed brokers, TLS, SASL).
	Kafka []kgo.Opt
	// Topics names topics.
	Topics topics.Names
	// TransactionTimeout is the broker's bound on an open transaction.
	// Default 60s.
	TransactionTimeout time.Duration
	// Logger defaults to none.
	Logger *slog.Logger
}

// FromDeps fills Options from what the engine hands a source.
func FromDeps(d plugin.Deps) Options {
	return Options{Name: d.Name, Kafka: d.Kafka, Topics: d.Topics, TransactionTimeout: d.TransactionTimeout, Logger: d.Logger}
}

// Writer produces a source's records and progress in transactions. It is
// used from one goroutine, except Produce's completions.
type Writer struct {
	o             Options
	cl            *kgo.Client
	progress      map[string][]byte
	progressTopic string

	// Counts of the open transaction, kept by Produce (one goroutine):
	// by topic, the last topic's count at hand (records mostly go to one).
	produced  map[string]*int64
	lastTopic string
	last      *int64
	bytes     int64
	open      bool

	mu  sync.Mutex
	err error // the first failed produce of the open transaction
}

// Open connects, fences any earlier writer of the source, and reads the
// source's committed progress.
func Open(ctx context.Context, o Options) (*Writer, error) {
	if o.Name == "" {
		return nil, errors.New("ingest: no source name")
	}
	if o.TransactionTimeout <= 0 {
		o.TransactionTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cl, err := kgo.NewClient(append(slices.Clone(o.Kafka),
		kgo.TransactionalID(o.Topics.Group(o.Name)),
		kgo.TransactionTimeout(o.TransactionTimeout),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.WithLogger(streams.KgoLogger(o.Logger)),
	)...)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	w := &Writer{o: o, cl: cl, progressTopic: o.Topics.Progress()}
	// Initializing the producer id fences an earlier writer and aborts
	// its open transaction, so the progress read below is final.
	if _, _, err := cl.ProducerID(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("ingest: fence earlier writers of %s: %w", o.Name, err)
	}
	if w.progress, err = ReadProgress(ctx, o.Kafka, o.Topics, o.Name); err != nil {
		cl.Close()
		return nil, err
	}
	return w, nil
}

// Close ends the writer, aborting an open transaction.
func (w *Writer) Close() {
	if w.open {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = w.cl.AbortBufferedRecords(ctx)
		_ = w.cl.EndTransaction(ctx, kgo.TryAbort)
		cancel()
	}
	w.cl.Close()
}

// Progress returns the committed progress of a unit (an object, a file),
// as the source wrote it with SetProgress, or nil.
func (w *Writer) Progress(unit string) []byte { return w.progress[unit] }

// Units returns every unit with committed progress, sorted.
func (w *Writer) Units() []string {
	out := make([]string, 0, len(w.progress))
	for u := range w.progress {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// Begin starts a transaction.
func (w *Writer) Begin() error {
	if w.open {
		return errors.New("ingest: a transaction is already open")
	}
	if err := w.cl.BeginTransaction(); err != nil {
		return err
	}
	w.mu.Lock()
	w.err = nil
	w.mu.Unlock()
	w.produced, w.lastTopic, w.last, w.bytes, w.open = map[string]*int64{}, "", nil, 0, true
	return nil
}

// Produce sends a record in the open transaction.
func (w *Writer) Produce(ctx context.Context, r *kgo.Record) {
	// Counted when handed over: if any record fails, the transaction
	// aborts and its counts are dropped.
	if w.last == nil || r.Topic != w.lastTopic {
		n := w.produced[r.Topic]
		if n == nil {
			n = new(int64)
			w.produced[r.Topic] = n
		}
		w.lastTopic, w.last = r.Topic, n
	}
	*w.last++
	if r.Topic != w.progressTopic {
		w.bytes += int64(len(r.Value))
	}
	w.cl.Produce(ctx, r, w.done)
}

func (w *Writer) done(_ *kgo.Record, err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// SetProgress records a unit's progress in the open transaction; nil
// forgets the unit (a tombstone).
func (w *Writer) SetProgress(ctx context.Context, unit string, value []byte) {
	w.Produce(ctx, &kgo.Record{Topic: w.progressTopic, Key: []byte(w.o.Name + "\x00" + unit), Value: value})
	if value == nil {
		delete(w.progress, unit)
	} else {
		w.progress[unit] = value
	}
}

// Committed is what a committed transaction produced.
type Committed struct {
	// Records counts records by topic, progress records left out.
	Records map[string]int64
	// Bytes is the size of the records' values, progress left out.
	Bytes int64
}

// Commit flushes the open transaction's records and commits it. On error
// the transaction is aborted and the progress set in it forgotten; the
// source should reopen the writer (the error may be a fencing: another
// process took the source over).
func (w *Writer) Commit(ctx context.Context) (Committed, error) {
	if !w.open {
		return Committed{}, errors.New("ingest: no open transaction")
	}
	w.open = false
	flushErr := w.cl.Flush(ctx)
	w.mu.Lock()
	perr := w.err
	w.mu.Unlock()
	c := Committed{Records: make(map[string]int64, len(w.produced)), Bytes: w.bytes}
	for t, n := range w.produced {
		if t != w.progressTopic {
			c.Records[t] = *n
		}
	}
	if err := errors.Join(flushErr, perr); err != nil {
		_ = w.cl.AbortBufferedRecords(context.Background())
		_ = w.cl.EndTransaction(ctx, kgo.TryAbort)
		return Committed{}, fmt.Errorf("ingest: produce: %w", err)
	}
	if err := w.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return Committed{}, fmt.Errorf("ingest: commit: %w", err)
	}
	return c, nil
}

// Abort aborts the open transaction, if any. The progress set in it is not
// forgotten by the Writer: reopen it to read the committed progress again.
func (w *Writer) Abort(ctx context.Context) error {
	if !w.open {
		return nil
	}
	w.open = false
	_ = w.cl.AbortBufferedRecords(ctx)
	return w.cl.EndTransaction(ctx, kgo.TryAbort)
}

// IsFenced reports whether err, from a Writer, means that another process
// took the source over: its source should stop. Other Kafka errors leave
// the source's committed state as it was: it can close the writer, open a
// new one and go on from the committed progress.
func IsFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// Retries for KeepGoing: a source that keeps running retries Forever; one
// that reads once (a file source without follow, vigil ingest) gives up
// after OnceRetries new writers in a row failed, so that a broken cluster
// ends the run instead of holding it, while a passing error does not.
const (
	Forever     = -1
	OnceRetries = 3
)

// KeepGoing runs run with a Writer opened with o, and closes the writer
// when run returns; ready, if not nil, is true while a writer is open. A
// Kafka error other than a fencing (a produce, a commit or an opening that
// failed) does not end it, up to retries times in a row (Forever: without
// end): the open transaction is aborted, and a new writer, which reads the
// committed progress, goes on after a wait that doubles from a second up
// to half a minute while the errors go on. It returns what the last run
// returned, or nil if ctx is done before a writer is open.
func KeepGoing(ctx context.Context, o Options, retries int, ready *atomic.Bool, run func(context.Context, *Writer) error) error {
	var wait time.Duration
	failed := 0
	for {
		start := time.Now()
		err := runWriter(ctx, o, ready, run)
		if err == nil || ctx.Err() != nil || IsFenced(err) {
			return err
		}
		if wait == 0 || time.Since(start) >= time.Minute {
			wait, failed = time.Second, 0
		} else {
			wait = min(2*wait, 30*time.Second)
		}
		if failed++; retries != Forever && failed > retries {
			return err
		}
		if o.Logger != nil {
			o.Logger.Error("publishing failed; going on from the last commit with a new producer", "source", o.Name, "err", err, "in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// runWriter runs run with a new writer.
func runWriter(ctx context.Context, o Options, ready *atomic.Bool, run func(context.Context, *Writer) error) error {
	w, err := Open(ctx, o)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer w.Close()
	if ready != nil {
		ready.Store(true)
		defer ready.Store(false)
	}
	return run(ctx, w)
}

// ReadProgress reads the committed progress of the source name: the last
// value of each of its units.
func ReadProgress(ctx context.Context, kafka []kgo.Opt, n topics.Names, name string) (map[string][]byte, error) {
	topic := n.Progress()
	// Transaction markers occupy offsets too; keeping them shows that a
	// partition has been read to its end even when its last offsets are
	// markers or aborted records.
	cl, err := kgo.NewClient(append(slices.Clone(kafka), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("ingest: progress topic %s: %w", topic, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("ingest: progress topic %s: %w", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	out := map[string][]byte{}
	if len(want) == 0 {
		return out, nil
	}
	offsets := map[string]map[int32]kgo.Offset{topic: {}}
	for p := range want {
		offsets[topic][p] = kgo.NewOffset().AtStart()
	}
	cl.AddConsumePartitions(offsets)
	prefix := name + "\x00"
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return nil, fmt.Errorf("ingest: read progress: %w", ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Attrs.IsControl() {
				// Only the offset counts.
			} else if k := string(r.Key); strings.HasPrefix(k, prefix) {
				if r.Value == nil {
					delete(out, k[len(prefix):])
				} else {
					out[k[len(prefix):]] = r.Value
				}
			}
			if r.Offset+1 >= want[r.Partition] {
				delete(want, r.Partition)
			}
		})
	}
	return out, nil
}
