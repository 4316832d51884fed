// Package prowler normalizes Prowler check results to ECS.
//
// It reads the finding formats Prowler writes:
//
//   - JSON-OCSF (v4 and later, the default): a JSON array of Detection
//     Findings, which the file source splits into one record per finding,
//     or the same findings one per line;
//   - ASFF, the AWS Security Finding Format of --output-formats json-asff
//     and of Security Hub: one finding per record, a {"Findings":[...]}
//     batch (as BatchImportFindings takes) or an EventBridge "Security Hub
//     Findings - Imported" event;
//   - Prowler v3's native JSON (CheckID, Status, StatusExtended, ...);
//   - CSV, semicolon-separated with a header line (v4 upper-case columns,
//     v3 lower-case ones). The file source must be configured with
//     header_line, so that every data line arrives with the header as
//     Meta.FileHeader; without it, a line with as many fields as the
//     current v4 layout is read with that layout, any other is an error.
//     The header line itself, if it reaches the decoder, is skipped
//     (normalize.ErrSkipped).
//
// A record holding a whole JSON array of findings is decoded item by item;
// items that fail come back in a *normalize.PartialError.
//
// # CSV and line breaks
//
// A quoted field may hold a line break (Prowler's remediation code and, in
// recent checks, recommendation texts do). The file source and vigil
// normalize read *.csv files with format csv, which keeps such a record
// whole. Read as lines, it would split in two; neither half is a valid
// record and each is rejected with an error that says so.
//
// # Mapping
//
// Every finding is one event: event.kind "state", PASS and FAIL alike (a
// posture finding: the state of a resource's configuration when the check
// ran; a failed check is not "alert", because it repeats in every scan
// until it is fixed and what to alert on is for detection rules to
// decide), event.category ["configuration"], event.type ["info"],
// event.action the status in lower case (pass, fail, manual; "muted" for
// an ASFF finding whose status Prowler hid behind WARNING), event.outcome
// success for PASS, failure for FAIL, unknown otherwise. event.severity is
// the OCSF severity id (1 informational to 5 critical).
//
// @timestamp is the finding time: the epoch "time" of JSON-OCSF (its
// "time_dt" is the scanner's local time without a zone), UpdatedAt of
// ASFF, AssessmentStartTime of v3 JSON and TIMESTAMP of CSV. The last two
// are written in the scanner's local time without a zone and are read as
// UTC: run Prowler with TZ=UTC, or prefer JSON-OCSF.
//
// rule.* is the check (id, title, description, first check type as
// category, ruleset "prowler"); vulnerability.* is filled for failed
// checks only (id = check id, severity, description, reference = the
// remediation URL, category = the check's categories, scanner.vendor
// "Prowler"), so that vulnerability.* counts what is wrong and not what
// passed. A check mapped to MITRE ATT&CK (its MITRE-ATTACK compliance
// framework) gives threat.technique.id. resource.*, cloud.* (or
// orchestrator.* for Kubernetes) and observer.* follow; message is the
// status extended; the rest goes to prowler.* (see ecs.Prowler), with the
// compliance frameworks as a flattened map and, for JSON-OCSF, the
// resource as Prowler described it (prowler.resource.metadata, which can
// hold what the resource holds: the ECS example of Prowler's
// documentation shows a task definition's environment variables).
//
// event.id is Prowler's finding uid, which is the same for the same check
// on the same resource in every scan, so that a finding's successive
// results share an id (the latest wins where documents are keyed by it).
// A finding without one, or with the "<finding_uid>" placeholder of
// Prowler's documentation examples, gets normalize.DerivedID of its
// bytes.
package prowler
