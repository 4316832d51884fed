package framing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// scanChunkRef is scanChunk's reference: the plainest byte loop with the
// semantics of a structured scan.
func scanChunkRef(b []byte, st *scanState) (int, bool) {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if st.inStr {
			if st.esc {
				st.esc = false
				continue
			}
			switch c {
			case '\\':
				st.esc = true
			case '"':
				st.inStr = false
				if st.depth == 0 {
					return i + 1, true
				}
			}
			continue
		}
		switch c {
		case '"':
			st.inStr = true
		case '{', '[':
			st.depth++
		case '}', ']':
			st.depth--
			if st.depth <= 0 {
				return i + 1, true
			}
		}
	}
	return len(b), false
}

// scanCompare scans data, cut into chunks of the given sizes (the rest, if
// any, is one more chunk), with scanChunk, scanBytes and scanChunkRef,
// and compares their results and states after every call. When a value
// ends, the scan goes on with the rest of the chunk, and the next chunks,
// from the state as it is: the scanners must agree on that too. It returns
// a description of the first difference, or "", and where the first value
// ended in data (-1 if it did not).
func scanCompare(data []byte, sizes []int) (string, int) {
	var st, ref, loop scanState
	first := -1
	off := 0
	for k := 0; off < len(data) || k == 0; k++ {
		n := len(data) - off
		if k < len(sizes) && sizes[k] < n {
			n = sizes[k]
		}
		chunk := data[off : off+n]
		for p := 0; ; {
			end, done := scanChunk(chunk[p:], &st)
			rend, rdone := scanChunkRef(chunk[p:], &ref)
			if end != rend || done != rdone || st != ref {
				return fmt.Sprintf("chunk %d (%d bytes at %d), from %d: scanChunk = %d, %v, %+v; reference = %d, %v, %+v",
					k, n, off, p, end, done, st, rend, rdone, ref), -1
			}
			if lend, ldone := scanBytes(chunk[p:], &loop); lend != rend || ldone != rdone || loop != ref {
				return fmt.Sprintf("chunk %d (%d bytes at %d), from %d: scanBytes = %d, %v, %+v; reference = %d, %v, %+v",
					k, n, off, p, lend, ldone, loop, rend, rdone, ref), -1
			}
			if !done {
				break
			}
			if first < 0 {
				first = off + p + end
			}
			if p += end; p == len(chunk) {
				break
			}
		}
		off += n
	}
	return "", first
}

// escapeValues returns values with runs of 1 to 10 backslashes, before
// quotes and other bytes, inside and outside strings, at offsets 0 to 130
// from the value's start (so at every position relative to 8- and 64-byte
// boundaries).
func escapeValues() []string {
	var vals []string
	for off := 0; off <= 130; off++ {
		fill := strings.Repeat("a", off)
		mixed := strings.Repeat(`x{]"y`, off/5+1)[:off] // brackets, quotes
		space := strings.Repeat(" ", off)
		for r := 1; r <= 10; r++ {
			bs := strings.Repeat(`\`, r)
			vals = append(vals,
				// Escaped or closing quote, then a bracket that is inside
				// or outside the string accordingly.
				`{"k":"`+fill+bs+`"}"}]}`,
				`{"`+fill+bs+`"`+bs+`"}`+bs+`"]}`,
				`[{"k":["`+mixed+bs+`"],"a":"`+bs+`\"}"}]}`+`"]}]`,
				// A top-level string.
				`"`+fill+bs+`"x"`,
				`"`+fill+bs+`\`+bs+`"`+bs+`""`,
				// Backslashes outside strings (odd input): they escape
				// nothing.
				`{`+space+bs+`"}"}]`,
				`[`+space+`"`+fill+`"`+bs+`"]"]`+bs+`]`,
				// Backslashes before a letter, and before a bracket.
				`{"k":"`+fill+bs+`n"}`+bs+`"}`,
				`{"k":"`+fill+bs+`]"}]`+bs+`"}`,
				// Escapes across the end of a 64-byte block, with the
				// backslash run ending at every offset.
				`{"k":"`+strings.Repeat("b", 130-off)+bs+`"}"}`,
			)
		}
	}
	return vals
}

// oddValues are values that are not JSON, or only just.
var oddValues = []string{
	`{}`, `[]`, `""`, `"`, `{`, `[`, `}`, `]`, `]]`, `}{`, `x`, ``, `\`, `\"`, `\\"`, `x]`, `x"a"`, `a"\"]"b"`,
	`{]`, `[}`, `{"a":]}`, `{"a":}}`, `{{}}}`, `[[[]]]]`, `{"\\":"\\\\"}`, `{"\"":"\\\""}`,
	`"\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\"`,
	`{"a":"b"}  {"c":"d"}`, "{\"a\":\"\x00\xff\x80\"}", "{\xff\x80\x22\x5c\x22\xfb\xdb\x7b\x22}}",
	`[{"Y_y":"\u007f"},"{[}]"]`, "[\x7f\x5f\x79\x59]", "[\xdb\xfb\xdd\xfd]",
	`{` + strings.Repeat(`"\\":"}",`, 40) + `}`,
	`[` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 101),
	`{"a":` + strings.Repeat(` \ `, 50) + `"b"}`,
	// Long enough for whole blocks: bytes that may be brackets (Y _ y
	// DEL) outside strings, bytes from 0x80 up that differ from quotes,
	// backslashes and brackets only in bit 7.
	`[` + strings.Repeat("_y Y\x7f", 30) + `]`,
	`{"a":[` + strings.Repeat("\"x\",_,Y,y,\x7f,[", 20) + strings.Repeat(`]`, 21) + `}`,
	`{` + strings.Repeat("\xdb\xfb\xdd\xfd\xa2\xdc ", 15) + `}`,
	`{"k":"` + strings.Repeat("\xdb\xfb\xdd\xfd\xa2\xdc", 15) + `"}`,
	`[` + strings.Repeat(` \"`, 40) + `]`,
}

// scanAlphabets map random bytes onto bytes that matter, so that random
// data is dense in structure and escapes: ASCII only (for the usual
// blocks), and with bytes from 0x80 up.
var scanAlphabets = []string{
	"{}[]\"\"\"\\\\ aY_y\x7f",
	"{}[]\"\"\"\\\\ aY_y\x7f\xdb\xfb\xdd\xa2\xdc",
}

func scanDense(data []byte, alphabet string) []byte {
	d := make([]byte, len(data))
	for i, c := range data {
		d[i] = alphabet[int(c)%len(alphabet)]
	}
	return d
}

func TestScanChunkTable(t *testing.T) {
	withScanners(t, func(t *testing.T) {
		vals := append(escapeValues(), oddValues...)
		for _, v := range vals {
			data := []byte(v)
			report := func(sizes []int, diff string) {
				t.Helper()
				t.Errorf("%q cut into %v: %s", v, sizes, diff)
			}
			if diff, _ := scanCompare(data, nil); diff != "" {
				report(nil, diff)
				continue
			}
			// Two chunks, cut at every point; three, with a chunk of one
			// byte at every point; an empty chunk at every point.
			for p := 0; p <= len(data); p++ {
				for _, sizes := range [][]int{{p}, {p, 1}, {p, 0}} {
					if diff, _ := scanCompare(data, sizes); diff != "" {
						report(sizes, diff)
					}
				}
			}
			// Chunks all of one size.
			for n := 1; n <= 70; n++ {
				sizes := make([]int, len(data)/n+1)
				for i := range sizes {
					sizes[i] = n
				}
				if diff, _ := scanCompare(data, sizes); diff != "" {
					report(sizes, diff)
				}
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestScanChunkRandom compares the scanners on random data dense in
// structure, escapes and odd bytes, cut into random chunks.
func TestScanChunkRandom(t *testing.T) {
	withScanners(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < 20000; i++ {
			raw := make([]byte, r.IntN(400))
			for j := range raw {
				raw[j] = byte(r.Uint32())
			}
			data := scanDense(raw, scanAlphabets[i%2])
			if i%3 == 0 && len(data) > 0 {
				data[0] = "{[\""[r.IntN(3)]
			}
			if i%4 == 0 {
				// Deep enough to stay open over a few blocks.
				data = append(bytes.Repeat([]byte("{"), r.IntN(50)), data...)
			}
			var sizes []int
			for n := r.IntN(6); n > 0; n-- {
				sizes = append(sizes, r.IntN(150))
			}
			if diff, _ := scanCompare(data, sizes); diff != "" {
				t.Fatalf("%q cut into %v: %s", data, sizes, diff)
			}
		}
	})
}

// TestScanChunkValues checks that scanChunk finds the end of well-formed
// values, as encoding/json reads them, with whatever follows.
func TestScanChunkValues(t *testing.T) {
	withScanners(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 2000; i++ {
			v := scanRandomValue(r, 0)
			data, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if data[0] != '{' && data[0] != '[' && data[0] != '"' {
				continue
			}
			full := append(bytes.Clone(data), `, {"next":"\\\"]}"} ]`...)
			sizes := []int{1 + r.IntN(len(full)), r.IntN(100), r.IntN(200)}
			diff, end := scanCompare(full, sizes)
			if diff != "" {
				t.Fatalf("%s cut into %v: %s", full, sizes, diff)
			}
			if end != len(data) {
				t.Fatalf("%s cut into %v: ends at %d, want %d", full, sizes, end, len(data))
			}
		}
	})
}

func scanRandomValue(r *rand.Rand, depth int) any {
	n := r.IntN(6)
	if depth > 4 {
		n = 0
	}
	switch r.IntN(4) {
	case 0:
		m := map[string]any{}
		for i := 0; i < n; i++ {
			m[scanRandomString(r)] = scanRandomValue(r, depth+1)
		}
		return m
	case 1:
		a := []any{}
		for i := 0; i < n; i++ {
			a = append(a, scanRandomValue(r, depth+1))
		}
		return a
	case 2:
		return r.IntN(1000)
	}
	return scanRandomString(r)
}

func scanRandomString(r *rand.Rand) string {
	const alphabet = `ab"\{}[]` + "\n\x01é"
	runes := []rune(alphabet)
	var sb strings.Builder
	for n := r.IntN(80); n > 0; n-- {
		if r.IntN(3) == 0 {
			sb.WriteRune(runes[r.IntN(len(runes))])
		} else {
			sb.WriteByte('x')
		}
	}
	return sb.String()
}

// chunkReader returns data in reads of the given sizes (zeros skipped),
// then the rest in one read.
type chunkReader struct {
	data  []byte
	sizes []int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	for len(c.sizes) > 0 {
		s := c.sizes[0]
		c.sizes = c.sizes[1:]
		if s > 0 {
			n = min(n, s)
			break
		}
	}
	n = min(n, len(p))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// checkScanStructured checks scanChunkRef against Splitter.scanStructured
// (scanChunk fed by the splitter's buffered reads) on data (which must start with { [ or "), read in chunks of the given
// sizes (and of 64 bytes at most). end is where scanChunkRef ended the
// value, -1 if it did not.
func checkScanStructured(t *testing.T, data []byte, sizes []int, end int) {
	t.Helper()
	// With small blocks (New's are BlockSize: the fuzzer would spend its
	// time allocating them).
	s := New(&chunkReader{data: data, sizes: sizes}, Values, len(data)+1)
	s.size = 64
	s.begin()
	err := s.scanStructured()
	frame := s.frameBytes()
	switch {
	case end < 0 && (err != io.EOF || !bytes.Equal(frame, data)):
		t.Fatalf("%q in %v: scanStructured took %q (%v), reference all of it", data, sizes, frame, err)
	case end >= 0 && (err != nil || len(frame) != end):
		t.Fatalf("%q in %v: scanStructured took %q (%v), reference %q", data, sizes, frame, err, data[:end])
	}
}

// TestScanChunkRef checks the reference against Splitter.scanStructured.
func TestScanChunkRef(t *testing.T) {
	withScanners(t, func(t *testing.T) {
		for _, v := range append(escapeValues(), oddValues...) {
			data := []byte(v)
			if len(data) == 0 || (data[0] != '{' && data[0] != '[' && data[0] != '"') {
				continue
			}
			for _, sizes := range [][]int{nil, {1}, {len(data) / 2, 1}, {63, 1}, {64, 1}, {65, 1}} {
				diff, end := scanCompare(data, sizes)
				if diff != "" {
					t.Fatalf("%q in %v: %s", data, sizes, diff)
				}
				checkScanStructured(t, data, sizes, end)
			}
		}
	})
}

// withScanners runs f with the Go version of scanBlocks and, where the CPU
// has it, the assembly version.
func withScanners(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	defer func(v bool) { useVec = v }(useVec)
	for _, vec := range []bool{false, true} {
		if vec && !haveVec {
			t.Log("no assembly version of scanBlocks on this CPU")
			continue
		}
		useVec = vec
		t.Run(map[bool]string{false: "go", true: "asm"}[vec], f)
	}
}

// TestScanBlocksVec compares the assembly version of scanBlocks with the
// Go version, from every kind of state, on data dense in structure and
// escapes and on CloudTrail log files.
func TestScanBlocksVec(t *testing.T) {
	if !haveVec {
		t.Skip("no assembly version of scanBlocks on this CPU")
	}
	r := rand.New(rand.NewPCG(5, 6))
	inputs := [][]byte{scanCloudTrail(40, false, false), scanCloudTrail(40, true, true), benchEvents(40, true)}
	for i := 0; i < 3000; i++ {
		raw := make([]byte, 64+r.IntN(600))
		for j := range raw {
			raw[j] = byte(r.Uint32())
		}
		alphabet := scanAlphabets[0]
		if i%10 == 0 {
			alphabet = scanAlphabets[1]
		}
		inputs = append(inputs, scanDense(raw, alphabet))
	}
	for i, data := range inputs {
		for _, st0 := range []scanState{{depth: 1}, {depth: 2}, {depth: 3, inStr: true}, {depth: 1, inStr: true, esc: true}, {depth: 40}} {
			for off := 0; off < len(data) && off < 130; off += 1 + r.IntN(13) {
				goSt, vecSt := st0, st0
				gn, gdone := scanBlocks(data[off:], &goSt)
				vn, vdone := scanBlocksVec(data[off:], &vecSt)
				if gn != vn || gdone != vdone || goSt != vecSt {
					t.Fatalf("input %d from %d, state %+v: Go %d %v %+v, assembly %d %v %+v\n%q",
						i, off, st0, gn, gdone, goSt, vn, vdone, vecSt, data[off:])
				}
			}
		}
	}
}

// FuzzScanChunk compares scanChunk with scanChunkRef on data cut into
// chunks of sizes (a byte each; the rest of data is one more chunk); and
// again on data mapped onto the bytes that matter, so that random data is
// dense in structure and escapes.
func FuzzScanChunk(f *testing.F) {
	for _, v := range oddValues {
		f.Add([]byte(v), []byte{3, 0, 70})
	}
	vals := escapeValues()
	for i := 0; i < len(vals); i += 97 {
		f.Add([]byte(vals[i]), []byte{byte(i), 1, 64, 0, 9})
	}
	f.Add(scanCloudTrail(3, false, false), []byte{100, 200, 1, 255, 64})
	f.Add(scanCloudTrail(2, true, true), []byte{})
	f.Fuzz(func(t *testing.T, data, sizeBytes []byte) {
		sizes := make([]int, len(sizeBytes))
		for i, s := range sizeBytes {
			sizes[i] = int(s)
		}
		defer func(v bool) { useVec = v }(useVec)
		for _, vec := range []bool{false, haveVec} {
			useVec = vec
			for _, d := range [][]byte{data, scanDense(data, scanAlphabets[0]), scanDense(data, scanAlphabets[1])} {
				diff, end := scanCompare(d, sizes)
				if diff != "" {
					t.Fatalf("%q in %v (assembly %v): %s", d, sizes, vec, diff)
				}
				if len(d) > 0 && (d[0] == '{' || d[0] == '[' || d[0] == '"') {
					checkScanStructured(t, d, sizes, end)
				}
			}
		}
	})
}

// scanCloudTrail returns a CloudTrail log file of n events, {"Records":[...]},
// shaped as AWS writes them: mostly short strings, few escapes. With
// escapes, some strings hold quotes and backslashes (as in
// requestParameters that carry a policy document); with utf8, some hold
// non-ASCII text (user and tag names).
func scanCloudTrail(n int, escapes, utf8 bool) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	events := make([]json.RawMessage, n)
	names := []string{"DescribeInstances", "GetObject", "AssumeRole", "ListBuckets", "PutObject", "ConsoleLogin", "CreateTags", "Decrypt"}
	for i := range events {
		name := names[r.IntN(len(names))]
		ev := map[string]any{
			"eventVersion": "1.09",
			"userIdentity": map[string]any{
				"type":        "AssumedRole",
				"principalId": fmt.Sprintf("AROAEXAMPLE%06d:session-%d", r.IntN(1e6), i),
				"arn":         fmt.Sprintf("arn:aws:sts::111122223333:assumed-role/role-%d/session-%d", r.IntN(50), i),
				"accountId":   "111122223333",
				"accessKeyId": fmt.Sprintf("ASIAEXAMPLE%09d", r.IntN(1e9)),
				"sessionContext": map[string]any{
					"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROAEXAMPLE", "arn": "arn:aws:iam::111122223333:role/ops", "accountId": "111122223333", "userName": "ops"},
					"attributes":    map[string]any{"creationDate": "2026-11-02T08:12:44Z", "mfaAuthenticated": "false"},
				},
			},
			"eventTime":          fmt.Sprintf("2026-11-02T09:%02d:%02dZ", r.IntN(60), r.IntN(60)),
			"eventSource":        "ec2.amazonaws.com",
			"eventName":          name,
			"awsRegion":          "eu-west-1",
			"sourceIPAddress":    fmt.Sprintf("198.51.100.%d", r.IntN(256)),
			"userAgent":          "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023 prompt/off command/ec2.describe-instances",
			"requestParameters":  map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": fmt.Sprintf("i-%017x", r.Uint64()>>4)}}}, "filterSet": map[string]any{}, "maxResults": 1000},
			"responseElements":   nil,
			"requestID":          fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<16), r.IntN(1<<16), r.Uint64()>>16),
			"eventID":            fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<16), r.IntN(1<<16), r.Uint64()>>16),
			"readOnly":           true,
			"resources":          []any{map[string]any{"accountId": "111122223333", "type": "AWS::EC2::Instance", "ARN": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc"}},
			"eventType":          "AwsApiCall",
			"managementEvent":    true,
			"recipientAccountId": "111122223333",
			"eventCategory":      "Management",
			"tlsDetails":         map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": "ec2.eu-west-1.amazonaws.com"},
		}
		if utf8 {
			ev["requestParameters"] = map[string]any{"tagSet": map[string]any{"items": []any{
				map[string]any{"key": "Owner", "value": fmt.Sprintf("José Ñandú %d", i)},
				map[string]any{"key": "Project", "value": "Überwachung – 東京"},
			}}}
		}
		if escapes && i%3 == 0 {
			ev["requestParameters"] = map[string]any{"policyDocument": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket\\*"}]}`}
		}
		events[i], _ = json.Marshal(ev)
	}
	out, _ := json.Marshal(map[string]any{"Records": events})
	return out
}

// benchEvents returns n small CloudTrail-like events, as a Records file
// or as JSON lines: the input of the split benchmarks (bench_test.go, as
// framing.BenchEvents) and of BenchmarkScanChunk.
func benchEvents(n int, records bool) []byte {
	var evs []json.RawMessage
	for i := 0; i < n; i++ {
		ev, _ := json.Marshal(map[string]any{
			"eventTime": "2026-11-02T09:00:00Z", "eventName": "DescribeInstances", "eventSource": "ec2.amazonaws.com",
			"userIdentity":      map[string]any{"type": "IAMUser", "userName": fmt.Sprintf("user-%d", i), "arn": "arn:aws:iam::111122223333:user/x"},
			"requestParameters": map[string]any{"filter": "a \"quoted\" {brace} [bracket]", "n": i},
			"sourceIPAddress":   "198.51.100.11", "recipientAccountId": "111122223333",
		})
		evs = append(evs, ev)
	}
	if records {
		out, _ := json.Marshal(map[string]any{"Records": evs})
		return out
	}
	var buf bytes.Buffer
	for _, ev := range evs {
		buf.Write(ev)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// BenchmarkScanChunk frames the events of Records files, as the splitter
// does: each event scanned from its opening brace, in a chunk of up to 64
// KiB (the splitter's buffer). MB/s counts the events' bytes. swar is
// scanChunk with the Go version of scanBlocks, asm with the assembly one,
// loop is scanBytes (the loop the splitter ran before), ref is
// scanChunkRef.
func BenchmarkScanChunk(b *testing.B) {
	inputs := []struct {
		name string
		data []byte
	}{
		{"cloudtrail", scanCloudTrail(2000, false, false)},
		{"cloudtrail-escapes", scanCloudTrail(2000, true, false)},
		{"cloudtrail-utf8", scanCloudTrail(2000, false, true)},
		{"benchEvents", benchEvents(2000, true)},
	}
	// scanChunk with the Go version of scanBlocks (swar) and the assembly
	// one (asm, where the CPU has it).
	withVec := func(vec bool) func([]byte, *scanState) (int, bool) {
		return func(b []byte, st *scanState) (int, bool) {
			defer func(v bool) { useVec = v }(useVec)
			useVec = vec
			return scanChunk(b, st)
		}
	}
	scanners := []struct {
		name string
		scan func([]byte, *scanState) (int, bool)
	}{
		{"swar", withVec(false)},
		{"loop", scanBytes},
		{"ref", scanChunkRef},
	}
	if haveVec {
		scanners = append(scanners, struct {
			name string
			scan func([]byte, *scanState) (int, bool)
		}{"asm", withVec(true)})
	}
	for _, in := range inputs {
		// The events' offsets and lengths, by the reference.
		var starts, ends []int
		total := 0
		i := bytes.IndexByte(in.data, '[') + 1
		for {
			for i < len(in.data) && (in.data[i] == ',' || isSpace(in.data[i])) {
				i++
			}
			if in.data[i] != '{' {
				break
			}
			var st scanState
			n, done := scanChunkRef(in.data[i:], &st)
			if !done {
				b.Fatal("event not closed")
			}
			starts, ends = append(starts, i), append(ends, n)
			total += n
			i += n
		}
		for _, sc := range scanners {
			b.Run(in.name+"/"+sc.name, func(b *testing.B) {
				b.SetBytes(int64(total))
				for b.Loop() {
					for k, s := range starts {
						var st scanState
						n, done := sc.scan(in.data[s:min(s+64<<10, len(in.data))], &st)
						if n != ends[k] || !done {
							b.Fatal("wrong end")
						}
					}
				}
			})
		}
	}
}

// BenchmarkScanChunkSmall scans the events of a CloudTrail file cut into
// small chunks, as a slow reader would deliver them.
func BenchmarkScanChunkSmall(b *testing.B) {
	data := scanCloudTrail(200, false, false)
	data = data[bytes.IndexByte(data, '[')+1:]
	for _, size := range []int{1, 16, 100} {
		for _, sc := range []struct {
			name string
			scan func([]byte, *scanState) (int, bool)
		}{{"scanChunk", scanChunk}, {"loop", scanBytes}} {
			b.Run(fmt.Sprintf("%d/%s", size, sc.name), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					var st scanState
					for off := 0; off < len(data); off += size {
						chunk := data[off:min(off+size, len(data))]
						for p := 0; p < len(chunk); {
							n, done := sc.scan(chunk[p:], &st)
							p += n
							if done {
								st = scanState{}
							}
						}
					}
				}
			})
		}
	}
}
