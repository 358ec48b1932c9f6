#!/usr/bin/env bash
# Installs what the real-browser tests (e2e/) need on a Debian machine, as root:
# Chromium, ffmpeg (media fixtures), brotli (size reports), iproute2 (`ip`
# and `tc`, for scripts/netns-run.sh and scripts/netns-topology.sh) and
# python3 (the probes of scripts/netns-topology-test.sh). Idempotent: when
# everything is present it does nothing and touches no network.
#
# apt is retried: on these machines the first install once failed with a dpkg
# "cannot access archive" error and succeeded on the second try.
set -euo pipefail

packages=(chromium ffmpeg brotli iproute2 python3)

missing() {
	[ -x /usr/bin/chromium ] || return 0
	command -v ffmpeg >/dev/null 2>&1 || return 0
	command -v brotli >/dev/null 2>&1 || return 0
	command -v ip >/dev/null 2>&1 || return 0
	command -v tc >/dev/null 2>&1 || return 0
	command -v python3 >/dev/null 2>&1 || return 0
	return 1
}

if ! missing; then
	echo "install-browser: ok ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-browser: run as root to install: ${packages[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
attempts=4
for i in $(seq 1 "$attempts"); do
	if apt-get update && apt-get install -y --no-install-recommends "${packages[@]}"; then
		break
	fi
	if [ "$i" = "$attempts" ]; then
		echo "install-browser: apt-get failed $attempts times" >&2
		exit 1
	fi
	echo "install-browser: apt-get failed (attempt $i of $attempts), retrying" >&2
	# A half-finished dpkg run must be completed before the next try.
	dpkg --configure -a || true
	sleep $((i * 5))
done

if missing; then
	echo "install-browser: still missing something after install" >&2
	exit 1
fi
echo "install-browser: ok ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
