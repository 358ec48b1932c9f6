//go:build js && wasm

// Command wasm is nearcast's engine built for the browser
// (GOOS=js GOARCH=wasm): the only package that touches syscall/js.
//
// It implements the engine's ports on the page's APIs — engine.Dialer,
// Pending and Link on RTCPeerConnection and RTCDataChannel (RFC 8831), the
// tracker client's Conn on WebSocket (RFC 6455), engine.Fetcher on fetch —
// and installs the JS API globalThis.__nearcastWasm described in
// docs/wasm-api.md, section 1, which the player shim drives.
//
// House rules for this package: no JS callback blocks (handlers copy what
// they need and hand off to goroutines; results are Promises); bytes cross
// the boundary once, and what the player gets is a fresh copy; fmt and
// encoding/json stay out of the binary (scripts/build-wasm.sh measures its
// size).
package main

import "syscall/js"

func main() {
	js.Global().Set("__nearcastWasm", newAPI(browserPorts).object())
	select {} // serve JS calls forever; main never returns
}
