package streams

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/state"
)

const (
	noTime  = math.MinInt64
	maxTime = math.MaxInt64
)

// The runtime's own stores, kept for every stateful app.
var (
	taskStore  = state.Spec{Name: "_task", Kind: state.KindKV}
	timerStore = state.Spec{Name: "_timers", Kind: state.KindKV}
)

var streamTimeKey = []byte("stream-time")

// TimerKind says what clock a timer follows.
type TimerKind byte

const (
	// EventTimeTimer fires once the task's stream time reaches it.
	EventTimeTimer TimerKind = 'e'
	// WallClockTimer fires once the wall clock reaches it.
	WallClockTimer TimerKind = 'w'
)

// Timer is a scheduled call of TimerHandler.OnTimer.
type Timer struct {
	Kind TimerKind
	At   time.Time
	Key  []byte
}

func timerKey(kind TimerKind, at int64, key []byte) []byte {
	b := make([]byte, 0, 9+len(key))
	b = append(b, byte(kind))
	b = binary.BigEndian.AppendUint64(b, uint64(at)^(1<<63))
	return append(b, key...)
}

func parseTimerKey(k []byte) (Timer, bool) {
	if len(k) < 9 {
		return Timer{}, false
	}
	at := int64(binary.BigEndian.Uint64(k[1:9]) ^ (1 << 63))
	return Timer{Kind: TimerKind(k[0]), At: time.UnixMilli(at).UTC(), Key: bytes.Clone(k[9:])}, true
}

// Schedule sets a timer for the task. Setting the same timer twice sets it
// once. It is part of the batch: dropped if the batch aborts.
func (c *Context) Schedule(kind TimerKind, key []byte, at time.Time) error {
	c.spec(timerStore.Name, state.KindKV)
	if kind != EventTimeTimer && kind != WallClockTimer {
		return fmt.Errorf("streams: unknown timer kind %q", kind)
	}
	ms := at.UnixMilli()
	if err := c.txn.KV(timerStore.Name, c.task.p).Set(timerKey(kind, ms, key), nil); err != nil {
		return err
	}
	c.task.noteTimer(kind, ms)
	return nil
}

// CancelTimer removes a timer set with Schedule.
func (c *Context) CancelTimer(kind TimerKind, key []byte, at time.Time) error {
	c.spec(timerStore.Name, state.KindKV)
	return c.txn.KV(timerStore.Name, c.task.p).Delete(timerKey(kind, at.UnixMilli(), key))
}

// task is the runtime's view of one input partition of a stateful app.
type task struct {
	p          int32
	streamTime int64 // milliseconds, noTime before the first record
	notified   int64 // stream time last passed to OnStreamTime
	stDirty    bool
	lastRecord time.Time // wall clock
	nextEvent  int64     // earliest event-time timer, maxTime if none
	nextWall   int64     // earliest wall-clock timer, maxTime if none
}

func (t *task) noteTimer(kind TimerKind, at int64) {
	if kind == EventTimeTimer {
		t.nextEvent = min(t.nextEvent, at)
	} else {
		t.nextWall = min(t.nextWall, at)
	}
}

// observe advances the stream time with a record's event time.
func (t *task) observe(et time.Time, now time.Time) {
	t.lastRecord = now
	if et.IsZero() {
		return
	}
	if ms := et.UnixMilli(); ms > t.streamTime {
		t.streamTime = ms
		t.stDirty = true
	}
}

// idleAdvance moves an idle task's stream time on with the wall clock.
func (t *task) idleAdvance(now time.Time, idle time.Duration) bool {
	if idle <= 0 || t.streamTime == noTime || now.Sub(t.lastRecord) < idle {
		return false
	}
	target := t.streamTime + now.Sub(t.lastRecord).Milliseconds()
	t.lastRecord = now
	if target <= t.streamTime {
		return false
	}
	t.streamTime = target
	t.stDirty = true
	return true
}

// due reports whether the task has work without new records.
func (t *task) due(now time.Time) bool {
	return t.nextWall <= now.UnixMilli() || t.nextEvent <= t.streamTime || t.streamTime > t.notified
}

// tasks owns the tasks of one runner: which partitions are assigned, and
// their restored state. The group callbacks only record assignment changes;
// the processing goroutine applies them, so the task map has one owner.
type tasks struct {
	r *Runner

	mu       sync.Mutex
	assigned map[int32]int // partition -> number of assigned input topics with it
	changed  bool

	live map[int32]*task // owned by the processing goroutine
}

func newTasks(r *Runner) *tasks {
	return &tasks{r: r, assigned: map[int32]int{}, live: map[int32]*task{}}
}

func (m *tasks) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ps := range assigned {
		for _, p := range ps {
			m.assigned[p]++
		}
	}
	m.changed = true
}

func (m *tasks) onRevoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ps := range revoked {
		for _, p := range ps {
			if m.assigned[p]--; m.assigned[p] <= 0 {
				delete(m.assigned, p)
			}
		}
	}
	m.changed = true
}

// sync closes the tasks of revoked partitions and restores newly assigned
// ones. A closed task's local data stays, with its marker: if the partition
// comes back, only what the changelog gained meanwhile is replayed.
func (m *tasks) sync(ctx context.Context) error {
	m.mu.Lock()
	if !m.changed {
		m.mu.Unlock()
		return nil
	}
	m.changed = false
	want := make([]int32, 0, len(m.assigned))
	for p := range m.assigned {
		want = append(want, p)
	}
	m.mu.Unlock()
	for p := range m.live {
		if !slices.Contains(want, p) {
			delete(m.live, p)
			m.r.m.tasks.Dec()
		}
	}
	slices.Sort(want)
	for _, p := range want {
		if _, err := m.get(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// get returns the task of partition p, restoring it first if needed.
func (m *tasks) get(ctx context.Context, p int32) (*task, error) {
	if t, ok := m.live[p]; ok {
		return t, nil
	}
	t, err := m.restore(ctx, p)
	if err != nil {
		return nil, err
	}
	m.live[p] = t
	m.r.m.tasks.Inc()
	return t, nil
}

// restore brings the local copy of every store of partition p up to its
// changelog: from the marker if there is one, else from the start after
// dropping whatever is there.
func (m *tasks) restore(ctx context.Context, p int32) (*task, error) {
	start := time.Now()
	r := m.r
	adm := kadm.NewClient(r.admin)
	ends, err := adm.ListCommittedOffsets(ctx, r.changelogs...)
	if err != nil {
		return nil, fmt.Errorf("restore partition %d: changelog offsets: %w", p, err)
	}
	type replay struct {
		spec state.Spec
		from int64
		end  int64
	}
	var todo []replay
	offsets := map[string]map[int32]kgo.Offset{}
	for _, spec := range r.allSpecs {
		topic := r.app.ChangelogTopic(spec.Name)
		lo, ok := ends.Lookup(topic, p)
		if !ok || lo.Err != nil {
			return nil, fmt.Errorf("restore partition %d: no offsets for %s: %v", p, topic, lo.Err)
		}
		end := lo.Offset
		marker, has, err := r.db.Marker(spec.Name, p)
		if err != nil {
			return nil, err
		}
		from := int64(0)
		if has && marker+1 <= end {
			from = marker + 1
		} else if err := r.db.Drop(spec.Name, p); err != nil {
			return nil, err
		}
		if from >= end {
			continue
		}
		todo = append(todo, replay{spec, from, end})
		off := kgo.NewOffset().At(from)
		if from == 0 {
			off = kgo.NewOffset().AtStart()
		}
		offsets[topic] = map[int32]kgo.Offset{p: off}
		r.m.restoreRemaining.WithLabelValues(spec.Name).Add(float64(end - from))
	}
	if len(todo) > 0 {
		if err := m.replay(ctx, p, offsets, func(topic string) (state.Spec, int64) {
			for _, t := range todo {
				if r.app.ChangelogTopic(t.spec.Name) == topic {
					return t.spec, t.end
				}
			}
			return state.Spec{}, 0
		}, len(todo)); err != nil {
			return nil, err
		}
	}

	t := &task{p: p, streamTime: noTime, notified: noTime, nextEvent: maxTime, nextWall: maxTime, lastRecord: time.Now()}
	txn := r.db.Begin()
	defer txn.Discard()
	if v, ok, err := txn.KV(taskStore.Name, p).Get(streamTimeKey); err != nil {
		return nil, err
	} else if ok && len(v) == 8 {
		t.streamTime = int64(binary.BigEndian.Uint64(v))
		t.notified = t.streamTime
	}
	for _, kind := range []TimerKind{EventTimeTimer, WallClockTimer} {
		if err := txn.KV(timerStore.Name, p).Scan([]byte{byte(kind)}, []byte{byte(kind) + 1}, func(k, _ []byte) error {
			if tm, ok := parseTimerKey(k); ok {
				t.noteTimer(kind, tm.At.UnixMilli())
			}
			return errStop
		}); err != nil && !errors.Is(err, errStop) {
			return nil, err
		}
	}
	// Windows past retention are dropped, not replayed into use.
	if t.streamTime != noTime {
		exp := r.db.Begin()
		for _, spec := range r.app.Stores {
			if spec.Kind == state.KindWindow {
				if err := exp.Window(spec, p).Expire(time.UnixMilli(t.streamTime - spec.Retention.Milliseconds())); err != nil {
					exp.Discard()
					return nil, err
				}
			}
		}
		if err := exp.Commit(); err != nil {
			return nil, err
		}
	}
	r.m.restoreSeconds.Observe(time.Since(start).Seconds())
	r.app.Logger.Info("task restored", "partition", p, "stores", len(r.allSpecs), "replayed", len(todo), "took", time.Since(start))
	return t, nil
}

var errStop = errors.New("stop")

// replay reads changelog partitions from the given offsets up to their ends
// and applies them to the local stores in chunks, each with its marker.
func (m *tasks) replay(ctx context.Context, p int32, offsets map[string]map[int32]kgo.Offset, specOf func(string) (state.Spec, int64), n int) error {
	r := m.r
	cl, err := kgo.NewClient(append(slices.Clone(r.app.Client),
		kgo.ConsumePartitions(offsets),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxBytes(64<<20),
		kgo.WithLogger(KgoLogger(r.app.Logger)),
	)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	const chunk = 20000
	pending := map[string][]state.Change{}
	last := map[string]int64{}
	done := map[string]bool{}
	flush := func(topic string) error {
		spec, _ := specOf(topic)
		if err := r.db.Restore(spec, p, pending[topic], last[topic], time.Time{}); err != nil {
			return err
		}
		r.m.restored.WithLabelValues(spec.Name).Add(float64(len(pending[topic])))
		pending[topic] = pending[topic][:0]
		return nil
	}
	for len(done) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		var ferr error
		fs.EachError(func(t string, _ int32, err error) {
			if !errors.Is(err, kerr.OffsetOutOfRange) {
				ferr = fmt.Errorf("restore %s/%d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		fs.EachRecord(func(rec *kgo.Record) {
			if done[rec.Topic] {
				return
			}
			spec, end := specOf(rec.Topic)
			if rec.Offset >= end {
				done[rec.Topic] = true
				return
			}
			prev := last[rec.Topic]
			last[rec.Topic] = rec.Offset
			r.m.restoreRemaining.WithLabelValues(spec.Name).Sub(float64(rec.Offset - max(prev, rec.Offset-1)))
			if !rec.Attrs.IsControl() {
				pending[rec.Topic] = append(pending[rec.Topic], state.Change{Store: spec.Name, Partition: p, Key: rec.Key, Value: rec.Value})
			}
			if rec.Offset >= end-1 {
				done[rec.Topic] = true
			}
		})
		for topic, ch := range pending {
			if len(ch) >= chunk || done[topic] && len(ch) > 0 {
				if err := flush(topic); err != nil {
					return err
				}
			}
		}
		for topic := range done {
			if _, ok := last[topic]; ok && len(pending[topic]) == 0 {
				// Record the marker even when the tail was control
				// records only.
				spec, _ := specOf(topic)
				if err := r.db.Restore(spec, p, nil, last[topic], time.Time{}); err != nil {
					return err
				}
				delete(last, topic)
			}
		}
	}
	return nil
}

// firePending runs the task's due timers and stream-time handler.
func (r *Runner) firePending(c *Context, w *work, now time.Time) error {
	t := w.t
	c.task, c.rec = t, nil
	if err := r.fireTimers(c, w, WallClockTimer, now.UnixMilli()); err != nil {
		return err
	}
	if err := r.fireTimers(c, w, EventTimeTimer, t.streamTime); err != nil {
		return err
	}
	if t.streamTime > t.notified {
		if h, ok := r.app.Processor.(StreamTimeHandler); ok {
			c.out = c.out[:0]
			if err := h.OnStreamTime(c, time.UnixMilli(t.streamTime).UTC()); err != nil {
				return fmt.Errorf("stream time handler, partition %d: %w", t.p, err)
			}
			c.flushTo(w)
		}
		t.notified = t.streamTime
	}
	if t.stDirty {
		if err := c.txn.KV(taskStore.Name, t.p).Set(streamTimeKey, binary.BigEndian.AppendUint64(nil, uint64(t.streamTime))); err != nil {
			return err
		}
		t.stDirty = false
	}
	return nil
}

// fireTimers calls OnTimer for each timer of kind due by upTo, in time
// order, deleting each; timers set while firing that are due fire too.
func (r *Runner) fireTimers(c *Context, w *work, kind TimerKind, upTo int64) error {
	t := w.t
	next := &t.nextEvent
	if kind == WallClockTimer {
		next = &t.nextWall
	}
	if *next > upTo || upTo == noTime {
		return nil
	}
	h, _ := r.app.Processor.(TimerHandler)
	store := c.txn.KV(timerStore.Name, t.p)
	for round := 0; *next <= upTo; round++ {
		if round > 1000 {
			return fmt.Errorf("timers of partition %d keep rescheduling themselves as due", t.p)
		}
		var due []Timer
		*next = maxTime
		err := store.Scan([]byte{byte(kind)}, []byte{byte(kind) + 1}, func(k, _ []byte) error {
			tm, ok := parseTimerKey(k)
			if !ok {
				return nil
			}
			if tm.At.UnixMilli() > upTo {
				*next = tm.At.UnixMilli()
				return errStop
			}
			due = append(due, tm)
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return err
		}
		for _, tm := range due {
			if err := store.Delete(timerKey(kind, tm.At.UnixMilli(), tm.Key)); err != nil {
				return err
			}
			if h == nil {
				continue
			}
			c.out = c.out[:0]
			if err := h.OnTimer(c, tm); err != nil {
				r.m.errors.WithLabelValues("timer").Inc()
				r.app.Logger.Error("timer failed; it is dropped", "partition", t.p, "key", string(tm.Key), "at", tm.At, "err", err)
				continue
			}
			c.flushTo(w)
		}
	}
	return nil
}

// changelogPartitioner keeps changelog records on their task's partition
// and hashes every other record by key, as Kafka's Java client does.
type changelogPartitioner struct {
	manual map[string]bool
	def    kgo.Partitioner
}

func (p changelogPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	if p.manual[topic] {
		return manualPartition{}
	}
	return p.def.ForTopic(topic)
}

type manualPartition struct{}

func (manualPartition) RequiresConsistency(*kgo.Record) bool { return true }
func (manualPartition) Partition(r *kgo.Record, n int) int   { return int(r.Partition) }
