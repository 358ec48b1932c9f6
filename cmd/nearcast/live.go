package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// liveConfig holds the flags of the demo's live mode.
type liveConfig struct {
	window int
	start  time.Duration
	now    func() time.Time // nil: time.Now; tests inject a clock
}

func (c *liveConfig) register(fs *flag.FlagSet) {
	fs.IntVar(&c.window, "live-window", 6, "segments in each live playlist under /media/live/")
	fs.DurationVar(&c.start, "live-start", 0, "how far into the looped sample stream the live stream is when the server starts")
}

// liveHandler serves a looping live HLS stream (RFC 8216, section 6.2.2) made
// from the VOD sample's playlists. Its URL space, below the /media prefix:
//
//	/live/master.m3u8                the VOD master with live variant URIs
//	/live/<rendition>/index.m3u8     a sliding window of --live-window segments
//	/live/<rendition>/seg-<seq>.ts   the VOD segment of media sequence number seq
//
// The live timeline starts at the VOD's first segment when the server starts
// (minus --live-start) and advances by each segment's EXTINF duration. The
// first playlist already holds a full window. When the VOD runs out it loops:
// sequence numbers keep increasing, an EXT-X-DISCONTINUITY marks each loop
// point, and EXT-X-DISCONTINUITY-SEQUENCE counts the ones that left the window.
// A segment URL names the same bytes for ever, whatever the time. Each media
// playlist carries "Server-Timing: live-window;dur=<ms>": how long ago its
// window began (the e2e tests time their viewers' joins with it).
//
// The playlists are read on every request, so a rebuilt sample shows up
// without a restart. Renditions should have equal segment durations, or
// their windows drift apart.
type liveHandler struct {
	vod    string // directory of the VOD sample: master.m3u8, <rendition>/index.m3u8
	window int
	epoch  time.Time // when the live timeline was at 0
	now    func() time.Time
	files  http.Handler // serves the media directory; segments are handed to it
}

// newLiveHandler returns the live handler for the VOD sample in vodDir.
// files serves the directory above vodDir, where a segment of rendition r is
// at /vod/r/<its URI>.
func newLiveHandler(vodDir string, cfg *liveConfig, files http.Handler) (*liveHandler, error) {
	now, epoch, err := cfg.clock()
	if err != nil {
		return nil, err
	}
	return &liveHandler{vod: vodDir, window: cfg.window, epoch: epoch, now: now, files: files}, nil
}

// clock checks the live flags and returns the clock of a live stream and
// its epoch: when its timeline was at 0 (--live-start before now).
func (c *liveConfig) clock() (now func() time.Time, epoch time.Time, err error) {
	if c.window < 1 {
		return nil, time.Time{}, fmt.Errorf("--live-window %d: want at least 1", c.window)
	}
	if c.start < 0 {
		return nil, time.Time{}, fmt.Errorf("--live-start %s: want 0 or more", c.start)
	}
	now = c.now
	if now == nil {
		now = time.Now
	}
	return now, now().Add(-c.start), nil
}

func (h *liveHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/live/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rest == "master.m3u8" {
		h.serveMaster(w, r)
		return
	}
	rendition, name, ok := strings.Cut(rest, "/")
	switch {
	case !ok || rendition == "" || rendition == "." || rendition == ".." || strings.Contains(rendition, `\`):
		http.NotFound(w, r)
	case name == "index.m3u8":
		h.servePlaylist(w, r, rendition)
	case strings.HasPrefix(name, "seg-"):
		h.serveSegment(w, r, rendition, name)
	default:
		http.NotFound(w, r)
	}
}

// serveMaster copies the VOD master playlist, pointing every variant
// <rendition>/index.m3u8 at its live playlist and every other relative URI
// at the VOD.
func (h *liveHandler) serveMaster(w http.ResponseWriter, r *http.Request) {
	b, err := os.ReadFile(filepath.Join(h.vod, "master.m3u8"))
	if err != nil {
		vodError(w, r, err)
		return
	}
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(b), "\r\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case line == "" || strings.HasPrefix(line, "#EXTM3U"):
			// copied as it is
		case !strings.HasPrefix(line, "#"):
			line = liveURI(line)
		default:
			if before, after, ok := strings.Cut(line, `URI="`); ok {
				if u, tail, ok := strings.Cut(after, `"`); ok {
					line = before + `URI="` + liveURI(u) + `"` + tail
				}
			}
		}
		out.WriteString(line + "\n")
	}
	writePlaylist(w, out.String())
}

// liveURI maps a URI of the VOD master to the live master next to it.
func liveURI(u string) string {
	ref, err := url.Parse(u)
	if err != nil || ref.Scheme != "" || ref.Host != "" || strings.HasPrefix(ref.Path, "/") {
		return u
	}
	p := path.Join("/", ref.Path)
	if dir := path.Dir(p); path.Base(p) == "index.m3u8" && dir != "/" && path.Dir(dir) == "/" && ref.RawQuery == "" {
		return path.Base(dir) + "/index.m3u8"
	}
	return "../vod/" + u
}

func (h *liveHandler) servePlaylist(w http.ResponseWriter, r *http.Request, rendition string) {
	vod, err := h.load(rendition)
	if err != nil {
		vodError(w, r, err)
		return
	}
	n := int64(len(vod.segments))
	first, age := vod.position(h.now().Sub(h.epoch))
	// Discontinuity tags before the window: one per loop point in 1…first-1
	// (a tag on the window's first segment itself is still in the playlist).
	var discSeq int64
	if first > 0 {
		discSeq = (first - 1) / n
	}
	var out strings.Builder
	out.WriteString("#EXTM3U\n")
	for _, tag := range vod.header {
		out.WriteString(tag + "\n")
	}
	fmt.Fprintf(&out, "#EXT-X-MEDIA-SEQUENCE:%d\n#EXT-X-DISCONTINUITY-SEQUENCE:%d\n", vod.sequence+first, discSeq)
	for a := first; a < first+int64(h.window); a++ {
		if a > 0 && a%n == 0 {
			out.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		seg := vod.segments[a%n]
		fmt.Fprintf(&out, "%s\nseg-%d%s\n", seg.extinf, vod.sequence+a, path.Ext(seg.uri))
	}
	// How long ago this window began, for clients that measure their
	// distance to the live edge: a player that loads the playlist just after
	// the window moved starts about a segment nearer the edge than one that
	// loads it just before (Resource Timing exposes it as serverTiming).
	w.Header().Set("Server-Timing", fmt.Sprintf("live-window;dur=%.1f", float64(age.Microseconds())/1000))
	w.Header().Set("Timing-Allow-Origin", "*")
	writePlaylist(w, out.String())
}

// serveSegment hands seg-<seq><ext> to the file server as the VOD segment
// that sequence number loops to.
func (h *liveHandler) serveSegment(w http.ResponseWriter, r *http.Request, rendition, name string) {
	vod, err := h.load(rendition)
	if err != nil {
		vodError(w, r, err)
		return
	}
	digits := strings.TrimPrefix(name, "seg-")
	if i := strings.IndexByte(digits, '.'); i >= 0 {
		digits = digits[:i]
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	a := seq - vod.sequence
	if err != nil || strconv.FormatInt(seq, 10) != digits || a < 0 {
		http.NotFound(w, r)
		return
	}
	seg := vod.segments[a%int64(len(vod.segments))]
	if name != "seg-"+digits+path.Ext(seg.uri) {
		http.NotFound(w, r)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = path.Join("/vod", rendition, seg.uri)
	r2.URL.RawPath = ""
	h.files.ServeHTTP(w, r2)
}

func (h *liveHandler) load(rendition string) (*vodPlaylist, error) {
	f, err := os.Open(filepath.Join(h.vod, rendition, "index.m3u8"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseVOD(io.LimitReader(f, 1<<20))
}

// vodError answers 404 for a missing VOD file and 500 for an unusable one.
func vodError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	http.Error(w, "live: "+err.Error(), http.StatusInternalServerError)
}

func writePlaylist(w http.ResponseWriter, body string) {
	h := w.Header()
	h.Set("Content-Type", demoTypes[".m3u8"])
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	_, _ = io.WriteString(w, body)
}

// vodPlaylist is what the live stream needs of a VOD media playlist.
type vodPlaylist struct {
	header   []string // playlist tags copied to the live playlist
	sequence int64    // EXT-X-MEDIA-SEQUENCE
	segments []vodSegment
	total    time.Duration
}

type vodSegment struct {
	extinf string // the #EXTINF line, copied as it is
	uri    string
	start  time.Duration // since the playlist's first segment
}

// parseVOD reads a media playlist of plain segments with relative URIs.
// Tags that would need rewriting (keys, init sections, byte ranges,
// discontinuities) are refused rather than passed on wrong.
func parseVOD(r io.Reader) (*vodPlaylist, error) {
	sc := bufio.NewScanner(r)
	var (
		p       vodPlaylist
		extinf  string
		dur     time.Duration
		target  bool
		started bool
	)
	for n := 0; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		tag, value, _ := strings.Cut(line, ":")
		switch {
		case n == 0:
			if line != "#EXTM3U" {
				return nil, errors.New("VOD playlist does not start with #EXTM3U")
			}
		case line == "":
		case tag == "#EXT-X-MEDIA-SEQUENCE":
			seq, err := strconv.ParseInt(value, 10, 64)
			if err != nil || seq < 0 {
				return nil, fmt.Errorf("VOD playlist: bad %s", line)
			}
			p.sequence = seq
		case tag == "#EXT-X-PLAYLIST-TYPE", tag == "#EXT-X-ENDLIST", tag == "#EXT-X-PROGRAM-DATE-TIME":
		case tag == "#EXT-X-KEY", tag == "#EXT-X-MAP", tag == "#EXT-X-BYTERANGE", tag == "#EXT-X-DISCONTINUITY",
			tag == "#EXT-X-DISCONTINUITY-SEQUENCE":
			return nil, fmt.Errorf("VOD playlist: %s is not supported by the live mode", tag)
		case tag == "#EXTINF":
			secs, err := strconv.ParseFloat(strings.SplitN(value, ",", 2)[0], 64)
			if err != nil || secs <= 0 || secs > 3600 {
				return nil, fmt.Errorf("VOD playlist: bad %s", line)
			}
			extinf, dur, started = line, time.Duration(secs*float64(time.Second)), true
		case strings.HasPrefix(line, "#"):
			target = target || tag == "#EXT-X-TARGETDURATION"
			if !started {
				p.header = append(p.header, line)
			}
		default:
			u, err := url.Parse(line)
			if extinf == "" || err != nil || u.Scheme != "" || u.Host != "" || u.RawQuery != "" || strings.HasPrefix(u.Path, "/") {
				return nil, fmt.Errorf("VOD playlist: segment %q: want a relative path after #EXTINF", line)
			}
			p.segments = append(p.segments, vodSegment{extinf: extinf, uri: u.Path, start: p.total})
			p.total += dur
			extinf = ""
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(p.segments) == 0 || !target {
		return nil, errors.New("VOD playlist: no segments or no #EXT-X-TARGETDURATION")
	}
	return &p, nil
}

// position returns the index, counted over every loop, of the segment the
// live timeline is in after elapsed, and how far into that segment it is.
func (p *vodPlaylist) position(elapsed time.Duration) (int64, time.Duration) {
	if elapsed < 0 {
		elapsed = 0
	}
	loops, rem := int64(elapsed/p.total), elapsed%p.total
	i := len(p.segments) - 1
	for i > 0 && p.segments[i].start > rem {
		i--
	}
	return loops*int64(len(p.segments)) + int64(i), rem - p.segments[i].start
}
