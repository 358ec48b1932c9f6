//go:build e2e

package e2e

import (
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"
)

// TestInteropP2PMediaLoader plays the VOD sample in two browsers with
// p2p-media-loader 2.3.x (hls.js ESM build), using nearcast's signaling
// server as their WebTorrent tracker, and checks that they exchange segments
// and both play to the end.
func TestInteropP2PMediaLoader(t *testing.T) {
	requireEnv(t)
	requireFiles(t, interopFiles)
	root := repoRoot(t)
	dir := outDir(t, "interop-p2pml")
	mediaDir, mediaPrefix := vodSource(t)
	mounts := []mount{
		{"/e2e/", filepath.Join(root, "e2e", "web")},
		{"/e2e-vendor/", filepath.Join(root, "e2e", "node_modules")},
	}
	if mediaPrefix != "/media/" {
		mounts = append(mounts, mount{mediaPrefix, mediaDir})
	}
	s, err := startDemo(t, dir, demoArgs(), mounts...)
	if err != nil {
		// The page needs only static files and /announce, which the
		// signaling server alone provides.
		t.Logf("nearcast demo is not usable (%v); serving the page from the test and using `nearcast serve` as the tracker", err)
		if mediaPrefix == "/media/" {
			mounts = append(mounts, mount{mediaPrefix, mediaDir})
		}
		s, err = startStatic(t, dir, true, mounts...)
		if err != nil {
			t.Fatal(err)
		}
	}
	swarm := fmt.Sprintf("nearcast-e2e-%d", time.Now().UnixNano())
	sc := &scenario{
		name:    "interop-p2pml",
		viewers: 2,
		stagger: 6 * time.Second,
		url: func(int) string {
			return pageURL(s.base, "/e2e/p2pml.html", url.Values{
				"src":       {mediaPrefix + "vod/master.m3u8"},
				"tracker":   {s.announce},
				"swarm":     {swarm},
				"maxBuffer": {"8"},
			})
		},
		playTimeout: 2 * time.Minute,
	}
	results := sc.run(t, dir)
	sum := summarize(t, dir, sc.name, results, s)
	for _, r := range results {
		if r.PollError != "" || r.Last == nil || len(r.Errors) > 0 || !r.Ended {
			checkPlayedThrough(t, r) // reports why
		} else if r.Stalls > 0 {
			// p2p-media-loader's own scheduling is not under test: log it.
			t.Logf("viewer %d: %d stalls (%.0f ms) with p2p-media-loader", r.Viewer, r.Stalls, r.StallMs)
		}
	}
	if sum.PeerBytes == 0 {
		t.Errorf("no bytes moved between the p2p-media-loader peers through nearcast's tracker")
	}
}
