package elasticsearch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sinks/elasticsearch/estest"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

// BenchmarkSinkVsBulkIndexer measures documents/s through the sink (Kafka
// consumer group, routing, bulk indexing, waiting for every
// acknowledgement, committing offsets) against a baseline that indexes the
// same documents into the same server directly with esutil.BulkIndexer,
// with the same workers and flush size. Rounds run baseline, sink, sink,
// baseline, baseline, sink, so that a server slowing as it fills weighs on
// both alike, and the medians are compared: on a shared machine a single
// round varies by a third.
//
// VIGIL_BENCH_ES_DOCS sets the documents per round (default 30000) and
// VIGIL_BENCH_ES_DATASETS the datasets they come from (default
// aws.cloudtrail,aws.vpcflow,aws.guardduty,prowler.finding: the normalizers'
// outputs for the golden samples, event.original included).
func BenchmarkSinkVsBulkIndexer(b *testing.B) {
	es := estest.Start(b)
	n := 30000
	if v, err := strconv.Atoi(os.Getenv("VIGIL_BENCH_ES_DOCS")); err == nil && v > 0 {
		n = v
	}
	// The normalizers' outputs of four sources, over and over, each with
	// an id of its own.
	var docs [][]byte
	var datasets []string
	golden := goldenEvents(b)
	mix := []string{"aws.cloudtrail", "aws.vpcflow", "aws.guardduty", "prowler.finding"}
	if m := os.Getenv("VIGIL_BENCH_ES_DATASETS"); m != "" {
		mix = strings.Split(m, ",")
	}
	for _, ds := range mix {
		for _, g := range golden[ds] {
			docs = append(docs, g.doc)
			datasets = append(datasets, ds)
		}
	}
	vals := make([][]byte, n)
	dss := make([]string, n)
	var size int
	for i := range n {
		vals[i] = withID(docs[i%len(docs)], fmt.Sprintf("bench-%07d", i))
		dss[i] = datasets[i%len(docs)]
		size += len(vals[i])
	}
	b.Logf("%d documents, %.0f bytes on average", n, float64(size)/float64(n))

	brokers := streamstest.Brokers(b)
	names := topics.Names{Prefix: streamstest.Prefix(b)}
	var inputs []string
	for _, ds := range []string{"aws.cloudtrail", "aws.vpcflow", "aws.guardduty", "prowler.finding"} {
		d, _ := LookupDataset(ds)
		t, _ := names.Resolve(d.Topic)
		inputs = append(inputs, t)
	}
	streamstest.CreateTopics(b, brokers, 6, append(inputs, names.DLQ())...)
	recs := make([]*kgo.Record, n)
	for i := range n {
		d, _ := LookupDataset(dss[i])
		t, _ := names.Resolve(d.Topic)
		recs[i] = &kgo.Record{Topic: t, Key: []byte(gjson.GetBytes(vals[i], "event.id").String()), Value: vals[i]}
	}
	for i := 0; i < n; i += 10000 {
		streamstest.Produce(b, brokers, recs[i:min(i+10000, n)]...)
	}

	cfgFor := func(ns string) *Config {
		c := DefaultConfig()
		c.URLs = []string{es.URL}
		c.Namespace = ns
		c.Username = es.Username
		env := "VIGIL_BENCH_ES_PASSWORD"
		b.Setenv(env, es.Password)
		c.Password.Env = env
		c.Topics = []string{"events.cloudtrail", "events.vpcflow", "events.guardduty", "events.prowler"}
		cl, err := NewClient(c)
		if err != nil {
			b.Fatal(err)
		}
		steps, _ := Plan(c)
		if _, err := Install(context.Background(), cl, steps); err != nil {
			b.Fatal(err)
		}
		return c
	}

	baseline := func(round int) float64 {
		c := cfgFor(fmt.Sprintf("base%d", round))
		cl, _ := NewClient(c)
		var failed atomic.Int64
		start := time.Now()
		bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: cl, NumWorkers: c.Workers, FlushBytes: c.FlushBytes})
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			err := bi.Add(context.Background(), esutil.BulkIndexerItem{
				Index: IndexName(c.Index, dss[i], c.Namespace), Action: "create",
				DocumentID: fmt.Sprintf("bench-%07d", i), Body: bytes.NewReader(vals[i]),
				OnFailure: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem, error) { failed.Add(1) },
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := bi.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		if failed.Load() > 0 || bi.Stats().NumFlushed != uint64(n) {
			b.Fatalf("baseline: %d failed, %d flushed of %d", failed.Load(), bi.Stats().NumFlushed, n)
		}
		return float64(n) / el.Seconds()
	}

	sink := func(round int) float64 {
		c := cfgFor(fmt.Sprintf("sink%d", round))
		var obs commits
		reg := prometheus.NewRegistry()
		s, err := New(c, plugin.Deps{
			Name: fmt.Sprintf("bench-%d-%d", round, time.Now().UnixNano()), Kafka: []kgo.Opt{kgo.SeedBrokers(brokers...)},
			Topics: names, Partitions: 6, Registerer: reg, Observer: &obs,
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- s.Run(ctx) }()
		waitCommitted(b, &obs, int64(n), 10*time.Minute)
		el := time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		return float64(n) / el.Seconds()
	}

	for i := 0; i < b.N; i++ {
		// baseline, sink, sink, baseline, baseline, sink
		var base, snk []float64
		for r, isSink := range []bool{false, true, true, false, false, true} {
			round := 6*i + r
			if isSink {
				snk = append(snk, sink(round))
			} else {
				base = append(base, baseline(round))
			}
		}
		mb, ms := median(base), median(snk)
		b.Logf("baseline esutil.BulkIndexer: %.0f docs/s (rounds %.0f); sink: %.0f docs/s (rounds %.0f); ratio of medians %.2f", mb, base, ms, snk, ms/mb)
		b.ReportMetric(mb, "baseline-docs/s")
		b.ReportMetric(ms, "sink-docs/s")
		b.ReportMetric(ms/mb, "ratio")
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
