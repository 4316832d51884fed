package httpsrc

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// FuzzIngestBody splits arbitrary bodies as a request's would be: it never
// panics, and every byte of the body (gunzipped) is accounted for: in a
// record for the raw topic, in a dead letter, or as the whitespace and
// punctuation between events ("[", ",", "]", a CloudTrail file's
// {"Records": ... }).
func FuzzIngestBody(f *testing.F) {
	seeds := []string{
		`{"eventName":"ConsoleLogin"}`,
		"{\"a\":1}\n\n{\"b\":2}\r\n{\"c\"",
		`[{"a":1}, {"b":[1,2,{"c":"]"}]}, 3, "x"]`,
		`{"Records":[{"a":1},{"b":"\"}"}]}`,
		`{"Records":[{"a":1}]}{"Records":[{"b":2}]}`,
		`[{"a":1}] trailing`,
		"{\n  \"pretty\": true\n}\n{\n  \"again\": 1\n}",
		"not json at all\n\x00\xff",
		"\xef\xbb\xbf[{\"bom\":1}]",
		"a,b,\"c\nd\"\n1,2,3\n",
		"",
		"[]",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i%6), false, uint16(0))
		f.Add(gz(f, []byte(s)), uint8(0), i%2 == 0, uint16(7))
	}
	for _, p := range []string{
		cloudTrailDocs + "cloudtrail-log-file-examples_block10.json",
		"../../../testdata/corpus/elastic-integrations/packages/falco/data_stream/falco_alerts/sample_event.json",
	} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint8(framing.Auto), false, uint16(0))
			f.Add(gz(f, b), uint8(framing.Auto), true, uint16(300))
		}
	}
	if inputs, _ := filepath.Glob("../../../correlators/normalize/falco/testdata/inputs/*"); len(inputs) > 0 {
		for _, p := range inputs {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b, uint8(framing.Auto), false, uint16(0))
			}
		}
	}
	names := topics.Names{Prefix: "fz"}
	f.Fuzz(func(t *testing.T, body []byte, format uint8, gzipped bool, maxRecord uint16) {
		fm := framing.Format(format % 6)
		c := *DefaultConfig()
		c.MaxBodyBytes = 1 << 20
		if maxRecord > 0 {
			c.MaxRecordBytes = int(maxRecord%2048) + 1
		}
		c.Endpoints = map[string]Endpoint{"ep": {Source: "cloudtrail", Format: fm.String(), Tokens: []config.Secret{{Env: "X"}}}}
		s, err := New(c, plugin.Deps{Name: "http", Topics: names})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.split(s.endpoints["ep"], "rid", time.Now(), bytes.NewReader(body), gzipped, nil)

		// What the body holds once gunzipped.
		plain := body
		isGzip := len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b
		if gzipped && !isGzip {
			if !errors.Is(err, errNotGzip) {
				t.Fatalf("Content-Encoding gzip on a body that is not: err %v", err)
			}
			return
		}
		if isGzip {
			zr, zerr := gzip.NewReader(bytes.NewReader(body))
			if zerr == nil {
				plain, zerr = io.ReadAll(zr)
			}
			if zerr != nil {
				if err == nil {
					t.Fatalf("bad gzip (%v) accepted", zerr)
				}
				return
			}
		}
		if len(plain) > int(c.MaxBodyBytes) {
			if !errors.Is(err, errDecodedTooLarge) {
				t.Fatalf("%d bytes over the limit: err %v", len(plain), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("split: %v", err)
		}

		if b.records+b.dead != len(b.recs) {
			t.Fatalf("%d records + %d dead letters, %d in all", b.records, b.dead, len(b.recs))
		}
		var sum int64
		end := int64(0) // of the previous record's bytes
		prevDead := false
		for i, r := range b.recs {
			sum += charge(r)
			origin := streams.Header(r, streams.HeaderOrigin)
			if !strings.HasPrefix(origin, "http://ep/rid:") || streams.Header(r, streams.HeaderSource) != "cloudtrail" {
				t.Fatalf("record %d: provenance %v", i, r.Headers)
			}
			dead := r.Topic == names.DLQ()
			if !dead && r.Topic != names.Raw("cloudtrail") {
				t.Fatalf("record %d on topic %s", i, r.Topic)
			}
			if !dead && (len(r.Value) == 0 || len(r.Value) > c.MaxRecordBytes) {
				t.Fatalf("record %d: %d bytes; the limit is %d", i, len(r.Value), c.MaxRecordBytes)
			}
			off := b.offsets[i]
			if off < end || off > int64(len(plain)) || !bytes.HasPrefix(plain[off:], r.Value) {
				t.Fatalf("record %d %q (dead letter %v) is not the body's bytes at %d", i, r.Value, dead, off)
			}
			// A dead letter may hold only the first bytes of the event
			// it stands for: the bytes up to the next record are its.
			if !prevDead {
				checkGap(t, plain[end:off])
			}
			end, prevDead = off+int64(len(r.Value)), dead
		}
		if !prevDead {
			checkGap(t, plain[end:])
		}
		if sum != b.charge {
			t.Fatalf("charge %d, records add up to %d", b.charge, sum)
		}
	})
}

// checkGap fails unless gap holds only what separates events: whitespace,
// a byte order mark, JSON punctuation and a CloudTrail file's "Records"
// key.
func checkGap(t *testing.T, gap []byte) {
	t.Helper()
	rest := bytes.ReplaceAll(gap, []byte(`"Records"`), nil)
	rest = bytes.ReplaceAll(rest, []byte("\xef\xbb\xbf"), nil)
	if len(bytes.Trim(rest, " \t\r\n[]{},:")) > 0 {
		t.Fatalf("bytes %q between events are in no record", gap)
	}
}
