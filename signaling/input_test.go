package signaling_test

import (
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/signaling"
)

// clientFrame builds one masked client frame (RFC 6455 section 5.2).
var clientFrame = signaling.MaskedFrame

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeRaw writes bytes on the client's socket, bypassing its framing.
func (c *client) writeRaw(b []byte) {
	c.t.Helper()
	_ = c.ws.NetConn().SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := c.ws.NetConn().Write(b); err != nil {
		c.t.Fatalf("raw write: %v", err)
	}
}

// Several messages, a ping, and a fragmented message with a pong between its
// fragments, all in one TCP write: the server must serve every one of them,
// although the socket reports "readable" only once.
func TestPipelinedFramesAreAllServed(t *testing.T) {
	ts := startServer(t)
	c := ts.dial(nil)
	pongs := make(chan string, 4)
	c.ws.SetPongHandler(func(data string) error { pongs <- data; return nil })

	first := mustMarshal(t, msg{"action": "announce", "info_hash": swarmA, "peer_id": id20("pipe"), "left": 1})
	second := mustMarshal(t, msg{"action": "announce", "info_hash": swarmB, "peer_id": id20("pipe"), "left": 1})
	scrape := mustMarshal(t, msg{"action": "scrape", "info_hash": swarmA})
	var raw []byte
	raw = append(raw, clientFrame(true, websocket.TextMessage, first)...)
	raw = append(raw, clientFrame(true, websocket.PingMessage, []byte("are you there"))...)
	half := len(second) / 2
	raw = append(raw, clientFrame(false, websocket.TextMessage, second[:half])...)
	raw = append(raw, clientFrame(true, websocket.PongMessage, []byte("unsolicited"))...)
	raw = append(raw, clientFrame(true, 0, second[half:])...)
	const scrapes = 30 // small messages, many per read
	for range scrapes {
		raw = append(raw, clientFrame(true, websocket.TextMessage, scrape)...)
	}
	c.writeRaw(raw)

	want := []struct{ action, hash string }{{"announce", swarmA}, {"announce", swarmB}}
	for range scrapes {
		want = append(want, struct{ action, hash string }{"scrape", ""})
	}
	for _, w := range want {
		m := c.recv()
		if m.str("action") != w.action || (w.hash != "" && m.str("info_hash") != w.hash) {
			t.Fatalf("got %v, want %s for %q", m, w.action, w.hash)
		}
	}
	select {
	case p := <-pongs:
		if p != "are you there" {
			t.Fatalf("pong payload %q", p)
		}
	case <-time.After(testTimeout):
		t.Fatal("no pong for the client's ping")
	}
}

// A frame that trickles in, a few bytes at a time across its header and
// payload, is served once it is complete.
func TestFrameArrivingInPiecesIsServed(t *testing.T) {
	ts := startServer(t)
	c := ts.dial(nil)
	frame := clientFrame(true, websocket.TextMessage,
		mustMarshal(t, msg{"action": "announce", "info_hash": swarmA, "peer_id": id20("slow"), "left": 1}))
	for _, cut := range [][2]int{{0, 1}, {1, 3}, {3, 9}, {9, 20}, {20, len(frame)}} {
		c.writeRaw(frame[cut[0]:cut[1]])
		time.Sleep(15 * time.Millisecond)
	}
	if m := c.recv(); m.str("action") != "announce" || m.str("info_hash") != swarmA {
		t.Fatalf("got %v", m)
	}
	// The connection is still in step afterwards.
	if n := c.peers(swarmA); n != 1 {
		t.Fatalf("swarm has %d peers, want 1", n)
	}
}

// Idle connections cost the server no goroutine: it waits for all of them
// with one poller.
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the poller is Linux-only; elsewhere each connection has a reader goroutine")
	}
	ts := startServer(t, signaling.WithMaxConnsPerIP(0), signaling.WithMessageRate(0, 0))
	warm := ts.dial(nil)
	warm.sync(swarmA)
	before := runtime.NumGoroutine()
	const n = 200
	for i := range n {
		c := ts.dial(nil)
		c.announce(swarmA, id20("idle"+string(rune('a'+i%26))+string(rune('a'+i/26))), nil)
	}
	// Let the handlers and writers that served the announces return.
	deadline := time.Now().Add(testTimeout)
	var after int
	for {
		after = runtime.NumGoroutine()
		if after-before < n/10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after-before >= n/10 {
		t.Fatalf("%d idle connections added %d goroutines", n, after-before)
	}
	if got := warm.peers(swarmA); got != n {
		t.Fatalf("swarm has %d peers, want %d", got, n)
	}
}
