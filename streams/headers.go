package streams

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record headers that vigil sets. Sources set the provenance headers on every
// raw record; stages pass them on; the dead-letter topic adds the error
// headers.
const (
	// HeaderSource names the source that ingested the record ("cloudtrail").
	HeaderSource = "vigil-source"
	// HeaderOrigin says where the record came from: "path:line",
	// "path:Records[i]" or "s3://bucket/key:line".
	HeaderOrigin = "vigil-origin"
	// HeaderIngestTime is when the source read the record, RFC 3339 with
	// nanoseconds.
	HeaderIngestTime = "vigil-ingest-time"
	// HeaderFileHeader is the first line of the file a record came from,
	// for formats that name their fields there (VPC Flow Logs).
	HeaderFileHeader = "vigil-file-header"

	// HeaderError is the reason a record was dead-lettered.
	HeaderError = "vigil-error"
	// HeaderApp is the app that dead-lettered a record.
	HeaderApp = "vigil-app"
	// HeaderFromTopic, HeaderFromPartition and HeaderFromOffset locate the
	// input record that was dead-lettered.
	HeaderFromTopic     = "vigil-from-topic"
	HeaderFromPartition = "vigil-from-partition"
	HeaderFromOffset    = "vigil-from-offset"

	// HeaderLate says why a record on the late topic was too late.
	HeaderLate = "vigil-late"
)

// Header returns the value of the last header named key, or "".
func Header(r *kgo.Record, key string) string {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return string(r.Headers[i].Value)
		}
	}
	return ""
}

// Provenance returns the provenance headers of r (source, origin, ingest
// time), for passing on to records derived from it.
func Provenance(r *kgo.Record) []kgo.RecordHeader {
	var out []kgo.RecordHeader
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderSource, HeaderOrigin, HeaderIngestTime, HeaderFileHeader:
			out = append(out, h)
		}
	}
	return out
}

// Origin describes where r came from for humans: its provenance origin
// header if set, else topic/partition@offset.
func Origin(r *kgo.Record) string {
	if o := Header(r, HeaderOrigin); o != "" {
		return o
	}
	return r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "@" + strconv.FormatInt(r.Offset, 10)
}

// DeadLetter builds the dead-letter record for r: the original key, value
// and headers, plus the reason and where it was read.
func DeadLetter(dlq, app string, r *kgo.Record, reason error) *kgo.Record {
	h := make([]kgo.RecordHeader, 0, len(r.Headers)+5)
	h = append(h, r.Headers...)
	msg := "unknown error"
	if reason != nil {
		msg = reason.Error()
	}
	h = append(h,
		kgo.RecordHeader{Key: HeaderError, Value: []byte(msg)},
		kgo.RecordHeader{Key: HeaderApp, Value: []byte(app)},
		kgo.RecordHeader{Key: HeaderFromTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderFromPartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: HeaderFromOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
	)
	return &kgo.Record{Topic: dlq, Key: r.Key, Value: r.Value, Headers: h}
}
