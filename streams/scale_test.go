package streams_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
)

// committedShare returns the share of the input up to lastOffset that the
// group has committed.
func committedShare(adm *kadm.Client, group, topic string, lastOffset map[int32]int64) float64 {
	offs, err := adm.FetchOffsets(context.Background(), group)
	if err != nil {
		return 0
	}
	var done, total int64
	for p, last := range lastOffset {
		total += last + 1
		if o, ok := offs.Lookup(topic, p); ok && o.At > 0 {
			done += min(o.At, last+1)
		}
	}
	return float64(done) / float64(total)
}

func TestScaleOutAndIn(t *testing.T) {
	brokers := streamstest.Brokers(t)
	prefix := streamstest.Prefix(t)
	in, out := prefix+".in", prefix+".out"
	const parts = 6
	streamstest.CreateTopics(t, brokers, parts, in, out, prefix+".dlq", prefix+".late")

	rng := rand.New(rand.NewPCG(11, 12))
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	const n = 60_000
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		k := rng.IntN(300)
		ts := base.Add(time.Duration(i)*100*time.Millisecond - time.Duration(rng.ExpFloat64()*4000)*time.Millisecond)
		recs = append(recs, &kgo.Record{Topic: in, Partition: int32(k % parts), Key: []byte(fmt.Sprintf("key%03d", k)), Timestamp: ts})
	}
	for p := int32(0); p < parts; p++ {
		recs = append(recs, &kgo.Record{Topic: in, Partition: p, Key: []byte("end"), Timestamp: base.Add(48 * time.Hour)})
	}
	want := tumblingReference(recs, crashSize, crashGrace)

	// The input is a fresh topic written without transactions, so each
	// partition's offsets run from 0: the last offsets are known now.
	lastOffset := map[int32]int64{}
	for _, r := range recs {
		lastOffset[r.Partition]++
	}
	for p := range lastOffset {
		lastOffset[p]--
	}
	// The records go in slowly, so that membership changes happen while
	// data still flows.
	cl := streamstest.Client(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var produced sync.WaitGroup
	produced.Add(1)
	go func() {
		defer produced.Done()
		for i := 0; i < len(recs); i += 1000 {
			chunk := recs[i:min(i+1000, len(recs))]
			if err := cl.ProduceSync(context.Background(), chunk...).FirstErr(); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(40 * time.Millisecond)
		}
	}()

	type instance struct {
		cancel context.CancelFunc
		done   chan error
		reg    *prometheus.Registry
	}
	startInstance := func(id string) *instance {
		app := crashApp(brokers, prefix, t.TempDir())
		app.InstanceID, app.StaticMembership = id, false
		reg := prometheus.NewRegistry()
		app.Registerer = reg
		r, err := streams.New(app)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		inst := &instance{cancel: cancel, done: make(chan error, 1), reg: reg}
		go func() { inst.done <- r.Run(ctx) }()
		return inst
	}
	stop := func(i *instance) {
		i.cancel()
		if err := <-i.done; err != nil {
			t.Errorf("instance: %v", err)
		}
	}
	restored := func(i *instance) float64 {
		mfs, _ := i.reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "vigil_restore_duration_seconds" {
				return float64(mf.GetMetric()[0].GetHistogram().GetSampleCount())
			}
		}
		return 0
	}

	adm := kadm.NewClient(cl)
	share := func() float64 { return committedShare(adm, prefix+"-count", in, lastOffset) }
	waitShare := func(target float64) {
		deadline := time.Now().Add(2 * time.Minute)
		for share() < target {
			if time.Now().After(deadline) {
				t.Fatalf("stuck at %.0f%% committed, waiting for %.0f%%", share()*100, target*100)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	a, b, c := startInstance("a"), startInstance("b"), startInstance("c")
	waitShare(0.3)
	stop(c) // c leaves: its partitions move to a and b
	waitShare(0.5)
	d := startInstance("d") // d joins: partitions move to it, restoring from changelogs
	deadline := time.Now().Add(time.Minute)
	for restored(d) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if restored(d) == 0 {
		t.Error("the instance that joined restored no task")
	}
	joinedAt := share()
	waitShare(1)
	produced.Wait()
	if joinedAt >= 1 {
		t.Errorf("the input was all processed before the new member took its partitions")
	}
	stop(a)
	stop(b)
	stop(d)
	// The state gauges were set from a's database.
	if v := gaugeValue(a.reg, "vigil_state_disk_bytes"); v <= 0 {
		t.Errorf("vigil_state_disk_bytes = %v after a ran, want > 0", v)
	}

	got := map[string]int{}
	for _, r := range streamstest.ReadCommitted(t, brokers, out) {
		got[string(r.Value)]++
	}
	if diff := diffCounts(got, want); diff != "" {
		t.Fatalf("with members leaving and joining, the output differs from the reference (got %d, want %d):\n%s", len(got), len(want), diff)
	}
}

func gaugeValue(g prometheus.Gatherer, name string) float64 {
	mfs, _ := g.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}
