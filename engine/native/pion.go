//go:build !js

package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/peerwire"
)

// Defaults of a Dialer built without options.
const (
	// DefaultOpenTimeout bounds Pending.Open.
	DefaultOpenTimeout = 15 * time.Second
	// DefaultICEDisconnectedTimeout is how long a connected peer may stay
	// silent before ICE reports it disconnected (the link stays open).
	DefaultICEDisconnectedTimeout = 2 * time.Second
	// DefaultICEFailedTimeout is how much longer a disconnected peer may
	// stay silent before ICE reports it failed and the link closes with
	// ErrConnectionFailed: a peer that vanished without closing is noticed
	// after DefaultICEDisconnectedTimeout+DefaultICEFailedTimeout (7 s).
	DefaultICEFailedTimeout = 5 * time.Second
	// DefaultICEKeepaliveInterval is how often ICE sends a keepalive on an
	// otherwise idle connection, so that a live peer is never silent for a
	// whole DefaultICEDisconnectedTimeout.
	DefaultICEKeepaliveInterval = time.Second
	// DefaultMaxMessageSize is the largest data-channel message a link
	// accepts; it is advertised to the peer as the SDP max-message-size
	// (RFC 8841). It is 64 KiB, the size every WebRTC endpoint must accept,
	// and four times peerwire.MaxMessageSize.
	DefaultMaxMessageSize = 64 << 10
	// DefaultReceiveQueue is the number of received messages a link holds
	// for Receive. With peerwire messages that is at most about 4 MiB.
	DefaultReceiveQueue = 256
)

const (
	// channelLabel is the label of the one data channel of a link. The
	// browser build must use the same label.
	channelLabel = "nearcast"
	// maxSDPSize bounds the JSON session descriptions Accept and
	// Pending.Open parse. Real ones, with every candidate, are a few KiB.
	maxSDPSize = 64 << 10
)

// Option configures a Dialer.
type Option func(*dialerConfig) error

type dialerConfig struct {
	vnet           *vnet.Net
	loopbackOnly   bool
	iceServers     []webrtc.ICEServer
	openTimeout    time.Duration
	disconnected   time.Duration
	failed         time.Duration
	keepalive      time.Duration
	maxMessageSize uint32
	receiveQueue   int
	loggerFactory  logging.LoggerFactory
}

// WithVNet runs every peer connection of the Dialer on the virtual network
// n (pion's in-memory vnet) instead of the host's sockets; tests use it to
// build deterministic topologies with loss, delay and partitions. Only UDP
// over IPv4 is gathered. It cannot be combined with WithLoopbackOnly.
func WithVNet(n *vnet.Net) Option {
	return func(c *dialerConfig) error {
		if n == nil {
			return fmt.Errorf("%w: WithVNet(nil)", ErrInvalidOption)
		}
		c.vnet = n
		return nil
	}
}

// WithLoopbackOnly restricts ICE to UDP over IPv4 on loopback addresses
// (127.0.0.0/8): only loopback candidates are gathered, and connectivity
// checks are sent to loopback remote candidates only. Tests that use real
// sockets need it; no test traffic may leave the host.
func WithLoopbackOnly() Option {
	return func(c *dialerConfig) error {
		c.loopbackOnly = true
		return nil
	}
}

// WithICEServers sets the STUN and TURN servers used to gather server
// reflexive and relay candidates. The default is none: host candidates only.
func WithICEServers(servers []webrtc.ICEServer) Option {
	return func(c *dialerConfig) error {
		c.iceServers = append([]webrtc.ICEServer(nil), servers...)
		return nil
	}
}

// WithOpenTimeout bounds Pending.Open, measured from the call (default
// DefaultOpenTimeout). It also bounds ICE gathering in Offer and Accept.
func WithOpenTimeout(d time.Duration) Option {
	return func(c *dialerConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: open timeout %v", ErrInvalidOption, d)
		}
		c.openTimeout = d
		return nil
	}
}

// WithICETimeouts sets how a silent peer is detected (see
// SettingEngine.SetICETimeouts): after disconnected without traffic ICE
// reports the connection disconnected, after a further failed it reports
// it failed and the link closes; keepalive is how often an idle connection
// sends ICE keepalives. All must be positive and keepalive must be shorter
// than disconnected. Defaults: DefaultICEDisconnectedTimeout,
// DefaultICEFailedTimeout, DefaultICEKeepaliveInterval.
func WithICETimeouts(disconnected, failed, keepalive time.Duration) Option {
	return func(c *dialerConfig) error {
		if disconnected <= 0 || failed <= 0 || keepalive <= 0 || keepalive >= disconnected {
			return fmt.Errorf("%w: ICE timeouts %v/%v/%v", ErrInvalidOption, disconnected, failed, keepalive)
		}
		c.disconnected, c.failed, c.keepalive = disconnected, failed, keepalive
		return nil
	}
}

// WithMaxMessageSize sets the largest data-channel message a link accepts
// (default DefaultMaxMessageSize). It is advertised in the SDP; a peer that
// sends a larger message anyway has its channel closed. It must be at least
// peerwire.MaxMessageSize.
func WithMaxMessageSize(n int) Option {
	return func(c *dialerConfig) error {
		if n < peerwire.MaxMessageSize || n > 1<<30 {
			return fmt.Errorf("%w: max message size %d", ErrInvalidOption, n)
		}
		c.maxMessageSize = uint32(n)
		return nil
	}
}

// WithReceiveQueue sets how many received messages a link holds until
// Receive takes them (default DefaultReceiveQueue). When the queue is full
// the link stops reading from SCTP, whose receive window then closes and
// makes the peer's sends queue up on its side (its bufferedAmount grows):
// a slow reader slows the sender down instead of losing messages or
// growing memory.
func WithReceiveQueue(n int) Option {
	return func(c *dialerConfig) error {
		if n < 1 || n > 1<<16 {
			return fmt.Errorf("%w: receive queue %d", ErrInvalidOption, n)
		}
		c.receiveQueue = n
		return nil
	}
}

// WithLoggerFactory sends pion's logs to f. By default they are discarded.
func WithLoggerFactory(f logging.LoggerFactory) Option {
	return func(c *dialerConfig) error {
		if f == nil {
			return fmt.Errorf("%w: WithLoggerFactory(nil)", ErrInvalidOption)
		}
		c.loggerFactory = f
		return nil
	}
}

// Dialer implements engine.Dialer with pion/webrtc. Each Offer or Accept
// creates one peer connection carrying one reliable, ordered data channel.
// A Dialer holds no resources of its own and is safe for concurrent use;
// every Pending and Link it returns must be closed.
type Dialer struct {
	api  *webrtc.API
	conf webrtc.Configuration
	cfg  dialerConfig
}

var (
	_ engine.Dialer  = (*Dialer)(nil)
	_ engine.Pending = (*pending)(nil)
	_ engine.Link    = (*link)(nil)
)

// NewDialer returns a Dialer configured by opts. Without options it gathers
// host candidates on every interface (UDP over IPv4 and IPv6, no mDNS) and
// uses the Default timeouts and limits.
func NewDialer(opts ...Option) (*Dialer, error) {
	cfg := dialerConfig{
		openTimeout:    DefaultOpenTimeout,
		disconnected:   DefaultICEDisconnectedTimeout,
		failed:         DefaultICEFailedTimeout,
		keepalive:      DefaultICEKeepaliveInterval,
		maxMessageSize: DefaultMaxMessageSize,
		receiveQueue:   DefaultReceiveQueue,
	}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.vnet != nil && cfg.loopbackOnly {
		return nil, fmt.Errorf("%w: WithVNet and WithLoopbackOnly together", ErrInvalidOption)
	}
	if cfg.loggerFactory == nil {
		cfg.loggerFactory = &logging.DefaultLoggerFactory{
			Writer:          io.Discard,
			DefaultLogLevel: logging.LogLevelDisabled,
			ScopeLevels:     map[string]logging.LogLevel{},
		}
	}

	var se webrtc.SettingEngine
	se.LoggerFactory = cfg.loggerFactory
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(cfg.disconnected, cfg.failed, cfg.keepalive)
	se.SetSCTPMaxMessageSize(cfg.maxMessageSize)
	switch {
	case cfg.vnet != nil:
		se.SetNet(cfg.vnet)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	case cfg.loopbackOnly:
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(isLoopbackInterface)
		se.SetIPFilter(isLoopbackIPv4)
		se.SetRemoteIPFilter(isLoopbackIPv4)
	default:
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	}

	return &Dialer{
		api:  webrtc.NewAPI(webrtc.WithSettingEngine(se)),
		conf: webrtc.Configuration{ICEServers: cfg.iceServers},
		cfg:  cfg,
	}, nil
}

func isLoopbackInterface(name string) bool {
	ifi, err := net.InterfaceByName(name)
	return err == nil && ifi.Flags&net.FlagLoopback != 0
}

func isLoopbackIPv4(ip net.IP) bool { return ip.To4() != nil && ip.IsLoopback() }

// Offer creates a peer connection with one data channel, gathers all its
// ICE candidates and returns it with its offer. ctx bounds the gathering.
func (d *Dialer) Offer(ctx context.Context) (engine.Pending, error) {
	pc, err := d.api.NewPeerConnection(d.conf)
	if err != nil {
		return nil, fmt.Errorf("native: new peer connection: %w", err)
	}
	l := newLink(pc, &d.cfg)
	dc, err := pc.CreateDataChannel(channelLabel, nil) // reliable and ordered
	if err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("native: create data channel: %w", err)
	}
	l.attach(dc)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("native: create offer: %w", err)
	}
	sdp, err := d.setLocal(ctx, l, offer)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return &pending{l: l, sdp: sdp, offerer: true}, nil
}

// Accept answers the remote offer (the JSON form of engine.SDP), gathers
// all ICE candidates and returns the connection with its answer. The data
// channel is the first reliable, ordered one the peer opens; any other is
// closed. ctx bounds the gathering.
func (d *Dialer) Accept(ctx context.Context, offer engine.SDP) (engine.Pending, error) {
	desc, err := parseSDP(offer, webrtc.SDPTypeOffer)
	if err != nil {
		return nil, err
	}
	pc, err := d.api.NewPeerConnection(d.conf)
	if err != nil {
		return nil, fmt.Errorf("native: new peer connection: %w", err)
	}
	l := newLink(pc, &d.cfg)
	pc.OnDataChannel(l.onDataChannel)
	if err := pc.SetRemoteDescription(desc); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("%w: set remote offer: %w", ErrInvalidSDP, err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("native: create answer: %w", err)
	}
	sdp, err := d.setLocal(ctx, l, answer)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return &pending{l: l, sdp: sdp}, nil
}

// setLocal sets desc as the local description, waits until ICE gathering
// is complete and returns the local description, candidates included, as
// JSON.
func (d *Dialer) setLocal(ctx context.Context, l *link, desc webrtc.SessionDescription) (engine.SDP, error) {
	gathered := webrtc.GatheringCompletePromise(l.pc)
	if err := l.pc.SetLocalDescription(desc); err != nil {
		return nil, fmt.Errorf("native: set local %s: %w", desc.Type, err)
	}
	timer := time.NewTimer(d.cfg.openTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, fmt.Errorf("native: gathering ICE candidates: %w", ctx.Err())
	case <-timer.C:
		return nil, fmt.Errorf("%w: gathering ICE candidates", ErrOpenTimeout)
	case <-l.done:
		return nil, fmt.Errorf("native: gathering ICE candidates: %w", l.reason())
	}
	b, err := json.Marshal(l.pc.LocalDescription())
	if err != nil {
		return nil, fmt.Errorf("native: encode local %s: %w", desc.Type, err)
	}
	return b, nil
}

// parseSDP decodes the JSON form of a session description and checks its
// type, its size and that it has a data-channel (application) section.
func parseSDP(b engine.SDP, want webrtc.SDPType) (webrtc.SessionDescription, error) {
	var desc webrtc.SessionDescription
	if len(b) == 0 || len(b) > maxSDPSize {
		return desc, fmt.Errorf("%w: %d bytes", ErrInvalidSDP, len(b))
	}
	if err := json.Unmarshal(b, &desc); err != nil {
		return desc, fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	if desc.Type != want {
		return desc, fmt.Errorf("%w: type %q, want %q", ErrInvalidSDP, desc.Type, want)
	}
	parsed, err := desc.Unmarshal()
	if err != nil {
		return desc, fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	for _, m := range parsed.MediaDescriptions {
		if m.MediaName.Media == "application" {
			return desc, nil
		}
	}
	return desc, fmt.Errorf("%w: no data channel (application) section", ErrInvalidSDP)
}

// Pending states.
const (
	pendingIdle = iota
	pendingOpening
	pendingOpened
	pendingClosed
)

// pending implements engine.Pending.
type pending struct {
	l       *link
	sdp     engine.SDP
	offerer bool

	mu    sync.Mutex
	state int
}

// SDP returns a copy of the local offer or answer.
func (p *pending) SDP() engine.SDP { return append(engine.SDP(nil), p.sdp...) }

// Open applies the remote answer (for an offer) and waits until the data
// channel is open, ctx is done, the connection fails, or the open timeout
// passes. On failure it closes the connection.
func (p *pending) Open(ctx context.Context, answer engine.SDP) (engine.Link, error) {
	p.mu.Lock()
	switch p.state {
	case pendingClosed:
		p.mu.Unlock()
		return nil, ErrPendingClosed
	case pendingOpening, pendingOpened:
		p.mu.Unlock()
		return nil, ErrAlreadyOpened
	}
	p.state = pendingOpening
	p.mu.Unlock()

	l := p.l
	timer := time.NewTimer(l.cfg.openTimeout)
	defer timer.Stop()

	var err error
	switch {
	case !p.offerer && answer != nil:
		err = fmt.Errorf("%w: answer given to an accepted offer", ErrInvalidSDP)
	case p.offerer:
		var desc webrtc.SessionDescription
		if desc, err = parseSDP(answer, webrtc.SDPTypeAnswer); err == nil {
			if err = l.pc.SetRemoteDescription(desc); err != nil {
				err = fmt.Errorf("%w: set remote answer: %w", ErrInvalidSDP, err)
			}
		}
	}
	if err == nil {
		select {
		case <-l.opened:
		case <-l.done:
			if err = l.reason(); err == errLocalClose {
				err = ErrPendingClosed
			}
		case <-ctx.Done():
			err = ctx.Err()
		case <-timer.C:
			err = ErrOpenTimeout
		}
	}

	p.mu.Lock()
	if err == nil && p.state == pendingClosed { // Close raced with the open
		err = ErrPendingClosed
	}
	if err != nil {
		p.state = pendingClosed
		p.mu.Unlock()
		_ = l.Close()
		return nil, fmt.Errorf("native: open data channel: %w", err)
	}
	p.state = pendingOpened
	p.mu.Unlock()
	return l, nil
}

// Close closes the connection unless Open has returned it. Idempotent.
func (p *pending) Close() error {
	p.mu.Lock()
	if p.state == pendingOpened {
		p.mu.Unlock()
		return nil
	}
	p.state = pendingClosed
	p.mu.Unlock()
	return p.l.Close()
}

// errLocalClose is the close reason of a link closed by its owner.
var errLocalClose = errors.New("native: closed locally")

// link implements engine.Link over one pion data channel and owns its peer
// connection.
//
// The link dies once, for one reason: its owner's Close, the peer closing
// the channel or the connection, or ICE/DTLS failure. Dying closes done;
// the teardown (closing the data channel and the peer connection, which
// waits for pion's goroutines) then runs in a goroutine of its own, as
// pion's callbacks, which report most deaths, must not close the peer
// connection themselves. Close waits for the teardown.
type link struct {
	pc  *webrtc.PeerConnection
	cfg *dialerConfig

	recv   chan []byte   // received messages, bounded
	low    chan struct{} // buffered-amount-low events, 1-buffered
	opened chan struct{} // closed when the data channel opens
	done   chan struct{} // closed when the link dies
	torn   chan struct{} // closed when the teardown is over

	openOnce  sync.Once
	dieOnce   sync.Once
	localDown atomic.Bool // closed by its owner

	mu  sync.Mutex
	dc  *webrtc.DataChannel // set once, before opened is closed
	why error               // why the link died, set before done is closed
}

func newLink(pc *webrtc.PeerConnection, cfg *dialerConfig) *link {
	l := &link{
		pc:     pc,
		cfg:    cfg,
		recv:   make(chan []byte, cfg.receiveQueue),
		low:    make(chan struct{}, 1),
		opened: make(chan struct{}),
		done:   make(chan struct{}),
		torn:   make(chan struct{}),
	}
	pc.OnConnectionStateChange(l.onConnectionState)
	return l
}

// attach makes dc the link's data channel and installs its handlers, all
// before the channel can open, so that no message or event is missed.
func (l *link) attach(dc *webrtc.DataChannel) {
	l.mu.Lock()
	l.dc = dc
	l.mu.Unlock()
	dc.SetBufferedAmountLowThreshold(peerwire.LowWaterMark)
	dc.OnBufferedAmountLow(l.onBufferedLow)
	dc.OnMessage(l.onMessage)
	dc.OnOpen(l.onOpen)
	dc.OnClose(l.onClose)
}

// onDataChannel adopts the first reliable, ordered channel the peer opens
// and closes any other. pion runs it before the channel opens.
func (l *link) onDataChannel(dc *webrtc.DataChannel) {
	ok := dc.Ordered() && dc.MaxRetransmits() == nil && dc.MaxPacketLifeTime() == nil
	l.mu.Lock()
	if l.dc != nil {
		ok = false
	}
	l.mu.Unlock()
	if !ok {
		_ = dc.Close()
		return
	}
	l.attach(dc)
}

func (l *link) onOpen() { l.openOnce.Do(func() { close(l.opened) }) }

func (l *link) onClose() { l.die(ErrPeerClosed) }

func (l *link) onConnectionState(s webrtc.PeerConnectionState) {
	switch s {
	case webrtc.PeerConnectionStateFailed:
		l.die(ErrConnectionFailed)
	case webrtc.PeerConnectionStateClosed:
		l.die(ErrPeerClosed)
	}
}

// onMessage queues one received message. pion allocates msg.Data afresh for
// each message (DataChannel.readLoop copies it out of its read buffer), so
// the slice is handed to Receive's caller as is. When the queue is full it
// blocks pion's read loop for this channel, which is the backpressure
// described at WithReceiveQueue, until Receive makes room or the link dies.
func (l *link) onMessage(msg webrtc.DataChannelMessage) {
	select {
	case <-l.done:
		return
	default:
	}
	select {
	case l.recv <- msg.Data:
	case <-l.done:
	}
}

func (l *link) onBufferedLow() {
	select {
	case l.low <- struct{}{}:
	default:
	}
}

// die records why the link died, wakes everyone waiting on it and starts
// the teardown. Only the first call has an effect.
func (l *link) die(why error) {
	l.dieOnce.Do(func() {
		l.mu.Lock()
		l.why = why
		dc := l.dc
		l.mu.Unlock()
		close(l.done)
		go func() {
			defer close(l.torn)
			if dc != nil {
				_ = dc.Close()
			}
			_ = l.pc.GracefulClose()
		}()
	})
}

// reason returns why the link died; call it only after done is closed.
func (l *link) reason() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.why
}

// closedErr returns the error of operations on a dead link: ErrLinkClosed,
// joined with the reason unless the owner closed it.
func (l *link) closedErr() error {
	why := l.reason()
	if why == errLocalClose {
		return engine.ErrLinkClosed
	}
	return fmt.Errorf("%w: %w", engine.ErrLinkClosed, why)
}

// Send queues msg on the data channel. pion copies it, so the caller may
// reuse msg once Send returns. Messages larger than the peer's
// max-message-size fail.
func (l *link) Send(msg []byte) error {
	select {
	case <-l.done:
		return l.closedErr()
	default:
	}
	if err := l.dc.Send(msg); err != nil {
		select {
		case <-l.done:
			return l.closedErr()
		default:
		}
		if errors.Is(err, io.ErrClosedPipe) {
			return fmt.Errorf("%w: %w", engine.ErrLinkClosed, err)
		}
		return fmt.Errorf("native: send %d bytes: %w", len(msg), err)
	}
	return nil
}

// Receive returns the next message. Once the link has died it returns the
// messages still queued if the peer or the network ended it, none if its
// owner closed it, and then an error matching engine.ErrLinkClosed (and
// ErrPeerClosed or ErrConnectionFailed when the peer or the network ended
// it).
func (l *link) Receive() ([]byte, error) {
	if l.localDown.Load() {
		return nil, engine.ErrLinkClosed
	}
	select {
	case m := <-l.recv:
		return m, nil
	case <-l.done:
	}
	if !l.localDown.Load() {
		select {
		case m := <-l.recv:
			return m, nil
		default:
		}
	}
	return nil, l.closedErr()
}

// BufferedAmount returns the bytes queued by Send and not yet acknowledged
// by the peer's SCTP stack.
func (l *link) BufferedAmount() int { return int(l.dc.BufferedAmount()) }

// BufferedLow returns a channel that receives each time the buffered amount
// falls to or below peerwire.LowWaterMark. Events coalesce: it holds at
// most one.
func (l *link) BufferedLow() <-chan struct{} { return l.low }

// Close closes the data channel and the peer connection and waits until
// pion has stopped. Messages still buffered (BufferedAmount) may be lost;
// the peer sees its Receive fail with ErrPeerClosed at once. Receive here
// then fails with engine.ErrLinkClosed. Idempotent; it always returns nil.
func (l *link) Close() error {
	l.localDown.Store(true)
	l.die(errLocalClose)
	<-l.torn
	return nil
}
