package streams_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
)

// The property tests below run random out-of-order streams through windowed
// counts in the real runtime and compare what it emits, and what it sends to
// the late topic, with a brute-force reference of the windowing semantics:
//   - the late records, as a multiset of (key, time);
//   - on close: the multiset of (key, start, end, count), and that each
//     window is emitted by the first end-of-batch close whose stream time
//     closes it;
//   - on update: the multiset of every (key, start, end, count or nil,
//     stream time) emitted, and the last value of each window.

const (
	wtSize       = 60 // ms: window size, and the gap of sessions
	wtPartitions = 3
)

// windowCase is one windowed count run through the runtime.
type windowCase struct {
	kind    streams.WindowKind
	size    int64 // ms; the gap for sessions
	advance int64 // ms; hopping only
	grace   int64 // ms
	emit    streams.Emit
	seed    uint64
	records int
	// maxPoll bounds the runtime's batches; 0 keeps the default.
	maxPoll int
	// restart, if set, stops the app halfway and starts it again with the
	// same state dir ("same state dir") or an empty one ("fresh state
	// dir"), restored from the changelogs.
	restart string
}

func (c windowCase) kindName() string {
	switch c.kind {
	case streams.Tumbling:
		return fmt.Sprintf("tumbling size=%dms", c.size)
	case streams.Hopping:
		return fmt.Sprintf("hopping size=%dms advance=%dms", c.size, c.advance)
	case streams.Sliding:
		return fmt.Sprintf("sliding size=%dms", c.size)
	case streams.Session:
		return fmt.Sprintf("session gap=%dms", c.size)
	}
	return fmt.Sprintf("kind %d", c.kind)
}

func emitName(e streams.Emit) string {
	if e == streams.EmitOnUpdate {
		return "emit on update"
	}
	return "emit on close"
}

func (c windowCase) String() string {
	s := fmt.Sprintf("%s grace=%dms %s", c.kindName(), c.grace, emitName(c.emit))
	if c.maxPoll > 0 {
		s += fmt.Sprintf(" batches of %d", c.maxPoll)
	}
	if c.restart != "" {
		s += " restart with " + c.restart
	}
	return s
}

func TestWindowedAggregationMatchesReference(t *testing.T) {
	brokers := streamstest.Brokers(t)
	kinds := []windowCase{
		{kind: streams.Tumbling, size: wtSize},
		{kind: streams.Hopping, size: wtSize, advance: wtSize / 2},
		{kind: streams.Hopping, size: wtSize, advance: wtSize / 3},
		{kind: streams.Sliding, size: wtSize},
		{kind: streams.Session, size: wtSize},
	}
	graces := []int64{0, wtSize / 4, wtSize * 3 / 2}
	seed := uint64(1)
	for _, k := range kinds {
		t.Run(k.kindName(), func(t *testing.T) {
			for _, g := range graces {
				t.Run(fmt.Sprintf("grace=%dms", g), func(t *testing.T) {
					for i, e := range []streams.Emit{streams.EmitOnClose, streams.EmitOnUpdate} {
						c := k
						c.grace, c.emit, c.seed, c.records = g, e, seed, 1000
						// Results on close in small batches, so that
						// batches often end at a stream time that just
						// closes a window; updates in the default large
						// ones, so that many windows close within a batch.
						if i == 0 {
							c.maxPoll = 20
						}
						seed++
						t.Run(emitName(e), func(t *testing.T) { runWindowCase(t, brokers, c) })
					}
				})
			}
		})
	}
}

func TestWindowedAggregationSurvivesRestarts(t *testing.T) {
	brokers := streamstest.Brokers(t)
	cases := []windowCase{
		{kind: streams.Tumbling, size: wtSize, grace: wtSize / 4, emit: streams.EmitOnClose, restart: "fresh state dir"},
		{kind: streams.Hopping, size: wtSize, advance: wtSize / 3, grace: wtSize * 3 / 2, emit: streams.EmitOnUpdate, restart: "fresh state dir"},
		{kind: streams.Sliding, size: wtSize, grace: wtSize / 4, emit: streams.EmitOnClose, restart: "fresh state dir"},
		{kind: streams.Sliding, size: wtSize, grace: wtSize * 3 / 2, emit: streams.EmitOnUpdate, restart: "same state dir"},
		{kind: streams.Session, size: wtSize, grace: 0, emit: streams.EmitOnUpdate, restart: "same state dir"},
		{kind: streams.Session, size: wtSize, grace: wtSize / 4, emit: streams.EmitOnClose, restart: "fresh state dir"},
	}
	for i, c := range cases {
		c.seed, c.records, c.maxPoll = uint64(100+i), 1200, 50
		t.Run(c.String(), func(t *testing.T) { runWindowCase(t, brokers, c) })
	}
}

// windowStream returns a random stream for c, ending with a sentinel of key
// "end" per partition far in the future, which closes every window. Keys
// k0..k4 (k0 the busiest) live in partition index%partitions. Event time
// mostly moves forward, sometimes pauses (ending sessions), and about a
// third of the records are pushed back by up to three window sizes: some
// within grace, some beyond.
func windowStream(topic string, c windowCase) []*kgo.Record {
	rng := rand.New(rand.NewPCG(c.seed, 0x77696e64))
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC).UnixMilli()
	weights := []int{8, 4, 2, 1, 1}
	total := 0
	for _, w := range weights {
		total += w
	}
	var recs []*kgo.Record
	cur := base
	for range c.records {
		// The head of the stream (so mostly the stream time) moves on a
		// 5ms grid, so that it often lands exactly where windows close.
		cur += 5 * rng.Int64N(3)
		if rng.IntN(40) == 0 {
			cur += 5 * rng.Int64N(3*c.size/5) // a pause
		}
		k, n := 0, rng.IntN(total)
		for n >= weights[k] {
			n -= weights[k]
			k++
		}
		ts := cur
		if rng.IntN(100) < 35 {
			ts -= rng.Int64N(3 * c.size)
		}
		if rng.IntN(2) == 0 {
			// Equal times, and times on window bounds and session
			// gaps; the others have any millisecond.
			ts -= ts % 5
		}
		recs = append(recs, &kgo.Record{
			Topic: topic, Partition: int32(k % wtPartitions),
			Key: []byte(fmt.Sprintf("k%d", k)), Timestamp: time.UnixMilli(ts).UTC(),
		})
	}
	for p := int32(0); p < wtPartitions; p++ {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: []byte("end"), Timestamp: time.UnixMilli(base).Add(24 * time.Hour).UTC()})
	}
	return recs
}

// windowProbe is a windowed count that also writes, to ticks, each stream
// time it closes windows at: "partition streamTime", in the batch's
// transaction.
type windowProbe struct {
	*windowCount
	ticks string
}

func (p windowProbe) OnStreamTime(c *streams.Context, st time.Time) error {
	part := strconv.Itoa(int(c.Partition()))
	c.Emit(p.ticks, []byte(part), []byte(fmt.Sprintf("%s %d", part, st.UnixMilli())))
	return p.w.Close(c, st)
}

// windowRef is what the reference expects of a case.
type windowRef struct {
	late    map[string]int    // "key time" of the late records
	closed  map[string]int    // on close: "key start end count"
	updates map[string]int    // on update: every "key start end count|nil streamTime"
	final   map[string]string // on update: "key start end" -> last count, windows last emitted nil left out
	open    int               // windows not closed at the end (key "end" aside)
	// reordered counts records taken although older than the stream time.
	reordered int
}

// referenceWindows computes, by brute force, what a windowed count of c
// yields on recs, processed per partition in order.
func referenceWindows(c windowCase, recs []*kgo.Record) *windowRef {
	ref := &windowRef{late: map[string]int{}, closed: map[string]int{}, updates: map[string]int{}, final: map[string]string{}}
	S, G := c.size, c.grace
	A := c.advance
	if c.kind == streams.Tumbling {
		A = S
	}
	var st int64 // stream time of the partition at hand
	emit := func(key string, start, end int64, n int) {
		if key == "end" {
			return
		}
		w := fmt.Sprintf("%s %d %d", key, start, end)
		if n < 0 {
			ref.updates[fmt.Sprintf("%s nil %d", w, st)]++
			delete(ref.final, w)
			return
		}
		ref.updates[fmt.Sprintf("%s %d %d", w, n, st)]++
		ref.final[w] = strconv.Itoa(n)
	}
	type session struct {
		first, last int64
		n           int
	}
	type part struct {
		st    int64
		fixed map[string]map[int64]int // tumbling, hopping: key -> start -> count
		raw   map[string][]int64       // sliding: key -> times of the records taken
		slide map[string]map[int64]int // sliding: key -> end -> count
		sess  map[string][]session     // key -> sessions
	}
	parts := map[int32]*part{}
	for _, r := range recs {
		p := parts[r.Partition]
		if p == nil {
			p = &part{st: math.MinInt64, fixed: map[string]map[int64]int{}, raw: map[string][]int64{}, slide: map[string]map[int64]int{}, sess: map[string][]session{}}
			parts[r.Partition] = p
		}
		key, t := string(r.Key), r.Timestamp.UnixMilli()
		p.st = max(p.st, t)
		st = p.st
		late := false
		switch c.kind {
		case streams.Tumbling, streams.Hopping:
			wins := p.fixed[key]
			if wins == nil {
				wins = map[int64]int{}
				p.fixed[key] = wins
			}
			late = true
			for start := t - t%A; start > t-S; start -= A {
				if start+S+G <= p.st {
					continue // closed
				}
				late = false
				wins[start]++
				emit(key, start, start+S, wins[start])
			}
		case streams.Sliding:
			if t+1+G <= p.st {
				late = true
				break
			}
			p.raw[key] = append(p.raw[key], t)
			wins := p.slide[key]
			if wins == nil {
				wins = map[int64]int{}
				p.slide[key] = wins
			}
			for end, n := range wins {
				if end > t+1 && end <= t+S {
					wins[end] = n + 1
					emit(key, end-S, end, n+1)
				}
			}
			if n, ok := wins[t+1]; ok {
				wins[t+1] = n + 1
			} else {
				for _, x := range p.raw[key] {
					if x >= t-S+1 && x <= t {
						wins[t+1]++
					}
				}
			}
			emit(key, t+1-S, t+1, wins[t+1])
		case streams.Session:
			var keep, found []session
			m := session{t, t, 1}
			for _, s := range p.sess[key] {
				open := s.last+S+G > p.st
				if open && s.last >= t-S && s.first <= t+S {
					found = append(found, s)
					m = session{min(m.first, s.first), max(m.last, s.last), m.n + s.n}
				} else {
					keep = append(keep, s)
				}
			}
			if m.last+S+G <= p.st {
				late = true
				break
			}
			for _, s := range found {
				if s.first != m.first || s.last != m.last {
					emit(key, s.first, s.last+1, -1)
				}
			}
			p.sess[key] = append(keep, m)
			emit(key, m.first, m.last+1, m.n)
		}
		if late {
			ref.late[fmt.Sprintf("%s %d", key, t)]++
		} else if t < p.st {
			ref.reordered++
		}
	}
	// Windows closed by the final stream time, emitted on close.
	for _, p := range parts {
		add := func(key string, start, end, horizon int64, n int) {
			if key == "end" {
				return
			}
			if horizon+G <= p.st {
				ref.closed[fmt.Sprintf("%s %d %d %d", key, start, end, n)]++
			} else {
				ref.open++
			}
		}
		for key, wins := range p.fixed {
			for start, n := range wins {
				add(key, start, start+S, start+S, n)
			}
		}
		for key, wins := range p.slide {
			for end, n := range wins {
				add(key, end-S, end, end, n)
			}
		}
		for key, ss := range p.sess {
			for _, s := range ss {
				add(key, s.first, s.last+1, s.last+S, s.n)
			}
		}
	}
	return ref
}

func runWindowCase(t *testing.T, brokers []string, c windowCase) {
	p := streamstest.Prefix(t)
	in, out, dlq, lateTopic, ticks := p+".in", p+".out", p+".dlq", p+".late", p+".ticks"
	streamstest.CreateTopics(t, brokers, wtPartitions, in, out, dlq, lateTopic, ticks)

	recs := windowStream(in, c)
	ref := referenceWindows(c, recs)
	// The data must exercise what the test is about.
	if ref.open != 0 {
		t.Fatalf("the sentinels left %d windows open", ref.open)
	}
	if ref.reordered == 0 && (c.kind != streams.Sliding || c.grace > 0) { // with no grace, a sliding window takes nothing older
		t.Fatal("no out-of-order record was taken; the test data should have some")
	}
	if len(ref.late) == 0 && c.grace < c.size {
		t.Fatal("no record is late; the test data should have some")
	}
	t.Logf("%d records, %d late, %d taken out of order, %d windows closed, %d updates",
		len(recs), len(ref.late), ref.reordered, len(ref.closed), len(ref.updates))

	size, grace := time.Duration(c.size)*time.Millisecond, time.Duration(c.grace)*time.Millisecond
	spec := state.Spec{Name: "counts", Kind: state.KindWindow, Retention: size + grace + size, SegmentInterval: size / 2}
	app := func(dir string) streams.App {
		proc := newWindowCount(out, c.kind, size, grace)
		proc.w.Advance = time.Duration(c.advance) * time.Millisecond
		proc.w.Gap = size
		proc.w.Emit = c.emit
		proc.w.Result = func(ctx *streams.Context, key []byte, w state.Window, agg []byte) error {
			n := "nil" // a session merged away
			if agg != nil {
				n = strconv.FormatUint(binary.BigEndian.Uint64(agg), 10)
			}
			ctx.Emit(out, key, []byte(fmt.Sprintf("%s %d %d %s %d", key, w.Start.UnixMilli(), w.End.UnixMilli(), n, ctx.StreamTime().UnixMilli())))
			return nil
		}
		if err := proc.w.Validate(spec); err != nil {
			t.Fatal(err)
		}
		return streams.App{
			Name: "wcount", Group: p + "-wcount", Inputs: []string{in},
			Processor: windowProbe{proc, ticks}, Stores: []state.Spec{spec},
			State:          state.Options{Dir: dir},
			Client:         []kgo.Opt{kgo.SeedBrokers(brokers...)},
			DLQ:            dlq,
			LateTopic:      lateTopic,
			MaxPollRecords: c.maxPoll,
		}
	}
	var consumed atomic.Int64
	obs := observerFunc(func(c map[string]int64) {
		for _, n := range c {
			consumed.Add(n)
		}
	})
	produce := func(rs []*kgo.Record) {
		cl := streamstest.Client(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	run := func(dir string, n int) {
		a := app(dir)
		a.Observer = obs
		runStateful(t, a, func() bool { return consumed.Load() >= int64(n) })
	}

	dir := t.TempDir()
	if c.restart == "" {
		produce(recs)
		run(dir, len(recs))
	} else {
		half := len(recs) / 2
		produce(recs[:half])
		run(dir, half)
		if c.restart == "fresh state dir" {
			dir = t.TempDir() // everything restores from the changelogs
		}
		produce(recs[half:])
		run(dir, len(recs))
	}

	if d := streamstest.ReadCommitted(t, brokers, dlq); len(d) > 0 {
		t.Errorf("%d records went to the dead-letter topic, the first: %v", len(d), d[0].Headers)
	}

	gotLate := map[string]int{}
	for _, l := range streamstest.ReadCommitted(t, brokers, lateTopic) {
		gotLate[fmt.Sprintf("%s %d", l.Key, l.Timestamp.UnixMilli())]++
		if streams.Header(l, streams.HeaderLate) == "" {
			t.Errorf("late record without reason: %v", l.Headers)
		}
	}
	if diff := diffCounts(gotLate, ref.late); diff != "" {
		t.Errorf("late records differ from the reference (got %d, want %d):\n%s", len(gotLate), len(ref.late), diff)
	}

	// The stream times each partition closed windows at, in order.
	closes := map[int32][]int64{}
	for _, r := range streamstest.ReadCommitted(t, brokers, ticks) {
		var part int32
		var st int64
		if _, err := fmt.Sscanf(string(r.Value), "%d %d", &part, &st); err != nil {
			t.Fatalf("malformed tick %q: %v", r.Value, err)
		}
		closes[part] = append(closes[part], st)
	}
	for _, sts := range closes {
		slices.Sort(sts) // a task's stream time only grows
	}
	partOf := map[string]int32{}
	for _, r := range recs {
		partOf[string(r.Key)] = r.Partition
	}

	emitted := map[string]int{}
	last := map[string]string{}
	var untimely []string
	for _, r := range streamstest.ReadCommitted(t, brokers, out) {
		f := strings.Fields(string(r.Value))
		if len(f) != 5 || f[0] != string(r.Key) {
			t.Fatalf("malformed result %q (key %q)", r.Value, r.Key)
		}
		if f[0] == "end" {
			continue
		}
		if c.emit == streams.EmitOnUpdate {
			emitted[string(r.Value)]++            // with the stream time: deterministic
			last[strings.Join(f[:3], " ")] = f[3] // a key's results are in one partition, in order
			continue
		}
		emitted[strings.Join(f[:4], " ")]++
		// On close, a window is emitted by the first close at a stream
		// time that closes it.
		end, _ := strconv.ParseInt(f[2], 10, 64)
		at, _ := strconv.ParseInt(f[4], 10, 64)
		horizon := end
		if c.kind == streams.Session {
			horizon = end - 1 + c.size
		}
		want := int64(-1)
		for _, st := range closes[partOf[f[0]]] {
			if horizon+c.grace <= st {
				want = st
				break
			}
		}
		if at != want {
			untimely = append(untimely, fmt.Sprintf("  %s: emitted at stream time %d, want %d", strings.Join(f[:4], " "), at, want))
		}
	}
	if c.emit == streams.EmitOnClose {
		if diff := diffCounts(emitted, ref.closed); diff != "" {
			t.Errorf("results on close differ from the reference (got %d, want %d):\n%s", len(emitted), len(ref.closed), diff)
		}
		if len(untimely) > 0 {
			t.Errorf("%d windows were not emitted by the close that closed them:\n%s", len(untimely), strings.Join(untimely[:min(len(untimely), 20)], "\n"))
		}
		return
	}
	if diff := diffCounts(emitted, ref.updates); diff != "" {
		t.Errorf("updates differ from the reference (got %d, want %d):\n%s", len(emitted), len(ref.updates), diff)
	}
	gotFinal, wantFinal := map[string]int{}, map[string]int{}
	for w, n := range last {
		if n != "nil" {
			gotFinal[w+" "+n]++
		}
	}
	for w, n := range ref.final {
		wantFinal[w+" "+n]++
	}
	if diff := diffCounts(gotFinal, wantFinal); diff != "" {
		t.Errorf("final window values differ from the reference (got %d, want %d):\n%s", len(gotFinal), len(wantFinal), diff)
	}
}
