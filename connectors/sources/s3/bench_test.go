package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sources/s3/s3test"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

// BenchmarkIngest measures publishing gzipped CloudTrail log files and VPC
// Flow Logs files from versitygw into the broker (vigil), against a
// baseline in the same run that only downloads and gunzips the same
// objects. MB/s counts uncompressed bytes. The ratio is vigil's rate over
// the baseline's.
func BenchmarkIngest(b *testing.B) {
	b.Run("cloudtrail", func(b *testing.B) { benchIngest(b, "cloudtrail", 24, cloudTrailObject) })
	b.Run("vpcflow", func(b *testing.B) { benchIngest(b, "vpcflow", 24, vpcFlowObject) })
}

func benchIngest(b *testing.B, source string, objects int, gen func(b *testing.B, i int) []byte) {
	srv := s3test.Start(b)
	brokers := streamstest.Brokers(b)
	bucket := "bench-" + source
	srv.CreateBucket(b, bucket)
	var raw, stored int64
	var keys []string
	for i := range objects {
		body := gen(b, i)
		raw += int64(len(body))
		gz := s3test.Gzip(body)
		stored += int64(len(gz))
		service := map[string]string{"cloudtrail": "CloudTrail", "vpcflow": "vpcflowlogs"}[source]
		key := s3test.Layout("111122223333", service, []string{"us-east-1", "eu-west-1"}[i%2], day1, fmt.Sprintf("obj-%04d.json.gz", i))
		srv.Put(b, bucket, key, gz)
		keys = append(keys, key)
	}
	b.Logf("%d objects, %.1f MB stored, %.1f MB uncompressed", objects, float64(stored)/1e6, float64(raw)/1e6)
	b.SetBytes(raw)
	ctx := context.Background()
	b.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	b.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	// Rounds of baseline and vigil alternate, and the medians count: the
	// machine is shared and its speed varies from second to second.
	const rounds = 3
	var baseRates, vigilRates, recordRates []float64
	round := 0
	b.ResetTimer()
	for range b.N {
		for range rounds {
			// Baseline: download and gunzip.
			start := time.Now()
			cl := s3test.NewClient(srv.Endpoint)
			var n int64
			for _, k := range keys {
				out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
				if err != nil {
					b.Fatal(err)
				}
				src, err := decompress(&bodyReader{r: out.Body})
				if err != nil {
					b.Fatal(err)
				}
				m, err := io.Copy(io.Discard, src)
				if err != nil {
					b.Fatal(err)
				}
				n += m
				out.Body.Close()
			}
			baseRates = append(baseRates, float64(raw)/1e6/time.Since(start).Seconds())
			if n != raw {
				b.Fatalf("baseline read %d bytes, want %d", n, raw)
			}

			// vigil: the same objects into Kafka, exactly once.
			b.StopTimer()
			names := topics.Names{Prefix: fmt.Sprintf("bench%d", round)}
			round++
			streamstest.CreateTopics(b, brokers, 6, names.Raw(source), names.DLQ())
			streamstest.CreateTopics(b, brokers, 1, names.Progress())
			c := DefaultConfig()
			c.Source, c.Bucket, c.Endpoint, c.Region = source, bucket, srv.Endpoint, s3test.Region
			s, err := New(c, plugin.Deps{Name: "bench", Kafka: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Topics: names, Partitions: 6})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start = time.Now()
			if err := s.Once(ctx); err != nil {
				b.Fatal(err)
			}
			secs := time.Since(start).Seconds()
			st := s.Stats()
			if st.ObjectsDone != int64(objects) {
				b.Fatalf("%d objects done, want %d", st.ObjectsDone, objects)
			}
			vigilRates = append(vigilRates, float64(raw)/1e6/secs)
			recordRates = append(recordRates, float64(st.Records)/secs)
		}
	}
	b.SetBytes(raw * rounds)
	base, vigil := median(baseRates), median(vigilRates)
	b.ReportMetric(base, "baseline_MB/s")
	b.ReportMetric(vigil, "vigil_MB/s")
	b.ReportMetric(median(recordRates), "vigil_records/s")
	b.ReportMetric(vigil/base, "ratio")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// cloudTrailObject is a CloudTrail log file of 2,000 records made from the
// corpus's events, each with its own event id.
func cloudTrailObject(b *testing.B, i int) []byte {
	var events []map[string]any
	for _, name := range sortedNames(testdata(b, "cloudtrail")) {
		var f struct{ Records []map[string]any }
		if err := json.Unmarshal(testdata(b, "cloudtrail")[name], &f); err != nil {
			b.Fatal(err)
		}
		events = append(events, f.Records...)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"Records":[`)
	for j := range 2000 {
		if j > 0 {
			buf.WriteByte(',')
		}
		ev := events[j%len(events)]
		ev["eventID"] = fmt.Sprintf("%08d-0000-4000-8000-%012d", i, j)
		ev["recipientAccountId"] = []string{"111122223333", "444455556666", "777788889999"}[j%3]
		line, _ := json.Marshal(ev)
		buf.Write(line)
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

// vpcFlowObject is a VPC Flow Logs file of 40,000 default-format records.
func vpcFlowObject(_ *testing.B, i int) []byte {
	var buf bytes.Buffer
	buf.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	for j := range 40000 {
		fmt.Fprintf(&buf, "2 123456789010 eni-1235b8ca123456789 172.31.%d.%d 172.31.16.21 %d 22 6 20 %d %d %d %s OK\n",
			j%250, i%250, 1024+j%60000, 4000+j, 1418530010+j, 1418530070+j, []string{"ACCEPT", "REJECT"}[j%2])
	}
	return buf.Bytes()
}
