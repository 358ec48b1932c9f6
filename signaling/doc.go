// Package signaling is nearcast's signaling server: it pairs viewers of the
// same stream rendition and relays their WebRTC offers and answers, speaking
// the WebTorrent tracker protocol (package wtproto) over WebSocket (RFC 6455)
// so that WebTorrent and p2p-media-loader clients can use it unchanged.
//
// A [Server] owns the connections: it authenticates them (optional Origin
// allowlist and signed join tokens), bounds them (read limit, message rate,
// connections per address, send queue, swarms per connection), keeps them
// alive with ping/pong and reaps idle or half-open ones. Swarm membership and
// message delivery sit behind the small [Backend] interface, chosen at wiring
// time: [NewMemoryBackend] keeps everything in one process; a multi-node
// backend can route envelopes between nodes, because the server never
// reaches a peer's connection other than through [Backend.Deliver].
//
// Offers go to peers chosen by locality: peers on the offerer's network
// (same IPv4 /24 or IPv6 /48) first, then peers in its autonomous system when
// a [Locator] is configured, and always a configurable share at random so
// swarms stay connected. An answer is relayed only back to the peer whose
// offer this server delivered to the answering connection, within a TTL, and
// a peer_id belongs to the connection that first used it in a swarm.
//
// An idle connection costs no goroutine, timer or buffer: on Linux one epoll
// instance watches every connection, the server reads and writes WebSocket
// frames itself after gorilla/websocket's handshake (frameGate), and one
// sweeper per server pings and reaps (docs/architecture.md).
//
// The protocol, limits and metrics are documented in
// docs/signaling-protocol.md.
package signaling
