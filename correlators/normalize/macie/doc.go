// Package macie normalizes Amazon Macie findings to ECS.
//
// It reads a Macie (macie2) finding as GetFindings returns it, JSON arrays
// and JSON lines of findings, GetFindings responses ({"findings":[...]}),
// EventBridge events (detail-type "Macie Finding") and SNS notifications of
// either. Of several findings in one record, each bad one is reported alone
// in a *normalize.PartialError. Sensitive data findings (category
// CLASSIFICATION) and policy findings (POLICY) are mapped; Security Hub
// (ASFF) and GuardDuty findings give an error that says what they are.
//
// Elastic's AWS integration has no Macie data stream: aws.macie.* holds the
// finding under Macie's own names in snake_case, and the ECS fields follow
// the GuardDuty mapping (see Normalize).
package macie
