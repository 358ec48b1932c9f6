//go:build js && wasm

package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/tracker"
)

func TestWebSocketConn(t *testing.T) {
	made := installFakeWebSocket(t)
	base := pendingCallbacks()
	ctx := testCtx(t)

	type dialed struct {
		c   tracker.Conn
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		c, err := dialWebSocket(ctx, "ws://tracker/announce")
		ch <- dialed{c, err}
	}()
	ws := <-made
	if ws.url != "ws://tracker/announce" {
		t.Errorf("url = %q", ws.url)
	}
	ws.open()
	d := <-ch
	if d.err != nil {
		t.Fatal(d.err)
	}
	c := d.c

	if err := c.Write(ctx, []byte(`{"action":"announce"}`)); err != nil {
		t.Fatal(err)
	}
	if got := <-ws.sent; got != `{"action":"announce"}` {
		t.Errorf("sent %q", got)
	}
	ws.message(`{"interval":120}`)
	if got, err := c.Read(ctx); err != nil || string(got) != `{"interval":120}` {
		t.Errorf("Read = %q, %v", got, err)
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := c.Read(rctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Read with nothing to read = %v", err)
	}
	ws.message(strings.Repeat("x", tracker.MaxMessageSize+1))
	if _, err := c.Read(ctx); !errors.Is(err, tracker.ErrTooLarge) {
		t.Errorf("Read of an oversized message = %v, want ErrTooLarge", err)
	}
	if err := c.Write(ctx, []byte("x")); err == nil {
		t.Error("Write on a failed connection succeeded")
	}
	_ = c.Close()
	_ = c.Close()
	if code := <-ws.closed; code != 1000 {
		t.Errorf("close code %d", code)
	}
	if n := pendingCallbacks(); n != base {
		t.Errorf("%d callbacks left", n-base)
	}
}

func TestWebSocketDialFailures(t *testing.T) {
	made := installFakeWebSocket(t)
	base := pendingCallbacks()
	ctx := testCtx(t)

	// Refused: the socket closes before it opens.
	go func() { (<-made).serverClose(1006) }()
	if _, err := dialWebSocket(ctx, "ws://tracker"); !errors.Is(err, ErrWebSocket) || !strings.Contains(err.Error(), "1006") {
		t.Errorf("refused dial = %v", err)
	}
	// ctx ends first.
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := dialWebSocket(dctx, "ws://tracker"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("dial past ctx = %v", err)
	}
	ws := <-made
	if code := <-ws.closed; code != 1000 {
		t.Errorf("abandoned socket closed with %d", code)
	}
	if n := pendingCallbacks(); n != base {
		t.Errorf("%d callbacks left", n-base)
	}
}

// TestTrackerClientOverWebSocket runs the engine's tracker client on the
// browser Conn: it connects, announces and takes the tracker's reply.
func TestTrackerClientOverWebSocket(t *testing.T) {
	made := installFakeWebSocket(t)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case ws := <-made:
				ws.open()
			case <-stop:
				return
			}
		}
	}()
	c, err := tracker.New("ws://tracker/announce", dialWebSocket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if s := <-c.Signals(); s.Kind != engine.SignalConnected {
		t.Fatalf("first signal %v", s.Kind)
	}
	h := engine.SwarmKey("swarm")
	if err := c.Announce(h, engine.EventStarted, 0, nil); err != nil {
		t.Fatal(err)
	}
}
