#!/usr/bin/env bash
# netns-run.sh CMD [ARG...] runs CMD inside a private, throw-away network
# namespace and exits with CMD's exit status.
#
# Why: browser WebRTC tests may only send traffic to loopback or to addresses
# inside namespaces the test run creates itself. Chromium never gathers
# loopback ICE candidates, so in the default namespace it would use the
# machine's external interface, which is forbidden. Inside this namespace the
# only interfaces are lo and a veth pair whose both ends live here:
#
#     nc0 10.77.0.1/24  <──veth──>  nc1 (no address)
#     default route via 10.77.0.2 dev nc0
#
# With only lo, Chromium gathers no candidates at all; the veth address and a
# default route make it gather 10.77.0.1 host candidates, so peers in the
# namespace connect to each other over 10.77.0.1. HTTP and WebSocket servers
# stay on 127.0.0.1. Nothing outside is reachable, so NOTHING CAN BE
# DOWNLOADED inside: build everything before (go build, go test -c, npm ci).
#
# The namespace is made with unshare(1): a new network namespace plus a new
# PID namespace whose init is this script. When CMD exits, the script exits,
# the kernel kills every process left in the PID namespace (stray browsers
# included), and the network namespace disappears with its last process.
#
# CMD sees NEARCAST_NETNS=1 and NEARCAST_NETNS_IF=nc0, which e2e's preflight
# checks together with the default route. Needs root, unshare (util-linux)
# and ip (iproute2; scripts/install-browser.sh installs it).
set -euo pipefail

readonly IF=nc0 PEER=nc1 ADDR=10.77.0.1/24 GW=10.77.0.2

if [ "${1:-}" = "--inside-netns" ]; then
	shift
	ip link set lo up
	ip link add "$IF" type veth peer name "$PEER"
	ip addr add "$ADDR" dev "$IF"
	ip link set "$IF" up
	ip link set "$PEER" up
	ip route add default via "$GW" dev "$IF"
	export NEARCAST_NETNS=1 NEARCAST_NETNS_IF="$IF"
	# Not exec: this shell is PID 1 of the namespace, and PID 1 ignores
	# signals it has no handler for. Run CMD as a child and forward them.
	"$@" &
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
fi

if [ $# -eq 0 ]; then
	echo "usage: $0 CMD [ARG...]" >&2
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	echo "netns-run: must run as root (unshare -n needs CAP_SYS_ADMIN)" >&2
	exit 2
fi
for tool in unshare ip; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "netns-run: $tool not found (run scripts/install-browser.sh)" >&2
		exit 2
	fi
done

self=$(readlink -f "$0")
exec unshare --net --pid --fork --mount-proc --kill-child -- bash "$self" --inside-netns "$@"
