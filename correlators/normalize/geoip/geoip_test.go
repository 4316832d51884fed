package geoip

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeDB builds a small database for the tests.
func writeDB(t *testing.T, dbType string, ipVersion int, nets map[string]mmdbtype.Map) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IPVersion: ipVersion, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range nets {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), dbType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}

// MaxMindCity writes a GeoLite2-City-layout database.
func MaxMindCity(t *testing.T) string {
	return writeDB(t, "GeoLite2-City", 6, map[string]mmdbtype.Map{
		"81.2.69.0/24": {
			"country":  mmdbtype.Map{"iso_code": mmdbtype.String("GB"), "names": mmdbtype.Map{"en": mmdbtype.String("United Kingdom")}},
			"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("London")}},
			"location": mmdbtype.Map{"latitude": mmdbtype.Float64(51.5142), "longitude": mmdbtype.Float64(-0.0931)},
		},
		"2a02:cf40::/32": {
			"country": mmdbtype.Map{"iso_code": mmdbtype.String("DE"), "names": mmdbtype.Map{"en": mmdbtype.String("Germany")}},
		},
	})
}

func TestMaxMindLayout(t *testing.T) {
	db, err := Open([]string{MaxMindCity(t)}, []string{writeDB(t, "GeoLite2-ASN", 6, map[string]mmdbtype.Map{
		"81.2.69.0/24": {"autonomous_system_number": mmdbtype.Uint32(20712), "autonomous_system_organization": mmdbtype.String("Andrews & Arnold Ltd")},
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g := db.Geo(netip.MustParseAddr("81.2.69.142"))
	if g == nil || g.CountryISOCode != "GB" || g.CountryName != "United Kingdom" || g.CityName != "London" || g.Location == nil || g.Location.Lat != 51.5142 {
		t.Errorf("Geo(81.2.69.142) = %+v", g)
	}
	if g := db.Geo(netip.MustParseAddr("2a02:cf40::1")); g == nil || g.CountryISOCode != "DE" || g.Location != nil || g.CityName != "" {
		t.Errorf("Geo(2a02:cf40::1) = %+v", g)
	}
	if g := db.Geo(netip.MustParseAddr("::ffff:81.2.69.1")); g == nil || g.CityName != "London" {
		t.Errorf("a v4-mapped address is not looked up as IPv4: %+v", g)
	}
	if g := db.Geo(netip.MustParseAddr("8.8.8.8")); g != nil {
		t.Errorf("an unknown address has a location: %+v", g)
	}
	as := db.AS(netip.MustParseAddr("81.2.69.1"))
	if as == nil || as.Number != 20712 || as.Organization.Name != "Andrews & Arnold Ltd" {
		t.Errorf("AS = %+v", as)
	}
}

// TestFlatLayout reads databases laid out as the ip-location-db npm
// package's (one per IP version, flat records, no country names).
func TestFlatLayout(t *testing.T) {
	v4 := writeDB(t, "city ipv4", 4, map[string]mmdbtype.Map{
		"81.2.69.0/24": {"country_code": mmdbtype.String("GB"), "city": mmdbtype.String("London"), "state1": mmdbtype.String("England"),
			"latitude": mmdbtype.Float64(51.5), "longitude": mmdbtype.Float64(-0.09)},
	})
	v6 := writeDB(t, "city ipv6", 6, map[string]mmdbtype.Map{
		"2a02:cf40::/32": {"country_code": mmdbtype.String("JP"), "city": mmdbtype.String("Tokyo")},
	})
	db, err := Open([]string{v4, v6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if g := db.Geo(netip.MustParseAddr("81.2.69.7")); g == nil || g.CountryName != "United Kingdom" || g.CityName != "London" || g.Location == nil {
		t.Errorf("Geo v4 = %+v", g)
	}
	if g := db.Geo(netip.MustParseAddr("2a02:cf40::9")); g == nil || g.CountryName != "Japan" || g.CityName != "Tokyo" {
		t.Errorf("Geo v6 = %+v", g)
	}
	if db.AS(netip.MustParseAddr("81.2.69.7")) != nil {
		t.Error("AS without an ASN database")
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open([]string{filepath.Join(t.TempDir(), "missing.mmdb")}, nil); err == nil {
		t.Error("a missing database opened")
	}
	city := MaxMindCity(t)
	if _, err := Open(nil, []string{city}); err == nil {
		t.Error("a city database accepted as ASN")
	}
	bad := filepath.Join(t.TempDir(), "bad.mmdb")
	_ = os.WriteFile(bad, []byte("not a database"), 0o644)
	if _, err := Open([]string{bad}, nil); err == nil {
		t.Error("a file that is not a database opened")
	}
	var none *DB
	if !none.Empty() || none.Geo(netip.MustParseAddr("81.2.69.1")) != nil {
		t.Error("a nil DB is not empty")
	}
}

func TestPublic(t *testing.T) {
	for ip, want := range map[string]bool{
		"81.2.69.1": true, "8.8.8.8": true, "2a02:cf40::1": true,
		"10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "100.64.1.1": false,
		"127.0.0.1": false, "169.254.1.1": false, "::1": false, "fd00::1": false, "fe80::1": false,
		"224.0.0.1": false, "0.0.0.0": false, "::ffff:10.0.0.1": false,
	} {
		if got := Public(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Public(%s) = %v, want %v", ip, got, want)
		}
	}
}
