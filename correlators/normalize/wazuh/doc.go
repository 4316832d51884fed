// Package wazuh normalizes Wazuh alerts to ECS.
//
// It reads the alerts a Wazuh manager writes to alerts.json, one JSON
// object a line (a record may also be a JSON array of them, whose bad
// items are reported one by one in a *normalize.PartialError). The decoder
// registers as source "wazuh"; its events go to vigil.events.wazuh with
// event.dataset "wazuh.alerts" and event.module "wazuh".
//
// Elastic has no Wazuh integration; field names under wazuh.* follow
// Wazuh's own alert format. The mapping:
//
//   - @timestamp is timestamp, in Wazuh's form
//     "2026-11-02T09:12:41.123+0000" (no colon in the offset) or RFC 3339.
//   - event.severity is rule.level as it is, 0 to 15 (0 is left out, as
//     every zero field is); a level outside 0-15 or not an integer is an
//     error. wazuh.rule.level keeps it too.
//   - event.category and event.type come from the rule's groups:
//     authentication_success/_failed/_failures (and invalid_login,
//     win_authentication_failed) are authentication start, with
//     event.outcome success or failure; other sshd, pam and login groups
//     authentication info; syscheck is file (registry for registry
//     entries) creation, change or deletion by syscheck.event;
//     vulnerability-detector is vulnerability; adduser, addgroup,
//     account_changed, ... iam; aws_cloudtrail configuration or iam by
//     the service, with event.outcome failure on an errorCode; web, firewall,
//     ids, malware, sca, sudo and package groups their ECS category; any
//     other alert intrusion_detection info.
//   - event.action is the CloudTrail call (data.aws.eventName), the file
//     integrity event (syscheck.event), or else the rule's last, most
//     specific, group. event.provider is the Windows event provider, the
//     AWS service, the decoder's program, or the Wazuh module.
//   - rule.id, rule.name (the description), rule.category (the first
//     group) and rule.ruleset "wazuh"; threat.* from rule.mitre (technique
//     ids as Wazuh gives them, sub-technique included; tactic ids looked
//     up by name).
//   - agent.id, agent.name and agent.type "wazuh"; host.name is the
//     agent's name and host.ip its address when it is one (not "any");
//     observer.vendor and product "Wazuh", observer.name the manager.
//   - source.ip and port from data.srcip and srcport (or a Windows
//     logon's ipAddress, a CloudTrail caller's sourceIPAddress, a service
//     name going to source.domain), destination.* from dstip and dstport;
//     user.name from data.dstuser, else srcuser, else a Windows event's
//     targetUserName (with its domain), else the CloudTrail caller;
//     related.* gathers addresses, users and the agent's name.
//   - file.* from syscheck.path (or a rootcheck alert's data.file); the
//     hashes stay in wazuh.syscheck, as vigil's file.* has no hash fields.
//   - vulnerability.* from a vulnerability detector alert's
//     data.vulnerability (cve, severity, rationale or title, reference,
//     CVSS base score); cloud.* from an AWS module alert's data.aws.
//   - message is full_log, or the rule's description when the rule keeps
//     no log (no_full_log, as the cloud modules' rules do).
//   - wazuh.* keeps the alert id, the rule's groups, level, firedtimes,
//     frequency, mail and compliance mappings (pci_dss, gdpr, hipaa,
//     nist_800_53, tsc, gpg13), decoder, predecoder, location, manager,
//     cluster, previous_output, and data and syscheck as flattened objects
//     (numbers exact).
//   - event.id is normalize.DerivedID of the alert's bytes: the alert id
//     is unique only on its manager and its alerts file.
//
// event.kind is "alert", as in ECS for alerts a tool raised; vigil's own
// alerts are told apart by event.dataset vigil.alerts.
package wazuh
