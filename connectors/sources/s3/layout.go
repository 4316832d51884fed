package s3

import (
	"strings"
	"time"
)

// Layout is where a key sits in AWS's log layout:
//
//	<base>AWSLogs/[<org-id>/]<account>/<service>/<region>/<YYYY>/<MM>/<DD>/<rest>
//
// as CloudTrail (service CloudTrail, CloudTrail-Insight, CloudTrail-Digest),
// VPC Flow Logs (vpcflowlogs) and GuardDuty exports (GuardDuty) write it,
// or in its Hive-compatible form (VPC Flow Logs' option):
//
//	<base>AWSLogs/aws-account-id=<account>/aws-service=<service>/aws-region=<region>/year=<YYYY>/month=<MM>/day=<DD>/<rest>
//
// Fields that a shorter key or prefix does not reach are empty.
type Layout struct {
	// Base is what precedes "AWSLogs/": a trail's prefix, say.
	Base string
	// Org is the organization id of an organization trail (o-...).
	Org string
	// Account is the account id, 12 digits.
	Account string
	// Service is the folder of the service that wrote the logs.
	Service string
	// Region is the region folder's name (us-east-1, ...).
	Region string
	// Date is the day of the date folders, zero if the key has none.
	Date time.Time
	// Hive reports the Hive-compatible form.
	Hive bool
	// Partition is the key's prefix up to and including the region
	// folder: the unit poll mode lists in key order. Empty when the key
	// does not reach a region folder.
	Partition string
}

const awsLogs = "AWSLogs/"

// ParseLayout parses a key or a prefix; ok is false if it is not in the
// layout (it has no AWSLogs/ folder, or what follows is not an account or
// organization id). Segments that are present must be well formed; a key
// that stops early (a prefix) gives the fields it reaches.
func ParseLayout(key string) (l Layout, ok bool) {
	i := indexSegment(key, awsLogs)
	if i < 0 {
		return Layout{}, false
	}
	l.Base = key[:i]
	rest := key[i+len(awsLogs):]
	pos := i + len(awsLogs)
	// next returns the next complete segment (one followed by a slash).
	next := func() (string, bool) {
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return "", false
		}
		seg := rest[:j]
		rest = rest[j+1:]
		pos += j + 1
		return seg, true
	}
	seg, more := next()
	if !more {
		return l, true
	}
	if strings.HasPrefix(seg, "aws-account-id=") {
		l.Hive = true
	} else if isOrgID(seg) {
		l.Org = seg
		if seg, more = next(); !more {
			return l, true
		}
	}
	acct := seg
	if l.Hive {
		acct = strings.TrimPrefix(seg, "aws-account-id=")
	}
	if !isAccount(acct) {
		return Layout{}, false
	}
	l.Account = acct
	if seg, more = next(); !more {
		return l, true
	}
	if l.Hive {
		var ok bool
		if seg, ok = strings.CutPrefix(seg, "aws-service="); !ok {
			return Layout{}, false
		}
	}
	if seg == "" {
		return Layout{}, false
	}
	l.Service = seg
	if seg, more = next(); !more {
		return l, true
	}
	if l.Hive {
		var ok bool
		if seg, ok = strings.CutPrefix(seg, "aws-region="); !ok {
			return Layout{}, false
		}
	}
	if seg == "" {
		return Layout{}, false
	}
	l.Region = seg
	l.Partition = key[:pos]
	// The date folders, when all three are there and well formed.
	var parts [3]string
	for k, name := range []string{"year=", "month=", "day="} {
		if parts[k], more = next(); !more {
			return l, true
		}
		if l.Hive {
			var ok bool
			if parts[k], ok = strings.CutPrefix(parts[k], name); !ok {
				return l, true
			}
		}
	}
	if len(parts[0]) == 4 && len(parts[1]) == 2 && len(parts[2]) == 2 {
		if d, err := time.Parse("2006/01/02", parts[0]+"/"+parts[1]+"/"+parts[2]); err == nil {
			l.Date = d
		}
	}
	return l, true
}

// DatePrefix is the key prefix of a day's folders in the layout's
// partition p: StartAfter for listing from that day on.
func (l Layout) DatePrefix(day time.Time) string {
	if l.Hive {
		return l.Partition + day.Format("year=2006/month=01/day=02")
	}
	return l.Partition + day.Format("2006/01/02")
}

// indexSegment returns the index of seg in key where it starts a path
// segment (at the start of key or after a slash), or -1.
func indexSegment(key, seg string) int {
	for off := 0; ; {
		i := strings.Index(key[off:], seg)
		if i < 0 {
			return -1
		}
		i += off
		if i == 0 || key[i-1] == '/' {
			return i
		}
		off = i + 1
	}
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isOrgID reports whether s is an AWS Organizations id: o- and 10 to 32
// lowercase letters or digits.
func isOrgID(s string) bool {
	if !strings.HasPrefix(s, "o-") || len(s) < 12 || len(s) > 34 {
		return false
	}
	for i := 2; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// IsDigest reports whether key is a CloudTrail digest file, which holds
// hashes of log files, not events.
func IsDigest(key string) bool {
	return strings.Contains(key, "/CloudTrail-Digest/") || strings.HasPrefix(key, "CloudTrail-Digest/")
}

// node is what a folder is to poll mode's discovery.
type node int

const (
	// nodeOther is a folder outside the layout: listed flat, in key order.
	nodeOther node = iota
	// nodeAbove is a folder on the way down to partitions (AWSLogs/, an
	// organization, an account, a service): its subfolders are listed.
	nodeAbove
	// nodePartition is a region folder: listed flat, in key order.
	nodePartition
	// nodeInside is a folder below a partition.
	nodeInside
	// nodeSkip is a service folder the source does not read.
	nodeSkip
)

// classify tells what the folder prefix (ending in a slash) is, for a
// source that reads the given services (nil: all but digests).
func classify(prefix string, services map[string]bool) node {
	l, ok := ParseLayout(prefix)
	switch {
	case !ok:
		return nodeOther
	case l.Service == "":
		return nodeAbove
	case l.Service == "CloudTrail-Digest" || (services != nil && !services[l.Service]):
		return nodeSkip
	case l.Region == "":
		return nodeAbove
	case l.Partition == prefix:
		return nodePartition
	}
	return nodeInside
}
