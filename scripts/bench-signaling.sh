#!/usr/bin/env bash
# Measures the signaling server from outside (loopback only): handshake
# latency and resident memory per idle connection. Prints a table and
# writes out/bench/signaling.json.
set -euo pipefail
cd "$(dirname "$0")/.."
# Server and clients each hold one descriptor per connection.
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
go run ./bench/signaling --server bin/nearcast --conns "${CONNS:-10000}" "$@"
