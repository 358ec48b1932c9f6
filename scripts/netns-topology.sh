#!/usr/bin/env bash
# netns-topology.sh run N [--up-kbit K] [--delay-ms D] [--loss-pct L]
#                   [--best-effort] -- CMD [ARG...]
# netns-topology.sh exec I PROG [ARG...]     (only from inside CMD)
#
# `run` runs CMD inside a private, throw-away "hub" network namespace that
# holds a bridge and N viewer namespaces, and exits with CMD's exit status:
#
#     hub netns (CMD runs here)
#       lo            127.0.0.1
#       ncbr0         10.78.0.1/24  (bridge; servers bind here or on 127.0.0.1)
#        ├─ ncv1h ──veth── eth0 10.78.0.11/24 in netns ncv1, default via 10.78.0.1
#        ├─ ncv2h ──veth── eth0 10.78.0.12/24 in netns ncv2, default via 10.78.0.1
#        └─ ...           eth0 10.78.0.(10+i)  in netns ncv<i>
#
# Why: browser WebRTC tests may only send traffic to loopback or to addresses
# inside namespaces the test run creates itself (shared/TESTING.md). A single
# namespace (scripts/netns-run.sh) routes peer traffic through lo, so it cannot
# shape viewers one by one. Here each viewer (one browser process each) has its
# own namespace and its own link, and the link is shaped per viewer:
#
#   uplink   (viewer -> bridge, egress of eth0 in ncv<i>):
#            netem delay D/2 loss L%, with a tbf rate K kbit child
#   downlink (bridge -> viewer, egress of ncv<i>h in the hub):
#            netem delay D/2
#
# so viewer<->hub RTT gains D and viewer<->viewer RTT gains 2*D (the packet
# crosses one uplink and one downlink each way). No interface of the hub
# leads to the host and the hub has no default route: nothing outside is
# reachable, so NOTHING CAN BE DOWNLOADED inside: build everything before.
#
# Kernel support: tbf needs CONFIG_NET_SCH_TBF, delay needs
# CONFIG_NET_SCH_NETEM. Some kernels (e.g. this project's firecracker VMs)
# have tbf but no netem. Without netem:
#   - loss is still made, on the uplink, by an htb root whose cls_bpf filter
#     (classic BPF, "ld rand") sends L% of packets to a class whose leaf is
#     `pfifo limit 0` (drops all); the rest go to class 1:1 whose leaf is
#     the tbf. Needs CONFIG_NET_SCH_HTB and CONFIG_NET_CLS_BPF.
#   - delay cannot be made in the kernel at all: a run asking for
#     --delay-ms is refused (exit 3) unless --best-effort is given, which
#     applies rate and loss only and says so in NEARCAST_SHAPING
#     ("delay=none"), so a benchmark can label its numbers honestly.
#
# How the namespaces are made: the hub is made like netns-run.sh, with
# unshare(1): new network, PID and mount namespaces whose init is this script.
# Viewer namespaces are made with `ip netns add`, which bind-mounts them under
# /run/netns. To keep those mounts (and the names ncv<i>) private to this run,
# the script first mounts a fresh tmpfs on /run/netns inside the hub's private
# mount namespace (the host only ever sees an empty /run/netns directory, the
# same one `ip netns` itself would create). Processes started with
# `ip netns exec ncv<i>` change only their network namespace, so they stay in
# the hub's PID namespace: when CMD exits the kernel kills every process left
# (stray browsers included) and all namespaces disappear. The EXIT trap also
# deletes them explicitly.
#
# CMD sees:
#   NEARCAST_TOPOLOGY=1
#   NEARCAST_HUB_ADDR=10.78.0.1          where viewers reach the servers
#   NEARCAST_VIEWERS=N
#   NEARCAST_VIEWER_NS_PREFIX=ncv        viewer i is netns "ncv$i"
#   NEARCAST_VIEWER_ADDRS="10.78.0.11 ..." viewer i's address is word i
#   NEARCAST_TOPOLOGY_SCRIPT=<this script, absolute>
#   NEARCAST_SHAPING="up=Kkbit delay=Dms loss=L%" (what was really applied;
#                    "none" for a part that was not, e.g. delay without netem)
# To run a program (e.g. a browser) in viewer i, CMD runs either
#   ip netns exec "ncv$i" chromium --headless --no-sandbox ... http://10.78.0.1:PORT/
# or, equivalently,
#   "$NEARCAST_TOPOLOGY_SCRIPT" exec "$i" chromium --headless ...
# (backgrounded with & as needed). Each viewer runs its own browser process.
# Needs root, unshare (util-linux), ip and tc (iproute2).
set -euo pipefail

readonly BR=ncbr0 HUB_ADDR=10.78.0.1 PREFIX=ncv MAX_VIEWERS=200

die() {
	echo "netns-topology: $*" >&2
	exit 2
}

usage() {
	cat >&2 <<-EOF
	usage: $0 run N [--up-kbit K] [--delay-ms D] [--loss-pct L] [--best-effort] -- CMD [ARG...]
	       $0 exec I PROG [ARG...]    (inside CMD: run PROG in viewer namespace ncv<I>)
	EOF
	exit 2
}

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
is_num() { [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

# parse_run N [flags] -- CMD...: sets VIEWERS UP_KBIT DELAY_MS LOSS_PCT
# BEST_EFFORT and CMD (array).
parse_run() {
	[ $# -ge 1 ] || usage
	VIEWERS=$1
	shift
	is_uint "$VIEWERS" && [ "$VIEWERS" -ge 1 ] && [ "$VIEWERS" -le "$MAX_VIEWERS" ] ||
		die "N must be an integer from 1 to $MAX_VIEWERS, got '$VIEWERS'"
	UP_KBIT=0 DELAY_MS=0 LOSS_PCT=0 BEST_EFFORT=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--up-kbit) [ $# -ge 2 ] || usage; UP_KBIT=$2; shift 2 ;;
		--delay-ms) [ $# -ge 2 ] || usage; DELAY_MS=$2; shift 2 ;;
		--loss-pct) [ $# -ge 2 ] || usage; LOSS_PCT=$2; shift 2 ;;
		--best-effort) BEST_EFFORT=1; shift ;;
		--) shift; break ;;
		*) die "unknown option '$1' (did you forget -- before CMD?)" ;;
		esac
	done
	[ $# -ge 1 ] || usage
	is_uint "$UP_KBIT" || die "--up-kbit must be an integer (kbit/s; 0 = no cap)"
	is_uint "$DELAY_MS" || die "--delay-ms must be an integer (ms of added RTT)"
	is_num "$LOSS_PCT" || die "--loss-pct must be a number (percent)"
	CMD=("$@")
}

# has_netem: can this kernel make a netem qdisc? Probed on the hub's lo,
# which is private to this run.
has_netem() {
	if tc qdisc add dev lo root handle 1: netem delay 1ms 2>/dev/null; then
		tc qdisc del dev lo root 2>/dev/null || true
		return 0
	fi
	return 1
}

cleanup() {
	local i
	for ((i = 1; i <= VIEWERS; i++)); do
		ip netns del "$PREFIX$i" 2>/dev/null || true
	done
	ip link del "$BR" 2>/dev/null || true
}

inside_hub() {
	parse_run "$@"

	ip link set lo up
	# A private /run/netns: see the header. The mount namespace is private
	# (unshare's default propagation), so nothing shows on the host.
	mount -t tmpfs -o mode=0755,size=1m nearcast-netns /run/netns

	local netem=0 up_applied=none delay_applied=none loss_applied=none
	has_netem && netem=1
	local want_netem=0 want_loss=0
	if awk -v l="$LOSS_PCT" 'BEGIN { exit !(l > 0) }'; then want_loss=1; fi
	if [ "$DELAY_MS" != 0 ] || [ "$want_loss" = 1 ]; then want_netem=1; fi
	if [ "$DELAY_MS" != 0 ] && [ "$netem" = 0 ]; then
		if [ "$BEST_EFFORT" = 1 ]; then
			echo "netns-topology: WARNING: kernel has no netem qdisc (CONFIG_NET_SCH_NETEM);" \
				"--delay-ms NOT applied, only rate cap and loss (--best-effort)" >&2
		else
			echo "netns-topology: kernel has no netem qdisc (CONFIG_NET_SCH_NETEM), so" \
				"--delay-ms $DELAY_MS cannot be applied." \
				"Use --best-effort to run with rate cap and loss only." >&2
			exit 3
		fi
	fi
	# Without netem, loss: a packet is dropped when a random u32 >= T.
	# %.0f, not %d: mawk clamps %d to 2^31-1.
	local thresh
	thresh=$(awk -v l="$LOSS_PCT" 'BEGIN { printf "%.0f", (1 - l / 100) * 4294967296 }')

	trap cleanup EXIT

	ip link add "$BR" type bridge
	ip addr add "$HUB_ADDR/24" dev "$BR"
	ip link set "$BR" up

	# Half the added RTT on each direction of the viewer's link.
	local half_us=$((DELAY_MS * 500))
	# tbf burst: 10 ms worth of rate, at least 2 full-size frames (tbf needs
	# burst >= MTU; larger GSO packets are segmented by tbf itself).
	local burst=$((UP_KBIT * 125 / 100))
	[ "$burst" -ge 3200 ] || burst=3200

	local i ns host addrs=()
	for ((i = 1; i <= VIEWERS; i++)); do
		ns=$PREFIX$i host=$PREFIX${i}h
		ip netns add "$ns"
		# Create the pair with the viewer end directly in the viewer netns.
		ip link add "$host" type veth peer name eth0 netns "$ns"
		ip link set "$host" master "$BR"
		ip link set "$host" up
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "10.78.0.$((10 + i))/24" dev eth0
		ip -n "$ns" link set eth0 up
		# A default route makes Chromium gather the eth0 host candidate.
		ip -n "$ns" route add default via "$HUB_ADDR" dev eth0
		addrs+=("10.78.0.$((10 + i))")

		# Uplink: viewer eth0 egress.
		local parent=root
		if [ "$netem" = 1 ] && [ "$want_netem" = 1 ]; then
			tc -n "$ns" qdisc add dev eth0 root handle 1: netem \
				delay "${half_us}us" loss "${LOSS_PCT}%"
			parent="parent 1:1"
		elif [ "$want_loss" = 1 ]; then
			# No netem: htb + random classifier, see the header. Class
			# rates are far above any cap; the tbf below does the capping.
			tc -n "$ns" qdisc add dev eth0 root handle 1: htb default 1
			tc -n "$ns" class add dev eth0 parent 1: classid 1:1 htb rate 10gbit quantum 200000
			tc -n "$ns" class add dev eth0 parent 1: classid 1:2 htb rate 10gbit quantum 200000
			tc -n "$ns" qdisc add dev eth0 parent 1:2 handle 20: pfifo limit 0
			# cBPF: A = random u32; if A >= thresh return classid 1:2
			# (0x10002, dropped) else return 0 (no match: default 1:1).
			tc -n "$ns" filter add dev eth0 parent 1: protocol all prio 1 bpf \
				bytecode "4,32 0 0 4294963256,53 0 1 $thresh,6 0 0 65538,6 0 0 0" flowid 1:1
			parent="parent 1:1"
		fi
		if [ "$UP_KBIT" != 0 ]; then
			# shellcheck disable=SC2086 # $parent is one or two words
			tc -n "$ns" qdisc add dev eth0 $parent handle 10: tbf \
				rate "${UP_KBIT}kbit" burst "$burst" latency 100ms
		fi
		# Downlink: the hub-side veth's egress (bridge -> viewer).
		if [ "$netem" = 1 ] && [ "$DELAY_MS" != 0 ]; then
			tc qdisc add dev "$host" root handle 1: netem delay "${half_us}us"
		fi
	done
	if [ "$UP_KBIT" != 0 ]; then up_applied="${UP_KBIT}kbit"; fi
	if [ "$netem" = 1 ] && [ "$DELAY_MS" != 0 ]; then delay_applied="${DELAY_MS}ms"; fi
	if [ "$want_loss" = 1 ]; then loss_applied="${LOSS_PCT}%"; fi

	export NEARCAST_TOPOLOGY=1 NEARCAST_HUB_ADDR="$HUB_ADDR" NEARCAST_VIEWERS="$VIEWERS"
	export NEARCAST_VIEWER_NS_PREFIX="$PREFIX" NEARCAST_VIEWER_ADDRS="${addrs[*]}"
	export NEARCAST_TOPOLOGY_SCRIPT="$SELF"
	export NEARCAST_SHAPING="up=$up_applied delay=$delay_applied loss=$loss_applied"

	# Not exec: this shell is PID 1 of the namespace, and PID 1 ignores
	# signals it has no handler for. Run CMD as a child and forward them.
	"${CMD[@]}" &
	child=$!
	trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
	rc=0
	wait "$child" || rc=$?
	# wait returns early (>128) when a trapped signal arrives; wait again.
	while kill -0 "$child" 2>/dev/null; do
		rc=0
		wait "$child" || rc=$?
	done
	exit "$rc"
}

SELF=$(readlink -f "$0")

case "${1:-}" in
--inside-hub)
	shift
	inside_hub "$@"
	;;
exec)
	shift
	[ $# -ge 2 ] || usage
	[ "${NEARCAST_TOPOLOGY:-}" = 1 ] || die "exec works only inside '$0 run ... -- CMD'"
	is_uint "$1" && [ "$1" -ge 1 ] && [ "$1" -le "${NEARCAST_VIEWERS:-0}" ] ||
		die "viewer must be 1..${NEARCAST_VIEWERS:-0}, got '$1'"
	ns=$PREFIX$1
	shift
	exec ip netns exec "$ns" "$@"
	;;
run)
	shift
	parse_run "$@" # validate before entering the namespace
	if [ "$(id -u)" != 0 ]; then
		die "must run as root (unshare, ip netns and tc need CAP_SYS_ADMIN/CAP_NET_ADMIN)"
	fi
	for tool in unshare ip tc mount awk; do
		command -v "$tool" >/dev/null 2>&1 ||
			die "$tool not found (ip and tc: apt-get install iproute2; unshare, mount: util-linux)"
	done
	# /run/netns must exist as a mount point; this is what `ip netns add`
	# would create on the host anyway. It stays empty on the host.
	mkdir -p /run/netns
	exec unshare --net --pid --fork --mount-proc --kill-child -- \
		bash "$SELF" --inside-hub "$@"
	;;
*)
	usage
	;;
esac
