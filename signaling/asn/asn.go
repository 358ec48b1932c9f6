// Package asn looks up the autonomous system of an address in a MaxMind DB
// file (the GeoLite2-ASN / GeoIP2-ISP format), so that the signaling server
// can prefer peers in the viewer's own network operator.
package asn

import (
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// DB is an open ASN database. It is safe for concurrent use.
type DB struct {
	r *maxminddb.Reader
}

type record struct {
	ASN uint32 `maxminddb:"autonomous_system_number"`
}

// Open opens the database at path.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, err
	}
	return &DB{r: r}, nil
}

// ASN returns the autonomous system number of addr, or false when the
// database has no record for it.
func (d *DB) ASN(addr netip.Addr) (uint32, bool) {
	var rec record
	res := d.r.Lookup(addr.Unmap())
	if !res.Found() || res.Decode(&rec) != nil || rec.ASN == 0 {
		return 0, false
	}
	return rec.ASN, true
}

// DatabaseType returns the type the database declares, such as
// "GeoLite2-ASN".
func (d *DB) DatabaseType() string { return d.r.Metadata.DatabaseType }

// Close releases the database.
func (d *DB) Close() error { return d.r.Close() }
