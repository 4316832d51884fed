package state

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/cockroachdb/pebble/v2"
)

// Marker is a store partition's changelog offset, written with Apply.
type Marker struct {
	Store     string
	Partition int32
	Offset    int64
}

// Apply writes KV changes and markers straight to the database, in one
// atomic write, outside any transaction. Global tables use it: their topic
// is their log, and the markers are positions in it.
func (d *DB) Apply(changes []Change, markers []Marker) error {
	b := d.db.NewBatch()
	defer b.Close()
	var last []byte
	for _, c := range changes {
		pre := prefix(tagData, c.Store, c.Partition)
		if !bytes.Equal(pre, last) {
			d.cache.clearPrefix(pre) // the cache does not follow direct writes
			last = pre
		}
		k := append(pre, c.Key...)
		var err error
		if c.Value == nil {
			err = b.Delete(k, nil)
		} else {
			err = b.Set(k, c.Value, nil)
		}
		if err != nil {
			return err
		}
	}
	for _, m := range markers {
		if err := b.Set(prefix(tagMarker, m.Store, m.Partition), binary.BigEndian.AppendUint64(nil, uint64(m.Offset)), nil); err != nil {
			return err
		}
	}
	return b.Commit(d.wo)
}

// Get reads a key of a KV store partition straight from the database, as
// last committed.
func (d *DB) Get(store string, p int32, key []byte) ([]byte, bool, error) {
	pre := prefix(tagData, store, p)
	k := append(pre[:len(pre):len(pre)], key...)
	if v, ok := d.buf.get(string(pre), noSeg, k); ok {
		return bytes.Clone(v), v != nil, nil
	}
	v, closer, err := d.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer closer.Close()
	out := make([]byte, len(v))
	copy(out, v)
	return out, true, nil
}
