package streams

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Runner runs one instance of a stream app.
type Runner struct {
	app   App
	m     *metrics
	ready atomic.Bool
}

// New checks an app description and returns a runner for it.
func New(app App) (*Runner, error) {
	app.EnsureDefaults()
	if err := app.Validate(); err != nil {
		return nil, err
	}
	return &Runner{app: app, m: newMetrics(app.Registerer)}, nil
}

// Ready reports whether the app is connected and running its loop.
func (r *Runner) Ready() bool { return r.ready.Load() }

// Run consumes and processes until ctx is done, then finishes and commits
// the batch in hand, leaves the group and returns nil. A session that fails
// (the broker fences it, a transaction cannot end) is rebuilt after a
// backoff; its uncommitted batch is processed again by whoever owns the
// partitions next.
func (r *Runner) Run(ctx context.Context) error {
	wait := time.Second
	for {
		var err error
		if r.app.Guarantee == AtLeastOnce {
			err = r.runAtLeastOnce(ctx)
		} else {
			err = r.runExactlyOnce(ctx)
		}
		r.ready.Store(false)
		if ctx.Err() != nil || err == nil {
			return nil
		}
		r.app.Logger.Error("stream session failed; starting a new one", "err", err, "backoff", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

func (r *Runner) clientOpts() []kgo.Opt {
	return append(slices.Clone(r.app.Client),
		kgo.ConsumerGroup(r.app.Group),
		kgo.ConsumeTopics(r.app.Inputs...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.WithLogger(KgoLogger(r.app.Logger)),
	)
}

// batch is the work of one poll.
type batch struct {
	out      []*kgo.Record
	consumed map[string]int64
	produced map[string]int64
	dlq      map[string]int64
	errs     map[string]int64
}

func newBatch() *batch {
	return &batch{
		consumed: map[string]int64{},
		produced: map[string]int64{},
		dlq:      map[string]int64{},
		errs:     map[string]int64{},
	}
}

func (b *batch) reset() {
	clear(b.out)
	b.out = b.out[:0]
	clear(b.consumed)
	clear(b.produced)
	clear(b.dlq)
	clear(b.errs)
}

// process runs every record of fetches through the processor, collecting
// outputs and dead letters in b. It returns an error only when ctx ends
// while a retryable failure is being retried, or when the processor's Flush
// fails; the batch must then not commit.
func (r *Runner) process(ctx context.Context, fetches kgo.Fetches, b *batch) error {
	c := &Context{ctx: ctx, app: r.app.Name, dlq: r.app.DLQ}
	for it := fetches.RecordIter(); !it.Done(); {
		rec := it.Next()
		b.consumed[rec.Topic]++
		c.rec = rec
		err := r.processOne(c, rec)
		if err == nil {
			b.out = append(b.out, c.out...)
			if c.dead > 0 {
				b.dlq[rec.Topic] += int64(c.dead)
			}
			continue
		}
		if ctx.Err() != nil && IsRetryable(err) {
			return ctx.Err()
		}
		b.errs[rec.Topic]++
		b.dlq[rec.Topic]++
		b.out = append(b.out, DeadLetter(r.app.DLQ, r.app.Name, rec, err))
		r.app.Logger.Warn("record sent to dead-letter topic",
			"origin", Origin(rec), "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "err", err)
	}
	for _, o := range b.out {
		b.produced[o.Topic]++
	}
	if f, ok := r.app.Processor.(Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
	}
	return nil
}

// processOne calls the processor, retrying retryable failures with backoff
// and turning a panic into an error, so that no input can stop a partition.
func (r *Runner) processOne(c *Context, rec *kgo.Record) error {
	wait := r.app.RetryBackoff
	for {
		c.out, c.dead = c.out[:0], 0
		err := safeProcess(r.app.Processor, c, rec)
		if err == nil || !IsRetryable(err) {
			return err
		}
		r.m.retries.Inc()
		r.app.Logger.Warn("retrying record", "origin", Origin(rec), "err", err, "backoff", wait)
		select {
		case <-c.ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(wait*2, r.app.MaxRetryBackoff)
	}
}

func safeProcess(p Processor, c *Context, rec *kgo.Record) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("processor panic: %v", v)
		}
	}()
	return p.Process(c, rec)
}

func (r *Runner) committed(b *batch, start time.Time) {
	for t, n := range b.consumed {
		r.m.consumed.WithLabelValues(t).Add(float64(n))
	}
	for t, n := range b.produced {
		r.m.produced.WithLabelValues(t).Add(float64(n))
	}
	for t, n := range b.errs {
		r.m.errors.WithLabelValues(t).Add(float64(n))
	}
	for t, n := range b.dlq {
		r.m.dlq.WithLabelValues(t).Add(float64(n))
	}
	r.m.txns.WithLabelValues("committed").Inc()
	r.m.batchTime.Observe(time.Since(start).Seconds())
	if r.app.Observer != nil {
		r.app.Observer.Committed(r.app.Name, b.consumed, b.produced)
	}
}

// produceAll produces outs through produce and waits for every result,
// returning the first error.
func produceAll(ctx context.Context, outs []*kgo.Record, produce func(context.Context, *kgo.Record, func(*kgo.Record, error))) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	wg.Add(len(outs))
	for _, o := range outs {
		produce(ctx, o, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

const endTimeout = 30 * time.Second

func (r *Runner) runExactlyOnce(ctx context.Context) error {
	opts := append(r.clientOpts(),
		kgo.TransactionalID(r.app.Group+"-"+r.app.InstanceID),
		kgo.TransactionTimeout(r.app.TransactionTimeout),
		kgo.RequireStableFetchOffsets(),
	)
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return fmt.Errorf("new transact session: %w", err)
	}
	defer sess.Close()
	if err := sess.Client().Ping(ctx); err != nil {
		return fmt.Errorf("reach brokers: %w", err)
	}
	r.ready.Store(true)

	b := newBatch()
	for {
		fetches := sess.PollRecords(ctx, r.app.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			r.app.Logger.Warn("fetch error", "topic", t, "partition", p, "err", err)
		})
		if fetches.NumRecords() == 0 {
			continue
		}
		start := time.Now()
		if err := sess.Begin(); err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		b.reset()
		// A batch in hand is finished even if ctx ends meanwhile: that is
		// the drain on shutdown. Only a retry loop cut short aborts.
		work, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.app.TransactionTimeout)
		perr := r.process(ctx, fetches, b)
		if perr == nil {
			perr = produceAll(work, b.out, sess.Produce)
		}
		try := kgo.TryCommit
		if perr != nil {
			try = kgo.TryAbort
		}
		committed, err := sess.End(work, try)
		cancel()
		switch {
		case err != nil:
			r.m.txns.WithLabelValues("aborted").Inc()
			return fmt.Errorf("end transaction: %w", err)
		case committed:
			r.committed(b, start)
		default:
			r.m.txns.WithLabelValues("aborted").Inc()
			if perr != nil {
				if ctx.Err() != nil {
					return nil
				}
				r.app.Logger.Warn("batch aborted; it will be processed again", "err", perr)
			} else {
				r.app.Logger.Info("batch aborted by a rebalance; it will be processed again")
			}
		}
	}
}

func (r *Runner) runAtLeastOnce(ctx context.Context) error {
	opts := append(r.clientOpts(),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("new client: %w", err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("reach brokers: %w", err)
	}
	r.ready.Store(true)

	b := newBatch()
	for {
		fetches := cl.PollRecords(ctx, r.app.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			cl.AllowRebalance()
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			r.app.Logger.Warn("fetch error", "topic", t, "partition", p, "err", err)
		})
		if fetches.NumRecords() == 0 {
			cl.AllowRebalance()
			continue
		}
		start := time.Now()
		b.reset()
		work, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.app.TransactionTimeout)
		err := r.process(ctx, fetches, b)
		if err == nil {
			err = produceAll(work, b.out, cl.Produce)
		}
		if err == nil {
			err = cl.CommitUncommittedOffsets(work)
		}
		cancel()
		cl.AllowRebalance()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("commit batch: %w", err)
		}
		r.committed(b, start)
	}
}

// KgoLogger adapts a slog.Logger to franz-go's logger interface, passing on
// warnings and errors.
func KgoLogger(l *slog.Logger) kgo.Logger { return kgoLogger{l} }

type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelInfo
	switch level {
	case kgo.LogLevelError:
		lv = slog.LevelError
	case kgo.LogLevelWarn:
		lv = slog.LevelWarn
	case kgo.LogLevelDebug:
		lv = slog.LevelDebug
	}
	k.l.Log(context.Background(), lv, "kafka: "+msg, keyvals...)
}
