package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigilsec/vigil/broker"
	"github.com/vigilsec/vigil/connectors/sources/s3/s3test"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/streams/streamstest"
)

var (
	day1 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day2 = day1.AddDate(0, 0, 1)
	day3 = day1.AddDate(0, 0, 2)
)

func ctKey(account, region string, day time.Time, n int) string {
	return s3test.Layout(account, "CloudTrail", region, day,
		fmt.Sprintf("%s_CloudTrail_%s_%sT%02d05Z_%04dEXAMPLE.json.gz", account, region, day.Format("20060102"), n%24, n))
}

// TestPollCloudTrailExactlyOnce uploads the corpus's CloudTrail log files
// across accounts (an organization trail's too), regions and days, with
// digest files and other services' logs beside them, and checks that every
// event arrives once, with its provenance, and again once after restarts
// and new deliveries.
func TestPollCloudTrailExactlyOnce(t *testing.T) {
	e := newEnv(t)
	const bucket = "trail-bucket"
	e.srv.CreateBucket(t, bucket)
	files := testdata(t, "cloudtrail")
	names := sortedNames(files)
	var want []string
	n := 0
	for _, acct := range []string{"111122223333", "444455556666"} {
		for _, region := range []string{"eu-west-1", "us-east-1"} {
			for _, day := range []time.Time{day1, day2} {
				name := names[n%len(names)]
				want = append(want, e.put(bucket, ctKey(acct, region, day, n), files[name], "cloudtrail")...)
				n++
			}
		}
	}
	// An organization trail, and a file outside the layout.
	orgKey := "AWSLogs/o-exampleorgid/777788889999/CloudTrail/us-east-1/2026/01/01/777788889999_CloudTrail_us-east-1_20260101T0005Z_ORG.json.gz"
	want = append(want, e.put(bucket, orgKey, files[names[0]], "cloudtrail")...)
	want = append(want, e.put(bucket, "imported/2025-backfill.json", files[names[1]], "cloudtrail")...)
	// Skipped: digest files, in and out of the layout, and VPC flow logs.
	digest := []byte(`{"awsAccountId":"111122223333","digestStartTime":"2026-01-01T00:00:00Z","logFiles":[]}`)
	e.srv.Put(t, bucket, "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/01/01/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20260101T010000Z.json.gz", s3test.Gzip(digest))
	e.srv.Put(t, bucket, "imported/CloudTrail-Digest/x.json.gz", s3test.Gzip(digest))
	e.srv.Put(t, bucket, s3test.Layout("111122223333", "vpcflowlogs", "us-east-1", day1, "flow.log.gz"), s3test.Gzip([]byte("2 111122223333 eni-1 - - - - - - - 1 2 - NODATA\n")))

	reg := prometheus.NewRegistry()
	s := e.source("ct", e.config("cloudtrail", bucket), reg, nil)
	e.once(s)
	raw := e.names.Raw("cloudtrail")
	exactlyOnce(t, "first pass", e.origins(raw), want)
	if st := s.Stats(); st.ObjectsDone != int64(n+2) || st.ObjectsFound != st.ObjectsDone || st.Records != int64(len(want)) || st.Failed != 0 {
		t.Errorf("stats %+v, want %d objects and %d records", st, n+2, len(want))
	}
	if got := testutil.ToFloat64(s.metrics.Objects); got != float64(n+2) {
		t.Errorf("objects metric %v, want %d", got, n+2)
	}
	if got := testutil.ToFloat64(s.metrics.Records.WithLabelValues(raw)); got != float64(len(want)) {
		t.Errorf("records metric %v, want %d", got, len(want))
	}
	if got := testutil.CollectAndCount(s.metrics.Errors); got != 0 {
		t.Errorf("%d error kinds counted, want none", got)
	}

	// Provenance headers and keys: the account of the object's key (for
	// CloudTrail, every event's recipientAccountId), else the event's.
	for _, r := range streamstest.ReadCommitted(t, e.brokers, raw) {
		if streams.Header(r, streams.HeaderSource) != "cloudtrail" || streams.Header(r, streams.HeaderIngestTime) == "" {
			t.Fatalf("headers %v", r.Headers)
		}
		origin := streams.Header(r, streams.HeaderOrigin)
		if l, ok := ParseLayout(strings.TrimPrefix(origin, "s3://"+bucket+"/")); ok {
			if string(r.Key) != l.Account {
				t.Errorf("%s: key %q, want the account %s", origin, r.Key, l.Account)
			}
			continue
		}
		var ev struct {
			RecipientAccountID string `json:"recipientAccountId"`
			UserIdentity       struct {
				AccountID string `json:"accountId"`
			} `json:"userIdentity"`
		}
		_ = json.Unmarshal(r.Value, &ev)
		wantKey := ev.RecipientAccountID
		if wantKey == "" {
			wantKey = ev.UserIdentity.AccountID
		}
		if wantKey != "" && string(r.Key) != wantKey {
			t.Errorf("%s: key %q, want %q", streams.Header(r, streams.HeaderOrigin), r.Key, wantKey)
		}
	}

	// A restarted source publishes nothing again.
	s2 := e.source("ct", e.config("cloudtrail", bucket), nil, nil)
	e.once(s2)
	if st := s2.Stats(); st.ObjectsFound != 0 || st.Records != 0 {
		t.Errorf("a restart found %+v, want nothing", st)
	}
	// New deliveries, in known and new partitions, are published once.
	want = append(want, e.put(bucket, ctKey("111122223333", "us-east-1", day3, 90), files[names[2]], "cloudtrail")...)
	want = append(want, e.put(bucket, ctKey("111122223333", "ap-south-1", day3, 91), files[names[3]], "cloudtrail")...)
	want = append(want, e.put(bucket, ctKey("999988887777", "us-east-1", day3, 92), files[names[4]], "cloudtrail")...)
	s3 := e.source("ct", e.config("cloudtrail", bucket), nil, nil)
	e.once(s3)
	if st := s3.Stats(); st.ObjectsDone != 3 {
		t.Errorf("after new deliveries: %+v, want 3 objects", st)
	}
	exactlyOnce(t, "after new deliveries", e.origins(raw), want)

	// Progress keeps one listing position per partition, no object.
	for unit := range e.progress("ct") {
		if !strings.HasPrefix(unit, "list:") && !strings.HasPrefix(unit, "list-dir:") {
			t.Errorf("progress unit %q left behind", unit)
		}
	}
}

// TestPollResumesInsideObject stops a source in the middle of a large
// object and checks that the next one publishes the rest, once; with
// transactions of 200 records, and of 200 records' bytes.
func TestPollResumesInsideObject(t *testing.T) {
	t.Run("records", func(t *testing.T) { testResumeInside(t, func(c *Config) { c.CommitRecords = 200 }) })
	t.Run("bytes", func(t *testing.T) { testResumeInside(t, func(c *Config) { c.CommitBytes = 200 * lineBytes }) })
}

// lineBytes is the size of testResumeInside's events.
const lineBytes = 104

func testResumeInside(t *testing.T, limit func(*Config)) {
	e := newEnv(t)
	const bucket = "big"
	e.srv.CreateBucket(t, bucket)
	var lines bytes.Buffer
	for i := range 3000 {
		fmt.Fprintf(&lines, `{"eventVersion":"1.08","eventName":"GetObject","recipientAccountId":"111122223333","requestID":"%06d"}`+"\n", i)
	}
	if lines.Len() != 3000*(lineBytes+1) {
		t.Fatalf("events of %d bytes, want %d", lines.Len()/3000-1, lineBytes)
	}
	key := ctKey("111122223333", "us-east-1", day1, 1)
	want := e.put(bucket, key, lines.Bytes(), "cloudtrail")
	after := e.put(bucket, ctKey("111122223333", "us-east-1", day1, 2), lines.Bytes()[:1000], "cloudtrail")

	c := e.config("cloudtrail", bucket)
	limit(&c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var commits atomic.Int64
	s := e.source("big", c, nil, observer(func() {
		if commits.Add(1) == 3 {
			cancel()
		}
	}))
	if err := s.Once(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Once after cancel: %v", err)
	}
	got := e.origins(e.names.Raw("cloudtrail"))
	if len(got) < 600 || len(got) >= 3000 {
		t.Fatalf("%d records committed before the stop, want a part of the object", len(got))
	}
	var p ObjectProgress
	if err := json.Unmarshal(e.progress("big")[ObjectUnit(bucket, key)], &p); err != nil || p.Done || p.Records != int64(len(got)) {
		t.Fatalf("object progress %+v (%v), want %d records, not done", p, err, len(got))
	}

	s2 := e.source("big", c, nil, nil)
	e.once(s2)
	exactlyOnce(t, "after resuming", e.origins(e.names.Raw("cloudtrail")), append(want, after...))
}

type observer func()

func (o observer) Committed(string, map[string]int64, map[string]int64) { o() }

// TestPollSince starts each account and region at the since date.
func TestPollSince(t *testing.T) {
	e := newEnv(t)
	const bucket = "since"
	e.srv.CreateBucket(t, bucket)
	files := testdata(t, "cloudtrail")
	body := files[sortedNames(files)[0]]
	var want []string
	for i, day := range []time.Time{day1.AddDate(0, 0, -2), day1.AddDate(0, 0, -1), day1, day2} {
		for _, acct := range []string{"111122223333", "444455556666"} {
			o := e.put(bucket, ctKey(acct, "us-east-1", day, i), body, "cloudtrail")
			if !day.Before(day1) {
				want = append(want, o...)
			}
		}
	}
	// Outside the layout, the last-modified time counts: now.
	want = append(want, e.put(bucket, "imported/x.json", body, "cloudtrail")...)
	c := e.config("cloudtrail", bucket)
	c.Since = day1.Format(SinceLayout)
	e.once(e.source("since", c, nil, nil))
	exactlyOnce(t, "since "+c.Since, e.origins(e.names.Raw("cloudtrail")), want)

	c.Since = time.Now().AddDate(0, 0, 2).Format(SinceLayout)
	s := e.source("since-future", c, nil, nil)
	e.once(s)
	if st := s.Stats(); st.ObjectsFound != 0 {
		t.Errorf("since a future date found %d objects", st.ObjectsFound)
	}
}

// TestPollMalformedObjects: a bad gzip, a gzip stream cut short and a
// CloudTrail file cut inside a record are each reported with their key;
// what they hold before the damage is published, what cannot be delimited
// goes to the dead-letter topic, and the objects after them are published.
func TestPollMalformedObjects(t *testing.T) {
	e := newEnv(t)
	const bucket = "broken"
	e.srv.CreateBucket(t, bucket)
	files := testdata(t, "cloudtrail")
	names := sortedNames(files)
	acct, region := "111122223333", "us-east-1"

	var records bytes.Buffer
	records.WriteString(`{"Records":[`)
	for i := range 400 {
		if i > 0 {
			records.WriteString(",")
		}
		fmt.Fprintf(&records, `{"eventVersion":"1.08","eventName":"ListBuckets","recipientAccountId":"%s","requestID":"%06d","pad":"%s"}`, acct, i, strings.Repeat("x", 200))
	}
	records.WriteString("]}")

	badGzip := ctKey(acct, region, day1, 1)
	e.srv.Put(t, bucket, badGzip, []byte("\x1f\x8b\x08\x00garbage, not a deflate stream at all"))

	cutGzip := ctKey(acct, region, day1, 2)
	gz := gzipDefault(records.Bytes())
	e.srv.Put(t, bucket, cutGzip, gz[:len(gz)/2])

	cutJSON := ctKey(acct, region, day1, 3)
	full := files[names[6]] // two records
	cut := full[:bytes.LastIndex(full, []byte(`"eventTime"`))]
	e.srv.Put(t, bucket, cutJSON, s3test.Gzip(cut))

	good := e.put(bucket, ctKey(acct, region, day1, 4), files[names[0]], "cloudtrail")

	reg := prometheus.NewRegistry()
	s := e.source("broken", e.config("cloudtrail", bucket), reg, nil)
	e.once(s)

	raw := e.origins(e.names.Raw("cloudtrail"))
	byObject := map[string]int{}
	for _, o := range raw {
		byObject[o[:strings.LastIndex(o, ":")]]++
	}
	if byObject["s3://"+bucket+"/"+badGzip] != 0 {
		t.Errorf("records from a bad gzip: %d", byObject["s3://"+bucket+"/"+badGzip])
	}
	if n := byObject["s3://"+bucket+"/"+cutGzip]; n == 0 || n >= 400 {
		t.Errorf("%d records from the cut gzip stream, want those before the cut", n)
	}
	if n := byObject["s3://"+bucket+"/"+cutJSON]; n != 1 {
		t.Errorf("%d records from the cut CloudTrail file, want its first", n)
	}
	var rest []string
	for _, o := range raw {
		if strings.Contains(o, "_0004EXAMPLE") {
			rest = append(rest, o)
		}
	}
	exactlyOnce(t, "the object after the broken ones", rest, good)

	dlq := streamstest.ReadCommitted(t, e.brokers, e.names.DLQ())
	var dead []string
	for _, r := range dlq {
		dead = append(dead, streams.Header(r, streams.HeaderOrigin))
		if streams.Header(r, streams.HeaderError) == "" {
			t.Errorf("dead letter without an error: %v", r.Headers)
		}
	}
	wantDead := []string{
		fmt.Sprintf("s3://%s/%s:Records[%d]", bucket, cutGzip, byObject["s3://"+bucket+"/"+cutGzip]),
		fmt.Sprintf("s3://%s/%s:Records[1]", bucket, cutJSON),
	}
	exactlyOnce(t, "dead letters", dead, wantDead)
	if got := testutil.ToFloat64(s.metrics.Errors.WithLabelValues("decompress")); got != 2 {
		t.Errorf("decompress errors %v, want 2 (bad gzip, cut gzip)", got)
	}
	if got := testutil.ToFloat64(s.metrics.Errors.WithLabelValues("framing")); got != 2 {
		t.Errorf("framing errors %v, want 2", got)
	}
	if got := s.Stats().ObjectsDone; got != 4 {
		t.Errorf("%d objects done, want all 4", got)
	}
	// Done is done: nothing is read again.
	s2 := e.source("broken", e.config("cloudtrail", bucket), nil, nil)
	e.once(s2)
	if st := s2.Stats(); st.ObjectsFound != 0 {
		t.Errorf("the broken objects were listed again: %+v", st)
	}
}

func gzipDefault(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// TestPollVPCFlowAndGuardDuty publishes the corpus's VPC Flow Logs files
// (each record with its file's header line) and GuardDuty exports from one
// bucket, each source reading its own service's folders.
func TestPollVPCFlowAndGuardDuty(t *testing.T) {
	e := newEnv(t)
	const bucket = "central-logs"
	e.srv.CreateBucket(t, bucket)
	var wantFlow, wantGD []string
	headers := map[string]string{}
	for i, name := range sortedNames(testdata(t, "vpcflow")) {
		body := testdata(t, "vpcflow")[name]
		key := s3test.Layout("111122223333", "vpcflowlogs", "eu-west-1", day1,
			fmt.Sprintf("111122223333_vpcflowlogs_eu-west-1_fl-0123456789abcdef%d_20260101T00%02dZ_%s.log.gz", i, i*5, strings.TrimSuffix(name, ".log")))
		wantFlow = append(wantFlow, e.put(bucket, key, body, "vpcflow")...)
		headers["s3://"+bucket+"/"+key] = string(body[:bytes.IndexByte(body, '\n')])
	}
	for i, name := range sortedNames(testdata(t, "guardduty")) {
		key := s3test.Layout("111122223333", "GuardDuty", "eu-west-1", day1, fmt.Sprintf("0b1c2d3e-%04d-4f5a-8b9c-%s.jsonl.gz", i, strings.ReplaceAll(name, ".", "-")))
		wantGD = append(wantGD, e.put(bucket, key, testdata(t, "guardduty")[name], "guardduty")...)
	}
	if len(wantGD) != 6 {
		t.Fatalf("%d GuardDuty findings in testdata, want 6", len(wantGD))
	}
	c := e.config("vpcflow", bucket)
	c.Prefix = "AWSLogs/"
	e.once(e.source("flow", c, nil, nil))
	e.once(e.source("gd", e.config("guardduty", bucket), nil, nil))

	flow := streamstest.ReadCommitted(t, e.brokers, e.names.Raw("vpcflow"))
	var got []string
	for _, r := range flow {
		o := streams.Header(r, streams.HeaderOrigin)
		got = append(got, o)
		if h := streams.Header(r, streams.HeaderFileHeader); h != headers[o[:strings.LastIndex(o, ":")]] {
			t.Errorf("%s: file header %q", o, h)
		}
		if string(r.Key) != "111122223333" {
			t.Errorf("%s: key %q, want the account", o, r.Key)
		}
	}
	exactlyOnce(t, "vpcflow", got, wantFlow)
	exactlyOnce(t, "guardduty", e.origins(e.names.Raw("guardduty")), wantGD)
}

// TestDiscover finds the partitions of the log layouts and the prefixes
// outside them.
func TestDiscover(t *testing.T) {
	e := newEnv(t)
	const bucket = "layouts"
	e.srv.CreateBucket(t, bucket)
	for _, k := range []string{
		"top.json",
		"notes/a.json",
		"trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/01/a.json.gz",
		"trail/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/01/a.json.gz",
		"trail/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/01/01/a.json.gz",
		"trail/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/01/01/a.json.gz",
		"trail/AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/01/01/a.log.gz",
		"trail/AWSLogs/o-exampleorgid/444455556666/CloudTrail/ap-south-1/2026/01/01/a.json.gz",
		"trail/AWSLogs/odd/a.json",
		"flows/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=01/day=01/a.log.gz",
	} {
		e.srv.Put(t, bucket, k, []byte("{}"))
	}
	check := func(source, prefix string, want ...string) {
		t.Helper()
		c := e.config(source, bucket)
		c.Prefix = prefix
		s := e.source("d", c, nil, nil)
		if err := s.setup(context.Background()); err != nil {
			t.Fatal(err)
		}
		parts, err := s.discover(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range parts {
			got = append(got, p.unit(bucket))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s under %q:\n got %v\nwant %v", source, prefix, got, want)
		}
	}
	check("cloudtrail", "",
		"list-dir:layouts/", "list:layouts/flows/", "list:layouts/notes/", "list:layouts/trail/")
	check("cloudtrail", "trail/",
		"list:layouts/trail/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/",
		"list:layouts/trail/AWSLogs/111122223333/CloudTrail/eu-west-1/",
		"list:layouts/trail/AWSLogs/111122223333/CloudTrail/us-east-1/",
		"list:layouts/trail/AWSLogs/o-exampleorgid/444455556666/CloudTrail/ap-south-1/",
		"list:layouts/trail/AWSLogs/odd/")
	check("vpcflow", "flows/",
		"list:layouts/flows/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/")
	check("vpcflow", "trail/AWSLogs/111122223333/",
		"list:layouts/trail/AWSLogs/111122223333/vpcflowlogs/us-east-1/")
	check("cloudtrail", "trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/",
		"list:layouts/trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/")
}

// TestRunPolls runs the source as `vigil run` does: it publishes what
// arrives, poll after poll, and stops cleanly.
func TestRunPolls(t *testing.T) {
	e := newEnv(t)
	const bucket = "live"
	e.srv.CreateBucket(t, bucket)
	files := testdata(t, "cloudtrail")
	names := sortedNames(files)
	want := e.put(bucket, ctKey("111122223333", "us-east-1", day1, 1), files[names[0]], "cloudtrail")
	c := e.config("cloudtrail", bucket)
	c.PollInterval = 50 * time.Millisecond
	s := e.source("live", c, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	wait := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for s.Stats().Records < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d records after 60s, want %d", s.Stats().Records, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait(int64(len(want)))
	if !s.Ready() {
		t.Error("not ready while running")
	}
	want = append(want, e.put(bucket, ctKey("111122223333", "us-east-1", day1, 2), files[names[1]], "cloudtrail")...)
	wait(int64(len(want)))
	exactlyOnce(t, "live", e.origins(e.names.Raw("cloudtrail")), want)
}

// TestPollMissingBucket reports a bucket that cannot be listed, counts it,
// and fails a one-off pass.
func TestPollMissingBucket(t *testing.T) {
	e := newEnv(t)
	s := e.source("missing", e.config("cloudtrail", "no-such-bucket"), prometheus.NewRegistry(), nil)
	err := s.Once(context.Background())
	if err == nil || !strings.Contains(err.Error(), "could not be listed") {
		t.Fatalf("Once on a missing bucket: %v", err)
	}
	if got := testutil.ToFloat64(s.metrics.Errors.WithLabelValues("list")); got != 1 {
		t.Errorf("list errors %v, want 1", got)
	}
}

// TestPollGoesOnAfterAKafkaError: a transaction the broker fails to end
// does not stop poll mode: it opens a new writer and goes on from the
// committed progress, and every record is committed once.
func TestPollGoesOnAfterAKafkaError(t *testing.T) {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := newEnvOn(t, []string{b.Addr()})
	const bucket = "retry"
	e.srv.CreateBucket(t, bucket)
	files := testdata(t, "cloudtrail")
	body := files[sortedNames(files)[0]]
	var want []string
	for i := range 4 {
		want = append(want, e.put(bucket, ctKey("111122223333", "us-east-1", day1, i), body, "cloudtrail")...)
	}

	var failed atomic.Int32
	cl := b.Cluster()
	cl.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		failed.Add(1)
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = kerr.InvalidTxnState.Code
		return resp, nil, true
	})
	c := e.config("cloudtrail", bucket)
	c.PollInterval = 50 * time.Millisecond
	s := e.source("retry", c, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for s.Stats().ObjectsDone < 4 && time.Now().Before(deadline) {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("Run stopped: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if failed.Load() == 0 {
		t.Fatal("no transaction was failed")
	}
	exactlyOnce(t, "after a failed commit", e.origins(e.names.Raw("cloudtrail")), want)
}
