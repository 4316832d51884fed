package streams_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/broker"
	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
)

// exampleBroker starts an embedded broker with the given topics.
func exampleBroker(topics ...string) (*broker.Broker, *kgo.Client) {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", Partitions: 1})
	if err != nil {
		panic(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		panic(err)
	}
	if _, err := kadm.NewClient(cl).CreateTopics(context.Background(), 1, -1, nil, topics...); err != nil {
		panic(err)
	}
	return b, cl
}

// runFor runs an app until n records of out can be read, and returns them.
func runFor(app streams.App, cl *kgo.Client, out string, n int) []string {
	r, err := streams.New(app)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	reader, _ := kgo.NewClient(kgo.SeedBrokers(cl.OptValue(kgo.SeedBrokers).([]string)...),
		kgo.ConsumeTopics(out), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	defer reader.Close()
	var got []string
	deadline, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	for len(got) < n && deadline.Err() == nil {
		reader.PollFetches(deadline).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	sort.Strings(got)
	return got
}

// An app is a consumer group with a processor. This one tags failed console
// sign-ins; what it cannot parse goes to the dead-letter topic.
func ExampleApp() {
	b, cl := exampleBroker("signins", "failed", "dlq")
	defer b.Close()
	defer cl.Close()
	cl.ProduceSync(context.Background(),
		&kgo.Record{Topic: "signins", Value: []byte("alice Success")},
		&kgo.Record{Topic: "signins", Value: []byte("root Failure")},
		&kgo.Record{Topic: "signins", Value: []byte("garbage")},
	)
	app := streams.App{
		Name:   "tag-failures",
		Inputs: []string{"signins"},
		DLQ:    "dlq",
		Client: []kgo.Opt{kgo.SeedBrokers(b.Addr())},
		Processor: streams.ProcessorFunc(func(c *streams.Context, r *kgo.Record) error {
			user, outcome, ok := strings.Cut(string(r.Value), " ")
			if !ok {
				return fmt.Errorf("not a sign-in: %q", r.Value) // to the DLQ
			}
			if outcome == "Failure" {
				c.Emit("failed", []byte(user), []byte("failed sign-in by "+user))
			}
			return nil
		}),
	}
	for _, v := range runFor(app, cl, "failed", 1) {
		fmt.Println(v)
	}
	// Output:
	// failed sign-in by root
}

// Windowed counts records per key in event-time windows kept in Pebble and
// written through to a changelog topic. Here: sign-ins per user per
// minute, emitted when each minute closes.
func ExampleWindowed() {
	b, cl := exampleBroker("signins", "per-minute")
	defer b.Close()
	defer cl.Close()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for _, s := range []struct {
		user string
		at   time.Duration
	}{{"root", 5 * time.Second}, {"root", 20 * time.Second}, {"bob", 30 * time.Second}, {"root", 50 * time.Second}, {"bob", 70 * time.Second}} {
		cl.ProduceSync(context.Background(), &kgo.Record{Topic: "signins", Key: []byte(s.user), Timestamp: base.Add(s.at)})
	}
	count := &streams.Windowed{
		Store: "counts", Kind: streams.Tumbling, Size: time.Minute, Grace: 5 * time.Second,
		Add: func(agg, _ []byte) ([]byte, error) {
			var n uint64
			if len(agg) == 8 {
				n = binary.BigEndian.Uint64(agg)
			}
			return binary.BigEndian.AppendUint64(nil, n+1), nil
		},
		Result: func(c *streams.Context, key []byte, w state.Window, agg []byte) error {
			c.Emit("per-minute", key, []byte(fmt.Sprintf("%s %s-%s %d", key,
				w.Start.Format("15:04"), w.End.Format("15:04"), binary.BigEndian.Uint64(agg))))
			return nil
		},
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	app := streams.App{
		Name:      "per-minute",
		Inputs:    []string{"signins"},
		Client:    []kgo.Opt{kgo.SeedBrokers(b.Addr())},
		Stores:    []state.Spec{{Name: "counts", Kind: state.KindWindow, Retention: 10 * time.Minute}},
		State:     state.Options{Dir: dir},
		Processor: &countProcessor{count},
	}
	for _, v := range runFor(app, cl, "per-minute", 2) {
		fmt.Println(v)
	}
	// The 09:01 window of bob is still open: no record has closed it.

	// Output:
	// bob 09:00-09:01 1
	// root 09:00-09:01 3
}

// countProcessor feeds each record to a windowed count and closes windows
// as stream time advances.
type countProcessor struct{ w *streams.Windowed }

func (p *countProcessor) Process(c *streams.Context, r *kgo.Record) error {
	return p.w.Aggregate(c, r.Key, r.Value, c.EventTime())
}

func (p *countProcessor) OnStreamTime(c *streams.Context, st time.Time) error {
	return p.w.Close(c, st)
}

// reminder sets an event-time timer an hour after each root sign-in; the
// timer fires once stream time reaches it.
type reminder struct{}

func (reminder) Process(c *streams.Context, r *kgo.Record) error {
	if string(r.Key) == "root" {
		return c.Schedule(streams.EventTimeTimer, r.Key, c.EventTime().Add(time.Hour))
	}
	return nil
}

func (reminder) OnTimer(c *streams.Context, t streams.Timer) error {
	c.Emit("reminders", t.Key, []byte(fmt.Sprintf("review %s's session from %s", t.Key, t.At.Add(-time.Hour).Format("15:04"))))
	return nil
}

// Timers are kept per task in the app's state and fire on stream time
// (EventTimeTimer) or the wall clock (WallClockTimer).
func ExampleContext_Schedule() {
	b, cl := exampleBroker("signins", "reminders")
	defer b.Close()
	defer cl.Close()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	cl.ProduceSync(context.Background(),
		&kgo.Record{Topic: "signins", Key: []byte("root"), Timestamp: base},
		&kgo.Record{Topic: "signins", Key: []byte("bob"), Timestamp: base.Add(2 * time.Hour)},
	)
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	app := streams.App{
		Name:      "reminders",
		Inputs:    []string{"signins"},
		Client:    []kgo.Opt{kgo.SeedBrokers(b.Addr())},
		Stores:    []state.Spec{{Name: "unused", Kind: state.KindKV}},
		State:     state.Options{Dir: dir},
		Processor: reminder{},
	}
	for _, v := range runFor(app, cl, "reminders", 1) {
		fmt.Println(v)
	}
	// Output:
	// review root's session from 09:00
}

// A global table is a compacted topic that every instance of an app keeps
// whole, for lookups: here, which team owns an instance.
func ExampleTableSpec() {
	b, cl := exampleBroker("findings", "owned", "assets")
	defer b.Close()
	defer cl.Close()
	cl.ProduceSync(context.Background(),
		&kgo.Record{Topic: "assets", Key: []byte("i-0abc"), Value: []byte("payments")},
		&kgo.Record{Topic: "findings", Key: []byte("i-0abc"), Value: []byte("SSH open to the world")},
	)
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	app := streams.App{
		Name:   "route",
		Inputs: []string{"findings"},
		Client: []kgo.Opt{kgo.SeedBrokers(b.Addr())},
		Tables: []streams.TableSpec{{Name: "assets", Topic: "assets"}},
		State:  state.Options{Dir: dir},
		Processor: streams.ProcessorFunc(func(c *streams.Context, r *kgo.Record) error {
			team, _, err := c.Table("assets").Get(r.Key)
			if err != nil {
				return err
			}
			c.Emit("owned", team, []byte(fmt.Sprintf("%s: %s (team %s)", r.Key, r.Value, team)))
			return nil
		}),
	}
	for _, v := range runFor(app, cl, "owned", 1) {
		fmt.Println(v)
	}
	// Output:
	// i-0abc: SSH open to the world (team payments)
}
