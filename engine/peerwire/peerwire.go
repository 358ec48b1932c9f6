package peerwire

import (
	"encoding/binary"
	"slices"
	"strconv"
)

// Version is the protocol version this package speaks. It is the first byte
// of every message. Any change that an engine built from an older commit
// could not decode or would misread bumps it; Decode rejects every other
// value with ErrUnknownVersion.
const Version uint8 = 1

// Limits. Decode rejects any message exceeding them and Encode refuses to
// produce one.
const (
	// MaxHaveSeqs is the largest number of sequence numbers in one Have or
	// Lost message. Announce more with several messages or a Bitfield.
	MaxHaveSeqs = 512
	// MaxBitfieldBytes is the largest Bitfield.Bits, which covers
	// 8*MaxBitfieldBytes = 32768 consecutive segments.
	MaxBitfieldBytes = 4096
	// MaxChunkSize is the largest Chunk.Data.
	MaxChunkSize = 16 << 10
	// MaxSegmentSize is the largest response body (Chunk.Total) and the
	// largest byte range a Request may ask for.
	MaxSegmentSize = 64 << 20
	// HeaderSize is the size of the common header: version and type.
	HeaderSize = 2
	// MaxMessageSize is the size of the largest message, a Chunk carrying
	// MaxChunkSize bytes. The remote SDP's a=max-message-size (RFC 8841)
	// must be at least this; browsers and pion advertise 256 KiB or more,
	// and a missing attribute means 64 KiB.
	MaxMessageSize = HeaderSize + chunkFixed + MaxChunkSize
)

// Backpressure thresholds for the sending side, in bytes of the data
// channel's bufferedAmount (RTCDataChannel.bufferedAmount in browsers,
// DataChannel.BufferedAmount in pion). A sender writes chunks while
// bufferedAmount is at most HighWaterMark, then pauses; it sets the channel's
// bufferedAmountLowThreshold to LowWaterMark and resumes when the
// bufferedamountlow event fires. This keeps about one round trip of data
// queued on fast links (256 KiB is 40 ms at 50 Mbit/s) without handing a
// whole segment to the browser at once: on a slow uplink, what is queued
// cannot be taken back when the requester cancels, and it delays whatever
// else the viewer sends.
const (
	HighWaterMark = 256 << 10
	LowWaterMark  = 64 << 10
)

// Type identifies a message; it is the second byte of every message. Zero is
// never a valid type.
type Type uint8

// Message types.
const (
	TypeHandshake Type = 0x01
	TypeHave      Type = 0x02
	TypeBitfield  Type = 0x03
	TypeLost      Type = 0x04
	TypeRequest   Type = 0x05
	TypeChunk     Type = 0x06
	TypeCancel    Type = 0x07
	TypeReject    Type = 0x08
	TypePing      Type = 0x09
	TypePong      Type = 0x0a
)

var typeNames = [...]string{
	TypeHandshake: "Handshake",
	TypeHave:      "Have",
	TypeBitfield:  "Bitfield",
	TypeLost:      "Lost",
	TypeRequest:   "Request",
	TypeChunk:     "Chunk",
	TypeCancel:    "Cancel",
	TypeReject:    "Reject",
	TypePing:      "Ping",
	TypePong:      "Pong",
}

// String returns the message name, or "Type(n)" for an unknown type.
func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// SwarmID identifies a swarm: the info_hash that signaling assigned to one
// rendition of one stream.
type SwarmID [20]byte

// PeerID identifies an engine. The zero PeerID means "not disclosed".
type PeerID [20]byte

// ReqID identifies a Request within one data channel and direction. The
// requester picks it, normally from a counter, and must not reuse the ID of a
// request that may still have chunks in flight.
type ReqID uint32

// Capabilities is a bit set announced in Handshake. Receivers ignore bits
// they do not know, so a new optional feature can be added with a new bit
// (and without a version bump) as long as peers only use it after the
// remote announced it.
type Capabilities uint32

// Capability bits.
const (
	// CapUpload means the sender answers Requests.
	CapUpload Capabilities = 1 << 0
	// CapLeechOnly means the sender will neither announce nor serve
	// segments on this connection (a metered or low-power device), so the
	// remote need not track its availability. A sender sets at most one of
	// CapUpload and CapLeechOnly; a receiver seeing both honours
	// CapLeechOnly.
	CapLeechOnly Capabilities = 1 << 1
)

// Has reports whether every bit of want is set in c.
func (c Capabilities) Has(want Capabilities) bool { return c&want == want }

// Reason says why a Request was rejected. Receivers treat unknown reasons
// like ReasonUnspecified.
type Reason uint8

// Reject reasons.
const (
	ReasonUnspecified Reason = 0
	// ReasonNotFound means the segment (no longer) is held.
	ReasonNotFound Reason = 1
	// ReasonBusy means the sender serves too many requests; retry elsewhere.
	ReasonBusy Reason = 2
	// ReasonCancelled means the sender abandoned a response, possibly after
	// some chunks (it is closing, or it cancelled the upload locally).
	ReasonCancelled Reason = 3
	// ReasonRateLimited means the requester exceeded the sender's upload
	// budget for it.
	ReasonRateLimited Reason = 4
	// ReasonBadRange means the requested range lies outside the segment.
	ReasonBadRange Reason = 5
	// ReasonUnknownSwarm means the sender is not in the requested swarm.
	ReasonUnknownSwarm Reason = 6
)

var reasonNames = [...]string{
	ReasonUnspecified:  "Unspecified",
	ReasonNotFound:     "NotFound",
	ReasonBusy:         "Busy",
	ReasonCancelled:    "Cancelled",
	ReasonRateLimited:  "RateLimited",
	ReasonBadRange:     "BadRange",
	ReasonUnknownSwarm: "UnknownSwarm",
}

// String returns the reason name, or "Reason(n)" for an unknown reason.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Message is one peerwire message: *Handshake, *Have, *Bitfield, *Lost,
// *Request, *Chunk, *Cancel, *Reject, *Ping or *Pong. The set is closed;
// switch on the concrete type.
type Message interface {
	// Type returns the message's type byte.
	Type() Type

	// size returns the encoded size without the header.
	size() int
	// validate checks the limits; Encode and Decode share it, so anything
	// one accepts the other accepts too.
	validate() error
	// appendBody appends the encoded message without the header.
	appendBody(b []byte) []byte
}

// Encode appends the encoding of m to dst and returns the extended slice. It
// validates m against the limits first; on error it returns dst unchanged.
// Encoding into a reused dst does not allocate.
func Encode(dst []byte, m Message) ([]byte, error) {
	if m == nil {
		return dst, ErrNilMessage
	}
	if err := m.validate(); err != nil {
		return dst, err
	}
	dst = slices.Grow(dst, HeaderSize+m.size())
	dst = append(dst, Version, byte(m.Type()))
	return m.appendBody(dst), nil
}

// Decode parses one message; b must be exactly one data-channel message.
//
// Decode never panics, rejects anything Encode would not produce (unknown
// version or type, truncated or trailing bytes, counts over the limits) and
// checks every length field against both its limit and the input length
// before allocating, so it never allocates more than a small constant plus
// len(b).
//
// The returned message does not retain b, with one exception: a decoded
// Chunk's Data aliases b (it is the hot path). Copy it, or hand it to an
// Assembler (which copies), before reusing b.
func Decode(b []byte) (Message, error) {
	if len(b) == 0 {
		return nil, wrap(ErrTruncated, "empty message")
	}
	if b[0] != Version {
		return nil, wrap(ErrUnknownVersion, "version "+itoa(b[0]))
	}
	if len(b) < HeaderSize {
		return nil, wrap(ErrTruncated, "header")
	}
	body := b[HeaderSize:]
	switch t := Type(b[1]); t {
	case TypeHandshake:
		return decodeHandshake(body)
	case TypeHave:
		return decodeHave(body)
	case TypeBitfield:
		return decodeBitfield(body)
	case TypeLost:
		return decodeLost(body)
	case TypeRequest:
		return decodeRequest(body)
	case TypeChunk:
		return decodeChunk(body)
	case TypeCancel:
		return decodeCancel(body)
	case TypeReject:
		return decodeReject(body)
	case TypePing:
		return decodePing(body)
	case TypePong:
		return decodePong(body)
	default:
		return nil, wrap(ErrUnknownType, t.String())
	}
}

// exactLen checks a message body of fixed or already known size.
func exactLen(t Type, body []byte, want int) error {
	switch {
	case len(body) < want:
		return wrap(ErrTruncated, t.String()+": "+itoa(HeaderSize+len(body))+" of "+itoa(HeaderSize+want)+" bytes")
	case len(body) > want:
		return wrap(ErrTrailingBytes, t.String()+": "+itoa(len(body)-want)+" extra bytes")
	}
	return nil
}

// minLen checks that a variable-size body holds its fixed part.
func minLen(t Type, body []byte, want int) error {
	if len(body) < want {
		return wrap(ErrTruncated, t.String()+": "+itoa(HeaderSize+len(body))+" of at least "+itoa(HeaderSize+want)+" bytes")
	}
	return nil
}

var be = binary.BigEndian
