package hls

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/manifest"
)

func decodeFile(t *testing.T, name string) *Playlist {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ffmpeg", name))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

func TestFFmpegMasterWithAudioGroup(t *testing.T) {
	p := decodeFile(t, "master.m3u8")
	if p.Master == nil {
		t.Fatal("not a master playlist")
	}
	refs, err := Renditions(p.Master, "https://cdn.example/vod/master.m3u8?token=abc")
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{
		{URL: "https://cdn.example/vod/stream_360p.m3u8", Rendition: Main, Bandwidth: 290400},
		{URL: "https://cdn.example/vod/stream_720p.m3u8", Rendition: Main, Bandwidth: 510400},
		{URL: "https://cdn.example/vod/stream_audio.m3u8", Rendition: Audio, GroupID: "group_aud", Name: "audio_2"},
	}
	if !slices.Equal(refs, want) {
		t.Errorf("renditions\n%+v\nwant\n%+v", refs, want)
	}
}

func TestFFmpegSingleFileByteRanges(t *testing.T) {
	for _, c := range []struct {
		file, rendition string
		init            [2]int64
		ranges          [][2]int64
		durations       []time.Duration
	}{
		{"stream_360p.m3u8", Main, [2]int64{0, 839}, [][2]int64{{839, 61119}, {61119, 116341}, {116341, 167285}}, []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}},
		{"stream_audio.m3u8", Audio, [2]int64{0, 765}, [][2]int64{{765, 17164}, {17164, 33809}, {33809, 50454}, {50454, 50621}},
			[]time.Duration{2005333 * time.Microsecond, 2005333 * time.Microsecond, 2005333 * time.Microsecond, 21333 * time.Microsecond}},
	} {
		p := decodeFile(t, c.file)
		if p.Media == nil {
			t.Fatalf("%s: not a media playlist", c.file)
		}
		u := "https://cdn.example/vod/" + c.file
		r, err := Segments(p.Media, u+"?token=1", c.rendition)
		if err != nil {
			t.Fatal(err)
		}
		media := "https://cdn.example/vod/" + c.file[:len(c.file)-len(".m3u8")] + ".m4s"
		if r.Swarm != engine.SwarmIDFor(u, c.rendition) || len(r.Inits) != 1 {
			t.Fatalf("%s: swarm %q, inits %+v", c.file, r.Swarm, r.Inits)
		}
		in := r.Inits[0]
		if in.URL != media || in.Start != c.init[0] || in.End != c.init[1] || !in.Init || in.Seq != 0 ||
			in.Swarm != engine.SwarmIDFor(u, manifest.InitRendition(c.rendition)) {
			t.Errorf("%s: init %+v", c.file, in)
		}
		if len(r.Segments) != len(c.ranges) {
			t.Fatalf("%s: %d segments, want %d", c.file, len(r.Segments), len(c.ranges))
		}
		var at time.Duration
		for i, s := range r.Segments {
			if s.Seq != uint64(i) || s.URL != media || s.Start != c.ranges[i][0] || s.End != c.ranges[i][1] ||
				s.Duration != c.durations[i] || s.StartTime != at || s.Swarm != r.Swarm {
				t.Errorf("%s: segment %d: %+v", c.file, i, s)
			}
			at += s.Duration
		}
	}
}

const implicitRanges = `#EXTM3U
#EXT-X-VERSION:4
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-MAP:URI="init.mp4",BYTERANGE="700"
#EXTINF:4,
#EXT-X-BYTERANGE:1000@700
main.mp4
#EXTINF:4,
#EXT-X-BYTERANGE:500
main.mp4
#EXTINF:4,
#EXT-X-BYTERANGE:300@0
main.mp4
#EXTINF:4,
#EXT-X-BYTERANGE:200
main.mp4
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="other-init.mp4"
#EXTINF:3.5,
other.mp4
#EXT-X-ENDLIST
`

func TestImplicitByteRangeOffsets(t *testing.T) {
	p, err := Decode([]byte(implicitRanges))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Segments(p.Media, "http://h/a/index.m3u8", Main)
	if err != nil {
		t.Fatal(err)
	}
	got := [][3]int64{}
	for _, s := range r.Segments {
		got = append(got, [3]int64{int64(s.Seq), s.Start, s.End})
	}
	// "300@0" is explicit: it starts at 0 although the previous range ended
	// at 2200; the range after it continues from 300.
	want := [][3]int64{{100, 700, 1700}, {101, 1700, 2200}, {102, 0, 300}, {103, 300, 500}, {104, 0, 0}}
	if !slices.Equal(got, want) {
		t.Errorf("ranges %v, want %v", got, want)
	}
	// Like hls.js: no offset and no range before it starts at 0; after a
	// range of another resource it continues that range.
	p2, err := Decode([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n#EXT-X-BYTERANGE:100\na.mp4\n" +
		"#EXTINF:2,\n#EXT-X-BYTERANGE:50\nb.mp4\n"))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Segments(p2.Media, "http://h/i.m3u8", Main)
	if err != nil || r2.Segments[0].Start != 0 || r2.Segments[0].End != 100 || r2.Segments[1].Start != 100 || r2.Segments[1].End != 150 {
		t.Errorf("offsets without a same-resource range before: %+v %v", r2.Segments, err)
	}
	if len(r.Inits) != 2 || r.Inits[0].End != 700 || r.Inits[0].Seq != 100 || r.Inits[1].URL != "http://h/a/other-init.mp4" || r.Inits[1].Seq != 104 {
		t.Fatalf("inits %+v", r.Inits)
	}
	if r.InitFor(103).URL != "http://h/a/init.mp4" || r.InitFor(104).URL != "http://h/a/other-init.mp4" {
		t.Errorf("InitFor picks the wrong map")
	}
	if r.Segments[4].StartTime != 16*time.Second || r.Segments[4].Duration != 3500*time.Millisecond {
		t.Errorf("times %+v", r.Segments[4])
	}
}

func TestTokenisedPlaylistsShareIdentity(t *testing.T) {
	p, err := Decode([]byte(implicitRanges))
	if err != nil {
		t.Fatal(err)
	}
	a, err1 := Segments(p.Media, "https://CDN.example/a/index.m3u8?token=viewer1", Audio)
	b, err2 := Segments(p.Media, "https://cdn.example/a/index.m3u8?token=viewer2#x", Audio)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i := range a.Segments {
		x, y := a.Segments[i], b.Segments[i]
		if x.Request().Swarm != y.Request().Swarm || x.Seq != y.Seq || x.Start != y.Start || x.End != y.End {
			t.Errorf("segment %d: %+v vs %+v", i, x, y)
		}
	}
	if a.Swarm != "https://cdn.example/a/index.m3u8#audio" {
		t.Errorf("swarm %q", a.Swarm)
	}
}

func TestBadPlaylists(t *testing.T) {
	for name, c := range map[string]struct {
		text string
		want error
	}{
		"no EXTM3U":         {"#EXTINF:2,\na.ts\n", ErrSyntax},
		"negative length":   {"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n#EXT-X-BYTERANGE:-5@0\na.mp4\n", ErrByteRange},
		"huge extinf":       {"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1e30,\na.ts\n", ErrInvalid},
		"sequence overflow": {"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:18446744073709551615\n#EXTINF:2,\na.ts\n#EXTINF:2,\nb.ts\n", ErrInvalid},
		"bad URI":           {"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n%zz\n", ErrInvalid},
	} {
		p, err := Decode([]byte(c.text))
		if err == nil && p.Media != nil {
			_, err = Segments(p.Media, "http://h/index.m3u8", Main)
		}
		if !errors.Is(err, c.want) || !errors.Is(err, manifest.ErrMalformed) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := Decode(make([]byte, 100), manifest.WithMaxBytes(10)); !errors.Is(err, manifest.ErrTooLarge) {
		t.Errorf("over the byte limit: %v", err)
	}
	p, _ := Decode([]byte(implicitRanges))
	if _, err := Segments(p.Media, "http://h/i.m3u8", Main, manifest.WithMaxSegments(4)); !errors.Is(err, manifest.ErrTooLarge) {
		t.Errorf("over the segment cap: %v", err)
	}
}
