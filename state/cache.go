package state

import (
	"math"
	"sync"
	"sync/atomic"
)

// recordCache keeps recently read and committed values of store keys in
// memory, so that a key's second and later reads skip Pebble (whose
// memtable search dominates a read-modify-write). It is split by store
// partition, each with its own lock, so that tasks processed concurrently
// do not contend; within a partition, window values sit in buckets by
// segment so that expiry drops whole buckets. It is bounded by bytes: when
// full, it drops a bucket of some partition. It holds committed values
// only.
type recordCache struct {
	mu    sync.RWMutex
	parts map[string]*cachePart
	bytes atomic.Int64
	limit int64
	// fresh says the database held no data when it was opened: a store
	// partition the cache has never seen is empty, hence wholly cached.
	fresh bool
	seen  map[string]struct{} // partitions ever cached
}

// cachePart is the cache of one store partition.
type cachePart struct {
	mu   sync.Mutex
	segs map[int64]map[string][]byte
	// complete says every value of the partition is here: it started
	// empty and has lost nothing to eviction since. A miss then means
	// the key is absent.
	complete bool
}

// noSeg is the bucket of KV stores.
const noSeg = math.MinInt64

const entryOverhead = 64

func newRecordCache(limit int) *recordCache {
	return &recordCache{parts: map[string]*cachePart{}, limit: int64(limit), seen: map[string]struct{}{}}
}

func (c *recordCache) part(prefix string, create bool) *cachePart {
	c.mu.RLock()
	p := c.parts[prefix]
	c.mu.RUnlock()
	if p != nil || !create {
		return p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p = c.parts[prefix]; p == nil {
		_, seen := c.seen[prefix]
		p = &cachePart{segs: map[int64]map[string][]byte{}, complete: c.fresh && !seen}
		c.parts[prefix] = p
		c.seen[prefix] = struct{}{}
	}
	return p
}

func (c *recordCache) get(prefix string, seg int64, key []byte) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	p := c.part(prefix, false)
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.segs[seg][string(key)]
	return v, ok
}

// isComplete reports whether a miss in the store partition means absent.
func (c *recordCache) isComplete(prefix string) bool {
	if c == nil {
		return false
	}
	p := c.part(prefix, c.fresh)
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.complete
}

// setComplete marks a store partition as wholly cached (it is empty now).
func (c *recordCache) setComplete(prefix []byte) {
	if c == nil {
		return
	}
	p := c.part(string(prefix), true)
	p.mu.Lock()
	p.complete = true
	p.mu.Unlock()
}

// put caches a committed value; nil removes the key.
func (c *recordCache) put(prefix string, seg int64, key string, v []byte) {
	c.putMany(prefix, []*entry{{key: key, seg: seg, value: v}}, nil)
}

// putMany caches committed values of one store partition: those of the
// entries that keep accepts.
func (c *recordCache) putMany(prefix string, entries []*entry, keep func(e *entry) bool) {
	if c == nil || len(entries) == 0 {
		return
	}
	p := c.part(prefix, true)
	p.mu.Lock()
	var delta int64
	for _, e := range entries {
		if keep != nil && !keep(e) {
			continue
		}
		key, seg, v := e.key, e.seg, e.value
		b := p.segs[seg]
		if old, ok := b[key]; ok {
			delta -= int64(len(key) + len(old) + entryOverhead)
			delete(b, key)
		}
		size := int64(len(key) + len(v) + entryOverhead)
		switch {
		case v == nil:
		case size > c.limit/16:
			p.complete = false
		default:
			if b == nil {
				b = map[string][]byte{}
				p.segs[seg] = b
			}
			b[key] = v
			delta += size
		}
	}
	p.mu.Unlock()
	if c.bytes.Add(delta) > c.limit {
		c.evict()
	}
}

// evict drops buckets until the cache is under nine tenths of its limit,
// marking the partitions they came from incomplete.
func (c *recordCache) evict() {
	for c.bytes.Load() > c.limit*9/10 {
		c.mu.RLock()
		var victim *cachePart
		for _, p := range c.parts {
			victim = p
			break
		}
		c.mu.RUnlock()
		if victim == nil {
			return
		}
		victim.mu.Lock()
		var freed int64
		for seg, b := range victim.segs {
			for k, v := range b {
				freed += int64(len(k) + len(v) + entryOverhead)
			}
			delete(victim.segs, seg)
			victim.complete = false
			if freed > 0 {
				break
			}
		}
		victim.mu.Unlock()
		if freed == 0 {
			c.mu.Lock()
			for k, p := range c.parts {
				if p == victim && len(p.segs) == 0 && !p.complete {
					delete(c.parts, k)
				}
			}
			c.mu.Unlock()
		}
		c.bytes.Add(-freed)
	}
}

// dropBelow drops the segments of a window store partition below seg.
func (c *recordCache) dropBelow(prefix string, seg int64) {
	if c == nil {
		return
	}
	p := c.part(prefix, false)
	if p == nil {
		return
	}
	p.mu.Lock()
	var freed int64
	for s, b := range p.segs {
		if s != noSeg && s < seg {
			for k, v := range b {
				freed += int64(len(k) + len(v) + entryOverhead)
			}
			delete(p.segs, s)
		}
	}
	p.mu.Unlock()
	c.bytes.Add(-freed)
}

func (c *recordCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	clear(c.parts)
	c.fresh = false
	c.bytes.Store(0)
	c.mu.Unlock()
}

// clearPrefix drops what is cached of one store partition.
func (c *recordCache) clearPrefix(prefix []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	p := c.parts[string(prefix)]
	delete(c.parts, string(prefix))
	// Whatever Pebble gets for it from now on, the cache will not know.
	c.seen[string(prefix)] = struct{}{}
	c.mu.Unlock()
	if p == nil {
		return
	}
	p.mu.Lock()
	var freed int64
	for _, b := range p.segs {
		for k, v := range b {
			freed += int64(len(k) + len(v) + entryOverhead)
		}
	}
	p.mu.Unlock()
	c.bytes.Add(-freed)
}

// segments returns the cached values of a store partition's segments in
// [lo, hi], and true, if the cache holds the whole partition; otherwise
// nothing and false. The keys are storage keys.
func (c *recordCache) segments(prefix string, lo, hi int64, fn func(key string, v []byte)) bool {
	if c == nil {
		return false
	}
	p := c.part(prefix, c.fresh)
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.complete {
		return false
	}
	for seg, b := range p.segs {
		if seg != noSeg && seg >= lo && seg <= hi {
			for k, v := range b {
				fn(k, v)
			}
		}
	}
	return true
}
