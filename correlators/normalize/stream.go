package normalize

import (
	"errors"
	"fmt"
	"io"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/ecs"
)

// Result is what became of one record of a stream: an event, or an error,
// or a deliberate skip. A record that gives several events gives several
// Results.
type Result struct {
	// Origin says where the record was: name:line, name:[i] or
	// name:Records[i].
	Origin string
	Event  *ecs.Event
	// Err is why the record, or an item of it, could not be normalized.
	Err error
	// Skipped is set, with the reason in Err, for a record recognised and
	// deliberately skipped.
	Skipped bool
}

// StreamOptions configure DecodeStream.
type StreamOptions struct {
	// Format frames the stream; default framing.Auto, which is CSV for a
	// name ending in .csv or .csv.gz.
	Format framing.Format
	// HeaderLine treats the first line as the header that names fields:
	// it goes with every record, itself included (see framing.FileHeader).
	HeaderLine bool
	// KeepOriginal keeps raw records in event.original.
	KeepOriginal bool
	// MaxFrame bounds a record; default framing.DefaultMaxFrame.
	MaxFrame int
	// Enricher, if not nil, enriches every event.
	Enricher *Enricher
}

// DecodeStream normalizes a file or stream as the file source and the
// normalize app together would: it gunzips, frames the records, decodes
// each with dec and enriches the events, calling emit for each result in
// order. It returns only a read error; bad records are results.
func DecodeStream(r io.Reader, name string, dec Decoder, o StreamOptions, emit func(Result)) error {
	r, err := framing.Decompress(r)
	if err != nil {
		return err
	}
	meta := Meta{KeepOriginal: o.KeepOriginal}
	if o.HeaderLine {
		var h []byte
		if h, r, err = framing.FileHeader(r); err != nil {
			return err
		}
		meta.FileHeader = string(h)
	}
	sp := framing.New(r, framing.ForPath(name, o.Format), o.MaxFrame)
	for {
		fr, err := sp.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		origin := framing.Origin(name, sp.Format(), fr)
		if fr.Err != nil {
			emit(Result{Origin: origin, Err: fmt.Errorf("framing: %w", fr.Err)})
			continue
		}
		m := meta
		m.Origin = origin
		evs, err := dec.Decode(fr.Data, m)
		for i, ev := range evs {
			if ev.Event.ID == "" {
				ev.Event.ID = DerivedID(fr.Data, i)
			}
			if o.Enricher != nil {
				o.Enricher.Enrich(ev)
			}
			emit(Result{Origin: origin, Event: ev})
		}
		var pe *PartialError
		switch {
		case err == nil:
			if len(evs) == 0 {
				emit(Result{Origin: origin, Err: errors.New("the decoder returned no event and no error")})
			}
		case errors.Is(err, ErrSkipped):
			emit(Result{Origin: origin, Err: err, Skipped: true})
		case errors.As(err, &pe):
			for _, it := range pe.Items {
				o := origin + ":" + it.Path
				if it.Path == "" {
					o = fmt.Sprintf("%s[%d]", origin, it.Index)
				}
				emit(Result{Origin: o, Err: it.Err})
			}
		default:
			emit(Result{Origin: origin, Err: err})
		}
	}
}
