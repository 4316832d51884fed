package state_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/state/statetest"
)

// TestMain checks that no goroutine outlives the tests: Pebble stops all
// of its goroutines on Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The configurations the conformance suite runs against.
var configs = []struct {
	name string
	opts state.Options
}{
	{"default", state.Options{}},
	// Memtables so small that the suite's writes are flushed to sstables
	// (and large transactions are applied as flushable batches) mid-test.
	// The write buffer, as small, is written out mid-test too.
	{"tiny", state.Options{MemTableSize: 64 << 10, CacheSize: 1 << 20, WriteBufferSize: 16 << 10}},
	{"sync", state.Options{Sync: true}},
	// Every transaction written through to Pebble, and no record cache:
	// every read goes to Pebble.
	{"write-through", state.Options{WriteBufferSize: -1, RecordCacheSize: -1}},
	// A record cache that soon drops partitions: scans and reads fall
	// back from the cache to Pebble mid-test.
	{"small-cache", state.Options{RecordCacheSize: 8 << 10, WriteBufferSize: 64 << 10}},
}

func opener(o state.Options) func(t testing.TB, dir string) *state.DB {
	return func(t testing.TB, dir string) *state.DB {
		t.Helper()
		o := o
		o.Dir = dir
		db, err := state.Open(o)
		if err != nil {
			t.Fatalf("Open(%+v): %v", o, err)
		}
		return db
	}
}

func TestConformance(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			statetest.Run(t, opener(c.opts))
		})
	}
}

func TestOpenRequiresDir(t *testing.T) {
	if db, err := state.Open(state.Options{}); err == nil {
		db.Close()
		t.Fatal("Open without a Dir succeeded; want an error")
	}
}

// TestTinyConfigFlushes checks that the "tiny" configuration does what it
// is there for: a megabyte written through transactions, as the suite's
// large-transaction and many-commit checks do, reaches sstables.
func TestTinyConfigFlushes(t *testing.T) {
	var o state.Options
	for _, c := range configs {
		if c.name == "tiny" {
			o = c.opts
		}
	}
	db := opener(o)(t, t.TempDir())
	defer db.Close()
	val := bytes.Repeat([]byte("v"), 256)
	for b := 0; b < 8; b++ {
		tx := db.Begin()
		for i := 0; i < 500; i++ {
			if err := tx.KV("s", 0).Set(fmt.Appendf(nil, "k%d-%d", b, i), val); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if n := db.Metrics().Flush.Count; n == 0 {
		t.Errorf("no memtable flush after 1 MB of writes with MemTableSize %d", o.MemTableSize)
	}
}

// FuzzWindowKey checks that DecodeWindowKey never panics, and that what it
// decodes encodes back to the same bytes.
func FuzzWindowKey(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0})
	f.Add(make([]byte, 20))
	f.Add(state.EncodeWindowKey([]byte("key"), state.Window{Start: time.UnixMilli(-5000), End: time.UnixMilli(1000)}))
	f.Add(state.EncodeWindowKey(nil, state.Window{Start: time.UnixMilli(-1 << 63), End: time.UnixMilli(1<<63 - 1)}))
	f.Add(append([]byte{0xff, 0xff, 0xff, 0xff}, make([]byte, 16)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		key, w, err := state.DecodeWindowKey(b)
		if err != nil {
			return
		}
		if re := state.EncodeWindowKey(key, w); !bytes.Equal(re, b) {
			t.Fatalf("DecodeWindowKey(%x) = %q, %v, which encodes to %x", b, key, w, re)
		}
		if _, _, err := state.DecodeWindowKey(state.EncodeWindowKey(key, w)); err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
	})
}

// FuzzKVAgainstMap reads the input as operations on a few small keys of
// two KV stores, and checks the stores against a map model: inside the
// transaction (read-your-writes), through Changes, and after every Commit
// and Discard.
func FuzzKVAgainstMap(f *testing.F) {
	db, err := state.Open(state.Options{Dir: f.TempDir(), MemTableSize: 64 << 10, CacheSize: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		if err := db.Close(); err != nil {
			f.Error(err)
		}
	})
	var nextPart atomic.Int32

	f.Add([]byte{})
	f.Add([]byte{0, 1, 6, 0})
	f.Add([]byte{0, 1, 3, 1, 5, 0, 6, 0, 7, 0})
	f.Add([]byte{0, 0x21, 8, 0x32, 3, 0, 6, 0, 0, 0x7f, 7, 0, 5, 0, 6, 0})
	f.Add([]byte{1, 2, 2, 3, 9, 4, 10, 5, 6, 0, 4, 2, 12, 3, 6, 0, 7, 0, 5, 1})

	stores := []string{"f", "fg"}
	keys := []string{"", "\x00", "\x00\x00", "a", "a\x00", "ab", "\xff", "\xff\xff"}
	type model map[string]map[string]string
	clone := func(m model) model {
		out := model{}
		for s, kv := range m {
			out[s] = map[string]string{}
			for k, v := range kv {
				out[s][k] = v
			}
		}
		return out
	}

	f.Fuzz(func(t *testing.T, ops []byte) {
		p := nextPart.Add(1)
		defer func() {
			for _, s := range stores {
				if err := db.Drop(s, p); err != nil {
					t.Errorf("Drop: %v", err)
				}
			}
		}()
		committed := model{"f": {}, "fg": {}}
		pending := clone(committed)
		tx := db.Begin()
		defer func() { tx.Discard() }()

		check := func(when string, tx *state.Txn, m model) {
			t.Helper()
			for _, s := range stores {
				kvs := tx.KV(s, p)
				for _, k := range keys {
					v, ok, err := kvs.Get([]byte(k))
					if err != nil {
						t.Fatalf("%s: Get: %v", when, err)
					}
					if want, wok := m[s][k]; ok != wok || string(v) != want {
						t.Fatalf("%s: %s Get(%q) = %q, %v; want %q, %v", when, s, k, v, ok, want, wok)
					}
				}
				var got []string
				if err := kvs.Scan(nil, nil, func(k, v []byte) error {
					got = append(got, string(k)+"="+string(v))
					return nil
				}); err != nil {
					t.Fatalf("%s: Scan: %v", when, err)
				}
				var want []string
				for k, v := range m[s] {
					want = append(want, k+"="+v)
				}
				sort.Slice(want, func(i, j int) bool { return bytes.Compare([]byte(want[i]), []byte(want[j])) < 0 })
				// Compare keys in key order: sort both the same way, and
				// check Scan's own order separately.
				sorted := slices.Clone(got)
				sort.Slice(sorted, func(i, j int) bool { return bytes.Compare([]byte(sorted[i]), []byte(sorted[j])) < 0 })
				if !slices.Equal(sorted, want) {
					t.Fatalf("%s: %s Scan = %q; want %q", when, s, got, want)
				}
			}
		}
		verifyCommitted := func(when string) {
			t.Helper()
			view := db.Begin()
			defer view.Discard()
			check(when, view, committed)
		}

		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i], ops[i+1]
			s := stores[(op>>3)&1]
			k := keys[int(arg)%len(keys)]
			switch op % 8 {
			case 0, 1, 2:
				v := ""
				if n := arg >> 3; n > 0 {
					v = fmt.Sprintf("v%d", n)
				}
				if err := tx.KV(s, p).Set([]byte(k), []byte(v)); err != nil {
					t.Fatal(err)
				}
				pending[s][k] = v
			case 3, 4:
				if err := tx.KV(s, p).Delete([]byte(k)); err != nil {
					t.Fatal(err)
				}
				delete(pending[s], k)
			case 5:
				check(fmt.Sprintf("op %d, inside the txn", i/2), tx, pending)
			case 6:
				// Changes applied to the committed model give the pending one.
				replayed := clone(committed)
				seen := map[string]bool{}
				for _, c := range tx.Changes() {
					id := fmt.Sprintf("%s/%d/%q", c.Store, c.Partition, c.Key)
					if seen[id] {
						t.Fatalf("Changes holds %s twice", id)
					}
					seen[id] = true
					if c.Partition != p {
						t.Fatalf("change %s in partition %d; want %d", id, c.Partition, p)
					}
					if c.Value == nil {
						delete(replayed[c.Store], string(c.Key))
					} else {
						replayed[c.Store][string(c.Key)] = string(c.Value)
					}
				}
				for _, st := range stores {
					if fmt.Sprint(replayed[st]) != fmt.Sprint(pending[st]) {
						t.Fatalf("op %d: Changes replayed give %s = %v; the txn holds %v", i/2, st, replayed[st], pending[st])
					}
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				committed = clone(pending)
				verifyCommitted(fmt.Sprintf("op %d, after Commit", i/2))
				tx = db.Begin()
			case 7:
				tx.Discard()
				pending = clone(committed)
				verifyCommitted(fmt.Sprintf("op %d, after Discard", i/2))
				tx = db.Begin()
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		committed = pending
		verifyCommitted("at the end")
	})
}

// The benchmarks count events per key and one-minute window, as a windowed
// count aggregation does: 50k keys, one event every 100µs of event time.
const (
	benchKeys  = 50_000
	benchBatch = 1000
)

var benchKeyNames = func() [][]byte {
	out := make([][]byte, benchKeys)
	for i := range out {
		out[i] = fmt.Appendf(nil, "user-%05d", i)
	}
	return out
}()

func benchEvent(i int) ([]byte, state.Window) {
	key := benchKeyNames[(i*7919)%benchKeys]
	start := int64(i) / 600_000 * 60_000 // 600k events per one-minute window
	return key, state.Window{Start: time.UnixMilli(start), End: time.UnixMilli(start + 60_000)}
}

// BenchmarkBaselineMapCount is the baseline: the same updates in a Go map.
func BenchmarkBaselineMapCount(b *testing.B) {
	counts := map[string]uint64{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k, w := benchEvent(i)
		counts[string(state.EncodeWindowKey(k, w))]++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkWindowCount reads and writes a uint64 counter per key and window
// through a Txn, committing every 1000 updates.
func BenchmarkWindowCount(b *testing.B) {
	db, err := state.Open(state.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	spec := state.Spec{Name: "counts", Kind: state.KindWindow, Retention: time.Hour, SegmentInterval: time.Minute}
	var buf [8]byte
	var tx *state.Txn
	var ws *state.WindowStore
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%benchBatch == 0 {
			tx = db.Begin()
			ws = tx.Window(spec, 0)
		}
		k, w := benchEvent(i)
		v, ok, err := ws.Get(k, w)
		if err != nil {
			b.Fatal(err)
		}
		var n uint64
		if ok {
			n = binary.BigEndian.Uint64(v)
		}
		binary.BigEndian.PutUint64(buf[:], n+1)
		if err := ws.Put(k, w, buf[:]); err != nil {
			b.Fatal(err)
		}
		if (i+1)%benchBatch == 0 || i == b.N-1 {
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.StopTimer()
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
}

// TestScanAfterRollback: a window written and rolled back within a
// transaction is scanned once, with its committed value, in every
// configuration (the record cache serves the scan in some).
func TestScanAfterRollback(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			db := opener(c.opts)(t, t.TempDir())
			defer db.Close()
			spec := state.Spec{Name: "w", Kind: state.KindWindow, Retention: time.Hour}
			w := state.Window{Start: time.UnixMilli(0), End: time.UnixMilli(60_000)}
			tx := db.Begin()
			if err := tx.Window(spec, 0).Put([]byte("k"), w, []byte("v1")); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			tx = db.Begin()
			defer tx.Discard()
			ws := tx.Window(spec, 0)
			tx.Savepoint()
			if err := ws.Put([]byte("k"), w, []byte("v2")); err != nil {
				t.Fatal(err)
			}
			if err := ws.Put([]byte("new"), w, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			var got []string
			if err := ws.Scan(time.UnixMilli(0), time.UnixMilli(120_000), func(k []byte, _ state.Window, v []byte) error {
				got = append(got, string(k)+"="+string(v))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != "k=v1" {
				t.Errorf("scan after rollback = %q, want [k=v1]", got)
			}
		})
	}
}
