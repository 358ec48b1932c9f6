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
echo "deps: ok (go $have)"
