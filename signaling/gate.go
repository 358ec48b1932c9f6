package signaling

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// gateBufferSize is the size of the read-ahead buffer a connection borrows
// while it has unread bytes. Idle connections hold none.
const gateBufferSize = 4096

// maxControlFrame is the largest control frame RFC 6455 allows: a 2-byte
// header, a 4-byte mask and 125 bytes of payload.
const maxControlFrame = 2 + 4 + 125

var gateBuffers = sync.Pool{New: func() any { b := make([]byte, gateBufferSize); return &b }}

// rawIO carries a raw system call's buffer and result.
type rawIO struct {
	p   []byte
	n   int
	err error
}

// errWouldBlock reports that a non-blocking read found no data.
var errWouldBlock = errors.New("signaling: read would block")

// frameGate is a connection's WebSocket framing (RFC 6455 section 5) after
// gorilla/websocket's handshake; gorilla's Conn writes control frames
// through it. It lets the server wait for a connection's next message
// without a goroutine per connection:
//
//   - it reads client frames itself (read.go), so once a message has been
//     read, everything not yet read is in the gate's own buffer, where
//     ready can see it;
//   - it answers and absorbs ping and pong frames itself, so a keepalive
//     wakes a connection for microseconds;
//   - its read-ahead buffer is borrowed from a pool only while it holds
//     bytes.
//
// On the writing side it frames the server's text messages, writes them at
// once when the socket takes them, and batches a writer run's frames (see
// writeSide).
//
// Reading is done by one goroutine at a time: the one holding the
// connection's reading flag.
type frameGate struct {
	net.Conn
	raw syscall.RawConn // nil when the socket cannot be read without blocking

	buf  *[]byte // borrowed from gateBuffers while bytes are buffered
	r, w int

	// bound, when set, limits every blocking read: a frame that has begun
	// must go on arriving. The deadline is set (armed) only before a
	// blocking read and cleared when the reader goes idle, so the common
	// path, whole frames, touches no timer.
	bound time.Duration
	armed bool

	// drained is set by a non-blocking read that returned less than it
	// asked for: the socket was empty then, and data arriving later is
	// reported by the poller again, so ready need not ask the socket.
	drained bool

	// left counts the bytes of the current frame, header included, not yet
	// handed to the reader; 0 means the next byte starts a frame.
	left int64

	// control receives each ping or pong frame the gate absorbs, with its
	// payload unmasked. The payload is only valid during the call.
	control func(opcode byte, payload []byte)

	// Arguments and results of the raw socket calls, and those calls bound
	// once (poll_linux.go). rio belongs to the reader, wio to whoever holds
	// wmu.
	rio, wio        rawIO
	readFn, writeFn func(fd uintptr) bool

	writeSide
}

func newFrameGate(nc net.Conn, control func(byte, []byte)) *frameGate {
	return &frameGate{Conn: nc, raw: pollable(nc), control: control}
}

func (g *frameGate) buffered() int { return g.w - g.r }

// readBlocking reads from the socket, waiting at most bound.
func (g *frameGate) readBlocking(p []byte) (int, error) {
	if g.bound > 0 && !g.armed {
		g.armed = true
		_ = g.Conn.SetReadDeadline(time.Now().Add(g.bound))
	}
	return g.Conn.Read(p)
}

// release is called when the reader goes idle: it clears the read deadline
// and returns the read-ahead buffer to the pool once it is empty.
func (g *frameGate) release() {
	if g.armed {
		g.armed = false
		_ = g.Conn.SetReadDeadline(time.Time{})
	}
	if g.buf != nil && g.r == g.w {
		gateBuffers.Put(g.buf)
		g.buf, g.r, g.w = nil, 0, 0
	}
}

// fill reads from the socket into the buffer until at least n bytes are
// buffered (n is at most a control frame). Without blocking it reads once
// and returns errWouldBlock if the socket had nothing; on a socket that
// cannot be read without blocking it always blocks.
func (g *frameGate) fill(n int, block bool) error {
	if g.buf == nil {
		g.buf = gateBuffers.Get().(*[]byte)
	}
	buf := *g.buf
	if g.r > 0 && (g.r == g.w || len(buf)-g.r < n) {
		g.w = copy(buf, buf[g.r:g.w])
		g.r = 0
	}
	for g.buffered() < n {
		var m int
		var err error
		if block || g.raw == nil {
			m, err = g.readBlocking(buf[g.w:])
		} else {
			if g.drained && g.buffered() == 0 {
				return errWouldBlock
			}
			m, err = g.readNow(buf[g.w:])
			g.drained = err == nil && m < len(buf)-g.w
		}
		g.w += m
		if g.buffered() >= n {
			return nil
		}
		if err != nil {
			return err
		}
		if !block && g.raw != nil {
			return nil
		}
	}
	return nil
}

// header parses the frame header at the start of the buffer. It returns
// the opcode, the header and payload lengths, and whether the header is
// complete in the buffer.
func (g *frameGate) header() (opcode byte, fin bool, hdr int, payload int64, complete bool) {
	b := (*g.buf)[g.r:g.w]
	if len(b) < 2 {
		return 0, false, 2, 0, false
	}
	opcode, fin = b[0]&0x0f, b[0]&0x80 != 0
	hdr = 2
	if b[1]&0x80 != 0 {
		hdr += 4
	}
	switch n := b[1] & 0x7f; n {
	case 126:
		hdr += 2
		if len(b) < 4 {
			return opcode, fin, hdr, 0, false
		}
		payload = int64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		hdr += 8
		if len(b) < 10 {
			return opcode, fin, hdr, 0, false
		}
		payload = int64(binary.BigEndian.Uint64(b[2:10]) & (1<<63 - 1))
	default:
		payload = int64(n)
	}
	return opcode, fin, hdr, payload, len(b) >= hdr
}

// frame prepares the next frame: it absorbs ping and pong frames and sets
// left for any other. Without blocking it returns errWouldBlock when no
// frame has started arriving.
func (g *frameGate) frame(block bool) error {
	for {
		if g.buffered() == 0 {
			if err := g.fill(1, block); err != nil {
				return err
			}
		}
		opcode, fin, hdr, payload, complete := g.header()
		for !complete {
			// The frame has begun: its header follows promptly from any
			// honest client, so waiting here is bounded by the deadline.
			if err := g.fill(hdr, true); err != nil {
				return err
			}
			opcode, fin, hdr, payload, complete = g.header()
		}
		masked := (*g.buf)[g.r+1]&0x80 != 0
		if (opcode == 0x9 || opcode == 0xa) && fin && masked && payload <= 125 {
			size := hdr + int(payload)
			if err := g.fill(size, true); err != nil {
				return err
			}
			frame := (*g.buf)[g.r : g.r+size]
			body := frame[hdr:]
			mask := frame[hdr-4 : hdr]
			for i := range body {
				body[i] ^= mask[i&3]
			}
			g.r += size
			g.control(opcode, body)
			continue
		}
		// Anything else, valid or not, goes to the reader, which enforces
		// the protocol (and the read limit) itself.
		g.left = int64(hdr) + payload
		return nil
	}
}

// ready reports whether a frame for the reader has started to arrive. Pings
// and pongs it meets are absorbed. Without block it does not wait for the
// network; with block it waits for the next frame.
func (g *frameGate) ready(block bool) (bool, error) {
	if g.left > 0 {
		return true, nil
	}
	err := g.frame(block)
	if err == errWouldBlock {
		return false, nil
	}
	return err == nil, err
}

// drop returns the read-ahead buffer to the pool whatever it holds; the
// connection is finished.
func (g *frameGate) drop() {
	if g.buf != nil {
		gateBuffers.Put(g.buf)
		g.buf, g.r, g.w = nil, 0, 0
	}
}

// maxWriteBatch is the size at which a batch of outgoing frames is written
// out before the writer has finished its queue.
const maxWriteBatch = 64 << 10

// batchBuffers hold outgoing bytes not yet written; they go back empty.
var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// writeSide batches the frames the writer sends in one run into a single
// write to the socket, and sets the socket's write deadline only when it
// changes (gorilla sets it before every frame). gorilla serialises its own
// writes; wmu also orders them against flush.
type writeSide struct {
	wmu      sync.Mutex
	batching bool
	wbuf     *[]byte // borrowed from batchBuffers while batching
	want     time.Time
	set      time.Time // the deadline the socket has
}

// SetWriteDeadline records the deadline; the socket gets it before the next
// write to it.
func (g *frameGate) SetWriteDeadline(t time.Time) error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.want = t
	return nil
}

func (g *frameGate) applyDeadline() error {
	if g.want.Equal(g.set) {
		return nil
	}
	g.set = g.want
	return g.Conn.SetWriteDeadline(g.want)
}

// Write writes p, or adds it to the batch.
func (g *frameGate) Write(p []byte) (int, error) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if !g.batching && g.pending() == 0 {
		if err := g.applyDeadline(); err != nil {
			return 0, err
		}
		return g.Conn.Write(p)
	}
	// Behind a batch, or behind the rest of a frame writeNow began: the
	// writer sends it.
	if g.wbuf == nil {
		g.wbuf = batchBuffers.Get().(*[]byte)
	}
	*g.wbuf = append(*g.wbuf, p...)
	if g.batching && len(*g.wbuf) >= maxWriteBatch {
		if err := g.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (g *frameGate) pending() int {
	if g.wbuf == nil {
		return 0
	}
	return len(*g.wbuf)
}

// appendTextFrame appends payload as one unmasked text frame (RFC 6455
// section 5.2; a server never masks).
func appendTextFrame(b, payload []byte) []byte {
	b = append(b, 0x81) // FIN, text
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// writeText adds payload to the batch as a text frame. The writer frames
// its messages itself: going through gorilla's message writer cost more
// than the system call. The caller is batching.
func (g *frameGate) writeText(payload []byte) error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	*g.wbuf = appendTextFrame(*g.wbuf, payload)
	if len(*g.wbuf) >= maxWriteBatch {
		return g.flush()
	}
	return nil
}

// writeNow writes payload as a text frame at once if the socket takes all
// of it without waiting, and reports whether it did. Otherwise the part not
// written waits in the batch buffer, and the caller must start the writer,
// which sends it before anything else. It never blocks.
func (g *frameGate) writeNow(payload []byte) bool {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	behind := g.batching || g.pending() > 0
	if g.wbuf == nil {
		g.wbuf = batchBuffers.Get().(*[]byte)
	}
	*g.wbuf = appendTextFrame(*g.wbuf, payload)
	if behind || g.raw == nil {
		return false
	}
	n := g.writeAvailable(*g.wbuf)
	rest := copy(*g.wbuf, (*g.wbuf)[n:])
	*g.wbuf = (*g.wbuf)[:rest]
	if rest > 0 {
		return false
	}
	batchBuffers.Put(g.wbuf)
	g.wbuf = nil
	return true
}

// beginBatch makes the following writes go to the batch.
func (g *frameGate) beginBatch() {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.batching = true
	if g.wbuf == nil {
		g.wbuf = batchBuffers.Get().(*[]byte)
	}
}

// endBatch writes the batch out and goes back to writing directly.
func (g *frameGate) endBatch() error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	err := g.flush()
	g.batching = false
	if cap(*g.wbuf) <= 2*maxWriteBatch {
		batchBuffers.Put(g.wbuf)
	}
	g.wbuf = nil
	return err
}

func (g *frameGate) flush() error {
	if len(*g.wbuf) == 0 {
		return nil
	}
	err := g.applyDeadline()
	if err == nil {
		_, err = g.Conn.Write(*g.wbuf)
	}
	*g.wbuf = (*g.wbuf)[:0]
	return err
}
