package tracker

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/internal/timeout"
)

// PeerIDPrefix starts the default peer ID, in the Azureus style of
// BitTorrent clients: "-", a two-letter client code (NC, nearcast), a
// four-digit version (0100) and "-". Twelve random bytes follow it.
const PeerIDPrefix = "-NC0100-"

// Conn is one WebSocket connection to the tracker, carrying text messages.
//
// The client calls Write from one goroutine and Read from another, never
// two Writes or two Reads at once; Close may be called at any time, also
// while a Read or Write is blocked, and must unblock them. Read and Write
// must return when ctx is done; after either fails, the client closes the
// Conn and uses it no more. Read should refuse messages larger than
// MaxMessageSize.
type Conn interface {
	// Write sends msg as one text message.
	Write(ctx context.Context, msg []byte) error
	// Read returns the next message. The returned slice belongs to the
	// caller.
	Read(ctx context.Context) ([]byte, error)
	// Close closes the connection. It may be called more than once.
	Close() error
}

// Dial opens a Conn to url. ctx bounds the opening only (the Conn outlives
// it), and Dial must return when ctx is done.
type Dial func(ctx context.Context, url string) (Conn, error)

// Client is a tracker client: an engine.Signaler over the WebTorrent
// tracker protocol. It is safe for concurrent use.
type Client struct {
	url     string
	dial    Dial
	cfg     config
	signals chan engine.Signal

	ctx       context.Context // done on Close
	cancel    context.CancelFunc
	done      chan struct{} // closed when run has returned
	closeOnce sync.Once

	mu   sync.Mutex
	sess *session // the open connection, or nil
}

var _ engine.Signaler = (*Client)(nil)

// session is one open connection with its send queue. Its context is done
// when the connection fails or the client closes; the cause says why.
type session struct {
	conn   Conn
	out    chan []byte
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// New returns a client of the tracker at url (ws:// or wss://) that opens
// connections with dial. It returns at once and connects in the background;
// watch Signals for engine.SignalConnected.
func New(url string, dial Dial, opts ...Option) (*Client, error) {
	if !strings.HasPrefix(url, "ws://") && !strings.HasPrefix(url, "wss://") {
		return nil, wrap(ErrInvalidArgument, "tracker URL must start with ws:// or wss://")
	}
	if dial == nil {
		return nil, wrap(ErrInvalidArgument, "nil Dial")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, wrap(ErrInvalidOption, "nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if !cfg.peerIDSet {
		cfg.peerID = randomPeerID()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		url:     url,
		dial:    dial,
		cfg:     cfg,
		signals: make(chan engine.Signal, cfg.signalBuffer),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	go c.run()
	return c, nil
}

// randomPeerID returns PeerIDPrefix followed by random bytes. The peer ID is
// public (every peer of a swarm sees it), so it needs to be unique, not
// secret: math/rand/v2's generator (ChaCha8, seeded by the system) is
// enough, and it keeps crypto/rand, and the math/big it brings, out of the
// WASM build.
func randomPeerID() engine.PeerID {
	var id engine.PeerID
	n := copy(id[:], PeerIDPrefix)
	for n < len(id) {
		v := rand.Uint64()
		for i := 0; i < 8 && n < len(id); i++ {
			id[n] = byte(v >> (8 * i))
			n++
		}
	}
	return id
}

// PeerID returns the peer ID the client announces with.
func (c *Client) PeerID() engine.PeerID { return c.cfg.peerID }

// Signals returns the channel of incoming signals. It is closed by Close.
// The channel is bounded: when it is full, the client drops new signals
// (reporting ErrSignalDropped through the OnError callback) rather than
// stop reading from the tracker. A dropped SignalConnected delays the
// engine's announces until its next periodic one.
func (c *Client) Signals() <-chan engine.Signal { return c.signals }

// Announce joins or refreshes swarm h (or leaves it, engine.EventStopped)
// and hands the tracker offers to relay to other peers of the swarm. It
// returns once the message is queued for the connection's writer; the
// tracker's reply arrives as engine.SignalAnnounced or engine.SignalFailure.
// It fails with ErrNotConnected while there is no connection, with
// ErrInvalidArgument for an event, numWant or offer the protocol cannot
// carry (offers cannot go with engine.EventStopped), and with ErrTooLarge
// when the message would exceed MaxMessageSize.
func (c *Client) Announce(h engine.InfoHash, ev engine.Event, numWant int, offers []engine.Offer) error {
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	msg, err := appendAnnounce(nil, c.cfg.peerID, h, ev, numWant, offers)
	if err != nil {
		return err
	}
	return c.send(msg)
}

// Answer sends the answer to offer id of peer to in swarm h. It returns
// once the message is queued; the tracker does not acknowledge answers but
// replies with engine.SignalFailure to one it cannot relay. It fails like
// Announce.
func (c *Client) Answer(h engine.InfoHash, to engine.PeerID, id engine.OfferID, answer engine.SDP) error {
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	msg, err := appendAnswer(nil, c.cfg.peerID, h, to, id, answer)
	if err != nil {
		return err
	}
	return c.send(msg)
}

// send queues msg for the writer of the open connection, without waiting.
func (c *Client) send(msg []byte) error {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	switch {
	case c.ctx.Err() != nil:
		return ErrClosed
	case s == nil || s.ctx.Err() != nil:
		return ErrNotConnected
	}
	select {
	case s.out <- msg:
		return nil
	default:
		return ErrSendQueueFull
	}
}

// Close disconnects for good: it stops connecting, closes the connection,
// waits for the client's goroutines to exit and closes the Signals channel.
// It is idempotent and always returns nil. It must not be called from the
// OnError callback.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		<-c.done
		close(c.signals)
	})
	return nil
}

// run connects, serves the connection until it fails, waits a backoff and
// connects again, until Close.
func (c *Client) run() {
	defer close(c.done)
	attempt := 0
	for {
		lasted, connected := c.connect()
		if c.ctx.Err() != nil {
			return
		}
		if connected && lasted >= c.cfg.maxBackoff {
			attempt = 0
		}
		t := time.NewTimer(c.backoff(attempt))
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if c.cfg.minBackoff<<attempt < c.cfg.maxBackoff {
			attempt++
		}
	}
}

// backoff returns the delay before the next connection attempt after
// attempt earlier failures: minBackoff doubled attempt times, capped at
// maxBackoff, then jittered to a random value in [d/2, d].
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.minBackoff
	for range attempt {
		if d >= c.cfg.maxBackoff/2 {
			d = c.cfg.maxBackoff
			break
		}
		d *= 2
	}
	d = min(d, c.cfg.maxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}

// connect dials once and, when that succeeds, serves the connection until it
// fails or the client closes. It reports whether it connected and for how
// long.
func (c *Client) connect() (lasted time.Duration, connected bool) {
	dctx, cancel := timeout.Context(c.ctx, c.cfg.timeout)
	conn, err := c.dial(dctx, c.url)
	cancel()
	if err == nil && conn == nil {
		err = wrap(ErrDial, "Dial returned no Conn")
	}
	if err != nil {
		if c.ctx.Err() == nil {
			c.report(&Error{Err: ErrDial, Cause: err})
		}
		return 0, false
	}
	if c.ctx.Err() != nil {
		_ = conn.Close()
		return 0, false
	}
	start := time.Now()
	sctx, scancel := context.WithCancelCause(c.ctx)
	s := &session{conn: conn, out: make(chan []byte, defaultSendQueue), ctx: sctx, cancel: scancel}
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
	// SignalConnected goes first, before the reader can emit anything from
	// this connection. Announces the engine makes in response queue up
	// until the writer starts.
	c.emit(engine.Signal{Kind: engine.SignalConnected})

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.readLoop(s)
	}()
	go func() {
		defer wg.Done()
		c.writeLoop(s)
	}()
	<-sctx.Done()
	c.mu.Lock()
	c.sess = nil
	c.mu.Unlock()
	_ = conn.Close()
	wg.Wait()
	if c.ctx.Err() == nil {
		c.report(&Error{Err: ErrDisconnected, Cause: context.Cause(sctx)})
	}
	return time.Since(start), true
}

// readLoop turns incoming messages into signals until the connection fails.
func (c *Client) readLoop(s *session) {
	for {
		msg, err := s.conn.Read(s.ctx)
		if err != nil {
			s.cancel(err)
			return
		}
		sig, ok, err := decode(msg, c.cfg.peerID)
		if err != nil {
			c.report(err)
			continue
		}
		if ok {
			c.emit(sig)
		}
	}
}

// writeLoop writes queued messages, one at a time and each within the
// timeout, until the connection fails.
func (c *Client) writeLoop(s *session) {
	for {
		select {
		case <-s.ctx.Done():
			return
		case msg := <-s.out:
			ctx, cancel := timeout.Context(s.ctx, c.cfg.timeout)
			err := s.conn.Write(ctx, msg)
			cancel()
			if err != nil {
				s.cancel(err)
				return
			}
		}
	}
}

// emit hands sig to the engine without waiting: when the Signals channel is
// full, sig is dropped and reported. Only run's goroutines emit, and Close
// closes the channel after they have exited.
func (c *Client) emit(sig engine.Signal) {
	select {
	case c.signals <- sig:
	default:
		c.report(wrap(ErrSignalDropped, kindName(sig.Kind)))
	}
}

func (c *Client) report(err error) {
	if f := c.cfg.onError; f != nil {
		f(err)
	}
}

// kindName names a signal kind for error details.
func kindName(k engine.SignalKind) string {
	switch k {
	case engine.SignalConnected:
		return "connected"
	case engine.SignalAnnounced:
		return "announced"
	case engine.SignalOffer:
		return "offer"
	case engine.SignalAnswer:
		return "answer"
	case engine.SignalFailure:
		return "failure"
	}
	return "unknown"
}
