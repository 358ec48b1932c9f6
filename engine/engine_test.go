package engine_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/engine/enginetest"
	"github.com/nearcast/nearcast/engine/peerwire"
	"github.com/nearcast/nearcast/segmentcache"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const stream = "https://cdn.example/live/720p.m3u8"

var swarm = engine.SwarmIDFor(stream, "")

// harness is a network, a CDN and some engines, all in one synctest bubble.
type harness struct {
	t       *testing.T
	net     *enginetest.Network
	cdn     *enginetest.CDN
	urls    []string
	files   map[string][]byte
	engines []*engine.Engine
	sigs    []*enginetest.Signaler
}

func newHarness(t *testing.T, shaping enginetest.Shaping, segments, size int) *harness {
	urls, files := enginetest.Stream("https://cdn.example/live", segments, size)
	cdn := enginetest.NewCDN(files)
	cdn.Latency = 50 * time.Millisecond
	cdn.Bandwidth = 5 << 20
	return &harness{t: t, net: enginetest.NewNetwork(shaping), cdn: cdn, urls: urls, files: files}
}

func (h *harness) engine(opts ...engine.Option) *engine.Engine {
	h.t.Helper()
	sig := h.net.Signaler()
	e, err := engine.New(sig, h.net.Dialer(), h.cdn, opts...)
	if err != nil {
		h.t.Fatal(err)
	}
	h.engines = append(h.engines, e)
	h.sigs = append(h.sigs, sig)
	return e
}

func (h *harness) close() {
	for _, e := range h.engines {
		_ = e.Close()
	}
	h.net.Close()
	synctest.Wait()
}

func (h *harness) req(seq int, ahead time.Duration) engine.Request {
	return engine.Request{Swarm: swarm, Seq: uint64(seq), URL: h.urls[seq], Deadline: time.Now().Add(ahead)}
}

func (h *harness) load(e *engine.Engine, seq int, ahead time.Duration) engine.Result {
	h.t.Helper()
	return h.loadBy(e, seq, time.Now().Add(ahead))
}

// loadBy loads seq on e with the given deadline and fails unless the bytes
// are the segment's.
func (h *harness) loadBy(e *engine.Engine, seq int, deadline time.Time) engine.Result {
	h.t.Helper()
	res, err := e.Load(context.Background(), engine.Request{Swarm: swarm, Seq: uint64(seq), URL: h.urls[seq], Deadline: deadline})
	if err != nil {
		h.t.Fatalf("load %d: %v", seq, err)
	}
	if !bytes.Equal(res.Data, h.files[h.urls[seq]]) {
		h.t.Fatalf("load %d: wrong bytes (source %v)", seq, res.Source)
	}
	return res
}

// loadFromPeer loads seq on e with a 10 s deadline and fails unless the
// bytes came from peer want.
func (h *harness) loadFromPeer(e *engine.Engine, seq int, want *engine.Engine) {
	h.t.Helper()
	if r := h.load(e, seq, 10*time.Second); r.Source != engine.SourcePeer || r.Peer != want.PeerID() {
		h.t.Fatalf("segment %d from %v (peer %v), want peer %v", seq, r.Source, r.Peer, want.PeerID())
	}
}

// corruptPair makes engine a, which loads segment 0, and engine b, which
// verifies segments against the CDN's bytes and loads segment 1 (both with
// the deadline ahead), connects them and has every chunk a sends arrive
// with a payload byte flipped. It returns b.
func (h *harness) corruptPair(ahead time.Duration) *engine.Engine {
	h.t.Helper()
	files := h.files
	verify := func(k segmentcache.Key, data []byte) error {
		if !bytes.Equal(data, files[h.urls[k.Seq]]) {
			return errors.New("hash mismatch")
		}
		return nil
	}
	a := h.engine()
	b := h.engine(engine.WithVerifier(verify))
	h.load(a, 0, ahead)
	h.load(b, 1, ahead)
	h.connect(1)
	for _, l := range h.net.Links() {
		l.SetMutate(func(m []byte) []byte {
			if len(m) > 1000 { // chunk messages: flip a payload byte
				m[len(m)-1] ^= 0xFF
			}
			return m
		})
	}
	return b
}

// seederAndJoiner makes engine a, which loads segments 0..held-1, and
// engine b, which joins the swarm by loading the last segment of the
// stream, and connects them.
func (h *harness) seederAndJoiner(held int, ahead time.Duration) (a, b *engine.Engine) {
	h.t.Helper()
	a, b = h.engine(), h.engine()
	for i := range held {
		h.load(a, i, ahead)
	}
	h.load(b, len(h.urls)-1, ahead)
	h.connect(1)
	return a, b
}

// swarmOf starts one engine per list of segments, each loading its own in
// order (from the CDN or the engines before it), connects them all and
// waits for their haves.
func (h *harness) swarmOf(held ...[]int) []*engine.Engine {
	h.t.Helper()
	es := make([]*engine.Engine, len(held))
	for i, seqs := range held {
		es[i] = h.engine()
		for _, seq := range seqs {
			h.load(es[i], seq, 10*time.Second)
		}
	}
	h.connect(len(held) - 1)
	time.Sleep(2 * time.Second) // haves are in
	return es
}

// firstN returns 0, 1, ..., n-1.
func firstN(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// connect lets the engines find each other: a Load joins the swarm, and a
// few seconds of fake time let offers and answers flow.
func (h *harness) connect(want int) {
	h.t.Helper()
	for range 60 {
		time.Sleep(500 * time.Millisecond)
		ok := true
		for _, e := range h.engines {
			if e.Stats().Peers < want {
				ok = false
			}
		}
		if ok {
			return
		}
	}
	for i, e := range h.engines {
		h.t.Logf("engine %d: %d peers", i, e.Stats().Peers)
	}
	h.t.Fatalf("engines did not connect to %d peers each", want)
}

func TestCacheThenPeerThenCDN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 4 << 20}, 4, 200<<10)
		defer h.close()
		a, b := h.engine(), h.engine()
		if r := h.load(a, 0, 10*time.Second); r.Source != engine.SourceCDN {
			t.Fatalf("first load from %v, want cdn", r.Source)
		}
		if r := h.load(a, 0, 10*time.Second); r.Source != engine.SourceCache {
			t.Fatalf("second load from %v, want cache", r.Source)
		}
		h.load(b, 3, 10*time.Second) // b joins the swarm (from the CDN: nobody has 3)
		h.connect(1)
		r := h.load(b, 0, 10*time.Second)
		if r.Source != engine.SourcePeer || r.Peer != a.PeerID() {
			t.Fatalf("b got segment 0 from %v, want peer a", r.Source)
		}
		if got := h.cdn.Served(h.urls[0]); got != len(h.files[h.urls[0]]) {
			t.Fatalf("CDN served segment 0 %d bytes, want once (%d)", got, len(h.files[h.urls[0]]))
		}
		if st := a.Stats(); st.UploadedBytes != int64(len(h.files[h.urls[0]])) {
			t.Fatalf("a uploaded %d bytes", st.UploadedBytes)
		}
	})
}

func TestTightDeadlineGoesToCDN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 20 * time.Millisecond, Bandwidth: 4 << 20}, 4, 200<<10)
		defer h.close()
		a, b := h.engine(), h.engine()
		h.load(a, 0, 10*time.Second)
		h.load(b, 1, 10*time.Second)
		h.connect(1)
		// 400 ms ahead leaves less than the CDN reserve for a peer attempt.
		if r := h.load(b, 0, 400*time.Millisecond); r.Source != engine.SourceCDN {
			t.Fatalf("tight deadline served from %v, want cdn", r.Source)
		}
	})
}

// A viewer that has just joined has no peer yet and has not timed the CDN:
// with the player's CDN estimate its first engine load waits for the peers
// being dialled (the whole room, not a random part of it) and gets the
// segment from one; without it, the default CDN margin leaves no room and
// the segment comes from the CDN.
func TestJoinerWaitsForPeersWithPlayerCDNEstimate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 4 << 20}, 4, 200<<10)
		defer h.close()
		a := h.engine()
		h.load(a, 0, 10*time.Second)
		h.load(a, 1, 10*time.Second)
		time.Sleep(2 * time.Second) // a is announced

		without := h.engine()
		if r := h.load(without, 1, 1800*time.Millisecond); r.Source != engine.SourceCDN {
			t.Fatalf("joiner without a CDN estimate got segment 1 from %v, want cdn (default margin)", r.Source)
		}

		b := h.engine()
		req := h.req(1, 1800*time.Millisecond)
		req.CDNEstimate = 40 * time.Millisecond
		start := time.Now()
		res, err := b.Load(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if res.Source != engine.SourcePeer || !bytes.Equal(res.Data, h.files[h.urls[1]]) {
			t.Fatalf("joiner with a CDN estimate got segment 1 from %v, want a peer", res.Source)
		}
		if time.Until(req.Deadline) <= 0 {
			t.Fatalf("peer delivery after the deadline (%v after the request)", time.Since(start))
		}
		t.Logf("joiner: segment 1 from a peer %v after the request, %v before its deadline", time.Since(start), time.Until(req.Deadline))
	})
}

// Uploads learn how fast the uplink drains and are then paced at that
// rate, so that a burst does not queue the viewer's own traffic behind
// them; every uplinkProbe one upload runs a little above the estimate to
// learn a faster uplink.
func TestUploadsArePacedAtTheMeasuredUplink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const bw = 1 << 20 // bytes/s on every link
		h := newHarness(t, enginetest.Shaping{Bandwidth: bw}, 4, 2<<20)
		defer h.close()
		a, b := h.seederAndJoiner(3, 60*time.Second)
		events, stop := a.Subscribe(64)
		defer stop()
		// send loads seq and returns the rate at which the uploader sent it
		// (bytes/s), from its upload event (the requester's random wait and
		// the segments' differing sizes are left out), and the most the
		// link held queued meanwhile.
		send := func(seq int) (float64, int) {
			queued := h.loadWatchingQueue(b, seq)
			for {
				select {
				case ev := <-events:
					if ev.Kind == engine.EventUpload && ev.Key.Seq == uint64(seq) {
						return float64(ev.Bytes) / ev.Duration.Seconds(), queued
					}
				case <-time.After(time.Second):
					t.Fatalf("no upload event for segment %d", seq)
				}
			}
		}
		first, firstQueued := send(0) // unpaced: learns the uplink
		est := a.UplinkEstimate()
		if est < 0.8*bw || est > 1.2*bw {
			t.Fatalf("uplink estimate %.0f B/s, want about %d", est, bw)
		}
		// Paced at the estimate (plus the bucket's first 64 KiB), an upload
		// sends at about the link's rate, as the unpaced one did (its last
		// bytes were still in the buffer when it ended), but keeps little
		// queued instead of filling the buffer to the high-water mark.
		paced, pacedQueued := send(1)
		if paced > 1.1*est || paced < 0.95*est || pacedQueued >= firstQueued {
			t.Fatalf("second upload sent at %.0f B/s with up to %d B queued, first up to %d B queued, estimate %.0f: want it paced at the estimate",
				paced, pacedQueued, firstQueued, est)
		}
		time.Sleep(10 * time.Second) // the next upload probes at 1.25x the estimate
		probe, probeQueued := send(2)
		if probeQueued <= pacedQueued {
			t.Fatalf("probe upload kept up to %d B queued, paced %d: want more (sent above the link's rate)", probeQueued, pacedQueued)
		}
		// The probe ran above the link's rate and filled the buffer, so the
		// estimate stayed near the link rate instead of growing by 25 %.
		if e2 := a.UplinkEstimate(); e2 > 1.15*bw {
			t.Fatalf("estimate after a probe above the link rate %.0f B/s, want about %d", e2, bw)
		}
		t.Logf("send rates at 1 MiB/s: first %.0f, paced %.0f, probe %.0f B/s; most queued %d, %d, %d B; estimate %.0f -> %.0f B/s",
			first, paced, probe, firstQueued, pacedQueued, probeQueued, est, a.UplinkEstimate())
	})
}

// loadWatchingQueue loads seq on e from a peer and returns the most any
// link held queued meanwhile.
func (h *harness) loadWatchingQueue(e *engine.Engine, seq int) int {
	h.t.Helper()
	done := make(chan struct{})
	most := make(chan int)
	go func() {
		m := 0
		for {
			for _, l := range h.net.Links() {
				m = max(m, l.BufferedAmount())
			}
			select {
			case <-done:
				most <- m
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	if r := h.load(e, seq, 60*time.Second); r.Source != engine.SourcePeer {
		h.t.Fatalf("segment %d from %v, want a peer", seq, r.Source)
	}
	close(done)
	return <-most
}

// An upload keeps about half a second of the measured uplink queued in the
// link's buffer, not the whole HighWaterMark: what is queued still goes out
// when the requester gives up, wasted.
func TestThinUplinkKeepsLessQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const bw = 100 << 10 // bytes/s: half a second is 50 KiB, below the floor
		h := newHarness(t, enginetest.Shaping{Bandwidth: bw}, 4, 600<<10)
		defer h.close()
		a, b := h.seederAndJoiner(3, 60*time.Second)
		maxQueued := func(seq int) int { return h.loadWatchingQueue(b, seq) }
		first := maxQueued(0) // unmeasured: up to HighWaterMark
		if a.UplinkEstimate() == 0 {
			t.Fatal("the first upload did not measure the uplink")
		}
		time.Sleep(10 * time.Second) // the next upload probes at 1.25x the estimate, above the link
		probe := maxQueued(1)
		limit := 2*peerwire.LowWaterMark + peerwire.MaxMessageSize
		if first <= peerwire.HighWaterMark || probe > limit {
			t.Fatalf("most queued: %d B before the uplink was measured (want above %d), %d B after (want at most %d)",
				first, peerwire.HighWaterMark, probe, limit)
		}
	})
}

func TestStalledPeerFallsBackToCDNInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 4 << 20}, 4, 200<<10)
		defer h.close()
		a, b := h.engine(), h.engine()
		h.load(a, 0, 10*time.Second)
		h.load(b, 1, 10*time.Second)
		h.connect(1)
		// a's side of the link stops delivering, as a vanished peer.
		h.stallLinks()
		start := time.Now()
		deadline := start.Add(6 * time.Second)
		res := h.loadBy(b, 0, deadline)
		if res.Source != engine.SourceCDN {
			t.Fatalf("got %v", res.Source)
		}
		if spare := time.Until(deadline); spare < time.Second {
			t.Fatalf("completed %v before the deadline, want at least 1s to spare", spare)
		}
		t.Logf("stalled peer: CDN completion %v after the request, %v before the deadline", time.Since(start), time.Until(deadline))
		if st := b.Stats(); st.PeerFallbacks != 1 {
			t.Fatalf("fallbacks = %d", st.PeerFallbacks)
		}
	})
}

// stallLinks makes every link stop delivering, as a vanished peer or a
// data channel backing off.
func (h *harness) stallLinks() {
	for _, l := range h.net.Links() {
		l.Stall(true)
	}
}

// slowPair makes engine a, which loads segments 0-3, and engine b, which
// loads segment 4 (timing the CDN), connects them, and returns b: over a
// slow link, a is then a peer too slow for b's deadlines.
func (h *harness) slowPair() *engine.Engine {
	h.t.Helper()
	a, b := h.engine(), h.engine()
	for seq := range 4 {
		h.load(a, seq, 30*time.Second)
	}
	h.load(b, 4, 30*time.Second)
	h.connect(1)
	return b
}

func TestSlowPeerAbandonedMidTransfer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 100 << 10}, 5, 1<<20)
		defer h.close()
		b := h.slowPair()
		// 1 MiB at 100 KiB/s takes ~10 s; the deadline is 6 s away. The
		// peer sends until the CDN has to start on what is missing; the
		// bytes that arrived are kept, and only the rest comes from the
		// CDN, as a byte range.
		servedBefore := h.cdn.Served(h.urls[0]) // engine a's fetch
		start := time.Now()
		deadline := start.Add(6 * time.Second)
		res, err := b.Load(context.Background(), engine.Request{Swarm: swarm, Seq: 0, URL: h.urls[0], Deadline: deadline})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.Data, h.files[h.urls[0]]) {
			t.Fatal("spliced segment has the wrong bytes")
		}
		if res.Source != engine.SourcePeer || res.TailBytes <= 0 || res.TailBytes >= len(res.Data) || time.Now().After(deadline) {
			t.Fatalf("source %v with a tail of %d of %d bytes, done %v after the deadline", res.Source, res.TailBytes, len(res.Data), time.Since(deadline))
		}
		if served := h.cdn.Served(h.urls[0]) - servedBefore; served != res.TailBytes {
			t.Fatalf("CDN served %d bytes of segment 0, want only the tail of %d", served, res.TailBytes)
		}
		// The peer was kept while the CDN could still fetch the rest in
		// time: at 100 KiB/s it sent about 5 s worth.
		if head := len(res.Data) - res.TailBytes; head < 400<<10 {
			t.Fatalf("the peer sent %d B before the CDN took over, want it kept until the CDN had to start", head)
		}
		st := b.Stats()
		if st.SplicedSegments != 1 || st.PeerFallbacks != 1 || st.PeerBytes != int64(len(res.Data)-res.TailBytes) {
			t.Fatalf("spliced %d, fallbacks %d, peer bytes %d; want 1, 1, %d", st.SplicedSegments, st.PeerFallbacks, st.PeerBytes, len(res.Data)-res.TailBytes)
		}
		// The speed seen is learnt: a deadline the peer cannot meet goes
		// to the CDN without asking it, and the slow peer stays connected
		// for a deadline it can meet.
		fallbacks := b.Stats().PeerFallbacks
		if res := h.load(b, 1, 6*time.Second); res.Source != engine.SourceCDN {
			t.Fatalf("segment 1 from %v, want cdn", res.Source)
		}
		if st := b.Stats(); st.PeerFallbacks != fallbacks || st.Peers != 1 {
			t.Fatalf("fallbacks %d -> %d, peers %d", fallbacks, st.PeerFallbacks, st.Peers)
		}
		if res := h.load(b, 2, 30*time.Second); res.Source != engine.SourcePeer {
			t.Fatalf("segment 2 with room for the slow peer from %v", res.Source)
		}
		// A speed is trusted for 10 s: then the peer is asked again (it may
		// have got faster), and found slow again.
		time.Sleep(11 * time.Second)
		fallbacks = b.Stats().PeerFallbacks
		if res := h.load(b, 3, 6*time.Second); res.TailBytes == 0 || b.Stats().PeerFallbacks != fallbacks+1 {
			t.Fatalf("segment 3 from %v (tail %d) after %d fallbacks, want the peer asked again, then the tail from the cdn", res.Source, res.TailBytes, b.Stats().PeerFallbacks-fallbacks)
		}
	})
}

// A peer that stops sending in the middle of a transfer is given up on
// after peerSilence, not at the deadline: the CDN then fetches the rest
// with the deadline still far, instead of in the reserve kept for it.
func TestSilentPeerAbandonedBeforeTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 100 << 10}, 5, 1<<20)
		defer h.close()
		b := h.slowPair()
		// 1 MiB at 100 KiB/s takes ~10 s, well within the deadline; after
		// 1 s the link stops delivering, as a data channel backing off.
		go func() {
			time.Sleep(time.Second)
			h.stallLinks()
		}()
		start := time.Now()
		deadline := start.Add(20 * time.Second)
		res := h.loadBy(b, 0, deadline)
		took := time.Since(start)
		if res.Source != engine.SourcePeer || res.TailBytes <= 0 || res.TailBytes >= len(res.Data) {
			t.Fatalf("source %v with a tail of %d of %d bytes, want the peer's head and the CDN's tail", res.Source, res.TailBytes, len(res.Data))
		}
		// 1 s of sending, 2 s of silence, a watch period and the CDN.
		if took > 4*time.Second {
			t.Fatalf("the silent peer was given up on %v after the request, want within ~3 s (the deadline was 20 s away)", took)
		}
		if st := b.Stats(); st.PeerFallbacks != 1 || st.SplicedSegments != 1 {
			t.Fatalf("fallbacks %d, spliced %d; want 1, 1", st.PeerFallbacks, st.SplicedSegments)
		}
		t.Logf("peer silent after 1 s: spliced after %v, %d of %d bytes from the CDN", took, res.TailBytes, len(res.Data))
	})
}

// A prefetch waiting for a peer's first byte, for a need far ahead, gives
// up as soon as a Load needing the segment sooner leaves only the CDN's
// reserve, not at its own first-byte limit: the Load gets the segment from
// the CDN in time.
func TestFirstByteWaitEndsAtTheLoadsReserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 4 << 20}, 3, 200<<10)
		defer h.close()
		h.cdn.SetLatency(400 * time.Millisecond)
		a, b := h.engine(), h.engine()
		h.load(a, 0, 10*time.Second)
		h.load(a, 1, 10*time.Second)
		h.load(b, 2, 10*time.Second)
		h.connect(1)
		h.loadFromPeer(b, 0, a)
		// a's uplink stops: no first byte will come.
		h.stallLinks()
		// Segment 0 again (from the cache), with segment 1 due in 20 s:
		// its prefetch asks a, and waits up to the first-byte limit (2 s).
		r := h.req(0, 10*time.Second)
		r.Upcoming = []engine.Request{h.req(1, 20*time.Second)}
		if _, err := b.Load(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		// Then the player wants segment 1 in 2.3 s, of which the CDN
		// reserve (the 0.45 s b timed for segment 2, plus 1 s) leaves
		// about 0.85 s.
		start := time.Now()
		deadline := start.Add(2300 * time.Millisecond)
		res := h.loadBy(b, 1, deadline)
		if res.Source != engine.SourceCDN {
			t.Fatalf("segment 1 from %v, want the cdn", res.Source)
		}
		spare := time.Until(deadline)
		if spare < 500*time.Millisecond {
			t.Fatalf("segment 1 came %v before its deadline (%v after the Load), want the first-byte wait cut at the reserve", spare, time.Since(start))
		}
		t.Logf("first-byte wait cut for a sooner Load: segment 1 %v before its deadline", spare)
	})
}

// A Load that finds its segment being prefetched for a later need waits
// for that transfer, which then works to the Load's sooner deadline: the
// CDN sends only what the peer cannot in time, once.
func TestLoadBringsAPrefetchForward(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 100 << 10}, 3, 1<<20)
		defer h.close()
		a, b := h.seederAndJoiner(2, 60*time.Second)
		h.load(a, 2, 60*time.Second)
		time.Sleep(2 * time.Second) // b hears of segment 2 too; segment 0 is b's first from a
		r := h.req(2, 60*time.Second)
		r.Upcoming = []engine.Request{h.req(0, 60*time.Second)} // ~10 s at 100 KiB/s: room enough
		if _, err := b.Load(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond) // the prefetch of 0 is under way
		servedBefore := h.cdn.Served(h.urls[0])
		deadline := time.Now().Add(6 * time.Second)
		res, err := b.Load(context.Background(), engine.Request{Swarm: swarm, Seq: 0, URL: h.urls[0], Deadline: deadline})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.Data, h.files[h.urls[0]]) || time.Now().After(deadline) {
			t.Fatalf("wrong bytes or late (%v after the deadline)", time.Since(deadline))
		}
		served := h.cdn.Served(h.urls[0]) - servedBefore
		if res.Origin != engine.SourcePeer || res.TailBytes <= 0 || served != res.TailBytes {
			t.Fatalf("origin %v, tail %d B, CDN served %d B: want the prefetch spliced once, to the Load's deadline", res.Origin, res.TailBytes, served)
		}
	})
}

// A spliced segment passes the same integrity gate as a peer's whole one:
// a peer whose head was corrupt is banned, and the segment comes whole
// from the CDN.
func TestSplicedSegmentIsVerified(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 100 << 10}, 2, 1<<20)
		defer h.close()
		b := h.corruptPair(30 * time.Second)
		r := h.load(b, 0, 6*time.Second) // checks the bytes
		if r.Source != engine.SourceCDN || r.TailBytes != 0 {
			t.Fatalf("source %v, tail %d; want the whole segment from the cdn", r.Source, r.TailBytes)
		}
		if st := b.Stats(); st.BannedPeers != 1 || st.SplicedSegments != 0 || st.PeerBytes != 0 {
			t.Fatalf("banned %d, spliced %d, peer bytes %d", st.BannedPeers, st.SplicedSegments, st.PeerBytes)
		}
	})
}

func TestCorruptPeerIsBannedAndDataStaysCorrect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond}, 4, 200<<10)
		defer h.close()
		b := h.corruptPair(10 * time.Second)
		r := h.load(b, 0, 10*time.Second) // checks the bytes
		if r.Source != engine.SourceCDN {
			t.Fatalf("source %v, want cdn after the corrupt transfer", r.Source)
		}
		if st := b.Stats(); st.BannedPeers != 1 || st.Peers != 0 {
			t.Fatalf("banned %d, peers %d", st.BannedPeers, st.Peers)
		}
		// The banned peer is not reconnected.
		time.Sleep(30 * time.Second)
		if st := b.Stats(); st.Peers != 0 {
			t.Fatalf("reconnected to a banned peer: %d peers", st.Peers)
		}
	})
}

// A link whose first message is not the handshake (its start was lost)
// is dropped without a ban: the pair connects again and trades segments.
func TestLinkWithoutHandshakeIsDroppedNotBanned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond}, 4, 100<<10)
		defer h.close()
		have, err := peerwire.Encode(nil, &peerwire.Have{Swarm: peerwire.SwarmID(engine.SwarmKey(swarm)), Seqs: []uint64{0}})
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		h.net.OnLink(func(a, _ *enginetest.Link) {
			once.Do(func() {
				first := true
				a.SetMutate(func(m []byte) []byte {
					if first { // the handshake
						first = false
						return append([]byte(nil), have...)
					}
					return m
				})
			})
		})
		a, b := h.engine(), h.engine()
		h.load(a, 0, 10*time.Second)
		h.load(b, 1, 10*time.Second)
		start := time.Now()
		h.connect(1)
		if n := len(h.net.Links()); n < 4 {
			t.Fatalf("%d link ends: the pair did not connect again after the broken link", n)
		}
		// The side that dropped the link announces again at once, not
		// after the reannounce period (10 s): a joiner's first link may be
		// its only source.
		if took := time.Since(start); took > 4*time.Second {
			t.Fatalf("the pair connected again %v after the first announce, want within a few seconds", took)
		}
		t.Logf("connected again %v after the first announce", time.Since(start))
		for i, e := range h.engines {
			if st := e.Stats(); st.BannedPeers != 0 {
				t.Fatalf("engine %d banned %d peers", i, st.BannedPeers)
			}
		}
		time.Sleep(time.Second) // a's haves reach b
		if r := h.load(b, 0, 10*time.Second); r.Source != engine.SourcePeer {
			t.Fatalf("segment 0 from %v, want the reconnected peer", r.Source)
		}
	})
}

func TestCancelledLoadStopsTransfer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 512 << 10}, 4, 1<<20)
		defer h.close()
		a, b := h.engine(), h.engine()
		h.load(a, 0, 30*time.Second)
		h.load(b, 1, 30*time.Second)
		h.connect(1)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := b.Load(ctx, engine.Request{Swarm: swarm, Seq: 0, URL: h.urls[0], Deadline: time.Now().Add(30 * time.Second)})
			errc <- err
		}()
		time.Sleep(300 * time.Millisecond)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled load returned %v", err)
		}
		synctest.Wait()
		time.Sleep(5 * time.Second)
		if st := a.Stats(); st.UploadedBytes != 0 {
			t.Fatalf("the cancelled upload completed (%d bytes)", st.UploadedBytes)
		}
		if got := h.cdn.Served(h.urls[0]); got != len(h.files[h.urls[0]]) {
			t.Fatalf("CDN served %d bytes of segment 0 after cancel", got)
		}
	})
}

func TestLeechOnlyNeverUploads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond}, 4, 100<<10)
		defer h.close()
		leech := h.engine(engine.WithUpload(false))
		other := h.engine()
		h.load(leech, 0, 10*time.Second)
		h.load(other, 1, 10*time.Second)
		h.connect(1)
		if r := h.load(other, 0, 10*time.Second); r.Source != engine.SourceCDN {
			t.Fatalf("segment held only by a leech came from %v", r.Source)
		}
		if r := h.load(leech, 1, 10*time.Second); r.Source != engine.SourcePeer {
			t.Fatalf("leech got segment 1 from %v, want peer", r.Source)
		}
		if st := leech.Stats(); st.UploadedBytes != 0 {
			t.Fatalf("leech uploaded %d bytes", st.UploadedBytes)
		}
	})
}

func TestCacheStaysWithinBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{}, 20, 100<<10)
		defer h.close()
		const limit = 600 << 10
		e := h.engine(engine.WithCacheBytes(limit))
		for i := range 20 {
			h.load(e, i, 10*time.Second)
			if st := e.Stats(); st.Cache.Bytes > limit {
				t.Fatalf("cache holds %d bytes, limit %d", st.Cache.Bytes, limit)
			}
		}
		if st := e.Stats(); st.Cache.Evictions == 0 {
			t.Fatal("no evictions while loading 2 MB through a 600 KB cache")
		}
	})
}

// A live Load's WindowStart drops the swarm's older segments from the
// cache, and peers learn they are gone: they fetch those from the CDN
// without asking first.
func TestLiveWindowEvictsOlderSegments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 4 << 20}, 8, 50<<10)
		defer h.close()
		a, b := h.seederAndJoiner(6, 10*time.Second)
		r := h.req(6, 10*time.Second)
		r.WindowStart = 4
		if _, err := a.Load(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		// a kept 4, 5 and 6 (and nothing else of the swarm is left).
		if st := a.Stats(); st.Cache.Entries != 3 {
			t.Fatalf("a caches %d segments after the window moved to 4, want 3 (4, 5, 6)", st.Cache.Entries)
		}
		time.Sleep(time.Second) // the lost announcements reach b
		res := h.load(b, 1, 10*time.Second)
		if res.Source != engine.SourceCDN {
			t.Fatalf("segment 1 (out of a's window) from %v, want the CDN", res.Source)
		}
		if st := b.Stats(); st.PeerFallbacks != 0 {
			t.Fatalf("b asked a for a segment a had dropped (%d peer fallbacks)", st.PeerFallbacks)
		}
		if res := h.load(b, 5, 10*time.Second); res.Source != engine.SourcePeer {
			t.Fatalf("segment 5 (in the window) from %v, want a's copy", res.Source)
		}
	})
}

func TestIdleSwarmIsLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{}, 2, 10<<10)
		defer h.close()
		e := h.engine(engine.WithSwarmIdle(5 * time.Second))
		h.load(e, 0, 10*time.Second)
		if st := e.Stats(); st.Swarms != 1 {
			t.Fatalf("swarms = %d", st.Swarms)
		}
		time.Sleep(8 * time.Second)
		if st := e.Stats(); st.Swarms != 0 {
			t.Fatalf("swarm not left after idling: %d", st.Swarms)
		}
		if n := h.sigs[0].AnnounceCount(engine.EventStopped); n != 1 {
			t.Fatalf("stopped announces = %d", n)
		}
	})
}

// loadWithUpcoming makes a seeder holding segments 0-5 and a joiner, has
// the joiner load segment 0 due in due (from want) with segments 1 and 2
// upcoming, due in next and 2 s after it, and waits 2 s for their
// prefetches. It returns the joiner.
func (h *harness) loadWithUpcoming(due, next time.Duration, want engine.Source) *engine.Engine {
	h.t.Helper()
	_, b := h.seederAndJoiner(6, 10*time.Second)
	r := h.req(0, due)
	r.Upcoming = []engine.Request{h.req(1, next), h.req(2, next+2*time.Second)}
	if res, err := b.Load(context.Background(), r); err != nil || res.Source != want {
		h.t.Fatalf("load 0: %v %v, want it from %v", res.Source, err, want)
	}
	synctest.Wait()
	time.Sleep(2 * time.Second)
	return b
}

func TestPrefetchFromPeers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 4 << 20}, 6, 100<<10)
		defer h.close()
		b := h.loadWithUpcoming(20*time.Second, 24*time.Second, engine.SourcePeer)
		for _, seq := range []int{1, 2} {
			res := h.load(b, seq, 10*time.Second)
			if res.Source != engine.SourceCache || res.Origin != engine.SourcePeer {
				t.Fatalf("segment %d from %v (origin %v), want prefetched from a peer into the cache", seq, res.Source, res.Origin)
			}
			// The player's bandwidth estimate gets the prefetch's real
			// transfer time (100 KiB at 4 MiB/s plus delay), not the
			// instant cache hit.
			if res.Transfer < 20*time.Millisecond || res.FirstByte <= 0 || res.FirstByte > res.Transfer {
				t.Fatalf("segment %d: transfer %v, first byte %v", seq, res.Transfer, res.FirstByte)
			}
		}
		if st := b.Stats(); st.PrefetchBytes != int64(len(h.files[h.urls[1]])+len(h.files[h.urls[2]])) || st.CacheSegments != 2 {
			t.Fatalf("prefetch bytes %d, cache segments %d", st.PrefetchBytes, st.CacheSegments)
		}
	})
}

// A Load due now (an empty buffer: the first segments, a seek) comes from
// the CDN, but the upcoming segments whose own deadlines leave room are
// still prefetched from peers.
func TestPrefetchWhileTheLoadIsDueNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 4 << 20}, 6, 100<<10)
		defer h.close()
		b := h.loadWithUpcoming(0, 4*time.Second, engine.SourceCDN)
		for _, seq := range []int{1, 2} {
			if res := h.load(b, seq, 2*time.Second); res.Source != engine.SourceCache || res.Origin != engine.SourcePeer {
				t.Fatalf("segment %d from %v (origin %v), want prefetched from a peer", seq, res.Source, res.Origin)
			}
		}
	})
}

// Of two holders that can both deliver in time, a Load asks the one
// nearest ahead (fewest segments after the one wanted): the viewer far
// ahead is kept for what only it holds.
func TestNearestHolderAheadIsAsked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 4 << 20}, 8, 100<<10)
		defer h.close()
		es := h.swarmOf(firstN(8), firstN(4), []int{7})
		front, near, joiner := es[0], es[1], es[2]
		// Only the front holds segment 6; the transfer times it, so by
		// speed alone it would be asked first from now on.
		h.loadFromPeer(joiner, 6, front)
		for seq := range 4 {
			h.loadFromPeer(joiner, seq, near)
		}
	})
}

// Upcoming segments held by two peers are prefetched side by side, one
// from each, rather than one after the other from the same uplink.
func TestPrefetchFromSeveralHolders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 1 << 20}, 4, 512<<10)
		defer h.close()
		b := h.swarmOf(firstN(3), firstN(3), []int{3})[2]
		events, stop := b.Subscribe(64)
		defer stop()
		r := h.req(0, 20*time.Second)
		r.Upcoming = []engine.Request{h.req(1, 22*time.Second), h.req(2, 24*time.Second)}
		if _, err := b.Load(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		from := map[uint64]engine.PeerID{}
		var last time.Time
		for len(from) < 2 {
			select {
			case ev := <-events:
				if ev.Kind != engine.EventPrefetch {
					continue
				}
				if ev.Err != nil {
					t.Fatalf("prefetch of %d: %v", ev.Key.Seq, ev.Err)
				}
				from[ev.Key.Seq], last = ev.Peer, ev.Time
			case <-time.After(10 * time.Second):
				t.Fatalf("prefetches ended: %v", from)
			}
		}
		if from[1] == from[2] {
			t.Fatalf("segments 1 and 2 both prefetched from %v", from[1])
		}
		// One 512 KiB upload over a 1 MiB/s link, paced below the rate
		// its uploader measured, takes about 0.9 s: side by side both end
		// within about that, one after the other only after 1.8 s.
		if took := last.Sub(start); took > 1400*time.Millisecond {
			t.Fatalf("both prefetches took %v", took)
		}
	})
}

// Prefetches started by successive Loads go to a shared holder in the
// order of their segments: the one a later Load starts does not take the
// uplink from an earlier one that waits for the holder to fall quiet.
func TestPrefetchesKeepSegmentOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 1 << 20}, 6, 256<<10)
		defer h.close()
		b := h.swarmOf(firstN(6), []int{5})[1]
		events, stop := b.Subscribe(64)
		defer stop()
		load := func(seq int) {
			r := h.req(seq, time.Duration(20+2*seq)*time.Second)
			r.Upcoming = []engine.Request{h.req(seq+1, time.Duration(22+2*seq)*time.Second), h.req(seq+2, time.Duration(24+2*seq)*time.Second)}
			if _, err := b.Load(context.Background(), r); err != nil {
				t.Fatalf("load %d: %v", seq, err)
			}
		}
		// Load 0 prefetches 1, then 2 once 1 is asked for; Load 1 waits for
		// that prefetch and then starts one for 3, while 2 still waits.
		load(0)
		load(1)
		var order []uint64
		for len(order) < 3 {
			select {
			case ev := <-events:
				if ev.Kind != engine.EventPrefetch {
					continue
				}
				if ev.Err != nil {
					t.Fatalf("prefetch of %d: %v", ev.Key.Seq, ev.Err)
				}
				order = append(order, ev.Key.Seq)
			case <-time.After(10 * time.Second):
				t.Fatalf("prefetches ended: %v", order)
			}
		}
		if !slices.Equal(order, []uint64{1, 2, 3}) {
			t.Fatalf("prefetched in the order %v, want 1 2 3", order)
		}
	})
}

// keepSwarm makes the swarm of the uplink-keep tests, on links of 10 ms
// and 1 MiB/s, with segments of about size bytes (segment trimmed cut to
// trimTo bytes first, unless trimTo is 0): the front holds segments
// 0..segments-1, mid 0..3 and back 0. Mid then loads 4 from the front, its
// only holder and so its nearest, which keeps its uplink for mid from there.
func keepSwarm(t *testing.T, segments, size, trimmed, trimTo int) (h *harness, front, mid, back *engine.Engine) {
	t.Helper()
	h = newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 1 << 20}, segments, size)
	if trimTo > 0 {
		h.files[h.urls[trimmed]] = h.files[h.urls[trimmed]][:trimTo]
	}
	es := h.swarmOf(firstN(segments), firstN(4), []int{0})
	front, mid, back = es[0], es[1], es[2]
	h.loadFromPeer(mid, 4, front)
	return h, front, mid, back
}

// A viewer that has just served a peer it is the nearest holder for keeps
// its uplink for that peer: a request that a nearer holder could serve is
// refused while it lasts.
func TestUplinkKeptForThePeerBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Segment 1, which mid will send to back, is the smallest: mid is
		// free again, for segment 2, while the front still keeps its
		// uplink (for a second after its upload of 4, 512 KiB or more).
		// The test stream's sizes vary by up to a quarter.
		h, front, mid, back := keepSwarm(t, 6, 512<<10, 1, 256<<10)
		defer h.close()
		before := front.Stats().UploadedBytes
		events, stop := back.Subscribe(64)
		defer stop()
		// A cache hit that prefetches 1 and 2 side by side: 1 from mid, the
		// nearest holder; 2 from an idle holder — only the front is idle,
		// and mid is nearer to back, so the front refuses.
		r := h.req(0, 20*time.Second)
		r.Upcoming = []engine.Request{h.req(1, 22*time.Second), h.req(2, 24*time.Second)}
		if res, err := back.Load(context.Background(), r); err != nil || res.Source != engine.SourceCache {
			t.Fatalf("load 0: %v %v", res.Source, err)
		}
		seen := map[uint64]engine.EngineEvent{}
		for len(seen) < 2 {
			select {
			case ev := <-events:
				if ev.Kind == engine.EventPrefetch {
					seen[ev.Key.Seq] = ev
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("prefetches: %v", seen)
			}
		}
		if ev := seen[1]; ev.Err != nil || ev.Peer != mid.PeerID() {
			t.Fatalf("prefetch 1: %v from %v, want mid", ev.Err, ev.Peer)
		}
		if ev := seen[2]; ev.Err == nil && ev.Peer == front.PeerID() {
			t.Fatalf("prefetch 2 served by the front while it kept its uplink for mid")
		}
		if up := front.Stats().UploadedBytes - before; up != 0 {
			t.Fatalf("front uploaded %d bytes to back", up)
		}
	})
}

// While the uplink is kept for a peer, a peer behind that one is refused
// even when we are its only holder: the kept-for peer will want the
// segment first, and the one behind gets it from there.
func TestUplinkKeptFromThoseBehindIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Only the front holds 4 and 5.
		h, front, mid, back := keepSwarm(t, 8, 256<<10, 0, 0)
		defer h.close()
		before := front.Stats().UploadedBytes
		got := make(chan engine.Result, 1)
		go func() { got <- h.load(back, 5, 10*time.Second) }()
		// Mid, ahead of back, wants 5 next.
		time.Sleep(100 * time.Millisecond)
		h.loadFromPeer(mid, 5, front)
		if r := <-got; r.Source != engine.SourcePeer || r.Peer != mid.PeerID() {
			t.Fatalf("back's segment 5 from %v (peer %v), want mid", r.Source, r.Peer)
		}
		if up, want := front.Stats().UploadedBytes-before, int64(len(h.files[h.urls[5]])); up != want {
			t.Fatalf("front uploaded %d bytes, want %d (segment 5 to mid only)", up, want)
		}
	})
}

// The uplink is kept for the nearest peer only briefly after an upload to
// it (keepUplinkFor, a second), however long the upload took: a kept
// uplink sends nothing. A peer behind that asks once the keep is over is
// served at once, not answered "busy" until a later try.
func TestUplinkKeptOnlyBriefly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Only the front holds 4 and 5; its upload of 4 to mid (2 MiB or
		// so at 1 MiB/s) takes about 2 s.
		h, front, _, back := keepSwarm(t, 6, 2<<20, 5, 64<<10)
		defer h.close()
		time.Sleep(1500 * time.Millisecond)
		r := h.load(back, 5, 10*time.Second)
		if r.Source != engine.SourcePeer || r.Peer != front.PeerID() {
			t.Fatalf("back's segment 5 from %v (peer %v), want the front", r.Source, r.Peer)
		}
		// A "busy" answer would cost busyBackoff (500 ms) before the next ask.
		if r.Duration >= 500*time.Millisecond {
			t.Fatalf("back's segment 5 took %v: the front kept its uplink idle for mid", r.Duration)
		}
	})
}

// A viewer fed by one holder asks for its next segment while the one
// before is still arriving; the holder goes straight on to it when that
// upload ends (queueUpload), instead of answering "busy" or idling for a
// round trip until the request comes.
func TestNextRequestWaitsBehindTheUpload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 50 ms each way, 1 MiB/s: a 256 KiB segment takes about 250 ms.
		h := newHarness(t, enginetest.Shaping{Delay: 50 * time.Millisecond, Bandwidth: 1 << 20}, 5, 256<<10)
		defer h.close()
		es := h.swarmOf(firstN(5), []int{4})
		front, back := es[0], es[1]
		uploads, stop := front.Subscribe(64)
		defer stop()
		prefetched, stopB := back.Subscribe(64)
		defer stopB()
		r := h.req(0, 30*time.Second)
		for seq := 1; seq <= 3; seq++ {
			r.Upcoming = append(r.Upcoming, h.req(seq, time.Duration(30+2*seq)*time.Second))
		}
		if res, err := back.Load(context.Background(), r); err != nil || res.Source != engine.SourcePeer {
			t.Fatalf("load 0: %v %v", res.Source, err)
		}
		for done := 0; done < 3; {
			select {
			case ev := <-prefetched:
				if ev.Kind != engine.EventPrefetch {
					continue
				}
				if ev.Err != nil || ev.Peer != front.PeerID() {
					t.Fatalf("prefetch %d: %v from %v, want the front", ev.Key.Seq, ev.Err, ev.Peer)
				}
				done++
			case <-time.After(20 * time.Second):
				t.Fatal("prefetches did not end")
			}
		}
		var starts, ends []time.Time
		for len(starts) < 4 {
			select {
			case ev := <-uploads:
				if ev.Kind == engine.EventUpload {
					starts, ends = append(starts, ev.Time.Add(-ev.Duration)), append(ends, ev.Time)
				}
			default:
				t.Fatalf("front made %d uploads, want 4", len(starts))
			}
		}
		// Without the wait, the request for 2 leaves back once 1 has
		// arrived, and the front starts on it 200 ms or so after its upload
		// of 1 ended (the bytes still queued on the link, then a round trip).
		for k := 2; k < 4; k++ {
			if gap := starts[k].Sub(ends[k-1]); gap > 10*time.Millisecond {
				t.Errorf("upload %d started %v after upload %d ended", k, gap, k-1)
			}
		}
	})
}

// A holder that has been feeding a viewer keeps feeding it when a viewer
// behind, reading ahead, asks for the same segments: the requests of the
// one behind, each waiting behind the upload before, no longer keep the
// uplink from the viewer it was feeding (fedHalfLife).
func TestFedPeerGetsItsHolderBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1 MiB segments at 1 MiB/s: an upload takes 1-2 s. The front
		// feeds mid 4 and 5; it is the only holder of 6 to 9.
		h, front, mid, back := keepSwarm(t, 10, 1<<20, 0, 0)
		defer h.close()
		h.loadFromPeer(mid, 5, front)
		// Once the front no longer keeps its uplink for mid (keepUplinkFor),
		// back reads ahead from it: 6, then 7, 8 and 9 prefetched, each
		// request waiting behind the upload before.
		time.Sleep(1500 * time.Millisecond)
		r := h.req(6, 30*time.Second)
		for seq := 7; seq <= 9; seq++ {
			r.Upcoming = append(r.Upcoming, h.req(seq, time.Duration(30+2*(seq-6))*time.Second))
		}
		backDone := make(chan engine.Result, 1)
		go func() {
			res, err := back.Load(context.Background(), r)
			if err != nil {
				t.Errorf("back's load 6: %v", err)
			}
			backDone <- res
		}()
		// Mid wants 7 while the front sends 6 to back; the deadline leaves
		// room to wait for one upload, not for two.
		time.Sleep(300 * time.Millisecond)
		got := h.load(mid, 7, 6*time.Second)
		if got.Source != engine.SourcePeer || got.Peer != front.PeerID() {
			t.Fatalf("mid's segment 7 from %v (peer %v), want the front, which was feeding it", got.Source, got.Peer)
		}
		<-backDone
	})
}

// The CDN reserve covers how much the CDN's fetch times vary, not only
// their average (cdnDeviations): an engine whose fetches swung between
// 50 ms and 2 s takes a segment due in 3 s from the CDN at once, where an
// engine whose fetches were steady takes it from a peer.
func TestCDNReserveCoversItsJitter(t *testing.T) {
	other := engine.SwarmIDFor("https://cdn.example/other/720p.m3u8", "")
	for _, jitter := range []bool{false, true} {
		t.Run("jitter="+strconv.FormatBool(jitter), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 1 << 20}, 10, 256<<10)
				defer h.close()
				es := h.swarmOf(firstN(10), []int{0})
				front, back := es[0], es[1]
				// Back times the CDN on a swarm no peer is in.
				for seq := 1; seq <= 6; seq++ {
					lat := 50 * time.Millisecond
					if jitter && seq%2 == 0 {
						lat = 2 * time.Second
					}
					h.cdn.SetLatency(lat)
					res, err := back.Load(context.Background(), engine.Request{Swarm: other, Seq: uint64(seq), URL: h.urls[seq], Deadline: time.Now().Add(30 * time.Second)})
					if err != nil || res.Source != engine.SourceCDN {
						t.Fatalf("timing load %d: %v from %v", seq, err, res.Source)
					}
				}
				h.cdn.SetLatency(50 * time.Millisecond)
				r := h.load(back, 9, 3*time.Second)
				want, peer := engine.SourcePeer, front.PeerID()
				if jitter {
					want, peer = engine.SourceCDN, engine.PeerID{}
				}
				if r.Source != want || r.Peer != peer {
					t.Fatalf("segment 9 from %v (peer %v), want %v", r.Source, r.Peer, want)
				}
			})
		})
	}
}

// A Load waiting for a busy holder keeps it from the prefetch of a later
// segment: when the holder falls free, the Load, due sooner, gets it.
// (Before, the prefetch took it, and the Load, left to wait behind that
// transfer, fetched its segment from the CDN.)
func TestWaitingLoadGoesBeforeALaterPrefetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1 MiB/s: segment 4 (1.5 MiB) keeps the front busy with mid for
		// about 2.5 s; the others (1 MiB) take about 2 s each.
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 1 << 20}, 8, 1<<20)
		defer h.close()
		h.files[h.urls[4]] = append(h.files[h.urls[4]], h.files[h.urls[4]][:512<<10]...)
		es := h.swarmOf(firstN(8), firstN(4), firstN(4))
		front, mid, back := es[0], es[1], es[2]
		midDone := make(chan engine.Result, 1)
		go func() { midDone <- h.load(mid, 4, 20*time.Second) }()
		time.Sleep(200 * time.Millisecond)
		// Back's player wants 5 within 8 s, and reads ahead: 6 is due
		// in 20 s.
		got := make(chan engine.Result, 1)
		go func() { got <- h.load(back, 5, 8*time.Second) }()
		time.Sleep(100 * time.Millisecond)
		r := h.req(3, 18*time.Second)
		r.Upcoming = []engine.Request{h.req(6, 20*time.Second)}
		if res, err := back.Load(context.Background(), r); err != nil || res.Source != engine.SourceCache {
			t.Fatalf("load 3: %v %v", res.Source, err)
		}
		res := <-got
		<-midDone
		if res.Source != engine.SourcePeer || res.Peer != front.PeerID() || res.TailBytes != 0 {
			t.Fatalf("segment 5 from %v (peer %v, %d bytes from the CDN), want all from the front", res.Source, res.Peer, res.TailBytes)
		}
	})
}

func TestInvalidRequestsAndOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{}, 1, 1024)
		defer h.close()
		e := h.engine()
		for _, r := range []engine.Request{{}, {Swarm: swarm}, {Swarm: swarm, URL: "u", Start: 10, End: 5}} {
			if _, err := e.Load(context.Background(), r); !errors.Is(err, engine.ErrInvalidRequest) {
				t.Errorf("Load(%+v) = %v", r, err)
			}
		}
		for _, o := range []engine.Option{engine.WithMaxPeers(0), engine.WithCacheBytes(-1), engine.WithUploadRate(-1), nil} {
			if _, err := engine.New(h.net.Signaler(), h.net.Dialer(), h.cdn, o); err == nil {
				t.Error("invalid option accepted")
			}
		}
	})
}

func TestSwarmIdentity(t *testing.T) {
	a := engine.SwarmIDFor("https://CDN.example/live/master.m3u8?token=abc#t=5", "720p")
	b := engine.SwarmIDFor("https://cdn.example/live/master.m3u8?token=xyz", "720p")
	if a != b || a != "https://cdn.example/live/master.m3u8#720p" {
		t.Fatalf("swarm IDs %q and %q", a, b)
	}
	if engine.SwarmIDFor("https://cdn.example/live/master.m3u8", "1080p") == b {
		t.Fatal("renditions share a swarm")
	}
	if engine.SwarmKey(a) == engine.SwarmKey(engine.SwarmIDFor("https://cdn.example/other.m3u8", "720p")) {
		t.Fatal("different streams share an info_hash")
	}
}

func TestUploadRateCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 5 * time.Millisecond, Bandwidth: 50 << 20}, 2, 1<<20)
		defer h.close()
		a := h.engine(engine.WithUploadRate(256 << 10))
		b := h.engine()
		h.load(a, 0, 10*time.Second)
		h.load(b, 1, 10*time.Second)
		h.connect(1)
		start := time.Now()
		r := h.load(b, 0, 60*time.Second)
		took := time.Since(start)
		// ~1.1 MiB at 256 KiB/s after a 64 KiB burst: about 4 s.
		if r.Source != engine.SourcePeer || took < 3500*time.Millisecond || took > 6*time.Second {
			t.Fatalf("capped upload: source %v, took %v; want a peer transfer of about 4 s", r.Source, took)
		}
	})
}

func TestConcurrentUploadsAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 5 * time.Millisecond, Bandwidth: 1 << 20}, 2, 1<<20)
		defer h.close()
		seed := h.engine(engine.WithMaxUploads(1))
		h.load(seed, 0, 10*time.Second)
		leechers := []*engine.Engine{h.engine(), h.engine(), h.engine()}
		for _, l := range leechers {
			h.load(l, 1, 10*time.Second)
		}
		h.connect(1)
		results := make(chan engine.Result, len(leechers))
		for _, l := range leechers {
			go func() { results <- h.load(l, 0, 30*time.Second) }()
		}
		most := 0
		for got := 0; got < len(leechers); {
			select {
			case <-results:
				got++
			case <-time.After(50 * time.Millisecond):
				most = max(most, seed.Stats().Uploads)
			}
		}
		if most != 1 {
			t.Fatalf("at most %d uploads ran at once, want exactly the limit of 1", most)
		}
	})
}

// The reserve kept for a fallback covers a CDN fetch much slower than the
// ones timed so far (on a busy device, the page's event loop delays it):
// a slow peer's tail still arrives before the deadline.
func TestFallbackSurvivesASlowCDNMoment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond, Bandwidth: 100 << 10}, 5, 1<<20)
		defer h.close()
		b := h.slowPair() // b timed the CDN: 1 MiB in about 250 ms
		// The peer needs ~10 s for 1 MiB; the deadline is 6 s away, so the
		// CDN fetches the tail, and it now takes 750 ms to answer.
		h.cdn.SetLatency(750 * time.Millisecond)
		deadline := time.Now().Add(6 * time.Second)
		res, err := b.Load(context.Background(), engine.Request{Swarm: swarm, Seq: 0, URL: h.urls[0], Deadline: deadline})
		if err != nil {
			t.Fatal(err)
		}
		if late := time.Since(deadline); late > 0 || res.TailBytes == 0 || !bytes.Equal(res.Data, h.files[h.urls[0]]) {
			t.Fatalf("spliced segment (tail %d B) done %v after its deadline", res.TailBytes, late)
		}
	})
}

// A holder busy with another viewer's upload for longer than
// maxPeerAttempts busy answers take is waited for, while the deadline
// allows, rather than given up for the CDN.
func TestBusyHolderIsWaitedFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 5 * time.Millisecond, Bandwidth: 4 << 20}, 2, 1<<20)
		defer h.close()
		// 1 MiB at 128 KiB/s: each upload takes about 8 s.
		seed := h.engine(engine.WithMaxUploads(1), engine.WithUploadRate(128<<10))
		h.load(seed, 0, 10*time.Second)
		a, b := h.engine(), h.engine()
		h.load(a, 1, 10*time.Second)
		h.load(b, 1, 10*time.Second)
		h.connect(1)
		first := make(chan engine.Result, 1)
		go func() { first <- h.load(a, 0, 60*time.Second) }()
		time.Sleep(time.Second) // a's upload is under way
		res := h.load(b, 0, 60*time.Second)
		if r := <-first; r.Source != engine.SourcePeer {
			t.Fatalf("a's segment from %v", r.Source)
		}
		if res.Source != engine.SourcePeer {
			t.Fatalf("b's segment from %v, want it from the busy holder once it was free", res.Source)
		}
	})
}

func TestPeersPerSwarmAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 5 * time.Millisecond}, 1, 1024)
		defer h.close()
		var es []*engine.Engine
		for range 6 {
			es = append(es, h.engine(engine.WithMaxPeers(2)))
		}
		for _, e := range es {
			h.load(e, 0, 10*time.Second)
		}
		time.Sleep(40 * time.Second) // several re-announce rounds, within the swarm idle time
		total := 0
		for i, e := range es {
			n := e.Stats().Peers
			if n > 2 {
				t.Fatalf("engine %d has %d peers, want at most 2", i, n)
			}
			total += n
		}
		if total < 6 {
			t.Fatalf("only %d peer links among 6 engines", total/2)
		}
	})
}

// TestSwarmKeyIsSHA1 pins the swarm key to SHA-1 of the versioned ID: the
// engine carries its own SHA-1 (crypto/sha1 costs the WASM build ~58 KB
// brotli), and native and browser engines must derive the same keys.
func TestSwarmKeyIsSHA1(t *testing.T) {
	id := "https://cdn.example/live/720p.m3u8"
	for n := 0; n < 300; n++ {
		sid := engine.SwarmID(strings.Repeat("x", n) + id)
		want := sha1.Sum([]byte("nearcast/v" + strconv.Itoa(engine.ProtocolVersion) + "\x00" + string(sid)))
		if got := engine.SwarmKey(sid); got != engine.InfoHash(want) {
			t.Fatalf("SwarmKey(%d-byte ID) = %x, want %x", len(sid), got, want)
		}
	}
}

// TestNoOffersWhenConnectedToAll: three engines in a swarm connect to each
// other; from then on their re-announces carry no offers, as every member
// they know of is connected. A member that joins later still connects to
// all of them, with its own offers.
func TestNoOffersWhenConnectedToAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 5 * time.Millisecond}, 2, 10<<10)
		defer h.close()
		opts := []engine.Option{engine.WithReannounce(time.Second), engine.WithOfferTTL(2 * time.Second)}
		for range 3 {
			h.load(h.engine(opts...), 0, 10*time.Second)
		}
		h.connect(2)
		time.Sleep(3 * time.Second) // the offers out before the count expire
		offers, updates := make([]int, 3), make([]int, 3)
		for i, s := range h.sigs {
			offers[i], updates[i] = s.OfferCount(), s.AnnounceCount(engine.EventUpdate)
		}
		time.Sleep(10 * time.Second)
		for i, s := range h.sigs {
			if n := s.AnnounceCount(engine.EventUpdate) - updates[i]; n < 5 {
				t.Fatalf("engine %d re-announced %d times in 10 s, want at least 5", i, n)
			}
			if n := s.OfferCount() - offers[i]; n != 0 {
				t.Errorf("engine %d sent %d offers while connected to every member", i, n)
			}
		}
		late := h.engine(opts...)
		h.load(late, 1, 10*time.Second)
		h.connect(3)
	})
}

// TestJoinerOffersAtOnce: offers take 400 ms each to create (ICE
// gathering), and a joiner has its first peer about one offer's time
// after it joined, not five: its offers are made at the same time.
func TestJoinerOffersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, enginetest.Shaping{Delay: 10 * time.Millisecond}, 2, 10<<10)
		defer h.close()
		member := h.engine()
		h.load(member, 0, 10*time.Second)
		time.Sleep(time.Second) // the member's own announce is done
		h.net.SetGatherTime(400 * time.Millisecond)
		joiner := h.engine(engine.WithOffersPerAnnounce(5))
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := joiner.Load(context.Background(), h.req(0, 10*time.Second)); err != nil {
				t.Errorf("load 0: %v", err)
			}
		}()
		defer func() { <-done }()
		for joiner.Stats().Peers == 0 {
			if time.Since(start) > 5*time.Second {
				t.Fatal("the joiner had no peer 5 s after it joined")
			}
			time.Sleep(10 * time.Millisecond)
		}
		// One offer's gathering, the answer's, and a few link delays.
		if took := time.Since(start); took > 1200*time.Millisecond {
			t.Fatalf("the joiner's first peer came %v after it joined, want about 0.8 s", took)
		}
	})
}
