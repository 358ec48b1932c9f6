//go:build !js

package tracker_test

import (
	"context"
	"crypto/sha1"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/native"
	"github.com/nearcast/nearcast/engine/tracker"
	"github.com/nearcast/nearcast/signaling"
)

// These tests run the client against nearcast's real signaling server on a
// loopback port, over native.DialWebSocket.

const itTimeout = 10 * time.Second

// trackerServer is a signaling server on a loopback listener.
type trackerServer struct {
	srv  *signaling.Server
	http *httptest.Server
	url  string
}

// startTracker serves a new signaling server on ln, or on a new loopback
// port when ln is nil.
func startTracker(t *testing.T, ln net.Listener) *trackerServer {
	t.Helper()
	srv, err := signaling.New()
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	if ln != nil {
		_ = hs.Listener.Close()
		hs.Listener = ln
	}
	hs.Start()
	ts := &trackerServer{srv: srv, http: hs, url: "ws" + strings.TrimPrefix(hs.URL, "http") + srv.Path()}
	t.Cleanup(ts.stop)
	return ts
}

// stop shuts the server down, closing every connection (1001). It may be
// called more than once.
func (ts *trackerServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()
	_ = ts.srv.Shutdown(ctx)
	ts.http.Close()
}

// addr returns the server's listening address.
func (ts *trackerServer) addr() string { return ts.http.Listener.Addr().String() }

func newClient(t *testing.T, url string) *tracker.Client {
	t.Helper()
	c, err := tracker.New(url, native.DialWebSocket,
		tracker.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
		tracker.WithOnError(func(err error) { t.Logf("client: %v", err) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		for range c.Signals() {
		}
	})
	return c
}

// await returns the next signal of kind k from c, skipping others.
func await(t *testing.T, c *tracker.Client, k engine.SignalKind) engine.Signal {
	t.Helper()
	timeout := time.After(itTimeout)
	for {
		select {
		case s, ok := <-c.Signals():
			if !ok {
				t.Fatal("Signals closed")
			}
			if s.Kind == k {
				return s
			}
			t.Logf("skipping signal %+v", s)
		case <-timeout:
			t.Fatalf("no signal of kind %d", k)
		}
	}
}

func TestRealTrackerExchange(t *testing.T) {
	ts := startTracker(t, nil)
	a, b := newClient(t, ts.url), newClient(t, ts.url)
	await(t, a, engine.SignalConnected)
	await(t, b, engine.SignalConnected)
	swarm := engine.InfoHash(sha1.Sum([]byte("nearcast test swarm"))) // bytes above 0x7F

	if err := b.Announce(swarm, engine.EventStarted, 0, nil); err != nil {
		t.Fatal(err)
	}
	if s := await(t, b, engine.SignalAnnounced); s.Swarm != swarm || s.Incomplete != 1 || s.Interval != signaling.DefaultAnnounceInterval {
		t.Fatalf("B announced: %+v", s)
	}

	offer := engine.SDP(`{"type":"offer","sdp":"v=0"}`)
	const offerID engine.OfferID = "offer-\u00e9\u00ff-1"
	if err := a.Announce(swarm, engine.EventStarted, 1, []engine.Offer{{ID: offerID, SDP: offer}}); err != nil {
		t.Fatal(err)
	}
	if s := await(t, a, engine.SignalAnnounced); s.Swarm != swarm || s.Incomplete != 2 {
		t.Fatalf("A announced: %+v", s)
	}
	got := await(t, b, engine.SignalOffer)
	if got.Swarm != swarm || got.Peer != a.PeerID() || got.OfferID != offerID || string(got.SDP) != string(offer) {
		t.Fatalf("B got offer %+v", got)
	}

	answer := engine.SDP(`{"type":"answer","sdp":"v=0\r\na=x"}`)
	if err := b.Answer(swarm, got.Peer, got.OfferID, answer); err != nil {
		t.Fatal(err)
	}
	ans := await(t, a, engine.SignalAnswer)
	if ans.Swarm != swarm || ans.Peer != b.PeerID() || ans.OfferID != offerID || string(ans.SDP) != string(answer) {
		t.Fatalf("A got answer %+v", ans)
	}

	// Each offer can be answered once: a second answer is refused.
	if err := b.Answer(swarm, got.Peer, got.OfferID, answer); err != nil {
		t.Fatal(err)
	}
	f := await(t, b, engine.SignalFailure)
	var e *tracker.Error
	if f.Swarm != swarm || !errors.Is(f.Err, tracker.ErrFailure) || !errors.As(f.Err, &e) ||
		e.Detail != "answer does not match an offer relayed to you" {
		t.Fatalf("B got failure %+v (%v)", f, f.Err)
	}

	// Leaving is acknowledged too.
	if err := a.Announce(swarm, engine.EventStopped, 0, nil); err != nil {
		t.Fatal(err)
	}
	if s := await(t, a, engine.SignalAnnounced); s.Incomplete != 1 {
		t.Fatalf("A left: %+v", s)
	}
}

// TestRealTrackerReconnect restarts the tracker on the same address and
// checks that the clients come back on their own.
func TestRealTrackerReconnect(t *testing.T) {
	ts := startTracker(t, nil)
	a, b := newClient(t, ts.url), newClient(t, ts.url)
	await(t, a, engine.SignalConnected)
	await(t, b, engine.SignalConnected)
	swarm := engine.InfoHash(sha1.Sum([]byte("reconnect")))
	if err := a.Announce(swarm, engine.EventStarted, 0, nil); err != nil {
		t.Fatal(err)
	}
	await(t, a, engine.SignalAnnounced)

	addr := ts.addr()
	ts.stop()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond) // the port is not free yet: nothing to wait on
	}
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	ts2 := startTracker(t, ln)
	if ts2.url != ts.url {
		t.Fatalf("restarted on %s, want %s", ts2.url, ts.url)
	}
	await(t, a, engine.SignalConnected)
	await(t, b, engine.SignalConnected)
	// The engine announces again on SignalConnected; the new server knows
	// nothing of the old swarm, so A is its only member.
	if err := a.Announce(swarm, engine.EventStarted, 0, nil); err != nil {
		t.Fatal(err)
	}
	if s := await(t, a, engine.SignalAnnounced); s.Incomplete != 1 {
		t.Fatalf("A announced after reconnecting: %+v", s)
	}

	// Close ends everything: Signals is closed, and TestMain's goleak
	// check finds no goroutine left.
	for _, c := range []*tracker.Client{a, b} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Announce(swarm, engine.EventUpdate, 0, nil); !errors.Is(err, tracker.ErrClosed) {
			t.Errorf("Announce after Close: %v", err)
		}
	}
}

// TestRealTrackerNotConnected checks Announce while the tracker is down.
func TestRealTrackerNotConnected(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/announce"
	_ = ln.Close() // nothing listens there now
	errs := make(chan error, 100)
	c, err := tracker.New(url, native.DialWebSocket,
		tracker.WithBackoff(10*time.Millisecond, 20*time.Millisecond),
		tracker.WithOnError(func(err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case err := <-errs:
		if !errors.Is(err, tracker.ErrDial) {
			t.Fatalf("reported %v, want ErrDial", err)
		}
	case <-time.After(itTimeout):
		t.Fatal("no dial error reported")
	}
	if err := c.Announce(engine.InfoHash{}, engine.EventStarted, 0, nil); !errors.Is(err, tracker.ErrNotConnected) {
		t.Fatalf("Announce with the tracker down: %v", err)
	}
}
