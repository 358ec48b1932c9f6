package signaling

import (
	"net/http"
	"net/netip"
	"strings"
)

// Locator maps an address to its autonomous system number. The signaling/asn
// package implements it over a MaxMind-format database.
type Locator interface {
	// ASN returns the autonomous system of addr, or false when unknown.
	ASN(addr netip.Addr) (uint32, bool)
}

// NetworkPrefix returns the network a peer shares with its neighbours for
// peer choice: the /24 of an IPv4 address, the /48 of an IPv6 address.
func NetworkPrefix(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// locate returns the locality of addr, with its ASN when loc is set.
func locate(addr netip.Addr, loc Locator) Locality {
	l := Locality{Prefix: NetworkPrefix(addr)}
	if loc != nil && addr.IsValid() {
		if asn, ok := loc.ASN(addr.Unmap()); ok {
			l.ASN = asn
		}
	}
	return l
}

// clientIP returns the address of the client behind r. The socket's peer
// address is used unless it is one of the trusted proxies; then the
// X-Forwarded-For chain is walked from the right, skipping trusted proxies,
// and the first untrusted address is the client.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !isTrusted(addr, trusted) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		hop = hop.Unmap()
		if !isTrusted(hop, trusted) {
			return hop
		}
		addr = hop
	}
	return addr
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
