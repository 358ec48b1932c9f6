package peerwire

import "math"

// Sizes of the message bodies after the common header.
const (
	handshakeSize = 4 + 20
	seqListFixed  = 2 + 20 // Have and Lost: count and swarm
	bitfieldFixed = 2 + 20 + 8
	requestSize   = 4 + 20 + 8 + 8 + 8
	chunkFixed    = 2 + 4 + 4 + 4
	cancelSize    = 4
	rejectSize    = 4 + 1
	pingSize      = 8
)

// Handshake is the first message each side sends on a new data channel. A
// side reads nothing but a Handshake until it has received one. It has no
// version field of its own: the header's version byte is the version, and a
// peer that cannot decode the remote Handshake (ErrUnknownVersion) closes
// the channel.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Version = 1  |  Type = 0x01  |     Capabilities (31..16)     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Capabilities (15..0)      |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                                                               |
//	+                                                               +
//	|                       Peer ID (20 bytes)                      |
//	+                                                               +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// 26 bytes.
type Handshake struct {
	// Capabilities announces what the sender does; unknown bits are
	// ignored.
	Capabilities Capabilities
	// PeerID is the sender's signaling identity, or zero if not disclosed.
	PeerID PeerID
}

// Type returns TypeHandshake.
func (*Handshake) Type() Type { return TypeHandshake }

func (*Handshake) size() int { return handshakeSize }

func (m *Handshake) validate() error {
	if m == nil {
		return ErrNilMessage
	}
	return nil
}

func (m *Handshake) appendBody(b []byte) []byte {
	b = be.AppendUint32(b, uint32(m.Capabilities))
	return append(b, m.PeerID[:]...)
}

func decodeHandshake(body []byte) (Message, error) {
	if err := exactLen(TypeHandshake, body, handshakeSize); err != nil {
		return nil, err
	}
	m := &Handshake{Capabilities: Capabilities(be.Uint32(body))}
	copy(m.PeerID[:], body[4:])
	return m, nil
}

// Have announces segments the sender now holds in Swarm, by sequence number.
// Seqs need not be sorted; at most MaxHaveSeqs per message.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Version = 1  |  Type = 0x02  |             Count             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+                                                               +
//	|                        Swarm (20 bytes)                       |
//	+                                                               +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                        Seqs[0] (uint64)                       +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	:                              ...                              :
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                     Seqs[Count-1] (uint64)                    +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// 24 + 8*Count bytes, Count ≤ MaxHaveSeqs.
type Have struct {
	Swarm SwarmID
	Seqs  []uint64
}

// Type returns TypeHave.
func (*Have) Type() Type { return TypeHave }

func (m *Have) size() int { return seqListFixed + 8*len(m.Seqs) }

func (m *Have) validate() error {
	if m == nil {
		return ErrNilMessage
	}
	return validateSeqs(TypeHave, m.Seqs)
}

func (m *Have) appendBody(b []byte) []byte { return appendSeqList(b, &m.Swarm, m.Seqs) }

func decodeHave(body []byte) (Message, error) {
	swarm, seqs, err := decodeSeqList(TypeHave, body)
	if err != nil {
		return nil, err
	}
	return &Have{Swarm: swarm, Seqs: seqs}, nil
}

// Lost announces segments the sender no longer holds in Swarm (it evicted
// them), so the remote stops requesting them. Same layout and limit as Have,
// with Type = 0x04.
type Lost struct {
	Swarm SwarmID
	Seqs  []uint64
}

// Type returns TypeLost.
func (*Lost) Type() Type { return TypeLost }

func (m *Lost) size() int { return seqListFixed + 8*len(m.Seqs) }

func (m *Lost) validate() error {
	if m == nil {
		return ErrNilMessage
	}
	return validateSeqs(TypeLost, m.Seqs)
}

func (m *Lost) appendBody(b []byte) []byte { return appendSeqList(b, &m.Swarm, m.Seqs) }

func decodeLost(body []byte) (Message, error) {
	swarm, seqs, err := decodeSeqList(TypeLost, body)
	if err != nil {
		return nil, err
	}
	return &Lost{Swarm: swarm, Seqs: seqs}, nil
}

func validateSeqs(t Type, seqs []uint64) error {
	if len(seqs) > MaxHaveSeqs {
		return wrap(ErrTooManySeqs, t.String()+": "+itoa(len(seqs))+" > "+itoa(MaxHaveSeqs))
	}
	return nil
}

func appendSeqList(b []byte, swarm *SwarmID, seqs []uint64) []byte {
	b = be.AppendUint16(b, uint16(len(seqs)))
	b = append(b, swarm[:]...)
	for _, s := range seqs {
		b = be.AppendUint64(b, s)
	}
	return b
}

func decodeSeqList(t Type, body []byte) (SwarmID, []uint64, error) {
	var swarm SwarmID
	if err := minLen(t, body, seqListFixed); err != nil {
		return swarm, nil, err
	}
	n := int(be.Uint16(body))
	if n > MaxHaveSeqs {
		return swarm, nil, wrap(ErrTooManySeqs, t.String()+": count "+itoa(n)+" > "+itoa(MaxHaveSeqs))
	}
	if err := exactLen(t, body, seqListFixed+8*n); err != nil {
		return swarm, nil, err
	}
	copy(swarm[:], body[2:])
	if n == 0 {
		return swarm, nil, nil
	}
	seqs := make([]uint64, n) // n*8 bytes, all present in body
	for i, p := 0, body[seqListFixed:]; i < n; i, p = i+1, p[8:] {
		seqs[i] = be.Uint64(p)
	}
	return swarm, seqs, nil
}

// Bitfield announces, in one message, which of a run of consecutive
// segments the sender holds in Swarm: bit i set means sequence number
// Base+i is held. Bits are numbered from the most significant bit of
// Bits[0], as in BitTorrent. A Bitfield says nothing about segments outside
// [Base, Base+8*len(Bits)). Senders typically send one after the Handshake
// and Have/Lost afterwards. NewBitfield builds one; Has and AppendSeqs read
// it.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Version = 1  |  Type = 0x03  |            Length             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+                                                               +
//	|                        Swarm (20 bytes)                       |
//	+                                                               +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                         Base (uint64)                         +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	:                      Bits (Length bytes)                      :
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// 32 + Length bytes, Length ≤ MaxBitfieldBytes and
// Base + 8*Length - 1 ≤ 2^64 - 1.
type Bitfield struct {
	Swarm SwarmID
	Base  uint64
	Bits  []byte
}

// Type returns TypeBitfield.
func (*Bitfield) Type() Type { return TypeBitfield }

func (m *Bitfield) size() int { return bitfieldFixed + len(m.Bits) }

func (m *Bitfield) validate() error {
	if m == nil {
		return ErrNilMessage
	}
	n := len(m.Bits)
	if n > MaxBitfieldBytes {
		return wrap(ErrBitfieldTooLarge, "Bitfield: "+itoa(n)+" > "+itoa(MaxBitfieldBytes)+" bytes")
	}
	if n > 0 && m.Base > math.MaxUint64-(8*uint64(n)-1) {
		return wrap(ErrBadRange, "Bitfield: base "+itoa(m.Base)+" + "+itoa(8*n)+" bits overflows")
	}
	return nil
}

func (m *Bitfield) appendBody(b []byte) []byte {
	b = be.AppendUint16(b, uint16(len(m.Bits)))
	b = append(b, m.Swarm[:]...)
	b = be.AppendUint64(b, m.Base)
	return append(b, m.Bits...)
}

func decodeBitfield(body []byte) (Message, error) {
	if err := minLen(TypeBitfield, body, bitfieldFixed); err != nil {
		return nil, err
	}
	n := int(be.Uint16(body))
	if n > MaxBitfieldBytes {
		return nil, wrap(ErrBitfieldTooLarge, "Bitfield: length "+itoa(n)+" > "+itoa(MaxBitfieldBytes))
	}
	if err := exactLen(TypeBitfield, body, bitfieldFixed+n); err != nil {
		return nil, err
	}
	m := &Bitfield{Base: be.Uint64(body[22:])}
	copy(m.Swarm[:], body[2:])
	if n > 0 {
		m.Bits = append([]byte(nil), body[bitfieldFixed:]...)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Request asks the remote for segment Seq of Swarm, or for the byte range
// [Start, End) of it. End == 0 means "to the end of the segment"; otherwise
// Start < End. Offsets are relative to the segment's body, not to the file
// that may contain it (EXT-X-BYTERANGE), so neither may exceed
// MaxSegmentSize. The remote answers with Chunks carrying ReqID, or with one
// Reject.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Version = 1  |  Type = 0x05  |        ReqID (31..16)         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         ReqID (15..0)         |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                                                               |
//	+                                                               +
//	|                        Swarm (20 bytes)                       |
//	+                                                               +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                          Seq (uint64)                         |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                         Start (uint64)                        |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                          End (uint64)                         |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// 50 bytes.
type Request struct {
	ReqID ReqID
	Swarm SwarmID
	Seq   uint64
	// Start is the first byte wanted.
	Start uint64
	// End is one past the last byte wanted (exclusive, like hls.js
	// rangeEnd), or 0 for the whole remainder of the segment.
	End uint64
}

// Type returns TypeRequest.
func (*Request) Type() Type { return TypeRequest }

func (*Request) size() int { return requestSize }

func (m *Request) validate() error {
	if m == nil {
		return ErrNilMessage
	}
	if m.End == 0 {
		if m.Start >= MaxSegmentSize {
			return wrap(ErrBadRange, "Request: start "+itoa(m.Start)+" ≥ "+itoa(MaxSegmentSize))
		}
		return nil
	}
	if m.Start >= m.End || m.End > MaxSegmentSize {
		return wrap(ErrBadRange, "Request: ["+itoa(m.Start)+", "+itoa(m.End)+")")
	}
	return nil
}

func (m *Request) appendBody(b []byte) []byte {
	b = be.AppendUint32(b, uint32(m.ReqID))
	b = append(b, m.Swarm[:]...)
	b = be.AppendUint64(b, m.Seq)
	b = be.AppendUint64(b, m.Start)
	return be.AppendUint64(b, m.End)
}

func decodeRequest(body []byte) (Message, error) {
	if err := exactLen(TypeRequest, body, requestSize); err != nil {
		return nil, err
	}
	m := &Request{
		ReqID: ReqID(be.Uint32(body)),
		Seq:   be.Uint64(body[24:]),
		Start: be.Uint64(body[32:]),
		End:   be.Uint64(body[40:]),
	}
	copy(m.Swarm[:], body[4:])
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Chunk carries bytes [Offset, Offset+len(Data)) of the response body to
// request ReqID; the body is Total bytes long (the requested range, or the
// segment from Start). A sender sends the chunks of one response in order
// and without gaps on an ordered, reliable channel; each carries at least
// one byte, except the single chunk of an empty body (Total = 0).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Version = 1  |  Type = 0x06  |            Length             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                             ReqID                             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                            Offset                             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                             Total                             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	:                      Data (Length bytes)                      :
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// 16 + Length bytes, Length ≤ MaxChunkSize, Total ≤ MaxSegmentSize and
// Offset + Length ≤ Total.
//
// A Chunk returned by Decode has Data aliasing the decoded buffer.
type Chunk struct {
	ReqID  ReqID
	Offset uint32
	Total  uint32
	Data   []byte
}

// Type returns TypeChunk.
func (*Chunk) Type() Type { return TypeChunk }

func (m *Chunk) size() int { return chunkFixed + len(m.Data) }

func (m *Chunk) validate() error {
	if m == nil {
		return ErrNilMessage
	}
	n := len(m.Data)
	switch {
	case n > MaxChunkSize:
		return wrap(ErrChunkTooLarge, "Chunk "+itoa(m.ReqID)+": "+itoa(n)+" > "+itoa(MaxChunkSize)+" bytes")
	case m.Total > MaxSegmentSize:
		return wrap(ErrTooLarge, "Chunk "+itoa(m.ReqID)+": total "+itoa(m.Total)+" > "+itoa(MaxSegmentSize))
	case uint64(m.Offset)+uint64(n) > uint64(m.Total):
		return wrap(ErrOverflow, "Chunk "+itoa(m.ReqID)+": "+itoa(m.Offset)+" + "+itoa(n)+" > total "+itoa(m.Total))
	case n == 0 && m.Total != 0:
		return wrap(ErrEmptyChunk, "Chunk "+itoa(m.ReqID)+": total "+itoa(m.Total))
	}
	return nil
}

func (m *Chunk) appendBody(b []byte) []byte {
	b = be.AppendUint16(b, uint16(len(m.Data)))
	b = be.AppendUint32(b, uint32(m.ReqID))
	b = be.AppendUint32(b, m.Offset)
	b = be.AppendUint32(b, m.Total)
	return append(b, m.Data...)
}

func decodeChunk(body []byte) (Message, error) {
	if err := minLen(TypeChunk, body, chunkFixed); err != nil {
		return nil, err
	}
	n := int(be.Uint16(body))
	if n > MaxChunkSize {
		return nil, wrap(ErrChunkTooLarge, "Chunk: length "+itoa(n)+" > "+itoa(MaxChunkSize))
	}
	if err := exactLen(TypeChunk, body, chunkFixed+n); err != nil {
		return nil, err
	}
	m := &Chunk{
		ReqID:  ReqID(be.Uint32(body[2:])),
		Offset: be.Uint32(body[6:]),
		Total:  be.Uint32(body[10:]),
	}
	if n > 0 {
		// Full slice expression: appending to Data must not write into
		// whatever follows b in the caller's buffer.
		m.Data = body[chunkFixed : chunkFixed+n : chunkFixed+n]
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Cancel tells the remote to stop answering ReqID. The remote sends nothing
// more for ReqID and does not acknowledge the Cancel. The requester forgets
// the request at once (see Assembler.Cancel) and drops chunks that were
// already in flight.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Version = 1  |  Type = 0x07  |        ReqID (31..16)         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         ReqID (15..0)         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// 6 bytes.
type Cancel struct {
	ReqID ReqID
}

// Type returns TypeCancel.
func (*Cancel) Type() Type { return TypeCancel }

func (*Cancel) size() int { return cancelSize }

func (m *Cancel) validate() error {
	if m == nil {
		return ErrNilMessage
	}
	return nil
}

func (m *Cancel) appendBody(b []byte) []byte { return be.AppendUint32(b, uint32(m.ReqID)) }

func decodeCancel(body []byte) (Message, error) {
	if err := exactLen(TypeCancel, body, cancelSize); err != nil {
		return nil, err
	}
	return &Cancel{ReqID: ReqID(be.Uint32(body))}, nil
}

// Reject ends request ReqID without (more) data. It may follow some Chunks
// of the same response, for example when the sender evicts the segment or
// shuts down mid-response.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Version = 1  |  Type = 0x08  |        ReqID (31..16)         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         ReqID (15..0)         |    Reason     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// 7 bytes. Unknown reasons are accepted and mean ReasonUnspecified.
type Reject struct {
	ReqID  ReqID
	Reason Reason
}

// Type returns TypeReject.
func (*Reject) Type() Type { return TypeReject }

func (*Reject) size() int { return rejectSize }

func (m *Reject) validate() error {
	if m == nil {
		return ErrNilMessage
	}
	return nil
}

func (m *Reject) appendBody(b []byte) []byte {
	b = be.AppendUint32(b, uint32(m.ReqID))
	return append(b, byte(m.Reason))
}

func decodeReject(body []byte) (Message, error) {
	if err := exactLen(TypeReject, body, rejectSize); err != nil {
		return nil, err
	}
	return &Reject{ReqID: ReqID(be.Uint32(body)), Reason: Reason(body[4])}, nil
}

// Ping asks the remote to echo Nonce in a Pong as soon as it reads it, to
// measure the round-trip time. The nonce is opaque to the remote; a sender
// may put a send timestamp in it.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Version = 1  |  Type = 0x09  |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                         Nonce (uint64)                        |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// 10 bytes. Because chunks queue ahead of it on the same ordered channel, a
// Ping sent behind a burst of chunks measures that burst's delivery time,
// which a sender can use to estimate throughput.
type Ping struct {
	Nonce uint64
}

// Type returns TypePing.
func (*Ping) Type() Type { return TypePing }

func (*Ping) size() int { return pingSize }

func (m *Ping) validate() error {
	if m == nil {
		return ErrNilMessage
	}
	return nil
}

func (m *Ping) appendBody(b []byte) []byte { return be.AppendUint64(b, m.Nonce) }

func decodePing(body []byte) (Message, error) {
	if err := exactLen(TypePing, body, pingSize); err != nil {
		return nil, err
	}
	return &Ping{Nonce: be.Uint64(body)}, nil
}

// Pong answers a Ping with the same Nonce. Same layout as Ping, with
// Type = 0x0a.
type Pong struct {
	Nonce uint64
}

// Type returns TypePong.
func (*Pong) Type() Type { return TypePong }

func (*Pong) size() int { return pingSize }

func (m *Pong) validate() error {
	if m == nil {
		return ErrNilMessage
	}
	return nil
}

func (m *Pong) appendBody(b []byte) []byte { return be.AppendUint64(b, m.Nonce) }

func decodePong(body []byte) (Message, error) {
	if err := exactLen(TypePong, body, pingSize); err != nil {
		return nil, err
	}
	return &Pong{Nonce: be.Uint64(body)}, nil
}

// Compile-time checks that every message implements Message.
var (
	_ Message = (*Handshake)(nil)
	_ Message = (*Have)(nil)
	_ Message = (*Bitfield)(nil)
	_ Message = (*Lost)(nil)
	_ Message = (*Request)(nil)
	_ Message = (*Chunk)(nil)
	_ Message = (*Cancel)(nil)
	_ Message = (*Reject)(nil)
	_ Message = (*Ping)(nil)
	_ Message = (*Pong)(nil)
)
