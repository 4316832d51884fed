package detect

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/ruleset"
	"github.com/vigilsec/vigil/ecs"
)

// BenchmarkDetect measures what the detect app does per record: decode an
// ECS document and evaluate the built-in rules (57 SigmaHQ CloudTrail rules
// and vigil's), building the alerts and matches, on one core, against
// encoding/json decoding the same documents into map[string]any, in the
// same run.
func BenchmarkDetect(b *testing.B) {
	// The AWS documentation's examples and the events of the SigmaHQ
	// rules' test cases.
	files, _ := filepath.Glob("../../internal/demo/testdata/corpus/aws-cloudtrail-user-guide/*")
	var raw bytes.Buffer
	cases, _ := filepath.Glob("../sigma/testdata/cloudtrail/*.yml")
	for _, f := range cases {
		body, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range eventLine.FindAllSubmatch(body, -1) {
			raw.Write(m[1])
			raw.WriteByte('\n')
		}
	}
	casesFile := filepath.Join(b.TempDir(), "cases.jsonl")
	if err := os.WriteFile(casesFile, raw.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	files = append(files, casesFile)
	var docs [][]byte
	for _, f := range files {
		evs, _ := decodeFile(f) // files that are not CloudTrail give no events
		for _, ev := range evs {
			d, err := normalize.Marshal(ev)
			if err != nil {
				b.Fatal(err)
			}
			docs = append(docs, d)
		}
	}
	if len(docs) < 50 {
		b.Fatalf("%d documents", len(docs))
	}
	set, _, err := ruleset.Load(ruleset.DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewProcessor(set, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var size int
	for _, d := range docs {
		size += len(d)
	}
	run := func(name string, fn func([]byte)) float64 {
		start := time.Now()
		n := 0
		for range max(1, b.N) {
			for _, d := range docs {
				fn(d)
				n++
			}
		}
		rate := float64(n) / time.Since(start).Seconds()
		b.ReportMetric(rate, name+"-events/s")
		return rate
	}
	b.ResetTimer()
	detect := run("detect", func(d []byte) {
		var ev ecs.Event
		if err := DecodeEvent(d, &ev); err != nil {
			b.Fatal(err)
		}
		p.Evaluate("cloudtrail", &ev, "o")
	})
	base := run("encoding-json-map", func(d []byte) {
		var m map[string]any
		if err := json.Unmarshal(d, &m); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(detect/base, "ratio_vs_encoding_json")
	b.Logf("%d ECS documents of %d B on average: detect %.0f events/s, encoding/json map %.0f events/s, ratio %.2f", len(docs), size/len(docs), detect, base, detect/base)
}

var eventLine = regexp.MustCompile(`(?m)^ +event: (\{.*\})\s*$`)
