package file_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigilsec/vigil/broker"
	"github.com/vigilsec/vigil/connectors/sources/file"
	"github.com/vigilsec/vigil/connectors/sources/ingest"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

// harness is a broker with the topics of one source, and a directory.
type harness struct {
	t       *testing.T
	brokers []string
	names   topics.Names
	dir     string
	raw     string
}

func newHarness(t *testing.T, partitions int32) *harness {
	t.Helper()
	return newHarnessOn(t, streamstest.Brokers(t), partitions)
}

func newHarnessOn(t *testing.T, brokers []string, partitions int32) *harness {
	t.Helper()
	h := &harness{t: t, brokers: brokers, names: topics.Names{Prefix: streamstest.Prefix(t)}, dir: t.TempDir()}
	h.raw = h.names.Raw("test")
	streamstest.CreateTopics(t, h.brokers, partitions, h.raw, h.names.DLQ())
	streamstest.CreateTopics(t, h.brokers, 1, h.names.Progress())
	return h
}

// ownBroker starts an embedded broker of the test's own, whose requests
// the test can answer itself (kfake's ControlKey), and a harness on it.
func ownBroker(t *testing.T) (*harness, *broker.Broker) {
	t.Helper()
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return newHarnessOn(t, []string{b.Addr()}, 1), b
}

func (h *harness) path(name string) string { return filepath.Join(h.dir, name) }

// followConfig follows name (a pattern in the directory) with short
// intervals.
func (h *harness) followConfig(patterns ...string) file.Config {
	c := file.Config{Source: "test", Format: "auto", Follow: true,
		PollInterval: 10 * time.Millisecond, CommitInterval: 30 * time.Millisecond, CloseInactive: 300 * time.Millisecond}
	for _, p := range patterns {
		c.Paths = append(c.Paths, h.path(p))
	}
	return c
}

// observer counts what a source committed, by topic.
type observer struct {
	mu       sync.Mutex
	produced map[string]int64
	commits  int
	onCommit func(produced map[string]int64)
}

func (o *observer) Committed(_ string, _, produced map[string]int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.produced == nil {
		o.produced = map[string]int64{}
	}
	for k, v := range produced {
		o.produced[k] += v
	}
	o.commits++
	if o.onCommit != nil {
		o.onCommit(o.produced)
	}
}

func (o *observer) count(topic string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.produced[topic]
}

// running is a source running in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
	obs    *observer
	reg    *prometheus.Registry
}

func (h *harness) start(name string, c file.Config) *running { return h.startStopAfter(name, c, 0) }

// startStopAfter starts a source that is stopped (its context cancelled)
// by the commit that brings the records it committed to stopAfter or more.
func (h *harness) startStopAfter(name string, c file.Config, stopAfter int64) *running {
	h.t.Helper()
	r := &running{done: make(chan error, 1), obs: &observer{}, reg: prometheus.NewRegistry()}
	src, err := file.New(c, plugin.Deps{Name: name, Kafka: []kgo.Opt{kgo.SeedBrokers(h.brokers...)}, Topics: h.names,
		Observer: r.obs, Registerer: r.reg})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if stopAfter > 0 {
		r.obs.onCommit = func(p map[string]int64) {
			if p[h.raw] >= stopAfter {
				cancel()
			}
		}
	}
	go func() { r.done <- src.Run(ctx) }()
	h.t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// stop stops the source and returns what Run returned.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the source did not stop")
		return nil
	}
}

// waitFor waits until the source has committed at least n records to
// topic.
func (r *running) waitFor(t *testing.T, topic string, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for r.obs.count(topic) < n {
		select {
		case err := <-r.done:
			r.done <- err
			if r.obs.count(topic) >= n {
				return
			}
			t.Fatalf("the source stopped (%v) with %d records committed, want %d", err, r.obs.count(topic), n)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records committed to %s, want %d", r.obs.count(topic), topic, n)
		}
	}
}

// waitCommits waits until the source has committed n transactions.
func waitCommits(t *testing.T, r *running, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.obs.mu.Lock()
		c := r.obs.commits
		r.obs.mu.Unlock()
		if c >= n {
			return
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("the source stopped (%v) after %d commits, want %d", err, c, n)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d commits, want %d (the source is still running)", c, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type rec struct{ value, origin string }

func (h *harness) records() []rec {
	h.t.Helper()
	var out []rec
	for _, r := range streamstest.ReadCommitted(h.t, h.brokers, h.raw) {
		if streams.Header(r, streams.HeaderSource) != "test" || streams.Header(r, streams.HeaderIngestTime) == "" {
			h.t.Errorf("record %s lacks provenance headers: %v", r.Value, r.Headers)
		}
		out = append(out, rec{string(r.Value), streams.Header(r, streams.HeaderOrigin)})
	}
	return out
}

// expect checks the records, in order (the raw topic has one partition).
func (h *harness) expect(want ...rec) {
	h.t.Helper()
	got := h.records()
	if !slices.Equal(got, want) {
		h.t.Errorf("records:\n%s\nwant:\n%s", fmtRecs(got), fmtRecs(want))
	}
}

func fmtRecs(rs []rec) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  %-40s %s\n", r.origin, r.value)
	}
	return b.String()
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// lines returns JSON lines {"n":from}..{"n":to}.
func lines(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "{\"n\":%d}\n", i)
	}
	return b.String()
}

// recs returns the records of lines(from, to) at path, which starts at
// line firstLine.
func recs(path string, from, to, firstLine int) []rec {
	var out []rec
	for i := from; i <= to; i++ {
		out = append(out, rec{fmt.Sprintf(`{"n":%d}`, i), fmt.Sprintf("%s:%d", path, firstLine+i-from)})
	}
	return out
}

// TestFollowAppends: lines appended to a followed file are published; a
// partial last line waits for its end; a file that appears later is read
// from its beginning.
func TestFollowAppends(t *testing.T) {
	h := newHarness(t, 1)
	app := h.path("app.log")
	appendFile(t, app, lines(1, 3))
	r := h.start("follow", h.followConfig("*.log"))
	r.waitFor(t, h.raw, 3)

	appendFile(t, app, lines(4, 5)+`{"n":`)
	r.waitFor(t, h.raw, 5)
	appendFile(t, app, "6}\n"+lines(7, 7))
	r.waitFor(t, h.raw, 7)

	other := h.path("other.log")
	appendFile(t, other, "\n"+lines(1, 2))
	r.waitFor(t, h.raw, 9)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	h.expect(append(recs(app, 1, 7, 1), recs(other, 1, 2, 2)...)...)
}

// TestRotationByRename: a file renamed away from the pattern while being
// written is read to its end through the handle kept open (its last line
// published without a line end once it is inactive); the new file at the
// path is read from its beginning. With a pattern that matches the rotated
// name, the old file is followed under it.
func TestRotationByRename(t *testing.T) {
	for _, tc := range []struct {
		name, pattern string
		matched       bool
	}{{"rotated name unmatched", "app.log", false}, {"rotated name matched", "app.log*", true}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 1)
			app, rotated := h.path("app.log"), h.path("app.log.1")
			old, err := os.Create(app)
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			write := func(f *os.File, s string) {
				if _, err := f.WriteString(s); err != nil {
					t.Fatal(err)
				}
			}
			write(old, lines(1, 3))
			r := h.start("rotate", h.followConfig(tc.pattern))
			r.waitFor(t, h.raw, 3)

			// The logger rotates: rename, and it writes once more to the
			// file it has open before opening the new one.
			if err := os.Rename(app, rotated); err != nil {
				t.Fatal(err)
			}
			if tc.matched {
				// Once the source has seen the rename (it commits the
				// file's progress under the new name), what is written
				// to the file is read under that name.
				waitCommits(t, r, 2)
			}
			write(old, lines(4, 4))
			cur, err := os.Create(app)
			if err != nil {
				t.Fatal(err)
			}
			defer cur.Close()
			write(cur, lines(101, 102))
			write(old, lines(5, 5)+`{"n":6}`) // the last line has no end
			total := int64(8)
			if tc.matched {
				total = 7 // {"n":6} waits for its line end
			}
			r.waitFor(t, h.raw, total)
			write(cur, lines(103, 103))
			r.waitFor(t, h.raw, total+1)
			if err := r.stop(t); err != nil {
				t.Fatal(err)
			}

			got := h.records()
			var want []rec
			if tc.matched {
				// Followed under its new name; its partial last line
				// waits for an end that may still come.
				want = append(recs(app, 1, 3, 1), recs(rotated, 4, 5, 4)...)
				want = append(want, recs(app, 101, 103, 1)...)
			} else {
				// Read to its end, last line included, under the name
				// it was read by.
				want = append(recs(app, 1, 6, 1), recs(app, 101, 103, 1)...)
			}
			slices.SortFunc(got, func(a, b rec) int { return strings.Compare(a.value, b.value) })
			slices.SortFunc(want, func(a, b rec) int { return strings.Compare(a.value, b.value) })
			if !slices.Equal(got, want) {
				t.Errorf("records:\n%s\nwant:\n%s", fmtRecs(got), fmtRecs(want))
			}

			// What stays in the progress topic: the files still there.
			p, err := ingest.ReadProgress(context.Background(), []kgo.Opt{kgo.SeedBrokers(h.brokers...)}, h.names, "rotate")
			if err != nil {
				t.Fatal(err)
			}
			paths := map[string]int64{}
			for _, v := range p {
				pr, err := file.ParseProgress(v)
				if err != nil {
					t.Fatal(err)
				}
				paths[pr.Path] = pr.Offset
			}
			want2 := map[string]int64{app: int64(len(lines(101, 103)))}
			if tc.matched {
				want2[rotated] = int64(len(lines(1, 5)))
			}
			if fmt.Sprint(paths) != fmt.Sprint(want2) {
				t.Errorf("progress of %v, want %v", paths, want2)
			}
		})
	}
}

// TestTruncation: a file that shrinks below what was read is read again
// from its beginning; so is one rewritten from its beginning, even if it
// grew past the offset by the time it is looked at.
func TestTruncation(t *testing.T) {
	h := newHarness(t, 1)
	app := h.path("app.log")
	appendFile(t, app, lines(1, 5))
	r := h.start("trunc", h.followConfig("app.log"))
	r.waitFor(t, h.raw, 5)

	if err := os.Truncate(app, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, app, lines(11, 12))
	r.waitFor(t, h.raw, 7)

	// Rewritten in place, longer than before.
	if err := os.WriteFile(app, []byte(lines(21, 30)), 0o644); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, h.raw, 17)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	h.expect(slices.Concat(recs(app, 1, 5, 1), recs(app, 11, 12, 1), recs(app, 21, 30, 1))...)
}

// TestStartEnd: with start: end, files present at the first start are
// read from their end; files appearing later from their beginning; after a
// restart every file resumes from its progress, and files new since are
// read whole.
func TestStartEnd(t *testing.T) {
	h := newHarness(t, 1)
	app, later, whileDown := h.path("app.log"), h.path("later.log"), h.path("z.log")
	appendFile(t, app, lines(1, 3)+`{"n":`)
	c := h.followConfig("*.log")
	c.Start = file.StartEnd
	r := h.start("end", c)
	waitCommits(t, r, 1) // the positions at the end, then write
	appendFile(t, app, "4}\n"+lines(5, 5))
	appendFile(t, later, lines(1, 1))
	r.waitFor(t, h.raw, 3)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}

	appendFile(t, app, lines(6, 6))
	appendFile(t, whileDown, lines(1, 2))
	r = h.start("end", c)
	r.waitFor(t, h.raw, 3)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	// The line the end cut at the start is published once complete.
	h.expect(slices.Concat(recs(app, 4, 5, 4), recs(later, 1, 1, 1), recs(app, 6, 6, 6), recs(whileDown, 1, 2, 1))...)
}

// TestResume: a source stopped in the middle of a file (plain, gzip, a
// JSON array) and started again publishes every record once, with the
// right origins.
func TestResume(t *testing.T) {
	const n = 5000
	var arr strings.Builder
	arr.WriteString("[\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&arr, "  {\"n\":%d}", i)
		if i < n {
			arr.WriteString(",")
		}
		arr.WriteString("\n")
	}
	arr.WriteString("]\n")
	for _, tc := range []struct {
		name   string
		body   []byte
		origin func(path string, i int) string
	}{
		{"app.log", []byte(lines(1, n)), func(p string, i int) string { return fmt.Sprintf("%s:%d", p, i) }},
		{"app.log.gz", gz(t, []byte(lines(1, n))), func(p string, i int) string { return fmt.Sprintf("%s:%d", p, i) }},
		{"findings.json", []byte(arr.String()), func(p string, i int) string { return fmt.Sprintf("%s:[%d]", p, i-1) }},
	} {
		for _, follow := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s follow=%v", tc.name, follow), func(t *testing.T) {
				h := newHarness(t, 1)
				path := h.path(tc.name)
				if err := os.WriteFile(path, tc.body, 0o644); err != nil {
					t.Fatal(err)
				}
				old := time.Now().Add(-time.Hour) // a gzip file complete for long
				if err := os.Chtimes(path, old, old); err != nil {
					t.Fatal(err)
				}
				c := h.followConfig(tc.name)
				c.Follow, c.CommitRecords, c.CommitInterval = follow, 700, 30*time.Second
				// The first run is stopped by its second commit.
				r := h.startStopAfter("resume", c, 1400)
				select {
				case err := <-r.done:
					r.done <- err
				case <-time.After(30 * time.Second):
					t.Fatal("the first run was not stopped")
				}
				if err := r.stop(t); err != nil {
					t.Fatal(err)
				}
				first := r.obs.count(h.raw)
				if first >= n {
					t.Fatalf("the first run read all %d records before it was stopped", first)
				}
				c.CommitInterval = 30 * time.Millisecond
				r = h.start("resume", c)
				r.waitFor(t, h.raw, n-first)
				if err := r.stop(t); err != nil {
					t.Fatal(err)
				}
				got := h.records()
				if len(got) != n {
					t.Errorf("%d records, want %d (%d in the first run)", len(got), n, first)
				}
				for i, g := range got {
					if w := (rec{fmt.Sprintf(`{"n":%d}`, i+1), tc.origin(path, i+1)}); g != w {
						t.Fatalf("record %d is %v, want %v (%d in the first run)", i, g, w, first)
					}
				}
			})
		}
	}
}

// TestTakeOver: a source that starts while another instance of it is in
// the middle of a transaction fences it: the transaction is aborted, the
// new instance resumes from the last commit, and the old one stops with
// ErrFenced at its next commit. Nothing is lost or doubled.
func TestTakeOver(t *testing.T) {
	h := newHarness(t, 1)
	app := h.path("app.log")
	appendFile(t, app, lines(1, 1050))
	c := h.followConfig("app.log")
	c.CommitRecords, c.CommitInterval = 100, 30*time.Second
	a := h.start("takeover", c)
	a.waitFor(t, h.raw, 1000)
	// a has 50 records in an open transaction that will never commit.
	time.Sleep(50 * time.Millisecond)

	c.CommitInterval = 30 * time.Millisecond
	b := h.start("takeover", c)
	b.waitFor(t, h.raw, 50)
	appendFile(t, app, lines(1051, 1100))
	b.waitFor(t, h.raw, 100)

	select {
	case err := <-a.done:
		a.done <- err
		if !errors.Is(err, file.ErrFenced) {
			t.Errorf("the fenced source stopped with %v, want ErrFenced", err)
		}
		t.Logf("the fenced source stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Error("the fenced source did not stop")
	}
	if err := b.stop(t); err != nil {
		t.Fatal(err)
	}
	h.expect(recs(app, 1, 1100, 1)...)
}

// TestProwlerArray: Prowler's JSON-OCSF output, a pretty-printed array,
// read once: one record per finding, byte for byte; and an array file
// that grows while followed.
func TestProwlerArray(t *testing.T) {
	h := newHarness(t, 1)
	body, err := os.ReadFile("../../../testdata/corpus/prowler/examples/output/example_output_aws.ocsf.json")
	if err != nil {
		t.Fatal(err)
	}
	var findings []json.RawMessage
	if err := json.Unmarshal(body, &findings); err != nil {
		t.Fatal(err)
	}
	path := h.path("prowler-output-123456789012.ocsf.json")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	c := file.Config{Source: "test", Paths: []string{path}}
	src, err := file.New(c, plugin.Deps{Name: "prowler", Kafka: []kgo.Opt{kgo.SeedBrokers(h.brokers...)}, Topics: h.names})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var want []rec
	for i, f := range findings {
		want = append(want, rec{string(f), fmt.Sprintf("%s:[%d]", path, i)})
	}
	h.expect(want...)

	// Growing: the array is written element by element.
	grow := h.path("growing.json")
	appendFile(t, grow, "[\n  {\"n\":1},\n  {\"n\":")
	r := h.start("grow", h.followConfig("growing.json"))
	r.waitFor(t, h.raw, 1)
	appendFile(t, grow, "2},\n")
	r.waitFor(t, h.raw, 2)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	// Resumed inside the array.
	appendFile(t, grow, "  {\"n\":3}\n]\n")
	r = h.start("grow", h.followConfig("growing.json"))
	r.waitFor(t, h.raw, 1)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	want = append(want, rec{`{"n":1}`, grow + ":[0]"}, rec{`{"n":2}`, grow + ":[1]"}, rec{`{"n":3}`, grow + ":[2]"})
	h.expect(want...)
	if dead := streamstest.ReadCommitted(t, h.brokers, h.names.DLQ()); len(dead) != 0 {
		t.Errorf("%d dead letters", len(dead))
	}
}

// TestFollowGzip: gzip files appearing in a followed directory are read
// once, when complete; a second file, and one that grows (another gzip
// member appended), publish only what is new.
func TestFollowGzip(t *testing.T) {
	h := newHarness(t, 1)
	a, b := h.path("a.log.gz"), h.path("b.log.gz")
	if err := os.WriteFile(a, gz(t, []byte(lines(1, 3))), 0o644); err != nil {
		t.Fatal(err)
	}
	c := h.followConfig("*.gz")
	r := h.start("gz", c)
	r.waitFor(t, h.raw, 3)
	if err := os.WriteFile(b, gz(t, []byte(lines(1, 2))), 0o644); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, h.raw, 5)
	f, err := os.OpenFile(a, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(gz(t, []byte(lines(4, 4)))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r.waitFor(t, h.raw, 6)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	h.expect(slices.Concat(recs(a, 1, 3, 1), recs(b, 1, 2, 1), recs(a, 4, 4, 4))...)
	// Each read to its end counts, a.log.gz twice.
	if v := testutil.ToFloat64(counterWith(t, r.reg, "vigil_source_objects_total")); v != 3 {
		t.Errorf("objects read: %v, want 3", v)
	}
	if v := testutil.ToFloat64(counterWith(t, r.reg, "vigil_source_newest_object_age_seconds")); v <= 0 {
		t.Errorf("newest object age %v", v)
	}
}

// TestFollowHeaderAndCSV: a followed CSV file whose quoted field spans
// writes publishes the record once it is closed; the header line goes with
// records read after a restart too.
func TestFollowHeaderAndCSV(t *testing.T) {
	h := newHarness(t, 1)
	path := h.path("findings.csv")
	appendFile(t, path, "ID;NOTE\n1;\"first\n")
	c := h.followConfig("*.csv")
	r := h.start("csv", c)
	r.waitFor(t, h.raw, 1) // the header line, published as a record too
	appendFile(t, path, "line\"\n2;second\n3;\"th")
	r.waitFor(t, h.raw, 3)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "ird\"\n")
	r = h.start("csv", c)
	r.waitFor(t, h.raw, 1)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	h.expect(rec{"ID;NOTE", path + ":1"}, rec{"1;\"first\nline\"", path + ":2"}, rec{"2;second", path + ":4"}, rec{"3;\"third\"", path + ":5"})
	for _, r := range streamstest.ReadCommitted(t, h.brokers, h.raw) {
		if got := streams.Header(r, streams.HeaderFileHeader); got != "ID;NOTE" {
			t.Errorf("record %q has file header %q", r.Value, got)
		}
	}
}

// TestFollowGoesOnAfterAKafkaError: a transaction the broker fails to end
// (INVALID_TXN_STATE here; the embedded broker answers a produce with
// OUT_OF_ORDER_SEQUENCE_NUMBER now and then under load) does not stop the
// source: it opens a new producer and goes on from the last commit, and
// every line is committed once.
func TestFollowGoesOnAfterAKafkaError(t *testing.T) {
	h, b := ownBroker(t)

	app := h.path("app.log")
	appendFile(t, app, lines(1, 3))
	r := h.start("retry", h.followConfig("*.log"))
	r.waitFor(t, h.raw, 3)

	cl := b.Cluster()
	var refused atomic.Int32
	cl.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		refused.Add(1)
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = kerr.InvalidTxnState.Code
		return resp, nil, true
	})
	appendFile(t, app, lines(4, 6))
	r.waitFor(t, h.raw, 6)
	appendFile(t, app, lines(7, 7))
	r.waitFor(t, h.raw, 7)
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if refused.Load() == 0 {
		t.Fatal("no transaction was failed")
	}
	h.expect(recs(app, 1, 7, 1)...)
}

// TestOnceGoesOnAfterAKafkaError: reading once, a transaction the broker
// fails to end does not end the run either (up to ingest.OnceRetries in a
// row): a new producer goes on from the last commit, and the run returns
// with every line committed once.
func TestOnceGoesOnAfterAKafkaError(t *testing.T) {
	h, b := ownBroker(t)
	app := h.path("app.log")
	appendFile(t, app, lines(1, 50))

	var refused atomic.Int32
	b.Cluster().ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if refused.Add(1) > 1 {
			return nil, nil, false // only the first
		}
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = kerr.InvalidTxnState.Code
		return resp, nil, true
	})
	c := h.followConfig("*.log")
	c.Follow, c.CommitRecords = false, 20
	r := h.start("once-retry", c)
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the source did not finish")
	}
	if refused.Load() == 0 {
		t.Fatal("no transaction was failed")
	}
	h.expect(recs(app, 1, 50, 1)...)
}

// TestProgressRecordsDetectedFormat: a commit in the middle of a file whose
// format is detected (a JSON array) records the format with the position
// inside the array, so that a run resumed from that commit alone reads on
// as an array rather than detecting a format from the middle of the file.
func TestProgressRecordsDetectedFormat(t *testing.T) {
	const n = 3000
	var arr strings.Builder
	arr.WriteString("[\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&arr, "  {\"n\":%d},\n", i)
	}
	arr.WriteString("  {\"n\":0}\n]\n")
	for _, follow := range []bool{false, true} {
		t.Run(fmt.Sprintf("follow=%v", follow), func(t *testing.T) {
			h := newHarness(t, 1)
			if err := os.WriteFile(h.path("findings.json"), []byte(arr.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			c := h.followConfig("findings.json")
			c.Follow, c.CommitRecords, c.CommitInterval = follow, 500, 30*time.Second
			var first *file.Progress
			var readErr error
			r := h.start("format", c)
			var once sync.Once
			r.obs.mu.Lock()
			r.obs.onCommit = func(map[string]int64) {
				// The first commit, while the file is being read.
				once.Do(func() {
					p, err := ingest.ReadProgress(context.Background(), []kgo.Opt{kgo.SeedBrokers(h.brokers...)}, h.names, "format")
					if err != nil {
						readErr = err
						return
					}
					for _, v := range p {
						if first, readErr = file.ParseProgress(v); readErr != nil {
							return
						}
					}
				})
			}
			r.obs.mu.Unlock()
			waitCommits(t, r, 1)
			if err := r.stop(t); err != nil {
				t.Fatal(err)
			}
			if readErr != nil || first == nil {
				t.Fatalf("progress after the first commit: %v, %v", first, readErr)
			}
			if !first.InArray || first.Offset == 0 || first.Format != "array" {
				t.Errorf("progress after the first commit: offset %d, in array %v, format %q; want inside the array, format array",
					first.Offset, first.InArray, first.Format)
			}
		})
	}
}
