package mpd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nearcast/nearcast/manifest"
)

// FuzzMPD parses arbitrary documents and expands them. Parse errors and
// expansion errors come from the manifest sentinels, nothing panics, a
// parsed model marshals, re-parses and marshals to the same bytes, and an
// expansion stays within its caps with well-formed segments.
func FuzzMPD(f *testing.F) {
	for _, name := range fixtures(f) {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, int64(60))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const maxSegs, maxTotal = 1 << 10, 1 << 12
	f.Fuzz(func(t *testing.T, doc []byte, at int64) {
		m, err := Parse(doc, manifest.WithMaxBytes(1<<16))
		if err != nil {
			if !errors.Is(err, manifest.ErrMalformed) && !errors.Is(err, manifest.ErrTooLarge) && !errors.Is(err, manifest.ErrUnsupported) {
				t.Fatalf("parse error outside the set: %v", err)
			}
			return
		}
		out, err := Marshal(m)
		if err != nil {
			t.Fatalf("a parsed MPD does not marshal: %v", err)
		}
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("marshalled MPD does not parse: %v\n%s", err, out)
		}
		out2, err := Marshal(m2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("Marshal not stable: %v\n%s\n---\n%s", err, out, out2)
		}
		const u = "https://cdn.example/a/m.mpd?t=1"
		rs, err := Segments(m, u, now.Add(time.Duration(at)*time.Second),
			manifest.WithMaxSegments(maxSegs), manifest.WithMaxTotalSegments(maxTotal))
		if err != nil {
			if !errors.Is(err, manifest.ErrMalformed) && !errors.Is(err, manifest.ErrTooLarge) && !errors.Is(err, manifest.ErrUnsupported) {
				t.Fatalf("expansion error outside the set: %v", err)
			}
			return
		}
		total := 0
		for _, r := range rs {
			total += len(r.Segments)
			if len(r.Segments) > maxSegs {
				t.Fatalf("rendition %q: %d segments over the cap", r.Name, len(r.Segments))
			}
			for _, s := range append(append([]manifest.Segment(nil), r.Inits...), r.Segments...) {
				if s.Start < 0 || s.End < 0 || s.End != 0 && s.End <= s.Start || s.Duration < 0 || s.URL == "" {
					t.Fatalf("rendition %q: bad segment %+v", r.Name, s)
				}
			}
			// The shim's identity: a byte range is kind b and named by its
			// first byte, anything else kind t; seqs are safe JS integers.
			for _, s := range r.Segments {
				kind := "|t"
				if s.End > 0 {
					kind = "|b"
				}
				if s.Swarm != manifest.SwarmFor(u, s.Rendition) || !strings.HasPrefix(s.Rendition, "p") || !strings.HasSuffix(s.Rendition, kind) ||
					s.Seq > MaxSeq || s.End > 0 && s.Seq != uint64(s.Start) {
					t.Fatalf("rendition %q: segment identity %+v", r.Name, s)
				}
			}
		}
		if total > maxTotal {
			t.Fatalf("%d segments over the total cap", total)
		}
	})
}
