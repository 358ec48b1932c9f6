package signaling

import (
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/signaling/wtproto"
)

// closeGrace is how long the server waits for the client's reply to a close
// frame before it drops the TCP connection.
const closeGrace = time.Second

// conn is one client connection. It owns no goroutine while it is idle:
//
//   - Input: when the socket becomes readable (the poller reports it, see
//     poll_linux.go), one goroutine reads the messages that have arrived
//     until the socket has nothing more, and returns. The reading flag makes
//     that goroutine the only reader and owns swarms, claims and bucket.
//   - Output: frames wait in queue; a writer runs only while the queue is not
//     empty. Readers and writers run on the server's reusable workers.
//   - Keepalive and timeouts: the server's sweeper pings and checks every
//     connection (sweep.go).
//
// Closing: close queues the close frame behind what is already queued; once
// the writer has sent it (closeDone) and no reader holds the connection,
// finish tears it down, exactly once.
type conn struct {
	s     *Server
	id    ConnID
	ws    *websocket.Conn
	gate  *frameGate
	ip    netip.Addr
	loc   Locality
	token uint32 // low bits of id.Seq, to match poller events

	// reading is held by the goroutine that reads the connection, and by
	// finish for good. wake records a poller report not yet served.
	reading   atomic.Bool
	wake      atomic.Bool
	closeDone atomic.Bool

	fd int // the socket's descriptor while registered with the poller

	// serveFn and writeFn are serveHeld and writeLoop, bound once.
	serveFn, writeFn func()

	lastSeen    atomic.Int64 // unix nanoseconds of the last frame of any kind
	lastMessage atomic.Int64 // unix nanoseconds of the last application message
	nextPing    int64        // owned by the sweeper

	wdeadline time.Time // the write deadline, owned by the writer

	// Output, guarded by wmu. A nil frame in queue is a ping.
	wmu       sync.Mutex
	queue     [][]byte
	writing   bool
	closing   bool
	closeCode int
	closeText string

	// Owned by the reader.
	swarms map[wtproto.InfoHash]wtproto.PeerID
	claims *TokenClaims
	bucket tokenBucket

	// pending are the offers delivered to this connection whose answers are
	// still accepted. Deliverers on other goroutines add to it.
	// A connection holds few at a time (one per offer it was sent in the
	// last offer TTL): a slice, oldest first, searched from the newest.
	pendingMu sync.Mutex
	pending   []pendingSlot
}

type pendingSlot struct {
	key     PendingOffer
	expires time.Time
}

var _ Sink = (*conn)(nil)

func newConn(s *Server, ws *websocket.Conn, gate *frameGate, ip netip.Addr) *conn {
	seq := s.seq.Add(1)
	c := &conn{
		s:      s,
		id:     ConnID{Node: s.cfg.node, Seq: seq},
		ws:     ws,
		gate:   gate,
		ip:     ip,
		loc:    locate(ip, s.cfg.locator),
		token:  uint32(seq),
		bucket: newTokenBucket(s.cfg.rate, s.cfg.burst, s.cfg.now()),
		fd:     -1,
	}
	c.serveFn, c.writeFn = c.serveHeld, c.writeLoop
	c.reading.Store(true) // released by start
	gate.control = c.control
	now := time.Now()
	c.lastSeen.Store(now.UnixNano())
	c.lastMessage.Store(now.UnixNano())
	c.nextPing = now.Add(s.cfg.pingInterval).UnixNano()
	return c
}

// refuse sends a failure frame and closes with code (1008 for a policy
// refusal, 1001 while shutting down) without ever reading.
func (c *conn) refuse(code int, reason string) {
	deadline := time.Now().Add(c.s.cfg.writeTimeout)
	_ = c.ws.SetWriteDeadline(deadline)
	_ = c.ws.WriteMessage(websocket.TextMessage, wtproto.AppendFailure(nil, wtproto.ActionAnnounce, "", reason))
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), deadline)
	_ = c.ws.Close()
}

// start begins serving an admitted connection: through the poller, or with
// a reading goroutine of its own where the socket cannot be polled. The
// caller holds reading (newConn takes it), so that a close racing with
// admission cannot finish the connection before it is registered.
func (c *conn) start() {
	if c.s.poll.add(c) {
		c.gate.bound = c.s.cfg.pongWait
		// Input that arrived before registration was reported while we
		// held reading: read what is there now.
		c.serveHeld()
		return
	}
	if !c.leave() {
		go func() {
			if c.reading.CompareAndSwap(false, true) {
				c.readAvailable(true)
			}
		}()
	}
}

// wakeUp is the poller's report that c has input (or has hung up). The
// poller reports edges, not levels, so a report must never be lost: if a
// goroutine is reading c already, it sees wake when it lets go and reads
// again.
func (c *conn) wakeUp() {
	c.wake.Store(true)
	if c.reading.CompareAndSwap(false, true) {
		c.s.work.run(c.serveFn)
	}
}

// serveHeld reads what has arrived, and reads again for as long as reports
// come while it reads. The caller holds reading.
func (c *conn) serveHeld() {
	for {
		c.wake.Store(false)
		c.gate.drained = false // a report means new data
		if !c.readAvailable(false) || c.leave() {
			return
		}
		if !c.wake.Load() || !c.reading.CompareAndSwap(false, true) {
			return
		}
	}
}

// readAvailable reads and handles the messages that have arrived. Without
// block it returns true as soon as the socket has nothing more; with block
// it reads until the connection ends. When the connection is closing or
// fails it lets go of it (leave) and returns false. The caller holds
// reading.
func (c *conn) readAvailable(block bool) bool {
	cfg := &c.s.cfg
	buf := messageBuffers.Get().(*[]byte)
	defer putMessageBuffer(buf)
	for {
		if c.isClosing() {
			c.leave()
			return false
		}
		more, err := c.gate.ready(block)
		if err == nil && !more {
			c.gate.release()
			return true
		}
		var frame []byte
		if err == nil {
			frame, err = c.gate.message(buf, cfg.readLimit)
		}
		if err != nil {
			c.readFailed(err)
			c.leave()
			return false
		}
		now := time.Now().UnixNano()
		c.lastSeen.Store(now)
		c.lastMessage.Store(now)
		if cfg.rate > 0 && !c.bucket.allow(cfg.now()) {
			c.fail(wtproto.ActionAnnounce, "", "rate limit exceeded")
			c.close(websocket.ClosePolicyViolation, "rate limit exceeded", reasonRateLimit)
			continue
		}
		c.handle(frame)
	}
}

// messageBuffers hold incoming messages while they are handled; handle
// keeps nothing of a frame.
var messageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

func putMessageBuffer(b *[]byte) {
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		messageBuffers.Put(b)
	}
}

// readFailed closes the connection after a read ended it: the client's close
// frame is answered with its own code, a protocol error or an oversize
// message with 1002 or 1009, and anything else (the socket failed or timed
// out) with 1000.
func (c *conn) readFailed(err error) {
	re, ok := asReadError(err)
	switch {
	case !ok:
		c.close(websocket.CloseNormalClosure, "", "")
	case re.Client:
		code := re.Code
		if code == websocket.CloseNoStatusReceived {
			code = websocket.CloseNormalClosure
		}
		c.close(code, "", "")
	case re == errMessageTooBig:
		c.s.log.Info("message too big", "conn", c.id.Seq, "ip", c.ip)
		c.close(websocket.CloseMessageTooBig, "message too big", reasonReadLimit)
	default:
		c.s.log.Info("protocol error", "conn", c.id.Seq, "ip", c.ip, "err", re.Reason)
		c.close(re.Code, re.Reason, "")
	}
}

// leave lets go of reading. Whoever comes last, the reader leaving or the
// writer having sent the close frame, finishes a closing connection; leave
// reports whether it did.
func (c *conn) leave() bool {
	c.reading.Store(false)
	if c.closeDone.Load() && c.reading.CompareAndSwap(false, true) {
		c.finish()
		return true
	}
	return false
}

// finish tears the connection down: it stops polling, leaves every swarm
// at once, lets the client's close reply arrive, and closes the socket.
// Its caller holds reading, which is never released again.
func (c *conn) finish() {
	c.s.poll.remove(c)
	c.s.release(c)
	c.drainAndClose()
	c.gate.drop()
	c.s.wg.Done()
}

// drainAndClose discards what the client still sends, for at most
// closeGrace, then closes the socket. Closing a TCP socket with unread data
// resets it, and the reset can destroy the close frame the client has not
// read yet (such as 1009 after an oversize message).
func (c *conn) drainAndClose() {
	nc := c.ws.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
	_, _ = io.Copy(io.Discard, c.gate.Conn)
	_ = c.ws.Close()
}

// control handles a ping or pong frame the gate absorbed.
func (c *conn) control(opcode byte, payload []byte) {
	c.lastSeen.Store(time.Now().UnixNano())
	if opcode == websocket.PingMessage {
		_ = c.ws.WriteControl(websocket.PongMessage, payload, time.Now().Add(c.s.cfg.writeTimeout))
	}
}

// writeLoop writes the queue until it is empty, as one write to the socket
// where it can; on a closing connection it then sends the close frame and
// hands the connection to finish.
func (c *conn) writeLoop() {
	cfg := &c.s.cfg
	c.gate.beginBatch()
	for {
		// Writes share one deadline, renewed when half of it is used: a
		// timer update per frame cost 6 % of the server under load.
		if now := time.Now(); c.wdeadline.Sub(now) < cfg.writeTimeout/2 {
			c.wdeadline = now.Add(cfg.writeTimeout)
			_ = c.gate.SetWriteDeadline(c.wdeadline)
		}
		c.wmu.Lock()
		if len(c.queue) == 0 {
			c.wmu.Unlock()
			if c.gate.endBatch() != nil {
				c.writeFailed()
			}
			c.wmu.Lock()
			if len(c.queue) > 0 {
				c.wmu.Unlock()
				c.gate.beginBatch()
				continue
			}
			c.queue = nil
			if !c.closing {
				c.writing = false
				c.wmu.Unlock()
				return
			}
			code, text := c.closeCode, c.closeText
			c.wmu.Unlock()
			if code != websocket.CloseAbnormalClosure && code != websocket.CloseTryAgainLater {
				msg := websocket.FormatCloseMessage(code, text)
				_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(cfg.writeTimeout))
			}
			// A reader waiting for the rest of a frame gives up soon.
			_ = c.gate.SetReadDeadline(time.Now().Add(closeGrace))
			c.closeDone.Store(true)
			if c.reading.CompareAndSwap(false, true) {
				c.finish()
			}
			return
		}
		frame := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.wmu.Unlock()

		var err error
		if frame == nil {
			err = c.ws.WriteControl(websocket.PingMessage, nil, c.wdeadline)
		} else {
			err = c.gate.writeText(frame)
			freeFrame(frame)
		}
		if err != nil {
			c.writeFailed()
		}
	}
}

// writeFailed drops the queue of a connection that can no longer be
// written to, and closes it without a close frame.
func (c *conn) writeFailed() {
	c.wmu.Lock()
	c.queue = nil
	if !c.closing {
		c.closing, c.closeCode = true, websocket.CloseAbnormalClosure
	}
	c.wmu.Unlock()
}

// close starts closing the connection with a close frame of the given code
// (none for 1006 and 1013), sent after what is already queued; reason, when
// set, is counted as a rejection. Safe from any goroutine.
func (c *conn) close(code int, text, reason string) {
	c.wmu.Lock()
	if c.closing {
		c.wmu.Unlock()
		return
	}
	c.closing, c.closeCode, c.closeText = true, code, text
	if code == websocket.CloseTryAgainLater {
		c.queue = nil // the client does not read: drop what it was sent
	}
	start := !c.writing
	c.writing = true
	c.wmu.Unlock()
	if reason != "" {
		c.s.metrics.reject(reason)
	}
	if start {
		c.s.work.run(c.writeFn)
	}
}

func (c *conn) isClosing() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.closing
}

// Deliver implements Sink. It never blocks: a full queue disconnects c.
func (c *conn) Deliver(env Envelope) error {
	if env.Offer != nil {
		c.addPending(*env.Offer)
	}
	return c.enqueue(env.Frame)
}

// enqueue queues a frame (nil: a ping) and starts the writer if it is not
// running. It never blocks.
func (c *conn) enqueue(frame []byte) error {
	c.wmu.Lock()
	if c.closing {
		c.wmu.Unlock()
		return ErrUnknownConn
	}
	if len(c.queue) >= c.s.cfg.sendQueue {
		c.wmu.Unlock()
		c.s.log.Info("slow reader disconnected", "conn", c.id.Seq, "ip", c.ip)
		c.close(websocket.CloseTryAgainLater, "send queue full", reasonSlowReader)
		return ErrQueueFull
	}
	if !c.writing && frame != nil {
		// Nothing queued and no writer: write now if the socket takes the
		// frame without waiting, which saves handing it to a writer.
		c.writing = true
		c.wmu.Unlock()
		done := c.gate.writeNow(frame)
		freeFrame(frame)
		c.wmu.Lock()
		if done && len(c.queue) == 0 && !c.closing {
			c.writing = false
			c.wmu.Unlock()
			return nil
		}
		c.wmu.Unlock()
		c.s.work.run(c.writeFn) // it sends what writeNow left first
		return nil
	}
	c.queue = append(c.queue, frame)
	start := !c.writing
	c.writing = true
	c.wmu.Unlock()
	if start {
		c.s.work.run(c.writeFn)
	}
	return nil
}

// addPending remembers an offer delivered to c. The table is bounded: the
// oldest entries go first, expired ones whenever they are met.
func (c *conn) addPending(p PendingOffer) {
	now := c.s.cfg.now()
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	drop := 0
	for drop < len(c.pending) && (len(c.pending)-drop >= c.s.cfg.maxPending || !c.pending[drop].expires.After(now)) {
		drop++
	}
	if drop > 0 {
		n := copy(c.pending, c.pending[drop:])
		clear(c.pending[n:])
		c.pending = c.pending[:n]
	}
	if c.pending == nil {
		c.pending = make([]pendingSlot, 0, 4)
	}
	c.pending = append(c.pending, pendingSlot{key: p, expires: now.Add(c.s.cfg.offerTTL)})
}

// takePending consumes the offer p if it is pending and unexpired.
func (c *conn) takePending(p PendingOffer) bool {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	for i := len(c.pending) - 1; i >= 0; i-- {
		if c.pending[i].key != p {
			continue
		}
		expires := c.pending[i].expires
		c.pending = append(c.pending[:i], c.pending[i+1:]...)
		c.pending[:len(c.pending)+1][len(c.pending)] = pendingSlot{}
		if len(c.pending) == 0 && cap(c.pending) > 8 {
			c.pending = nil // let a burst's table go
		}
		return c.s.cfg.now().Before(expires)
	}
	return false
}
