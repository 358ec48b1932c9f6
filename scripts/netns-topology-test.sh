#!/usr/bin/env bash
# netns-topology-test.sh: self-test of scripts/netns-topology.sh.
#
# Runs `netns-topology.sh run 2 --up-kbit 2000 --delay-ms 40 --loss-pct 0.5`
# with an inner test that checks, and prints the numbers:
#   - each viewer netns has only lo and eth0, the hub only lo, ncbr0 and the
#     hub ends of the viewer links (ncv<i>h; with the netdelay relay also
#     ncv<i>r and ncv<i>b), and the hub has no route out (no default route;
#     `ip route get` to an outside address fails, no packet is sent);
#   - both viewers reach the hub (10.78.0.1) and each other (UDP echo);
#   - RTT (50 probes, min/median/p99) viewer->hub >= 40 ms and
#     viewer->viewer >= 80 ms, with the median less than 15 ms above that;
#     loss of 2000 probes between the viewers (0.5 % on each uplink, ~1 %
#     per round trip) is reported and must be within 0.2 % .. 3 %;
#   - 1 MB sent from a viewer to a TCP sink in the hub runs at roughly the
#     2000 kbit/s cap, while 1 MB hub -> viewer (downlink, uncapped) is faster;
#   - 20 MB hub -> viewer (uncapped, through the relay if there is one) runs
#     at >= 50 Mbit/s: TCP's 64 KiB GSO segments cross the relay (a relay that
#     could not pass them would stall TCP). The relays' CPU time during it is
#     printed, and their exit counters (stderr) must show GSO frames relayed,
#     no queue drops and no send errors.
# Why this way: traffic only goes to addresses inside namespaces this run
# creates (shared/TESTING.md). Debian base has no ping and no nc, so the
# probes are a small python3 program written to a temp file.
#
# On a kernel without netem (CONFIG_NET_SCH_NETEM) the delay is made by the
# netdelay relay (e2e/tools/netdelay). The test builds it into its temp dir
# with `go build` (unless NEARCAST_NETDELAY names a binary already), and
# first checks the failure paths: a missing binary is refused with exit 2
# naming the build command, a relay that cannot run with exit 3, and with
# --best-effort the run goes on with "delay=none".
set -euo pipefail

readonly UP_KBIT=2000 DELAY_MS=40 LOSS_PCT=0.5 N=2
SELF=$(readlink -f "$0")
TOPO=$(dirname "$SELF")/netns-topology.sh

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# relay_pids: the netdelay processes of this run (the hub has its own PID
# namespace and /proc, so only ours are visible).
relay_pids() {
	local f
	for f in /proc/[0-9]*/comm; do
		if [ "$(cat "$f" 2>/dev/null)" = netdelay ]; then basename "$(dirname "$f")"; fi
	done | xargs
}

# relay_ticks: CPU time (user + system, clock ticks) of all relays.
relay_ticks() {
	local p t=0 st
	for p in $(relay_pids); do
		read -r -a st <"/proc/$p/stat" || continue
		t=$((t + st[13] + st[14]))
	done
	echo "$t"
}

inner() {
	local py=$NC_TEST_PY dir=$NC_TEST_DIR hub=$NEARCAST_HUB_ADDR
	local pids=()
	trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
	echo "inner: NEARCAST_SHAPING=$NEARCAST_SHAPING viewers=$NEARCAST_VIEWERS addrs=$NEARCAST_VIEWER_ADDRS"
	[ "$NEARCAST_TOPOLOGY" = 1 ] && [ "$NEARCAST_VIEWERS" = "$N" ] || fail "env not exported"
	local relay=0
	[[ "$NEARCAST_SHAPING" =~ delay=([0-9]+)ms ]] && [ "${BASH_REMATCH[1]}" = "$DELAY_MS" ] ||
		fail "delay not applied: $NEARCAST_SHAPING"
	case "$NEARCAST_SHAPING" in *"delay=${DELAY_MS}ms(relay)"*) relay=1 ;; esac
	case "$NEARCAST_SHAPING" in *"up=${UP_KBIT}kbit"*) ;; *) fail "rate cap not applied: $NEARCAST_SHAPING" ;; esac

	# Interfaces and routes.
	local i links
	for ((i = 1; i <= N; i++)); do
		links=$(ip -n "ncv$i" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | xargs)
		echo "ncv$i links: $links"
		[ "$links" = "eth0 lo" ] || fail "ncv$i has links '$links', want 'eth0 lo'"
		ip -n "ncv$i" route show default | grep -q "via $hub dev eth0" || fail "ncv$i has no default route via $hub"
	done
	links=$(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | xargs)
	echo "hub links: $links"
	local want_links="lo ncbr0 ncv1h ncv2h"
	[ "$relay" = 0 ] || want_links="lo ncbr0 ncv1b ncv1h ncv1r ncv2b ncv2h ncv2r"
	[ "$links" = "$want_links" ] || fail "hub has links '$links', want '$want_links'"
	[ -z "$(ip route show default)" ] || fail "hub has a default route"
	if ip route get 192.0.2.1 >/dev/null 2>&1; then fail "hub has a route to 192.0.2.1"; fi
	echo "hub: no default route, 'ip route get 192.0.2.1' -> unreachable (OK)"
	echo "ncv1 qdisc: $(tc -n ncv1 qdisc show dev eth0 | xargs)"
	echo "ncv1h qdisc: $(tc qdisc show dev ncv1h | xargs)"
	if [ "$relay" = 1 ]; then
		echo "relays: $(for p in $(relay_pids); do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
		[ "$(relay_pids | wc -w)" = "$N" ] || fail "want $N netdelay processes, have: $(relay_pids)"
	fi

	# UDP echo servers in the hub and in both viewers.
	"$py" "$dir/probe.py" echo "$hub" 7001 "$dir/ready.hub" &
	pids+=($!)
	for ((i = 1; i <= N; i++)); do
		ip netns exec "ncv$i" "$py" "$dir/probe.py" echo "10.78.0.$((10 + i))" 7001 "$dir/ready.v$i" &
		pids+=($!)
	done
	for f in hub v1 v2; do
		for _ in $(seq 50); do [ -e "$dir/ready.$f" ] && break; sleep 0.1; done
		[ -e "$dir/ready.$f" ] || fail "echo server $f did not start"
	done

	# probe FROM_NS TO_ADDR COUNT INTERVAL -> "sent recv loss% min median p99 max"
	probe() { ip netns exec "$1" "$py" "$dir/probe.py" probe "$2" 7001 "$3" "$4"; }
	local r sent recv loss min med p99 max want
	for pair in "ncv1 $hub $DELAY_MS" "ncv2 $hub $DELAY_MS" \
		"ncv1 10.78.0.12 $((2 * DELAY_MS))" "ncv2 10.78.0.11 $((2 * DELAY_MS))"; do
		set -- $pair
		probe "$1" "$2" 1 0.1 >/dev/null # warm-up: ARP, not part of the RTT
		r=$(probe "$1" "$2" 50 0.02)
		read -r sent recv loss min med p99 max <<<"$r"
		echo "RTT $1 -> $2: $recv/$sent replies, min/median/p99/max $min/$med/$p99/$max ms (want >= $3)"
		[ "$recv" -ge 40 ] || fail "$1 cannot reach $2 ($recv/$sent replies)"
		want=$3
		awk -v m="$min" -v w="$want" 'BEGIN { exit !(m >= w) }' ||
			fail "RTT $1 -> $2 min $min ms, want >= $want ms"
		awk -v m="$med" -v w="$want" 'BEGIN { exit !(m < w + 15) }' ||
			fail "RTT $1 -> $2 median $med ms, want < $((want + 15)) ms"
	done
	[[ "$NEARCAST_SHAPING" == *"loss=${LOSS_PCT}%"* ]] || fail "loss not applied: $NEARCAST_SHAPING"
	r=$(probe ncv1 10.78.0.12 2000 0.002)
	read -r sent recv loss min med p99 max <<<"$r"
	echo "loss ncv1 <-> ncv2: $((sent - recv))/$sent round trips lost ($loss %, want ~1 %)," \
		"RTT min/median/p99/max $min/$med/$p99/$max ms"
	echo "  qdisc drops: ncv1 $(tc -s -n ncv1 qdisc show dev eth0 | grep -o 'dropped [0-9]*' | head -1)," \
		"ncv2 $(tc -s -n ncv2 qdisc show dev eth0 | grep -o 'dropped [0-9]*' | head -1)"
	awk -v l="$loss" 'BEGIN { exit !(l >= 0.2 && l < 3) }' || fail "loss $loss %, want about 1 %"

	# Uplink: viewer 1 -> TCP sink in the hub.
	rm -f "$dir/ready.sink"
	"$py" "$dir/probe.py" sink "$hub" 7002 "$dir/ready.sink" >"$dir/up.txt" &
	local sink=$!
	for _ in $(seq 50); do [ -e "$dir/ready.sink" ] && break; sleep 0.1; done
	ip netns exec ncv1 "$py" "$dir/probe.py" send "$hub" 7002 1000000
	wait "$sink" || fail "uplink sink failed"
	local bytes secs kbit
	read -r bytes secs kbit <"$dir/up.txt"
	echo "uplink ncv1 -> hub: $bytes bytes in $secs s = $kbit kbit/s (cap $UP_KBIT)"
	[ "$bytes" = 1000000 ] || fail "uplink sink got $bytes bytes"
	awk -v k="$kbit" -v c="$UP_KBIT" 'BEGIN { exit !(k >= 0.6 * c && k <= 1.1 * c) }' ||
		fail "uplink $kbit kbit/s is not about the $UP_KBIT kbit/s cap"

	# Downlink: hub -> sink in viewer 1 (no cap on this direction).
	rm -f "$dir/ready.sink"
	ip netns exec ncv1 "$py" "$dir/probe.py" sink 10.78.0.11 7002 "$dir/ready.sink" >"$dir/down.txt" &
	sink=$!
	for _ in $(seq 50); do [ -e "$dir/ready.sink" ] && break; sleep 0.1; done
	"$py" "$dir/probe.py" send 10.78.0.11 7002 1000000
	wait "$sink" || fail "downlink sink failed"
	read -r bytes secs kbit <"$dir/down.txt"
	echo "downlink hub -> ncv1: $bytes bytes in $secs s = $kbit kbit/s (uncapped)"
	awk -v k="$kbit" -v c="$UP_KBIT" 'BEGIN { exit !(k > 2 * c) }' ||
		fail "downlink $kbit kbit/s looks capped"

	# Large downlink transfer: GSO segments through the relay.
	rm -f "$dir/ready.sink"
	ip netns exec ncv1 "$py" "$dir/probe.py" sink 10.78.0.11 7002 "$dir/ready.sink" >"$dir/big.txt" &
	sink=$!
	for _ in $(seq 50); do [ -e "$dir/ready.sink" ] && break; sleep 0.1; done
	local cpu0 cpu1 t0 t1
	cpu0=$(relay_ticks) t0=$(date +%s%N)
	"$py" "$dir/probe.py" send 10.78.0.11 7002 20000000
	wait "$sink" || fail "big downlink sink failed"
	cpu1=$(relay_ticks) t1=$(date +%s%N)
	read -r bytes secs kbit <"$dir/big.txt"
	local cpu="no relay"
	if [ "$relay" = 1 ]; then
		cpu=$(awk -v c=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v ns=$((t1 - t0)) \
			'BEGIN { printf "relays used %.2f s CPU in %.2f s (%.0f %% of one core)", c / hz, ns / 1e9, 100 * c / hz / (ns / 1e9) }')
	fi
	echo "downlink 20 MB hub -> ncv1: $bytes bytes in $secs s = $((kbit / 1000)) Mbit/s; $cpu"
	[ "$bytes" = 20000000 ] || fail "big downlink sink got $bytes bytes"
	[ "$kbit" -ge 50000 ] || fail "big downlink only $kbit kbit/s, want >= 50 Mbit/s"
	echo "inner: PASS"
}

if [ "${1:-}" = "--inner" ]; then
	inner
	exit 0
fi

[ "$(id -u)" = 0 ] || fail "must run as root"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || fail "python3 not found"
dir=$(mktemp -d /tmp/nc-topo-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/probe.py" <<'EOF'
# Tiny network probes (Debian base has neither ping nor nc).
import select, socket, struct, sys, time

def ready(path):
    open(path, "w").close()

mode = sys.argv[1]
if mode == "echo":  # echo ADDR PORT READYFILE
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[2], int(sys.argv[3])))
    ready(sys.argv[4])
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)
elif mode == "probe":  # probe ADDR PORT COUNT INTERVAL
    addr, port, count, interval = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, port))
    sent, rtts = {}, {}
    t_next = time.monotonic()
    seq = 0
    deadline = None
    while True:
        now = time.monotonic()
        if seq < count and now >= t_next:
            sent[seq] = now
            s.send(struct.pack("!Id", seq, now) + b"x" * 56)
            seq += 1
            t_next += interval
            if seq == count:
                deadline = now + 1.0
        if deadline is not None and (now >= deadline or len(rtts) == count):
            break
        wait = (t_next if seq < count else deadline) - time.monotonic()
        r, _, _ = select.select([s], [], [], max(0, wait))
        if r:
            try:
                data = s.recv(2048)
            except ConnectionRefusedError:
                continue
            n, _ = struct.unpack("!Id", data[:12])
            if n in sent and n not in rtts:
                rtts[n] = (time.monotonic() - sent[n]) * 1000
    v = sorted(rtts.values()) or [float("nan")]
    print(count, len(rtts), "%.2f" % (100.0 * (count - len(rtts)) / count),
          "%.1f" % v[0], "%.1f" % v[len(v) // 2], "%.1f" % v[min(len(v) - 1, len(v) * 99 // 100)],
          "%.1f" % v[-1])
elif mode == "sink":  # sink ADDR PORT READYFILE -> "bytes seconds kbit"
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[2], int(sys.argv[3])))
    s.listen(1)
    ready(sys.argv[4])
    c, _ = s.accept()
    total, t0 = 0, None
    while True:
        b = c.recv(65536)
        if not b:
            break
        if t0 is None:
            t0 = time.monotonic()
        total += len(b)
    dt = time.monotonic() - (t0 or time.monotonic())
    print(total, "%.3f" % dt, int(total * 8 / 1000 / dt) if dt > 0 else 0)
elif mode == "send":  # send ADDR PORT BYTES
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=60)
    c.sendall(b"\0" * int(sys.argv[4]))
    c.shutdown(socket.SHUT_WR)
    c.recv(1)  # wait for the sink to close: all bytes were received
EOF

export NC_TEST_PY=$PY NC_TEST_DIR=$dir
relay=0
if unshare -n sh -c 'tc qdisc add dev lo root handle 1: netem delay 1ms' 2>/dev/null; then
	echo "kernel has netem: delay made by netem"
else
	echo "kernel has no netem: delay made by the netdelay relay"
	relay=1
	if [ -z "${NEARCAST_NETDELAY:-}" ]; then
		command -v go >/dev/null 2>&1 || fail "go not found: set NEARCAST_NETDELAY to a built netdelay"
		echo "building it: go build -o $dir/netdelay ./e2e/tools/netdelay"
		(cd "$(dirname "$(dirname "$SELF")")" && go build -o "$dir/netdelay" ./e2e/tools/netdelay) ||
			fail "cannot build netdelay"
		export NEARCAST_NETDELAY=$dir/netdelay
	fi
	# A missing binary is a build error: exit 2, naming the build command.
	rc=0
	NEARCAST_NETDELAY=$dir/no-such-netdelay "$TOPO" run 1 --delay-ms "$DELAY_MS" -- true 2>"$dir/err" || rc=$?
	[ "$rc" = 2 ] && grep -q "go build -o bin/netdelay ./e2e/tools/netdelay" "$dir/err" ||
		fail "missing netdelay: exit $rc, stderr: $(cat "$dir/err")"
	echo "missing netdelay binary: refused (exit 2) with the build command (OK)"
	# A relay that cannot run: exit 3, or delay=none with --best-effort.
	rc=0
	NEARCAST_NETDELAY=/bin/false "$TOPO" run 1 --delay-ms "$DELAY_MS" -- true 2>"$dir/err" || rc=$?
	[ "$rc" = 3 ] || fail "netdelay that cannot run: exit $rc (want 3), stderr: $(cat "$dir/err")"
	rc=0
	NEARCAST_NETDELAY=/bin/false "$TOPO" run 1 --delay-ms "$DELAY_MS" --best-effort -- \
		bash -c '[[ "$NEARCAST_SHAPING" == *"delay=none"* ]]' 2>"$dir/err" || rc=$?
	[ "$rc" = 0 ] || fail "--best-effort without a working relay: exit $rc, stderr: $(cat "$dir/err")"
	echo "relay that cannot run: refused (exit 3); --best-effort runs with delay=none (OK)"
fi
rc=0
"$TOPO" run "$N" --up-kbit "$UP_KBIT" --delay-ms "$DELAY_MS" --loss-pct "$LOSS_PCT" \
	-- bash "$SELF" --inner 2>"$dir/topo.err" || rc=$?
cat "$dir/topo.err" >&2
[ "$rc" = 0 ] || fail "inner test exited $rc"
# The relays print their counters on stderr when they stop: GSO frames
# must have been relayed, with no drops and no errors.
if [ "$relay" = 1 ]; then
	[ "$(grep -c "^netdelay ncv[0-9]*h<->ncv[0-9]*r: stopped by" "$dir/topo.err")" = "$N" ] ||
		fail "not all $N relays stopped cleanly and printed their counters"
	gso=$(sed -n 's/^netdelay ncv1r->ncv1h .*rx [0-9]* frames (\([0-9]*\) gso).*/\1/p' "$dir/topo.err")
	[ "${gso:-0}" -gt 0 ] || fail "relay ncv1r->ncv1h passed no GSO frame"
	if grep -E "^netdelay ncv[0-9]+[hr]->" "$dir/topo.err" |
		grep -Ev "drops: socket 0 queue 0 truncated 0; errors rx 0 tx 0;" >&2; then
		fail "a relay dropped frames or had errors (above)"
	fi
	echo "relay counters: $gso GSO frames hub -> ncv1, no drops, no errors (OK)"
fi
# The exit status of CMD must come through.
rc=0
"$TOPO" run 1 -- bash -c 'exit 42' || rc=$?
[ "$rc" = 42 ] || fail "exit status of CMD not preserved (got $rc, want 42)"
echo "exit status preserved (42)"
if ls /run/netns 2>/dev/null | grep -q "^ncv"; then fail "ncv* left in the host /run/netns"; fi
echo "PASS"
