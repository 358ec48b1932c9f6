//go:build e2e && bench

package e2e

import (
	"errors"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// The scenarios of `make bench` (scripts/bench-browser.sh). Each one runs
// every arm selected by BENCH_ARMS (default all), BENCH_REPEAT times.

// TestBenchVOD is scenario 1: four viewers of the 60 s VOD sample, 4 s
// apart, no shaping (limit 75 %).
func TestBenchVOD(t *testing.T) {
	requireEnv(t)
	spec := vodSpec()
	arms := selectedArms()
	report(t, spec, arms, runBench(t, spec, arms, benchRepeat()))
}

// TestBenchDASH is scenario 1 on the DASH sample with Shaka Player:
// four viewers, 4 s apart, no shaping. p2p-media-loader's hls.js
// integration cannot play DASH, so only the CDN-only and nearcast arms run.
func TestBenchDASH(t *testing.T) {
	requireEnv(t)
	requireFiles(t, playerFiles())
	spec := vodSpec()
	spec.scenario, spec.src, spec.player = "dash-vod-4", "/media/dash/manifest.mpd", "shaka"
	var arms []arm
	for _, a := range selectedArms() {
		if a.name != "p2p-media-loader" {
			arms = append(arms, a)
		}
	}
	report(t, spec, arms, runBench(t, spec, arms, benchRepeat()))
}

const (
	liveViewers = 6
	liveStagger = 4 * time.Second // six viewers join over 20 s
	liveEnd     = 60 * time.Second
)

// liveSpec is scenario 2: six viewers join the live stream (a sliding
// window over the sample, `nearcast demo`'s /media/live/) over 20 s and
// watch until 60 s after the first joined.
func liveSpec() benchSpec {
	return benchSpec{
		scenario: "live-6", src: "/media/live/master.m3u8", viewers: liveViewers, concurrent: liveViewers,
		join:    func(i int) time.Duration { return time.Duration(i) * liveStagger },
		leave:   func(int) time.Duration { return liveEnd },
		timeout: liveEnd + 30*time.Second,
	}
}

// TestBenchLive is scenario 2.
func TestBenchLive(t *testing.T) {
	requireEnv(t)
	spec := liveSpec()
	arms := selectedArms()
	report(t, spec, arms, runBench(t, spec, arms, benchRepeat()))
}

// TestBenchChurn is scenario 4: scenario 2, but midway two viewers leave
// (the first to join, who has served the others longest, and the third) and
// two new ones join; the rest watch 10 s longer.
func TestBenchChurn(t *testing.T) {
	requireEnv(t)
	spec := liveSpec()
	spec.scenario = "live-churn"
	spec.viewers = liveViewers + 2
	spec.join = func(i int) time.Duration {
		if i < liveViewers {
			return time.Duration(i) * liveStagger
		}
		return 34*time.Second + time.Duration(i-liveViewers)*liveStagger
	}
	spec.leave = func(i int) time.Duration {
		if i == 0 || i == 2 {
			return 32 * time.Second
		}
		return liveEnd + 10*time.Second
	}
	spec.timeout = liveEnd + 40*time.Second
	arms := selectedArms()
	report(t, spec, arms, runBench(t, spec, arms, benchRepeat()))
}

var (
	shapingUp    = regexp.MustCompile(`\bup=(\d+)kbit\b`)
	shapingDelay = regexp.MustCompile(`\bdelay=(\d+)ms\b`)
)

// TestBenchShaped is scenario 3: six viewers of the VOD sample, 4 s apart,
// each in its own network namespace whose uplink is capped
// (scripts/netns-topology.sh: scripts/bench-browser.sh sets 1.5× the top
// rendition's bitrate, 40 ms added RTT, 0.5 % loss).
func TestBenchShaped(t *testing.T) {
	const viewers = 6
	var errs []error
	for _, check := range []func() error{checkBrowser, func() error { return checkTopology(viewers) }} {
		if err := check(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("preflight: %v", err)
	}
	shaping := os.Getenv("NEARCAST_SHAPING")
	m := shapingUp.FindStringSubmatch(shaping)
	if m == nil {
		t.Fatalf("NEARCAST_SHAPING=%q has no uplink cap: scenario 3 needs one", shaping)
	}
	up, _ := strconv.ParseFloat(m[1], 64)
	if shapingDelay.FindStringSubmatch(shaping) == nil {
		t.Logf("WARNING: no added delay in this run (NEARCAST_SHAPING=%q)", shaping)
	}
	spec := benchSpec{
		scenario: "vod-6-shaped", src: "/media/vod/master.m3u8", viewers: viewers, concurrent: viewers,
		join:     func(i int) time.Duration { return time.Duration(i) * demoStagger },
		timeout:  demoTimeout + 30*time.Second,
		upKbit:   up,
		topology: true,
		shaping:  shaping,
	}
	arms := selectedArms()
	report(t, spec, arms, runBench(t, spec, arms, benchRepeat()))
}
