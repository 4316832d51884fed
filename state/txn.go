package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

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

type changeKey struct {
	store string
	p     int32
	key   string
}

// Txn collects the writes of one batch. Reads through it see its own
// writes. Nothing reaches the database until Commit. A Txn is used from one
// goroutine.
type Txn struct {
	d       *DB
	b       *pebble.Batch
	changes []Change
	index   map[changeKey]int
	done    bool

	// writes holds the transaction's writes by storage key (nil value:
	// deleted), so that reading them back skips Pebble; ranges are the
	// range deletions (Expire) it made.
	writes map[string][]byte
	where  map[string]bucketKey // cache bucket of each written key
	ranges [][2][]byte
	// reads memoizes what the transaction read from the database, absent
	// keys included (nil).
	reads map[string][]byte
	// expired lists the window expiries the transaction made.
	expired []expiry

	// The savepoint, if one is open: what to undo on Rollback.
	sp      bool
	spLen   int                // len(changes) at the savepoint
	spPrev  map[int]prevChange // earlier changes overwritten since
	spUndo  []undo             // storage writes since, first per key
	spWrote map[string]bool
}

type prevChange struct{ value []byte }

type undo struct {
	key     []byte
	prev    []byte
	existed bool
}

// Savepoint starts recording the writes that follow, so that Rollback can
// undo them. The stream runtime opens one per record, so that a record that
// fails leaves no writes behind. Expire is not undone.
func (t *Txn) Savepoint() {
	t.sp = true
	t.spLen = len(t.changes)
	clear(t.spPrev)
	t.spUndo = t.spUndo[:0]
	clear(t.spWrote)
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
		var err error
		if u.existed {
			err = t.b.Set(u.key, u.prev, nil)
			t.writes[string(u.key)] = u.prev
		} else {
			err = t.b.Delete(u.key, nil)
			t.writes[string(u.key)] = nil
		}
		if err != nil {
			return err
		}
	}
	for i := t.spLen; i < len(t.changes); i++ {
		c := t.changes[i]
		delete(t.index, changeKey{c.Store, c.Partition, string(c.Key)})
	}
	t.changes = t.changes[:t.spLen]
	for i, pc := range t.spPrev {
		t.changes[i].Value = pc.value
	}
	return nil
}

// remember saves the current value of a storage key before its first write
// since the savepoint.
func (t *Txn) remember(key []byte, bk bucketKey, pre []byte) error {
	if !t.sp {
		return nil
	}
	if t.spWrote == nil {
		t.spWrote = map[string]bool{}
	}
	if t.spWrote[string(key)] {
		return nil
	}
	prev, existed, err := t.get(key, bk, pre)
	if err != nil {
		return err
	}
	t.spWrote[string(key)] = true
	t.spUndo = append(t.spUndo, undo{key: bytes.Clone(key), prev: prev, existed: existed})
	return nil
}

// Begin starts a transaction.
func (d *DB) Begin() *Txn {
	return &Txn{d: d, b: d.db.NewIndexedBatch(), index: map[changeKey]int{}, writes: map[string][]byte{}, where: map[string]bucketKey{}, reads: map[string][]byte{}}
}

func (t *Txn) record(store string, p int32, key, value []byte) {
	ck := changeKey{store, p, string(key)}
	if i, ok := t.index[ck]; ok {
		if t.sp && i < t.spLen {
			if t.spPrev == nil {
				t.spPrev = map[int]prevChange{}
			}
			if _, saved := t.spPrev[i]; !saved {
				t.spPrev[i] = prevChange{t.changes[i].Value}
			}
		}
		t.changes[i].Value = value
		return
	}
	t.index[ck] = len(t.changes)
	t.changes = append(t.changes, Change{Store: store, Partition: p, Key: bytes.Clone(key), Value: value})
}

// Changes returns the transaction's writes, the last one per key, in the
// order each key was first written. They are what the changelog must get.
func (t *Txn) Changes() []Change { return t.changes }

// SetMarker records that after this transaction the local copy of a store's
// partition reflects its changelog up to offset.
func (t *Txn) SetMarker(store string, p int32, offset int64) error {
	return t.b.Set(prefix(tagMarker, store, p), binary.BigEndian.AppendUint64(nil, uint64(offset)), nil)
}

// Commit writes the transaction to the database.
func (t *Txn) Commit() error {
	if t.done {
		return errors.New("state: transaction already ended")
	}
	t.done = true
	defer t.b.Close()
	if err := t.d.db.Apply(t.b, t.d.wo); err != nil {
		t.d.cache.clear()
		return err
	}
	for _, e := range t.expired {
		t.d.cache.dropBelow(e.prefix, e.seg)
		t.d.setExpired(e)
	}
	for k, v := range t.writes {
		bk := t.where[k]
		if done, ok := t.d.expiredBelow([]byte(bk.prefix)); ok && bk.seg != noSeg && bk.seg < done {
			continue // written, then expired in this transaction
		}
		t.d.cache.put(bk.prefix, bk.seg, k, v)
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
		_ = t.b.Close()
	}
}

// set records a write of the transaction: in the batch, for iteration and
// commit, and in the write set, for reads.
func (t *Txn) set(key, value []byte, bk bucketKey) error {
	if err := t.b.Set(key, value, nil); err != nil {
		return err
	}
	k := string(key)
	t.writes[k] = bytes.Clone(value)
	t.where[k] = bk
	return nil
}

func (t *Txn) del(key []byte, bk bucketKey) error {
	if err := t.b.Delete(key, nil); err != nil {
		return err
	}
	k := string(key)
	t.writes[k] = nil
	t.where[k] = bk
	return nil
}

func (t *Txn) deleteRange(lo, hi []byte) error {
	if err := t.b.DeleteRange(lo, hi, nil); err != nil {
		return err
	}
	for k := range t.writes {
		if k >= string(lo) && k < string(hi) {
			t.writes[k] = nil
		}
	}
	t.ranges = append(t.ranges, [2][]byte{bytes.Clone(lo), bytes.Clone(hi)})
	return nil
}

// get reads a key as the transaction sees it: its own writes, then the
// committed value from the cache or Pebble.
func (t *Txn) get(key []byte, bk bucketKey, pre []byte) ([]byte, bool, error) {
	if v, ok := t.writes[string(key)]; ok {
		if v == nil {
			return nil, false, nil
		}
		return bytes.Clone(v), true, nil
	}
	for _, r := range t.ranges {
		if bytes.Compare(key, r[0]) >= 0 && bytes.Compare(key, r[1]) < 0 {
			return nil, false, nil
		}
	}
	if v, ok := t.reads[string(key)]; ok {
		if v == nil {
			return nil, false, nil
		}
		return bytes.Clone(v), true, nil
	}
	if v, ok := t.d.cache.get(pre, bk.seg, key); ok {
		return bytes.Clone(v), true, nil
	}
	if t.d.cache.isComplete(pre) {
		return nil, false, nil
	}
	v, closer, err := t.d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		t.reads[string(key)] = nil
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := bytes.Clone(v)
	if out == nil {
		out = []byte{}
	}
	closer.Close()
	t.reads[string(key)] = bytes.Clone(out)
	t.d.cache.put(bk.prefix, bk.seg, string(key), bytes.Clone(out))
	return out, true, nil
}

// KVStore is one partition of a key-value store, seen through a Txn.
type KVStore struct {
	t    *Txn
	name string
	p    int32
	pre  []byte
}

// KV returns partition p of the KV store name.
func (t *Txn) KV(name string, p int32) *KVStore {
	return &KVStore{t: t, name: name, p: p, pre: prefix(tagData, name, p)}
}

func (s *KVStore) key(k []byte) []byte {
	return append(s.pre[:len(s.pre):len(s.pre)], k...)
}

func (s *KVStore) bucket() bucketKey { return bucketKey{string(s.pre), noSeg} }

// Get returns the value of key and whether it exists.
func (s *KVStore) Get(key []byte) ([]byte, bool, error) {
	return s.t.get(s.key(key), s.bucket(), s.pre)
}

// Set sets key to value.
func (s *KVStore) Set(key, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	k := s.key(key)
	if err := s.t.remember(k, s.bucket(), s.pre); err != nil {
		return err
	}
	if err := s.t.set(k, value, s.bucket()); err != nil {
		return err
	}
	s.t.record(s.name, s.p, key, bytes.Clone(value))
	return nil
}

// Delete deletes key.
func (s *KVStore) Delete(key []byte) error {
	k := s.key(key)
	if err := s.t.remember(k, s.bucket(), s.pre); err != nil {
		return err
	}
	if err := s.t.del(k, s.bucket()); err != nil {
		return err
	}
	s.t.record(s.name, s.p, key, nil)
	return nil
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
	it, err := s.t.b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
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
	t    *Txn
	spec Spec
	seg  int64
	p    int32
	pre  []byte
}

// Window returns partition p of the window store described by spec.
func (t *Txn) Window(spec Spec, p int32) *WindowStore {
	return &WindowStore{t: t, spec: spec, seg: spec.segment(), p: p, pre: prefix(tagData, spec.Name, p)}
}

func (s *WindowStore) segPrefix(seg int64) []byte {
	return binary.BigEndian.AppendUint64(s.pre[:len(s.pre):len(s.pre)], sortable(seg))
}

func (s *WindowStore) storageKey(clKey []byte, end int64) []byte {
	return append(s.segPrefix(segmentOf(end, s.seg)), clKey...)
}

func (s *WindowStore) bucket(w Window) bucketKey {
	return bucketKey{string(s.pre), segmentOf(w.End.UnixMilli(), s.seg)}
}

// expired reports whether window w lies in an expired segment.
func (s *WindowStore) expired(w Window) bool {
	done, ok := s.t.d.expiredBelow(s.pre)
	return ok && segmentOf(w.End.UnixMilli(), s.seg) < done
}

// Get returns the value of key in window w.
func (s *WindowStore) Get(key []byte, w Window) ([]byte, bool, error) {
	if s.expired(w) {
		return nil, false, nil
	}
	return s.t.get(s.storageKey(EncodeWindowKey(key, w), w.End.UnixMilli()), s.bucket(w), s.pre)
}

// Put sets the value of key in window w.
func (s *WindowStore) Put(key []byte, w Window, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	cl := EncodeWindowKey(key, w)
	k := s.storageKey(cl, w.End.UnixMilli())
	if err := s.t.remember(k, s.bucket(w), s.pre); err != nil {
		return err
	}
	if err := s.t.set(k, value, s.bucket(w)); err != nil {
		return err
	}
	s.t.record(s.spec.Name, s.p, cl, bytes.Clone(value))
	return nil
}

// Delete removes key's window w.
func (s *WindowStore) Delete(key []byte, w Window) error {
	cl := EncodeWindowKey(key, w)
	k := s.storageKey(cl, w.End.UnixMilli())
	if err := s.t.remember(k, s.bucket(w), s.pre); err != nil {
		return err
	}
	if err := s.t.del(k, s.bucket(w)); err != nil {
		return err
	}
	s.t.record(s.spec.Name, s.p, cl, nil)
	return nil
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
	it, err := s.t.b.NewIter(&pebble.IterOptions{
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
// endTo): segment by segment, in key order within a segment.
func (s *WindowStore) Scan(endFrom, endTo time.Time, fn func(key []byte, w Window, value []byte) error) error {
	from, to := endFrom.UnixMilli(), endTo.UnixMilli()
	if from >= to {
		return nil
	}
	it, err := s.t.b.NewIter(&pebble.IterOptions{
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

// Expire deletes, with one range deletion, the segments whose windows all
// ended before before. Expiry is not written to the changelog: a restore
// skips windows past retention instead. Expiring again below a segment
// already expired does nothing.
func (s *WindowStore) Expire(before time.Time) error {
	last := segmentOf(before.UnixMilli(), s.seg) // segments below this one end at or before `before`
	if done, ok := s.t.d.expiredBelow(s.pre); ok && last <= done {
		return nil
	}
	if err := s.t.deleteRange(s.segPrefix(math.MinInt64), s.segPrefix(last)); err != nil {
		return err
	}
	s.t.expired = append(s.t.expired, expiry{string(s.pre), last})
	return nil
}
