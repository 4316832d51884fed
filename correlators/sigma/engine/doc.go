// Package engine compiles Sigma detection rules (correlators/sigma/ast)
// into matchers and evaluates them on events.
//
// Compile turns the detection rules and filters of a rule collection into
// a Set, once; Set.Match then tells which rules an event matches, and is
// safe for concurrent use. Events are routed to the rules that can match
// them through an index on the event name (Options.IndexFields: eventName
// and event.action by default), so that most rules are not even looked at
// for most events; rules that do not select on it are evaluated on every
// event. Evaluating rules allocates nothing, but for what is decoded as it
// is read: fields read from event.original of ECS JSON documents, the JSON
// parts that ECS JSON documents hold as strings (request parameters,
// response elements, additional event data), and JSON strings with escapes
// that a field names (strings matched inside an object are decoded on the
// stack, up to 2 KiB, except for re).
//
// Events are read through the Event interface, by the names rules use,
// resolved at compile time into a *Field with an accessor for each kind of
// event the package implements: ECS wraps vigil's normalized *ecs.Event,
// NewJSON a JSON document. FIELDS.md is the field mapping between raw
// CloudTrail names (eventName, userIdentity.arn, requestParameters.x, as
// SigmaHQ's AWS rules write them) and ECS names (event.action,
// aws.cloudtrail.user_identity.arn, ...): a rule may use either on either
// kind of event.
//
// # Semantics
//
// As the Sigma specification (v2.1, modifiers appendix) and pySigma define
// them. Where they leave a choice, the engine does this:
//
//   - Strings match case-insensitively (cased makes them case-sensitive)
//     under Unicode simple case folding, as strings.EqualFold: the event's
//     strings are never lowered, patterns are folded once. re is
//     case-sensitive unless i is given; encoded values (base64,
//     base64offset, utf16*, wide) compare exactly, as encoding is
//     case-sensitive.
//   - * matches any sequence of characters, ? exactly one character (a
//     rune; a byte that is not valid UTF-8 counts as one). A backslash
//     escapes *, ? and itself; before anything else it is a backslash.
//   - A string value matches strings, and numbers and booleans by their
//     JSON text ('false' matches false; '3' matches 3). A number value
//     matches a number equal to it or a string holding a decimal number
//     equal to it (4625 matches "4625" and 4625.0); with string modifiers
//     it is matched as the text written. A boolean value matches that
//     boolean or the string "true"/"false" in any case.
//   - null matches a missing field or JSON null; an empty string is not
//     null. Normalized events leave empty fields out, so there "" is
//     missing.
//   - A field holding a list or a JSON array matches when any element does
//     (for all, each value may match a different element); a path through
//     an array of objects (requestParameters.containerDefinitions.command)
//     looks in every element. A JSON object matches a string value (plain,
//     with string modifiers, or re) when its JSON text does or any string,
//     number or boolean in it does, strings decoded:
//     requestParameters|contains: '"Allow"' finds the quotes of a policy
//     document held as a string, escaped in the object's text. Numbers,
//     booleans, null and the other modifiers do not look inside objects.
//   - Keyword searches look in every string value of the event (not in
//     keys, not in numbers). A plain keyword matches when it appears
//     anywhere in a string, as if written with contains; with contains,
//     startswith, endswith or re it matches as the modifier says.
//   - exists: true matches a field that is there, null included; neq
//     matches a field that is there, not null, and matches none of the
//     values. fieldref compares with the other field's values (any with
//     any), case-insensitively unless cased; with contains, startswith or
//     endswith the other field's value is the substring.
//   - cidr takes networks and single addresses; IPv4-mapped IPv6 addresses
//     match IPv4 networks. gt, gte, lt and lte compare numbers, and
//     strings holding decimal numbers. The time modifiers (minute, hour,
//     day, week (ISO), month, year) read RFC 3339 dates, or seconds since
//     the epoch.
//   - windash replaces each dash (-, /, en dash, em dash, horizontal bar)
//     that begins a word by each of the five, in every combination;
//     base64offset gives pySigma's three shifted encodings; utf16 is
//     little-endian after a byte order mark. Encodings refuse wildcards in
//     the value (write contains, startswith or endswith after them).
//   - "1 of", "all of" and "N of" a pattern, and "them", leave out searches
//     whose names begin with an underscore, unless the pattern begins with
//     one.
//   - Filters are applied as pySigma applies them: the filter's condition
//     is added to the rule's with "and" (see Compile).
package engine
