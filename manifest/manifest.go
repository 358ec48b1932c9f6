package manifest

import (
	"strings"
	"time"

	"github.com/nearcast/nearcast/engine"
)

// Segment is one addressable piece of a rendition: a media segment, or the
// initialization segment (Init) or segment index (Index) that precedes the
// media segments of an fMP4 rendition.
//
// (Swarm, Seq, Start, End) is the segment's identity: the same for every
// viewer of the stream, whatever tokens their URLs carry. It is the
// engine.Request of the segment, less the timing.
type Segment struct {
	// Swarm is engine.SwarmIDFor(manifest URL, rendition); see Rendition.
	Swarm engine.SwarmID
	// Rendition is the rendition's name within its manifest (for an
	// initialization segment, the name of the rendition it initializes).
	Rendition string
	// Seq is the segment's number within the swarm: HLS media sequence
	// number; for DASH, the media start time in ms (Math.round) of a
	// segment without a byte range, or the first byte of a byte-range
	// segment (SegmentBase subsegments, SegmentURL@mediaRange). See
	// docs/manifests.md.
	Seq uint64
	// URL is where the segment is served, absolute, query kept.
	URL string
	// Start and End delimit the byte range [Start, End) of URL; End 0 means
	// the whole resource.
	Start, End int64
	// StartTime is the segment's start on the presentation timeline (DASH:
	// Period@start plus its media time less @presentationTimeOffset, so
	// that a dynamic MPD's segment starts at MPD@availabilityStartTime plus
	// StartTime; HLS: the EXTINF durations of the segments before it in the
	// playlist), and Duration its length. Zero for Init and Index.
	StartTime, Duration time.Duration
	// Init marks an initialization segment (DASH Initialization, HLS
	// EXT-X-MAP).
	Init bool
	// Index marks the segment index (sidx) of a DASH SegmentBase rendition:
	// its media segments are known once it has been read (mpd.ExpandIndex).
	Index bool
}

// Request returns the engine request that loads s (deadline unset).
func (s Segment) Request() engine.Request {
	return engine.Request{Swarm: s.Swarm, Seq: s.Seq, URL: s.URL, Start: s.Start, End: s.End}
}

// Rendition is one rendition (a DASH Representation, an HLS media playlist)
// and its segments.
type Rendition struct {
	// Name is the rendition's identity within its manifest (see
	// docs/manifests.md): "p<Period start in ms>|<Representation@id>|<t or
	// b>" for DASH; "" for an HLS media playlist of the main rendition.
	// (The segments of a DASH SegmentList that mixes SegmentURLs with and
	// without @mediaRange carry two names: each Segment's Rendition and
	// Swarm are its own.)
	Name string
	// Swarm is the swarm of its media segments: SwarmFor(manifest URL, Name).
	Swarm engine.SwarmID
	// Type is "video", "audio", "text" or "" when unknown.
	Type string
	// Bandwidth is the declared bits per second, 0 when unknown.
	Bandwidth uint64
	// Inits are the initialization segments in order of first use: the
	// DASH Initialization (at most one), every distinct HLS EXT-X-MAP.
	// Each media segment needs the last one whose Seq is not after its own
	// (see InitFor).
	Inits []Segment
	// Index is the segment index of a DASH SegmentBase rendition whose
	// media segments are not known until it has been read.
	Index *Segment
	// Segments are the media segments in presentation order.
	Segments []Segment
}

// InitFor returns the initialization segment that media segment seq of r
// needs: the last of Inits whose Seq is not after seq (the first when all
// are), nil when r has none.
func (r *Rendition) InitFor(seq uint64) *Segment {
	if len(r.Inits) == 0 {
		return nil
	}
	out := &r.Inits[0]
	for i := 1; i < len(r.Inits); i++ {
		if r.Inits[i].Seq <= seq {
			out = &r.Inits[i]
		}
	}
	return out
}

// ManifestKey returns the part of a manifest URL that names the stream:
// the URL without its query and fragment. engine.SwarmIDFor also lower-cases
// the scheme and host and drops user info.
func ManifestKey(manifestURL string) string {
	if i := strings.IndexAny(manifestURL, "?#"); i >= 0 {
		return manifestURL[:i]
	}
	return manifestURL
}

// SwarmFor returns the swarm of rendition's media segments in the manifest
// at manifestURL: engine.SwarmIDFor(manifestURL, rendition).
func SwarmFor(manifestURL, rendition string) engine.SwarmID {
	return engine.SwarmIDFor(manifestURL, rendition)
}

// InitRendition returns the rendition name under which rendition's
// initialization segments are shared: rendition + "#init". They live in a
// swarm of their own so that their sequence numbers never meet the media
// segments'.
func InitRendition(rendition string) string { return rendition + "#init" }
