// Package wtproto implements the WebTorrent tracker protocol as spoken over a
// WebSocket (RFC 6455) by the bittorrent-tracker client used by WebTorrent and
// by p2p-media-loader.
//
// Every frame is a JSON text message. A client announces itself in a swarm,
// identified by a 20-character info_hash, with a 20-character peer_id and a
// list of WebRTC offers. The tracker forwards each offer to another peer of
// the swarm; that peer replies with an answer, which the tracker forwards back
// to the offerer. After that the two peers talk directly over a WebRTC data
// channel and the tracker is no longer involved.
//
// The package has three parts: [Decode] turns one client frame into a typed
// [Announce], [Answer] or [Scrape] (or a [*Error] that says which action and
// info_hash the reply must carry); the Append functions write the server's
// frames without reflection; and small value types ([InfoHash], [PeerID],
// [OfferID]) keep the identities apart. It depends on the standard library
// only. The full protocol, with examples, is in docs/signaling-protocol.md.
package wtproto
