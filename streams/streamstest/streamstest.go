// Package streamstest is a Kafka harness for tests: an embedded broker, or
// the real cluster that VIGIL_TEST_KAFKA names, plus helpers to produce and
// to read committed records back.
package streamstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/broker"
)

// EnvKafka names the environment variable that points tests at a real
// cluster: comma-separated seed brokers. Unset, tests use an embedded
// broker.
const EnvKafka = "VIGIL_TEST_KAFKA"

// Brokers returns seed brokers for a test: those in VIGIL_TEST_KAFKA, or a
// new embedded broker closed when the test ends.
func Brokers(t testing.TB) []string {
	t.Helper()
	if env := os.Getenv(EnvKafka); env != "" {
		return strings.Split(env, ",")
	}
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", Partitions: 3})
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return []string{b.Addr()}
}

// Kcat returns the path of kcat, the independent Kafka client tests read
// committed records with. Without it a test is skipped, or fails if
// VIGIL_TEST_REQUIRE_KCAT=1 (make test installs kcat and sets it).
func Kcat(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("VIGIL_TEST_REQUIRE_KCAT") == "1" {
			t.Fatal("kcat is required (make test installs it) but not found")
		}
		t.Skip("kcat not installed; make test installs it")
	}
	return p
}

// Prefix returns a topic prefix unique to this test run, so tests against a
// shared cluster do not see each other's topics or groups.
func Prefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "vt" + hex.EncodeToString(b)
}

// Client returns a client for the test's brokers, closed when the test ends.
func Client(t testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// CreateTopics creates topics with the given partition count.
func CreateTopics(t testing.TB, brokers []string, partitions int32, topics ...string) {
	t.Helper()
	adm := kadm.NewClient(Client(t, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopics(ctx, partitions, -1, nil, topics...)
	if err != nil {
		t.Fatalf("create topics: %v", err)
	}
	for _, r := range resp {
		if r.Err != nil {
			t.Fatalf("create topic %s: %v", r.Topic, r.Err)
		}
	}
}

// Produce writes records synchronously.
func Produce(t testing.TB, brokers []string, recs ...*kgo.Record) {
	t.Helper()
	cl := Client(t, brokers)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// ReadCommitted reads every committed record of topic, from the start up to
// the end offsets at the time of the call, in partition and offset order.
// Records of aborted transactions are not returned.
func ReadCommitted(t testing.TB, brokers []string, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(Client(t, brokers))
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset of %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil
	}
	offsets := map[string]map[int32]kgo.Offset{topic: {}}
	for p := range want {
		offsets[topic][p] = kgo.NewOffset().AtStart()
	}
	// Transaction markers occupy offsets too; keeping them lets us see
	// that a partition has been read to its end even when its last
	// offsets are markers or aborted data.
	cl := Client(t, brokers, kgo.ConsumePartitions(offsets),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	byPart := map[int32][]*kgo.Record{}
	seen := map[int32]int64{}
	pending := func() int {
		n := 0
		for p, end := range want {
			if o, ok := seen[p]; !ok || o < end-1 {
				n++
			}
		}
		return n
	}
	for pending() > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: timed out with %d partitions not read to the end", topic, pending())
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset > seen[r.Partition] || seen[r.Partition] == 0 {
				seen[r.Partition] = r.Offset
			}
			if !r.Attrs.IsControl() && r.Offset < want[r.Partition] {
				byPart[r.Partition] = append(byPart[r.Partition], r)
			}
		})
	}
	parts := make([]int32, 0, len(byPart))
	for p := range byPart {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	var out []*kgo.Record
	for _, p := range parts {
		out = append(out, byPart[p]...)
	}
	return out
}
