# nearcast — build, test and run.
#
#   make demo    build everything and serve the demo (page, shim, WASM,
#                signaling and a sample stream on one port)
#   make test    install what is missing, then run every test, real-browser
#                tests included
#
# Go tests run with the race detector; the fuzz targets' seed corpora run as
# ordinary tests. `make fuzz` fuzzes for FUZZTIME per target.

GO       ?= go
FUZZTIME ?= 5m
ADDR     ?= 127.0.0.1:8080
MEDIA    ?= out/media
GOROOT_WASM := $(shell $(GO) env GOROOT)/lib/wasm

export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build test lint deps unit js-test wasm-test wasm shim media e2e-build e2e netns-test \
	bench fuzz demo bench-signaling clean

all: build wasm shim

build:
	$(GO) build -o bin/nearcast ./cmd/nearcast

## deps: install what the tests need (idempotent): Go modules, Chromium,
## ffmpeg, brotli, iproute2, and the npm packages of the shim and e2e.
deps:
	./scripts/deps.sh
	./scripts/install-browser.sh
	cd player-shim && npm ci --no-audit --no-fund --loglevel=error
	cd e2e && npm ci --no-audit --no-fund --loglevel=error

## test: lint, unit tests (Go, JS, WASM under Node), then the browser tests.
test: deps lint unit js-test wasm-test netns-test e2e

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

js-test: shim
	cd player-shim && npm test

wasm-test:
	PATH="$(PATH):$(GOROOT_WASM)" GOOS=js GOARCH=wasm $(GO) test -count=1 ./wasm/

## lint: gofmt, and go vet for the host and for js/wasm.
lint:
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path '*/node_modules/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...

## wasm: the engine for the browser; prints raw/gzip/brotli sizes and fails
## over the budget.
wasm:
	./scripts/build-wasm.sh

## shim: the player shim bundles (ESM, script tag, types).
shim:
	cd player-shim && npm ci --no-audit --no-fund --loglevel=error && npm run build

## media: the 60 s two-rendition sample stream (ffmpeg).
media:
	./scripts/make-media.sh $(MEDIA)

e2e-build: deps build wasm shim media
	$(GO) test -c -tags e2e -o bin/e2e.test ./e2e
	$(GO) build -o bin/netdelay ./e2e/tools/netdelay

## netns-test: the self-test of the per-viewer shaped topology that make
## bench's scenario 3 uses (rate cap, loss, and delay through bin/netdelay
## where the kernel has no netem): measured RTTs, loss and rates. Root.
netns-test: deps
	$(GO) build -o bin/netdelay ./e2e/tools/netdelay
	NEARCAST_NETDELAY=$(CURDIR)/bin/netdelay bash scripts/netns-topology-test.sh

## e2e: real Chromium, one process per viewer, inside a private network
## namespace (scripts/netns-run.sh). Everything is built before entering it.
e2e: e2e-build
	./scripts/netns-run.sh bin/e2e.test -test.v -test.count=1 -test.timeout 45m

## bench: the side-by-side browser benchmark (plain hls.js, nearcast,
## p2p-media-loader with npm bittorrent-tracker) over four scenarios (VOD,
## live, shaped, churn); BENCH_REPEAT=k repeats it, BENCH_ARMS and
## BENCH_SCENARIOS pick parts. Prints tables and writes out/bench/*.json.
bench: e2e-build
	$(GO) test -c -tags 'e2e bench' -o bin/bench.test ./e2e
	./scripts/bench-browser.sh

## fuzz: run each fuzz target for FUZZTIME.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./signaling/wtproto
	$(GO) test -run='^$$' -fuzz='^FuzzFrameGate$$' -fuzztime=$(FUZZTIME) ./signaling
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./engine/peerwire
	$(GO) test -run='^$$' -fuzz='^FuzzAssembler$$' -fuzztime=$(FUZZTIME) ./engine/peerwire
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./engine/tracker

## demo: build everything and serve the demo on ADDR.
demo: deps build wasm shim media
	./bin/nearcast demo --addr $(ADDR) --media $(MEDIA)

## bench-signaling: nearcast's signaling server against npm bittorrent-tracker,
## same load, same machine (servers on CPU 0, load generator on CPU 1): peak
## throughput per core, latency at half peak, memory per idle connection up to
## 100k. Prints a table, writes out/bench/signaling.json (about 2 min, at most
## 12; needs 2 CPUs; root for the descriptor limits).
## BENCH_SIGNALING_FLAGS=--quick: under a minute.
bench-signaling: build
	./scripts/bench-signaling.sh $(BENCH_SIGNALING_FLAGS)

clean:
	rm -rf bin out dist player-shim/dist
