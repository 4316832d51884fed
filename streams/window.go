package streams

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vigilsec/vigil/state"
)

// WindowKind is the shape of event-time windows.
type WindowKind int

const (
	// Tumbling windows of Size follow each other without overlap:
	// [k*Size, (k+1)*Size).
	Tumbling WindowKind = iota
	// Hopping windows of Size start every Advance and overlap when
	// Advance < Size.
	Hopping
	// Sliding windows end at each record: the window of a record at time
	// t is [t-Size+1ms, t+1ms), everything in the Size up to and
	// including it. They answer "how many in any Size" at every event.
	Sliding
	// Session windows group a key's records that follow each other within
	// Gap; a session [first, last+1ms) closes Gap after its last record.
	Session
)

// Emit says when window results are written.
type Emit int

const (
	// EmitOnClose emits each window once, when it closes: its end (for a
	// session, its last record plus Gap) plus Grace has passed in stream
	// time. The window stays in the store until retention expires it.
	EmitOnClose Emit = iota
	// EmitOnUpdate emits a window's new result every time a record changes
	// it; a session merged into another is emitted with a nil result.
	EmitOnUpdate
)

// Windowed aggregates values per key over event-time windows kept in one
// of the app's window stores. A record that arrives after all its windows
// have closed (later than Grace) goes to the late topic. Call Aggregate from
// Process and Close from OnStreamTime. A Windowed keeps no state of its own
// outside the store, so one value serves every task.
type Windowed struct {
	// Store is the window store. Its retention must cover Size (or Gap)
	// plus Grace.
	Store string
	// Kind, Size, Advance and Gap shape the windows.
	Kind    WindowKind
	Size    time.Duration
	Advance time.Duration
	Gap     time.Duration
	// Grace is how long after a window's end records are still taken.
	Grace time.Duration
	// Emit says when results are written.
	Emit Emit
	// Add folds a value into an aggregate (nil for a new window). It may
	// modify agg and return it, as append does; the slice it returns
	// becomes the window's value, so Add must not keep or reuse it.
	Add func(agg, value []byte) ([]byte, error)
	// Merge combines the aggregates of two sessions. Required for
	// sessions.
	Merge func(a, b []byte) ([]byte, error)
	// Result is called with each window result to emit.
	Result func(c *Context, key []byte, w state.Window, agg []byte) error
}

// Validate checks a windowed aggregation against the store spec.
func (w *Windowed) Validate(spec state.Spec) error {
	var errs []error
	if w.Add == nil || w.Result == nil {
		errs = append(errs, errors.New("Add and Result are required"))
	}
	if w.Grace < 0 {
		errs = append(errs, fmt.Errorf("grace (%s) must be >= 0", w.Grace))
	}
	span := w.Size
	switch w.Kind {
	case Tumbling, Sliding:
		if w.Size < time.Millisecond {
			errs = append(errs, fmt.Errorf("size (%s) must be >= 1ms", w.Size))
		}
	case Hopping:
		if w.Size < time.Millisecond || w.Advance < time.Millisecond || w.Advance > w.Size {
			errs = append(errs, fmt.Errorf("hopping windows need 1ms <= advance (%s) <= size (%s)", w.Advance, w.Size))
		}
	case Session:
		if w.Gap < time.Millisecond || w.Merge == nil {
			errs = append(errs, fmt.Errorf("session windows need a gap (%s) >= 1ms and Merge", w.Gap))
		}
		span = w.Gap
	default:
		errs = append(errs, fmt.Errorf("unknown window kind %d", w.Kind))
	}
	if spec.Kind != state.KindWindow {
		errs = append(errs, fmt.Errorf("store %q is not a window store", spec.Name))
	} else if spec.Retention < span+w.Grace {
		errs = append(errs, fmt.Errorf("store %q retention (%s) must be >= %s plus grace (%s)", spec.Name, spec.Retention, span, w.Grace))
	}
	return errors.Join(errs...)
}

// Keys in the store: aggregates under 0x00+key; the raw records of sliding
// windows under 0x01+key, in one-millisecond windows at their time.
func aggKey(key []byte) []byte { return append([]byte{0}, key...) }
func rawKey(key []byte) []byte { return append([]byte{1}, key...) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func win(start, end int64) state.Window {
	return state.Window{Start: time.UnixMilli(start).UTC(), End: time.UnixMilli(end).UTC()}
}

// closedAt reports whether a window ending at end (exclusive) is closed
// at stream time st.
func (w *Windowed) closedAt(end, st int64) bool {
	horizon := end
	if w.Kind == Session {
		horizon = end - 1 + w.Gap.Milliseconds()
	}
	return horizon+w.Grace.Milliseconds() <= st
}

// Aggregate adds value, of a record with event time t, to key's windows.
func (w *Windowed) Aggregate(c *Context, key, value []byte, t time.Time) error {
	store := c.Window(w.Store)
	st := c.task.streamTime
	at := ms(t)
	switch w.Kind {
	case Tumbling, Hopping:
		size, adv := w.Size.Milliseconds(), w.Advance.Milliseconds()
		if w.Kind == Tumbling {
			adv = size
		}
		first := floorDiv(at-size+adv, adv) * adv // earliest window start holding t
		taken := false
		for start := first; start <= at; start += adv {
			end := start + size
			if at < start || at >= end || w.closedAt(end, st) {
				continue
			}
			taken = true
			if err := w.update(c, store, key, win(start, end), value); err != nil {
				return err
			}
		}
		if !taken {
			c.Late(fmt.Sprintf("event time %s is later than the grace period of every window holding it", t.UTC().Format(time.RFC3339Nano)))
		}
		return nil
	case Sliding:
		return w.slide(c, store, key, value, at, st)
	case Session:
		return w.session(c, store, key, value, at, st)
	}
	return fmt.Errorf("unknown window kind %d", w.Kind)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// update folds value into one window and emits it if emitting on update.
func (w *Windowed) update(c *Context, store *state.WindowStore, key []byte, win state.Window, value []byte) error {
	var kb [64]byte
	k := append(append(kb[:0], 0), key...) // aggKey(key), on the stack
	var agg []byte
	err := store.Update(k, win, func(old []byte, _ bool) ([]byte, error) {
		var prev []byte
		if len(old) > 0 {
			// A copy: Add may modify it, and old is the committed
			// value.
			prev = bytes.Clone(old)
		}
		var err error
		agg, err = w.Add(prev, value)
		if agg == nil {
			agg = []byte{} // a window with an aggregate exists
		}
		return agg, err
	})
	if err != nil {
		return err
	}
	if w.Emit == EmitOnUpdate {
		return w.Result(c, key, win, agg)
	}
	return nil
}

// slide handles a record of a sliding window aggregation: it creates the
// window ending at the record from the records kept within Size before it,
// and adds the record to the later windows that cover it.
func (w *Windowed) slide(c *Context, store *state.WindowStore, key, value []byte, at, st int64) error {
	size := w.Size.Milliseconds()
	if w.closedAt(at+1, st) {
		c.Late(fmt.Sprintf("event time %s is later than the grace period of its sliding window", time.UnixMilli(at).UTC().Format(time.RFC3339Nano)))
		return nil
	}
	// Keep the record for windows created later.
	rk := rawKey(key)
	rw := win(at, at+1)
	prev, _, err := store.Get(rk, rw)
	if err != nil {
		return err
	}
	if err := store.Put(rk, rw, appendValue(prev, value)); err != nil {
		return err
	}
	// Later windows that cover at: those ending in (at+1, at+size].
	k := aggKey(key)
	var later []state.Window
	if err := store.Fetch(k, time.UnixMilli(at+2), time.UnixMilli(at+size+1), func(x state.Window, _ []byte) error {
		later = append(later, x)
		return nil
	}); err != nil {
		return err
	}
	for _, x := range later {
		if err := w.update(c, store, key, x, value); err != nil {
			return err
		}
	}
	own := win(at-size+1, at+1)
	if _, exists, err := store.Get(k, own); err != nil {
		return err
	} else if exists {
		return w.update(c, store, key, own, value)
	}
	// A new window: fold every kept record in it, this one included.
	var agg []byte
	if err := store.Fetch(rk, time.UnixMilli(at-size+2), time.UnixMilli(at+2), func(_ state.Window, v []byte) error {
		return eachValue(v, func(val []byte) error {
			var err error
			agg, err = w.Add(agg, val)
			return err
		})
	}); err != nil {
		return err
	}
	if err := store.Put(k, own, agg); err != nil {
		return err
	}
	if w.Emit == EmitOnUpdate {
		return w.Result(c, key, own, agg)
	}
	return nil
}

func appendValue(list, v []byte) []byte {
	list = binary.BigEndian.AppendUint32(list, uint32(len(v)))
	return append(list, v...)
}

func eachValue(list []byte, fn func([]byte) error) error {
	for len(list) >= 4 {
		n := int(binary.BigEndian.Uint32(list))
		if len(list) < 4+n {
			return errors.New("corrupt record list")
		}
		if err := fn(list[4 : 4+n]); err != nil {
			return err
		}
		list = list[4+n:]
	}
	return nil
}

// session merges a record into the open sessions of its key within Gap.
func (w *Windowed) session(c *Context, store *state.WindowStore, key, value []byte, at, st int64) error {
	gap := w.Gap.Milliseconds()
	k := aggKey(key)
	type sess struct {
		w   state.Window
		agg []byte
	}
	var found []sess
	// Sessions [s, e+1) with e >= at-gap and s <= at+gap; their ends are at
	// most st+1.
	if err := store.Fetch(k, time.UnixMilli(at-gap+1), time.UnixMilli(max(st, at)+2), func(x state.Window, v []byte) error {
		if ms(x.Start) <= at+gap && !w.closedAt(ms(x.End), st) {
			found = append(found, sess{x, bytes.Clone(v)})
		}
		return nil
	}); err != nil {
		return err
	}
	start, end := at, at+1
	for _, s := range found {
		start, end = min(start, ms(s.w.Start)), max(end, ms(s.w.End))
	}
	if w.closedAt(end, st) {
		c.Late(fmt.Sprintf("event time %s is later than the grace period of its session", time.UnixMilli(at).UTC().Format(time.RFC3339Nano)))
		return nil
	}
	var agg []byte
	for i, s := range found {
		if i == 0 {
			agg = s.agg
		} else {
			var err error
			if agg, err = w.Merge(agg, s.agg); err != nil {
				return err
			}
		}
		if err := store.Delete(k, s.w); err != nil {
			return err
		}
	}
	agg, err := w.Add(agg, value)
	if err != nil {
		return err
	}
	merged := win(start, end)
	if err := store.Put(k, merged, agg); err != nil {
		return err
	}
	if w.Emit == EmitOnUpdate {
		for _, s := range found {
			if s.w != merged {
				if err := w.Result(c, key, s.w, nil); err != nil {
					return err
				}
			}
		}
		return w.Result(c, key, merged, agg)
	}
	return nil
}

// mayEnd reports whether a window can end in [from, to). Tumbling and
// hopping windows end on a grid, so most stream-time advances close none
// and need no scan.
func (w *Windowed) mayEnd(from, to int64) bool {
	var size, adv int64
	switch w.Kind {
	case Tumbling:
		size, adv = w.Size.Milliseconds(), w.Size.Milliseconds()
	case Hopping:
		size, adv = w.Size.Milliseconds(), w.Advance.Milliseconds()
	default:
		return true
	}
	// Ends are k*adv + size: is there one at or after from, before to?
	first := floorDiv(from-size+adv-1, adv)*adv + size
	return first < to
}

// Close emits the windows that closed by streamTime (EmitOnClose) and drops
// data past the store's retention. Call it from
// StreamTimeHandler.OnStreamTime.
func (w *Windowed) Close(c *Context, streamTime time.Time) error {
	spec := c.spec(w.Store, state.KindWindow)
	store := c.txn.Window(spec, c.task.p)
	st := ms(streamTime)
	if w.Emit == EmitOnClose {
		// Windows closed by st end at or before bound.
		bound := st - w.Grace.Milliseconds() + 1
		if w.Kind == Session {
			bound = st - w.Grace.Milliseconds() - w.Gap.Milliseconds() + 2
		}
		// How far this aggregation has emitted is task state: it rolls
		// back with an aborted batch and moves with the partition.
		meta := c.txn.KV(taskStore.Name, c.task.p)
		mk := []byte("closed/" + w.Store)
		from := int64(-1 << 62) // nothing emitted yet: from the beginning
		if v, ok, err := meta.Get(mk); err != nil {
			return err
		} else if ok && len(v) == 8 {
			from = int64(binary.BigEndian.Uint64(v))
		}
		if bound > from && w.mayEnd(from, bound) {
			type closed struct {
				key []byte
				w   state.Window
				agg []byte
			}
			var done []closed
			// Every closed window is emitted, so their order does not
			// matter: skip sorting them.
			if err := store.ScanUnordered(time.UnixMilli(from), time.UnixMilli(bound), func(k []byte, x state.Window, v []byte) error {
				if len(k) > 0 && k[0] == 0 && w.closedAt(ms(x.End), st) {
					done = append(done, closed{bytes.Clone(k[1:]), x, bytes.Clone(v)})
				}
				return nil
			}); err != nil {
				return err
			}
			// Emitted windows stay until retention expires them: the
			// emitted bound below keeps them from being emitted again,
			// and deleting each would cost a changelog tombstone.
			for _, d := range done {
				if err := w.Result(c, d.key, d.w, d.agg); err != nil {
					return err
				}
			}
			if err := meta.Set(mk, binary.BigEndian.AppendUint64(nil, uint64(bound))); err != nil {
				return err
			}
		}
	}
	if st > math.MinInt64+spec.Retention.Milliseconds() {
		return store.Expire(time.UnixMilli(st - spec.Retention.Milliseconds()))
	}
	return nil
}
