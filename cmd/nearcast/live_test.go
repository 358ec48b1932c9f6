package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// liveMaster is the fixture's VOD master playlist.
const liveMaster = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=510400,RESOLUTION=640x360,AUDIO="aud"
360p/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=1720400,RESOLUTION=1280x720,AUDIO="aud"
720p/index.m3u8
`

// liveVOD is a fixture media playlist: four segments, sequence numbers 10…13.
func liveVOD(extinf ...string) string {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:10\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	for i, e := range extinf {
		fmt.Fprintf(&b, "%s\nseg%03d.ts\n", e, i)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.String()
}

var liveExtinf = []string{"#EXTINF:2.000000,", "#EXTINF:2.000000,", "#EXTINF:2.000000,", "#EXTINF:2.000000,"}

// writeLiveMedia writes the VOD fixture under mediaDir: the master, 360p and
// 720p playlists, and segments whose bodies name them ("720p/seg002.ts").
func writeLiveMedia(t *testing.T, mediaDir string) {
	t.Helper()
	files := map[string]string{"vod/master.m3u8": liveMaster}
	for _, r := range []string{"360p", "720p"} {
		files["vod/"+r+"/index.m3u8"] = liveVOD(liveExtinf...)
		for i := range liveExtinf {
			name := fmt.Sprintf("%s/seg%03d.ts", r, i)
			files["vod/"+name] = name
		}
	}
	files["vod/bad/index.m3u8"] = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2,\nseg0.m4s\n"
	for name, body := range files {
		p := filepath.Join(mediaDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startLive serves the live handler over the fixture the way the demo mounts
// it, under /media/ with byte counting, and returns the base URL.
func startLive(t *testing.T, window int, start time.Duration) (base string, clock *fakeClock, origin *originCounter) {
	t.Helper()
	media := t.TempDir()
	writeLiveMedia(t, media)
	clock = &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	live, err := newLiveHandler(filepath.Join(media, "vod"), &liveConfig{window: window, start: start, now: clock.Now},
		static(http.Dir(media), mediaCache(0)))
	if err != nil {
		t.Fatal(err)
	}
	origin = &originCounter{}
	mux := http.NewServeMux()
	mux.Handle("/media/live/", http.StripPrefix("/media", origin.count(live)))
	srv := httptest.NewServer(mux) // 127.0.0.1, port 0
	t.Cleanup(srv.Close)
	return srv.URL + "/media/live/", clock, origin
}

// livePlaylist is what the tests check of a live media playlist.
type livePlaylist struct {
	seq, discSeq int64
	target       string
	extinf       []string
	uris         []string
	disc         []int // indexes into uris of the segments after EXT-X-DISCONTINUITY
	endlist      bool
	windowAge    string // the Server-Timing header: how long ago the window began
}

func getLive(t *testing.T, c *http.Client, url string) livePlaylist {
	t.Helper()
	resp, body := get(t, c, url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s %s", url, resp.Status, body)
	}
	if cc, ct := resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"); cc != "no-store" || ct != "application/vnd.apple.mpegurl" {
		t.Errorf("%s: Cache-Control %q, Content-Type %q", url, cc, ct)
	}
	var p livePlaylist
	p.seq, p.discSeq = -1, -1
	p.windowAge = resp.Header.Get("Server-Timing")
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		tag, value, _ := strings.Cut(line, ":")
		switch {
		case tag == "#EXT-X-MEDIA-SEQUENCE":
			p.seq, _ = strconv.ParseInt(value, 10, 64)
		case tag == "#EXT-X-DISCONTINUITY-SEQUENCE":
			p.discSeq, _ = strconv.ParseInt(value, 10, 64)
		case tag == "#EXT-X-TARGETDURATION":
			p.target = value
		case tag == "#EXT-X-DISCONTINUITY":
			p.disc = append(p.disc, len(p.uris))
		case tag == "#EXT-X-ENDLIST", tag == "#EXT-X-PLAYLIST-TYPE":
			p.endlist = true
		case tag == "#EXTINF":
			p.extinf = append(p.extinf, line)
		case !strings.HasPrefix(line, "#"):
			p.uris = append(p.uris, line)
		}
	}
	return p
}

// segURIs returns seg-<seq>.ts for seqs.
func segURIs(seqs ...int) []string {
	var out []string
	for _, s := range seqs {
		out = append(out, fmt.Sprintf("seg-%d.ts", s))
	}
	return out
}

func TestLiveWindow(t *testing.T) {
	for _, window := range []int{1, 3, 6} {
		base, _, _ := startLive(t, window, 0)
		p := getLive(t, newTestClient(t), base+"360p/index.m3u8")
		if p.seq != 10 || p.discSeq != 0 || p.target != "2" || p.endlist {
			t.Errorf("window %d: %+v", window, p)
		}
		want := []int{10, 11, 12, 13, 14, 15}[:window]
		if !slices.Equal(p.uris, segURIs(want...)) || len(p.extinf) != window || p.extinf[0] != "#EXTINF:2.000000," {
			t.Errorf("window %d: uris %q extinf %q", window, p.uris, p.extinf)
		}
	}
}

func TestLiveSequenceAdvancesWithTheClock(t *testing.T) {
	base, clock, _ := startLive(t, 3, 0)
	c := newTestClient(t)
	for _, step := range []struct {
		advance time.Duration
		seq     int64
		age     string // ms since the window began
	}{
		{0, 10, "0.0"},
		{1999 * time.Millisecond, 10, "1999.0"},
		{time.Millisecond, 11, "0.0"},   // 2 s: one segment later
		{3 * time.Second, 12, "1000.0"}, // 5 s
		{time.Second, 13, "0.0"},        // 6 s
	} {
		clock.Advance(step.advance)
		for _, r := range []string{"360p", "720p"} {
			p := getLive(t, c, base+r+"/index.m3u8")
			if p.seq != step.seq || len(p.uris) != 3 || p.uris[0] != fmt.Sprintf("seg-%d.ts", step.seq) {
				t.Errorf("%s after %s: seq %d uris %q, want %d", r, clock.Now().Format("05.000"), p.seq, p.uris, step.seq)
			}
			if want := "live-window;dur=" + step.age; p.windowAge != want {
				t.Errorf("%s after %s: Server-Timing %q, want %q", r, clock.Now().Format("05.000"), p.windowAge, want)
			}
		}
	}
}

func TestLiveLoopsWithDiscontinuity(t *testing.T) {
	base, clock, _ := startLive(t, 3, 0)
	c := newTestClient(t)
	for _, step := range []struct {
		at      time.Duration
		seqs    []int
		disc    []int
		discSeq int64
	}{
		{4 * time.Second, []int{12, 13, 14}, []int{2}, 0},
		{8 * time.Second, []int{14, 15, 16}, []int{0}, 0}, // the loop point heads the window
		{10 * time.Second, []int{15, 16, 17}, nil, 1},
		{14 * time.Second, []int{17, 18, 19}, []int{1}, 1},
		{40 * time.Second, []int{30, 31, 32}, []int{0}, 4}, // fifth loop point: discontinuity 5 = 4 + its tag
	} {
		clock.Advance(step.at - clock.Now().Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		p := getLive(t, c, base+"720p/index.m3u8")
		if p.seq != int64(step.seqs[0]) || !slices.Equal(p.uris, segURIs(step.seqs...)) ||
			!slices.Equal(p.disc, step.disc) || p.discSeq != step.discSeq || p.endlist {
			t.Errorf("at %s: %+v, want seqs %v discontinuities before %v, discontinuity sequence %d", step.at, p, step.seqs, step.disc, step.discSeq)
		}
	}
	// A sequence number names the VOD segment it loops to, at any time.
	for seq, want := range map[int]string{10: "720p/seg000.ts", 13: "720p/seg003.ts", 14: "720p/seg000.ts", 31: "720p/seg001.ts"} {
		resp, body := get(t, c, fmt.Sprintf("%s720p/seg-%d.ts", base, seq))
		if resp.StatusCode != http.StatusOK || string(body) != want || resp.Header.Get("Content-Type") != "video/mp2t" {
			t.Errorf("seg-%d.ts: %s %q %q, want %q", seq, resp.Status, resp.Header.Get("Content-Type"), body, want)
		}
	}
}

func TestLiveStartOffset(t *testing.T) {
	base, _, _ := startLive(t, 2, 9*time.Second)
	p := getLive(t, newTestClient(t), base+"360p/index.m3u8")
	if p.seq != 14 || !slices.Equal(p.uris, segURIs(14, 15)) || !slices.Equal(p.disc, []int{0}) {
		t.Errorf("--live-start 9s: %+v", p)
	}
}

func TestLiveMasterPointsAtLivePlaylists(t *testing.T) {
	base, _, _ := startLive(t, 3, 0)
	resp, body := get(t, newTestClient(t), base+"master.m3u8")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("master: %s %q", resp.Status, resp.Header.Get("Cache-Control"))
	}
	want := strings.Replace(liveMaster, `URI="audio/en.m3u8"`, `URI="../vod/audio/en.m3u8"`, 1)
	if string(body) != want {
		t.Errorf("master:\n%s\nwant:\n%s", body, want)
	}
}

func TestLiveNotFound(t *testing.T) {
	base, _, _ := startLive(t, 3, 0)
	c := newTestClient(t)
	for _, p := range []string{
		"1080p/index.m3u8", "360p/other.m3u8", "360p/seg000.ts", "360p/seg-9.ts", "360p/seg-011.ts",
		"360p/seg-11.m4s", "360p/seg-x.ts", "360p/seg-99999999999999999999.ts", "360p", "master.m3u",
	} {
		if resp, _ := get(t, c, base+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", p, resp.Status)
		}
	}
	if resp, _ := get(t, c, base+"bad/index.m3u8"); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("VOD playlist with EXT-X-MAP: %s, want 500", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"360p/index.m3u8", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s", resp.Status)
	}
}

func TestLiveCountsOriginBytes(t *testing.T) {
	base, _, origin := startLive(t, 3, 0)
	c := newTestClient(t)
	_, playlist := get(t, c, base+"360p/index.m3u8")
	_, seg := get(t, c, base+"360p/seg-15.ts")
	if string(seg) != "360p/seg001.ts" {
		t.Fatalf("seg-15.ts = %q", seg)
	}
	if b, n := origin.bytes.Load(), origin.requests.Load(); b != int64(len(playlist)+len(seg)) || n != 2 {
		t.Errorf("origin counted %d bytes in %d requests, want %d in 2", b, n, len(playlist)+len(seg))
	}
}

func TestDemoMountsLive(t *testing.T) {
	root, args := demoDirs(t)
	writeLiveMedia(t, filepath.Join(root, "media"))
	base := "http://" + startDemo(t, append(args, "--live-window", "2"))
	c := newTestClient(t)
	p := getLive(t, c, base+"/media/live/720p/index.m3u8")
	if len(p.uris) != 2 || p.endlist {
		t.Fatalf("--live-window 2: %+v", p)
	}
	_, seg := get(t, c, base+"/media/live/720p/"+p.uris[1])
	if o := readOrigin(t, c, base); o.Requests != 2 || o.Bytes <= int64(len(seg)) || len(seg) != len("720p/seg000.ts") {
		t.Errorf("origin %+v after a live playlist and a %d-byte segment", o, len(seg))
	}
	if resp, _ := get(t, c, base+"/media/vod/720p/seg000.ts"); resp.StatusCode != http.StatusOK {
		t.Errorf("VOD segment: %s", resp.Status)
	}
	for _, bad := range [][]string{{"--live-window", "0"}, {"--live-start", "-1s"}} {
		if err := runDemo(t.Context(), append(args, bad...), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
