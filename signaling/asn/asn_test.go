package asn_test

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/nearcast/nearcast/signaling/asn"
	"github.com/nearcast/nearcast/signaling/asn/asntest"
)

func TestLookup(t *testing.T) {
	db, err := asn.Open(asntest.WriteDB(t, map[string]uint32{"10.1.0.0/16": 64500, "10.2.0.0/16": 64501, "2001:db8::/32": 64502}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.DatabaseType(); got != "GeoLite2-ASN" {
		t.Errorf("DatabaseType = %q", got)
	}
	for addr, want := range map[string]uint32{"10.1.2.3": 64500, "10.2.200.1": 64501, "2001:db8::1": 64502, "::ffff:10.1.9.9": 64500, "10.3.0.1": 0} {
		got, ok := db.ASN(netip.MustParseAddr(addr))
		if got != want || ok != (want != 0) {
			t.Errorf("ASN(%s) = %d, %v; want %d", addr, got, ok, want)
		}
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := asn.Open(filepath.Join(t.TempDir(), "none.mmdb")); err == nil {
		t.Fatal("opening a missing file succeeded")
	}
}
