package streams

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one app's Prometheus metrics. The registerer given to the app
// is expected to add an "app" label.
type metrics struct {
	consumed  *prometheus.CounterVec
	produced  *prometheus.CounterVec
	errors    *prometheus.CounterVec
	dlq       *prometheus.CounterVec
	retries   prometheus.Counter
	txns      *prometheus.CounterVec
	batchTime prometheus.Histogram
	late      *prometheus.CounterVec
	sessions  prometheus.Counter

	tasks            prometheus.Gauge
	restored         *prometheus.CounterVec
	restoreRemaining *prometheus.GaugeVec
	restoreSeconds   prometheus.Histogram
	tableUpdates     prometheus.Counter

	stateDisk, stateBuffer, stateCache prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_records_consumed_total",
			Help: "Records consumed by a stream app, per input topic, counted when their batch commits.",
		}, []string{"topic"}),
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_records_produced_total",
			Help: "Records produced by a component, per output topic (the dead-letter topic included), counted when committed.",
		}, []string{"topic"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_processing_errors_total",
			Help: "Records whose processing failed with a non-retryable error, per input topic.",
		}, []string{"topic"}),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_dlq_records_total",
			Help: "Records sent to the dead-letter topic, per input topic they were read from.",
		}, []string{"topic"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_processing_retries_total",
			Help: "Retries of records whose processing failed with a retryable error.",
		}),
		txns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_batches_total",
			Help: "Batches ended, by outcome: committed or aborted.",
		}, []string{"outcome"}),
		batchTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vigil_batch_duration_seconds",
			Help:    "Time from the end of a poll to the commit of its batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
	}
	m.late = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_late_records_total",
		Help: "Records later than a window's grace period, sent to the late topic, per input topic.",
	}, []string{"topic"})
	m.sessions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vigil_session_restarts_total",
		Help: "Consumer sessions that failed and were started again.",
	})
	m.tasks = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vigil_tasks",
		Help: "Tasks (input partitions with state) this instance runs.",
	})
	m.restored = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_restore_records_total",
		Help: "Changelog records replayed into local state, per store.",
	}, []string{"store"})
	m.restoreRemaining = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "vigil_restore_remaining_records",
		Help: "Changelog records still to replay in restores under way, per store.",
	}, []string{"store"})
	m.restoreSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "vigil_restore_duration_seconds",
		Help:    "Time to restore one task.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	})
	m.tableUpdates = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vigil_table_updates_total",
		Help: "Updates applied to the app's global tables.",
	})
	m.stateDisk = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vigil_state_disk_bytes",
		Help: "What the app's local state (Pebble) takes on disk.",
	})
	m.stateBuffer = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vigil_state_write_buffer_bytes",
		Help: "Committed state writes held in memory, not yet written to Pebble.",
	})
	m.stateCache = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vigil_state_record_cache_bytes",
		Help: "State values held in the record cache.",
	})
	if reg != nil {
		m.stateDisk = Register(reg, m.stateDisk)
		m.stateBuffer = Register(reg, m.stateBuffer)
		m.stateCache = Register(reg, m.stateCache)
		m.tableUpdates = Register(reg, m.tableUpdates)
		m.late = Register(reg, m.late)
		m.sessions = Register(reg, m.sessions)
		m.tasks = Register(reg, m.tasks)
		m.restored = Register(reg, m.restored)
		m.restoreRemaining = Register(reg, m.restoreRemaining)
		m.restoreSeconds = Register(reg, m.restoreSeconds)
		m.consumed = Register(reg, m.consumed)
		m.produced = Register(reg, m.produced)
		m.errors = Register(reg, m.errors)
		m.dlq = Register(reg, m.dlq)
		m.retries = Register(reg, m.retries)
		m.txns = Register(reg, m.txns)
		m.batchTime = Register(reg, m.batchTime)
	}
	return m
}

// Register registers c with reg and returns it, or returns the collector
// already registered under the same description, so that a component built
// twice in one process (a restart, a test) counts on.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
