// Package loadtest is a load generator for WebTorrent trackers. It plays many
// viewers of a set of streams against a tracker's WebSocket endpoint
// (RFC 6455) and measures what comes back. It speaks the tracker protocol of
// package wtproto the way the bittorrent-tracker client does, so it loads the
// nearcast signaling server and npm's bittorrent-tracker server alike.
//
// Each simulated viewer is one WebSocket connection with its own peer_id, in
// one swarm at a time. Swarm popularity follows a Zipf law: a few big swarms
// and a long tail. A viewer joins its swarm with an announce that carries
// WebRTC offers (plausible data-channel SDPs, RFC 8866 and RFC 8841, of a set
// size), answers every offer relayed to it, re-announces, and a share of the
// viewers switch once to the sibling swarm, as a player does when it changes
// rendition: "stopped" in the old swarm, then "started" in the new one.
//
// Three modes drive the announces:
//
//   - open loop: a fixed total announce rate, each connection announcing at
//     a steady interval from a random phase, whatever the server's latency;
//   - closed loop: a fixed number of announces awaiting their response, at
//     most one per connection; each response triggers the next announce from
//     a random connection, which finds the server's peak throughput;
//   - idle: each connection announces once, then stays silent (answering
//     pings), to measure what an idle connection costs the server.
//
// [Run] opens the connections, measures for Config.Duration once they are
// all up, drains, closes everything and returns a [Report]. Rates and
// latencies cover the measured phase only; latencies go into fixed-size
// log-linear histograms (about 1 % precision). Every wait is bounded.
//
// The generator does little work per message, because it usually shares the
// machine with the server it loads: frames are built from pre-encoded parts
// into pooled buffers; received frames are classified by a scan of their
// top-level keys, not decoded; an answer echoes the offer's raw info_hash,
// peer_id and offer_id tokens; and each offer_id carries its send time, so
// answers are timed without a lookup table.
//
// It is a load generator: point it only at a tracker you run, normally on
// loopback.
package loadtest
