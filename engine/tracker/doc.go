// Package tracker is the engine's tracker client: it implements
// engine.Signaler over the WebTorrent tracker protocol, the protocol of
// webtorrent's bittorrent-tracker that nearcast's signaling server speaks
// (docs/signaling-protocol.md). Through the tracker, engines join swarms and
// exchange the WebRTC offers and answers that open data channels between
// them.
//
// # Transport
//
// The package does not open network connections itself. A [Dial] function
// supplied by the host opens a [Conn], one WebSocket connection (RFC 6455)
// carrying one JSON object per text message: natively
// engine/native.DialWebSocket (gorilla/websocket), in the browser the page's
// WebSocket. This keeps the package free of net/http and WebSocket
// libraries, so that it compiles small into the browser's WASM build; for
// the same reason it encodes and decodes its JSON by hand instead of
// importing encoding/json, and does not import fmt.
//
// # Connection
//
// [New] returns at once and connects in the background. After each
// successful (re)connection the client emits engine.SignalConnected, and the
// engine announces every swarm it is in. When the connection fails, the
// client redials with exponential backoff and jitter (see [WithBackoff]);
// while it is down, [Client.Announce] and [Client.Answer] fail with
// [ErrNotConnected] instead of queueing messages for later. Messages sent on
// a connection that fails before writing them are lost; the engine learns of
// the new connection through SignalConnected and announces again.
//
// Writes go through one writer goroutine per connection, in order, each
// bounded by a deadline ([WithTimeout]). Incoming messages become
// engine.Signal values on the channel returned by [Client.Signals]. The
// channel is bounded ([WithSignalBuffer]): when the engine does not keep up
// and the channel is full, the client drops the signal and reports
// [ErrSignalDropped] through [WithOnError] rather than stop reading the
// connection.
//
// # Messages
//
// An announce is sent as bittorrent-tracker sends it:
//
//	{"action":"announce","info_hash":"…","peer_id":"…","numwant":5,
//	 "uploaded":0,"downloaded":0,"event":"started",
//	 "offers":[{"offer":{"type":"offer","sdp":"…"},"offer_id":"…"}]}
//
// The event is left out for a periodic update (engine.EventUpdate), as
// bittorrent-tracker does; "left" is not sent, so the peer counts as
// incomplete. An answer is an announce carrying "to_peer_id", "offer_id" and
// "answer". The info_hash and peer_id are 20 raw bytes sent as a "binary
// string": each byte becomes one character U+0000 to U+00FF, so byte 0xE9
// is the two UTF-8 bytes C3 A9 in the JSON text.
//
// Incoming messages are parsed by a strict, bounded scanner: a message is
// one JSON object of at most [MaxMessageSize] bytes of valid UTF-8, nested at
// most 32 levels deep. Announce replies become engine.SignalAnnounced,
// relayed offers engine.SignalOffer, relayed answers engine.SignalAnswer and
// "failure reason" replies engine.SignalFailure, whose Err wraps
// [ErrFailure] and carries the tracker's reason. Unknown fields and scrape
// replies are ignored, as are offers and answers that claim to come from the
// client's own peer ID. A message that does not parse, or whose known fields
// have the wrong type or form (null counts as absent), is dropped and
// reported as [ErrMalformed]; the connection stays open.
package tracker
