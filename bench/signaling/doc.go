// Command signaling benchmarks nearcast's signaling server against npm's
// bittorrent-tracker (the WebTorrent reference tracker) under the same load
// on the same machine. It runs each server as its own process on loopback,
// pinned to one CPU, and drives it with the load generator of
// signaling/loadtest, measuring
//
//   - peak throughput: a closed loop of announces carrying offers, answered
//     by the generator's simulated peers: messages per second, per CPU core
//     the server used, and CPU time per message;
//   - latency at half that load: an open loop at half the peak announce
//     rate: announce and answer round-trip times;
//   - resident memory per idle connection: N connections that announce once
//     and stay open, with a fresh server process for each N.
//
// It prints a table and writes JSON (default out/bench/signaling.json).
// scripts/bench-signaling.sh (make bench-signaling) prepares the machine and
// runs it; docs/signaling-benchmark.md describes the method. It needs Linux:
// it reads /proc and pins processes with taskset(1).
package main
