package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/signaling/wtproto"
)

// testTimeout bounds every wait in these tests (in synctest bubbles, on the
// fake clock).
const testTimeout = 5 * time.Second

const testURL = "ws://tracker.test/announce"

var errFakeClosed = errors.New("fake conn closed")

// fakeConn is an in-memory Conn. The test plays the tracker: it pushes
// messages with send and takes the client's from out.
type fakeConn struct {
	in     chan []byte
	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func newFakeConn(outCap int) *fakeConn {
	return &fakeConn{in: make(chan []byte), out: make(chan []byte, outCap), closed: make(chan struct{})}
}

func (c *fakeConn) Read(ctx context.Context) ([]byte, error) {
	select {
	case m := <-c.in:
		return m, nil
	case <-c.closed:
		return nil, errFakeClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *fakeConn) Write(ctx context.Context, msg []byte) error {
	select {
	case c.out <- append([]byte(nil), msg...):
		return nil
	case <-c.closed:
		return errFakeClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *fakeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// send delivers msg to the client's reader.
func (c *fakeConn) send(t *testing.T, msg []byte) {
	t.Helper()
	select {
	case c.in <- msg:
	case <-time.After(testTimeout):
		t.Fatalf("client does not read %q", msg)
	}
}

// take returns the next message the client wrote.
func (c *fakeConn) take(t *testing.T) []byte {
	t.Helper()
	select {
	case m := <-c.out:
		return m
	case <-time.After(testTimeout):
		t.Fatal("client wrote nothing")
		return nil
	}
}

func (c *fakeConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// fakeDialer hands out the Conns (or errors) the test queues, and records
// when each dial happened.
type fakeDialer struct {
	next chan func() (Conn, error)

	mu    sync.Mutex
	times []time.Time
}

func newFakeDialer() *fakeDialer { return &fakeDialer{next: make(chan func() (Conn, error), 16)} }

func (d *fakeDialer) dial(ctx context.Context, url string) (Conn, error) {
	d.mu.Lock()
	d.times = append(d.times, time.Now())
	d.mu.Unlock()
	if url != testURL {
		return nil, errors.New("wrong url " + url)
	}
	select {
	case f := <-d.next:
		return f()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (d *fakeDialer) conn(c Conn) { d.next <- func() (Conn, error) { return c, nil } }

func (d *fakeDialer) dialTimes() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.times...)
}

// errSink collects what the client reports through OnError.
type errSink chan error

func (s errSink) report(err error) {
	select {
	case s <- err:
	default:
	}
}

// next returns the next reported error that matches target.
func (s errSink) next(t *testing.T, target error) error {
	t.Helper()
	timeout := time.After(testTimeout)
	for {
		select {
		case err := <-s:
			if errors.Is(err, target) {
				return err
			}
		case <-timeout:
			t.Fatalf("no %v reported", target)
			return nil
		}
	}
}

func recv(t *testing.T, c *Client) engine.Signal {
	t.Helper()
	return recvWithin(t, c, testTimeout)
}

func recvWithin(t *testing.T, c *Client, timeout time.Duration) engine.Signal {
	t.Helper()
	select {
	case s, ok := <-c.Signals():
		if !ok {
			t.Fatal("Signals closed")
		}
		return s
	case <-time.After(timeout):
		t.Fatal("no signal")
		return engine.Signal{}
	}
}

func expectKind(t *testing.T, c *Client, k engine.SignalKind) engine.Signal {
	t.Helper()
	s := recv(t, c)
	if s.Kind != k {
		t.Fatalf("got signal %+v, want kind %s", s, kindName(k))
	}
	return s
}

// closeAndDrain closes c and checks that Signals is closed after at most
// what was buffered.
func closeAndDrain(t *testing.T, c *Client) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for range cap(c.signals) + 1 {
		if _, ok := <-c.Signals(); !ok {
			return
		}
	}
	t.Fatal("Signals not closed by Close")
}

func newTestClient(t *testing.T, d *fakeDialer, opts ...Option) *Client {
	t.Helper()
	c, err := New(testURL, d.dial, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestClientExchange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newFakeDialer()
		errs := make(errSink, 100)
		c := newTestClient(t, d, WithPeerID(testSelf), WithOnError(errs.report))
		conn := newFakeConn(16)
		d.conn(conn)
		expectKind(t, c, engine.SignalConnected)

		offers := []engine.Offer{{ID: "o1", SDP: testSDP}}
		if err := c.Announce(testHash, engine.EventStarted, 1, offers); err != nil {
			t.Fatal(err)
		}
		m, err := wtproto.Decode(conn.take(t))
		if a, ok := m.(*wtproto.Announce); err != nil || !ok || string(a.PeerID) != binStr(testSelf[:]) || len(a.Offers) != 1 {
			t.Fatalf("tracker got %#v, %v", m, err)
		}
		h := wtproto.InfoHash(binStr(testHash[:]))
		conn.send(t, wtproto.AppendAnnounceResponse(nil, h, 120, 1, 2))
		if s := expectKind(t, c, engine.SignalAnnounced); s.Swarm != testHash || s.Complete != 1 || s.Incomplete != 2 || s.Interval != 2*time.Minute {
			t.Fatalf("announced %+v", s)
		}

		conn.send(t, wtproto.AppendOffer(nil, h, wtproto.PeerID(binStr(testPeer[:])), "their", json.RawMessage(testSDP)))
		s := expectKind(t, c, engine.SignalOffer)
		if s.Peer != testPeer || s.OfferID != "their" || string(s.SDP) != string(testSDP) {
			t.Fatalf("offer %+v", s)
		}
		answer := engine.SDP(`{"type":"answer","sdp":"v=0"}`)
		if err := c.Answer(s.Swarm, s.Peer, s.OfferID, answer); err != nil {
			t.Fatal(err)
		}
		m, err = wtproto.Decode(conn.take(t))
		if a, ok := m.(*wtproto.Answer); err != nil || !ok || string(a.ToPeerID) != binStr(testPeer[:]) || a.OfferID != "their" {
			t.Fatalf("tracker got %#v, %v", m, err)
		}

		conn.send(t, wtproto.AppendAnswer(nil, h, wtproto.PeerID(binStr(testPeer[:])), "o1", json.RawMessage(answer)))
		if s := expectKind(t, c, engine.SignalAnswer); s.OfferID != "o1" || string(s.SDP) != string(answer) {
			t.Fatalf("answer %+v", s)
		}
		conn.send(t, wtproto.AppendFailure(nil, "announce", h, "nope"))
		s = expectKind(t, c, engine.SignalFailure)
		var e *Error
		if !errors.As(s.Err, &e) || !errors.Is(s.Err, ErrFailure) || e.Detail != "nope" || s.Swarm != testHash {
			t.Fatalf("failure %+v", s)
		}

		// A malformed message is reported and dropped; the connection
		// stays.
		conn.send(t, []byte(`{"action":"announce","info_hash":1}`))
		errs.next(t, ErrMalformed)
		conn.send(t, wtproto.AppendAnnounceResponse(nil, h, 60, 0, 1))
		expectKind(t, c, engine.SignalAnnounced)
		if n := len(d.dialTimes()); n != 1 || conn.isClosed() {
			t.Fatalf("%d dials, closed %v: the malformed message cost the connection", n, conn.isClosed())
		}

		closeAndDrain(t, c)
		if !conn.isClosed() {
			t.Error("Close left the Conn open")
		}
		if err := c.Announce(testHash, engine.EventUpdate, 0, nil); !errors.Is(err, ErrClosed) {
			t.Errorf("Announce after Close: %v", err)
		}
		if err := c.Answer(testHash, testPeer, "x", answer); !errors.Is(err, ErrClosed) {
			t.Errorf("Answer after Close: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestClientNotConnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newFakeDialer()
		errs := make(errSink, 100)
		c := newTestClient(t, d, WithOnError(errs.report))
		cause := errors.New("refused")
		d.next <- func() (Conn, error) { return nil, cause }
		if err := errs.next(t, ErrDial); !errors.Is(err, cause) {
			t.Fatalf("dial error %v does not wrap the cause", err)
		}
		if err := c.Announce(testHash, engine.EventStarted, 0, nil); !errors.Is(err, ErrNotConnected) {
			t.Fatalf("Announce while dialing: %v", err)
		}
		if err := c.Answer(testHash, testPeer, "o", testSDP); !errors.Is(err, ErrNotConnected) {
			t.Fatalf("Answer while dialing: %v", err)
		}
		// A Dial that returns neither Conn nor error is a failed dial.
		d.next <- func() (Conn, error) { return nil, nil }
		errs.next(t, ErrDial)
		// Invalid arguments are refused before the connection is looked at.
		if err := c.Announce(testHash, "bogus", 0, nil); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Announce with a bad event: %v", err)
		}
		closeAndDrain(t, c) // while the client is dialing again
	})
}

// TestClientBackoff checks the delays between connection attempts: doubling
// from min to max, jittered within [d/2, d], reset by a connection that
// lasted max.
func TestClientBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const minB, maxB = time.Second, 8 * time.Second
		d := newFakeDialer()
		fail := func() (Conn, error) { return nil, errors.New("down") }
		for range 7 {
			d.next <- fail
		}
		conn := newFakeConn(16)
		d.conn(conn)
		c := newTestClient(t, d, WithBackoff(minB, maxB))
		if s := recvWithin(t, c, time.Minute); s.Kind != engine.SignalConnected {
			t.Fatalf("got %+v", s)
		}
		times := d.dialTimes()
		want := []time.Duration{minB, 2 * minB, 4 * minB, maxB, maxB, maxB, maxB}
		if len(times) != len(want)+1 {
			t.Fatalf("%d dials, want %d", len(times), len(want)+1)
		}
		for i, w := range want {
			if gap := times[i+1].Sub(times[i]); gap < w/2 || gap > w {
				t.Errorf("gap %d = %v, want within [%v, %v]", i, gap, w/2, w)
			}
		}

		// A connection that drops quickly keeps the backoff high.
		conn2 := newFakeConn(16)
		d.conn(conn2)
		conn.Close()
		if s := recvWithin(t, c, time.Minute); s.Kind != engine.SignalConnected {
			t.Fatalf("got %+v", s)
		}
		times = d.dialTimes()
		if gap := times[len(times)-1].Sub(times[len(times)-2]); gap < maxB/2 || gap > maxB {
			t.Errorf("redial after a short connection took %v, want within [%v, %v]", gap, maxB/2, maxB)
		}

		// One that lasted maxB resets it.
		time.Sleep(maxB)
		conn3 := newFakeConn(16)
		d.conn(conn3)
		dropped := time.Now()
		conn2.Close()
		if s := recvWithin(t, c, time.Minute); s.Kind != engine.SignalConnected {
			t.Fatalf("got %+v", s)
		}
		if gap := time.Since(dropped); gap < minB/2 || gap > minB {
			t.Errorf("redial after a long connection took %v, want within [%v, %v]", gap, minB/2, minB)
		}
		closeAndDrain(t, c)
	})
}

func TestBackoffJitterSpread(t *testing.T) {
	c := &Client{cfg: defaultConfig()}
	seen := map[bool]int{}
	for range 1000 {
		d := c.backoff(100) // capped at the maximum
		if d < DefaultMaxBackoff/2 || d > DefaultMaxBackoff {
			t.Fatalf("backoff %v out of range", d)
		}
		seen[d < DefaultMaxBackoff*3/4]++
	}
	if seen[true] < 300 || seen[false] < 300 {
		t.Errorf("jitter not spread: %v", seen)
	}
}

// TestClientDropsWhenFull checks that a consumer that does not read never
// blocks the reader: signals beyond the buffer are dropped and reported.
func TestClientDropsWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newFakeDialer()
		errs := make(errSink, 100)
		c := newTestClient(t, d, WithSignalBuffer(2), WithOnError(errs.report))
		conn := newFakeConn(16)
		d.conn(conn)
		synctest.Wait() // SignalConnected takes one slot
		h := wtproto.InfoHash(binStr(testHash[:]))
		for i := range 4 {
			conn.send(t, wtproto.AppendAnnounceResponse(nil, h, 120, i, 0))
		}
		synctest.Wait()
		for range 3 {
			if err := errs.next(t, ErrSignalDropped); !strings.Contains(err.Error(), "announced") {
				t.Errorf("drop reported as %v", err)
			}
		}
		expectKind(t, c, engine.SignalConnected)
		if s := expectKind(t, c, engine.SignalAnnounced); s.Complete != 0 {
			t.Errorf("kept %+v, want the first", s)
		}
		conn.send(t, wtproto.AppendAnnounceResponse(nil, h, 120, 9, 0))
		if s := expectKind(t, c, engine.SignalAnnounced); s.Complete != 9 {
			t.Errorf("got %+v after draining", s)
		}
		closeAndDrain(t, c)
	})
}

// TestClientWriteTimeout checks that a write that does not complete drops
// the connection, and that a full send queue is refused, not waited on.
func TestClientWriteTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newFakeDialer()
		errs := make(errSink, 100)
		c := newTestClient(t, d, WithTimeout(2*time.Second), WithOnError(errs.report))
		stuck := newFakeConn(0) // nobody takes what the client writes
		d.conn(stuck)
		expectKind(t, c, engine.SignalConnected)
		start := time.Now()
		if err := c.Announce(testHash, engine.EventStarted, 0, nil); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the writer is now blocked in Write
		var err error
		for range defaultSendQueue + 1 {
			if err = c.Announce(testHash, engine.EventUpdate, 0, nil); err != nil {
				break
			}
		}
		if !errors.Is(err, ErrSendQueueFull) {
			t.Fatalf("Announce on a full queue: %v", err)
		}
		if err := errs.next(t, ErrDisconnected); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("disconnect cause: %v", err)
		}
		if took := time.Since(start); took != 2*time.Second {
			t.Errorf("write timed out after %v, want 2s", took)
		}
		if !stuck.isClosed() {
			t.Error("failed Conn not closed")
		}
		if err := c.Announce(testHash, engine.EventUpdate, 0, nil); !errors.Is(err, ErrNotConnected) {
			t.Errorf("Announce after the drop: %v", err)
		}
		conn := newFakeConn(16)
		d.conn(conn)
		expectKind(t, c, engine.SignalConnected)
		if err := c.Announce(testHash, engine.EventUpdate, 0, nil); err != nil {
			t.Fatal(err)
		}
		conn.take(t)
		closeAndDrain(t, c)
	})
}

// TestClientDialTimeout checks that a dial that hangs is abandoned.
func TestClientDialTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newFakeDialer() // queues nothing: every dial hangs until ctx
		errs := make(errSink, 100)
		c := newTestClient(t, d, WithTimeout(3*time.Second), WithOnError(errs.report))
		start := time.Now()
		if err := errs.next(t, ErrDial); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 3*time.Second {
			t.Errorf("after %v: %v", time.Since(start), err)
		}
		closeAndDrain(t, c)
	})
}

func TestClientCloseWhileDialing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newFakeDialer()
		errs := make(errSink, 100)
		c := newTestClient(t, d, WithOnError(errs.report))
		synctest.Wait() // the dial is blocked
		closeAndDrain(t, c)
		if len(errs) != 0 {
			t.Errorf("Close reported %v", <-errs)
		}
	})
}

func TestClientCloseAbandonsLateConn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newFakeDialer()
		late := newFakeConn(1)
		var c *Client
		release := make(chan struct{})
		d.next <- func() (Conn, error) {
			<-release // Close has begun
			return late, nil
		}
		c = newTestClient(t, d)
		synctest.Wait()
		go func() {
			synctest.Wait()
			close(release)
		}()
		closeAndDrain(t, c)
		if !late.isClosed() {
			t.Error("a Conn dialed during Close was not closed")
		}
	})
}

func TestPeerIDs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newFakeDialer()
		a, b := newTestClient(t, d), newTestClient(t, d)
		pa, pb := a.PeerID(), b.PeerID()
		if string(pa[:len(PeerIDPrefix)]) != PeerIDPrefix || string(pb[:len(PeerIDPrefix)]) != PeerIDPrefix {
			t.Errorf("peer IDs %q %q lack the prefix", pa[:], pb[:])
		}
		if pa == pb {
			t.Error("two clients got the same peer ID")
		}
		c := newTestClient(t, d, WithPeerID(testPeer))
		if c.PeerID() != testPeer {
			t.Errorf("WithPeerID ignored: %x", c.PeerID())
		}
		for _, x := range []*Client{a, b, c} {
			closeAndDrain(t, x)
		}
	})
}

func TestNewRejects(t *testing.T) {
	dial := func(context.Context, string) (Conn, error) { return nil, errors.New("unused") }
	for name, tc := range map[string]struct {
		url  string
		dial Dial
		opts []Option
		want error
	}{
		"http URL":            {url: "http://x/announce", dial: dial, want: ErrInvalidArgument},
		"empty URL":           {dial: dial, want: ErrInvalidArgument},
		"nil dial":            {url: testURL, want: ErrInvalidArgument},
		"nil option":          {url: testURL, dial: dial, opts: []Option{nil}, want: ErrInvalidOption},
		"zero backoff":        {url: testURL, dial: dial, opts: []Option{WithBackoff(0, time.Second)}, want: ErrInvalidOption},
		"inverted backoff":    {url: testURL, dial: dial, opts: []Option{WithBackoff(2*time.Second, time.Second)}, want: ErrInvalidOption},
		"huge backoff":        {url: testURL, dial: dial, opts: []Option{WithBackoff(time.Second, 2*time.Hour)}, want: ErrInvalidOption},
		"zero buffer":         {url: testURL, dial: dial, opts: []Option{WithSignalBuffer(0)}, want: ErrInvalidOption},
		"huge buffer":         {url: testURL, dial: dial, opts: []Option{WithSignalBuffer(1 << 17)}, want: ErrInvalidOption},
		"zero timeout":        {url: testURL, dial: dial, opts: []Option{WithTimeout(0)}, want: ErrInvalidOption},
		"huge timeout":        {url: testURL, dial: dial, opts: []Option{WithTimeout(time.Hour)}, want: ErrInvalidOption},
		"valid then nil":      {url: "wss://x", dial: dial, opts: []Option{WithOnError(nil), nil}, want: ErrInvalidOption},
		"valid then negative": {url: "wss://x", dial: dial, opts: []Option{WithSignalBuffer(1), WithSignalBuffer(-1)}, want: ErrInvalidOption},
	} {
		if c, err := New(tc.url, tc.dial, tc.opts...); c != nil || !errors.Is(err, tc.want) {
			t.Errorf("%s: New = %v, %v; want %v", name, c, err, tc.want)
		}
	}
}
