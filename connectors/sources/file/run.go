package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/connectors/sources/ingest"
	"github.com/vigilsec/vigil/streams"
)

// Following polls: each PollInterval the patterns are globbed again and
// every file is stat'ed. fsnotify would tell of changes sooner, but it
// does not see files on network and FUSE file systems, nor changes made
// through another mount of the same file, it needs a watch per directory
// (recursive patterns would need one for every directory of a tree), and
// its event queue can overflow, after which a scan like this one is needed
// anyway. A stat per file per second is cheap, and the same on every
// platform.

// fileState is what the source knows of one file it reads. It is owned by
// the runner's goroutine.
type fileState struct {
	id      ident
	path    string // where the file was last seen
	unit    string // its progress unit
	oldUnit string // a unit committed under a previous path, forgotten with the next progress

	f        *os.File  // open while followed and active
	readSize int64     // the size when last read; -1 before the first read
	changed  time.Time // when the file last grew (or was first seen)
	matched  bool      // found by the current scan
	stat     os.FileInfo

	failedSize int64 // the size when it could not be opened, or -1
	failedAt   time.Time

	gz, gzKnown bool
	format      framing.Format // Auto until detected
	header      []byte
	headerRead  bool

	// Position: where the next unread record starts.
	offset  int64
	line    int
	index   int
	records int64
	inArray bool
	size    int64
	done    bool

	// The fingerprint of the file's first fpLen bytes (up to fpMax): a
	// file whose beginning changed was replaced or truncated and written
	// again, even if its inode and size say otherwise.
	fp    uint64
	fpLen int
}

func (st *fileState) progress() *Progress {
	p := &Progress{
		Path: st.path, Dev: st.id.Dev, Inode: st.id.Ino, Offset: st.offset, Size: st.size, Done: st.done,
		Line: st.line, Records: st.records, Index: st.index, InArray: st.inArray, Gzip: st.gz,
		FingerprintLen: st.fpLen,
	}
	if st.fpLen > 0 {
		p.Fingerprint = strconv.FormatUint(st.fp, 16)
	}
	if st.format != framing.Auto {
		p.Format = st.format.String()
	}
	return p
}

func (st *fileState) close() {
	if st.f != nil {
		_ = st.f.Close()
		st.f = nil
	}
}

// runner runs a Source: it owns the files' states and the open transaction.
type runner struct {
	s       *Source
	cfg     Config
	ctx     context.Context // done when the source should stop
	pctx    context.Context // for producing and committing: outlives ctx by drainTimeout
	pcancel context.CancelFunc
	w       *ingest.Writer
	log     *slog.Logger

	files  map[ident]*fileState
	known  map[ident][]*Progress // committed progress not claimed by a file
	forget map[string]bool       // units to delete in the next commit
	dirty  map[*fileState]bool   // files whose progress changed in the open transaction
	marker bool                  // write startUnit in the next commit

	skipExisting bool // start: end on the first start

	// The open transaction.
	open        bool
	began       time.Time
	n           int
	objects     int
	objectBytes int64
	fatal       error
}

func newRunner(ctx context.Context, s *Source, w *ingest.Writer) *runner {
	// What was read when the source is told to stop is committed, so
	// producing and committing go on after ctx is done, for a while.
	pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(drainTimeout, pcancel) })
	r := &runner{
		s: s, cfg: s.cfg, ctx: ctx, pctx: pctx, w: w, log: s.deps.Logger,
		pcancel: func() { stop(); pcancel() },
		files:   map[ident]*fileState{}, known: map[ident][]*Progress{},
		forget: map[string]bool{}, dirty: map[*fileState]bool{},
	}
	started := false
	for _, u := range w.Units() {
		if u == startUnit {
			started = true
			continue
		}
		p, err := ParseProgress(w.Progress(u))
		if err != nil {
			// Reading the file again would repeat records, refusing to
			// start would stop the source for good: say so and read it
			// again.
			s.metrics.Errors.WithLabelValues("progress").Inc()
			r.log.Error("progress cannot be read; the file will be read from its beginning", "unit", u, "err", err)
			r.forget[u] = true
			continue
		}
		if unitOf(p.Path, p.ident()) != u {
			r.log.Warn("progress stored under another unit than its own", "unit", u, "path", p.Path)
		}
		r.known[p.ident()] = append(r.known[p.ident()], p)
	}
	if s.cfg.Follow && s.cfg.Start == StartEnd && !started {
		r.skipExisting, r.marker = true, true
	}
	return r
}

func (r *runner) stopped() bool { return r.ctx.Err() != nil }

// drainTimeout bounds the commit of what was read when the source stops.
const drainTimeout = 15 * time.Second

func (r *runner) run() error {
	defer r.pcancel()
	if !r.cfg.Follow {
		if err := r.once(); err != nil || r.stopped() {
			return r.finish(err)
		}
		if err := r.commit(); err != nil {
			return err
		}
		return nil
	}
	initial := true
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if err := r.poll(initial); err != nil {
			return r.finish(err)
		}
		initial = false
		if r.stopped() {
			return r.finish(nil)
		}
		if r.full() {
			if err := r.commit(); err != nil {
				return err
			}
		}
		wait := r.cfg.PollInterval
		if r.open {
			if due := r.cfg.CommitInterval - time.Since(r.began); due < wait {
				wait = max(due, time.Millisecond)
			}
		}
		timer.Reset(wait)
		select {
		case <-r.ctx.Done():
			return r.finish(nil)
		case <-timer.C:
		}
	}
}

// finish ends a run: on a stop, what was read is committed; on an error,
// the open transaction is abandoned (Writer.Close aborts it).
func (r *runner) finish(err error) error {
	for _, st := range r.files {
		st.close()
	}
	if err != nil {
		return err
	}
	if err := r.commit(); err != nil {
		if errors.Is(err, ErrFenced) {
			return err
		}
		r.log.Warn("could not commit on stop; what was read since the last commit will be read again", "err", err)
	}
	return nil
}

// once reads every matching file to its end.
func (r *runner) once() error {
	found, err := r.scan()
	if err != nil {
		return err
	}
	if len(found) == 0 {
		r.log.Warn("no files match", "paths", r.cfg.Paths)
	}
	for _, fd := range found {
		st := r.track(fd)
		r.files[fd.id] = st
	}
	r.forgetLeftovers()
	for _, fd := range found {
		if r.stopped() {
			return nil
		}
		st := r.files[fd.id]
		r.s.metrics.SeenObject(fd.fi.ModTime())
		if err := r.open1(st); err != nil {
			continue
		}
		err := r.read(st, true, false)
		st.close()
		if err != nil {
			return err
		}
	}
	return nil
}

// poll is one round of following: match the patterns, take in new files
// and renames, and read what is new.
func (r *runner) poll(initial bool) error {
	found, err := r.scan()
	if err != nil {
		return err
	}
	now := time.Now()
	for _, st := range r.files {
		st.matched = false
	}
	order := make([]*fileState, 0, len(found))
	for _, fd := range found {
		st := r.files[fd.id]
		switch {
		case st == nil:
			st = r.track(fd)
			r.files[fd.id] = st
		case st.path != fd.path:
			r.log.Info("file renamed; following it under its new name", "from", st.path, "to", fd.path)
			r.renamed(st, fd.path)
		}
		st.matched, st.stat = true, fd.fi
		order = append(order, st)
	}
	if initial {
		r.forgetLeftovers()
		if r.skipExisting {
			for _, st := range order {
				if err := r.skip(st); err != nil || r.stopped() {
					return err
				}
			}
		}
		if r.marker {
			r.begin() // the marker is committed even when no file matched
		}
	}
	for _, st := range order {
		if r.stopped() {
			return nil
		}
		r.s.metrics.SeenObject(st.stat.ModTime())
		if err := r.follow(st, now); err != nil {
			return err
		}
	}
	var gone []*fileState
	for _, st := range r.files {
		if !st.matched {
			gone = append(gone, st)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].path < gone[j].path })
	for _, st := range gone {
		if r.stopped() {
			return nil
		}
		if err := r.rotated(st, now); err != nil {
			return err
		}
	}
	return nil
}

type found struct {
	path string
	fi   os.FileInfo
	id   ident
}

// scan matches the patterns: regular files, each identity once, in the
// order of the patterns and then of the paths.
func (r *runner) scan() ([]found, error) {
	seen := map[ident]bool{}
	var out []found
	for _, pat := range r.cfg.Paths {
		matches, err := glob(pat)
		if err != nil {
			r.s.metrics.Errors.WithLabelValues("list").Inc()
			return nil, fmt.Errorf("file source: pattern %q: %w", pat, err)
		}
		for _, m := range matches {
			fi, ok := regular(m)
			if !ok {
				continue
			}
			id := identOf(m, fi)
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, found{path: m, fi: fi, id: id})
		}
	}
	return out, nil
}

// track returns the state of a file seen for the first time, from its
// committed progress if it has some.
func (r *runner) track(fd found) *fileState {
	st := &fileState{
		id: fd.id, path: fd.path, unit: unitOf(fd.path, fd.id), readSize: -1, failedSize: -1, changed: time.Now(),
		format: framing.ForPath(fd.path, r.s.format), line: 1,
	}
	p := r.claim(fd)
	if p == nil {
		return st
	}
	st.offset, st.line, st.index, st.records = p.Offset, p.Line, p.Index, p.Records
	st.inArray, st.size, st.done = p.InArray, p.Size, p.Done
	st.gz, st.gzKnown = p.Gzip, p.Gzip || p.Offset > 0 || p.Done
	st.fp, st.fpLen = p.fingerprint()
	if p.Format != "" {
		st.format, _ = framing.ParseFormat(p.Format)
	}
	if p.Path != fd.path {
		r.log.Info("file renamed while the source was stopped; resuming it under its new name", "from", p.Path, "to", fd.path)
		st.oldUnit = unitOf(p.Path, p.ident())
		r.setDirty(st)
	}
	return st
}

// claim finds the committed progress of a file: the progress of its
// identity at its path, or at another path that no longer holds it (it
// was renamed).
func (r *runner) claim(fd found) *Progress {
	ps := r.known[fd.id]
	pick := -1
	for i, p := range ps {
		if p.Path == fd.path {
			pick = i
			break
		}
	}
	if pick < 0 {
		for i, p := range ps {
			if fi, ok := regular(p.Path); !ok || identOf(p.Path, fi) != fd.id {
				pick = i
				break
			}
		}
	}
	if pick < 0 {
		return nil
	}
	p := ps[pick]
	if len(ps) == 1 {
		delete(r.known, fd.id)
	} else {
		r.known[fd.id] = slices.Delete(ps, pick, pick+1)
	}
	return p
}

// forgetLeftovers forgets the progress of files that are gone: no longer
// where they were last seen. The progress of files still there but not
// matched is kept.
func (r *runner) forgetLeftovers() {
	for id, ps := range r.known {
		var keep []*Progress
		for _, p := range ps {
			if fi, ok := regular(p.Path); ok && identOf(p.Path, fi) == id {
				keep = append(keep, p)
				continue
			}
			r.log.Info("file gone; its progress is forgotten", "file", p.Path)
			r.forget[unitOf(p.Path, id)] = true
			r.begin()
		}
		if len(keep) == 0 {
			delete(r.known, id)
		} else {
			r.known[id] = keep
		}
	}
}

func (r *runner) renamed(st *fileState, path string) {
	if st.oldUnit == "" {
		st.oldUnit = st.unit
	}
	st.path, st.unit = path, unitOf(path, st.id)
	r.setDirty(st)
}

// drop forgets a file: it went away and was read to its end.
func (r *runner) drop(st *fileState) {
	st.close()
	delete(r.files, st.id)
	delete(r.dirty, st)
	r.forget[st.unit] = true
	if st.oldUnit != "" {
		r.forget[st.oldUnit] = true
	}
	r.begin()
}

// skip moves a file present at the first start to its end (start: end).
func (r *runner) skip(st *fileState) error {
	if st.offset > 0 || st.records > 0 || st.done {
		return nil // it has progress
	}
	if err := r.open1(st); err != nil {
		return nil
	}
	gz := r.isGzip(st)
	if gz {
		defer st.close() // read once; plain files stay open, to be followed
	}
	if err := r.read(st, gz, true); err != nil {
		return err
	}
	r.log.Info("start: end; file skipped to its end", "file", st.path, "offset", st.offset)
	return nil
}

// follow reads what is new in a matched file.
func (r *runner) follow(st *fileState, now time.Time) error {
	size := st.stat.Size()
	if size == st.failedSize && now.Sub(st.failedAt) < r.cfg.CloseInactive {
		return nil // could not be opened: tried again when it changes, or after a while
	}
	if st.gzKnown && st.gz || !st.gzKnown && size >= 2 && r.peekGzip(st) {
		// Read once complete: when it has not been written to for a poll.
		if st.done && size == st.size || now.Sub(st.stat.ModTime()) < r.cfg.PollInterval {
			return nil
		}
		if err := r.open1(st); err != nil {
			st.failedSize, st.failedAt = size, now
			return nil
		}
		defer st.close()
		return r.read(st, true, false)
	}
	if size == st.readSize && size >= st.offset {
		if st.f != nil && now.Sub(st.changed) >= r.cfg.CloseInactive {
			r.log.Debug("file inactive; closed until it grows", "file", st.path)
			st.close()
		}
		return nil
	}
	st.changed = now
	if st.f == nil {
		if err := r.open1(st); err != nil {
			st.failedSize, st.failedAt = size, now
			return nil
		}
	}
	return r.read(st, false, false)
}

// rotated handles a file no longer matched: renamed away or deleted. An
// open handle is read until the file has been inactive for CloseInactive,
// then to its very end, and the file is forgotten.
func (r *runner) rotated(st *fileState, now time.Time) error {
	if st.f == nil {
		r.log.Info("file gone", "file", st.path)
		r.drop(st)
		return nil
	}
	fi, err := st.f.Stat()
	if err != nil {
		r.readError(st, err)
		r.drop(st)
		return nil
	}
	if fi.Size() != st.readSize {
		st.changed = now
		return r.read(st, false, false)
	}
	if now.Sub(st.changed) < r.cfg.CloseInactive {
		return nil
	}
	if err := r.read(st, true, false); err != nil {
		return err
	}
	r.log.Info("rotated file read to its end", "file", st.path, "records", st.records)
	r.drop(st)
	return nil
}

// open1 opens a file's handle, checking that the path still holds the
// file.
func (r *runner) open1(st *fileState) error {
	if st.f != nil {
		return nil
	}
	f, err := os.Open(st.path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			r.readError(st, err)
		}
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		r.readError(st, err)
		return err
	}
	if identOf(st.path, fi) != st.id {
		_ = f.Close()
		return errors.New("replaced") // the next scan sees the new file
	}
	st.f = f
	return nil
}

func (r *runner) readError(st *fileState, err error) {
	r.s.metrics.Errors.WithLabelValues("read").Inc()
	r.log.Error("cannot read file", "file", st.path, "err", err)
}

// begin opens a transaction if none is open.
func (r *runner) begin() {
	if r.open {
		return
	}
	if err := r.w.Begin(); err != nil && r.fatal == nil {
		r.fatal = fmt.Errorf("file source: begin a transaction: %w", err)
	}
	r.open, r.began, r.n, r.objects, r.objectBytes = true, time.Now(), 0, 0, 0
}

func (r *runner) setDirty(st *fileState) {
	r.begin()
	r.dirty[st] = true
}

// full reports whether the open transaction should be committed before
// more is added to it.
func (r *runner) full() bool {
	return r.open && (r.n >= r.cfg.CommitRecords || time.Since(r.began) >= r.cfg.CommitInterval)
}

// commit commits the open transaction with the progress of every file it
// advanced.
func (r *runner) commit() error {
	if !r.open {
		return nil
	}
	if r.fatal != nil {
		return r.fatal
	}
	for u := range r.forget {
		r.w.SetProgress(r.pctx, u, nil)
	}
	for st := range r.dirty {
		if st.oldUnit != "" && st.oldUnit != st.unit {
			r.w.SetProgress(r.pctx, st.oldUnit, nil)
		}
		r.w.SetProgress(r.pctx, st.unit, st.progress().Marshal())
	}
	if r.marker {
		r.w.SetProgress(r.pctx, startUnit, []byte(`{"start":"end"}`))
	}
	timeout := r.s.deps.TransactionTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(r.pctx, timeout)
	defer cancel()
	c, err := r.w.Commit(ctx)
	r.open = false
	if err != nil {
		r.s.metrics.Errors.WithLabelValues("publish").Inc()
		if ingest.IsFenced(err) {
			return fmt.Errorf("file source %s: %w: %w", r.s.deps.Name, ErrFenced, err)
		}
		return fmt.Errorf("file source %s: %w", r.s.deps.Name, err)
	}
	for st := range r.dirty {
		st.oldUnit = ""
	}
	clear(r.dirty)
	clear(r.forget)
	r.marker = false
	r.s.metrics.Add(c)
	r.s.metrics.Objects.Add(float64(r.objects))
	r.s.metrics.ObjectBytes.Add(float64(r.objectBytes))
	if o := r.s.deps.Observer; o != nil {
		o.Committed(r.s.deps.Name, nil, c.Records)
	}
	return nil
}

// publish produces one frame in the open transaction.
func (r *runner) publish(st *fileState, f framing.Format, fr framing.Frame) {
	r.begin()
	origin := framing.Origin(st.path, f, fr)
	rec := &kgo.Record{Topic: r.s.topic, Value: fr.Data, Headers: []kgo.RecordHeader{
		{Key: streams.HeaderSource, Value: []byte(r.cfg.Source)},
		{Key: streams.HeaderOrigin, Value: []byte(origin)},
		{Key: streams.HeaderIngestTime, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
	}}
	if st.header != nil {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: streams.HeaderFileHeader, Value: st.header})
	}
	if fr.Err != nil {
		r.s.metrics.Errors.WithLabelValues("framing").Inc()
		r.log.Warn("event cannot be delimited; sent to the dead-letter topic", "origin", origin, "err", fr.Err)
		rec = streams.DeadLetter(r.s.deps.Topics.DLQ(), r.s.deps.Name, rec, fr.Err)
		if len(rec.Value) > 1024 {
			rec.Value = rec.Value[:1024] // enough to recognise it; the whole would not fit a Kafka message
		}
	} else {
		rec.Key = r.s.key(fr.Data)
	}
	r.w.Produce(r.pctx, rec)
	r.n++
}

// Origin formats where a frame was found; see framing.Origin.
func Origin(path string, f framing.Format, fr framing.Frame) string {
	return framing.Origin(path, f, fr)
}

// Decompress returns a reader of r's contents, gunzipping them if they are
// gzip; see framing.Decompress.
func Decompress(r io.Reader) (io.Reader, error) { return framing.Decompress(r) }
