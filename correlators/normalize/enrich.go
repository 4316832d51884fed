package normalize

import (
	"fmt"
	"net/netip"

	"github.com/vigilsec/vigil/correlators/normalize/geoip"
	"github.com/vigilsec/vigil/ecs"
)

// DefaultInternalCIDRs are the networks counted as internal when none are
// configured: the private ranges of RFC 1918 and RFC 4193, shared address
// space (RFC 6598) and link-local addresses.
var DefaultInternalCIDRs = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "fc00::/7", "fe80::/10"}

// Enricher adds to normalized events what the raw event does not say:
// where public addresses are (GeoIP) and which way a connection goes
// (from the internal networks). The normalize app and `vigil normalize`
// share it. It is safe for concurrent use.
type Enricher struct {
	// Geo looks addresses up; nil turns geo fields off.
	Geo *geoip.DB
	// Internal are the internal networks.
	Internal []netip.Prefix
}

// NewEnricher parses the internal networks (DefaultInternalCIDRs if none)
// and keeps the GeoIP databases.
func NewEnricher(geo *geoip.DB, internal []string) (*Enricher, error) {
	if len(internal) == 0 {
		internal = DefaultInternalCIDRs
	}
	e := &Enricher{Geo: geo}
	for _, c := range internal {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("internal network %q: %w", c, err)
		}
		e.Internal = append(e.Internal, p.Masked())
	}
	return e, nil
}

func (e *Enricher) internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range e.Internal {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Enrich adds geo and AS fields to the event's public source and
// destination addresses, and network.direction when the event has both
// and no direction of its own: inbound, outbound, internal or external.
func (e *Enricher) Enrich(ev *ecs.Event) {
	src, srcOK := addr(ev.Source)
	dst, dstOK := addr(ev.Destination)
	if !e.Geo.Empty() {
		for _, x := range []struct {
			ep *ecs.Endpoint
			ip netip.Addr
			ok bool
		}{{ev.Source, src, srcOK}, {ev.Destination, dst, dstOK}} {
			if !x.ok || !geoip.Public(x.ip) {
				continue
			}
			if x.ep.Geo == nil {
				x.ep.Geo = e.Geo.Geo(x.ip)
			}
			if x.ep.AS == nil {
				x.ep.AS = e.Geo.AS(x.ip)
			}
		}
	}
	if srcOK && dstOK && (ev.Network == nil || ev.Network.Direction == "") {
		var dir string
		switch si, di := e.internal(src), e.internal(dst); {
		case si && di:
			dir = "internal"
		case si:
			dir = "outbound"
		case di:
			dir = "inbound"
		default:
			dir = "external"
		}
		if ev.Network == nil {
			ev.Network = &ecs.Network{}
		}
		ev.Network.Direction = dir
	}
}

func addr(ep *ecs.Endpoint) (netip.Addr, bool) {
	if ep == nil || ep.IP == "" {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(ep.IP)
	return ip, err == nil
}
