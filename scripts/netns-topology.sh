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
# have tbf but no netem (and no fq, so no EDT pacing either). Without netem:
#   - loss is still made, on the uplink, by an htb root whose cls_bpf filter
#     (classic BPF, "ld rand") sends L% of packets to a class whose leaf is
#     `pfifo limit 0` (drops all); the rest go to class 1:1 whose leaf is
#     the tbf. Needs CONFIG_NET_SCH_HTB and CONFIG_NET_CLS_BPF.
#   - delay is made in userspace by a relay, netdelay (e2e/tools/netdelay,
#     built with `go build -o bin/netdelay ./e2e/tools/netdelay`; the path
#     can be set with NEARCAST_NETDELAY). Each viewer's link then has two
#     veth pairs and the relay between them, all hub ends in the hub:
#
#       eth0 (ncv<i>) ══veth══ ncv<i>h ─ netdelay ─ ncv<i>r ══veth══ ncv<i>b ─ ncbr0
#
#     ncv<i>h and ncv<i>r are not on the bridge and have no address, no
#     ARP, no IPv6 and an ingress filter that drops everything, so the
#     hub's own stack ignores them; only the relay's AF_PACKET sockets (which
#     see frames before the ingress filter) carry traffic. The relay holds
#     every frame for D/2 in each direction (in order, bounded queue, drops
#     counted), which gives the same RTT as the netem design above: +D
#     viewer<->hub, +2*D viewer<->viewer. Frames leave on average
#     ~0.05 ms after their due time (30 Mbit/s UDP and 280 Mbit/s TCP
#     measured on a busy 2-core VM); a few in a thousand leave 1-15 ms late
#     when the kernel does other work (e.g. the receiver's TCP processing)
#     inside the relay's send. Large TCP (GSO) segments pass intact
#     (PACKET_VNET_HDR). Uplink rate cap and loss stay on the viewer's eth0
#     as above, so they act before the relay's delay (netem applies them
#     around its own delay; with a fixed delay the result is the same).
#     One netdelay process per viewer (a crash or a full queue stays with
#     one viewer and its counters are per viewer), run at SCHED_FIFO
#     priority 10 (chrt; else nice -10) so busy browsers cannot hold frames
#     back, started before CMD and stopped (TERM, it then prints its
#     counters to stderr) when CMD exits; being in the hub's PID namespace,
#     none can outlive the run. NEARCAST_SHAPING then says
#     "delay=Dms(relay)".
#     If netdelay cannot run on this kernel (probed on a throw-away veth
#     pair), --delay-ms is refused (exit 3) unless --best-effort is given,
#     which applies rate and loss only and says so in NEARCAST_SHAPING
#     ("delay=none"), so a benchmark can label its numbers honestly. A
#     missing netdelay binary is a build error: exit 2, with or without
#     --best-effort.
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
#                    "none" for a part that was not; the delay reads
#                    "delay=Dms(relay)" when netdelay makes it, see above;
#                    in every case `delay=(\d+)ms` matches only an applied delay)
# To run a program (e.g. a browser) in viewer i, CMD runs either
#   ip netns exec "ncv$i" chromium --headless --no-sandbox ... http://10.78.0.1:PORT/
# or, equivalently,
#   "$NEARCAST_TOPOLOGY_SCRIPT" exec "$i" chromium --headless ...
# (backgrounded with & as needed). Each viewer runs its own browser process.
# Needs root, unshare (util-linux), ip and tc (iproute2); without netem and
# with --delay-ms, the netdelay binary.
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
	UP_KBIT=$((10#$UP_KBIT)) DELAY_MS=$((10#$DELAY_MS)) # "040" -> 40
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

# netdelay_path: where the relay binary is (see the header).
netdelay_path() {
	if [ -n "${NEARCAST_NETDELAY:-}" ]; then
		echo "$NEARCAST_NETDELAY"
	else
		echo "$(dirname "$(dirname "$SELF")")/bin/netdelay"
	fi
}

# start_relay A B HALF_US: starts netdelay between hub interfaces A and B,
# HALF_US µs each way, in the background (pid appended to RELAY_PIDS) and
# waits until its sockets are bound. Fails if it exits or is not ready
# within 5 s.
start_relay() {
	local ready=$RUNDIR/ready.$1 pid t
	"${RELAY_PRIO[@]}" "$NETDELAY" -a "$1" -b "$2" -delay-a2b "${3}us" -delay-b2a "${3}us" \
		-ready "$ready" &
	pid=$!
	RELAY_PIDS+=("$pid")
	for ((t = 0; t < 250; t++)); do
		[ -e "$ready" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# relay_port DEV: makes hub interface DEV a bare relay port, up: no
# address, no ARP, no IPv6, and an ingress filter dropping every frame
# (classic BPF "ret #2" = TC_ACT_SHOT in direct-action mode), so the hub's
# stack never sees the viewer's frames twice (e.g. a broadcast). Packet
# sockets see frames before ingress, so the relay still gets them all. The
# filter is hygiene, not needed for correctness: a kernel without it still
# works.
relay_port() {
	if [ -e "/proc/sys/net/ipv6/conf/$1/disable_ipv6" ]; then
		echo 1 >"/proc/sys/net/ipv6/conf/$1/disable_ipv6"
	fi
	ip link set "$1" arp off
	if tc qdisc add dev "$1" ingress 2>/dev/null; then
		tc filter add dev "$1" ingress prio 1 protocol all bpf da bytecode "1,6 0 0 2" 2>/dev/null || true
	fi
	ip link set "$1" up
}

# relay_prio: sets RELAY_PRIO, the command prefix that runs the relays
# ahead of ordinary processes (browsers): SCHED_FIFO 10 where allowed, else
# nice -10, else nothing. netem runs in the kernel's softirq context; with
# two busy processes on the 2-core VM a relay at normal priority sent frames
# 0.3 ms late on average (6-9 % over 1 ms), at SCHED_FIFO 0.04 ms (< 0.5 %
# over 1 ms). The relay sleeps in the kernel between frames, and the
# kernel caps real-time tasks (sched_rt_runtime_us) in any case.
relay_prio() {
	RELAY_PRIO=()
	if command -v chrt >/dev/null 2>&1 && chrt -f 10 true 2>/dev/null; then
		RELAY_PRIO=(chrt -f 10)
	elif nice -n -10 true 2>/dev/null; then
		RELAY_PRIO=(nice -n -10)
	fi
}

# relay_works: can netdelay run here? Probed on a throw-away veth pair.
relay_works() {
	local ok=0
	relay_prio
	ip link add ncprobe0 type veth peer name ncprobe1 || return 1
	ip link set ncprobe0 up
	ip link set ncprobe1 up
	start_relay ncprobe0 ncprobe1 1000 2>"$RUNDIR/probe.log" || ok=1
	stop_relays 2>>"$RUNDIR/probe.log"
	ip link del ncprobe0 2>/dev/null || true
	if [ "$ok" != 0 ]; then sed 's/^/netns-topology: probe: /' "$RUNDIR/probe.log" >&2; fi
	return "$ok"
}

# stop_relays: TERM every relay and wait, so their counters get printed.
stop_relays() {
	local pid
	for pid in "${RELAY_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${RELAY_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	RELAY_PIDS=()
}

RELAY_PIDS=() RELAY_PRIO=() RUNDIR=

cleanup() {
	local i
	stop_relays
	for ((i = 1; i <= VIEWERS; i++)); do
		ip netns del "$PREFIX$i" 2>/dev/null || true
		ip link del "$PREFIX${i}r" 2>/dev/null || true
	done
	ip link del "$BR" 2>/dev/null || true
	if [ -n "$RUNDIR" ]; then rm -rf "$RUNDIR"; fi
}

inside_hub() {
	parse_run "$@"

	ip link set lo up
	# A private /run/netns: see the header. The mount namespace is private
	# (unshare's default propagation), so nothing shows on the host.
	mount -t tmpfs -o mode=0755,size=1m nearcast-netns /run/netns

	local netem=0 relay=0 up_applied=none delay_applied=none loss_applied=none
	has_netem && netem=1
	local want_netem=0 want_loss=0
	if awk -v l="$LOSS_PCT" 'BEGIN { exit !(l > 0) }'; then want_loss=1; fi
	if [ "$DELAY_MS" != 0 ] || [ "$want_loss" = 1 ]; then want_netem=1; fi

	trap cleanup EXIT
	if [ "$DELAY_MS" != 0 ] && [ "$netem" = 0 ]; then
		# No netem: delay through the netdelay relay (see the header).
		NETDELAY=$(netdelay_path)
		[ -x "$NETDELAY" ] ||
			die "kernel has no netem qdisc, so --delay-ms needs the netdelay relay, but" \
				"'$NETDELAY' is missing or not executable. Build it with" \
				"'go build -o bin/netdelay ./e2e/tools/netdelay' in the repository" \
				"(or set NEARCAST_NETDELAY to its path)."
		RUNDIR=$(mktemp -d /tmp/nearcast-topology.XXXXXX)
		if relay_works; then
			relay=1
		elif [ "$BEST_EFFORT" = 1 ]; then
			echo "netns-topology: WARNING: kernel has no netem qdisc (CONFIG_NET_SCH_NETEM)" \
				"and the netdelay relay ($NETDELAY) does not run here;" \
				"--delay-ms NOT applied, only rate cap and loss (--best-effort)" >&2
		else
			echo "netns-topology: kernel has no netem qdisc (CONFIG_NET_SCH_NETEM) and" \
				"the netdelay relay ($NETDELAY) does not run here, so" \
				"--delay-ms $DELAY_MS cannot be applied." \
				"Use --best-effort to run with rate cap and loss only." >&2
			exit 3
		fi
	fi
	# Without netem, loss: a packet is dropped when a random u32 >= T.
	# %.0f, not %d: mawk clamps %d to 2^31-1.
	local thresh
	thresh=$(awk -v l="$LOSS_PCT" 'BEGIN { printf "%.0f", (1 - l / 100) * 4294967296 }')

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
		if [ "$relay" = 1 ]; then
			# eth0 == ncv<i>h - netdelay - ncv<i>r == ncv<i>b - bridge
			ip link add "$PREFIX${i}r" type veth peer name "$PREFIX${i}b"
			ip link set "$PREFIX${i}b" master "$BR"
			ip link set "$PREFIX${i}b" up
			relay_port "$host"
			relay_port "$PREFIX${i}r"
		else
			ip link set "$host" master "$BR"
			ip link set "$host" up
		fi
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
		# Or both directions through the relay (D/2 each way).
		if [ "$relay" = 1 ]; then
			start_relay "$host" "$PREFIX${i}r" "$half_us" ||
				die "netdelay between $host and $PREFIX${i}r did not start (see its error above)"
		fi
	done
	if [ "$UP_KBIT" != 0 ]; then up_applied="${UP_KBIT}kbit"; fi
	if [ "$netem" = 1 ] && [ "$DELAY_MS" != 0 ]; then delay_applied="${DELAY_MS}ms"; fi
	if [ "$relay" = 1 ]; then delay_applied="${DELAY_MS}ms(relay)"; fi
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
