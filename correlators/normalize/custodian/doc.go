// Package custodian normalizes Cloud Custodian records to ECS.
//
// Cloud Custodian writes, for every policy run, an output directory
// (custodian run -s DIR, or s3://... in Lambda modes) holding
// metadata.json (the policy, the execution, the run's configuration,
// metrics and API call counts; c7n/ctx.py) and resources.json (the
// resources the policy's filters matched, written before the actions run;
// c7n/policy.py). Its notify action sends a message (c7n/actions/notify.py)
// that c7n-mailer delivers. The decoder reads these documented forms:
//
//   - metadata.json, whole (the file is pretty-printed: the file source
//     reads it as one value): one event for the run, event.action
//     "policy-run", with the number of resources matched and the metrics.
//
//   - a run record: metadata.json with the run's resources.json added as
//     "resources", which is what vigil recommends shipping, one line per
//     run. Make it with jq in the output directory:
//
//     jq -c --slurpfile r resources.json '. + {resources: $r[0]}' metadata.json
//
//     It gives the run's event (the same event, with the same event.id, as
//     metadata.json alone) and one event per resource acted on.
//
//   - a notify message: {"policy", "action", "account_id", "account",
//     "region", "execution_id", "execution_start", "event", "resources",
//     ...}, as JSON, as it travels on SQS and SNS (base64 of zlib of the
//     JSON), or inside an SNS notification delivered to SQS. One event per
//     resource.
//
// resources.json alone is not enough: its elements are bare resources
// (an EC2 instance as DescribeInstances returns it, ...) that name neither
// the policy nor the run, nor when it ran, so each is rejected with an
// error that says to ship run records. Custodian's log (custodian-run.log,
// and the CloudWatch Logs of policies run by Lambda, such as mode
// cloudtrail; JSON when log_type is json) is recognised and skipped: its
// lines name no resource.
//
// # Mapping
//
// @timestamp is the execution start (Custodian's epoch time, so UTC).
// event.kind "event", event.category ["configuration"]. The run's event has
// event.type ["info"], event.outcome failure if the run recorded a
// PolicyException metric, success otherwise. An event of a resource has
// event.action the policy's principal action: its first action other than
// notify ("remove-keys", "set-metadata-access", ...), "notify" if notify
// is its only action, "match" if it has none. event.type is ["change"]
// when that action was taken on the resource, ["info"] for a dry run, a
// policy that only notifies, and one without actions. event.outcome is
// success when Custodian reported no failure (in a run record, no
// PolicyException; a notify message is sent after the earlier actions
// completed), unknown when the run failed (which resources were acted on
// is not known), and absent when no action was taken. Custodian does not
// record per-resource results, so success is "no failure reported".
//
// rule.name is the policy name, rule.description its description,
// rule.ruleset "cloud-custodian"; resource.{id,name,type,region} come from
// the resource (its id field by Custodian resource type, name from the
// Name tag where there is one, an S3 bucket's region from its
// LocationConstraint); related.ip and related.user hold an instance's
// addresses, an IAM user's name and, for event-mode policies, who made
// the triggering call and from where; cloud.* from the run's configuration or
// the message (provider from the resource type: "azure.vm" is azure,
// "ec2" or "aws.ec2" aws); observer.vendor and product "Cloud Custodian",
// version Custodian's. The rest goes to custodian.* (see ecs.Custodian),
// the resource itself as a flattened object.
//
// event.id of the run's event is the execution id (a UUID per run and
// region). A resource's is derived from the execution id, the record kind,
// the notify action and the resource id, so that the same resource of the
// same run gets the same id whichever way its record was re-serialized;
// without an execution id, normalize.DerivedID of the record.
package custodian
