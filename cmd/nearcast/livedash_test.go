package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nearcast/nearcast/manifest"
	"github.com/nearcast/nearcast/manifest/bmff"
	"github.com/nearcast/nearcast/manifest/mpd"
)

// liveDASHEpoch is when the fake clock starts.
var liveDASHEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// writeDASHMedia builds a VOD DASH sample under mediaDir/dash with ffmpeg,
// shaped like scripts/make-media.sh's (fMP4, SegmentTemplate with $Number$
// and a SegmentTimeline, 2 s segments, video Representations 0 and 1,
// audio 2) but 6 s long and tiny: three video segments and four audio ones
// (ffmpeg's AAC segments do not fall on the 2 s marks) per loop.
func writeDASHMedia(t *testing.T, mediaDir string) {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg is needed to build the live-DASH test media and is not installed (Debian: apt-get install -y ffmpeg; the project's deps install it): %v", err)
	}
	dir := filepath.Join(mediaDir, "dash")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24:duration=6",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=6",
		"-filter_complex", "[0:v]split=2[hi][lo]", "-map", "[lo]", "-map", "[hi]", "-map", "1:a",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-r", "24",
		"-g", "48", "-keyint_min", "48", "-sc_threshold", "0", "-b:v:0", "100k", "-b:v:1", "200k",
		"-c:a", "aac", "-b:a", "32k", "-ac", "2", "-ar", "48000",
		"-f", "dash", "-seg_duration", "2", "-use_template", "1", "-use_timeline", "1",
		"-adaptation_sets", "id=0,streams=v id=1,streams=a", filepath.Join(dir, "manifest.mpd"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

type liveDASHTest struct {
	base   string // .../media/live-dash/
	media  string // the media directory
	clock  *fakeClock
	origin *originCounter
	c      *http.Client
}

// startLiveDASH serves the live DASH handler over a fresh sample, mounted
// the way the demo mounts live.go's, and returns the base URL.
func startLiveDASH(t *testing.T, window int, start time.Duration) *liveDASHTest {
	t.Helper()
	media := t.TempDir()
	writeDASHMedia(t, media)
	return serveLiveDASH(t, media, window, start)
}

func serveLiveDASH(t *testing.T, media string, window int, start time.Duration) *liveDASHTest {
	t.Helper()
	clock := &fakeClock{t: liveDASHEpoch}
	live, err := newLiveDASHHandler(filepath.Join(media, "dash"), &liveConfig{window: window, start: start, now: clock.Now},
		static(http.Dir(media), mediaCache(0)))
	if err != nil {
		t.Fatal(err)
	}
	origin := &originCounter{}
	mux := http.NewServeMux()
	mux.Handle("/media/live-dash/", http.StripPrefix("/media", origin.count(live)))
	srv := httptest.NewServer(mux) // 127.0.0.1, port 0
	t.Cleanup(srv.Close)
	return &liveDASHTest{base: srv.URL + "/media/live-dash/", media: media, clock: clock, origin: origin, c: newTestClient(t)}
}

// at sets the fake clock to elapsed after the server started.
func (lt *liveDASHTest) at(elapsed time.Duration) {
	lt.clock.Advance(liveDASHEpoch.Add(elapsed).Sub(lt.clock.Now()))
}

// mpd fetches and parses the live MPD, checking its headers and that it
// round-trips through the model.
func (lt *liveDASHTest) mpd(t *testing.T) *mpd.MPD {
	t.Helper()
	resp, body := get(t, lt.c, lt.base+"manifest.mpd")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("manifest.mpd: %s %s", resp.Status, body)
	}
	if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != "application/dash+xml" || cc != "no-store" {
		t.Errorf("manifest.mpd: Content-Type %q, Cache-Control %q", ct, cc)
	}
	m, err := mpd.Parse(body)
	if err != nil {
		t.Fatalf("live MPD does not parse: %v\n%s", err, body)
	}
	again, err := mpd.Marshal(m)
	if err != nil || !bytes.Equal(again, body) {
		t.Errorf("live MPD does not round-trip: %v\n%s\n---\n%s", err, body, again)
	}
	return m
}

// vodMPD parses the sample's VOD MPD.
func (lt *liveDASHTest) vodMPD(t *testing.T) *mpd.MPD {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lt.media, "dash", "manifest.mpd"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// dashNumbers returns the $Number$s the live MPD lists for Representation id:
// @startNumber on, one per timeline segment.
func dashNumbers(t *testing.T, m *mpd.MPD, id string) []uint64 {
	t.Helper()
	for _, as := range m.Periods[0].AdaptationSets {
		for _, r := range as.Representations {
			if r.ID != id {
				continue
			}
			st := r.SegmentTemplate
			if st == nil || st.StartNumber == nil || st.SegmentTimeline == nil {
				t.Fatalf("Representation %s: no live SegmentTemplate", id)
			}
			var out []uint64
			n := *st.StartNumber
			for _, s := range st.SegmentTimeline.S {
				for range s.R + 1 {
					out = append(out, n)
					n++
				}
			}
			return out
		}
	}
	t.Fatalf("no Representation %s", id)
	return nil
}

// liveRepID returns the Representation@id of a rendition of the live MPD,
// whose one Period starts at 0: "p0|<id>|t".
func liveRepID(t *testing.T, r manifest.Rendition) string {
	t.Helper()
	id, ok := strings.CutPrefix(r.Name, "p0|")
	id, ok2 := strings.CutSuffix(id, "|t")
	if !ok || !ok2 || id == "" {
		t.Fatalf("rendition %q is not p0|<id>|t", r.Name)
	}
	return id
}

// liveNumber returns the $Number$ of a live segment from its URL,
// <base><id>/<number>.m4s.
func liveNumber(t *testing.T, u string) uint64 {
	t.Helper()
	var n uint64
	if _, err := fmt.Sscanf(u[strings.LastIndexByte(u, '/')+1:], "%d.m4s", &n); err != nil {
		t.Fatalf("segment URL %s: %v", u, err)
	}
	return n
}

func dashRange(first, last uint64) []uint64 {
	var out []uint64
	for n := first; n <= last; n++ {
		out = append(out, n)
	}
	return out
}

func (lt *liveDASHTest) status(t *testing.T, path string) int {
	t.Helper()
	resp, _ := get(t, lt.c, lt.base+path)
	return resp.StatusCode
}

func TestLiveDASHMPDIsDynamic(t *testing.T) {
	t.Parallel()
	lt := startLiveDASH(t, 3, 0)
	m := lt.mpd(t)
	seg := 2 * time.Second
	switch {
	case m.Type != mpd.Dynamic || m.MediaPresentationDuration != nil:
		t.Errorf("type %q, mediaPresentationDuration %v", m.Type, m.MediaPresentationDuration)
	case !m.AvailabilityStartTime.Equal(liveDASHEpoch.Add(-3*seg)) || !m.PublishTime.Equal(liveDASHEpoch):
		t.Errorf("availabilityStartTime %s, publishTime %s", m.AvailabilityStartTime, m.PublishTime)
	case m.MinimumUpdatePeriod.D() != seg || m.TimeShiftBufferDepth.D() != 3*seg || m.SuggestedPresentationDelay.D() != seg:
		t.Errorf("minimumUpdatePeriod %s, timeShiftBufferDepth %s, suggestedPresentationDelay %s", m.MinimumUpdatePeriod, m.TimeShiftBufferDepth, m.SuggestedPresentationDelay)
	case len(m.UTCTimings) != 1 || m.UTCTimings[0].SchemeIDURI != "urn:mpeg:dash:utc:direct:2014" || m.UTCTimings[0].Value != "2026-01-01T00:00:00Z":
		t.Errorf("UTCTiming %+v", m.UTCTimings)
	case len(m.Periods) != 1 || m.Periods[0].Start.D() != 0 || m.Periods[0].Duration != nil:
		t.Errorf("periods %+v", m.Periods)
	}
	// The first MPD already holds a full window: video 1…3.
	for _, id := range []string{"0", "1"} {
		if got := dashNumbers(t, m, id); !slices.Equal(got, dashRange(1, 3)) {
			t.Errorf("video %s: dashNumbers %v", id, got)
		}
	}
	// Audio segments end at 1.984, 3.989, 5.995 and 6 s: all four have ended.
	if got := dashNumbers(t, m, "2"); !slices.Equal(got, dashRange(1, 4)) {
		t.Errorf("audio: dashNumbers %v", got)
	}
	// Everything listed is served; the init segment is the VOD's.
	for _, id := range []string{"0", "1", "2"} {
		for _, n := range dashNumbers(t, m, id) {
			if s := lt.status(t, fmt.Sprintf("%s/%d.m4s", id, n)); s != http.StatusOK {
				t.Errorf("%s/%d.m4s: %d", id, n, s)
			}
		}
		resp, body := get(t, lt.c, lt.base+id+"/init.m4s")
		vod, err := os.ReadFile(filepath.Join(lt.media, "dash", "init-stream"+id+".m4s"))
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(body, vod) || resp.Header.Get("Content-Type") != "video/iso.segment" {
			t.Errorf("%s/init.m4s: %s %q, %d bytes (VOD %d, %v)", id, resp.Status, resp.Header.Get("Content-Type"), len(body), len(vod), err)
		}
	}
}

func TestLiveDASHWindowSlides(t *testing.T) {
	t.Parallel()
	lt := startLiveDASH(t, 3, 0)
	var prevPublish time.Time
	for _, step := range []struct {
		at          time.Duration
		first, last uint64 // video $Number$s
	}{
		{0, 1, 3},
		{1999 * time.Millisecond, 1, 3},
		{2 * time.Second, 2, 4},
		{5 * time.Second, 3, 5}, // across the loop point (4 is the VOD's 1 again)
		{6 * time.Second, 4, 6},
		{61 * time.Second, 31, 33},
		{time.Hour, 1801, 1803},
	} {
		lt.at(step.at)
		m := lt.mpd(t)
		if !m.PublishTime.After(prevPublish) && step.at > 0 {
			t.Errorf("at %s: publishTime %s did not advance", step.at, m.PublishTime)
		}
		prevPublish = m.PublishTime.Time
		for _, id := range []string{"0", "1"} {
			got := dashNumbers(t, m, id)
			if !slices.Equal(got, dashRange(step.first, step.last)) {
				t.Errorf("at %s: video %s dashNumbers %v, want %d…%d", step.at, id, got, step.first, step.last)
			}
		}
		// The timeline starts at the first segment's loop-continuous time.
		st := m.Periods[0].AdaptationSets[0].Representations[0].SegmentTemplate
		if want := (step.first - 1) * 24576; *st.SegmentTimeline.S[0].T != want || *st.Timescale != 12288 {
			t.Errorf("at %s: S@t %d, want %d", step.at, *st.SegmentTimeline.S[0].T, want)
		}
		// Audio's window covers the same span of time.
		audio := dashNumbers(t, m, "2")
		if len(audio) < 2 || len(audio) > 4 {
			t.Errorf("at %s: audio dashNumbers %v", step.at, audio)
		}
	}
}

// TestLiveDASHExpanderListsTheWindow expands the live MPD with the
// manifest/mpd expander at the time it was served: it must list exactly the
// segments of each Representation's window, and the handler must serve
// each of them and none after.
func TestLiveDASHExpanderListsTheWindow(t *testing.T) {
	t.Parallel()
	lt := startLiveDASH(t, 4, 0)
	u := lt.base + "manifest.mpd?token=abc"
	for _, at := range []time.Duration{0, 3 * time.Second, 5999 * time.Millisecond, 6 * time.Second, 12345 * time.Millisecond, 10 * time.Minute} {
		lt.at(at)
		m := lt.mpd(t)
		rs, err := mpd.Segments(m, u, lt.clock.Now())
		if err != nil {
			t.Fatalf("at %s: %v", at, err)
		}
		if len(rs) != 3 {
			t.Fatalf("at %s: %d renditions", at, len(rs))
		}
		for _, r := range rs {
			id := liveRepID(t, r)
			var got []uint64
			for _, s := range r.Segments {
				n := liveNumber(t, s.URL)
				got = append(got, n)
				if s.URL != fmt.Sprintf("%s%s/%d.m4s", lt.base, id, n) {
					t.Errorf("at %s: %s: URL %s", at, r.Name, s.URL)
				}
				if end := s.StartTime + s.Duration; m.AvailabilityStartTime.Add(end).After(lt.clock.Now()) {
					t.Errorf("at %s: %s: segment %d ends in the future", at, r.Name, n)
				}
				// The shim's identity: the media start time in ms (the
				// Period starts at 0 and has no presentationTimeOffset, so
				// that is the segment's start).
				if want, err := mpd.TimeSeq(uint64(s.StartTime), uint64(time.Second)); err != nil || s.Seq != want {
					t.Errorf("at %s: %s: segment %d has seq %d, want %d (%v)", at, r.Name, n, s.Seq, want, err)
				}
			}
			if want := dashNumbers(t, m, id); !slices.Equal(got, want) {
				t.Errorf("at %s: %s: expander lists %v, the MPD's window is %v", at, r.Name, got, want)
			}
			if r.Swarm != manifest.SwarmFor(lt.base+"manifest.mpd", "p0|"+id+"|t") || r.Inits[0].URL != lt.base+id+"/init.m4s" {
				t.Errorf("at %s: %s: swarm %q, init %+v", at, r.Name, r.Swarm, r.Inits)
			}
			if len(got) == 0 {
				t.Fatalf("at %s: %s: empty window", at, r.Name)
			}
			for _, n := range got {
				if s := lt.status(t, fmt.Sprintf("%s/%d.m4s", id, n)); s != http.StatusOK {
					t.Errorf("at %s: %s/%d.m4s listed but %d", at, id, n, s)
				}
			}
			// The next one is not available yet.
			if s := lt.status(t, fmt.Sprintf("%s/%d.m4s", id, got[len(got)-1]+1)); s != http.StatusNotFound {
				t.Errorf("at %s: %s/%d.m4s not yet available but %d", at, id, got[len(got)-1]+1, s)
			}
		}
	}
}

func TestLiveDASHOutsideTheWindowIsNotFound(t *testing.T) {
	t.Parallel()
	lt := startLiveDASH(t, 3, 0)
	lt.at(20 * time.Second) // video window 11…13
	if got := dashNumbers(t, lt.mpd(t), "0"); !slices.Equal(got, dashRange(11, 13)) {
		t.Fatalf("window %v", got)
	}
	for path, want := range map[string]int{
		"0/11.m4s": 200, "0/13.m4s": 200,
		"0/10.m4s": 200, // left the MPD, still available for one more segment duration (ISO/IEC 23009-1 5.3.9.5.3)
		"0/9.m4s":  404, "0/1.m4s": 404, "0/0.m4s": 404, "0/14.m4s": 404, "0/99999999999999999999.m4s": 404,
		"0/011.m4s": 404, "0/12.mp4": 404, "0/12": 404, "0/init.mp4": 404, "0/init.m4s": 200,
		"3/12.m4s": 404, "../dash/manifest.mpd": 404, "0": 404, "manifest.mpd/x": 404, "": 404,
	} {
		if got := lt.status(t, path); got != want {
			t.Errorf("%s: %d, want %d", path, got, want)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, lt.base+"manifest.mpd", nil)
	resp, err := lt.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s", resp.Status)
	}
	// Without a sample, everything is 404 (as live.go does).
	empty := serveLiveDASH(t, t.TempDir(), 3, 0)
	if s := empty.status(t, "manifest.mpd"); s != http.StatusNotFound {
		t.Errorf("no sample: %d", s)
	}
}

// TestLiveDASHTimestampsContinueAcrossLoops checks the served media: a
// segment of loop L is the VOD segment with L times 6 s added to its tfdt
// and sidx times, so decode times run on across the loop point, and equal
// the MPD's S@t.
func TestLiveDASHTimestampsContinueAcrossLoops(t *testing.T) {
	t.Parallel()
	lt := startLiveDASH(t, 6, 0)
	lt.at(20 * time.Second) // the window holds dashNumbers 11…16 (video), across the loop points at 13 and 16
	m := lt.mpd(t)
	vod := lt.vodMPD(t)
	vodSegs, err := mpd.Segments(vod, "http://vod/dash/manifest.mpd", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	live, err := mpd.Segments(m, lt.base+"manifest.mpd", lt.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for ri, r := range live {
		id := liveRepID(t, r)
		ts := map[string]uint64{"0": 12288, "1": 12288, "2": 48000}[id]
		loopTicks := 6 * ts
		n := uint64(len(vodSegs[ri].Segments))
		var prevEnd uint64
		for i, s := range r.Segments {
			resp, body := get(t, lt.c, s.URL)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "video/iso.segment" {
				t.Fatalf("%s: %s %q", s.URL, resp.Status, resp.Header.Get("Content-Type"))
			}
			frags, err := bmff.Fragments(body)
			if err != nil || len(frags) != 1 {
				t.Fatalf("%s: fragments %+v, %v", s.URL, frags, err)
			}
			a := liveNumber(t, s.URL) - 1
			loop, v := a/n, vodSegs[ri].Segments[a%n]
			vodBody, err := os.ReadFile(filepath.Join(lt.media, "dash", strings.TrimPrefix(v.URL, "http://vod/dash/")))
			if err != nil {
				t.Fatal(err)
			}
			vodFrags, err := bmff.Fragments(vodBody)
			if err != nil {
				t.Fatal(err)
			}
			got, want := frags[0].BaseMediaDecodeTime, vodFrags[0].BaseMediaDecodeTime+loop*loopTicks
			if got != want {
				t.Errorf("%s (loop %d of VOD %s): tfdt %d, want %d", s.URL, loop, v.URL, got, want)
			}
			// Continuity: each segment starts where the one before ended,
			// except across a loop point, where the VOD's overhang (if any)
			// overlaps the next loop by less than a segment.
			if i > 0 && got != prevEnd && (a%n != 0 || got > prevEnd || prevEnd-got > ts/10) {
				t.Errorf("%s: tfdt %d after a segment that ended at %d", s.URL, got, prevEnd)
			}
			prevEnd = got + dashSegDuration(t, vodBody)
			// The MPD's time for the segment is its media time: exactly for
			// video; for audio, ffmpeg's MPD counts from after the AAC
			// encoder delay (an edit list of 1024 samples), so the two may
			// differ by that much.
			slack := time.Duration(0)
			if id == "2" {
				slack = 1024*time.Second/48000 + time.Microsecond
			}
			if mediaStart := time.Duration(got) * time.Second / time.Duration(ts); dashAbs(mediaStart-s.StartTime) > slack {
				t.Errorf("%s: media time %s, MPD time %s", s.URL, mediaStart, s.StartTime)
			}
			if sx, _, err := bmff.FindSidx(body); err != nil || sx.EarliestPresentationTime != got {
				t.Errorf("%s: sidx %+v %v, want its time at %d", s.URL, sx, err, got)
			}
			if len(body) != len(vodBody) {
				t.Errorf("%s: %d bytes, VOD %d", s.URL, len(body), len(vodBody))
			}
		}
	}
}

// dashSegDuration sums the sample durations of a segment's trun, which
// ffmpeg writes per sample or as a tfhd default.
func dashSegDuration(t *testing.T, seg []byte) uint64 {
	t.Helper()
	s, _, err := bmff.FindSidx(seg)
	if err != nil || len(s.References) != 1 {
		t.Fatalf("segment sidx: %+v %v", s, err)
	}
	return uint64(s.References[0].Duration)
}

func dashAbs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestLiveDASHRangesAndHead(t *testing.T) {
	t.Parallel()
	lt := startLiveDASH(t, 3, 0)
	lt.at(8 * time.Second) // window 5…7: loop 1
	_, whole := get(t, lt.c, lt.base+"1/6.m4s")
	req, _ := http.NewRequest(http.MethodGet, lt.base+"1/6.m4s", nil)
	req.Header.Set("Range", "bytes=10-99")
	resp, err := lt.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var part bytes.Buffer
	_, _ = part.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part.Bytes(), whole[10:100]) {
		t.Errorf("range: %s, %d bytes", resp.Status, part.Len())
	}
	req, _ = http.NewRequest(http.MethodHead, lt.base+"1/6.m4s", nil)
	resp, err = lt.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(whole)) || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("HEAD: %s, length %d (want %d)", resp.Status, resp.ContentLength, len(whole))
	}
	// Every byte served counts at the origin. (A large body can reach the
	// client before the handler's Write returns; the next request on the
	// same connection is read only once the handler is done.)
	lt.origin.bytes.Store(0)
	_, body := get(t, lt.c, lt.base+"2/7.m4s")
	_, notFound := get(t, lt.c, lt.base+"2/999.m4s")
	if got := lt.origin.bytes.Load(); got != int64(len(body)+len(notFound)) || len(body) == 0 {
		t.Errorf("origin counted %d bytes for a %d-byte segment and a %d-byte 404", got, len(body), len(notFound))
	}
}

func TestLiveDASHStartOffset(t *testing.T) {
	t.Parallel()
	lt := startLiveDASH(t, 2, 9*time.Second)
	m := lt.mpd(t)
	// 9 s in: the segment playing is the fifth (8–10 s), as in live.go.
	if got := dashNumbers(t, m, "0"); !slices.Equal(got, dashRange(5, 6)) {
		t.Errorf("--live-start 9s: dashNumbers %v", got)
	}
	if !m.AvailabilityStartTime.Equal(liveDASHEpoch.Add(-9*time.Second - 4*time.Second)) {
		t.Errorf("availabilityStartTime %s", m.AvailabilityStartTime)
	}
	if m.SuggestedPresentationDelay.D() != 2*time.Second {
		t.Errorf("suggestedPresentationDelay %s with a 2-segment window", m.SuggestedPresentationDelay)
	}
	// The default window of six segments: three segments behind the edge.
	if m := serveLiveDASH(t, lt.media, 6, 0).mpd(t); m.SuggestedPresentationDelay.D() != 6*time.Second || m.TimeShiftBufferDepth.D() != 12*time.Second {
		t.Errorf("window 6: suggestedPresentationDelay %s, timeShiftBufferDepth %s", m.SuggestedPresentationDelay, m.TimeShiftBufferDepth)
	}
}

func TestLiveDASHConfig(t *testing.T) {
	for _, cfg := range []liveConfig{{window: 0}, {window: 3, start: -time.Second}} {
		if _, err := newLiveDASHHandler(t.TempDir(), &cfg, http.NotFoundHandler()); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	// A VOD the live mode cannot loop answers 500, not a broken stream.
	media := t.TempDir()
	if err := os.MkdirAll(filepath.Join(media, "dash"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT6S"><Period>
<AdaptationSet><Representation id="a/b" bandwidth="1"><SegmentTemplate duration="2" media="$Number$.m4s" initialization="i.m4s"/></Representation></AdaptationSet></Period></MPD>`
	if err := os.WriteFile(filepath.Join(media, "dash", "manifest.mpd"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	lt := serveLiveDASH(t, media, 3, 0)
	if s := lt.status(t, "manifest.mpd"); s != http.StatusInternalServerError {
		t.Errorf("Representation id with a slash: %d", s)
	}
}
