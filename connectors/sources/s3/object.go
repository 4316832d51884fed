package s3

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/klauspost/compress/gzip"
	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/connectors/sources/ingest"
	"github.com/vigilsec/vigil/streams"
)

// ObjectRef names an object to publish, as a listing or a notice describes
// it.
type ObjectRef struct {
	Bucket, Key, ETag string
	// Size is the stored size; 0 if unknown.
	Size int64
	// Modified is the last-modified time; zero if unknown.
	Modified time.Time
}

// URL returns s3://bucket/key.
func (r ObjectRef) URL() string { return "s3://" + r.Bucket + "/" + r.Key }

// ObjectUnit is the progress unit of an object: bucket/key.
func ObjectUnit(bucket, key string) string { return bucket + "/" + key }

// ObjectProgress is the progress of an object, as committed with its
// records (JSON in the progress topic).
type ObjectProgress struct {
	// ETag is the ETag of the object read, without quotes.
	ETag string `json:"etag"`
	// Records counts the events of the object committed so far, from its
	// start (dead-lettered ones included).
	Records int64 `json:"records"`
	// Done reports that every event of the object has been committed.
	Done bool `json:"done"`
}

// parseProgress decodes an object's progress; ok is false if there is
// none or it cannot be read.
func parseProgress(b []byte) (p ObjectProgress, ok bool) {
	if b == nil {
		return p, false
	}
	err := json.Unmarshal(b, &p)
	return p, err == nil
}

func (p ObjectProgress) encode() []byte {
	b, _ := json.Marshal(p)
	return b
}

func trimETag(s string) string { return strings.Trim(s, `"`) }

// retryError marks an object that could not be read for now (a network
// error, access denied, throttling): nothing after it in its prefix is
// published before it, and it is tried again later.
type retryError struct{ err error }

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// IsRetryable reports whether publishObject failed on reading the object
// (S3 or the network), which a later attempt may get past; other errors
// come from Kafka, and the writer should be reopened.
func IsRetryable(err error) bool {
	var re *retryError
	return errors.As(err, &re)
}

// publishObject streams the object, gunzips it, splits it into events and
// produces them to the raw topic in transactions of at most CommitRecords
// records, each also committing the object's progress (ObjectUnit, with
// ObjectProgress). It returns once the object's last transaction has
// committed, with the object marked done.
//
// It resumes an object partly published after the records already
// committed (when the ETag is the same), and skips an object already done
// and CloudTrail digest files. A malformed object is reported, its good
// records published, and it is marked done. It returns an error for which
// IsRetryable holds when the object cannot be read for now (the
// transactions committed before stay committed), and another error when
// Kafka failed, in which case the open transaction is aborted and the
// writer should be reopened (it may have been fenced).
//
// It must not be called while w has an open transaction.
func (s *Source) publishObject(ctx context.Context, w *ingest.Writer, ref ObjectRef) error {
	t := &tx{w: w}
	o := s.open(ctx, ref, w.Progress(ObjectUnit(ref.Bucket, ref.Key)))
	defer o.close()
	if err := s.publish(ctx, t, o, nil); err != nil {
		return err
	}
	return s.commit(ctx, t)
}

// tx is a Kafka transaction of the writer, which in poll mode spans the
// ends and starts of several objects: small objects share one.
type tx struct {
	w      *ingest.Writer
	open   bool
	n      int       // records produced in it
	bytes  int       // the size of their values
	opened time.Time // when it began
	// after is run once it commits: counts of what it completes.
	after []func()
	// arenas hold records produced in it, reused once it has committed.
	arenas []*arena
}

func (t *tx) begin() error {
	if t.open {
		return nil
	}
	if err := t.w.Begin(); err != nil {
		return err
	}
	t.open, t.n, t.bytes, t.opened = true, 0, 0, time.Now()
	return nil
}

// commit commits the open transaction, if any. Shutdown does not cancel
// it.
func (s *Source) commit(ctx context.Context, t *tx) error {
	if !t.open {
		return nil
	}
	t.open = false
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	c, err := t.w.Commit(cctx)
	after, arenas := t.after, t.arenas
	t.after, t.arenas = nil, nil
	if err != nil {
		return err
	}
	// The producer is done with the transaction's records.
	for _, a := range arenas {
		a.recycle()
	}
	s.metrics.Add(c)
	s.stats.records.Add(c.Records[s.topic])
	if o := s.deps.Observer; o != nil {
		o.Committed(s.deps.Name, nil, c.Records)
	}
	for _, f := range after {
		f()
	}
	return nil
}

// full reports whether the transaction holds enough to be committed.
func (s *Source) full(t *tx) bool {
	return t.n >= s.cfg.CommitRecords || t.bytes >= s.cfg.CommitBytes
}

// maxTxnAge is how long a transaction may stay open: a quarter of the
// transaction timeout, so that a slow object never outlasts it.
func (s *Source) maxTxnAge() time.Duration {
	if d := s.deps.TransactionTimeout / 4; d > 0 {
		return d
	}
	return 15 * time.Second
}

// opened is an object being read ahead of its publishing: its GET sent,
// and, once ready is closed, its events being read into batches (or why
// there is nothing to read).
type opened struct {
	ref   ObjectRef
	unit  string
	ready chan struct{}
	// pass says why the object is not even fetched (digest, folder,
	// done), or "".
	pass string

	// Set before ready is closed.
	prev     ObjectProgress // committed progress, if havePrev
	havePrev bool
	skip     string // why the fetched object is not read (deleted, unchanged), or ""
	err      error  // the GET failed: try the object again later
	archived bool   // err is that the object is archived (never readable)
	etag     string
	body     *bodyReader
	batches  chan recordBatch
	cancel   context.CancelFunc
	closer   io.Closer
}

// wait waits for the GET, or for ctx.
func (o *opened) wait(ctx context.Context) error {
	select {
	case <-o.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops reading the object and waits until its goroutines are done.
func (o *opened) close() {
	<-o.ready
	if o.batches == nil {
		return
	}
	o.cancel()
	_ = o.closer.Close() // a read in flight returns
	for range o.batches {
	}
}

// open starts reading an object: it sends the GET and reads its events
// ahead, into batches, in goroutines of its own; prev is the object's
// committed progress, if any. The caller must close what it returns (after
// publishing it, or to give it up), and cancelling ctx stops the reading.
func (s *Source) open(ctx context.Context, ref ObjectRef, prev []byte) *opened {
	o := &opened{ref: ref, unit: ObjectUnit(ref.Bucket, ref.Key), ready: make(chan struct{})}
	o.prev, o.havePrev = parseProgress(prev)
	switch {
	case IsDigest(ref.Key):
		o.pass = "digest"
	case strings.HasSuffix(ref.Key, "/"):
		o.pass = "folder"
	case o.havePrev && o.prev.Done && (ref.ETag == "" || trimETag(ref.ETag) == o.prev.ETag):
		o.pass = "done"
	}
	if o.pass != "" {
		close(o.ready)
		return o
	}
	go s.get(ctx, o)
	return o
}

// get sends the object's GET and starts reading its body.
func (s *Source) get(ctx context.Context, o *opened) {
	defer close(o.ready)
	ref := o.ref
	layout, _ := ParseLayout(ref.Key)
	cl, err := s.clientFor(ctx, layout.Account)
	if err != nil {
		o.err = err
		return
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch ae.ErrorCode() {
			case "NoSuchKey":
				o.skip = "deleted"
				return
			case "InvalidObjectState":
				o.err, o.archived = err, true
				return
			}
		}
		o.err = fmt.Errorf("get %s: %w", ref.URL(), err)
		return
	}
	o.etag = trimETag(aws.ToString(out.ETag))
	if out.LastModified != nil {
		s.metrics.SeenObject(*out.LastModified)
	}
	var skip int64
	if o.havePrev && (o.prev.ETag == o.etag || o.etag == "") {
		if o.prev.Done {
			out.Body.Close()
			o.skip = "unchanged"
			return
		}
		skip = o.prev.Records
	}
	rctx, cancel := context.WithCancel(ctx)
	o.body, o.cancel, o.closer = &bodyReader{r: out.Body}, cancel, out.Body
	// Reading runs ahead of producing by up to readAhead batches, so that
	// it goes on while a transaction commits.
	o.batches = make(chan recordBatch, readAhead)
	go s.read(rctx, ref, layout.Account, o.body, skip, o.batches)
}

// publish adds an opened object to the transaction t, beginning it if
// needed, and commits t whenever it holds CommitRecords records; it leaves
// the object's last transaction open, for the caller to commit. final, if
// not nil, adds to the object's last transaction (poll mode records its
// listing position there), also when the object is skipped. When it
// returns an error for which IsRetryable holds, or ctx is done, it has
// committed what it produced. It does not close o.
func (s *Source) publish(ctx context.Context, t *tx, o *opened, final func()) error {
	w := t.w
	ref, unit := o.ref, o.unit
	log := s.log.With("object", ref.URL())
	// retry commits what the transaction holds and reports an object to
	// read again later.
	retry := func(err error) error {
		if cerr := s.commit(ctx, t); cerr != nil {
			return cerr
		}
		return &retryError{err}
	}
	if o.pass != "" {
		return s.skip(t, final)
	}
	s.metrics.SeenObject(ref.Modified)
	if err := o.wait(ctx); err != nil {
		if cerr := s.commit(ctx, t); cerr != nil {
			return cerr
		}
		return err
	}
	switch {
	case o.skip == "deleted":
		log.Warn("object deleted before it could be read; skipped")
		return s.skip(t, final)
	case o.skip != "": // unchanged since it was done
		return s.skip(t, final)
	case o.archived:
		s.metrics.Errors.WithLabelValues("read").Inc()
		log.Error("object is archived and cannot be read; skipped", "err", o.err)
		return s.skip(t, final)
	case o.err != nil:
		if ctx.Err() != nil {
			if cerr := s.commit(ctx, t); cerr != nil {
				return cerr
			}
			return ctx.Err()
		}
		s.metrics.Errors.WithLabelValues("read").Inc()
		log.Error("cannot read object; it will be tried again", "err", o.err)
		return retry(o.err)
	}
	etag := o.etag
	skip := int64(0)
	if o.havePrev && (o.prev.ETag == etag || etag == "") {
		skip = o.prev.Records
		log.Info("resuming object", "records_done", skip)
	} else if o.havePrev {
		log.Warn("object changed since it was partly published; publishing it again from its start", "etag_was", o.prev.ETag, "etag", etag)
	}
	batches, body := o.batches, o.body

	// Records are produced with a context that shutdown does not cancel,
	// so that what was handed to the producer can still be committed.
	pctx := context.WithoutCancel(ctx)
	done := skip
	progress := func(last bool) {
		w.SetProgress(pctx, unit, ObjectProgress{ETag: etag, Records: done, Done: last}.encode())
	}
	// next commits the transaction with the object's progress so far and
	// begins another.
	next := func() error {
		progress(false)
		if err := s.commit(ctx, t); err != nil {
			return err
		}
		return t.begin()
	}
	if err := t.begin(); err != nil {
		return err
	}
	var readErr error
	var malformed *malformedError
	maxAge := s.maxTxnAge()
	tick := time.NewTicker(min(maxAge/2, time.Second))
	defer tick.Stop()
read:
	for {
		var b recordBatch
		var ok bool
		select {
		case b, ok = <-batches:
		case <-tick.C:
			if t.n > 0 && time.Since(t.opened) >= maxAge {
				if err := next(); err != nil {
					return err
				}
			}
			continue
		}
		if !ok {
			break read
		}
		if b.err != nil {
			readErr = b.err
			break read
		}
		for _, r := range b.records {
			w.Produce(pctx, r)
			done++
			t.n++
			t.bytes += len(r.Value)
			if s.full(t) {
				if err := next(); err != nil {
					return err
				}
			}
		}
		if b.arena != nil {
			// The batch's last records are in this transaction.
			t.arenas = append(t.arenas, b.arena)
		}
		if b.malformed != nil {
			malformed = b.malformed
		}
		if ctx.Err() != nil {
			break read
		}
	}
	switch {
	case ctx.Err() != nil:
		// Shutting down: commit what was produced; the object resumes
		// from there.
		progress(false)
		if err := s.commit(ctx, t); err != nil {
			return err
		}
		return ctx.Err()
	case readErr != nil:
		progress(false)
		s.metrics.Errors.WithLabelValues("read").Inc()
		log.Error("object read failed; it will be resumed", "records_done", done, "err", readErr)
		return retry(fmt.Errorf("read %s: %w", ref.URL(), readErr))
	}
	if malformed != nil {
		s.metrics.Errors.WithLabelValues(malformed.kind).Inc()
		log.Error("malformed object: its events up to the error are published; the rest cannot be read",
			"records", done, "err", malformed.err)
	}
	progress(true)
	if final != nil {
		final()
	}
	n := body.n
	t.after = append(t.after, func() {
		s.metrics.Objects.Inc()
		s.metrics.ObjectBytes.Add(float64(n))
		s.stats.objectsDone.Add(1)
		s.stats.bytesDone.Add(n)
	})
	log.Debug("object published", "records", done)
	return nil
}

// skip adds final's progress, if any, to the transaction.
func (s *Source) skip(t *tx, final func()) error {
	if final == nil {
		return nil
	}
	if err := t.begin(); err != nil {
		return err
	}
	final()
	return nil
}

// recordBatch is records read from an object, in order, or how reading
// it ended.
type recordBatch struct {
	records []*kgo.Record
	// arena holds the records, to be reused once they are committed.
	arena *arena
	// err is a read error of the object's body: the object is to be
	// resumed later.
	err error
	// malformed says why the object ended early: it is done anyway.
	malformed *malformedError
}

type malformedError struct {
	kind string // decompress or read
	err  error
}

const (
	batchRecords = 256
	readAhead    = 32
)

// read reads the object's events after the first skip, and sends them as
// records in batches. It closes out when done.
func (s *Source) read(ctx context.Context, ref ObjectRef, account string, body *bodyReader, skip int64, out chan<- recordBatch) {
	defer close(out)
	send := func(b recordBatch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	src, err := decompress(body)
	if err != nil {
		if body.err != nil {
			send(recordBatch{err: body.err})
		} else {
			send(recordBatch{malformed: &malformedError{kind: "decompress", err: err}})
		}
		return
	}
	format := framing.ForPath(ref.Key, s.format)
	headerLine := framing.DefaultHeaderLine(s.cfg.Source, format)
	if s.cfg.HeaderLine != nil {
		headerLine = *s.cfg.HeaderLine
	}
	// Decompressing runs in a goroutine of its own, ahead of framing,
	// into blocks that the splitter cuts events from.
	pre := newPrefetch(src)
	defer pre.stop()
	sp := framing.NewBlocks(pre, format, s.cfg.MaxRecordBytes)
	var fileHeader []byte
	if headerLine {
		if fileHeader, err = sp.HeaderLine(); err != nil {
			if body.err != nil {
				send(recordBatch{err: body.err})
			} else {
				send(recordBatch{malformed: &malformedError{kind: src.kind(), err: err}})
			}
			return
		}
	}
	path := ref.URL()
	source := []byte(s.cfg.Source)
	var acct []byte
	if account != "" {
		acct = []byte(account)
	}
	dlq := s.deps.Topics.DLQ()
	var n int64
	// The ingest time, in a header and as the records' timestamp, is
	// taken once a batch: a clock read a record costs more than the rest
	// of making it.
	nowT := time.Now()
	// The headers but the origin are the same for a batch's records.
	headers := []kgo.RecordHeader{
		{Key: streams.HeaderSource, Value: source},
		{Key: streams.HeaderOrigin},
		{Key: streams.HeaderIngestTime, Value: []byte(nowT.UTC().Format(time.RFC3339Nano))},
	}
	if fileHeader != nil {
		headers = append(headers, kgo.RecordHeader{Key: streams.HeaderFileHeader, Value: fileHeader})
	}
	nh := len(headers)
	arena := getArena(nh, len(path))
	batch := arena.batch
	// A block the splitter is done with goes with the batch being made:
	// its events are in that batch or earlier ones, whose transactions
	// commit no later than this batch's.
	sp.OnRetire(func(b []byte) { arena.blocks = append(arena.blocks, b) })
	for {
		fr, err := sp.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if body.err != nil {
				send(recordBatch{records: batch, err: body.err})
			} else {
				send(recordBatch{records: batch, malformed: &malformedError{kind: src.kind(), err: err}})
			}
			return
		}
		n++
		if n <= skip {
			continue
		}
		rec := arena.record()
		rec.Topic, rec.Value, rec.Headers, rec.Timestamp = s.topic, fr.Data, arena.headers(nh), nowT
		copy(rec.Headers, headers)
		rec.Headers[1].Value = arena.origin(path, sp.Format(), fr)
		if fr.Err != nil {
			s.metrics.Errors.WithLabelValues("framing").Inc()
			s.log.Warn("event cannot be delimited; sent to the dead-letter topic", "origin", string(rec.Headers[1].Value), "err", fr.Err)
			rec = streams.DeadLetter(dlq, s.deps.Name, rec, fr.Err)
			if len(rec.Value) > 1024 {
				rec.Value = rec.Value[:1024] // enough to recognise it; the whole would not fit a Kafka message
			}
		} else {
			rec.Key = s.key(fr.Data, acct)
		}
		batch = append(batch, rec)
		if len(batch) == batchRecords {
			if !send(recordBatch{records: batch, arena: arena}) {
				return
			}
			arena = getArena(nh, len(path))
			batch = arena.batch
			nowT = time.Now()
			headers[2].Value = []byte(nowT.UTC().Format(time.RFC3339Nano))
		}
	}
	sp.Release()
	b := recordBatch{records: batch, arena: arena}
	switch {
	case body.err != nil:
		b.err = body.err
	case src.err != nil:
		b.malformed = &malformedError{kind: "decompress", err: src.err}
	}
	send(b)
}

// key returns a record's key: from the configured JSON paths; else the
// account of the object's key (for CloudTrail the recipientAccountId of
// every event of the file, found without reading the event); else from
// the source's default paths.
func (s *Source) key(data, account []byte) []byte {
	keys := s.cfg.Key
	if len(keys) == 0 {
		if account != nil {
			return account
		}
		keys = s.keys
	}
	for _, k := range keys {
		if v := gjson.GetBytes(data, k); v.Type == gjson.String && v.Str != "" {
			if v.Index > 0 && len(v.Raw) == len(v.Str)+2 {
				return data[v.Index+1 : v.Index+len(v.Raw)-1 : v.Index+len(v.Raw)-1] // no escapes: the bytes as they are
			}
			return []byte(v.Str)
		}
	}
	return account
}

// arena allocates the records of a batch, their headers and their origins
// together: a few allocations a batch instead of several a record, and
// none once arenas are reused (arenaPool). Slices it hands out have no
// room to grow into each other. It also holds the framing blocks the
// records' values are cut from (those the splitter retired while the
// batch was made), recycled with it.
type arena struct {
	batch  []*kgo.Record
	recs   []kgo.Record
	hdrs   []kgo.RecordHeader
	buf    []byte
	blocks [][]byte
}

// recycle returns the arena and its blocks to their pools, once the
// producer is done with its records.
func (a *arena) recycle() {
	for _, b := range a.blocks {
		framing.PutBlock(b)
	}
	clear(a.blocks)
	a.blocks = a.blocks[:0]
	arenaPool.Put(a)
}

// newArena returns an arena for records of nh headers whose origins begin
// with a path of pathLen bytes.
func newArena(nh, pathLen int) *arena {
	return &arena{
		batch: make([]*kgo.Record, 0, batchRecords),
		recs:  make([]kgo.Record, 0, batchRecords),
		hdrs:  make([]kgo.RecordHeader, 0, nh*batchRecords),
		buf:   make([]byte, 0, (pathLen+originRoom)*batchRecords),
	}
}

// arenaPool holds arenas whose records a committed transaction is done
// with.
var arenaPool sync.Pool

// getArena returns an arena from the pool, emptied, if it has the room,
// else a new one. A reused arena's records are zeroed as they are handed
// out again.
func getArena(nh, pathLen int) *arena {
	if a, _ := arenaPool.Get().(*arena); a != nil && cap(a.hdrs) >= nh*batchRecords && cap(a.buf) >= (pathLen+originRoom)*batchRecords {
		a.batch, a.recs, a.hdrs, a.buf = a.batch[:0], a.recs[:0], a.hdrs[:0], a.buf[:0]
		return a
	}
	return newArena(nh, pathLen)
}

// originRoom is the room an origin takes after its path: ":Records[i]" or
// ":line".
const originRoom = 32

// record returns a new record; at most batchRecords per arena.
func (a *arena) record() *kgo.Record {
	if len(a.recs) == cap(a.recs) {
		return &kgo.Record{}
	}
	a.recs = append(a.recs, kgo.Record{})
	return &a.recs[len(a.recs)-1]
}

func (a *arena) headers(n int) []kgo.RecordHeader {
	if len(a.hdrs)+n > cap(a.hdrs) {
		return make([]kgo.RecordHeader, n)
	}
	l := len(a.hdrs)
	a.hdrs = a.hdrs[:l+n]
	return a.hdrs[l : l+n : l+n]
}

// origin formats where a frame was found as framing.Origin does.
func (a *arena) origin(path string, f framing.Format, fr framing.Frame) []byte {
	if cap(a.buf)-len(a.buf) < len(path)+originRoom {
		a.buf = make([]byte, 0, (len(path)+originRoom)*batchRecords)
	}
	l := len(a.buf)
	a.buf = framing.AppendOrigin(a.buf, path, f, fr)
	return a.buf[l:len(a.buf):len(a.buf)]
}

// prefetch reads from r in a goroutine of its own, up to prefetchBlocks
// framing blocks ahead of the splitter it hands them to (a
// framing.BlockReader).
type prefetch struct {
	chunks chan chunk
	done   chan struct{}
	exited chan struct{}
	err    error
}

type chunk struct {
	b   []byte
	err error
}

const prefetchBlocks = 8

func newPrefetch(r io.Reader) *prefetch {
	p := &prefetch{
		chunks: make(chan chunk, prefetchBlocks),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go p.run(r)
	return p
}

func (p *prefetch) run(r io.Reader) {
	defer close(p.exited)
	for {
		b := framing.GetBlock()
		n, err := io.ReadFull(r, b[framing.Headroom:])
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case p.chunks <- chunk{b: b[:framing.Headroom+n], err: err}:
		case <-p.done:
			framing.PutBlock(b)
			return
		}
		if err != nil {
			return
		}
	}
}

// ReadBlock implements framing.BlockReader; the error of the underlying
// reader comes with its last data.
func (p *prefetch) ReadBlock() ([]byte, int, error) {
	if p.err != nil {
		return nil, 0, p.err
	}
	c := <-p.chunks
	p.err = c.err
	return c.b, framing.Headroom, c.err
}

// stop ends the goroutine, waits for it, and recycles the blocks it read
// ahead.
func (p *prefetch) stop() {
	close(p.done)
	<-p.exited
	for {
		select {
		case c := <-p.chunks:
			framing.PutBlock(c.b)
		default:
			return
		}
	}
}

// bodyReader counts the bytes of an object's body and keeps its read
// error, which tells a broken connection (retry) from a malformed object.
type bodyReader struct {
	r   io.Reader
	n   int64
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// source is an object's content: gunzipped if it is gzip. A decompression
// error ends it early, like the end of the object, and is kept in err, so
// that the events before it are framed and a value it cut off goes to the
// dead-letter topic as truncated.
type source struct {
	r    io.Reader
	body *bodyReader
	gz   bool
	err  error
}

func (s *source) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, io.EOF
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.body.err == nil {
		s.err = err
		if s.gz {
			s.err = fmt.Errorf("gzip: %w", err)
		}
		return n, io.EOF
	}
	return n, err
}

// kind is the error kind of the object's malformation.
func (s *source) kind() string {
	if s.gz {
		return "decompress"
	}
	return "read"
}

// decompress returns the object's content, gunzipped if it starts with the
// gzip magic number (framing.Decompress).
func decompress(body *bodyReader) (*source, error) {
	r, err := framing.Decompress(body)
	if err != nil {
		return nil, err
	}
	_, gz := r.(*gzip.Reader)
	return &source{r: r, body: body, gz: gz}, nil
}
