// Package native holds the engine's host adapters for native (non-browser)
// builds: the ports of package engine implemented on real network stacks.
//
//   - Dialer and its links implement engine.Dialer, engine.Pending and
//     engine.Link on pion/webrtc: one reliable, ordered data channel
//     (RFC 8831, opened with DCEP, RFC 8832) per peer connection, with all
//     ICE candidates gathered into the SDP before it is handed to the
//     tracker (no trickle ICE). The network is injectable (WithVNet), so
//     tests run on pion's in-memory vnet instead of real sockets.
//   - The tracker transport over gorilla/websocket (RFC 6455) lives in
//     wsconn.go.
//   - Fetcher implements engine.Fetcher on net/http: whole segments and
//     byte ranges (RFC 9110 section 14) from the CDN, with a size ceiling.
//
// The browser build implements the same ports in package wasm over
// RTCPeerConnection, WebSocket and fetch; the two must agree on everything
// that crosses the wire, notably the SDP JSON form ({"type":…,"sdp":…}) and
// the data-channel settings.
//
// Everything received from the network is untrusted and bounded: session
// descriptions by size, data-channel messages by the SCTP max-message-size
// this side advertises, the receive queue by message count, and HTTP bodies
// by a byte ceiling.
package native
