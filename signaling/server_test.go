package signaling_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/nearcast/nearcast/signaling"
)

var (
	swarmA = id20("swarm-A")
	swarmB = id20("swarm-B")
)

func TestOfferAnswerHandshake(t *testing.T) {
	ts := startServer(t)
	alice, bob := ts.dial(nil), ts.dial(nil)
	alicePeer, bobPeer := id20("alice"), id20("bob")

	r := bob.announce(swarmA, bobPeer, msg{"event": "started", "numwant": 5, "offers": []msg{}})
	if r.str("action") != "announce" || r.str("info_hash") != swarmA || r.num("incomplete") != 1 || r.num("interval") != 120 {
		t.Fatalf("bob's announce response: %v", r)
	}
	r = alice.announce(swarmA, alicePeer, msg{"event": "started", "numwant": 5, "offers": offers(1, "alice")})
	if r.num("incomplete") != 2 {
		t.Fatalf("alice's announce response: %v", r)
	}

	offer := bob.recv()
	if offer.str("peer_id") != alicePeer || offer.str("offer_id") != id20("alicea") || offer.str("info_hash") != swarmA {
		t.Fatalf("bob got %v", offer)
	}
	if sdp, _ := offer["offer"].(map[string]any); sdp["sdp"] != "v=0 alice" || sdp["type"] != "offer" {
		t.Fatalf("offer SDP changed: %v", offer["offer"])
	}

	bob.announce(swarmA, bobPeer, msg{"to_peer_id": alicePeer, "offer_id": offer.str("offer_id"),
		"answer": msg{"type": "answer", "sdp": "v=0 bob"}})
	answer := alice.recv()
	if answer.str("peer_id") != bobPeer || answer.str("offer_id") != id20("alicea") || answer.str("info_hash") != swarmA {
		t.Fatalf("alice got %v", answer)
	}
	if sdp, _ := answer["answer"].(map[string]any); sdp["sdp"] != "v=0 bob" {
		t.Fatalf("answer SDP changed: %v", answer["answer"])
	}
	// An answer is not acknowledged: bob's next message is his scrape reply.
	bob.sync(swarmA)
	if got := ts.metric(`nearcast_signaling_relays_total{kind="answer"}`); got != "1" {
		t.Errorf("answer relays metric = %q", got)
	}

	// The same offer cannot be answered twice.
	bob.announce(swarmA, bobPeer, msg{"to_peer_id": alicePeer, "offer_id": offer.str("offer_id"),
		"answer": msg{"type": "answer", "sdp": "again"}})
	expectFailure(t, bob.recv(), "does not match")
}

func TestSwarmIsolation(t *testing.T) {
	ts := startServer(t)
	a, b, c := ts.dial(nil), ts.dial(nil), ts.dial(nil)
	b.announce(swarmB, id20("b"), nil)
	c.announce(swarmA, id20("c"), nil)
	a.announce(swarmA, id20("a"), msg{"offers": offers(3, "a")})
	if got := c.recv(); got.str("peer_id") != id20("a") {
		t.Fatalf("peer in the same swarm got %v", got)
	}
	a.sync(swarmA) // a's offers have all been routed by now
	if f := b.sync(swarmB); f.num("incomplete") != 1 {
		t.Fatalf("swarm B counts: %v", f)
	}
	// b's first message after all that is its scrape reply (sync checked):
	// no offer from swarm A reached it.
}

func TestSeveralSwarmsPerConnection(t *testing.T) {
	ts := startServer(t)
	a, b := ts.dial(nil), ts.dial(nil)
	for _, h := range []string{swarmA, swarmB} {
		b.announce(h, id20("b"+h[6:7]), nil)
	}
	a.announce(swarmA, id20("a"), msg{"offers": offers(1, "x")})
	a.announce(swarmB, id20("a"), msg{"offers": offers(1, "y")})
	seen := map[string]bool{}
	for range 2 {
		o := b.recv()
		seen[o.str("info_hash")] = true
	}
	if !seen[swarmA] || !seen[swarmB] {
		t.Fatalf("offers seen for %v", seen)
	}
}

func TestStopAndDisconnectCleanup(t *testing.T) {
	ts := startServer(t)
	a, b, watcher := ts.dial(nil), ts.dial(nil), ts.dial(nil)
	a.announce(swarmA, id20("a"), msg{"event": "started"})
	a.announce(swarmB, id20("a"), msg{"event": "started"})
	b.announce(swarmA, id20("b"), msg{"event": "completed", "left": 0})
	if f := watcher.sync(swarmA); f.num("complete") != 1 || f.num("incomplete") != 1 {
		t.Fatalf("swarm A counts %v", f)
	}

	r := b.announce(swarmA, id20("b"), msg{"event": "stopped"})
	if r.num("complete") != 0 || r.num("incomplete") != 1 {
		t.Fatalf("after stop: %v", r)
	}
	// a disconnects: it leaves both its swarms at once.
	_ = a.ws.Close()
	watcher.waitPeers(swarmA, 0)
	watcher.waitPeers(swarmB, 0)
	if got := ts.metric("nearcast_signaling_peers"); got != "0" {
		t.Errorf("peers gauge = %q", got)
	}
}

func TestSpoofedPeerID(t *testing.T) {
	ts := startServer(t)
	owner, thief, other := ts.dial(nil), ts.dial(nil), ts.dial(nil)
	ownerID := id20("owner")
	owner.announce(swarmA, ownerID, nil)
	other.announce(swarmA, id20("other"), msg{"offers": offers(1, "o")})
	offer := owner.recv()

	// Speaking as the owner: refused, nothing changes.
	expectFailure(t, thief.announce(swarmA, ownerID, nil), "in use by another connection")
	// Stopping the owner: refused.
	expectFailure(t, thief.announce(swarmA, ownerID, msg{"event": "stopped"}), "in use by another connection")
	// Answering as the owner, even with the right offer_id: refused.
	thief.announce(swarmA, ownerID, msg{"to_peer_id": id20("other"), "offer_id": offer.str("offer_id"), "answer": msg{"type": "answer", "sdp": "evil"}})
	expectFailure(t, thief.recv(), "not announced by this connection")
	if n := thief.peers(swarmA); n != 2 {
		t.Fatalf("swarm has %d peers after spoofing, want 2", n)
	}
	// The owner can still answer its offer.
	owner.announce(swarmA, ownerID, msg{"to_peer_id": id20("other"), "offer_id": offer.str("offer_id"), "answer": msg{"type": "answer", "sdp": "good"}})
	if got := other.recv(); got.str("peer_id") != ownerID {
		t.Fatalf("other got %v", got)
	}
	if got := ts.metric(`nearcast_signaling_rejections_total{reason="peer_id_taken"}`); got != "2" {
		t.Errorf("peer_id_taken rejections = %q", got)
	}
}

func TestUnmatchedAndExpiredAnswers(t *testing.T) {
	clock := newFakeClock()
	ts := startServer(t, signaling.WithClock(clock.Now), signaling.WithOfferTTL(30e9))
	a, b := ts.dial(nil), ts.dial(nil)
	b.announce(swarmA, id20("b"), nil)
	a.announce(swarmA, id20("a"), msg{"offers": offers(1, "first")})
	o1 := b.recv()
	a.announce(swarmA, id20("a"), msg{"offers": offers(1, "second")})
	o2 := b.recv()

	// Wrong offer_id, and the right offer_id from the wrong peer.
	b.announce(swarmA, id20("b"), msg{"to_peer_id": id20("a"), "offer_id": id20("nope"), "answer": msg{"type": "answer"}})
	expectFailure(t, b.recv(), "does not match")
	b.announce(swarmA, id20("b"), msg{"to_peer_id": id20("z"), "offer_id": o1.str("offer_id"), "answer": msg{"type": "answer"}})
	expectFailure(t, b.recv(), "does not match")

	// Within the TTL the first offer is answerable; past it, the second is not.
	b.announce(swarmA, id20("b"), msg{"to_peer_id": id20("a"), "offer_id": o1.str("offer_id"), "answer": msg{"type": "answer"}})
	if got := a.recv(); got.str("offer_id") != o1.str("offer_id") {
		t.Fatalf("a got %v", got)
	}
	clock.Advance(31e9)
	b.announce(swarmA, id20("b"), msg{"to_peer_id": id20("a"), "offer_id": o2.str("offer_id"), "answer": msg{"type": "answer"}})
	expectFailure(t, b.recv(), "does not match")
	a.sync(swarmA) // nothing else arrived for a
	if got := ts.metric(`nearcast_signaling_rejections_total{reason="unmatched_answer"}`); got != "3" {
		t.Errorf("unmatched_answer rejections = %q", got)
	}
}

func TestAnswerToVanishedPeer(t *testing.T) {
	ts := startServer(t)
	a, b := ts.dial(nil), ts.dial(nil)
	b.announce(swarmA, id20("b"), nil)
	a.announce(swarmA, id20("a"), msg{"offers": offers(1, "a")})
	o := b.recv()
	_ = a.ws.Close()
	b.waitPeers(swarmA, 1)
	b.announce(swarmA, id20("b"), msg{"to_peer_id": id20("a"), "offer_id": o.str("offer_id"), "answer": msg{"type": "answer"}})
	expectFailure(t, b.recv(), "left")
}

func TestMalformedMessagesChangeNothing(t *testing.T) {
	ts := startServer(t)
	c := ts.dial(nil)
	c.announce(swarmA, id20("c"), nil)
	cases := []struct {
		frame, reason string
		withHash      bool
	}{
		{`{"action":"announce",`, "malformed JSON", false},
		{`[1,2,3]`, "not a JSON object", false},
		{`{"action":"teleport","info_hash":"` + swarmA + `"}`, "unknown action", true},
		{`{"action":"announce","info_hash":"short","peer_id":"` + id20("x") + `"}`, "invalid info_hash", false},
		{`{"action":"announce","info_hash":"` + swarmB + `","peer_id":42}`, "invalid peer_id", true},
		{`{"action":"announce","info_hash":"` + swarmB + `","peer_id":"` + id20("x") + `","numwant":"many"}`, "invalid numwant", true},
		{`{"action":"announce","info_hash":"` + swarmB + `","peer_id":"` + id20("x") + `","offers":"nope"}`, "wrong type", true},
		{`{"action":"announce","info_hash":"` + swarmB + `","peer_id":"` + id20("x") + `","event":"boom"}`, "invalid event", true},
	}
	for _, tc := range cases {
		c.sendRaw([]byte(tc.frame))
		m := c.recv()
		expectFailure(t, m, tc.reason)
		if (m.str("info_hash") != "") != tc.withHash {
			t.Errorf("%s: failure info_hash = %q", tc.frame, m.str("info_hash"))
		}
	}
	if n := c.peers(swarmB); n != 0 {
		t.Fatalf("swarm B has %d peers after malformed announces", n)
	}
	if n := c.peers(swarmA); n != 1 {
		t.Fatalf("swarm A has %d peers, want 1", n)
	}
	if got := ts.metric(`nearcast_signaling_messages_in_total{kind="invalid"}`); got != "8" {
		t.Errorf("invalid messages metric = %q", got)
	}
}

func TestHealthAndMetricsEndpoints(t *testing.T) {
	ts := startServer(t)
	resp, err := http.Get(ts.http.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
	c := ts.dial(nil)
	c.announce(swarmA, id20("c"), nil)
	c.sync(swarmA)
	for name, want := range map[string]string{
		"nearcast_signaling_connections":                         "1",
		"nearcast_signaling_swarms":                              "1",
		"nearcast_signaling_peers":                               "1",
		`nearcast_signaling_messages_in_total{kind="announce"}`:  "1",
		`nearcast_signaling_messages_in_total{kind="scrape"}`:    "1",
		`nearcast_signaling_messages_out_total{kind="announce"}`: "1",
		`nearcast_signaling_messages_out_total{kind="scrape"}`:   "1",
		"nearcast_signaling_upgrades_total":                      "1",
	} {
		if got := ts.metric(name); got != want {
			t.Errorf("%s = %q, want %s", name, got, want)
		}
	}
	if !strings.HasPrefix(ts.url, "ws://127.0.0.1:") {
		t.Fatalf("server is not on loopback: %s", ts.url)
	}
}
