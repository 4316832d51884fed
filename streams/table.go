package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/state"
)

// TableSpec names a global table: a compacted topic (assets, exposures,
// threat intel, allow-lists) that every instance of the app materializes in
// full, for lookups by key. An empty value deletes a key.
type TableSpec struct {
	// Name is what Context.Table takes.
	Name string
	// Topic is the compacted topic holding the table.
	Topic string
}

// Table is a materialized global table. Lookups see the table as of the
// latest update applied; updates arrive while the app runs.
type Table struct {
	db    *state.DB
	store string
	spec  TableSpec
}

func tableStore(name string) string    { return "_table_" + name }
func tablePosStore(name string) string { return "_tablepos_" + name }

// Get returns the value of key in the table.
func (t *Table) Get(key []byte) ([]byte, bool, error) { return t.db.Get(t.store, 0, key) }

// Table returns the global table name.
func (c *Context) Table(name string) *Table {
	for _, s := range c.r.app.Tables {
		if s.Name == name {
			return &Table{db: c.r.db, store: tableStore(name), spec: s}
		}
	}
	panic(fmt.Sprintf("streams: app %q has no table %q", c.app, name))
}

// runTables materializes the app's tables: it catches up to the end the
// topics had when it started, then signals ready and follows updates until
// ctx ends. The local copy survives restarts; it resumes after the
// position it recorded.
func (r *Runner) runTables(ctx context.Context, ready chan<- error) {
	var once atomic.Bool
	signal := func(err error) {
		if once.CompareAndSwap(false, true) {
			ready <- err
		}
	}
	err := r.followTables(ctx, func() { signal(nil) })
	if err != nil && ctx.Err() == nil {
		r.app.Logger.Error("global tables stopped", "err", err)
	}
	signal(err)
}

func (r *Runner) followTables(ctx context.Context, caughtUp func()) error {
	adm := kadm.NewClient(r.admin)
	byTopic := map[string]TableSpec{}
	var topics []string
	for _, t := range r.app.Tables {
		byTopic[t.Topic] = t
		topics = append(topics, t.Topic)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("table offsets: %w", err)
	}
	offsets := map[string]map[int32]kgo.Offset{}
	pending := map[string]map[int32]int64{} // end offsets still to reach
	var ferr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			ferr = fmt.Errorf("table %s partition %d: %w", o.Topic, o.Partition, o.Err)
			return
		}
		spec := byTopic[o.Topic]
		off := kgo.NewOffset().AtStart()
		from := int64(0)
		if m, ok, err := r.db.Marker(tablePosStore(spec.Name), o.Partition); err == nil && ok {
			off, from = kgo.NewOffset().At(m+1), m+1
		}
		if offsets[o.Topic] == nil {
			offsets[o.Topic] = map[int32]kgo.Offset{}
			pending[o.Topic] = map[int32]int64{}
		}
		offsets[o.Topic][o.Partition] = off
		if from < o.Offset {
			pending[o.Topic][o.Partition] = o.Offset
		}
	})
	if ferr != nil {
		return ferr
	}
	left := 0
	for _, ps := range pending {
		left += len(ps)
	}
	if left == 0 {
		caughtUp()
	}
	cl, err := kgo.NewClient(append(slices.Clone(r.app.Client),
		kgo.ConsumePartitions(offsets),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.WithLogger(KgoLogger(r.app.Logger)),
	)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				r.app.Logger.Warn("table fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		var changes []state.Change
		var markers []state.Marker
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			spec := byTopic[p.Topic]
			for _, rec := range p.Records {
				if rec.Attrs.IsControl() {
					continue
				}
				v := rec.Value
				if len(v) == 0 {
					v = nil // an empty value deletes
				}
				changes = append(changes, state.Change{Store: tableStore(spec.Name), Partition: 0, Key: rec.Key, Value: v})
			}
			last := p.Records[len(p.Records)-1].Offset
			markers = append(markers, state.Marker{Store: tablePosStore(spec.Name), Partition: p.Partition, Offset: last})
			if end, ok := pending[p.Topic][p.Partition]; ok && last >= end-1 {
				delete(pending[p.Topic], p.Partition)
				left--
			}
		})
		if len(markers) > 0 {
			if err := r.db.Apply(changes, markers); err != nil {
				return err
			}
			r.m.tableUpdates.Add(float64(len(changes)))
			if left == 0 {
				// Signalled only once the data is written.
				caughtUp()
			}
		}
	}
}
