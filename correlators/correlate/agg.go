package correlate

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// noTime marks an unset time.
const noTime = math.MinInt64

// entry is one matched event as the app keeps it: in a bucket of the
// matches store, with the other events of its group at the same
// millisecond.
type entry struct {
	t        int64  // event time, ms (the bucket's)
	rules    uint64 // the correlation's rules it matched, by position
	id       string // event id
	dataset  string
	origin   string
	value    string
	hasValue bool
}

// num is the entry's value as a number; numeric correlations keep only
// entries whose value parses.
func (e *entry) num() float64 {
	f, _ := strconv.ParseFloat(strings.TrimSpace(e.value), 64)
	return f
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendEntry(b []byte, e *entry) []byte {
	b = binary.AppendUvarint(b, e.rules)
	b = appendString(b, e.id)
	b = appendString(b, e.dataset)
	b = appendString(b, e.origin)
	if e.hasValue {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return appendString(b, e.value)
}

var errCorrupt = errors.New("correlate: corrupt state")

// decoder reads what the append functions wrote.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errCorrupt
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) float() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = errCorrupt
		return 0
	}
	f := math.Float64frombits(binary.BigEndian.Uint64(d.b))
	d.b = d.b[8:]
	return f
}

// decodeBucket returns the entries of a bucket at time t, in arrival
// order.
func decodeBucket(t int64, b []byte) ([]entry, error) {
	d := decoder{b: b}
	var out []entry
	for len(d.b) > 0 && d.err == nil {
		e := entry{t: t}
		e.rules = d.uvarint()
		e.id = d.string()
		e.dataset = d.string()
		e.origin = d.string()
		e.hasValue = d.byte() == 1
		e.value = d.string()
		out = append(out, e)
	}
	return out, d.err
}

// agg aggregates the entries of a window, for the correlation's condition.
// Entries are added in event-time order (ties in arrival order) and
// removed, oldest first, as the window slides.
type agg struct {
	typ      ast.CorrType
	n        int            // entries (events)
	perRule  []int          // entries per rule: temporal types
	distinct map[string]int // entries per value: value_count
	sum      float64        // value_sum
	best     []int64        // temporal_ordered, see add
}

func newAgg(c *corr) *agg {
	a := &agg{typ: c.typ}
	switch c.typ {
	case ast.Temporal:
		a.perRule = make([]int, len(c.refs))
	case ast.TemporalOrdered:
		a.best = make([]int64, len(c.refs))
		for i := range a.best {
			a.best[i] = noTime
		}
	case ast.ValueCount:
		a.distinct = map[string]int{}
	}
	return a
}

// add adds an entry of a window whose matches are at or after lo.
//
// For temporal_ordered, best[i] is the latest start time of a chain of
// matches of rules 0..i in order, ending at or before the entries added so
// far: a chain of all rules lies in a window [lo, t] when best[n-1] >= lo.
// The rules of one event are taken last to first, so that an event
// matching two rules does not follow itself.
func (a *agg) add(e *entry, lo int64) {
	a.n++
	switch a.typ {
	case ast.Temporal:
		for r := e.rules; r != 0; r &= r - 1 {
			if i := bits.TrailingZeros64(r); i < len(a.perRule) {
				a.perRule[i]++
			}
		}
	case ast.TemporalOrdered:
		for i := len(a.best) - 1; i >= 0; i-- {
			if e.rules&(1<<i) == 0 {
				continue
			}
			if i == 0 {
				a.best[0] = max(a.best[0], e.t)
			} else if a.best[i-1] != noTime && a.best[i-1] >= lo {
				a.best[i] = max(a.best[i], a.best[i-1])
			}
		}
	case ast.ValueCount:
		a.distinct[e.value]++
	case ast.ValueSum:
		a.sum += e.num()
	}
}

// remove removes an entry that has left the window. Chains of
// temporal_ordered need no removal: value compares their start with the
// window's.
func (a *agg) remove(e *entry) {
	a.n--
	switch a.typ {
	case ast.Temporal:
		for r := e.rules; r != 0; r &= r - 1 {
			if i := bits.TrailingZeros64(r); i < len(a.perRule) {
				a.perRule[i]--
			}
		}
	case ast.ValueCount:
		if a.distinct[e.value]--; a.distinct[e.value] <= 0 {
			delete(a.distinct, e.value)
		}
	case ast.ValueSum:
		a.sum -= e.num()
	}
}

// value is what the condition tests in a window starting at lo: the
// number of events (event_count), of distinct values (value_count), the
// sum (value_sum), the number of rules matched (temporal) or matched in
// order, from the first (temporal_ordered).
func (a *agg) value(lo int64) float64 {
	switch a.typ {
	case ast.Temporal:
		n := 0
		for _, c := range a.perRule {
			if c > 0 {
				n++
			}
		}
		return float64(n)
	case ast.TemporalOrdered:
		n := 0
		for _, b := range a.best {
			if b == noTime || b < lo {
				break
			}
			n++
		}
		return float64(n)
	case ast.ValueCount:
		return float64(len(a.distinct))
	case ast.ValueSum:
		return a.sum
	}
	return float64(a.n)
}

// reset empties the aggregate.
func (a *agg) reset() {
	a.n, a.sum = 0, 0
	clear(a.perRule)
	clear(a.distinct)
	for i := range a.best {
		a.best[i] = noTime
	}
}

func (a *agg) appendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(a.n))
	b = binary.AppendUvarint(b, uint64(len(a.perRule)))
	for _, n := range a.perRule {
		b = binary.AppendUvarint(b, uint64(n))
	}
	b = binary.AppendUvarint(b, uint64(len(a.best)))
	for _, t := range a.best {
		b = binary.AppendVarint(b, t)
	}
	keys := make([]string, 0, len(a.distinct))
	for k := range a.distinct {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(a.distinct[k]))
	}
	return binary.BigEndian.AppendUint64(b, math.Float64bits(a.sum))
}

func (a *agg) decode(d *decoder) {
	a.n = int(d.uvarint())
	if n := d.uvarint(); n > 0 && n <= maxRules && d.err == nil {
		a.perRule = make([]int, n)
		for i := range a.perRule {
			a.perRule[i] = int(d.uvarint())
		}
	}
	if n := d.uvarint(); n > 0 && n <= maxRules && d.err == nil {
		a.best = make([]int64, n)
		for i := range a.best {
			a.best[i] = d.varint()
		}
	}
	n := d.uvarint()
	if a.typ == ast.ValueCount {
		a.distinct = make(map[string]int, min(n, 1024))
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.string()
		v := d.uvarint()
		if a.distinct != nil {
			a.distinct[k] = int(v)
		}
	}
	a.sum = d.float()
}

// head is the state of one group of a sliding correlation: its newest
// match, how far its matches are consumed by alerts, and the aggregate of
// the window ending at the newest match.
type head struct {
	anchor   int64 // time of the newest match, ms
	consumed int64 // matches at or before it are spent; noTime if none
	timer    int64 // the expiry timer set, noTime if none
	agg      *agg
}

// lo is the start of the head's window: the matches it aggregates are in
// [lo, anchor].
func (h *head) lo(ts int64) int64 {
	lo := h.anchor - ts
	if h.consumed != noTime && h.consumed+1 > lo {
		lo = h.consumed + 1
	}
	return lo
}

func (h *head) encode() []byte {
	b := binary.AppendVarint(nil, h.anchor)
	b = binary.AppendVarint(b, h.consumed)
	b = binary.AppendVarint(b, h.timer)
	return h.agg.appendTo(b)
}

func decodeHead(c *corr, b []byte) (*head, error) {
	d := decoder{b: b}
	h := &head{agg: &agg{typ: c.typ}}
	h.anchor = d.varint()
	h.consumed = d.varint()
	h.timer = d.varint()
	h.agg.decode(&d)
	if d.err != nil {
		return nil, d.err
	}
	// A head written for another shape of the rule starts over.
	fresh := newAgg(c)
	if len(h.agg.perRule) != len(fresh.perRule) || len(h.agg.best) != len(fresh.best) || (fresh.distinct != nil) != (h.agg.distinct != nil) {
		return nil, errCorrupt
	}
	return h, nil
}
