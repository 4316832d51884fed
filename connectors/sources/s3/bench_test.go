package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/connectors/sources/s3/s3test"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

// BenchmarkIngest measures publishing gzipped CloudTrail log files and VPC
// Flow Logs files from versitygw into the broker (vigil), against three
// baselines in the same run:
//
//   - download: only download and gunzip the same objects, one after
//     another (ratio is vigil's rate over it; the target is 0.7);
//   - produce: only produce the same events, split beforehand and held in
//     memory, with a plain franz-go producer (no transactions, no headers,
//     no S3): what this machine's Kafka client and broker take, one record
//     per event (produce_ratio is vigil's rate over it);
//   - headers: the same, with the provenance headers vigil puts on each
//     record (source, origin, ingest time, and a VPC flow log file's
//     header line).
//
// vigil does the work of the download and headers baselines, and more,
// on the same cores: bound_ratio is the ratio it would reach if it did
// only that work, with the CPU a megabyte takes in each, on the cores it
// kept busy. A bound_ratio under 0.7 means the target cannot be reached
// on this machine whatever vigil adds; bare_bound_ratio is the same with
// the produce baseline, records without headers.
//
// MB/s counts uncompressed bytes; vigil's runs include their fixed cost,
// which vigil_startup_ms shows (a run over a prefix with no objects). The
// cpu_ms/MB figures are the CPU this process (the broker included;
// versitygw runs in its own) spent a megabyte in each, vigil_cores the
// cores it kept busy while vigil ran, and machine_busy the share of the
// whole machine's CPU that was busy then.
func BenchmarkIngest(b *testing.B) {
	b.Run("cloudtrail", func(b *testing.B) { benchIngest(b, "cloudtrail", 96, cloudTrailObject) })
	b.Run("vpcflow", func(b *testing.B) { benchIngest(b, "vpcflow", 24, vpcFlowObject) })
}

func benchIngest(b *testing.B, source string, objects int, gen func(b *testing.B, i int) []byte) {
	srv := s3test.Start(b)
	brokers := streamstest.Brokers(b)
	bucket := "bench-" + source
	srv.CreateBucket(b, bucket)
	var raw, stored int64
	var keys []string
	// The objects' events, split as the source splits them.
	type object struct {
		path   string
		header []byte
		frames []framing.Frame
		format framing.Format
	}
	var objs []object
	var events int
	for i := range objects {
		body := gen(b, i)
		raw += int64(len(body))
		gz := s3test.Gzip(body)
		stored += int64(len(gz))
		service := map[string]string{"cloudtrail": "CloudTrail", "vpcflow": "vpcflowlogs"}[source]
		key := s3test.Layout("111122223333", service, []string{"us-east-1", "eu-west-1"}[i%2], day1, fmt.Sprintf("obj-%04d.json.gz", i))
		srv.Put(b, bucket, key, gz)
		keys = append(keys, key)
		header, frames, format := split(b, source, body)
		objs = append(objs, object{"s3://" + bucket + "/" + key, header, frames, format})
		events += len(frames)
	}
	b.Logf("%d objects, %.1f MB stored, %.1f MB uncompressed, %d events", objects, float64(stored)/1e6, float64(raw)/1e6, events)
	ctx := context.Background()
	b.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	b.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)

	// A phase's rate (uncompressed MB/s) and CPU time a megabyte.
	type result struct{ rates, cpu []float64 }
	var down, prod, prodHeaders, vigil result
	var recordRates, vigilCores, busy, startups []float64
	measure := func(r *result, f func()) time.Duration {
		// Each phase starts from a collected heap: the garbage of the one
		// before is not its cost.
		runtime.GC()
		start, cpu := time.Now(), cpuTime()
		f()
		d := time.Since(start)
		r.rates = append(r.rates, float64(raw)/1e6/d.Seconds())
		r.cpu = append(r.cpu, (cpuTime()-cpu).Seconds()*1e3/(float64(raw)/1e6))
		return d
	}
	produce := func(into *result, topic string, withHeaders bool) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond), kgo.DefaultProduceTopic(topic))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		// The records are made before the timing, in few allocations,
		// and dropped after it, so that the other phases' collections do
		// not scan them.
		account := []byte("111122223333")
		now := []byte(time.Now().UTC().Format(time.RFC3339Nano))
		recs := make([]kgo.Record, 0, events)
		var hdrs []kgo.RecordHeader
		var origins []byte
		for _, o := range objs {
			for _, fr := range o.frames {
				r := kgo.Record{Key: account, Value: fr.Data}
				if withHeaders {
					if len(hdrs) < 4 {
						hdrs = make([]kgo.RecordHeader, 4*4096)
						origins = make([]byte, 0, 4096*(len(o.path)+32))
					}
					l := len(origins)
					origins = framing.AppendOrigin(origins, o.path, o.format, fr)
					h := hdrs[:3:3]
					h[0] = kgo.RecordHeader{Key: streams.HeaderSource, Value: []byte(source)}
					h[1] = kgo.RecordHeader{Key: streams.HeaderOrigin, Value: origins[l:len(origins):len(origins)]}
					h[2] = kgo.RecordHeader{Key: streams.HeaderIngestTime, Value: now}
					if o.header != nil {
						h = hdrs[:4:4]
						h[3] = kgo.RecordHeader{Key: streams.HeaderFileHeader, Value: o.header}
					}
					hdrs = hdrs[len(h):]
					r.Headers = h
				}
				recs = append(recs, r)
			}
		}
		measure(into, func() {
			for i := range recs {
				cl.Produce(ctx, &recs[i], nil)
			}
			if err := cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}

	// Rounds of the baselines and vigil alternate, and the medians count:
	// the machine is shared and its speed varies from second to second.
	const rounds = 3
	round := 0
	b.ResetTimer()
	for range b.N {
		for range rounds {
			b.StopTimer()
			names := topics.Names{Prefix: fmt.Sprintf("bench%d", round)}
			round++
			streamstest.CreateTopics(b, brokers, 6, names.Raw(source), names.DLQ(), names.Raw("produce"), names.Raw("headers"))
			streamstest.CreateTopics(b, brokers, 1, names.Progress())
			b.StartTimer()

			// Baseline: download and gunzip.
			cl := s3test.NewClient(srv.Endpoint)
			var n int64
			measure(&down, func() {
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
			})
			if n != raw {
				b.Fatalf("baseline read %d bytes, want %d", n, raw)
			}

			// Baselines: produce the events from memory with a plain
			// producer, without and with the headers vigil adds.
			produce(&prod, names.Raw("produce"), false)
			produce(&prodHeaders, names.Raw("headers"), true)

			// vigil: the same objects into Kafka, exactly once.
			c := DefaultConfig()
			c.Source, c.Bucket, c.Endpoint, c.Region = source, bucket, srv.Endpoint, s3test.Region
			deps := plugin.Deps{Name: "bench", Kafka: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Topics: names, Partitions: 6}
			s, err := New(c, deps)
			if err != nil {
				b.Fatal(err)
			}
			// A run's fixed cost: the same source over a prefix with no
			// objects (Kafka client, producer id, progress, listing).
			empty := c
			empty.Prefix = "none/"
			deps.Name = "bench-empty"
			es, err := New(empty, deps)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := es.Once(ctx); err != nil {
				b.Fatal(err)
			}
			startups = append(startups, float64(time.Since(start).Microseconds())/1e3)

			busy0, total0 := machineCPU()
			cpu := cpuTime()
			d := measure(&vigil, func() {
				if err := s.Once(ctx); err != nil {
					b.Fatal(err)
				}
			})
			vigilCores = append(vigilCores, (cpuTime()-cpu).Seconds()/d.Seconds())
			busy1, total1 := machineCPU()
			if total1 > total0 {
				busy = append(busy, float64(busy1-busy0)/float64(total1-total0))
			}
			st := s.Stats()
			if st.ObjectsDone != int64(objects) || st.Records != int64(events) {
				b.Fatalf("%d objects and %d records done, want %d and %d", st.ObjectsDone, st.Records, objects, events)
			}
			recordRates = append(recordRates, float64(st.Records)/d.Seconds())
		}
	}
	b.SetBytes(raw * rounds)
	report := func(r result, name string) float64 {
		rate := median(r.rates)
		b.ReportMetric(rate, name+"_MB/s")
		b.ReportMetric(median(r.cpu), name+"_cpu_ms/MB")
		return rate
	}
	downRate, prodRate, headersRate, vigilRate := report(down, "download"), report(prod, "produce"), report(prodHeaders, "headers"), report(vigil, "vigil")
	b.ReportMetric(median(recordRates), "vigil_records/s")
	b.ReportMetric(vigilRate/downRate, "ratio")
	b.ReportMetric(vigilRate/prodRate, "produce_ratio")
	b.ReportMetric(vigilRate/headersRate, "headers_ratio")
	b.ReportMetric(headersRate/downRate, "headers/download")
	cores := median(vigilCores)
	b.ReportMetric(cores, "vigil_cores")
	// The most vigil could reach on the cores it had if all it did were
	// what the download and headers baselines do, one megabyte's CPU each.
	bound := cores * 1e3 / (median(down.cpu) + median(prodHeaders.cpu))
	b.ReportMetric(bound/downRate, "bound_ratio")
	// The same without the headers: records as bare as can be.
	bare := cores * 1e3 / (median(down.cpu) + median(prod.cpu))
	b.ReportMetric(bare/downRate, "bare_bound_ratio")
	b.ReportMetric(median(startups), "vigil_startup_ms")
	if len(busy) > 0 {
		b.ReportMetric(median(busy), "machine_busy")
	}
}

// split splits an object's body into its events, as the source does: it
// returns the file's header line (for VPC flow logs), the frames and their
// format.
func split(b *testing.B, source string, body []byte) ([]byte, []framing.Frame, framing.Format) {
	var r io.Reader = bytes.NewReader(body)
	var header []byte
	if source == "vpcflow" {
		var err error
		if header, r, err = framing.FileHeader(r); err != nil {
			b.Fatal(err)
		}
	}
	sp := framing.New(r, framing.Auto, framing.DefaultMaxFrame)
	var out []framing.Frame
	for {
		fr, err := sp.Next()
		if err == io.EOF {
			return header, out, sp.Format()
		}
		if err != nil || fr.Err != nil {
			b.Fatal(err, fr.Err)
		}
		out = append(out, fr)
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
	// The events are encoded once, with a placeholder in their ids' first
	// group, which each object replaces.
	cloudTrailOnce.Do(func() {
		var events []map[string]any
		for _, name := range sortedNames(testdata(b, "cloudtrail")) {
			var f struct{ Records []map[string]any }
			if err := json.Unmarshal(testdata(b, "cloudtrail")[name], &f); err != nil {
				b.Fatal(err)
			}
			events = append(events, f.Records...)
		}
		for j := range 2000 {
			ev := events[j%len(events)]
			ev["eventID"] = fmt.Sprintf("IIIIIIII-0000-4000-8000-%012d", j)
			ev["recipientAccountId"] = []string{"111122223333", "444455556666", "777788889999"}[j%3]
			line, err := json.Marshal(ev)
			if err != nil {
				b.Fatal(err)
			}
			cloudTrailEvents = append(cloudTrailEvents, line)
		}
	})
	id := []byte(fmt.Sprintf("%08d", i))
	var buf bytes.Buffer
	buf.WriteString(`{"Records":[`)
	for j, line := range cloudTrailEvents {
		if j > 0 {
			buf.WriteByte(',')
		}
		buf.Write(bytes.Replace(line, []byte("IIIIIIII"), id, 1))
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

var (
	cloudTrailOnce   sync.Once
	cloudTrailEvents [][]byte
)

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
