package signaling

import (
	"net/http"
	"net/netip"
	"strconv"
	"testing"

	"github.com/nearcast/nearcast/signaling/wtproto"
)

func pid(s string) wtproto.PeerID { return wtproto.PeerID((s + "--------------------")[:20]) }

func where(addr string) Locality { return Locality{Prefix: NetworkPrefix(netip.MustParseAddr(addr))} }

func TestMemoryBackendMembership(t *testing.T) {
	b := NewMemoryBackend()
	h := wtproto.InfoHash("hhhhhhhhhhhhhhhhhhhh")
	c1, c2 := ConnID{Seq: 1}, ConnID{Seq: 2}
	if n, err := b.Join(h, Member{Peer: pid("a"), Conn: c1, Seeder: true}); err != nil || n != (Counts{Complete: 1}) {
		t.Fatalf("join: %v %v", n, err)
	}
	if _, err := b.Join(h, Member{Peer: pid("a"), Conn: c2}); err != ErrPeerIDTaken {
		t.Fatalf("join with a taken peer_id: %v", err)
	}
	// Refreshing flips seeder state without double counting.
	if n, _ := b.Join(h, Member{Peer: pid("a"), Conn: c1}); n != (Counts{Incomplete: 1}) {
		t.Fatalf("refresh: %v", n)
	}
	if b.Leave(h, pid("a"), c2) {
		t.Fatal("another connection removed the peer")
	}
	if !b.Leave(h, pid("a"), c1) {
		t.Fatal("owner could not leave")
	}
	if s, p := b.Size(); s != 0 || p != 0 {
		t.Fatalf("size after leave: %d swarms %d peers", s, p)
	}
}

func TestPickNeverReturnsSelfOrDuplicates(t *testing.T) {
	b := NewMemoryBackend()
	h := wtproto.InfoHash("hhhhhhhhhhhhhhhhhhhh")
	for i := range 30 {
		addr := "10.0." + strconv.Itoa(i%3) + "." + strconv.Itoa(i)
		if _, err := b.Join(h, Member{Peer: pid(strconv.Itoa(i)), Conn: ConnID{Seq: uint64(i)}, Where: where(addr)}); err != nil {
			t.Fatal(err)
		}
	}
	for n := range 32 {
		got := b.Pick(h, PickRequest{Self: pid("0"), Near: where("10.0.0.99"), N: n, RandomShare: 0.2})
		if len(got) != min(n, 29) {
			t.Fatalf("Pick(%d) returned %d", n, len(got))
		}
		seen := map[wtproto.PeerID]bool{}
		for _, m := range got {
			if m.Peer == pid("0") || seen[m.Peer] {
				t.Fatalf("Pick(%d) returned self or a duplicate: %v", n, got)
			}
			seen[m.Peer] = true
		}
	}
}

// TestPickRandomShareKeepsSwarmConnected checks the random share: even with
// enough nearby peers to fill every slot, far peers keep getting offers.
func TestPickRandomShareKeepsSwarmConnected(t *testing.T) {
	b := NewMemoryBackend()
	h := wtproto.InfoHash("hhhhhhhhhhhhhhhhhhhh")
	for i := range 10 {
		b.Join(h, Member{Peer: pid("near" + strconv.Itoa(i)), Conn: ConnID{Seq: uint64(i)}, Where: where("10.1.1." + strconv.Itoa(i))})
	}
	for i := range 20 {
		b.Join(h, Member{Peer: pid("far" + strconv.Itoa(i)), Conn: ConnID{Seq: uint64(100 + i)}, Where: where("10.2." + strconv.Itoa(i) + ".1")})
	}
	near := where("10.1.1.200")
	count := func(share float64) (nearN, farN int) {
		for range 500 {
			for _, m := range b.Pick(h, PickRequest{Self: pid("x"), Near: near, N: 5, RandomShare: share}) {
				if m.Where == near {
					nearN++
				} else {
					farN++
				}
			}
		}
		return
	}
	if n, f := count(0); f != 0 || n != 2500 {
		t.Fatalf("share 0: %d near %d far; want all near", n, f)
	}
	// Share 0.2 of 5 is one random slot out of 26 remaining peers (20 far):
	// about 385 of 500 picks should land far. A locality-only picker gives 0.
	if _, f := count(0.2); f < 300 || f > 470 {
		t.Fatalf("share 0.2: %d far picks of 500, want about 385", f)
	}
	// Share 1: uniform over 30 peers, 2/3 far: about 1667 of 2500.
	if _, f := count(1); f < 1450 || f > 1850 {
		t.Fatalf("share 1: %d far picks of 2500, want about 1667", f)
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		remote, xff string
		trusted     []netip.Prefix
		want        string
	}{
		{"203.0.113.5:1234", "198.51.100.1", nil, "203.0.113.5"},
		{"203.0.113.5:1234", "198.51.100.1", trusted, "203.0.113.5"},                  // untrusted socket peer
		{"10.0.0.2:1234", "198.51.100.1", trusted, "198.51.100.1"},                    // one trusted proxy
		{"10.0.0.2:1234", "1.2.3.4, 198.51.100.1, 10.0.0.9", trusted, "198.51.100.1"}, // rightmost untrusted
		{"10.0.0.2:1234", "", trusted, "10.0.0.2"},                                    // no header
		{"10.0.0.2:1234", "garbage", trusted, "10.0.0.2"},                             // unparsable hop
		{"[::ffff:203.0.113.5]:1234", "", nil, "203.0.113.5"},                         // 4-in-6 unmapped
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := clientIP(r, c.trusted); got.String() != c.want {
			t.Errorf("clientIP(%s, %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

func TestNetworkPrefix(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.77":        "192.0.2.0/24",
		"::ffff:192.0.2.77": "192.0.2.0/24",
		"2001:db8:1:2::5":   "2001:db8:1::/48",
	} {
		if got := NetworkPrefix(netip.MustParseAddr(addr)).String(); got != want {
			t.Errorf("NetworkPrefix(%s) = %s, want %s", addr, got, want)
		}
	}
}
