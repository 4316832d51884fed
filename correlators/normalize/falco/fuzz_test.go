package falco

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
)

// FuzzDecode checks that no input makes Decode panic, that every input
// gives events or an error, and that every event is valid.
func FuzzDecode(f *testing.F) {
	for _, in := range allInputs(f) {
		f.Add(in)
		for _, line := range bytes.Split(in, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				f.Add(line)
			}
		}
	}
	f.Add([]byte(jsonOutput))
	f.Add([]byte("[" + sidekick + "," + jsonOutput + "]"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		evs, err := Decoder{}.Decode(raw, normalize.Meta{Origin: "fuzz", KeepOriginal: true})
		var pe *normalize.PartialError
		if err == nil && len(evs) == 0 {
			t.Fatalf("no event and no error for %q", raw)
		}
		if err != nil && len(evs) > 0 && !errors.As(err, &pe) {
			t.Fatalf("%d events with the error %v", len(evs), err)
		}
		for _, ev := range evs {
			normalizetest.CheckEvent(t, "fuzz", ev)
			if ev.Event.ID == "" {
				t.Fatalf("event without an id for %q", raw)
			}
		}
	})
}
