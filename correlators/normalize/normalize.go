// Package normalize is the stream app that turns raw events into Elastic
// Common Schema documents.
//
// It consumes vigil.raw.<source> for every configured source, decodes each
// record with the decoder registered for that source, and writes one ECS
// document per event to vigil.events.<dataset>, keyed by event id. A record
// it cannot decode goes to the dead-letter topic with the reason.
//
// Decoders live one package per source (correlators/normalize/cloudtrail)
// and register themselves with Register.
package normalize

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/bytedance/sonic"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/correlators/normalize/geoip"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// Meta is what a decoder knows about a raw record besides its bytes.
type Meta struct {
	// Origin is where the record was read ("file.json:12").
	Origin string
	// IngestTime is when the source read it; zero if unknown.
	IngestTime time.Time
	// KeepOriginal asks the decoder to keep the raw bytes in
	// event.original.
	KeepOriginal bool
	// FileHeader is the first line of the file the record came from, when
	// its source sends it (header_line): VPC Flow Logs name their fields
	// there.
	FileHeader string
}

// ErrSkipped is returned, wrapped with the reason, for a record that is
// recognised and deliberately not an event: a CloudTrail digest file, the
// header line of a flow log file. It is counted, not dead-lettered. Any
// other record a decoder returns no event for must come with an error, so
// that nothing is dropped silently.
var ErrSkipped = errors.New("skipped")

// ItemError is the failure of one item inside a raw record that holds
// several events, such as a CloudTrail log file pushed whole.
type ItemError struct {
	// Index is the item's position in the record.
	Index int
	// Path locates the item for people, as in "Records[3]"; it is appended
	// to the record's origin.
	Path string
	// Raw is the item's bytes, for the dead-letter topic.
	Raw []byte
	// Err says what is wrong with it.
	Err error
}

// PartialError is returned by a decoder, along with the events it could
// decode, when some items of a record failed. The normalize app passes the
// good events on and dead-letters each failed item on its own.
type PartialError struct {
	Items []ItemError
}

func (e *PartialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d items failed", len(e.Items))
	for i, it := range e.Items {
		if i == 3 {
			b.WriteString("; ...")
			break
		}
		where := it.Path
		if where == "" {
			where = fmt.Sprintf("[%d]", it.Index)
		}
		fmt.Fprintf(&b, "; %s: %v", where, it.Err)
	}
	return b.String()
}

// Decoder normalizes the raw records of one source.
type Decoder interface {
	// Dataset names the output topic suffix, as in vigil.events.<dataset>.
	Dataset() string
	// Decode returns the ECS events in raw: one, or several (a whole log
	// file pushed as one record). A record recognised and deliberately
	// skipped returns an error wrapping ErrSkipped; a record some of whose
	// items failed returns the good events and a *PartialError; any other
	// error means the record is malformed, and the message should say what
	// is wrong and where in the record. Decode must be safe for concurrent
	// use.
	//
	// The caller hands raw over: the events may refer to its memory
	// (strings that alias it, see Alias), so it must not be modified
	// afterwards.
	Decode(raw []byte, m Meta) ([]*ecs.Event, error)
}

// Releaser is implemented by decoders that recycle the memory of their
// events. The normalize app calls Release with the events of a record once
// it has encoded them; nothing may use them afterwards.
type Releaser interface {
	Release(evs []*ecs.Event)
}

// Alias returns b as a string without copying it. b must not be modified
// afterwards; a Decoder may alias its raw record (see Decoder.Decode).
func Alias(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

var (
	mu       sync.RWMutex
	decoders = map[string]Decoder{}
)

// Register makes a decoder available for a source name. It panics on a
// duplicate.
func Register(source string, d Decoder) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := decoders[source]; dup {
		panic("normalize: decoder registered twice: " + source)
	}
	decoders[source] = d
}

// Lookup returns the decoder for a source.
func Lookup(source string) (Decoder, bool) {
	mu.RLock()
	defer mu.RUnlock()
	d, ok := decoders[source]
	return d, ok
}

// Sources lists the sources that have a decoder, sorted.
func Sources() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(decoders))
	for s := range decoders {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Config configures the normalize app.
type Config struct {
	// Sources are the raw topics to consume, by source name. Default: every
	// source that has a decoder.
	Sources []string `yaml:"sources"`
	// KeepOriginal keeps the raw event in event.original. Default true:
	// detection rules written against raw field names need it.
	KeepOriginal bool `yaml:"keep_original"`
	// Guarantee overrides kafka.guarantee for this app.
	Guarantee string `yaml:"guarantee"`
	// GeoIP names MaxMind-format databases for geo and AS fields of public
	// addresses (`make geoip` fetches a free city database). Default: none,
	// and geo fields are off.
	GeoIP GeoIPConfig `yaml:"geoip"`
	// InternalCIDRs are the internal networks, from which network.direction
	// is derived. Default: the private, shared and link-local ranges.
	InternalCIDRs []string `yaml:"internal_cidrs"`
}

// GeoIPConfig names GeoIP databases.
type GeoIPConfig struct {
	// City databases (GeoLite2/GeoIP2 City, or ip-location-db city files).
	City []string `yaml:"city"`
	// ASN databases (GeoLite2/GeoIP2 ASN).
	ASN []string `yaml:"asn"`
}

// Validate implements plugin.Validator.
func (c *Config) Validate() []error {
	var errs []error
	for _, f := range append(append([]string(nil), c.GeoIP.City...), c.GeoIP.ASN...) {
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("geoip: %w", err))
		}
	}
	for _, cidr := range c.InternalCIDRs {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			errs = append(errs, fmt.Errorf("internal_cidrs: %q: %w", cidr, err))
		}
	}
	for _, s := range c.Sources {
		if _, ok := Lookup(s); !ok {
			errs = append(errs, fmt.Errorf("sources: no decoder for source %q (known: %v)", s, Sources()))
		}
	}
	if c.Guarantee != "" {
		if _, err := streams.ParseGuarantee(c.Guarantee); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func init() {
	plugin.Register(plugin.Spec{
		Kind:    plugin.App,
		Name:    "normalize",
		Summary: "turns raw events into ECS documents on vigil.events.<dataset>",
		Config:  func() any { return &Config{KeepOriginal: true} },
		New:     newApp,
	})
}

type app struct {
	*streams.Runner
	decl []topics.Spec
}

func (a *app) Topics() []topics.Spec { return a.decl }

func newApp(cfg any, d plugin.Deps) (plugin.Component, error) {
	c := cfg.(*Config)
	sources := c.Sources
	if len(sources) == 0 {
		sources = Sources()
	}
	var geo *geoip.DB
	if len(c.GeoIP.City)+len(c.GeoIP.ASN) > 0 {
		var err error
		if geo, err = geoip.Open(c.GeoIP.City, c.GeoIP.ASN); err != nil {
			return nil, err
		}
	} else if d.Logger != nil {
		d.Logger.Info("no GeoIP database configured (apps.normalize.geoip): geo fields are off")
	}
	enricher, err := NewEnricher(geo, c.InternalCIDRs)
	if err != nil {
		return nil, err
	}
	p := &Processor{Topics: d.Topics, KeepOriginal: c.KeepOriginal, Enricher: enricher, byTopic: map[string]Decoder{}}
	var inputs []string
	var decl []topics.Spec
	for _, s := range sources {
		dec, _ := Lookup(s)
		in := d.Topics.Raw(s)
		p.byTopic[in] = dec
		inputs = append(inputs, in)
		decl = append(decl,
			topics.Spec{Name: in, Partitions: d.Partitions},
			topics.Spec{Name: d.Topics.Events(dec.Dataset()), Partitions: d.Partitions})
	}
	decl = append(decl, topics.Spec{Name: d.Topics.DLQ(), Partitions: d.Partitions})
	g := d.Guarantee
	if c.Guarantee != "" {
		g, _ = streams.ParseGuarantee(c.Guarantee)
	}
	r, err := streams.New(d.App(streams.App{Inputs: inputs, Processor: p, Guarantee: g}))
	if err != nil {
		return nil, err
	}
	return &app{Runner: r, decl: decl}, nil
}

// Processor is the normalize app's record processor.
type Processor struct {
	Topics       topics.Names
	KeepOriginal bool
	// Enricher, if not nil, enriches every event.
	Enricher *Enricher
	byTopic  map[string]Decoder
}

// NewProcessor returns a processor that decodes the raw topic of each
// source with its registered decoder.
func NewProcessor(names topics.Names, keepOriginal bool, sources ...string) (*Processor, error) {
	p := &Processor{Topics: names, KeepOriginal: keepOriginal, byTopic: map[string]Decoder{}}
	for _, s := range sources {
		dec, ok := Lookup(s)
		if !ok {
			return nil, fmt.Errorf("normalize: no decoder for source %q", s)
		}
		p.byTopic[names.Raw(s)] = dec
	}
	return p, nil
}

// Process implements streams.Processor.
func (p *Processor) Process(c *streams.Context, r *kgo.Record) error {
	dec, ok := p.byTopic[r.Topic]
	if !ok {
		return fmt.Errorf("no decoder for topic %s", r.Topic)
	}
	m := Meta{Origin: streams.Origin(r), KeepOriginal: p.KeepOriginal, FileHeader: streams.Header(r, streams.HeaderFileHeader)}
	if t, err := time.Parse(time.RFC3339Nano, streams.Header(r, streams.HeaderIngestTime)); err == nil {
		m.IngestTime = t
	}
	events, err := dec.Decode(r.Value, m)
	if errors.Is(err, ErrSkipped) {
		return nil
	}
	var partial *PartialError
	if err != nil && !errors.As(err, &partial) {
		return err
	}
	if partial != nil {
		for _, it := range partial.Items {
			origin := fmt.Sprintf("%s[%d]", m.Origin, it.Index)
			if it.Path != "" {
				origin = m.Origin + ":" + it.Path
			}
			c.DeadLetter(it.Raw, origin, it.Err)
		}
	}
	out := p.Topics.Events(dec.Dataset())
	prov := streams.Provenance(r)
	for i, ev := range events {
		if ev.Event.ID == "" {
			ev.Event.ID = DerivedID(r.Value, i)
		}
		if p.Enricher != nil {
			p.Enricher.Enrich(ev)
		}
		if ev.Event.Ingested == nil && !m.IngestTime.IsZero() {
			t := m.IngestTime.UTC()
			ev.Event.Ingested = &t
		}
		b, err := Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		// The record timestamp is the event time, so that windowing apps
		// downstream read event time without decoding the value.
		c.EmitRecord(&kgo.Record{Topic: out, Key: []byte(ev.Event.ID), Value: b, Headers: prov, Timestamp: ev.Timestamp})
	}
	if rel, ok := dec.(Releaser); ok {
		rel.Release(events)
	}
	return nil
}

// DerivedID gives an event that carries no id of its own a stable one,
// from the bytes it was decoded from and its position among them, so that
// replaying the same input yields the same ids: 32 hex digits of the
// SHA-256 of raw followed by i as two bytes.
func DerivedID(raw []byte, i int) string {
	var b [32]byte
	return string(AppendDerivedID(b[:0], raw, i))
}

// AppendDerivedID appends DerivedID(raw, i) to dst. It does not allocate,
// nor write to raw's spare capacity (raw may be part of a larger buffer).
func AppendDerivedID(dst, raw []byte, i int) []byte {
	var sum [sha256.Size]byte
	suffix := [2]byte{byte(i >> 8), byte(i)}
	if len(raw) <= 1022 {
		var buf [1024]byte
		n := copy(buf[:], raw)
		copy(buf[n:], suffix[:])
		sum = sha256.Sum256(buf[:n+2])
	} else {
		d := sha256.New()
		d.Write(raw)
		d.Write(suffix[:])
		d.Sum(sum[:0])
	}
	return hex.AppendEncode(dst, sum[:16])
}

// encoder writes events as encoding/json would (field order, escaping of
// control characters), several times faster.
var encoder = sonic.Config{}.Froze()

// Marshal encodes a normalized event as JSON.
func Marshal(ev *ecs.Event) ([]byte, error) { return encoder.Marshal(ev) }
