package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/state"
)

// Runner runs one instance of a stream app.
type Runner struct {
	app   App
	m     *metrics
	ready atomic.Bool

	// Set while a stateful app runs.
	db         *state.DB
	admin      *kgo.Client
	tasks      *tasks
	specs      map[string]state.Spec
	allSpecs   []state.Spec
	changelogs []string
	storeOf    map[string]string // changelog topic -> store
	statsAt    time.Time         // when the state gauges were last set
	topicOf    map[string]string // store -> changelog topic
}

// New checks an app description and returns a runner for it.
func New(app App) (*Runner, error) {
	app.EnsureDefaults()
	if err := app.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{app: app, m: newMetrics(app.Registerer)}

	if app.stateful() {
		r.allSpecs = append([]state.Spec{taskStore, timerStore}, app.Stores...)
		r.specs = map[string]state.Spec{}
		r.storeOf = map[string]string{}
		r.topicOf = map[string]string{}
		for _, s := range r.allSpecs {
			r.specs[s.Name] = s
			t := app.ChangelogTopic(s.Name)
			r.changelogs = append(r.changelogs, t)
			r.storeOf[t] = s.Name
			r.topicOf[s.Name] = t
		}
	}
	return r, nil
}

// Ready reports whether the app is connected and running its loop.
func (r *Runner) Ready() bool { return r.ready.Load() }

// Inputs returns the topics the app consumes.
func (r *Runner) Inputs() []string {
	in := slices.Clone(r.app.Inputs)
	if r.app.RepartitionTopic != "" {
		in = append(in, r.app.RepartitionTopic)
	}
	return in
}

// Run consumes and processes until ctx is done, then finishes and commits
// the batch in hand, leaves the group and returns nil. A session that fails
// (the broker fences it, a transaction cannot end) is rebuilt after a
// backoff; its uncommitted batch is processed again by whoever owns the
// partitions next.
func (r *Runner) Run(ctx context.Context) error {
	if r.app.needsDB() {
		dir := filepath.Join(r.app.State.Dir, r.app.Group)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("streams: state dir: %w", err)
		}
		opts := r.app.State
		opts.Dir = dir
		if opts.Logger == nil {
			opts.Logger = r.app.Logger
		}
		db, err := state.Open(opts)
		if err != nil {
			return err
		}
		defer db.Close()
		r.db = db
		admin, err := kgo.NewClient(append(slices.Clone(r.app.Client), kgo.WithLogger(KgoLogger(r.app.Logger)))...)
		if err != nil {
			return err
		}
		defer admin.Close()
		r.admin = admin
	}
	if len(r.app.Tables) > 0 {
		tctx, stop := context.WithCancel(ctx)
		ready := make(chan error, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.runTables(tctx, ready)
		}()
		defer func() {
			stop()
			<-done
		}()
		select {
		case err := <-ready:
			if err != nil {
				return fmt.Errorf("streams: global tables: %w", err)
			}
		case <-ctx.Done():
			return nil
		}
	}
	wait := time.Second
	for {
		err := r.ensureTopics(ctx)
		if err == nil {
			if r.app.Guarantee == AtLeastOnce {
				err = r.runAtLeastOnce(ctx)
			} else {
				err = r.runExactlyOnce(ctx)
			}
		}
		r.ready.Store(false)
		if ctx.Err() != nil || err == nil {
			return nil
		}
		r.m.sessions.Inc()
		r.app.Logger.Error("stream session failed; starting a new one", "err", err, "backoff", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// InternalTopic is a topic the runtime creates for an app when it starts:
// its repartition topic or a store's changelog, with as many partitions as
// the app's widest input.
type InternalTopic struct {
	Name string
	// Config is the topic's configuration (cleanup.policy, retention.ms).
	Config map[string]string
}

// InternalTopics returns the topics the runtime creates for the app.
func (r *Runner) InternalTopics() []InternalTopic {
	var out []InternalTopic
	if t := r.app.RepartitionTopic; t != "" {
		out = append(out, InternalTopic{Name: t, Config: map[string]string{}})
	}
	for _, spec := range r.allSpecs {
		cfg := map[string]string{"cleanup.policy": "compact"}
		if spec.Kind == state.KindWindow {
			cfg["cleanup.policy"] = "compact,delete"
			cfg["retention.ms"] = strconv.FormatInt((spec.Retention + 24*time.Hour).Milliseconds(), 10)
		}
		out = append(out, InternalTopic{Name: r.app.ChangelogTopic(spec.Name), Config: cfg})
	}
	return out
}

// ensureTopics creates the repartition topic and the changelog topics that
// do not exist yet, with as many partitions as the widest input. Existing
// ones are not created again, so that credentials that may not create
// topics do once an operator has (vigil topics --create).
func (r *Runner) ensureTopics(ctx context.Context) error {
	internal := r.InternalTopics()
	if len(internal) == 0 {
		return nil
	}
	admin := r.admin
	if admin == nil {
		cl, err := kgo.NewClient(append(slices.Clone(r.app.Client), kgo.WithLogger(KgoLogger(r.app.Logger)))...)
		if err != nil {
			return err
		}
		defer cl.Close()
		admin = cl
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(admin)
	details, err := adm.ListTopics(ctx, r.app.Inputs...)
	if err != nil {
		return fmt.Errorf("describe inputs: %w", err)
	}
	var parts int32
	for _, in := range r.app.Inputs {
		d, ok := details[in]
		if !ok || d.Err != nil {
			return fmt.Errorf("input topic %s: %v", in, d.Err)
		}
		parts = max(parts, int32(len(d.Partitions)))
	}
	// All topics are listed: naming missing ones in a metadata request
	// would have a broker that creates topics on use create them, with
	// its defaults.
	existing, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	for _, t := range internal {
		if existing.Has(t.Name) {
			continue
		}
		cfg := map[string]*string{}
		for k, v := range t.Config {
			cfg[k] = ptr(v)
		}
		resp, err := adm.CreateTopic(ctx, parts, -1, cfg, t.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", t.Name, err)
		}
	}
	if !r.app.stateful() {
		return nil
	}
	cls, err := adm.ListTopics(ctx, r.changelogs...)
	if err != nil {
		return err
	}
	for _, t := range r.changelogs {
		if n := int32(len(cls[t].Partitions)); n < parts {
			return fmt.Errorf("changelog %s has %d partitions, fewer than the %d of the inputs", t, n, parts)
		}
	}
	return nil
}

func ptr(s string) *string { return &s }

func (r *Runner) clientOpts() []kgo.Opt {
	// Small fetches per partition make a poll span partitions, which are
	// then processed concurrently. The app's own options come after and
	// may override this.
	opts := append([]kgo.Opt{kgo.FetchMaxPartitionBytes(256 << 10)}, r.app.Client...)
	opts = append(opts,
		kgo.ConsumerGroup(r.app.Group),
		kgo.ConsumeTopics(r.Inputs()...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.WithLogger(KgoLogger(r.app.Logger)),
	)
	if r.app.StaticMembership {
		opts = append(opts, kgo.InstanceID(r.app.InstanceID))
	}
	if r.app.stateful() {
		manual := map[string]bool{}
		for _, t := range r.changelogs {
			manual[t] = true
		}
		opts = append(opts,
			kgo.RecordPartitioner(changelogPartitioner{manual: manual, def: kgo.StickyKeyPartitioner(nil)}),
			kgo.OnPartitionsAssigned(r.tasks.onAssigned),
			kgo.OnPartitionsRevoked(r.tasks.onRevoked),
			kgo.OnPartitionsLost(r.tasks.onRevoked),
		)
		if len(r.Inputs()) > 1 {
			// Tasks span inputs by partition number: the range
			// balancer gives each member the same numbers of every
			// input with as many partitions.
			opts = append(opts, kgo.Balancers(kgo.RangeBalancer()))
		}
	}
	return opts
}

// batch is the work of one poll.
type batch struct {
	out      []*kgo.Record
	consumed map[string]int64
	produced map[string]int64
	dlq      map[string]int64
	errs     map[string]int64
	late     map[string]int64
	txns     map[int32]*state.Txn // per task, across the polls of a transaction
	records  int                  // input records in the transaction
	start    time.Time

	workCtx context.Context // produces and the end of the transaction
	cancel  context.CancelFunc
	wg      sync.WaitGroup // produces in flight
	mu      sync.Mutex
	failed  error                      // the first produce error
	markers map[string]map[int32]int64 // store -> partition -> changelog offset
}

// work is one partition's share of a batch. The partitions of a batch are
// processed concurrently, each by one goroutine with its own Context and,
// for stateful apps, its own state transaction.
type work struct {
	p        int32
	t        *task
	recs     []*kgo.Record
	txn      *state.Txn
	out      []*kgo.Record
	consumed map[string]int64
	dlq      map[string]int64
	errs     map[string]int64
	late     map[string]int64
	err      error
}

func newWork(p int32) *work {
	return &work{p: p, consumed: map[string]int64{}, dlq: map[string]int64{}, errs: map[string]int64{}, late: map[string]int64{}}
}

func newBatch() *batch {
	return &batch{
		consumed: map[string]int64{},
		produced: map[string]int64{},
		dlq:      map[string]int64{},
		errs:     map[string]int64{},
		late:     map[string]int64{},
		markers:  map[string]map[int32]int64{},
		txns:     map[int32]*state.Txn{},
	}
}

func (b *batch) reset() {
	clear(b.out)
	b.out = b.out[:0]
	clear(b.consumed)
	clear(b.produced)
	clear(b.dlq)
	clear(b.errs)
	clear(b.late)
	clear(b.markers)
	clear(b.txns)
	b.records, b.failed = 0, nil
	b.start = time.Now()
}

// flushTo moves the context's outputs into its partition's work.
func (c *Context) flushTo(w *work) {
	w.out = append(w.out, c.out...)
	if c.dead > 0 && c.rec != nil {
		w.dlq[c.rec.Topic] += int64(c.dead)
	}
	if c.late > 0 && c.rec != nil {
		w.late[c.rec.Topic] += int64(c.late)
	}
	c.out, c.dead, c.late = c.out[:0], 0, 0
}

// process runs every record of fetches through the processor, then the
// timers and stream-time handlers of the tasks involved; with no fetches it
// punctuates: idle tasks advance and due timers fire. The partitions of the
// batch run concurrently. Outputs, dead letters and changelog records
// collect in b, in partition order. It returns an error when the batch must
// not commit: ctx ended during a retry, a task could not be restored, the
// processor's Flush failed.
func (r *Runner) process(ctx context.Context, fetches kgo.Fetches, b *batch) error {
	now := time.Now()
	byPart := map[int32]*work{}
	var order []int32
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		w := byPart[fp.Partition]
		if w == nil {
			w = newWork(fp.Partition)
			byPart[fp.Partition] = w
			order = append(order, fp.Partition)
		}
		w.recs = append(w.recs, fp.Records...)
	})
	if r.app.stateful() {
		if len(fetches) == 0 {
			for p, t := range r.tasks.live {
				t.idleAdvance(now, r.app.IdleTimeout)
				if t.due(now) {
					byPart[p] = newWork(p)
					order = append(order, p)
				}
			}
		}
		// Restores run one at a time, before the concurrent work.
		for _, p := range order {
			t, err := r.tasks.get(ctx, p)
			if err != nil {
				return err
			}
			w := byPart[p]
			w.t = t
			if w.txn = b.txns[p]; w.txn == nil {
				w.txn = r.db.Begin()
				b.txns[p] = w.txn
			}
		}
	}
	slices.Sort(order)
	par := max(1, min(r.app.Parallelism, len(order)))
	if par == 1 {
		for _, p := range order {
			r.processPartition(ctx, byPart[p], now)
		}
	} else {
		next := make(chan *work)
		var wg sync.WaitGroup
		for i := 0; i < par; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for w := range next {
					r.processPartition(ctx, w, now)
				}
			}()
		}
		for _, p := range order {
			next <- byPart[p]
		}
		close(next)
		wg.Wait()
	}
	for _, p := range order {
		w := byPart[p]
		if w.err != nil {
			return w.err
		}
		b.out = append(b.out, w.out...)
		for _, m := range []struct{ dst, src map[string]int64 }{
			{b.consumed, w.consumed}, {b.dlq, w.dlq}, {b.errs, w.errs}, {b.late, w.late},
		} {
			for k, v := range m.src {
				m.dst[k] += v
			}
		}
	}
	b.records += fetches.NumRecords()
	if f, ok := r.app.Processor.(Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
	}
	return nil
}

// processPartition runs one partition's share of a batch.
func (r *Runner) processPartition(ctx context.Context, w *work, now time.Time) {
	c := &Context{ctx: ctx, app: r.app.Name, dlq: r.app.DLQ, r: r, txn: w.txn, task: w.t}
	for _, rec := range w.recs {
		w.consumed[rec.Topic]++
		c.rec = rec
		if w.t != nil {
			w.t.observe(r.app.EventTime(rec), now)
		}
		err := r.processOne(c, rec)
		if err == nil {
			c.flushTo(w)
			continue
		}
		if ctx.Err() != nil && IsRetryable(err) {
			w.err = ctx.Err()
			return
		}
		c.out, c.dead, c.late = c.out[:0], 0, 0
		w.errs[rec.Topic]++
		w.dlq[rec.Topic]++
		w.out = append(w.out, DeadLetter(r.app.DLQ, r.app.Name, rec, err))
		r.app.Logger.Warn("record sent to dead-letter topic",
			"origin", Origin(rec), "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "err", err)
	}
	if w.t == nil {
		return
	}
	c.rec = nil
	if err := r.firePending(c, w, now); err != nil {
		w.err = err
		return
	}
}

// changelogRecords are the changelog records of the transaction's state
// writes: the last value of each key written, once, however many polls
// wrote it.
func (r *Runner) changelogRecords(b *batch) []*kgo.Record {
	parts := make([]int32, 0, len(b.txns))
	for p := range b.txns {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	changes := make([][]state.Change, len(parts))
	n := 0
	for i, p := range parts {
		changes[i] = b.txns[p].Changes()
		n += len(changes[i])
	}
	// The records in one allocation.
	recs := make([]kgo.Record, n)
	out := make([]*kgo.Record, n)
	i := 0
	for _, cs := range changes {
		for _, ch := range cs {
			recs[i] = kgo.Record{Topic: r.topicOf[ch.Store], Partition: ch.Partition, Key: ch.Key, Value: ch.Value}
			out[i] = &recs[i]
			i++
		}
	}
	return out
}

// processOne calls the processor, retrying retryable failures with backoff
// and turning a panic into an error, so that no input can stop a partition.
// The record's state writes are undone if it fails.
func (r *Runner) processOne(c *Context, rec *kgo.Record) error {
	wait := r.app.RetryBackoff
	for {
		c.out, c.dead, c.late = c.out[:0], 0, 0
		if c.txn != nil {
			c.txn.Savepoint()
		}
		err := safeProcess(r.app.Processor, c, rec)
		if c.txn != nil {
			if err == nil {
				c.txn.Release()
			} else if rbErr := c.txn.Rollback(); rbErr != nil {
				return fmt.Errorf("undo state writes: %w", rbErr)
			}
		}
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

// produceAsync produces recs through produce without waiting; wait
// returns the first error once every record is acknowledged. Offsets of
// changelog records become the batch's markers.
func (r *Runner) produceAsync(ctx context.Context, b *batch, recs []*kgo.Record, produce func(context.Context, *kgo.Record, func(*kgo.Record, error))) {
	b.wg.Add(len(recs))
	promise := func(rec *kgo.Record, err error) {
		defer b.wg.Done()
		b.mu.Lock()
		defer b.mu.Unlock()
		if err != nil {
			if b.failed == nil {
				b.failed = err
			}
			return
		}
		if store, ok := r.storeOf[rec.Topic]; ok {
			m := b.markers[store]
			if m == nil {
				m = map[int32]int64{}
				b.markers[store] = m
			}
			m[rec.Partition] = max(m[rec.Partition], rec.Offset)
		}
	}
	for _, o := range recs {
		b.produced[o.Topic]++
		produce(ctx, o, promise)
	}
}

func (b *batch) cancelWork() {
	if b.cancel != nil {
		b.cancel()
		b.cancel = nil
	}
}

// wait waits for every record produced in the batch and returns the first
// error.
func (b *batch) wait() error {
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failed
}

// commitLocal writes the batch's state after its Kafka commit: each task's
// transaction with the changelog offsets it now reflects.
func (r *Runner) commitLocal(b *batch) error {
	for store, ps := range b.markers {
		for p, off := range ps {
			if txn := b.txns[p]; txn != nil {
				if err := txn.SetMarker(store, p, off); err != nil {
					return err
				}
			}
		}
	}
	// The tasks' transactions are independent: they commit concurrently.
	errs := make(chan error, len(b.txns))
	var wg sync.WaitGroup
	for p, txn := range b.txns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := txn.Commit(); err != nil {
				errs <- fmt.Errorf("commit local state of partition %d: %w", p, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// abortLocal drops the batch's state writes and the in-memory task state
// they went with; tasks reload from the local copy, which is current.
func (r *Runner) abortLocal(b *batch) {
	if len(b.txns) == 0 {
		return
	}
	for _, txn := range b.txns {
		txn.Discard()
	}
	clear(b.txns)
	for p := range r.tasks.live {
		delete(r.tasks.live, p)
		r.m.tasks.Dec()
	}
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
	for t, n := range b.late {
		r.m.late.WithLabelValues(t).Add(float64(n))
	}
	r.m.txns.WithLabelValues("committed").Inc()
	r.m.batchTime.Observe(time.Since(start).Seconds())
	if r.app.Observer != nil {
		r.app.Observer.Committed(r.app.Name, b.consumed, b.produced)
	}
}

const endTimeout = 30 * time.Second

// poll polls, waking up by wait at the latest; wait <= 0 waits for records.
func (r *Runner) poll(ctx context.Context, wait time.Duration, poll func(context.Context, int) kgo.Fetches) kgo.Fetches {
	if wait <= 0 {
		return poll(ctx, r.app.MaxPollRecords)
	}
	pctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return poll(pctx, r.app.MaxPollRecords)
}

func (r *Runner) fetchErrors(fetches kgo.Fetches) {
	fetches.EachError(func(t string, p int32, err error) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		r.app.Logger.Warn("fetch error", "topic", t, "partition", p, "err", err)
	})
}

// punctuationDue reports whether an empty poll should still run a batch.
func (r *Runner) punctuationDue() bool {
	if !r.app.stateful() {
		return false
	}
	now := time.Now()
	for _, t := range r.tasks.live {
		if t.due(now) || r.app.IdleTimeout > 0 && t.streamTime != noTime && now.Sub(t.lastRecord) >= r.app.IdleTimeout {
			return true
		}
	}
	return false
}

func (r *Runner) runExactlyOnce(ctx context.Context) error {
	if r.app.stateful() {
		r.tasks = newTasks(r)
	}
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
	if r.app.stateful() {
		// Initializing the producer id fences an earlier incarnation and
		// aborts its open transaction, so changelogs read to their end.
		if _, _, err := sess.Client().ProducerID(ctx); err != nil {
			return fmt.Errorf("initialize producer id: %w", err)
		}
	}
	r.ready.Store(true)

	// A transaction spans polls until CommitInterval has passed (or
	// MaxTxnRecords are in it): outputs go out as each poll is processed;
	// each state key written goes to its changelog once, at the end.
	b := newBatch()
	open := false
	var perr error
	defer b.cancelWork()
	for {
		if r.tasks != nil && !open {
			if err := r.tasks.sync(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("restore tasks: %w", err)
			}
		}
		wait := time.Duration(0)
		if r.app.stateful() {
			wait = r.app.PunctuateInterval
		}
		if open {
			wait = max(time.Millisecond, min(r.app.CommitInterval-time.Since(b.start), r.app.PunctuateInterval))
		}
		fetches := r.poll(ctx, wait, sess.PollRecords)
		closing := fetches.IsClientClosed() || ctx.Err() != nil
		if !closing {
			r.fetchErrors(fetches)
			busy := fetches.NumRecords() > 0
			if !busy && r.punctuationDue() {
				busy, fetches = true, nil
			}
			if busy && perr == nil {
				if !open {
					if err := sess.Begin(); err != nil {
						return fmt.Errorf("begin transaction: %w", err)
					}
					b.reset()
					open = true
					// A transaction in hand is finished even if ctx
					// ends meanwhile: that is the drain on shutdown.
					b.workCtx, b.cancel = context.WithTimeout(context.WithoutCancel(ctx), r.app.TransactionTimeout)
				}
				if perr = r.process(ctx, fetches, b); perr == nil {
					r.produceAsync(b.workCtx, b, b.out, sess.Produce)
					clear(b.out)
					b.out = b.out[:0]
				}
			}
		}
		if open && (closing || perr != nil || time.Since(b.start) >= r.app.CommitInterval || b.records >= r.app.MaxTxnRecords) {
			err := r.endTransaction(ctx, sess, b, perr)
			b.cancelWork()
			if err != nil {
				return err
			}
			open, perr = false, nil
		}
		if closing {
			return nil
		}
	}
}

// stateGauges sets the gauges of the local state's sizes, every few
// seconds (Pebble's metrics take some work).
func (r *Runner) stateGauges() {
	if r.db == nil || time.Since(r.statsAt) < 5*time.Second {
		return
	}
	r.statsAt = time.Now()
	st := r.db.Stats()
	r.m.stateDisk.Set(float64(st.DiskBytes))
	r.m.stateBuffer.Set(float64(st.WriteBufferBytes))
	r.m.stateCache.Set(float64(st.RecordCacheBytes))
}

// endTransaction produces the transaction's changelog records, waits for
// everything it produced and ends it: committing, unless processing failed
// or a rebalance intervened, then writes or drops the local state.
func (r *Runner) endTransaction(ctx context.Context, sess *kgo.GroupTransactSession, b *batch, perr error) error {
	if perr == nil {
		r.produceAsync(b.workCtx, b, r.changelogRecords(b), sess.Produce)
	}
	if err := b.wait(); err != nil && perr == nil {
		perr = err
	}
	try := kgo.TryCommit
	if perr != nil {
		try = kgo.TryAbort
	}
	committed, err := sess.End(b.workCtx, try)
	switch {
	case err != nil:
		r.abortLocal(b)
		r.m.txns.WithLabelValues("aborted").Inc()
		return fmt.Errorf("end transaction: %w", err)
	case committed:
		if err := r.commitLocal(b); err != nil {
			r.abortLocal(b)
			return err
		}
		r.stateGauges()
		r.committed(b, b.start)
	default:
		r.abortLocal(b)
		r.m.txns.WithLabelValues("aborted").Inc()
		if perr != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.app.Logger.Warn("transaction aborted; its input will be processed again", "err", perr)
		} else {
			r.app.Logger.Info("transaction aborted by a rebalance; its input will be processed again")
		}
	}
	return nil
}

func (r *Runner) runAtLeastOnce(ctx context.Context) error {
	if r.app.stateful() {
		r.tasks = newTasks(r)
	}
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
		if r.tasks != nil {
			if err := r.tasks.sync(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("restore tasks: %w", err)
			}
		}
		wait := time.Duration(0)
		if r.app.stateful() {
			wait = r.app.PunctuateInterval
		}
		fetches := r.poll(ctx, wait, cl.PollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			cl.AllowRebalance()
			return nil
		}
		r.fetchErrors(fetches)
		if fetches.NumRecords() == 0 {
			if !r.punctuationDue() {
				cl.AllowRebalance()
				continue
			}
			fetches = nil
		}
		start := time.Now()
		b.reset()
		work, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.app.TransactionTimeout)
		err := r.process(ctx, fetches, b)
		if err == nil {
			r.produceAsync(work, b, append(b.out, r.changelogRecords(b)...), cl.Produce)
			err = b.wait()
		}
		if err == nil {
			err = cl.CommitUncommittedOffsets(work)
		}
		if err == nil {
			err = r.commitLocal(b)
			r.stateGauges()
		}
		cancel()
		cl.AllowRebalance()
		if err != nil {
			r.abortLocal(b)
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
