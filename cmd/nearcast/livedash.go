package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nearcast/nearcast/manifest"
	"github.com/nearcast/nearcast/manifest/bmff"
	"github.com/nearcast/nearcast/manifest/mpd"
)

// liveDASHHandler serves a looping live MPEG-DASH stream (ISO/IEC 23009-1,
// MPD@type="dynamic") made from the VOD sample's DASH rendition, the DASH
// twin of liveHandler. Its URL space, below its mount:
//
//	/live-dash/manifest.mpd          the dynamic MPD
//	/live-dash/<rep>/init<ext>       Representation <rep>'s initialization segment
//	/live-dash/<rep>/<number><ext>   the VOD media segment that number loops to
//
// Live timeline. The stream is one Period that starts at
// MPD@availabilityStartTime and never ends; it plays the VOD's segments over
// and over. AvailabilityStartTime is the server's start, less --live-start,
// less one window (--live-window segments of the VOD's maxSegmentDuration),
// so that the first MPD already offers a full window, as the first HLS live
// playlist does, and the window heads the same segment as the HLS playlist
// at any time. Segment a (counted from 0 over every loop) of a
// Representation is VOD segment a mod N of loop a div N; its $Number$ is
// the VOD's @startNumber plus a, and its time the VOD's S@t plus the loop
// times the VOD Period's duration (in the Representation's timescale). The
// SegmentTimeline is contiguous: the last segment of a loop lasts until the
// next loop starts. (ffmpeg's AAC media runs a few tens of milliseconds,
// its encoder delay, past the Period; MSE overwrites that overlap at each
// loop point.)
//
// Continuity. A loop's media must carry the loop's timestamps for MSE to
// play on: every media segment served from loop L > 0 has L times the loop
// duration added to its tfdt baseMediaDecodeTime and its sidx
// earliest_presentation_time (bmff.Shift). One Period keeps players on one
// timeline and one SourceBuffer setup; a Period per loop would need no byte
// rewriting but makes dash.js and Shaka switch Periods every loop, with the
// gaps and re-initialisation that brings. The timestamp rewrite needs each
// track's media timescale to equal its SegmentTemplate@timescale (checked
// against the init segment's mdhd).
//
// Window. The MPD lists, per Representation, the segments that ended within
// the last timeShiftBufferDepth (window × segment duration) before the live
// edge. A media segment is served while it is available (section
// 5.3.9.5.3: from its end until its end plus its duration plus
// timeShiftBufferDepth), which is the listed window plus the one segment
// that just left it, for players that fetched the MPD a moment ago; other
// numbers are 404. minimumUpdatePeriod is one segment duration.
// suggestedPresentationDelay is three segment durations: far enough behind
// the live edge for two segments of buffer, as hls.js keeps for the HLS
// live stream (three target durations); with a window under five segments
// it shrinks to the window less two (at least one), so that the player
// starts two segments inside the time-shift buffer rather than at its far
// end (DASH-IF IOP's rule of thumb). A UTCTiming with the direct scheme
// carries the server's clock, so players need no time server.
//
// The VOD MPD is read on every request, so a rebuilt sample shows up
// without a restart; segment names come only from its SegmentTemplate.
type liveDASHHandler struct {
	vod    string // the VOD DASH directory: manifest.mpd and what it names
	window int
	epoch  time.Time // when the live timeline was at the VOD's start
	now    func() time.Time
	files  http.Handler // serves the VOD files under /dash/<name>
}

// liveDASHPrefix is the path the handler answers below.
const liveDASHPrefix = "/live-dash/"

// dashMPDName is the VOD MPD in the DASH directory (scripts/make-media.sh);
// dashVODDir is where files serves that directory.
const (
	dashMPDName = "manifest.mpd"
	dashVODDir  = "/dash/"
)

// maxDASHSegment bounds a VOD media segment read into memory for retiming.
const maxDASHSegment = 64 << 20

// newLiveDASHHandler returns the live DASH handler for the VOD DASH
// directory dashDir. files serves dashDir's files under /dash/<name>.
func newLiveDASHHandler(dashDir string, cfg *liveConfig, files http.Handler) (http.Handler, error) {
	now, epoch, err := cfg.clock()
	if err != nil {
		return nil, err
	}
	return &liveDASHHandler{vod: dashDir, window: cfg.window, epoch: epoch, now: now, files: files}, nil
}

func (h *liveDASHHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, liveDASHPrefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	now := h.now()
	live, err := h.load(now)
	if err != nil {
		vodError(w, r, err)
		return
	}
	if rest == dashMPDName {
		h.serveMPD(w, live, now)
		return
	}
	rep, name, ok := strings.Cut(rest, "/")
	t := live.track(rep)
	if !ok || t == nil {
		http.NotFound(w, r)
		return
	}
	if name == "init"+t.initExt {
		h.forward(w, r, t.initPath)
		return
	}
	digits, ok := strings.CutSuffix(name, t.mediaExt)
	n, err := strconv.ParseUint(digits, 10, 64)
	if !ok || err != nil || strconv.FormatUint(n, 10) != digits || n < t.startNumber {
		http.NotFound(w, r)
		return
	}
	a := n - t.startNumber
	if a > 1<<40 || !live.available(t, int64(a)) {
		http.NotFound(w, r)
		return
	}
	h.serveMedia(w, r, t, int64(a))
}

// liveDASH is the VOD as the live stream at one moment.
type liveDASH struct {
	mpd    *mpd.MPD
	seg    time.Duration // nominal segment duration
	ast    time.Time     // availabilityStartTime
	tsbd   time.Duration // timeShiftBufferDepth
	now    time.Time
	tracks []*liveTrack
}

// liveTrack is one Representation of the VOD and its live timeline.
type liveTrack struct {
	id          string
	ts          uint64 // timescale
	pto         uint64
	loopTicks   uint64 // the VOD Period's duration in ts
	startNumber uint64
	entries     []mpd.Entry
	vod         *mpd.Track
	initPath    string // under /dash/
	initExt     string
	mediaExt    string
}

// load reads the VOD MPD and lays out the live stream.
func (h *liveDASHHandler) load(now time.Time) (*liveDASH, error) {
	f, err := os.Open(filepath.Join(h.vod, dashMPDName))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, manifest.DefaultMaxBytes+1))
	if err != nil {
		return nil, err
	}
	m, err := mpd.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("VOD MPD: %w", err)
	}
	if m.IsDynamic() || len(m.Periods) != 1 {
		return nil, errors.New("VOD MPD: want a static MPD of one Period")
	}
	tracks, err := mpd.Tracks(m, dashVODDir+dashMPDName)
	if err != nil {
		return nil, fmt.Errorf("VOD MPD: %w", err)
	}
	limits, err := manifest.NewLimits()
	if err != nil {
		return nil, err
	}
	live := &liveDASH{mpd: m, now: now}
	if m.MaxSegmentDuration != nil {
		live.seg = m.MaxSegmentDuration.D()
	}
	for _, vt := range tracks {
		t, err := newLiveTrack(vt, limits)
		if err != nil {
			return nil, fmt.Errorf("VOD Representation %q: %w", vt.Representation.ID, err)
		}
		if m.MaxSegmentDuration == nil {
			for _, e := range t.entries {
				live.seg = max(live.seg, time.Duration(e.Duration*uint64(time.Second)/t.ts))
			}
		}
		live.tracks = append(live.tracks, t)
	}
	if len(live.tracks) == 0 || live.seg <= 0 {
		return nil, errors.New("VOD MPD: no segments")
	}
	live.tsbd = time.Duration(h.window) * live.seg
	live.ast = h.epoch.Add(-live.tsbd)
	return live, nil
}

func newLiveTrack(vt *mpd.Track, limits manifest.Limits) (*liveTrack, error) {
	id := vt.Representation.ID
	if id == "" || id == "." || id == ".." || strings.ContainsFunc(id, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
	}) {
		return nil, errors.New("the live mode wants Representation ids of letters, digits, '-', '_' and '.'")
	}
	if vt.Template == nil {
		return nil, errors.New("the live mode wants SegmentTemplate addressing")
	}
	t := &liveTrack{id: id, ts: vt.Timescale(), pto: vt.PresentationTimeOffset(), startNumber: vt.StartNumber(), vod: vt}
	// The loop length in the timescale must be whole.
	loop := new(big.Int).Mul(big.NewInt(int64(vt.PeriodDuration)), new(big.Int).SetUint64(t.ts))
	q, rem := new(big.Int).QuoRem(loop, big.NewInt(int64(time.Second)), new(big.Int))
	if vt.PeriodDuration <= 0 || rem.Sign() != 0 || !q.IsUint64() || q.Uint64() > 1<<50 {
		return nil, fmt.Errorf("the Period's duration %s is not a whole number of 1/%d s", vt.PeriodDuration, t.ts)
	}
	t.loopTicks = q.Uint64()
	var err error
	if t.entries, err = vt.Entries(time.Time{}, limits); err != nil {
		return nil, err
	}
	if len(t.entries) == 0 {
		return nil, errors.New("no segments")
	}
	first, last := t.entries[0], t.entries[len(t.entries)-1]
	if first.Time+t.loopTicks <= last.Time {
		return nil, errors.New("the segments run past the Period by a whole segment or more")
	}
	u, _, end, ok, err := vt.InitURL()
	if err != nil || !ok || end != 0 {
		return nil, fmt.Errorf("the live mode wants a whole-file initialization segment (%v)", err)
	}
	if t.initPath, err = dashVODPath(u); err != nil {
		return nil, err
	}
	mu, err := vt.MediaURL(first)
	if err != nil {
		return nil, err
	}
	if _, err := dashVODPath(mu); err != nil {
		return nil, err
	}
	t.initExt, t.mediaExt = path.Ext(t.initPath), path.Ext(mu)
	return t, nil
}

// dashVODPath checks that u, a URL resolved against /dash/manifest.mpd, names a
// file below /dash/ and returns its path.
func dashVODPath(u string) (string, error) {
	ref, err := url.Parse(u)
	if err != nil || ref.Scheme != "" || ref.Host != "" || ref.RawQuery != "" || !strings.HasPrefix(ref.Path, dashVODDir) ||
		path.Clean(ref.Path) != ref.Path {
		return "", fmt.Errorf("VOD segment %q: want a file next to the MPD", u)
	}
	return ref.Path, nil
}

func (l *liveDASH) track(id string) *liveTrack {
	for _, t := range l.tracks {
		if t.id == id {
			return t
		}
	}
	return nil
}

// Live times are compared exactly, as mpd.Track.Entries does: in
// timescale units times 1e9, against edge = (now - AST)·timescale.
var dashNanos = big.NewInt(int64(time.Second))

// start returns the media time of live segment a, times 1e9.
func (t *liveTrack) start(a int64) *big.Int {
	n := int64(len(t.entries))
	loop, i := a/n, a%n
	v := new(big.Int).Mul(big.NewInt(loop), new(big.Int).SetUint64(t.loopTicks))
	v.Add(v, new(big.Int).SetUint64(t.entries[i].Time))
	return v.Mul(v, dashNanos)
}

// ticks returns live segment a's time and duration in the timescale.
func (t *liveTrack) ticks(a int64) (start, dur uint64) {
	s, e := new(big.Int).Quo(t.start(a), dashNanos), new(big.Int).Quo(t.start(a+1), dashNanos)
	return s.Uint64(), e.Sub(e, s).Uint64()
}

// edge returns the live edge of t at now, and the time-shift buffer depth,
// both as media time times 1e9.
func (l *liveDASH) edge(t *liveTrack) (edge, tsbd *big.Int) {
	ts := new(big.Int).SetUint64(t.ts)
	edge = new(big.Int).Mul(big.NewInt(int64(l.now.Sub(l.ast))), ts)
	edge.Add(edge, new(big.Int).Mul(new(big.Int).SetUint64(t.pto), dashNanos))
	return edge, new(big.Int).Mul(big.NewInt(int64(l.tsbd)), ts)
}

// lastEndingBy returns the last live segment of t that ends at or before x
// (media time times 1e9), -1 when none does.
func (t *liveTrack) lastEndingBy(x *big.Int) int64 {
	n := int64(len(t.entries))
	span := new(big.Int).Mul(new(big.Int).SetUint64(t.loopTicks), dashNanos)
	base := new(big.Int).Sub(x, t.start(0))
	if base.Sign() < 0 {
		return -1
	}
	q := new(big.Int).Quo(base, span)
	if !q.IsInt64() || q.Int64() > 1<<40/n {
		return 1 << 40 // beyond any clock this server will see
	}
	a := (q.Int64()+1)*n + 1
	for a >= 0 && t.start(a+1).Cmp(x) > 0 {
		a--
	}
	return a
}

// window returns the live segments of t the MPD lists: those that ended in
// (edge - timeShiftBufferDepth, edge].
func (l *liveDASH) window(t *liveTrack) (first, last int64) {
	edge, tsbd := l.edge(t)
	return t.lastEndingBy(new(big.Int).Sub(edge, tsbd)) + 1, t.lastEndingBy(edge)
}

// available reports whether live segment a of t may be served: it has
// ended, and its end plus its duration plus the time-shift buffer is still
// ahead of the live edge.
func (l *liveDASH) available(t *liveTrack, a int64) bool {
	edge, tsbd := l.edge(t)
	s, e := t.start(a), t.start(a+1)
	if e.Cmp(edge) > 0 {
		return false
	}
	until := new(big.Int).Sub(new(big.Int).Mul(e, big.NewInt(2)), s)
	return until.Add(until, tsbd).Cmp(edge) > 0
}

// serveMPD writes the live MPD: the VOD's, made dynamic, with a
// SegmentTemplate per Representation whose timeline is the window.
func (h *liveDASHHandler) serveMPD(w http.ResponseWriter, live *liveDASH, now time.Time) {
	m := live.mpd
	m.Type = mpd.Dynamic
	m.AvailabilityStartTime = mpd.NewDateTime(live.ast.UTC())
	m.PublishTime = mpd.NewDateTime(now.UTC())
	m.MediaPresentationDuration = nil
	m.MinimumUpdatePeriod = mpd.NewDuration(live.seg)
	m.TimeShiftBufferDepth = mpd.NewDuration(live.tsbd)
	m.SuggestedPresentationDelay = mpd.NewDuration(time.Duration(min(3, max(1, h.window-2))) * live.seg)
	m.BaseURLs, m.Locations = nil, nil
	m.UTCTimings = []mpd.Descriptor{{SchemeIDURI: "urn:mpeg:dash:utc:direct:2014", Value: now.UTC().Format(time.RFC3339Nano)}}
	p := m.Periods[0]
	p.Start, p.Duration = mpd.NewDuration(0), nil
	if p.ID == "" {
		p.ID = "0"
	}
	p.BaseURLs, p.SegmentBase, p.SegmentList, p.SegmentTemplate = nil, nil, nil, nil
	for _, as := range p.AdaptationSets {
		as.BaseURLs, as.SegmentBase, as.SegmentList, as.SegmentTemplate = nil, nil, nil, nil
	}
	for _, t := range live.tracks {
		r := t.vod.Representation
		r.BaseURLs, r.SegmentBase, r.SegmentList = nil, nil, nil
		r.SegmentTemplate = live.template(t)
	}
	out, err := mpd.Marshal(m)
	if err != nil {
		http.Error(w, "live-dash: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", demoTypes[".mpd"])
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(out)
}

// template returns t's live SegmentTemplate: $Number$ addressing and a
// timeline of the window, runs of equal durations folded into S@r.
func (l *liveDASH) template(t *liveTrack) *mpd.SegmentTemplate {
	first, last := l.window(t)
	first = max(first, last-manifest.DefaultMaxSegments, 0) // bounded whatever the clock says
	ts, num := t.ts, t.startNumber+uint64(first)
	st := &mpd.SegmentTemplate{
		Media:                  "$RepresentationID$/$Number$" + t.mediaExt,
		InitializationTemplate: "$RepresentationID$/init" + t.initExt,
	}
	st.Timescale, st.StartNumber = &ts, &num
	if t.pto != 0 {
		pto := t.pto
		st.PresentationTimeOffset = &pto
	}
	tl := &mpd.SegmentTimeline{}
	for a := first; a <= last; a++ {
		start, d := t.ticks(a)
		if k := len(tl.S) - 1; k >= 0 && tl.S[k].D == d {
			tl.S[k].R++
			continue
		}
		s := mpd.S{D: d}
		if len(tl.S) == 0 {
			s.T = &start
		}
		tl.S = append(tl.S, s)
	}
	st.SegmentTimeline = tl
	return st
}

// serveMedia serves live segment a of t: the VOD segment it loops to, with
// its timestamps moved to its loop.
func (h *liveDASHHandler) serveMedia(w http.ResponseWriter, r *http.Request, t *liveTrack, a int64) {
	n := int64(len(t.entries))
	loop, e := a/n, t.entries[a%n]
	vodURL, err := t.vod.MediaURL(e)
	if err != nil {
		http.Error(w, "live-dash: "+err.Error(), http.StatusInternalServerError)
		return
	}
	p, err := dashVODPath(vodURL)
	if err != nil {
		http.Error(w, "live-dash: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if loop == 0 {
		h.forward(w, r, p) // the VOD's own timestamps
		return
	}
	// The tracks' media timescale must be the template's for the shift to
	// be in the right units.
	init, status, _ := h.read(r, t.initPath)
	if status != http.StatusOK {
		http.Error(w, "live-dash: init segment: "+http.StatusText(status), http.StatusBadGateway)
		return
	}
	scales, err := bmff.Timescales(init)
	if err != nil {
		http.Error(w, "live-dash: init segment: "+err.Error(), http.StatusInternalServerError)
		return
	}
	for id, ts := range scales {
		if uint64(ts) != t.ts {
			http.Error(w, fmt.Sprintf("live-dash: track %d has timescale %d, the MPD says %d", id, ts, t.ts), http.StatusInternalServerError)
			return
		}
	}
	body, status, hdr := h.read(r, p)
	switch {
	case status == http.StatusNotFound:
		http.NotFound(w, r)
		return
	case status != http.StatusOK:
		http.Error(w, "live-dash: VOD segment: "+http.StatusText(status), http.StatusBadGateway)
		return
	}
	out, err := bmff.Shift(body, uint64(loop)*t.loopTicks, uint32(t.ts))
	if err != nil {
		http.Error(w, "live-dash: "+err.Error(), http.StatusInternalServerError)
		return
	}
	for _, k := range []string{"Content-Type", "Cache-Control", "X-Content-Type-Options", "Access-Control-Allow-Origin"} {
		if v := hdr.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(out))
}

// forward hands the request to the file server as /dash/... path p.
func (h *liveDASHHandler) forward(w http.ResponseWriter, r *http.Request, p string) {
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = p, ""
	h.files.ServeHTTP(w, r2)
}

// read fetches the whole file at /dash/... path p from the file server.
func (h *liveDASHHandler) read(r *http.Request, p string) (body []byte, status int, hdr http.Header) {
	r2 := r.Clone(r.Context())
	r2.Method = http.MethodGet
	r2.URL.Path, r2.URL.RawPath = p, ""
	r2.Header = http.Header{}
	rec := &dashBuffer{header: http.Header{}, limit: maxDASHSegment}
	h.files.ServeHTTP(rec, r2)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.over {
		return nil, http.StatusInsufficientStorage, rec.header
	}
	return rec.body.Bytes(), rec.status, rec.header
}

// dashBuffer is an http.ResponseWriter that keeps up to limit bytes.
type dashBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
	limit  int
	over   bool
}

func (b *dashBuffer) Header() http.Header { return b.header }

func (b *dashBuffer) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *dashBuffer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.body.Len()+len(p) > b.limit {
		b.over = true
		return 0, errors.New("live-dash: VOD file over the size limit")
	}
	return b.body.Write(p)
}
