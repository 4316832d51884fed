package file

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestLine(t *testing.T) {
	r := &kgo.Record{Topic: "vigil.dlq", Partition: 2, Offset: 7, Key: []byte("k"),
		Value:     []byte("{\n  \"a\": 1\n}"),
		Headers:   []kgo.RecordHeader{{Key: "vigil-error", Value: []byte("bad")}},
		Timestamp: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	got, err := Line(r, false)
	if err != nil || string(got) != "{\"a\":1}\n" {
		t.Errorf("value line = %q, %v", got, err)
	}
	r.Value = []byte("not json\n")
	got, _ = Line(r, false)
	if string(got) != "\"not json\\n\"\n" {
		t.Errorf("non-JSON value line = %q", got)
	}
	got, err = Line(r, true)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(got, &rec); err != nil {
		t.Fatalf("record line is not JSON: %s", got)
	}
	if rec["topic"] != "vigil.dlq" || rec["offset"].(float64) != 7 || rec["value"] != "not json\n" ||
		rec["headers"].(map[string]any)["vigil-error"] != "bad" || rec["timestamp"] != "2026-11-02T09:00:00.000Z" {
		t.Errorf("record line = %s", got)
	}
}

func TestWriterAppendsAndFlushes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "out.jsonl")
	w := &Writer{path: path, sync: true}
	if err := w.Process(nil, &kgo.Record{Value: []byte(`{}`)}); err == nil {
		t.Error("Process before open succeeded")
	}
	if err := w.open(); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{`{"n":1}`, `{"n":2}`} {
		if err := w.Process(nil, &kgo.Record{Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Errorf("lines reached the file before Flush: %q", b)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "{\"n\":1}\n{\"n\":2}\n" {
		t.Errorf("file = %q", b)
	}
	w.close()
	// Reopened without truncate, it appends; with truncate, it starts over.
	w2 := &Writer{path: path}
	_ = w2.open()
	_ = w2.Process(nil, &kgo.Record{Value: []byte(`{"n":3}`)})
	_ = w2.Flush(context.Background())
	w2.close()
	if b, _ := os.ReadFile(path); strings.Count(string(b), "\n") != 3 {
		t.Errorf("append: %q", b)
	}
	w3 := &Writer{path: path, truncate: true}
	_ = w3.open()
	w3.close()
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Errorf("truncate: %q", b)
	}
}
