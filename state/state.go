// Package state holds the state of stream apps: key-value and windowed
// stores on Pebble.
//
// One DB holds every store of every task (input partition) of one app
// instance, each store and partition in a key range of its own, so that a
// partition's state can be dropped with range deletions when it moves away.
// The package knows nothing of Kafka: a Txn collects the writes of one batch
// and hands them out as Changes, which the stream runtime produces to the
// store's changelog topic in the batch's transaction; only once that
// transaction has committed does the runtime Commit the Txn locally, along
// with a marker recording the changelog offset the local state now reflects.
// After a restart or a move, Restore replays the changelog from the marker:
// local state is caught up, never trusted blindly.
package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// Options configure a DB.
type Options struct {
	// Dir is the directory of the Pebble database. Required.
	Dir string
	// CacheSize is Pebble's block cache, in bytes. Default 32 MiB.
	CacheSize int64
	// MemTableSize is the size of one memtable, in bytes. Default 8 MiB.
	MemTableSize uint64
	// MemTables bounds the memtables held in memory before writes stall.
	// Default 4. Together with CacheSize this bounds the memory state uses,
	// whatever the number of keys.
	MemTables int
	// RecordCacheSize bounds the in-memory cache of store values, in bytes,
	// which spares Pebble the reads of recently used keys. Default 32 MiB;
	// a negative value disables it.
	RecordCacheSize int
	// WriteBufferSize bounds the committed writes held in memory before
	// they are written to Pebble, in bytes: a key updated by many
	// transactions meanwhile is written once. Default 32 MiB; a negative
	// value writes every transaction through.
	WriteBufferSize int
	// Sync fsyncs every commit. Default false: the changelog in Kafka is
	// the durable copy, and a local copy that lost its last writes is
	// caught up from it.
	Sync bool
	// Logger receives Pebble's messages. Default: none.
	Logger *slog.Logger
}

// EnsureDefaults fills unset fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.CacheSize <= 0 {
		o.CacheSize = 32 << 20
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 8 << 20
	}
	if o.MemTables <= 0 {
		o.MemTables = 4
	}
	if o.RecordCacheSize == 0 {
		o.RecordCacheSize = 32 << 20
	}
	if o.WriteBufferSize == 0 {
		o.WriteBufferSize = 32 << 20
	}
}

// DB is the local state of one app instance.
type DB struct {
	db    *pebble.DB
	opts  Options
	wo    *pebble.WriteOptions
	cache *recordCache
	buf   *writeBuffer

	flushMu sync.Mutex // one flush at a time

	// txnKeys is how many keys the last transaction touched: the next
	// one's maps start that big, rather than growing by rehashing.
	txnKeys atomic.Int64

	mu      sync.Mutex
	expired map[string]int64 // window store partition -> segments below this are expired
}

func (d *DB) expiredBelow(prefix string) (int64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.expired[prefix]
	return s, ok
}

func (d *DB) setExpired(e expiry) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired == nil {
		d.expired = map[string]int64{}
	}
	if cur, ok := d.expired[e.prefix]; !ok || e.seg > cur {
		d.expired[e.prefix] = e.seg
	}
}

func (d *DB) forgetExpired(prefix []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.expired, string(prefix))
}

// Open opens or creates the database in o.Dir.
func Open(o Options) (*DB, error) {
	if o.Dir == "" {
		return nil, errors.New("state: Options.Dir is required")
	}
	o.EnsureDefaults()
	cache := pebble.NewCache(o.CacheSize)
	defer cache.Unref()
	po := &pebble.Options{
		Cache:                       cache,
		MemTableSize:                o.MemTableSize,
		MemTableStopWritesThreshold: o.MemTables,
		Logger:                      pebbleLogger{o.Logger},
	}
	// Bloom filters make a read of a key that is not there (a window's
	// first update) cheap on every level.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(o.Dir, po)
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", o.Dir, err)
	}
	wo := pebble.NoSync
	if o.Sync {
		wo = pebble.Sync
	}
	d := &DB{db: db, opts: o, wo: wo, buf: newWriteBuffer(int64(max(o.WriteBufferSize, 0)))}
	if o.RecordCacheSize > 0 {
		d.cache = newRecordCache(o.RecordCacheSize)
		// An empty database: every partition is wholly in the cache
		// until the cache drops some of it.
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagData}})
		if err != nil {
			_ = db.Close()
			return nil, err
		}
		d.cache.fresh = !it.First()
		if err := it.Close(); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return d, nil
}

// Close writes what is buffered and closes the database.
func (d *DB) Close() error {
	if err := d.flushAll(); err != nil {
		_ = d.db.Close()
		return err
	}
	return d.db.Close()
}

// Flush writes every buffered write to Pebble.
func (d *DB) Flush() error { return d.flushAll() }

// Stats are the sizes of the local state, for metrics.
type Stats struct {
	// DiskBytes is what Pebble's files take on disk.
	DiskBytes uint64
	// WriteBufferBytes and RecordCacheBytes are what the write buffer
	// and the record cache hold, as they count it.
	WriteBufferBytes int64
	RecordCacheBytes int64
}

// Stats returns the sizes of the local state.
func (d *DB) Stats() Stats {
	s := Stats{DiskBytes: d.db.Metrics().DiskSpaceUsage(), WriteBufferBytes: d.buf.bytes.Load()}
	if d.cache != nil {
		s.RecordCacheBytes = d.cache.bytes.Load()
	}
	return s
}

// Metrics returns Pebble's metrics.
func (d *DB) Metrics() *pebble.Metrics { return d.db.Metrics() }

// Kind is the kind of a store.
type Kind int

const (
	// KindKV is a key-value store.
	KindKV Kind = iota
	// KindWindow is a windowed store: values keyed by a key and an
	// event-time window, expiring after a retention period.
	KindWindow
)

// Spec describes a store.
type Spec struct {
	// Name names the store and its changelog topic. Required: letters,
	// digits, '-' and '_'.
	Name string
	// Kind is KindKV or KindWindow.
	Kind Kind
	// Retention is how long a window store keeps a window after its end,
	// in stream time. Required for window stores.
	Retention time.Duration
	// SegmentInterval is the span of window ends kept together, so that
	// they expire together with one range deletion. Default: Retention/4,
	// at least one second.
	SegmentInterval time.Duration
}

// Validate checks a spec.
func (s *Spec) Validate() error {
	if s.Name == "" || len(s.Name) > 200 {
		return fmt.Errorf("state: store name %q must be 1 to 200 bytes", s.Name)
	}
	for _, r := range s.Name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("state: store name %q may hold only letters, digits, '-' and '_'", s.Name)
		}
	}
	switch s.Kind {
	case KindKV:
	case KindWindow:
		if s.Retention <= 0 {
			return fmt.Errorf("state: window store %q needs a retention", s.Name)
		}
	default:
		return fmt.Errorf("state: store %q has unknown kind %d", s.Name, s.Kind)
	}
	return nil
}

func (s *Spec) segment() int64 {
	if s.SegmentInterval > 0 {
		// Keys hold milliseconds: a sub-millisecond interval is one
		// millisecond (zero would divide by zero in segmentOf).
		return max(s.SegmentInterval.Milliseconds(), 1)
	}
	seg := (s.Retention / 4).Milliseconds()
	if seg < 1000 {
		seg = 1000
	}
	return seg
}

// Key layout. Store data: 0x01 len(name) name partition(4) internal-key.
// Markers: 0x00 'm' len(name) name partition(4) -> offset(8).
const (
	tagMarker = 0x00
	tagData   = 0x01
)

func prefix(tag byte, store string, p int32) []byte {
	b := make([]byte, 0, 2+len(store)+4+32)
	b = append(b, tag)
	if tag == tagMarker {
		b = append(b, 'm')
	}
	b = append(b, byte(len(store)))
	b = append(b, store...)
	return binary.BigEndian.AppendUint32(b, uint32(p))
}

// upperBound returns the smallest key greater than every key with prefix p.
func upperBound(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Marker returns the changelog offset that the local copy of a store's
// partition reflects, and false if there is none (the copy is empty or
// unknown).
func (d *DB) Marker(store string, p int32) (int64, bool, error) {
	// Pebble's marker goes with Pebble's data: write the buffered data
	// and marker out first.
	if err := d.flush(string(prefix(tagData, store, p))); err != nil {
		return 0, false, err
	}
	v, closer, err := d.db.Get(prefix(tagMarker, store, p))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, false, fmt.Errorf("state: corrupt marker of %s/%d", store, p)
	}
	return int64(binary.BigEndian.Uint64(v)), true, nil
}

// Drop deletes a store's partition and its marker, with range deletions.
func (d *DB) Drop(store string, p int32) error {
	pre := prefix(tagData, store, p)
	d.dropBuffered(string(pre))
	d.cache.clearPrefix(pre)
	d.forgetExpired(pre)
	b := d.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(pre, upperBound(pre), nil); err != nil {
		return err
	}
	if err := b.Delete(prefix(tagMarker, store, p), nil); err != nil {
		return err
	}
	if err := b.Commit(d.wo); err != nil {
		return err
	}
	// The partition is empty: the cache knows all of it from here on.
	d.cache.setComplete(pre)
	return nil
}

// Restore applies changelog records to a store's partition and records
// upTo as its marker, in one atomic write. Window records whose windows
// ended before expireBefore are skipped.
func (d *DB) Restore(spec Spec, p int32, changes []Change, upTo int64, expireBefore time.Time) error {
	pre := prefix(tagData, spec.Name, p)
	if err := d.flush(string(pre)); err != nil {
		return err
	}
	if len(changes) > 0 {
		d.cache.clearPrefix(pre)
		d.forgetExpired(pre)
	}
	b := d.db.NewBatch()
	defer b.Close()
	cutoff := int64(math.MinInt64)
	if !expireBefore.IsZero() {
		cutoff = expireBefore.UnixMilli()
	}
	for _, c := range changes {
		key, err := storageKey(&spec, pre, c.Key)
		if err != nil {
			return fmt.Errorf("state: restore %s/%d: %w", spec.Name, p, err)
		}
		if spec.Kind == KindWindow {
			if _, w, err := decodeWindowKey(c.Key); err == nil && w.End.UnixMilli() <= cutoff {
				continue
			}
		}
		if c.Value == nil {
			err = b.Delete(key, nil)
		} else {
			err = b.Set(key, c.Value, nil)
		}
		if err != nil {
			return err
		}
	}
	if err := b.Set(prefix(tagMarker, spec.Name, p), binary.BigEndian.AppendUint64(nil, uint64(upTo)), nil); err != nil {
		return err
	}
	return b.Commit(d.wo)
}

// storageKey turns a changelog key into the Pebble key.
func storageKey(spec *Spec, pre, clKey []byte) ([]byte, error) {
	if spec.Kind == KindKV {
		return append(pre[:len(pre):len(pre)], clKey...), nil
	}
	_, w, err := decodeWindowKey(clKey)
	if err != nil {
		return nil, err
	}
	k := append(pre[:len(pre):len(pre)], make([]byte, 8)...)
	binary.BigEndian.PutUint64(k[len(pre):], sortable(segmentOf(w.End.UnixMilli(), spec.segment())))
	return append(k, clKey...), nil
}

// sortable maps an int64 to a uint64 with the same order.
func sortable(v int64) uint64 { return uint64(v) ^ (1 << 63) }

func unsortable(u uint64) int64 { return int64(u ^ (1 << 63)) }

func segmentOf(endMillis, seg int64) int64 {
	s := endMillis / seg
	if endMillis < 0 && endMillis%seg != 0 {
		s--
	}
	return s
}

type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(string, ...any) {}
func (p pebbleLogger) Errorf(format string, args ...any) {
	if p.l != nil {
		p.l.Error("pebble: " + fmt.Sprintf(format, args...))
	}
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	if p.l != nil {
		p.l.Error("pebble: fatal: " + fmt.Sprintf(format, args...))
	}
	panic(fmt.Sprintf("pebble: "+format, args...))
}

var _ io.Closer = (*DB)(nil)
