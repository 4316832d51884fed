// Package streams runs vigil's stream apps: consumer groups that read input
// topics, process each record, and write results to output topics.
//
// An App names its group, inputs and a Processor. The runtime polls a batch,
// hands each record to the processor, and commits the batch's outputs and
// input offsets together: in one Kafka transaction under ExactlyOnce (the
// default), or by flushing outputs and then committing offsets under
// AtLeastOnce. A record whose processing fails with a non-retryable error goes
// to the dead-letter topic with the reason in headers, and the partition keeps
// flowing.
package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/state"
)

// Guarantee is a stream app's delivery guarantee.
type Guarantee int

const (
	// ExactlyOnce commits outputs and input offsets in one Kafka transaction,
	// and reads inputs with read_committed isolation. It is the default.
	ExactlyOnce Guarantee = iota
	// AtLeastOnce flushes outputs, then commits input offsets. After a crash
	// the last uncommitted batch is processed again, so outputs may repeat.
	// It suits sinks whose writes are idempotent.
	AtLeastOnce
)

// String returns the guarantee's config spelling.
func (g Guarantee) String() string {
	switch g {
	case ExactlyOnce:
		return "exactly_once"
	case AtLeastOnce:
		return "at_least_once"
	}
	return fmt.Sprintf("Guarantee(%d)", int(g))
}

// ParseGuarantee parses "exactly_once" or "at_least_once".
func ParseGuarantee(s string) (Guarantee, error) {
	switch s {
	case "exactly_once":
		return ExactlyOnce, nil
	case "at_least_once":
		return AtLeastOnce, nil
	}
	return 0, fmt.Errorf("guarantee %q must be exactly_once or at_least_once", s)
}

// Processor handles the records of a stream app. Process is called one
// record at a time per partition, in offset order; different partitions may
// be processed concurrently (see App.Parallelism).
type Processor interface {
	// Process handles one input record and emits outputs through c. If it
	// returns an error, the outputs it emitted for this record are dropped;
	// a Retryable error is retried with backoff, any other error sends the
	// record to the dead-letter topic.
	Process(c *Context, r *kgo.Record) error
}

// ProcessorFunc adapts a function to a Processor.
type ProcessorFunc func(c *Context, r *kgo.Record) error

// Process calls f.
func (f ProcessorFunc) Process(c *Context, r *kgo.Record) error { return f(c, r) }

// Flusher is implemented by processors that buffer writes outside Kafka (a
// sink writing a file). Flush is called after every batch and before its
// offsets commit; if it fails, the batch is not committed.
type Flusher interface {
	Flush(ctx context.Context) error
}

// TimerHandler is implemented by processors that set timers.
type TimerHandler interface {
	// OnTimer is called when a timer is due: an event-time timer once the
	// task's stream time reaches it, a wall-clock timer once the clock
	// does. It runs in a batch like Process; c.Record() is nil.
	OnTimer(c *Context, t Timer) error
}

// StreamTimeHandler is implemented by processors that act when a task's
// stream time advances, to close windows.
type StreamTimeHandler interface {
	// OnStreamTime is called after a batch for each task whose stream time
	// advanced, with the new stream time.
	OnStreamTime(c *Context, streamTime time.Time) error
}

// Observer is told what each app committed. Calls come from the app's
// goroutine; implementations must be safe for concurrent use across apps.
type Observer interface {
	// Committed reports, for one committed batch, how many records were
	// consumed from each input topic and produced to each output topic.
	Committed(app string, consumed, produced map[string]int64)
}

// retryable marks an error as worth retrying.
type retryable struct{ err error }

func (e retryable) Error() string { return e.err.Error() }
func (e retryable) Unwrap() error { return e.err }

// Retryable wraps err so that the runtime retries the record with backoff
// instead of dead-lettering it. Use it for failures of a dependency (a
// lookup service away, a full disk), not for bad input.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return retryable{err}
}

// IsRetryable reports whether err was marked with Retryable.
func IsRetryable(err error) bool {
	var r retryable
	return errors.As(err, &r)
}

// App describes a stream app.
type App struct {
	// Name is the app's name, in logs and dead-letter headers. Required.
	Name string
	// Group is the consumer group id. Default: Name.
	Group string
	// Inputs are the topics the app consumes. Required.
	Inputs []string
	// Processor handles each record. Required.
	Processor Processor
	// Guarantee defaults to ExactlyOnce.
	Guarantee Guarantee
	// Client holds the base client options: seed brokers, TLS, SASL.
	Client []kgo.Opt
	// InstanceID distinguishes processes of the same app; the transactional
	// id is Group + "-" + InstanceID. Default "0".
	InstanceID string
	// StaticMembership joins the group as a static member with InstanceID
	// as its group.instance.id: a process restarted with the same id takes
	// its partitions back at once instead of waiting for the session
	// timeout. A static member does not leave the group when it stops, so
	// its partitions move only after the session timeout. Default off.
	StaticMembership bool
	// DLQ is the dead-letter topic. Default "vigil.dlq".
	DLQ string
	// MaxPollRecords bounds a poll. Default 10000.
	MaxPollRecords int
	// CommitInterval is how long an exactly-once transaction stays open
	// across polls: a key written many times in it goes to its changelog
	// once. Outputs become visible to read_committed consumers when it
	// commits. Default 100ms.
	CommitInterval time.Duration
	// MaxTxnRecords ends a transaction early once it holds this many input
	// records. Default 100000.
	MaxTxnRecords int
	// Parallelism is how many partitions of a batch are processed at once,
	// each by its own goroutine. Default: GOMAXPROCS. With more than one,
	// the Processor is called concurrently for different partitions (never
	// for the same one) and must be safe for that.
	Parallelism int
	// TransactionTimeout is the broker-side limit on one transaction.
	// Default 60s.
	TransactionTimeout time.Duration
	// RetryBackoff is the first wait before retrying a retryable failure;
	// it doubles up to MaxRetryBackoff. Defaults 100ms and 10s.
	RetryBackoff, MaxRetryBackoff time.Duration
	// Stores are the app's state stores. Each task (input partition) has
	// its own instance of each, written through to the compacted changelog
	// topic ChangelogTopic(name), and restored from it when the task is
	// assigned. An app with stores also keeps its stream time and timers
	// per task.
	Stores []state.Spec
	// State configures the local database of the stores. State.Dir is
	// required for an app with stores; the app keeps its own subdirectory.
	State state.Options
	// ChangelogTopic names a store's changelog. Default: Group + "-" +
	// store + "-changelog".
	ChangelogTopic func(store string) string
	// EventTime returns a record's event time. Default: its timestamp.
	EventTime func(*kgo.Record) time.Time
	// IdleTimeout is how long a task may go without records before its
	// stream time advances with the wall clock, so that its windows close
	// and its event-time timers fire. Zero (the default) never advances it.
	IdleTimeout time.Duration
	// PunctuateInterval is how often wall-clock timers and idle tasks are
	// checked when no records arrive. Default 1s.
	PunctuateInterval time.Duration
	// Tables are global tables the app looks up: each instance keeps a
	// full copy, caught up before the app starts processing. An app with
	// tables needs State.Dir.
	Tables []TableSpec
	// RepartitionTopic, if set, is consumed along with the inputs and is
	// where Context.Repartition writes.
	RepartitionTopic string
	// LateTopic receives records later than a window's grace period.
	// Default "vigil.late".
	LateTopic string
	// Logger defaults to a no-op logger.
	Logger *slog.Logger
	// Registerer registers the app's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Observer, if not nil, is told about every committed batch.
	Observer Observer
}

// EnsureDefaults fills unset fields with their defaults.
func (a *App) EnsureDefaults() {
	if a.Group == "" {
		a.Group = a.Name
	}
	if a.InstanceID == "" {
		a.InstanceID = "0"
	}
	if a.DLQ == "" {
		a.DLQ = "vigil.dlq"
	}
	if a.MaxPollRecords <= 0 {
		a.MaxPollRecords = 10000
	}
	if a.CommitInterval <= 0 {
		a.CommitInterval = 100 * time.Millisecond
	}
	if a.MaxTxnRecords <= 0 {
		a.MaxTxnRecords = 100000
	}
	if a.Parallelism <= 0 {
		a.Parallelism = runtime.GOMAXPROCS(0)
	}
	if a.TransactionTimeout <= 0 {
		a.TransactionTimeout = 60 * time.Second
	}
	if a.RetryBackoff <= 0 {
		a.RetryBackoff = 100 * time.Millisecond
	}
	if a.MaxRetryBackoff <= 0 {
		a.MaxRetryBackoff = 10 * time.Second
	}
	if a.Logger == nil {
		a.Logger = slog.New(slog.DiscardHandler)
	}
	if a.ChangelogTopic == nil {
		group := a.Group
		a.ChangelogTopic = func(store string) string { return group + "-" + store + "-changelog" }
	}
	if a.EventTime == nil {
		a.EventTime = func(r *kgo.Record) time.Time { return r.Timestamp }
	}
	if a.PunctuateInterval <= 0 {
		a.PunctuateInterval = time.Second
	}
	if a.LateTopic == "" {
		a.LateTopic = "vigil.late"
	}
}

// stateful reports whether the app keeps state per task.
func (a *App) stateful() bool { return len(a.Stores) > 0 }

// needsDB reports whether the app keeps a local database.
func (a *App) needsDB() bool { return a.stateful() || len(a.Tables) > 0 }

// Validate returns every problem with the app description.
func (a *App) Validate() error {
	var errs []error
	if a.Name == "" {
		errs = append(errs, errors.New("streams: app name is empty"))
	}
	if len(a.Inputs) == 0 {
		errs = append(errs, fmt.Errorf("streams: app %q has no inputs", a.Name))
	}
	if a.Processor == nil {
		errs = append(errs, fmt.Errorf("streams: app %q has no processor", a.Name))
	}
	if a.Guarantee != ExactlyOnce && a.Guarantee != AtLeastOnce {
		errs = append(errs, fmt.Errorf("streams: app %q: unknown guarantee %d", a.Name, a.Guarantee))
	}
	seen := map[string]bool{}
	for i := range a.Stores {
		s := &a.Stores[i]
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("streams: app %q: %w", a.Name, err))
		}
		if strings.HasPrefix(s.Name, "_") {
			errs = append(errs, fmt.Errorf("streams: app %q: store names beginning with _ are the runtime's", a.Name))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("streams: app %q: store %q declared twice", a.Name, s.Name))
		}
		seen[s.Name] = true
	}
	if a.needsDB() && a.State.Dir == "" {
		errs = append(errs, fmt.Errorf("streams: app %q has stores or tables but no State.Dir", a.Name))
	}
	tables := map[string]bool{}
	for _, t := range a.Tables {
		if t.Name == "" || t.Topic == "" || tables[t.Name] {
			errs = append(errs, fmt.Errorf("streams: app %q: table %q needs a unique name and a topic", a.Name, t.Name))
		}
		tables[t.Name] = true
	}
	return errors.Join(errs...)
}

// Context is what a Processor sees of the runtime while it handles one record.
// It is valid only during the Process call it was passed to.
type Context struct {
	ctx  context.Context
	out  []*kgo.Record
	rec  *kgo.Record
	app  string
	dlq  string
	dead int
	late int

	r    *Runner
	txn  *state.Txn
	task *task
}

// Record returns the record being processed; nil in a timer.
func (c *Context) Record() *kgo.Record { return c.rec }

// Partition returns the task's partition.
func (c *Context) Partition() int32 {
	if c.task != nil {
		return c.task.p
	}
	if c.rec != nil {
		return c.rec.Partition
	}
	return -1
}

// EventTime returns the event time of the record being processed.
func (c *Context) EventTime() time.Time {
	if c.rec == nil {
		return time.Time{}
	}
	return c.r.app.EventTime(c.rec)
}

// StreamTime returns the task's stream time: the latest event time it has
// seen, advanced by the wall clock while it is idle (see App.IdleTimeout).
// It is the zero time before the first record.
func (c *Context) StreamTime() time.Time {
	if c.task == nil || c.task.streamTime == noTime {
		return time.Time{}
	}
	return time.UnixMilli(c.task.streamTime).UTC()
}

func (c *Context) spec(name string, kind state.Kind) state.Spec {
	if c.txn == nil || c.task == nil {
		panic(fmt.Sprintf("streams: store %q used outside a stateful app's processing", name))
	}
	s, ok := c.r.specs[name]
	if !ok || s.Kind != kind {
		panic(fmt.Sprintf("streams: app %q has no store %q of that kind", c.app, name))
	}
	return s
}

// KV returns the task's instance of the key-value store name.
func (c *Context) KV(name string) *state.KVStore {
	c.spec(name, state.KindKV)
	return c.txn.KV(name, c.task.p)
}

// Window returns the task's instance of the window store name.
func (c *Context) Window(name string) *state.WindowStore {
	return c.txn.Window(c.spec(name, state.KindWindow), c.task.p)
}

// Repartition writes a record keyed by key to the app's repartition topic;
// the app consumes it again, in the task that owns the key.
func (c *Context) Repartition(key, value []byte, headers ...kgo.RecordHeader) {
	if c.r.app.RepartitionTopic == "" {
		panic(fmt.Sprintf("streams: app %q has no repartition topic", c.app))
	}
	c.Emit(c.r.app.RepartitionTopic, key, value, headers...)
}

// Late sends the record being processed to the late topic, with the reason
// in a header, and counts it.
func (c *Context) Late(reason string) {
	if c.rec == nil {
		return
	}
	h := append(append([]kgo.RecordHeader(nil), c.rec.Headers...),
		kgo.RecordHeader{Key: HeaderLate, Value: []byte(reason)},
		kgo.RecordHeader{Key: HeaderApp, Value: []byte(c.app)},
		kgo.RecordHeader{Key: HeaderFromTopic, Value: []byte(c.rec.Topic)},
	)
	c.out = append(c.out, &kgo.Record{Topic: c.r.app.LateTopic, Key: c.rec.Key, Value: c.rec.Value, Headers: h, Timestamp: c.rec.Timestamp})
	c.late++
}

// Context returns the context of the running app; it is done when the app is
// asked to stop.
func (c *Context) Context() context.Context { return c.ctx }

// Emit queues a record for an output topic. It is written when the batch
// commits, and dropped if Process returns an error.
func (c *Context) Emit(topic string, key, value []byte, headers ...kgo.RecordHeader) {
	c.out = append(c.out, &kgo.Record{Topic: topic, Key: key, Value: value, Headers: headers})
}

// EmitRecord queues a prepared record; its Topic must be set.
func (c *Context) EmitRecord(r *kgo.Record) { c.out = append(c.out, r) }

// DeadLetter sends part of the input record to the dead-letter topic: value
// with reason, under origin (the input's origin if empty). Use it when one
// input holds several items and only some fail, so the good ones flow on.
// Like Emit, it takes effect only if Process returns nil.
func (c *Context) DeadLetter(value []byte, origin string, reason error) {
	d := DeadLetter(c.dlq, c.app, c.rec, reason)
	d.Value = value
	if origin != "" {
		h := make([]kgo.RecordHeader, 0, len(d.Headers))
		for _, x := range d.Headers {
			if x.Key != HeaderOrigin {
				h = append(h, x)
			}
		}
		d.Headers = append(h, kgo.RecordHeader{Key: HeaderOrigin, Value: []byte(origin)})
	}
	c.out = append(c.out, d)
	c.dead++
}
