package httpsrc

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/connectors/sources/ingest"
	"github.com/vigilsec/vigil/streams"
)

// recordOverhead is what a record is charged against max_in_flight_bytes
// besides its key, value and headers: the client's bookkeeping.
const recordOverhead = 256

// maxDeadLetterValue is how much of an event that cannot be delimited goes
// to the dead-letter topic: enough to recognise it.
const maxDeadLetterValue = 1024

// Response is the body of a 200 answer.
type Response struct {
	// Records counts the events published to the raw topic.
	Records int `json:"records"`
	// DeadLetters counts what could not be delimited as an event and went
	// to the dead-letter topic.
	DeadLetters int `json:"dead_letters"`
	// RequestID is the request's id, as in the records' origin header.
	RequestID string `json:"request_id"`
}

// Handler returns the source's HTTP handler. Run serves it; it needs the
// Kafka client Run makes.
func (s *Source) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ingest/{name}", s.serveIngest)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		replyError(sw, http.StatusNotFound, "no such endpoint: POST /ingest/<name>")
		s.observe("unknown", sw.code, start)
	})
	return mux
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Source) observe(endpoint string, code int, start time.Time) {
	if code == 0 {
		code = http.StatusOK
	}
	s.requests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
	s.duration.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
}

func replyJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func replyError(w http.ResponseWriter, code int, msg string) {
	replyJSON(w, code, map[string]string{"error": msg})
}

func (s *Source) serveIngest(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: rw}
	ep := s.endpoints[r.PathValue("name")]
	label := "unknown"
	if ep != nil {
		label = ep.name
	}
	defer func() { s.observe(label, w.code, start) }()

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		replyError(w, http.StatusMethodNotAllowed, "only POST is accepted")
		return
	}
	if ep == nil {
		replyError(w, http.StatusNotFound, "no such endpoint")
		return
	}
	if !ep.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
		replyError(w, http.StatusUnauthorized, "a valid token is required")
		return
	}
	gz, ok := contentEncoding(r.Header.Values("Content-Encoding"))
	if !ok {
		replyError(w, http.StatusUnsupportedMediaType, "Content-Encoding must be gzip or identity")
		return
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		replyError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", s.cfg.MaxBodyBytes))
		return
	}
	if !s.kafkaOK.Load() {
		w.Header().Set("Retry-After", retryAfterUnavailable)
		replyError(w, http.StatusServiceUnavailable, "Kafka is unreachable")
		return
	}

	// Admission: a slot and, for reading, the body's announced size (the
	// limit when unknown). Nothing is read before both are granted.
	if n := s.inFlight.Add(1); n > int64(s.cfg.MaxInFlightRequests) {
		s.inFlight.Add(-1)
		w.Header().Set("Retry-After", retryAfterBusy)
		replyError(w, http.StatusTooManyRequests, "too many requests in flight")
		return
	}
	defer s.inFlight.Add(-1)
	held := r.ContentLength
	if held < 0 {
		held = s.cfg.MaxBodyBytes
	}
	held = max(held, 1)
	if !s.bytes.tryAcquire(held) {
		w.Header().Set("Retry-After", retryAfterBusy)
		replyError(w, http.StatusTooManyRequests, "too many bytes in flight")
		return
	}
	defer func() {
		if held > 0 {
			s.bytes.release(held)
		}
	}()

	reqID := newRequestID()
	w.Header().Set("X-Request-Id", reqID)
	rc := http.NewResponseController(rw)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.RequestTimeout))
	body := &countingReader{r: http.MaxBytesReader(rw, r.Body, s.cfg.MaxBodyBytes)}
	// The records are what stays in memory until Kafka has them: while
	// they outgrow what is held, more is taken, or the request refused.
	reserve := func(charge int64) (int64, error) {
		if charge <= held {
			return held, nil
		}
		if charge > s.cfg.MaxInFlightBytes {
			return held, errRecordsTooLarge
		}
		// A step at a time, not to take the budget's lock per record.
		more := max(charge-held, min(reserveStep, s.cfg.MaxInFlightBytes-held))
		if !s.bytes.tryAcquire(more) {
			return held, errBusy
		}
		held += more
		return held, nil
	}
	b, err := s.split(ep, reqID, start, body, gz, reserve)
	// The body has been read. The server goes on reading the connection
	// to notice a client that goes away; that read must not time out,
	// which would cancel the request's context.
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		s.refuse(w, ep, reqID, err)
		return
	}
	if len(b.recs) == 0 {
		replyError(w, http.StatusBadRequest, "the body holds no events")
		return
	}
	if held > b.charge {
		s.bytes.release(held - b.charge)
	}
	held = 0 // from here the records' charge is released once Kafka has answered for them all

	p := s.produce(b)
	timer := time.NewTimer(s.cfg.RequestTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		s.kafkaFailed() // until a ping says Kafka is there
		s.m.Errors.WithLabelValues("publish").Inc()
		s.log.Warn("http source: Kafka did not acknowledge a request's records in time", "endpoint", ep.name, "request_id", reqID, "records", len(b.recs), "timeout", s.cfg.RequestTimeout)
		w.Header().Set("Retry-After", retryAfterUnavailable)
		replyError(w, http.StatusServiceUnavailable, "Kafka did not acknowledge the records in time")
		return
	case <-r.Context().Done():
		// Never an empty 200: should the connection still be there, the
		// sender must try again.
		s.log.Debug("http source: the client went away before its records were acknowledged", "endpoint", ep.name, "request_id", reqID)
		w.Header().Set("Retry-After", retryAfterBusy)
		replyError(w, http.StatusServiceUnavailable, "the request ended before Kafka acknowledged its records")
		return
	}
	if p.err != nil {
		s.m.Errors.WithLabelValues("publish").Inc()
		s.log.Warn("http source: publishing a request's records failed", "endpoint", ep.name, "request_id", reqID, "err", p.err)
		w.Header().Set("Retry-After", retryAfterUnavailable)
		replyError(w, http.StatusServiceUnavailable, "publishing to Kafka failed")
		return
	}
	s.m.Add(ingest.Committed{Records: p.produced, Bytes: p.bytes})
	s.m.Objects.Inc()
	s.m.ObjectBytes.Add(float64(body.n))
	if s.deps.Observer != nil {
		s.deps.Observer.Committed(s.deps.Name, nil, p.produced)
	}
	if b.dead > 0 {
		s.log.Warn("http source: events that cannot be delimited went to the dead-letter topic", "endpoint", ep.name, "request_id", reqID, "dead_letters", b.dead, "records", b.records)
	} else {
		s.log.Debug("http source: request published", "endpoint", ep.name, "request_id", reqID, "records", b.records)
	}
	replyJSON(w, http.StatusOK, Response{Records: b.records, DeadLetters: b.dead, RequestID: reqID})
}

// refuse answers a body that split could not read.
func (s *Source) refuse(w http.ResponseWriter, ep *endpoint, reqID string, err error) {
	var tooLarge *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &tooLarge):
		replyError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", s.cfg.MaxBodyBytes))
	case errors.Is(err, errDecodedTooLarge):
		replyError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes once gunzipped", s.cfg.MaxBodyBytes))
	case errors.Is(err, errRecordsTooLarge):
		replyError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body's records take more than max_in_flight_bytes (%d) with their headers", s.cfg.MaxInFlightBytes))
	case errors.Is(err, errBusy):
		w.Header().Set("Retry-After", retryAfterBusy)
		replyError(w, http.StatusTooManyRequests, "too many bytes in flight")
	case errors.Is(err, errNotGzip), errors.Is(err, errGzip):
		s.m.Errors.WithLabelValues("decompress").Inc()
		replyError(w, http.StatusBadRequest, err.Error())
	case errors.As(err, &ne) && ne.Timeout():
		s.m.Errors.WithLabelValues("read").Inc()
		replyError(w, http.StatusRequestTimeout, "the body did not arrive within request_timeout")
	default:
		s.m.Errors.WithLabelValues("read").Inc()
		s.log.Debug("http source: cannot read a request body", "endpoint", ep.name, "request_id", reqID, "err", err)
		replyError(w, http.StatusBadRequest, "cannot read the body: "+err.Error())
	}
}

// contentEncoding reports whether the Content-Encoding header says gzip,
// and whether it is one vigil reads.
func contentEncoding(vals []string) (gzip, ok bool) {
	var encs []string
	for _, v := range vals {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.ToLower(strings.TrimSpace(e)); e != "" && e != "identity" {
				encs = append(encs, e)
			}
		}
	}
	switch {
	case len(encs) == 0:
		return false, true
	case len(encs) == 1 && (encs[0] == "gzip" || encs[0] == "x-gzip"):
		return true, true
	}
	return false, false
}

// authorized reports whether r carries one of the endpoint's tokens. Every
// candidate is compared with every token, in constant time.
func (e *endpoint) authorized(r *http.Request) bool {
	if e.certOnly {
		return true // the TLS handshake verified the client's certificate
	}
	var cands []string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		rest = strings.TrimSpace(rest)
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			cands = append(cands, rest)
		case strings.EqualFold(scheme, "Basic"):
			if dec, err := base64.StdEncoding.DecodeString(rest); err == nil {
				if _, pw, ok := strings.Cut(string(dec), ":"); ok {
					cands = append(cands, pw)
				}
			}
		}
	}
	if e.apiKeyHeader != "" {
		if v := r.Header.Get(e.apiKeyHeader); v != "" {
			cands = append(cands, v)
		}
	}
	match := 0
	for _, c := range cands {
		if c == "" {
			continue
		}
		d := sha256.Sum256([]byte(c))
		for i := range e.tokens {
			match |= subtle.ConstantTimeCompare(d[:], e.tokens[i][:])
		}
	}
	return match == 1
}

func newRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Errors of reading a body.
var (
	errNotGzip         = errors.New("the body is not gzip data, though its Content-Encoding says gzip")
	errGzip            = errors.New("the body is not valid gzip data")
	errDecodedTooLarge = errors.New("the body is too large once gunzipped")
	errRecordsTooLarge = errors.New("the body's records are larger than max_in_flight_bytes")
	errBusy            = errors.New("too many bytes in flight")
)

// reserveStep is the least split asks reserve for at a time.
const reserveStep = 256 << 10

// batch is a request's records, split and ready to produce.
type batch struct {
	recs    []*kgo.Record
	offsets []int64 // where each record's event starts in the gunzipped body
	records int     // to the raw topic
	dead    int     // to the dead-letter topic
	charge  int64   // bytes charged against max_in_flight_bytes
}

// split reads a body and splits it into records. It fails, publishing
// nothing, if the body cannot be read to its end: a failed read, bad gzip,
// or a body over the size limit.
//
// reserve, if not nil, is called with the batch's charge whenever it grows
// past what reserve last granted, and returns what it grants now; an error
// from it ends the split.
func (s *Source) split(ep *endpoint, reqID string, received time.Time, body io.Reader, gzipped bool, reserve func(charge int64) (int64, error)) (*batch, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	if gzipped {
		magic, err := br.Peek(2)
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
			return nil, errNotGzip
		}
	}
	dec, err := framing.Decompress(br)
	if err != nil {
		return nil, gzipError(err)
	}
	if _, ok := dec.(*gzip.Reader); ok {
		dec = &gzipErrReader{r: dec}
	}
	lim := &limitReader{r: dec, left: s.cfg.MaxBodyBytes}
	sp := framing.New(lim, ep.format, s.cfg.MaxRecordBytes)
	path := "http://" + ep.name + "/" + reqID
	ingestTime := []byte(received.UTC().Format(time.RFC3339Nano))
	source := []byte(ep.source)
	var sl slab
	b := &batch{}
	var granted int64
	for {
		fr, err := sp.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		rec := sl.record()
		rec.Topic, rec.Value, rec.Headers = ep.topic, fr.Data, sl.headers(3)
		rec.Headers[0] = kgo.RecordHeader{Key: streams.HeaderSource, Value: source}
		rec.Headers[1] = kgo.RecordHeader{Key: streams.HeaderOrigin, Value: sl.origin(path, sp.Format(), fr)}
		rec.Headers[2] = kgo.RecordHeader{Key: streams.HeaderIngestTime, Value: ingestTime}
		if fr.Err != nil {
			rec = streams.DeadLetter(s.dlq, s.deps.Name, rec, fr.Err)
			if len(rec.Value) > maxDeadLetterValue {
				rec.Value = rec.Value[:maxDeadLetterValue]
			}
			b.dead++
		} else {
			rec.Key = ep.key(fr.Data)
			b.records++
		}
		b.charge += charge(rec)
		b.recs = append(b.recs, rec)
		b.offsets = append(b.offsets, fr.Offset)
		if reserve != nil && b.charge > granted {
			if granted, err = reserve(b.charge); err != nil {
				return nil, err
			}
		}
	}
	if b.dead > 0 {
		s.m.Errors.WithLabelValues("framing").Add(float64(b.dead))
	}
	return b, nil
}

func charge(r *kgo.Record) int64 {
	n := int64(len(r.Key) + len(r.Value) + recordOverhead)
	for _, h := range r.Headers {
		n += int64(len(h.Key) + len(h.Value))
	}
	return n
}

// key returns the first non-empty string at the endpoint's key paths. It
// aliases data when it can: data is the record's value, never modified.
func (e *endpoint) key(data []byte) []byte {
	for _, k := range e.keys {
		v := gjson.GetBytes(data, k)
		if v.Type != gjson.String || v.Str == "" {
			continue
		}
		// Raw is the string as written, quotes included, at Index.
		if i, n := v.Index, len(v.Raw); i > 0 && i+n <= len(data) && n == len(v.Str)+2 && string(data[i+1:i+n-1]) == v.Str {
			return data[i+1 : i+n-1 : i+n-1]
		}
		return []byte(v.Str)
	}
	return nil
}

// slab hands out a request's records, headers and origins from blocks, to
// allocate per block rather than per record. What it hands out lives as
// long as any part of its block: all of a request's records are released
// together, when Kafka has answered for them.
type slab struct {
	recs []kgo.Record
	hdrs []kgo.RecordHeader
	buf  []byte
}

const slabRecords = 128

func (s *slab) record() *kgo.Record {
	if len(s.recs) == 0 {
		s.recs = make([]kgo.Record, slabRecords)
	}
	r := &s.recs[0]
	s.recs = s.recs[1:]
	return r
}

func (s *slab) headers(n int) []kgo.RecordHeader {
	if len(s.hdrs) < n {
		s.hdrs = make([]kgo.RecordHeader, max(n, 3*slabRecords))
	}
	h := s.hdrs[:n:n]
	s.hdrs = s.hdrs[n:]
	return h
}

// origin returns framing.Origin(path, f, fr) as bytes.
func (s *slab) origin(path string, f framing.Format, fr framing.Frame) []byte {
	if cap(s.buf)-len(s.buf) < len(path)+32 {
		s.buf = make([]byte, 0, max(8<<10, len(path)+32))
	}
	start := len(s.buf)
	s.buf = framing.AppendOrigin(s.buf, path, f, fr)
	return s.buf[start:len(s.buf):len(s.buf)]
}

// pending is a request's records on their way to Kafka. Its fields other
// than done are written before done is closed and read after.
type pending struct {
	done     chan struct{}
	err      error
	produced map[string]int64 // by topic
	bytes    int64            // of values, dead letters left out
}

// produce sends a batch's records. Once every record has been acknowledged
// or has failed, the batch's charge is released and done closed.
func (s *Source) produce(b *batch) *pending {
	p := &pending{done: make(chan struct{}), produced: map[string]int64{}}
	go func() {
		defer close(p.done)
		// ProduceSync stops the partitions it produced to from lingering,
		// as a request waits for its records. Not the request's context:
		// cancelling one record fails every record buffered for its
		// partition, other requests' too; RecordDeliveryTimeout bounds
		// the wait instead.
		for _, r := range s.cl.ProduceSync(context.Background(), b.recs...) {
			if r.Err != nil {
				if p.err == nil {
					p.err = r.Err
				}
				continue
			}
			p.produced[r.Record.Topic]++
			if r.Record.Topic != s.dlq {
				p.bytes += int64(len(r.Record.Value))
			}
		}
		s.bytes.release(b.charge)
		if p.err != nil {
			s.kafkaFailed()
		}
	}()
	return p
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// limitReader fails, for good, once more than left bytes have been read.
type limitReader struct {
	r    io.Reader
	left int64
	err  error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.err = errDecodedTooLarge
		return 0, l.err
	}
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}

// gzipError marks a decompressor's error as bad gzip, unless it is an
// error of reading the body itself (its size limit, a timeout).
func gzipError(err error) error {
	var tooLarge *http.MaxBytesError
	var ne net.Error
	if err == nil || err == io.EOF || errors.As(err, &tooLarge) || errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return fmt.Errorf("%w: %v", errGzip, err)
}

// gzipErrReader marks a decompressor's errors as bad gzip, except those of
// reading the body itself (a size limit, a timeout).
type gzipErrReader struct{ r io.Reader }

func (g *gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	return n, gzipError(err)
}
