package hls

import (
	"bytes"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/grafov/m3u8"
	"github.com/nearcast/nearcast/manifest"
)

// Rendition names of the hls.js fragment types (frag.type).
const (
	Main     = ""
	Audio    = "audio"
	Subtitle = "subtitle"
)

// maxSegmentDuration bounds an EXTINF.
const maxSegmentDuration = 24 * time.Hour

// Playlist is a decoded playlist: exactly one of Master and Media is set.
type Playlist struct {
	Master *m3u8.MasterPlaylist
	Media  *Media
}

// Media is a media playlist.
type Media struct {
	*m3u8.MediaPlaylist
	// explicit[i] tells whether segment i's EXT-X-BYTERANGE had an offset.
	explicit []bool
}

// Decode decodes a master or media playlist. Input over the byte limit of
// opts (manifest.WithMaxBytes) is manifest.ErrTooLarge.
func Decode(data []byte, opts ...manifest.Option) (pl *Playlist, err error) {
	limits, err := manifest.NewLimits(opts...)
	if err != nil {
		return nil, err
	}
	if len(data) > limits.MaxBytes {
		return nil, fmt.Errorf("%w: playlist of %d bytes, the limit is %d", manifest.ErrTooLarge, len(data), limits.MaxBytes)
	}
	if !bytes.HasPrefix(bytes.TrimLeft(data, "\ufeff \t\r\n"), []byte("#EXTM3U")) {
		return nil, fmt.Errorf("%w: no #EXTM3U", ErrSyntax)
	}
	defer func() {
		// grafov/m3u8 is not ours; a panic on hostile input becomes an error.
		if r := recover(); r != nil {
			pl, err = nil, fmt.Errorf("%w: decoder failed: %v", ErrSyntax, r)
		}
	}()
	p, kind, err := m3u8.Decode(*bytes.NewBuffer(data), false)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	switch kind {
	case m3u8.MASTER:
		return &Playlist{Master: p.(*m3u8.MasterPlaylist)}, nil
	case m3u8.MEDIA:
		return &Playlist{Media: &Media{MediaPlaylist: p.(*m3u8.MediaPlaylist), explicit: explicitOffsets(data)}}, nil
	}
	return nil, fmt.Errorf("%w: neither a master nor a media playlist", ErrSyntax)
}

// explicitOffsets replays grafov's line handling to find, for each
// segment, whether its EXT-X-BYTERANGE gave an offset.
func explicitOffsets(data []byte) []bool {
	var out []bool
	inf, rng, at := false, false, false
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line == "\r" {
			continue
		}
		line = strings.TrimSpace(line)
		switch {
		case !inf && strings.HasPrefix(line, "#EXTINF:"):
			inf = true
		case !strings.HasPrefix(line, "#"):
			if inf {
				out = append(out, false)
				inf = false
			}
			if rng {
				if len(out) > 0 {
					out[len(out)-1] = at
				}
				rng = false
			}
		case !rng && strings.HasPrefix(line, "#EXT-X-BYTERANGE:"):
			rng, at = true, strings.Contains(line, "@")
		}
	}
	return out
}

// Ref is a media playlist a master playlist points to.
type Ref struct {
	// URL is the media playlist's absolute URL: its manifest identity.
	URL string
	// Rendition is Main, Audio or Subtitle.
	Rendition string
	// Bandwidth is the variant's BANDWIDTH (0 for renditions).
	Bandwidth uint64
	// GroupID and Name are an EXT-X-MEDIA's GROUP-ID and NAME.
	GroupID, Name string
}

// Renditions lists the media playlists of a master playlist fetched from
// masterURL: the variant streams (not I-frame playlists), then the
// EXT-X-MEDIA renditions with a URI, each URL once.
func Renditions(m *m3u8.MasterPlaylist, masterURL string) ([]Ref, error) {
	base, err := url.Parse(masterURL)
	if err != nil {
		return nil, fmt.Errorf("%w: master URL: %v", ErrInvalid, err)
	}
	seen := map[string]bool{}
	var out, alts []Ref
	add := func(list *[]Ref, r Ref, uri string) error {
		ref, err := url.Parse(strings.TrimSpace(uri))
		if err != nil {
			return fmt.Errorf("%w: URI %q: %v", ErrInvalid, uri, err)
		}
		r.URL = base.ResolveReference(ref).String()
		if !seen[r.URL] {
			seen[r.URL] = true
			*list = append(*list, r)
		}
		return nil
	}
	for _, v := range m.Variants {
		if v == nil || v.Iframe || v.URI == "" {
			continue
		}
		if err := add(&out, Ref{Rendition: Main, Bandwidth: uint64(v.Bandwidth)}, v.URI); err != nil {
			return nil, err
		}
		for _, a := range v.Alternatives {
			if a == nil || a.URI == "" {
				continue
			}
			r := Ref{GroupID: a.GroupId, Name: a.Name}
			switch a.Type {
			case "AUDIO":
				r.Rendition = Audio
			case "SUBTITLES":
				r.Rendition = Subtitle
			case "VIDEO":
				r.Rendition = Main
			default:
				continue
			}
			if err := add(&alts, r, a.URI); err != nil {
				return nil, err
			}
		}
	}
	return append(out, alts...), nil
}

// Segments expands the media playlist p fetched from playlistURL, a
// rendition of the given name (Main, Audio or Subtitle), into its segments.
func Segments(p *Media, playlistURL, rendition string, opts ...manifest.Option) (manifest.Rendition, error) {
	limits, err := manifest.NewLimits(opts...)
	if err != nil {
		return manifest.Rendition{}, err
	}
	r := manifest.Rendition{
		Name:  rendition,
		Swarm: manifest.SwarmFor(playlistURL, rendition),
		Type:  map[string]string{Main: "", Audio: "audio", Subtitle: "text"}[rendition],
	}
	base, err := url.Parse(playlistURL)
	if err != nil {
		return r, fmt.Errorf("%w: playlist URL: %v", ErrInvalid, err)
	}
	resolve := func(uri string) (string, error) {
		ref, err := url.Parse(strings.TrimSpace(uri))
		if err != nil {
			return "", fmt.Errorf("%w: URI %q: %v", ErrInvalid, uri, err)
		}
		return base.ResolveReference(ref).String(), nil
	}
	segs := p.Segments[:min(int(p.Count()), len(p.Segments))]
	if err := manifest.NewBudget(limits).Take(rendition, uint64(len(segs))); err != nil {
		return r, err
	}
	if len(segs) > 0 && p.SeqNo > math.MaxUint64-uint64(len(segs)) {
		return r, fmt.Errorf("%w: media sequence %d overflows", ErrInvalid, p.SeqNo)
	}
	initSwarm := manifest.SwarmFor(playlistURL, manifest.InitRendition(rendition))
	var (
		at      time.Duration
		prevEnd int64 = -1
		curMap  *m3u8.Map
	)
	r.Segments = make([]manifest.Segment, 0, len(segs))
	for i, s := range segs {
		if s == nil {
			continue
		}
		seq := p.SeqNo + uint64(i)
		if s.Map != nil && (curMap == nil || *s.Map != *curMap) {
			curMap = s.Map
			init, err := mapSegment(curMap, resolve)
			if err != nil {
				return r, err
			}
			init.Swarm, init.Rendition, init.Seq = initSwarm, rendition, seq
			r.Inits = append(r.Inits, init)
		}
		u, err := resolve(s.URI)
		if err != nil {
			return r, err
		}
		if math.IsNaN(s.Duration) || s.Duration < 0 || s.Duration > maxSegmentDuration.Seconds() {
			return r, fmt.Errorf("%w: segment %d: EXTINF %v", ErrInvalid, seq, s.Duration)
		}
		d := time.Duration(math.Round(s.Duration * float64(time.Second)))
		seg := manifest.Segment{Swarm: r.Swarm, Rendition: rendition, Seq: seq, URL: u, StartTime: at, Duration: d}
		at += d
		if s.Limit < 0 || s.Offset < 0 {
			return r, fmt.Errorf("%w: segment %d: %d@%d", ErrByteRange, seq, s.Limit, s.Offset)
		}
		if s.Limit > 0 {
			seg.Start = s.Offset
			if i >= len(p.explicit) || !p.explicit[i] {
				// No offset: where the previous segment's range ended, or 0
				// when it had none. RFC 8216 wants the previous segment to
				// be a range of the same resource; hls.js (whose ranges the
				// shim passes on) does not check, and neither does this.
				seg.Start = max(prevEnd, 0)
			}
			if seg.Start > math.MaxInt64-s.Limit {
				return r, fmt.Errorf("%w: segment %d: range overflows", ErrByteRange, seq)
			}
			seg.End = seg.Start + s.Limit
			prevEnd = seg.End
		} else {
			prevEnd = -1
		}
		r.Segments = append(r.Segments, seg)
	}
	return r, nil
}

// mapSegment returns the initialization segment of an EXT-X-MAP. Its
// BYTERANGE starts at 0 when it has no offset (RFC 8216 section 4.3.2.5).
func mapSegment(m *m3u8.Map, resolve func(string) (string, error)) (manifest.Segment, error) {
	u, err := resolve(m.URI)
	if err != nil {
		return manifest.Segment{}, err
	}
	s := manifest.Segment{URL: u, Init: true}
	if m.Limit < 0 || m.Offset < 0 || m.Offset > math.MaxInt64-m.Limit {
		return s, fmt.Errorf("%w: EXT-X-MAP BYTERANGE %d@%d", ErrByteRange, m.Limit, m.Offset)
	}
	if m.Limit > 0 {
		s.Start, s.End = m.Offset, m.Offset+m.Limit
	}
	return s, nil
}
