package file_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sources/file"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type obs struct{ produced map[string]int64 }

func (o *obs) Committed(_ string, _, produced map[string]int64) {
	for k, v := range produced {
		o.produced[k] += v
	}
}

func TestPublish(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A gzipped CloudTrail log file, as S3 delivers it.
	write("a.json.gz", gz(t, []byte(`{"Records":[{"eventName":"A","recipientAccountId":"111122223333"},{"eventName":"B","userIdentity":{"accountId":"444455556666"}}]}`)))
	// JSON lines with a blank line and a line that is not JSON.
	write("b.jsonl", []byte("{\"eventName\":\"C\",\"account\":\"777788889999\"}\n\nnot json\n"))
	// A value cut off at the end of the file.
	write("c.json", []byte(`{"Records":[{"eventName":"D"},{"eventName":"E","x":"`))
	// Gzip magic but a broken stream after the header: reported, skipped.
	bad := gz(t, bytes.Repeat([]byte(`{"eventName":"Z"}`+"\n"), 50))
	write("d.json.gz", append(bad[:20:20], bytes.Repeat([]byte{0xff}, 30)...))
	// Not matched by the pattern.
	write("ignored.txt", []byte("{}\n"))

	brokers := streamstest.Brokers(t)
	names := topics.Names{Prefix: streamstest.Prefix(t)}
	streamstest.CreateTopics(t, brokers, 3, names.Raw("cloudtrail"), names.DLQ())
	streamstest.CreateTopics(t, brokers, 1, names.Progress())
	reg := prometheus.NewRegistry()
	o := &obs{produced: map[string]int64{}}
	src, err := file.New(file.Config{Source: "cloudtrail", Paths: []string{filepath.Join(dir, "*.json*")}, Format: "auto", MaxRecordBytes: 1000},
		plugin.Deps{Name: "files", Kafka: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Topics: names, Registerer: reg, Observer: o})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}

	raw := streamstest.ReadCommitted(t, brokers, names.Raw("cloudtrail"))
	got := map[string]*kgo.Record{}
	for _, r := range raw {
		got[streams.Header(r, streams.HeaderOrigin)] = r
		if streams.Header(r, streams.HeaderSource) != "cloudtrail" || streams.Header(r, streams.HeaderIngestTime) == "" {
			t.Errorf("record %s lacks provenance headers: %v", r.Value, r.Headers)
		}
	}
	want := map[string]struct{ value, key string }{
		filepath.Join(dir, "a.json.gz") + ":Records[0]": {`{"eventName":"A","recipientAccountId":"111122223333"}`, "111122223333"},
		filepath.Join(dir, "a.json.gz") + ":Records[1]": {`{"eventName":"B","userIdentity":{"accountId":"444455556666"}}`, "444455556666"},
		filepath.Join(dir, "b.jsonl") + ":1":            {`{"eventName":"C","account":"777788889999"}`, "777788889999"},
		filepath.Join(dir, "b.jsonl") + ":3":            {`not json`, ""},
		filepath.Join(dir, "c.json") + ":Records[0]":    {`{"eventName":"D"}`, ""},
	}
	for origin, w := range want {
		r, ok := got[origin]
		if !ok {
			t.Errorf("no record from %s (got %d records)", origin, len(raw))
			continue
		}
		if string(r.Value) != w.value || string(r.Key) != w.key {
			t.Errorf("%s: value %s key %q, want %s key %q", origin, r.Value, r.Key, w.value, w.key)
		}
	}
	if len(raw) != len(want) {
		t.Errorf("got %d raw records, want %d", len(raw), len(want))
	}

	dead := streamstest.ReadCommitted(t, brokers, names.DLQ())
	if len(dead) != 1 {
		t.Fatalf("got %d dead letters, want 1", len(dead))
	}
	if o := streams.Header(dead[0], streams.HeaderOrigin); o != filepath.Join(dir, "c.json")+":Records[1]" ||
		!strings.Contains(streams.Header(dead[0], streams.HeaderError), "input ends inside a JSON value") {
		t.Errorf("dead letter: origin %q, error %q", o, streams.Header(dead[0], streams.HeaderError))
	}
	if o.produced[names.Raw("cloudtrail")] != int64(len(want)) || o.produced[names.DLQ()] != 1 {
		t.Errorf("observer saw %v", o.produced)
	}
	if n := testutil.CollectAndCount(reg, "vigil_source_errors_total"); n != 2 {
		t.Errorf("error kinds counted: %d, want read and framing", n)
	}
	if v := testutil.ToFloat64(counterWith(t, reg, "vigil_source_objects_total")); v != 3 {
		t.Errorf("files read: %v, want 3 (the broken gzip is not counted)", v)
	}
	if v := testutil.ToFloat64(counterWith(t, reg, "vigil_source_object_bytes_total")); v == 0 {
		t.Errorf("no object bytes counted")
	}

	// A second run over the same files publishes nothing: the progress
	// committed with the records says every file was read.
	src, err = file.New(file.Config{Source: "cloudtrail", Paths: []string{filepath.Join(dir, "*.json*")}, Format: "auto", MaxRecordBytes: 1000},
		plugin.Deps{Name: "files", Kafka: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Topics: names})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Run(context.Background()); err != nil {
		t.Fatalf("second Run: %v", err)
	}
	if again := streamstest.ReadCommitted(t, brokers, names.Raw("cloudtrail")); len(again) != len(raw) {
		t.Errorf("a second run over the same files: %d raw records, want %d", len(again), len(raw))
	}
	if again := streamstest.ReadCommitted(t, brokers, names.DLQ()); len(again) != 1 {
		t.Errorf("a second run over the same files: %d dead letters, want 1", len(again))
	}
}

func counterWith(t *testing.T, g prometheus.Gatherer, name string) prometheus.Collector {
	t.Helper()
	mfs, _ := g.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x", Help: "x"})
			for _, m := range mf.GetMetric() {
				c.Add(m.GetCounter().GetValue() + m.GetGauge().GetValue())
			}
			return c
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

func TestOversizeEventGoesToDLQ(t *testing.T) {
	dir := t.TempDir()
	big := `{"eventName":"big","pad":"` + strings.Repeat("x", 5000) + `"}`
	if err := os.WriteFile(filepath.Join(dir, "big.jsonl"), []byte(big+"\n"+`{"eventName":"small"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	brokers := streamstest.Brokers(t)
	names := topics.Names{Prefix: streamstest.Prefix(t)}
	streamstest.CreateTopics(t, brokers, 1, names.Raw("cloudtrail"), names.DLQ(), names.Progress())
	src, err := file.New(file.Config{Source: "cloudtrail", Paths: []string{filepath.Join(dir, "*")}, Format: "lines", MaxRecordBytes: 2000},
		plugin.Deps{Name: "files", Kafka: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Topics: names})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw := streamstest.ReadCommitted(t, brokers, names.Raw("cloudtrail"))
	dead := streamstest.ReadCommitted(t, brokers, names.DLQ())
	if len(raw) != 1 || string(raw[0].Value) != `{"eventName":"small"}` {
		t.Errorf("raw: %d records", len(raw))
	}
	if len(dead) != 1 || len(dead[0].Value) != 1024 || !strings.Contains(streams.Header(dead[0], streams.HeaderError), "larger than the limit") {
		t.Errorf("dead letter of the oversize event: %d records", len(dead))
	}
}

func TestConfigValidate(t *testing.T) {
	c := file.Config{Format: "xml", MaxRecordBytes: 0, Paths: []string{"[bad"}}
	errs := c.Validate()
	var all []string
	for _, e := range errs {
		all = append(all, e.Error())
	}
	c = file.Config{Source: "x", Paths: []string{"a"}, Format: "auto", MaxRecordBytes: 1, Start: "end", PollInterval: -1}
	for _, e := range c.Validate() {
		all = append(all, e.Error())
	}
	c = file.Config{Source: "x", Paths: []string{"a"}, Format: "auto", MaxRecordBytes: 1, Start: "middle", Follow: true}
	for _, e := range c.Validate() {
		all = append(all, e.Error())
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{"source must name", "bad pattern", `format "xml"`, "max_record_bytes (0)",
		"start: end needs follow: true", "poll_interval (-1ns) must not be negative", `start "middle" must be beginning or end`} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems lack %q:\n%s", want, joined)
		}
	}
}

// TestHeaderLines covers the file header: CSV files (by name) and VPC Flow
// Logs files send their first line with every record, and as a record of
// its own; a quoted line break in CSV continues the record; header_line
// overrides the default.
func TestHeaderLines(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	csvPath := write("prowler.csv.gz", gz(t, []byte("AUTH_METHOD;CHECK_ID;REMEDIATION\r\nprofile;iam_root_mfa;\"Enable MFA:\r\n1. Sign in\r\n2. Add a device\"\r\nprofile;s3_x;none\r\n")))
	flowPath := write("flow.log", []byte("version account-id action\n2 111122223333 ACCEPT\n"))
	plainPath := write("plain.log", []byte("version account-id action\n2 111122223333 REJECT\n"))

	brokers := streamstest.Brokers(t)
	names := topics.Names{Prefix: streamstest.Prefix(t)}
	streamstest.CreateTopics(t, brokers, 1, names.Raw("prowler"), names.Raw("vpcflow"), names.Raw("other"), names.DLQ(), names.Progress())
	no := false
	for i, cfg := range []file.Config{
		{Source: "prowler", Paths: []string{csvPath}, Format: "auto"},
		{Source: "vpcflow", Paths: []string{flowPath}, Format: "auto"},
		{Source: "other", Paths: []string{plainPath}, Format: "auto"},
		{Source: "other", Paths: []string{flowPath}, Format: "auto", HeaderLine: &no},
	} {
		// A source of its own each: flow.log is read twice.
		src, err := file.New(cfg, plugin.Deps{Name: fmt.Sprintf("files%d", i), Kafka: []kgo.Opt{kgo.SeedBrokers(brokers...)}, Topics: names})
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	type rec struct{ value, origin, header string }
	read := func(topic string) []rec {
		var out []rec
		for _, r := range streamstest.ReadCommitted(t, brokers, topic) {
			out = append(out, rec{string(r.Value), streams.Header(r, streams.HeaderOrigin), streams.Header(r, streams.HeaderFileHeader)})
		}
		return out
	}
	csvHeader := "AUTH_METHOD;CHECK_ID;REMEDIATION"
	check := func(topic string, want []rec) {
		t.Helper()
		got := read(topic)
		if len(got) != len(want) {
			t.Fatalf("%s: %d records %q, want %d", topic, len(got), got, len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s record %d = %q, want %q", topic, i, got[i], want[i])
			}
		}
	}
	check(names.Raw("prowler"), []rec{
		{csvHeader, csvPath + ":1", csvHeader},
		{"profile;iam_root_mfa;\"Enable MFA:\r\n1. Sign in\r\n2. Add a device\"", csvPath + ":2", csvHeader},
		{"profile;s3_x;none", csvPath + ":5", csvHeader},
	})
	check(names.Raw("vpcflow"), []rec{
		{"version account-id action", flowPath + ":1", "version account-id action"},
		{"2 111122223333 ACCEPT", flowPath + ":2", "version account-id action"},
	})
	check(names.Raw("other"), []rec{
		{"version account-id action", plainPath + ":1", ""},
		{"2 111122223333 REJECT", plainPath + ":2", ""},
		{"version account-id action", flowPath + ":1", ""},
		{"2 111122223333 ACCEPT", flowPath + ":2", ""},
	})
}
