// Package normalizetest checks decoders: golden files of real inputs,
// schema validation of every event, and robustness against malformed
// input.
package normalizetest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/schemas"
)

var update = flag.Bool("update", false, "rewrite golden files with the decoders' current output")

// Case is one golden input.
type Case struct {
	// Input is the input file, read as the file source reads it.
	Input string
	// Golden is the file of expected output. Default: testdata/golden/ +
	// the input's base name + ".golden.jsonl".
	Golden string
	// HeaderLine treats the input's first line as its header.
	HeaderLine bool
	// Format frames the input. Default framing.Auto.
	Format framing.Format
}

// Line is one line of golden output: an event, or what became of a
// record that gave none.
type Line struct {
	Origin  string     `json:"origin"`
	Event   *ecs.Event `json:"event,omitempty"`
	Error   string     `json:"error,omitempty"`
	Skipped string     `json:"skipped,omitempty"`
}

// Run decodes an input as the file source and the normalize app would and
// returns one Line per event, failed item, error or skip, in order. Every
// event is checked with CheckEvent.
func Run(t testing.TB, dec normalize.Decoder, c Case) []Line {
	t.Helper()
	f, err := os.Open(c.Input)
	if err != nil {
		t.Fatalf("input %s: %v", c.Input, err)
	}
	defer f.Close()
	var out []Line
	err = normalize.DecodeStream(f, filepath.Base(c.Input), dec, normalize.StreamOptions{
		Format: c.Format, HeaderLine: c.HeaderLine, KeepOriginal: true,
	}, func(r normalize.Result) {
		switch {
		case r.Event != nil:
			CheckEvent(t, r.Origin, r.Event)
			out = append(out, Line{Origin: r.Origin, Event: r.Event})
		case r.Skipped:
			out = append(out, Line{Origin: r.Origin, Skipped: r.Err.Error()})
		default:
			if strings.Contains(r.Err.Error(), "no event and no error") {
				t.Errorf("%s: a record was dropped silently", r.Origin)
			}
			out = append(out, Line{Origin: r.Origin, Error: r.Err.Error()})
		}
	})
	if err != nil {
		t.Fatalf("input %s: %v", c.Input, err)
	}
	return out
}

// Golden runs each case and compares the output with its golden file.
// Run the tests with -update to write the golden files anew, then review
// the diff.
func Golden(t *testing.T, dec normalize.Decoder, cases []Case) {
	t.Helper()
	for _, c := range cases {
		golden := c.Golden
		if golden == "" {
			golden = filepath.Join("testdata", "golden", filepath.Base(c.Input)+".golden.jsonl")
		}
		t.Run(filepath.Base(c.Input), func(t *testing.T) {
			lines := Run(t, dec, c)
			var got bytes.Buffer
			for _, l := range lines {
				b, err := json.Marshal(l)
				if err != nil {
					t.Fatal(err)
				}
				got.Write(b)
				got.WriteByte('\n')
			}
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("golden file: %v (run the test with -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update and review the diff):\n%s", golden, lineDiff(string(want), got.String()))
			}
		})
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
			if b.Len() > 4000 {
				b.WriteString("  ...\n")
				break
			}
		}
	}
	return b.String()
}

// CheckEvent checks what every normalized event must satisfy: the event
// schema, an exact JSON round trip, and the required fields.
func CheckEvent(t testing.TB, origin string, ev *ecs.Event) {
	t.Helper()
	if ev == nil {
		t.Errorf("%s: nil event", origin)
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Errorf("%s: event does not encode: %v", origin, err)
		return
	}
	if err := schemas.Validate(schemas.Event, b); err != nil {
		t.Errorf("%s: event does not match the schema: %v\n%s", origin, err, b)
	}
	var back ecs.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Errorf("%s: event does not decode: %v", origin, err)
		return
	}
	b2, _ := json.Marshal(&back)
	if !bytes.Equal(b, b2) {
		t.Errorf("%s: event changes in a JSON round trip:\n%s\n%s", origin, b, b2)
	}
	if ev.Timestamp.IsZero() || ev.Event.Kind == "" || ev.Event.Dataset == "" {
		t.Errorf("%s: event lacks @timestamp, event.kind or event.dataset", origin)
	}
}

// Robust decodes each input and many mutations of it (truncations, flipped
// and inserted bytes, repeated fragments) and fails if the decoder panics
// or returns neither an event, an error nor ErrSkipped: no input may be
// dropped silently.
func Robust(t *testing.T, dec normalize.Decoder, inputs [][]byte, meta normalize.Meta) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(in []byte) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Decode panicked on %q: %v", trim(in), r)
			}
		}()
		evs, err := dec.Decode(in, meta)
		if err == nil && len(evs) == 0 {
			t.Fatalf("Decode returned no event and no error for %q", trim(in))
		}
		for _, ev := range evs {
			if ev == nil {
				t.Fatalf("Decode returned a nil event for %q", trim(in))
			}
		}
	}
	for _, in := range inputs {
		check(in)
		for i := 0; i <= len(in); i += max(1, len(in)/50) {
			check(in[:i])
		}
		for k := 0; k < 200; k++ {
			m := append([]byte(nil), in...)
			switch k % 4 {
			case 0:
				if len(m) > 0 {
					m[rng.IntN(len(m))] = byte(rng.IntN(256))
				}
			case 1:
				at := rng.IntN(len(m) + 1)
				const alphabet = "{}[]\":,\\0\n"
				m = append(m[:at], append([]byte{alphabet[rng.IntN(len(alphabet))]}, m[at:]...)...)
			case 2:
				if len(m) > 2 {
					a := rng.IntN(len(m) - 1)
					b := a + rng.IntN(len(m)-a)
					m = append(m[:b], append(append([]byte(nil), m[a:b]...), m[b:]...)...)
				}
			case 3:
				if len(m) > 0 {
					m = m[rng.IntN(len(m)):]
				}
			}
			check(m)
		}
	}
}

func trim(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
