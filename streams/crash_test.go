package streams_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
)

// The crash test runs the windowed count in a child process (this test
// binary, re-executed with crashWorkerEnv set) and kills it with SIGKILL.
const crashWorkerEnv = "VIGIL_STREAMS_CRASH_WORKER"

const (
	crashSize  = 60_000 // tumbling windows of a minute
	crashGrace = 10_000
)

func crashApp(brokers []string, prefix, dir string) streams.App {
	return streams.App{
		Name: "count", Group: prefix + "-count", Inputs: []string{prefix + ".in"},
		Processor: newWindowCount(prefix+".out", streams.Tumbling, crashSize*time.Millisecond, crashGrace*time.Millisecond),
		Stores: []state.Spec{{Name: "counts", Kind: state.KindWindow,
			Retention: (crashSize + crashGrace) * time.Millisecond * 2, SegmentInterval: 30 * time.Second}},
		State:            state.Options{Dir: dir, CacheSize: 8 << 20, MemTableSize: 4 << 20},
		Client:           []kgo.Opt{kgo.SeedBrokers(brokers...)},
		InstanceID:       "worker",
		StaticMembership: true,
		DLQ:              prefix + ".dlq", LateTopic: prefix + ".late",
	}
}

// crashWorker is the child process: it runs the app until killed.
func crashWorker() int {
	brokers := strings.Split(os.Getenv("VIGIL_CRASH_BROKERS"), ",")
	r, err := streams.New(crashApp(brokers, os.Getenv("VIGIL_CRASH_PREFIX"), os.Getenv("VIGIL_CRASH_DIR")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fmt.Println("worker running")
	if err := r.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a worker process several times")
	}
	brokers := streamstest.Brokers(t)
	prefix := streamstest.Prefix(t)
	in, out := prefix+".in", prefix+".out"
	const parts = 6
	streamstest.CreateTopics(t, brokers, parts, in, out, prefix+".dlq", prefix+".late")

	// 200,000 events over about two hours of event time, out of order by up
	// to 25s: some past the 10s grace.
	rng := rand.New(rand.NewPCG(2026, 3))
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	const n = 200_000
	recs := make([]*kgo.Record, 0, n+parts)
	for i := 0; i < n; i++ {
		k := rng.IntN(500)
		ts := base.Add(time.Duration(i)*36*time.Millisecond - time.Duration(rng.ExpFloat64()*4000)*time.Millisecond)
		recs = append(recs, &kgo.Record{Topic: in, Partition: int32(k % parts), Key: []byte(fmt.Sprintf("key%03d", k)), Timestamp: ts})
	}
	for p := int32(0); p < parts; p++ {
		recs = append(recs, &kgo.Record{Topic: in, Partition: p, Key: []byte("end"), Timestamp: base.Add(48 * time.Hour)})
	}
	cl := streamstest.Client(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	lastOffset := map[int32]int64{}
	for _, r := range recs {
		lastOffset[r.Partition] = max(lastOffset[r.Partition], r.Offset)
	}
	want := tumblingReference(recs, crashSize, crashGrace)

	adm := kadm.NewClient(cl)
	// progress is the share of the input committed by the group.
	progress := func() float64 {
		offs, err := adm.FetchOffsets(context.Background(), prefix+"-count")
		if err != nil {
			return 0
		}
		var doneN, total int64
		for p, last := range lastOffset {
			total += last + 1
			if o, ok := offs.Lookup(in, p); ok && o.At > 0 {
				doneN += min(o.At, last+1)
			}
		}
		return float64(doneN) / float64(total)
	}
	done := func() bool { return progress() >= 1 }

	dir := t.TempDir()
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashWorkerEnv+"=1",
			"VIGIL_CRASH_BROKERS="+strings.Join(brokers, ","), "VIGIL_CRASH_PREFIX="+prefix, "VIGIL_CRASH_DIR="+dir)
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() || sc.Text() != "worker running" {
			t.Fatalf("worker did not start: %q", sc.Text())
		}
		go func() {
			for sc.Scan() {
			}
		}()
		return cmd
	}
	// Kill points: once right after start (during restore or the first
	// batch), then as committed progress passes random thresholds, each
	// with a random delay so the kill lands mid-batch or mid-commit.
	var thresholds []float64
	for i := 0; i < 5; i++ {
		thresholds = append(thresholds, 0.1+0.75*float64(i)/5+rng.Float64()*0.1)
	}
	kills := 0
	kill := func(cmd *exec.Cmd) {
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		kills++
	}
	kill(start())
	for _, th := range thresholds {
		cmd := start()
		deadline := time.Now().Add(2 * time.Minute)
		for progress() < th && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		kill(cmd)
		t.Logf("killed at %.0f%% committed", progress()*100)
	}
	cmd := start()
	deadline := time.Now().Add(3 * time.Minute)
	for !done() {
		if time.Now().After(deadline) {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			t.Fatal("the worker did not finish after its last restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("worker exit after SIGTERM: %v", err)
	}

	got := map[string]int{}
	for _, r := range streamstest.ReadCommitted(t, brokers, out) {
		got[string(r.Value)]++
	}
	if diff := diffCounts(got, want); diff != "" {
		t.Fatalf("after %d kills the committed output differs from an uninterrupted run (got %d results, want %d):\n%s", kills, len(got), len(want), diff)
	}
	t.Logf("%d events, %d kills: %d window results, each exactly once", n, kills, len(want))
}
