// Package guardduty normalizes Amazon GuardDuty findings to ECS.
//
// It reads a finding as GetFindings returns it, GuardDuty's S3 exports (JSON
// lines of findings), JSON arrays of findings, GetFindings responses
// ({"findings":[...]}), EventBridge events (detail-type "GuardDuty
// Finding") and SNS notifications of either. Of several findings in one
// record, each bad one is reported alone in a *normalize.PartialError.
// GuardDuty's SNS announcements of new finding types and features, and empty
// responses, are recognised and skipped; EventBridge patterns, Security Hub
// (ASFF) findings, Macie findings and anything else give an error that says
// what the record is.
//
// Field names follow Elastic's AWS integration (aws.guardduty.*, and the
// ECS fields its pipeline fills); Normalize lists where vigil differs.
package guardduty
