package framing_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/vigilsec/vigil/connectors/sources/framing"
)

func benchInput(b *testing.B, records bool) []byte {
	b.Helper()
	var evs []json.RawMessage
	for i := 0; i < 2000; i++ {
		ev, _ := json.Marshal(map[string]any{
			"eventTime": "2026-11-02T09:00:00Z", "eventName": "DescribeInstances", "eventSource": "ec2.amazonaws.com",
			"userIdentity":      map[string]any{"type": "IAMUser", "userName": fmt.Sprintf("user-%d", i), "arn": "arn:aws:iam::111122223333:user/x"},
			"requestParameters": map[string]any{"filter": "a \"quoted\" {brace} [bracket]", "n": i},
			"sourceIPAddress":   "198.51.100.11", "recipientAccountId": "111122223333",
		})
		evs = append(evs, ev)
	}
	if records {
		out, _ := json.Marshal(map[string]any{"Records": evs})
		return out
	}
	var buf bytes.Buffer
	for _, ev := range evs {
		buf.Write(ev)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

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
	in := benchInput(b, false)
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
	in := benchInput(b, false)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if n := drain(b, in, framing.Auto); n != 2000 {
			b.Fatal(n)
		}
	}
}

func BenchmarkSplitRecords(b *testing.B) {
	in := benchInput(b, true)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if n := drain(b, in, framing.Auto); n != 2000 {
			b.Fatal(n)
		}
	}
}
