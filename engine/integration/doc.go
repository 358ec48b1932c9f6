// Package integration holds the engine's tier-b tests: real engines with
// native pion WebRTC links (loopback-only ICE) and the real signaling
// server in-process, playing synthetic streams from a loopback CDN. It has
// no non-test code.
package integration
