package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nearcast/nearcast/engine/peerwire"
	"github.com/nearcast/nearcast/segmentcache"
)

// Request is one segment the player wants.
type Request struct {
	// Swarm is the rendition's swarm (see SwarmIDFor).
	Swarm SwarmID
	// Seq is the segment's sequence number within the swarm: HLS media
	// sequence, DASH $Number$, or its index in a segment list.
	Seq uint64
	// URL is where the CDN serves the segment.
	URL string
	// Start and End delimit a byte range [Start, End) of URL; End == 0
	// means the whole resource.
	Start, End int64
	// Deadline is when the player needs the segment: now plus its buffer
	// ahead. Zero means "soon": DefaultBudget from now.
	Deadline time.Time
	// Upcoming are the segments the player will want next, in order. When
	// the deadline leaves room, the engine prefetches them from peers.
	Upcoming []Request
	// CDNEstimate, when set, is the player's own estimate of how long a CDN
	// fetch of this segment takes (from its bandwidth and first-byte
	// estimates). The engine uses it until it has timed the CDN itself: a
	// viewer that has just joined knows its CDN speed from the player's
	// first fragments, and the engine's default margin would leave it no
	// time to wait for peers.
	CDNEstimate time.Duration
	// SizeHint, when set, is the player's guess of the segment's size in
	// bytes (from the bitrate it has seen), used until the swarm's typical
	// segment size is known.
	SizeHint int
	// WindowStart, for a live stream, is the sequence number of the oldest
	// segment the manifest still lists (0: VOD, or unknown). Cached
	// segments of the swarm before it are dropped, and peers are told:
	// no player will ask for them again.
	WindowStart uint64
}

// DefaultBudget is the deadline of a Request that sets none.
const DefaultBudget = 10 * time.Second

// maxPeerAttempts bounds the peers one Load asks, not counting "busy"
// answers; maxBusyAnswers bounds those (a busy peer is asked again only
// after busyBackoff, so they stop with the deadline long before).
const (
	maxPeerAttempts = 8
	maxBusyAnswers  = 64
)

// prefetchAhead bounds how many upcoming segments one Load prefetches, and
// maxPrefetches how many prefetches run (or wait for a holder) at once.
// Each upcoming segment is prefetched only while its deadline leaves room
// for a peer transfer and a CDN fetch after it (waitQuiet), so how deep the
// engine reads ahead follows the player's buffer: a viewer whose only
// source is one peer's uplink keeps that uplink busy with the segments it
// will want next, rather than asking for each as its player does.
const (
	prefetchAhead = 4
	maxPrefetches = 4
)

func (r *Request) key() segmentcache.Key {
	return segmentcache.Key{Swarm: r.Swarm, Seq: r.Seq, Start: r.Start, End: r.End}
}

// Result is a loaded segment.
type Result struct {
	// Data is the segment, a copy the caller owns (it may detach it).
	Data []byte
	// Source is where the bytes came from: the cache, a peer or the CDN;
	// Peer is set for SourcePeer.
	Source Source
	Peer   PeerID
	// Origin is where the bytes first came from: for a cache hit, the peer
	// or CDN that filled the cache (prefetch, replay); else Source.
	Origin Source
	// Duration is how long Load took.
	Duration time.Duration
	// Transfer is how long the network transfer of the bytes took (for a
	// cache hit, the transfer that filled the cache), and FirstByte the
	// part of it until the first byte arrived (0 when unknown). Players'
	// bandwidth estimates want these rather than Duration.
	Transfer, FirstByte time.Duration
	// TailBytes, for a segment whose peer transfer fell behind its
	// deadline, is how many of its last bytes came from the CDN: the bytes
	// the peer had sent were kept (Origin is SourcePeer) and only the rest
	// was fetched, as a byte range.
	TailBytes int
}

// provenance records how a cached segment arrived.
type provenance struct {
	src                 Source
	transfer, firstByte time.Duration
	tail                int // bytes of a spliced segment that came from the CDN
}

// transfer is a segment being obtained; concurrent Loads of it (and a
// prefetch) share one transfer.
type transfer struct {
	done chan struct{}
	out  outcome
	err  error
	// soon is the earliest deadline (Unix ns; 0: none) of the Loads
	// waiting for the transfer. The one obtaining it works to that
	// deadline when it is earlier than its own: a prefetch started for a
	// later need, then wanted sooner, hands the CDN what its peer cannot
	// send in time, instead of the waiting Load fetching it all again.
	soon atomic.Int64
}

// need records that a Load needs t by d.
func (t *transfer) need(d time.Time) {
	for {
		old := t.soon.Load()
		if old != 0 && old <= d.UnixNano() {
			return
		}
		if t.soon.CompareAndSwap(old, d.UnixNano()) {
			return
		}
	}
}

// by returns d, or the deadline of a Load waiting for t if that is sooner.
func (t *transfer) by(d time.Time) time.Time {
	if t == nil {
		return d
	}
	if n := t.soon.Load(); n != 0 && n < d.UnixNano() {
		return time.Unix(0, n)
	}
	return d
}

// outcome is what obtain got: the bytes, where from, and how long the
// network transfer took. A segment spliced from a peer's head and the CDN's
// tail (see obtain) has src SourcePeer and its last tail bytes from the CDN.
type outcome struct {
	data                []byte
	src                 Source
	peer                PeerID
	transfer, firstByte time.Duration
	tail                int
}

// Load returns the segment r, from the cache, a peer or the CDN, as the
// deadline allows. It fails only when the CDN fails (or ctx ends).
func (e *Engine) Load(ctx context.Context, r Request) (Result, error) {
	start := time.Now()
	if r.Swarm == "" || r.URL == "" || r.Start < 0 || (r.End != 0 && r.End <= r.Start) {
		return Result{}, ErrInvalidRequest
	}
	if r.Deadline.IsZero() {
		r.Deadline = start.Add(DefaultBudget)
	}
	s, err := e.useSwarm(r.Swarm)
	if err != nil {
		return Result{}, err
	}
	key := r.key()
	if r.WindowStart > 0 {
		e.cache.EvictBefore(r.Swarm, r.WindowStart)
	}
	defer e.prefetch(s, r)
	if data, ok := e.cache.Get(key); ok {
		e.mu.Lock()
		pv := e.origin[key]
		e.mu.Unlock()
		return e.finish(key, Result{Data: data, Source: SourceCache, Origin: pv.src, Transfer: pv.transfer, FirstByte: pv.firstByte, TailBytes: pv.tail}, start), nil
	}
	t, owner := e.claim(s, key)
	if !owner {
		if res, ok := e.await(ctx, t, r); ok {
			return e.finish(key, res, start), nil
		}
		// The shared transfer failed or would be late: go it alone.
		t = &transfer{done: make(chan struct{})}
	}
	out, err := e.obtain(ctx, s, r, true, nil, t)
	e.complete(s, key, t, out, err, owner)
	if err != nil {
		return Result{}, err
	}
	return e.finish(key, out.result(), start), nil
}

// result is the Result of a transfer's outcome, with a copy of its bytes.
func (o outcome) result() Result {
	return Result{Data: clone(o.data), Source: o.src, Peer: o.peer, Transfer: o.transfer, FirstByte: o.firstByte, TailBytes: o.tail}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// claim returns the transfer of key, creating it (owner true) if none runs.
func (e *Engine) claim(s *swarm, key segmentcache.Key) (*transfer, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t := s.inflight[key]; t != nil {
		return t, false
	}
	t := &transfer{done: make(chan struct{})}
	s.inflight[key] = t
	return t, true
}

// await waits for another Load's (or a prefetch's) transfer, which then
// works to r's deadline if that is sooner than its own (transfer.soon), at
// most until that deadline.
func (e *Engine) await(ctx context.Context, t *transfer, r Request) (Result, bool) {
	t.need(r.Deadline)
	cutoff := time.Until(r.Deadline)
	if cutoff <= 0 {
		return Result{}, false
	}
	timer := time.NewTimer(cutoff)
	defer timer.Stop()
	select {
	case <-t.done:
		if t.err != nil {
			return Result{}, false
		}
		return t.out.result(), true
	case <-timer.C:
	case <-ctx.Done():
	}
	return Result{}, false
}

// complete publishes a transfer's outcome: cache, announce, wake waiters.
func (e *Engine) complete(s *swarm, key segmentcache.Key, t *transfer, out outcome, err error, owner bool) {
	if err == nil {
		if perr := e.cache.Put(key, out.data); perr == nil {
			e.mu.Lock()
			e.origin[key] = provenance{src: out.src, transfer: out.transfer, firstByte: out.firstByte, tail: out.tail}
			e.mu.Unlock()
			if e.cfg.upload {
				e.announceHave(s, key.Seq)
			}
		}
	}
	t.out, t.err = out, err
	if owner {
		e.mu.Lock()
		if s.inflight[key] == t {
			delete(s.inflight, key)
		}
		if err == nil {
			s.segSize.add(float64(len(out.data)))
		}
		e.mu.Unlock()
		close(t.done)
	}
}

// finish counts a Load's result by origin and reports it.
func (e *Engine) finish(key segmentcache.Key, res Result, start time.Time) Result {
	res.Duration = time.Since(start)
	if res.Origin == 0 {
		res.Origin = res.Source
	}
	n := len(res.Data)
	e.mu.Lock()
	if res.Source == SourceCache {
		e.stats.CacheBytes += int64(n)
		e.stats.CacheSegments++
	}
	switch res.Origin {
	case SourcePeer:
		e.stats.PeerBytes += int64(n - res.TailBytes)
		e.stats.CDNBytes += int64(res.TailBytes)
		e.stats.PeerSegments++
	case SourceCDN:
		e.stats.CDNBytes += int64(n)
		e.stats.CDNSegments++
	}
	e.mu.Unlock()
	e.emit(EngineEvent{Kind: EventSegment, Key: key, Source: res.Source, Origin: res.Origin, Peer: res.Peer, Bytes: n, TailBytes: res.TailBytes, Duration: res.Duration})
	return res
}

// obtain gets r's bytes from a peer when one can deliver in time, else from
// the CDN (unless useCDN is false: prefetch). A peer that falls behind is
// finished from the CDN either way (splice): the player wants the segment.
// A prefetch asks a peer that is sending us something already only when no
// other holder can deliver in time, and then waits behind that transfer.
// asked, when set, is called once a peer has been asked.
//
// t is the transfer being obtained (nil: none other Loads can wait for);
// it may bring r's deadline forward (transfer.soon).
func (e *Engine) obtain(ctx context.Context, s *swarm, r Request, useCDN bool, asked func(), t *transfer) (outcome, error) {
	key := r.key()
	size := e.sizeHint(r)
	tried := map[PeerID]bool{}
	// Two peers may fail; a "busy" answer is not a failure, nor one of the
	// maxPeerAttempts asks: the busy peer is skipped for busyBackoff and the
	// Load waits again (while the deadline allows) for it or for another
	// holder — a new live segment held by one viewer spreads to the others
	// one upload at a time, and a VOD viewer's holders are each busy with
	// the viewer nearest behind them most of the time. The deadline ends
	// the waiting; maxBusyAnswers only bounds the asks.
	failures, busy, busyAnswers, none := 0, false, 0, false
	for attempt := 0; failures < 2 && attempt-busyAnswers < maxPeerAttempts && busyAnswers < maxBusyAnswers; attempt++ {
		r.Deadline = t.by(r.Deadline)
		skip := tried
		var sending []*peer // holders sending us one segment now
		if !useCDN {
			skip = e.keptForEarlier(s, r.Seq, tried)
			for _, p := range e.peerList() {
				n := p.downloadCount()
				if n == 1 && !skip[p.id] {
					sending = append(sending, p)
				}
				if n > 0 {
					skip[p.id] = true
				}
			}
		}
		p := e.bestPeer(s.hash, r, size, skip)
		if p == nil && len(sending) > 0 {
			// No holder is free: ask one that is sending us a segment,
			// to go on with this one when that ends (queueUpload).
			for _, q := range sending {
				delete(skip, q.id)
			}
			p = e.bestPeer(s.hash, r, size, skip)
		}
		// A Load waits for a holder to turn up or to be free again; a
		// prefetch waits only for a busy one (it is about to be free, and
		// another peer may be kept from its uplink for it).
		if p == nil && (busy || useCDN && attempt == 0) {
			// Prefetches of later segments wait behind a Load waiting
			// for a holder (waitQuiet), instead of taking the holder's
			// uplink as it falls free.
			dequeue := func() {}
			if useCDN {
				dequeue = e.enqueue(s, r.Seq)
			}
			p = e.waitForPeer(ctx, s, r, size, tried, busy)
			dequeue()
		}
		if p == nil {
			none = true
			break
		}
		start := time.Now()
		got, err := e.fromPeer(ctx, p, r, size, asked, t)
		if err == nil {
			return outcome{data: got.data, src: SourcePeer, peer: p.id, transfer: time.Since(start), firstByte: got.firstByte}, nil
		}
		if ctx.Err() != nil {
			return outcome{}, ctx.Err()
		}
		busy = errors.Is(err, errPeerBusy)
		if busy {
			busyAnswers++
			continue
		}
		failures++
		tried[p.id] = true
		e.mu.Lock()
		e.stats.PeerFallbacks++
		e.mu.Unlock()
		e.emit(EngineEvent{Kind: EventFallback, Key: key, Peer: p.id, Err: err})
		if len(got.data) > 0 {
			// The peer fell behind: keep what it sent, fetch the rest.
			out, err := e.splice(ctx, p, r, got)
			if err == nil {
				out.transfer = time.Since(start)
				return out, nil
			}
			if ctx.Err() != nil {
				return outcome{}, ctx.Err()
			}
			e.emit(EngineEvent{Kind: EventFallback, Key: key, Peer: p.id, Err: err})
			break // the CDN itself failed or the bytes were bad: the whole from the CDN
		}
	}
	if !useCDN {
		if none {
			return outcome{}, errors.Join(ErrPeerFailed, errNoPeerInTime)
		}
		return outcome{}, ErrPeerFailed // each peer's failure had its fallback event
	}
	start := time.Now()
	data, err := e.fromCDN(ctx, r)
	return outcome{data: data, src: SourceCDN, transfer: time.Since(start)}, err
}

// fromCDN fetches r from the CDN and learns its speed.
func (e *Engine) fromCDN(ctx context.Context, r Request) ([]byte, error) {
	start := time.Now()
	data, err := e.fetch.Fetch(ctx, FetchRequest{URL: r.URL, Start: r.Start, End: r.End})
	if err != nil {
		return nil, err
	}
	if r.End > 0 && int64(len(data)) != r.End-r.Start {
		return nil, errors.Join(ErrIntegrity, errors.New("CDN returned the wrong range length"))
	}
	elapsed := time.Since(start)
	e.mu.Lock()
	// Without a first-byte time from the fetcher, split evenly.
	e.cdn.observe(len(data), elapsed/2, elapsed)
	e.mu.Unlock()
	return data, nil
}

// sizeHint estimates a segment's size: its range, else the swarm's
// typical segment, else the player's hint, else 1 MiB.
func (e *Engine) sizeHint(r Request) int {
	if r.End > 0 {
		return int(r.End - r.Start)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.swarms[SwarmKey(r.Swarm)]; s != nil {
		if v, ok := s.segSize.value(); ok {
			return int(v)
		}
	}
	if r.SizeHint > 0 {
		return r.SizeHint
	}
	return 1 << 20
}

// peerSilence is how long a peer may send nothing in the middle of a
// transfer before the rest is fetched from the CDN (the bytes it sent are
// kept: splice). A chunk is 16 KiB, a few tenths of a second on the
// slowest links peers serve; a pause of seconds is a link that has stalled
// (p2p-media-loader gives up on a peer after 2 s without bytes, too).
const peerSilence = 2 * time.Second

// cdnSafety is the least time added to the CDN's expected fetch time when
// keeping a reserve for a fallback. It covers more than the network: the
// engine runs on the page's event loop, and a busy device delays a fetch's
// start and its completion. In the shaped browser benchmark the engine's
// CDN fetches took 50-280 ms, but one took 1.1 s where 55 ms was expected,
// while the CPU was saturated; with 250 ms here the just-in-time fallback
// stalled 6 of 8 runs, with 1 s none of 8, at much the same P2P share
// (docs/benchmark.md).
const cdnSafety = time.Second

// joinSafety takes cdnSafety's place while the engine has not timed the CDN
// yet, which is during a viewer's first Loads after it joined: the player's
// buffer holds a segment or two, and the first peers are still being
// dialled. With cdnSafety there, a joiner had no room left to wait for them:
// in the 4-viewer VOD benchmark the followers' second segment then came from
// the CDN (71.6 % P2P share against 74.2 %).
const joinSafety = 500 * time.Millisecond

// Until a peer's speed has been measured, it is assumed to answer after
// unmeasuredLatency and to deliver unmeasuredRate bytes per second.
const (
	unmeasuredLatency = 300 * time.Millisecond
	unmeasuredRate    = 2 << 20
)

// cdnTime is the time to keep in reserve for a CDN fetch of r (n bytes):
// the measured time plus half again, at least cdnSafety, and at least
// cdnDeviations mean deviations of the fetch times; before the CDN has been
// measured, the player's estimate in r plus half again (at least
// joinSafety), or else the configured margin.
func (e *Engine) cdnTime(r Request, n int) time.Duration {
	e.mu.Lock()
	d, ok := e.cdn.expected(n)
	dev := e.cdn.deviation()
	e.mu.Unlock()
	if !ok {
		if r.CDNEstimate <= 0 {
			return e.cfg.cdnMargin
		}
		// Second-hand: timed by the player, maybe on a quieter moment.
		d = r.CDNEstimate
		return d + max(joinSafety, d/2)
	}
	return d + max(cdnSafety, d/2, cdnDeviations*dev)
}

// cdnDeviations is how many mean deviations of the CDN's fetch times the
// reserve covers beyond the expected time, like TCP's retransmission timer
// (four there, RFC 6298). A fixed margin is too much on a quiet device and
// too little on a busy one: in the shaped browser benchmark, on a saturated
// CPU, segments from the CDN took up to 4.8 s to arrive (medians of 1.4-2.2 s
// per viewer, waits for a peer included), and a fallback left with
// cdnSafety's second stalled playback in two of eight runs (1.2 and 1.6 s);
// with three deviations, in two of ten, for 17 and 197 ms, at a P2P share no
// lower (docs/benchmark.md).
const cdnDeviations = 3

// peerTime is the expected time for p to deliver n bytes.
func (p *peer) peerTime(n int) time.Duration {
	if d, ok := p.expected(n); ok {
		return d
	}
	return unmeasuredLatency + time.Duration(float64(n)/unmeasuredRate*float64(time.Second))
}

// bestPeer returns, of the connected, uploading peers holding r's segment
// that are expected to deliver it before r's deadline with time left for
// the CDN, the one nearest ahead of us; of equally near ones, the soonest.
//
// Nearest ahead is the holder with the fewest segments after r's: a holder
// far ahead is the only source for every viewer between it and us, so
// drawing on the nearest one spreads the uploads along the swarm (viewers
// of a VOD stream who started apart each feed the next) instead of piling
// them on the viewers at the front. In a live swarm, whose viewers hold
// much the same window, it comes down to speed.
func (e *Engine) bestPeer(h InfoHash, r Request, size int, skip map[PeerID]bool) *peer {
	seq := r.Seq
	budget := time.Until(r.Deadline) - e.cdnTime(r, size)
	var best *peer
	var bestTime time.Duration
	bestAhead := 0
	for _, p := range e.peerList() {
		if skip[p.id] || p.isBusy() {
			continue
		}
		p.mu.Lock()
		held, ahead := p.heldAfter(h, seq)
		uploads := p.caps.Has(peerwire.CapUpload)
		p.mu.Unlock()
		if !held || !uploads {
			continue
		}
		d := p.peerTime(size + p.inflightRemaining(size))
		if d >= budget {
			continue
		}
		if best == nil || ahead < bestAhead || (ahead == bestAhead && d < bestTime) {
			best, bestTime, bestAhead = p, d, ahead
		}
	}
	return best
}

// waitForPeer waits, when the deadline leaves room, a random part of that
// room (all of it when full) for some peer to announce seq. Of several
// engines needing the same new segment, the one whose wait ends first
// fetches it from the CDN and announces it; the others get it from that one.
func (e *Engine) waitForPeer(ctx context.Context, s *swarm, r Request, size int, skip map[PeerID]bool, full bool) *peer {
	// Wait only where a peer may turn up: connected peers, other members
	// the tracker knows of, or a swarm just joined whose members the
	// tracker has not counted yet.
	e.mu.Lock()
	connected := e.peersInLocked(s.hash)
	hopeful := connected > 0 || s.others > 0 || !s.counted
	e.mu.Unlock()
	if !hopeful || e.cfg.maxPeerWait == 0 {
		return nil
	}
	room := time.Until(r.Deadline) - e.cdnTime(r, size) - unmeasuredLatency - time.Duration(float64(size)/unmeasuredRate*float64(time.Second))
	room = min(room, e.cfg.maxPeerWait)
	if room <= 0 {
		return nil
	}
	// The random part elects one CDN fetcher among connected peers that
	// need the same new segment. With none connected yet (a viewer that has
	// just joined), peers are still being dialled, and after a holder said
	// "busy" it will be free soon: wait the whole room.
	wait := room
	if connected > 0 && !full {
		wait = time.Duration(float64(room) * (0.25 + 0.75*rand.Float64()))
	}
	ch := make(chan struct{}, 1)
	e.mu.Lock()
	s.waiters[r.Seq] = append(s.waiters[r.Seq], ch)
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		ws := s.waiters[r.Seq]
		for i, w := range ws {
			if w == ch {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(s.waiters, r.Seq)
		} else {
			s.waiters[r.Seq] = ws
		}
		e.mu.Unlock()
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	// A holder that answered "busy" may be free again after busyBackoff.
	recheck := time.NewTicker(busyBackoff)
	defer recheck.Stop()
	for {
		select {
		case <-ch:
			if p := e.bestPeer(s.hash, r, size, e.keptForEarlier(s, r.Seq, skip)); p != nil {
				return p
			}
		case <-recheck.C:
			if p := e.bestPeer(s.hash, r, size, e.keptForEarlier(s, r.Seq, skip)); p != nil {
				return p
			}
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// keptForEarlier returns a new set of skip and the peers holding an earlier
// segment of s than seq that waits to ask a peer (see enqueue): those
// holders are kept for the earlier segment, which is due sooner.
func (e *Engine) keptForEarlier(s *swarm, seq uint64, skip map[PeerID]bool) map[PeerID]bool {
	out := make(map[PeerID]bool, len(skip)+1)
	for id := range skip {
		out[id] = true
	}
	if earlier := e.earlierQueued(s, seq); len(earlier) > 0 {
		for _, p := range e.peerList() {
			if p.holdsAny(s.hash, earlier) {
				out[p.id] = true
			}
		}
	}
	return out
}

// notifyHave wakes Loads waiting for a peer to announce one of seqs.
func (e *Engine) notifyHave(h InfoHash, seqs []uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.swarms[h]
	if s == nil || len(s.waiters) == 0 {
		return
	}
	for _, seq := range seqs {
		for _, ch := range s.waiters[seq] {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// announceHave tells every peer that the engine now holds seq of s.
func (e *Engine) announceHave(s *swarm, seq uint64) {
	msg, err := peerwire.Encode(nil, &peerwire.Have{Swarm: peerwire.SwarmID(s.hash), Seqs: []uint64{seq}})
	if err != nil {
		return
	}
	for _, p := range e.peerList() {
		p.send(msg)
	}
}

// peerGot is what a peer transfer delivered: the whole segment, or, when
// it fell behind, the head that arrived and the total the peer declared.
type peerGot struct {
	data      []byte
	firstByte time.Duration
	total     int
}

// fromPeer downloads key from p, watching the transfer: it is abandoned
// when the first byte is late, or when the projected finish leaves too
// little time before the deadline to fetch the bytes still missing from
// the CDN; then the bytes that did arrive are returned with the error, for
// obtain to splice.
func (e *Engine) fromPeer(ctx context.Context, p *peer, r Request, size int, asked func(), t *transfer) (peerGot, error) {
	start := time.Now()
	key, deadline := r.key(), r.Deadline
	// The first byte may take at most half the slack before the CDN
	// reserve, and never more than the configured first-byte timeout.
	limitFirstByte := func() time.Duration {
		return min(e.cfg.firstByteTimeout, max(200*time.Millisecond, (time.Until(deadline)-e.cdnTime(r, size))/2))
	}
	firstByteLimit := limitFirstByte()
	// A request to a peer sending us another segment waits behind it
	// (queueUpload): the first-byte clock starts when that one ends.
	behind := p.downloadCount() > 0
	id, d, err := p.startDownload(key)
	if err != nil {
		return peerGot{}, err
	}
	if asked != nil {
		asked()
	}
	var firstByte time.Duration
	var lastByte time.Time // when the latest chunk arrived
	const watchEvery = 100 * time.Millisecond
	// cdnMustStart tells whether the CDN must start on n missing bytes
	// now: were the peer to stop by the next look, the deadline would
	// leave less than the CDN's reserve for them.
	cdnMustStart := func(n int) bool { return time.Until(deadline)-watchEvery < e.cdnTime(r, n) }
	ticker := time.NewTicker(watchEvery)
	defer ticker.Stop()
	fail := func(reason error) (peerGot, error) {
		p.cancelDownload(id)
		p.failed()
		return peerGot{}, errors.Join(ErrPeerFailed, reason)
	}
	complete := func(res downloadResult) (peerGot, error) {
		if res.err != nil {
			if !errors.Is(res.err, errPeerBusy) {
				p.failed() // busy is an answer, not a failure
			}
			return peerGot{}, res.err
		}
		if err := e.check(key, res.data); err != nil {
			p.ban(err)
			return peerGot{}, err
		}
		elapsed := time.Since(start)
		if firstByte == 0 {
			firstByte = elapsed
		}
		p.succeeded(len(res.data), firstByte, elapsed)
		return peerGot{data: res.data, firstByte: firstByte}, nil
	}
	for {
		select {
		case res := <-d.result:
			return complete(res)
		case <-d.progress:
			lastByte = time.Now()
			if firstByte == 0 {
				firstByte = time.Since(start)
			}
		case <-ticker.C:
			deadline = t.by(deadline)
			elapsed := time.Since(start)
			got, total := p.progress(id)
			if got == 0 && behind {
				if p.downloadCount() > 1 {
					// Still queued behind the transfer before it.
					if cdnMustStart(size) {
						p.cancelDownload(id)
						return peerGot{}, errors.Join(ErrPeerFailed, errQueuedTooLong)
					}
					continue
				}
				behind, start = false, time.Now()
				firstByteLimit = limitFirstByte()
				continue
			}
			if got == 0 {
				// The wait for the first byte ends at its limit, or
				// sooner if a Load needing the segment sooner (t.by) has
				// brought the deadline so close that the whole segment
				// must come from the CDN now.
				if elapsed > firstByteLimit || cdnMustStart(size) {
					return fail(errors.New("no first byte in time"))
				}
				continue
			}
			missing := int(total) - int(got)
			rate := float64(got) / max(elapsed-firstByte, watchEvery).Seconds()
			// The peer is kept while the CDN could still fetch what is
			// missing before the deadline, were it to stop by the next
			// look: the bytes it sends are kept (splice), so a peer that
			// will not make it delivers as much as it can, and the CDN
			// only the rest, just in time.
			// A peer silent for peerSilence mid-transfer is given up on
			// at once, however far the deadline: its link has stalled
			// (a data channel backing off after losses, a peer whose page
			// froze), and waiting for the deadline would leave the CDN
			// only the reserve, which a busy device may need all of.
			silent := !lastByte.IsZero() && time.Since(lastByte) >= peerSilence
			if silent || cdnMustStart(missing) {
				// Slow, not dead: the peer's speed so far is learnt, so
				// that it is asked again only when a deadline allows,
				// and the link is kept (it may be the only holder).
				head, declared := p.takeDownload(id)
				if len(head) == 0 {
					// It ended as it was abandoned.
					select {
					case res := <-d.result:
						return complete(res)
					default:
					}
				}
				p.slow(int(got), firstByte, firstByte+time.Duration(float64(got)/rate*float64(time.Second)))
				reason := errFellBehind
				if silent {
					reason = errPeerSilent
				}
				return peerGot{data: head, firstByte: firstByte, total: declared}, errors.Join(ErrPeerFailed, reason)
			}
		case <-ctx.Done():
			p.cancelDownload(id)
			return peerGot{}, ctx.Err()
		case <-p.done:
			return peerGot{}, errors.Join(ErrPeerFailed, errors.New("peer disconnected"))
		}
	}
}

// splice completes a segment whose peer transfer fell behind: got holds
// the head the peer sent, and the rest of the declared total is fetched
// from the CDN as a byte range. The whole then passes the same integrity
// gate as a peer transfer; if it fails, the peer is banned (the CDN's bytes
// are the trusted part). A peer's uplink that delivered most of a segment
// thus saves those bytes at the CDN instead of wasting them, and the CDN
// has only the tail to deliver before the deadline.
func (e *Engine) splice(ctx context.Context, p *peer, r Request, got peerGot) (outcome, error) {
	key := r.key()
	n := len(got.data)
	if got.total <= n || (r.End > 0 && int64(got.total) != r.End-r.Start) {
		return outcome{}, errors.Join(ErrPeerFailed, errors.New("no tail to splice"))
	}
	tailReq := r
	tailReq.Start, tailReq.End = r.Start+int64(n), r.Start+int64(got.total)
	tail, err := e.fromCDN(ctx, tailReq)
	if err != nil {
		return outcome{}, err
	}
	data := append(got.data, tail...)
	if err := e.check(key, data); err != nil {
		p.ban(err)
		return outcome{}, err
	}
	e.mu.Lock()
	e.stats.SplicedSegments++
	e.mu.Unlock()
	return outcome{data: data, src: SourcePeer, peer: p.id, firstByte: got.firstByte, tail: len(tail)}, nil
}

// check is the integrity gate for bytes from a peer: the length must match
// the requested range, then the configured verifier must accept them.
func (e *Engine) check(key segmentcache.Key, data []byte) error {
	if key.End > 0 && int64(len(data)) != key.End-key.Start {
		return errors.Join(ErrIntegrity, errors.New("length does not match the requested range"))
	}
	if e.cfg.verify != nil {
		if err := e.cfg.verify(key, data); err != nil {
			return errors.Join(ErrIntegrity, err)
		}
	}
	return nil
}

// prefetch fetches, from peers only, the next upcoming segments that some
// peer holds and whose own deadlines leave room for a peer transfer with a
// CDN fetch after it.
//
// The room is judged per segment, not by r's deadline: while the player's
// buffer is nearly empty (its first segments, after a seek), r is due now
// and comes from the CDN, but the segments after it are due a segment
// duration or more later each, time enough to come from peers side by side
// instead of from the CDN one after the other.
func (e *Engine) prefetch(s *swarm, r Request) {
	var jobs []prefetchJob
	for _, next := range r.Upcoming[:min(len(r.Upcoming), prefetchAhead)] {
		if next.Swarm == "" {
			next.Swarm = r.Swarm
		}
		if next.Swarm != r.Swarm || next.URL == "" {
			continue
		}
		if next.Deadline.IsZero() {
			next.Deadline = r.Deadline.Add(DefaultBudget)
		}
		if next.CDNEstimate == 0 {
			next.CDNEstimate = r.CDNEstimate
		}
		if next.SizeHint == 0 {
			next.SizeHint = r.SizeHint
		}
		key := next.key()
		if e.cache.Has(key) || !e.prefetchRoom(next, next.Deadline) {
			continue
		}
		e.mu.Lock()
		busy := e.prefetches >= maxPrefetches
		if !busy {
			e.prefetches++
		}
		e.mu.Unlock()
		if busy {
			break
		}
		t, owner := e.claim(s, key)
		if !owner || !e.hasPeerFor(s.hash, next.Seq) {
			if owner {
				e.complete(s, key, t, outcome{}, ErrPeerFailed, true)
			}
			e.donePrefetch()
			continue
		}
		jobs = append(jobs, prefetchJob{next, t})
	}
	// Each job starts once the one before it has asked a peer (or ended)
	// and some holder of its segment is not sending us anything: with
	// several holders, upcoming segments come side by side over different
	// uplinks; with one, one after the other (peers upload one segment at
	// a time, and two requests at once would only share, or be refused,
	// one uplink).
	var prev <-chan struct{}
	for _, j := range jobs {
		asked := make(chan struct{})
		var once sync.Once
		signal := func() { once.Do(func() { close(asked) }) }
		after := prev
		prev = asked
		if !e.spawn(func() {
			defer signal()
			if after != nil {
				select {
				case <-after:
				case <-e.ctx.Done():
				}
			}
			e.prefetchOne(s, j, signal)
		}) {
			e.complete(s, j.req.key(), j.t, outcome{}, ErrClosed, true)
			e.donePrefetch()
			signal()
		}
	}
}

// prefetchOne runs one prefetch job: from the peer that is nearest ahead
// among those not sending us anything, or not at all.
func (e *Engine) prefetchOne(s *swarm, j prefetchJob, asked func()) {
	var out outcome
	var err error
	start := time.Now()
	dequeue := e.enqueue(s, j.req.Seq)
	if e.waitQuiet(s, j.req, j.t) {
		out, err = e.obtain(e.ctx, s, j.req, false, func() { dequeue(); asked() }, j.t)
	} else {
		err = errors.Join(ErrPeerFailed, errNoQuietHolder)
	}
	dequeue()
	e.complete(s, j.req.key(), j.t, out, err, true)
	e.donePrefetch()
	e.emit(EngineEvent{Kind: EventPrefetch, Key: j.req.key(), Source: out.src, Peer: out.peer, Bytes: len(out.data), TailBytes: out.tail, Duration: time.Since(start), Err: err})
	if err == nil {
		e.mu.Lock()
		e.stats.PrefetchBytes += int64(len(out.data) - out.tail)
		e.mu.Unlock()
	}
}

// prefetchRoom tells whether deadline leaves a prefetch of r room for a
// peer transfer and a CDN fetch after it (twice the CDN reserve).
func (e *Engine) prefetchRoom(r Request, deadline time.Time) bool {
	return time.Until(deadline) >= 2*e.cdnTime(r, e.sizeHint(r))
}

// prefetchJob is an upcoming segment claimed for a prefetch.
type prefetchJob struct {
	req Request
	t   *transfer
}

// waitQuiet waits until some peer holding r's segment is neither sending
// us two segments already, nor busy, nor holding an earlier segment whose
// prefetch or Load waits to ask a peer, while r's deadline leaves room for a
// transfer and a CDN fetch after it. It reports whether one is.
//
// Prefetches started by different Loads would otherwise race for a holder
// as it falls quiet, and a later segment could take the uplink the earlier
// one needed: the earlier one then comes late, from the CDN, while the
// later one sits in the cache. A Load waiting for a holder counts too: in
// the shaped browser benchmark a prefetch polling for its holder took it
// the moment it fell free, while the Load of the segment before, due
// sooner, waited behind the prefetch's transfer until only the CDN could
// deliver in time.
func (e *Engine) waitQuiet(s *swarm, r Request, t *transfer) bool {
	const poll = 50 * time.Millisecond
	h := s.hash
	for {
		earlier := e.earlierQueued(s, r.Seq)
		for _, p := range e.peerList() {
			if p.has(h, r.Seq) && p.downloadCount() <= 1 && !p.isBusy() && !p.holdsAny(h, earlier) {
				return true
			}
		}
		if !e.prefetchRoom(r, t.by(r.Deadline)) {
			return false
		}
		select {
		case <-e.ctx.Done():
			return false
		case <-time.After(poll):
		}
	}
}

// enqueue records that seq of s waits to ask a peer (a prefetch that has
// not asked yet, or a Load waiting for a holder), until the returned func
// is called (once or more).
func (e *Engine) enqueue(s *swarm, seq uint64) (dequeue func()) {
	e.mu.Lock()
	s.queued[seq]++
	e.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			if s.queued[seq]--; s.queued[seq] <= 0 {
				delete(s.queued, seq)
			}
			e.mu.Unlock()
		})
	}
}

// earlierQueued returns the segments before seq of s that wait to ask a
// peer (see enqueue).
func (e *Engine) earlierQueued(s *swarm, seq uint64) []uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []uint64
	for q := range s.queued {
		if q < seq {
			out = append(out, q)
		}
	}
	return out
}

func (e *Engine) donePrefetch() {
	e.mu.Lock()
	e.prefetches--
	e.mu.Unlock()
}

func (e *Engine) hasPeerFor(h InfoHash, seq uint64) bool {
	for _, p := range e.peerList() {
		if p.has(h, seq) {
			return true
		}
	}
	return false
}
