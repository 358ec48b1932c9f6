#!/usr/bin/env bash
# Installs what `make test` needs on a Debian machine, as root, when missing.
# Idempotent: a machine that has everything is left alone.
set -euo pipefail

need_go="1.26"
if ! command -v go >/dev/null 2>&1; then
	echo "deps: Go $need_go or newer is required (https://go.dev/doc/install)" >&2
	exit 1
fi
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need_go" "$have" | sort -V | head -n1)" != "$need_go" ]; then
	echo "deps: Go $need_go or newer is required, found $have" >&2
	exit 1
fi
go mod download

# Node.js and npm build and test the player shim.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: Node.js and npm are required (as root this script installs Debian's)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	for i in 1 2 3; do
		apt-get update && apt-get install -y --no-install-recommends nodejs npm && break
		[ "$i" = 3 ] && { echo "deps: installing nodejs/npm failed" >&2; exit 1; }
		dpkg --configure -a || true
		sleep $((i * 5))
	done
fi
echo "deps: ok (go $have, node $(node --version))"
