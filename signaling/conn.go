package signaling

import (
	"errors"
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

// conn is one client connection. Its reader goroutine (run) owns swarms,
// claims and bucket; its writer goroutine owns the socket's write side.
// Other goroutines reach it only through Deliver and close.
type conn struct {
	s   *Server
	id  ConnID
	ws  *websocket.Conn
	ip  netip.Addr
	loc Locality

	send chan []byte
	quit chan struct{}

	closeOnce   sync.Once
	closeCode   int
	closeReason string

	lastMessage atomic.Int64 // unix nanoseconds of the last application message

	// Owned by the reader goroutine.
	swarms map[wtproto.InfoHash]wtproto.PeerID
	claims *TokenClaims
	bucket tokenBucket

	// pending are the offers delivered to this connection whose answers are
	// still accepted. Deliverers on other goroutines add to it.
	pendingMu sync.Mutex
	pending   map[PendingOffer]time.Time
	order     []pendingSlot
}

type pendingSlot struct {
	key     PendingOffer
	expires time.Time
}

var _ Sink = (*conn)(nil)

func newConn(s *Server, ws *websocket.Conn, ip netip.Addr) *conn {
	c := &conn{
		s:       s,
		id:      ConnID{Node: s.cfg.node, Seq: s.seq.Add(1)},
		ws:      ws,
		ip:      ip,
		loc:     locate(ip, s.cfg.locator),
		send:    make(chan []byte, s.cfg.sendQueue),
		quit:    make(chan struct{}),
		swarms:  make(map[wtproto.InfoHash]wtproto.PeerID),
		pending: make(map[PendingOffer]time.Time),
		bucket:  newTokenBucket(s.cfg.rate, s.cfg.burst, s.cfg.now()),
	}
	c.lastMessage.Store(time.Now().UnixNano())
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

// run serves the connection until it ends.
func (c *conn) run() {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.readLoop()
	c.close(websocket.CloseNormalClosure, "", "")
	<-writerDone
}

// drainAndClose discards what the client still sends, for at most
// closeGrace, then closes the socket. Closing a TCP socket with unread data
// resets it, and the reset can destroy the close frame the client has not
// read yet (such as 1009 after an oversize message).
func (c *conn) drainAndClose() {
	nc := c.ws.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
	_, _ = io.Copy(io.Discard, nc)
	_ = c.ws.Close()
}

func (c *conn) readLoop() {
	cfg := &c.s.cfg
	c.ws.SetReadLimit(cfg.readLimit)
	_ = c.ws.SetReadDeadline(time.Now().Add(cfg.pongWait))
	c.ws.SetPongHandler(func(string) error {
		return c.extendReadDeadline()
	})
	for {
		_, frame, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				// gorilla has already sent close 1009.
				c.s.metrics.reject(reasonReadLimit)
				c.s.log.Info("message too big", "conn", c.id.Seq, "ip", c.ip)
				c.close(websocket.CloseMessageTooBig, "message too big", "")
			}
			return
		}
		if c.closing() {
			return
		}
		c.lastMessage.Store(time.Now().UnixNano())
		if err := c.extendReadDeadline(); err != nil {
			return
		}
		if !c.bucket.allow(cfg.now()) {
			c.s.metrics.reject(reasonRateLimit)
			c.fail(wtproto.ActionAnnounce, "", "rate limit exceeded")
			c.close(websocket.ClosePolicyViolation, "rate limit exceeded", "")
			return
		}
		c.handle(frame)
	}
}

func (c *conn) extendReadDeadline() error {
	if c.closing() {
		return nil
	}
	return c.ws.SetReadDeadline(time.Now().Add(c.s.cfg.pongWait))
}

func (c *conn) writeLoop() {
	cfg := &c.s.cfg
	ping := time.NewTicker(cfg.pingInterval)
	defer ping.Stop()
	for {
		select {
		case frame := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(cfg.writeTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
				c.close(websocket.CloseAbnormalClosure, "", "")
				_ = c.ws.NetConn().Close()
				return
			}
		case <-ping.C:
			if idle := time.Since(time.Unix(0, c.lastMessage.Load())); idle > cfg.idleTimeout {
				c.s.metrics.reject(reasonIdle)
				c.close(websocket.CloseNormalClosure, "idle timeout", "")
				continue
			}
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.writeTimeout)); err != nil {
				c.close(websocket.CloseAbnormalClosure, "", "")
				_ = c.ws.NetConn().Close()
				return
			}
		case <-c.quit:
			if c.closeCode != websocket.CloseAbnormalClosure && c.closeCode != websocket.CloseTryAgainLater {
				c.flush()
				msg := websocket.FormatCloseMessage(c.closeCode, c.closeReason)
				_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(cfg.writeTimeout))
			}
			// Let the reader see the client's close reply, or time out.
			_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(closeGrace))
			return
		}
	}
}

// flush writes what is queued, so that a failure frame precedes the close
// frame that follows it.
func (c *conn) flush() {
	for {
		select {
		case frame := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.writeTimeout))
			if c.ws.WriteMessage(websocket.TextMessage, frame) != nil {
				return
			}
		default:
			return
		}
	}
}

// close starts closing the connection with a close frame of the given code;
// reason, when set, is counted as a rejection. Safe from any goroutine.
func (c *conn) close(code int, text, reason string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeReason = code, text
		if reason != "" {
			c.s.metrics.reject(reason)
		}
		close(c.quit)
	})
}

func (c *conn) closing() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

// Deliver implements Sink. It never blocks: a full queue disconnects c.
func (c *conn) Deliver(env Envelope) error {
	if env.Offer != nil {
		c.addPending(*env.Offer)
	}
	return c.enqueue(env.Frame)
}

func (c *conn) enqueue(frame []byte) error {
	select {
	case <-c.quit:
		return ErrUnknownConn
	default:
	}
	select {
	case c.send <- frame:
		return nil
	default:
		c.s.log.Info("slow reader disconnected", "conn", c.id.Seq, "ip", c.ip)
		c.close(websocket.CloseTryAgainLater, "send queue full", reasonSlowReader)
		return ErrQueueFull
	}
}

// addPending remembers an offer delivered to c. The table is bounded: the
// oldest entries go first, expired ones whenever they are met.
func (c *conn) addPending(p PendingOffer) {
	now := c.s.cfg.now()
	expires := now.Add(c.s.cfg.offerTTL)
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	for len(c.order) > 0 && (len(c.pending) >= c.s.cfg.maxPending || !c.order[0].expires.After(now)) {
		old := c.order[0]
		c.order = c.order[1:]
		if c.pending[old.key] == old.expires {
			delete(c.pending, old.key)
		}
	}
	c.pending[p] = expires
	c.order = append(c.order, pendingSlot{key: p, expires: expires})
}

// takePending consumes the offer p if it is pending and unexpired.
func (c *conn) takePending(p PendingOffer) bool {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	expires, ok := c.pending[p]
	if !ok {
		return false
	}
	delete(c.pending, p)
	return c.s.cfg.now().Before(expires)
}
