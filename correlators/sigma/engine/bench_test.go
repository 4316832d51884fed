package engine

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Targets of BenchmarkCloudTrail57: decoding and matching all 57 rules runs
// at least this fast, relative to its baselines.
const (
	targetVsDecode       = 0.8 // of vigil's decoding alone
	targetVsEncodingJSON = 3.0 // of encoding/json decoding into map[string]any
)

// cloudTrail57 is the stream of BenchmarkCloudTrail57 and the ways to
// process it.
type cloudTrail57 struct {
	records [][]byte
	bytes   int
	set     *Set
	dst     []int
	matches int
}

func newCloudTrail57(b *testing.B) *cloudTrail57 {
	b.Helper()
	w := &cloudTrail57{set: loadCorpus(b).set, dst: make([]int, 0, 16)}
	for _, r := range cloudTrailRecords(b) {
		w.records = append(w.records, r.raw)
		w.bytes += len(r.raw)
	}
	return w
}

// decode is vigil's CloudTrail decoding alone, as the normalize app runs it
// (keeping event.original, the default).
func (w *cloudTrail57) decode(b *testing.B, raw []byte) {
	evs, err := decodeCloudTrail(raw, true)
	if err != nil || len(evs) != 1 {
		b.Fatalf("decode: %v", err)
	}
}

// decodeRules decodes and matches the rules.
func (w *cloudTrail57) decodeRules(b *testing.B, raw []byte) {
	evs, err := decodeCloudTrail(raw, true)
	if err != nil || len(evs) != 1 {
		b.Fatalf("decode: %v", err)
	}
	w.dst = w.set.Match(ECS(evs[0]), w.dst[:0])
	w.matches += len(w.dst)
}

// encodingJSONMap is the baseline: encoding/json decoding the same bytes
// into map[string]any.
func (w *cloudTrail57) encodingJSONMap(b *testing.B, raw []byte) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCloudTrail57 measures the detect path on one core: all 57
// SigmaHQ CloudTrail rules over a stream of real CloudTrail records (the
// CloudTrail User Guide's examples, then the events of the rules' test
// cases), raw bytes to matches, decoding included; against two baselines,
// vigil's decoding alone and encoding/json decoding the same bytes into
// map[string]any. An op is one event. The sub-benchmarks decode,
// decode+rules and encoding-json-map run one each; ratios runs the three
// interleaved, a pass over the stream each in turn, so that a slow spell
// of the (shared) machine hits them alike, and reports each one's events/s
// and the ratios to the baselines (with a table in the log, -v). It sets
// GOMAXPROCS to 1 itself; -cpu 1 names the results accordingly.
func BenchmarkCloudTrail57(b *testing.B) {
	w := newCloudTrail57(b)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	type variant struct {
		name string
		f    func(*testing.B, []byte)
	}
	variants := []variant{
		{"decode", w.decode},
		{"decode+rules", w.decodeRules},
		{"encoding-json-map", w.encodingJSONMap},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(w.bytes / len(w.records)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				v.f(b, w.records[i])
				if i++; i == len(w.records) {
					i = 0
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	b.Run("ratios", func(b *testing.B) {
		var elapsed [3]time.Duration
		events := 0
		for b.Loop() {
			for k, v := range variants {
				start := time.Now()
				for _, r := range w.records {
					v.f(b, r)
				}
				elapsed[k] += time.Since(start)
			}
			events += len(w.records)
		}
		var rate [3]float64
		for k := range variants {
			rate[k] = float64(events) / elapsed[k].Seconds()
		}
		if w.matches == 0 {
			b.Fatal("no rule matched: the benchmark measures nothing")
		}
		vsDecode, vsJSON := rate[1]/rate[0], rate[1]/rate[2]
		b.ReportMetric(rate[0], "decode-events/s")
		b.ReportMetric(rate[1], "decode+rules-events/s")
		b.ReportMetric(rate[2], "encoding-json-map-events/s")
		b.ReportMetric(vsDecode, "ratio_vs_decode")
		b.ReportMetric(vsJSON, "ratio_vs_encoding_json")
		var t strings.Builder
		fmt.Fprintf(&t, "57 CloudTrail rules, %d records of %d B on average, %d passes each, interleaved, one core\n", len(w.records), w.bytes/len(w.records), events/len(w.records))
		fmt.Fprintf(&t, "| measurement | events/s | decode+rules vs it | target |\n|---|---|---|---|\n")
		fmt.Fprintf(&t, "| decode+rules (vigil decoding, 57 rules) | %.0f | | |\n", rate[1])
		fmt.Fprintf(&t, "| decode (vigil decoding alone) | %.0f | %.2f | >= %.1f |\n", rate[0], vsDecode, targetVsDecode)
		fmt.Fprintf(&t, "| encoding-json-map (encoding/json into map[string]any) | %.0f | %.2f | >= %.1f |\n", rate[2], vsJSON, targetVsEncodingJSON)
		b.Log("\n" + t.String())
	})
}

// BenchmarkMatchOnly is the rules alone: all 57 CloudTrail rules on
// normalized events decoded beforehand (the same stream as
// BenchmarkCloudTrail57), one event an op.
func BenchmarkMatchOnly(b *testing.B) {
	w := newCloudTrail57(b)
	evs := make([]Event, len(w.records))
	for i, raw := range w.records {
		out, err := decodeCloudTrail(raw, true)
		if err != nil || len(out) != 1 {
			b.Fatalf("decode: %v", err)
		}
		evs[i] = ECS(out[0])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.dst = w.set.Match(evs[i], w.dst[:0])
		if i++; i == len(evs) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
