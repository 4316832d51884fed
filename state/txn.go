package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
)

// Change is one write to a store, as it goes to the store's changelog.
type Change struct {
	Store     string
	Partition int32
	// Key is the changelog key: the key for a KV store, the encoded key
	// and window (EncodeWindowKey) for a window store.
	Key []byte
	// Value is the new value; nil deletes.
	Value []byte
}

// entry is what a transaction knows of one storage key: the value it sees
// (its own write, or a memoized read), and its bookkeeping.
type entry struct {
	key     string // the storage key (the Txn.keys key)
	value   []byte // nil: absent
	written bool   // the transaction wrote it; else a memoized read
	pre     string // store partition prefix, for the cache
	seg     int64  // cache segment (noSeg for KV stores)
	spGen   uint64 // savepoint generation of its last undo record
	listed  bool   // in its partition's writes
}

// partWrites are the keys a transaction wrote in one store partition, in
// the order of their first write.
type partWrites struct {
	pre   string
	store string
	p     int32
	clOff int // where the changelog key starts in a storage key
	keys  []*entry
}

// Txn collects the writes of one batch. Reads through it see its own
// writes. Nothing reaches the database until Commit. A Txn is used from one
// goroutine.
//
// Writes are kept in the key entries only; Commit writes each key once, in
// key order, which the memtable inserts fastest. An indexed Pebble batch,
// which iteration needs to see the transaction's writes, is built on the
// first Scan or Fetch and kept up to date from then on.
type Txn struct {
	d       *DB
	b       *pebble.Batch // the indexed batch; nil until an iteration
	keys    map[string]*entry
	slab    []entry                // where new entries come from
	written map[string]*partWrites // by store partition
	wOrder  []*partWrites          // in order of first write
	markers []Marker
	done    bool
	// ranges are the range deletions (Expire) the transaction made;
	// expired the window expiries behind them.
	ranges   [][2][]byte
	rangePre []string // the store partition of each range
	expired  []expiry
	views    map[viewKey]any // store views, made once per transaction

	// The savepoint, if one is open: what to undo on Rollback.
	sp     bool
	spGen  uint64
	spUndo []undo
}

type viewKey struct {
	store string
	p     int32
}

// undo is an entry's state before its first write since the savepoint.
type undo struct {
	e       *entry
	value   []byte
	written bool
}

// Begin starts a transaction.
func (d *DB) Begin() *Txn {
	n := int(d.txnKeys.Load())
	return &Txn{d: d, keys: make(map[string]*entry, n), slab: make([]entry, max(n, 256)), written: map[string]*partWrites{}, views: map[viewKey]any{}}
}

// batch returns the indexed batch for iterating the store partition pre,
// building it from the transaction's range deletions and writes so far if
// there is none yet. The partition's buffered writes go to Pebble first,
// for the batch's iterators to see them.
func (t *Txn) batch(pre string) (*pebble.Batch, error) {
	if err := t.d.flush(pre); err != nil {
		return nil, err
	}
	if t.b != nil {
		return t.b, nil
	}
	b := t.d.db.NewIndexedBatch()
	if err := t.writeTo(b, false); err != nil {
		b.Close()
		return nil, err
	}
	t.b = b
	return b, nil
}

// writeTo writes the transaction to b: its range deletions, then each key
// written with its last value (in key order if sorted), then its markers.
func (t *Txn) writeTo(b *pebble.Batch, sorted bool) error {
	for _, r := range t.ranges {
		if err := b.DeleteRange(r[0], r[1], nil); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(t.keys))
	for k, e := range t.keys {
		if e.written {
			keys = append(keys, k)
		}
	}
	if sorted {
		slices.Sort(keys)
	}
	for _, k := range keys {
		// Pebble copies the key: no need for a []byte of our own.
		kb := unsafe.Slice(unsafe.StringData(k), len(k))
		var err error
		if v := t.keys[k].value; v != nil {
			err = b.Set(kb, v, nil)
		} else {
			err = b.Delete(kb, nil)
		}
		if err != nil {
			return err
		}
	}
	for _, m := range t.markers {
		if err := b.Set(prefix(tagMarker, m.Store, m.Partition), binary.BigEndian.AppendUint64(nil, uint64(m.Offset)), nil); err != nil {
			return err
		}
	}
	return nil
}

// Savepoint starts recording the writes that follow, so that Rollback can
// undo them. The stream runtime opens one per record, so that a record that
// fails leaves no writes behind. Expire is not undone.
func (t *Txn) Savepoint() {
	t.sp = true
	t.spGen++
	t.spUndo = t.spUndo[:0]
}

// Release keeps the writes since the savepoint and closes it.
func (t *Txn) Release() { t.sp = false }

// Rollback undoes the writes since the savepoint and closes it.
func (t *Txn) Rollback() error {
	if !t.sp {
		return nil
	}
	t.sp = false
	for i := len(t.spUndo) - 1; i >= 0; i-- {
		u := t.spUndo[i]
		if t.b != nil {
			// The batch cannot forget a write: write back what the
			// key held.
			var err error
			if u.value != nil {
				err = t.b.Set([]byte(u.e.key), u.value, nil)
			} else {
				err = t.b.Delete([]byte(u.e.key), nil)
			}
			if err != nil {
				return err
			}
		}
		u.e.value, u.e.written = u.value, u.written
	}
	return nil
}

// Changes returns the transaction's writes, the last one per key, by store
// partition in the order each key was first written. They are what the
// changelog must get. Their keys must not be modified.
func (t *Txn) Changes() []Change {
	n := 0
	for _, w := range t.wOrder {
		n += len(w.keys)
	}
	out := make([]Change, 0, n)
	for _, w := range t.wOrder {
		for _, e := range w.keys {
			if e.written {
				k := e.key[w.clOff:]
				out = append(out, Change{Store: w.store, Partition: w.p, Key: unsafe.Slice(unsafe.StringData(k), len(k)), Value: e.value})
			}
		}
	}
	return out
}

// SetMarker records that after this transaction the local copy of a store's
// partition reflects its changelog up to offset.
func (t *Txn) SetMarker(store string, p int32, offset int64) error {
	t.markers = append(t.markers, Marker{Store: store, Partition: p, Offset: offset})
	return nil
}

// Commit writes the transaction to the database: to its write buffer,
// which Pebble gets later (see writeBuffer), and its cache.
func (t *Txn) Commit() error {
	if t.done {
		return errors.New("state: transaction already ended")
	}
	t.done = true
	t.d.txnKeys.Store(int64(len(t.keys)))
	if t.b != nil {
		defer t.b.Close()
	}
	type part struct {
		keys   []*entry
		ranges [][2][]byte
		marker *Marker
	}
	parts := map[string]*part{}
	get := func(pre string) *part {
		p := parts[pre]
		if p == nil {
			p = &part{}
			parts[pre] = p
		}
		return p
	}
	for i, r := range t.ranges {
		p := get(t.rangePre[i])
		p.ranges = append(p.ranges, r)
	}
	for pre, w := range t.written {
		p := get(pre)
		for _, e := range w.keys {
			if e.written { // not rolled back
				p.keys = append(p.keys, e)
			}
		}
	}
	for i := range t.markers {
		m := &t.markers[i]
		get(string(prefix(tagData, m.Store, m.Partition))).marker = m
	}
	full := false
	for pre, p := range parts {
		if t.d.buf.add(pre, p.ranges, p.keys, p.marker) {
			full = true
		}
	}
	for _, e := range t.expired {
		t.d.cache.dropBelow(e.prefix, e.seg)
		t.d.setExpired(e)
	}
	for pre, p := range parts {
		done, expired := t.d.expiredBelow(pre)
		t.d.cache.putMany(pre, p.keys, func(e *entry) bool {
			// A window written, then expired in this transaction, is
			// not cached.
			return e.seg == noSeg || !expired || e.seg >= done
		})
	}
	switch {
	case t.d.opts.WriteBufferSize < 0:
		for pre := range parts {
			if err := t.d.flush(pre); err != nil {
				return err
			}
		}
	case full:
		return t.d.flushAll()
	}
	return nil
}

// expiry records that a window store partition is expired below a segment.
type expiry struct {
	prefix string
	seg    int64
}

// Discard drops the transaction's writes.
func (t *Txn) Discard() {
	if !t.done {
		t.done = true
		if t.b != nil {
			_ = t.b.Close()
		}
	}
}

// write records a write of the transaction (value nil deletes, value is
// copied): in the key's entry, for reads, the changelog and commit; in the
// indexed batch, if there is one, for iteration. clOff is where the
// changelog key starts in the storage key.
func (t *Txn) write(key []byte, pre string, seg int64, store string, p int32, clOff int, value []byte) error {
	e, err := t.entry(key, pre, seg)
	if err != nil {
		return err
	}
	if value != nil {
		value = bytes.Clone(value)
	}
	return t.set(e, store, p, clOff, value)
}

// set is write to an entry in hand, keeping value as it is.
func (t *Txn) set(e *entry, store string, p int32, clOff int, value []byte) error {
	if t.sp && e.spGen != t.spGen {
		t.spUndo = append(t.spUndo, undo{e: e, value: e.value, written: e.written})
		e.spGen = t.spGen
	}
	if t.b != nil {
		// Pebble copies the key.
		key := unsafe.Slice(unsafe.StringData(e.key), len(e.key))
		var err error
		if value == nil {
			err = t.b.Delete(key, nil)
		} else {
			err = t.b.Set(key, value, nil)
		}
		if err != nil {
			return err
		}
	}
	if !e.listed {
		e.listed = true
		w := t.written[e.pre]
		if w == nil {
			w = &partWrites{pre: e.pre, store: store, p: p, clOff: clOff}
			t.written[e.pre] = w
			t.wOrder = append(t.wOrder, w)
		}
		w.keys = append(w.keys, e)
	}
	e.value, e.written = value, true
	return nil
}

func (t *Txn) deleteRange(pre string, lo, hi []byte) error {
	if t.b != nil {
		if err := t.b.DeleteRange(lo, hi, nil); err != nil {
			return err
		}
	}
	for k, e := range t.keys {
		if k >= string(lo) && k < string(hi) {
			e.value = nil
		}
	}
	t.ranges = append(t.ranges, [2][]byte{bytes.Clone(lo), bytes.Clone(hi)})
	t.rangePre = append(t.rangePre, pre)
	return nil
}

// entry returns the key's entry, reading the key first if the transaction
// has not seen it: from the cache, or Pebble unless the cache knows its
// store partition whole.
func (t *Txn) entry(key []byte, pre string, seg int64) (*entry, error) {
	if e, ok := t.keys[string(key)]; ok {
		return e, nil
	}
	if len(t.slab) == 0 {
		t.slab = make([]entry, 256)
	}
	e := &t.slab[0]
	t.slab = t.slab[1:]
	e.key, e.pre, e.seg = string(key), pre, seg
	t.keys[e.key] = e
	for _, r := range t.ranges {
		if bytes.Compare(key, r[0]) >= 0 && bytes.Compare(key, r[1]) < 0 {
			return e, nil
		}
	}
	if v, ok := t.d.cache.get(pre, seg, key); ok {
		e.value = v
		return e, nil
	}
	if v, ok := t.d.buf.get(pre, seg, key); ok {
		e.value = v
		return e, nil
	}
	if t.d.cache.isComplete(pre) {
		return e, nil
	}
	v, closer, err := t.d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return e, nil
	}
	if err != nil {
		delete(t.keys, e.key)
		return nil, err
	}
	e.value = bytes.Clone(v)
	if e.value == nil {
		e.value = []byte{}
	}
	closer.Close()
	t.d.cache.put(pre, seg, e.key, e.value)
	return e, nil
}

// get reads a key as the transaction sees it.
func (t *Txn) get(key []byte, pre string, seg int64) ([]byte, bool, error) {
	e, err := t.entry(key, pre, seg)
	if err != nil || e.value == nil {
		return nil, false, err
	}
	return bytes.Clone(e.value), true, nil
}

// KVStore is one partition of a key-value store, seen through a Txn.
type KVStore struct {
	t      *Txn
	name   string
	p      int32
	pre    []byte
	preStr string
}

// KV returns partition p of the KV store name.
func (t *Txn) KV(name string, p int32) *KVStore {
	vk := viewKey{name, p}
	if v, ok := t.views[vk].(*KVStore); ok {
		return v
	}
	pre := prefix(tagData, name, p)
	s := &KVStore{t: t, name: name, p: p, pre: pre, preStr: string(pre)}
	t.views[vk] = s
	return s
}

func (s *KVStore) key(k []byte) []byte {
	return append(s.pre[:len(s.pre):len(s.pre)], k...)
}

// Get returns the value of key and whether it exists.
func (s *KVStore) Get(key []byte) ([]byte, bool, error) {
	return s.t.get(s.key(key), s.preStr, noSeg)
}

// Set sets key to value.
func (s *KVStore) Set(key, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return s.t.write(s.key(key), s.preStr, noSeg, s.name, s.p, len(s.pre), value)
}

// Delete deletes key.
func (s *KVStore) Delete(key []byte) error {
	return s.t.write(s.key(key), s.preStr, noSeg, s.name, s.p, len(s.pre), nil)
}

// Scan calls fn for each key in [start, end) in key order; nil bounds are
// open. The slices passed to fn are valid only during the call. Returning
// an error from fn stops the scan and returns it.
func (s *KVStore) Scan(start, end []byte, fn func(key, value []byte) error) error {
	lo := s.key(start)
	hi := upperBound(s.pre)
	if end != nil {
		hi = s.key(end)
	}
	b, err := s.t.batch(s.preStr)
	if err != nil {
		return err
	}
	it, err := b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := fn(it.Key()[len(s.pre):], v); err != nil {
			return err
		}
	}
	return it.Error()
}

// Window is an event-time interval [Start, End), kept to the millisecond.
type Window struct {
	Start, End time.Time
}

// String formats a window for logs and alerts.
func (w Window) String() string {
	return "[" + w.Start.UTC().Format(time.RFC3339Nano) + ", " + w.End.UTC().Format(time.RFC3339Nano) + ")"
}

// EncodeWindowKey encodes a key and a window as a window store's changelog
// key: key length (4 bytes), key, end, start (8 bytes each, ordered).
func EncodeWindowKey(key []byte, w Window) []byte {
	b := make([]byte, 0, 4+len(key)+16)
	b = binary.BigEndian.AppendUint32(b, uint32(len(key)))
	b = append(b, key...)
	b = binary.BigEndian.AppendUint64(b, sortable(w.End.UnixMilli()))
	return binary.BigEndian.AppendUint64(b, sortable(w.Start.UnixMilli()))
}

func decodeWindowKey(b []byte) ([]byte, Window, error) {
	if len(b) < 4 {
		return nil, Window{}, errors.New("window key too short")
	}
	n := int(binary.BigEndian.Uint32(b))
	if len(b) != 4+n+16 {
		return nil, Window{}, fmt.Errorf("window key of %d bytes does not hold a %d-byte key", len(b), n)
	}
	key := b[4 : 4+n]
	end := unsortable(binary.BigEndian.Uint64(b[4+n:]))
	start := unsortable(binary.BigEndian.Uint64(b[4+n+8:]))
	return key, Window{Start: time.UnixMilli(start).UTC(), End: time.UnixMilli(end).UTC()}, nil
}

// DecodeWindowKey decodes a window store's changelog key.
func DecodeWindowKey(b []byte) ([]byte, Window, error) { return decodeWindowKey(b) }

// WindowStore is one partition of a window store, seen through a Txn.
// Windows are kept in segments by their end, so expiry is a range deletion.
type WindowStore struct {
	t      *Txn
	spec   Spec
	seg    int64
	p      int32
	pre    []byte
	preStr string
	kbuf   []byte // storage keys are built here
}

// Window returns partition p of the window store described by spec.
func (t *Txn) Window(spec Spec, p int32) *WindowStore {
	vk := viewKey{spec.Name, p}
	if v, ok := t.views[vk].(*WindowStore); ok {
		return v
	}
	pre := prefix(tagData, spec.Name, p)
	s := &WindowStore{t: t, spec: spec, seg: spec.segment(), p: p, pre: pre, preStr: string(pre)}
	t.views[vk] = s
	return s
}

func (s *WindowStore) segPrefix(seg int64) []byte {
	return binary.BigEndian.AppendUint64(s.pre[:len(s.pre):len(s.pre)], sortable(seg))
}

func (s *WindowStore) storageKey(clKey []byte, end int64) []byte {
	return append(s.segPrefix(segmentOf(end, s.seg)), clKey...)
}

// expired reports whether a window ending at end lies in an expired
// segment.
func (s *WindowStore) expired(seg int64) bool {
	done, ok := s.t.d.expiredBelow(s.preStr)
	return ok && seg < done
}

// Get returns the value of key in window w.
func (s *WindowStore) Get(key []byte, w Window) ([]byte, bool, error) {
	end := w.End.UnixMilli()
	seg := segmentOf(end, s.seg)
	if s.expired(seg) {
		return nil, false, nil
	}
	return s.t.get(s.storageKey(EncodeWindowKey(key, w), end), s.preStr, seg)
}

// Put sets the value of key in window w.
func (s *WindowStore) Put(key []byte, w Window, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	cl := EncodeWindowKey(key, w)
	end := w.End.UnixMilli()
	return s.t.write(s.storageKey(cl, end), s.preStr, segmentOf(end, s.seg), s.spec.Name, s.p, len(s.pre)+8, value)
}

// Update reads key's value in window w and replaces it with what fn
// returns, with one lookup instead of a Get and a Put: fn gets the value,
// which it must not modify, and whether there is one; it returns the new
// value, nil to delete. The new value is kept as it is: fn must not modify
// it afterwards.
func (s *WindowStore) Update(key []byte, w Window, fn func(old []byte, ok bool) ([]byte, error)) error {
	end := w.End.UnixMilli()
	seg := segmentOf(end, s.seg)
	k := append(s.kbuf[:0], s.pre...)
	k = binary.BigEndian.AppendUint64(k, sortable(seg))
	k = binary.BigEndian.AppendUint32(k, uint32(len(key)))
	k = append(k, key...)
	k = binary.BigEndian.AppendUint64(k, sortable(end))
	k = binary.BigEndian.AppendUint64(k, sortable(w.Start.UnixMilli()))
	s.kbuf = k
	e, err := s.t.entry(k, s.preStr, seg)
	if err != nil {
		return err
	}
	old, ok := e.value, e.value != nil
	if ok && s.expired(seg) {
		old, ok = nil, false
	}
	v, err := fn(old, ok)
	if err != nil {
		return err
	}
	return s.t.set(e, s.spec.Name, s.p, len(s.pre)+8, v)
}

// Delete removes key's window w.
func (s *WindowStore) Delete(key []byte, w Window) error {
	cl := EncodeWindowKey(key, w)
	end := w.End.UnixMilli()
	return s.t.write(s.storageKey(cl, end), s.preStr, segmentOf(end, s.seg), s.spec.Name, s.p, len(s.pre)+8, nil)
}

// Fetch calls fn for each window of key whose end is in [endFrom, endTo),
// in order of end, then start.
func (s *WindowStore) Fetch(key []byte, endFrom, endTo time.Time, fn func(w Window, value []byte) error) error {
	from, to := endFrom.UnixMilli(), endTo.UnixMilli()
	if from >= to {
		return nil
	}
	keyPart := binary.BigEndian.AppendUint32(nil, uint32(len(key)))
	keyPart = append(keyPart, key...)
	lastSeg := segmentOf(to-1, s.seg)
	b, err := s.t.batch(s.preStr)
	if err != nil {
		return err
	}
	it, err := b.NewIter(&pebble.IterOptions{
		LowerBound: s.segPrefix(segmentOf(from, s.seg)),
		UpperBound: s.segPrefix(lastSeg + 1),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	seek := func(seg int64) bool {
		k := append(s.segPrefix(seg), keyPart...)
		return it.SeekGE(binary.BigEndian.AppendUint64(k, sortable(from)))
	}
	seg := segmentOf(from, s.seg)
	for ok := seek(seg); ok; {
		k := it.Key()
		cur := unsortable(binary.BigEndian.Uint64(k[len(s.pre):]))
		if cur != seg {
			// This segment holds no more windows of key: go on at the
			// next segment that holds anything.
			seg = cur
			ok = seek(seg)
			continue
		}
		rest := k[len(s.pre)+8:]
		if !bytes.HasPrefix(rest, keyPart) || len(rest) != len(keyPart)+16 {
			seg++
			if seg > lastSeg {
				break
			}
			ok = seek(seg)
			continue
		}
		end := unsortable(binary.BigEndian.Uint64(rest[len(keyPart):]))
		if end >= to {
			break // ends only grow from here
		}
		if end >= from {
			start := unsortable(binary.BigEndian.Uint64(rest[len(keyPart)+8:]))
			v, err := it.ValueAndErr()
			if err != nil {
				return err
			}
			if err := fn(Window{Start: time.UnixMilli(start).UTC(), End: time.UnixMilli(end).UTC()}, v); err != nil {
				return err
			}
		}
		ok = it.Next()
	}
	return it.Error()
}

// Scan calls fn for every window of every key whose end is in [endFrom,
// endTo): segment by segment, in key order within a segment. The slices
// passed to fn are valid only during the call and must not be modified.
func (s *WindowStore) Scan(endFrom, endTo time.Time, fn func(key []byte, w Window, value []byte) error) error {
	return s.scan(endFrom, endTo, true, fn)
}

// ScanUnordered is Scan without the order: windows come segment by
// segment, but in no particular order within a segment. It is cheaper when
// the store partition is cached whole, for callers that do not care, such
// as one emitting every window that closed.
func (s *WindowStore) ScanUnordered(endFrom, endTo time.Time, fn func(key []byte, w Window, value []byte) error) error {
	return s.scan(endFrom, endTo, false, fn)
}

func (s *WindowStore) scan(endFrom, endTo time.Time, sorted bool, fn func(key []byte, w Window, value []byte) error) error {
	from, to := endFrom.UnixMilli(), endTo.UnixMilli()
	if from >= to {
		return nil
	}
	if ok, err := s.scanCached(from, to, sorted, fn); ok || err != nil {
		return err
	}
	b, err := s.t.batch(s.preStr)
	if err != nil {
		return err
	}
	it, err := b.NewIter(&pebble.IterOptions{
		LowerBound: s.segPrefix(segmentOf(from, s.seg)),
		UpperBound: s.segPrefix(segmentOf(to-1, s.seg) + 1),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		key, w, err := decodeWindowKey(it.Key()[len(s.pre)+8:])
		if err != nil {
			return fmt.Errorf("state: %s: %w", s.spec.Name, err)
		}
		if e := w.End.UnixMilli(); e < from || e >= to {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := fn(key, w, v); err != nil {
			return err
		}
	}
	return it.Error()
}

// scanCached is Scan from the record cache, when it holds the whole store
// partition: the committed windows of the segments in range, updated by
// the transaction's writes, in storage key order as Pebble would give
// them. It reports false, having done nothing, when the cache does not
// hold the partition.
func (s *WindowStore) scanCached(from, to int64, sorted bool, fn func(key []byte, w Window, value []byte) error) (bool, error) {
	lo, hi := segmentOf(from, s.seg), segmentOf(to-1, s.seg)
	type kv struct {
		// ord holds the 24 bytes after the partition prefix (segment,
		// key length, key...), zero-padded: comparing it decides most
		// pairs without comparing the strings.
		ord [3]uint64
		key string
		v   []byte
	}
	n := len(s.preStr)
	mk := func(k string, v []byte) kv {
		var b [24]byte
		copy(b[:], k[n:])
		return kv{[3]uint64{binary.BigEndian.Uint64(b[:]), binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(b[16:])}, k, v}
	}
	var found []kv
	inRange := func(k string) bool {
		seg := unsortable(binary.BigEndian.Uint64(unsafe.Slice(unsafe.StringData(k[len(s.preStr):]), 8)))
		return seg >= lo && seg <= hi
	}
	t := s.t
	if !t.d.cache.segments(s.preStr, lo, hi, func(k string, v []byte) {
		if e, ok := t.keys[k]; ok && e.written {
			return // the transaction's value, below
		}
		for _, r := range t.ranges {
			if k >= string(r[0]) && k < string(r[1]) {
				return // expired by the transaction
			}
		}
		found = append(found, mk(k, v))
	}) {
		return false, nil
	}
	if w := t.written[s.preStr]; w != nil {
		for _, e := range w.keys {
			if e.written && e.value != nil && inRange(e.key) {
				found = append(found, mk(e.key, e.value))
			}
		}
	}
	// The keys share the partition prefix: compare what follows; unsorted,
	// the segment (the first word) alone.
	slices.SortFunc(found, func(a, b kv) int {
		for i := range a.ord {
			if a.ord[i] != b.ord[i] {
				if a.ord[i] < b.ord[i] {
					return -1
				}
				return 1
			}
			if !sorted {
				return 0
			}
		}
		return strings.Compare(a.key[n:], b.key[n:])
	})
	for _, f := range found {
		cl := f.key[len(s.preStr)+8:]
		// fn may not modify or keep key: it can alias the string.
		key, w, err := decodeWindowKey(unsafe.Slice(unsafe.StringData(cl), len(cl)))
		if err != nil {
			return true, fmt.Errorf("state: %s: %w", s.spec.Name, err)
		}
		if e := w.End.UnixMilli(); e < from || e >= to {
			continue
		}
		if err := fn(key, w, f.v); err != nil {
			return true, err
		}
	}
	return true, nil
}

// Expire deletes, with one range deletion, the segments whose windows all
// ended before before. Expiry is not written to the changelog: a restore
// skips windows past retention instead. Expiring again below a segment
// already expired does nothing.
func (s *WindowStore) Expire(before time.Time) error {
	last := segmentOf(before.UnixMilli(), s.seg) // segments below this one end at or before `before`
	if done, ok := s.t.d.expiredBelow(s.preStr); ok && last <= done {
		return nil
	}
	if err := s.t.deleteRange(s.preStr, s.segPrefix(math.MinInt64), s.segPrefix(last)); err != nil {
		return err
	}
	s.t.expired = append(s.t.expired, expiry{s.preStr, last})
	return nil
}
