//go:build !js

package native

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/peerwire"
)

// testTimeout bounds every pion test.
const testTimeout = 20 * time.Second

var silentLogs = &logging.DefaultLoggerFactory{
	Writer:          io.Discard,
	DefaultLogLevel: logging.LogLevelDisabled,
	ScopeLevels:     map[string]logging.LogLevel{},
}

// testNet is a vnet topology: one router for 10.0.0.0/24 with two hosts,
// 10.0.0.1 and 10.0.0.2. It is all in memory; no socket is opened. While
// partitioned, the router drops every packet.
type testNet struct {
	router      *vnet.Router
	a, b        *vnet.Net
	partitioned atomic.Bool
}

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	tn := &testNet{}
	var err error
	tn.router, err = vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.0.0.0/24", LoggerFactory: silentLogs})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []struct {
		n  **vnet.Net
		ip string
	}{{&tn.a, "10.0.0.1"}, {&tn.b, "10.0.0.2"}} {
		if *h.n, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{h.ip}}); err != nil {
			t.Fatal(err)
		}
		if err := tn.router.AddNet(*h.n); err != nil {
			t.Fatal(err)
		}
	}
	tn.router.AddChunkFilter(func(vnet.Chunk) bool { return !tn.partitioned.Load() })
	if err := tn.router.Start(); err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after the links' cleanups.
	t.Cleanup(func() { _ = tn.router.Stop() })
	return tn
}

// dialers returns a Dialer on each host; opts apply to both.
func (tn *testNet) dialers(t *testing.T, opts ...Option) (*Dialer, *Dialer) {
	t.Helper()
	a, err := NewDialer(append([]Option{WithVNet(tn.a)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewDialer(append([]Option{WithVNet(tn.b)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// connect opens a link from a (offerer) to b (acceptor), as the engine does
// through the tracker, and closes both links when the test ends.
func connect(t *testing.T, ctx context.Context, a, b *Dialer) (engine.Link, engine.Link) {
	t.Helper()
	_, _, la, lb := connectPending(t, ctx, a, b)
	return la, lb
}

// connectPending is connect that also returns the two Pendings.
func connectPending(t *testing.T, ctx context.Context, a, b *Dialer) (p, q engine.Pending, la, lb engine.Link) {
	t.Helper()
	p, err := a.Offer(ctx)
	if err != nil {
		t.Fatal("Offer:", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	q, err = b.Accept(ctx, p.SDP())
	if err != nil {
		t.Fatal("Accept:", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	type result struct {
		l   engine.Link
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		l, err := q.Open(ctx, nil)
		accepted <- result{l, err}
	}()
	la, err = p.Open(ctx, q.SDP())
	r := <-accepted
	if la != nil {
		t.Cleanup(func() { _ = la.Close() })
	}
	if r.l != nil {
		t.Cleanup(func() { _ = r.l.Close() })
	}
	if err != nil {
		t.Fatal("offerer Open:", err)
	}
	if r.err != nil {
		t.Fatal("acceptor Open:", r.err)
	}
	return p, q, la, r.l
}

// receiveWithin calls l.Receive and fails the test if it takes longer than d.
func receiveWithin(t *testing.T, l engine.Link, d time.Duration) ([]byte, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := l.Receive()
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		return r.b, r.err
	case <-time.After(d):
		t.Fatalf("Receive blocked for %v", d)
		return nil, nil
	}
}

// checkSDP checks that s is the JSON form of a complete description of type
// typ whose every candidate is on ip.
func checkSDP(t *testing.T, s engine.SDP, typ, ip string) {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(s, &m); err != nil {
		t.Fatalf("SDP is not a JSON object of strings: %v: %s", err, s)
	}
	if m["type"] != typ || len(m) != 2 {
		t.Fatalf("SDP keys %v, want type %q and sdp", m, typ)
	}
	n := 0
	for line := range strings.SplitSeq(m["sdp"], "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			n++
			if !strings.Contains(line, " "+ip+" ") {
				t.Errorf("candidate not on %s: %s", ip, line)
			}
		}
	}
	if n == 0 {
		t.Errorf("%s carries no candidates", typ)
	}
	if !strings.Contains(m["sdp"], "a=end-of-candidates") {
		t.Errorf("%s is missing end-of-candidates", typ)
	}
}

func TestVNetExchange(t *testing.T) {
	ctx := testContext(t)
	tn := newTestNet(t)
	a, b := tn.dialers(t)

	p, err := a.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	checkSDP(t, p.SDP(), "offer", "10.0.0.1")
	q, err := b.Accept(ctx, p.SDP())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	checkSDP(t, q.SDP(), "answer", "10.0.0.2")
	p.Close()
	q.Close()

	la, lb := connect(t, ctx, a, b)

	// The largest peerwire message, both ways.
	big := make([]byte, peerwire.MaxMessageSize)
	for i := range big {
		big[i] = byte(rand.Uint32())
	}
	for _, dir := range []struct {
		name     string
		from, to engine.Link
	}{{"a→b", la, lb}, {"b→a", lb, la}} {
		if err := dir.from.Send(big); err != nil {
			t.Fatalf("%s: Send: %v", dir.name, err)
		}
		got, err := receiveWithin(t, dir.to, 5*time.Second)
		if err != nil || !bytes.Equal(got, big) {
			t.Fatalf("%s: got %d bytes, %v; want the %d sent", dir.name, len(got), err, len(big))
		}
	}

	// An empty message stays a message.
	if err := la.Send(nil); err != nil {
		t.Fatal(err)
	}
	if got, err := receiveWithin(t, lb, 5*time.Second); err != nil || len(got) != 0 {
		t.Fatalf("empty message: got %q, %v", got, err)
	}

	// 1000 small messages each way at once, boundaries and order kept.
	const count = 1000
	msg := func(i int) []byte {
		m := make([]byte, 4+i%61)
		binary.BigEndian.PutUint32(m, uint32(i))
		for j := 4; j < len(m); j++ {
			m[j] = byte(i + j)
		}
		return m
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, dir := range []struct {
		name     string
		from, to engine.Link
	}{{"a→b", la, lb}, {"b→a", lb, la}} {
		wg.Go(func() {
			buf := make([]byte, 0, 64)
			for i := range count {
				buf = append(buf[:0], msg(i)...)
				if err := dir.from.Send(buf); err != nil { // buf is reused: Send must copy
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			for i := range count {
				got, err := dir.to.Receive()
				if err != nil {
					errs <- err
					return
				}
				if want := msg(i); !bytes.Equal(got, want) {
					errs <- errors.New(dir.name + ": message out of order or altered")
					return
				}
				clear(got) // the slice is the caller's
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestBufferedLowAndReceiveBackpressure(t *testing.T) {
	ctx := testContext(t)
	tn := newTestNet(t)
	// The receiver's queue is tiny: it stops reading SCTP after 8 messages,
	// so the sender's buffer cannot drain until the receiver reads.
	a, b := tn.dialers(t, WithReceiveQueue(8))
	la, lb := connect(t, ctx, a, b)

	const total = 3 << 20
	msg := make([]byte, peerwire.MaxMessageSize)
	sent := 0
	for i := 0; sent < total; i++ {
		binary.BigEndian.PutUint32(msg, uint32(i))
		if err := la.Send(msg); err != nil {
			t.Fatal(err)
		}
		sent += len(msg)
	}
	// Give SCTP time to fill the peer's window, then check that the rest is
	// still buffered here and that the link survived the full queue. The
	// amount may have dipped below the low-water mark while the first
	// megabyte or so flowed into the peer's window: drop that event.
	time.Sleep(300 * time.Millisecond)
	select {
	case <-la.BufferedLow():
	default:
	}
	if n := la.BufferedAmount(); n <= peerwire.HighWaterMark {
		t.Fatalf("BufferedAmount = %d after sending %d to a stalled reader, want > %d", n, sent, peerwire.HighWaterMark)
	}
	select {
	case <-la.BufferedLow():
		t.Fatal("BufferedLow fired while the reader was stalled")
	case <-time.After(200 * time.Millisecond):
	}

	received := make(chan error, 1)
	drainStart := time.Now()
	go func() {
		got := 0
		for i := 0; got < sent; i++ {
			m, err := lb.Receive()
			if err != nil {
				received <- err
				return
			}
			if len(m) != len(msg) || binary.BigEndian.Uint32(m) != uint32(i) {
				received <- errors.New("message lost, altered or reordered")
				return
			}
			got += len(m)
		}
		received <- nil
	}()
	select {
	case <-la.BufferedLow():
	case <-time.After(10 * time.Second):
		t.Fatal("BufferedLow did not fire")
	}
	if n := la.BufferedAmount(); n > peerwire.LowWaterMark {
		t.Errorf("BufferedAmount = %d after BufferedLow, want <= %d", n, peerwire.LowWaterMark)
	}
	select {
	case err := <-received:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("stalled reader drained %d bytes in %v", sent, time.Since(drainStart))
	case <-time.After(10 * time.Second):
		t.Fatal("receiver did not get everything")
	}
}

func TestCloseIsSeenByPeer(t *testing.T) {
	ctx := testContext(t)
	tn := newTestNet(t)
	a, b := tn.dialers(t)
	la, lb := connect(t, ctx, a, b)

	if err := la.Send([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if got, err := receiveWithin(t, lb, 5*time.Second); err != nil || string(got) != "last words" {
		t.Fatalf("got %q, %v", got, err)
	}
	start := time.Now()
	if err := la.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := receiveWithin(t, lb, 5*time.Second)
	if !errors.Is(err, engine.ErrLinkClosed) || !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("peer's Receive after Close: %v, want ErrLinkClosed and ErrPeerClosed", err)
	}
	t.Logf("peer noticed the close after %v", time.Since(start))
	if err := lb.Send([]byte("x")); !errors.Is(err, engine.ErrLinkClosed) {
		t.Errorf("peer's Send after close: %v", err)
	}

	// The closed side.
	if err := la.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := la.Send([]byte("x")); !errors.Is(err, engine.ErrLinkClosed) {
		t.Errorf("Send after Close: %v", err)
	}
	if _, err := receiveWithin(t, la, time.Second); !errors.Is(err, engine.ErrLinkClosed) {
		t.Errorf("Receive after Close: %v", err)
	}
	if err := lb.Close(); err != nil {
		t.Error(err)
	}
}

func TestCloseUnblocksReceive(t *testing.T) {
	ctx := testContext(t)
	tn := newTestNet(t)
	a, b := tn.dialers(t)
	la, _ := connect(t, ctx, a, b)

	done := make(chan error, 1)
	go func() {
		_, err := la.Receive()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := la.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, engine.ErrLinkClosed) {
			t.Fatalf("Receive: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Receive")
	}
}

func TestVanishedPeerIsNoticed(t *testing.T) {
	ctx := testContext(t)
	tn := newTestNet(t)
	a, b := tn.dialers(t, WithICETimeouts(300*time.Millisecond, 700*time.Millisecond, 100*time.Millisecond))
	la, lb := connect(t, ctx, a, b)

	// Idle for longer than the disconnected timeout: keepalives hold it up.
	time.Sleep(600 * time.Millisecond)
	if err := la.Send([]byte("alive")); err != nil {
		t.Fatal(err)
	}
	if got, err := receiveWithin(t, lb, 5*time.Second); err != nil || string(got) != "alive" {
		t.Fatalf("got %q, %v", got, err)
	}

	start := time.Now()
	tn.partitioned.Store(true)
	for _, l := range []engine.Link{la, lb} {
		_, err := receiveWithin(t, l, 5*time.Second)
		if !errors.Is(err, engine.ErrLinkClosed) || !errors.Is(err, ErrConnectionFailed) {
			t.Fatalf("Receive after partition: %v, want ErrLinkClosed and ErrConnectionFailed", err)
		}
	}
	t.Logf("partition noticed after %v", time.Since(start))
}

func TestOpenFailures(t *testing.T) {
	ctx := testContext(t)
	tn := newTestNet(t)
	a, b := tn.dialers(t, WithOpenTimeout(500*time.Millisecond))

	t.Run("answer never reaches the offerer", func(t *testing.T) {
		p, err := a.Offer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		q, err := b.Accept(ctx, p.SDP())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := q.Open(ctx, nil); !errors.Is(err, ErrOpenTimeout) {
			t.Fatalf("acceptor Open: %v, want ErrOpenTimeout", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Open took %v with a 500ms open timeout", d)
		}
		if _, err := q.Open(ctx, nil); !errors.Is(err, ErrPendingClosed) {
			t.Errorf("Open after failed Open: %v", err)
		}
		if err := q.Close(); err != nil {
			t.Error(err)
		}
	})

	t.Run("acceptor gone", func(t *testing.T) {
		p, err := a.Offer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		q, err := b.Accept(ctx, p.SDP())
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Open(ctx, nil); !errors.Is(err, ErrPendingClosed) {
			t.Errorf("Open after Close: %v", err)
		}
		_, err = p.Open(ctx, q.SDP())
		if !errors.Is(err, ErrOpenTimeout) && !errors.Is(err, ErrConnectionFailed) {
			t.Fatalf("offerer Open: %v, want ErrOpenTimeout or ErrConnectionFailed", err)
		}
	})

	t.Run("context canceled", func(t *testing.T) {
		p, err := a.Offer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := p.Open(cctx, nil); !errors.Is(err, ErrInvalidSDP) {
			t.Fatalf("offerer Open without answer: %v", err)
		}
		p2, err := a.Offer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer p2.Close()
		q, err := b.Accept(ctx, p2.SDP())
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		if _, err := q.Open(cctx, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Open: %v, want context.DeadlineExceeded", err)
		}
	})

	t.Run("close during open", func(t *testing.T) {
		p, err := a.Offer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		// The offerer never gets the answer, so only Close can end the
		// acceptor's Open before the timeout.
		q, err := b.Accept(ctx, p.SDP())
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(20 * time.Millisecond)
			_ = q.Close()
		}()
		start := time.Now()
		if _, err := q.Open(ctx, nil); !errors.Is(err, ErrPendingClosed) {
			t.Fatalf("Open: %v, want ErrPendingClosed", err)
		}
		if d := time.Since(start); d > 400*time.Millisecond {
			t.Errorf("Open returned after %v, not at Close", d)
		}
	})
}

func TestInvalidSDP(t *testing.T) {
	ctx := testContext(t)
	tn := newTestNet(t)
	a, b := tn.dialers(t)
	p, err := a.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var offer webrtc.SessionDescription
	if err := json.Unmarshal(p.SDP(), &offer); err != nil {
		t.Fatal(err)
	}
	asAnswer, _ := json.Marshal(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: offer.SDP})
	noData, _ := json.Marshal(webrtc.SessionDescription{
		Type: webrtc.SDPTypeOffer,
		SDP:  "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n",
	})
	huge, _ := json.Marshal(webrtc.SessionDescription{
		Type: webrtc.SDPTypeOffer,
		SDP:  offer.SDP + strings.Repeat("a=x\r\n", maxSDPSize/5),
	})
	for name, sdp := range map[string]engine.SDP{
		"empty":        nil,
		"not JSON":     engine.SDP("v=0"),
		"wrong type":   asAnswer,
		"no data":      noData,
		"too large":    huge,
		"unknown type": engine.SDP(`{"type":"bogus","sdp":"v=0"}`),
		"bad sdp":      engine.SDP(`{"type":"offer","sdp":"nonsense"}`),
	} {
		if q, err := b.Accept(ctx, sdp); !errors.Is(err, ErrInvalidSDP) {
			if q != nil {
				q.Close()
			}
			t.Errorf("Accept(%s): %v, want ErrInvalidSDP", name, err)
		}
	}

	// An offer given back as its own answer, and an answer given to an
	// accepted offer.
	if _, err := p.Open(ctx, p.SDP()); !errors.Is(err, ErrInvalidSDP) {
		t.Errorf("Open with an offer as answer: %v", err)
	}
	p2, err := a.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	q, err := b.Accept(ctx, p2.SDP())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.Open(ctx, q.SDP()); !errors.Is(err, ErrInvalidSDP) {
		t.Errorf("acceptor Open with an answer: %v", err)
	}
}

// TestAcceptAdoptsReliableChannel offers from a bare pion peer that opens
// an unordered channel before the real one: the link must use the reliable,
// ordered one and close the other.
func TestAcceptAdoptsReliableChannel(t *testing.T) {
	ctx := testContext(t)
	tn := newTestNet(t)
	_, b := tn.dialers(t)

	var se webrtc.SettingEngine
	se.LoggerFactory = silentLogs
	se.SetNet(tn.a)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.GracefulClose()
	unordered := false
	bad, err := pc.CreateDataChannel("lossy", &webrtc.DataChannelInit{Ordered: &unordered})
	if err != nil {
		t.Fatal(err)
	}
	badClosed := make(chan struct{})
	bad.OnClose(func() { close(badClosed) })
	good, err := pc.CreateDataChannel(channelLabel, nil)
	if err != nil {
		t.Fatal(err)
	}
	goodOpen := make(chan struct{})
	good.OnOpen(func() { close(goodOpen) })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	offerJSON, _ := json.Marshal(pc.LocalDescription())

	q, err := b.Accept(ctx, offerJSON)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var answer webrtc.SessionDescription
	if err := json.Unmarshal(q.SDP(), &answer); err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(answer); err != nil {
		t.Fatal(err)
	}
	l, err := q.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, ch := range []chan struct{}{goodOpen, badClosed} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatal("reliable channel not opened, or unordered one not closed")
		}
	}
	if err := good.Send([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if got, err := receiveWithin(t, l, 5*time.Second); err != nil || string(got) != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestLoopbackOnly connects over real UDP sockets on 127.0.0.1.
func TestLoopbackOnly(t *testing.T) {
	ctx := testContext(t)
	a, err := NewDialer(WithLoopbackOnly())
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewDialer(WithLoopbackOnly())
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkSDP(t, p.SDP(), "offer", "127.0.0.1")
	p.Close()

	la, lb := connect(t, ctx, a, b)
	for i := range 10 {
		if err := la.Send([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if err := lb.Send([]byte{byte(i), byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		if got, err := receiveWithin(t, lb, 5*time.Second); err != nil || !bytes.Equal(got, []byte{byte(i)}) {
			t.Fatalf("b got %v, %v", got, err)
		}
		if got, err := receiveWithin(t, la, 5*time.Second); err != nil || !bytes.Equal(got, []byte{byte(i), byte(i)}) {
			t.Fatalf("a got %v, %v", got, err)
		}
	}
	if err := lb.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := receiveWithin(t, la, 5*time.Second); !errors.Is(err, engine.ErrLinkClosed) {
		t.Fatalf("Receive after peer Close: %v", err)
	}
}

func TestNewDialerOptions(t *testing.T) {
	n, err := vnet.NewNet(&vnet.NetConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string][]Option{
		"nil vnet":           {WithVNet(nil)},
		"vnet and loopback":  {WithVNet(n), WithLoopbackOnly()},
		"zero open timeout":  {WithOpenTimeout(0)},
		"negative ICE":       {WithICETimeouts(-time.Second, time.Second, time.Second)},
		"keepalive too long": {WithICETimeouts(time.Second, time.Second, time.Second)},
		"small messages":     {WithMaxMessageSize(peerwire.MaxMessageSize - 1)},
		"zero queue":         {WithReceiveQueue(0)},
		"nil logger":         {WithLoggerFactory(nil)},
	} {
		if d, err := NewDialer(opts...); !errors.Is(err, ErrInvalidOption) || d != nil {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	d, err := NewDialer(
		WithICEServers([]webrtc.ICEServer{{URLs: []string{"stun:stun.invalid:3478"}}}),
		WithOpenTimeout(time.Second),
		WithICETimeouts(time.Second, time.Second, 100*time.Millisecond),
		WithMaxMessageSize(peerwire.MaxMessageSize),
		WithReceiveQueue(1),
		WithLoggerFactory(silentLogs),
	)
	if err != nil || d == nil {
		t.Fatalf("valid options: %v", err)
	}
	if d, err := NewDialer(); err != nil || d == nil {
		t.Fatalf("no options: %v", err)
	}
}

func TestPendingAfterOpen(t *testing.T) {
	ctx := testContext(t)
	tn := newTestNet(t)
	a, b := tn.dialers(t)
	p, q, la, lb := connectPending(t, ctx, a, b)

	for _, pend := range []engine.Pending{p, q} {
		if _, err := pend.Open(ctx, nil); !errors.Is(err, ErrAlreadyOpened) {
			t.Errorf("second Open: %v, want ErrAlreadyOpened", err)
		}
		if err := pend.Close(); err != nil {
			t.Errorf("Close after Open: %v", err)
		}
	}
	// Closing the Pendings left the links alone.
	if err := la.Send([]byte("still here")); err != nil {
		t.Fatal(err)
	}
	if got, err := receiveWithin(t, lb, 5*time.Second); err != nil || string(got) != "still here" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestSendTooLarge(t *testing.T) {
	ctx := testContext(t)
	tn := newTestNet(t)
	a, b := tn.dialers(t)
	la, lb := connect(t, ctx, a, b)

	err := la.Send(make([]byte, DefaultMaxMessageSize+1))
	if err == nil || errors.Is(err, engine.ErrLinkClosed) {
		t.Fatalf("Send above the peer's max-message-size: %v", err)
	}
	if err := la.Send(make([]byte, DefaultMaxMessageSize)); err != nil {
		t.Fatalf("Send at the peer's max-message-size: %v", err)
	}
	if got, err := receiveWithin(t, lb, 5*time.Second); err != nil || len(got) != DefaultMaxMessageSize {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
}
