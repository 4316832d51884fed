// # Windows and firing
//
// A correlation runs per group: the matches of one correlation with the
// same group-by values, which share a Kafka key (Match.Key) and so a
// partition and a task. Time is the matches' event time (Match.Time, to
// the millisecond); each task's stream time is the latest event time it
// has seen.
//
// Correlations whose condition can only become true as matches are added
// are "threshold" correlations: event_count, value_count, value_sum,
// temporal and temporal_ordered whose tests are all gt or gte (temporal
// types without a condition need every rule). They run over sliding
// windows: the window of a match at time t holds the group's matches in
// [t - timespan, t], both ends included, so two matches exactly one
// timespan apart are together. An alert fires as soon as one such window
// satisfies the condition: when the match that completes it arrives, or,
// if a match arrives out of order, for the earliest window ending at a
// later match that it completes. The alert's window is
// [t - timespan, t + 1ms) and its time t. The matches at or before t are
// then spent: they count toward no later alert, so a group fires again
// only when new matches satisfy the condition again (100 failed logins
// with gte: 10 give ten alerts, not ninety-one). With value_sum, values
// are expected to be non-negative; a negative one arriving late does not
// withdraw an alert.
//
// All other correlations (value_avg, value_percentile, and any condition
// with lt, lte, eq or neq, such as a range "gt: 100, lte: 200") can only be
// judged on a complete window. They run over tumbling windows of timespan
// aligned to the Unix epoch ([k*timespan, (k+1)*timespan), so 1d windows
// are UTC days), evaluated once, when the window closes: when the task's
// stream time reaches its end plus the grace period. Each group fires at
// most once per window, except value_percentile (below). The alert's time
// is when the window closed, its end plus grace: when the result became
// known in event time.
//
// value_percentile tests, for each distinct value of the condition's field
// in the window, the share of the window's matches (those that have the
// field) holding that value, as a percentage: "lte: 1" finds values seen
// in at most 1% of the group's matches, such as a process name a computer
// rarely runs. Each value that passes raises an alert of its own (the
// value in vigil.field_value, its share in vigil.value), at most 100 per
// group and window, rarest first.
//
// For temporal and temporal_ordered a condition counts rules: temporal
// counts the referenced rules with a match in the window; temporal_ordered
// counts how many of its rules, from the first, matched in the listed
// order (a match of rule i+1 at or after one of rule i; equal times follow
// arrival order). Without a condition every rule must match.
//
// Matches of value_* correlations that lack the field are ignored, as are
// those of value_sum and value_avg whose value is not a number. The same
// event (by id) counts once per group however often its match arrives; an
// event matching several referenced rules counts once, for each of them.
//
// # Lateness and state
//
// A match is late when its window has closed: for a sliding correlation
// when t + 1ms + grace <= stream time, for a tumbling one when the end of
// its window plus grace is. Late matches go to the late topic. The matches
// themselves are kept in a window store, one entry per group and
// millisecond, expired by the runtime once they are older than the longest
// timespan plus grace; each sliding group also keeps a small head (its
// newest match, what is spent, the aggregate of its current window) in a
// key-value store, deleted by an event-time timer once the group has been
// quiet for a timespan plus grace. A tumbling window is closed by an
// event-time timer. Everything is written through to changelogs and
// restored from them, so a restarted or moved task goes on where it left
// off; outputs, state and offsets commit together (exactly once).
//
// # Alerts
//
// An alert carries the rule's id, title and level (medium if the rule has
// none), the group values, the window, the number of matches (events) in
// it, the aggregated value where there is one (distinct values, sum,
// average, share, rules matched), and evidence: the ids of the events,
// at most 100 (for temporal types the latest match of each rule, then the
// most recent others). Its id is derived from the rule id, the group and
// the window (and the value for value_percentile), so a replay gives the
// same ids.
//
// A correlation referenced by another one (a correlation of correlations)
// sends, each time it fires, a Match for the outer correlation to the
// matches topic: its group values taken from the alert's (through the
// outer correlation's aliases), its time the alert's, its event id the
// alert's id. It raises an alert of its own only if no correlation
// references it or one that does has generate: true.
package correlate

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
)

// MaxEvidence bounds the events an alert lists as evidence.
const MaxEvidence = 100

// maxValueAlerts bounds the alerts of one value_percentile window.
const maxValueAlerts = 100

// The app's stores.
const (
	storeMatches = "matches"
	storeHeads   = "heads"
)

// Timer keys: a sliding group's expiry, a tumbling window's close.
const (
	timerHead  = 'h'
	timerClose = 'c'
)

// Options configure a Processor.
type Options struct {
	// Alerts is the topic alerts are written to. Default "vigil.alerts".
	Alerts string
	// Matches is the matches topic, where matches for correlations of
	// correlations are written. Default "vigil.matches".
	Matches string
	// Grace is how far behind its task's stream time a match may be and
	// still count; tumbling windows are evaluated this long after they
	// end. Zero takes no late match (the app's config defaults it to 5m).
	Grace time.Duration
	// Logger defaults to a no-op logger.
	Logger *slog.Logger
	// Registerer registers the processor's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Processor runs correlation rules over matches. It implements
// streams.Processor, streams.TimerHandler and streams.StreamTimeHandler,
// and keeps all its state in the stores Stores describes, so one value
// serves every task, concurrently.
type Processor struct {
	o       Options
	rules   atomic.Pointer[map[string]*corr]
	ignored *prometheus.CounterVec
	// retention is how long matches are kept, fixed when the app starts
	// (it is the window store's): the longest timespan plus grace, and at
	// least a day, so that rules reloaded later may have longer windows.
	retention time.Duration
}

// minRetention is the least time matches are kept, whatever the rules'
// timespans when the app starts.
const minRetention = 24 * time.Hour

// NewProcessor compiles the correlation rules among rules (other kinds are
// ignored) into a processor. It reports every problem with the rules at
// once.
func NewProcessor(rules []*ast.Rule, o Options) (*Processor, error) {
	if o.Alerts == "" {
		o.Alerts = "vigil.alerts"
	}
	if o.Matches == "" {
		o.Matches = "vigil.matches"
	}
	if o.Grace < 0 {
		return nil, fmt.Errorf("correlate: grace (%s) must be >= 0", o.Grace)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	byID, err := compile(rules)
	if err != nil {
		return nil, err
	}
	p := &Processor{
		o: o,
		// A minute beyond what any window needs, against rounding.
		retention: max(longest(byID), minRetention) + o.Grace + time.Minute,
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_correlate_matches_ignored_total",
			Help: "Matches that took no part in a correlation, by reason: no_value, not_a_number, spent (their window already fired), duplicate. Counted per processing attempt.",
		}, []string{"reason"}),
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(p.ignored); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			p.ignored = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	p.rules.Store(&byID)
	return p, nil
}

func longest(byID map[string]*corr) time.Duration {
	var d time.Duration
	for _, c := range byID {
		d = max(d, time.Duration(c.ts)*time.Millisecond)
	}
	return d
}

// Swap compiles the correlation rules among rules and runs them from the
// next record on. The state of a correlation whose definition (its
// correlation section) is unchanged carries on; a changed one starts
// afresh, its old state left to expire. On error the rules in force stay.
func (p *Processor) Swap(rules []*ast.Rule) error {
	byID, err := compile(rules)
	if err != nil {
		return err
	}
	if need := longest(byID) + p.o.Grace; need > p.retention {
		p.o.Logger.Warn("a reloaded correlation's timespan is longer than the matches are kept since the app started; restart the app for it to see whole windows",
			"needed", need, "kept", p.retention)
	}
	p.rules.Store(&byID)
	return nil
}

func (p *Processor) byID() map[string]*corr { return *p.rules.Load() }

// Correlations returns the ids of the correlations the processor runs,
// sorted.
func (p *Processor) Correlations() []string {
	byID := p.byID()
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Stores returns the state stores the processor needs in its app.
func (p *Processor) Stores() []state.Spec {
	return []state.Spec{
		{Name: storeMatches, Kind: state.KindWindow, Retention: p.retention},
		{Name: storeHeads, Kind: state.KindKV},
	}
}

// EventTime returns the event time of a match record: Match.Time. Use it
// as the app's EventTime, so that stream time follows the matches however
// their records are stamped.
func (p *Processor) EventTime(r *kgo.Record) time.Time {
	var v struct {
		Time time.Time `json:"time"`
	}
	if json.Unmarshal(r.Value, &v) != nil {
		return time.Time{}
	}
	return v.Time
}

// NewRecord returns the record of a match for the matches topic: keyed by
// m.Key, stamped with m.Time.
func NewRecord(topic string, m *Match) (*kgo.Record, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Topic: topic, Key: m.Key(), Value: b, Timestamp: m.Time}, nil
}

func (p *Processor) ignore(reason string) { p.ignored.WithLabelValues(reason).Inc() }

// Process implements streams.Processor.
func (p *Processor) Process(c *streams.Context, r *kgo.Record) error {
	var m Match
	if err := json.Unmarshal(r.Value, &m); err != nil {
		return fmt.Errorf("decode match: %w", err)
	}
	if m.Watermark {
		// EventTime has moved stream time on already.
		return nil
	}
	cr := p.byID()[m.Correlation]
	if cr == nil {
		return fmt.Errorf("no correlation rule %q is loaded", m.Correlation)
	}
	idx := cr.ruleIndex(m.Rule, m.RuleName)
	if idx < 0 {
		return fmt.Errorf("correlation %q does not reference rule %q (name %q)", cr.id, m.Rule, m.RuleName)
	}
	if m.Time.IsZero() {
		return errors.New("match has no time")
	}
	for k, v := range m.Group {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("group value %q=%q: names must be non-empty without '=' or NUL, values without NUL", k, v)
		}
	}
	if cr.usesValue() {
		if !m.HasValue {
			p.ignore("no_value")
			return nil
		}
		if cr.numeric() {
			if _, err := strconv.ParseFloat(strings.TrimSpace(m.Value), 64); err != nil {
				p.ignore("not_a_number")
				return nil
			}
		}
	}
	e := entry{t: m.Time.UnixMilli(), rules: 1 << idx, id: m.EventID, dataset: m.Dataset, origin: m.Origin, value: m.Value, hasValue: m.HasValue}
	if e.id == "" {
		// Stable across replays: the match's place in its topic.
		e.id = r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "@" + strconv.FormatInt(r.Offset, 10)
	}
	key := append(cr.fp[:len(cr.fp):len(cr.fp)], m.Key()...)
	st := c.StreamTime().UnixMilli()
	if cr.sliding {
		return p.slide(c, cr, key, &e, st)
	}
	return p.tumble(c, cr, key, &e, st)
}

// bucket is the window-store window of the entries at time t.
func bucket(t int64) state.Window {
	return state.Window{Start: time.UnixMilli(t).UTC(), End: time.UnixMilli(t + 1).UTC()}
}

// put adds e to its bucket. added is false when the bucket already holds
// the event for the same rules; merged is true when it held the event for
// other rules, which e's are added to.
func put(ws *state.WindowStore, key []byte, e *entry) (added, merged bool, err error) {
	w := bucket(e.t)
	old, _, err := ws.Get(key, w)
	if err != nil {
		return false, false, err
	}
	es, err := decodeBucket(e.t, old)
	if err != nil {
		return false, false, err
	}
	for i := range es {
		if es[i].id != e.id {
			continue
		}
		if es[i].rules&e.rules == e.rules {
			return false, false, nil
		}
		es[i].rules |= e.rules
		var b []byte
		for j := range es {
			b = appendEntry(b, &es[j])
		}
		return true, true, ws.Put(key, w, b)
	}
	return true, false, ws.Put(key, w, appendEntry(bytes.Clone(old), e))
}

// fetch returns the entries of key with times in [lo, hi], in time order.
func fetch(ws *state.WindowStore, key []byte, lo, hi int64) ([]entry, error) {
	var out []entry
	err := ws.Fetch(key, time.UnixMilli(lo+1), time.UnixMilli(hi+2), func(w state.Window, v []byte) error {
		es, err := decodeBucket(w.Start.UnixMilli(), v)
		out = append(out, es...)
		return err
	})
	return out, err
}

var errStop = errors.New("stop")

func lateReason(t int64, what string) string {
	return fmt.Sprintf("match at %s is later than the grace period of its %s", time.UnixMilli(t).UTC().Format(time.RFC3339Nano), what)
}

// slide handles a match of a sliding correlation.
func (p *Processor) slide(c *streams.Context, cr *corr, key []byte, e *entry, st int64) error {
	grace := p.o.Grace.Milliseconds()
	if e.t+1+grace <= st {
		c.Late(lateReason(e.t, "sliding window"))
		return nil
	}
	kv := c.KV(storeHeads)
	h, err := loadHead(kv, cr, key)
	if err != nil {
		return err
	}
	if h != nil && h.consumed != noTime && e.t <= h.consumed {
		p.ignore("spent")
		return nil
	}
	ws := c.Window(storeMatches)
	added, merged, err := put(ws, key, e)
	if err != nil {
		return err
	}
	if !added {
		p.ignore("duplicate")
		return nil
	}
	if h == nil {
		h = &head{anchor: e.t, consumed: noTime, timer: noTime, agg: newAgg(cr)}
	}
	if !merged && e.t >= h.anchor {
		// In order: slide the head's window on to e and add it.
		oldLo := h.lo(cr.ts)
		h.anchor = e.t
		lo := h.lo(cr.ts)
		if lo > oldLo {
			gone, err := fetch(ws, key, oldLo, lo-1)
			if err != nil {
				return err
			}
			for i := range gone {
				h.agg.remove(&gone[i])
			}
		}
		h.agg.add(e, lo)
		if cr.holds(h.agg.value(lo)) {
			in, err := fetch(ws, key, lo, h.anchor)
			if err != nil {
				return err
			}
			if err := p.fire(c, cr, key, firing{at: h.anchor, start: h.anchor - cr.ts, end: h.anchor + 1, entries: in, value: h.agg.value(lo)}); err != nil {
				return err
			}
			h.consumed = h.anchor
			h.agg.reset()
		}
	} else if err := p.rescan(c, cr, key, ws, h, e.t); err != nil {
		return err
	}
	if h.timer == noTime {
		h.timer = h.anchor + cr.ts + grace + 1
		if err := c.Schedule(streams.EventTimeTimer, append([]byte{timerHead}, key...), time.UnixMilli(h.timer)); err != nil {
			return err
		}
	}
	return kv.Set(key, h.encode())
}

// rescan handles a match at t0 that is not the newest of its group (or
// adds a rule to an event already kept): it evaluates every window ending
// at a match in [t0, t0+timespan], the windows that hold t0, oldest first,
// firing those that now satisfy the condition, and rebuilds the head.
func (p *Processor) rescan(c *streams.Context, cr *corr, key []byte, ws *state.WindowStore, h *head, t0 int64) error {
	anchor := max(h.anchor, t0)
	consumed := h.consumed
	lo0 := t0 - cr.ts
	if consumed != noTime && consumed+1 > lo0 {
		lo0 = consumed + 1
	}
	es, err := fetch(ws, key, lo0, anchor)
	if err != nil {
		return err
	}
	a := newAgg(cr)
	j := 0
	for i := 0; i < len(es); {
		at := es[i].t
		lo := at - cr.ts
		if consumed != noTime && consumed+1 > lo {
			lo = consumed + 1
		}
		for ; i < len(es) && es[i].t == at; i++ {
			a.add(&es[i], lo)
		}
		for ; j < i && es[j].t < lo; j++ {
			a.remove(&es[j])
		}
		if at >= t0 && at <= t0+cr.ts && cr.holds(a.value(lo)) {
			if err := p.fire(c, cr, key, firing{at: at, start: at - cr.ts, end: at + 1, entries: es[j:i], value: a.value(lo)}); err != nil {
				return err
			}
			consumed = at
			a.reset()
			j = i
		}
	}
	h.anchor, h.consumed, h.agg = anchor, consumed, a
	return nil
}

func loadHead(kv *state.KVStore, cr *corr, key []byte) (*head, error) {
	b, ok, err := kv.Get(key)
	if err != nil || !ok {
		return nil, err
	}
	h, err := decodeHead(cr, b)
	if err != nil {
		// A head of an earlier shape of the rule: start the group over.
		return nil, nil
	}
	return h, nil
}

// tumble handles a match of a tumbling-window correlation.
func (p *Processor) tumble(c *streams.Context, cr *corr, key []byte, e *entry, st int64) error {
	start := floorDiv(e.t, cr.ts) * cr.ts
	end := start + cr.ts
	if end+p.o.Grace.Milliseconds() <= st {
		c.Late(lateReason(e.t, "window"))
		return nil
	}
	ws := c.Window(storeMatches)
	first := true
	if err := ws.Fetch(key, time.UnixMilli(start+1), time.UnixMilli(end+1), func(state.Window, []byte) error {
		first = false
		return errStop
	}); err != nil && !errors.Is(err, errStop) {
		return err
	}
	if first {
		if err := c.Schedule(streams.EventTimeTimer, closeTimerKey(start, key), time.UnixMilli(end+p.o.Grace.Milliseconds())); err != nil {
			return err
		}
	}
	added, _, err := put(ws, key, e)
	if err != nil {
		return err
	}
	if !added {
		p.ignore("duplicate")
	}
	return nil
}

func closeTimerKey(start int64, key []byte) []byte {
	b := append([]byte{timerClose}, binary.BigEndian.AppendUint64(nil, uint64(start))...)
	return append(b, key...)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// OnTimer implements streams.TimerHandler: it expires sliding groups and
// closes tumbling windows.
func (p *Processor) OnTimer(c *streams.Context, t streams.Timer) error {
	if len(t.Key) == 0 {
		return nil
	}
	switch t.Key[0] {
	case timerHead:
		return p.expireHead(c, t.Key[1:], t.At.UnixMilli())
	case timerClose:
		if len(t.Key) < 9 {
			return nil
		}
		return p.close(c, int64(binary.BigEndian.Uint64(t.Key[1:9])), t.Key[9:], t.At.UnixMilli())
	}
	return nil
}

// expireHead deletes a group's head once no new match can share a window
// with its matches, or sets the timer again for its newer anchor.
func (p *Processor) expireHead(c *streams.Context, key []byte, at int64) error {
	cr := p.corrOf(key)
	kv := c.KV(storeHeads)
	if cr == nil {
		return kv.Delete(key)
	}
	h, err := loadHead(kv, cr, key)
	if err != nil || h == nil {
		return err
	}
	due := h.anchor + cr.ts + p.o.Grace.Milliseconds() + 1
	if due <= at {
		return kv.Delete(key)
	}
	h.timer = due
	if err := c.Schedule(streams.EventTimeTimer, append([]byte{timerHead}, key...), time.UnixMilli(due)); err != nil {
		return err
	}
	return kv.Set(key, h.encode())
}

// close evaluates a tumbling window once it has closed, at the time its
// timer was due: its end plus grace.
func (p *Processor) close(c *streams.Context, start int64, key []byte, at int64) error {
	cr := p.corrOf(key)
	if cr == nil {
		return nil
	}
	end := start + cr.ts
	es, err := fetch(c.Window(storeMatches), key, start, end-1)
	if err != nil || len(es) == 0 {
		return err
	}
	base := firing{at: at, start: start, end: end}
	if cr.typ == ast.ValuePercentile {
		return p.percentiles(c, cr, key, base, es)
	}
	a := newAgg(cr)
	var sum float64
	for i := range es {
		a.add(&es[i], start)
		if cr.typ == ast.ValueAvg {
			sum += es[i].num()
		}
	}
	v := a.value(start)
	if cr.typ == ast.ValueAvg {
		v = sum / float64(len(es))
	}
	if !cr.holds(v) {
		return nil
	}
	f := base
	f.entries, f.value = es, v
	return p.fire(c, cr, key, f)
}

// percentiles raises the alerts of a value_percentile window.
func (p *Processor) percentiles(c *streams.Context, cr *corr, key []byte, base firing, es []entry) error {
	byValue := map[string][]entry{}
	for _, e := range es {
		byValue[e.value] = append(byValue[e.value], e)
	}
	type share struct {
		value string
		pct   float64
	}
	var pass []share
	for v, list := range byValue {
		pct := 100 * float64(len(list)) / float64(len(es))
		if cr.holds(pct) {
			pass = append(pass, share{v, pct})
		}
	}
	sort.Slice(pass, func(i, j int) bool {
		if pass[i].pct != pass[j].pct {
			return pass[i].pct < pass[j].pct
		}
		return pass[i].value < pass[j].value
	})
	if len(pass) > maxValueAlerts {
		p.o.Logger.Warn("value_percentile window has more passing values than alerts it may raise; the commonest are left out",
			"rule", cr.id, "values", len(pass), "alerts", maxValueAlerts)
		pass = pass[:maxValueAlerts]
	}
	for _, s := range pass {
		f := base
		f.entries, f.value, f.fieldValue, f.perValue = byValue[s.value], s.pct, s.value, true
		if err := p.fire(c, cr, key, f); err != nil {
			return err
		}
	}
	return nil
}

// OnStreamTime implements streams.StreamTimeHandler: it drops matches
// past the store's retention.
func (p *Processor) OnStreamTime(c *streams.Context, st time.Time) error {
	return c.Window(storeMatches).Expire(st.Add(-p.retention))
}

// corrOf returns the correlation whose state key is key, or nil if it is
// no longer loaded or its definition has changed since the state was
// written.
func (p *Processor) corrOf(key []byte) *corr {
	id, _ := parseKey(key)
	cr := p.byID()[id]
	if cr == nil || len(key) < fpLen || string(key[:fpLen]) != string(cr.fp[:]) {
		return nil
	}
	return cr
}

// parseKey splits a state key (the correlation's fingerprint, then the
// match key) into the correlation id and the group.
func parseKey(key []byte) (string, map[string]string) {
	if len(key) < fpLen {
		return "", nil
	}
	parts := strings.Split(string(key[fpLen:]), "\x00")
	group := make(map[string]string, len(parts)-1)
	for _, kv := range parts[1:] {
		k, v, _ := strings.Cut(kv, "=")
		group[k] = v
	}
	return parts[0], group
}
