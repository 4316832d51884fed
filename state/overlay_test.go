package state

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// TestCrashKeepsDataWithItsMarker commits random transactions with
// markers, writing the buffer out at random points and by size, then
// "crashes" (closes Pebble without writing the buffer) and checks that
// what Pebble holds of each partition is exactly the state as of the
// marker Pebble holds for it: the buffer may be lost, never split from its
// marker. That is what lets a restart replay the changelog from the
// marker.
func TestCrashKeepsDataWithItsMarker(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			dir := t.TempDir()
			d, err := Open(Options{Dir: dir, WriteBufferSize: 1 + rng.IntN(8<<10), RecordCacheSize: []int{-1, 4 << 10, 1 << 20}[seed%3]})
			if err != nil {
				t.Fatal(err)
			}
			const parts = 3
			state := [parts]map[string]string{{}, {}, {}}
			// asOf[p][offset] is partition p's state after the
			// transaction that set marker offset.
			asOf := [parts]map[int64]map[string]string{{}, {}, {}}
			offset := int64(0)
			for txn := 0; txn < 300; txn++ {
				tx := d.Begin()
				touched := map[int32]bool{}
				for range 1 + rng.IntN(20) {
					p := int32(rng.IntN(parts))
					k := fmt.Sprintf("k%d", rng.IntN(50))
					kv := tx.KV("s", p)
					if rng.IntN(5) == 0 {
						if err := kv.Delete([]byte(k)); err != nil {
							t.Fatal(err)
						}
						delete(state[p], k)
					} else {
						v := fmt.Sprintf("v%d", rng.Int())
						if err := kv.Set([]byte(k), []byte(v)); err != nil {
							t.Fatal(err)
						}
						state[p][k] = v
					}
					touched[p] = true
				}
				for p := range touched {
					offset++
					if err := tx.SetMarker("s", p, offset); err != nil {
						t.Fatal(err)
					}
					asOf[p][offset] = maps.Clone(state[p])
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				if rng.IntN(40) == 0 {
					if err := d.flush(string(prefix(tagData, "s", int32(rng.IntN(parts))))); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The crash: the buffer is gone.
			if err := d.db.Close(); err != nil {
				t.Fatal(err)
			}
			d, err = Open(Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			for p := int32(0); p < parts; p++ {
				m, ok, err := d.Marker("s", p)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]string{}
				if ok {
					want = asOf[p][m]
				}
				got := map[string]string{}
				tx := d.Begin()
				if err := tx.KV("s", p).Scan(nil, nil, func(k, v []byte) error {
					got[string(k)] = string(v)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				tx.Discard()
				if !maps.Equal(got, want) {
					t.Errorf("partition %d at marker %d (found %v): %d keys, want %d", p, m, ok, len(got), len(want))
				}
			}
		})
	}
}
