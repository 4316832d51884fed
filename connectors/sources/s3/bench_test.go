package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vigilsec/vigil/connectors/sources/framing"
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
// Flow Logs files from versitygw into the broker (vigil), against two
// baselines in the same run:
//
//   - download: only download and gunzip the same objects (the issue's
//     baseline; ratio is vigil's rate over it);
//   - produce: only produce the same events, split beforehand and held in
//     memory, with a plain franz-go producer (no transactions, no headers,
//     no S3): what this machine's Kafka client and broker take, one record
//     per event (produce_ratio is vigil's rate over it).
//
// MB/s counts uncompressed bytes. The cpu_ms/MB figures are the CPU this
// process (the broker included; versitygw runs in its own) spent a
// megabyte in each, vigil_cores the cores it kept busy while vigil ran,
// and machine_busy the share of the whole machine's CPU that was busy then.
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
	var events [][]byte
	for i := range objects {
		body := gen(b, i)
		raw += int64(len(body))
		events = append(events, split(b, source, body)...)
		gz := s3test.Gzip(body)
		stored += int64(len(gz))
		service := map[string]string{"cloudtrail": "CloudTrail", "vpcflow": "vpcflowlogs"}[source]
		key := s3test.Layout("111122223333", service, []string{"us-east-1", "eu-west-1"}[i%2], day1, fmt.Sprintf("obj-%04d.json.gz", i))
		srv.Put(b, bucket, key, gz)
		keys = append(keys, key)
	}
	b.Logf("%d objects, %.1f MB stored, %.1f MB uncompressed, %d events", objects, float64(stored)/1e6, float64(raw)/1e6, len(events))
	ctx := context.Background()
	b.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	b.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	// Rounds of the baselines and vigil alternate, and the medians count:
	// the machine is shared and its speed varies from second to second.
	const rounds = 3
	var downRates, prodRates, vigilRates, recordRates, downCPU, prodCPU, vigilCPU, vigilCores, busy []float64
	round := 0
	b.ResetTimer()
	for range b.N {
		for range rounds {
			b.StopTimer()
			names := topics.Names{Prefix: fmt.Sprintf("bench%d", round)}
			round++
			streamstest.CreateTopics(b, brokers, 6, names.Raw(source), names.DLQ(), names.Raw("produce"))
			streamstest.CreateTopics(b, brokers, 1, names.Progress())
			b.StartTimer()

			// Baseline: download and gunzip.
			start, cpu := time.Now(), cpuTime()
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
			downRates = append(downRates, float64(raw)/1e6/time.Since(start).Seconds())
			downCPU = append(downCPU, (cpuTime()-cpu).Seconds()*1e3/(float64(raw)/1e6))
			if n != raw {
				b.Fatalf("baseline read %d bytes, want %d", n, raw)
			}

			// Baseline: produce the events with a plain producer.
			pcl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond), kgo.DefaultProduceTopic(names.Raw("produce")))
			if err != nil {
				b.Fatal(err)
			}
			account := []byte("111122223333")
			start, cpu = time.Now(), cpuTime()
			for _, ev := range events {
				pcl.Produce(ctx, &kgo.Record{Key: account, Value: ev}, nil)
			}
			if err := pcl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			prodRates = append(prodRates, float64(raw)/1e6/time.Since(start).Seconds())
			prodCPU = append(prodCPU, (cpuTime()-cpu).Seconds()*1e3/(float64(raw)/1e6))
			pcl.Close()

			// vigil: the same objects into Kafka, exactly once.
			c := DefaultConfig()
			c.Source, c.Bucket, c.Endpoint, c.Region = source, bucket, srv.Endpoint, s3test.Region
			s, err := New(c, plugin.Deps{Name: "bench", Kafka: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Topics: names, Partitions: 6})
			if err != nil {
				b.Fatal(err)
			}
			start, cpu = time.Now(), cpuTime()
			busy0, total0 := machineCPU()
			if err := s.Once(ctx); err != nil {
				b.Fatal(err)
			}
			secs := time.Since(start).Seconds()
			busy1, total1 := machineCPU()
			st := s.Stats()
			if st.ObjectsDone != int64(objects) || st.Records != int64(len(events)) {
				b.Fatalf("%d objects and %d records done, want %d and %d", st.ObjectsDone, st.Records, objects, len(events))
			}
			vigilRates = append(vigilRates, float64(raw)/1e6/secs)
			recordRates = append(recordRates, float64(st.Records)/secs)
			vigilCores = append(vigilCores, (cpuTime()-cpu).Seconds()/secs)
			vigilCPU = append(vigilCPU, (cpuTime()-cpu).Seconds()*1e3/(float64(raw)/1e6))
			if total1 > total0 {
				busy = append(busy, float64(busy1-busy0)/float64(total1-total0))
			}
		}
	}
	b.SetBytes(raw * rounds)
	down, prod, vigil := median(downRates), median(prodRates), median(vigilRates)
	b.ReportMetric(down, "download_MB/s")
	b.ReportMetric(prod, "produce_MB/s")
	b.ReportMetric(vigil, "vigil_MB/s")
	b.ReportMetric(median(recordRates), "vigil_records/s")
	b.ReportMetric(vigil/down, "ratio")
	b.ReportMetric(vigil/prod, "produce_ratio")
	b.ReportMetric(median(vigilCores), "vigil_cores")
	b.ReportMetric(median(downCPU), "download_cpu_ms/MB")
	b.ReportMetric(median(prodCPU), "produce_cpu_ms/MB")
	b.ReportMetric(median(vigilCPU), "vigil_cpu_ms/MB")
	if len(busy) > 0 {
		b.ReportMetric(median(busy), "machine_busy")
	}
}

// split splits an object's body into its events, as the source does.
func split(b *testing.B, source string, body []byte) [][]byte {
	var r io.Reader = bytes.NewReader(body)
	if source == "vpcflow" {
		var err error
		if _, r, err = framing.FileHeader(r); err != nil {
			b.Fatal(err)
		}
	}
	sp := framing.New(r, framing.Auto, framing.DefaultMaxFrame)
	var out [][]byte
	for {
		fr, err := sp.Next()
		if err == io.EOF {
			return out
		}
		if err != nil || fr.Err != nil {
			b.Fatal(err, fr.Err)
		}
		out = append(out, fr.Data)
	}
}

// cpuTime is the CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU reads the whole machine's busy and total CPU time, in ticks,
// from /proc/stat; zeros where there is none.
func machineCPU() (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
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
