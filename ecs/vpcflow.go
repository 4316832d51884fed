package ecs

import "time"

// VPCFlow holds the aws.vpcflow.* fields of normalized vpcflow events: the
// fields of a VPC (or transit gateway) flow log record that have no ECS
// field of their own. Names follow Elastic's AWS integration where it has
// the field (pkt_src_service, sublocation.type, tcp_flags_array, tgw_*,
// ecs_*), and are the AWS field names with "_" for "-" otherwise. The
// addresses, ports, protocol and counters of a record are in source.*,
// destination.* and network.*, not here. A field the record leaves out or
// writes as "-" is absent.
type VPCFlow struct {
	// Version is the flow log version as written: 2 for the default
	// format, the highest version among its fields for a custom one.
	Version     string `json:"version,omitempty"`
	AccountID   string `json:"account_id,omitempty"`
	InterfaceID string `json:"interface_id,omitempty"`
	// Action is ACCEPT or REJECT, as written.
	Action string `json:"action,omitempty"`
	// LogStatus is OK, NODATA or SKIPDATA, as written.
	LogStatus string `json:"log_status,omitempty"`
	// Start and End bound the aggregation interval (Elastic puts them in
	// event.start and event.end, which vigil's event.* does not have).
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`

	VPCID      string `json:"vpc_id,omitempty"`
	SubnetID   string `json:"subnet_id,omitempty"`
	InstanceID string `json:"instance_id,omitempty"`
	// TCPFlags is the OR of the TCP flags seen in the interval, a decimal
	// bitmask as written by AWS ("18" is SYN-ACK); TCPFlagsArray names
	// them (fin, syn, rst, psh, ack, urg).
	TCPFlags      string   `json:"tcp_flags,omitempty"`
	TCPFlagsArray []string `json:"tcp_flags_array,omitempty"`
	// Type is the traffic type: IPv4, IPv6 or EFA.
	Type       string `json:"type,omitempty"`
	PktSrcAddr string `json:"pkt_srcaddr,omitempty"`
	PktDstAddr string `json:"pkt_dstaddr,omitempty"`

	Region      string              `json:"region,omitempty"`
	AZID        string              `json:"az_id,omitempty"`
	Sublocation *VPCFlowSublocation `json:"sublocation,omitempty"`

	// PktSrcService and PktDstService name the AWS service whose address
	// range holds pkt-srcaddr and pkt-dstaddr (the fields
	// pkt-src-aws-service and pkt-dst-aws-service).
	PktSrcService string `json:"pkt_src_service,omitempty"`
	PktDstService string `json:"pkt_dst_service,omitempty"`
	// FlowDirection is ingress or egress, relative to the interface. (It
	// is not network.direction, which vigil derives from its own idea of
	// the internal networks.)
	FlowDirection string `json:"flow_direction,omitempty"`
	// TrafficPath is the path egress traffic takes (1-8), as written.
	TrafficPath string `json:"traffic_path,omitempty"`

	// The Amazon ECS fields (version 7) of traffic to and from tasks.
	ECSClusterARN           string `json:"ecs_cluster_arn,omitempty"`
	ECSClusterName          string `json:"ecs_cluster_name,omitempty"`
	ECSContainerInstanceARN string `json:"ecs_container_instance_arn,omitempty"`
	ECSContainerInstanceID  string `json:"ecs_container_instance_id,omitempty"`
	ECSContainerID          string `json:"ecs_container_id,omitempty"`
	ECSSecondContainerID    string `json:"ecs_second_container_id,omitempty"`
	ECSServiceName          string `json:"ecs_service_name,omitempty"`
	ECSTaskDefinitionARN    string `json:"ecs_task_definition_arn,omitempty"`
	ECSTaskARN              string `json:"ecs_task_arn,omitempty"`
	ECSTaskID               string `json:"ecs_task_id,omitempty"`

	// RejectReason says why traffic was rejected (version 8), as in
	// "BPA" for VPC Block Public Access.
	RejectReason string `json:"reject_reason,omitempty"`

	// The transit gateway flow log fields.
	ResourceType           string `json:"resource_type,omitempty"`
	TGWID                  string `json:"tgw_id,omitempty"`
	TGWAttachmentID        string `json:"tgw_attachment_id,omitempty"`
	TGWSrcVPCAccountID     string `json:"tgw_src_vpc_account_id,omitempty"`
	TGWDstVPCAccountID     string `json:"tgw_dst_vpc_account_id,omitempty"`
	TGWSrcVPCID            string `json:"tgw_src_vpc_id,omitempty"`
	TGWDstVPCID            string `json:"tgw_dst_vpc_id,omitempty"`
	TGWSrcSubnetID         string `json:"tgw_src_subnet_id,omitempty"`
	TGWDstSubnetID         string `json:"tgw_dst_subnet_id,omitempty"`
	TGWSrcENI              string `json:"tgw_src_eni,omitempty"`
	TGWDstENI              string `json:"tgw_dst_eni,omitempty"`
	TGWSrcAZID             string `json:"tgw_src_az_id,omitempty"`
	TGWDstAZID             string `json:"tgw_dst_az_id,omitempty"`
	TGWPairAttachmentID    string `json:"tgw_pair_attachment_id,omitempty"`
	PacketsLostNoRoute     *int64 `json:"packets_lost_no_route,omitempty"`
	PacketsLostBlackhole   *int64 `json:"packets_lost_blackhole,omitempty"`
	PacketsLostMTUExceeded *int64 `json:"packets_lost_mtu_exceeded,omitempty"`
	PacketsLostTTLExpired  *int64 `json:"packets_lost_ttl_expired,omitempty"`
}

// VPCFlowSublocation is aws.vpcflow.sublocation: the Wavelength Zone,
// Outpost or Local Zone of the interface.
type VPCFlowSublocation struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
}
