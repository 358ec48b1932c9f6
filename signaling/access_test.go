package signaling_test

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/signaling"
	"github.com/nearcast/nearcast/signaling/asn"
	"github.com/nearcast/nearcast/signaling/asn/asntest"
	"github.com/nearcast/nearcast/signaling/wtproto"
)

var secret = []byte("0123456789abcdef-test-secret")

func tokenURL(ts *testServer, tok string) string {
	return ts.url + "?token=" + url.QueryEscape(tok)
}

func sign(t *testing.T, c signaling.TokenClaims) string {
	t.Helper()
	tok, err := signaling.SignToken(secret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestJoinTokens(t *testing.T) {
	clock := newFakeClock()
	ts := startServer(t, signaling.WithTokenSecret(secret), signaling.WithClock(clock.Now))
	exp := clock.Now().Add(time.Hour).Unix()
	valid := sign(t, signaling.TokenClaims{Expires: exp})
	forged, _ := signaling.SignToken([]byte("another-secret-of-16+"), signaling.TokenClaims{Expires: exp})
	expired := sign(t, signaling.TokenClaims{Expires: clock.Now().Unix() - 1})

	for name, u := range map[string]string{
		"missing":  ts.url,
		"garbage":  tokenURL(ts, "not-a-token"),
		"forged":   tokenURL(ts, forged),
		"tampered": tokenURL(ts, valid[:len(valid)-2]+"AA"),
		"expired":  tokenURL(ts, expired),
	} {
		c := ts.dialURL(u, nil)
		expectFailure(t, c.recv(), "invalid join token")
		if code, _ := c.expectClose(); code != websocket.ClosePolicyViolation {
			t.Fatalf("%s: close code %d, want 1008", name, code)
		}
	}
	good := ts.dialURL(tokenURL(ts, valid), nil)
	if r := good.announce(swarmA, id20("good"), nil); r.num("incomplete") != 1 {
		t.Fatalf("valid token: %v", r)
	}
	if got := ts.metric(`nearcast_signaling_rejections_total{reason="token"}`); got != "5" {
		t.Errorf("token rejections = %q", got)
	}
	if got := ts.metric("nearcast_signaling_peers"); got != "1" {
		t.Errorf("peers = %q: a refused connection changed swarm state", got)
	}

	// A token that expires while connected stops working at the next announce.
	clock.Advance(2 * time.Hour)
	expectFailure(t, good.announce(swarmA, id20("good"), nil), "join token expired")
	if code, _ := good.expectClose(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
}

func TestJoinTokenSwarmRestriction(t *testing.T) {
	ts := startServer(t, signaling.WithTokenSecret(secret))
	tok := sign(t, signaling.TokenClaims{Expires: time.Now().Add(time.Hour).Unix(), Swarms: []string{wtproto.InfoHash(swarmA).Hex()}})
	c := ts.dialURL(tokenURL(ts, tok), nil)
	if r := c.announce(swarmA, id20("c"), nil); r.num("incomplete") != 1 {
		t.Fatalf("allowed swarm: %v", r)
	}
	expectFailure(t, c.announce(swarmB, id20("c"), nil), "does not allow this swarm")
	if n := c.peers(swarmB); n != 0 {
		t.Fatalf("forbidden swarm has %d peers", n)
	}
}

func TestVerifyToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tok := sign(t, signaling.TokenClaims{Expires: now.Unix() + 60, Subject: "viewer-7"})
	c, err := signaling.VerifyToken(secret, tok, now)
	if err != nil || c.Subject != "viewer-7" {
		t.Fatalf("VerifyToken: %+v %v", c, err)
	}
	if _, err := signaling.VerifyToken(secret, tok, now.Add(61*time.Second)); !errors.Is(err, signaling.ErrToken) {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := signaling.VerifyToken(secret, sign(t, signaling.TokenClaims{}), now); !errors.Is(err, signaling.ErrToken) {
		t.Fatalf("token without expiry: %v", err)
	}
}

// The locality tests run many clients from one loopback address and give
// each its own address through X-Forwarded-For, which the server trusts
// from loopback only because the test says so.
func dialFrom(ts *testServer, addr string) *client {
	return ts.dial(http.Header{"X-Forwarded-For": {"192.0.2.99, " + addr}})
}

// offersReceived counts offers that reached each client, draining them.
func offersReceived(t *testing.T, clients []*client) []int {
	t.Helper()
	out := make([]int, len(clients))
	for i, c := range clients {
		c.send(msg{"action": "scrape", "info_hash": swarmA})
		for {
			m := c.recv()
			if m.str("action") == "scrape" {
				break
			}
			if m["offer"] != nil {
				out[i]++
			}
		}
	}
	return out
}

func TestLocalityPrefersSameSubnet(t *testing.T) {
	ts := startServer(t, signaling.WithTrustedProxies(netip.MustParsePrefix("127.0.0.0/8")), signaling.WithMessageRate(0, 0))
	var near, far []*client
	for i := range 4 {
		c := dialFrom(ts, "10.1.1."+strconv.Itoa(10+i))
		c.announce(swarmA, id20("near"+strconv.Itoa(i)), nil)
		near = append(near, c)
	}
	for i := range 20 {
		c := dialFrom(ts, "10.9."+strconv.Itoa(i)+".1")
		c.announce(swarmA, id20("far"+strconv.Itoa(i)), nil)
		far = append(far, c)
	}
	offerer := dialFrom(ts, "10.1.1.200")
	// Five offers with the default 20 % random share: four go to the four
	// peers of 10.1.1.0/24, one to a random other peer.
	for round := range 5 {
		offerer.announce(swarmA, id20("offerer"), msg{"offers": offers(5, "r"+strconv.Itoa(round))})
		offerer.sync(swarmA)
		for i, n := range offersReceived(t, near) {
			if n != 1 {
				t.Fatalf("round %d: near peer %d got %d offers, want 1", round, i, n)
			}
		}
		total := 0
		for _, n := range offersReceived(t, far) {
			total += n
		}
		if total != 1 {
			t.Fatalf("round %d: far peers got %d offers, want 1", round, total)
		}
	}
}

func TestLocalityUntrustedForwardedForIgnored(t *testing.T) {
	ts := startServer(t) // no trusted proxies
	var peers []*client
	for i := range 6 {
		c := dialFrom(ts, "10.1.1."+strconv.Itoa(10+i))
		c.announce(swarmA, id20("p"+strconv.Itoa(i)), nil)
		peers = append(peers, c)
	}
	// Everyone is 127.0.0.1 to the server: all are "near", and the offers go
	// to distinct peers at random.
	offerer := dialFrom(ts, "10.1.1.200")
	offerer.announce(swarmA, id20("offerer"), msg{"offers": offers(6, "x")})
	offerer.sync(swarmA)
	for i, n := range offersReceived(t, peers) {
		if n != 1 {
			t.Fatalf("peer %d got %d offers", i, n)
		}
	}
}

func TestLocalityByASN(t *testing.T) {
	db, err := asn.Open(asntest.WriteDB(t, map[string]uint32{"10.1.0.0/16": 64500, "10.2.0.0/16": 64501}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ts := startServer(t, signaling.WithTrustedProxies(netip.MustParsePrefix("127.0.0.1/32")), signaling.WithLocator(db), signaling.WithMessageRate(0, 0))
	var sameNet, sameAS, other []*client
	sameNet = append(sameNet, dialFrom(ts, "10.1.1.7"))
	for i := range 3 {
		sameAS = append(sameAS, dialFrom(ts, "10.1."+strconv.Itoa(50+i)+".1"))
	}
	for i := range 12 {
		other = append(other, dialFrom(ts, "10.2."+strconv.Itoa(i)+".1"))
	}
	for i, c := range append(append(append([]*client{}, sameNet...), sameAS...), other...) {
		c.announce(swarmA, id20("peer"+strconv.Itoa(i)), nil)
	}
	offerer := dialFrom(ts, "10.1.1.200")
	// 5 offers, share 0.2: 4 near = 1 same /24 + 3 same ASN; 1 random of 12.
	offerer.announce(swarmA, id20("offerer"), msg{"offers": offers(5, "x")})
	offerer.sync(swarmA)
	for i, n := range offersReceived(t, append(sameNet, sameAS...)) {
		if n != 1 {
			t.Fatalf("nearby peer %d got %d offers, want 1", i, n)
		}
	}
	total := 0
	for _, n := range offersReceived(t, other) {
		total += n
	}
	if total != 1 {
		t.Fatalf("other-AS peers got %d offers, want 1", total)
	}
}
