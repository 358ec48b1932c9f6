package mpd

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nearcast/nearcast/manifest"
)

func TestJSRound(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		// Halves go up (towards +∞), as in JavaScript; math.Round would
		// give 1, 3, -1, -3.
		{0.5, 1}, {2.5, 3}, {-0.5, 0}, {-2.5, -2}, {-1.5, -1}, {1.5, 2},
		{10000.5, 10001}, {6000.5, 6001},
		// Just under a half stays down: Floor(x+0.5) would round it up.
		{0.49999999999999994, 0}, {16000.499999999998, 16000}, {4000.4999999999995, 4000},
		// Just over a half, and no halves left above 2^52.
		{2000.5000000000002, 2001}, {1 << 52, 1 << 52}, {1<<52 + 1, 1<<52 + 1}, {1 << 60, 1 << 60},
		{0, 0}, {1.4, 1}, {1.6, 2}, {-1.6, -2},
	} {
		if got := jsRound(c.in); got != c.want {
			t.Errorf("jsRound(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(jsRound(math.NaN())) || !math.IsInf(jsRound(math.Inf(1)), 1) {
		t.Error("jsRound of NaN or +Inf")
	}
}

func TestPeriodKeyAndTimeSeq(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "p0", 10 * time.Second: "p10000", 30500 * time.Millisecond: "p30500",
		// Math.round(s × 1000) in doubles: 10.0005 × 1000 is 10000.5,
		// 16.0005 × 1000 is 16000.499999999998.
		10000500 * time.Microsecond: "p10001", 16000500 * time.Microsecond: "p16000", 6000500 * time.Microsecond: "p6001",
		1400 * time.Microsecond: "p1", 1500 * time.Microsecond: "p2", -time.Second: "p?",
	} {
		if got := PeriodKey(d); got != want {
			t.Errorf("PeriodKey(%s) = %q, want %q", d, got, want)
		}
	}
	if got := RenditionName(10*time.Second, "720p", KindBytes); got != "p10000|720p|b" {
		t.Errorf("RenditionName = %q", got)
	}
	for _, c := range []struct{ ticks, ts, want uint64 }{
		{0, 12288, 0}, {24576, 12288, 2000}, {95232, 48000, 1984}, {191488, 48000, 3989}, {287744, 48000, 5995},
		{88064, 44100, 1997}, {1710000000, 90000, 19000000},
		// Half milliseconds, rounded like Math.round(ticks / ts * 1000) in
		// doubles: 1/2000 s is 0.5 ms → 1; 4001/2000 s × 1000 is
		// 2000.5000000000002 → 2001; 8001/2000 s × 1000 is
		// 4000.4999999999995 → 4000 (exact arithmetic would say 4001).
		{1, 2000, 1}, {3, 2000, 2}, {4001, 2000, 2001}, {8001, 2000, 4000}, {1001, 2000, 500}, {10001, 2000, 5001},
	} {
		if got, err := TimeSeq(c.ticks, c.ts); err != nil || got != c.want {
			t.Errorf("TimeSeq(%d, %d) = %d, %v; want %d", c.ticks, c.ts, got, err, c.want)
		}
	}
	// Past Number.MAX_SAFE_INTEGER ms the shim gives no identity.
	for _, c := range []struct{ ticks, ts uint64 }{{1, 0}, {math.MaxUint64, 1}, {1 << 53, 1000}, {9007199254741, 1}} {
		if _, err := TimeSeq(c.ticks, c.ts); !errors.Is(err, ErrTimeline) {
			t.Errorf("TimeSeq(%d, %d): %v", c.ticks, c.ts, err)
		}
	}
	if got, err := TimeSeq(9007199254740, 1); err != nil || got != 9007199254740000 {
		t.Errorf("TimeSeq at the edge = %d, %v", got, err)
	}
}

// identities lists the media segments of rs the way the player shim names
// them: "rendition seq" (with "[start-end)" for byte ranges), checking that
// each segment's swarm is its rendition's.
func identities(t *testing.T, rs []manifest.Rendition) []string {
	t.Helper()
	var out []string
	for _, r := range rs {
		for _, s := range r.Segments {
			if s.Swarm != manifest.SwarmFor(manifestURL, s.Rendition) {
				t.Errorf("%+v: swarm is not SwarmFor(manifest, %q)", s, s.Rendition)
			}
			line := fmt.Sprintf("%s %d", s.Rendition, s.Seq)
			if s.End > 0 {
				line += fmt.Sprintf(" [%d-%d)", s.Start, s.End)
			}
			out = append(out, line)
		}
		for _, in := range r.Inits {
			if in.Swarm != manifest.SwarmFor(manifestURL, manifest.InitRendition(r.Name)) {
				t.Errorf("%s: init %+v is not in the rendition's #init swarm", r.Name, in)
			}
		}
	}
	return out
}

// TestShimIdentity lists (rendition, seq) of every media segment of the
// committed ffmpeg MPDs and a hand-written multi-Period one. The expected
// values are worked out by hand from the shim's rules (player-shim/src:
// dashjs.js dashIdentity, shaka.js dashIdentity and periodKey):
//
//	rendition = p<Math.round(Period start s × 1000)>|<Representation@id>|<t or b>
//	t: seq = Math.round(media time / @timescale × 1000); b: seq = first byte
func TestShimIdentity(t *testing.T) {
	for name, want := range map[string][]string{
		// 2 s at 12288/s: 0, 2000, 4000. Audio at 48000/s: S@t 0, 95232,
		// 191488, 287744 are 0, 1.984, 3.98933…, 5.99466… s.
		"ffmpeg/number.mpd": {
			"p0|0|t 0", "p0|0|t 2000", "p0|0|t 4000",
			"p0|1|t 0", "p0|1|t 2000", "p0|1|t 4000",
			"p0|2|t 0", "p0|2|t 1984", "p0|2|t 3989", "p0|2|t 5995",
		},
		"ffmpeg/time.mpd": {
			"p0|0|t 0", "p0|0|t 2000", "p0|0|t 4000",
			"p0|1|t 0", "p0|1|t 2000", "p0|1|t 4000",
			"p0|2|t 0", "p0|2|t 1984", "p0|2|t 3989", "p0|2|t 5995",
		},
		// SegmentList@mediaRange "827-61106": seq 827, range [827, 61107).
		"ffmpeg/single-file.mpd": {
			"p0|0|b 827 [827-61107)", "p0|0|b 61107 [61107-116329)", "p0|0|b 116329 [116329-167273)",
			"p0|1|b 765 [765-17164)", "p0|1|b 17164 [17164-33809)", "p0|1|b 33809 [33809-50454)", "p0|1|b 50454 [50454-50621)",
		},
		"periods.mpd": {
			// Period "intro" at 0: @duration 2 s and @presentationTimeOffset
			// 10 s: media times 10, 12, 14, 16 s ($Number$ 7 to 10).
			"p0|v|t 10000", "p0|v|t 12000", "p0|v|t 14000", "p0|v|t 16000",
			// Period "main" at 6.0005 s (p6001): timescale 90000,
			// @presentationTimeOffset 90 (1 ms), S@t 90 and 180090, then every
			// 90000 to the Period end (10 s on, media time 900090): the media
			// times in ms, @presentationTimeOffset not subtracted.
			"p6001|v|t 1", "p6001|v|t 2001", "p6001|v|t 4001", "p6001|v|t 5001",
			"p6001|v|t 6001", "p6001|v|t 7001", "p6001|v|t 8001", "p6001|v|t 9001",
			"p6001|a|b 600 [600-40600)", "p6001|a|b 40600 [40600-81000)",
			// Period "tail" at 16.0005 s: p16000.
			"p16000|v|t 0", "p16000|v|t 2000",
		},
	} {
		t.Run(strings.TrimSuffix(name, ".mpd"), func(t *testing.T) {
			if got := identities(t, segments(t, name, time.Time{})); !slices.Equal(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

// TestNumberAndTimeAddressingShareIdentity: the players name a segment by
// its media time whatever its URL template, so $Number$ and $Time$ over one
// SegmentTimeline, and @duration over the equivalent constant timeline,
// give the same swarms and seqs.
func TestNumberAndTimeAddressingShareIdentity(t *testing.T) {
	doc := func(template string) *MPD {
		t.Helper()
		m, err := Parse([]byte(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT16S">
<Period start="PT4S"><AdaptationSet contentType="video"><Representation id="hd" bandwidth="1">` + template +
			`</Representation></AdaptationSet></Period></MPD>`))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	const timeline = `<SegmentTimeline><S t="180000" d="360000" r="2"/></SegmentTimeline>`
	number := doc(`<SegmentTemplate timescale="90000" presentationTimeOffset="180000" startNumber="5" media="n/$Number%04d$.m4s">` + timeline + `</SegmentTemplate>`)
	byTime := doc(`<SegmentTemplate timescale="90000" presentationTimeOffset="180000" media="t/$Time$.m4s">` + timeline + `</SegmentTemplate>`)
	both := doc(`<SegmentTemplate timescale="90000" presentationTimeOffset="180000" media="b/$Number$-$Time$.m4s">` + timeline + `</SegmentTemplate>`)
	duration := doc(`<SegmentTemplate timescale="90000" presentationTimeOffset="180000" duration="360000" startNumber="0" media="d/$Number$.m4s"/>`)
	var lists [][]string
	for _, m := range []*MPD{number, byTime, both, duration} {
		rs, err := Segments(m, manifestURL, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var urls []string
		for _, s := range rs[0].Segments {
			urls = append(urls, strings.TrimPrefix(s.URL, "https://cdn.example/live/"))
		}
		t.Logf("%q", urls)
		lists = append(lists, identities(t, rs))
	}
	// Media times 2, 6 and 10 s (after a @presentationTimeOffset of 2 s) in
	// the Period that starts at 4 s.
	want := []string{"p4000|hd|t 2000", "p4000|hd|t 6000", "p4000|hd|t 10000"}
	for i, got := range lists {
		if !slices.Equal(got, want) {
			t.Errorf("addressing %d: %q, want %q", i, got, want)
		}
	}
}
