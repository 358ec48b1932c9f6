package mpd

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/manifest"
	"github.com/nearcast/nearcast/manifest/bmff"
)

// Segments expands m, fetched from manifestURL, into the segments of each of
// its Representations, in document order. now is the wall-clock time a
// dynamic MPD is expanded at (ignored for a static one). See
// docs/manifests.md for the identity each segment gets.
//
// A SegmentBase Representation comes back with its initialization segment
// and its Index (the sidx range); ExpandIndex lists its media once the
// index has been read. Expansions over the limits of opts fail with
// manifest.ErrTooLarge.
//
// Each rendition is named RenditionName(Period start, Representation@id,
// kind) and each media segment's Seq is its media start time in ms
// (KindTime, see TimeSeq) or its first byte (KindBytes): the identity the
// player shim's dash.js and Shaka adapters give it.
func Segments(m *MPD, manifestURL string, now time.Time, opts ...manifest.Option) ([]manifest.Rendition, error) {
	limits, err := manifest.NewLimits(opts...)
	if err != nil {
		return nil, err
	}
	tracks, err := Tracks(m, manifestURL)
	if err != nil {
		return nil, err
	}
	budget := manifest.NewBudget(limits)
	out := make([]manifest.Rendition, 0, len(tracks))
	for _, t := range tracks {
		r, err := t.rendition(manifestURL, now, budget)
		if err != nil {
			return nil, fmt.Errorf("Representation %q: %w", t.Rendition, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// rendition expands one track.
func (t *Track) rendition(manifestURL string, now time.Time, budget *manifest.Budget) (manifest.Rendition, error) {
	r := manifest.Rendition{
		Name:      t.Rendition,
		Swarm:     manifest.SwarmFor(manifestURL, t.Rendition),
		Type:      t.Type,
		Bandwidth: t.Representation.Bandwidth,
	}
	initSwarm := manifest.SwarmFor(manifestURL, manifest.InitRendition(t.Rendition))
	if u, start, end, ok, err := t.InitURL(); err != nil {
		return r, err
	} else if ok {
		seq := uint64(0)
		if t.Base != nil {
			seq = uint64(start)
		}
		r.Inits = []manifest.Segment{{Swarm: initSwarm, Rendition: t.Rendition, Seq: seq, URL: u, Start: start, End: end, Init: true}}
	}
	if t.Base != nil {
		return r, t.baseSegments(&r, initSwarm, budget)
	}
	entries, err := t.Entries(now, budget.Limits())
	if err != nil {
		return r, err
	}
	if err := budget.Take(t.Rendition, uint64(len(entries))); err != nil {
		return r, err
	}
	// A SegmentList may mix SegmentURLs with and without @mediaRange: the
	// segments of the other kind go to a rendition of their own, as in the
	// shim, which decides per request.
	other := KindBytes
	if t.Kind == KindBytes {
		other = KindTime
	}
	otherName := t.renditionOf(other)
	otherSwarm := manifest.SwarmFor(manifestURL, otherName)
	r.Segments = make([]manifest.Segment, 0, len(entries))
	for _, e := range entries {
		s := manifest.Segment{Swarm: r.Swarm, Rendition: t.Rendition}
		if s.StartTime, s.Duration, err = t.times(e.Time, e.Duration); err != nil {
			return r, err
		}
		if t.Template != nil {
			if s.URL, err = t.MediaURL(e); err != nil {
				return r, err
			}
		} else {
			su := t.List.SegmentURLs[e.Index]
			if s.URL, err = t.resolve(su.Media); err != nil {
				return r, err
			}
			if s.Start, s.End, err = parseOptionalRange(su.MediaRange); err != nil {
				return r, err
			}
		}
		kind := KindTime
		if s.End > 0 {
			kind = KindBytes
		}
		if kind != t.Kind {
			s.Swarm, s.Rendition = otherSwarm, otherName
		}
		if kind == KindBytes {
			s.Seq, err = byteSeq(s.Start)
		} else {
			s.Seq, err = TimeSeq(e.Time, t.Timescale())
		}
		if err != nil {
			return r, err
		}
		r.Segments = append(r.Segments, s)
	}
	return r, nil
}

// baseSegments fills in a SegmentBase rendition: its index, or, without
// one, the whole resource as one segment.
func (t *Track) baseSegments(r *manifest.Rendition, initSwarm engine.SwarmID, budget *manifest.Budget) error {
	info := t.info()
	ref, rng := "", info.IndexRange
	if ri := info.RepresentationIndex; ri != nil {
		ref = ri.SourceURL
		if ri.Range != "" {
			rng = ri.Range
		}
	}
	u, err := t.resolve(ref)
	if err != nil {
		return err
	}
	if rng != "" || info.RepresentationIndex != nil {
		start, end, err := parseOptionalRange(rng)
		if err != nil {
			return err
		}
		r.Index = &manifest.Segment{Swarm: initSwarm, Rendition: t.Rendition, Seq: uint64(start), URL: u, Start: start, End: end, Index: true}
		return nil
	}
	if err := budget.Take(t.Rendition, 1); err != nil {
		return err
	}
	// One segment without a range (KindTime), at media time
	// @presentationTimeOffset: the start of the Period.
	seq, err := TimeSeq(t.PresentationTimeOffset(), t.Timescale())
	if err != nil {
		return err
	}
	r.Segments = []manifest.Segment{{Swarm: r.Swarm, Rendition: t.Rendition, Seq: seq, URL: u, StartTime: t.PeriodStart, Duration: t.PeriodDuration}}
	return nil
}

// times converts a media time and duration in t's timescale to the
// presentation timeline.
func (t *Track) times(mediaTime, d uint64) (start, dur time.Duration, err error) {
	ts := t.Timescale()
	pto := t.PresentationTimeOffset()
	var rel time.Duration
	if mediaTime >= pto {
		rel, err = scale(mediaTime-pto, ts)
	} else {
		rel, err = scale(pto-mediaTime, ts)
		rel = -rel
	}
	if err != nil {
		return 0, 0, err
	}
	if dur, err = scale(d, ts); err != nil {
		return 0, 0, err
	}
	if rel > 0 && t.PeriodStart > math.MaxInt64-rel {
		return 0, 0, fmt.Errorf("%w: segment time out of range", ErrTimeline)
	}
	return t.PeriodStart + rel, dur, nil
}

// scale converts ticks of a timescale to a duration.
func scale(ticks, timescale uint64) (time.Duration, error) {
	hi, lo := bits.Mul64(ticks, uint64(time.Second))
	if hi >= timescale {
		return 0, fmt.Errorf("%w: %d/%d s out of range", ErrTimeline, ticks, timescale)
	}
	q, _ := bits.Div64(hi, lo, timescale)
	if q > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %d/%d s out of range", ErrTimeline, ticks, timescale)
	}
	return time.Duration(q), nil
}

// ExpandIndex lists the media segments of r, a SegmentBase rendition that
// Segments returned for m, from index: the bytes of r.Index (its segment
// index box, starting at r.Index.Start). Each segment's Seq is its first
// byte (KindBytes). Hierarchical indexes are ErrUnsupported.
func ExpandIndex(m *MPD, manifestURL string, r *manifest.Rendition, index []byte, opts ...manifest.Option) error {
	limits, err := manifest.NewLimits(opts...)
	if err != nil {
		return err
	}
	if r.Index == nil {
		return fmt.Errorf("%w: rendition %q has no index to expand", ErrInvalid, r.Name)
	}
	tracks, err := Tracks(m, manifestURL)
	if err != nil {
		return err
	}
	var t *Track
	for _, c := range tracks {
		if c.Rendition == r.Name && c.Base != nil {
			t = c
			break
		}
	}
	if t == nil || t.Base == nil {
		return fmt.Errorf("%w: no SegmentBase Representation %q", ErrInvalid, r.Name)
	}
	sidx, subs, err := bmff.FindSidx(index)
	if err != nil {
		return fmt.Errorf("rendition %q: %w", r.Name, err)
	}
	if err := manifest.NewBudget(limits).Take(r.Name, uint64(len(subs))); err != nil {
		return err
	}
	offset, err := scale(t.PresentationTimeOffset(), t.Timescale())
	if err != nil {
		return err
	}
	segs := make([]manifest.Segment, 0, len(subs))
	for _, s := range subs {
		start, end := r.Index.Start+s.Start, r.Index.Start+s.End
		if start < r.Index.Start || end < start {
			return fmt.Errorf("%w: subsegment offsets overflow", ErrTimeline)
		}
		at, err1 := scale(s.Time, uint64(sidx.Timescale))
		d, err2 := scale(s.Duration, uint64(sidx.Timescale))
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%w: subsegment time out of range", ErrTimeline)
		}
		seq, err := byteSeq(start)
		if err != nil {
			return err
		}
		segs = append(segs, manifest.Segment{
			Swarm: r.Swarm, Rendition: r.Name, Seq: seq, URL: r.Index.URL, Start: start, End: end,
			StartTime: t.PeriodStart + at - offset, Duration: d,
		})
	}
	r.Segments = segs
	return nil
}
