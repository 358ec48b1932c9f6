//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The player scenarios: DASH VOD with dash.js and with Shaka Player, HLS
// (fMP4, byte ranges, alternate audio) with Shaka, live HLS with hls.js and
// live DASH with Shaka, each with three nearcast viewers on `nearcast demo`
// (the page's player= and src= parameters).
// Every viewer must play with no stall after its first frame, and peers
// must deliver some of the bytes. The live scenarios add a fourth viewer
// without nearcast (p2p=0) and compare how far behind the live edge the
// viewers play: nearcast may not add more than one segment.

const (
	playerViewers = 3
	liveWatch     = 40 * time.Second // how long each live viewer watches
	liveSegment   = 2.0              // seconds per segment of the sample
	// A live viewer's latency is averaged over its samples from this long
	// after its first frame: the start, when players settle their
	// distance to the edge, is not what a viewer lives with.
	latencySettle = 10 * time.Second
)

// playerFiles are the player builds and packagings the scenarios load.
func playerFiles() []requiredFile {
	return append(demoFiles(),
		requiredFile{"player-shim/node_modules/dashjs/dist/modern/umd/dash.all.min.js", "make shim (npm ci in player-shim/)"},
		requiredFile{"player-shim/node_modules/shaka-player/dist/shaka-player.compiled.js", "make shim (npm ci in player-shim/)"},
		requiredFile{filepath.Join(mediaDir(), "dash", "manifest.mpd"), "make media (scripts/make-media.sh out/media)"},
		requiredFile{filepath.Join(mediaDir(), "hls-fmp4", "master.m3u8"), "make media (scripts/make-media.sh out/media)"},
	)
}

// playerQuery adds debug=1 when NEARCAST_E2E_DEBUG is set: the shim and the
// engine then log to the page console (viewer-N.console.log).
func playerQuery(q url.Values) url.Values {
	if os.Getenv("NEARCAST_E2E_DEBUG") != "" {
		q.Set("debug", "1")
	}
	return q
}

func startPlayerSite(t *testing.T, dir string) *site {
	t.Helper()
	requireFiles(t, playerFiles())
	return startDemoSite(t, dir)
}

// TestDashjsVOD plays the DASH sample with dash.js.
func TestDashjsVOD(t *testing.T) {
	runPlayerVOD(t, "dashjs-vod", playerQuery(url.Values{"player": {"dashjs"}}))
}

// TestShakaVOD plays the DASH sample with Shaka Player.
func TestShakaVOD(t *testing.T) {
	runPlayerVOD(t, "shaka-dash-vod", playerQuery(url.Values{"player": {"shaka"}}))
}

// TestShakaHLS plays the fMP4 HLS sample with Shaka Player: byte-range
// segments of one file per rendition, and the audio as an alternate
// rendition (its own swarm).
func TestShakaHLS(t *testing.T) {
	runPlayerVOD(t, "shaka-hls-fmp4", playerQuery(url.Values{"player": {"shaka"}, "src": {"/media/hls-fmp4/master.m3u8"}}))
}

// TestHlsjsLive plays the demo's live HLS stream with hls.js.
func TestHlsjsLive(t *testing.T) {
	runPlayerLive(t, "hlsjs-live", playerQuery(url.Values{"src": {"/media/live/master.m3u8"}}))
}

// TestShakaLiveDASH plays the demo's live DASH stream with Shaka Player.
func TestShakaLiveDASH(t *testing.T) {
	runPlayerLive(t, "shaka-live-dash", playerQuery(url.Values{"player": {"shaka"}, "src": {"/media/live-dash/manifest.mpd"}}))
}

// runPlayerVOD: three viewers, 4 s apart, play the whole stream.
func runPlayerVOD(t *testing.T, name string, q url.Values) {
	dir := outDir(t, name)
	sum, results := runVODSwarm(t, name, dir, startPlayerSite(t, dir), q, playerViewers)
	for _, r := range results {
		checkPlayer(t, r, q.Get("player"))
	}
	if sum.P2PShare <= 0 {
		t.Errorf("P2P share over all viewers %.1f%%, want > 0", 100*sum.P2PShare)
	}
}

// liveLatency is what a live scenario measured of its viewers' distance
// to the live edge; written to latency.json.
type liveLatency struct {
	Scenario        string    `json:"scenario"`
	Viewers         []float64 `json:"nearcastSeconds"` // mean latency per nearcast viewer
	Baseline        float64   `json:"baselineSeconds"` // the viewer without nearcast
	DeltaSeconds    float64   `json:"deltaSeconds"`    // mean of Viewers minus Baseline
	SegmentSeconds  float64   `json:"segmentSeconds"`
	P2PShare        float64   `json:"p2pShare"`
	BaselineSamples int       `json:"baselineSamples"`
	// WindowAges: how long the live window had existed when each nearcast
	// viewer loaded its first live media playlist (see alignLiveJoin).
	WindowAges []float64 `json:"windowAges,omitempty"`
}

// alignLiveJoin waits until the live stream is liveJoinAge into a segment
// before the viewers start: they are demoStagger (a whole number of
// segments) apart, so each then loads its first playlist around the middle
// of a segment.
//
// Where in a segment a viewer joins decides, for hls.js, how far behind the
// live edge it plays: its start position lies on a segment boundary, and a
// playlist loaded in the last ~0.1 s before the window moves starts it a
// segment further back (8 s instead of 6 s behind the edge), with or
// without nearcast. Left to chance, the stagger put every viewer near that
// point in some runs, and the comparison below then measured which viewers
// happened to cross it. The demo server's playlists say how long ago their
// window began (Server-Timing live-window).
func alignLiveJoin(t *testing.T, s *site) {
	t.Helper()
	age, err := liveWindowAge(s.base + "/media/live/master.m3u8")
	if err != nil {
		t.Fatalf("live window phase: %v", err)
	}
	seg := time.Duration(liveSegment * float64(time.Second))
	wait := (liveJoinAge - age + seg) % seg
	t.Logf("live window began %.0f ms ago: viewers start in %.0f ms", age.Seconds()*1000, wait.Seconds()*1000)
	time.Sleep(wait)
}

// liveJoinAge is how far into a segment the first viewer's browser starts:
// its page then loads its first playlist 0.0–1.0 s later (measured on the
// 2-core VM). A playlist loaded just after the window moved starts hls.js
// as one loaded mid-segment does; only the last ~0.15 s before the next
// move is to be avoided.
const liveJoinAge = 100 * time.Millisecond

// liveWindowAge reads the first media playlist of the live master at
// masterURL and returns the age of its window from its Server-Timing. (The
// two playlists count among the origin's bytes: about a kilobyte.)
func liveWindowAge(masterURL string) (time.Duration, error) {
	body, _, err := httpGet(masterURL)
	if err != nil {
		return 0, err
	}
	var media string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			media = line
			break
		}
	}
	u, err := url.Parse(masterURL)
	if err != nil || media == "" {
		return 0, fmt.Errorf("%s: no media playlist", masterURL)
	}
	ref, err := u.Parse(media)
	if err != nil {
		return 0, err
	}
	_, header, err := httpGet(ref.String())
	if err != nil {
		return 0, err
	}
	timing := header.Get("Server-Timing")
	_, dur, ok := strings.Cut(timing, "live-window;dur=")
	if !ok {
		return 0, fmt.Errorf("%s: Server-Timing %q, want live-window;dur=<ms>", ref, timing)
	}
	ms, err := strconv.ParseFloat(dur, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: Server-Timing %q: %v", ref, timing, err)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// runPlayerLive: three nearcast viewers and one plain viewer, 4 s apart,
// each watching liveWatch.
func runPlayerLive(t *testing.T, name string, q url.Values) {
	dir := outDir(t, name)
	s := startPlayerSite(t, dir)
	baseline := playerViewers // the last viewer plays without nearcast
	plain := url.Values{}
	for k, v := range q {
		plain[k] = v
	}
	plain.Set("p2p", "0")
	sc := &scenario{
		name:    name,
		viewers: playerViewers + 1,
		stagger: demoStagger,
		url: func(i int) string {
			if i == baseline {
				return demoURL(s, plain)
			}
			return demoURL(s, q)
		},
		playTimeout: liveWatch + 30*time.Second,
		leave:       func(i int) time.Duration { return time.Duration(i)*demoStagger + liveWatch },
	}
	alignLiveJoin(t, s)
	results := sc.run(t, dir)
	sum := summarize(t, dir, name, results, s)
	lat := liveLatency{Scenario: name, SegmentSeconds: liveSegment}
	var peer, cdn float64
	for i, r := range results {
		checkWatchedLive(t, r)
		checkPlayer(t, r, q.Get("player"))
		mean, n := meanLatency(r)
		if n == 0 {
			t.Errorf("viewer %d: no live latency reported", r.Viewer)
			continue
		}
		if i == baseline {
			lat.Baseline, lat.BaselineSamples = mean, n
			continue
		}
		lat.Viewers = append(lat.Viewers, mean)
		if r.Last != nil && r.Last.LiveWindowAge != nil {
			lat.WindowAges = append(lat.WindowAges, *r.Last.LiveWindowAge)
		}
		peer += r.PeerBytes
		cdn += r.CDNBytes
	}
	lat.P2PShare = share(peer, cdn)
	if len(lat.Viewers) > 0 && lat.BaselineSamples > 0 {
		var sumLat float64
		for _, v := range lat.Viewers {
			sumLat += v
		}
		lat.DeltaSeconds = sumLat/float64(len(lat.Viewers)) - lat.Baseline
		if lat.DeltaSeconds > liveSegment {
			t.Errorf("nearcast viewers play %.2f s further behind the live edge than the plain viewer (%.2f s), want at most one segment (%.0f s)",
				lat.DeltaSeconds, lat.Baseline, liveSegment)
		}
	}
	t.Logf("%s: latency behind the live edge: nearcast viewers %s s, plain viewer %.2f s, delta %+.2f s; P2P share of the nearcast viewers %.1f%% (all viewers %.1f%%); live window age at each nearcast viewer's first playlist %s s",
		name, fmtSeconds(lat.Viewers), lat.Baseline, lat.DeltaSeconds, 100*lat.P2PShare, 100*sum.P2PShare, fmtSeconds(lat.WindowAges))
	writeJSON(t, filepath.Join(dir, "latency.json"), lat)
	if lat.P2PShare <= 0 {
		t.Errorf("P2P share of the nearcast viewers %.1f%%, want > 0", 100*lat.P2PShare)
	}
}

// checkWatchedLive: a live viewer started, watched until it left, with no
// stall after its first frame, and its playhead advanced with the clock.
func checkWatchedLive(t *testing.T, r *viewerResult) {
	t.Helper()
	switch {
	case r.PollError != "":
		t.Errorf("viewer %d: %s", r.Viewer, r.PollError)
		return
	case r.Last == nil:
		t.Errorf("viewer %d: the page never exposed window.__demo", r.Viewer)
		return
	case len(r.Errors) > 0:
		t.Errorf("viewer %d: fatal player errors: %q", r.Viewer, r.Errors)
		return
	case r.TTFFMs == nil:
		t.Errorf("viewer %d: never started playing", r.Viewer)
		return
	case !r.Left:
		t.Errorf("viewer %d: stopped watching before its planned leave (timed out %v)", r.Viewer, r.TimedOut)
	}
	if r.Stalls != 0 {
		t.Errorf("viewer %d: %d stalls (%.0f ms) after the first frame, want 0", r.Viewer, r.Stalls, r.StallMs)
	}
	if len(r.Progress) < 2 {
		t.Errorf("viewer %d: %d progress samples", r.Viewer, len(r.Progress))
		return
	}
	first, last := r.Progress[0], r.Progress[len(r.Progress)-1]
	played, wall := last.CurrentTime-first.CurrentTime, last.Sec-first.Sec
	// The first sample may precede the first frame: allow the start-up.
	if played < wall-5 {
		t.Errorf("viewer %d: played %.1f s of media in %.1f s", r.Viewer, played, wall)
	}
}

// checkPlayer: the page played with the player the scenario asked for.
func checkPlayer(t *testing.T, r *viewerResult, want string) {
	t.Helper()
	if want == "" {
		want = "hlsjs"
	}
	if r.Last != nil && r.Last.Player != want {
		t.Errorf("viewer %d: page played with %q, want %q", r.Viewer, r.Last.Player, want)
	}
}

// meanLatency averages a viewer's reported latency from latencySettle
// after its first frame on.
func meanLatency(r *viewerResult) (float64, int) {
	if r.TTFFMs == nil {
		return 0, 0
	}
	from := r.StartSec + *r.TTFFMs/1000 + latencySettle.Seconds()
	var sum float64
	n := 0
	for _, p := range r.Progress {
		if p.Sec < from || p.Latency == nil {
			continue
		}
		sum += *p.Latency
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

func fmtSeconds(v []float64) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.2f", x)
	}
	return s
}
