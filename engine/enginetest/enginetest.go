// Package enginetest provides in-memory fakes of the engine's ports — a
// tracker, a WebRTC dialer with shapeable links, and a CDN — so that engine
// logic can be tested deterministically, under testing/synctest's fake
// clock, without sockets.
package enginetest

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/peerwire"
	"github.com/nearcast/nearcast/internal/timeout"
)

// Errors of the fakes.
var (
	ErrNotFound = errors.New("enginetest: not found")
	ErrClosed   = errors.New("enginetest: closed")
)

// Network is an in-memory tracker plus WebRTC: engines attached to it find
// each other through swarms and connect over in-memory links.
type Network struct {
	mu      sync.Mutex
	swarms  map[engine.InfoHash]map[engine.PeerID]*Signaler
	peers   map[engine.PeerID]*Signaler
	conns   map[string]*conn
	seq     int
	shaping Shaping
	links   []*Link
	onLink  func(a, b *Link)
	gather  time.Duration
}

// Shaping describes how links carry messages: a one-way delay and a
// bandwidth in bytes per second (0: unlimited).
type Shaping struct {
	Delay     time.Duration
	Bandwidth int
}

// NewNetwork returns an empty network whose links use shaping.
func NewNetwork(shaping Shaping) *Network {
	return &Network{
		swarms:  make(map[engine.InfoHash]map[engine.PeerID]*Signaler),
		peers:   make(map[engine.PeerID]*Signaler),
		conns:   make(map[string]*conn),
		shaping: shaping,
	}
}

// SetGatherTime makes every offer and answer take d to create, as ICE
// candidate gathering does in a browser.
func (n *Network) SetGatherTime(d time.Duration) {
	n.mu.Lock()
	n.gather = d
	n.mu.Unlock()
}

// gatherWait waits the gather time, or until ctx ends.
func (n *Network) gatherWait(ctx context.Context) error {
	n.mu.Lock()
	d := n.gather
	n.mu.Unlock()
	return timeout.Sleep(ctx, d)
}

// OnLink sets f to be called with both ends of every new link pair before
// either end is used (a at the offerer, b at the answerer).
func (n *Network) OnLink(f func(a, b *Link)) {
	n.mu.Lock()
	n.onLink = f
	n.mu.Unlock()
}

// Links returns every link created so far (both ends).
func (n *Network) Links() []*Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Link(nil), n.links...)
}

// Signaler is one engine's tracker client on the network.
type Signaler struct {
	n       *Network
	id      engine.PeerID
	signals chan engine.Signal
	mu      sync.Mutex
	closed  bool
	// Announces counts announces by event.
	Announces map[engine.Event]int
	offers    int
}

var _ engine.Signaler = (*Signaler)(nil)

// Signaler returns a new tracker client with a random peer ID.
func (n *Network) Signaler() *Signaler {
	s := &Signaler{n: n, signals: make(chan engine.Signal, 256), Announces: map[engine.Event]int{}}
	_, _ = crand.Read(s.id[:])
	n.mu.Lock()
	n.peers[s.id] = s
	n.mu.Unlock()
	s.deliver(engine.Signal{Kind: engine.SignalConnected})
	return s
}

// PeerID implements engine.Signaler.
func (s *Signaler) PeerID() engine.PeerID { return s.id }

// Signals implements engine.Signaler.
func (s *Signaler) Signals() <-chan engine.Signal { return s.signals }

func (s *Signaler) deliver(sig engine.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.signals <- sig:
	default: // like a real client: a full buffer drops the signal
	}
}

// AnnounceCount returns how many announces with event ev were made.
func (s *Signaler) AnnounceCount(ev engine.Event) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Announces[ev]
}

// OfferCount returns how many offers all announces carried.
func (s *Signaler) OfferCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offers
}

// Announce implements engine.Signaler: offers go to random other members.
func (s *Signaler) Announce(h engine.InfoHash, ev engine.Event, numWant int, offers []engine.Offer) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.Announces[ev]++
	s.offers += len(offers)
	s.mu.Unlock()
	n := s.n
	n.mu.Lock()
	members := n.swarms[h]
	if members == nil {
		members = make(map[engine.PeerID]*Signaler)
		n.swarms[h] = members
	}
	if ev == engine.EventStopped {
		delete(members, s.id)
		n.mu.Unlock()
		return nil
	}
	members[s.id] = s
	var others []*Signaler
	for id, m := range members {
		if id != s.id {
			others = append(others, m)
		}
	}
	total := len(members)
	n.mu.Unlock()
	rand.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	s.deliver(engine.Signal{Kind: engine.SignalAnnounced, Swarm: h, Incomplete: total, Interval: 2 * time.Minute})
	for i, o := range offers {
		if i >= len(others) {
			break
		}
		others[i].deliver(engine.Signal{Kind: engine.SignalOffer, Swarm: h, Peer: s.id, OfferID: o.ID, SDP: o.SDP})
	}
	return nil
}

// Answer implements engine.Signaler.
func (s *Signaler) Answer(h engine.InfoHash, to engine.PeerID, id engine.OfferID, answer engine.SDP) error {
	s.n.mu.Lock()
	dst := s.n.peers[to]
	s.n.mu.Unlock()
	if dst == nil {
		return ErrNotFound
	}
	dst.deliver(engine.Signal{Kind: engine.SignalAnswer, Swarm: h, Peer: s.id, OfferID: id, SDP: answer})
	return nil
}

// Close implements engine.Signaler.
func (s *Signaler) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.signals)
		s.n.mu.Lock()
		for _, m := range s.n.swarms {
			delete(m, s.id)
		}
		delete(s.n.peers, s.id)
		s.n.mu.Unlock()
	}
	return nil
}

// Dialer returns a dialer whose links are shaped like the network's.
func (n *Network) Dialer() engine.Dialer { return dialer{n} }

type dialer struct{ n *Network }

// conn is a connection being set up: the offer side waits for accepted.
type conn struct {
	token    string
	accepted chan struct{}
	a, b     *Link
}

func sdp(kind, token string) engine.SDP {
	return engine.SDP(`{"type":"` + kind + `","sdp":"fake:` + token + `"}`)
}

func (d dialer) Offer(ctx context.Context) (engine.Pending, error) {
	n := d.n
	if err := n.gatherWait(ctx); err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.seq++
	c := &conn{token: strconv.Itoa(n.seq), accepted: make(chan struct{})}
	n.conns[c.token] = c
	n.mu.Unlock()
	return &pending{n: n, c: c, offer: true}, nil
}

func (d dialer) Accept(ctx context.Context, offer engine.SDP) (engine.Pending, error) {
	i := bytes.Index(offer, []byte("fake:"))
	if i < 0 {
		return nil, ErrNotFound
	}
	token := string(offer[i+5 : bytes.IndexByte(offer[i:], '"')+i])
	n := d.n
	if err := n.gatherWait(ctx); err != nil {
		return nil, err
	}
	n.mu.Lock()
	c := n.conns[token]
	delete(n.conns, token)
	n.mu.Unlock()
	if c == nil {
		return nil, ErrNotFound
	}
	return &pending{n: n, c: c}, nil
}

type pending struct {
	n      *Network
	c      *conn
	offer  bool
	closed bool
	mu     sync.Mutex
}

func (p *pending) SDP() engine.SDP {
	if p.offer {
		return sdp("offer", p.c.token)
	}
	return sdp("answer", p.c.token)
}

func (p *pending) Open(ctx context.Context, answer engine.SDP) (engine.Link, error) {
	if !p.offer {
		a, b := newLinkPair(p.n)
		p.c.a, p.c.b = a, b
		close(p.c.accepted)
		return b, nil
	}
	select {
	case <-p.c.accepted:
		return p.c.a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *pending) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.offer && !p.closed {
		p.closed = true
		p.n.mu.Lock()
		delete(p.n.conns, p.c.token)
		p.n.mu.Unlock()
	}
	return nil
}

// Link is one end of an in-memory data channel. Messages travel after the
// network's delay and at its bandwidth, in order; BufferedAmount counts
// bytes not yet delivered.
type Link struct {
	n      *Network
	peer   *Link
	in     chan []byte
	low    chan struct{}
	queue  chan []byte
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	queued int
	stall  bool
	// Mutate, when set, may change outgoing messages (to model a peer that
	// sends corrupt data).
	mutate func([]byte) []byte
}

var _ engine.Link = (*Link)(nil)

func newLinkPair(n *Network) (*Link, *Link) {
	mk := func() *Link {
		return &Link{n: n, in: make(chan []byte, 1024), low: make(chan struct{}, 1), queue: make(chan []byte, 4096), done: make(chan struct{})}
	}
	a, b := mk(), mk()
	a.peer, b.peer = b, a
	go a.pump()
	go b.pump()
	n.mu.Lock()
	n.links = append(n.links, a, b)
	hook := n.onLink
	n.mu.Unlock()
	if hook != nil {
		hook(a, b)
	}
	return a, b
}

// Send implements engine.Link.
func (l *Link) Send(msg []byte) error {
	select {
	case <-l.done:
		return engine.ErrLinkClosed
	default:
	}
	m := append([]byte(nil), msg...)
	l.mu.Lock()
	if l.mutate != nil {
		m = l.mutate(m)
	}
	l.queued += len(m)
	l.mu.Unlock()
	select {
	case l.queue <- m:
		return nil
	case <-l.done:
		return engine.ErrLinkClosed
	}
}

// pump delivers queued messages to the other end, shaped.
func (l *Link) pump() {
	sh := l.n.shaping
	for {
		select {
		case <-l.done:
			return
		case m := <-l.queue:
			d := sh.Delay
			if sh.Bandwidth > 0 {
				d += time.Duration(float64(len(m)) / float64(sh.Bandwidth) * float64(time.Second))
			}
			if d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-l.done:
					t.Stop()
					return
				}
			}
			for l.stalled() {
				t := time.NewTimer(50 * time.Millisecond)
				select {
				case <-t.C:
				case <-l.done:
					t.Stop()
					return
				}
			}
			l.mu.Lock()
			l.queued -= len(m)
			low := l.queued <= peerwire.LowWaterMark
			l.mu.Unlock()
			if low {
				select {
				case l.low <- struct{}{}:
				default:
				}
			}
			select {
			case l.peer.in <- m:
			case <-l.peer.done:
			case <-l.done:
				return
			}
		}
	}
}

func (l *Link) stalled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stall
}

// Stall stops (true) or resumes (false) delivery from this end, as a peer
// that vanishes without closing.
func (l *Link) Stall(on bool) {
	l.mu.Lock()
	l.stall = on
	l.mu.Unlock()
}

// SetMutate installs f to change every later outgoing message.
func (l *Link) SetMutate(f func([]byte) []byte) {
	l.mu.Lock()
	l.mutate = f
	l.mu.Unlock()
}

// Receive implements engine.Link.
func (l *Link) Receive() ([]byte, error) {
	select {
	case m := <-l.in:
		return m, nil
	case <-l.done:
		return nil, engine.ErrLinkClosed
	}
}

// BufferedAmount implements engine.Link.
func (l *Link) BufferedAmount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queued
}

// BufferedLow implements engine.Link.
func (l *Link) BufferedLow() <-chan struct{} { return l.low }

// Close implements engine.Link; the other end closes too, as a data
// channel does.
func (l *Link) Close() error {
	l.once.Do(func() {
		close(l.done)
		go l.peer.Close()
	})
	return nil
}

// Closed reports whether the link is closed.
func (l *Link) Closed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// CDN is a fake origin: segments by URL, a latency and a bandwidth, and a
// count of bytes served per URL.
type CDN struct {
	mu        sync.Mutex
	files     map[string][]byte
	served    map[string]int
	Latency   time.Duration
	Bandwidth int // bytes per second, 0: unlimited
}

var _ engine.Fetcher = (*CDN)(nil)

// NewCDN returns a CDN holding files.
func NewCDN(files map[string][]byte) *CDN {
	return &CDN{files: files, served: make(map[string]int)}
}

// SetLatency changes the latency of the fetches that start from now on,
// while others may be running (Latency is for before any do).
func (c *CDN) SetLatency(d time.Duration) {
	c.mu.Lock()
	c.Latency = d
	c.mu.Unlock()
}

// Fetch implements engine.Fetcher.
func (c *CDN) Fetch(ctx context.Context, r engine.FetchRequest) ([]byte, error) {
	c.mu.Lock()
	data, ok := c.files[r.URL]
	lat, bw := c.Latency, c.Bandwidth
	c.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	if r.End > 0 {
		if r.End > int64(len(data)) {
			return nil, ErrNotFound
		}
		data = data[r.Start:r.End]
	}
	d := lat
	if bw > 0 {
		d += time.Duration(float64(len(data)) / float64(bw) * float64(time.Second))
	}
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	c.mu.Lock()
	c.served[r.URL] += len(data)
	c.mu.Unlock()
	return append([]byte(nil), data...), nil
}

// Served returns the bytes served for url.
func (c *CDN) Served(url string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.served[url]
}

// TotalServed returns all bytes served.
func (c *CDN) TotalServed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.served {
		n += v
	}
	return n
}

// Stream makes a synthetic stream of n segments of random bytes with sizes
// around size, served at base+"/segN.m4s".
func Stream(base string, n, size int) (urls []string, files map[string][]byte) {
	files = make(map[string][]byte, n)
	for i := range n {
		u := base + "/seg" + strconv.Itoa(i) + ".m4s"
		b := make([]byte, size+rand.IntN(size/4+1))
		_, _ = crand.Read(b)
		urls = append(urls, u)
		files[u] = b
	}
	return urls, files
}

// Close closes every link of the network, so that no goroutine outlives a
// test (links of connections that no engine took up included).
func (n *Network) Close() {
	for _, l := range n.Links() {
		_ = l.Close()
	}
}
