package engine

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nearcast/nearcast/engine/peerwire"
	"github.com/nearcast/nearcast/internal/timeout"
	"github.com/nearcast/nearcast/segmentcache"
)

// housekeepingEvery is the period of the engine's timer work: expiring
// offers, leaving idle swarms, re-announcing.
const housekeepingEvery = time.Second

// Engine is one viewer's P2P engine. It is safe for concurrent use.
type Engine struct {
	cfg   config
	sig   Signaler
	dial  Dialer
	fetch Fetcher
	cache *segmentcache.Cache
	self  PeerID
	caps  peerwire.Capabilities

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	events  events
	uploads chan struct{} // semaphore of concurrent uploads

	mu         sync.Mutex
	closed     bool
	swarms     map[InfoHash]*swarm
	peers      map[PeerID]*peer
	offers     map[OfferID]*outOffer
	connecting map[PeerID]struct{}
	banned     map[PeerID]time.Time
	prefetches int
	origin     map[segmentcache.Key]provenance // where each cached segment came from
	stats      Stats
	cdn        cdnEstimate
	uplink     uplinkEstimate // how fast uploads leave; guarded by mu
	// keptUntil: the uplink is kept for keptFor, a peer we are the nearest
	// holder for (see keepUplink); guarded by mu.
	keptUntil time.Time
	keptFor   *peer
	// nearestRefused: a peer we are the nearest holder for, answered
	// "busy" during the current upload; guarded by mu.
	nearestRefused *peer
}

// swarm is a swarm the engine is in.
type swarm struct {
	id           SwarmID
	hash         InfoHash
	lastUsed     time.Time
	lastAnnounce time.Time
	interval     time.Duration
	others       int  // other members, as the tracker last counted them
	counted      bool // the tracker has counted the members at least once
	announcing   bool
	segSize      ewma // typical segment size, for transfer estimates
	inflight     map[segmentcache.Key]*transfer
	waiters      map[uint64][]chan struct{} // Loads waiting for a peer to have seq
	// queued counts, per seq, the prefetches that have not asked a peer
	// yet and the Loads waiting for a holder; a holder of an earlier one
	// is kept for it (see enqueue, waitQuiet).
	queued map[uint64]int
}

// outOffer is an offer of ours waiting for an answer through the tracker.
type outOffer struct {
	swarm   InfoHash
	pending Pending
	expires time.Time
}

// New returns an engine that signals through sig, connects to peers with
// dial and fetches from the CDN with fetch. The engine owns sig and closes
// it on Close.
func New(sig Signaler, dial Dialer, fetch Fetcher, opts ...Option) (*Engine, error) {
	if sig == nil || dial == nil || fetch == nil {
		return nil, ErrInvalidOption
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, ErrInvalidOption
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		cfg:        cfg,
		sig:        sig,
		dial:       dial,
		fetch:      fetch,
		self:       sig.PeerID(),
		ctx:        ctx,
		cancel:     cancel,
		uploads:    make(chan struct{}, cfg.maxUploads),
		swarms:     make(map[InfoHash]*swarm),
		peers:      make(map[PeerID]*peer),
		offers:     make(map[OfferID]*outOffer),
		connecting: make(map[PeerID]struct{}),
		banned:     make(map[PeerID]time.Time),
		origin:     make(map[segmentcache.Key]provenance),
	}
	if cfg.upload {
		e.caps = peerwire.CapUpload
	} else {
		e.caps = peerwire.CapLeechOnly
	}
	cacheOpts := []segmentcache.Option{segmentcache.WithOnEvict(e.evicted)}
	if cfg.cacheBytes > 0 {
		cacheOpts = append(cacheOpts, segmentcache.WithMaxBytes(cfg.cacheBytes))
	}
	cache, err := segmentcache.New(cacheOpts...)
	if err != nil {
		cancel()
		return nil, err
	}
	e.cache = cache
	e.wg.Add(2)
	go e.signalLoop()
	go e.housekeeping()
	return e, nil
}

// PeerID returns the engine's identity in swarms.
func (e *Engine) PeerID() PeerID { return e.self }

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	s := e.stats
	s.Peers = len(e.peers)
	s.Swarms = len(e.swarms)
	e.mu.Unlock()
	s.Uploads = len(e.uploads)
	s.Cache = e.cache.Stats()
	return s
}

// Close leaves every swarm, closes every peer link and the signaler, and
// waits for the engine's goroutines. Loads in progress fail with ErrClosed.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	hashes := make([]InfoHash, 0, len(e.swarms))
	for h := range e.swarms {
		hashes = append(hashes, h)
	}
	peers := make([]*peer, 0, len(e.peers))
	for _, p := range e.peers {
		peers = append(peers, p)
	}
	offers := e.offers
	e.offers = map[OfferID]*outOffer{}
	e.mu.Unlock()

	for _, h := range hashes {
		_ = e.sig.Announce(h, EventStopped, 0, nil)
	}
	e.cancel()
	for _, o := range offers {
		_ = o.pending.Close()
	}
	for _, p := range peers {
		p.close(ErrClosed)
	}
	err := e.sig.Close()
	e.wg.Wait()
	return err
}

// go runs f on a goroutine the engine waits for on Close.
func (e *Engine) spawn(f func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
	return true
}

// useSwarm returns the swarm id, joining it if the engine is not in it.
func (e *Engine) useSwarm(id SwarmID) (*swarm, error) {
	h := SwarmKey(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	s := e.swarms[h]
	if s == nil {
		s = &swarm{
			id:       id,
			hash:     h,
			interval: 2 * time.Minute,
			inflight: make(map[segmentcache.Key]*transfer),
			waiters:  make(map[uint64][]chan struct{}),
			queued:   make(map[uint64]int),
		}
		e.swarms[h] = s
		e.announceLocked(s, EventStarted)
	}
	s.lastUsed = time.Now()
	return s, nil
}

// Leave leaves swarm id at once: the tracker is told, peers met in it are
// disconnected. Loads join it again when needed.
func (e *Engine) Leave(id SwarmID) {
	h := SwarmKey(id)
	e.mu.Lock()
	s := e.swarms[h]
	delete(e.swarms, h)
	var drop []*peer
	for _, p := range e.peers {
		if p.swarm == h {
			drop = append(drop, p)
		}
	}
	e.mu.Unlock()
	if s == nil {
		return
	}
	_ = e.sig.Announce(h, EventStopped, 0, nil)
	for _, p := range drop {
		p.close(errLeftSwarm)
	}
}

// peersInLocked counts connected peers met in swarm h.
func (e *Engine) peersInLocked(h InfoHash) int {
	n := 0
	for _, p := range e.peers {
		if p.swarm == h {
			n++
		}
	}
	return n
}

func (e *Engine) offersInLocked(h InfoHash) int {
	n := 0
	for _, o := range e.offers {
		if o.swarm == h {
			n++
		}
	}
	return n
}

// announceLocked announces s in the background, with as many fresh offers
// as the swarm lacks peers. One announce per swarm runs at a time.
//
// Once the tracker has counted the swarm, there are no more fresh offers
// than members this engine is not connected to: every offer is a peer
// connection gathering its candidates, and in a swarm whose members are all
// connected nobody would answer them (members who join later send their
// own offers). In a main-thread profile of the 6-viewer browser benchmark,
// making and closing such offers took about 7 % of the engine's time. The
// count is the one of the previous announce's reply; after announceSoon (a
// link lost its start, lastAnnounce cleared), when it may be out of date,
// offers are made as before.
func (e *Engine) announceLocked(s *swarm, ev Event) {
	if s.announcing || e.closed {
		return
	}
	peers := e.peersInLocked(s.hash)
	want := min(e.cfg.offersPerAnn, e.cfg.maxPeers-peers-e.offersInLocked(s.hash))
	if s.counted && !s.lastAnnounce.IsZero() {
		want = min(want, s.others-peers)
	}
	s.announcing = true
	s.lastAnnounce = time.Now()
	h := s.hash
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if ev == EventStarted && want > 0 {
			// Join at once, without offers: the tracker's reply counts the
			// swarm's members, which tells Loads whether waiting for a peer
			// is worthwhile, long before the offers (ICE gathering) are
			// ready. The offers follow in an update.
			if e.sig.Announce(h, EventStarted, 0, nil) == nil {
				ev = EventUpdate
			}
		}
		offers := e.makeOffers(h, want)
		err := e.sig.Announce(h, ev, max(want, 0), offers)
		e.mu.Lock()
		s.announcing = false
		if err != nil {
			// Not connected: SignalConnected will announce again. The
			// offers were never sent, so drop them now.
			for _, o := range offers {
				if oo := e.offers[o.ID]; oo != nil {
					delete(e.offers, o.ID)
					defer oo.pending.Close()
				}
			}
		}
		e.mu.Unlock()
	}()
}

// makeOffers creates up to n offers for swarm h, all at once, and
// registers them. Each offer gathers its ICE candidates before it can be
// sent, which on a busy device takes a good part of a second: made one
// after the other, a joiner's five offers left for the tracker seconds
// after it joined, while its first segments were due.
func (e *Engine) makeOffers(h InfoHash, n int) []Offer {
	n = max(n, 0)
	made := make(chan Pending, n) // nil for an offer that failed
	for range n {
		go func() {
			ctx, cancel := timeout.Context(e.ctx, 10*time.Second)
			defer cancel()
			p, err := e.dial.Offer(ctx)
			if err != nil {
				p = nil
			}
			made <- p
		}()
	}
	var out []Offer
	for range n {
		p := <-made
		if p == nil {
			continue
		}
		id := newOfferID()
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			_ = p.Close()
			continue
		}
		e.offers[id] = &outOffer{swarm: h, pending: p, expires: time.Now().Add(e.cfg.offerTTL)}
		e.mu.Unlock()
		out = append(out, Offer{ID: id, SDP: p.SDP()})
	}
	return out
}

// newOfferID returns a random offer ID. It needs to be unique, not secret:
// the tracker accepts an answer only from the connection the offer went to.
func newOfferID() OfferID {
	var b [10]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return OfferID(hexString(b[:]))
}

// signalLoop handles everything the tracker sends.
func (e *Engine) signalLoop() {
	defer e.wg.Done()
	for s := range e.sig.Signals() {
		switch s.Kind {
		case SignalConnected:
			e.mu.Lock()
			for _, sw := range e.swarms {
				e.announceLocked(sw, EventStarted)
			}
			e.mu.Unlock()
		case SignalAnnounced:
			e.mu.Lock()
			if sw := e.swarms[s.Swarm]; sw != nil {
				if s.Interval > 0 {
					sw.interval = s.Interval
				}
				sw.others = max(0, s.Complete+s.Incomplete-1)
				sw.counted = true
			}
			e.mu.Unlock()
		case SignalOffer:
			e.onOffer(s)
		case SignalAnswer:
			e.onAnswer(s)
		}
	}
}

// admitLocked reports whether a connection with peer id in swarm h is
// wanted, and if so marks it as connecting.
func (e *Engine) admitLocked(id PeerID, h InfoHash) bool {
	if e.closed || id == e.self {
		return false
	}
	if _, ok := e.banned[id]; ok {
		return false
	}
	if _, ok := e.peers[id]; ok {
		return false
	}
	if _, ok := e.connecting[id]; ok {
		return false
	}
	if _, ok := e.swarms[h]; !ok || e.peersInLocked(h) >= e.cfg.maxPeers {
		return false
	}
	e.connecting[id] = struct{}{}
	return true
}

func (e *Engine) onOffer(s Signal) {
	e.mu.Lock()
	ok := e.admitLocked(s.Peer, s.Swarm)
	e.mu.Unlock()
	if !ok {
		return
	}
	e.spawn(func() {
		defer e.doneConnecting(s.Peer)
		ctx, cancel := timeout.Context(e.ctx, e.cfg.offerTTL)
		defer cancel()
		p, err := e.dial.Accept(ctx, s.SDP)
		if err != nil {
			return
		}
		if err := e.sig.Answer(s.Swarm, s.Peer, s.OfferID, p.SDP()); err != nil {
			_ = p.Close()
			return
		}
		link, err := p.Open(ctx, nil)
		if err != nil {
			_ = p.Close()
			return
		}
		e.addPeer(s.Peer, link, s.Swarm, s.Peer)
	})
}

func (e *Engine) onAnswer(s Signal) {
	e.mu.Lock()
	o := e.offers[s.OfferID]
	delete(e.offers, s.OfferID)
	ok := o != nil && o.swarm == s.Swarm && e.admitLocked(s.Peer, s.Swarm)
	e.mu.Unlock()
	if o == nil {
		return
	}
	if !ok {
		_ = o.pending.Close()
		return
	}
	e.spawn(func() {
		defer e.doneConnecting(s.Peer)
		ctx, cancel := timeout.Context(e.ctx, e.cfg.offerTTL)
		defer cancel()
		link, err := o.pending.Open(ctx, s.SDP)
		if err != nil {
			_ = o.pending.Close()
			return
		}
		e.addPeer(s.Peer, link, s.Swarm, e.self)
	})
}

func (e *Engine) doneConnecting(id PeerID) {
	e.mu.Lock()
	delete(e.connecting, id)
	e.mu.Unlock()
}

// housekeeping expires offers, leaves idle swarms and re-announces swarms
// that lack peers or are due for the tracker's interval.
func (e *Engine) housekeeping() {
	defer e.wg.Done()
	t := time.NewTicker(housekeepingEvery)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case now := <-t.C:
			e.tick(now)
		}
	}
}

func (e *Engine) tick(now time.Time) {
	var expired []Pending
	var idle []SwarmID
	e.mu.Lock()
	for id, o := range e.offers {
		if now.After(o.expires) {
			expired = append(expired, o.pending)
			delete(e.offers, id)
		}
	}
	for id, until := range e.banned {
		if now.After(until) {
			delete(e.banned, id)
		}
	}
	for _, s := range e.swarms {
		switch {
		case now.Sub(s.lastUsed) > e.cfg.swarmIdle && len(s.inflight) == 0:
			idle = append(idle, s.id)
		case e.peersInLocked(s.hash) < e.cfg.maxPeers && now.Sub(s.lastAnnounce) >= e.cfg.reannounce:
			e.announceLocked(s, EventUpdate)
		case now.Sub(s.lastAnnounce) >= s.interval:
			e.announceLocked(s, EventUpdate)
		}
	}
	e.mu.Unlock()
	for _, p := range expired {
		_ = p.Close()
	}
	for _, id := range idle {
		e.Leave(id)
	}
}

// announceSoon has swarm h announced at the next tick when it lacks peers.
func (e *Engine) announceSoon(h InfoHash) {
	e.mu.Lock()
	if s := e.swarms[h]; s != nil {
		s.lastAnnounce = time.Time{}
	}
	e.mu.Unlock()
}

// evicted forgets a segment's origin and tells peers it is gone.
func (e *Engine) evicted(k segmentcache.Key) {
	e.mu.Lock()
	delete(e.origin, k)
	e.mu.Unlock()
	if !e.cfg.upload {
		return
	}
	msg, err := peerwire.Encode(nil, &peerwire.Lost{Swarm: peerwire.SwarmID(SwarmKey(k.Swarm)), Seqs: []uint64{k.Seq}})
	if err != nil {
		return
	}
	for _, p := range e.peerList() {
		p.send(msg)
	}
}

// peerList returns the peers we may send to: those our handshake has gone
// out to.
func (e *Engine) peerList() []*peer {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*peer, 0, len(e.peers))
	for _, p := range e.peers {
		if p.introduced.Load() {
			out = append(out, p)
		}
	}
	return out
}

func (e *Engine) emit(ev EngineEvent) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	e.events.emit(ev)
}
