#!/usr/bin/env bash
# bench-signaling.sh: the signaling benchmark behind `make bench-signaling`.
#
# Runs nearcast's signaling server and npm bittorrent-tracker
# (e2e/tools/bt-tracker.mjs) under the same load from the load generator of
# signaling/loadtest, each server pinned to CPU 0 and the generator to CPU 1,
# all on loopback: peak throughput per core, latency at half peak, and memory
# per idle connection up to 100k connections. Prints a table and writes
# out/bench/signaling.json. See docs/signaling-benchmark.md.
#
# Arguments go to the bench binary, e.g. --quick for a short run, -v to see
# the generator's progress, --help for the rest. As root it raises the
# descriptor limits (and installs Node.js with scripts/deps.sh if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PATH:/usr/local/go/bin"
go build -o bin/nearcast ./cmd/nearcast
go build -o bin/bench-signaling ./bench/signaling

if ! command -v node >/dev/null 2>&1; then
	./scripts/deps.sh
fi
if [ ! -f e2e/node_modules/bittorrent-tracker/package.json ]; then
	(cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# One descriptor per connection on each side: 100k connections and more.
# Raising the hard limit takes root (CAP_SYS_RESOURCE); without it the bench
# skips the idle steps that do not fit and says so.
want=250000
if [ "$(id -u)" = 0 ]; then
	if [ "$(cat /proc/sys/fs/nr_open)" -lt "$want" ]; then
		echo "$want" >/proc/sys/fs/nr_open 2>/dev/null || true
	fi
	hard=$(ulimit -Hn)
	if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
		ulimit -Hn "$want" 2>/dev/null || prlimit --pid $$ --nofile="$want:$want" 2>/dev/null || true
	fi
fi
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then
	ulimit -Sn "$want"
else
	ulimit -Sn "$hard"
	echo "bench-signaling: descriptor limit $hard: idle steps above it will be skipped" >&2
fi

# Servers on CPU 0 (the bench pins them with taskset), the load generator on
# CPU 1. With a single CPU nothing can be kept apart: run unpinned.
if [ "$(nproc --all)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	exec taskset -c 1 bin/bench-signaling "$@"
fi
echo "bench-signaling: fewer than 2 CPUs or no taskset: servers and load generator share the CPU" >&2
exec bin/bench-signaling --server-cpus '' "$@"
