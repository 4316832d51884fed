// Package statetest is a conformance suite for package state: it checks the
// behaviour the stream runtime relies on (key-value and window stores,
// transactions and their changelog, markers, restore, drop and expiry)
// against a *state.DB opened by the caller, so that every configuration of
// the database can be held to the same contract.
package statetest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/state"
)

// Run runs every check of the suite as subtests of t. open must open (or
// create) the database in dir, failing t if it cannot; the suite opens the
// same dir again to check durability, so open must use the same options
// every time. The suite closes every database it opens (open must not
// register a Close of its own).
func Run(t *testing.T, open func(t testing.TB, dir string) *state.DB) {
	s := &suite{open: open}
	t.Run("KV", func(t *testing.T) {
		t.Run("GetMissing", s.kvGetMissing)
		t.Run("SetGet", s.kvSetGet)
		t.Run("Overwrite", s.kvOverwrite)
		t.Run("Delete", s.kvDelete)
		t.Run("EmptyValue", s.kvEmptyValue)
		t.Run("BinaryKeys", s.kvBinaryKeys)
		t.Run("ScanBounds", s.kvScanBounds)
		t.Run("ScanStopsOnError", s.kvScanStop)
		t.Run("Isolation", s.kvIsolation)
	})
	t.Run("Txn", func(t *testing.T) {
		t.Run("ReadYourWrites", s.txnReadYourWrites)
		t.Run("Discard", s.txnDiscard)
		t.Run("CommitVisible", s.txnCommitVisible)
		t.Run("EmptyCommit", s.txnEmptyCommit)
		t.Run("Changes", s.txnChanges)
		t.Run("ChangesCopyInputs", s.txnChangesCopy)
		t.Run("CommitTwice", s.txnCommitTwice)
		t.Run("DiscardedNotDurable", s.txnDiscardedNotDurable)
		t.Run("Large", s.txnLarge)
	})
	t.Run("Durability", func(t *testing.T) {
		t.Run("Reopen", s.durabilityReopen)
		t.Run("ManyCommits", s.durabilityManyCommits)
	})
	t.Run("Markers", func(t *testing.T) {
		t.Run("Missing", s.markerMissing)
		t.Run("SetInTxn", s.markerSetInTxn)
		t.Run("RestoreSets", s.markerRestoreSets)
		t.Run("Drop", s.markerDrop)
	})
	t.Run("Restore", func(t *testing.T) {
		for _, seed := range []uint64{1, 2, 3, 42, 20260918} {
			t.Run(fmt.Sprintf("Equivalence/seed=%d", seed), func(t *testing.T) { s.restoreEquivalence(t, seed) })
		}
		t.Run("ExpireBefore", s.restoreExpireBefore)
		t.Run("MalformedIsAtomic", s.restoreMalformed)
	})
	t.Run("Window", func(t *testing.T) {
		t.Run("PutGetDelete", s.winPutGetDelete)
		t.Run("Milliseconds", s.winMilliseconds)
		t.Run("FetchKeyIsolation", s.winFetchKeyIsolation)
		t.Run("FetchRange", s.winFetchRange)
		t.Run("FetchStopsOnError", s.winFetchStop)
		t.Run("NegativeTimes", s.winNegativeTimes)
		t.Run("Scan", s.winScan)
		t.Run("Expire", s.winExpire)
		t.Run("ExpireAncient", s.winExpireAncient)
		t.Run("SubMillisecondSegment", s.winSubMillisecondSegment)
		t.Run("KeyRoundTrip", windowKeyRoundTrip)
		t.Run("DecodeRejectsMalformed", windowKeyRejects)
	})
	t.Run("Spec/Validate", specValidate)
}

// ---------------------------------------------------------------------------
// Harness.

type suite struct {
	open func(t testing.TB, dir string) *state.DB
}

// db is a database opened by the suite; it is closed at the end of the
// test unless the test closed it.
type db struct {
	*state.DB
	dir    string
	closed bool
}

func (s *suite) openAt(t testing.TB, dir string) *db {
	t.Helper()
	d := &db{DB: s.open(t, dir), dir: dir}
	if d.DB == nil {
		t.Fatalf("open(%s) returned a nil DB", dir)
	}
	t.Cleanup(func() {
		if !d.closed {
			d.closed = true
			if err := d.DB.Close(); err != nil {
				t.Errorf("Close %s: %v", dir, err)
			}
		}
	})
	return d
}

func (s *suite) fresh(t testing.TB) *db {
	t.Helper()
	return s.openAt(t, t.TempDir())
}

func (d *db) close(t testing.TB) {
	t.Helper()
	d.closed = true
	if err := d.DB.Close(); err != nil {
		t.Fatalf("Close %s: %v", d.dir, err)
	}
}

// update runs fn in a transaction and commits it, returning its changes.
func (d *db) update(t testing.TB, fn func(tx *state.Txn)) []state.Change {
	t.Helper()
	tx := d.Begin()
	fn(tx)
	ch := slices.Clone(tx.Changes())
	commit(t, tx)
	return ch
}

// view runs fn in a transaction that is then discarded.
func (d *db) view(fn func(tx *state.Txn)) {
	tx := d.Begin()
	defer tx.Discard()
	fn(tx)
}

func commit(t testing.TB, tx *state.Txn) {
	t.Helper()
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func (d *db) marker(t testing.TB, store string, p int32) (int64, bool) {
	t.Helper()
	off, ok, err := d.Marker(store, p)
	if err != nil {
		t.Fatalf("Marker(%q, %d): %v", store, p, err)
	}
	return off, ok
}

func (d *db) wantMarker(t testing.TB, store string, p int32, want int64) {
	t.Helper()
	if off, ok := d.marker(t, store, p); !ok || off != want {
		t.Errorf("Marker(%q, %d) = %d, %v; want %d, true", store, p, off, ok, want)
	}
}

func (d *db) wantNoMarker(t testing.TB, store string, p int32) {
	t.Helper()
	if off, ok := d.marker(t, store, p); ok || off != 0 {
		t.Errorf("Marker(%q, %d) = %d, %v; want 0, false", store, p, off, ok)
	}
}

// kv is one entry of a KV store.
type kv struct{ Key, Value string }

func (e kv) String() string { return fmt.Sprintf("%q=%q", e.Key, e.Value) }

// win is one entry of a window store; times are Unix milliseconds.
type win struct {
	Key        string
	Start, End int64
	Value      string
}

func (e win) String() string { return fmt.Sprintf("%q[%d,%d)=%q", e.Key, e.Start, e.End, e.Value) }

type winID struct {
	Key        string
	Start, End int64
}

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

func wnd(start, end int64) state.Window { return state.Window{Start: ms(start), End: ms(end)} }

// allFrom and allTo bound every window end used by the suite's dumps.
var allFrom, allTo = ms(-1 << 60), ms(1 << 60)

// kvs is a KVStore with the helpers of the suite.
type kvs struct {
	s    *state.KVStore
	name string
	p    int32
}

func kvOf(tx *state.Txn, name string, p int32) kvs { return kvs{tx.KV(name, p), name, p} }

func (s kvs) set(t testing.TB, k, v string) {
	t.Helper()
	if err := s.s.Set([]byte(k), []byte(v)); err != nil {
		t.Fatalf("%s/%d: Set(%q, %q): %v", s.name, s.p, k, v, err)
	}
}

func (s kvs) del(t testing.TB, k string) {
	t.Helper()
	if err := s.s.Delete([]byte(k)); err != nil {
		t.Fatalf("%s/%d: Delete(%q): %v", s.name, s.p, k, err)
	}
}

func (s kvs) get(t testing.TB, k string) (string, bool) {
	t.Helper()
	v, ok, err := s.s.Get([]byte(k))
	if err != nil {
		t.Fatalf("%s/%d: Get(%q): %v", s.name, s.p, k, err)
	}
	if !ok && v != nil {
		t.Errorf("%s/%d: Get(%q) = %q, false: a missing key should have a nil value", s.name, s.p, k, v)
	}
	if ok && v == nil {
		t.Errorf("%s/%d: Get(%q) = nil, true: an existing key should have a non-nil value", s.name, s.p, k)
	}
	return string(v), ok
}

func (s kvs) want(t testing.TB, k, want string) {
	t.Helper()
	if v, ok := s.get(t, k); !ok || v != want {
		t.Errorf("%s/%d: Get(%q) = %q, %v; want %q, true", s.name, s.p, k, v, ok, want)
	}
}

func (s kvs) wantMissing(t testing.TB, k string) {
	t.Helper()
	if v, ok := s.get(t, k); ok {
		t.Errorf("%s/%d: Get(%q) = %q, true; want missing", s.name, s.p, k, v)
	}
}

func (s kvs) scan(t testing.TB, start, end []byte) []kv {
	t.Helper()
	var out []kv
	err := s.s.Scan(start, end, func(k, v []byte) error {
		out = append(out, kv{string(k), string(v)})
		return nil
	})
	if err != nil {
		t.Fatalf("%s/%d: Scan(%q, %q): %v", s.name, s.p, start, end, err)
	}
	for i := 1; i < len(out); i++ {
		if out[i-1].Key >= out[i].Key {
			t.Errorf("%s/%d: Scan(%q, %q) returned %q before %q: keys must be strictly increasing", s.name, s.p, start, end, out[i-1].Key, out[i].Key)
		}
	}
	return out
}

func (s kvs) dump(t testing.TB) []kv { t.Helper(); return s.scan(t, nil, nil) }

func (d *db) dumpKV(t testing.TB, name string, p int32) []kv {
	t.Helper()
	var out []kv
	d.view(func(tx *state.Txn) { out = kvOf(tx, name, p).dump(t) })
	return out
}

// wins is a WindowStore with the helpers of the suite.
type wins struct {
	s    *state.WindowStore
	spec state.Spec
	p    int32
}

func winsOf(tx *state.Txn, spec state.Spec, p int32) wins { return wins{tx.Window(spec, p), spec, p} }

func (s wins) put(t testing.TB, k string, w state.Window, v string) {
	t.Helper()
	if err := s.s.Put([]byte(k), w, []byte(v)); err != nil {
		t.Fatalf("%s/%d: Put(%q, %v, %q): %v", s.spec.Name, s.p, k, w, v, err)
	}
}

func (s wins) del(t testing.TB, k string, w state.Window) {
	t.Helper()
	if err := s.s.Delete([]byte(k), w); err != nil {
		t.Fatalf("%s/%d: Delete(%q, %v): %v", s.spec.Name, s.p, k, w, err)
	}
}

func (s wins) get(t testing.TB, k string, w state.Window) (string, bool) {
	t.Helper()
	v, ok, err := s.s.Get([]byte(k), w)
	if err != nil {
		t.Fatalf("%s/%d: Get(%q, %v): %v", s.spec.Name, s.p, k, w, err)
	}
	return string(v), ok
}

func (s wins) want(t testing.TB, k string, w state.Window, want string) {
	t.Helper()
	if v, ok := s.get(t, k, w); !ok || v != want {
		t.Errorf("%s/%d: Get(%q, %v) = %q, %v; want %q, true", s.spec.Name, s.p, k, w, v, ok, want)
	}
}

func (s wins) wantMissing(t testing.TB, k string, w state.Window) {
	t.Helper()
	if v, ok := s.get(t, k, w); ok {
		t.Errorf("%s/%d: Get(%q, %v) = %q, true; want missing", s.spec.Name, s.p, k, w, v)
	}
}

func (s wins) expire(t testing.TB, before int64) {
	t.Helper()
	if err := s.s.Expire(ms(before)); err != nil {
		t.Fatalf("%s/%d: Expire(%d): %v", s.spec.Name, s.p, before, err)
	}
}

// fetch returns the windows of key with end in [from, to), checking the
// order Fetch promises.
func (s wins) fetch(t testing.TB, key string, from, to int64) []win {
	t.Helper()
	var out []win
	err := s.s.Fetch([]byte(key), ms(from), ms(to), func(w state.Window, v []byte) error {
		out = append(out, win{key, w.Start.UnixMilli(), w.End.UnixMilli(), string(v)})
		return nil
	})
	if err != nil {
		t.Fatalf("%s/%d: Fetch(%q, %d, %d): %v", s.spec.Name, s.p, key, from, to, err)
	}
	for i := 1; i < len(out); i++ {
		a, b := out[i-1], out[i]
		if a.End > b.End || a.End == b.End && a.Start >= b.Start {
			t.Errorf("%s/%d: Fetch(%q, %d, %d) returned %v before %v: want order of end, then start", s.spec.Name, s.p, key, from, to, a, b)
		}
	}
	return out
}

// scan returns the windows with end in [from, to) in Scan's order,
// checking that they come segment by segment.
func (s wins) scan(t testing.TB, from, to time.Time) []win {
	t.Helper()
	var out []win
	err := s.s.Scan(from, to, func(k []byte, w state.Window, v []byte) error {
		out = append(out, win{string(k), w.Start.UnixMilli(), w.End.UnixMilli(), string(v)})
		return nil
	})
	if err != nil {
		t.Fatalf("%s/%d: Scan(%v, %v): %v", s.spec.Name, s.p, from, to, err)
	}
	if iv := s.spec.SegmentInterval.Milliseconds(); iv > 0 {
		for i := 1; i < len(out); i++ {
			if floorDiv(out[i-1].End, iv) > floorDiv(out[i].End, iv) {
				t.Errorf("%s/%d: Scan returned %v before %v: want segment by segment", s.spec.Name, s.p, out[i-1], out[i])
			}
		}
	}
	// ScanUnordered gives the same windows, in any order within a segment.
	var un []win
	err = s.s.ScanUnordered(from, to, func(k []byte, w state.Window, v []byte) error {
		un = append(un, win{string(k), w.Start.UnixMilli(), w.End.UnixMilli(), string(v)})
		return nil
	})
	if err != nil {
		t.Fatalf("%s/%d: ScanUnordered(%v, %v): %v", s.spec.Name, s.p, from, to, err)
	}
	if got, want := sortWins(un), sortWins(slices.Clone(out)); !slices.Equal(got, want) {
		t.Errorf("%s/%d: ScanUnordered(%v, %v) = %v, Scan gives %v", s.spec.Name, s.p, from, to, got, want)
	}
	return out
}

// dump returns every window of the store, sorted by key, end, start.
func (s wins) dump(t testing.TB) []win {
	t.Helper()
	return sortWins(s.scan(t, allFrom, allTo))
}

func (d *db) dumpWin(t testing.TB, spec state.Spec, p int32) []win {
	t.Helper()
	var out []win
	d.view(func(tx *state.Txn) { out = winsOf(tx, spec, p).dump(t) })
	return out
}

func sortWins(ws []win) []win {
	sort.Slice(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return a.Start < b.Start
	})
	return ws
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// diff describes how got differs from want, or returns "".
func diff[T comparable](want, got []T) string {
	if slices.Equal(want, got) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "got %d entries, want %d", len(got), len(want))
	count := map[T]int{}
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		count[g]--
	}
	var missing, extra []T
	for _, w := range want {
		if count[w] > 0 {
			missing = append(missing, w)
			count[w]--
		}
	}
	for k, n := range count {
		for ; n < 0; n++ {
			extra = append(extra, k)
		}
	}
	list := func(what string, xs []T) {
		if len(xs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n  %d %s:", len(xs), what)
		for i, x := range xs {
			if i == 10 {
				fmt.Fprintf(&b, "\n    ... and %d more", len(xs)-10)
				break
			}
			fmt.Fprintf(&b, "\n    %v", x)
		}
	}
	list("missing", missing)
	list("unexpected", extra)
	if len(missing) == 0 && len(extra) == 0 {
		for i := range want {
			if want[i] != got[i] {
				fmt.Fprintf(&b, "\n  same entries in another order: first difference at %d: got %v, want %v", i, got[i], want[i])
				break
			}
		}
	}
	return b.String()
}

func kvModel(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func winModel(m map[winID]string) []win {
	out := make([]win, 0, len(m))
	for id, v := range m {
		out = append(out, win{id.Key, id.Start, id.End, v})
	}
	return sortWins(out)
}

var errStop = errors.New("statetest: stop")

var (
	winSpec  = state.Spec{Name: "w", Kind: state.KindWindow, Retention: time.Hour, SegmentInterval: time.Second}
	winSpec2 = state.Spec{Name: "w2", Kind: state.KindWindow, Retention: time.Hour, SegmentInterval: time.Second}
)

// ---------------------------------------------------------------------------
// KV stores.

func (s *suite) kvGetMissing(t *testing.T) {
	d := s.fresh(t)
	d.view(func(tx *state.Txn) { kvOf(tx, "s", 0).wantMissing(t, "nope") })
	d.update(t, func(tx *state.Txn) { kvOf(tx, "s", 0).set(t, "other", "v") })
	d.view(func(tx *state.Txn) {
		kvOf(tx, "s", 0).wantMissing(t, "nope")
		kvOf(tx, "s", 0).wantMissing(t, "othe")
		kvOf(tx, "s", 0).wantMissing(t, "other\x00")
		kvOf(tx, "s", 1).wantMissing(t, "other")
	})
}

func (s *suite) kvSetGet(t *testing.T) {
	d := s.fresh(t)
	tx := d.Begin()
	st := kvOf(tx, "s", 0)
	st.set(t, "k1", "v1")
	st.set(t, "k2", "v2")
	st.want(t, "k1", "v1")
	st.want(t, "k2", "v2")
	commit(t, tx)
	d.view(func(tx *state.Txn) {
		st := kvOf(tx, "s", 0)
		st.want(t, "k1", "v1")
		st.want(t, "k2", "v2")
		st.wantMissing(t, "k3")
	})
}

func (s *suite) kvOverwrite(t *testing.T) {
	d := s.fresh(t)
	d.update(t, func(tx *state.Txn) { kvOf(tx, "s", 0).set(t, "k", "v1") })
	d.update(t, func(tx *state.Txn) {
		st := kvOf(tx, "s", 0)
		st.want(t, "k", "v1")
		st.set(t, "k", "v2")
		st.want(t, "k", "v2")
		st.set(t, "k", "a much longer third value")
		st.want(t, "k", "a much longer third value")
		st.set(t, "k", "v4")
	})
	d.view(func(tx *state.Txn) { kvOf(tx, "s", 0).want(t, "k", "v4") })
	if got, want := d.dumpKV(t, "s", 0), []kv{{"k", "v4"}}; diff(want, got) != "" {
		t.Errorf("after overwrites: %s", diff(want, got))
	}
}

func (s *suite) kvDelete(t *testing.T) {
	d := s.fresh(t)
	d.update(t, func(tx *state.Txn) {
		st := kvOf(tx, "s", 0)
		st.set(t, "a", "1")
		st.set(t, "b", "2")
		st.set(t, "c", "3")
	})
	d.update(t, func(tx *state.Txn) {
		st := kvOf(tx, "s", 0)
		st.del(t, "b")
		st.wantMissing(t, "b")
		st.del(t, "never-written") // deleting a missing key is not an error
	})
	d.view(func(tx *state.Txn) {
		st := kvOf(tx, "s", 0)
		st.want(t, "a", "1")
		st.wantMissing(t, "b")
		st.want(t, "c", "3")
		st.wantMissing(t, "never-written")
	})
	if got, want := d.dumpKV(t, "s", 0), []kv{{"a", "1"}, {"c", "3"}}; diff(want, got) != "" {
		t.Errorf("Scan after Delete: %s", diff(want, got))
	}
	// A deleted key can be set again.
	d.update(t, func(tx *state.Txn) { kvOf(tx, "s", 0).set(t, "b", "again") })
	d.view(func(tx *state.Txn) { kvOf(tx, "s", 0).want(t, "b", "again") })
}

func (s *suite) kvEmptyValue(t *testing.T) {
	d := s.fresh(t)
	tx := d.Begin()
	st := kvOf(tx, "s", 0)
	if err := st.s.Set([]byte("empty"), []byte{}); err != nil {
		t.Fatal(err)
	}
	if err := st.s.Set([]byte("nil"), nil); err != nil {
		t.Fatal(err)
	}
	check := func(when string, st kvs) {
		t.Helper()
		for _, k := range []string{"empty", "nil"} {
			v, ok := st.get(t, k)
			if !ok || v != "" {
				t.Errorf("%s: Get(%q) = %q, %v; want an empty value that exists", when, k, v, ok)
			}
		}
		st.wantMissing(t, "missing")
		if got, want := st.dump(t), []kv{{"empty", ""}, {"nil", ""}}; diff(want, got) != "" {
			t.Errorf("%s: Scan: %s", when, diff(want, got))
		}
	}
	check("before Commit", st)
	for _, c := range tx.Changes() {
		if c.Value == nil {
			t.Errorf("Changes: %q has a nil Value, which the changelog reads as a delete; want an empty non-nil value", c.Key)
		}
	}
	commit(t, tx)
	d.view(func(tx *state.Txn) { check("after Commit", kvOf(tx, "s", 0)) })
}

func (s *suite) kvBinaryKeys(t *testing.T) {
	keys := []string{
		"", "\x00", "\x00\x00", "\x00\xff", "\x01", "\x7f", "\x80", "\xfe\xff",
		"\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff\xff\xff\xff\xff\xff",
		"a", "a\x00", "a\xff", "ab", "abc", "b",
	}
	val := func(k string) string { return fmt.Sprintf("v%x", k) }
	want := make([]kv, 0, len(keys))
	for _, k := range keys {
		want = append(want, kv{k, val(k)})
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Key < want[j].Key })

	d := s.fresh(t)
	tx := d.Begin()
	st := kvOf(tx, "s", 0)
	for _, k := range keys {
		st.set(t, k, val(k))
	}
	// Neighbouring partitions hold the same keys, to catch scans that
	// overrun the partition.
	for _, p := range []int32{-1, 1} {
		for _, k := range keys {
			kvOf(tx, "s", p).set(t, k, "other partition")
		}
	}
	for _, k := range keys {
		st.want(t, k, val(k))
	}
	if got := st.dump(t); diff(want, got) != "" {
		t.Errorf("Scan before Commit: %s", diff(want, got))
	}
	commit(t, tx)

	d.view(func(tx *state.Txn) {
		st := kvOf(tx, "s", 0)
		for _, k := range keys {
			st.want(t, k, val(k))
		}
		if got := st.dump(t); diff(want, got) != "" {
			t.Errorf("Scan after Commit: %s", diff(want, got))
		}
		if got, w := st.scan(t, []byte("\xff"), nil), want[len(want)-4:]; diff(w, got) != "" {
			t.Errorf("Scan(\"\\xff\", nil): %s", diff(w, got))
		}
		if got, w := st.scan(t, nil, []byte("\x00\x00")), want[:2]; diff(w, got) != "" {
			t.Errorf("Scan(nil, \"\\x00\\x00\"): %s", diff(w, got))
		}
		if got, w := st.scan(t, nil, []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")), want; diff(w, got) != "" {
			t.Errorf("Scan(nil, 16 x \"\\xff\") must not leave the partition: %s", diff(w, got))
		}
	})

	// Deleting a key leaves its extensions and prefixes alone.
	d.update(t, func(tx *state.Txn) {
		st := kvOf(tx, "s", 0)
		st.del(t, "a")
		st.del(t, "")
		st.del(t, "\xff")
	})
	d.view(func(tx *state.Txn) {
		st := kvOf(tx, "s", 0)
		st.wantMissing(t, "a")
		st.wantMissing(t, "")
		st.wantMissing(t, "\xff")
		for _, k := range []string{"a\x00", "a\xff", "ab", "\x00", "\xff\x00", "\xff\xff"} {
			st.want(t, k, val(k))
		}
		var w []kv
		for _, e := range want {
			if e.Key != "a" && e.Key != "" && e.Key != "\xff" {
				w = append(w, e)
			}
		}
		if got := st.dump(t); diff(w, got) != "" {
			t.Errorf("Scan after deleting \"\", \"a\" and \"\\xff\": %s", diff(w, got))
		}
	})
}

func (s *suite) kvScanBounds(t *testing.T) {
	d := s.fresh(t)
	var all []kv
	d.update(t, func(tx *state.Txn) {
		for i := 0; i < 20; i++ {
			k, v := fmt.Sprintf("k%02d", i), fmt.Sprintf("v%d", i)
			kvOf(tx, "s", 0).set(t, k, v)
			kvOf(tx, "s", 1).set(t, k, "wrong partition")
			kvOf(tx, "t", 0).set(t, k, "wrong store")
			all = append(all, kv{k, v})
		}
	})
	cases := []struct {
		start, end []byte
		want       []kv
	}{
		{nil, nil, all},
		{[]byte("k05"), []byte("k10"), all[5:10]},
		{nil, []byte("k03"), all[:3]},
		{[]byte("k17"), nil, all[17:]},
		{[]byte("k05a"), []byte("k07"), all[6:7]},
		{[]byte("k05"), []byte("k05\x00"), all[5:6]},
		{[]byte("k"), []byte("l"), all},
		{[]byte(""), nil, all},
		{[]byte("k10"), []byte("k10"), nil},
		{[]byte("k10"), []byte("k05"), nil},
		{[]byte("z"), nil, nil},
		{nil, []byte("a"), nil},
	}
	d.view(func(tx *state.Txn) {
		st := kvOf(tx, "s", 0)
		for _, c := range cases {
			if got := st.scan(t, c.start, c.end); diff(c.want, got) != "" {
				t.Errorf("Scan(%q, %q): %s", c.start, c.end, diff(c.want, got))
			}
		}
	})
}

func (s *suite) kvScanStop(t *testing.T) {
	d := s.fresh(t)
	d.update(t, func(tx *state.Txn) {
		for i := 0; i < 10; i++ {
			kvOf(tx, "s", 0).set(t, fmt.Sprintf("k%d", i), "v")
		}
	})
	d.view(func(tx *state.Txn) {
		var seen []string
		err := tx.KV("s", 0).Scan(nil, nil, func(k, v []byte) error {
			seen = append(seen, string(k))
			if len(seen) == 3 {
				return fmt.Errorf("wrapped: %w", errStop)
			}
			return nil
		})
		if !errors.Is(err, errStop) {
			t.Errorf("Scan returned %v; want the error returned by fn", err)
		}
		if want := []string{"k0", "k1", "k2"}; !slices.Equal(seen, want) {
			t.Errorf("Scan called fn for %q; want %q and then stop", seen, want)
		}
	})
}

func (s *suite) kvIsolation(t *testing.T) {
	type loc struct {
		store string
		p     int32
	}
	long := strings.Repeat("x", 199)
	locs := []loc{
		{"a", 0}, {"a", 1}, {"b", 0}, {"b", 1}, {"ab", 0}, {"abc", 0}, {"abc", 1},
		{"a", -1}, {"a", math.MaxInt32}, {"a", math.MinInt32}, {"a", 256}, {"a", 65536},
		// Store name and partition bytes run together: "a" in partition
		// 0x62000000 spells "ab" followed by partition 0 without a way to
		// tell where the name ends.
		{"a", 'b' << 24}, {"a", 'b'<<24 | 'c'<<16},
		{long, 0}, {long + "x", 0}, {long + "y", 0}, {long + "x", 1},
		{strings.Repeat("_", 200), 0}, {strings.Repeat("-", 200), 0}, {strings.Repeat("z", 200), 7},
	}
	name := func(l loc) string {
		if len(l.store) > 8 {
			return fmt.Sprintf("%s...(%d bytes)/%d", l.store[:4], len(l.store), l.p)
		}
		return fmt.Sprintf("%s/%d", l.store, l.p)
	}
	for _, l := range locs {
		spec := state.Spec{Name: l.store, Kind: state.KindKV}
		if err := spec.Validate(); err != nil {
			t.Fatalf("store %s: Validate: %v", name(l), err)
		}
	}
	d := s.fresh(t)
	want := map[loc][]kv{}
	d.update(t, func(tx *state.Txn) {
		for i, l := range locs {
			st := kvOf(tx, l.store, l.p)
			st.set(t, "k", name(l))
			st.set(t, fmt.Sprintf("only-%02d", i), "x")
			want[l] = []kv{{"k", name(l)}, {fmt.Sprintf("only-%02d", i), "x"}}
			if err := tx.SetMarker(l.store, l.p, int64(i)); err != nil {
				t.Fatal(err)
			}
		}
	})
	check := func(when string) {
		t.Helper()
		d.view(func(tx *state.Txn) {
			for _, l := range locs {
				got := kvOf(tx, l.store, l.p).dump(t)
				w := want[l]
				slices.SortFunc(w, func(a, b kv) int { return strings.Compare(a.Key, b.Key) })
				if diff(w, got) != "" {
					t.Errorf("%s: store %s holds the wrong entries: %s", when, name(l), diff(w, got))
				}
			}
		})
		for i, l := range locs {
			d.wantMarker(t, l.store, l.p, int64(i))
		}
	}
	check("after writing the same key everywhere")

	// A delete in one store and partition touches nothing else.
	for _, i := range []int{0, 4, 12} {
		l := locs[i]
		d.update(t, func(tx *state.Txn) { kvOf(tx, l.store, l.p).del(t, "k") })
		want[l] = want[l][1:]
		check(fmt.Sprintf("after deleting k in %s", name(l)))
	}
}

// ---------------------------------------------------------------------------
// Transactions.

func (s *suite) txnReadYourWrites(t *testing.T) {
	d := s.fresh(t)
	d.update(t, func(tx *state.Txn) {
		st := kvOf(tx, "s", 0)
		st.set(t, "k1", "v1")
		st.set(t, "k2", "v2")
		st.set(t, "k3", "v3")
		ws := winsOf(tx, winSpec, 0)
		ws.put(t, "x", wnd(0, 1000), "a")
		ws.put(t, "x", wnd(1000, 2000), "b")
		ws.put(t, "x", wnd(5000, 10000), "e")
	})

	tx := d.Begin()
	defer tx.Discard()
	st := kvOf(tx, "s", 0)
	st.set(t, "k1", "n1")
	st.del(t, "k2")
	st.set(t, "k4", "v4")
	st.set(t, "k0", "v0")
	st.want(t, "k1", "n1")
	st.wantMissing(t, "k2")
	st.want(t, "k3", "v3")
	st.want(t, "k4", "v4")
	if got, want := st.dump(t), []kv{{"k0", "v0"}, {"k1", "n1"}, {"k3", "v3"}, {"k4", "v4"}}; diff(want, got) != "" {
		t.Errorf("Scan inside the txn: %s", diff(want, got))
	}
	if got, want := st.scan(t, []byte("k1"), []byte("k4")), []kv{{"k1", "n1"}, {"k3", "v3"}}; diff(want, got) != "" {
		t.Errorf("Scan(k1, k4) inside the txn: %s", diff(want, got))
	}
	ws := winsOf(tx, winSpec, 0)
	ws.put(t, "x", wnd(2000, 3000), "c")
	ws.del(t, "x", wnd(0, 1000))
	ws.put(t, "x", wnd(1000, 2000), "B")
	ws.wantMissing(t, "x", wnd(0, 1000))
	ws.want(t, "x", wnd(1000, 2000), "B")
	ws.want(t, "x", wnd(2000, 3000), "c")
	wantW := []win{{"x", 1000, 2000, "B"}, {"x", 2000, 3000, "c"}, {"x", 5000, 10000, "e"}}
	if got := ws.fetch(t, "x", -100000, 100000); diff(wantW, got) != "" {
		t.Errorf("Fetch inside the txn: %s", diff(wantW, got))
	}
	if got := ws.dump(t); diff(wantW, got) != "" {
		t.Errorf("window Scan inside the txn: %s", diff(wantW, got))
	}

	// Another transaction sees none of it.
	d.view(func(other *state.Txn) {
		st := kvOf(other, "s", 0)
		st.want(t, "k1", "v1")
		st.want(t, "k2", "v2")
		st.wantMissing(t, "k4")
		winsOf(other, winSpec, 0).want(t, "x", wnd(0, 1000), "a")
		winsOf(other, winSpec, 0).wantMissing(t, "x", wnd(2000, 3000))
	})
}

func (s *suite) txnDiscard(t *testing.T) {
	d := s.fresh(t)
	d.update(t, func(tx *state.Txn) {
		kvOf(tx, "s", 0).set(t, "a", "1")
		kvOf(tx, "s", 0).set(t, "b", "2")
		winsOf(tx, winSpec, 0).put(t, "x", wnd(0, 1000), "w")
		if err := tx.SetMarker("s", 0, 5); err != nil {
			t.Fatal(err)
		}
	})
	wantKV, wantW := d.dumpKV(t, "s", 0), d.dumpWin(t, winSpec, 0)

	tx := d.Begin()
	kvOf(tx, "s", 0).set(t, "a", "changed")
	kvOf(tx, "s", 0).del(t, "b")
	kvOf(tx, "s", 0).set(t, "c", "new")
	kvOf(tx, "s", 1).set(t, "c", "new")
	winsOf(tx, winSpec, 0).put(t, "x", wnd(1000, 2000), "w2")
	winsOf(tx, winSpec, 0).expire(t, 1<<40)
	if err := tx.SetMarker("s", 0, 99); err != nil {
		t.Fatal(err)
	}
	tx.Discard()
	tx.Discard() // twice is harmless
	if err := tx.Commit(); err == nil {
		t.Errorf("Commit after Discard succeeded; want an error")
	}

	if got := d.dumpKV(t, "s", 0); diff(wantKV, got) != "" {
		t.Errorf("after Discard: %s", diff(wantKV, got))
	}
	if got := d.dumpKV(t, "s", 1); len(got) != 0 {
		t.Errorf("after Discard: s/1 holds %v; want nothing", got)
	}
	if got := d.dumpWin(t, winSpec, 0); diff(wantW, got) != "" {
		t.Errorf("windows after Discard: %s", diff(wantW, got))
	}
	d.wantMarker(t, "s", 0, 5)
}

func (s *suite) txnCommitVisible(t *testing.T) {
	d := s.fresh(t)
	tx := d.Begin()
	kvOf(tx, "s", 0).set(t, "a", "1")
	kvOf(tx, "t", 3).set(t, "b", "2")
	winsOf(tx, winSpec, 2).put(t, "x", wnd(-500, 500), "w")
	// Before Commit, the database does not hold them.
	d.view(func(other *state.Txn) {
		kvOf(other, "s", 0).wantMissing(t, "a")
		winsOf(other, winSpec, 2).wantMissing(t, "x", wnd(-500, 500))
	})
	commit(t, tx)
	d.view(func(tx *state.Txn) {
		kvOf(tx, "s", 0).want(t, "a", "1")
		kvOf(tx, "t", 3).want(t, "b", "2")
		winsOf(tx, winSpec, 2).want(t, "x", wnd(-500, 500), "w")
		if got, want := winsOf(tx, winSpec, 2).fetch(t, "x", -1000, 1000), []win{{"x", -500, 500, "w"}}; diff(want, got) != "" {
			t.Errorf("Fetch after Commit: %s", diff(want, got))
		}
	})
}

func (s *suite) txnEmptyCommit(t *testing.T) {
	d := s.fresh(t)
	tx := d.Begin()
	if n := len(tx.Changes()); n != 0 {
		t.Errorf("a new Txn has %d changes; want none", n)
	}
	commit(t, tx)
	d.update(t, func(tx *state.Txn) { kvOf(tx, "s", 0).set(t, "a", "1") })
	tx = d.Begin()
	kvOf(tx, "s", 0).want(t, "a", "1")
	commit(t, tx) // a read-only transaction commits too
	d.view(func(tx *state.Txn) { kvOf(tx, "s", 0).want(t, "a", "1") })
}

func changeString(c state.Change) string {
	v := "<delete>"
	if c.Value != nil {
		v = fmt.Sprintf("%q", c.Value)
	}
	return fmt.Sprintf("{%s/%d %q %s}", c.Store, c.Partition, c.Key, v)
}

// checkChanges compares changes by store partition, each in order: the
// order across store partitions is free (they go to different changelog
// partitions).
func checkChanges(t testing.TB, got, want []state.Change) {
	t.Helper()
	byPart := func(cs []state.Change) []state.Change {
		cs = slices.Clone(cs)
		slices.SortStableFunc(cs, func(a, b state.Change) int {
			if c := strings.Compare(a.Store, b.Store); c != 0 {
				return c
			}
			return int(a.Partition) - int(b.Partition)
		})
		return cs
	}
	got, want = byPart(got), byPart(want)
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		g, w := got[i], want[i]
		same = g.Store == w.Store && g.Partition == w.Partition && bytes.Equal(g.Key, w.Key) &&
			bytes.Equal(g.Value, w.Value) && (g.Value == nil) == (w.Value == nil)
	}
	if !same {
		var b strings.Builder
		b.WriteString("Changes() =")
		for _, c := range got {
			b.WriteString("\n    " + changeString(c))
		}
		b.WriteString("\n  want")
		for _, c := range want {
			b.WriteString("\n    " + changeString(c))
		}
		t.Error(b.String())
	}
}

func (s *suite) txnChanges(t *testing.T) {
	d := s.fresh(t)
	tx := d.Begin()
	defer tx.Discard()
	a0, a1, b0 := kvOf(tx, "a", 0), kvOf(tx, "a", 1), kvOf(tx, "b", 0)
	w0, w1 := winsOf(tx, winSpec, 0), winsOf(tx, winSpec, 1)
	a0.set(t, "x", "1")
	a0.set(t, "y", "1")
	a1.set(t, "x", "1")
	b0.set(t, "x", "1")
	a0.set(t, "x", "2")
	w0.put(t, "x", wnd(0, 1000), "w1")
	a1.del(t, "x")
	a0.del(t, "y")
	b0.del(t, "z") // a delete of a missing key still goes to the changelog
	b0.set(t, "z", "")
	w0.put(t, "x", wnd(0, 1000), "w2")
	w0.del(t, "x", wnd(1000, 2000))
	if err := tx.SetMarker("a", 0, 7); err != nil { // markers are not changes
		t.Fatal(err)
	}
	w1.expire(t, 0) // expiry is not written to the changelog
	want := []state.Change{
		{Store: "a", Partition: 0, Key: []byte("x"), Value: []byte("2")},
		{Store: "a", Partition: 0, Key: []byte("y"), Value: nil},
		{Store: "a", Partition: 1, Key: []byte("x"), Value: nil},
		{Store: "b", Partition: 0, Key: []byte("x"), Value: []byte("1")},
		{Store: "w", Partition: 0, Key: state.EncodeWindowKey([]byte("x"), wnd(0, 1000)), Value: []byte("w2")},
		{Store: "b", Partition: 0, Key: []byte("z"), Value: []byte{}},
		{Store: "w", Partition: 0, Key: state.EncodeWindowKey([]byte("x"), wnd(1000, 2000)), Value: nil},
	}
	checkChanges(t, tx.Changes(), want)

	// Window changelog keys decode to the window written.
	for _, c := range tx.Changes() {
		if c.Store != "w" {
			continue
		}
		k, w, err := state.DecodeWindowKey(c.Key)
		if err != nil {
			t.Errorf("DecodeWindowKey(%q) of a window change: %v", c.Key, err)
		} else if string(k) != "x" || w.End.UnixMilli()-w.Start.UnixMilli() != 1000 {
			t.Errorf("DecodeWindowKey(%q) = %q, %v; want \"x\" and a 1s window", c.Key, k, w)
		}
	}
}

func (s *suite) txnChangesCopy(t *testing.T) {
	d := s.fresh(t)
	tx := d.Begin()
	key, val := []byte("m"), []byte("1")
	if err := tx.KV("s", 0).Set(key, val); err != nil {
		t.Fatal(err)
	}
	wkey, wval := []byte("wk"), []byte("wv")
	if err := tx.Window(winSpec, 0).Put(wkey, wnd(0, 1000), wval); err != nil {
		t.Fatal(err)
	}
	// The caller may reuse its buffers once a write returns.
	key[0], val[0], wkey[0], wval[0] = 'X', '9', 'X', 'X'
	checkChanges(t, tx.Changes(), []state.Change{
		{Store: "s", Partition: 0, Key: []byte("m"), Value: []byte("1")},
		{Store: "w", Partition: 0, Key: state.EncodeWindowKey([]byte("wk"), wnd(0, 1000)), Value: []byte("wv")},
	})
	kvOf(tx, "s", 0).want(t, "m", "1")
	winsOf(tx, winSpec, 0).want(t, "wk", wnd(0, 1000), "wv")
	commit(t, tx)
	d.view(func(tx *state.Txn) {
		kvOf(tx, "s", 0).want(t, "m", "1")
		kvOf(tx, "s", 0).wantMissing(t, "X")
		winsOf(tx, winSpec, 0).want(t, "wk", wnd(0, 1000), "wv")
	})
}

func (s *suite) txnCommitTwice(t *testing.T) {
	d := s.fresh(t)
	tx := d.Begin()
	kvOf(tx, "s", 0).set(t, "a", "1")
	commit(t, tx)
	if err := tx.Commit(); err == nil {
		t.Errorf("second Commit succeeded; want an error")
	}
	tx.Discard() // after Commit: a no-op, the writes stay
	d.view(func(tx *state.Txn) { kvOf(tx, "s", 0).want(t, "a", "1") })
}

func (s *suite) txnDiscardedNotDurable(t *testing.T) {
	dir := t.TempDir()
	d := s.openAt(t, dir)
	d.update(t, func(tx *state.Txn) { kvOf(tx, "s", 0).set(t, "a", "1") })
	tx := d.Begin()
	kvOf(tx, "s", 0).set(t, "b", "2")
	kvOf(tx, "s", 0).del(t, "a")
	winsOf(tx, winSpec, 0).put(t, "x", wnd(0, 1000), "w")
	if err := tx.SetMarker("s", 0, 10); err != nil {
		t.Fatal(err)
	}
	tx.Discard()
	d.update(t, func(tx *state.Txn) { kvOf(tx, "s", 0).set(t, "c", "3") })
	d.close(t)

	d = s.openAt(t, dir)
	if got, want := d.dumpKV(t, "s", 0), []kv{{"a", "1"}, {"c", "3"}}; diff(want, got) != "" {
		t.Errorf("after reopening: %s", diff(want, got))
	}
	if got := d.dumpWin(t, winSpec, 0); len(got) != 0 {
		t.Errorf("after reopening: discarded windows %v are there", got)
	}
	d.wantNoMarker(t, "s", 0)
}

// txnLarge writes transactions bigger than a small memtable.
func (s *suite) txnLarge(t *testing.T) {
	d := s.fresh(t)
	const n = 4000
	r := rand.New(rand.NewPCG(7, 7))
	model := map[string]string{}
	wmodel := map[winID]string{}
	tx := d.Begin()
	st, ws := kvOf(tx, "big", 0), winsOf(tx, winSpec, 0)
	for i := 0; i < n; i++ {
		k, v := fmt.Sprintf("key-%05d", i), randString(r, 256)
		st.set(t, k, v)
		model[k] = v
		if i%4 == 0 {
			id := winID{fmt.Sprintf("w%d", i%7), int64(i) * 100, int64(i)*100 + 5000}
			ws.put(t, id.Key, wnd(id.Start, id.End), v[:32])
			wmodel[id] = v[:32]
		}
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		k := fmt.Sprintf("key-%05d", i)
		st.want(t, k, model[k])
	}
	if got := st.dump(t); diff(kvModel(model), got) != "" {
		t.Errorf("Scan inside a large txn: %s", diff(kvModel(model), got))
	}
	commit(t, tx)
	if got := d.dumpKV(t, "big", 0); diff(kvModel(model), got) != "" {
		t.Errorf("after committing a large txn: %s", diff(kvModel(model), got))
	}

	// A second large transaction deletes half and rewrites the rest.
	d.update(t, func(tx *state.Txn) {
		st, ws := kvOf(tx, "big", 0), winsOf(tx, winSpec, 0)
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("key-%05d", i)
			if i%2 == 0 {
				st.del(t, k)
				delete(model, k)
			} else {
				model[k] = randString(r, 200)
				st.set(t, k, model[k])
			}
		}
		for id := range wmodel {
			if id.Start%300 == 0 {
				ws.del(t, id.Key, wnd(id.Start, id.End))
				delete(wmodel, id)
			}
		}
		if got := st.dump(t); diff(kvModel(model), got) != "" {
			t.Errorf("Scan inside the second large txn: %s", diff(kvModel(model), got))
		}
	})
	if got := d.dumpKV(t, "big", 0); diff(kvModel(model), got) != "" {
		t.Errorf("after committing the second large txn: %s", diff(kvModel(model), got))
	}
	if got := d.dumpWin(t, winSpec, 0); diff(winModel(wmodel), got) != "" {
		t.Errorf("windows after two large txns: %s", diff(winModel(wmodel), got))
	}
}

func randString(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// Durability.

func (s *suite) durabilityReopen(t *testing.T) {
	dir := t.TempDir()
	d := s.openAt(t, dir)
	r := rand.New(rand.NewPCG(11, 12))
	d.update(t, func(tx *state.Txn) {
		for i := 0; i < 300; i++ {
			kvOf(tx, "s", 0).set(t, fmt.Sprintf("k%03d", i), randString(r, 200))
			kvOf(tx, "s", 1).set(t, fmt.Sprintf("k%03d", i), fmt.Sprint(i))
			winsOf(tx, winSpec, 0).put(t, fmt.Sprintf("w%d", i%5), wnd(int64(i)*700-60000, int64(i)*700-50000), fmt.Sprint(i))
		}
		kvOf(tx, "s", 0).set(t, "empty", "")
		for _, m := range []struct {
			store string
			p     int32
			off   int64
		}{{"s", 0, 11}, {"s", 1, 0}, {"w", 0, math.MaxInt64}} {
			if err := tx.SetMarker(m.store, m.p, m.off); err != nil {
				t.Fatal(err)
			}
		}
	})
	d.update(t, func(tx *state.Txn) {
		for i := 0; i < 300; i += 3 {
			kvOf(tx, "s", 0).del(t, fmt.Sprintf("k%03d", i))
		}
	})
	type snapshot struct {
		s0, s1 []kv
		w0     []win
	}
	take := func() snapshot {
		return snapshot{d.dumpKV(t, "s", 0), d.dumpKV(t, "s", 1), d.dumpWin(t, winSpec, 0)}
	}
	compare := func(when string, want, got snapshot) {
		t.Helper()
		if msg := diff(want.s0, got.s0); msg != "" {
			t.Errorf("%s: s/0: %s", when, msg)
		}
		if msg := diff(want.s1, got.s1); msg != "" {
			t.Errorf("%s: s/1: %s", when, msg)
		}
		if msg := diff(want.w0, got.w0); msg != "" {
			t.Errorf("%s: w/0: %s", when, msg)
		}
	}
	want := take()
	if len(want.s0) != 201 || len(want.w0) != 300 {
		t.Fatalf("before reopening: s/0 holds %d entries, w/0 %d windows; want 201 and 300", len(want.s0), len(want.w0))
	}
	d.close(t)

	d = s.openAt(t, dir)
	compare("after reopening", want, take())
	d.view(func(tx *state.Txn) { kvOf(tx, "s", 0).want(t, "empty", "") })
	d.wantMarker(t, "s", 0, 11)
	d.wantMarker(t, "s", 1, 0)
	d.wantMarker(t, "w", 0, math.MaxInt64)
	d.wantNoMarker(t, "w", 1)

	// Drop, Restore and Expire are durable too.
	if err := d.Drop("s", 1); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	restored := []state.Change{{Store: "r", Partition: 2, Key: []byte("rk"), Value: []byte("rv")}}
	if err := d.Restore(state.Spec{Name: "r", Kind: state.KindKV}, 2, restored, 77, time.Time{}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	d.update(t, func(tx *state.Txn) { winsOf(tx, winSpec, 0).expire(t, 0) })
	want = take()
	for _, w := range want.w0 {
		if w.End < 0 {
			t.Fatalf("Expire(0) left %v, which ended before 0", w)
		}
	}
	d.close(t)

	d = s.openAt(t, dir)
	compare("after the second reopening", want, take())
	d.wantNoMarker(t, "s", 1)
	d.wantMarker(t, "r", 2, 77)
	d.wantMarker(t, "s", 0, 11)
	if got, w := d.dumpKV(t, "r", 2), []kv{{"rk", "rv"}}; diff(w, got) != "" {
		t.Errorf("restored store after reopening: %s", diff(w, got))
	}
}

// durabilityManyCommits writes enough small transactions to fill several
// memtables of a small configuration, checking contents against a model
// before and after reopening.
func (s *suite) durabilityManyCommits(t *testing.T) {
	dir := t.TempDir()
	d := s.openAt(t, dir)
	r := rand.New(rand.NewPCG(5, 6))
	model := map[string]string{}
	for i := 0; i < 60; i++ {
		d.update(t, func(tx *state.Txn) {
			st := kvOf(tx, "s", 0)
			for j := 0; j < 50; j++ {
				k := fmt.Sprintf("k%04d", r.IntN(1500))
				if r.IntN(5) == 0 {
					st.del(t, k)
					delete(model, k)
				} else {
					v := randString(r, r.IntN(400))
					st.set(t, k, v)
					model[k] = v
				}
			}
			if err := tx.SetMarker("s", 0, int64(i)); err != nil {
				t.Fatal(err)
			}
		})
	}
	if got := d.dumpKV(t, "s", 0); diff(kvModel(model), got) != "" {
		t.Errorf("after 60 commits: %s", diff(kvModel(model), got))
	}
	d.close(t)
	d = s.openAt(t, dir)
	if got := d.dumpKV(t, "s", 0); diff(kvModel(model), got) != "" {
		t.Errorf("after reopening: %s", diff(kvModel(model), got))
	}
	d.wantMarker(t, "s", 0, 59)
}

// ---------------------------------------------------------------------------
// Markers.

func (s *suite) markerMissing(t *testing.T) {
	d := s.fresh(t)
	d.wantNoMarker(t, "s", 0)
	d.update(t, func(tx *state.Txn) {
		kvOf(tx, "s", 0).set(t, "a", "1")
		if err := tx.SetMarker("s", 1, 3); err != nil {
			t.Fatal(err)
		}
		if err := tx.SetMarker("st", 0, 3); err != nil {
			t.Fatal(err)
		}
	})
	d.wantNoMarker(t, "s", 0) // data alone sets no marker
	d.wantNoMarker(t, "t", 0)
}

func (s *suite) markerSetInTxn(t *testing.T) {
	d := s.fresh(t)
	tx := d.Begin()
	if err := tx.SetMarker("s", 0, 42); err != nil {
		t.Fatal(err)
	}
	d.wantNoMarker(t, "s", 0) // not before Commit
	commit(t, tx)
	d.wantMarker(t, "s", 0, 42)
	d.wantNoMarker(t, "s", 1)
	d.wantNoMarker(t, "s2", 0)

	for _, off := range []int64{7, 0, 1 << 40, math.MaxInt64, 43} {
		d.update(t, func(tx *state.Txn) {
			if err := tx.SetMarker("s", 0, off); err != nil {
				t.Fatal(err)
			}
		})
		d.wantMarker(t, "s", 0, off)
	}
	// The last SetMarker in a transaction wins.
	d.update(t, func(tx *state.Txn) {
		for _, off := range []int64{100, 101, 102} {
			if err := tx.SetMarker("s", 0, off); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.SetMarker("s", 1, 5); err != nil {
			t.Fatal(err)
		}
	})
	d.wantMarker(t, "s", 0, 102)
	d.wantMarker(t, "s", 1, 5)
}

func (s *suite) markerRestoreSets(t *testing.T) {
	d := s.fresh(t)
	kvSpec := state.Spec{Name: "s", Kind: state.KindKV}
	if err := d.Restore(kvSpec, 0, nil, 100, time.Time{}); err != nil {
		t.Fatalf("Restore with no changes: %v", err)
	}
	d.wantMarker(t, "s", 0, 100)
	d.wantNoMarker(t, "s", 1)
	ch := []state.Change{
		{Store: "s", Partition: 1, Key: []byte("a"), Value: []byte("1")},
		{Store: "s", Partition: 1, Key: []byte("b"), Value: []byte("2")},
		{Store: "s", Partition: 1, Key: []byte("a"), Value: nil},
	}
	if err := d.Restore(kvSpec, 1, ch, 3, time.Time{}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	d.wantMarker(t, "s", 1, 3)
	d.wantMarker(t, "s", 0, 100)
	if got, want := d.dumpKV(t, "s", 1), []kv{{"b", "2"}}; diff(want, got) != "" {
		t.Errorf("after Restore: %s", diff(want, got))
	}
	wch := []state.Change{{Store: "w", Partition: 0, Key: state.EncodeWindowKey([]byte("k"), wnd(0, 1000)), Value: []byte("v")}}
	if err := d.Restore(winSpec, 0, wch, 9, time.Time{}); err != nil {
		t.Fatalf("Restore of a window store: %v", err)
	}
	d.wantMarker(t, "w", 0, 9)
	if got, want := d.dumpWin(t, winSpec, 0), []win{{"k", 0, 1000, "v"}}; diff(want, got) != "" {
		t.Errorf("after Restore of a window store: %s", diff(want, got))
	}
}

func (s *suite) markerDrop(t *testing.T) {
	d := s.fresh(t)
	type loc struct {
		store string
		p     int32
	}
	kvLocs := []loc{{"a", 0}, {"a", 1}, {"a", -1}, {"b", 0}, {"ab", 0}, {"ab", 1}, {"c", 0}}
	winLocs := []loc{{"w", 0}, {"w", 1}, {"w2", 0}}
	spec := func(name string) state.Spec {
		if name == "w2" {
			return winSpec2
		}
		return winSpec
	}
	d.update(t, func(tx *state.Txn) {
		for i, l := range kvLocs {
			if l.store == "c" {
				continue // stays empty
			}
			for j := 0; j < 20; j++ {
				kvOf(tx, l.store, l.p).set(t, fmt.Sprintf("k%02d", j), fmt.Sprintf("%s/%d", l.store, l.p))
			}
			kvOf(tx, l.store, l.p).set(t, "\xff\xff\xff\xff\xff", "high")
			if err := tx.SetMarker(l.store, l.p, int64(i+1)); err != nil {
				t.Fatal(err)
			}
		}
		for i, l := range winLocs {
			ws := winsOf(tx, spec(l.store), l.p)
			for j := 0; j < 20; j++ {
				ws.put(t, "k", wnd(int64(j)*1500-10000, int64(j)*1500), fmt.Sprintf("%s/%d", l.store, l.p))
			}
			if err := tx.SetMarker(l.store, l.p, int64(100+i)); err != nil {
				t.Fatal(err)
			}
		}
	})
	kvWant := map[loc][]kv{}
	winWant := map[loc][]win{}
	marks := map[loc]int64{}
	for _, l := range kvLocs {
		kvWant[l] = d.dumpKV(t, l.store, l.p)
		if off, ok := d.marker(t, l.store, l.p); ok {
			marks[l] = off
		}
	}
	for _, l := range winLocs {
		winWant[l] = d.dumpWin(t, spec(l.store), l.p)
		if off, ok := d.marker(t, l.store, l.p); ok {
			marks[l] = off
		}
	}
	check := func(when string) {
		t.Helper()
		for l, want := range kvWant {
			if got := d.dumpKV(t, l.store, l.p); diff(want, got) != "" {
				t.Errorf("%s: KV %s/%d: %s", when, l.store, l.p, diff(want, got))
			}
		}
		for l, want := range winWant {
			if got := d.dumpWin(t, spec(l.store), l.p); diff(want, got) != "" {
				t.Errorf("%s: window %s/%d: %s", when, l.store, l.p, diff(want, got))
			}
		}
		for _, l := range append(slices.Clone(kvLocs), winLocs...) {
			if off, ok := marks[l]; ok {
				d.wantMarker(t, l.store, l.p, off)
			} else {
				d.wantNoMarker(t, l.store, l.p)
			}
		}
	}
	check("before Drop")
	for _, l := range []loc{{"a", 0}, {"a", -1}, {"w", 1}, {"ab", 1}} {
		if err := d.Drop(l.store, l.p); err != nil {
			t.Fatalf("Drop(%q, %d): %v", l.store, l.p, err)
		}
		if _, ok := kvWant[l]; ok {
			kvWant[l] = nil
		} else {
			winWant[l] = nil
		}
		delete(marks, l)
		check(fmt.Sprintf("after Drop(%q, %d)", l.store, l.p))
	}
	if err := d.Drop("nothing-here", 5); err != nil {
		t.Errorf("Drop of an empty store: %v", err)
	}
	check("after dropping an empty store")

	// A dropped partition can be written again.
	d.update(t, func(tx *state.Txn) {
		kvOf(tx, "a", 0).set(t, "k00", "back")
		winsOf(tx, winSpec, 1).put(t, "k", wnd(0, 1500), "back")
		if err := tx.SetMarker("a", 0, 500); err != nil {
			t.Fatal(err)
		}
	})
	kvWant[loc{"a", 0}] = []kv{{"k00", "back"}}
	winWant[loc{"w", 1}] = []win{{"k", 0, 1500, "back"}}
	marks[loc{"a", 0}] = 500
	check("after writing a dropped partition again")
}

// ---------------------------------------------------------------------------
// Restore.

type loc struct {
	store string
	p     int32
}

// restoreEquivalence checks the key property of the changelog: replaying
// the Changes of every committed transaction into an empty database gives
// the same contents as the database they were committed to.
func (s *suite) restoreEquivalence(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	specs := []state.Spec{
		{Name: "kv", Kind: state.KindKV},
		{Name: "kv-2", Kind: state.KindKV},
		{Name: "win", Kind: state.KindWindow, Retention: time.Hour, SegmentInterval: time.Second},
		{Name: "win2", Kind: state.KindWindow, Retention: 10 * time.Second}, // default segment interval
	}
	parts := []int32{0, 3}
	kvKeys := func() []byte {
		switch r.IntN(8) {
		case 0:
			return []byte{}
		case 1:
			return []byte{0x00, byte(r.IntN(3))}
		case 2:
			return []byte{0xff, byte(0xfd + r.IntN(3))}
		default:
			return fmt.Appendf(nil, "k%02d", r.IntN(25))
		}
	}
	winKeys := []string{"", "a", "ab", "b", "\x00\xff", "key-5"}
	value := func() []byte {
		if r.IntN(6) == 0 {
			return []byte{}
		}
		return []byte(randString(r, 1+r.IntN(300)))
	}
	window := func() state.Window {
		end := int64(r.IntN(120)-20) * 2500
		return wnd(end-int64(1+r.IntN(2))*5000, end)
	}

	src := s.fresh(t)
	var log []state.Change
	committed := 0
	for i := 0; i < 30; i++ {
		tx := src.Begin()
		n := 1 + r.IntN(40)
		for j := 0; j < n; j++ {
			spec := specs[r.IntN(len(specs))]
			p := parts[r.IntN(len(parts))]
			op := r.IntN(10)
			var err error
			switch {
			case spec.Kind == state.KindKV && op < 7:
				err = tx.KV(spec.Name, p).Set(kvKeys(), value())
			case spec.Kind == state.KindKV:
				err = tx.KV(spec.Name, p).Delete(kvKeys())
			case op < 7:
				err = tx.Window(spec, p).Put([]byte(winKeys[r.IntN(len(winKeys))]), window(), value())
			default:
				err = tx.Window(spec, p).Delete([]byte(winKeys[r.IntN(len(winKeys))]), window())
			}
			if err != nil {
				t.Fatalf("txn %d op %d: %v", i, j, err)
			}
		}
		if r.IntN(7) == 0 {
			tx.Discard()
			continue
		}
		ch := slices.Clone(tx.Changes())
		for _, sp := range specs {
			for _, p := range parts {
				if err := tx.SetMarker(sp.Name, p, int64(len(log)+len(ch))); err != nil {
					t.Fatal(err)
				}
			}
		}
		commit(t, tx)
		log = append(log, ch...)
		committed++
	}
	if committed == 0 || len(log) == 0 {
		t.Fatalf("seed %d produced no changes", seed)
	}

	// The model: every change applied to a map, per store and partition.
	forLoc := func(l loc, log []state.Change) []state.Change {
		var out []state.Change
		for _, c := range log {
			if c.Store == l.store && c.Partition == l.p {
				out = append(out, c)
			}
		}
		return out
	}
	modelOf := func(spec state.Spec, changes []state.Change) ([]kv, []win) {
		m := map[string]string{}
		for _, c := range changes {
			if c.Value == nil {
				delete(m, string(c.Key))
			} else {
				m[string(c.Key)] = string(c.Value)
			}
		}
		if spec.Kind == state.KindKV {
			return kvModel(m), nil
		}
		wm := map[winID]string{}
		for k, v := range m {
			key, w, err := state.DecodeWindowKey([]byte(k))
			if err != nil {
				t.Fatalf("a change of window store %s has key %q: %v", spec.Name, k, err)
			}
			wm[winID{string(key), w.Start.UnixMilli(), w.End.UnixMilli()}] = v
		}
		return nil, winModel(wm)
	}
	compare := func(when string, d *db, spec state.Spec, p int32, changes []state.Change) {
		t.Helper()
		wantKV, wantWin := modelOf(spec, changes)
		if spec.Kind == state.KindKV {
			if got := d.dumpKV(t, spec.Name, p); diff(wantKV, got) != "" {
				t.Errorf("seed %d: %s: KV %s/%d differs from the changelog: %s", seed, when, spec.Name, p, diff(wantKV, got))
			}
			return
		}
		if got := d.dumpWin(t, spec, p); diff(wantWin, got) != "" {
			t.Errorf("seed %d: %s: window %s/%d differs from the changelog: %s", seed, when, spec.Name, p, diff(wantWin, got))
		}
	}

	// The source database holds what its changelog says.
	for _, spec := range specs {
		for _, p := range parts {
			compare("source", src, spec, p, forLoc(loc{spec.Name, p}, log))
		}
	}

	// Restoring the whole changelog into a fresh database.
	dst := s.fresh(t)
	for _, spec := range specs {
		for _, p := range parts {
			ch := forLoc(loc{spec.Name, p}, log)
			if err := dst.Restore(spec, p, ch, int64(len(log)), time.Time{}); err != nil {
				t.Fatalf("Restore(%s, %d): %v", spec.Name, p, err)
			}
			compare("restored", dst, spec, p, ch)
			if got, want := src.dumpKV(t, spec.Name, p), dst.dumpKV(t, spec.Name, p); spec.Kind == state.KindKV && diff(want, got) != "" {
				t.Errorf("seed %d: KV %s/%d: restored copy differs from the source: %s", seed, spec.Name, p, diff(want, got))
			}
			if spec.Kind == state.KindWindow {
				if got, want := dst.dumpWin(t, spec, p), src.dumpWin(t, spec, p); diff(want, got) != "" {
					t.Errorf("seed %d: window %s/%d: restored copy differs from the source: %s", seed, spec.Name, p, diff(want, got))
				}
			}
			dst.wantMarker(t, spec.Name, p, int64(len(log)))
		}
	}

	// Restoring in two chunks, with a marker after each.
	dst2 := s.fresh(t)
	for _, spec := range specs {
		for _, p := range parts {
			ch := forLoc(loc{spec.Name, p}, log)
			cut := r.IntN(len(ch) + 1)
			if err := dst2.Restore(spec, p, ch[:cut], int64(1000+cut), time.Time{}); err != nil {
				t.Fatalf("Restore(%s, %d) first chunk: %v", spec.Name, p, err)
			}
			dst2.wantMarker(t, spec.Name, p, int64(1000+cut))
			compare(fmt.Sprintf("after the first %d of %d changes", cut, len(ch)), dst2, spec, p, ch[:cut])
			if err := dst2.Restore(spec, p, ch[cut:], int64(1000+len(ch)), time.Time{}); err != nil {
				t.Fatalf("Restore(%s, %d) second chunk: %v", spec.Name, p, err)
			}
			dst2.wantMarker(t, spec.Name, p, int64(1000+len(ch)))
			compare("after both chunks", dst2, spec, p, ch)
		}
	}

	// Replaying the changelog over the source changes nothing: a restore
	// from an older marker catches up without harm.
	for _, spec := range specs {
		for _, p := range parts {
			ch := forLoc(loc{spec.Name, p}, log)
			if err := src.Restore(spec, p, ch, int64(len(log)), time.Time{}); err != nil {
				t.Fatalf("replay Restore(%s, %d): %v", spec.Name, p, err)
			}
			compare("source after replaying its changelog", src, spec, p, ch)
		}
	}
}

func (s *suite) restoreExpireBefore(t *testing.T) {
	const cutoff = 60_000
	ends := []int64{-120_000, -1, 0, cutoff - 2000, cutoff - 1000, cutoff - 1, cutoff, cutoff + 1, cutoff + 999, cutoff + 1000, cutoff + 60_000}
	src := s.fresh(t)
	ch := src.update(t, func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		for _, e := range ends {
			ws.put(t, "k", wnd(e-5000, e), fmt.Sprint(e))
			ws.put(t, "other", wnd(e-1000, e), fmt.Sprint(e))
		}
		ws.del(t, "k", wnd(cutoff-7000, cutoff-2000))
	})
	var want []win
	for _, e := range ends {
		if e > cutoff && e != cutoff-2000 {
			want = append(want, win{"k", e - 5000, e, fmt.Sprint(e)}, win{"other", e - 1000, e, fmt.Sprint(e)})
		}
	}
	want = sortWins(want)
	d := s.fresh(t)
	if err := d.Restore(winSpec, 0, ch, 50, ms(cutoff)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := d.dumpWin(t, winSpec, 0); diff(want, got) != "" {
		t.Errorf("Restore with expireBefore=%d must skip exactly the windows that ended at or before it: %s", cutoff, diff(want, got))
	}
	d.wantMarker(t, "w", 0, 50)

	// expireBefore does not apply to KV stores.
	kvch := []state.Change{{Store: "s", Partition: 0, Key: []byte("a"), Value: []byte("1")}}
	if err := d.Restore(state.Spec{Name: "s", Kind: state.KindKV}, 0, kvch, 1, ms(1<<50)); err != nil {
		t.Fatalf("Restore of a KV store: %v", err)
	}
	if got, w := d.dumpKV(t, "s", 0), []kv{{"a", "1"}}; diff(w, got) != "" {
		t.Errorf("Restore of a KV store with expireBefore: %s", diff(w, got))
	}
}

func (s *suite) restoreMalformed(t *testing.T) {
	d := s.fresh(t)
	ch := []state.Change{
		{Store: "w", Partition: 0, Key: state.EncodeWindowKey([]byte("k"), wnd(0, 1000)), Value: []byte("v")},
		{Store: "w", Partition: 0, Key: []byte("not a window key"), Value: []byte("v")},
	}
	if err := d.Restore(winSpec, 0, ch, 5, time.Time{}); err == nil {
		t.Fatalf("Restore of a malformed window key succeeded; want an error")
	}
	d.wantNoMarker(t, "w", 0)
	if got := d.dumpWin(t, winSpec, 0); len(got) != 0 {
		t.Errorf("a failed Restore wrote %v; want nothing (restore is atomic)", got)
	}
}

// ---------------------------------------------------------------------------
// Window stores.

func (s *suite) winPutGetDelete(t *testing.T) {
	d := s.fresh(t)
	tx := d.Begin()
	ws := winsOf(tx, winSpec, 0)
	w1, w2, w3 := wnd(0, 10000), wnd(5000, 10000), wnd(10000, 20000)
	ws.wantMissing(t, "k", w1)
	ws.put(t, "k", w1, "v1")
	ws.put(t, "k", w2, "v2") // same end, another start
	ws.put(t, "k", w3, "")
	ws.want(t, "k", w1, "v1")
	ws.want(t, "k", w2, "v2")
	ws.want(t, "k", w3, "")
	ws.wantMissing(t, "k", wnd(1, 10000))
	ws.wantMissing(t, "k", wnd(0, 10001))
	ws.wantMissing(t, "kk", w1)
	ws.wantMissing(t, "", w1)
	winsOf(tx, winSpec, 1).wantMissing(t, "k", w1)
	winsOf(tx, winSpec2, 0).wantMissing(t, "k", w1)
	commit(t, tx)

	d.update(t, func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		ws.want(t, "k", w1, "v1")
		ws.want(t, "k", w2, "v2")
		ws.want(t, "k", w3, "")
		ws.del(t, "k", w1)
		ws.put(t, "k", w2, "v2b")
		ws.wantMissing(t, "k", w1)
		ws.del(t, "k", wnd(123, 456)) // deleting a missing window is not an error
	})
	d.view(func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		ws.wantMissing(t, "k", w1)
		ws.want(t, "k", w2, "v2b")
		ws.want(t, "k", w3, "")
	})
	if got, want := d.dumpWin(t, winSpec, 0), []win{{"k", 5000, 10000, "v2b"}, {"k", 10000, 20000, ""}}; diff(want, got) != "" {
		t.Errorf("after Delete: %s", diff(want, got))
	}
}

// winMilliseconds checks that windows are kept to the millisecond.
func (s *suite) winMilliseconds(t *testing.T) {
	d := s.fresh(t)
	precise := state.Window{Start: time.UnixMilli(1000).Add(400 * time.Microsecond), End: time.UnixMilli(2000).Add(999 * time.Microsecond)}
	d.update(t, func(tx *state.Txn) {
		winsOf(tx, winSpec, 0).put(t, "k", precise, "v")
	})
	d.view(func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		ws.want(t, "k", precise, "v")
		ws.want(t, "k", wnd(1000, 2000), "v")
		if got, want := ws.fetch(t, "k", 0, 10000), []win{{"k", 1000, 2000, "v"}}; diff(want, got) != "" {
			t.Errorf("Fetch of a window with sub-millisecond times: %s", diff(want, got))
		}
	})
}

func (s *suite) winFetchKeyIsolation(t *testing.T) {
	keys := []string{"a", "ab", "a\x00", "", "b", "\x00", "\x00\x00\x00\x01a", "aa", "\xff"}
	d := s.fresh(t)
	d.update(t, func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		for _, k := range keys {
			for j := int64(0); j < 10; j++ {
				ws.put(t, k, wnd(j*700-3000, j*700), fmt.Sprintf("%q-%d", k, j))
			}
		}
	})
	d.view(func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		for _, k := range keys {
			var want []win
			for j := int64(0); j < 10; j++ {
				want = append(want, win{k, j*700 - 3000, j * 700, fmt.Sprintf("%q-%d", k, j)})
			}
			if got := ws.fetch(t, k, -100000, 100000); diff(want, got) != "" {
				t.Errorf("Fetch(%q) must return the windows of exactly that key: %s", k, diff(want, got))
			}
		}
		if got := ws.fetch(t, "abc", -100000, 100000); len(got) != 0 {
			t.Errorf("Fetch of a key never written returned %v", got)
		}
	})
}

func (s *suite) winFetchRange(t *testing.T) {
	const key = "k"
	r := rand.New(rand.NewPCG(99, 100))
	model := map[winID]string{}
	d := s.fresh(t)
	// Ends spread over about five minutes around the epoch, one-second
	// segments, with stretches of empty segments.
	randEnd := func() int64 {
		for {
			e := int64(r.IntN(300_000)) - 30_000
			if (e >= 60_000 && e < 75_000) || (e >= 200_000 && e < 230_000) {
				continue
			}
			return e
		}
	}
	d.update(t, func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		for i := 0; i < 150; i++ {
			e := randEnd()
			for j := 0; j < 1+r.IntN(3); j++ { // several windows with the same end
				id := winID{key, e - int64(1+r.IntN(60))*1000, e}
				model[id] = fmt.Sprint(i, "/", j)
				ws.put(t, id.Key, wnd(id.Start, id.End), model[id])
			}
			// Neighbouring keys in the same segments.
			for _, other := range []string{"j", "kk", "l", "", "k\x00"} {
				if r.IntN(3) == 0 {
					ws.put(t, other, wnd(e-1000, e), "other")
				}
			}
		}
		// A segment at the segment-boundary ends exactly.
		for _, e := range []int64{-1000, 0, 1000, 75_000, 230_000} {
			id := winID{key, e - 500, e}
			model[id] = "edge"
			ws.put(t, key, wnd(id.Start, id.End), "edge")
		}
	})
	fetchModel := func(from, to int64) []win {
		var out []win
		for id, v := range model {
			if id.End >= from && id.End < to {
				out = append(out, win{id.Key, id.Start, id.End, v})
			}
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].End != out[j].End {
				return out[i].End < out[j].End
			}
			return out[i].Start < out[j].Start
		})
		return out
	}
	var endsSeen []int64
	for id := range model {
		endsSeen = append(endsSeen, id.End)
	}
	slices.Sort(endsSeen)
	queries := [][2]int64{
		{-1 << 50, 1 << 50}, {0, 0}, {1000, 0}, {0, 1}, {-1000, 0}, {0, 1000}, {60_000, 75_000},
		{59_999, 75_001}, {65_000, 70_000}, {200_000, 230_000}, {199_000, 231_000}, {-30_001, -29_999},
	}
	for i := 0; i < 300; i++ {
		var from, to int64
		switch r.IntN(3) {
		case 0: // exact window ends
			from, to = endsSeen[r.IntN(len(endsSeen))], endsSeen[r.IntN(len(endsSeen))]
		case 1: // segment boundaries
			from, to = int64(r.IntN(320)-40)*1000, int64(r.IntN(320)-40)*1000
		default:
			from, to = int64(r.IntN(340_000))-40_000, int64(r.IntN(340_000))-40_000
		}
		if r.IntN(8) != 0 && from > to {
			from, to = to, from
		}
		queries = append(queries, [2]int64{from, to})
	}
	check := func(when string, ws wins) {
		t.Helper()
		for _, q := range queries {
			if got, want := ws.fetch(t, key, q[0], q[1]), fetchModel(q[0], q[1]); diff(want, got) != "" {
				t.Errorf("%s: Fetch(%q, %d, %d): %s", when, key, q[0], q[1], diff(want, got))
			}
		}
	}
	d.view(func(tx *state.Txn) { check("after Commit", winsOf(tx, winSpec, 0)) })

	// Inside a transaction that adds and deletes windows.
	tx := d.Begin()
	defer tx.Discard()
	ws := winsOf(tx, winSpec, 0)
	for id := range model {
		if r.IntN(3) == 0 {
			ws.del(t, id.Key, wnd(id.Start, id.End))
			delete(model, id)
		}
	}
	for i := 0; i < 50; i++ {
		e := randEnd()
		id := winID{key, e - 250, e}
		model[id] = "uncommitted"
		ws.put(t, key, wnd(id.Start, id.End), "uncommitted")
	}
	check("inside a txn", ws)
}

func (s *suite) winFetchStop(t *testing.T) {
	d := s.fresh(t)
	d.update(t, func(tx *state.Txn) {
		for i := int64(0); i < 10; i++ {
			winsOf(tx, winSpec, 0).put(t, "k", wnd(i*1000, i*1000+1000), "v")
		}
	})
	d.view(func(tx *state.Txn) {
		n := 0
		err := tx.Window(winSpec, 0).Fetch([]byte("k"), ms(0), ms(100000), func(state.Window, []byte) error {
			n++
			if n == 4 {
				return errStop
			}
			return nil
		})
		if !errors.Is(err, errStop) || n != 4 {
			t.Errorf("Fetch stopped after %d calls with %v; want 4 calls and the error returned by fn", n, err)
		}
		n = 0
		err = tx.Window(winSpec, 0).Scan(ms(0), ms(100000), func([]byte, state.Window, []byte) error {
			n++
			if n == 2 {
				return errStop
			}
			return nil
		})
		if !errors.Is(err, errStop) || n != 2 {
			t.Errorf("Scan stopped after %d calls with %v; want 2 calls and the error returned by fn", n, err)
		}
	})
}

func (s *suite) winNegativeTimes(t *testing.T) {
	d := s.fresh(t)
	y1900 := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	ids := []winID{
		{"k", y1900 - 60_000, y1900},
		{"k", -10_000, -5001},
		{"k", -5000, -1000}, // ends on a segment boundary
		{"k", -2000, -1001},
		{"k", -1500, -1},
		{"k", -1000, 0},
		{"k", -500, 500},
		{"k", 0, 1000},
		{"j", -1000, -1},
		{"j", y1900 - 1, y1900},
	}
	d.update(t, func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		for _, id := range ids {
			ws.put(t, id.Key, wnd(id.Start, id.End), fmt.Sprint(id.Start, id.End))
		}
	})
	d.view(func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		for _, id := range ids {
			ws.want(t, id.Key, wnd(id.Start, id.End), fmt.Sprint(id.Start, id.End))
		}
		var all []win
		for _, id := range ids {
			if id.Key == "k" {
				all = append(all, win{"k", id.Start, id.End, fmt.Sprint(id.Start, id.End)})
			}
		}
		sortWins(all)
		for _, q := range [][2]int64{{y1900 - 1, 2000}, {-5001, 1}, {-1001, 0}, {-1000, -1}, {y1900, y1900 + 1}, {-6000, -5000}} {
			var want []win
			for _, w := range all {
				if w.End >= q[0] && w.End < q[1] {
					want = append(want, w)
				}
			}
			if got := ws.fetch(t, "k", q[0], q[1]); diff(want, got) != "" {
				t.Errorf("Fetch(k, %d, %d): %s", q[0], q[1], diff(want, got))
			}
		}
		// The decoded times are the ones written.
		err := ws.s.Fetch([]byte("k"), ms(y1900), ms(y1900+1), func(w state.Window, _ []byte) error {
			if !w.End.Equal(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)) || !w.Start.Equal(time.Date(1899, 12, 31, 23, 59, 0, 0, time.UTC)) {
				t.Errorf("Fetch returned window %v; want [1899-12-31T23:59:00Z, 1900-01-01T00:00:00Z)", w)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	// Expiry before the epoch.
	d.update(t, func(tx *state.Txn) { winsOf(tx, winSpec, 0).expire(t, -1000) })
	d.view(func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		for _, id := range ids {
			switch {
			case (floorDiv(id.End, 1000)+1)*1000 <= -1000:
				ws.wantMissing(t, id.Key, wnd(id.Start, id.End))
			case id.End >= -1000:
				ws.want(t, id.Key, wnd(id.Start, id.End), fmt.Sprint(id.Start, id.End))
			}
		}
	})
}

func (s *suite) winScan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	keys := []string{"", "a", "ab", "b", "\x00", "\xff\xff", "long-key-long-key"}
	model := map[winID]string{}
	d := s.fresh(t)
	d.update(t, func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		for i := 0; i < 400; i++ {
			e := int64(r.IntN(240_000)) - 60_000
			id := winID{keys[r.IntN(len(keys))], e - int64(r.IntN(5000)), e}
			model[id] = fmt.Sprint(i)
			ws.put(t, id.Key, wnd(id.Start, id.End), model[id])
		}
		winsOf(tx, winSpec, 1).put(t, "a", wnd(0, 1000), "other partition")
		winsOf(tx, winSpec2, 0).put(t, "a", wnd(0, 1000), "other store")
	})
	scanModel := func(from, to int64) []win {
		var out []win
		for id, v := range model {
			if id.End >= from && id.End < to {
				out = append(out, win{id.Key, id.Start, id.End, v})
			}
		}
		return sortWins(out)
	}
	d.view(func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		queries := [][2]int64{{-1 << 50, 1 << 50}, {0, 0}, {10, 5}, {0, 1000}, {-60_000, 0}, {1, 999}}
		for i := 0; i < 100; i++ {
			queries = append(queries, [2]int64{int64(r.IntN(260_000)) - 70_000, int64(r.IntN(260_000)) - 70_000})
		}
		// Bounds on exact window ends, inside and on segment boundaries.
		var ends []int64
		for id := range model {
			ends = append(ends, id.End)
		}
		slices.Sort(ends)
		for i := 0; i < 100; i++ {
			a, b := ends[r.IntN(len(ends))], ends[r.IntN(len(ends))]
			queries = append(queries, [2]int64{min(a, b), max(a, b)}, [2]int64{a - 1000, a}, [2]int64{a, a + 1})
		}
		for _, q := range queries {
			got := ws.scan(t, ms(q[0]), ms(q[1]))
			if want := scanModel(q[0], q[1]); diff(want, sortWins(got)) != "" {
				t.Errorf("Scan(%d, %d): %s", q[0], q[1], diff(want, sortWins(got)))
			}
		}
	})
}

func (s *suite) winExpire(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	const iv = 1000 // winSpec's segment interval, in ms
	model := map[winID]string{}
	d := s.fresh(t)
	keys := []string{"", "a", "b", "ab"}
	d.update(t, func(tx *state.Txn) {
		ws := winsOf(tx, winSpec, 0)
		for i := 0; i < 500; i++ {
			e := int64(r.IntN(300_000)) - 60_000
			if e >= 100_000 && e < 130_000 {
				continue // empty segments
			}
			id := winID{keys[r.IntN(len(keys))], e - int64(r.IntN(10_000)), e}
			model[id] = fmt.Sprint(i)
			ws.put(t, id.Key, wnd(id.Start, id.End), model[id])
		}
		for _, e := range []int64{-1, 0, 999, 1000, 1001, 4999, 5000, 5001} {
			id := winID{"edge", e - 10, e}
			model[id] = "edge"
			ws.put(t, id.Key, wnd(id.Start, id.End), "edge")
		}
		// Other stores and partitions, which Expire must not touch.
		winsOf(tx, winSpec, 1).put(t, "a", wnd(-100_000, -90_000), "p1")
		winsOf(tx, winSpec2, 0).put(t, "a", wnd(-100_000, -90_000), "w2")
		kvOf(tx, "w3", 0).set(t, "a", "kv")
	})
	check := func(when string, tx *state.Txn, before int64, m map[winID]string) {
		t.Helper()
		ws := winsOf(tx, winSpec, 0)
		got := map[winID]string{}
		for _, w := range ws.dump(t) {
			got[winID{w.Key, w.Start, w.End}] = w.Value
		}
		for id, v := range m {
			segEnd := (floorDiv(id.End, iv) + 1) * iv
			gv, ok := got[id]
			switch {
			case segEnd <= before && ok:
				t.Errorf("%s: Expire(%d) left %v, whose segment ended at %d", when, before, win{id.Key, id.Start, id.End, v}, segEnd)
			case id.End >= before && (!ok || gv != v):
				t.Errorf("%s: Expire(%d) removed %v, which ended at or after it", when, before, win{id.Key, id.Start, id.End, v})
			}
			delete(got, id)
		}
		for id, v := range got {
			t.Errorf("%s: after Expire(%d) the store holds %v, which was never written", when, before, win{id.Key, id.Start, id.End, v})
		}
		winsOf(tx, winSpec, 1).want(t, "a", wnd(-100_000, -90_000), "p1")
		winsOf(tx, winSpec2, 0).want(t, "a", wnd(-100_000, -90_000), "w2")
		kvOf(tx, "w3", 0).want(t, "a", "kv")
	}
	befores := []int64{-1 << 40, -60_001, -1, 0, 1, 999, 1000, 1001, 5000, 5500, 99_999, 100_000, 115_500, 130_000, 239_999, 1 << 40}
	for _, before := range befores {
		tx := d.Begin()
		winsOf(tx, winSpec, 0).expire(t, before)
		check("inside the txn", tx, before, model)
		tx.Discard()
	}
	// Discarded expiries removed nothing.
	if got := d.dumpWin(t, winSpec, 0); diff(winModel(model), got) != "" {
		t.Errorf("after discarded Expires: %s", diff(winModel(model), got))
	}
	// Committed expiries, one after another.
	for _, before := range []int64{1000, 5500, 120_000} {
		d.update(t, func(tx *state.Txn) { winsOf(tx, winSpec, 0).expire(t, before) })
		d.view(func(tx *state.Txn) { check("after Commit", tx, before, model) })
		// Drop what is now guaranteed gone, keep the uncertain ones as
		// they are in the store for the next round.
		have := map[winID]bool{}
		for _, w := range d.dumpWin(t, winSpec, 0) {
			have[winID{w.Key, w.Start, w.End}] = true
		}
		for id := range model {
			if !have[id] {
				delete(model, id)
			}
		}
	}
}

func (s *suite) winExpireAncient(t *testing.T) {
	spec := state.Spec{Name: "ms", Kind: state.KindWindow, Retention: time.Hour, SegmentInterval: time.Millisecond}
	ancient := int64(-(1 << 62)) - 1000 // about 146 million years BC
	d := s.fresh(t)
	d.update(t, func(tx *state.Txn) {
		ws := winsOf(tx, spec, 0)
		ws.put(t, "k", wnd(ancient-10, ancient), "ancient")
		ws.put(t, "k", wnd(-20, -10), "recent")
		ws.put(t, "k", wnd(0, 10), "kept")
	})
	d.view(func(tx *state.Txn) {
		winsOf(tx, spec, 0).want(t, "k", wnd(ancient-10, ancient), "ancient")
		if got := winsOf(tx, spec, 0).fetch(t, "k", ancient, ancient+1); len(got) != 1 {
			t.Errorf("Fetch of an ancient window = %v; want it", got)
		}
	})
	d.update(t, func(tx *state.Txn) { winsOf(tx, spec, 0).expire(t, 0) })
	d.view(func(tx *state.Txn) {
		ws := winsOf(tx, spec, 0)
		ws.wantMissing(t, "k", wnd(ancient-10, ancient))
		ws.wantMissing(t, "k", wnd(-20, -10))
		ws.want(t, "k", wnd(0, 10), "kept")
	})
}

func (s *suite) winSubMillisecondSegment(t *testing.T) {
	spec := state.Spec{Name: "fine", Kind: state.KindWindow, Retention: time.Second, SegmentInterval: 500 * time.Microsecond}
	if err := spec.Validate(); err != nil {
		t.Skipf("Validate rejects a sub-millisecond segment interval: %v", err)
	}
	d := s.fresh(t)
	d.update(t, func(tx *state.Txn) {
		ws := winsOf(tx, spec, 0)
		for i := int64(0); i < 10; i++ {
			ws.put(t, "k", wnd(i-5, i), fmt.Sprint(i))
		}
	})
	d.view(func(tx *state.Txn) {
		ws := winsOf(tx, spec, 0)
		ws.want(t, "k", wnd(-2, 3), "3")
		if got := ws.fetch(t, "k", 2, 5); len(got) != 3 {
			t.Errorf("Fetch(k, 2, 5) = %v; want 3 windows", got)
		}
	})
	d.update(t, func(tx *state.Txn) { winsOf(tx, spec, 0).expire(t, 5) })
	d.view(func(tx *state.Txn) {
		ws := winsOf(tx, spec, 0)
		for i := int64(5); i < 10; i++ {
			ws.want(t, "k", wnd(i-5, i), fmt.Sprint(i))
		}
	})
}

func windowKeyRoundTrip(t *testing.T) {
	keys := [][]byte{nil, {}, {0}, []byte("k"), []byte("\xff\xff\xff\xff"), bytes.Repeat([]byte("x"), 1000)}
	windows := []state.Window{
		wnd(0, 0), wnd(0, 1000), wnd(-5000, -1), wnd(-1, 0),
		{Start: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Start: time.Time{}, End: time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)},
		wnd(math.MinInt64, math.MaxInt64),
	}
	for _, k := range keys {
		for _, w := range windows {
			enc := state.EncodeWindowKey(k, w)
			gk, gw, err := state.DecodeWindowKey(enc)
			if err != nil {
				t.Errorf("DecodeWindowKey(EncodeWindowKey(%q, %v)): %v", k, w, err)
				continue
			}
			if !bytes.Equal(gk, k) || gw.Start.UnixMilli() != w.Start.UnixMilli() || gw.End.UnixMilli() != w.End.UnixMilli() {
				t.Errorf("DecodeWindowKey(EncodeWindowKey(%q, %v)) = %q, %v", k, w, gk, gw)
			}
			if re := state.EncodeWindowKey(gk, gw); !bytes.Equal(re, enc) {
				t.Errorf("re-encoding %q, %v gives %x; want %x", gk, gw, re, enc)
			}
		}
	}
	// Encoded keys of one key sort by end, then start.
	a := state.EncodeWindowKey([]byte("k"), wnd(-5000, -1))
	b := state.EncodeWindowKey([]byte("k"), wnd(-10000, 0))
	c := state.EncodeWindowKey([]byte("k"), wnd(-5000, 0))
	if !(bytes.Compare(a, b) < 0 && bytes.Compare(b, c) < 0) {
		t.Errorf("encoded window keys do not sort by end, then start: %x %x %x", a, b, c)
	}
}

func windowKeyRejects(t *testing.T) {
	good := state.EncodeWindowKey([]byte("key"), wnd(0, 1000))
	bad := map[string][]byte{
		"nil":                 nil,
		"empty":               {},
		"3 bytes":             {0, 0, 0},
		"length only":         {0, 0, 0, 3},
		"one byte short":      good[:len(good)-1],
		"one byte long":       append(slices.Clone(good), 0),
		"key without window":  {0, 0, 0, 3, 'k', 'e', 'y'},
		"length too large":    append([]byte{0xff, 0xff, 0xff, 0xff}, good[4:]...),
		"length one too many": append([]byte{0, 0, 0, 4}, good[4:]...),
		"length one too few":  append([]byte{0, 0, 0, 2}, good[4:]...),
		"sixteen bytes":       make([]byte, 16),
		"nineteen bytes":      make([]byte, 19),
	}
	for name, b := range bad {
		if k, w, err := state.DecodeWindowKey(b); err == nil {
			t.Errorf("DecodeWindowKey(%s: %x) = %q, %v; want an error", name, b, k, w)
		}
	}
	if _, _, err := state.DecodeWindowKey(make([]byte, 20)); err != nil {
		t.Errorf("DecodeWindowKey of an empty key's window: %v", err)
	}
}

func specValidate(t *testing.T) {
	good := []state.Spec{
		{Name: "a", Kind: state.KindKV},
		{Name: "counts-by_user-2", Kind: state.KindKV},
		{Name: "ABCxyz019", Kind: state.KindKV},
		{Name: "-", Kind: state.KindKV},
		{Name: "_", Kind: state.KindKV},
		{Name: strings.Repeat("n", 200), Kind: state.KindKV},
		{Name: "w", Kind: state.KindWindow, Retention: time.Millisecond},
		{Name: "w", Kind: state.KindWindow, Retention: time.Hour, SegmentInterval: time.Minute},
	}
	for _, s := range good {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v; want nil", s, err)
		}
	}
	bad := map[string]state.Spec{
		"empty name":           {Name: "", Kind: state.KindKV},
		"name of 201 bytes":    {Name: strings.Repeat("n", 201), Kind: state.KindKV},
		"name of 256 bytes":    {Name: strings.Repeat("n", 256), Kind: state.KindKV},
		"space":                {Name: "a b", Kind: state.KindKV},
		"dot":                  {Name: "a.b", Kind: state.KindKV},
		"slash":                {Name: "a/b", Kind: state.KindKV},
		"NUL":                  {Name: "a\x00", Kind: state.KindKV},
		"non-ASCII letter":     {Name: "café", Kind: state.KindKV},
		"invalid UTF-8":        {Name: "a\xff", Kind: state.KindKV},
		"window, no retention": {Name: "w", Kind: state.KindWindow},
		"negative retention":   {Name: "w", Kind: state.KindWindow, Retention: -time.Hour},
		"unknown kind":         {Name: "x", Kind: state.Kind(7)},
		"negative kind":        {Name: "x", Kind: state.Kind(-1)},
	}
	for what, s := range bad {
		if err := s.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted a spec with %s; want an error", s, what)
		}
	}
}
