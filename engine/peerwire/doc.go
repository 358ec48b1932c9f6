// Package peerwire implements the binary protocol two nearcast engines speak
// over a WebRTC data channel (RFC 8831, opened with DCEP, RFC 8832) to
// announce and exchange media segments (RFC 8216 HLS, ISO/IEC 23009-1 DASH).
//
// # Transport
//
// The channel is reliable and ordered (no maxRetransmits or
// maxPacketLifeTime). SCTP preserves message boundaries, so each data-channel
// message carries exactly one peerwire message and there is no stream
// framing: Decode takes one whole message and rejects trailing bytes. No
// message is larger than MaxMessageSize (16400 bytes), well below the 64 KiB
// a peer must accept when its SDP has no max-message-size (RFC 8841).
//
// # Common header
//
// Every message starts with two bytes, followed by a body whose layout
// depends on the type. All integers are big-endian (network byte order).
//
//	 0                   1
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Version    |     Type      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Version is the constant Version (1). Any change an older engine could not
// decode or would misread (a new field, a new type, a changed meaning)
// bumps it; Decode rejects every other version with ErrUnknownVersion, and
// an engine that receives one closes the channel. Optional features that
// need no new layout are negotiated with Capabilities bits instead, which
// receivers ignore when unknown.
//
// # Messages
//
//	Type  Message    Size (bytes)       Purpose
//	0x01  Handshake  26                 first message in each direction
//	0x02  Have       24 + 8*count       segments now held (count ≤ 512)
//	0x03  Bitfield   32 + len           held segments as a bit set (len ≤ 4096)
//	0x04  Lost       24 + 8*count       segments no longer held (count ≤ 512)
//	0x05  Request    50                 ask for a segment or a byte range of it
//	0x06  Chunk      16 + len           part of a response body (len ≤ 16384)
//	0x07  Cancel     6                  stop answering a request
//	0x08  Reject     7                  request refused or abandoned, with a Reason
//	0x09  Ping       10                 round-trip probe
//	0x0a  Pong       10                 answer to Ping
//
// Each message type documents its layout with a diagram. Variable-length
// fields carry a 16-bit count or length right after the header, which the
// decoder checks against its limit and then against the input length before
// allocating anything. The encoding is canonical: Encode(Decode(b)) == b for
// every b that Decode accepts.
//
// # Requests and responses
//
// A requester picks a fresh ReqID (a counter), registers it with
// Assembler.Expect, and sends a Request. The responder answers with the
// Chunks a Chunker produces, or with a Reject. The Assembler checks every
// chunk and returns the body once complete. A Cancel stops a response; its
// late chunks are dropped by the Assembler.
//
// Responders apply backpressure with HighWaterMark and LowWaterMark on the
// channel's bufferedAmount (see the constants), so a slow peer never makes
// the sender buffer more than about HighWaterMark per channel.
//
// # Untrusted input
//
// Everything decoded comes from another browser and is untrusted. Decode
// never panics and allocates at most a small constant plus len(b). Decoded
// messages do not retain the input buffer, except Chunk.Data, which aliases
// it; copy it (the Assembler does) before reusing the buffer.
//
// The package imports only a few standard packages (no fmt) to keep the
// WebAssembly build small. See docs/peerwire.md for the contributor notes.
package peerwire
