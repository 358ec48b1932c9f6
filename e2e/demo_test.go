//go:build e2e

package e2e

import (
	"net/url"
	"testing"
	"time"
)

// The demo-page scenarios: `nearcast demo` serves the page, the shim, the
// WASM engine, hls.js and the 60 s VOD sample (out/media/vod/master.m3u8, `make media`); the
// page's test hooks are in docs/wasm-api.md, section 3.

const (
	vodSeconds   = 60
	demoViewers  = 4
	demoStagger  = 4 * time.Second
	demoTimeout  = vodSeconds*time.Second + 60*time.Second // per viewer, from navigation
	minP2PShare  = 0.50
	demoMaxBuf   = "8"
	killViewer   = 0
	killAfterSec = 24 // the 4th viewer started at 12 s; viewer 0 is ~22 s into the stream
)

// startDemoSite starts `nearcast demo` for the demo scenarios.
func startDemoSite(t *testing.T, dir string) *site {
	t.Helper()
	requireEnv(t)
	requireFiles(t, demoFiles())
	s, err := startDemo(t, dir, demoArgs())
	if err != nil {
		t.Fatalf("nearcast demo: %v", err)
	}
	return s
}

func demoURL(s *site, q url.Values) string {
	q.Set("maxBuffer", demoMaxBuf)
	q.Set("muted", "1")
	return pageURL(s.base, "/", q)
}

// runDemoSwarm is scenarios 1 and 2: four viewers, 4 s apart, each plays to
// the end with no stall after its first frame, and at least half of all
// media bytes come from peers.
func runDemoSwarm(t *testing.T, name string, q url.Values) {
	dir := outDir(t, name)
	sum, _ := runVODSwarm(t, name, dir, startDemoSite(t, dir), q, demoViewers)
	if sum.P2PShare < minP2PShare {
		t.Errorf("P2P share over all viewers %.1f%%, want >= %.0f%%", 100*sum.P2PShare, 100*minP2PShare)
	}
}

// runVODSwarm has n viewers, demoStagger apart, play the page with query q
// on site s to the end, each with no stall after its first frame.
func runVODSwarm(t *testing.T, name, dir string, s *site, q url.Values, n int) (*summary, []*viewerResult) {
	t.Helper()
	sc := &scenario{
		name:        name,
		viewers:     n,
		stagger:     demoStagger,
		url:         func(int) string { return demoURL(s, q) },
		playTimeout: demoTimeout,
	}
	results := sc.run(t, dir)
	sum := summarize(t, dir, name, results, s)
	for _, r := range results {
		checkPlayedThrough(t, r)
	}
	return sum, results
}

// TestDemoSwarmESM is scenario 1 (hls.js ESM build, the default).
func TestDemoSwarmESM(t *testing.T) {
	runDemoSwarm(t, "demo-swarm-esm", url.Values{})
}

// TestDemoSwarmScriptTag is scenario 2: hls.js's script-tag build, which
// transmuxes in a Web Worker and detaches the buffers it is handed.
func TestDemoSwarmScriptTag(t *testing.T) {
	runDemoSwarm(t, "demo-swarm-script", url.Values{"build": {"script"}})
}

// TestDemoViewerKilled is scenario 3: viewer 0's browser process is
// SIGKILLed mid-stream; the others play on to the end with no stall.
func TestDemoViewerKilled(t *testing.T) {
	const name = "demo-viewer-killed"
	dir := outDir(t, name)
	s := startDemoSite(t, dir)
	sc := &scenario{
		name:        name,
		viewers:     demoViewers,
		stagger:     demoStagger,
		url:         func(int) string { return demoURL(s, url.Values{}) },
		playTimeout: demoTimeout,
		kill:        &killPlan{viewer: killViewer, at: killAfterSec * time.Second},
	}
	results := sc.run(t, dir)
	summarize(t, dir, name, results, s)
	for _, r := range results {
		if r.Viewer == killViewer {
			if !r.killedFlag.Load() {
				t.Errorf("viewer %d was not killed", r.Viewer)
			}
			if r.Ended {
				t.Errorf("viewer %d ended before it was killed at %d s: the kill was not mid-stream", r.Viewer, killAfterSec)
			}
			// Killing a viewer that served nobody proves nothing.
			if r.Uploaded == 0 {
				t.Errorf("viewer %d had uploaded nothing when it was killed: no peer depended on it", r.Viewer)
			}
			continue
		}
		checkPlayedThrough(t, r)
	}
}

// TestDemoNoWebRTC is scenario 4: a browser without RTCPeerConnection
// (nortc=1) plays from the CDN only, to the end.
func TestDemoNoWebRTC(t *testing.T) {
	const name = "demo-no-webrtc"
	dir := outDir(t, name)
	s := startDemoSite(t, dir)
	sc := &scenario{
		name:        name,
		viewers:     1,
		url:         func(int) string { return demoURL(s, url.Values{"nortc": {"1"}}) },
		playTimeout: demoTimeout,
	}
	results := sc.run(t, dir)
	sum := summarize(t, dir, name, results, s)
	r := results[0]
	checkPlayedThrough(t, r)
	if r.Last != nil && r.Last.Supported {
		t.Errorf("the page reports supported=true without RTCPeerConnection")
	}
	if r.PeerBytes != 0 || r.Uploaded != 0 {
		t.Errorf("peer bytes %.0f, uploaded %.0f without RTCPeerConnection, want 0", r.PeerBytes, r.Uploaded)
	}
	if r.CDNBytes == 0 {
		t.Errorf("no CDN bytes counted: the page's bytes.cdn must count plain loads too")
	}
	if sum.Origin != nil && sum.Origin.Bytes == 0 {
		t.Errorf("the demo origin served no media bytes")
	}
}

// TestDemoPlainHlsBaseline plays the same page with nearcast off (p2p=0,
// plain hls.js from the CDN): the reference for time to first frame and
// stalls that the nearcast scenarios are compared with.
func TestDemoPlainHlsBaseline(t *testing.T) {
	const name = "demo-plain-hls"
	dir := outDir(t, name)
	s := startDemoSite(t, dir)
	sc := &scenario{
		name:        name,
		viewers:     1,
		url:         func(int) string { return demoURL(s, url.Values{"p2p": {"0"}}) },
		playTimeout: demoTimeout,
	}
	results := sc.run(t, dir)
	summarize(t, dir, name, results, s)
	r := results[0]
	checkPlayedThrough(t, r)
	if r.PeerBytes != 0 || r.CDNBytes == 0 {
		t.Errorf("plain hls.js: peer bytes %.0f, CDN bytes %.0f", r.PeerBytes, r.CDNBytes)
	}
}
