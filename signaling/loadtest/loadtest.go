package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/signaling/wtproto"
)

// Bounds on every wait and queue of a run.
const (
	dialTimeout  = 10 * time.Second
	writeTimeout = 10 * time.Second
	// responseTimeout is how long an announce waits for its response before
	// it is counted in Report.Timeouts and forgotten.
	responseTimeout = 10 * time.Second
	// Between the ramp and the measured phase, the generator waits (at most
	// joinWait) for the responses to the joining announces and then for
	// joinQuiet without a message, so that answers to the joining offers are
	// in.
	joinWait  = 5 * time.Second
	joinQuiet = 100 * time.Millisecond
	// The drain after the measured phase ends once no announce awaits its
	// response and nothing has arrived for drainQuiet, or after drainMax.
	drainMax   = 3 * time.Second
	drainQuiet = 200 * time.Millisecond
	// closeTimeout bounds the sending of close frames to all connections.
	closeTimeout = 2 * time.Second
	// fifoCap is the most announces one connection has awaiting responses.
	fifoCap = 8
	// maxQueued is the most frames waiting to be written on one connection;
	// more means its writes are stuck, and the connection is dropped.
	maxQueued = 64
	// readLimit bounds a received message.
	readLimit = 1 << 20
	// maxErrors is the number of distinct error texts a Report keeps.
	maxErrors = 8
)

// Report is the outcome of a run. Sent and Received count the whole run
// (ramp-up, measured phase and drain); rates and latencies count the measured
// phase only.
type Report struct {
	// Mode is "open", "closed" or "idle".
	Mode string
	// Conns is the number of connections asked for, Connected those opened
	// and ConnectErrors the dials that failed. Disconnects counts the
	// connections the server closed, or that failed, before the end of the
	// run; they are not reopened.
	Conns, Connected, ConnectErrors, Disconnects int
	// Failures counts "failure reason" messages received.
	Failures int64
	// ProtocolErrors counts received messages that could not be parsed or
	// were not expected (a response with no announce awaiting it, an answer
	// to an offer_id the generator did not make).
	ProtocolErrors int64
	// RampSeconds is the time taken to open the connections.
	RampSeconds float64
	// Seconds is the length of the measured phase.
	Seconds float64
	// Sent counts messages sent, by kind: "announce", "answer", "stopped".
	Sent map[string]int64
	// Received counts messages received, by kind: "announce" (responses),
	// "offer", "answer", "failure", "other".
	Received map[string]int64
	// ResponsesPerSec is the number of messages received from the server
	// per second of the measured phase.
	ResponsesPerSec float64
	// PerSec is Received per second of the measured phase, by kind.
	PerSec map[string]float64
	// SentPerSec is Sent per second of the measured phase, by kind.
	SentPerSec map[string]float64
	// TargetRate is the open loop's aim in announces per second.
	TargetRate float64
	// AnnounceRTT runs from an announce sent to its response received.
	AnnounceRTT Latency
	// AnswerRTT runs from an announce with offers sent to each answer to
	// those offers received.
	AnswerRTT Latency
	// Switches counts the connections that switched swarm.
	Switches int
	// IgnoredOffers counts offers not answered because they came for a
	// swarm the connection had left.
	IgnoredOffers int64
	// Skipped counts open-loop announces not sent because the connection
	// still awaited fifoCap responses or the generator fell behind.
	Skipped int64
	// Timeouts counts announces whose response did not come within 10 s.
	Timeouts int64
	// Errors holds the first distinct errors seen (dials, disconnects,
	// failure reasons).
	Errors []string
}

// Run opens cfg.Conns connections to the tracker, loads it for
// cfg.Duration once they are all up, drains, closes every connection and
// reports. It returns early when ctx ends, with the report so far and the
// context's error. Every wait is bounded, so a stuck server or connection
// cannot keep it from returning.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	s, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	return newGenerator(s).run(ctx)
}

// event is an announce's event.
type event uint8

const (
	evUpdate  event = iota // a periodic announce: no event field
	evStarted              // joining a swarm
	evStopped              // leaving a swarm
)

// generator is one run.
type generator struct {
	cfg   *settings
	epoch time.Time

	swarmOf  []int32  // swarm of each connection, by dial order
	swarmIDs [][]byte // JSON-encoded info_hash of each swarm
	offers   [][]byte // {"type":"offer","sdp":"…"} objects
	answers  [][]byte
	maxFrame int

	mu    sync.Mutex // guards conns (appended during the ramp) and errs
	conns []*conn
	errs  []string
	nErrs atomic.Int32

	phase   atomic.Int32
	closing atomic.Bool
	// measuredAt is g.now() at the start of the measured phase, -1 before.
	// Latencies count messages sent and received in the measured phase.
	measuredAt atomic.Int64

	stats                  counters
	announceRTT, answerRTT histogram
	protoErrs, ignored     atomic.Int64
	skipped, timeouts      atomic.Int64
	connectErrs, discs     atomic.Int64
	switches               atomic.Int64
	outstanding            atomic.Int64 // announces awaiting a response
	slowest                atomic.Int64 // longest answer round trip yet, in any phase
	lastRecv               atomic.Int64 // g.now() of the last message received

	loop    *closedLoop // nil unless closed loop
	readers sync.WaitGroup

	// joinWait and drainMax default to the constants; tests shorten them.
	joinWait, drainMax time.Duration

	framePool sync.Pool // *[]byte of cap maxFrame
	readPool  sync.Pool // *[]byte
	writePool sync.Pool // gorilla's write buffers
}

func newGenerator(s *settings) *generator {
	r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	g := &generator{cfg: s, epoch: time.Now(), joinWait: joinWait, drainMax: drainMax}
	g.measuredAt.Store(-1)
	zipf := rand.NewZipf(r, s.Skew, 1, uint64(s.Swarms-1))
	g.swarmOf = make([]int32, s.Conns)
	for i := range g.swarmOf {
		g.swarmOf[i] = int32(zipf.Uint64())
	}
	g.swarmIDs = make([][]byte, s.Swarms)
	for i := range g.swarmIDs {
		g.swarmIDs[i] = wtproto.AppendString(nil, randomID(r))
	}
	largest := 0
	if s.mode != modeIdle {
		g.offers = sdpObjects(r, true, s.SDPBytes, sdpVariants)
		g.answers = sdpObjects(r, false, s.SDPBytes, sdpVariants)
		for _, o := range slices.Concat(g.offers, g.answers) {
			largest = max(largest, len(o))
		}
	}
	// Field names, IDs and quotes around at most MaxOffers offers.
	g.maxFrame = 512 + MaxOffers*(largest+64)
	g.framePool.New = func() any { b := make([]byte, 0, g.maxFrame); return &b }
	g.readPool.New = func() any { b := make([]byte, 0, 4096); return &b }
	if s.mode == modeClosed {
		g.loop = newClosedLoop(s.Conns)
	}
	return g
}

// now returns the nanoseconds since the run began (monotonic).
func (g *generator) now() int64 { return int64(time.Since(g.epoch)) }

func (g *generator) connList() []*conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns
}

// timed reports whether a round trip that began at sent and ended in phase
// ph counts in the latencies: both ends must lie in the measured phase, so
// the burst of joins during the ramp does not leak into them.
func (g *generator) timed(ph int32, sent int64) bool {
	at := g.measuredAt.Load()
	return ph == phaseMeasured && at >= 0 && sent >= at
}

// noteErr keeps the first maxErrors distinct error texts.
func (g *generator) noteErr(s string) {
	if g.nErrs.Load() >= maxErrors {
		return
	}
	if len(s) > 200 {
		s = s[:200]
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.errs) < maxErrors && !slices.Contains(g.errs, s) {
		g.errs = append(g.errs, s)
		g.nErrs.Store(int32(len(g.errs)))
	}
}

func (g *generator) getFrame() *[]byte  { return g.framePool.Get().(*[]byte) }
func (g *generator) putFrame(b *[]byte) { *b = (*b)[:0]; g.framePool.Put(b) }

func (g *generator) run(ctx context.Context) (*Report, error) {
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		g.progress(stopProgress)
	}()

	rampStart := time.Now()
	g.ramp(ctx)
	rampSeconds := time.Since(rampStart).Seconds()
	conns := g.connList()
	var seconds float64
	interrupted := false
	if len(conns) > 0 && ctx.Err() == nil {
		g.waitIdle(ctx, g.joinWait, joinQuiet)
	}
	if len(conns) > 0 && ctx.Err() == nil {
		start := time.Now()
		g.measuredAt.Store(g.now())
		g.phase.Store(phaseMeasured)
		stop := make(chan struct{})
		var drivers sync.WaitGroup
		switch g.cfg.mode {
		case modeOpen:
			drivers.Go(func() { g.openLoop(stop, conns) })
		case modeClosed:
			g.loop.start(min(g.cfg.Outstanding, len(conns)), conns)
			g.dispatch()
		}
		if g.cfg.mode != modeIdle && g.cfg.SwitchShare > 0 {
			drivers.Go(func() { g.switcher(stop, conns, start) })
		}
		t := time.NewTimer(g.cfg.Duration)
		select {
		case <-t.C:
		case <-ctx.Done():
			interrupted = true
		}
		t.Stop()
		seconds = time.Since(start).Seconds()
		g.phase.Store(phaseDrain)
		if g.loop != nil {
			g.loop.stop()
		}
		close(stop)
		drivers.Wait()
		if !interrupted {
			g.waitIdle(ctx, g.drainMax, drainQuiet)
		}
	}
	g.closeAll(conns)
	close(stopProgress)
	<-progressDone

	rep := g.report(len(conns), rampSeconds, seconds)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if len(conns) == 0 {
		first := "no error recorded"
		if len(rep.Errors) > 0 {
			first = rep.Errors[0]
		}
		return rep, fmt.Errorf("%w: %s", ErrNoConnections, first)
	}
	return rep, nil
}

// waitIdle waits, at most limit, until no announce awaits its response and
// nothing has been received for quiet.
func (g *generator) waitIdle(ctx context.Context, limit, quiet time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if g.outstanding.Load() <= 0 && g.now()-g.lastRecv.Load() >= int64(quiet) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ramp opens the connections, cfg.ConnectConcurrency dials at a time. Each
// connection joins its swarm as soon as it is open.
func (g *generator) ramp(ctx context.Context) {
	readBuf := 4096
	if g.cfg.mode == modeIdle {
		readBuf = 512 // idle connections only read a response and pings
	}
	newDialer := func(local net.Addr) *websocket.Dialer {
		nd := &net.Dialer{Timeout: dialTimeout, LocalAddr: local, KeepAlive: -1}
		return &websocket.Dialer{
			NetDialContext:   nd.DialContext,
			HandshakeTimeout: dialTimeout,
			ReadBufferSize:   readBuf,
			WriteBufferSize:  g.maxFrame + 16,
			WriteBufferPool:  &g.writePool,
		}
	}
	dialers := []*websocket.Dialer{newDialer(nil)}
	if len(g.cfg.localAddrs) > 0 {
		dialers = dialers[:0]
		for _, ip := range g.cfg.localAddrs {
			dialers = append(dialers, newDialer(&net.TCPAddr{IP: ip}))
		}
	}
	var next atomic.Int64
	var workers sync.WaitGroup
	for range min(g.cfg.ConnectConcurrency, g.cfg.Conns) {
		workers.Go(func() {
			r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
			for {
				i := int(next.Add(1) - 1)
				if i >= g.cfg.Conns || ctx.Err() != nil {
					return
				}
				g.dial(ctx, dialers[i%len(dialers)], r, g.swarmOf[i])
			}
		})
	}
	workers.Wait()
}

func (g *generator) dial(ctx context.Context, d *websocket.Dialer, r *rand.Rand, swarm int32) {
	ws, resp, err := d.DialContext(ctx, g.cfg.URL, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() == nil {
			g.connectErrs.Add(1)
			g.noteErr("dial: " + err.Error())
		}
		return
	}
	ws.SetReadLimit(readLimit)
	c := &conn{g: g, ws: ws, peerID: wtproto.AppendString(nil, randomID(r)), swarm: swarm}
	g.mu.Lock()
	c.idx = int32(len(g.conns))
	g.conns = append(g.conns, c)
	g.mu.Unlock()
	g.readers.Add(1)
	go c.read()
	c.announce(evStarted, false)
}

// closeAll sends every connection a close frame (all within closeTimeout),
// closes it and waits for its reader to end.
func (g *generator) closeAll(conns []*conn) {
	g.closing.Store(true)
	deadline := time.Now().Add(closeTimeout)
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	for _, c := range conns {
		if !c.isDead() {
			_ = c.ws.WriteControl(websocket.CloseMessage, msg, deadline)
		}
		_ = c.ws.Close()
	}
	g.readers.Wait()
}

// openLoop sends announces at the open loop's rate, going round the
// connections in a random order, so each connection announces at a steady
// interval from a random phase.
func (g *generator) openLoop(stop <-chan struct{}, conns []*conn) {
	rate := g.cfg.announceRate(len(conns))
	order := rand.Perm(len(conns))
	next := 0
	start := time.Now()
	var issued int64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		due := int64(rate*time.Since(start).Seconds()) - issued
		if most := int64(rate) + 1; due > most {
			// More than a second behind: drop the backlog, not burst it.
			g.skipped.Add(due - most)
			issued += due - most
			due = most
		}
		for ; due > 0; due-- {
			c := conns[order[next]]
			next = (next + 1) % len(order)
			issued++
			if c.announce(evUpdate, false) == sendBusy {
				g.skipped.Add(1)
			}
		}
	}
}

// dispatch hands the closed loop's free tokens to random free connections.
func (g *generator) dispatch() {
	for range 4 { // a picked connection may have just failed: retry a few times
		picks := g.loop.take()
		if len(picks) == 0 {
			return
		}
		refused := 0
		for _, i := range picks {
			if g.loop.conns[i].announce(evUpdate, true) != sendOK {
				refused++
			}
		}
		if refused == 0 {
			return
		}
		g.loop.giveBack(refused)
	}
}

// switcher moves a share of the connections, once each at a random moment
// between 10 % and 60 % of the measured phase, to the sibling swarm (2k and
// 2k+1 are two renditions of one stream): "stopped" in the old swarm, then
// "started" in the new one. A connection switches only once no announce of
// its own awaits a response and its last offers are older than a quiet
// period, twice the slowest answer yet, so that no answer is still on its
// way to it in the old swarm (the nearcast server would refuse to relay it).
func (g *generator) switcher(stop <-chan struct{}, conns []*conn, start time.Time) {
	n := int(math.Round(g.cfg.SwitchShare * float64(len(conns))))
	if n == 0 {
		return
	}
	type plan struct {
		at time.Duration
		c  *conn
	}
	d := g.cfg.Duration
	plans := make([]plan, n)
	for i, k := range rand.Perm(len(conns))[:n] {
		plans[i] = plan{at: d/10 + time.Duration(rand.Int64N(int64(d/2)+1)), c: conns[k]}
	}
	slices.SortFunc(plans, func(a, b plan) int { return int(a.at - b.at) })
	minQuiet := min(max(d/10, 100*time.Millisecond), 2*time.Second)
	var waiting []*conn
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for len(plans) > 0 || len(waiting) > 0 {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		elapsed := time.Since(start)
		for len(plans) > 0 && plans[0].at <= elapsed {
			if plans[0].c.markSwitch() {
				waiting = append(waiting, plans[0].c)
			}
			plans = plans[1:]
		}
		quiet := min(max(minQuiet, 2*time.Duration(g.slowest.Load())), d/4)
		keep := waiting[:0]
		for _, c := range waiting {
			if c.trySwitch(int64(quiet)) == switchWait {
				keep = append(keep, c)
			}
		}
		waiting = keep
	}
}

// sibling returns the other rendition of swarm s's stream.
func (g *generator) sibling(s int32) int32 {
	if t := s ^ 1; int(t) < g.cfg.Swarms {
		return t
	}
	return s - 1
}

// progress writes a line per second and gives up on announces whose
// response is overdue.
func (g *generator) progress(stop <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastSent [nSent]int64
	var lastRecv [nRecv]int64
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		conns := g.connList()
		g.sweep(conns)
		if g.loop != nil {
			g.dispatch()
		}
		if g.cfg.Progress == nil {
			continue
		}
		var sent [nSent]int64
		var recv [nRecv]int64
		var recvAll int64
		for k := range sent {
			sent[k] = g.stats.totalSent(k)
		}
		for k := range recv {
			recv[k] = g.stats.totalRecv(k)
			recvAll += recv[k] - lastRecv[k]
		}
		alive := len(conns) - int(g.discs.Load())
		var b []byte
		b = fmt.Appendf(b, "loadtest %s", g.cfg.mode)
		if at := g.measuredAt.Load(); at >= 0 {
			b = fmt.Appendf(b, " %3.0fs:", time.Duration(g.now()-at).Seconds())
		} else {
			b = append(b, " ramp:"...)
		}
		b = fmt.Appendf(b, " conns %d/%d", alive, g.cfg.Conns)
		b = fmt.Appendf(b, " | sent/s announce %d answer %d", sent[sentAnnounce]-lastSent[sentAnnounce], sent[sentAnswer]-lastSent[sentAnswer])
		b = fmt.Appendf(b, " | recv/s %d (offer %d answer %d)", recvAll, recv[recvOffer]-lastRecv[recvOffer], recv[recvAnswer]-lastRecv[recvAnswer])
		a := g.announceRTT.summary()
		b = fmt.Appendf(b, " | announce p50 %.2fms p99 %.2fms", a.P50Ms, a.P99Ms)
		b = fmt.Appendf(b, " | failures %d disconnects %d connect errors %d timeouts %d\n",
			recv[recvFailure], g.discs.Load(), g.connectErrs.Load(), g.timeouts.Load())
		_, _ = g.cfg.Progress.Write(b)
		lastSent, lastRecv = sent, recv
	}
}

// sweep forgets announces that have waited longer than responseTimeout.
func (g *generator) sweep(conns []*conn) {
	cutoff := g.now() - int64(responseTimeout)
	for _, c := range conns {
		c.expire(cutoff)
	}
}

func (g *generator) report(connected int, rampSeconds, seconds float64) *Report {
	r := &Report{
		Mode:           g.cfg.mode.String(),
		Conns:          g.cfg.Conns,
		Connected:      connected,
		ConnectErrors:  int(g.connectErrs.Load()),
		Disconnects:    int(g.discs.Load()),
		Failures:       g.stats.totalRecv(recvFailure),
		ProtocolErrors: g.protoErrs.Load(),
		RampSeconds:    rampSeconds,
		Seconds:        seconds,
		Sent:           map[string]int64{},
		Received:       map[string]int64{},
		PerSec:         map[string]float64{},
		SentPerSec:     map[string]float64{},
		AnnounceRTT:    g.announceRTT.summary(),
		AnswerRTT:      g.answerRTT.summary(),
		Switches:       int(g.switches.Load()),
		IgnoredOffers:  g.ignored.Load(),
		Skipped:        g.skipped.Load(),
		Timeouts:       g.timeouts.Load(),
	}
	if g.cfg.mode == modeOpen && connected > 0 {
		r.TargetRate = g.cfg.announceRate(connected)
	}
	perSec := func(n int64) float64 {
		if seconds <= 0 {
			return 0
		}
		return float64(n) / seconds
	}
	for k, name := range sentNames {
		r.Sent[name] = g.stats.totalSent(k)
		r.SentPerSec[name] = perSec(g.stats.sent[phaseMeasured][k].Load())
	}
	var all int64
	for k, name := range recvNames {
		n := g.stats.recv[phaseMeasured][k].Load()
		all += n
		r.Received[name] = g.stats.totalRecv(k)
		r.PerSec[name] = perSec(n)
	}
	r.ResponsesPerSec = perSec(all)
	g.mu.Lock()
	r.Errors = slices.Clone(g.errs)
	g.mu.Unlock()
	return r
}

// appendAnnounce appends an announce of connection c in swarm s with n
// offers, in the bittorrent-tracker client's field order:
//
//	{"numwant":5,"uploaded":0,"downloaded":0,"event":"started","action":"announce",
//	 "info_hash":"…","peer_id":"…","offers":[{"offer":{"type":"offer","sdp":"…"},"offer_id":"…"},…]}
func (g *generator) appendAnnounce(dst []byte, c *conn, s int32, ev event, n int, now int64) []byte {
	dst = append(dst, `{"numwant":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, `,"uploaded":0,"downloaded":0`...)
	switch ev {
	case evStarted:
		dst = append(dst, `,"event":"started"`...)
	case evStopped:
		dst = append(dst, `,"event":"stopped"`...)
	}
	dst = append(dst, `,"action":"announce","info_hash":`...)
	dst = append(dst, g.swarmIDs[s]...)
	dst = append(dst, `,"peer_id":`...)
	dst = append(dst, c.peerID...)
	if n > 0 {
		dst = append(dst, `,"offers":[`...)
		for i := range n {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"offer":`...)
			dst = append(dst, g.offers[rand.IntN(len(g.offers))]...)
			dst = append(dst, `,"offer_id":`...)
			dst = appendOfferID(dst, now)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendAnswer appends connection c's answer to offer m:
//
//	{"action":"announce","info_hash":"…","peer_id":"…","to_peer_id":"…","offer_id":"…",
//	 "answer":{"type":"answer","sdp":"…"}}
func (g *generator) appendAnswer(dst []byte, c *conn, m *message) []byte {
	dst = append(dst, `{"action":"announce","info_hash":`...)
	dst = append(dst, m.infoHash...)
	dst = append(dst, `,"peer_id":`...)
	dst = append(dst, c.peerID...)
	dst = append(dst, `,"to_peer_id":`...)
	dst = append(dst, m.peerID...)
	dst = append(dst, `,"offer_id":`...)
	dst = append(dst, m.offerID...)
	dst = append(dst, `,"answer":`...)
	dst = append(dst, g.answers[rand.IntN(len(g.answers))]...)
	return append(dst, '}')
}

// An offer_id is 20 characters: the offer's send time in nanoseconds since
// the run began as 12 hexadecimal digits (enough for 78 hours), then 8
// random characters. An answer thus tells its own round-trip time.
const (
	offerIDLength = 20
	offerIDTime   = 12
	idAlphabet    = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	hexDigits     = "0123456789abcdef"
)

func appendOfferID(dst []byte, now int64) []byte {
	dst = append(dst, '"')
	for shift := 4 * (offerIDTime - 1); shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(now>>shift)&0xF])
	}
	r := rand.Uint64()
	for range offerIDLength - offerIDTime {
		dst = append(dst, idAlphabet[r%uint64(len(idAlphabet))])
		r /= uint64(len(idAlphabet))
	}
	return append(dst, '"')
}

// offerSentAt decodes the send time from a JSON-encoded offer_id made by
// appendOfferID.
func offerSentAt(tok []byte) (int64, bool) {
	if len(tok) != offerIDLength+2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
		return 0, false
	}
	var t int64
	for _, c := range tok[1 : 1+offerIDTime] {
		switch {
		case c >= '0' && c <= '9':
			t = t<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			t = t<<4 | int64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return t, true
}

// pending is an announce awaiting its response.
type pending struct {
	sent    int64 // g.now() when it was queued
	stopped bool  // a "stopped" announce: not timed
	token   bool  // holds one of the closed loop's tokens
}

// The switch states of a connection.
const (
	switchNone    = iota
	switchPending // chosen to switch: sends nothing new until it does
	switchDone
)

// The outcomes of conn.announce.
const (
	sendOK      = iota
	sendBusy    // too many announces awaiting responses
	sendRefused // dead, or waiting to switch
)

// The outcomes of conn.trySwitch.
const (
	switchWait = iota
	switchOver // switched, or gone
)

// conn is one simulated viewer: a WebSocket connection with its own
// peer_id, in one swarm at a time.
//
// Frames are written by whichever goroutine queues one while no write is in
// progress; the others only queue (conn.send). The mutex is never held
// across I/O.
type conn struct {
	g      *generator
	ws     *websocket.Conn
	idx    int32
	peerID []byte // JSON-encoded

	mu         sync.Mutex
	swarm      int32
	out, spare []*[]byte // frames queued for writing
	writing    bool
	dead       bool
	err        error // why the connection failed, if it did
	fifo       [fifoCap]pending
	fHead      int
	fLen       int
	switching  int
	lastOffers int64 // g.now() of the last announce with offers
}

func (c *conn) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// pushLocked records an announce awaiting its response.
func (c *conn) pushLocked(p pending) {
	c.fifo[(c.fHead+c.fLen)%fifoCap] = p
	c.fLen++
	c.g.outstanding.Add(1)
}

// popLocked removes the oldest announce awaiting its response.
func (c *conn) popLocked() pending {
	p := c.fifo[c.fHead]
	c.fHead = (c.fHead + 1) % fifoCap
	c.fLen--
	c.g.outstanding.Add(-1)
	return p
}

// freeLocked reports whether the closed loop may pick c.
func (c *conn) freeLocked() bool {
	return !c.dead && c.fLen == 0 && c.switching != switchPending
}

// queueLocked queues frame f and reports whether the caller must write the
// queue (flush) once it has released the mutex. It reports ok false, and
// takes f back, when the connection is dead or its queue is full; the caller
// must then fail the connection if full is true.
func (c *conn) queueLocked(f *[]byte) (write, ok bool) {
	if c.dead || len(c.out) >= maxQueued {
		c.g.putFrame(f)
		return false, false
	}
	c.out = append(c.out, f)
	if c.writing {
		return false, true
	}
	c.writing = true
	return true, true
}

// flush writes the queued frames until the queue is empty.
func (c *conn) flush() {
	for {
		c.mu.Lock()
		if c.dead || len(c.out) == 0 {
			for i, f := range c.out {
				c.g.putFrame(f)
				c.out[i] = nil
			}
			c.out = c.out[:0]
			c.writing = false
			c.mu.Unlock()
			return
		}
		batch := c.out
		c.out, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		var err error
		for i, f := range batch {
			if err == nil {
				_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
				err = c.ws.WriteMessage(websocket.TextMessage, *f)
			}
			c.g.putFrame(f)
			batch[i] = nil
		}
		c.mu.Lock()
		c.spare = batch[:0]
		c.mu.Unlock()
		if err != nil {
			c.fail(fmt.Errorf("write: %w", err))
		}
	}
}

var errQueueFull = errors.New("send queue full: writes are stuck")

// fail marks the connection dead and closes it; its reader then ends and
// counts the disconnect.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.dead = true
	c.mu.Unlock()
	_ = c.ws.Close()
}

// announce sends an announce in the connection's swarm. token marks a
// closed-loop announce.
func (c *conn) announce(ev event, token bool) int {
	g := c.g
	f := g.getFrame()
	now := g.now()
	c.mu.Lock()
	if c.dead || c.switching == switchPending {
		c.mu.Unlock()
		g.putFrame(f)
		return sendRefused
	}
	if c.fLen == fifoCap {
		c.mu.Unlock()
		g.putFrame(f)
		return sendBusy
	}
	n := g.cfg.Offers
	if ev == evStopped || g.cfg.mode == modeIdle {
		n = 0
	}
	*f = g.appendAnnounce(*f, c, c.swarm, ev, n, now)
	write, ok := c.queueLocked(f)
	if ok {
		c.pushLocked(pending{sent: now, stopped: ev == evStopped, token: token})
		if n > 0 {
			c.lastOffers = now
		}
	}
	c.mu.Unlock()
	if !ok {
		c.fail(errQueueFull)
		return sendRefused
	}
	kind := sentAnnounce
	if ev == evStopped {
		kind = sentStopped
	}
	g.stats.sent[g.phase.Load()][kind].Add(1)
	if write {
		c.flush()
	}
	return sendOK
}

// markSwitch chooses c to switch: it announces nothing new until it has.
func (c *conn) markSwitch() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false
	}
	c.switching = switchPending
	if l := c.g.loop; l != nil {
		l.setFree(c.idx, false)
	}
	return true
}

// trySwitch switches c to the sibling swarm once nothing of the old swarm
// is in flight: no announce awaits a response and the last offers are at
// least quiet old.
func (c *conn) trySwitch(quiet int64) int {
	g := c.g
	now := g.now()
	stopped, started := g.getFrame(), g.getFrame()
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		g.putFrame(stopped)
		g.putFrame(started)
		return switchOver
	}
	if c.fLen > 0 || now-c.lastOffers < quiet || len(c.out)+2 > maxQueued {
		c.mu.Unlock()
		g.putFrame(stopped)
		g.putFrame(started)
		return switchWait
	}
	old := c.swarm
	c.swarm = g.sibling(old)
	c.switching = switchDone
	*stopped = g.appendAnnounce(*stopped, c, old, evStopped, 0, now)
	*started = g.appendAnnounce(*started, c, c.swarm, evStarted, g.cfg.Offers, now)
	write, _ := c.queueLocked(stopped)
	c.queueLocked(started)
	c.pushLocked(pending{sent: now, stopped: true})
	c.pushLocked(pending{sent: now})
	if g.cfg.Offers > 0 {
		c.lastOffers = now
	}
	c.mu.Unlock()
	ph := g.phase.Load()
	g.stats.sent[ph][sentStopped].Add(1)
	g.stats.sent[ph][sentAnnounce].Add(1)
	g.switches.Add(1)
	if write {
		c.flush()
	}
	return switchOver
}

// expire forgets the announces that were sent before cutoff.
func (c *conn) expire(cutoff int64) {
	c.mu.Lock()
	tokens, n := 0, 0
	for c.fLen > 0 && c.fifo[c.fHead].sent < cutoff {
		if c.popLocked().token {
			tokens++
		}
		n++
	}
	if n > 0 && c.g.loop != nil {
		c.g.loop.release(c.idx, tokens, c.freeLocked())
	}
	c.mu.Unlock()
	c.g.timeouts.Add(int64(n))
}

// read is the connection's reader goroutine.
func (c *conn) read() {
	g := c.g
	defer g.readers.Done()
	var err error
	for {
		var r io.Reader
		if _, r, err = c.ws.NextReader(); err != nil {
			break
		}
		bp := g.readPool.Get().(*[]byte)
		*bp, err = readAll(r, (*bp)[:0])
		if err == nil {
			c.handle(*bp)
		}
		g.readPool.Put(bp)
		if err != nil {
			break
		}
	}
	c.exit(err)
}

func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// exit cleans up after the reader has ended: the connection is dead, its
// awaited responses will not come, and its closed-loop tokens go back.
func (c *conn) exit(readErr error) {
	g := c.g
	c.mu.Lock()
	c.dead = true
	err := c.err
	if err == nil {
		err = readErr
	}
	tokens := 0
	for c.fLen > 0 {
		if c.popLocked().token {
			tokens++
		}
	}
	if g.loop != nil {
		g.loop.release(c.idx, tokens, false)
	}
	c.mu.Unlock()
	if !g.closing.Load() {
		g.discs.Add(1)
		g.noteErr(fmt.Sprintf("disconnect: %v", err))
	}
	if g.loop != nil && tokens > 0 {
		g.dispatch()
	}
}

// handle processes one received frame on the reader goroutine.
func (c *conn) handle(frame []byte) {
	g := c.g
	now := g.now()
	g.lastRecv.Store(now)
	ph := g.phase.Load()
	m, ok := scan(frame)
	if !ok {
		g.protoErrs.Add(1)
		return
	}
	g.stats.recv[ph][recvIndex(m.kind)].Add(1)
	switch m.kind {
	case kindResponse:
		c.response(now, ph)
	case kindOffer:
		c.answer(&m, ph)
	case kindAnswer:
		sent, ok := offerSentAt(m.offerID)
		if !ok || sent > now {
			g.protoErrs.Add(1)
			return
		}
		if g.timed(ph, sent) {
			g.answerRTT.record(now - sent)
		}
		for d := now - sent; ; {
			m := g.slowest.Load()
			if d <= m || g.slowest.CompareAndSwap(m, d) {
				break
			}
		}
	case kindFailure:
		g.noteErr("failure: " + string(m.reason))
	}
}

// response matches a response to the oldest announce awaiting one.
func (c *conn) response(now int64, ph int32) {
	g := c.g
	c.mu.Lock()
	if c.fLen == 0 {
		c.mu.Unlock()
		g.protoErrs.Add(1) // nothing awaited it (or it came after the timeout)
		return
	}
	p := c.popLocked()
	free := false
	if g.loop != nil {
		free = c.freeLocked()
		tokens := 0
		if p.token {
			tokens = 1
		}
		g.loop.release(c.idx, tokens, free)
	}
	c.mu.Unlock()
	if !p.stopped && g.timed(ph, p.sent) {
		g.announceRTT.record(now - p.sent)
	}
	if g.loop != nil && (p.token || free) {
		g.dispatch()
	}
}

// answer answers an offer relayed to c, unless it came for a swarm c has
// left or the run is idle.
func (c *conn) answer(m *message, ph int32) {
	g := c.g
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	if g.cfg.mode == modeIdle || !bytes.Equal(m.infoHash, g.swarmIDs[c.swarm]) {
		c.mu.Unlock()
		g.ignored.Add(1)
		return
	}
	f := g.getFrame()
	*f = g.appendAnswer(*f, c, m)
	write, ok := c.queueLocked(f)
	c.mu.Unlock()
	if !ok {
		c.fail(errQueueFull)
		return
	}
	g.stats.sent[ph][sentAnswer].Add(1)
	if write {
		c.flush()
	}
}

// closedLoop holds the closed loop's tokens and the connections free to
// take one: alive, no announce awaiting a response, not about to switch.
// Lock order: conn.mu before closedLoop.mu.
type closedLoop struct {
	mu      sync.Mutex
	free    []int32 // indexes into conns
	pos     []int32 // position of each connection in free, or -1
	tokens  int     // tokens waiting for a free connection
	running bool
	conns   []*conn // set by start, read-only after
}

func newClosedLoop(n int) *closedLoop {
	l := &closedLoop{pos: make([]int32, n), free: make([]int32, 0, n)}
	for i := range l.pos {
		l.pos[i] = -1
	}
	return l
}

// setFree adds connection i to the free set or removes it.
func (l *closedLoop) setFree(i int32, free bool) {
	l.mu.Lock()
	l.setFreeLocked(i, free)
	l.mu.Unlock()
}

func (l *closedLoop) setFreeLocked(i int32, free bool) {
	switch p := l.pos[i]; {
	case free && p < 0:
		l.pos[i] = int32(len(l.free))
		l.free = append(l.free, i)
	case !free && p >= 0:
		last := l.free[len(l.free)-1]
		l.free[p] = last
		l.pos[last] = p
		l.free = l.free[:len(l.free)-1]
		l.pos[i] = -1
	}
}

// release returns tokens and updates connection i's membership.
func (l *closedLoop) release(i int32, tokens int, free bool) {
	l.mu.Lock()
	l.tokens += tokens
	l.setFreeLocked(i, free)
	l.mu.Unlock()
}

// start begins the closed loop with n tokens over conns.
func (l *closedLoop) start(n int, conns []*conn) {
	l.mu.Lock()
	l.conns = conns
	l.tokens = n
	l.running = true
	l.mu.Unlock()
}

func (l *closedLoop) stop() {
	l.mu.Lock()
	l.running = false
	l.mu.Unlock()
}

// take pairs waiting tokens with random free connections, which leave the
// free set.
func (l *closedLoop) take() []int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.running {
		return nil
	}
	var picks []int32
	for l.tokens > 0 && len(l.free) > 0 {
		i := l.free[rand.IntN(len(l.free))]
		l.setFreeLocked(i, false)
		l.tokens--
		picks = append(picks, i)
	}
	return picks
}

// giveBack returns tokens that found no taker.
func (l *closedLoop) giveBack(n int) {
	l.mu.Lock()
	l.tokens += n
	l.mu.Unlock()
}
