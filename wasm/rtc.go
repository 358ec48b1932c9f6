//go:build js && wasm

package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/peerwire"
	"github.com/nearcast/nearcast/internal/timeout"
)

// The browser Dialer, Pending and Link: WebRTC (RFC 8831 data channels) on
// the page's RTCPeerConnection. It mirrors engine/native's pion adapter:
// one peer connection per link carrying one reliable, ordered data channel
// labelled "nearcast"; non-trickle ICE (the SDP handed out carries every
// candidate); the same timeouts and bounds.

// Defaults and bounds of a Dialer.
const (
	// defaultOpenTimeout bounds ICE gathering in Offer and Accept and the
	// wait in Pending.Open, like native.DefaultOpenTimeout.
	defaultOpenTimeout = 15 * time.Second
	// maxLinkMessage is the largest data-channel message a link accepts,
	// like native.DefaultMaxMessageSize; a larger one closes the link.
	maxLinkMessage = 64 << 10
	// maxQueuedBytes bounds the bytes received and not yet taken by
	// Receive. A browser data channel cannot push back on its sender (there
	// is no way to stop onmessage), so a link whose reader falls this far
	// behind is closed with ErrOverflow. Senders stop at most at
	// peerwire.HighWaterMark (256 KiB) of buffered data, so a healthy link
	// stays far below it.
	maxQueuedBytes = 8 << 20
	// receiveQueue bounds the number of queued messages.
	receiveQueue = 1024
	// channelLabel is the data channel's label, the same as engine/native.
	channelLabel = "nearcast"
)

// iceServer is one RTCIceServer: STUN or TURN URLs and TURN credentials.
type iceServer struct {
	URLs                 []string
	Username, Credential string
}

// rtcDialer implements engine.Dialer with RTCPeerConnection. It holds no
// resources; every Pending and Link it returns must be closed.
type rtcDialer struct {
	iceServers  []iceServer
	openTimeout time.Duration
	ctor        js.Value // RTCPeerConnection
}

var (
	_ engine.Dialer  = (*rtcDialer)(nil)
	_ engine.Pending = (*rtcPending)(nil)
	_ engine.Link    = (*rtcLink)(nil)
)

// newDialer returns a Dialer, or ErrUnsupported without RTCPeerConnection.
func newDialer(servers []iceServer, openTimeout time.Duration) (*rtcDialer, error) {
	ctor := js.Global().Get("RTCPeerConnection")
	if ctor.Type() != js.TypeFunction {
		return nil, wrap(ErrUnsupported, "no RTCPeerConnection")
	}
	if openTimeout <= 0 {
		openTimeout = defaultOpenTimeout
	}
	return &rtcDialer{iceServers: servers, openTimeout: openTimeout, ctor: ctor}, nil
}

// configuration returns a fresh RTCConfiguration.
func (d *rtcDialer) configuration() js.Value {
	servers := jsArray.New()
	for _, s := range d.iceServers {
		o := object.New()
		urls := jsArray.New()
		for _, u := range s.URLs {
			urls.Call("push", u)
		}
		o.Set("urls", urls)
		if s.Username != "" {
			o.Set("username", s.Username)
		}
		if s.Credential != "" {
			o.Set("credential", s.Credential)
		}
		servers.Call("push", o)
	}
	c := object.New()
	c.Set("iceServers", servers)
	return c
}

// Offer creates a peer connection with the data channel, gathers every
// ICE candidate and returns it with its offer.
func (d *rtcDialer) Offer(ctx context.Context) (engine.Pending, error) {
	l, err := d.newLink()
	if err != nil {
		return nil, err
	}
	init := object.New()
	init.Set("ordered", true)
	dc, err := call(l.pc, "createDataChannel", channelLabel, init)
	if err != nil {
		_ = l.Close()
		return nil, wrapCause(ErrConnectionFailed, "create data channel", err)
	}
	l.attach(dc)
	sdp, err := d.setLocal(ctx, l)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return &rtcPending{l: l, sdp: sdp, offerer: true}, nil
}

// Accept answers the remote offer, gathers every ICE candidate and returns
// the connection with its answer. The link adopts the first reliable,
// ordered channel labelled "nearcast" the peer opens and closes others.
func (d *rtcDialer) Accept(ctx context.Context, offer engine.SDP) (engine.Pending, error) {
	sdp, err := parseSDP(offer, "offer")
	if err != nil {
		return nil, err
	}
	l, err := d.newLink()
	if err != nil {
		return nil, err
	}
	l.handle(l.pc, "ondatachannel", l.onDataChannel)
	if err := l.setRemote(ctx, "offer", sdp); err != nil {
		_ = l.Close()
		return nil, err
	}
	answer, err := d.setLocal(ctx, l)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return &rtcPending{l: l, sdp: answer}, nil
}

// newLink creates a peer connection and its link.
func (d *rtcDialer) newLink() (*rtcLink, error) {
	pc, err := construct(d.ctor, d.configuration())
	if err != nil {
		return nil, wrapCause(ErrInvalidArgument, "new RTCPeerConnection", err)
	}
	l := &rtcLink{
		pc:       pc,
		timeout:  d.openTimeout,
		recv:     make(chan []byte, receiveQueue),
		low:      make(chan struct{}, 1),
		opened:   make(chan struct{}),
		gathered: make(chan struct{}),
		done:     make(chan struct{}),
		torn:     make(chan struct{}),
	}
	l.handle(pc, "onconnectionstatechange", l.onConnectionState)
	l.handle(pc, "oniceconnectionstatechange", l.onConnectionState)
	l.handle(pc, "onicegatheringstatechange", l.onGathering)
	l.handle(pc, "onicecandidate", l.onCandidate)
	return l, nil
}

// setLocal sets the local description (an offer or answer, as the
// signaling state calls for), waits until ICE gathering is complete and
// returns the description, candidates included, as JSON.
func (d *rtcDialer) setLocal(ctx context.Context, l *rtcLink) (engine.SDP, error) {
	ctx, cancel := timeout.Context(ctx, d.openTimeout)
	defer cancel()
	p, err := call(l.pc, "setLocalDescription")
	if err == nil {
		_, err = await(ctx, p)
	}
	if err != nil {
		return nil, failure("set local description", err)
	}
	if stringOr(l.pc.Get("iceGatheringState"), "") != "complete" {
		select {
		case <-l.gathered:
		case <-l.done:
			return nil, wrapCause(ErrConnectionFailed, "gathering ICE candidates", l.reason())
		case <-ctx.Done():
			return nil, failure("gathering ICE candidates", ctx.Err())
		}
	}
	desc := l.pc.Get("localDescription")
	if !isDefined(desc) {
		return nil, wrap(ErrConnectionFailed, "no local description")
	}
	return encodeSDP(desc.Get("type").String(), desc.Get("sdp").String()), nil
}

// Pending states.
const (
	pendingIdle = iota
	pendingOpening
	pendingOpened
	pendingClosed
)

// rtcPending implements engine.Pending.
type rtcPending struct {
	l       *rtcLink
	sdp     engine.SDP
	offerer bool

	mu    sync.Mutex
	state int
}

// SDP returns a copy of the local offer or answer.
func (p *rtcPending) SDP() engine.SDP { return append(engine.SDP(nil), p.sdp...) }

// Open applies the remote answer (for an offer) and waits until the data
// channel is open, ctx is done, the connection fails or the open timeout
// passes. On failure it closes the connection.
func (p *rtcPending) Open(ctx context.Context, answer engine.SDP) (engine.Link, error) {
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
	ctx, cancel := timeout.Context(ctx, l.timeout)
	defer cancel()
	var err error
	switch {
	case !p.offerer && answer != nil:
		err = wrap(ErrInvalidSDP, "answer given to an accepted offer")
	case p.offerer:
		var sdp string
		if sdp, err = parseSDP(answer, "answer"); err == nil {
			err = l.setRemote(ctx, "answer", sdp)
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
			err = failure("open data channel", ctx.Err())
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
		return nil, err
	}
	p.state = pendingOpened
	p.mu.Unlock()
	return l, nil
}

// Close closes the connection unless Open has returned it. Idempotent.
func (p *rtcPending) Close() error {
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
var errLocalClose = errors.New("nearcast: closed locally")

// rtcLink implements engine.Link over one RTCDataChannel and owns its
// RTCPeerConnection.
//
// The link dies once, for one reason: its owner's Close, the peer closing
// the channel or the connection, ICE/DTLS failure, or a receive overflow.
// Dying closes done; the teardown (removing the handlers, closing the
// channel and the connection) then runs on a goroutine of its own, never
// inside a JS event handler.
type rtcLink struct {
	pc      js.Value
	timeout time.Duration

	recv     chan []byte   // received messages, bounded
	queued   atomic.Int64  // bytes in recv
	low      chan struct{} // buffered-amount-low events, 1-buffered
	opened   chan struct{} // closed when the data channel opens
	gathered chan struct{} // closed when ICE gathering is complete
	done     chan struct{} // closed when the link dies
	torn     chan struct{} // closed when the teardown is over

	openOnce, gatherOnce, dieOnce sync.Once
	localDown                     atomic.Bool

	mu       sync.Mutex
	dc       js.Value // set once, before opened is closed
	attached bool
	why      error     // why the link died, set before done is closed
	handlers []handler // installed event handlers, removed on teardown
}

// handler is an event handler property set on a JS object.
type handler struct {
	target js.Value
	prop   string
	id     int
}

// handle sets target[prop] to a handler that calls f with the event.
func (l *rtcLink) handle(target js.Value, prop string, f func(ev js.Value)) {
	id, fn := callback(func(args []js.Value) { f(arg(args, 0)) })
	l.mu.Lock()
	l.handlers = append(l.handlers, handler{target: target, prop: prop, id: id})
	l.mu.Unlock()
	target.Set(prop, fn)
}

// attach makes dc the link's data channel and installs its handlers.
func (l *rtcLink) attach(dc js.Value) {
	l.mu.Lock()
	l.dc, l.attached = dc, true
	l.mu.Unlock()
	dc.Set("binaryType", "arraybuffer")
	dc.Set("bufferedAmountLowThreshold", peerwire.LowWaterMark)
	l.handle(dc, "onbufferedamountlow", l.onBufferedLow)
	l.handle(dc, "onmessage", l.onMessage)
	l.handle(dc, "onopen", func(js.Value) { l.onOpen() })
	l.handle(dc, "onclose", func(js.Value) { l.die(ErrPeerClosed) })
	if stringOr(dc.Get("readyState"), "") == "open" {
		l.onOpen()
	}
}

// onDataChannel adopts the first reliable, ordered "nearcast" channel the
// peer opens and closes any other.
func (l *rtcLink) onDataChannel(ev js.Value) {
	dc := ev.Get("channel")
	ok := stringOr(dc.Get("label"), "") == channelLabel && dc.Get("ordered").Truthy() &&
		!isDefined(dc.Get("maxRetransmits")) && !isDefined(dc.Get("maxPacketLifeTime"))
	l.mu.Lock()
	if l.attached {
		ok = false
	}
	l.mu.Unlock()
	if !ok {
		_, _ = call(dc, "close")
		return
	}
	l.attach(dc)
}

func (l *rtcLink) onOpen() { l.openOnce.Do(func() { close(l.opened) }) }

func (l *rtcLink) onGathering(js.Value) {
	if stringOr(l.pc.Get("iceGatheringState"), "") == "complete" {
		l.gatherOnce.Do(func() { close(l.gathered) })
	}
}

// onCandidate treats the end-of-candidates event (a null candidate) as the
// end of gathering, for browsers that are late to report the state.
func (l *rtcLink) onCandidate(ev js.Value) {
	if !isDefined(ev) || !isDefined(ev.Get("candidate")) {
		l.gatherOnce.Do(func() { close(l.gathered) })
	}
}

func (l *rtcLink) onConnectionState(js.Value) {
	s := stringOr(l.pc.Get("connectionState"), "")
	if s == "" {
		s = stringOr(l.pc.Get("iceConnectionState"), "")
	}
	switch s {
	case "failed":
		l.die(ErrConnectionFailed)
	case "closed":
		l.die(ErrPeerClosed)
	}
}

// onMessage copies one received message into the queue. It never blocks:
// a full queue or an oversized message closes the link.
func (l *rtcLink) onMessage(ev js.Value) {
	select {
	case <-l.done:
		return
	default:
	}
	data := ev.Get("data")
	var n int
	if data.Type() == js.TypeString { // a text message: a protocol error the engine will see
		n = len(data.String())
	} else {
		n = data.Get("byteLength").Int()
	}
	if n > maxLinkMessage {
		l.die(wrap(ErrOverflow, "message of "+itoa(n)+" bytes"))
		return
	}
	if l.queued.Add(int64(n)) > maxQueuedBytes {
		l.die(wrap(ErrOverflow, "reader fell behind"))
		return
	}
	select {
	case l.recv <- bytesFromJS(data):
	default:
		l.die(wrap(ErrOverflow, "reader fell behind"))
	}
}

func (l *rtcLink) onBufferedLow(js.Value) {
	select {
	case l.low <- struct{}{}:
	default:
	}
}

// setRemote applies the remote description.
func (l *rtcLink) setRemote(ctx context.Context, typ, sdp string) error {
	desc := object.New()
	desc.Set("type", typ)
	desc.Set("sdp", sdp)
	p, err := call(l.pc, "setRemoteDescription", desc)
	if err == nil {
		_, err = await(ctx, p)
	}
	if err != nil {
		if ctx.Err() != nil {
			return failure("set remote "+typ, err)
		}
		return wrapCause(ErrInvalidSDP, "set remote "+typ, err)
	}
	return nil
}

// failure describes err, which happened while doing what: a context
// deadline (the open timeout) is ErrOpenTimeout.
func failure(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return wrap(ErrOpenTimeout, what)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return wrapCause(ErrConnectionFailed, what, err)
}

// die records why the link died, wakes everyone waiting on it and starts
// the teardown. Only the first call has an effect.
func (l *rtcLink) die(why error) {
	l.dieOnce.Do(func() {
		l.mu.Lock()
		l.why = why
		l.mu.Unlock()
		close(l.done)
		go l.teardown()
	})
}

// teardown removes every handler, then closes the channel and the
// connection.
func (l *rtcLink) teardown() {
	defer close(l.torn)
	l.mu.Lock()
	hs, dc, attached := l.handlers, l.dc, l.attached
	l.handlers = nil
	l.mu.Unlock()
	ids := make([]int, 0, len(hs))
	for _, h := range hs {
		h.target.Set(h.prop, js.Null())
		ids = append(ids, h.id)
	}
	forget(ids...)
	if attached {
		_, _ = call(dc, "close")
	}
	_, _ = call(l.pc, "close")
}

// reason returns why the link died; call it only after done is closed.
func (l *rtcLink) reason() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.why
}

// closedErr returns the error of operations on a dead link: ErrLinkClosed,
// joined with the reason unless the owner closed it.
func (l *rtcLink) closedErr() error {
	why := l.reason()
	if why == errLocalClose {
		return engine.ErrLinkClosed
	}
	return wrapCause(engine.ErrLinkClosed, "", why)
}

// Send copies msg into a new Uint8Array and sends it as one message.
func (l *rtcLink) Send(msg []byte) error {
	select {
	case <-l.done:
		return l.closedErr()
	default:
	}
	l.mu.Lock()
	dc, ok := l.dc, l.attached
	l.mu.Unlock()
	if !ok {
		return wrap(engine.ErrLinkClosed, "data channel not open")
	}
	if _, err := call(dc, "send", bytesToJS(msg)); err != nil {
		select {
		case <-l.done:
			return l.closedErr()
		default:
		}
		if stringOr(dc.Get("readyState"), "") != "open" {
			return wrapCause(engine.ErrLinkClosed, "", err)
		}
		return wrapCause(ErrConnectionFailed, "send "+itoa(len(msg))+" bytes", err)
	}
	return nil
}

// Receive returns the next message. Once the link has died it returns the
// messages still queued if the peer or the network ended it, none if its
// owner closed it, and then an error matching engine.ErrLinkClosed.
func (l *rtcLink) Receive() ([]byte, error) {
	if l.localDown.Load() {
		return nil, engine.ErrLinkClosed
	}
	select {
	case m := <-l.recv:
		l.queued.Add(-int64(len(m)))
		return m, nil
	case <-l.done:
	}
	if !l.localDown.Load() {
		select {
		case m := <-l.recv:
			l.queued.Add(-int64(len(m)))
			return m, nil
		default:
		}
	}
	return nil, l.closedErr()
}

// BufferedAmount returns the data channel's bufferedAmount.
func (l *rtcLink) BufferedAmount() int {
	l.mu.Lock()
	dc, ok := l.dc, l.attached
	l.mu.Unlock()
	if !ok {
		return 0
	}
	return dc.Get("bufferedAmount").Int()
}

// BufferedLow returns a channel that receives each time the buffered amount
// falls to peerwire.LowWaterMark (the bufferedamountlow event). Events
// coalesce: it holds at most one.
func (l *rtcLink) BufferedLow() <-chan struct{} { return l.low }

// Close closes the data channel and the peer connection and waits for the
// teardown. Idempotent; it always returns nil.
func (l *rtcLink) Close() error {
	l.localDown.Store(true)
	l.die(errLocalClose)
	<-l.torn
	return nil
}
