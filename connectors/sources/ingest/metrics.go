package ingest

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilsec/vigil/streams"
)

// Metrics are the metrics every source keeps. The engine labels them with
// the source's name (app).
type Metrics struct {
	// Records counts records published, by topic (the dead-letter topic
	// included).
	Records *prometheus.CounterVec
	// Bytes counts the bytes of records published.
	Bytes prometheus.Counter
	// Objects counts files or objects read to the end.
	Objects prometheus.Counter
	// ObjectBytes counts the bytes of files or objects read, as stored
	// (compressed).
	ObjectBytes prometheus.Counter
	// Errors counts problems by kind: read, framing, decompress, list,
	// notice, publish.
	Errors *prometheus.CounterVec

	newest atomic.Int64 // unix nanoseconds of the newest object seen
}

// NewMetrics returns a source's metrics, registered with reg if it is not
// nil (sharing collectors already registered under the same names).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_source_records_total",
			Help: "Records a source published, per topic (the dead-letter topic included).",
		}, []string{"topic"}),
		Bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_source_bytes_total",
			Help: "Bytes of events a source published.",
		}),
		Objects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_source_objects_total",
			Help: "Files or objects a source read to the end.",
		}),
		ObjectBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_source_object_bytes_total",
			Help: "Bytes of files or objects a source read, as stored (compressed).",
		}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_source_errors_total",
			Help: "Problems a source met, by kind: read (a file or object could not be read), framing (an event could not be delimited), decompress, list, notice (a queue message not understood), queue (a queue call failed), progress (a progress value not understood), publish.",
		}, []string{"kind"}),
	}
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vigil_source_newest_object_age_seconds",
		Help: "How old the newest object or file a source has seen is (by its last-modified time): the delivery lag. 0 until one is seen.",
	}, func() float64 {
		n := m.newest.Load()
		if n == 0 {
			return 0
		}
		return time.Since(time.Unix(0, n)).Seconds()
	})
	if reg != nil {
		m.Records = streams.Register(reg, m.Records)
		m.Bytes = streams.Register(reg, m.Bytes)
		m.Objects = streams.Register(reg, m.Objects)
		m.ObjectBytes = streams.Register(reg, m.ObjectBytes)
		m.Errors = streams.Register(reg, m.Errors)
		_ = reg.Register(age)
	}
	return m
}

// SeenObject notes an object's last-modified time, for the delivery lag.
func (m *Metrics) SeenObject(modified time.Time) {
	n := modified.UnixNano()
	for {
		cur := m.newest.Load()
		if n <= cur || m.newest.CompareAndSwap(cur, n) {
			return
		}
	}
}

// Add counts what a committed transaction produced.
func (m *Metrics) Add(c Committed) {
	for t, n := range c.Records {
		m.Records.WithLabelValues(t).Add(float64(n))
	}
	m.Bytes.Add(float64(c.Bytes))
}
