// Package s3 is a source that publishes the events of S3 objects (CloudTrail
// log files, VPC Flow Logs, GuardDuty and Macie exports, any JSON lines,
// JSON array or CSV files, gzipped or not) to vigil.raw.<source>, one record
// per event, exactly once.
//
// Objects are found in one of two modes:
//
//   - poll (the default) lists the bucket under a prefix every
//     poll_interval, in key order. Under AWS's log layout
//     ([prefix]AWSLogs/[org-id/]<account>/<service>/<region>/YYYY/MM/DD/)
//     it discovers the account and region prefixes with delimiter listings
//     and keeps, per account, service and region, the last key it
//     published: the next listing starts after it (ListObjectsV2
//     StartAfter), and with since it starts at that date's prefix instead
//     of listing everything. Elsewhere a prefix is listed flat, in key order,
//     the same way. Objects are expected to arrive in key order, as AWS
//     writes them (the key holds the delivery time): one that appears later
//     with a key before the last one published is not seen. SQS mode has no
//     such limit.
//   - sqs reads S3 event notifications from a queue (sqs.go).
//
// An object is streamed (never held whole in memory), gunzipped when it is
// gzip, and split into events by package framing. Its records are produced
// in Kafka transactions of at most commit_records records; each transaction
// also commits the object's progress (its ETag, the records done, whether it
// is done) to the compacted progress topic (package ingest), so a restarted
// source resumes inside an object after the records already committed and
// never publishes a record twice. CloudTrail digest files are skipped.
//
// Each record carries the provenance headers vigil-source, vigil-origin
// (s3://bucket/key:line, or :Records[i] for CloudTrail log files) and
// vigil-ingest-time, and vigil-file-header for files whose first line names
// their fields (VPC Flow Logs). Records are published as read, valid or not:
// deciding what is wrong with one is the normalize app's job. What cannot be
// delimited (a value cut off at the end of an object, an event over
// max_record_bytes) goes to the dead-letter topic. A malformed object (bad
// gzip, truncated) is reported with its key, its good records still flow,
// and it counts as done; an object that cannot be read for now (access
// denied, a broken connection) is retried at the next poll, and nothing
// after it in its prefix is published before it.
package s3
