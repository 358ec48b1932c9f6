#!/usr/bin/env bash
# bench-browser.sh: the side-by-side browser benchmark behind `make bench`.
#
# Runs bin/bench.test (go test -c -tags 'e2e bench' ./e2e) twice:
#   1. scenarios 1 (VOD), 2 (live) and 4 (live with churn), and scenario 1 on
#      the DASH sample with Shaka Player, inside scripts/netns-run.sh's
#      namespace (no shaping);
#   2. scenario 3 (shaped) inside scripts/netns-topology.sh: one namespace per
#      viewer, uplink capped at 1.5x the top rendition's BANDWIDTH in the
#      sample's master playlist, 40 ms added RTT, 0.5 % loss per uplink.
# Each scenario prints its table and writes out/bench/browser-<scenario>.json.
# BENCH_REPEAT=k repeats every arm k times; BENCH_ARMS=a,b picks arms
# (cdn-only, nearcast, p2p-media-loader); BENCH_SCENARIOS=vod,dash,live,churn,shaped
# picks scenarios; BENCH_SHAPED_DELAY_MS (default 40) and BENCH_SHAPED_LOSS_PCT
# (default 0.5) change scenario 3's shaping, e.g. to tell the effect of the
# delay apart. Exits non-zero if any part failed, after running all.
set -euo pipefail
cd "$(dirname "$0")/.."

want=${BENCH_SCENARIOS:-vod,dash,live,churn,shaped}
has() { [[ ",$want," == *",$1,"* ]]; }

unshaped=()
has vod && unshaped+=(VOD)
has dash && unshaped+=(DASH)
has live && unshaped+=(Live)
has churn && unshaped+=(Churn)

rc=0
if [ ${#unshaped[@]} -gt 0 ]; then
	re=$(
		IFS='|'
		echo "${unshaped[*]}"
	)
	./scripts/netns-run.sh bin/bench.test -test.v -test.count=1 \
		-test.run "^TestBench($re)\$" -test.timeout 60m || rc=$?
fi

if has shaped; then
	master=${NEARCAST_MEDIA:-out/media}/vod/master.m3u8
	top=$(sed -n 's/.*BANDWIDTH=\([0-9]*\).*/\1/p' "$master" | sort -n | tail -1)
	if [ -z "$top" ]; then
		echo "bench-browser: no BANDWIDTH in $master (make media)" >&2
		exit 2
	fi
	up_kbit=$((top * 3 / 2 / 1000))
	echo "bench-browser: scenario 3: top rendition ${top} bit/s, uplink cap ${up_kbit} kbit/s"
	./scripts/netns-topology.sh run 6 --up-kbit "$up_kbit" \
		--delay-ms "${BENCH_SHAPED_DELAY_MS:-40}" --loss-pct "${BENCH_SHAPED_LOSS_PCT:-0.5}" \
		${BENCH_BEST_EFFORT:+--best-effort} -- \
		bin/bench.test -test.v -test.count=1 -test.run '^TestBenchShaped$' -test.timeout 60m || rc=$?
fi
exit "$rc"
