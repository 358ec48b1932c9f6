package signaling

import (
	"encoding/binary"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// The server reads client frames itself (RFC 6455 section 5): the gate
// already knows where each frame starts and ends, and going through
// gorilla's buffered message reader cost as much again. gorilla still
// performs the opening handshake and writes control frames.

// readError is a failure to read a message that closes the connection
// with Code (1002 protocol error, 1009 too big), or the client's own
// close frame (Code as the client sent it).
type readError struct {
	Code   int
	Reason string
	// Client is set when the client sent a close frame.
	Client bool
}

func (e *readError) Error() string {
	if e.Client {
		return "client closed with " + strconv.Itoa(e.Code)
	}
	return "websocket: " + e.Reason
}

func protocolError(reason string) error {
	return &readError{Code: websocket.CloseProtocolError, Reason: reason}
}

// errMessageTooBig is the read limit's error.
var errMessageTooBig = &readError{Code: websocket.CloseMessageTooBig, Reason: "message too big"}

// message reads the next data message, text or binary, possibly in
// fragments, into *buf and returns it. Pings and pongs between fragments
// are handled by frame. A message longer than limit is refused before its
// payload is read. Once a frame has begun, message waits for the rest
// (bounded by the gate's deadline).
func (g *frameGate) message(buf *[]byte, limit int64) ([]byte, error) {
	msg := (*buf)[:0]
	fragmented := false
	for {
		if g.left == 0 {
			if err := g.frame(true); err != nil {
				return nil, err
			}
		}
		opcode, fin, hdr, payload, _ := g.header()
		b := (*g.buf)[g.r : g.r+hdr]
		switch {
		case b[0]&0x70 != 0:
			return nil, protocolError("reserved bits set (no extension was negotiated)")
		case b[1]&0x80 == 0:
			return nil, protocolError("client frame not masked")
		}
		var mask [4]byte
		copy(mask[:], b[hdr-4:])
		switch opcode {
		case websocket.TextMessage, websocket.BinaryMessage:
			if fragmented {
				return nil, protocolError("new message inside a fragmented one")
			}
		case 0: // continuation
			if !fragmented {
				return nil, protocolError("continuation frame without a message")
			}
		case websocket.CloseMessage:
			return nil, g.closeFrame(fin, hdr, payload, mask)
		case websocket.PingMessage, websocket.PongMessage:
			// Valid ones were absorbed by frame.
			return nil, protocolError("control frame fragmented or longer than 125 bytes")
		default:
			return nil, protocolError("unknown opcode " + strconv.Itoa(int(opcode)))
		}
		if payload > limit-int64(len(msg)) {
			return nil, errMessageTooBig
		}
		g.r += hdr
		g.left = payload
		start := len(msg)
		msg = grow(msg, int(payload))
		for g.left > 0 {
			dst := msg[len(msg) : len(msg)+int(g.left)]
			var n int
			if g.buffered() > 0 {
				n = copy(dst, (*g.buf)[g.r:g.w])
				g.r += n
			} else {
				var err error
				if n, err = g.readBlocking(dst); err != nil && n == 0 {
					return nil, err
				}
			}
			msg = msg[:len(msg)+n]
			g.left -= int64(n)
		}
		unmask(msg[start:], mask)
		if fin {
			*buf = msg
			return msg, nil
		}
		fragmented = true
	}
}

// closeFrame reads the client's close frame and returns it as a readError.
func (g *frameGate) closeFrame(fin bool, hdr int, payload int64, mask [4]byte) error {
	if !fin || payload > 125 || payload == 1 {
		return protocolError("invalid close frame")
	}
	if err := g.fill(hdr+int(payload), true); err != nil {
		return err
	}
	body := (*g.buf)[g.r+hdr : g.r+hdr+int(payload)]
	unmask(body, mask)
	g.r += hdr + int(payload)
	g.left = 0
	if len(body) == 0 {
		return &readError{Code: websocket.CloseNoStatusReceived, Client: true}
	}
	code := int(binary.BigEndian.Uint16(body))
	reason := body[2:]
	if !utf8.Valid(reason) {
		return protocolError("close reason is not UTF-8")
	}
	return &readError{Code: code, Reason: string(reason), Client: true}
}

// grow makes room for n more bytes after len(b).
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	return append(b[:cap(b)], make([]byte, len(b)+n-cap(b))...)[:len(b)]
}

// unmask applies a client frame's masking key (RFC 6455 section 5.3); p
// starts at the frame's first payload byte.
func unmask(p []byte, key [4]byte) {
	k := uint64(binary.LittleEndian.Uint32(key[:]))
	k |= k << 32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}

var _ error = (*readError)(nil)

// asReadError reports err as a *readError, if it is one.
func asReadError(err error) (*readError, bool) {
	var re *readError
	ok := errors.As(err, &re)
	return re, ok
}
