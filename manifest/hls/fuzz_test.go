package hls

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nearcast/nearcast/manifest"
)

// FuzzHLS decodes arbitrary playlists and expands them: errors come from
// the closed set, never panics, and what expands is consistent (ranges
// well-formed, sequence numbers consecutive).
func FuzzHLS(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "ffmpeg", "*.m3u8"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(implicitRanges))
	f.Add([]byte("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:2,\n#EXT-X-BYTERANGE:10\nx\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data, manifest.WithMaxBytes(1<<16))
		if err != nil {
			if !errors.Is(err, manifest.ErrMalformed) && !errors.Is(err, manifest.ErrTooLarge) {
				t.Fatalf("error outside the set: %v", err)
			}
			return
		}
		if p.Master != nil {
			if _, err := Renditions(p.Master, "https://h/m.m3u8"); err != nil && !errors.Is(err, manifest.ErrMalformed) {
				t.Fatalf("error outside the set: %v", err)
			}
			return
		}
		r, err := Segments(p.Media, "https://h/a/i.m3u8?t=1", Main, manifest.WithMaxSegments(1<<12))
		if err != nil {
			if !errors.Is(err, manifest.ErrMalformed) && !errors.Is(err, manifest.ErrTooLarge) {
				t.Fatalf("error outside the set: %v", err)
			}
			return
		}
		for i, s := range r.Segments {
			if s.Start < 0 || s.End < 0 || s.End != 0 && s.End <= s.Start || s.Duration < 0 {
				t.Fatalf("segment %d: %+v", i, s)
			}
			if i > 0 && s.Seq != r.Segments[i-1].Seq+1 {
				t.Fatalf("segment %d: seq %d after %d", i, s.Seq, r.Segments[i-1].Seq)
			}
		}
	})
}
