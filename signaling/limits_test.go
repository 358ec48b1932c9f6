package signaling_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/signaling"
)

func TestReadLimitCloses1009OthersUnaffected(t *testing.T) {
	ts := startServer(t, signaling.WithReadLimit(4096))
	big, other := ts.dial(nil), ts.dial(nil)
	other.announce(swarmA, id20("other"), nil)
	big.announce(swarmA, id20("big"), nil)

	// The write may fail half-way once the server has closed: that is fine.
	_ = big.ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"announce","junk":"`+strings.Repeat("x", 8192)+`"}`))
	if code, _ := big.expectClose(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	other.waitPeers(swarmA, 1) // big left its swarm, other is still served
	if got := ts.metric(`nearcast_signaling_rejections_total{reason="read_limit"}`); got != "1" {
		t.Errorf("read_limit rejections = %q", got)
	}
}

func TestMessageRateLimit(t *testing.T) {
	ts := startServer(t, signaling.WithMessageRate(1, 3))
	c, other := ts.dial(nil), ts.dial(nil)
	for range 3 {
		c.send(msg{"action": "scrape", "info_hash": swarmA})
	}
	c.send(msg{"action": "scrape", "info_hash": swarmA}) // the fourth, within a second
	for range 3 {
		if m := c.recv(); m.str("action") != "scrape" {
			t.Fatalf("got %v", m)
		}
	}
	expectFailure(t, c.recv(), "rate limit exceeded")
	if code, _ := c.expectClose(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
	other.sync(swarmA)
	if got := ts.metric(`nearcast_signaling_rejections_total{reason="rate_limit"}`); got != "1" {
		t.Errorf("rate_limit rejections = %q", got)
	}
}

func TestConnectionsPerIPCap(t *testing.T) {
	ts := startServer(t, signaling.WithMaxConnsPerIP(2))
	// A round trip on each connection makes sure the server has admitted
	// it before the next one dials: the upgrade completes before admission.
	first := ts.dial(nil)
	first.sync(swarmA)
	ts.dial(nil).sync(swarmA)
	third := ts.dial(nil)
	expectFailure(t, third.recv(), "too many connections")
	if code, _ := third.expectClose(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
	if got := ts.metric(`nearcast_signaling_rejections_total{reason="ip_conn_limit"}`); got != "1" {
		t.Errorf("ip_conn_limit rejections = %q", got)
	}
	// Once one leaves, a new connection is admitted.
	_ = first.ws.Close()
	deadline := time.Now().Add(testTimeout)
	for ts.metric("nearcast_signaling_connections") != "1" {
		if time.Now().After(deadline) {
			t.Fatal("connection count did not drop")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.dial(nil).sync(swarmA)
}

func TestMaxOffersAndNumWantClamp(t *testing.T) {
	ts := startServer(t, signaling.WithMaxOffers(3), signaling.WithMaxNumWant(2))
	var peers []*client
	for i := range 6 {
		c := ts.dial(nil)
		c.announce(swarmA, id20("p"+string(rune('0'+i))), nil)
		peers = append(peers, c)
	}
	offerer := ts.dial(nil)
	received := func() int {
		t.Helper()
		n := 0
		for _, p := range peers {
			p.send(msg{"action": "scrape", "info_hash": swarmA})
			for {
				m := p.recv()
				if m.str("action") == "scrape" {
					break
				}
				if m["offer"] != nil {
					n++
				}
			}
		}
		return n
	}
	// numwant absent: max offers (3) of the 5 are relayed.
	offerer.announce(swarmA, id20("offerer"), msg{"offers": offers(5, "x")})
	offerer.sync(swarmA)
	if n := received(); n != 3 {
		t.Fatalf("relayed %d offers, want max-offers 3", n)
	}
	// numwant 10 is clamped to 2.
	offerer.announce(swarmA, id20("offerer"), msg{"numwant": 10, "offers": offers(5, "y")})
	offerer.sync(swarmA)
	if n := received(); n != 2 {
		t.Fatalf("relayed %d offers, want numwant clamp 2", n)
	}
	// numwant 1 is honoured.
	offerer.announce(swarmA, id20("offerer"), msg{"numwant": 1, "offers": offers(5, "z")})
	offerer.sync(swarmA)
	if n := received(); n != 1 {
		t.Fatalf("relayed %d offers, want numwant 1", n)
	}
}

func TestMaxSwarmsPerConnection(t *testing.T) {
	ts := startServer(t, signaling.WithMaxSwarms(2))
	c := ts.dial(nil)
	c.announce(id20("s1"), id20("c"), nil)
	c.announce(id20("s2"), id20("c"), nil)
	expectFailure(t, c.announce(id20("s3"), id20("c"), nil), "too many swarms")
	if n := c.peers(id20("s3")); n != 0 {
		t.Fatalf("third swarm has %d peers", n)
	}
	// Re-announcing in a joined swarm is fine, and leaving frees a slot.
	c.announce(id20("s1"), id20("c"), nil)
	c.announce(id20("s2"), id20("c"), msg{"event": "stopped"})
	if r := c.announce(id20("s3"), id20("c"), nil); r.num("incomplete") != 1 {
		t.Fatalf("join after stop: %v", r)
	}
}

func TestSlowReaderIsDisconnected(t *testing.T) {
	ts := startServer(t, signaling.WithSendQueue(4), signaling.WithMessageRate(0, 0),
		signaling.WithWriteTimeout(200*time.Millisecond))
	slow := ts.dial(nil)
	slow.announce(swarmA, id20("slow"), nil)
	// From here on slow never reads. The offerer floods it with large offers
	// until the server gives up on it; the offerer is never held up.
	offerer := ts.dial(nil)
	sdp := strings.Repeat("a", 60_000)
	start := time.Now()
	for i := 0; ; i++ {
		r := offerer.announce(swarmA, id20("offerer"), msg{"offers": []msg{{"offer": msg{"type": "offer", "sdp": sdp}, "offer_id": id20("o" + strconv.Itoa(i))}}})
		if r.str("action") != "announce" {
			t.Fatalf("offerer got %v", r)
		}
		if i%25 == 0 && ts.metric(`nearcast_signaling_rejections_total{reason="slow_reader"}`) == "1" {
			break
		}
		if i > 2000 || time.Since(start) > testTimeout {
			t.Fatalf("slow reader still connected after %d offers", i)
		}
	}
	offerer.waitPeers(swarmA, 1)
}

func TestHalfOpenConnectionIsReaped(t *testing.T) {
	ts := startServer(t, signaling.WithKeepalive(50*time.Millisecond, 300*time.Millisecond))
	mute, watcher := ts.dial(nil), ts.dial(nil)
	mute.announce(swarmA, id20("mute"), nil)
	// mute stops reading, so it never answers pings: the server must drop it.
	start := time.Now()
	watcher.waitPeers(swarmA, 0)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("reaped after %v, before the pong wait", d)
	}
}

func TestIdleConnectionIsClosed(t *testing.T) {
	ts := startServer(t, signaling.WithKeepalive(50*time.Millisecond, time.Second), signaling.WithIdleTimeout(300*time.Millisecond))
	idle := ts.dial(nil)
	idle.announce(swarmA, id20("idle"), nil)
	// idle keeps reading (so it answers pings) but sends nothing.
	code, text := idle.expectClose()
	if code != websocket.CloseNormalClosure || text != "idle timeout" {
		t.Fatalf("close %d %q, want 1000 idle timeout", code, text)
	}
	ts.dial(nil).waitPeers(swarmA, 0)
}

func TestAllowedOrigins(t *testing.T) {
	ts := startServer(t, signaling.WithAllowedOrigins("https://player.example"))
	ts.dial(http.Header{"Origin": {"https://player.example"}}).sync(swarmA)
	for _, origin := range []string{"https://evil.example", ""} {
		hdr := http.Header{}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		_, resp, err := websocket.DefaultDialer.Dial(ts.url, hdr)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %q: err %v, response %v; want 403", origin, err, resp)
		}
	}
	if got := ts.metric(`nearcast_signaling_rejections_total{reason="origin"}`); got != "2" {
		t.Errorf("origin rejections = %q", got)
	}
}

func TestGracefulShutdown(t *testing.T) {
	ts := startServer(t)
	a, b := ts.dial(nil), ts.dial(nil)
	a.announce(swarmA, id20("a"), nil)
	b.announce(swarmA, id20("b"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.srv.Shutdown(ctx) }()
	for _, c := range []*client{a, b} {
		if code, _ := c.expectClose(); code != websocket.CloseGoingAway {
			t.Fatalf("close code %d, want 1001", code)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	resp, err := http.Get(ts.http.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz after shutdown = %d", resp.StatusCode)
	}
	if _, resp, err := websocket.DefaultDialer.Dial(ts.url, nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("upgrade after shutdown: %v %v", err, resp)
	}
}

func TestInvalidOptions(t *testing.T) {
	for name, o := range map[string]signaling.Option{
		"read limit":   signaling.WithReadLimit(10),
		"rate":         signaling.WithMessageRate(-1, 1),
		"burst":        signaling.WithMessageRate(5, 0),
		"offers":       signaling.WithMaxOffers(0),
		"keepalive":    signaling.WithKeepalive(time.Second, time.Second),
		"share":        signaling.WithRandomShare(1.5),
		"path":         signaling.WithPath("announce"),
		"secret":       signaling.WithTokenSecret([]byte("short")),
		"conns per ip": signaling.WithMaxConnsPerIP(-1),
		"nil":          nil,
	} {
		if _, err := signaling.New(o); err == nil {
			t.Errorf("%s: New accepted an invalid option", name)
		}
	}
}
