package state

import (
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
)

// The write buffer holds what committed transactions wrote and Pebble does
// not have yet, by store partition. Writing every transaction to Pebble
// would insert each key it changed into the memtable again and again; the
// buffer keeps only a key's last value, and writes a partition out (its
// range deletions, its values in key order, its marker, in one atomic
// write) when the partition is iterated, its marker is read, it is
// restored or dropped, the buffer outgrows its limit, or the DB closes.
//
// The changelog in Kafka is the durable copy: Pebble lags the buffer, but
// a partition's data in Pebble always goes with the marker written with
// it, so a restart replays the changelog from there.
//
// Tasks commit their partitions concurrently: each partition has its own
// lock, and the maps of partitions theirs.
type writeBuffer struct {
	mu    sync.RWMutex
	parts map[string]*bufferPart
	// flushing holds the parts being written to Pebble, which reads must
	// still find; new writes go to a new part in parts meanwhile.
	flushing map[string]*bufferPart
	bytes    atomic.Int64
	limit    int64
}

// bufferPart is the buffered writes of one store partition.
type bufferPart struct {
	mu      sync.Mutex
	retired bool // taken for a flush: no more writes
	// vals: segment (noSeg for KV stores) -> storage key -> value, nil
	// deleting; by segment, so that expiry drops whole segments.
	vals   map[int64]map[string][]byte
	preLen int
	ranges [][2][]byte // range deletions, in order
	marker []byte      // marker key and value, if one was set
	mkey   []byte
	bytes  int64
}

func newWriteBuffer(limit int64) *writeBuffer {
	return &writeBuffer{parts: map[string]*bufferPart{}, flushing: map[string]*bufferPart{}, limit: limit}
}

// get returns a buffered value: the value (nil if deleted) and whether the
// buffer knows the key, from a write or a range deletion.
func (w *writeBuffer) get(pre string, seg int64, key []byte) ([]byte, bool) {
	w.mu.RLock()
	p, f := w.parts[pre], w.flushing[pre]
	w.mu.RUnlock()
	if v, ok := p.get(seg, key); ok {
		return v, true
	}
	return f.get(seg, key)
}

func (p *bufferPart) get(seg int64, key []byte) ([]byte, bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// A part's values came after its range deletions.
	if v, ok := p.vals[seg][string(key)]; ok {
		return v, true
	}
	for _, r := range p.ranges {
		if string(key) >= string(r[0]) && string(key) < string(r[1]) {
			return nil, true
		}
	}
	return nil, false
}

// active returns the store partition's part that takes writes, locked.
func (w *writeBuffer) active(pre string) *bufferPart {
	for {
		w.mu.RLock()
		p := w.parts[pre]
		w.mu.RUnlock()
		if p == nil {
			w.mu.Lock()
			if p = w.parts[pre]; p == nil {
				p = &bufferPart{vals: map[int64]map[string][]byte{}, preLen: len(pre)}
				w.parts[pre] = p
			}
			w.mu.Unlock()
		}
		p.mu.Lock()
		if !p.retired {
			return p
		}
		p.mu.Unlock() // a flush took it meanwhile: take the next
	}
}

// add buffers a committed transaction's writes to one store partition:
// its range deletions first (they came before the writes that survive
// them), then its values. It reports whether the buffer is over its
// limit.
func (w *writeBuffer) add(pre string, ranges [][2][]byte, keys []*entry, marker *Marker) bool {
	p := w.active(pre)
	before := p.bytes
	for _, r := range ranges {
		p.deleteRange(r)
		p.ranges = append(p.ranges, r)
		p.bytes += int64(len(r[0]) + len(r[1]) + entryOverhead)
	}
	for _, e := range keys {
		p.set(e.seg, e.key, e.value)
	}
	if marker != nil {
		p.mkey = prefix(tagMarker, marker.Store, marker.Partition)
		p.marker = binary.BigEndian.AppendUint64(nil, uint64(marker.Offset))
	}
	delta := p.bytes - before
	p.mu.Unlock()
	return w.bytes.Add(delta) > w.limit
}

// deleteRange drops the buffered values in r. A range of whole segments
// (what window expiry deletes) drops their buckets.
func (p *bufferPart) deleteRange(r [2][]byte) {
	if len(r[0]) == p.preLen+8 && len(r[1]) == p.preLen+8 {
		lo := unsortable(binary.BigEndian.Uint64(r[0][p.preLen:]))
		hi := unsortable(binary.BigEndian.Uint64(r[1][p.preLen:]))
		for seg, b := range p.vals {
			if seg != noSeg && seg >= lo && seg < hi {
				for k, v := range b {
					p.bytes -= int64(len(k) + len(v) + entryOverhead)
				}
				delete(p.vals, seg)
			}
		}
		return
	}
	for _, b := range p.vals {
		for k, v := range b {
			if k >= string(r[0]) && k < string(r[1]) {
				delete(b, k)
				p.bytes -= int64(len(k) + len(v) + entryOverhead)
			}
		}
	}
}

func (p *bufferPart) set(seg int64, k string, v []byte) {
	b := p.vals[seg]
	if b == nil {
		b = map[string][]byte{}
		p.vals[seg] = b
	}
	if old, ok := b[k]; ok {
		p.bytes -= int64(len(k) + len(old) + entryOverhead)
	}
	b[k] = v
	p.bytes += int64(len(k) + len(v) + entryOverhead)
}

// prefixes returns the partitions with buffered writes.
func (w *writeBuffer) prefixes() []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]string, 0, len(w.parts))
	for k := range w.parts {
		out = append(out, k)
	}
	return out
}

// writeTo writes a partition's buffered writes to b: range deletions, then
// values in key order (the memtable inserts them fastest), then marker.
func (p *bufferPart) writeTo(b *pebble.Batch) error {
	for _, r := range p.ranges {
		if err := b.DeleteRange(r[0], r[1], nil); err != nil {
			return err
		}
	}
	type kv struct {
		k string
		v []byte
	}
	var all []kv
	for _, b := range p.vals {
		for k, v := range b {
			all = append(all, kv{k, v})
		}
	}
	slices.SortFunc(all, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	for _, e := range all {
		// Pebble copies the key: no need for a []byte of our own.
		kb := unsafe.Slice(unsafe.StringData(e.k), len(e.k))
		var err error
		if v := e.v; v != nil {
			err = b.Set(kb, v, nil)
		} else {
			err = b.Delete(kb, nil)
		}
		if err != nil {
			return err
		}
	}
	if p.mkey != nil {
		return b.Set(p.mkey, p.marker, nil)
	}
	return nil
}

// flush writes a store partition's buffered writes to Pebble. Reads find
// them in the buffer until Pebble has them.
func (d *DB) flush(pre string) error {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	w := d.buf
	w.mu.Lock()
	p := w.parts[pre]
	if p != nil {
		delete(w.parts, pre)
		w.flushing[pre] = p
	}
	w.mu.Unlock()
	if p == nil {
		return nil
	}
	// Wait out a commit adding to it, and close it to more.
	p.mu.Lock()
	p.retired = true
	p.mu.Unlock()
	b := d.db.NewBatch()
	defer b.Close()
	err := p.writeTo(b)
	if err == nil {
		err = d.db.Apply(b, d.wo)
	}
	if err != nil {
		// Back in front of what came meanwhile, to be written again.
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.flushing, pre)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.retired = false
		if q := w.parts[pre]; q != nil {
			q.mu.Lock()
			before := p.bytes
			p.merge(q)
			q.retired = true
			q.mu.Unlock()
			w.bytes.Add(p.bytes - before - q.bytes)
		}
		w.parts[pre] = p
		return err
	}
	w.mu.Lock()
	delete(w.flushing, pre)
	w.mu.Unlock()
	w.bytes.Add(-p.bytes)
	return nil
}

// merge adds q, which came later, to p.
func (p *bufferPart) merge(q *bufferPart) {
	for _, r := range q.ranges {
		p.deleteRange(r)
		p.ranges = append(p.ranges, r)
		p.bytes += int64(len(r[0]) + len(r[1]) + entryOverhead)
	}
	for seg, b := range q.vals {
		for k, v := range b {
			p.set(seg, k, v)
		}
	}
	if q.mkey != nil {
		p.mkey, p.marker = q.mkey, q.marker
	}
}

// flushAll writes every buffered partition to Pebble.
func (d *DB) flushAll() error {
	for _, pre := range d.buf.prefixes() {
		if err := d.flush(pre); err != nil {
			return err
		}
	}
	return nil
}

// dropBuffered discards a partition's buffered writes.
func (d *DB) dropBuffered(pre string) {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	w := d.buf
	w.mu.Lock()
	p := w.parts[pre]
	delete(w.parts, pre)
	w.mu.Unlock()
	if p != nil {
		p.mu.Lock()
		p.retired = true
		w.bytes.Add(-p.bytes)
		p.mu.Unlock()
	}
}
