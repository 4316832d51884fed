package vpcflow_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/vpcflow"
)

// defaultLines are 256 varied records in the default (v2) format, about
// 110 bytes each: IPv4 and some IPv6, TCP, UDP and ICMP, accepted and
// rejected, and a few NODATA records.
func defaultLines() [][]byte {
	out := make([][]byte, 256)
	for i := range out {
		src, dst := fmt.Sprintf("10.%d.%d.%d", i%7, i%251, 1+i%253), fmt.Sprintf("172.31.%d.%d", i%16, 2+i%200)
		if i%10 == 9 {
			src, dst = fmt.Sprintf("2001:db8:1234:a100::%x", i), "2001:db8:1234:a102:3304:8879:34cf:4071"
		}
		proto := [...]string{"6", "6", "6", "17", "1"}[i%5]
		action := [...]string{"ACCEPT", "ACCEPT", "REJECT"}[i%3]
		line := fmt.Sprintf("2 123456789010 eni-1235b8ca1234567%02d %s %s %d %d %s %d %d %d %d %s OK",
			i%100, src, dst, 1024+i*97%60000, [...]int{22, 443, 80, 53, 3389}[i%5], proto, 1+i%50, 40+i*13, 1418530010+i, 1418530070+i, action)
		if i%32 == 31 {
			line = fmt.Sprintf("2 123456789010 eni-1235b8ca1234567%02d - - - - - - - %d %d - NODATA", i%100, 1431280876+i, 1431280934+i)
		}
		out[i] = []byte(line)
	}
	return out
}

// customV5 is a custom format of every field of versions 2 to 5, in the
// order of AWS's example, and records in it.
const customV5Header = "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status"

func customV5Lines() [][]byte {
	out := make([][]byte, 256)
	for i := range out {
		dir, path, svc := "ingress", "-", "S3 -"
		if i%2 == 1 {
			dir, path, svc = "egress", "8", "- S3"
		}
		out[i] = fmt.Appendf(nil, "5 52.95.128.%d 10.0.0.%d 80 %d 6 %d %d IPv4 %d %d 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT %d 52.95.128.%d 10.0.0.%d %s %s %s OK",
			i%250, 1+i%200, 30000+i, 1616729292+i, 1616729349+i, 1+i%40, 100+i*31, [...]int{2, 18, 19, 3, 16}[i%5], i%250, 1+i%200, svc, path, dir)
	}
	return out
}

// linesPerSecond reports the rate of b.Loop iterations, one line each:
// per second of wall time, and per second of CPU time of the whole process
// (garbage collection included), which is the rate per core and does not
// depend on what else the machine runs.
func linesPerSecond(b *testing.B, n int, cpu0 time.Duration) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
	if cpu := processCPU() - cpu0; cpu > 0 && cpu0 >= 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "lines/cpu-s")
	}
}

func benchDecode(b *testing.B, lines [][]byte, m normalize.Meta, marshal bool) {
	var d vpcflow.Decoder
	total := 0
	for _, l := range lines {
		total += len(l)
	}
	b.SetBytes(int64(total / len(lines)))
	b.ReportAllocs()
	n, cpu0 := 0, processCPU()
	for b.Loop() {
		evs, err := d.Decode(lines[n%len(lines)], m)
		if err != nil || len(evs) != 1 {
			b.Fatal(err)
		}
		if marshal {
			if _, err := normalize.Marshal(evs[0]); err != nil {
				b.Fatal(err)
			}
		}
		// The normalize app recycles the events once encoded.
		d.Release(evs)
		n++
	}
	linesPerSecond(b, n, cpu0)
}

// BenchmarkBaselineSplit is the floor: strings.Fields on the same lines,
// with the []byte to string conversion any decoder of them needs.
func BenchmarkBaselineSplit(b *testing.B) {
	lines := defaultLines()
	b.SetBytes(int64(len(lines[0])))
	b.ReportAllocs()
	n, cpu0 := 0, processCPU()
	for b.Loop() {
		if f := strings.Fields(string(lines[n%len(lines)])); len(f) != 14 {
			b.Fatal(len(f))
		}
		n++
	}
	linesPerSecond(b, n, cpu0)
}

// BenchmarkDecodeDefault decodes default-format lines as the normalize app
// receives them (event.original kept).
func BenchmarkDecodeDefault(b *testing.B) {
	benchDecode(b, defaultLines(), normalize.Meta{Origin: "bench", KeepOriginal: true}, false)
}

// BenchmarkDecodeCustomV5 decodes lines of a 29-field custom format named
// by the file header.
func BenchmarkDecodeCustomV5(b *testing.B) {
	benchDecode(b, customV5Lines(), normalize.Meta{Origin: "bench", KeepOriginal: true, FileHeader: customV5Header}, false)
}

// BenchmarkDecodeMarshalDefault decodes and encodes the ECS document with
// the normalize app's encoder, as the app does per record.
func BenchmarkDecodeMarshalDefault(b *testing.B) {
	benchDecode(b, defaultLines(), normalize.Meta{Origin: "bench", KeepOriginal: true}, true)
}

// BenchmarkDecodeMarshalCustomV5 is BenchmarkDecodeMarshalDefault for the
// custom v5 format.
func BenchmarkDecodeMarshalCustomV5(b *testing.B) {
	benchDecode(b, customV5Lines(), normalize.Meta{Origin: "bench", KeepOriginal: true, FileHeader: customV5Header}, true)
}
