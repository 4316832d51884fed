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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
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

// Processor handles the records of a stream app. Process is called from one
// goroutine per app instance, one record at a time, in partition order.
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
	// DLQ is the dead-letter topic. Default "vigil.dlq".
	DLQ string
	// MaxPollRecords bounds a batch. Default 5000.
	MaxPollRecords int
	// TransactionTimeout is the broker-side limit on one transaction.
	// Default 60s.
	TransactionTimeout time.Duration
	// RetryBackoff is the first wait before retrying a retryable failure;
	// it doubles up to MaxRetryBackoff. Defaults 100ms and 10s.
	RetryBackoff, MaxRetryBackoff time.Duration
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
		a.MaxPollRecords = 5000
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
}

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
