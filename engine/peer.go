package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nearcast/nearcast/engine/peerwire"
	"github.com/nearcast/nearcast/segmentcache"
)

// maxHavesPerSwarm bounds what one peer may claim to hold in one swarm; a
// peer over it is dropped. Announcements follow the peer's cache, which is
// bounded, so honest peers stay far below.
const maxHavesPerSwarm = 16384

// maxFailures is how many failed transfers in a row drop a peer so that its
// slot goes to a better one.
const maxFailures = 3

var (
	errLeftSwarm   = errors.New("engine: left the swarm")
	errReplaced    = errors.New("engine: replaced by another link to the same peer")
	errNoHandshake = errors.New("engine: peer spoke before its handshake")
	errTooManyHave = errors.New("engine: peer announced too many segments")
	errSlowPeer    = errors.New("engine: peer failed too many transfers")
	errPeerBusy    = errors.New("engine: peer is busy uploading")
	errFellBehind  = errors.New("engine: peer transfer falling behind its deadline")
	errPeerSilent  = errors.New("engine: peer stopped sending mid-transfer")
	// Why a prefetch asked no peer: every holder was sending us something
	// else (or busy) until the deadline left no room, or none of them was
	// expected to deliver in time.
	errNoQuietHolder = errors.New("engine: no holder free in time")
	errNoPeerInTime  = errors.New("engine: no holder expected to deliver in time")
	// A request queued behind another transfer from the same peer did not
	// start before the CDN had to.
	errQueuedTooLong = errors.New("engine: request queued behind another transfer too long")
)

// busyBackoff is how long a peer that answered "busy" is not asked again.
const busyBackoff = 500 * time.Millisecond

// isBusy tells whether p recently answered "busy".
func (p *peer) isBusy() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Now().Before(p.busyUntil)
}

// downloadCount is how many segments we have asked p for and not got yet.
func (p *peer) downloadCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.downloads)
}

// inflightRemaining estimates the bytes p has still to send us of the
// segments we asked it for: what they declared, or whole bytes each before
// their first chunk.
func (p *peer) inflightRemaining(whole int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for id := range p.downloads {
		got, total, _ := p.asm.Progress(id)
		if total == 0 {
			n += whole
			continue
		}
		n += int(total) - int(got)
	}
	return n
}

// peer is one connected remote engine. Its reader goroutine decodes and
// dispatches messages; downloads and uploads run on their own goroutines
// and meet the reader under mu.
type peer struct {
	e       *Engine
	id      PeerID
	link    Link
	swarm   InfoHash // the swarm the link was made in
	offerer PeerID   // who offered the link, for tie-breaks between duplicates

	closeOnce sync.Once
	done      chan struct{}
	// introduced is set once our handshake has been sent on the link: no
	// other message may go out before it (the remote would ban us), so
	// peerList hides the peer until then.
	introduced atomic.Bool

	mu        sync.Mutex
	greeted   bool      // the remote's handshake has arrived
	busyUntil time.Time // the remote said it was busy; ask others until then
	caps      peerwire.Capabilities
	have      map[InfoHash]map[uint64]struct{}
	asm       peerwire.Assembler
	nextReq   peerwire.ReqID
	downloads map[peerwire.ReqID]*download
	uploads   map[peerwire.ReqID]context.CancelFunc
	rate      rateEstimate
	rated     time.Time // when rate last learnt something
	failures  int
	closeErr  error
	// uploadQueued: a request of p waits behind our upload to it (see
	// queueUpload).
	uploadQueued bool
	// fed is how many bytes we uploaded to p lately, halved every
	// fedHalfLife since fedAt (see fedScore).
	fed   int64
	fedAt time.Time
}

// download is one segment being received from a peer.
type download struct {
	progress chan struct{} // signalled on each chunk (1-buffered)
	result   chan downloadResult
}

type downloadResult struct {
	data []byte
	err  error
}

// addPeer installs a freshly opened link. Two engines that offered each
// other at once end up with two links; both sides keep the one offered by
// the smaller peer ID and close the other.
func (e *Engine) addPeer(id PeerID, link Link, h InfoHash, offerer PeerID) {
	p := &peer{
		e: e, id: id, link: link, swarm: h, offerer: offerer,
		done:      make(chan struct{}),
		have:      make(map[InfoHash]map[uint64]struct{}),
		downloads: make(map[peerwire.ReqID]*download),
		uploads:   make(map[peerwire.ReqID]context.CancelFunc),
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		_ = link.Close()
		return
	}
	if old := e.peers[id]; old != nil {
		if !lessID(offerer, old.offerer) {
			e.mu.Unlock()
			_ = link.Close()
			return
		}
		defer old.close(errReplaced)
	}
	e.peers[id] = p
	e.wg.Add(1)
	e.mu.Unlock()

	go func() {
		defer e.wg.Done()
		p.readLoop()
	}()
	p.greet()
	e.emit(EngineEvent{Kind: EventPeerConnected, Peer: id})
}

func lessID(a, b PeerID) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// greet sends our handshake and, when uploading, what we hold in every
// swarm we are in.
func (p *peer) greet() {
	hs, _ := peerwire.Encode(nil, &peerwire.Handshake{Capabilities: p.e.caps, PeerID: peerwire.PeerID(p.e.self)})
	p.send(hs)
	p.introduced.Store(true)
	if !p.e.cfg.upload {
		return
	}
	p.e.mu.Lock()
	ids := make([]SwarmID, 0, len(p.e.swarms))
	for _, s := range p.e.swarms {
		ids = append(ids, s.id)
	}
	p.e.mu.Unlock()
	for _, id := range ids {
		for _, msg := range haveMessages(id, p.e.cache.Keys(id)) {
			p.send(msg)
		}
	}
}

// haveMessages encodes Have messages for keys, in batches the wire allows.
func haveMessages(id SwarmID, keys []segmentcache.Key) [][]byte {
	var out [][]byte
	h := peerwire.SwarmID(SwarmKey(id))
	for len(keys) > 0 {
		n := min(len(keys), peerwire.MaxHaveSeqs)
		seqs := make([]uint64, n)
		for i, k := range keys[:n] {
			seqs[i] = k.Seq
		}
		if msg, err := peerwire.Encode(nil, &peerwire.Have{Swarm: h, Seqs: seqs}); err == nil {
			out = append(out, msg)
		}
		keys = keys[n:]
	}
	return out
}

// send sends one message; a failure closes the peer.
func (p *peer) send(msg []byte) {
	if err := p.link.Send(msg); err != nil {
		p.close(err)
	}
}

// close disconnects the peer once, failing its downloads and stopping its
// uploads.
func (p *peer) close(reason error) {
	p.closeOnce.Do(func() {
		close(p.done)
		_ = p.link.Close()
		p.mu.Lock()
		p.closeErr = reason
		for id, d := range p.downloads {
			d.result <- downloadResult{err: errors.Join(ErrPeerFailed, reason)}
			delete(p.downloads, id)
		}
		for id, cancel := range p.uploads {
			cancel()
			delete(p.uploads, id)
		}
		p.mu.Unlock()
		e := p.e
		e.mu.Lock()
		if e.peers[p.id] == p {
			delete(e.peers, p.id)
		}
		e.mu.Unlock()
		e.emit(EngineEvent{Kind: EventPeerDisconnected, Peer: p.id, Err: reason})
	})
}

// ban drops the peer and keeps it from reconnecting for the ban time.
func (p *peer) ban(reason error) {
	e := p.e
	e.mu.Lock()
	e.banned[p.id] = time.Now().Add(e.cfg.banTime)
	e.stats.BannedPeers++
	e.mu.Unlock()
	e.emit(EngineEvent{Kind: EventPeerBanned, Peer: p.id, Err: reason})
	p.close(reason)
}

func (p *peer) readLoop() {
	for {
		raw, err := p.link.Receive()
		if err != nil {
			p.close(err)
			return
		}
		msg, err := peerwire.Decode(raw)
		if err != nil {
			p.ban(err)
			return
		}
		if err := p.handle(msg); err != nil {
			if errors.Is(err, errNoHandshake) {
				// A link that lost its start, not a hostile peer: drop it
				// without a ban, and announce again at the next tick (not
				// after the reannounce period), so that the pair connects
				// again within a second or two: a joiner's first link may
				// be its only source.
				p.close(err)
				p.e.announceSoon(p.swarm)
				return
			}
			p.ban(err)
			return
		}
	}
}

// handle dispatches one message. An error means the peer broke the
// protocol and must be dropped.
func (p *peer) handle(msg peerwire.Message) error {
	p.mu.Lock()
	greeted := p.greeted
	p.mu.Unlock()
	if hs, ok := msg.(*peerwire.Handshake); ok {
		p.mu.Lock()
		p.greeted, p.caps = true, hs.Capabilities
		p.mu.Unlock()
		return nil
	}
	if !greeted {
		return errors.Join(errNoHandshake, errors.New("its first message was a "+msg.Type().String()))
	}
	switch m := msg.(type) {
	case *peerwire.Have:
		return p.addHaves(InfoHash(m.Swarm), m.Seqs)
	case *peerwire.Bitfield:
		return p.addHaves(InfoHash(m.Swarm), m.AppendSeqs(nil))
	case *peerwire.Lost:
		p.mu.Lock()
		for _, seq := range m.Seqs {
			delete(p.have[InfoHash(m.Swarm)], seq)
		}
		p.mu.Unlock()
	case *peerwire.Request:
		p.e.serveRequest(p, m)
	case *peerwire.Cancel:
		p.mu.Lock()
		if cancel := p.uploads[m.ReqID]; cancel != nil {
			cancel()
			delete(p.uploads, m.ReqID)
		}
		p.mu.Unlock()
	case *peerwire.Chunk:
		return p.onChunk(m)
	case *peerwire.Reject:
		p.mu.Lock()
		d := p.downloads[m.ReqID]
		delete(p.downloads, m.ReqID)
		p.asm.Cancel(m.ReqID)
		p.mu.Unlock()
		if m.Reason == peerwire.ReasonBusy {
			p.mu.Lock()
			p.busyUntil = time.Now().Add(busyBackoff)
			p.mu.Unlock()
		}
		if d != nil {
			err := errors.New("peer rejected the request: " + m.Reason.String())
			if m.Reason == peerwire.ReasonBusy {
				err = errPeerBusy
			}
			d.result <- downloadResult{err: errors.Join(ErrPeerFailed, err)}
		}
	case *peerwire.Ping:
		pong, _ := peerwire.Encode(nil, &peerwire.Pong{Nonce: m.Nonce})
		p.send(pong)
	case *peerwire.Pong:
	}
	return nil
}

func (p *peer) addHaves(h InfoHash, seqs []uint64) error {
	p.mu.Lock()
	set := p.have[h]
	if set == nil {
		set = make(map[uint64]struct{}, len(seqs))
		p.have[h] = set
	}
	for _, seq := range seqs {
		set[seq] = struct{}{}
	}
	over := len(set) > maxHavesPerSwarm
	p.mu.Unlock()
	if over {
		return errTooManyHave
	}
	p.e.notifyHave(h, seqs)
	return nil
}

func (p *peer) has(h InfoHash, seq uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.have[h][seq]
	return ok
}

// front returns the last segment of swarm h that p holds, if any.
func (p *peer) front(h InfoHash) (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var last uint64
	set := p.have[h]
	for seq := range set {
		last = max(last, seq)
	}
	return last, len(set) > 0
}

// holdsAny tells whether p holds any of seqs of swarm h.
func (p *peer) holdsAny(h InfoHash, seqs []uint64) bool {
	if len(seqs) == 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, seq := range seqs {
		if _, ok := p.have[h][seq]; ok {
			return true
		}
	}
	return false
}

// heldAfter tells whether p holds seq of swarm h and how many of its
// segments there come after seq. p.mu must be held.
func (p *peer) heldAfter(h InfoHash, seq uint64) (held bool, after int) {
	set := p.have[h]
	if _, held = set[seq]; !held {
		return false, 0
	}
	for s := range set {
		if s > seq {
			after++
		}
	}
	return true, after
}

func (p *peer) onChunk(c *peerwire.Chunk) error {
	p.mu.Lock()
	body, done, err := p.asm.Add(c)
	d := p.downloads[c.ReqID]
	if err != nil || done {
		delete(p.downloads, c.ReqID)
	}
	p.mu.Unlock()
	if err != nil {
		if d != nil {
			d.result <- downloadResult{err: errors.Join(ErrPeerFailed, err)}
		}
		return err
	}
	if d == nil {
		return nil // a late chunk of a cancelled request
	}
	if done {
		d.result <- downloadResult{data: body}
		return nil
	}
	select {
	case d.progress <- struct{}{}:
	default:
	}
	return nil
}

// startDownload sends a request for key and registers its download.
func (p *peer) startDownload(key segmentcache.Key) (peerwire.ReqID, *download, error) {
	maxLen := uint32(p.e.cfg.maxSegmentBytes)
	if key.End > 0 {
		maxLen = uint32(key.End - key.Start)
	}
	p.mu.Lock()
	if p.closeErr != nil {
		p.mu.Unlock()
		return 0, nil, ErrPeerFailed
	}
	p.nextReq++
	id := p.nextReq
	if err := p.asm.Expect(id, maxLen); err != nil {
		p.mu.Unlock()
		return 0, nil, errors.Join(ErrPeerFailed, err)
	}
	d := &download{progress: make(chan struct{}, 1), result: make(chan downloadResult, 1)}
	p.downloads[id] = d
	p.mu.Unlock()
	msg, err := peerwire.Encode(nil, &peerwire.Request{ReqID: id, Swarm: peerwire.SwarmID(SwarmKey(key.Swarm)),
		Seq: key.Seq, Start: uint64(key.Start), End: uint64(key.End)})
	if err != nil {
		p.cancelDownload(id)
		return 0, nil, err
	}
	p.send(msg)
	return id, d, nil
}

// cancelDownload abandons a download and tells the peer.
func (p *peer) cancelDownload(id peerwire.ReqID) { p.takeDownload(id) }

// takeDownload abandons a download and tells the peer, handing over what
// arrived: the body so far (empty before the first chunk, or when the
// download has just ended) and the total the peer declared.
func (p *peer) takeDownload(id peerwire.ReqID) ([]byte, int) {
	p.mu.Lock()
	_, ok := p.downloads[id]
	delete(p.downloads, id)
	body, total, _ := p.asm.Take(id)
	p.mu.Unlock()
	if ok {
		msg, _ := peerwire.Encode(nil, &peerwire.Cancel{ReqID: id})
		p.send(msg)
	}
	return body, int(total)
}

func (p *peer) progress(id peerwire.ReqID) (received, total uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	received, total, _ = p.asm.Progress(id)
	return received, total
}

// failed records a failed transfer; too many in a row drop the peer.
func (p *peer) failed() {
	p.mu.Lock()
	p.failures++
	drop := p.failures >= maxFailures
	p.mu.Unlock()
	if drop {
		p.close(errSlowPeer)
	}
}

// slow records a transfer abandoned for being too slow: what arrived, and
// how fast, is a sample of the peer's speed. It is not a failure: bytes
// flowed.
func (p *peer) slow(bytes int, firstByte, total time.Duration) {
	p.mu.Lock()
	p.rate.observe(bytes, firstByte, total)
	p.rated = time.Now()
	p.mu.Unlock()
}

func (p *peer) succeeded(bytes int, firstByte, total time.Duration) {
	p.mu.Lock()
	p.failures = 0
	p.rate.observe(bytes, firstByte, total)
	p.rated = time.Now()
	p.mu.Unlock()
}

// rateMemory is how long a peer's measured speed is trusted. A peer judged
// too slow is not asked again, so nothing would show that it got faster —
// its uplink was busy with someone else, or its own downloads were — unless
// the judgement expires.
const rateMemory = 10 * time.Second

// expected is how long p is expected to take for n bytes, from a speed
// measured within rateMemory.
func (p *peer) expected(n int) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.rated) > rateMemory {
		return 0, false
	}
	return p.rate.expected(n)
}
