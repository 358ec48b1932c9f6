# nearcast — build, test and run.
#
#   make demo    build everything and serve the demo
#   make test    install what is missing, then run every test
#
# Go tests run with the race detector; the fuzz targets' seed corpora run as
# ordinary tests. `make fuzz` fuzzes for FUZZTIME per target.

GO       ?= go
FUZZTIME ?= 5m
ADDR     ?= 127.0.0.1:8080

export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build test lint deps fuzz demo serve bench-signaling clean

all: build

build:
	$(GO) build -o bin/nearcast ./cmd/nearcast

## deps: install the tools the tests need (idempotent).
deps:
	./scripts/deps.sh

## test: lint, then every test (race detector on).
test: deps lint
	$(GO) test -race -count=1 -timeout 20m ./...

## lint: gofmt, and go vet for the host and for js/wasm.
lint:
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...

## fuzz: run each fuzz target for FUZZTIME.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./signaling/wtproto
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./engine/peerwire
	$(GO) test -run='^$$' -fuzz='^FuzzAssembler$$' -fuzztime=$(FUZZTIME) ./engine/peerwire

## demo: for now, the signaling server alone on ADDR (the demo page and
## sample stream come with the browser engine).
demo: build
	./bin/nearcast serve --addr $(ADDR)

## bench-signaling: handshake latency and memory per idle connection.
bench-signaling: build
	./scripts/bench-signaling.sh

clean:
	rm -rf bin out
