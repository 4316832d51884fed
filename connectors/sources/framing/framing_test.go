package framing

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/gzip"
)

// want is one expected frame. err, when set, must match Frame.Err with
// errors.Is; errText, when set, must be contained in Frame.Err's message.
// When both are zero, Frame.Err must be nil.
type want struct {
	data    string
	line    int
	offset  int64
	index   int
	err     error
	errText string
}

// splitAll reads every frame of input. It fails the test if the splitter
// returns an error other than io.EOF, or does not stop.
func splitAll(t testing.TB, r io.Reader, size int, f Format, maxFrame int) ([]Frame, Format) {
	t.Helper()
	sp := New(r, f, maxFrame)
	var frames []Frame
	for i := 0; ; i++ {
		if i > size+2 {
			t.Fatalf("splitter did not stop after %d frames from %d bytes", i, size)
		}
		fr, err := sp.Next()
		if err == io.EOF {
			return frames, sp.Format()
		}
		if err != nil {
			t.Fatalf("Next after %d frames: unexpected error %v", len(frames), err)
		}
		frames = append(frames, fr)
	}
}

func split(t testing.TB, input string, f Format, maxFrame int) ([]Frame, Format) {
	t.Helper()
	return splitAll(t, strings.NewReader(input), len(input), f, maxFrame)
}

func checkFrames(t *testing.T, got []Frame, wants []want) {
	t.Helper()
	for i := 0; i < len(got) || i < len(wants); i++ {
		if i >= len(got) {
			t.Errorf("frame %d missing: want %+v", i, wants[i])
			continue
		}
		g := got[i]
		if i >= len(wants) {
			t.Errorf("unexpected extra frame %d: Data=%q Line=%d Offset=%d Index=%d Err=%v", i, g.Data, g.Line, g.Offset, g.Index, g.Err)
			continue
		}
		w := wants[i]
		if string(g.Data) != w.data {
			t.Errorf("frame %d: Data = %q, want %q", i, g.Data, w.data)
		}
		if g.Line != w.line {
			t.Errorf("frame %d (%q): Line = %d, want %d", i, g.Data, g.Line, w.line)
		}
		if g.Offset != w.offset {
			t.Errorf("frame %d (%q): Offset = %d, want %d", i, g.Data, g.Offset, w.offset)
		}
		if g.Index != w.index {
			t.Errorf("frame %d (%q): Index = %d, want %d", i, g.Data, g.Index, w.index)
		}
		switch {
		case w.err == nil && w.errText == "":
			if g.Err != nil {
				t.Errorf("frame %d (%q): Err = %v, want nil", i, g.Data, g.Err)
			}
		case g.Err == nil:
			t.Errorf("frame %d (%q): Err = nil, want %v %q", i, g.Data, w.err, w.errText)
		default:
			if w.err != nil && !errors.Is(g.Err, w.err) {
				t.Errorf("frame %d (%q): Err = %v, want it to wrap %v", i, g.Data, g.Err, w.err)
			}
			if w.errText != "" && !strings.Contains(g.Err.Error(), w.errText) {
				t.Errorf("frame %d (%q): Err = %q, want it to contain %q", i, g.Data, g.Err, w.errText)
			}
		}
	}
}

const bom = "\xEF\xBB\xBF"

type splitCase struct {
	name       string
	input      string
	format     Format
	max        int    // 0: DefaultMaxFrame
	wantFormat Format // the format after the first Next
	frames     []want
}

var splitCases = []splitCase{
	// JSON lines.
	{
		name: "lines/auto", input: "{\"a\":1}\n{\"b\":2}\n", format: Auto, wantFormat: Lines,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 0, index: -1},
			{data: `{"b":2}`, line: 2, offset: 8, index: -1},
		},
	},
	{
		name: "lines/no final newline", input: "{\"a\":1}\n{\"b\":2}", format: Lines, wantFormat: Lines,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 0, index: -1},
			{data: `{"b":2}`, line: 2, offset: 8, index: -1},
		},
	},
	{
		// 0: {"a":1} \r \n  9: \r \n  11: sp sp \n  14: {"b":2} \r \n  23: \n  24: \t \n  26: EOF
		name: "lines/blank lines and CRLF", input: "{\"a\":1}\r\n\r\n  \n{\"b\":2}\r\n\n\t\n", format: Lines, wantFormat: Lines,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 0, index: -1},
			{data: `{"b":2}`, line: 4, offset: 14, index: -1},
		},
	},
	{
		// Auto detection skips the blank lines before the first event.
		name: "lines/auto leading blank lines", input: "\n\r\n  {\"a\":1}\r\n{\"b\":\"x\\\"\"}\r\n", format: Auto, wantFormat: Lines,
		frames: []want{
			{data: `{"a":1}`, line: 3, offset: 5, index: -1},
			{data: `{"b":"x\""}`, line: 4, offset: 14, index: -1},
		},
	},
	{
		name: "lines/explicit keeps leading spaces", input: "  {\"a\":1}\n", format: Lines, wantFormat: Lines,
		frames: []want{{data: `  {"a":1}`, line: 1, offset: 0, index: -1}},
	},
	{
		name: "lines/BOM auto", input: bom + "{\"a\":1}\n{\"b\":2}\n", format: Auto, wantFormat: Lines,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 3, index: -1},
			{data: `{"b":2}`, line: 2, offset: 11, index: -1},
		},
	},
	{
		name: "lines/BOM explicit", input: bom + "{\"a\":1}\n{\"b\":2}\n", format: Lines, wantFormat: Lines,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 3, index: -1},
			{data: `{"b":2}`, line: 2, offset: 11, index: -1},
		},
	},
	{
		// Lines does not look inside the line: a cut-off last line is a
		// frame like any other, for the decoder to reject.
		name: "lines/cut-off last line", input: "{\"a\":1}\n{\"b\":", format: Lines, wantFormat: Lines,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 0, index: -1},
			{data: `{"b":`, line: 2, offset: 8, index: -1},
		},
	},
	{
		name: "lines/scalars auto", input: "\"a\"\n42\n", format: Auto, wantFormat: Lines,
		frames: []want{
			{data: `"a"`, line: 1, offset: 0, index: -1},
			{data: `42`, line: 2, offset: 4, index: -1},
		},
	},
	{
		// 0: {"a":"bcdef"} \n  14: {} \n  17: {"g":1} \r \n  26: \n  27: EOF
		name: "lines/too large", input: "{\"a\":\"bcdef\"}\n{}\n{\"g\":1}\r\n\n", format: Lines, max: 5, wantFormat: Lines,
		frames: []want{
			{data: `{"a":`, line: 1, offset: 0, index: -1, err: ErrTooLarge},
			{data: `{}`, line: 2, offset: 14, index: -1},
			{data: `{"g":`, line: 3, offset: 17, index: -1, err: ErrTooLarge},
		},
	},
	{
		name: "lines/exactly max", input: "{\"a\":1}\n", format: Lines, max: 7, wantFormat: Lines,
		frames: []want{{data: `{"a":1}`, line: 1, offset: 0, index: -1}},
	},
	{
		name: "lines/empty", input: "", format: Lines, wantFormat: Lines,
	},
	{
		name: "auto/empty", input: "", format: Auto, wantFormat: Lines,
	},
	{
		name: "auto/whitespace only", input: " \r\n\t\n", format: Auto, wantFormat: Lines,
	},
	{
		name: "auto/BOM only", input: bom, format: Auto, wantFormat: Lines,
	},

	// JSON arrays.
	{
		name: "array/auto", input: `[{"a":1},{"b":2}]`, format: Auto, wantFormat: Array,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 1, index: 0},
			{data: `{"b":2}`, line: 1, offset: 9, index: 1},
		},
	},
	{
		name: "array/scalars", input: `[1, "two" ,true,null,-3.5e2 ]`, format: Auto, wantFormat: Array,
		frames: []want{
			{data: `1`, line: 1, offset: 1, index: 0},
			{data: `"two"`, line: 1, offset: 4, index: 1},
			{data: `true`, line: 1, offset: 11, index: 2},
			{data: `null`, line: 1, offset: 16, index: 3},
			{data: `-3.5e2`, line: 1, offset: 21, index: 4},
		},
	},
	{
		name: "array/nested", input: `[[1,[2]],{"a":{"b":[3,{}]}},[]]`, format: Array, wantFormat: Array,
		frames: []want{
			{data: `[1,[2]]`, line: 1, offset: 1, index: 0},
			{data: `{"a":{"b":[3,{}]}}`, line: 1, offset: 9, index: 1},
			{data: `[]`, line: 1, offset: 28, index: 2},
		},
	},
	{
		// 0:[  1:"a]b"  6:,  7:"c\"]d"  14:,  15:"e\\"  20:,  21:{"k":"}{][\""}  35:]
		name: "array/strings with brackets and quotes", input: `["a]b","c\"]d","e\\",{"k":"}{][\""}]`, format: Auto, wantFormat: Array,
		frames: []want{
			{data: `"a]b"`, line: 1, offset: 1, index: 0},
			{data: `"c\"]d"`, line: 1, offset: 7, index: 1},
			{data: `"e\\"`, line: 1, offset: 15, index: 2},
			{data: `{"k":"}{][\""}`, line: 1, offset: 21, index: 3},
		},
	},
	{
		name: "array/empty", input: `[]`, format: Auto, wantFormat: Array,
	},
	{
		name: "array/empty with whitespace", input: " [ \n ] \n", format: Auto, wantFormat: Array,
	},
	{
		// 0:[ 1:\n 2:sp sp 4:{ 5:\n 6:sp*4 10:"a": 1 16:\n 17:sp sp 19:} 20:, 21:\n 22:sp sp 24:{
		name: "array/pretty", input: "[\n  {\n    \"a\": 1\n  },\n  {\n    \"b\": 2\n  }\n]\n", format: Auto, wantFormat: Array,
		frames: []want{
			{data: "{\n    \"a\": 1\n  }", line: 2, offset: 4, index: 0},
			{data: "{\n    \"b\": 2\n  }", line: 5, offset: 24, index: 1},
		},
	},
	{
		name: "array/BOM", input: bom + `[{"a":1}]`, format: Auto, wantFormat: Array,
		frames: []want{{data: `{"a":1}`, line: 1, offset: 4, index: 0}},
	},
	{
		name: "array/BOM explicit", input: bom + `[{"a":1}]`, format: Array, wantFormat: Array,
		frames: []want{{data: `{"a":1}`, line: 1, offset: 4, index: 0}},
	},
	{
		name: "array/two back to back", input: "[{\"a\":1}][{\"b\":2}]\n[]\n[3]", format: Auto, wantFormat: Array,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 1, index: 0},
			{data: `{"b":2}`, line: 1, offset: 10, index: 1},
			{data: `3`, line: 3, offset: 23, index: 2},
		},
	},
	{
		name: "array/data after the end", input: "[{\"a\":1}] {\"b\":2}\nx", format: Auto, wantFormat: Array,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 1, index: 0},
			{data: `{"b":2}`, line: 1, offset: 10, index: -1, errText: "unexpected data after the end of the array"},
			{data: `x`, line: 2, offset: 18, index: -1, errText: "unexpected data after the end of the array"},
		},
	},
	{
		name: "array/stray closing bracket", input: `[1]]`, format: Array, wantFormat: Array,
		frames: []want{
			{data: `1`, line: 1, offset: 1, index: 0},
			{data: `]`, line: 1, offset: 3, index: -1, errText: "unexpected data after the end of the array"},
		},
	},
	{
		name: "array/unclosed", input: `[{"a":1},{"b":2}`, format: Auto, wantFormat: Array,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 1, index: 0},
			{data: `{"b":2}`, line: 1, offset: 9, index: 1},
			{data: ``, line: 1, offset: 16, index: 2, err: ErrTruncated, errText: "not closed after 2 events"},
		},
	},
	{
		name: "array/unclosed after a comma", input: "[{\"a\":1},\n", format: Array, wantFormat: Array,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 1, index: 0},
			{data: ``, line: 2, offset: 10, index: 1, err: ErrTruncated, errText: "not closed after 1 events"},
		},
	},
	{
		name: "array/only the bracket", input: `[`, format: Auto, wantFormat: Array,
		frames: []want{{data: ``, line: 1, offset: 1, index: 0, err: ErrTruncated, errText: "not closed after 0 events"}},
	},
	{
		// One error for one cut-off element: the array is not reported
		// again as unclosed with an empty frame.
		name: "array/truncated element", input: "[{\"a\":1},\n{\"b\":\"x]", format: Auto, wantFormat: Array,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 1, index: 0},
			{data: `{"b":"x]`, line: 2, offset: 10, index: 1, err: ErrTruncated},
		},
	},
	{
		name: "array/truncated string", input: `["abc`, format: Array, wantFormat: Array,
		frames: []want{{data: `"abc`, line: 1, offset: 1, index: 0, err: ErrTruncated}},
	},
	{
		// 0:[ 1:{"a":"bcdef"} 14:, 15:{} 17:, 18:"xyz" 23:, 24:12345 29:]
		name: "array/too large", input: `[{"a":"bcdef"},{},"xyz",12345]`, format: Array, max: 3, wantFormat: Array,
		frames: []want{
			{data: `{"a`, line: 1, offset: 1, index: 0, err: ErrTooLarge},
			{data: `{}`, line: 1, offset: 15, index: 1},
			{data: `"xy`, line: 1, offset: 18, index: 2, err: ErrTooLarge},
			{data: `123`, line: 1, offset: 24, index: 3, err: ErrTooLarge},
		},
	},
	{
		name: "array/explicit on an object", input: `{"a":1}`, format: Array, wantFormat: Array,
		frames: []want{{data: `{"a":1}`, line: 1, offset: 0, index: -1}},
	},

	// CloudTrail log files.
	{
		name: "records/single line", input: `{"Records":[{"a":1},{"b":[2]}]}`, format: Auto, wantFormat: Records,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 12, index: 0},
			{data: `{"b":[2]}`, line: 1, offset: 20, index: 1},
		},
	},
	{
		// 0:{ 1:\n 2:sp sp 4:"Records" 13:: 14:sp 15:[ 16:\n 17:sp*4 21:{"a":1}
		// 28:, 29:\n 30:sp*4 34:{
		name: "records/pretty", input: "{\n  \"Records\": [\n    {\"a\":1},\n    {\n      \"b\": \"}]\"\n    }\n  ]\n}\n", format: Auto, wantFormat: Records,
		frames: []want{
			{data: `{"a":1}`, line: 3, offset: 21, index: 0},
			{data: "{\n      \"b\": \"}]\"\n    }", line: 4, offset: 34, index: 1},
		},
	},
	{
		name: "records/spaces around the key", input: "{ \"Records\" :\t[ {\"a\":1} ] }", format: Records, wantFormat: Records,
		frames: []want{{data: `{"a":1}`, line: 1, offset: 16, index: 0}},
	},
	{
		name: "records/empty", input: `{"Records":[]}`, format: Auto, wantFormat: Records,
	},
	{
		name: "records/no closing brace", input: `{"Records":[{"a":1}]`, format: Auto, wantFormat: Records,
		frames: []want{{data: `{"a":1}`, line: 1, offset: 12, index: 0}},
	},
	{
		name: "records/BOM", input: bom + `{"Records":[{"a":1}]}`, format: Auto, wantFormat: Records,
		frames: []want{{data: `{"a":1}`, line: 1, offset: 15, index: 0}},
	},
	{
		name: "records/BOM explicit", input: bom + `{"Records":[{"a":1}]}`, format: Records, wantFormat: Records,
		frames: []want{{data: `{"a":1}`, line: 1, offset: 15, index: 0}},
	},
	{
		name: "records/data after the end", input: `{"Records":[{"a":1}]} x`, format: Records, wantFormat: Records,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 12, index: 0},
			{data: `x`, line: 1, offset: 22, index: -1, errText: "unexpected data after the end of the records"},
		},
	},
	{
		// Auto detection does not take a log file followed by something
		// else for a log file: the line goes whole to the decoder.
		name: "records/auto with data after the end", input: `{"Records":[{"a":1}]} x`, format: Auto, wantFormat: Lines,
		frames: []want{{data: `{"Records":[{"a":1}]} x`, line: 1, offset: 0, index: -1}},
	},
	{
		// Log files one after another, as when several are concatenated
		// or gunzipped together.
		name: "records/concatenated files", input: "{\"Records\":[{\"a\":1}]}\n{\"Records\":[{\"b\":2}]}{\"Records\":[]}\n", format: Records, wantFormat: Records,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 12, index: 0},
			{data: `{"b":2}`, line: 2, offset: 34, index: 1},
		},
	},
	{
		// Auto detection reads small concatenated log files as a sequence
		// of values, one whole log file per frame.
		name: "records/auto concatenated lines", input: "{\"Records\":[{\"a\":1}]}\n{\"Records\":[{\"b\":2}]}\n", format: Auto, wantFormat: Lines,
		frames: []want{
			{data: `{"Records":[{"a":1}]}`, line: 1, offset: 0, index: -1},
			{data: `{"Records":[{"b":2}]}`, line: 2, offset: 22, index: -1},
		},
	},
	{
		name: "records/auto concatenated pretty", input: "{\"Records\": [\n{\"a\":1}\n]}\n{\"Records\":[]}", format: Auto, wantFormat: Values,
		frames: []want{
			{data: "{\"Records\": [\n{\"a\":1}\n]}", line: 1, offset: 0, index: -1},
			{data: `{"Records":[]}`, line: 4, offset: 25, index: -1},
		},
	},
	{
		name: "records/unclosed", input: `{"Records":[{"a":1},`, format: Auto, wantFormat: Records,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 12, index: 0},
			{data: ``, line: 1, offset: 20, index: 1, err: ErrTruncated, errText: "records is not closed after 1 events"},
		},
	},
	{
		name: "records/truncated record", input: `{"Records":[{"a":1},{"b":`, format: Auto, wantFormat: Records,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 12, index: 0},
			{data: `{"b":`, line: 1, offset: 20, index: 1, err: ErrTruncated},
		},
	},
	{
		name: "records/too large", input: `{"Records":[{"a":"bcdef"},{}]}`, format: Records, max: 4, wantFormat: Records,
		frames: []want{
			{data: `{"a"`, line: 1, offset: 12, index: 0, err: ErrTooLarge},
			{data: `{}`, line: 1, offset: 26, index: 1},
		},
	},
	{
		// Not a log file: the object is framed whole, for the decoder.
		name: "records/explicit on another object", input: "{\"a\":[1]}\n{\"b\":2}", format: Records, wantFormat: Records,
		frames: []want{
			{data: `{"a":[1]}`, line: 1, offset: 0, index: -1},
			{data: `{"b":2}`, line: 2, offset: 10, index: -1},
		},
	},

	// Concatenated values.
	{
		// 0:{ 1:\n 2:sp sp "a": sp 1 10:\n 11:} 12:\n 13:{ ...
		name: "values/pretty auto", input: "{\n  \"a\": 1\n}\n{\n  \"b\": [\n    2\n  ]\n}\n", format: Auto, wantFormat: Values,
		frames: []want{
			{data: "{\n  \"a\": 1\n}", line: 1, offset: 0, index: -1},
			{data: "{\n  \"b\": [\n    2\n  ]\n}", line: 4, offset: 13, index: -1},
		},
	},
	{
		name: "values/no separators", input: `{"a":1}{"b":"}{"}[1] "s" 7`, format: Values, wantFormat: Values,
		frames: []want{
			{data: `{"a":1}`, line: 1, offset: 0, index: -1},
			{data: `{"b":"}{"}`, line: 1, offset: 7, index: -1},
			{data: `[1]`, line: 1, offset: 17, index: -1},
			{data: `"s"`, line: 1, offset: 21, index: -1},
			{data: `7`, line: 1, offset: 25, index: -1},
		},
	},
	{
		name: "values/BOM", input: bom + "{\n\"a\":1}\n", format: Auto, wantFormat: Values,
		frames: []want{{data: "{\n\"a\":1}", line: 1, offset: 3, index: -1}},
	},
	{
		name: "values/truncated at EOF", input: "{\n  \"a\": 1\n}\n{\n  \"b\": \"x\\\"", format: Auto, wantFormat: Values,
		frames: []want{
			{data: "{\n  \"a\": 1\n}", line: 1, offset: 0, index: -1},
			{data: "{\n  \"b\": \"x\\\"", line: 4, offset: 13, index: -1, err: ErrTruncated},
		},
	},
	// CSV.
	{
		// 0: a;b \n  4: "x";"y \n  11: z" \n  14: \n  15: 1;"say ""hi""" \r \n
		name: "csv/quoted line break, escaped quotes, blank line, CRLF", input: "a;b\n\"x\";\"y\nz\"\n\n1;\"say \"\"hi\"\"\"\r\n", format: CSV, wantFormat: CSV,
		frames: []want{
			{data: `a;b`, line: 1, offset: 0, index: -1},
			{data: "\"x\";\"y\nz\"", line: 2, offset: 4, index: -1},
			{data: `1;"say ""hi"""`, line: 5, offset: 15, index: -1},
		},
	},
	{
		name: "csv/open quote at the end", input: "a,b\n\"c,d\ne\n", format: CSV, wantFormat: CSV,
		frames: []want{
			{data: `a,b`, line: 1, offset: 0, index: -1},
			{data: "\"c,d\ne\n", line: 2, offset: 4, index: -1, err: ErrOpenQuote},
		},
	},
	{
		name: "csv/too large", input: "\"abcdefgh\nij\"\nk\n", format: CSV, max: 8, wantFormat: CSV,
		frames: []want{
			{data: "\"abcdefg", line: 1, offset: 0, index: -1, err: ErrTooLarge},
			{data: "ij\"\nk\n", line: 2, offset: 10, index: -1, err: ErrOpenQuote},
		},
	},
	{
		name: "values/too large", input: "{\n\"a\": \"bcdef\"\n}\n{}\n", format: Values, max: 6, wantFormat: Values,
		frames: []want{
			{data: "{\n\"a\":", line: 1, offset: 0, index: -1, err: ErrTooLarge},
			{data: `{}`, line: 4, offset: 17, index: -1},
		},
	},
}

func TestSplit(t *testing.T) {
	for _, tc := range splitCases {
		t.Run(tc.name, func(t *testing.T) {
			frames, format := split(t, tc.input, tc.format, tc.max)
			if format != tc.wantFormat {
				t.Errorf("Format() = %v, want %v", format, tc.wantFormat)
			}
			checkFrames(t, frames, tc.frames)
		})
	}
}

// oneByteReader returns one byte per Read, to check that frames do not
// depend on how the input arrives.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestSplitOneByteReads(t *testing.T) {
	for _, tc := range splitCases {
		t.Run(tc.name, func(t *testing.T) {
			frames, format := splitAll(t, oneByteReader{strings.NewReader(tc.input)}, len(tc.input), tc.format, tc.max)
			if format != tc.wantFormat {
				t.Errorf("Format() = %v, want %v", format, tc.wantFormat)
			}
			checkFrames(t, frames, tc.frames)
		})
	}
}

// TestSplitLargeFirstEvent covers detection when the first event does not
// fit in what the splitter looks ahead at.
func TestSplitLargeFirstEvent(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	tests := []struct {
		name       string
		input      string
		wantFormat Format
		frames     []want
	}{
		{
			name:       "one long line",
			input:      `{"a":"` + long + "\"}\n{\"b\":2}\n",
			wantFormat: Lines,
			frames: []want{
				{data: `{"a":"` + long + `"}`, line: 1, offset: 0, index: -1},
				{data: `{"b":2}`, line: 2, offset: int64(len(long) + 9), index: -1},
			},
		},
		{
			name:       "long pretty-printed value",
			input:      "{\n\"a\": \"" + long + "\"\n}\n{\n\"b\": 2\n}",
			wantFormat: Values,
			frames: []want{
				{data: "{\n\"a\": \"" + long + "\"\n}", line: 1, offset: 0, index: -1},
				{data: "{\n\"b\": 2\n}", line: 4, offset: int64(len(long) + 12), index: -1},
			},
		},
		{
			// Concatenated log files too large to be read ahead whole
			// are split record by record.
			name:       "concatenated large log files",
			input:      `{"Records":[{"a":"` + long + `"}]}` + "\n" + `{"Records":[{"b":2},{"c":3}]}`,
			wantFormat: Records,
			frames: []want{
				{data: `{"a":"` + long + `"}`, line: 1, offset: 12, index: 0},
				{data: `{"b":2}`, line: 2, offset: int64(len(long) + 35), index: 1},
				{data: `{"c":3}`, line: 2, offset: int64(len(long) + 43), index: 2},
			},
		},
		{
			name:       "long record",
			input:      `{"Records":[{"a":"` + long + `"},{"b":2}]}`,
			wantFormat: Records,
			frames: []want{
				{data: `{"a":"` + long + `"}`, line: 1, offset: 12, index: 0},
				{data: `{"b":2}`, line: 1, offset: int64(len(long) + 21), index: 1},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames, format := split(t, tc.input, Auto, 0)
			if format != tc.wantFormat {
				t.Errorf("Format() = %v, want %v", format, tc.wantFormat)
			}
			checkFrames(t, frames, tc.frames)
		})
	}
}

// errReader returns data, then err.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestSplitReadError(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		input  string
		format Format
	}{
		{"lines", "{\"a\":1}\n{\"b\":", Auto},
		{"array", `[{"a":1},{"b":`, Auto},
		{"array between elements", `[{"a":1},`, Array},
		{"records", `{"Records":[{"a":1},{"b":`, Auto},
		{"values", "{\n\"a\":1\n}\n{\n", Auto},
		{"values after the first", "{\n\"a\":1\n}\n", Values},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp := New(&errReader{data: []byte(tc.input), err: boom}, tc.format, 0)
			fr, err := sp.Next()
			if err != nil || string(fr.Data) != `{"a":1}` && string(fr.Data) != "{\n\"a\":1\n}" {
				t.Fatalf("first Next = %q, %v; want the first event", fr.Data, err)
			}
			fr, err = sp.Next()
			if !errors.Is(err, boom) {
				t.Fatalf("second Next = %+v, %v; want the read error", fr, err)
			}
		})
	}
}

func TestFormatNames(t *testing.T) {
	for _, f := range []Format{Auto, Lines, Array, Records, Values, CSV} {
		got, err := ParseFormat(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", f.String(), got, err, f)
		}
	}
	for _, s := range []string{"", "json", "Lines", "ndjson"} {
		if f, err := ParseFormat(s); err == nil {
			t.Errorf("ParseFormat(%q) = %v, want an error", s, f)
		}
	}
	if s := Format(42).String(); s != "Format(42)" {
		t.Errorf("Format(42).String() = %q", s)
	}
}

// Random events for the round-trip property.

var trickyPieces = []string{
	"", "a", "Records", `"`, `\`, `\"`, `"]`, "[", "]", "{", "}", ",", ":", "\n", "\r\n", "\t",
	" ", "\u2028", "é", "日本", "<>&", "\x00", "\x1f", `{"Records":[`, `"}]`, "\\u0041", "😀",
}

func randomString(r *rand.Rand) string {
	var b strings.Builder
	for n := r.IntN(5); n > 0; n-- {
		b.WriteString(trickyPieces[r.IntN(len(trickyPieces))])
	}
	return b.String()
}

func randomValue(r *rand.Rand, depth int) any {
	k := r.IntN(8)
	if depth > 3 && k >= 6 {
		k = r.IntN(6)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return r.NormFloat64() * 1e6
	case 3:
		return r.Int64() - r.Int64()
	case 4, 5:
		return randomString(r)
	case 6:
		a := make([]any, r.IntN(4))
		for i := range a {
			a[i] = randomValue(r, depth+1)
		}
		return a
	default:
		return randomObject(r, depth+1)
	}
}

// randomObject returns an object with at least one key, none "Records" (an
// object whose only key is Records would be a log file).
func randomObject(r *rand.Rand, depth int) map[string]any {
	m := map[string]any{"k" + randomString(r): randomValue(r, depth+1)}
	for n := r.IntN(4); n > 0; n-- {
		m[randomString(r)+"x"] = randomValue(r, depth+1)
	}
	return m
}

func TestSplitRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		events := make([]map[string]any, r.IntN(9))
		compact := make([]string, len(events))
		for i := range events {
			events[i] = randomObject(r, 0)
			b, err := json.Marshal(events[i])
			if err != nil {
				t.Fatal(err)
			}
			compact[i] = string(b)
		}

		var lines, values strings.Builder
		for i, e := range events {
			lines.WriteString(compact[i])
			lines.WriteString([]string{"\n", "\r\n", "\n\n", "\n \n"}[r.IntN(4)])
			b, _ := json.MarshalIndent(e, "", "  ")
			values.Write(b)
			values.WriteString([]string{"\n", "\r\n", "", " "}[r.IntN(4)])
		}
		arr, _ := json.Marshal(events)
		arrIndent, _ := json.MarshalIndent(events, "", "\t")
		rec, _ := json.Marshal(map[string]any{"Records": events})
		recIndent, _ := json.MarshalIndent(map[string]any{"Records": events}, "", "    ")
		if len(events) == 0 { // json.Marshal writes null for a nil slice
			arr, arrIndent = []byte("[]"), []byte("[\n]")
			rec, recIndent = []byte(`{"Records":[]}`), []byte("{\n  \"Records\": []\n}")
		}
		encodings := []struct {
			name    string
			input   string
			format  Format
			indexed bool
		}{
			{"lines", lines.String(), Lines, false},
			{"values", values.String(), Values, false},
			{"array", string(arr), Array, true},
			{"array indented", string(arrIndent), Array, true},
			{"records", string(rec), Records, true},
			{"records indented", string(recIndent), Records, true},
		}
		for _, enc := range encodings {
			for _, f := range []Format{enc.format, Auto} {
				frames, detected := split(t, enc.input, f, 0)
				if len(events) > 0 && detected != enc.format {
					t.Fatalf("iteration %d, %s read as %v: detected %v, want %v\ninput: %q", iter, enc.name, f, detected, enc.format, enc.input)
				}
				if len(frames) != len(events) {
					t.Fatalf("iteration %d, %s read as %v: %d frames, want %d\ninput: %q", iter, enc.name, f, len(frames), len(events), enc.input)
				}
				for i, fr := range frames {
					var buf bytes.Buffer
					if fr.Err != nil {
						t.Fatalf("iteration %d, %s read as %v, frame %d: Err %v\nframe: %q", iter, enc.name, f, i, fr.Err, fr.Data)
					}
					if err := json.Compact(&buf, fr.Data); err != nil {
						t.Fatalf("iteration %d, %s read as %v, frame %d: not JSON: %v\nframe: %q", iter, enc.name, f, i, err, fr.Data)
					}
					if buf.String() != compact[i] {
						t.Fatalf("iteration %d, %s read as %v, frame %d:\n got %s\nwant %s", iter, enc.name, f, i, buf.String(), compact[i])
					}
					wantIndex := -1
					if enc.indexed {
						wantIndex = i
					}
					if fr.Index != wantIndex {
						t.Fatalf("iteration %d, %s read as %v, frame %d: Index %d, want %d", iter, enc.name, f, i, fr.Index, wantIndex)
					}
					checkPosition(t, []byte(enc.input), fr)
				}
			}
		}
	}
}

// checkPosition checks that a frame is the input's bytes at its Offset and
// that Line counts the lines before it.
func checkPosition(t testing.TB, input []byte, fr Frame) {
	t.Helper()
	if fr.Offset < 0 || fr.Offset > int64(len(input)) {
		t.Fatalf("frame %q: Offset %d outside the input of %d bytes", fr.Data, fr.Offset, len(input))
	}
	if !bytes.HasPrefix(input[fr.Offset:], fr.Data) {
		t.Fatalf("frame %q is not the input's bytes at Offset %d: %q", fr.Data, fr.Offset, input[fr.Offset:min(len(input), int(fr.Offset)+len(fr.Data))])
	}
	if want := 1 + bytes.Count(input[:fr.Offset], []byte("\n")); fr.Line != want {
		t.Fatalf("frame %q at Offset %d: Line %d, want %d", fr.Data, fr.Offset, fr.Line, want)
	}
}

// corpusSeeds are real files to seed the fuzzer with, relative to this
// package's directory.
var corpusSeeds = []string{
	"../../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-event-reference-aws-console-sign-in-events_block01.json",
	"../../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-event-reference-aws-console-sign-in-events_block02.json",
	"../../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-event-reference-aws-console-sign-in-events_block04.json",
	"../../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-event-reference-user-identity_block04.txt",
	"../../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-event-reference-user-identity_block05.txt",
	"../../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-log-file-examples_block03.json",
	"../../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-log-file-examples_block08.json-ish.txt",
	"../../../testdata/corpus/aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-log-file-examples_block10.json",
	"../../../testdata/corpus/prowler/docs-extracted/reporting_json_asff_example.json",
	"../../../testdata/corpus/prowler/docs-extracted/reporting_json_ocsf_example.json",
	"../../../testdata/corpus/prowler/examples/output/example_output_aws.ocsf.json",
	"../../../testdata/corpus/prowler/examples/output/example_output_aws.csv",
	"../../../testdata/corpus/elastic-integrations/packages/aws/data_stream/guardduty/_dev/test/pipeline/test-guardduty.log",
	"../../../testdata/corpus/elastic-integrations/packages/aws/data_stream/guardduty/sample_event.json",
	"../../../testdata/corpus/elastic-integrations/packages/aws/data_stream/vpcflow/_dev/test/pipeline/test-v5-all-fields.log",
	"../../../testdata/corpus/elastic-integrations/packages/falco/data_stream/falco_alerts/_dev/test/pipeline/test-falco.log",
}

// TestSplitCorpus splits real files and checks what is known of them.
func TestSplitCorpus(t *testing.T) {
	const dir = "../../../testdata/corpus/"
	tests := []struct {
		path       string
		wantFormat Format
		wantFrames int // -1: only check that every frame is valid JSON
	}{
		{"aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-log-file-examples_block10.json", Records, 2},
		{"aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-log-file-examples_block03.json", Records, 1},
		{"aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-event-reference-aws-console-sign-in-events_block01.json", Records, 1},
		{"aws-docs/aws-cloudtrail-user-guide/extracted/cloudtrail-event-reference-aws-console-sign-in-events_block02.json", Values, 1},
		{"prowler/examples/output/example_output_aws.ocsf.json", Array, -1},
		{"prowler/docs-extracted/reporting_json_asff_example.json", Array, -1},
		{"elastic-integrations/packages/aws/data_stream/guardduty/_dev/test/pipeline/test-guardduty.log", Lines, -1},
		{"elastic-integrations/packages/falco/data_stream/falco_alerts/_dev/test/pipeline/test-falco.log", Lines, -1},
		{"elastic-integrations/packages/aws/data_stream/guardduty/sample_event.json", Values, 1},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.path))
			if err != nil {
				t.Fatalf("corpus file missing (testdata/corpus holds the third-party test data): %v", err)
			}
			frames, format := split(t, string(data), Auto, 0)
			if format != tc.wantFormat {
				t.Errorf("Format() = %v, want %v", format, tc.wantFormat)
			}
			if tc.wantFrames >= 0 && len(frames) != tc.wantFrames {
				t.Errorf("%d frames, want %d", len(frames), tc.wantFrames)
			}
			if len(frames) == 0 {
				t.Errorf("no frames")
			}
			for i, fr := range frames {
				if fr.Err != nil || !json.Valid(fr.Data) {
					t.Errorf("frame %d (line %d): Err %v, valid JSON %v: %.200q", i, fr.Line, fr.Err, json.Valid(fr.Data), fr.Data)
				}
				checkPosition(t, data, fr)
			}
			if tc.wantFormat == Array {
				// The frames are the array's elements.
				var elems []json.RawMessage
				if err := json.Unmarshal(data, &elems); err != nil {
					t.Fatal(err)
				}
				if len(elems) != len(frames) {
					t.Fatalf("%d frames, the array has %d elements", len(frames), len(elems))
				}
				for i := range elems {
					var a, b bytes.Buffer
					_ = json.Compact(&a, elems[i])
					_ = json.Compact(&b, frames[i].Data)
					if a.String() != b.String() {
						t.Errorf("frame %d is not element %d", i, i)
					}
				}
			}
		})
	}
}

func FuzzSplit(f *testing.F) {
	for _, tc := range splitCases {
		f.Add([]byte(tc.input), uint8(tc.format), uint16(tc.max))
	}
	f.Add([]byte("[1,2]\n[3]x"), uint8(Array), uint16(1))
	f.Add([]byte("{\"Records\":[{\"a\":\"\\\\\"}],\"x\":1}"), uint8(Auto), uint16(0))
	for _, p := range corpusSeeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Logf("seed %s not available: %v", p, err)
			continue
		}
		for _, fm := range []Format{Auto, Lines, Array, Records, Values, CSV} {
			f.Add(data, uint8(fm), uint16(0))
		}
		f.Add(data, uint8(Auto), uint16(17))
	}
	f.Fuzz(func(t *testing.T, data []byte, format uint8, maxFrame uint16) {
		fm := Format(format % 6)
		max := int(maxFrame % 2048)
		effMax := max
		if max == 0 {
			effMax = DefaultMaxFrame
		}
		frames, detected := splitAll(t, bytes.NewReader(data), len(data), fm, max)
		if detected == Auto || (fm != Auto && detected != fm) {
			t.Fatalf("Format() = %v after reading as %v", detected, fm)
		}

		total := 0
		lastOffset := int64(-1)
		nextIndex := 0
		line, lineOff := 1, int64(0) // lines counted up to lineOff
		for i, fr := range frames {
			total += len(fr.Data)
			if len(fr.Data) > effMax {
				t.Fatalf("frame %d: %d bytes, over the limit %d", i, len(fr.Data), effMax)
			}
			if fr.Offset <= lastOffset {
				t.Fatalf("frame %d: Offset %d does not follow %d", i, fr.Offset, lastOffset)
			}
			lastOffset = fr.Offset
			if fr.Offset > int64(len(data)) {
				t.Fatalf("frame %d: Offset %d beyond the input's %d bytes", i, fr.Offset, len(data))
			}
			if !bytes.HasPrefix(data[fr.Offset:], fr.Data) {
				t.Fatalf("frame %d %q is not the input's bytes at Offset %d", i, fr.Data, fr.Offset)
			}
			line += bytes.Count(data[lineOff:fr.Offset], []byte("\n"))
			lineOff = fr.Offset
			if fr.Line != line {
				t.Fatalf("frame %d %q at Offset %d: Line %d, want %d", i, fr.Data, fr.Offset, fr.Line, line)
			}
			switch {
			case detected == Lines || detected == Values || detected == CSV:
				if fr.Index != -1 {
					t.Fatalf("frame %d: Index %d in %v", i, fr.Index, detected)
				}
			case fr.Index >= 0:
				if fr.Index != nextIndex {
					t.Fatalf("frame %d: Index %d, want %d", i, fr.Index, nextIndex)
				}
				nextIndex++
			case fr.Index != -1:
				t.Fatalf("frame %d: Index %d", i, fr.Index)
			}
			if fr.Err != nil {
				tooLarge := errors.Is(fr.Err, ErrTooLarge)
				if !tooLarge && !errors.Is(fr.Err, ErrTruncated) && !errors.Is(fr.Err, ErrOpenQuote) && !strings.Contains(fr.Err.Error(), "unexpected data after the end") {
					t.Fatalf("frame %d: unexpected Err %v", i, fr.Err)
				}
				if tooLarge {
					// The frame holds the event's first max bytes; a
					// line also loses the \r its cut may end on.
					cut := data[fr.Offset+int64(len(fr.Data)) : fr.Offset+int64(effMax)]
					if detected != Lines && detected != CSV && len(cut) > 0 || len(bytes.Trim(cut, "\r")) > 0 {
						t.Fatalf("frame %d: ErrTooLarge with %d bytes, limit %d", i, len(fr.Data), effMax)
					}
				}
			}
		}
		if total > len(data) || len(frames) > len(data) {
			t.Fatalf("%d frames of %d bytes from %d bytes of input", len(frames), total, len(data))
		}

		if fm == Lines {
			// The frames are the input's non-blank lines, without their
			// line ends, cut at the limit.
			var wantFrames []Frame
			in := bytes.TrimPrefix(data, []byte(bom))
			off := len(data) - len(in)
			for n, line := range bytes.Split(in, []byte("\n")) {
				fr := Frame{Line: n + 1, Offset: int64(off), Index: -1}
				off += len(line) + 1
				fr.Data = line
				if len(line) > effMax {
					fr.Data, fr.Err = line[:effMax], ErrTooLarge
				}
				fr.Data = bytes.TrimRight(fr.Data, "\r")
				if fr.Err == nil && len(bytes.TrimSpace(fr.Data)) == 0 {
					continue
				}
				wantFrames = append(wantFrames, fr)
			}
			if len(frames) != len(wantFrames) {
				t.Fatalf("%d frames, want %d lines", len(frames), len(wantFrames))
			}
			for i, w := range wantFrames {
				g := frames[i]
				if !bytes.Equal(g.Data, w.Data) || g.Line != w.Line || g.Offset != w.Offset || g.Err != w.Err {
					t.Fatalf("frame %d = %q line %d offset %d err %v; want %q line %d offset %d err %v",
						i, g.Data, g.Line, g.Offset, g.Err, w.Data, w.Line, w.Offset, w.Err)
				}
			}
		}

		if fm == CSV {
			// A frame that ended without error closes every quoted field
			// and has no line break outside one.
			for i, fr := range frames {
				if fr.Err != nil {
					continue
				}
				if n := bytes.Count(fr.Data, []byte{'"'}); n%2 != 0 {
					t.Fatalf("frame %d %q: %d quotes", i, fr.Data, n)
				}
				for j, part := range bytes.Split(fr.Data, []byte{'"'}) {
					if j%2 == 0 && bytes.IndexByte(part, '\n') >= 0 {
						t.Fatalf("frame %d %q: a line break outside quotes", i, fr.Data)
					}
				}
			}
		}

		// Frames do not depend on how the input arrives: read a byte at a
		// time, or handed over in blocks whose carries fit their headroom
		// or do not.
		slow, _ := splitAll(t, oneByteReader{bytes.NewReader(data)}, len(data), fm, max)
		small, _ := splitBlocks(t, data, []int{7, 1, 5}, 4, fm, max)
		for name, other := range map[string][]Frame{"one-byte reads": slow, "small blocks": small} {
			if len(other) != len(frames) {
				t.Fatalf("%d frames from %s, %d from whole reads", len(other), name, len(frames))
			}
			for i := range other {
				a, b := frames[i], other[i]
				if !bytes.Equal(a.Data, b.Data) || a.Line != b.Line || a.Offset != b.Offset || a.Index != b.Index || errString(a.Err) != errString(b.Err) {
					t.Fatalf("frame %d differs with %s: %+v vs %+v", i, name, a, b)
				}
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestSplitCSVRoundTrip writes random records with encoding/csv, fields
// holding delimiters, quotes and line breaks, and checks that every frame
// is one record that encoding/csv reads back whole.
func TestSplitCSVRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"", "a", "Prowler", ";", ",", `"`, `""`, "\n", "\r\n", " ", "é", "x\ny\nz", "\t"}
	for round := 0; round < 200; round++ {
		comma := []rune{',', ';'}[round%2]
		var records [][]string
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Comma = comma
		for range 1 + rng.IntN(8) {
			rec := make([]string, 2+rng.IntN(4))
			for i := range rec {
				var b strings.Builder
				for range rng.IntN(4) {
					b.WriteString(pieces[rng.IntN(len(pieces))])
				}
				rec[i] = b.String()
			}
			records = append(records, rec)
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		frames, _ := split(t, buf.String(), CSV, 0)
		if len(frames) != len(records) {
			t.Fatalf("round %d: %d frames from %d records:\n%s", round, len(frames), len(records), buf.String())
		}
		for i, fr := range frames {
			if fr.Err != nil {
				t.Fatalf("round %d frame %d: %v", round, i, fr.Err)
			}
			r := csv.NewReader(bytes.NewReader(fr.Data))
			r.Comma = comma
			got, err := r.ReadAll()
			if err != nil || len(got) != 1 {
				t.Fatalf("round %d frame %d %q: %d records, %v", round, i, fr.Data, len(got), err)
			}
			// encoding/csv reads \r\n inside a quoted field as \n.
			want := make([]string, len(records[i]))
			for j, f := range records[i] {
				want[j] = strings.ReplaceAll(f, "\r\n", "\n")
			}
			if !slices.Equal(got[0], want) {
				t.Fatalf("round %d frame %d: read %q, wrote %q", round, i, got[0], want)
			}
		}
	}
}

func TestForPath(t *testing.T) {
	for _, c := range []struct {
		path string
		in   Format
		want Format
	}{
		{"out/prowler-output-123.csv", Auto, CSV},
		{"out/PROWLER.CSV.gz", Auto, CSV},
		{"out/prowler.ocsf.json", Auto, Auto},
		{"out/prowler.csv", Lines, Lines},
		{"flow.log.gz", Auto, Auto},
	} {
		if got := ForPath(c.path, c.in); got != c.want {
			t.Errorf("ForPath(%q, %v) = %v, want %v", c.path, c.in, got, c.want)
		}
	}
}

func TestFileHeader(t *testing.T) {
	long := strings.Repeat("x", MaxHeaderLine+1)
	for _, c := range []struct{ in, header string }{
		{"version account-id\r\n2 1111\n", "version account-id"},
		{bom + "A;B\nx;y\n", "A;B"},
		{"only line", "only line"},
		{"", ""},
		{long + "\nnext\n", ""},
	} {
		h, r, err := FileHeader(strings.NewReader(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(h) != c.header || (c.header == "") != (h == nil && c.in != "" || c.in == "") {
			t.Errorf("FileHeader(%.20q) = %q, want %q", c.in, h, c.header)
		}
		rest, _ := io.ReadAll(r)
		if string(rest) != c.in {
			t.Errorf("FileHeader(%.20q) left %.20q to read, want the whole input", c.in, rest)
		}
	}
}

// TestStructuredAcrossReads splits values whose strings hold escapes
// (quotes, backslashes, brackets) read one byte at a time, so that an
// escape is cut from the byte it escapes, and checks each frame against
// encoding/json's reading of the file. The first value fills the
// splitter's 64 KiB buffer (read whole at the start to detect the
// format), so that the rest comes a byte a read.
func TestStructuredAcrossReads(t *testing.T) {
	strs := []string{strings.Repeat("x", 70<<10), `plain`, `a "quoted" {brace} [bracket]`, `back\slash\`, `\\"`, `\"\\\"`, `end\`, `"`, `\`}
	var in bytes.Buffer
	in.WriteString(`{"Records":[`)
	for i, s := range strs {
		if i > 0 {
			in.WriteString(",\n ")
		}
		v, _ := json.Marshal(map[string]any{"s": s, "n": []any{s, map[string]string{s: s}}})
		in.Write(v)
	}
	in.WriteString("]}")
	var want struct{ Records []json.RawMessage }
	if err := json.Unmarshal(in.Bytes(), &want); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{
		"whole":    bytes.NewReader(in.Bytes()),
		"one byte": iotest.OneByteReader(bytes.NewReader(in.Bytes())),
		"halves":   iotest.HalfReader(bytes.NewReader(in.Bytes())),
	} {
		frames, f := splitAll(t, r, in.Len(), Auto, 0)
		if f != Records || len(frames) != len(want.Records) {
			t.Fatalf("%s: %d frames as %v, want %d as records", name, len(frames), f, len(want.Records))
		}
		for i, fr := range frames {
			if fr.Err != nil || !bytes.Equal(fr.Data, want.Records[i]) {
				t.Errorf("%s: frame %d = %s (err %v), want %s", name, i, fr.Data, fr.Err, want.Records[i])
			}
		}
	}
}

// TestOrigin checks Origin's forms, and that AppendOrigin appends them.
func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		f    Format
		fr   Frame
		want string
	}{
		{Lines, Frame{Line: 7, Index: -1}, "s3://b/k.gz:7"},
		{Values, Frame{Line: 1, Index: -1}, "s3://b/k.gz:1"},
		{Array, Frame{Line: 3, Index: 0}, "s3://b/k.gz:[0]"},
		{Records, Frame{Line: 1, Index: 1234}, "s3://b/k.gz:Records[1234]"},
	} {
		if got := Origin("s3://b/k.gz", tc.f, tc.fr); got != tc.want {
			t.Errorf("Origin(%v, %+v) = %q, want %q", tc.f, tc.fr, got, tc.want)
		}
		if got := string(AppendOrigin([]byte("x|"), "s3://b/k.gz", tc.f, tc.fr)); got != "x|"+tc.want {
			t.Errorf("AppendOrigin(%v, %+v) = %q, want %q", tc.f, tc.fr, got, "x|"+tc.want)
		}
	}
}

// TestDecompress reads plain and gzipped input, from a plain reader and
// from a *bufio.Reader, which it does not buffer again.
func TestDecompress(t *testing.T) {
	const text = "{\"a\":1}\n{\"b\":2}\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(text))
	_ = zw.Close()
	for name, in := range map[string][]byte{"plain": []byte(text), "gzip": gz.Bytes()} {
		for _, buffered := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(in)
			if buffered {
				r = bufio.NewReader(r)
			}
			d, err := Decompress(r)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if buffered && name == "plain" && d != r {
				t.Errorf("%s: a *bufio.Reader was buffered again", name)
			}
			out, err := io.ReadAll(d)
			if err != nil || string(out) != text {
				t.Errorf("%s (bufio %v): read %q, %v; want %q", name, buffered, out, err, text)
			}
		}
	}
}
