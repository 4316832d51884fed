package s3

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vigilsec/vigil/connectors/sources/ingest"
)

// partition is a prefix that poll mode lists in key order, remembering the
// last key it published.
type partition struct {
	prefix string
	// direct lists only the objects directly in prefix (delimiter "/"):
	// those next to the folders that discovery walks into.
	direct bool
	// layout is the prefix's place in AWS's log layout, when it is at or
	// below a region folder.
	layout   Layout
	inLayout bool
}

// unit is the partition's progress unit. Bucket names hold no colon, so
// it cannot be an object's (bucket/key).
func (p partition) unit(bucket string) string {
	if p.direct {
		return "list-dir:" + bucket + "/" + p.prefix
	}
	return "list:" + bucket + "/" + p.prefix
}

// listProgress is a partition's progress: the last key published.
type listProgress struct {
	Last string `json:"last"`
}

func (p listProgress) encode() []byte {
	b, _ := json.Marshal(p)
	return b
}

// runPoll polls with w until ctx is done or Kafka fails.
func (s *Source) runPoll(ctx context.Context, w *ingest.Writer) error {
	s.log.Info("polling", "bucket", s.cfg.Bucket, "prefix", s.cfg.Prefix, "since", s.cfg.Since, "interval", s.cfg.PollInterval)
	for {
		if err := s.pass(ctx, w); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("s3 source: %w", err)
		}
		t := time.NewTimer(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Once lists the bucket once, as poll mode does, and publishes every
// object not published yet, then returns: a one-off backfill. It returns
// an error if some prefix could not be listed or some object could not be
// read (running it again resumes), or if Kafka failed ingest.OnceRetries
// times in a row.
func (s *Source) Once(ctx context.Context) error {
	if s.cfg.Mode != ModePoll {
		return errors.New("s3 source: Once needs poll mode")
	}
	if err := s.setup(ctx); err != nil {
		return err
	}
	before := s.stats.failed.Load()
	err := ingest.KeepGoing(ctx, ingest.FromDeps(s.deps), ingest.OnceRetries, &s.ready, s.pass)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("s3 source: %w", err)
	}
	if n := s.stats.failed.Load() - before; n > 0 {
		return fmt.Errorf("s3 source: %d prefixes could not be listed or read to the end; run again to resume", n)
	}
	return nil
}

type listed struct {
	part int
	ref  ObjectRef
	err  error
}

// queued is a listed object, opened (being read ahead), or a listing
// error.
type queued struct {
	listed
	o *opened // nil for an error
}

// close gives the object up, if it was opened.
func (q queued) close() {
	if q.o != nil {
		q.o.close()
	}
}

// pass lists every partition once and publishes what is new. It returns
// an error only when Kafka failed or ctx is done; S3 errors are reported
// and counted, and the partitions they hit are tried again next time.
func (s *Source) pass(ctx context.Context, w *ingest.Writer) error {
	s.stats.listing.Store(true)
	parts, err := s.discover(ctx)
	if err != nil {
		s.stats.listing.Store(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.metrics.Errors.WithLabelValues("list").Inc()
		s.stats.failed.Add(1)
		s.log.Error("cannot list the bucket; it will be tried again", "bucket", s.cfg.Bucket, "prefix", s.cfg.Prefix, "err", err)
		return nil
	}
	// Where each partition's listing starts is read before the lister
	// runs: the writer's progress is the publisher's.
	starts := make([]string, len(parts))
	for i, p := range parts {
		starts[i] = s.startAfter(w, p)
	}
	items := make(chan listed, 1000)
	lctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(items)
		defer s.stats.listing.Store(false)
		for i, p := range parts {
			if err := s.list(lctx, i, p, starts[i], items); err != nil {
				select {
				case items <- listed{part: i, err: err}:
				case <-lctx.Done():
					return
				}
			}
		}
	}()
	// Objects are fetched and read ahead of the one being published, up
	// to FetchAhead of them, and published in listing order. Their
	// committed progress is read from a copy: the publisher changes the
	// writer's, but only for objects it has taken off the queue.
	prev := map[string][]byte{}
	for _, u := range w.Units() {
		if !strings.HasPrefix(u, "list:") && !strings.HasPrefix(u, "list-dir:") {
			prev[u] = w.Progress(u)
		}
	}
	queue := make(chan queued, s.cfg.FetchAhead-1)
	go func() {
		defer close(queue)
		for it := range items {
			q := queued{listed: it}
			if it.err == nil {
				q.o = s.open(lctx, it.ref, prev[ObjectUnit(it.ref.Bucket, it.ref.Key)])
			}
			select {
			case queue <- q:
			case <-lctx.Done():
				q.close()
				return
			}
		}
	}()
	defer func() {
		cancel()
		for q := range queue {
			q.close()
		}
	}()

	pctx := context.WithoutCancel(ctx)
	// Objects share transactions: one is committed when it holds
	// CommitRecords records, is old, or nothing listed is waiting.
	t := &tx{w: w}
	stop := func() error {
		if err := s.commit(ctx, t); err != nil {
			return err
		}
		return ctx.Err()
	}
	failed := map[int]bool{}
	for {
		var q queued
		var ok bool
		select {
		case q, ok = <-queue:
		default:
			if err := s.commit(ctx, t); err != nil {
				return err
			}
			q, ok = <-queue
		}
		if !ok {
			break
		}
		it := q.listed
		if failed[it.part] {
			q.close()
			continue
		}
		p := parts[it.part]
		if it.err != nil {
			if ctx.Err() != nil {
				return stop()
			}
			failed[it.part] = true
			s.metrics.Errors.WithLabelValues("list").Inc()
			s.stats.failed.Add(1)
			s.log.Error("cannot list prefix; it will be tried again", "bucket", s.cfg.Bucket, "prefix", p.prefix, "err", it.err)
			continue
		}
		ref := it.ref
		final := func() {
			w.SetProgress(pctx, p.unit(ref.Bucket), listProgress{Last: ref.Key}.encode())
			// The listing position covers the object from now on.
			if w.Progress(ObjectUnit(ref.Bucket, ref.Key)) != nil {
				w.SetProgress(pctx, ObjectUnit(ref.Bucket, ref.Key), nil)
			}
		}
		err := s.publish(ctx, t, q.o, final)
		q.close()
		if err != nil {
			if ctx.Err() != nil {
				return stop()
			}
			if IsRetryable(err) {
				failed[it.part] = true
				s.stats.failed.Add(1)
				continue
			}
			return err
		}
		if t.open && (s.full(t) || time.Since(t.opened) >= s.maxTxnAge()) {
			if err := s.commit(ctx, t); err != nil {
				return err
			}
		}
	}
	return stop()
}

// startAfter is where a partition's listing starts: after the last key
// published, and with Since not before that day's folder.
func (s *Source) startAfter(w *ingest.Writer, p partition) string {
	var after string
	var lp listProgress
	if b := w.Progress(p.unit(s.cfg.Bucket)); b != nil && json.Unmarshal(b, &lp) == nil {
		after = lp.Last
	}
	if !s.since.IsZero() && p.inLayout && p.layout.Partition != "" {
		if d := p.layout.DatePrefix(s.since); d > after {
			after = d
		}
	}
	return after
}

// list lists a partition from startAfter and sends the objects to publish.
func (s *Source) list(ctx context.Context, part int, p partition, startAfter string, out chan<- listed) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(p.prefix)}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	if p.direct {
		in.Delimiter = aws.String("/")
	}
	pages := s3.NewListObjectsV2Paginator(s.base, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			mod := aws.ToTime(o.LastModified)
			s.metrics.SeenObject(mod)
			if strings.HasSuffix(key, "/") || IsDigest(key) || s.tooOld(key, mod) {
				continue
			}
			size := aws.ToInt64(o.Size)
			s.stats.objectsFound.Add(1)
			s.stats.bytesFound.Add(size)
			select {
			case out <- listed{part: part, ref: ObjectRef{Bucket: s.cfg.Bucket, Key: key, ETag: trimETag(aws.ToString(o.ETag)), Size: size, Modified: mod}}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// tooOld reports whether an object is older than Since: by the date in
// its key under the log layout, else by its last-modified time.
func (s *Source) tooOld(key string, modified time.Time) bool {
	if s.since.IsZero() {
		return false
	}
	if l, ok := ParseLayout(key); ok && !l.Date.IsZero() {
		return l.Date.Before(s.since)
	}
	return modified.Before(s.since)
}

// discover finds the partitions under the configured prefix: the region
// folders of AWS's log layout, found by delimiter listings, and flat
// prefixes for whatever lies outside it.
func (s *Source) discover(ctx context.Context) ([]partition, error) {
	start := s.cfg.Prefix
	dir := start[:strings.LastIndexByte(start, '/')+1]
	switch classify(dir, s.services) {
	case nodePartition, nodeInside:
		l, _ := ParseLayout(dir)
		return []partition{{prefix: start, layout: l, inLayout: true}}, nil
	}
	var out []partition
	var walk func(prefix string) error
	walk = func(prefix string) error {
		var dirs []string
		direct := false
		pages := s3.NewListObjectsV2Paginator(s.base, &s3.ListObjectsV2Input{
			Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/"),
		})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("list s3://%s/%s: %w", s.cfg.Bucket, prefix, err)
			}
			for _, cp := range page.CommonPrefixes {
				dirs = append(dirs, aws.ToString(cp.Prefix))
			}
			for _, o := range page.Contents {
				if k := aws.ToString(o.Key); k != prefix && !strings.HasSuffix(k, "/") {
					direct = true
				}
			}
		}
		if direct {
			out = append(out, partition{prefix: prefix, direct: true})
		}
		for _, d := range dirs {
			switch classify(d, s.services) {
			case nodeAbove:
				if err := walk(d); err != nil {
					return err
				}
			case nodePartition:
				l, _ := ParseLayout(d)
				out = append(out, partition{prefix: d, layout: l, inLayout: true})
			case nodeSkip:
				s.log.Debug("skipping the logs of another service", "prefix", d)
			default:
				out = append(out, partition{prefix: d})
			}
		}
		return nil
	}
	if err := walk(start); err != nil {
		return nil, err
	}
	return out, nil
}
