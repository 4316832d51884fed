package vpcflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
	"github.com/vigilsec/vigil/ecs"
)

const (
	v2Line   = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	v2Header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
	// v5Header is the custom format of AWS's "service name, traffic
	// path and flow direction" example: every field of versions 2 to 5.
	v5Header = "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status"
	v5Line   = "5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 wavelength wlz-1 ACCEPT 3 10.0.0.71 52.95.128.179 - S3 8 egress OK"
)

func decode(t *testing.T, line string, m normalize.Meta) *ecs.Event {
	t.Helper()
	evs, err := Decoder{}.Decode([]byte(line), m)
	if err != nil || len(evs) != 1 {
		t.Fatalf("Decode(%q): %d events, %v", line, len(evs), err)
	}
	normalizetest.CheckEvent(t, "test", evs[0])
	return evs[0]
}

func decodeErr(t *testing.T, line string, m normalize.Meta) error {
	t.Helper()
	evs, err := Decoder{}.Decode([]byte(line), m)
	if err == nil || len(evs) != 0 {
		t.Fatalf("Decode(%q): %d events, error %v; want an error", line, len(evs), err)
	}
	return err
}

// jsonOf is an event's document without what depends on the raw bytes.
func jsonOf(t *testing.T, ev *ecs.Event) string {
	t.Helper()
	c := *ev
	c.Event.ID, c.Event.Original = "", ""
	b, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRegistered(t *testing.T) {
	d, ok := normalize.Lookup("vpcflow")
	if !ok || d.Dataset() != "vpcflow" {
		t.Fatalf("vpcflow decoder: %v %v", d, ok)
	}
}

func TestDefaultV2(t *testing.T) {
	ev := decode(t, v2Line, normalize.Meta{KeepOriginal: true})
	want := `{"@timestamp":"2014-12-14T04:06:50Z","ecs":{"version":"8.11.0"},"event":{"kind":"event","category":["network"],"type":["connection","allowed"],"action":"ACCEPT","outcome":"success","dataset":"aws.vpcflow","module":"aws"},` +
		`"cloud":{"provider":"aws","account":{"id":"123456789010"}},"source":{"ip":"172.31.16.139","address":"172.31.16.139","port":20641,"bytes":4249,"packets":20},"destination":{"ip":"172.31.16.21","address":"172.31.16.21","port":22},` +
		`"network":{"transport":"tcp","iana_number":"6","type":"ipv4","bytes":4249,"packets":20},"related":{"ip":["172.31.16.139","172.31.16.21"]},` +
		`"aws":{"vpcflow":{"version":"2","account_id":"123456789010","interface_id":"eni-1235b8ca123456789","action":"ACCEPT","log_status":"OK","start":"2014-12-14T04:06:50Z","end":"2014-12-14T04:07:50Z"}}}`
	if got := jsonOf(t, ev); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if ev.Event.Original != v2Line {
		t.Errorf("event.original %q", ev.Event.Original)
	}
	if ev.Event.ID != normalize.DerivedID([]byte(v2Line), 0) {
		t.Errorf("event.id %s is not DerivedID(line, 0)", ev.Event.ID)
	}
	if ev := decode(t, v2Line, normalize.Meta{}); ev.Event.Original != "" {
		t.Errorf("event.original kept without KeepOriginal")
	}
}

// TestHeader: the same record in the default format, a header naming the
// default format, and a custom format with the fields in reverse order
// gives the same event.
func TestHeader(t *testing.T) {
	want := jsonOf(t, decode(t, v2Line, normalize.Meta{}))
	if got := jsonOf(t, decode(t, v2Line, normalize.Meta{FileHeader: v2Header})); got != want {
		t.Errorf("with its header:\n got %s\nwant %s", got, want)
	}
	rev := func(s string) string {
		f := strings.Fields(s)
		for i, j := 0, len(f)-1; i < j; i, j = i+1, j-1 {
			f[i], f[j] = f[j], f[i]
		}
		return strings.Join(f, " ")
	}
	ev := decode(t, rev(v2Line), normalize.Meta{FileHeader: rev(v2Header)})
	if got := jsonOf(t, ev); got != want {
		t.Errorf("fields in reverse order:\n got %s\nwant %s", got, want)
	}
	// A header line with \r\n, as a file written on Windows ends lines.
	if got := jsonOf(t, decode(t, v2Line+"\r", normalize.Meta{FileHeader: v2Header + "\r"})); got != want {
		t.Errorf("with CRs:\n got %s\nwant %s", got, want)
	}
}

func TestUnusualOrderSubset(t *testing.T) {
	hdr := "log-status dstport pkt-dstaddr tcp-flags srcaddr end flow-direction protocol"
	ev := decode(t, "OK 443 2001:db8::1 19 10.0.0.5 1616729349 egress 6", normalize.Meta{FileHeader: hdr})
	f := ev.AWS.VPCFlow
	switch {
	case !ev.Timestamp.Equal(time.Unix(1616729349, 0)):
		t.Errorf("@timestamp %v: want end, the record having no start", ev.Timestamp)
	case ev.Source.IP != "10.0.0.5" || ev.Destination.Port != 443 || ev.Destination.IP != "":
		t.Errorf("source %+v destination %+v", ev.Source, ev.Destination)
	case f.PktDstAddr != "2001:db8::1" || f.TCPFlags != "19" || !reflect.DeepEqual(f.TCPFlagsArray, []string{"fin", "syn", "ack"}):
		t.Errorf("vpcflow %+v", f)
	case f.FlowDirection != "egress" || f.LogStatus != "OK" || f.Start != nil || f.End == nil:
		t.Errorf("vpcflow %+v", f)
	case !reflect.DeepEqual(ev.Related.IP, []string{"10.0.0.5", "2001:db8::1"}):
		t.Errorf("related.ip %v", ev.Related.IP)
	case !reflect.DeepEqual(ev.Event.Type, []string{"connection"}) || ev.Event.Outcome != "" || ev.Event.Action != "":
		t.Errorf("event %+v", ev.Event)
	}
}

func TestV5AllFields(t *testing.T) {
	ev := decode(t, v5Line, normalize.Meta{FileHeader: v5Header})
	want := `{"@timestamp":"2021-03-26T03:28:12Z","ecs":{"version":"8.11.0"},"event":{"kind":"event","category":["network"],"type":["connection","allowed"],"action":"ACCEPT","outcome":"success","dataset":"aws.vpcflow","module":"aws"},` +
		`"cloud":{"provider":"aws","region":"ap-southeast-2","account":{"id":"123456789012"},"instance":{"id":"i-0c50d5961bcb2d47b"}},` +
		`"source":{"ip":"10.0.0.71","address":"10.0.0.71","port":34210,"bytes":471,"packets":7},"destination":{"ip":"52.95.128.179","address":"52.95.128.179","port":80},` +
		`"network":{"transport":"tcp","iana_number":"6","type":"ipv4","bytes":471,"packets":7},"related":{"ip":["10.0.0.71","52.95.128.179"]},` +
		`"aws":{"vpcflow":{"version":"5","account_id":"123456789012","interface_id":"eni-1235b8ca123456789","action":"ACCEPT","log_status":"OK","start":"2021-03-26T03:28:12Z","end":"2021-03-26T03:29:09Z",` +
		`"vpc_id":"vpc-abcdefab012345678","subnet_id":"subnet-aaaaaaaa012345678","instance_id":"i-0c50d5961bcb2d47b","tcp_flags":"3","tcp_flags_array":["fin","syn"],"type":"IPv4","pkt_srcaddr":"10.0.0.71","pkt_dstaddr":"52.95.128.179",` +
		`"region":"ap-southeast-2","az_id":"apse2-az3","sublocation":{"type":"wavelength","id":"wlz-1"},"pkt_dst_service":"S3","flow_direction":"egress","traffic_path":"8"}}}`
	if got := jsonOf(t, ev); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// The same fields in the v5 default order, without a header.
	def := "5 123456789012 eni-1235b8ca123456789 10.0.0.71 52.95.128.179 34210 80 6 7 471 1616729292 1616729349 ACCEPT OK vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b 3 IPv4 10.0.0.71 52.95.128.179 ap-southeast-2 apse2-az3 wavelength wlz-1 - S3 egress 8"
	if got := jsonOf(t, decode(t, def, normalize.Meta{})); got != want {
		t.Errorf("v5 default order:\n got %s\nwant %s", got, want)
	}
}

func TestECSAndRejectReason(t *testing.T) {
	line := "8 111122223333 eni-0a1b2c3d4e5f67890 10.0.1.10 203.0.113.9 443 51234 6 3 180 1755678754 1755678775 REJECT OK vpc-1 subnet-1 - 2 IPv4 10.0.1.10 203.0.113.9 us-east-1 use1-az1 - - - - egress 8 " +
		"arn:aws:ecs:us-east-1:111122223333:cluster/web web arn:aws:ecs:us-east-1:111122223333:container-instance/web/abc abc c1 c2 websvc arn:aws:ecs:us-east-1:111122223333:task-definition/web:3 arn:aws:ecs:us-east-1:111122223333:task/web/t1 t1 BPA"
	ev := decode(t, line, normalize.Meta{})
	f := ev.AWS.VPCFlow
	if f.ECSClusterName != "web" || f.ECSTaskID != "t1" || f.ECSServiceName != "websvc" || f.ECSSecondContainerID != "c2" || f.RejectReason != "BPA" || f.Version != "8" {
		t.Errorf("vpcflow %+v", f)
	}
	if ev.Cloud.Instance != nil || ev.Cloud.Region != "us-east-1" || ev.Event.Outcome != "failure" {
		t.Errorf("cloud %+v, outcome %q", ev.Cloud, ev.Event.Outcome)
	}
}

func TestTransitGateway(t *testing.T) {
	line := "6 TransitGatewayAttachment 111122223333 tgw-0123 tgw-attach-0456 111122223333 444455556666 vpc-a vpc-b subnet-a subnet-b eni-a eni-b use1-az1 use1-az2 tgw-attach-0789 " +
		"10.0.0.1 10.1.0.1 5555 443 6 10 1000 1700000000 1700000060 OK IPv4 0 1 2 - 18 us-east-1 ingress - S3"
	ev := decode(t, line, normalize.Meta{})
	f := ev.AWS.VPCFlow
	lost := func(p *int64) int64 {
		if p == nil {
			return -1
		}
		return *p
	}
	switch {
	case f.ResourceType != "TransitGatewayAttachment" || f.TGWID != "tgw-0123" || f.TGWDstVPCAccountID != "444455556666" || f.TGWPairAttachmentID != "tgw-attach-0789":
		t.Errorf("vpcflow %+v", f)
	case lost(f.PacketsLostNoRoute) != 0 || lost(f.PacketsLostBlackhole) != 1 || lost(f.PacketsLostMTUExceeded) != 2 || f.PacketsLostTTLExpired != nil:
		t.Errorf("packets lost: %v %v %v %v", f.PacketsLostNoRoute, f.PacketsLostBlackhole, f.PacketsLostMTUExceeded, f.PacketsLostTTLExpired)
	case f.PktDstService != "S3" || f.TCPFlags != "18" || ev.Cloud.Region != "us-east-1" || ev.Source.Port != 5555:
		t.Errorf("vpcflow %+v", f)
	case ev.Event.Action != "" || ev.Event.Outcome != "" || !reflect.DeepEqual(ev.Event.Type, []string{"connection"}):
		t.Errorf("event %+v: a transit gateway record has no action", ev.Event)
	}
	b, _ := json.Marshal(ev)
	if !strings.Contains(string(b), `"packets_lost_no_route":0,`) {
		t.Errorf("a count of 0 packets lost is left out: %s", b)
	}
}

func TestAbsentFields(t *testing.T) {
	for _, tc := range []struct {
		line, action string
	}{
		{"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA", "NODATA"},
		{"2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA", "SKIPDATA"},
	} {
		ev := decode(t, tc.line, normalize.Meta{})
		if ev.Event.Kind != "event" || ev.Event.Action != tc.action || ev.Event.Outcome != "" || !reflect.DeepEqual(ev.Event.Type, []string{"info"}) {
			t.Errorf("%s: event %+v", tc.action, ev.Event)
		}
		if ev.Source != nil || ev.Destination != nil || ev.Network != nil || ev.Related != nil {
			t.Errorf("%s: addresses in a record without any: %+v %+v %+v %+v", tc.action, ev.Source, ev.Destination, ev.Network, ev.Related)
		}
		f := ev.AWS.VPCFlow
		if f.Action != "" || f.LogStatus != tc.action || !ev.Timestamp.Equal(time.Unix(1431280876, 0)) || f.End == nil {
			t.Errorf("%s: vpcflow %+v, @timestamp %v", tc.action, f, ev.Timestamp)
		}
	}
	// "-" in any field; "unknown" is an account-id AWS writes for
	// interfaces its services create.
	ev := decode(t, "2 unknown - 10.0.0.1 - - 53 17 - - 1431280876 - ACCEPT -", normalize.Meta{})
	switch {
	case ev.Cloud.Account != nil || ev.AWS.VPCFlow.AccountID != "unknown":
		t.Errorf("account %+v / %q", ev.Cloud.Account, ev.AWS.VPCFlow.AccountID)
	case ev.Source.IP != "10.0.0.1" || ev.Source.Port != 0 || ev.Source.Bytes != 0 || ev.Destination.IP != "" || ev.Destination.Port != 53:
		t.Errorf("source %+v destination %+v", ev.Source, ev.Destination)
	case ev.Network.Transport != "udp" || ev.Network.Packets != 0 || ev.AWS.VPCFlow.End != nil || ev.AWS.VPCFlow.InterfaceID != "":
		t.Errorf("network %+v vpcflow %+v", ev.Network, ev.AWS.VPCFlow)
	}
}

func TestMessageWrapper(t *testing.T) {
	inner := "2 428961148399 eni-0e0bf7be352692297 - - - - - - - 1671029698 1671029728 - NODATA"
	want := jsonOf(t, decode(t, inner, normalize.Meta{}))
	for _, raw := range []string{
		`{"message":"` + inner + `"}`,
		` { "id": "3714", "timestamp": 1671029728000, "message" : "` + inner + `", "tags": [1, {"a": [true, null, -1.5e3]}] } `,
		`{"message":"` + strings.ReplaceAll(inner, " ", `\u0020`) + `"}`,
		`{"message":"ignored","message":"` + inner + `"}`,
	} {
		ev := decode(t, raw, normalize.Meta{KeepOriginal: true})
		if got := jsonOf(t, ev); got != want {
			t.Errorf("%s:\n got %s\nwant %s", raw, got, want)
		}
		if ev.Event.Original != raw || ev.Event.ID != normalize.DerivedID([]byte(raw), 0) {
			t.Errorf("%s: original %q id %s", raw, ev.Event.Original, ev.Event.ID)
		}
	}
	for raw, msg := range map[string]string{
		`{"msg":"x"}`:                      `without a "message" string`,
		`{"message":2}`:                    `"message" is not a string`,
		`{"message":"` + inner + `"`:       "invalid JSON record: object not closed",
		`{"message":"` + inner + `"} x`:    "data after the end",
		`{"message":"a\nb"}`:               "several lines",
		`{"message":"\q"}`:                 "invalid escape",
		`{"a":[[[` + inner:                 "invalid JSON",
		`{"message":"` + v2Line + `"}{}`:   "data after the end",
		`{"message":"2 x \ud800 y"}`:       "fields",
		`{"a":` + strings.Repeat("[", 100): "nested too deeply",
	} {
		if err := decodeErr(t, raw, normalize.Meta{}); !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %q does not mention %q", raw, err, msg)
		}
	}
}

func TestIPv6(t *testing.T) {
	line := "2 123456789010 eni-1235b8ca123456789 2001:DB8:1234:A100:0:0:0:F105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK"
	ev := decode(t, line, normalize.Meta{})
	if ev.Source.IP != "2001:db8:1234:a100::f105" || ev.Source.Address != "2001:DB8:1234:A100:0:0:0:F105" || ev.Network.Type != "ipv6" {
		t.Errorf("source %+v network %+v", ev.Source, ev.Network)
	}
	if !reflect.DeepEqual(ev.Related.IP, []string{"2001:db8:1234:a100::f105", "2001:db8:1234:a102:3304:8879:34cf:4071"}) {
		t.Errorf("related.ip %v", ev.Related.IP)
	}
	for _, bad := range []string{"fe80::1%eth0", "2001:db8::g", "10.0.0.010", "10.0.0"} {
		l := strings.Replace(line, "2001:DB8:1234:A100:0:0:0:F105", bad, 1)
		if err := decodeErr(t, l, normalize.Meta{}); !strings.Contains(err.Error(), "srcaddr (field 4 of the v2 default format)") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestProtocols(t *testing.T) {
	for proto, want := range map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "58": "ipv6-icmp", "47": "gre", "50": "esp", "132": "sctp", "200": "", "006": "tcp"} {
		ev := decode(t, strings.Replace(v2Line, " 6 20 ", " "+proto+" 20 ", 1), normalize.Meta{})
		if ev.Network.Transport != want || ev.Network.IANANumber != strings.TrimLeft(proto, "0") {
			t.Errorf("protocol %s: transport %q iana_number %q", proto, ev.Network.Transport, ev.Network.IANANumber)
		}
	}
}

func TestFieldCount(t *testing.T) {
	f := strings.Fields(v2Line)
	few := strings.Join(f[:13], " ")
	many := v2Line + " extra"
	for _, tc := range []struct {
		line, header, want string
	}{
		{few, "", "13 fields: a record without its file's header line must have a default format's 14 fields (v2), 21 (v3)"},
		{many, "", "15 fields: a record without"},
		{"x", "", "1 field: "},
		{few, v2Header, "13 fields, but the file header names 14"},
		{many, v2Header, "15 fields, but the file header names 14"},
		{strings.Repeat("1 ", 70), "", "70 fields:"},
	} {
		if err := decodeErr(t, tc.line, normalize.Meta{FileHeader: tc.header}); !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: error %q does not contain %q", tc.line, err, tc.want)
		}
	}
}

func TestBadHeader(t *testing.T) {
	for hdr, want := range map[string]string{
		"version account-id srcaddr colour":         `file header: unknown field "colour" at position 4`,
		"version srcaddr version":                   "file header: field version named twice",
		"version " + strings.Repeat("srcaddr ", 70): "file header: 71 fields, but there are only 58 flow log fields",
	} {
		if err := decodeErr(t, v2Line, normalize.Meta{FileHeader: hdr}); !strings.Contains(err.Error(), want) {
			t.Errorf("%.40s: error %q does not contain %q", hdr, err, want)
		}
		// The header line itself, reaching Decode: not skipped, since
		// it cannot be read.
		err := decodeErr(t, hdr, normalize.Meta{FileHeader: hdr})
		if errors.Is(err, normalize.ErrSkipped) || !strings.Contains(err.Error(), "header line: "+strings.TrimPrefix(want, "file header: ")) {
			t.Errorf("header line %.40s: %v", hdr, err)
		}
	}
}

func TestHeaderLineSkipped(t *testing.T) {
	for _, m := range []normalize.Meta{{}, {FileHeader: v2Header}, {FileHeader: v5Header}} {
		for _, line := range []string{v2Header, v5Header, "instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr", `{"message":"` + v2Header + `"}`} {
			if err := decodeErr(t, line, m); !errors.Is(err, normalize.ErrSkipped) {
				t.Errorf("%.30s with header %.20q: %v, want ErrSkipped", line, m.FileHeader, err)
			}
		}
	}
}

// TestNotAHeader: a file source with header_line sends the first line of
// a file without a header as its header. It is ignored.
func TestNotAHeader(t *testing.T) {
	want := jsonOf(t, decode(t, v2Line, normalize.Meta{}))
	for _, h := range []string{v2Line, `{"message":"` + v2Line + `"}`, "   "} {
		if got := jsonOf(t, decode(t, v2Line, normalize.Meta{FileHeader: h})); got != want {
			t.Errorf("header %q:\n got %s\nwant %s", h, got, want)
		}
	}
}

func TestBadValues(t *testing.T) {
	f := strings.Fields(v2Line)
	set := func(i int, v string) string {
		g := append([]string(nil), f...)
		g[i] = v
		return strings.Join(g, " ")
	}
	for _, tc := range []struct {
		line, want string
	}{
		{set(5, "http"), `srcport (field 6 of the v2 default format): "http" is not a port number`},
		{set(6, "65536"), `dstport (field 7 of the v2 default format): "65536" is not a port number`},
		{set(6, "-1"), `dstport (field 7 of the v2 default format): "-1" is not a port number`},
		{set(7, "256"), `protocol (field 8 of the v2 default format): "256" is not an IANA protocol number`},
		{set(8, "1e3"), `packets (field 9 of the v2 default format): "1e3" is not a count`},
		{set(9, "99999999999999999999"), `bytes (field 10 of the v2 default format): "99999999999999999999" is not a count`},
		{set(10, "253402300800"), `start (field 11 of the v2 default format): "253402300800" is not a time in Unix seconds`},
		{set(11, "2021-01-01"), `end (field 12 of the v2 default format): "2021-01-01" is not a time`},
		{set(0, "v2"), `version (field 1 of the v2 default format): "v2" is not a version number`},
		{set(3, "a.b.c.d"), `srcaddr (field 4 of the v2 default format): "a.b.c.d" is not an IP address`},
		{"2 1 eni " + strings.Repeat("x", 100) + " - - - - - - 1 2 - OK", `srcaddr (field 4 of the v2 default format): "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"...`},
		{"2 1 eni \xff - - - - - - 1 2 - OK", "not UTF-8"},
		{"", "empty record"},
		{"  \t ", "empty record"},
	} {
		if err := decodeErr(t, tc.line, normalize.Meta{}); !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.50q: error %q does not contain %q", tc.line, err, tc.want)
		}
	}
	if err := decodeErr(t, "OK 1 300", normalize.Meta{FileHeader: "log-status start tcp-flags"}); !strings.Contains(err.Error(), `tcp-flags (field 3 of the file header's format): "300" is not a TCP flags bitmask`) {
		t.Errorf("tcp-flags: %v", err)
	}
}

func TestIngestTime(t *testing.T) {
	hdr := "instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr"
	line := "- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5"
	err := decodeErr(t, line, normalize.Meta{FileHeader: hdr})
	if !strings.Contains(err.Error(), "no start or end time") {
		t.Errorf("error %v", err)
	}
	ingest := time.Date(2026, 5, 6, 7, 8, 9, 123, time.FixedZone("x", 3600))
	ev := decode(t, line, normalize.Meta{FileHeader: hdr, IngestTime: ingest})
	if !ev.Timestamp.Equal(ingest) || ev.Timestamp.Location() != time.UTC {
		t.Errorf("@timestamp %v", ev.Timestamp)
	}
	if !reflect.DeepEqual(ev.Related.IP, []string{"10.0.1.5", "10.0.0.220", "203.0.113.5"}) {
		t.Errorf("related.ip %v", ev.Related.IP)
	}
}

// TestSeveralLines decodes a whole file pushed as one record: the header
// line sets the format of the lines after it, a bad line is one failed
// item, and ids are those of the lines decoded one by one.
func TestSeveralLines(t *testing.T) {
	raw := v5Header + "\r\n" + v5Line + "\n\n" + "5 bad\n" + v5Line + "\n" + v2Header + "\n" + v2Line + "\n"
	evs, err := Decoder{}.Decode([]byte(raw), normalize.Meta{})
	var pe *normalize.PartialError
	if !errors.As(err, &pe) || len(pe.Items) != 1 || len(evs) != 3 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	if it := pe.Items[0]; it.Path != "line 4" || it.Index != 3 || string(it.Raw) != "5 bad" || !strings.Contains(it.Err.Error(), "2 fields, but the file header names 29") {
		t.Errorf("item %+v", it)
	}
	one := decode(t, v5Line, normalize.Meta{FileHeader: v5Header})
	for i, want := range []*ecs.Event{one, one, decode(t, v2Line, normalize.Meta{})} {
		if jsonOf(t, evs[i]) != jsonOf(t, want) || evs[i].Event.ID != want.Event.ID {
			t.Errorf("event %d differs from the line decoded alone", i)
		}
	}
	// Only header lines: skipped.
	if _, err := (Decoder{}).Decode([]byte(v2Header+"\n"+v5Header+"\n"), normalize.Meta{}); !errors.Is(err, normalize.ErrSkipped) {
		t.Errorf("header lines only: %v", err)
	}
	// A bad header line fails the lines after it too.
	evs, err = Decoder{}.Decode([]byte("version nope\n"+v2Line+"\n"+v2Line), normalize.Meta{})
	if !errors.As(err, &pe) || len(pe.Items) != 3 || len(evs) != 0 || !strings.Contains(pe.Items[2].Err.Error(), `header line 1: header line: unknown field "nope"`) {
		t.Errorf("%d events, %v", len(evs), err)
	}
	// Trailing blank lines do not make a record of several lines.
	evs, err = Decoder{}.Decode([]byte(v2Line+"\r\n \n"), normalize.Meta{KeepOriginal: true})
	if err != nil || len(evs) != 1 || evs[0].Event.Original != v2Line || evs[0].Event.ID != normalize.DerivedID([]byte(v2Line), 0) {
		t.Errorf("%v %v", evs, err)
	}
}

// TestDerivedIDLeavesInputAlone: the id of a line inside a larger buffer
// must not be computed by appending to the caller's buffer.
func TestDerivedIDLeavesInputAlone(t *testing.T) {
	buf := []byte(v2Line + "\n" + v2Line)
	before := string(buf)
	if _, err := (Decoder{}).Decode(buf, normalize.Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := (Decoder{}).Decode(buf[:len(v2Line)], normalize.Meta{}); err != nil {
		t.Fatal(err)
	}
	if string(buf) != before {
		t.Errorf("Decode changed its input")
	}
}

func TestLayouts(t *testing.T) {
	for n, l := range map[int]*layout{14: layoutV2, 21: layoutV3, 25: layoutV4, 29: layoutV5, 36: layoutTGW, 39: layoutV7, 40: layoutV8} {
		if len(l.fields) != n || defaultLayout(n) != l {
			t.Errorf("%s: %d fields", l.name, len(l.fields))
		}
	}
	// Every field is in a default format.
	var seen [numFields]bool
	for _, l := range []*layout{layoutV8, layoutTGW} {
		for _, f := range l.fields {
			seen[f] = true
		}
	}
	for f := fNone + 1; f < numFields; f++ {
		if !seen[f] {
			t.Errorf("%s is in no default format", f)
		}
	}
}

// TestConcurrent decodes records of several formats from many goroutines
// (run it with -race) and checks they give what they give one at a time.
func TestConcurrent(t *testing.T) {
	type input struct {
		line string
		m    normalize.Meta
	}
	inputs := []input{
		{v2Line, normalize.Meta{}},
		{v2Line, normalize.Meta{FileHeader: v2Header}},
		{v5Line, normalize.Meta{FileHeader: v5Header}},
		{"OK 443 10.0.0.1", normalize.Meta{FileHeader: "log-status dstport srcaddr", IngestTime: time.Unix(1e9, 0)}},
	}
	for i := range 50 {
		// Headers the cache has not seen.
		inputs = append(inputs, input{fmt.Sprintf("%d OK", i), normalize.Meta{FileHeader: fmt.Sprintf("start log-status %s", strings.Repeat(" ", i))}})
	}
	want := make([]string, len(inputs))
	for i, in := range inputs {
		want[i] = jsonOf(t, decode(t, in.line, in.m))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 200 {
				i := (g*31 + k) % len(inputs)
				evs, err := Decoder{}.Decode([]byte(inputs[i].line), inputs[i].m)
				if err != nil || len(evs) != 1 {
					t.Errorf("%v", err)
					return
				}
				c := *evs[0]
				c.Event.ID, c.Event.Original = "", ""
				b, _ := json.Marshal(&c)
				if string(b) != want[i] {
					t.Errorf("input %d differs when decoded concurrently", i)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestReleaseReuse decodes every sample line after releasing the event of
// another (the blocks are recycled) and checks that it comes out as it
// does from a fresh block: nothing of the earlier record remains.
func TestReleaseReuse(t *testing.T) {
	type rec struct {
		line []byte
		m    normalize.Meta
	}
	var recs []rec
	for _, s := range samples(t) {
		for _, l := range strings.Split(string(s), "\n") {
			if strings.TrimSpace(l) != "" {
				recs = append(recs, rec{[]byte(l), normalize.Meta{KeepOriginal: true, IngestTime: time.Unix(1700000000, 0)}})
			}
		}
	}
	recs = append(recs, rec{[]byte(v5Line), normalize.Meta{KeepOriginal: true, FileHeader: v5Header}}, rec{[]byte(v2Line), normalize.Meta{}})
	fresh := make([]string, len(recs))
	for i, r := range recs {
		evs, err := Decoder{}.Decode(r.line, r.m)
		if err == nil {
			b, _ := json.Marshal(evs)
			fresh[i] = string(b)
		} else {
			fresh[i] = "error: " + err.Error()
		}
	}
	decoded := 0
	for i, r := range recs {
		for _, prev := range []int{(i + 1) % len(recs), (i + 7) % len(recs), len(recs) - 2} {
			if evs, err := (Decoder{}).Decode(recs[prev].line, recs[prev].m); err == nil {
				Decoder{}.Release(evs)
			}
			evs, err := Decoder{}.Decode(r.line, r.m)
			got := ""
			if err == nil {
				b, _ := json.Marshal(evs)
				got = string(b)
				decoded++
				Decoder{}.Release(evs)
			} else {
				got = "error: " + err.Error()
			}
			if got != fresh[i] {
				t.Fatalf("%s after releasing %s:\n got %s\nwant %s", r.line, recs[prev].line, got, fresh[i])
			}
		}
	}
	if decoded < 100 {
		t.Fatalf("only %d records decoded", decoded)
	}
}
