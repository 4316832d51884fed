// Package framing splits a stream of JSON events into one frame per event
// without decoding them.
//
// It reads JSON lines, JSON arrays ([{...},{...}], as Prowler writes),
// CloudTrail log files ({"Records":[...]}) and concatenated JSON values
// (pretty-printed objects one after another). Frames are raw bytes: a frame
// that is not valid JSON is still returned, because deciding what is wrong
// with it, and reporting it, is the next stage's job. Framing itself fails
// only where a frame cannot be delimited: a value cut off by the end of the
// input, or a frame larger than the limit.
package framing

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// Format is how events are laid out in a stream.
type Format int

const (
	// Auto detects the format from the first bytes.
	Auto Format = iota
	// Lines is one event per line (JSON lines). Blank lines are skipped.
	Lines
	// Array is a JSON array of events.
	Array
	// Records is a CloudTrail log file: {"Records":[events]}.
	Records
	// Values is JSON values one after another, separated by whitespace,
	// such as pretty-printed objects.
	Values
	// CSV is one event per CSV record: a line, except that a line break
	// inside a double-quoted field does not end the record (RFC 4180).
	// Blank lines are skipped. Auto never detects it from the content;
	// ForPath chooses it for .csv files.
	CSV
)

var formatNames = map[Format]string{Auto: "auto", Lines: "lines", Array: "array", Records: "records", Values: "values", CSV: "csv"}

func (f Format) String() string {
	if s, ok := formatNames[f]; ok {
		return s
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses a format name.
func ParseFormat(s string) (Format, error) {
	for f, n := range formatNames {
		if n == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("format %q must be auto, lines, array, records, values or csv", s)
}

// ForPath returns the format to read the file at path with: f, unless f is
// Auto and the name ends in .csv (or .csv.gz), which makes it CSV.
func ForPath(path string, f Format) Format {
	if f != Auto {
		return f
	}
	name := strings.ToLower(path)
	if strings.HasSuffix(name, ".csv") || strings.HasSuffix(name, ".csv.gz") {
		return CSV
	}
	return Auto
}

// DefaultHeaderLine reports whether files of source read in format f begin
// with a header line that names their fields, unless configured otherwise:
// CSV files do, and so do VPC Flow Logs files ("version account-id ...").
func DefaultHeaderLine(source string, f Format) bool {
	return f == CSV || source == "vpcflow"
}

// MaxHeaderLine is the longest first line FileHeader takes for a header.
const MaxHeaderLine = 64 << 10

// FileHeader returns the first line of r, without its line end, and a
// reader of all of r, that line included: the header goes with every
// record of the file, and the line is also read as a record of its own, so
// that a file without a header loses nothing (decoders skip a header line
// they recognise). A first line longer than MaxHeaderLine is no header:
// FileHeader returns nil for it.
func FileHeader(r io.Reader) ([]byte, io.Reader, error) {
	br := bufio.NewReaderSize(r, MaxHeaderLine+1)
	peek, err := br.Peek(MaxHeaderLine + 1)
	if err != nil && err != io.EOF {
		return nil, br, err
	}
	return headerLine(peek), br, nil
}

// HeaderLine returns the first line of the splitter's input as FileHeader
// does, without consuming it. Call it before the first Next.
func (s *Splitter) HeaderLine() ([]byte, error) {
	peek := s.peek(MaxHeaderLine + 1)
	if len(peek) <= MaxHeaderLine && s.err != nil && s.err != io.EOF {
		return nil, s.err
	}
	return headerLine(peek), nil
}

// headerLine is the header line at the start of peek, MaxHeaderLine+1 bytes
// of input (or all of it).
func headerLine(peek []byte) []byte {
	peek = bytes.TrimPrefix(peek, utf8BOM)
	i := bytes.IndexByte(peek, '\n')
	switch {
	case i >= 0:
		peek = peek[:i]
	case len(peek) > MaxHeaderLine:
		return nil
	}
	return append([]byte{}, bytes.TrimRight(peek, "\r")...) // not nil: a header, even if empty
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ErrTruncated is set on a frame that the end of the input cut off.
var ErrTruncated = errors.New("input ends inside a JSON value")

// ErrTooLarge is set on a frame larger than the limit; the frame's Data holds
// only its first bytes.
var ErrTooLarge = errors.New("event is larger than the limit")

// DefaultMaxFrame is the default frame size limit, below Kafka's default
// message size limit of 1 MiB.
const DefaultMaxFrame = 1000 * 1000

// Frame is one event's bytes and where it was found.
type Frame struct {
	// Data is the event's bytes: a slice of the block the input was read
	// into, with no room to grow into the next frame. Keeping one keeps
	// its block (see OnRetire for recycling blocks).
	Data []byte
	// Line is the 1-based line the frame starts on.
	Line int
	// Offset is the byte offset the frame starts at.
	Offset int64
	// Index is the frame's position in an Array or Records file, from 0;
	// -1 in other formats.
	Index int
	// Err, if not nil, says why the frame could not be delimited properly
	// (ErrTruncated, ErrTooLarge, or an unexpected byte in the file's
	// structure). Data then holds what was read.
	Err error
}

// Splitter reads frames from a stream.
type Splitter struct {
	// The input (blocks.go): from src, read into blocks of size bytes
	// (growing), or from blocks.
	src    io.Reader
	blocks BlockReader
	size   int
	retire func([]byte)
	buf    []byte // the current block
	pos    int    // the next unread byte in buf
	end    int    // the end of the input in buf
	err    error  // the input's error, after buf[pos:end]
	cut    bool   // a frame was cut from buf

	// The frame being cut: buf[fs:fs+fn], or big once it is over the
	// limit.
	fs       int // -1 between frames
	fn       int
	overflow bool
	big      []byte

	format  Format
	max     int
	off     int64
	line    int
	started bool
	inArray bool // inside the event array of Array or Records
	closed  bool // after the end of the top-level structure
	index   int
}

// peekSize is how far the splitter looks ahead to tell a format.
const peekSize = 64 << 10

// New returns a splitter over r. maxFrame <= 0 means DefaultMaxFrame.
func New(r io.Reader, f Format, maxFrame int) *Splitter {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &Splitter{src: r, size: firstBlock, fs: -1, format: f, max: maxFrame, line: 1}
}

// Format returns the stream's format; after the first call to Next it is
// the detected one.
func (s *Splitter) Format() Format { return s.format }

func (s *Splitter) readByte() (byte, error) {
	b, err := s.buffered()
	if err != nil {
		return 0, err
	}
	s.pos++
	s.off++
	if b[0] == '\n' {
		s.line++
	}
	return b[0], nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// skipBOM skips a UTF-8 byte order mark at the start of the stream.
func (s *Splitter) skipBOM() {
	if bytes.Equal(s.peek(3), utf8BOM) {
		s.discard(3)
	}
}

// skipSpace skips whitespace and returns the next byte without consuming
// it.
func (s *Splitter) skipSpace() (byte, error) {
	for {
		b, err := s.buffered()
		if err != nil {
			return 0, err
		}
		i := 0
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i < len(b) {
			c := b[i]
			s.advance(b, i, false)
			return c, nil
		}
		s.advance(b, i, false)
	}
}

// advance consumes the first n bytes of b (from buffered), keeping them in
// the frame if keep is set.
func (s *Splitter) advance(b []byte, n int, keep bool) {
	if n == 0 {
		return
	}
	if keep {
		s.keep(n)
	}
	s.line += bytes.Count(b[:n], newline)
	s.off += int64(n)
	s.pos += n
}

var newline = []byte{'\n'}

// detect chooses the format from the first bytes.
func (s *Splitter) detect() {
	b, err := s.skipSpace()
	if err != nil {
		s.format = Lines
		return
	}
	switch b {
	case '[':
		s.format = Array
		return
	case '{':
	default:
		s.format = Lines
		return
	}
	peek := s.peek(peekSize)
	end, complete := scanValue(peek)
	// A CloudTrail log file is one {"Records":[...]} object. If another
	// value follows the first, the file is a sequence of such objects
	// (lines or values), each a record of its own.
	if isRecordsPrefix(peek) && !(complete && len(bytes.TrimLeft(peek[end:], " \t\r\n")) > 0) {
		s.format = Records
		return
	}
	// A first value that ends on its first line means JSON lines; one that
	// goes on over more lines means pretty-printed values.
	if !complete {
		if bytes.IndexByte(peek, '\n') < 0 {
			s.format = Lines // one long line
		} else {
			s.format = Values
		}
		return
	}
	if bytes.IndexByte(peek[:end], '\n') >= 0 {
		s.format = Values
	} else {
		s.format = Lines
	}
}

// isRecordsPrefix reports whether b begins with {"Records" : [.
func isRecordsPrefix(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	if !bytes.HasPrefix(b, []byte(`"Records"`)) {
		return false
	}
	b = bytes.TrimLeft(b[len(`"Records"`):], " \t\r\n")
	if len(b) == 0 || b[0] != ':' {
		return false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	return len(b) > 0 && b[0] == '['
}

// scanValue finds the end of the JSON value at the start of b, by structure
// only. It returns the end offset and whether the value is complete in b.
func scanValue(b []byte) (int, bool) {
	if len(b) > 0 && (b[0] == '{' || b[0] == '[' || b[0] == '"') {
		var st scanState
		return scanChunk(b, &st)
	}
	depth, inStr, esc := 0, false, false
	for i, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
				if depth == 0 {
					return i + 1, true
				}
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth <= 0 {
				return i + 1, true
			}
		case depth == 0 && (isSpace(c) || c == ','):
			if i == 0 {
				return 0, false
			}
			return i, true
		}
	}
	return len(b), false
}

// Next returns the next frame, or io.EOF after the last. Other errors are
// read errors of the underlying reader.
func (s *Splitter) Next() (Frame, error) {
	if !s.started {
		s.started = true
		s.skipBOM()
		if s.format == Auto {
			s.detect()
		}
		if err := s.enter(); err != nil {
			return Frame{}, err
		}
	}
	switch s.format {
	case Lines:
		return s.nextLine()
	case CSV:
		return s.nextCSV()
	case Array, Records:
		return s.nextElement()
	default:
		return s.nextValue()
	}
}

// enter consumes the opening of an Array or Records file.
func (s *Splitter) enter() error {
	switch s.format {
	case Array:
		b, err := s.skipSpace()
		if err != nil {
			return eofOr(err)
		}
		if b == '[' {
			_, _ = s.readByte()
			s.inArray = true
		}
	case Records:
		peek := s.peek(peekSize)
		if !isRecordsPrefix(peek) {
			return nil // not actually a Records file: frames report it
		}
		for {
			b, err := s.readByte()
			if err != nil {
				return eofOr(err)
			}
			if b == '[' {
				s.inArray = true
				return nil
			}
		}
	}
	return nil
}

func eofOr(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

// begin starts a frame at the next byte of input.
func (s *Splitter) begin() Frame {
	s.fs, s.fn, s.overflow, s.big = s.pos, 0, false, nil
	return Frame{Line: s.line, Offset: s.off, Index: -1}
}

// finish ends the frame begun by begin.
func (s *Splitter) finish(f Frame) Frame {
	if s.overflow {
		f.Data = s.big[:len(s.big):len(s.big)]
		if f.Err == nil {
			f.Err = ErrTooLarge
		}
	} else {
		f.Data = s.buf[s.fs : s.fs+s.fn : s.fs+s.fn]
		if s.fn > 0 {
			s.cut = true
		}
	}
	s.fs, s.overflow, s.big = -1, false, nil
	return f
}

// trimCR drops the carriage returns that end the frame.
func (s *Splitter) trimCR() {
	f := s.frameBytes()
	if len(f) > 0 && f[len(f)-1] == '\r' { // else there is nothing to trim: the usual line
		s.trimFrame(len(bytes.TrimRight(f, "\r")))
	}
}

// blank reports whether the frame is only whitespace (and not over the
// limit).
func (s *Splitter) blank() bool {
	if s.overflow {
		return false
	}
	f := s.frameBytes()
	if len(f) > 0 && !isSpace(f[0]) {
		return false // the usual line
	}
	return len(bytes.TrimSpace(f)) == 0
}

func (s *Splitter) nextLine() (Frame, error) {
	for {
		f := s.begin()
		for {
			b, err := s.buffered()
			if err == io.EOF {
				if s.fn == 0 && !s.overflow {
					return Frame{}, io.EOF
				}
				break
			}
			if err != nil {
				return Frame{}, err
			}
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				s.take(i)
				s.discard(1)
				s.line++
				break
			}
			s.take(len(b))
		}
		s.trimCR()
		if s.blank() {
			continue
		}
		return s.finish(f), nil
	}
}

// nextCSV reads one CSV record: lines up to one that leaves no double-quoted
// field open. A quote inside a quoted field is written twice, which leaves
// the count of quotes even, so an odd count means a field is still open.
func (s *Splitter) nextCSV() (Frame, error) {
	for {
		f := s.begin()
		quotes := 0
		for {
			b, err := s.buffered()
			if err == io.EOF {
				if s.fn == 0 && !s.overflow {
					return Frame{}, io.EOF
				}
				if quotes%2 == 1 {
					f.Err = ErrOpenQuote
				}
				break
			}
			if err != nil {
				return Frame{}, err
			}
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				quotes += bytes.Count(b, quote)
				s.take(len(b))
				continue
			}
			quotes += bytes.Count(b[:i], quote)
			s.take(i)
			if quotes%2 == 1 && !s.overflow {
				// A line break inside a quoted field: part of the record.
				s.take(1)
				s.line++
				continue
			}
			s.discard(1)
			s.line++
			break
		}
		s.trimCR()
		if s.blank() {
			continue
		}
		return s.finish(f), nil
	}
}

var quote = []byte{'"'}

// ErrOpenQuote is set on a CSV frame that the end of the input cut off
// inside a quoted field.
var ErrOpenQuote = errors.New("input ends inside a quoted CSV field")

// nextValue reads one whitespace-separated JSON value (Values format, and
// whatever follows the end of an array).
func (s *Splitter) nextValue() (Frame, error) {
	if _, err := s.skipSpace(); err != nil {
		return Frame{}, err
	}
	f := s.begin()
	if err := s.scan(); err != nil {
		if err != io.EOF {
			return Frame{}, err
		}
		f.Err = ErrTruncated
	}
	return s.finish(f), nil
}

// nextElement reads one element of the event array.
func (s *Splitter) nextElement() (Frame, error) {
	if !s.inArray {
		if s.closed {
			// After the array: only whitespace, or for Records the
			// closing brace, should follow.
			for {
				b, err := s.skipSpace()
				if err != nil {
					return Frame{}, err
				}
				if s.format == Records && b == '}' {
					_, _ = s.readByte()
					continue
				}
				if s.format == Records && b == '{' {
					// Another log file, as when several are concatenated.
					// (A short look ahead: this runs for every value after
					// the array.)
					if isRecordsPrefix(s.peek(64)) {
						if err := s.enter(); err != nil {
							return Frame{}, err
						}
						if s.inArray {
							s.closed = false
							return s.nextElement()
						}
					}
				}
				if b == '[' && s.format == Array {
					_, _ = s.readByte()
					s.inArray, s.closed = true, false
					return s.nextElement()
				}
				f, err := s.nextValue()
				if err == nil && f.Err == nil {
					f.Err = fmt.Errorf("unexpected data after the end of the %s", s.format)
				}
				return f, err
			}
		}
		// The file did not open as expected: frame it as values.
		return s.nextValue()
	}
	for {
		b, err := s.skipSpace()
		if err == io.EOF {
			s.inArray = false
			f := s.begin()
			f.Index = s.index
			f.Err = fmt.Errorf("%w: the %s is not closed after %d events", ErrTruncated, s.format, s.index)
			return s.finish(f), nil
		}
		if err != nil {
			return Frame{}, err
		}
		switch b {
		case ',':
			_, _ = s.readByte()
			continue
		case ']':
			_, _ = s.readByte()
			s.inArray, s.closed = false, true
			return s.nextElement()
		}
		f := s.begin()
		f.Index = s.index
		s.index++
		if err := s.scan(); err != nil {
			if err != io.EOF {
				return Frame{}, err
			}
			f.Err = ErrTruncated
			s.inArray = false // the input has ended: nothing more to report
		}
		return s.finish(f), nil
	}
}

// scan consumes one JSON value into the frame buffer, by structure only.
// It returns io.EOF if the input ends inside the value.
func (s *Splitter) scan() error {
	b, err := s.buffered()
	if err != nil {
		return err
	}
	switch b[0] {
	case '{', '[', '"':
		return s.scanStructured()
	}
	// A scalar (or a stray byte): its first byte is always taken, so that
	// every call makes progress, then up to a delimiter.
	s.advance(b, 1, true)
	for {
		b, err := s.buffered()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if j := bytes.IndexAny(b, " \t\n\r,]}"); j >= 0 {
			s.advance(b, j, true)
			return nil
		}
		s.advance(b, len(b), true)
	}
}

// scanStructured consumes an object, array or string, a buffered chunk at a
// time (see scanChunk).
func (s *Splitter) scanStructured() error {
	var st scanState
	for {
		b, err := s.buffered()
		if err != nil {
			return err
		}
		if n, done := scanChunk(b, &st); done {
			s.advance(b, n, true)
			return nil
		}
		s.advance(b, len(b), true)
	}
}

// Origin formats where a frame was found: path:line for lines and values,
// path:[i] for arrays, path:Records[i] for CloudTrail log files.
func Origin(path string, f Format, fr Frame) string {
	return string(AppendOrigin(make([]byte, 0, len(path)+24), path, f, fr))
}

// AppendOrigin appends Origin(path, f, fr) to dst, for sources that keep
// origins in buffers of their own.
func AppendOrigin(dst []byte, path string, f Format, fr Frame) []byte {
	dst = append(dst, path...)
	switch {
	case fr.Index >= 0 && f == Records:
		dst = append(dst, ":Records["...)
		dst = strconv.AppendInt(dst, int64(fr.Index), 10)
		return append(dst, ']')
	case fr.Index >= 0:
		dst = append(dst, ":["...)
		dst = strconv.AppendInt(dst, int64(fr.Index), 10)
		return append(dst, ']')
	}
	dst = append(dst, ':')
	return strconv.AppendInt(dst, int64(fr.Line), 10)
}

// Decompress returns a reader of r's contents, gunzipping them (with a
// *gzip.Reader) if they start with the gzip magic number. A *bufio.Reader
// is read as it is, not buffered again.
func Decompress(r io.Reader) (io.Reader, error) {
	br, ok := r.(*bufio.Reader) // one the caller has peeked in already
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}
