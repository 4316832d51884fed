// Package falco normalizes Falco alerts to ECS.
//
// It reads the alerts Falco writes with json_output (one JSON object a
// line: output, priority, rule, time, output_fields, source, tags,
// hostname) and the same objects as falcosidekick's webhook output POSTs
// them, with their uuid; a record may also be a JSON array of alerts,
// whose bad items are reported one by one in a *normalize.PartialError.
// The decoder registers as source "falco"; its events go to
// vigil.events.falco with event.dataset "falco.alerts" and event.module
// "falco".
//
// Field names follow Elastic's Falco integration (its sample event and
// ingest pipeline):
//
//   - @timestamp is time (RFC 3339, nanoseconds kept); message is output.
//   - event.severity is the priority as Elastic numbers it: Emergency 7,
//     Alert 6, Critical 5, Error 4, Warning 3, Notice 2, Informational 1,
//     Debug 0 (left out, as every zero field is). An unknown priority is
//     an error: Falco has no others.
//   - event.provider is source; event.action the system call (evt.type),
//     the Kubernetes verb (ka.verb) or the cloud API call (ct.name).
//   - event.outcome, as Elastic: evt.res SUCCESS is a success, a failed
//     call (evt.failed, or an errno in evt.res) a failure.
//   - event.category and event.type: evt.category, when the rule outputs
//     it, maps as Elastic maps it, and event.type comes from the system
//     call as Elastic groups them (execve start, openat access, connect
//     connection, unlink deletion, ...). Without evt.category Elastic says
//     "process" whatever the call; vigil places the call instead (file,
//     network or process, then by fd.type), and k8s_audit and cloud
//     plugin sources are "configuration" (okta "authentication"), their
//     event.type coming from the verb.
//   - rule.name is rule and rule.ruleset "falco"; threat.* comes from the
//     tags: mitre_<tactic> tags give threat.tactic (ids looked up),
//     T<nnnn>[.<nnn>] tags threat.technique.id, kept as tagged with the
//     sub-technique (vigil's schema has no threat.technique.subtechnique).
//     Elastic keeps only the first technique id, truncated.
//   - process.* from proc.* (pid, name, exepath, cmdline, cwd, args as
//     Elastic builds them: the executable, then proc.args split at
//     spaces) and process.parent.* from proc.ppid, pname, pexepath,
//     pcmdline; process.user and user.* from user.name and user.uid (or
//     ka.user.name, ct.user for API sources).
//   - file.* from fd.name when it is a file (fd.type file or directory,
//     or an absolute path when the rule does not output fd.type); the
//     directory and name come from the path, fd.directory and fd.filename
//     serving only without one.
//   - container.* from container.id, name, type (runtime) and
//     image.repository and image.tag (or the container.image reference
//     split); Falco's container "host" (a process on the host) is no
//     container.
//   - orchestrator.* from k8s.ns.name and k8s.pod.name (type kubernetes,
//     resource type pod), or a Kubernetes audit event's target.
//   - source.* is the client (fd.cip, fd.cport, fd.cip.name) and
//     destination.* the server (fd.sip, ...); without them, as Elastic,
//     the local end (fd.lip) is the source and the remote (fd.rip) the
//     destination, except on accept, where the remote end connected.
//     network.transport is fd.l4proto and network.type fd.type (ipv4,
//     ipv6).
//   - host.name and host.hostname, observer.hostname and related.hosts
//     are hostname; observer.vendor "Sysdig", observer.product "Falco".
//   - falco.* keeps output_fields (as a flattened object keyed by Falco's
//     field names, numbers exact), priority, source, tags, hostname and
//     uuid.
//   - event.id is falcosidekick's uuid, or else normalize.DerivedID of
//     the alert's own bytes (an item's, in an array).
//
// Differences from Elastic besides those above: Elastic's host.ip from
// container.ip (the container's address, not the host's) is not copied,
// nor are fields vigil's ECS types lack (process.env_vars, process.session_leader, file.inode, client.*,
// server.*): they stay in falco.output_fields.
package falco
