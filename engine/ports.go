package engine

import (
	"context"
	"time"
)

// This file holds the small interfaces the engine owns. Hosts implement
// them: natively with pion, gorilla/websocket and net/http (package
// engine/native), in the browser over RTCPeerConnection, WebSocket and fetch
// (package wasm). The engine itself imports none of those.

// InfoHash is the 20-byte tracker identity of a swarm (see SwarmKey).
type InfoHash [20]byte

// String returns the info_hash in hex.
func (h InfoHash) String() string { return hexString(h[:]) }

// PeerID is the 20-byte tracker identity of an engine.
type PeerID [20]byte

// String returns the peer ID in hex.
func (p PeerID) String() string { return hexString(p[:]) }

// hexString is encoding/hex's EncodeToString, without pulling fmt into the
// WASM build.
func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&0xF]
	}
	return string(out)
}

// OfferID names one WebRTC offer so that its answer can be matched to it.
type OfferID string

// SDP is a WebRTC session description as the tracker carries it: the JSON
// object {"type":"offer"|"answer","sdp":"…"}, with ICE candidates included
// (no trickle ICE through the tracker).
type SDP []byte

// Link is an open, reliable, ordered data channel (RFC 8831) to one peer.
// Each Send is one message; message boundaries are preserved.
type Link interface {
	// Send queues one message without blocking for long. It fails once the
	// link is closed. It does not keep msg after it returns, and it is safe
	// for concurrent use.
	Send(msg []byte) error
	// Receive blocks until the next message arrives, and fails with
	// ErrLinkClosed (possibly wrapped) once the link is closed. The returned
	// slice belongs to the caller.
	Receive() ([]byte, error)
	// BufferedAmount returns the bytes queued by Send but not yet sent.
	BufferedAmount() int
	// BufferedLow returns a channel that receives (without blocking the
	// link) each time the buffered amount falls to or below the link's
	// low-water mark, peerwire.LowWaterMark.
	BufferedLow() <-chan struct{}
	// Close closes the link; Receive then returns an error. Idempotent.
	Close() error
}

// Pending is a WebRTC connection being set up through the tracker.
type Pending interface {
	// SDP returns the local description to send through the tracker: the
	// offer for Dialer.Offer, the answer for Dialer.Accept.
	SDP() SDP
	// Open waits until the data channel is open and returns it. For an
	// offer, answer is the remote answer; for an accepted offer it is nil.
	Open(ctx context.Context, answer SDP) (Link, error)
	// Close abandons the connection if it has not opened. Idempotent.
	Close() error
}

// Dialer turns tracker offers and answers into Links.
type Dialer interface {
	// Offer starts an outgoing connection and returns it with its offer.
	Offer(ctx context.Context) (Pending, error)
	// Accept answers a remote offer and returns the connection with its
	// answer.
	Accept(ctx context.Context, offer SDP) (Pending, error)
}

// Event is the tracker announce event.
type Event string

// Announce events.
const (
	EventStarted Event = "started"
	EventUpdate  Event = "update"
	EventStopped Event = "stopped"
)

// Offer is one offer handed to the tracker for relay to another peer.
type Offer struct {
	ID  OfferID
	SDP SDP
}

// SignalKind says what a Signal carries.
type SignalKind uint8

// Signal kinds.
const (
	// SignalConnected: the tracker connection is (re)established; the
	// engine re-announces every swarm it is in.
	SignalConnected SignalKind = iota + 1
	// SignalAnnounced: the tracker acknowledged an announce (Counts,
	// Interval set).
	SignalAnnounced
	// SignalOffer: a peer sent an offer (Peer, OfferID, SDP set).
	SignalOffer
	// SignalAnswer: a peer answered one of our offers (Peer, OfferID, SDP).
	SignalAnswer
	// SignalFailure: the tracker refused a request (Err set).
	SignalFailure
)

// Signal is one event from the tracker.
type Signal struct {
	Kind       SignalKind
	Swarm      InfoHash
	Peer       PeerID
	OfferID    OfferID
	SDP        SDP
	Complete   int
	Incomplete int
	Interval   time.Duration
	Err        error
}

// Signaler is the engine's tracker client. Implementations reconnect on
// their own and report each (re)connection as SignalConnected.
type Signaler interface {
	// PeerID returns the identity the signaler announces with.
	PeerID() PeerID
	// Announce joins or refreshes swarm h (or leaves it, EventStopped) and
	// hands the tracker offers to relay to other peers of the swarm.
	Announce(h InfoHash, ev Event, numWant int, offers []Offer) error
	// Answer sends the answer to offer id of peer to in swarm h.
	Answer(h InfoHash, to PeerID, id OfferID, answer SDP) error
	// Signals returns the channel of incoming signals. It is closed when
	// the signaler is closed.
	Signals() <-chan Signal
	// Close disconnects for good. Idempotent.
	Close() error
}

// FetchRequest asks the CDN for a segment or a byte range of it.
type FetchRequest struct {
	URL string
	// Start and End delimit the byte range [Start, End); End == 0 means the
	// whole resource.
	Start, End int64
}

// Fetcher gets bytes from the CDN (HTTP). Natively it is net/http, in the
// browser the page's fetch.
type Fetcher interface {
	// Fetch returns the requested bytes, or an error. It honours ctx.
	Fetch(ctx context.Context, r FetchRequest) ([]byte, error)
}
