package streams_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/broker"
	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
)

// The benchmarks share one broker, run in a child process (this test
// binary re-executed with benchBrokerEnv) so that it does not share the
// benchmark's heap; BASELINES.md measured kfake the same way.
const (
	benchBrokerEnv = "VIGIL_BENCH_BROKER"
	benchWorkerEnv = "VIGIL_BENCH_WORKER"
)

func init() {
	switch {
	case os.Getenv(benchBrokerEnv) != "":
		os.Exit(benchBroker())
	case os.Getenv(benchWorkerEnv) != "":
		os.Exit(benchWorker())
	}
}

func benchBroker() int {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", Partitions: 6, DataDir: os.Getenv(benchBrokerEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(b.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	b.Close()
	return 0
}

// benchEnv is the shared broker of one benchmark run.
type benchEnv struct {
	brokers []string
	cmd     *exec.Cmd
	n       atomic.Int64
}

var (
	envOnce sync.Once
	env     *benchEnv
)

func sharedBroker(b *testing.B) *benchEnv {
	envOnce.Do(func() {
		dir, _ := os.MkdirTemp("", "vigil-bench-broker")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), benchBrokerEnv+"="+dir)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		sc.Scan()
		env = &benchEnv{brokers: []string{strings.TrimSpace(sc.Text())}, cmd: cmd}
	})
	return env
}

func (e *benchEnv) prefix() string { return fmt.Sprintf("bench%d", e.n.Add(1)) }

func createTopics(b *testing.B, brokers []string, parts int32, topics ...string) {
	cl, _ := kgo.NewClient(kgo.SeedBrokers(brokers...))
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopics(context.Background(), parts, -1, nil, topics...); err != nil {
		b.Fatal(err)
	}
}

// cloudTrailLike returns a 600-byte JSON record.
func cloudTrailLike(rng *rand.Rand, i int) []byte {
	v, _ := json.Marshal(map[string]any{
		"eventVersion": "1.08", "eventTime": "2026-11-02T09:00:00Z", "eventSource": "ec2.amazonaws.com",
		"eventName": "DescribeInstances", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.11",
		"userAgent": "aws-cli/2.22.4 Python/3.12.6 Linux/6.8",
		"userIdentity": map[string]any{"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice",
			"accountId": "111122223333", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "alice"},
		"requestID": fmt.Sprintf("%036d", i), "eventID": fmt.Sprintf("%036d", rng.Int64()),
		"readOnly": true, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "111122223333",
		"requestParameters": map[string]any{"filterSet": map[string]any{"items": []any{"x"}}, "pad": strings.Repeat("x", 80)},
	})
	return v
}

// fill produces n records over keys keys, with event times spread over
// span, and returns the last offset of each partition.
func fill(b *testing.B, brokers []string, topic string, n, keys int, span time.Duration) map[int32]int64 {
	cl, _ := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
	defer cl.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	last := map[int32]int64{}
	var wg sync.WaitGroup
	var firstErr atomic.Value
	step := span / time.Duration(n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		k := rng.IntN(keys)
		if keys > n {
			k = i // every record its own key
		}
		r := &kgo.Record{Topic: topic, Key: []byte("key" + strconv.Itoa(k)), Value: cloudTrailLike(rng, i),
			Timestamp: base.Add(time.Duration(i) * step)}
		cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				firstErr.Store(err)
				return
			}
			mu.Lock()
			last[r.Partition] = max(last[r.Partition], r.Offset)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	return last
}

// steadyRate waits until group has committed every record up to last and
// returns the records per second it committed from its first commit on,
// so that joining the group and restoring state do not count against
// throughput.
func steadyRate(b *testing.B, brokers []string, group, topic string, last map[int32]int64) float64 {
	cl, _ := kgo.NewClient(kgo.SeedBrokers(brokers...))
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var total int64
	for _, l := range last {
		total += l + 1
	}
	deadline := time.Now().Add(10 * time.Minute)
	var t0 time.Time
	var s0 float64
	for {
		s := committedShare(adm, group, topic, last)
		now := time.Now()
		if s > 0 && t0.IsZero() {
			t0, s0 = now, s
		}
		if s >= 1 {
			return (1 - s0) * float64(total) / now.Sub(t0).Seconds()
		}
		if now.After(deadline) {
			b.Fatalf("%s did not finish", group)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// benchPoll is the largest batch polled, by the raw pipe and vigil alike.
const benchPoll = 10_000

const benchRecords = 1_000_000

// rawPipe is the baseline: franz-go alone, polling, producing every record
// to the output, flushing and committing.
func rawPipe(b *testing.B, e *benchEnv) float64 {
	p := e.prefix()
	createTopics(b, e.brokers, 6, p+".in", p+".out")
	last := fill(b, e.brokers, p+".in", benchRecords, 50_000, time.Hour)
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ConsumerGroup(p+"-raw"), kgo.ConsumeTopics(p+".in"),
		kgo.DisableAutoCommit(), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollRecords(ctx, benchPoll)
			fs.EachRecord(func(r *kgo.Record) {
				cl.Produce(ctx, &kgo.Record{Topic: p + ".out", Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}, nil)
			})
			if err := cl.Flush(ctx); err != nil {
				return
			}
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				return
			}
		}
	}()
	var rate float64
	app, brk := e.cores(func() { rate = steadyRate(b, e.brokers, p+"-raw", p+".in", last) })
	b.ReportMetric(app, "raw-app-cores")
	b.ReportMetric(brk, "raw-broker-cores")
	cancel()
	<-done
	return rate
}

// runApp runs app until it has committed its input and returns its steady
// rate, and how long it took from start.
func runApp(b *testing.B, brokers []string, app streams.App, topic string, last map[int32]int64) (float64, time.Duration) {
	app.MaxPollRecords = benchPoll
	r, err := streams.New(app)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// VIGIL_BENCH_CPUPROFILE=dir profiles each app run alone, without
	// filling its input, into dir/<app>.prof.
	if dir := os.Getenv("VIGIL_BENCH_CPUPROFILE"); dir != "" {
		f, err := os.Create(filepath.Join(dir, app.Name+".prof"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
		// And the allocations of the run alone, into <app>.allocs.
		runtime.MemProfileRate = 64 << 10
		defer func() {
			m, err := os.Create(filepath.Join(dir, app.Name+".allocs"))
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			_ = pprof.Lookup("allocs").WriteTo(m, 0)
		}()
	}
	start := time.Now()
	go func() { done <- r.Run(ctx) }()
	rate := steadyRate(b, brokers, app.Group, topic, last)
	took := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return rate, took
}

// vigilPipe is the same pipe as a vigil app, exactly-once.
func vigilPipe(b *testing.B, e *benchEnv) float64 {
	p := e.prefix()
	createTopics(b, e.brokers, 6, p+".in", p+".out")
	last := fill(b, e.brokers, p+".in", benchRecords, 50_000, time.Hour)
	out := p + ".out"
	var rate float64
	app, brk := e.cores(func() {
		rate, _ = runApp(b, e.brokers, streams.App{
			Name: "pipe", Group: p + "-pipe", Inputs: []string{p + ".in"},
			Processor: streams.ProcessorFunc(func(c *streams.Context, r *kgo.Record) error {
				c.EmitRecord(&kgo.Record{Topic: out, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp})
				return nil
			}),
			Client: []kgo.Opt{kgo.SeedBrokers(e.brokers...), kgo.ProducerLinger(5 * time.Millisecond)},
			DLQ:    p + ".dlq",
		}, p+".in", last)
	})
	b.ReportMetric(app, "eos-pipe-app-cores")
	b.ReportMetric(brk, "eos-pipe-broker-cores")
	return rate
}

func windowedCountApp(brokers []string, p, dir string) streams.App {
	return streams.App{
		Name: "count", Group: p + "-count", Inputs: []string{p + ".in"},
		Processor: newWindowCount(p+".out", streams.Tumbling, 5*time.Minute, time.Minute),
		Stores:    []state.Spec{{Name: "counts", Kind: state.KindWindow, Retention: 12 * time.Minute}},
		State:     state.Options{Dir: dir},
		Client:    []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5 * time.Millisecond)},
		DLQ:       p + ".dlq", LateTopic: p + ".late",
	}
}

// windowedCount counts 600-byte records per key in 5-minute tumbling
// windows through Pebble, exactly-once.
func windowedCount(b *testing.B, e *benchEnv) float64 {
	p := e.prefix()
	createTopics(b, e.brokers, 6, p+".in", p+".out", p+".dlq", p+".late")
	last := fill(b, e.brokers, p+".in", benchRecords, 50_000, time.Hour)
	dir, _ := os.MkdirTemp("", "vigil-bench-state")
	defer os.RemoveAll(dir)
	var rate float64
	app, brk := e.cores(func() { rate, _ = runApp(b, e.brokers, windowedCountApp(e.brokers, p, dir), p+".in", last) })
	b.ReportMetric(app, "app-cores")
	b.ReportMetric(brk, "broker-cores")
	return rate
}

// restoreRate fills a KV store's changelog with a million keys and times
// a fresh instance restoring it.
func restoreRate(b *testing.B, e *benchEnv) float64 {
	p := e.prefix()
	const keys = 1_000_000
	group := p + "-restore"
	changelog := group + "-kv-changelog"
	createTopics(b, e.brokers, 6, p+".in", changelog)
	cl, _ := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
	var wg sync.WaitGroup
	value := make([]byte, 100)
	for i := 0; i < keys; i++ {
		wg.Add(1)
		cl.Produce(context.Background(), &kgo.Record{Topic: changelog, Partition: int32(i % 6), Key: []byte(fmt.Sprintf("key%07d", i)), Value: value},
			func(_ *kgo.Record, err error) {
				if err != nil {
					b.Error(err)
				}
				wg.Done()
			})
	}
	wg.Wait()
	// One input record per partition gets every task assigned.
	var recs []*kgo.Record
	for i := int32(0); i < 6; i++ {
		recs = append(recs, &kgo.Record{Topic: p + ".in", Partition: i, Value: []byte("x")})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	last := map[int32]int64{}
	for _, r := range recs {
		last[r.Partition] = r.Offset
	}
	cl.Close()
	dir, _ := os.MkdirTemp("", "vigil-bench-restore")
	defer os.RemoveAll(dir)
	// The whole run is the restore: six input records take no time.
	_, took := runApp(b, e.brokers, streams.App{
		Name: "restore", Group: group, Inputs: []string{p + ".in"},
		Processor: streams.ProcessorFunc(func(c *streams.Context, r *kgo.Record) error { return nil }),
		Stores:    []state.Spec{{Name: "kv", Kind: state.KindKV}},
		State:     state.Options{Dir: dir},
		Client:    []kgo.Opt{kgo.SeedBrokers(e.brokers...)},
		DLQ:       p + ".dlq",
	}, p+".in", last)
	return float64(keys) / took.Seconds()
}

// benchWorker runs the windowed count in a child process, so that its peak
// resident memory can be measured, and exits when it has committed
// everything.
func benchWorker() int {
	args := strings.Split(os.Getenv(benchWorkerEnv), "|")
	brokers, p, dir := []string{args[0]}, args[1], args[2]
	var last map[int32]int64
	if err := json.Unmarshal([]byte(args[3]), &last); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	app := windowedCountApp(brokers, p, dir)
	r, err := streams.New(app)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	cl, _ := kgo.NewClient(kgo.SeedBrokers(brokers...))
	adm := kadm.NewClient(cl)
	for committedShare(adm, app.Group, p+".in", last) < 1 {
		time.Sleep(50 * time.Millisecond)
	}
	cl.Close()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// peakRSS runs the windowed count over a million distinct keys, all in open
// windows, in a child process and returns its peak resident memory in MiB.
func peakRSS(b *testing.B, e *benchEnv) float64 {
	p := e.prefix()
	createTopics(b, e.brokers, 6, p+".in", p+".out", p+".dlq", p+".late")
	// A million keys within four minutes of event time: every window stays
	// open, so every key is live at the end.
	last := fill(b, e.brokers, p+".in", benchRecords, 1<<62, 4*time.Minute)
	dir, _ := os.MkdirTemp("", "vigil-bench-rss")
	defer os.RemoveAll(dir)
	lastJSON, _ := json.Marshal(last)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchWorkerEnv+"="+strings.Join([]string{e.brokers[0], p, dir, string(lastJSON)}, "|"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("worker: %v", err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}

// BenchmarkStreams runs the five measurements of the stream runtime on one
// broker and prints them as a table with ratios to the raw pipe. The three
// throughputs run in interleaved rounds (VIGIL_BENCH_ROUNDS, default 3),
// so that a slow spell of the machine hits them alike, and each reports
// its median.
func BenchmarkStreams(b *testing.B) {
	e := sharedBroker(b)
	defer func() {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		_ = e.cmd.Wait()
	}()
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("VIGIL_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	throughputs := []struct {
		name string
		f    func(*testing.B, *benchEnv) float64
	}{{"raw-pipe", rawPipe}, {"vigil-pipe-eos", vigilPipe}, {"windowed-count-eos", windowedCount}}
	samples := make([][]float64, len(throughputs))
	medians := make([]float64, len(throughputs))
	b.Run("throughput", func(b *testing.B) {
		for range b.N {
			for range rounds {
				for i, t := range throughputs {
					samples[i] = append(samples[i], t.f(b, e))
				}
			}
		}
		for i, t := range throughputs {
			medians[i] = median(samples[i])
			b.ReportMetric(medians[i], t.name+"-records/s")
		}
	})
	var restore, rss float64
	b.Run("restore", func(b *testing.B) {
		for range b.N {
			restore = restoreRate(b, e)
		}
		b.ReportMetric(restore, "keys/s")
	})
	b.Run("peak-rss-1M-keys", func(b *testing.B) {
		for range b.N {
			rss = peakRSS(b, e)
		}
		b.ReportMetric(rss, "MiB")
	})
	if medians[0] == 0 || restore == 0 || rss == 0 {
		return // a part was filtered out
	}
	base := medians[0]
	fmt.Printf("\nvigil stream runtime, one kfake broker in its own process, %d records of ~600 B, 6 partitions; throughputs are medians of %d interleaved rounds %v\n",
		benchRecords, rounds, samples)
	fmt.Printf("| measurement | result | ratio to (i) | target |\n|---|---|---|---|\n")
	fmt.Printf("| (i) raw consume-produce pipe (baseline) | %.0f records/s | 1.00 | |\n", base)
	fmt.Printf("| (ii) vigil pipe, exactly-once | %.0f records/s | %.2f | |\n", medians[1], medians[1]/base)
	fmt.Printf("| (iii) windowed count, 50,000 keys, 5-min tumbling, Pebble, exactly-once | %.0f records/s | %.2f | >= 0.50 |\n", medians[2], medians[2]/base)
	fmt.Printf("| (iv) restore from a 1,000,000-key changelog | %.0f keys/s | | >= 500,000 |\n", restore)
	fmt.Printf("| (v) peak RSS of the windowed-count worker, 1,000,000 live window keys | %.0f MiB | | < 512 |\n", rss)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// cpuSeconds returns the CPU time a process has used, from /proc.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	// utime and stime are fields 14 and 15 of stat, 12 and 13 after the
	// command name and state.
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100 // clock ticks
}

// cores measures the CPU the app (this process) and the broker use while f
// runs, in cores.
func (e *benchEnv) cores(f func()) (app, broker float64) {
	a0, b0, t0 := cpuSeconds(os.Getpid()), cpuSeconds(e.cmd.Process.Pid), time.Now()
	f()
	d := time.Since(t0).Seconds()
	return (cpuSeconds(os.Getpid()) - a0) / d, (cpuSeconds(e.cmd.Process.Pid) - b0) / d
}
