package mpd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/manifest"
	"github.com/nearcast/nearcast/manifest/bmff"
)

const manifestURL = "https://cdn.example/live/show.mpd?token=viewer1"

func load(t testing.TB, name string) *MPD {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func fixtures(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"*.mpd", "ffmpeg/*.mpd"} {
		m, err := filepath.Glob(filepath.Join("testdata", pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			out = append(out, strings.TrimPrefix(f, "testdata"+string(filepath.Separator)))
		}
	}
	if len(out) < 9 {
		t.Fatalf("only %d fixtures", len(out))
	}
	return out
}

func segments(t *testing.T, name string, now time.Time) []manifest.Rendition {
	t.Helper()
	rs, err := Segments(load(t, name), manifestURL, now)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rs
}

// brief renders a rendition's media segments as "seq url [start-end) start+dur".
func brief(r manifest.Rendition) []string {
	var out []string
	for _, s := range r.Segments {
		line := fmt.Sprintf("%d %s %s+%s", s.Seq, strings.TrimPrefix(s.URL, "https://cdn.example/live/"), s.StartTime, s.Duration)
		if s.End > 0 {
			line = fmt.Sprintf("%d %s [%d-%d) %s+%s", s.Seq, strings.TrimPrefix(s.URL, "https://cdn.example/live/"), s.Start, s.End, s.StartTime, s.Duration)
		}
		out = append(out, line)
		if s.Swarm != r.Swarm || s.Rendition != r.Name || s.Init || s.Index {
			out = append(out, fmt.Sprintf("bad identity %+v", s))
		}
	}
	return out
}

func checkBrief(t *testing.T, what string, r manifest.Rendition, want ...string) {
	t.Helper()
	if got := brief(r); !slices.Equal(got, want) {
		t.Errorf("%s:\n  got  %q\n  want %q", what, got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, name := range fixtures(t) {
		m1 := load(t, name)
		out1, err := Marshal(m1)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m2, err := Parse(out1)
		if err != nil {
			t.Fatalf("%s: re-parse: %v\n%s", name, err, out1)
		}
		if !reflect.DeepEqual(m1, m2) {
			t.Errorf("%s: model changed by Marshal then Parse", name)
		}
		out2, err := Marshal(m2)
		if err != nil || !bytes.Equal(out1, out2) {
			t.Errorf("%s: Marshal is not stable: %v\n%s\n---\n%s", name, err, out1, out2)
		}
	}
}

func TestRoundTripKeepsUnknownContent(t *testing.T) {
	out, err := Marshal(load(t, "unknown.mpd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`xmlns="urn:mpeg:dash:schema:mpd:2011"`, `xmlns:cenc="urn:mpeg:cenc:2013"`, `vendor:flavour="x"`, `futureAttr="1"`,
		`<Title>Unknown &amp; kept</Title>`, `xlink:actuate="onRequest"`, `futureAS="yes"`,
		`cenc:default_KID="10000000-1000-1000-1000-100000000001"`, `<cenc:pssh>AAAAAA==</cenc:pssh>`,
		`<Nested b="2">text</Nested>`, `<local:Thing xmlns:local="urn:local:thing" local:k="v">`, `futureTemplateAttr="z"`,
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("lost %s in\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte(`xmlns=""`)) {
		t.Errorf("an element was moved out of the MPD namespace:\n%s", out)
	}
}

func TestFFmpegNumberTemplate(t *testing.T) {
	rs := segments(t, "ffmpeg/number.mpd", time.Time{})
	if len(rs) != 3 {
		t.Fatalf("%d renditions", len(rs))
	}
	names := []string{rs[0].Name + ":" + rs[0].Type, rs[1].Name + ":" + rs[1].Type, rs[2].Name + ":" + rs[2].Type}
	if !slices.Equal(names, []string{"p0|0|t:video", "p0|1|t:video", "p0|2|t:audio"}) || rs[1].Bandwidth != 1500000 {
		t.Errorf("renditions %v", names)
	}
	// $Number$ addressing, named by media time in ms all the same.
	checkBrief(t, "360p", rs[0],
		"0 chunk-stream0-00001.m4s 0s+2s", "2000 chunk-stream0-00002.m4s 2s+2s", "4000 chunk-stream0-00003.m4s 4s+2s")
	checkBrief(t, "audio", rs[2],
		"0 chunk-stream2-00001.m4s 0s+1.984s", "1984 chunk-stream2-00002.m4s 1.984s+2.005333333s",
		"3989 chunk-stream2-00003.m4s 3.989333333s+2.005333333s", "5995 chunk-stream2-00004.m4s 5.994666666s+5.333333ms")
	in := rs[2].Inits
	if len(in) != 1 || in[0].URL != "https://cdn.example/live/init-stream2.m4s" || !in[0].Init || in[0].Seq != 0 ||
		in[0].Swarm != "https://cdn.example/live/show.mpd#p0|2|t#init" || in[0].Rendition != "p0|2|t" {
		t.Errorf("init %+v", in)
	}
	if rs[0].Swarm != engine.SwarmIDFor("https://cdn.example/live/show.mpd", "p0|0|t") {
		t.Errorf("swarm %q", rs[0].Swarm)
	}
}

func TestFFmpegTimeTemplate(t *testing.T) {
	rs := segments(t, "ffmpeg/time.mpd", time.Time{})
	checkBrief(t, "video", rs[1], "0 chunk-1-0.m4s 0s+2s", "2000 chunk-1-24576.m4s 2s+2s", "4000 chunk-1-49152.m4s 4s+2s")
	checkBrief(t, "audio", rs[2], "0 chunk-2-0.m4s 0s+1.984s", "1984 chunk-2-95232.m4s 1.984s+2.005333333s",
		"3989 chunk-2-191488.m4s 3.989333333s+2.005333333s", "5995 chunk-2-287744.m4s 5.994666666s+5.333333ms")
}

func TestFFmpegSingleFileSegmentList(t *testing.T) {
	rs := segments(t, "ffmpeg/single-file.mpd", time.Time{})
	// Byte ranges: named by their first byte.
	checkBrief(t, "video", rs[0], "827 manifest-stream0.mp4 [827-61107) 0s+2s", "61107 manifest-stream0.mp4 [61107-116329) 2s+2s",
		"116329 manifest-stream0.mp4 [116329-167273) 4s+2s")
	if rs[0].Name != "p0|0|b" {
		t.Errorf("name %q", rs[0].Name)
	}
	if in := rs[1].Inits[0]; in.URL != "https://cdn.example/live/manifest-stream1.mp4" || in.Start != 0 || in.End != 765 ||
		in.Seq != 0 || in.Swarm != "https://cdn.example/live/show.mpd#p0|1|b#init" {
		t.Errorf("audio init %+v", in)
	}
}

func TestTimelineRepeatsAndInheritance(t *testing.T) {
	rs := segments(t, "timeline.mpd", time.Time{})
	// presentationTimeOffset 1000 puts t=1000 at 0 s; r=-1 runs to the next
	// S@t (8000 → 11000: 3 segments), then to the end of the Period (20 s,
	// media time 21000: 17000 and 19500, the last one overhanging). The seq
	// is the media time (timescale 1000: the same number), not the
	// presentation time.
	checkBrief(t, "$Time$", rs[0],
		"1000 v1/t1000-b000500000.m4s 0s+2s", "3000 v1/t3000-b000500000.m4s 2s+2s", "5000 v1/t5000-b000500000.m4s 4s+2s",
		"8000 v1/t8000-b000500000.m4s 7s+1s", "9000 v1/t9000-b000500000.m4s 8s+1s", "10000 v1/t10000-b000500000.m4s 9s+1s",
		"11000 v1/t11000-b000500000.m4s 10s+3s", "14000 v1/t14000-b000500000.m4s 13s+3s",
		"17000 v1/t17000-b000500000.m4s 16s+2.5s", "19500 v1/t19500-b000500000.m4s 18.5s+2.5s")
	// The Representation overrides @media and @startNumber and keeps the
	// AdaptationSet's timeline and timescale.
	got := brief(rs[1])
	if len(got) != 10 || got[0] != "1000 v2/n010.m4s 0s+2s" || got[9] != "19500 v2/n019.m4s 18.5s+2.5s" {
		t.Errorf("$Number$: %q", got)
	}
	if rs[1].Inits[0].URL != "https://cdn.example/live/v2/init.mp4" {
		t.Errorf("inherited initialization %+v", rs[1].Inits)
	}
}

func TestMultiplePeriods(t *testing.T) {
	rs := segments(t, "multiperiod.mpd", time.Time{})
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	// Representation ids repeat; the Period start tells them apart (the
	// third Period starts where the second's @duration ends).
	if !slices.Equal(names, []string{"p0|v|t", "p10000|v|t", "p10000|a|t", "p22000|a|t"}) {
		t.Fatalf("renditions %q", names)
	}
	base := "https://cdn.example/show/"
	for i, want := range [][]string{
		{"0 " + base + "ad/v-1.m4s 0s+4s", "4000 " + base + "ad/v-2.m4s 4s+4s", "8000 " + base + "ad/v-3.m4s 8s+4s"},
		{"0 " + base + "main/v-0.m4s 10s+4s", "4000 " + base + "main/v-1.m4s 14s+4s", "8000 " + base + "main/v-2.m4s 18s+4s"},
		{"0 " + base + "main/a-1.m4a 10s+4s", "4000 " + base + "main/a-2.m4a 14s+4s"}, // endNumber 2
		{"0 " + base + "tail/a-1.m4a 22s+2s", "2000 " + base + "tail/a-2.m4a 24s+2s", "4000 " + base + "tail/a-3.m4a 26s+2s", "6000 " + base + "tail/a-4.m4a 28s+2s"},
	} {
		checkBrief(t, names[i], rs[i], want...)
	}
	if rs[0].Swarm == rs[1].Swarm || rs[2].Swarm == rs[3].Swarm {
		t.Errorf("Periods share swarms")
	}
}

func TestSegmentListAndBaseURLNesting(t *testing.T) {
	rs := segments(t, "segmentlist.mpd", time.Time{})
	// MPD (first BaseURL) → Period → AdaptationSet → Representation.
	// @mediaRange: named by the first byte.
	checkBrief(t, "low", rs[0],
		"800 https://cdn-a.example/vod/movie/video/low.mp4?sig=xyz [800-1800) 0s+2s",
		"1800 https://cdn-a.example/vod/movie/video/low.mp4?sig=xyz [1800-3000) 2s+2s",
		"0 https://cdn-a.example/vod/movie/video/extra.mp4 [0-100) 4s+2s")
	if in := rs[0].Inits[0]; in.URL != "https://cdn-a.example/vod/movie/video/low.mp4?sig=xyz" || in.End != 800 {
		t.Errorf("init %+v", in)
	}
	// An absolute BaseURL restarts the chain; a SegmentTimeline gives the
	// durations. No ranges: named by media time.
	checkBrief(t, "high", rs[1], "0 https://other.example/abs/high/a.m4s 0s+2.5s", "2500 https://other.example/root/b.m4s 2.5s+3.5s")
	if rs[0].Name != "p0|low|b" || rs[1].Name != "p0|high|t" {
		t.Errorf("names %q %q", rs[0].Name, rs[1].Name)
	}
}

// TestSegmentListMixingRanges: the shim decides the kind per request, so a
// SegmentList whose SegmentURLs have @mediaRange and not puts each segment in
// the rendition of its kind.
func TestSegmentListMixingRanges(t *testing.T) {
	m := load(t, "segmentlist.mpd")
	urls := m.Periods[0].AdaptationSets[0].Representations[0].SegmentList.SegmentURLs
	urls[1].MediaRange = ""
	rs, err := Segments(m, manifestURL, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	low := rs[0]
	if low.Name != "p0|low|b" || low.Swarm != manifest.SwarmFor(manifestURL, "p0|low|b") {
		t.Fatalf("rendition %q %q", low.Name, low.Swarm)
	}
	var got []string
	for _, s := range low.Segments {
		if s.Swarm != manifest.SwarmFor(manifestURL, s.Rendition) {
			t.Errorf("segment %+v: swarm is not its rendition's", s)
		}
		got = append(got, fmt.Sprintf("%s %d", s.Rendition, s.Seq))
	}
	if want := []string{"p0|low|b 800", "p0|low|t 2000", "p0|low|b 0"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTokenisedManifestsShareIdentity(t *testing.T) {
	m := load(t, "ffmpeg/number.mpd")
	a, err1 := Segments(m, "https://CDN.example/live/show.mpd?token=viewer1", time.Time{})
	b, err2 := Segments(m, "https://user:pw@cdn.example/live/show.mpd?token=viewer2&x=1#frag", time.Time{})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i := range a {
		if a[i].Swarm != b[i].Swarm || a[i].Inits[0].Swarm != b[i].Inits[0].Swarm {
			t.Errorf("rendition %s: swarms %q / %q", a[i].Name, a[i].Swarm, b[i].Swarm)
		}
		for j := range a[i].Segments {
			if a[i].Segments[j].Request().Swarm != b[i].Segments[j].Request().Swarm || a[i].Segments[j].Seq != b[i].Segments[j].Seq {
				t.Errorf("segment %d of %s differs", j, a[i].Name)
			}
		}
	}
	if a[0].Swarm != "https://cdn.example/live/show.mpd#p0|0|t" {
		t.Errorf("swarm %q", a[0].Swarm)
	}
}

func TestDynamicAvailability(t *testing.T) {
	ast := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at          time.Duration
		first, last uint64 // video $Number$
	}{
		{60 * time.Second, 124, 129},
		{61999 * time.Millisecond, 124, 129},
		{62 * time.Second, 125, 130},
		{3 * time.Second, 100, 100},
	} {
		rs := segments(t, "dynamic.mpd", ast.Add(c.at))
		v, a := rs[0], rs[1]
		if v.Name != "p0|v|t" || a.Name != "p0|a|t" {
			t.Fatalf("dynamic renditions %q %q", v.Name, a.Name)
		}
		// $Number$ n is media time (n - 100) × 2 s.
		n := len(v.Segments)
		if n == 0 || v.Segments[0].Seq != (c.first-100)*2000 || v.Segments[n-1].Seq != (c.last-100)*2000 ||
			!strings.HasSuffix(v.Segments[0].URL, fmt.Sprintf("/v/%d.m4s", c.first)) {
			t.Errorf("at %s: video %q", c.at, brief(v))
			continue
		}
		// A segment is available from its end until its end plus its
		// duration plus timeShiftBufferDepth (10 s).
		if end := v.Segments[n-1].StartTime + v.Segments[n-1].Duration; end > c.at {
			t.Errorf("at %s: segment ending at %s is listed", c.at, end)
		}
		if end := v.Segments[0].StartTime + 2*v.Segments[0].Duration + 10*time.Second; end <= c.at {
			t.Errorf("at %s: segment %d no longer available is listed", c.at, v.Segments[0].Seq)
		}
		// Audio: r=-1 to the live edge, $Time$ addressing, the same times.
		if len(a.Segments) != n || a.Segments[0].Seq != v.Segments[0].Seq || !strings.HasSuffix(a.Segments[0].URL, fmt.Sprintf("/a/%d.m4a", (c.first-100)*96000)) {
			t.Errorf("at %s: audio %q", c.at, brief(a))
		}
	}
	rs := segments(t, "dynamic.mpd", ast.Add(time.Second))
	if len(rs[0].Segments) != 0 || len(rs[1].Segments) != 0 {
		t.Errorf("1 s after the start nothing is complete: %q %q", brief(rs[0]), brief(rs[1]))
	}
	if _, err := Segments(load(t, "dynamic.mpd"), manifestURL, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("dynamic without a time: %v", err)
	}
}

func TestDynamicWithoutTimeShiftBufferKeepsTheNewest(t *testing.T) {
	m := load(t, "dynamic.mpd")
	m.TimeShiftBufferDepth = nil
	rs, err := Segments(m, manifestURL, m.AvailabilityStartTime.Add(24*time.Hour), manifest.WithMaxSegments(100))
	if err != nil {
		t.Fatal(err)
	}
	v := rs[0].Segments
	if len(v) != 100 || v[99].Seq != 43199*2000 || !strings.HasSuffix(v[99].URL, "/v/43299.m4s") {
		t.Errorf("%d segments, last %d", len(v), v[len(v)-1].Seq)
	}
}

// sidx builds the bytes of a segment index of subsegments of the given
// sizes, 2 s each at 12288/s.
func sidx(sizes ...uint32) []byte {
	s := &bmff.Sidx{Version: 1, ReferenceID: 1, Timescale: 12288}
	for _, n := range sizes {
		s.References = append(s.References, bmff.SidxReference{Size: n, Duration: 24576, StartsWithSAP: true, SAPType: 1})
	}
	b, err := s.AppendBox(nil)
	if err != nil {
		panic(err)
	}
	return b
}

func TestSegmentBase(t *testing.T) {
	m := load(t, "segmentbase.mpd")
	rs, err := Segments(m, manifestURL, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	v := &rs[0]
	if v.Index == nil || v.Index.Start != 831 || v.Index.End != 907 || v.Index.Seq != 831 || !v.Index.Index ||
		v.Index.URL != "https://cdn.example/live/video.mp4" || len(v.Segments) != 0 ||
		v.Name != "p0|0|b" || v.Index.Swarm != manifest.SwarmFor(manifestURL, "p0|0|b#init") {
		t.Fatalf("index %+v, segments %d", v.Index, len(v.Segments))
	}
	if in := v.Inits[0]; in.Start != 0 || in.End != 831 {
		t.Errorf("init %+v", in)
	}
	index := sidx(60228, 55170, 50892)
	if len(index) != 907-831 {
		t.Fatalf("test sidx is %d bytes", len(index))
	}
	if err := ExpandIndex(m, manifestURL, v, index); err != nil {
		t.Fatal(err)
	}
	checkBrief(t, "subsegments", *v, "907 video.mp4 [907-61135) 0s+2s", "61135 video.mp4 [61135-116305) 2s+2s", "116305 video.mp4 [116305-167197) 4s+2s")
	// Without an index the whole resource is one segment, without a range.
	checkBrief(t, "subs", rs[1], "0 subs.vtt 0s+6s")
	if rs[1].Name != "p0|subs|t" {
		t.Errorf("name %q", rs[1].Name)
	}
	if err := ExpandIndex(m, manifestURL, &rs[1], index); !errors.Is(err, ErrInvalid) {
		t.Errorf("ExpandIndex without an index: %v", err)
	}
	if err := ExpandIndex(m, manifestURL, v, index[:20]); !errors.Is(err, manifest.ErrMalformed) {
		t.Errorf("truncated index: %v", err)
	}
}

// ffmpegPath returns ffmpeg, failing the test with a clear message when it
// is missing: the project's dependencies install it.
func ffmpegPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg is needed to build this test's media and is not installed (Debian: apt-get install -y ffmpeg): %v", err)
	}
	return p
}

// TestSegmentBaseFromFFmpeg checks the sidx expansion against ffmpeg: a
// single-file fMP4 with a global sidx, whose fragment ranges ffmpeg also
// lists in its SegmentList.
func TestSegmentBaseFromFFmpeg(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(ffmpegPath(t), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24:duration=6",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "48", "-keyint_min", "48", "-sc_threshold", "0",
		"-f", "dash", "-seg_duration", "2", "-single_file", "1", "-global_sidx", "1", filepath.Join(dir, "manifest.mpd"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	file, err := os.ReadFile(filepath.Join(dir, "manifest-stream0.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	mpdBytes, err := os.ReadFile(filepath.Join(dir, "manifest.mpd"))
	if err != nil {
		t.Fatal(err)
	}
	listed, err := Parse(mpdBytes)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Segments(listed, manifestURL, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	boxes, err := bmff.ReadBoxes(file)
	if err != nil {
		t.Fatal(err)
	}
	var idx bmff.Box
	for _, b := range boxes {
		if b.Type == bmff.TypeSidx {
			idx = b
			break
		}
	}
	if idx.Size == 0 {
		t.Fatal("ffmpeg wrote no sidx")
	}
	doc := fmt.Sprintf(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT6S">
<Period><AdaptationSet contentType="video"><Representation id="0" bandwidth="1"><BaseURL>manifest-stream0.mp4</BaseURL>
<SegmentBase indexRange="%d-%d" timescale="12288"><Initialization range="0-%d"/></SegmentBase></Representation></AdaptationSet></Period></MPD>`,
		idx.Offset, idx.End()-1, idx.Offset-1)
	m, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Segments(m, manifestURL, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	r := &rs[0]
	if err := ExpandIndex(m, manifestURL, r, file[r.Index.Start:r.Index.End]); err != nil {
		t.Fatal(err)
	}
	w := want[0].Segments
	if len(r.Segments) != len(w) || len(w) != 3 {
		t.Fatalf("%d subsegments, ffmpeg lists %d", len(r.Segments), len(w))
	}
	// The same bytes addressed by SegmentBase and by SegmentList@mediaRange
	// have the same identity.
	for i, s := range r.Segments {
		if s.Start != w[i].Start || s.End != w[i].End || s.StartTime != w[i].StartTime || s.Seq != uint64(s.Start) ||
			s.Seq != w[i].Seq || s.Swarm != w[i].Swarm {
			t.Errorf("subsegment %d: %+v, ffmpeg's SegmentList has %+v", i, s, w[i])
		}
	}
}

func TestLimitsAndHostileValues(t *testing.T) {
	tl := func(s string) string {
		return `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S"><Period>
<AdaptationSet><Representation id="r" bandwidth="1"><SegmentTemplate timescale="1000" media="$Number$"><SegmentTimeline>` + s +
			`</SegmentTimeline></SegmentTemplate></Representation></AdaptationSet></Period></MPD>`
	}
	for name, c := range map[string]struct {
		doc  string
		opts []manifest.Option
		want error
	}{
		"r in the billions":    {tl(`<S d="1" r="2000000000"/>`), nil, manifest.ErrTooLarge},
		"r=-1 in microseconds": {strings.Replace(tl(`<S d="1" r="-1"/>`), `timescale="1000"`, `timescale="1000000"`, 1), nil, manifest.ErrTooLarge},
		"over a small cap":     {tl(`<S d="1000" r="9"/>`), []manifest.Option{manifest.WithMaxSegments(5)}, manifest.ErrTooLarge},
		"time overflow":        {tl(`<S t="18446744073709551000" d="1000" r="5"/>`), nil, ErrTimeline},
		"d=0":                  {tl(`<S d="0"/>`), nil, ErrTimeline},
		"r=-2":                 {tl(`<S d="1" r="-2"/>`), nil, ErrTimeline},
		"backwards":            {tl(`<S t="5000" d="1000"/><S t="1000" d="1000"/>`), nil, ErrTimeline},
		"r=-1 before no t":     {tl(`<S d="1000" r="-1"/><S d="1000"/>`), nil, ErrTimeline},
		"template width":       {strings.Replace(tl(`<S d="1000"/>`), `$Number$`, `$Number%0999999d$`, 1), nil, ErrTemplate},
		"unknown identifier":   {strings.Replace(tl(`<S d="1000"/>`), `$Number$`, `$Frame$`, 1), nil, ErrTemplate},
		"unterminated":         {strings.Replace(tl(`<S d="1000"/>`), `$Number$`, `seg-$Number`, 1), nil, ErrTemplate},
		"no addressing":        {`<MPD type="static"><Period><AdaptationSet><Representation id="r" bandwidth="1"/></AdaptationSet></Period></MPD>`, nil, ErrInvalid},
		"duplicate id":         {strings.Replace(tl(`<S d="1000"/>`), `</Representation>`, `</Representation><Representation id="r" bandwidth="2"/>`, 1), nil, ErrInvalid},
		"missing id":           {strings.Replace(tl(`<S d="1000"/>`), `id="r" `, ``, 1), nil, ErrInvalid},
		"dynamic without AST":  {strings.Replace(tl(`<S d="1000"/>`), `type="static"`, `type="dynamic"`, 1), nil, ErrInvalid},
		"bad duration":         {strings.Replace(tl(`<S d="1000"/>`), `PT10S`, `10 seconds`, 1), nil, ErrSyntax},
		"years":                {strings.Replace(tl(`<S d="1000"/>`), `PT10S`, `P1Y`, 1), nil, ErrSyntax},
		"not XML":              {`<MPD><Period>`, nil, ErrSyntax},
		"other root":           {`<HTML/>`, nil, ErrSyntax},
		"trailing content":     {`<MPD/><MPD/>`, nil, ErrSyntax},
		"bad range":            {strings.Replace(strings.Replace(tl(``), `<SegmentTimeline>`, ``, 1), `</SegmentTimeline></SegmentTemplate>`, `</SegmentTemplate><SegmentList><SegmentURL mediaRange="9-1"/></SegmentList>`, 1), nil, ErrInvalid},
		"over the byte limit":  {tl(`<S d="1000"/>`), []manifest.Option{manifest.WithMaxBytes(100)}, manifest.ErrTooLarge},
	} {
		m, err := Parse([]byte(c.doc), c.opts...)
		if err == nil {
			_, err = Segments(m, manifestURL, time.Time{}, c.opts...)
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
		if !errors.Is(err, manifest.ErrMalformed) && !errors.Is(err, manifest.ErrTooLarge) && !errors.Is(err, manifest.ErrUnsupported) {
			t.Errorf("%s: %v is outside the manifest sentinels", name, err)
		}
	}
	// An infinite availabilityTimeOffset with no Period end has no last
	// segment.
	dyn := load(t, "dynamic.mpd")
	dyn.Periods[0].AdaptationSets[0].SegmentTemplate.AvailabilityTimeOffset = "INF"
	for _, tsbd := range []*Duration{dyn.TimeShiftBufferDepth, nil} {
		dyn.TimeShiftBufferDepth = tsbd
		if _, err := Segments(dyn, manifestURL, dyn.AvailabilityStartTime.Add(time.Minute)); !errors.Is(err, ErrUnsupported) {
			t.Errorf("open-ended INF window (timeShiftBufferDepth %v): %v", tsbd, err)
		}
	}
	// The total cap counts every rendition.
	m := load(t, "ffmpeg/number.mpd")
	if _, err := Segments(m, manifestURL, time.Time{}, manifest.WithMaxTotalSegments(9)); !errors.Is(err, manifest.ErrTooLarge) {
		t.Errorf("10 segments under a total cap of 9: %v", err)
	}
	if _, err := Segments(m, manifestURL, time.Time{}, manifest.WithMaxSegments(0)); !errors.Is(err, manifest.ErrInvalidOption) {
		t.Errorf("WithMaxSegments(0): %v", err)
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT2S": 2 * time.Second, "PT6.0S": 6 * time.Second, "PT1M59.89S": 119890 * time.Millisecond, "P0Y0M1DT1H": 25 * time.Hour,
		"PT0.000000001S": 1, "PT0.1234567899S": 123456789, "-PT1S": -time.Second, "PT1H2M3.5S": time.Hour + 2*time.Minute + 3500*time.Millisecond,
		"P1D": 24 * time.Hour, " PT3S ": 3 * time.Second, "PT.5S": 500 * time.Millisecond,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "2S", "PT2", "PTS", "P1H", "PT1D", "PT1S2M", "PT1.5M", "P1Y", "P2M", "PT99999999999999999999S", "PT9223372037S", "P1.5.5S", "PT1..5S", "PTT1S", "P1DT"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
	for d, want := range map[time.Duration]string{0: "PT0S", 2 * time.Second: "PT2S", 90 * time.Minute: "PT1H30M", 1500 * time.Millisecond: "PT1.5S", -time.Second: "-PT1S", 25*time.Hour + time.Nanosecond: "PT25H0.000000001S"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(want); err != nil || back != d {
			t.Errorf("%q parses back to %s, %v", want, back, err)
		}
	}
}

func TestExpandTemplate(t *testing.T) {
	v := TemplateValues{RepresentationID: "video-1", Number: 42, Time: 90000, Bandwidth: 800000, HasNumber: true, HasTime: true, HasBandwidth: true}
	for in, want := range map[string]string{
		"seg-$Number$.m4s":                    "seg-42.m4s",
		"$RepresentationID$/$Number%05d$.m4s": "video-1/00042.m4s",
		"t$Time%03d$-$Bandwidth$":             "t90000-800000",
		"cost$$-$$$Number$":                   "cost$-$42",
		"plain.mp4":                           "plain.mp4",
		"$Number%01d$":                        "42",
	} {
		if got, err := ExpandTemplate(in, v); err != nil || got != want {
			t.Errorf("%q → %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"$Number", "$Frame$", "$RepresentationID%05d$", "$Number%5d$", "$Number%05x$", "$Number%0-5d$", "$Number%00d$", "$Number%033d$"} {
		if _, err := ExpandTemplate(in, v); !errors.Is(err, ErrTemplate) {
			t.Errorf("%q: %v", in, err)
		}
	}
	if _, err := ExpandTemplate("$Time$", TemplateValues{HasNumber: true}); !errors.Is(err, ErrTemplate) {
		t.Errorf("$Time$ without a time: %v", err)
	}
	if _, err := ExpandTemplate("$SubNumber$", v); !errors.Is(err, ErrUnsupported) {
		t.Errorf("$SubNumber$: %v", err)
	}
}
