// Package engine is nearcast's peer-to-peer engine: for each segment the
// player asks for, it decides whether to serve it from memory, from a peer
// or from the CDN, and it serves other peers in turn.
//
// The engine is pure Go. It reaches the outside world only through small
// interfaces it owns (ports.go): a [Signaler] (the tracker client), a
// [Dialer] that turns tracker offers and answers into [Link]s (WebRTC data
// channels, RFC 8831), and a [Fetcher] (HTTP from the CDN). Natively these
// are pion, gorilla/websocket and net/http (package engine/native); in the
// browser they are RTCPeerConnection, WebSocket and fetch (package wasm).
// Time comes from the time package, so tests run the engine under
// testing/synctest's fake clock.
//
// # Swarms
//
// A swarm is one rendition (or audio track) of one stream, named by a
// [SwarmID] derived from the manifest URL without its query string (see
// [SwarmIDFor]). Its tracker identity is [SwarmKey]: a hash of the protocol
// version and the SwarmID, so engines of incompatible versions never meet.
//
// # Scheduling
//
// [Engine.Load] is given a deadline: when the player will need the segment,
// from its buffer level. A segment is served from the cache; else from the
// best peer that has it when the peer's measured throughput finishes the
// transfer before the deadline with a margin left for the CDN; else from the
// CDN. A peer transfer is watched while it runs and abandoned for the CDN as
// soon as it falls behind. When no peer has the segment yet but the deadline
// leaves slack, the engine waits a random part of that slack for a peer to
// announce it, so that of several viewers needing the same new segment,
// usually one fetches it from the CDN and the others get it from that one.
// While the buffer is healthy, upcoming segments are prefetched from peers.
//
// # Peers
//
// The engine joins each swarm through the tracker with a few offers, keeps
// a bounded set of peers per swarm, and replaces peers that fail. Every
// segment from a peer is length-checked and passed to the configured
// verifier before it is cached or returned; a peer that sends bad data or
// breaks the wire protocol (engine/peerwire) is dropped and not reconnected.
// Uploads are served from the cache with a bounded number of concurrent
// uploads and an optional byte-rate cap; a leech-only engine uploads nothing.
package engine
