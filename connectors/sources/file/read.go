package file

import (
	"bytes"
	"errors"
	"hash/fnv"
	"io"
	"os"
	"strings"

	"github.com/vigilsec/vigil/connectors/sources/framing"
)

// read publishes what is new in a file from its position; st.f is open.
// final means the file is taken to be complete (a one-shot read, a gzip
// file, a rotated file at its end): what its end cuts off is published as
// is (to the dead-letter topic if it cannot be delimited). Otherwise only
// complete records are read: the rest waits for more data. discard moves
// the position without publishing (start: end). The error returned is
// fatal (a commit failed); problems with the file itself are logged and
// counted.
func (r *runner) read(st *fileState, final, discard bool) error {
	fi, err := st.f.Stat()
	if err != nil {
		r.readError(st, err)
		return nil
	}
	size := fi.Size()
	if st.fpLen > 0 {
		fp, err := fingerprint(st.f, st.fpLen)
		if err != nil {
			r.readError(st, err)
			return nil
		}
		if fp != st.fp {
			r.log.Warn("file replaced or rewritten (its beginning changed); reading it again from its beginning", "file", st.path)
			r.restart(st)
			st.gzKnown = false
		}
	}
	if st.fpLen < fpMax && size > int64(st.fpLen) {
		n := int(min(size, fpMax))
		fp, err := fingerprint(st.f, n)
		if err != nil {
			r.readError(st, err)
			return nil
		}
		st.fp, st.fpLen = fp, n
	}
	if !st.gzKnown && (size >= 2 || final) {
		var magic [2]byte
		n, _ := st.f.ReadAt(magic[:], 0)
		st.gz, st.gzKnown = n == 2 && magic[0] == 0x1f && magic[1] == 0x8b, true
	}
	if st.gz {
		return r.readGzip(st, size, discard)
	}
	return r.readPlain(st, size, final, discard)
}

// peekGzip reports whether the file at st's path is gzip-compressed.
func (r *runner) peekGzip(st *fileState) bool {
	if st.f == nil {
		if err := r.open1(st); err != nil {
			return false
		}
		defer st.close()
	}
	return r.isGzip(st)
}

// isGzip is peekGzip for a file whose handle is open.
func (r *runner) isGzip(st *fileState) bool {
	if st.gzKnown {
		return st.gz
	}
	var magic [2]byte
	if n, _ := st.f.ReadAt(magic[:], 0); n == 2 {
		st.gz, st.gzKnown = magic[0] == 0x1f && magic[1] == 0x8b, true
	}
	return st.gz
}

// restart moves st back to the start of its file.
func (r *runner) restart(st *fileState) {
	st.offset, st.line, st.index, st.records, st.inArray, st.done = 0, 1, 0, 0, false, false
	st.format = framing.ForPath(st.path, r.s.format)
	st.header, st.headerRead = nil, false
	st.fp, st.fpLen, st.size = 0, 0, 0
	r.setDirty(st)
}

// fingerprint hashes the first n bytes of f.
func fingerprint(f *os.File, n int) (uint64, error) {
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil {
		if err == io.EOF {
			return 0, nil // shorter than it was: a fingerprint of 0 never matches
		}
		return 0, err
	}
	h := fnv.New64a()
	_, _ = h.Write(b)
	return h.Sum64(), nil
}

func (r *runner) readPlain(st *fileState, size int64, final, discard bool) error {
	if size < st.offset {
		r.log.Warn("file truncated; reading it again from its beginning", "file", st.path, "size", size, "offset", st.offset)
		r.restart(st)
	}
	st.readSize = size
	if size == st.offset {
		if final && !st.done {
			st.done, st.size = true, size
			r.setDirty(st)
			if !discard {
				r.objects++
			}
		}
		return nil
	}
	format := st.format
	end := size
	if !final {
		if format == framing.Auto {
			format = detect(st.f, size)
		}
		if format == framing.Lines || format == framing.CSV {
			// Only complete lines; a CSV record open at the end is held
			// back below.
			var err error
			if end, err = lastLineEnd(st.f, st.offset, size); err != nil {
				r.readError(st, err)
				return nil
			}
			if end <= st.offset {
				return nil
			}
		}
	}
	base, baseLine, baseIndex := st.offset, st.line, st.index
	if base == 0 {
		baseIndex = 0
	}
	cnt := &counter{r: io.NewSectionReader(st.f, base, end-base)}
	var in io.Reader = cnt
	prefix := ""
	if base > 0 && st.inArray {
		// The splitter starts at the beginning of a structure: give it
		// the opening again, and count positions after it.
		switch st.format {
		case framing.Array:
			prefix = "["
		case framing.Records:
			prefix = `{"Records":[`
		}
		in = io.MultiReader(strings.NewReader(prefix), cnt)
	}
	if r.s.headerLine(st.format) {
		if base == 0 {
			hdr, rd, err := framing.FileHeader(in)
			if err != nil {
				r.readError(st, err)
				return nil
			}
			st.header, st.headerRead, in = hdr, true, rd
		} else if !st.headerRead {
			hdr, _, err := framing.FileHeader(io.NewSectionReader(st.f, 0, size))
			if err != nil {
				r.readError(st, err)
				return nil
			}
			st.header, st.headerRead = hdr, true
		}
	}
	sp := framing.New(in, st.format, r.cfg.MaxRecordBytes)
	fix := func(fr *framing.Frame) {
		fr.Offset += base - int64(len(prefix))
		fr.Line += baseLine - 1
		if fr.Index >= 0 {
			fr.Index += baseIndex
		}
	}
	before := st.records
	out, err := r.pump(st, sp, fix, final, discard, 0)
	if err != nil {
		return err
	}
	if st.format == framing.Auto && st.offset > 0 {
		st.format = sp.Format()
	}
	if out.eof {
		st.offset, st.line, st.inArray = end, baseLine+cnt.nl, false
		if st.format == framing.Auto && end > 0 {
			st.format = sp.Format()
		}
		if final {
			st.done = true
			if !discard {
				r.objects++
			}
		}
		r.setDirty(st)
	}
	st.size = size
	if out.err != nil {
		// An I/O error: the position stays before the record being read,
		// which is read again at the next poll.
		r.readError(st, out.err)
		st.readSize = -1
	}
	if !discard {
		r.objectBytes += st.offset - base
		r.logRead(st, st.records-before, final && out.eof)
	}
	return nil
}

func (r *runner) readGzip(st *fileState, size int64, discard bool) error {
	switch {
	case st.done && size == st.size:
		return nil
	case size < st.size:
		r.log.Warn("gzip file shrank; reading it again from its beginning", "file", st.path)
		r.restart(st)
	case st.records > 0:
		r.log.Info("resuming gzip file", "file", st.path, "skip_records", st.records)
	}
	st.done, st.offset, st.line = false, 0, 1
	fr := &fileErr{r: io.NewSectionReader(st.f, 0, size)}
	fail := func(err error) {
		kind := "decompress"
		if fr.err != nil {
			kind = "read"
		}
		r.s.metrics.Errors.WithLabelValues(kind).Inc()
		r.log.Error("cannot read gzip file; what was read is published, the rest skipped", "file", st.path, "err", err)
		st.done, st.size = true, size
		r.setDirty(st)
	}
	rd, err := framing.Decompress(fr)
	if err != nil {
		fail(err)
		return nil
	}
	cnt := &counter{r: rd}
	var in io.Reader = cnt
	st.header = nil
	if r.s.headerLine(st.format) {
		if st.header, in, err = framing.FileHeader(in); err != nil {
			fail(err)
			return nil
		}
	}
	// The format found at the first read, so that records are counted
	// the same way when some are skipped.
	sp := framing.New(in, st.format, r.cfg.MaxRecordBytes)
	before := st.records
	out, err := r.pump(st, sp, func(*framing.Frame) {}, true, discard, st.records)
	if err != nil {
		return err
	}
	st.format = sp.Format()
	switch {
	case out.err != nil:
		fail(out.err)
	case out.eof:
		st.done, st.size, st.offset, st.line = true, size, cnt.n, 1+cnt.nl
		r.setDirty(st)
		if !discard {
			r.objects++
			r.objectBytes += size
		}
	}
	if !discard {
		r.logRead(st, st.records-before, out.eof)
	}
	return nil
}

func (r *runner) logRead(st *fileState, n int64, done bool) {
	switch {
	case done:
		r.log.Info("file read", "file", st.path, "records", n)
	case n > 0:
		r.log.Debug("file followed", "file", st.path, "records", n, "offset", st.offset)
	}
}

// outcome is how pump ended.
type outcome struct {
	eof     bool  // the input was read to its end
	stopped bool  // the source is stopping
	err     error // the input could not be read
}

// pump publishes the frames of sp. A frame is published once the next one
// (or the end) has been read, so that the position recorded with it is
// the start of the next record; commits happen between records. fix turns
// the frame's position into the file's. skip frames are passed over
// first (a gzip file resumed). Not final, a frame that the end of the
// input cut off is held back: the position stays at its start.
func (r *runner) pump(st *fileState, sp *framing.Splitter, fix func(*framing.Frame), final, discard bool, skip int64) (outcome, error) {
	var prev framing.Frame
	have := false
	for {
		fr, err := sp.Next()
		if err == nil && skip > 0 {
			skip--
			continue
		}
		if have {
			if err != nil && err != io.EOF && !st.gz {
				return outcome{err: err}, nil // prev's end is unknown: it is read again
			}
			if !discard {
				r.publish(st, sp.Format(), prev)
			}
			st.records++
			if prev.Index >= 0 {
				st.index = prev.Index + 1
			}
			have = false
		}
		if err == io.EOF {
			return outcome{eof: true}, nil
		}
		if err != nil {
			return outcome{err: err}, nil
		}
		fix(&fr)
		if st.format == framing.Auto {
			// Known from the first frame on: a commit in this pass must
			// record it, or a run resumed from that commit would detect a
			// format from the middle of the file.
			st.format = sp.Format()
		}
		st.offset, st.line, st.inArray = fr.Offset, fr.Line, fr.Index >= 0
		if fr.Index >= 0 {
			st.index = fr.Index
		}
		r.setDirty(st)
		if !final && (errors.Is(fr.Err, framing.ErrTruncated) || errors.Is(fr.Err, framing.ErrOpenQuote)) {
			return outcome{}, nil
		}
		if r.stopped() {
			return outcome{stopped: true}, nil
		}
		if r.full() {
			if err := r.commit(); err != nil {
				return outcome{}, err
			}
		}
		prev, have = fr, true
	}
}

// detect returns the format the splitter detects at the start of f.
func detect(f *os.File, size int64) framing.Format {
	sp := framing.New(io.NewSectionReader(f, 0, min(size, 64<<10)), framing.Auto, 0)
	_, _ = sp.Next()
	return sp.Format()
}

// lastLineEnd returns the offset just after the last line end in [from,
// to), or from if there is none.
func lastLineEnd(f *os.File, from, to int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := to; end > from; {
		start := max(from, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return from, nil
}

// counter counts the bytes and line ends read through it.
type counter struct {
	r  io.Reader
	n  int64
	nl int
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.nl += bytes.Count(p[:n], newline)
	return n, err
}

var newline = []byte{'\n'}

// fileErr remembers an error of the file itself, to tell it from a
// decompression error.
type fileErr struct {
	r   io.Reader
	err error
}

func (f *fileErr) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF {
		f.err = err
	}
	return n, err
}
