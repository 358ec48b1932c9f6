//go:build e2e

// Package e2e holds nearcast's real-browser tests (test tier c): Debian's
// Chromium driven by chromedp, one browser process per viewer, playing HLS
// through the demo page and through p2p-media-loader against nearcast's
// signaling server.
//
// Every file carries the build tag e2e, so `go test ./...` never compiles the
// package. The tests must run inside the private network namespace that
// scripts/netns-run.sh creates (Chromium gathers no loopback ICE candidates,
// and test traffic may not leave the machine's loopback or the test's own
// namespace). Nothing can be downloaded in there, so build first:
//
//	scripts/install-browser.sh
//	(cd e2e && npm ci)          # e2e/.npmrc sets ignore-scripts
//	make build wasm shim media  # bin/nearcast, dist/, player-shim/dist/, out/media/
//	go test -c -tags e2e -o bin/e2e.test ./e2e
//	scripts/netns-run.sh bin/e2e.test -test.v -test.timeout 25m
//
// A missing browser, namespace or build output fails the test (TestPreflight
// lists them all with the make target that builds each); nothing skips, in
// CI (CI=true) or elsewhere.
//
// Results go to out/e2e/<test>/: viewer-N.json (the last page state plus
// derived numbers), viewer-N.console.log, viewer-N.chromium.log and
// summary.json.
//
// Environment: NEARCAST_CHROMIUM overrides /usr/bin/chromium; NEARCAST_BIN
// overrides bin/nearcast; NEARCAST_DIST and NEARCAST_MEDIA override dist/
// and out/media/ (passed to `nearcast demo` as --dist and --media);
// NEARCAST_E2E_OUT overrides out/e2e.
package e2e
