package vpcflow

import (
	"fmt"
	"strconv"
)

// field identifies a flow log field. The zero value is no field.
type field uint8

// The fields of VPC Flow Logs (versions 2 to 8) in the order of AWS's table
// of available fields, which is the order of the default formats, then the
// fields of transit gateway flow logs (version 6).
const (
	fNone field = iota

	// Version 2: the default format.
	fVersion
	fAccountID
	fInterfaceID
	fSrcAddr
	fDstAddr
	fSrcPort
	fDstPort
	fProtocol
	fPackets
	fBytes
	fStart
	fEnd
	fAction
	fLogStatus

	// Version 3.
	fVPCID
	fSubnetID
	fInstanceID
	fTCPFlags
	fType
	fPktSrcAddr
	fPktDstAddr

	// Version 4.
	fRegion
	fAZID
	fSublocationType
	fSublocationID

	// Version 5.
	fPktSrcAWSService
	fPktDstAWSService
	fFlowDirection
	fTrafficPath

	// Version 7: Amazon ECS. (Version 6 added no VPC fields; it is the
	// version of transit gateway flow logs.)
	fECSClusterARN
	fECSClusterName
	fECSContainerInstanceARN
	fECSContainerInstanceID
	fECSContainerID
	fECSSecondContainerID
	fECSServiceName
	fECSTaskDefinitionARN
	fECSTaskARN
	fECSTaskID

	// Version 8.
	fRejectReason

	// Transit gateway flow logs (version 6), besides the VPC fields they
	// share (version, account-id, srcaddr, ..., pkt-dst-aws-service).
	fResourceType
	fTGWID
	fTGWAttachmentID
	fTGWSrcVPCAccountID
	fTGWDstVPCAccountID
	fTGWSrcVPCID
	fTGWDstVPCID
	fTGWSrcSubnetID
	fTGWDstSubnetID
	fTGWSrcENI
	fTGWDstENI
	fTGWSrcAZID
	fTGWDstAZID
	fTGWPairAttachmentID
	fPacketsLostNoRoute
	fPacketsLostBlackhole
	fPacketsLostMTUExceeded
	fPacketsLostTTLExpired

	numFields
)

// fieldNames are the field names as AWS writes them in a format and in the
// header line of a flow log file.
var fieldNames = [numFields]string{
	fVersion:     "version",
	fAccountID:   "account-id",
	fInterfaceID: "interface-id",
	fSrcAddr:     "srcaddr",
	fDstAddr:     "dstaddr",
	fSrcPort:     "srcport",
	fDstPort:     "dstport",
	fProtocol:    "protocol",
	fPackets:     "packets",
	fBytes:       "bytes",
	fStart:       "start",
	fEnd:         "end",
	fAction:      "action",
	fLogStatus:   "log-status",

	fVPCID:      "vpc-id",
	fSubnetID:   "subnet-id",
	fInstanceID: "instance-id",
	fTCPFlags:   "tcp-flags",
	fType:       "type",
	fPktSrcAddr: "pkt-srcaddr",
	fPktDstAddr: "pkt-dstaddr",

	fRegion:          "region",
	fAZID:            "az-id",
	fSublocationType: "sublocation-type",
	fSublocationID:   "sublocation-id",

	fPktSrcAWSService: "pkt-src-aws-service",
	fPktDstAWSService: "pkt-dst-aws-service",
	fFlowDirection:    "flow-direction",
	fTrafficPath:      "traffic-path",

	fECSClusterARN:           "ecs-cluster-arn",
	fECSClusterName:          "ecs-cluster-name",
	fECSContainerInstanceARN: "ecs-container-instance-arn",
	fECSContainerInstanceID:  "ecs-container-instance-id",
	fECSContainerID:          "ecs-container-id",
	fECSSecondContainerID:    "ecs-second-container-id",
	fECSServiceName:          "ecs-service-name",
	fECSTaskDefinitionARN:    "ecs-task-definition-arn",
	fECSTaskARN:              "ecs-task-arn",
	fECSTaskID:               "ecs-task-id",

	fRejectReason: "reject-reason",

	fResourceType:           "resource-type",
	fTGWID:                  "tgw-id",
	fTGWAttachmentID:        "tgw-attachment-id",
	fTGWSrcVPCAccountID:     "tgw-src-vpc-account-id",
	fTGWDstVPCAccountID:     "tgw-dst-vpc-account-id",
	fTGWSrcVPCID:            "tgw-src-vpc-id",
	fTGWDstVPCID:            "tgw-dst-vpc-id",
	fTGWSrcSubnetID:         "tgw-src-subnet-id",
	fTGWDstSubnetID:         "tgw-dst-subnet-id",
	fTGWSrcENI:              "tgw-src-eni",
	fTGWDstENI:              "tgw-dst-eni",
	fTGWSrcAZID:             "tgw-src-az-id",
	fTGWDstAZID:             "tgw-dst-az-id",
	fTGWPairAttachmentID:    "tgw-pair-attachment-id",
	fPacketsLostNoRoute:     "packets-lost-no-route",
	fPacketsLostBlackhole:   "packets-lost-blackhole",
	fPacketsLostMTUExceeded: "packets-lost-mtu-exceeded",
	fPacketsLostTTLExpired:  "packets-lost-ttl-expired",
}

func (f field) String() string {
	if f > fNone && f < numFields {
		return fieldNames[f]
	}
	return "field(" + strconv.Itoa(int(f)) + ")"
}

// fieldByName looks a field up by its name.
var fieldByName = func() map[string]field {
	m := make(map[string]field, numFields)
	for f := fNone + 1; f < numFields; f++ {
		m[fieldNames[f]] = f
	}
	return m
}()

// maxFields bounds the fields of a record: a format names each field at
// most once.
const maxFields = int(numFields) - 1

// layout is a record format: the field at each position.
type layout struct {
	fields []field
	// name says where the format comes from, for error messages.
	name string
}

// The default formats, in AWS's documented field order: version 2 is the
// default format of VPC Flow Logs; the others are all the fields up to a
// version, in table order, which is what a record without a header line
// most likely holds when it has that many fields. Transit gateway flow
// logs have a default format of their own.
var (
	layoutV2  = mustLayout("the v2 default format", "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status")
	layoutV3  = mustLayout("the v3 default order", layoutV2.text()+" vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr")
	layoutV4  = mustLayout("the v4 default order", layoutV3.text()+" region az-id sublocation-type sublocation-id")
	layoutV5  = mustLayout("the v5 default order", layoutV4.text()+" pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path")
	layoutV7  = mustLayout("the v7 default order", layoutV5.text()+" ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id")
	layoutV8  = mustLayout("the v8 default order", layoutV7.text()+" reject-reason")
	layoutTGW = mustLayout("the transit gateway default format", "version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status type packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region flow-direction pkt-src-aws-service pkt-dst-aws-service")
)

// defaultLayout returns the default format of a record with n fields, or
// nil.
//
// The field count alone chooses the format, not the version field: a
// custom format of as many fields is read as the default one (AWS writes
// no header in CloudWatch Logs, so nothing else tells them apart; a file
// with a custom format has its header line). The version field is no
// help either: it is the highest version among a custom format's fields,
// and Elastic's own samples of ECS and transit gateway records say 3.
//
// Where a count is ambiguous the documented default order wins. Notably,
// Elastic's pipeline reads 21 fields in the order of the custom format of
// AWS's "TCP flag sequence" example (version vpc-id subnet-id ...); here
// 21 fields are the version 2 and 3 fields in table order, and that
// example's records need their header line.
func defaultLayout(n int) *layout {
	switch n {
	case 14:
		return layoutV2
	case 21:
		return layoutV3
	case 25:
		return layoutV4
	case 29:
		return layoutV5
	case 36:
		return layoutTGW
	case 39:
		return layoutV7
	case 40:
		return layoutV8
	}
	return nil
}

const defaultCounts = "14 fields (v2), 21 (v3), 25 (v4), 29 (v5), 36 (transit gateway), 39 (v7) or 40 (v8)"

func mustLayout(name, header string) *layout {
	var toks [maxFields]string
	n := split(header, &toks)
	l, err := headerLayout(toks[:min(n, maxFields)], n)
	if err != nil {
		panic("vpcflow: " + name + ": " + err.Error())
	}
	l.name = name
	return l
}

// text returns the format as a header line.
func (l *layout) text() string {
	s := ""
	for i, f := range l.fields {
		if i > 0 {
			s += " "
		}
		s += f.String()
	}
	return s
}

// headerLayout reads the field names of a header line: toks are its first
// fields, n how many it has.
func headerLayout(toks []string, n int) (*layout, error) {
	if n > maxFields {
		return nil, fmt.Errorf("%d fields, but there are only %d flow log fields", n, maxFields)
	}
	l := &layout{fields: make([]field, len(toks)), name: "the file header's format"}
	var seen [numFields]bool
	for i, t := range toks {
		f, ok := fieldByName[t]
		if !ok {
			return nil, fmt.Errorf("unknown field %s at position %d (known: the VPC flow log fields of versions 2 to 8 and the transit gateway fields)", quote(t), i+1)
		}
		if seen[f] {
			return nil, fmt.Errorf("field %s named twice", t)
		}
		seen[f] = true
		l.fields[i] = f
	}
	if len(l.fields) == 0 {
		return nil, fmt.Errorf("no field names")
	}
	return l, nil
}

// split cuts s into fields at runs of spaces, tabs and carriage returns,
// stores the first len(toks) in toks, and returns how many fields s has.
// AWS separates fields with one space; runs are accepted, as AWS's own
// documentation has a record with two.
func split(s string, toks *[maxFields]string) int {
	n := 0
	i := 0
	for {
		for i < len(s) && isSep(s[i]) {
			i++
		}
		if i == len(s) {
			return n
		}
		j := i + 1
		for j < len(s) && !isSep(s[j]) {
			j++
		}
		if n < len(toks) {
			toks[n] = s[i:j]
		}
		n++
		i = j
	}
}

func isSep(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// quote quotes a field value for an error message, shortened if long.
func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}
