package httpsrc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

// BenchmarkHTTPIngest measures what the HTTP source publishes: senders
// POST NDJSON batches of 500 CloudTrail events, each waiting for its 200,
// into the broker (embedded, or VIGIL_TEST_KAFKA). The baseline, in the
// same run, produces the same events (value and key) with a franz-go client
// (the same producer settings) from as many goroutines, each waiting for
// its batch's acknowledgements. Rounds alternate, five of each; the
// median of each is reported, and their ratio.
func BenchmarkHTTPIngest(b *testing.B) {
	const (
		senders    = 4
		perRequest = 500
		batches    = 200 // per round: 100,000 events
		rounds     = 5
	)
	brokers := streamstest.Brokers(b)
	bodies, keys, values := benchBatches(batches, perRequest)
	var bodyBytes int64
	for _, body := range bodies {
		bodyBytes += int64(len(body))
	}
	events := batches * perRequest
	b.Setenv("VIGIL_BENCH_HTTP_TOKEN", token)

	// baseline produces every batch with a plain client.
	baseline := func() time.Duration {
		n := topics.Names{Prefix: streamstest.Prefix(b)}
		topic := n.Raw("cloudtrail")
		streamstest.CreateTopics(b, brokers, 6, topic)
		defer deleteTopics(b, brokers, topic)
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		if err := cl.Ping(context.Background()); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		run(senders, batches, func(i int) {
			recs := make([]*kgo.Record, len(values[i]))
			for j := range recs {
				recs[j] = &kgo.Record{Topic: topic, Key: keys[i][j], Value: values[i][j]}
			}
			if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				b.Error(err)
			}
		})
		return time.Since(start)
	}

	// vigil POSTs every batch to an HTTP source.
	vigil := func() time.Duration {
		n := topics.Names{Prefix: streamstest.Prefix(b)}
		c := *DefaultConfig()
		c.Listen = "127.0.0.1:0"
		c.Endpoints = map[string]Endpoint{"cloudtrail": {Tokens: []config.Secret{{Env: "VIGIL_BENCH_HTTP_TOKEN"}}}}
		src, err := New(c, plugin.Deps{Name: "http", Kafka: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Topics: n, Partitions: 6})
		if err != nil {
			b.Fatal(err)
		}
		streamstest.CreateTopics(b, brokers, 6, n.Raw("cloudtrail"), n.DLQ())
		defer deleteTopics(b, brokers, n.Raw("cloudtrail"), n.DLQ())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- src.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				b.Error(err)
			}
		}()
		for !src.Ready() {
			time.Sleep(5 * time.Millisecond)
		}
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
		defer hc.CloseIdleConnections()
		url := "http://" + src.Addr() + "/ingest/cloudtrail"
		start := time.Now()
		run(senders, batches, func(i int) {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[i]))
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var r Response
			err = json.NewDecoder(res.Body).Decode(&r)
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || err != nil || r.Records != perRequest {
				b.Errorf("batch %d: %d %+v %v", i, res.StatusCode, r, err)
			}
		})
		return time.Since(start)
	}

	var base, vig []time.Duration
	for range max(1, b.N) {
		for range rounds {
			base = append(base, baseline())
			vig = append(vig, vigil())
		}
	}
	slices.Sort(base)
	slices.Sort(vig)
	bm, vm := base[len(base)/2].Seconds(), vig[len(vig)/2].Seconds()
	b.ReportMetric(float64(events)/bm, "baseline-records/s")
	b.ReportMetric(float64(events)/vm, "vigil-records/s")
	b.ReportMetric(float64(bodyBytes)/bm/1e6, "baseline-MB/s")
	b.ReportMetric(float64(bodyBytes)/vm/1e6, "vigil-MB/s")
	b.ReportMetric(bm/vm, "ratio_vs_franz-go")
	b.Logf("%d events of %d B on average in batches of %d, %d senders: baseline %.0f records/s (%.1f MB/s), vigil over HTTP %.0f records/s (%.1f MB/s), ratio %.2f",
		events, bodyBytes/int64(events), perRequest, senders, float64(events)/bm, float64(bodyBytes)/bm/1e6, float64(events)/vm, float64(bodyBytes)/vm/1e6, bm/vm)
}

// run calls fn for 0..n-1 from the given number of goroutines.
func run(workers, n int, fn func(int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// benchBatches makes batches of CloudTrail-like events (about 650 bytes,
// spread over 20 accounts): each batch as an NDJSON body, and its events'
// keys and values.
func benchBatches(batches, per int) (bodies [][]byte, keys, values [][][]byte) {
	names := []string{"DescribeInstances", "ConsoleLogin", "AssumeRole", "GetObject", "PutBucketPolicy", "CreateAccessKey"}
	for i := range batches {
		var body bytes.Buffer
		var ks, vs [][]byte
		for j := range per {
			n := i*per + j
			account := fmt.Sprintf("1111222233%02d", n%20)
			ev, _ := json.Marshal(map[string]any{
				"eventVersion": "1.08", "eventTime": time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond).Format(time.RFC3339),
				"eventSource": "ec2.amazonaws.com", "eventName": names[n%len(names)], "awsRegion": "eu-west-1",
				"userIdentity": map[string]any{
					"type": "IAMUser", "principalId": "AIDAEXAMPLE" + account, "arn": "arn:aws:iam::" + account + ":user/user-" + fmt.Sprint(n%97),
					"accountId": account, "accessKeyId": "AKIAEXAMPLE" + fmt.Sprint(n%13), "userName": "user-" + fmt.Sprint(n%97),
				},
				"sourceIPAddress": fmt.Sprintf("198.51.100.%d", n%250), "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 botocore/2.4.5",
				"requestParameters": map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": fmt.Sprintf("i-%017x", n)}}}},
				"responseElements":  nil, "requestID": fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n),
				"eventID": fmt.Sprintf("%08x-1111-4000-8000-%012x", n, n), "eventType": "AwsApiCall", "recipientAccountId": account,
			})
			body.Write(ev)
			body.WriteByte('\n')
			ks = append(ks, []byte(account))
			vs = append(vs, ev)
		}
		bodies = append(bodies, body.Bytes())
		keys = append(keys, ks)
		values = append(values, vs)
	}
	return bodies, keys, values
}

func deleteTopics(b *testing.B, brokers []string, names ...string) {
	adm := kadm.NewClient(streamstest.Client(b, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = adm.DeleteTopics(ctx, names...)
}

// BenchmarkSplit measures splitting one request body of 500 CloudTrail
// events into records, against the framing alone.
func BenchmarkSplit(b *testing.B) {
	bodies, _, _ := benchBatches(1, 500)
	c := *DefaultConfig()
	c.Endpoints = map[string]Endpoint{"cloudtrail": {Tokens: []config.Secret{{Env: "X"}}}}
	s, err := New(c, plugin.Deps{Name: "http", Topics: topics.Names{Prefix: "b"}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bodies[0])))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.split(s.endpoints["cloudtrail"], "0123456789abcdef0123", time.Now(), bytes.NewReader(bodies[0]), false, nil); err != nil {
			b.Fatal(err)
		}
	}
}
