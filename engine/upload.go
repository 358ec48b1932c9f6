package engine

import (
	"context"
	"time"

	"github.com/nearcast/nearcast/engine/peerwire"
	"github.com/nearcast/nearcast/segmentcache"
)

// serveRequest answers a peer's request from the cache: a Reject when the
// engine does not upload, lacks the segment or is at its upload limit,
// else an upload on its own goroutine.
func (e *Engine) serveRequest(p *peer, r *peerwire.Request) {
	reject := func(reason peerwire.Reason) {
		msg, _ := peerwire.Encode(nil, &peerwire.Reject{ReqID: r.ReqID, Reason: reason})
		p.send(msg)
	}
	if !e.cfg.upload {
		reject(peerwire.ReasonNotFound)
		return
	}
	e.mu.Lock()
	s := e.swarms[InfoHash(r.Swarm)]
	e.mu.Unlock()
	if s == nil {
		reject(peerwire.ReasonUnknownSwarm)
		return
	}
	key := segmentcache.Key{Swarm: s.id, Seq: r.Seq, Start: int64(r.Start), End: int64(r.End)}
	nearest := e.nearestHolder(p, s, r.Seq)
	if e.keptFrom(p, s.hash, nearest) {
		reject(peerwire.ReasonBusy)
		return
	}
	if !e.cache.Pin(key) {
		reject(peerwire.ReasonNotFound)
		return
	}
	queued := false
	select {
	case e.uploads <- struct{}{}:
	default:
		// The uplink is busy. A peer we are sending a segment to may have
		// its next request wait behind that upload (see queueUpload).
		if queued = p.queueUpload(); !queued {
			e.cache.Unpin(key)
			if nearest {
				// It will ask again after busyBackoff: keep the uplink
				// for it when this upload is over.
				e.mu.Lock()
				e.nearestRefused = p
				e.mu.Unlock()
			}
			reject(peerwire.ReasonBusy)
			return
		}
	}
	ctx, cancel := context.WithCancel(e.ctx)
	p.mu.Lock()
	p.uploads[r.ReqID] = cancel
	p.mu.Unlock()
	acquired := !queued
	release := func() {
		cancel()
		p.mu.Lock()
		delete(p.uploads, r.ReqID)
		if queued && !acquired {
			p.uploadQueued = false
		}
		p.mu.Unlock()
		e.cache.Unpin(key)
		if acquired {
			<-e.uploads
		}
	}
	ok := e.spawn(func() {
		defer release()
		if queued {
			select {
			case e.uploads <- struct{}{}:
			case <-ctx.Done():
				return
			case <-p.done:
				return
			}
			p.mu.Lock()
			acquired, p.uploadQueued = true, false
			p.mu.Unlock()
			// While this request waited, the uplink may have been
			// promised to a peer we have been feeding longer.
			if e.keptFrom(p, s.hash, e.nearestHolder(p, s, r.Seq)) {
				reject(peerwire.ReasonBusy)
				return
			}
		}
		done := e.upload(ctx, p, r.ReqID, key)
		e.mu.Lock()
		refused := e.nearestRefused
		e.nearestRefused = nil
		e.mu.Unlock()
		switch {
		case refused != nil && refused != p && refused.fedScore() > p.fedScore():
			// The peer refused is the one we have been feeding: it gets
			// the uplink back (see fedHalfLife).
			e.keepUplink(refused, 2*busyBackoff)
		case done && nearest:
			e.keepUplink(p, keepUplinkFor)
		case refused != nil:
			e.keepUplink(refused, 2*busyBackoff)
		}
	})
	if !ok {
		release()
	}
}

// queueUpload reserves p's place behind the upload under way to it, if
// there is one and no other request of p waits: the peer a viewer feeds
// asks for its next segment while the last one is still arriving, and the
// uplink goes on to it without the round trip of a "busy" answer and a new
// request in between. It reports whether the place was free.
func (p *peer) queueUpload() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.uploads) == 0 || p.uploadQueued {
		return false
	}
	p.uploadQueued = true
	return true
}

// cacheReader reads one cached segment for the chunker.
type cacheReader struct {
	c   *segmentcache.Cache
	key segmentcache.Key
}

func (r cacheReader) ReadAt(b []byte, off int64) (int, error) { return r.c.ReadAt(r.key, b, off) }

// Nearest sources. Loads ask the holder nearest ahead of them (bestPeer),
// and a viewer keeps its uplink for the peers it is the nearest holder for.
// After an upload to such a peer (keepUplinkFor), and after any upload
// during which such a peer was answered "busy", until it asks again
// (2 × busyBackoff), requests that a holder nearer to the requester could
// serve are refused "busy", and go there. In a VOD swarm whose viewers
// started apart, each viewer thus feeds the one behind it; the first holder
// of a new live segment feeds whoever asks first, and they the rest.
// Otherwise the uplinks at the front of a swarm fill with requests that had
// other sources, and the viewers right behind, which had none, fall back to
// the CDN.
//
// keepUplinkFor covers the nearest peer's next request when it reads
// ahead: that request comes once the bytes still queued on our link when
// the upload ended (up to uplinkQueue of sending) have arrived and it has
// asked again across the path — well within a second. The uplink is not
// kept longer: a kept uplink sends nothing, and a viewer whose player asks
// later can be served when it does. Keeping it for as long as the upload
// took (0.5–4 s) left the shaped browser benchmark's uploaders idle,
// refusing requests, for about 30 s of each minute in all, at a lower P2P
// share (docs/benchmark.md has the runs).
const keepUplinkFor = time.Second

// nearestHolder tells whether we are, of the uploading peers we know other
// than p that hold seq of s, the one nearest ahead (fewest segments after
// seq; see bestPeer) — the one p's Load would ask first.
func (e *Engine) nearestHolder(p *peer, s *swarm, seq uint64) bool {
	ours := 0
	for _, k := range e.cache.Keys(s.id) {
		if k.Seq > seq {
			ours++
		}
	}
	for _, o := range e.peerList() {
		if o == p {
			continue
		}
		o.mu.Lock()
		held, ahead := o.heldAfter(s.hash, seq)
		uploads := o.caps.Has(peerwire.CapUpload)
		o.mu.Unlock()
		if held && uploads && ahead < ours {
			return false
		}
	}
	return true
}

// keptFrom tells whether p's request is refused because the uplink is kept
// for another peer: while it is, requests that a holder nearer to the
// requester could serve are refused (nearest false), and so are those of
// peers we have fed less of late (fedHalfLife) or, as much, that are behind
// the one it is kept for. That one is, in a chain of viewers each feeding
// the next, the one behind us and ahead of p: it will want the segment
// before p does, and p can get it there. A viewer whose only source we are
// is thus not crowded out by those behind it, which have it as a source
// too.
func (e *Engine) keptFrom(p *peer, h InfoHash, nearest bool) bool {
	e.mu.Lock()
	q, kept := e.keptFor, time.Now().Before(e.keptUntil)
	e.mu.Unlock()
	if !kept {
		return false
	}
	if !nearest {
		return true
	}
	if q == nil || q == p {
		return false
	}
	select {
	case <-q.done: // gone: nothing to keep the uplink for
		return false
	default:
	}
	if qFed, pFed := q.fedScore(), p.fedScore(); qFed != pFed {
		return qFed > pFed
	}
	qFront, qOK := q.front(h)
	pFront, pOK := p.front(h)
	return qOK && (!pOK || qFront > pFront)
}

// fedHalfLife is how fast the bytes uploaded to a peer stop counting
// towards keeping our uplink for it (fedScore): half as much every
// fedHalfLife.
//
// A viewer fed by one holder gets its segments at not much above real
// time over one data channel (docs/benchmark.md). When it falls behind
// once — one segment from the CDN — a viewer behind it that reads ahead
// asks the same holder for the segments after, and its requests, each
// waiting behind the upload before (queueUpload), used to keep the
// uplink: the viewer ahead, answered "busy" each time, fetched the rest of
// the stream from the CDN, while the one behind, which could have got it
// from the one ahead, took the holder. In the shaped browser benchmark a
// follower lost 10-15 segments to the CDN that way in five of six traced
// runs. The uplink now goes back to the peer it has fed more of late.
const fedHalfLife = 10 * time.Second

// fedScore is how many bytes we uploaded to p lately (see fedHalfLife).
func (p *peer) fedScore() int64 {
	p.mu.Lock()
	n := p.decayFed(time.Now())
	p.mu.Unlock()
	return n
}

// addFed counts n more bytes uploaded to p.
func (p *peer) addFed(n int) {
	p.mu.Lock()
	p.fed = p.decayFed(time.Now()) + int64(n)
	p.mu.Unlock()
}

// decayFed halves p.fed for each fedHalfLife since fedAt and returns it.
// p.mu must be held.
func (p *peer) decayFed(now time.Time) int64 {
	if p.fedAt.IsZero() {
		p.fedAt = now
	}
	if k := now.Sub(p.fedAt) / fedHalfLife; k > 0 {
		p.fed >>= min(k, 63)
		p.fedAt = p.fedAt.Add(k * fedHalfLife)
	}
	return p.fed
}

// keepUplink keeps the uplink for d for p, a peer we are the nearest
// holder for.
func (e *Engine) keepUplink(p *peer, d time.Duration) {
	e.mu.Lock()
	e.keptUntil = time.Now().Add(d)
	e.keptFor = p
	e.mu.Unlock()
}

// upload sends key to p in chunks, pausing while the link's buffer is above
// the high-water mark and, with an upload rate cap, while the byte budget
// is spent. It reports whether the whole segment went out.
func (e *Engine) upload(ctx context.Context, p *peer, id peerwire.ReqID, key segmentcache.Key) bool {
	size, ok := e.cache.Size(key)
	if !ok {
		return false
	}
	ch, err := peerwire.NewChunkerAt(id, cacheReader{e.cache, key}, size)
	if err != nil {
		return false
	}
	start := time.Now()
	rate, probe := e.uploadPace()
	bucket := newByteBucket(rate)
	high := e.highWater()
	sent, filled := 0, false
	var buf []byte
	for !ch.Done() {
		for queued := p.link.BufferedAmount(); queued > high; queued = p.link.BufferedAmount() {
			filled = true
			wait := time.Now()
			select {
			case <-p.link.BufferedLow():
			case <-ctx.Done():
				return false
			case <-p.done:
				return false
			}
			e.observeDrain(queued-p.link.BufferedAmount(), time.Since(wait))
		}
		c, err := ch.Next()
		if err != nil {
			return false
		}
		if wait := bucket.take(len(c.Data)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return false
			}
		}
		if ctx.Err() != nil {
			return false
		}
		buf, err = peerwire.Encode(buf[:0], c)
		if err != nil {
			return false
		}
		// Send copies nothing we keep: buf is reused only after Send returns,
		// and Links copy or transmit synchronously.
		if err := p.link.Send(buf); err != nil {
			p.close(err)
			return false
		}
		sent += len(c.Data)
	}
	e.mu.Lock()
	if probe && !filled {
		// The path carried the probe's rate: the estimate grows to it.
		e.uplink.rate *= uplinkProbeGain
	}
	e.stats.UploadedBytes += int64(sent)
	e.mu.Unlock()
	p.addFed(sent)
	e.emit(EngineEvent{Kind: EventUpload, Key: key, Peer: p.id, Bytes: sent, Duration: time.Since(start)})
	return true
}

// Upload pacing. An upload that fills the viewer's uplink queues everything
// else the viewer sends behind it — among that, the acknowledgements of its
// own CDN downloads, which then slow down until playback stalls. Each time an
// upload waits for the link's buffer to drain (from above the high-water
// mark to the low-water mark), the bytes drained over the wait are a sample
// of what the path carries; uploads are then paced at uplinkShare of the
// estimate, which smooths bursts to the rate the path has shown. (At 85 %
// of it, a viewer fed by one data channel on the shaped browser
// benchmark's thin uplinks got its segments at about real time, and any
// hiccup sent one to the CDN; at the full estimate, with the next request
// waiting behind the upload (queueUpload), the P2P share rose by about 4
// points with no stall: docs/benchmark.md.) Paced uploads seldom fill the
// buffer, so every uplinkProbe one upload runs at uplinkProbeGain times the
// estimate: if the buffer still never fills, the path carried it and the
// estimate grows by that much (a faster uplink is learnt step by step,
// without a full-rate burst that would stall the viewer's own downloads).
const (
	uplinkShare     = 1.0
	uplinkProbe     = 10 * time.Second
	uplinkProbeGain = 1.25
	// Waits shorter than this say little about the rate (timer noise).
	minDrainSample = 5 * time.Millisecond
)

// highWater is the link buffer level above which an upload waits: what the
// measured uplink sends in uplinkQueue, within minHighWater and
// peerwire.HighWaterMark (the whole of it until the uplink is measured).
// What is queued cannot be taken back: when the requester gives up on a
// transfer, the queue still goes out, wasted, and the next transfer's first
// byte waits behind it. A thin uplink therefore keeps less queued than a
// fast one needs.
func (e *Engine) highWater() int {
	e.mu.Lock()
	rate := e.uplink.rate
	e.mu.Unlock()
	if rate == 0 {
		return peerwire.HighWaterMark
	}
	return min(max(int(rate*uplinkQueue.Seconds()), minHighWater), peerwire.HighWaterMark)
}

// uplinkQueue is how much of the measured uplink's sending time an upload
// keeps queued, and minHighWater the least: twice LowWaterMark, so that a
// wait drains enough bytes to be a sample of the uplink's rate.
const (
	uplinkQueue  = 500 * time.Millisecond
	minHighWater = 2 * peerwire.LowWaterMark
)

// uplinkEstimate is a moving average of drain-rate samples, in bytes/s.
type uplinkEstimate struct {
	rate      float64
	lastProbe time.Time
}

// observeDrain records that n bytes left a link's buffer in d.
func (e *Engine) observeDrain(n int, d time.Duration) {
	if n <= 0 || d < minDrainSample {
		return
	}
	sample := float64(n) / d.Seconds()
	e.mu.Lock()
	defer e.mu.Unlock()
	w := 0.3 // weight of a new sample; the first one is taken whole
	if e.uplink.rate == 0 {
		w = 1
	}
	e.uplink.rate += w * (sample - e.uplink.rate)
}

// uploadPace returns the rate (bytes/s, 0 = none) for the next upload —
// the configured cap, or less when the uplink has been measured — and
// whether the upload is a probe (see uplinkProbeGain).
func (e *Engine) uploadPace() (int64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	limit := e.cfg.uploadRate
	if e.uplink.rate == 0 {
		e.uplink.lastProbe = time.Now() // unpaced until measured
		return limit, false
	}
	share, probe := uplinkShare, time.Since(e.uplink.lastProbe) >= uplinkProbe
	if probe {
		e.uplink.lastProbe = time.Now()
		share = uplinkProbeGain
	}
	paced := int64(share * e.uplink.rate)
	if limit == 0 || paced < limit {
		return max(paced, 1), probe
	}
	return limit, false
}

// UplinkEstimate returns the measured rate at which uploads leave, in
// bytes per second (0 until an upload has filled a link's buffer).
func (e *Engine) UplinkEstimate() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.uplink.rate
}

// byteBucket paces bytes to a rate; rate 0 means no limit.
type byteBucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newByteBucket(rate int64) *byteBucket {
	// A burst of 64 KiB keeps small segments snappy under a cap.
	return &byteBucket{rate: float64(rate), tokens: 64 << 10, last: time.Now()}
}

// take spends n bytes and returns how long to wait before sending them.
func (b *byteBucket) take(n int) time.Duration {
	if b.rate <= 0 {
		return 0
	}
	now := time.Now()
	b.tokens = min(64<<10, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}
