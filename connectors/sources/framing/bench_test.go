package framing_test

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/vigilsec/vigil/connectors/sources/framing"
)

func drain(b *testing.B, in []byte, f framing.Format) int {
	sp := framing.New(bytes.NewReader(in), f, 0)
	n := 0
	for {
		fr, err := sp.Next()
		if err == io.EOF {
			return n
		}
		if err != nil || fr.Err != nil {
			b.Fatal(err, fr.Err)
		}
		n++
	}
}

// BenchmarkBaselineScanLines is the baseline: bufio.Scanner splitting the
// same JSON lines.
func BenchmarkBaselineScanLines(b *testing.B) {
	in := framing.BenchEvents(2000, false)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		sc := bufio.NewScanner(bytes.NewReader(in))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		n := 0
		for sc.Scan() {
			n++
		}
		if n != 2000 {
			b.Fatal(n)
		}
	}
}

func BenchmarkSplitLines(b *testing.B) {
	in := framing.BenchEvents(2000, false)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if n := drain(b, in, framing.Auto); n != 2000 {
			b.Fatal(n)
		}
	}
}

func BenchmarkSplitRecords(b *testing.B) {
	in := framing.BenchEvents(2000, true)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if n := drain(b, in, framing.Auto); n != 2000 {
			b.Fatal(n)
		}
	}
}
