//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// pageState is what window.__demo.state() returns (docs/wasm-api.md,
// section 3). The interop page (e2e/web/p2pml.js) returns the same shape.
type pageState struct {
	LoadedAt       float64  `json:"loadedAt"`
	FirstPlayingMs *float64 `json:"firstPlayingMs"`
	ReadyMs        *float64 `json:"readyMs,omitempty"`
	FirstPeerMs    *float64 `json:"firstPeerMs,omitempty"`
	CurrentTime    float64  `json:"currentTime"`
	Duration       float64  `json:"duration"`
	Ended          bool     `json:"ended"`
	Stalls         int      `json:"stalls"`
	StallMs        float64  `json:"stallMs"`
	Errors         []string `json:"errors"`
	Warnings       []string `json:"warnings,omitempty"`
	P2P            bool     `json:"p2p"`
	Supported      bool     `json:"supported"`
	Ready          bool     `json:"ready"`
	Bytes          struct {
		CDN      float64 `json:"cdn"`
		Peer     float64 `json:"peer"`
		Uploaded float64 `json:"uploaded"`
	} `json:"bytes"`
	Peers    int              `json:"peers"`
	Segments []map[string]any `json:"segments"`
	// Player is "hlsjs", "dashjs" or "shaka"; Rendition the video being
	// played and RenditionSwitches how often it changed; Latency the
	// seconds behind the live edge (nil for VOD).
	Player    string `json:"player,omitempty"`
	Rendition *struct {
		Height  float64 `json:"height"`
		Bitrate float64 `json:"bitrate"`
	} `json:"rendition,omitempty"`
	RenditionSwitches int      `json:"renditionSwitches"`
	Latency           *float64 `json:"latency,omitempty"`
	// LiveWindowAge is how long the live window had existed when the page
	// loaded its first live media playlist (the demo server's
	// Server-Timing; nil without one).
	LiveWindowAge *float64 `json:"liveWindowAge,omitempty"`
}

// viewerResult is one viewer's outcome, written to out/e2e/<test>/viewer-N.json.
type viewerResult struct {
	Viewer     int        `json:"viewer"`
	URL        string     `json:"url"`
	Pid        int        `json:"pid"`
	StartSec   float64    `json:"startSec"` // navigation, seconds after the scenario began
	EndSec     float64    `json:"endSec"`   // last poll, seconds after the scenario began
	Killed     bool       `json:"killed"`
	Left       bool       `json:"left"`       // closed its browser as planned (scenario.leave)
	CPUSeconds float64    `json:"cpuSeconds"` // browser process tree, user+system, at the end of its watch
	TimedOut   bool       `json:"timedOut"`
	PollError  string     `json:"pollError,omitempty"`
	TTFFMs     *float64   `json:"ttffMs"` // first 'playing' after page start
	Stalls     int        `json:"stalls"`
	StallMs    float64    `json:"stallMs"`
	CDNBytes   float64    `json:"cdnBytes"`
	PeerBytes  float64    `json:"peerBytes"`
	Uploaded   float64    `json:"uploadedBytes"`
	P2PShare   float64    `json:"p2pShare"` // peer / (peer + cdn)
	Ended      bool       `json:"ended"`
	Errors     []string   `json:"errors"`
	Polls      int        `json:"polls"`
	Last       *pageState `json:"last"`
	Progress   []progress `json:"progress"` // one sample per ~2 s
	// Debug is window.__demo.debug() at the end of the watch (engine stats
	// and event counts), for diagnosing a run; absent when the page has none.
	Debug      json.RawMessage `json:"debug,omitempty"`
	killedFlag atomic.Bool
	profile    []byte // BENCH_PROFILE: the page's CPU profile (DevTools format)
}

type progress struct {
	Sec         float64  `json:"sec"`
	CurrentTime float64  `json:"currentTime"`
	Stalls      int      `json:"stalls"`
	CDN         float64  `json:"cdn"`
	Peer        float64  `json:"peer"`
	Peers       int      `json:"peers"`
	Latency     *float64 `json:"latency,omitempty"` // live only
}

// scenario describes viewers joining a stream.
type scenario struct {
	name        string
	viewers     int
	stagger     time.Duration      // between viewers' navigations
	url         func(i int) string // page URL for viewer i
	playTimeout time.Duration      // per viewer, from its navigation
	kill        *killPlan          // optional
	// Optional. join gives viewer i's navigation time after the scenario
	// began (default i*stagger); leave gives the time it closes its browser,
	// as a viewer who stops watching does (0: it watches to the end of the
	// stream); launch starts viewer i's browser (default startBrowser).
	join   func(i int) time.Duration
	leave  func(i int) time.Duration
	launch func(t *testing.T, dir, name string, i int) *browser
}

type killPlan struct {
	viewer int
	at     time.Duration // after the scenario began
}

// summary is written to out/e2e/<test>/summary.json.
type summary struct {
	Scenario    string          `json:"scenario"`
	Viewers     int             `json:"viewers"`
	CDNBytes    float64         `json:"cdnBytes"`
	PeerBytes   float64         `json:"peerBytes"`
	P2PShare    float64         `json:"p2pShare"`
	Stalls      int             `json:"stalls"`
	AllEnded    bool            `json:"allEnded"`
	Origin      *originStats    `json:"origin,omitempty"`
	OriginError string          `json:"originError,omitempty"`
	Results     []*viewerResult `json:"-"`
	PerViewer   []viewerLine    `json:"perViewer"`
	Notes       []string        `json:"notes,omitempty"`
}

type viewerLine struct {
	Viewer   int      `json:"viewer"`
	TTFFMs   *float64 `json:"ttffMs"`
	Stalls   int      `json:"stalls"`
	P2PShare float64  `json:"p2pShare"`
	Ended    bool     `json:"ended"`
	Killed   bool     `json:"killed"`
}

const stateExpr = `window.__demo ? window.__demo.state() : null`

// run starts one browser per viewer, navigates them stagger apart, polls
// window.__demo.state() until each has ended (or errs, dies or times out),
// writes the per-viewer JSON and returns the results.
func (sc *scenario) run(t *testing.T, dir string) []*viewerResult {
	t.Helper()
	browsers := make([]*browser, sc.viewers)
	results := make([]*viewerResult, sc.viewers)
	for i := range sc.viewers {
		name := fmt.Sprintf("viewer-%d", i)
		if sc.launch != nil {
			browsers[i] = sc.launch(t, dir, name, i)
		} else {
			browsers[i] = startBrowser(t, dir, name)
		}
		results[i] = &viewerResult{Viewer: i, URL: sc.url(i), Pid: browsers[i].pid()}
	}
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := range sc.viewers {
		join := time.Duration(i) * sc.stagger
		if sc.join != nil {
			join = sc.join(i)
		}
		var leave time.Duration
		if sc.leave != nil {
			leave = sc.leave(i)
		}
		wg.Go(func() { sc.poll(browsers[i], results[i], t0, join, leave) })
	}
	if k := sc.kill; k != nil {
		wg.Go(func() {
			time.Sleep(time.Until(t0.Add(k.at)))
			r := results[k.viewer]
			r.killedFlag.Store(true)
			if err := browsers[k.viewer].kill(); err != nil {
				t.Errorf("killing viewer %d: %v", k.viewer, err)
				return
			}
			t.Logf("killed viewer %d (pid %d) at %.1f s", k.viewer, r.Pid, time.Since(t0).Seconds())
		})
	}
	wg.Wait()
	for _, r := range results {
		if !r.Left {
			r.CPUSeconds = cpuSeconds(r.Pid) // 0 when killed
		}
	}
	// Stop the browsers now, not at the test's cleanup: a benchmark's next
	// arm or repeat must not share the CPU (or, in the shaped topology, the
	// uplinks) with these.
	for _, b := range browsers {
		b.cancel()
	}
	for _, r := range results {
		r.Killed = r.killedFlag.Load()
		writeJSON(t, filepath.Join(dir, fmt.Sprintf("viewer-%d.json", r.Viewer)), r)
		if r.profile != nil {
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("viewer-%d.cpuprofile", r.Viewer)), r.profile, 0o644)
		}
	}
	return results
}

// poll navigates b at t0+delay and follows it until the stream ends, the
// page fails, or, when leave > 0, until t0+leave, when it closes b.
func (sc *scenario) poll(b *browser, r *viewerResult, t0 time.Time, delay, leave time.Duration) {
	time.Sleep(time.Until(t0.Add(delay)))
	r.StartSec = time.Since(t0).Seconds()
	defer func() { r.EndSec = time.Since(t0).Seconds() }()
	if err := b.navigate(r.URL); err != nil {
		r.PollError = "navigate: " + err.Error()
		return
	}
	if os.Getenv("BENCH_PROFILE") != "" {
		defer profilePage(b, r)()
	}
	deadline := time.Now().Add(sc.playTimeout)
	lastSample := time.Time{}
	for {
		st, err := eval[*pageState](b, 5*time.Second, stateExpr)
		if r.killedFlag.Load() {
			return
		}
		if err != nil {
			r.PollError = err.Error()
			return
		}
		r.Polls++
		if st != nil {
			r.Last = st
			r.apply()
			if time.Since(lastSample) >= 2*time.Second {
				lastSample = time.Now()
				r.Progress = append(r.Progress, progress{
					Sec: math.Round(time.Since(t0).Seconds()*10) / 10, CurrentTime: st.CurrentTime,
					Stalls: st.Stalls, CDN: st.Bytes.CDN, Peer: st.Bytes.Peer, Peers: st.Peers,
					Latency: st.Latency,
				})
			}
			if st.Ended || len(st.Errors) > 0 {
				r.Debug = debugState(b)
				return
			}
		}
		if leave > 0 && time.Since(t0) >= leave {
			r.Debug = debugState(b)
			r.Left = true
			r.CPUSeconds = cpuSeconds(r.Pid)
			b.cancel()
			return
		}
		if time.Now().After(deadline) {
			r.TimedOut = true
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// profilePage starts sampling b's main thread every millisecond and
// returns the function that stops it and keeps the profile (DevTools
// format) in r. Diagnostic only: sampling slows the page down, and a
// profile that cannot be taken is reported on stderr, failing nothing.
func profilePage(b *browser, r *viewerResult) (stop func()) {
	_, err := chromedp.Call(b.ctx, profiler.Enable, cdp.Empty{})
	if err == nil {
		_, err = chromedp.Call(b.ctx, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 1000})
	}
	if err == nil {
		_, err = chromedp.Call(b.ctx, profiler.Start, cdp.Empty{})
	}
	return func() {
		if err == nil {
			var res profiler.StopResult
			if res, err = chromedp.Call(b.ctx, profiler.Stop, cdp.Empty{}); err == nil {
				r.profile, err = json.Marshal(res.Profile)
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "viewer %d: no CPU profile: %v\n", r.Viewer, err)
		}
	}
}

const debugExpr = `window.__demo && typeof window.__demo.debug === "function" ? JSON.stringify(window.__demo.debug()) : ""`

// debugState returns the page's debug snapshot, or nil when it has none or
// cannot be read (it is diagnostic only: a failure here fails nothing).
func debugState(b *browser) json.RawMessage {
	s, err := eval[string](b, 5*time.Second, debugExpr)
	if err != nil || s == "" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}

// apply copies the derived numbers from the last state.
func (r *viewerResult) apply() {
	st := r.Last
	r.TTFFMs = st.FirstPlayingMs
	r.Stalls, r.StallMs = st.Stalls, st.StallMs
	r.CDNBytes, r.PeerBytes, r.Uploaded = st.Bytes.CDN, st.Bytes.Peer, st.Bytes.Uploaded
	r.P2PShare = share(st.Bytes.Peer, st.Bytes.CDN)
	r.Ended = st.Ended
	r.Errors = st.Errors
}

func share(peer, cdn float64) float64 {
	if peer+cdn == 0 {
		return 0
	}
	return peer / (peer + cdn)
}

// summarize totals the results, logs a table and writes summary.json.
func summarize(t *testing.T, dir, name string, results []*viewerResult, s *site) *summary {
	t.Helper()
	sum := &summary{Scenario: name, Viewers: len(results), AllEnded: true, Results: results}
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %8s %6s %8s %10s %10s %10s %6s %6s %s\n",
		"viewer", "ttff_ms", "stalls", "stall_ms", "cdn_B", "peer_B", "upload_B", "p2p%", "ended", "note")
	for _, r := range results {
		sum.CDNBytes += r.CDNBytes
		sum.PeerBytes += r.PeerBytes
		sum.Stalls += r.Stalls
		if !r.Ended && !r.Killed && !r.Left {
			sum.AllEnded = false
		}
		ttff := "-"
		if r.TTFFMs != nil {
			ttff = fmt.Sprintf("%.0f", *r.TTFFMs)
		}
		note := ""
		switch {
		case r.Killed:
			note = "killed"
		case r.Left:
			note = "left"
		case r.TimedOut:
			note = "timed out"
		case r.PollError != "":
			note = r.PollError
		case len(r.Errors) > 0:
			note = strings.Join(r.Errors, "; ")
		}
		fmt.Fprintf(&b, "%-6d %8s %6d %8.0f %10.0f %10.0f %10.0f %6.1f %6v %s\n",
			r.Viewer, ttff, r.Stalls, r.StallMs, r.CDNBytes, r.PeerBytes, r.Uploaded, 100*r.P2PShare, r.Ended, note)
		sum.PerViewer = append(sum.PerViewer, viewerLine{r.Viewer, r.TTFFMs, r.Stalls, r.P2PShare, r.Ended, r.Killed})
	}
	sum.P2PShare = share(sum.PeerBytes, sum.CDNBytes)
	if s != nil && s.demo {
		o, err := getOrigin(s)
		if err != nil {
			sum.OriginError = err.Error()
		}
		sum.Origin = o
	}
	fmt.Fprintf(&b, "total: cdn %.0f B, peer %.0f B, P2P share %.1f%%, stalls %d", sum.CDNBytes, sum.PeerBytes, 100*sum.P2PShare, sum.Stalls)
	if sum.Origin != nil {
		fmt.Fprintf(&b, ", origin served %d B in %d requests", sum.Origin.Bytes, sum.Origin.Requests)
	}
	t.Logf("%s:\n%s", name, b.String())
	writeJSON(t, filepath.Join(dir, "summary.json"), sum)
	return sum
}

// checkPlayedThrough asserts that viewer r played to the end with no stall
// after its first frame and no fatal player error.
func checkPlayedThrough(t *testing.T, r *viewerResult) {
	t.Helper()
	switch {
	case r.PollError != "":
		t.Errorf("viewer %d: %s", r.Viewer, r.PollError)
	case r.Last == nil:
		t.Errorf("viewer %d: the page never exposed window.__demo", r.Viewer)
	case len(r.Errors) > 0:
		t.Errorf("viewer %d: fatal player errors: %q", r.Viewer, r.Errors)
	case r.TTFFMs == nil:
		t.Errorf("viewer %d: never started playing", r.Viewer)
	case !r.Ended:
		t.Errorf("viewer %d: did not reach the end (currentTime %.1f of %.1f, timed out %v)",
			r.Viewer, r.Last.CurrentTime, r.Last.Duration, r.TimedOut)
	}
	if r.Stalls != 0 {
		t.Errorf("viewer %d: %d stalls (%.0f ms) after the first frame, want 0", r.Viewer, r.Stalls, r.StallMs)
	}
}
