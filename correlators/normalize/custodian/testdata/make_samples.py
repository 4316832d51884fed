#!/usr/bin/env python3
"""Writes the Cloud Custodian sample records of this directory.

The policies are the examples of Cloud Custodian's documentation (the
docstrings of the actions they use, rendered on cloudcustodian.io); the
records follow the code that writes them: metadata.json and resources.json
as c7n/ctx.py and c7n/policy.py write them (json, indent=2), notify messages
as c7n/actions/notify.py builds and packs them (base64 of zlib of JSON), and
log lines as c7n/output.py formats them. Accounts, ids, resources and times
are made up. Run from this directory; then make the run records with jq as
README.md says.
"""
import base64
import json
import os
import zlib

VERSION = "0.9.43"
ACCOUNT = "123456789012"


def dump(path, obj, indent=2):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=indent))


def config(region, dryrun, output_dir):
    # dict(options) of `custodian run -s <output_dir> policy.yml`
    return {
        "region": region, "regions": [region], "cache": "~/.cache/cloud-custodian.cache",
        "profile": None, "account_id": ACCOUNT, "assume_role": None, "external_id": None,
        "log_group": None, "tracer": None, "metrics_enabled": None, "output_dir": output_dir,
        "cache_period": 15, "dryrun": dryrun, "skip_validation": False, "vars": None,
        "configs": ["policy.yml"], "command": "c7n.commands.run",
    }


def metadata(policy, exec_id, start, duration, region, dryrun, api, metrics):
    return {
        "policy": policy,
        "version": VERSION,
        "execution": {"id": exec_id, "start": start, "end_time": start + duration, "duration": duration},
        "config": config(region, dryrun, "out"),
        "sys-stats": {},
        "api-stats": api,
        "metrics": metrics,
    }


# ec2: set-metadata-access, the "Require instances to use IMDSv2" example
# (the docs' filter key reads MetadataOptions.HttpsToken, a typo: the
# instance field is HttpTokens).
ec2_policy = {
    "name": "ec2-require-imdsv2",
    "resource": "ec2",
    "filters": [{"MetadataOptions.HttpTokens": "optional"}],
    "actions": [{"type": "set-metadata-access", "tokens": "required"}],
}


def instance(iid, name, private_ip, public_ip):
    return {
        "AmiLaunchIndex": 0, "ImageId": "ami-0abcdef1234567890", "InstanceId": iid,
        "InstanceType": "t3.micro", "KeyName": "ops", "LaunchTime": "2025-02-20T09:12:44+00:00",
        "Monitoring": {"State": "disabled"},
        "Placement": {"AvailabilityZone": "us-east-1a", "GroupName": "", "Tenancy": "default"},
        "PrivateDnsName": "ip-%s.ec2.internal" % private_ip.replace(".", "-"),
        "PrivateIpAddress": private_ip, "PublicIpAddress": public_ip,
        "State": {"Code": 16, "Name": "running"}, "SubnetId": "subnet-0123456789abcdef0",
        "VpcId": "vpc-0123456789abcdef0", "Architecture": "x86_64",
        "IamInstanceProfile": {"Arn": "arn:aws:iam::%s:instance-profile/web" % ACCOUNT, "Id": "AIPAEXAMPLE0WEB00001"},
        "MetadataOptions": {"State": "applied", "HttpTokens": "optional", "HttpPutResponseHopLimit": 1,
                            "HttpEndpoint": "enabled", "HttpProtocolIpv6": "disabled", "InstanceMetadataTags": "disabled"},
        "Tags": [{"Key": "Name", "Value": name}, {"Key": "env", "Value": "prod"}],
        "c7n:MatchedFilters": ["MetadataOptions.HttpTokens"],
    }


ec2_resources = [
    instance("i-0a1b2c3d4e5f67890", "web-1", "10.0.1.23", "203.0.113.10"),
    instance("i-0fedcba9876543210", "web-2", "10.0.1.24", "203.0.113.11"),
]
dump("ec2-require-imdsv2/resources.json", ec2_resources)
dump("ec2-require-imdsv2/metadata.json", metadata(
    ec2_policy, "6a1f1c9e-3c55-4a2e-9d7e-1f0b8f3d2c41", 1741003200.482913, 2.118304, "us-east-1", False,
    {"ec2.DescribeInstances": 1, "ec2.ModifyInstanceMetadataOptions": 2},
    [{"MetricName": "ResourceCount", "Timestamp": "2025-03-03T12:00:01.301223", "Value": 2, "Unit": "Count"},
     {"MetricName": "ResourceTime", "Timestamp": "2025-03-03T12:00:01.301302", "Value": 0.818, "Unit": "Seconds"},
     {"MetricName": "ActionTime", "Timestamp": "2025-03-03T12:00:02.600921", "Value": 1.299, "Unit": "Seconds"}]))

# s3: set-bucket-encryption, the documentation's example, run once with
# --dryrun and once for real.
s3_policy = {
    "name": "s3-enforce-encryption",
    "resource": "s3",
    "description": "Turn on default encryption (SSE-KMS) on buckets that have none",
    "filters": [{"type": "bucket-encryption", "state": False}],
    "actions": [{"type": "set-bucket-encryption", "crypto": "aws:kms", "key": "alias/s3-default", "enabled": True}],
}
s3_resources = [{
    "Name": "example-logs", "CreationDate": "2024-11-02T10:00:00+00:00",
    "Location": {"LocationConstraint": "eu-west-1"}, "Tags": [{"Key": "team", "Value": "platform"}],
    "Policy": None, "Acl": {"Owner": {"ID": "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2"}, "Grants": []},
    "Versioning": {}, "Website": None, "Logging": {}, "Notification": {}, "Lifecycle": None, "Replication": None,
}]
dump("s3-enforce-encryption/resources.json", s3_resources)
for name, exec_id, start, dryrun, metrics, api in [
    ("metadata-dryrun.json", "0d3b6f8e-7a41-4c1b-8f2e-5b9c0a7d6e13", 1741006800.104211, True,
     [{"MetricName": "ResourceCount", "Timestamp": "2025-03-03T13:00:01.002114", "Value": 1, "Unit": "Count"},
      {"MetricName": "ResourceTime", "Timestamp": "2025-03-03T13:00:01.002201", "Value": 0.897, "Unit": "Seconds"}],
     {"s3.ListBuckets": 1, "s3.GetBucketLocation": 1, "s3.GetBucketEncryption": 1}),
    ("metadata.json", "9c2e4d1a-5b6f-4e3d-a2c1-7f8e9d0b1a2c", 1741006900.215876, False,
     [{"MetricName": "ResourceCount", "Timestamp": "2025-03-03T13:01:41.118812", "Value": 1, "Unit": "Count"},
      {"MetricName": "ResourceTime", "Timestamp": "2025-03-03T13:01:41.118901", "Value": 0.902, "Unit": "Seconds"},
      {"MetricName": "ActionTime", "Timestamp": "2025-03-03T13:01:41.533027", "Value": 0.414, "Unit": "Seconds"}],
     {"s3.ListBuckets": 1, "s3.GetBucketLocation": 1, "s3.GetBucketEncryption": 1, "s3.PutBucketEncryption": 1}),
]:
    dump("s3-enforce-encryption/" + name, metadata(s3_policy, exec_id, start, 1.33, "eu-west-1", dryrun, api, metrics))

# iam-user: remove-keys, the documentation's example, with a notify action
# (the notify action's documented fields, transport sqs for c7n-mailer).
notify_action = {
    "type": "notify",
    "to": ["resource-owner", "security@example.com"],
    "subject": "IAM access keys disabled on {{ account }}",
    "violation_desc": "Access keys older than 90 days",
    "action_desc": "Keys older than 90 days were disabled, keys older than 180 days deleted",
    "template": "default",
    "transport": {"type": "sqs", "queue": "https://sqs.us-east-1.amazonaws.com/%s/cloud-custodian-mailer" % ACCOUNT},
}
iam_policy = {
    "name": "iam-mfa-active-key-no-login",
    "resource": "iam-user",
    "filters": [{"type": "credential", "key": "access_keys.active", "value": True}],
    "actions": [{"type": "remove-keys", "disable": True, "age": 90}, {"type": "remove-keys", "age": 180}, notify_action],
}


def user(name, uid, key, created):
    return {
        "Path": "/", "UserName": name, "UserId": uid, "Arn": "arn:aws:iam::%s:user/%s" % (ACCOUNT, name),
        "CreateDate": "2023-01-10T08:00:00+00:00",
        "c7n:credential-report": {"user": name, "access_key_1_active": True, "access_key_1_last_rotated": created},
        "AccessKeys": [{"UserName": name, "AccessKeyId": key, "Status": "Inactive", "CreateDate": created}],
    }


iam_message = {
    "event": None,
    "account_id": ACCOUNT,
    "partition": "aws",
    "account": "example-prod",
    "version": VERSION,
    "region": "us-east-1",
    "execution_id": "2b7d9e4f-1c3a-4f5b-8e6d-0a9c8b7e6f5d",
    "execution_start": 1741010400.751209,
    "policy": iam_policy,
    "action": notify_action,
    "resources": [user("alice", "AIDAEXAMPLEALICE0001", "AKIAIOSFODNN7EXAMPLE", "2024-08-01T10:11:12+00:00"),
                  user("bob", "AIDAEXAMPLEBOB000001", "AKIAI44QH8DHBEXAMPLE", "2024-10-15T16:00:00+00:00")],
}
dump("iam-mfa-active-key-no-login/notify.json", iam_message)
packed = base64.b64encode(zlib.compress(json.dumps(iam_message).encode())).decode()
with open("iam-mfa-active-key-no-login/notify.sqs.txt", "w") as f:
    f.write(packed + "\n")
sns = {
    "Type": "Notification", "MessageId": "5b0d8a1e-2f3c-5d4e-9a8b-7c6d5e4f3a2b",
    "TopicArn": "arn:aws:sns:us-east-1:%s:cloud-custodian-notify" % ACCOUNT,
    "Message": packed, "Timestamp": "2025-03-03T14:00:02.113Z", "SignatureVersion": "1",
    "Signature": "EXAMPLE", "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem",
    "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=EXAMPLE",
    "MessageAttributes": {"mtype": {"Type": "String", "Value": "maidmsg/1.0"}},
}
with open("iam-mfa-active-key-no-login/notify.sns.json", "w") as f:
    f.write(json.dumps(sns) + "\n")

# ec2 in mode cloudtrail: the IMDSv2 policy run by Lambda on RunInstances,
# with a notify; the message carries the CloudTrail event.
ct_notify = dict(notify_action, to=["event-owner"], subject="IMDSv2 enforced on a new instance",
                 violation_desc="Instance launched without IMDSv2", action_desc="IMDSv2 is now required",
                 transport={"type": "sns", "topic": "arn:aws:sns:us-east-1:%s:cloud-custodian-notify" % ACCOUNT})
ct_policy = {
    "name": "ec2-require-imdsv2-on-launch",
    "resource": "ec2",
    "mode": {"type": "cloudtrail", "role": "arn:aws:iam::%s:role/CloudCustodian" % ACCOUNT, "events": ["RunInstances"]},
    "filters": [{"MetadataOptions.HttpTokens": "optional"}],
    "actions": [{"type": "set-metadata-access", "tokens": "required"}, ct_notify],
}
ct_event = {
    "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "AWS API Call via CloudTrail",
    "source": "aws.ec2", "account": ACCOUNT, "time": "2025-03-03T14:59:58Z", "region": "us-east-1", "resources": [],
    "detail": {
        "eventVersion": "1.09", "eventTime": "2025-03-03T14:59:58Z", "eventSource": "ec2.amazonaws.com",
        "eventName": "RunInstances", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0", "eventID": "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEBOB000001", "arn": "arn:aws:iam::%s:user/bob" % ACCOUNT,
                         "accountId": ACCOUNT, "userName": "bob"},
        "responseElements": {"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]}},
    },
}
dump("ec2-require-imdsv2-on-launch/notify.json", {
    "event": ct_event, "account_id": ACCOUNT, "partition": "aws", "account": "example-prod", "version": VERSION,
    "region": "us-east-1", "execution_id": "c4e5f6a7-b8c9-4d0e-a1f2-3b4c5d6e7f80", "execution_start": 1741014000.302117,
    "policy": ct_policy, "action": ct_notify,
    "resources": [instance("i-0123456789abcdef0", "batch-7", "10.0.2.40", "203.0.113.40")],
})

# Custodian's log: custodian-run.log lines ('%(asctime)s - %(name)s -
# %(levelname)s - %(message)s') and the same as JSON (log_type json).
text = [
    "2025-03-03 12:00:00,483 - custodian.policy - INFO - policy:ec2-require-imdsv2 resource:ec2 region:us-east-1 count:2 time:0.82",
    "2025-03-03 12:00:02,601 - custodian.policy - INFO - policy:ec2-require-imdsv2 action:setmetadataserveraccess resources:2 execution_time:1.30",
]
with open("custodian-run.log", "w") as f:
    f.write("\n".join(text) + "\n")
with open("custodian-run.log.jsonl", "w") as f:
    for t, mod, lineno in [(text[0], "policy", 322), (text[1], "policy", 344)]:
        stamp, rest = t.split(" - ", 1)
        msg = rest.split(" - ", 2)[2]
        m = {"original": msg}
        for kv in msg.split():
            if len(kv.split(":")) == 2:
                k, v = kv.split(":")
                m[k] = v
        f.write(json.dumps({
            "type": "log", "logger": "custodian.policy",
            "log_time": stamp.replace(" ", "T").replace(",", ".") + "000",
            "exc_info": None, "lineno": lineno,
            "pathname": "/usr/local/lib/python3.12/site-packages/c7n/policy.py",
            "level": "INFO", "module": mod, "msg": m}) + "\n")
