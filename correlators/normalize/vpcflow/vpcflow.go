package vpcflow

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/ecs"
)

// Dataset is the event.dataset of flow log events.
const Dataset = "aws.vpcflow"

func init() { normalize.Register("vpcflow", Decoder{}) }

// Decoder is the VPC Flow Logs decoder. It is safe for concurrent use.
type Decoder struct{}

// Dataset implements normalize.Decoder.
func (Decoder) Dataset() string { return "vpcflow" }

// errHeader is returned, wrapped, for a header line.
var errHeader = fmt.Errorf("%w: the header line of a flow log file", normalize.ErrSkipped)

// Decode implements normalize.Decoder. A record is one flow log line, or
// several (a whole file pushed as one record), in which case a header line
// among them sets the format of the lines after it.
func (Decoder) Decode(raw []byte, m normalize.Meta) ([]*ecs.Event, error) {
	hdr, hdrErr := fileLayout(m.FileHeader)
	if hdrErr != nil {
		hdrErr = fmt.Errorf("file header: %w", hdrErr)
	}
	nl := bytes.IndexByte(raw, '\n')
	if nl < 0 || len(bytes.TrimSpace(raw[nl:])) == 0 {
		// One line, the usual case.
		if nl >= 0 {
			raw = raw[:nl]
		}
		raw = bytes.TrimSuffix(raw, []byte{'\r'})
		b, _, err := decodeLine(raw, hdr, hdrErr, m)
		if err != nil {
			return nil, err
		}
		// The slice is in the event's block: no allocation of its own.
		b.one[0] = &b.ev
		return b.one[:], nil
	}
	return decodeLines(raw, hdr, hdrErr, m)
}

// decodeLines decodes a record of several lines.
func decodeLines(raw []byte, hdr *layout, hdrErr error, m normalize.Meta) ([]*ecs.Event, error) {
	var (
		out    []*ecs.Event
		failed []normalize.ItemError
		lines  int
	)
	for no := 1; len(raw) > 0; no++ {
		line, rest, _ := bytes.Cut(raw, []byte{'\n'})
		raw = rest
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lines++
		b, next, err := decodeLine(line, hdr, hdrErr, m)
		if next != nil || errors.Is(err, normalize.ErrSkipped) {
			// A header line: it sets the format of the lines after it.
			hdr, hdrErr = next, nil
			continue
		}
		if err != nil {
			if isHeaderLine(line) {
				// A header line that cannot be read: the lines after
				// it cannot be either.
				hdr, hdrErr = nil, fmt.Errorf("header line %d: %w", no, err)
			}
			failed = append(failed, normalize.ItemError{Index: no - 1, Path: "line " + strconv.Itoa(no), Raw: line, Err: err})
			continue
		}
		out = append(out, &b.ev)
	}
	switch {
	case len(failed) > 0:
		return out, &normalize.PartialError{Items: failed}
	case len(out) == 0 && lines > 0:
		return nil, fmt.Errorf("%w (%d lines, all header lines)", errHeader, lines)
	case len(out) == 0:
		return nil, errors.New("empty record")
	}
	return out, nil
}

// isHeaderLine reports whether a line begins with a field name, as the
// header line of a flow log file does and no record does.
func isHeaderLine(line []byte) bool {
	line = bytes.TrimLeft(line, " \t\r")
	end := bytes.IndexAny(line, " \t\r")
	if end < 0 {
		end = len(line)
	}
	if end == 0 || line[0] < 'a' || line[0] > 'z' {
		return false
	}
	_, ok := fieldByName[string(line[:end])]
	return ok
}

// headerCache holds the formats of the file headers seen, by header text.
// Files of one flow log share a header, so there are few; the cache stops
// growing at maxCachedHeaders all the same.
var (
	headerCache   sync.Map // string -> *cachedHeader
	cachedHeaders atomic.Int64
)

const maxCachedHeaders = 1024

type cachedHeader struct {
	l   *layout
	err error
}

// fileLayout returns the format named by a file header; nil if there is
// no header, or if the "header" is not one. A file source configured with
// header_line sends the first line of every file, and the first line of a
// file without a header (a CloudWatch Logs export) is a record: its
// records are then read by their field count.
func fileLayout(h string) (*layout, error) {
	if h == "" {
		return nil, nil
	}
	if c, ok := headerCache.Load(h); ok {
		c := c.(*cachedHeader)
		return c.l, c.err
	}
	c := &cachedHeader{}
	if isHeaderLine([]byte(h)) {
		var toks [maxFields]string
		n := split(h, &toks)
		c.l, c.err = headerLayout(toks[:min(n, maxFields)], n)
	}
	if cachedHeaders.Load() < maxCachedHeaders {
		if _, loaded := headerCache.LoadOrStore(h, c); !loaded {
			cachedHeaders.Add(1)
		}
	}
	return c.l, c.err
}

// decodeLine decodes one line into an event block. For a header line it
// returns its format and an error wrapping normalize.ErrSkipped.
func decodeLine(line []byte, hdr *layout, hdrErr error, m normalize.Meta) (*block, *layout, error) {
	if !utf8.Valid(line) {
		return nil, nil, errors.New("the record is not UTF-8 text")
	}
	// Every field is a substring of the line, which the caller hands
	// over (see normalize.Decoder).
	text := normalize.Alias(line)
	s := text
	if t := strings.TrimLeft(s, " \t\r"); t != "" && t[0] == '{' {
		msg, err := unwrapMessage(t)
		if err != nil {
			return nil, nil, err
		}
		if strings.IndexByte(msg, '\n') >= 0 {
			return nil, nil, errors.New(`the "message" of the JSON record holds several lines`)
		}
		if !utf8.ValidString(msg) {
			return nil, nil, errors.New(`the "message" of the JSON record is not UTF-8 text`)
		}
		s = msg
	}
	var toks [maxFields]string
	n := split(s, &toks)
	if n == 0 {
		return nil, nil, errors.New("empty record")
	}
	if c := toks[0][0]; c >= 'a' && c <= 'z' {
		if _, ok := fieldByName[toks[0]]; ok {
			l, err := headerLayout(toks[:min(n, maxFields)], n)
			if err != nil {
				return nil, nil, fmt.Errorf("header line: %w", err)
			}
			return nil, l, errHeader
		}
	}
	if hdrErr != nil {
		return nil, nil, hdrErr
	}
	l := hdr
	switch {
	case l == nil:
		if l = defaultLayout(n); l == nil {
			return nil, nil, fmt.Errorf("%s: a record without its file's header line must have a default format's %s", fields(n), defaultCounts)
		}
	case n != len(l.fields):
		return nil, nil, fmt.Errorf("%s, but the file header names %d", fields(n), len(l.fields))
	}
	b, err := build(toks[:n], l, m)
	if err != nil {
		return nil, nil, err
	}
	normalize.AppendDerivedID(b.id[:0], line, 0)
	b.ev.Event.ID = unsafe.String(&b.id[0], len(b.id))
	if m.KeepOriginal {
		b.ev.Event.Original = text
	}
	return b, nil, nil
}

// block holds an event and everything it points to, in one piece that is
// recycled (see Release). What few records have (transit gateway
// counters, a sublocation) is allocated apart, when present.
type block struct {
	ev      ecs.Event
	cloud   ecs.Cloud
	account ecs.CloudAccount
	inst    ecs.CloudID
	src     ecs.Endpoint
	dst     ecs.Endpoint
	net     ecs.Network
	rel     ecs.Related
	aws     ecs.AWS
	flow    ecs.VPCFlow
	start   time.Time
	end     time.Time
	relIP   [4]string
	cat     [1]string
	typ     [2]string
	one     [1]*ecs.Event // the slice Decode returns for one line
	id      [32]byte      // event.id
	flags   [len(tcpFlagNames)]string
}

// maxUnix is the last second JSON can hold (9999-12-31T23:59:59Z).
const maxUnix = 253402300799

// build maps the fields of a record to an event, in a block from the
// pool.
func build(toks []string, l *layout, m normalize.Meta) (*block, error) {
	b := blocks.Get().(*block)
	if err := b.fill(toks, l, m); err != nil {
		b.release()
		return nil, err
	}
	return b, nil
}

// blocks recycles the blocks of released events; a block in the pool is
// zero.
var blocks = sync.Pool{New: func() any { return new(block) }}

// The event is the first field of its block, so that Release can find
// the block from the event.
var _ = [1]struct{}{}[unsafe.Offsetof(block{}.ev)]

func (b *block) release() {
	*b = block{}
	blocks.Put(b)
}

// Release implements normalize.Releaser: the blocks of events that Decode
// returned go back to the pool for later records. evs must be events this
// decoder returned, and nothing may use them afterwards.
func (Decoder) Release(evs []*ecs.Event) {
	for _, ev := range evs {
		(*block)(unsafe.Pointer(ev)).release()
	}
}

// fill maps the fields of a record to the event in b.
func (b *block) fill(toks []string, l *layout, m normalize.Meta) error {
	f := &b.flow
	var (
		srcIP, dstIP       netip.Addr
		srcPort, dstPort   int
		proto                    = -1
		packets, nbytes    int64 = -1, -1
		hasStart, hasEnd   bool
		hasSrcPort, hasDst bool
	)
	for i, tok := range toks {
		if tok == "-" {
			continue // not applicable, or could not be computed
		}
		fl := l.fields[i]
		switch fl {
		case fVersion:
			if !isDigits(tok) {
				return fieldErr(l, i, tok, "is not a version number")
			}
			f.Version = tok
		case fAccountID:
			f.AccountID = tok
		case fInterfaceID:
			f.InterfaceID = tok
		case fSrcAddr, fDstAddr, fPktSrcAddr, fPktDstAddr:
			ip, canon, err := parseIP(tok)
			if err != nil {
				return fieldErr(l, i, tok, "is not an IP address")
			}
			switch fl {
			case fSrcAddr:
				srcIP = ip
				b.src.IP, b.src.Address = canon, tok
			case fDstAddr:
				dstIP = ip
				b.dst.IP, b.dst.Address = canon, tok
			case fPktSrcAddr:
				f.PktSrcAddr = canon
			default:
				f.PktDstAddr = canon
			}
		case fSrcPort, fDstPort:
			p, ok := parseUint(tok, 65535)
			if !ok {
				return fieldErr(l, i, tok, "is not a port number")
			}
			if fl == fSrcPort {
				srcPort, hasSrcPort = int(p), true
			} else {
				dstPort, hasDst = int(p), true
			}
		case fProtocol:
			p, ok := parseUint(tok, 255)
			if !ok {
				return fieldErr(l, i, tok, "is not an IANA protocol number")
			}
			proto = int(p)
		case fPackets, fBytes:
			v, ok := parseUint(tok, 1<<63-1)
			if !ok {
				return fieldErr(l, i, tok, "is not a count")
			}
			if fl == fPackets {
				packets = int64(v)
			} else {
				nbytes = int64(v)
			}
		case fStart, fEnd:
			v, ok := parseUint(tok, maxUnix)
			if !ok {
				return fieldErr(l, i, tok, "is not a time in Unix seconds")
			}
			if fl == fStart {
				b.start, hasStart = time.Unix(int64(v), 0).UTC(), true
				f.Start = &b.start
			} else {
				b.end, hasEnd = time.Unix(int64(v), 0).UTC(), true
				f.End = &b.end
			}
		case fAction:
			f.Action = tok
		case fLogStatus:
			f.LogStatus = tok
		case fVPCID:
			f.VPCID = tok
		case fSubnetID:
			f.SubnetID = tok
		case fInstanceID:
			f.InstanceID = tok
		case fTCPFlags:
			v, ok := parseUint(tok, 255)
			if !ok {
				return fieldErr(l, i, tok, "is not a TCP flags bitmask")
			}
			f.TCPFlags = decimal[v]
			f.TCPFlagsArray = tcpFlags(v, &b.flags)
		case fType:
			f.Type = tok
		case fRegion:
			f.Region = tok
		case fAZID:
			f.AZID = tok
		case fSublocationType, fSublocationID:
			if f.Sublocation == nil {
				f.Sublocation = &ecs.VPCFlowSublocation{}
			}
			if fl == fSublocationType {
				f.Sublocation.Type = tok
			} else {
				f.Sublocation.ID = tok
			}
		case fPktSrcAWSService:
			f.PktSrcService = tok
		case fPktDstAWSService:
			f.PktDstService = tok
		case fFlowDirection:
			f.FlowDirection = tok
		case fTrafficPath:
			if !isDigits(tok) {
				return fieldErr(l, i, tok, "is not a traffic path number")
			}
			f.TrafficPath = tok
		case fECSClusterARN:
			f.ECSClusterARN = tok
		case fECSClusterName:
			f.ECSClusterName = tok
		case fECSContainerInstanceARN:
			f.ECSContainerInstanceARN = tok
		case fECSContainerInstanceID:
			f.ECSContainerInstanceID = tok
		case fECSContainerID:
			f.ECSContainerID = tok
		case fECSSecondContainerID:
			f.ECSSecondContainerID = tok
		case fECSServiceName:
			f.ECSServiceName = tok
		case fECSTaskDefinitionARN:
			f.ECSTaskDefinitionARN = tok
		case fECSTaskARN:
			f.ECSTaskARN = tok
		case fECSTaskID:
			f.ECSTaskID = tok
		case fRejectReason:
			f.RejectReason = tok
		case fResourceType:
			f.ResourceType = tok
		case fTGWID:
			f.TGWID = tok
		case fTGWAttachmentID:
			f.TGWAttachmentID = tok
		case fTGWSrcVPCAccountID:
			f.TGWSrcVPCAccountID = tok
		case fTGWDstVPCAccountID:
			f.TGWDstVPCAccountID = tok
		case fTGWSrcVPCID:
			f.TGWSrcVPCID = tok
		case fTGWDstVPCID:
			f.TGWDstVPCID = tok
		case fTGWSrcSubnetID:
			f.TGWSrcSubnetID = tok
		case fTGWDstSubnetID:
			f.TGWDstSubnetID = tok
		case fTGWSrcENI:
			f.TGWSrcENI = tok
		case fTGWDstENI:
			f.TGWDstENI = tok
		case fTGWSrcAZID:
			f.TGWSrcAZID = tok
		case fTGWDstAZID:
			f.TGWDstAZID = tok
		case fTGWPairAttachmentID:
			f.TGWPairAttachmentID = tok
		case fPacketsLostNoRoute, fPacketsLostBlackhole, fPacketsLostMTUExceeded, fPacketsLostTTLExpired:
			v, ok := parseUint(tok, 1<<63-1)
			if !ok {
				return fieldErr(l, i, tok, "is not a count")
			}
			n := new(int64(v))
			switch fl {
			case fPacketsLostNoRoute:
				f.PacketsLostNoRoute = n
			case fPacketsLostBlackhole:
				f.PacketsLostBlackhole = n
			case fPacketsLostMTUExceeded:
				f.PacketsLostMTUExceeded = n
			default:
				f.PacketsLostTTLExpired = n
			}
		}
	}

	// @timestamp is when the interval began (event time, for the
	// windowing apps downstream), failing that when it ended, failing that
	// (a custom format without either) when the record was read.
	ev := &b.ev
	switch {
	case hasStart:
		ev.Timestamp = b.start
	case hasEnd:
		ev.Timestamp = b.end
	case !m.IngestTime.IsZero() && m.IngestTime.Year() >= 1 && m.IngestTime.Year() <= 9999:
		ev.Timestamp = m.IngestTime.UTC()
	default:
		return errors.New("the record has no start or end time, and its ingest time is unknown")
	}

	ev.ECS = ecs.ECSMeta{Version: ecs.Version}
	ev.Event.Kind = "event"
	ev.Event.Dataset = Dataset
	ev.Event.Module = "aws"
	b.cat[0] = "network"
	ev.Event.Category = b.cat[:1:1]
	hasAddr := srcIP.IsValid() || dstIP.IsValid() || f.PktSrcAddr != "" || f.PktDstAddr != ""
	nt := 0
	if hasAddr {
		b.typ[nt] = "connection"
	} else {
		// A NODATA or SKIPDATA record, or a format without addresses:
		// not enough to follow a connection by.
		b.typ[nt] = "info"
	}
	nt++
	switch f.Action {
	case "ACCEPT":
		b.typ[nt] = "allowed"
		nt++
		ev.Event.Outcome = "success"
	case "REJECT":
		b.typ[nt] = "denied"
		nt++
		ev.Event.Outcome = "failure"
	}
	ev.Event.Type = b.typ[:nt:nt]
	ev.Event.Action = f.Action
	if ev.Event.Action == "" && (f.LogStatus == "NODATA" || f.LogStatus == "SKIPDATA") {
		ev.Event.Action = f.LogStatus
	}

	ev.Cloud = &b.cloud
	b.cloud.Provider = "aws"
	b.cloud.Region = f.Region
	if f.AccountID != "" && f.AccountID != "unknown" {
		b.account.ID = f.AccountID
		b.cloud.Account = &b.account
	}
	if f.InstanceID != "" {
		b.inst.ID = f.InstanceID
		b.cloud.Instance = &b.inst
	}

	if srcIP.IsValid() || hasSrcPort || packets >= 0 || nbytes >= 0 {
		// A record is one direction of a flow: its counters are what
		// the source sent.
		b.src.Port = srcPort
		b.src.Packets = max(packets, 0)
		b.src.Bytes = max(nbytes, 0)
		ev.Source = &b.src
	}
	if dstIP.IsValid() || hasDst {
		b.dst.Port = dstPort
		ev.Destination = &b.dst
	}

	switch {
	case srcIP.IsValid():
		b.net.Type = ipType(srcIP)
	case dstIP.IsValid():
		b.net.Type = ipType(dstIP)
	case f.Type == "IPv4":
		b.net.Type = "ipv4"
	case f.Type == "IPv6":
		b.net.Type = "ipv6"
	}
	if proto >= 0 {
		b.net.IANANumber = decimal[proto]
		b.net.Transport = transports[proto]
	}
	b.net.Packets = max(packets, 0)
	b.net.Bytes = max(nbytes, 0)
	if b.net != (ecs.Network{}) {
		ev.Network = &b.net
	}

	for _, ip := range [...]string{b.src.IP, b.dst.IP, f.PktSrcAddr, f.PktDstAddr} {
		if ip != "" {
			b.addRelated(ip)
		}
	}
	if len(b.rel.IP) > 0 {
		ev.Related = &b.rel
	}
	b.aws.VPCFlow = f
	ev.AWS = &b.aws
	return nil
}

// addRelated adds an address to related.ip once.
func (b *block) addRelated(ip string) {
	for _, x := range b.rel.IP {
		if x == ip {
			return
		}
	}
	n := len(b.rel.IP)
	b.relIP[n] = ip
	b.rel.IP = b.relIP[: n+1 : n+1]
}

func ipType(ip netip.Addr) string {
	if ip.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// parseIP parses an address and returns it and its canonical text, which
// is s itself when s is canonical (no allocation).
func parseIP(s string) (netip.Addr, string, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, "", err
	}
	if ip.Zone() != "" {
		return netip.Addr{}, "", errors.New("an address with a zone")
	}
	if ip.Is4() {
		// ParseAddr takes only the dotted-decimal form, without
		// leading zeros: s is canonical.
		return ip, s, nil
	}
	var buf [64]byte
	c := ip.AppendTo(buf[:0])
	if string(c) == s {
		return ip, s, nil
	}
	return ip, string(c), nil
}

// parseUint parses a decimal number no larger than limit.
func parseUint(s string, limit uint64) (uint64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		if v > (limit-uint64(c))/10 {
			return 0, false
		}
		v = v*10 + uint64(c)
	}
	return v, true
}

func isDigits(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fields says how many fields a record has.
func fields(n int) string {
	if n == 1 {
		return "1 field"
	}
	return strconv.Itoa(n) + " fields"
}

func fieldErr(l *layout, i int, tok, what string) error {
	return fmt.Errorf("%s (field %d of %s): %s %s", l.fields[i], i+1, l.name, quote(tok), what)
}

// tcpFlagNames name the bits of tcp-flags, as Elastic's pipeline does.
var tcpFlagNames = [6]string{"fin", "syn", "rst", "psh", "ack", "urg"}

// tcpFlags names the flags set in a tcp-flags bitmask, in dst; nil if
// none.
func tcpFlags(v uint64, dst *[len(tcpFlagNames)]string) []string {
	n := 0
	for bit, name := range tcpFlagNames {
		if v&(1<<bit) != 0 {
			dst[n] = name
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return dst[:n:n]
}

// decimal holds the numbers 0-255 as text.
var decimal = func() (d [256]string) {
	for i := range d {
		d[i] = strconv.Itoa(i)
	}
	return d
}()

// transports are the IANA keywords, lowercased as ECS wants
// network.transport, of the protocols that carry traffic through a VPC.
// Other protocols have network.iana_number only.
var transports = [256]string{
	0:   "hopopt",
	1:   "icmp",
	2:   "igmp",
	4:   "ipv4",
	6:   "tcp",
	8:   "egp",
	17:  "udp",
	33:  "dccp",
	41:  "ipv6",
	43:  "ipv6-route",
	44:  "ipv6-frag",
	46:  "rsvp",
	47:  "gre",
	50:  "esp",
	51:  "ah",
	58:  "ipv6-icmp",
	59:  "ipv6-nonxt",
	60:  "ipv6-opts",
	88:  "eigrp",
	89:  "ospfigp",
	94:  "ipip",
	97:  "etherip",
	103: "pim",
	108: "ipcomp",
	112: "vrrp",
	115: "l2tp",
	132: "sctp",
	136: "udplite",
	137: "mpls-in-ip",
}
