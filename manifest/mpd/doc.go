// Package mpd models MPEG-DASH media presentation descriptions (ISO/IEC
// 23009-1) with encoding/xml and expands them into segments.
//
// [Parse] and [Marshal] round-trip a document: the attributes and elements
// the model names are typed (durations as [Duration], dates as [DateTime],
// optional numbers as pointers so that "absent" survives), and everything
// else is kept in the Extra and Unknown fields of its level, namespace
// prefixes included.
//
// [Tracks] resolves each Representation: its identity (the rendition name
// peers share), its BaseURL chain (MPD, Period, AdaptationSet,
// Representation, each relative to the one above and the first to the
// manifest URL), its Period's start and duration, and its segment
// addressing merged over the three levels. [Track.Entries] lays out a
// SegmentTemplate's or SegmentList's segments — @duration or a
// SegmentTimeline with S@t, @d and @r (r = -1 repeats until the next S@t,
// the end of the Period, or for a dynamic MPD the live edge) — limited to
// what is available at a given time for dynamic MPDs. [Segments] turns that
// into manifest.Segment values, with URLs from the template identifiers
// $RepresentationID$, $Number$, $Time$, $Bandwidth$ (with %0<width>d) and
// $$; [ExpandIndex] lists a SegmentBase Representation's subsegments from
// its sidx.
//
// Segments are named the way the player shim's dash.js and Shaka adapters
// name them ([RenditionName], [TimeSeq]): rendition
// "p<Period start in ms>|<Representation@id>|<t or b>", seq the media
// start time in ms or, for a byte range, its first byte.
//
// Inputs are untrusted: documents are size-limited, expansions are capped
// (manifest.WithMaxSegments, manifest.WithMaxTotalSegments) before they
// are allocated, and arithmetic on times and numbers is checked.
package mpd
