// Package vpcflow normalizes VPC Flow Logs to ECS.
//
// It reads flow log records as AWS writes them: space-separated fields, "-"
// for a field that does not apply. The format of a record comes from the
// header line of its file (normalize.Meta.FileHeader, which the file source
// sends with header_line), naming any of the fields of versions 2 to 8 and
// of transit gateway flow logs in any order. A record without a header
// (CloudWatch Logs exports and subscriptions, which may wrap it as
// {"message": "..."}) is read by its field count in AWS's documented field
// order: 14 fields are the v2 default format, 21 the v2 and v3 fields, 25
// up to v4, 29 up to v5, 39 up to v7, 40 up to v8, and 36 the transit
// gateway default format. The file source publishes a file's first line
// too: a header line is skipped (normalize.ErrSkipped), and a first line
// that is a record, in a file without a header, is decoded like the rest
// (a FileHeader that names no field is ignored). A record may also hold several lines (a file
// pushed whole); a header line among them sets the format of the lines
// after it, and lines that fail come back in a *normalize.PartialError.
//
// Mapping, after Elastic's aws.vpcflow integration: @timestamp is the start
// of the aggregation interval (failing that its end, failing that the
// ingest time); event.category is network; event.type is connection
// (info for a record without addresses, such as NODATA and SKIPDATA) plus
// allowed or denied; event.action is the action as written (ACCEPT,
// REJECT), or the log status NODATA or SKIPDATA when there is no action;
// event.outcome is success or failure by the action. srcaddr, dstaddr and
// the ports go to source.* and destination.* (the counters to source.* and
// network.*, a record being one direction of a flow), the protocol to
// network.iana_number and network.transport, the account, region and
// instance to cloud.*, every address to related.ip, and everything else to
// aws.vpcflow.* (see ecs.VPCFlow). network.direction is left to the
// normalize app, which knows the internal networks. Every event's id is
// normalize.DerivedID(line, 0).
//
// Decode splits lines by hand, without regexp or encoding/json, and does
// not allocate for a usual record: every field is a substring of the
// record (which the caller hands over, see normalize.Decoder), and the
// event and all it points to, its id included, are one block from a pool
// that Release (normalize.Releaser) refills once the normalize app has
// encoded the events.
package vpcflow
