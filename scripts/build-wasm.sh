#!/usr/bin/env bash
# Builds the browser engine: dist/nearcast.wasm and dist/wasm_exec.js.
# Prints its raw, gzip -9 and brotli -q 11 sizes, writes them to
# out/wasm-size.json, and fails when the brotli size exceeds
# WASM_BUDGET_BROTLI bytes (default 700000).
#
#   scripts/build-wasm.sh            (from anywhere inside the repository)
#   WASM_BUDGET_BROTLI=800000 scripts/build-wasm.sh
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
budget=${WASM_BUDGET_BROTLI:-700000}

if ! command -v brotli >/dev/null 2>&1; then
	echo "build-wasm: the brotli CLI is required to measure the WASM size (Debian: apt-get install brotli)" >&2
	exit 1
fi
if ! [[ $budget =~ ^[0-9]+$ ]]; then
	echo "build-wasm: WASM_BUDGET_BROTLI must be a number of bytes, got '$budget'" >&2
	exit 1
fi

mkdir -p dist out
GOOS=js GOARCH=wasm "$GO" build -trimpath -ldflags='-s -w' -o dist/nearcast.wasm ./wasm
cp "$("$GO" env GOROOT)/lib/wasm/wasm_exec.js" dist/wasm_exec.js

raw=$(wc -c <dist/nearcast.wasm)
gz=$(gzip -9 -c dist/nearcast.wasm | wc -c)
br=$(brotli -q 11 -c dist/nearcast.wasm | wc -c)
raw=$((raw)) gz=$((gz)) br=$((br)) # strip wc's padding

printf '%-22s %12s\n' "dist/nearcast.wasm" "bytes"
printf '%-22s %12d\n' "raw" "$raw" "gzip -9" "$gz" "brotli -q 11" "$br"
printf '%-22s %12d\n' "brotli budget" "$budget"

over=false
if [ "$br" -gt "$budget" ]; then
	over=true
fi
cat >out/wasm-size.json <<EOF
{"file": "dist/nearcast.wasm", "go": "$("$GO" env GOVERSION)", "raw": $raw, "gzip": $gz, "brotli": $br, "budget_brotli": $budget, "over_budget": $over}
EOF

if $over; then
	echo "build-wasm: brotli size $br bytes exceeds the budget of $budget bytes (WASM_BUDGET_BROTLI)" >&2
	exit 1
fi
