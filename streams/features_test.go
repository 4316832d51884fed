package streams_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
)

// outputs collects what an app emitted, read back from its output topic.
func outputs(t *testing.T, brokers []string, topic string) []string {
	t.Helper()
	var out []string
	for _, r := range streamstest.ReadCommitted(t, brokers, topic) {
		out = append(out, string(r.Value))
	}
	return out
}

func TestGlobalTable(t *testing.T) {
	brokers := streamstest.Brokers(t)
	p := streamstest.Prefix(t)
	in, out, assets := p+".in", p+".out", p+".tables.assets"
	streamstest.CreateTopics(t, brokers, 2, in, out, assets)
	streamstest.Produce(t, brokers,
		&kgo.Record{Topic: assets, Key: []byte("i-1"), Value: []byte("team-a")},
		&kgo.Record{Topic: assets, Key: []byte("i-2"), Value: []byte("team-b")},
		&kgo.Record{Topic: assets, Key: []byte("i-3"), Value: []byte("team-c")},
		&kgo.Record{Topic: assets, Key: []byte("i-3"), Value: nil}, // deleted
	)
	proc := streams.ProcessorFunc(func(c *streams.Context, r *kgo.Record) error {
		owner, ok, err := c.Table("assets").Get(r.Key)
		if err != nil {
			return err
		}
		if !ok {
			owner = []byte("unknown")
		}
		c.Emit(out, r.Key, []byte(string(r.Key)+" "+string(owner)+" "+string(r.Value)))
		return nil
	})
	var mu sync.Mutex
	var consumed int64
	app := streams.App{
		Name: "enrich", Group: p + "-enrich", Inputs: []string{in}, Processor: proc,
		Tables: []streams.TableSpec{{Name: "assets", Topic: assets}},
		State:  state.Options{Dir: t.TempDir()},
		Client: []kgo.Opt{kgo.SeedBrokers(brokers...)},
		Observer: observerFunc(func(c map[string]int64) {
			mu.Lock()
			defer mu.Unlock()
			for _, n := range c {
				consumed += n
			}
		}),
	}
	streamstest.Produce(t, brokers,
		&kgo.Record{Topic: in, Key: []byte("i-1"), Value: []byte("first")},
		&kgo.Record{Topic: in, Key: []byte("i-3"), Value: []byte("first")},
	)
	updated := false
	runStateful(t, app, func() bool {
		mu.Lock()
		defer mu.Unlock()
		if consumed >= 2 && !updated {
			// While it runs: the table changes, then events arrive.
			updated = true
			streamstest.Produce(t, brokers, &kgo.Record{Topic: assets, Key: []byte("i-1"), Value: []byte("team-z")})
			go func() {
				time.Sleep(300 * time.Millisecond)
				streamstest.Produce(t, brokers, &kgo.Record{Topic: in, Key: []byte("i-1"), Value: []byte("second")})
			}()
		}
		if consumed < 3 {
			return false
		}
		return true
	})
	got := strings.Join(outputs(t, brokers, out), "\n")
	for _, want := range []string{"i-1 team-a first", "i-3 unknown first", "i-1 team-z second"} {
		if !strings.Contains(got, want) {
			t.Errorf("outputs lack %q:\n%s", want, got)
		}
	}
}

// userCount re-keys events by user and counts per user.
type userCount struct{ out, repart string }

func (u *userCount) Process(c *streams.Context, r *kgo.Record) error {
	if r.Topic != u.repart {
		user, _, _ := strings.Cut(string(r.Value), ":")
		c.Repartition([]byte(user), r.Value)
		return nil
	}
	kv := c.KV("users")
	v, _, err := kv.Get(r.Key)
	if err != nil {
		return err
	}
	var n uint64
	if len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	n++
	if err := kv.Set(r.Key, binary.BigEndian.AppendUint64(nil, n)); err != nil {
		return err
	}
	c.Emit(u.out, r.Key, []byte(fmt.Sprintf("%s %d p%d", r.Key, n, c.Partition())))
	return nil
}

func TestRepartition(t *testing.T) {
	brokers := streamstest.Brokers(t)
	p := streamstest.Prefix(t)
	in, out, repart := p+".in", p+".out", p+"-count-repartition"
	streamstest.CreateTopics(t, brokers, 3, in, out)
	var recs []*kgo.Record
	want := map[string]int{}
	for i := 0; i < 300; i++ {
		user := fmt.Sprintf("user%d", i%7)
		want[user]++
		// Keyed by event id: one user's events land on every partition.
		recs = append(recs, &kgo.Record{Topic: in, Key: []byte(fmt.Sprintf("ev%d", i)), Value: []byte(user + ":login")})
	}
	streamstest.Produce(t, brokers, recs...)
	var mu sync.Mutex
	consumed := map[string]int64{}
	app := streams.App{
		Name: "count", Group: p + "-count", Inputs: []string{in}, RepartitionTopic: repart,
		Processor: &userCount{out: out, repart: repart},
		Stores:    []state.Spec{{Name: "users", Kind: state.KindKV}},
		State:     state.Options{Dir: t.TempDir()},
		Client:    []kgo.Opt{kgo.SeedBrokers(brokers...)},
		Observer: observerFunc(func(c map[string]int64) {
			mu.Lock()
			defer mu.Unlock()
			for k, n := range c {
				consumed[k] += n
			}
		}),
	}
	runStateful(t, app, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return consumed[in] >= 300 && consumed[repart] >= 300
	})
	final := map[string]int{}
	parts := map[string]string{}
	for _, line := range outputs(t, brokers, out) {
		var user, part string
		var n int
		fmt.Sscanf(line, "%s %d %s", &user, &n, &part)
		final[user] = max(final[user], n)
		if prev, ok := parts[user]; ok && prev != part {
			t.Errorf("%s counted in partitions %s and %s", user, prev, part)
		}
		parts[user] = part
	}
	for user, n := range want {
		if final[user] != n {
			t.Errorf("%s: final count %d, want %d", user, final[user], n)
		}
	}
}

// timed sets an event-time timer 10s after each record and a wall-clock
// timer for the first record of each partition.
type timed struct {
	out  string
	mu   sync.Mutex
	wall map[int32]bool
}

func (p *timed) Process(c *streams.Context, r *kgo.Record) error {
	if err := c.Schedule(streams.EventTimeTimer, r.Key, c.EventTime().Add(10*time.Second)); err != nil {
		return err
	}
	p.mu.Lock()
	first := !p.wall[c.Partition()]
	p.wall[c.Partition()] = true
	p.mu.Unlock()
	if first {
		return c.Schedule(streams.WallClockTimer, []byte("wall"), time.Now().Add(200*time.Millisecond))
	}
	return nil
}

func (p *timed) OnTimer(c *streams.Context, tm streams.Timer) error {
	c.Emit(p.out, tm.Key, []byte(fmt.Sprintf("%c %s %d st=%d", tm.Kind, tm.Key, tm.At.UnixMilli(), c.StreamTime().UnixMilli())))
	return nil
}

func TestTimers(t *testing.T) {
	brokers := streamstest.Brokers(t)
	p := streamstest.Prefix(t)
	in, out := p+".in", p+".out"
	streamstest.CreateTopics(t, brokers, 1, in, out)
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	streamstest.Produce(t, brokers,
		&kgo.Record{Topic: in, Key: []byte("a"), Timestamp: at(0)},
		&kgo.Record{Topic: in, Key: []byte("b"), Timestamp: at(5)},
		&kgo.Record{Topic: in, Key: []byte("c"), Timestamp: at(12)}, // a's timer (10s) is due
		&kgo.Record{Topic: in, Key: []byte("d"), Timestamp: at(14)},
	)
	var mu sync.Mutex
	var fired []string
	app := streams.App{
		Name: "timers", Group: p + "-timers", Inputs: []string{in},
		Processor:         &timed{out: out, wall: map[int32]bool{}},
		Stores:            []state.Spec{{Name: "unused", Kind: state.KindKV}},
		State:             state.Options{Dir: t.TempDir()},
		Client:            []kgo.Opt{kgo.SeedBrokers(brokers...)},
		PunctuateInterval: 50 * time.Millisecond,
		Observer:          observerFunc(func(map[string]int64) {}),
	}
	runStateful(t, app, func() bool {
		mu.Lock()
		defer mu.Unlock()
		fired = outputs(t, brokers, out)
		return len(fired) >= 2
	})
	got := strings.Join(fired, "\n")
	wantA := fmt.Sprintf("e a %d st=%d", at(10).UnixMilli(), at(14).UnixMilli())
	if !strings.Contains(got, wantA) {
		t.Errorf("event-time timer of a did not fire as %q:\n%s", wantA, got)
	}
	if !strings.Contains(got, "w wall") {
		t.Errorf("the wall-clock timer did not fire:\n%s", got)
	}
	if strings.Contains(got, "e b ") || strings.Contains(got, "e c ") {
		t.Errorf("timers fired before stream time reached them:\n%s", got)
	}
}

func TestIdlePartitionAdvances(t *testing.T) {
	brokers := streamstest.Brokers(t)
	p := streamstest.Prefix(t)
	in, out := p+".in", p+".out"
	streamstest.CreateTopics(t, brokers, 1, in, out, p+".late")
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	streamstest.Produce(t, brokers,
		&kgo.Record{Topic: in, Key: []byte("k"), Timestamp: base},
		&kgo.Record{Topic: in, Key: []byte("k"), Timestamp: base.Add(100 * time.Millisecond)},
	)
	app := streams.App{
		Name: "idle", Group: p + "-idle", Inputs: []string{in},
		Processor:         newWindowCount(out, streams.Tumbling, time.Second, 0),
		Stores:            []state.Spec{{Name: "counts", Kind: state.KindWindow, Retention: time.Minute}},
		State:             state.Options{Dir: t.TempDir()},
		Client:            []kgo.Opt{kgo.SeedBrokers(brokers...)},
		LateTopic:         p + ".late",
		IdleTimeout:       300 * time.Millisecond,
		PunctuateInterval: 50 * time.Millisecond,
	}
	var got []string
	// No record ever passes the window's end: only the wall clock can
	// close it.
	runStateful(t, app, func() bool {
		got = outputs(t, brokers, out)
		return len(got) > 0
	})
	want := fmt.Sprintf("k %d %d 2", base.UnixMilli(), base.Add(time.Second).UnixMilli())
	if len(got) != 1 || got[0] != want {
		t.Errorf("outputs %q, want [%q]", got, want)
	}
}
