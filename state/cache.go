package state

import (
	"math"
	"sync"
)

// recordCache keeps recently read and committed values of store keys in
// memory, so that a key's second and later reads skip Pebble (whose
// memtable search dominates a read-modify-write). Values sit in buckets by
// store partition and, for window stores, by segment, so that expiry drops
// whole buckets. It is bounded by bytes; when full it drops entries of a
// random bucket. It holds committed values only.
type recordCache struct {
	mu      sync.Mutex
	buckets map[bucketKey]map[string][]byte
	bytes   int
	limit   int
	// complete holds the store partitions (by key prefix) whose every
	// value is in the cache: they started empty and lost nothing to
	// eviction since. A miss there means the key is absent.
	complete map[string]bool
}

type bucketKey struct {
	prefix string
	seg    int64 // noSeg for KV stores
}

const noSeg = math.MinInt64

func newRecordCache(limit int) *recordCache {
	return &recordCache{buckets: map[bucketKey]map[string][]byte{}, limit: limit, complete: map[string]bool{}}
}

const entryOverhead = 64

func (c *recordCache) get(prefix []byte, seg int64, key []byte) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buckets[bucketKey{string(prefix), seg}]
	if b == nil {
		return nil, false
	}
	v, ok := b[string(key)]
	return v, ok
}

// isComplete reports whether a miss in the store partition means absent.
func (c *recordCache) isComplete(prefix []byte) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.complete[string(prefix)]
}

// setComplete marks a store partition as wholly cached (it is empty now).
func (c *recordCache) setComplete(prefix []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.complete[string(prefix)] = true
}

// put caches a committed value; nil removes the key.
func (c *recordCache) put(prefix string, seg int64, key string, v []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	bk := bucketKey{prefix, seg}
	b := c.buckets[bk]
	if old, ok := b[key]; ok {
		c.bytes -= len(key) + len(old) + entryOverhead
		delete(b, key)
	}
	if v == nil {
		return
	}
	size := len(key) + len(v) + entryOverhead
	if size > c.limit/16 {
		delete(c.complete, prefix)
		return
	}
	for c.bytes+size > c.limit && len(c.buckets) > 0 {
		c.evict(c.bytes + size - c.limit*9/10)
	}
	if b == nil {
		b = map[string][]byte{}
		c.buckets[bk] = b
	}
	b[key] = v
	c.bytes += size
}

// evict drops at least n bytes from one random bucket (all of it if it is
// smaller), marking its store partition incomplete.
func (c *recordCache) evict(n int) {
	for bk, b := range c.buckets {
		delete(c.complete, bk.prefix)
		for k, v := range b {
			c.bytes -= len(k) + len(v) + entryOverhead
			n -= len(k) + len(v) + entryOverhead
			delete(b, k)
			if n <= 0 {
				break
			}
		}
		if len(b) == 0 {
			delete(c.buckets, bk)
		}
		return
	}
}

func (c *recordCache) dropBucket(bk bucketKey) {
	for k, v := range c.buckets[bk] {
		c.bytes -= len(k) + len(v) + entryOverhead
	}
	delete(c.buckets, bk)
}

// dropBelow drops the segments of a window store partition below seg.
func (c *recordCache) dropBelow(prefix string, seg int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for bk := range c.buckets {
		if bk.prefix == prefix && bk.seg != noSeg && bk.seg < seg {
			c.dropBucket(bk)
		}
	}
}

func (c *recordCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	clear(c.buckets)
	clear(c.complete)
	c.bytes = 0
	c.mu.Unlock()
}

// clearPrefix drops what is cached of one store partition.
func (c *recordCache) clearPrefix(prefix []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.complete, string(prefix))
	for bk := range c.buckets {
		if bk.prefix == string(prefix) {
			c.dropBucket(bk)
		}
	}
}
