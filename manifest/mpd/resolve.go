package mpd

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Track is a Representation with what it inherits resolved: its identity,
// its BaseURL, its Period's timing and its segment addressing, merged from
// the Period, AdaptationSet and Representation levels (section 5.3.9.1:
// attributes of a lower level override those of a higher one).
type Track struct {
	// Rendition is the name of the Representation's media segments within
	// the MPD, the one the player shim gives them: RenditionName(PeriodStart,
	// Representation@id, Kind), such as "p0|720p|t". See docs/manifests.md.
	Rendition string
	// Kind is how its media segments are addressed: KindBytes for a
	// SegmentBase with an index and a SegmentList whose first SegmentURL has
	// a @mediaRange, KindTime otherwise. (A SegmentList that mixes
	// SegmentURLs with and without @mediaRange has segments of both kinds,
	// each in the rendition of its own kind.)
	Kind Kind
	// Type is "video", "audio", "text" or "".
	Type string

	PeriodIndex    int
	Period         *Period
	AdaptationSet  *AdaptationSet
	Representation *Representation

	// BaseURL is the resolved base of the Representation's URLs: the
	// manifest URL, then the first BaseURL of the MPD, the Period, the
	// AdaptationSet and the Representation, each relative to the one
	// before.
	BaseURL *url.URL

	// Exactly one of Template, List and Base is set: the merged addressing.
	Template *SegmentTemplate
	List     *SegmentList
	Base     *SegmentBase

	// PeriodStart is the Period's start on the presentation timeline;
	// PeriodDuration its duration, 0 when unknown (the last Period of a
	// dynamic MPD).
	PeriodStart, PeriodDuration time.Duration

	mpd *MPD
}

// Tracks resolves every Representation of m, in document order.
// manifestURL is the URL the MPD was fetched from (relative URLs are
// resolved against it).
func Tracks(m *MPD, manifestURL string) ([]*Track, error) {
	base, err := url.Parse(manifestURL)
	if err != nil {
		return nil, fmt.Errorf("%w: manifest URL: %v", ErrURL, err)
	}
	if m.IsDynamic() && m.AvailabilityStartTime == nil {
		return nil, fmt.Errorf("%w: dynamic MPD without availabilityStartTime", ErrInvalid)
	}
	if m.Type != "" && m.Type != Static && m.Type != Dynamic {
		return nil, fmt.Errorf("%w: MPD@type %q", ErrInvalid, m.Type)
	}
	starts, durations, err := periodTiming(m)
	if err != nil {
		return nil, err
	}
	mpdBase, err := resolveBase(base, m.BaseURLs)
	if err != nil {
		return nil, err
	}
	var out []*Track
	for pi, p := range m.Periods {
		if p == nil {
			continue
		}
		pBase, err := resolveBase(mpdBase, p.BaseURLs)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, as := range p.AdaptationSets {
			if as == nil {
				continue
			}
			asBase, err := resolveBase(pBase, as.BaseURLs)
			if err != nil {
				return nil, err
			}
			for _, r := range as.Representations {
				if r == nil {
					continue
				}
				if r.ID == "" {
					return nil, fmt.Errorf("%w: Representation without @id in Period %d", ErrInvalid, pi)
				}
				if seen[r.ID] {
					return nil, fmt.Errorf("%w: two Representations with @id %q in Period %d", ErrInvalid, r.ID, pi)
				}
				seen[r.ID] = true
				rBase, err := resolveBase(asBase, r.BaseURLs)
				if err != nil {
					return nil, err
				}
				t := &Track{
					Type:           contentType(as, r),
					PeriodIndex:    pi,
					Period:         p,
					AdaptationSet:  as,
					Representation: r,
					BaseURL:        rBase,
					PeriodStart:    starts[pi],
					PeriodDuration: durations[pi],
					mpd:            m,
				}
				if err := t.mergeAddressing(); err != nil {
					return nil, fmt.Errorf("Representation %q: %w", r.ID, err)
				}
				t.Kind = t.kind()
				t.Rendition = t.renditionOf(t.Kind)
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// periodTiming returns each Period's start and duration (0: unknown),
// section 5.3.2.1.
func periodTiming(m *MPD) (starts, durations []time.Duration, err error) {
	n := len(m.Periods)
	starts, durations = make([]time.Duration, n), make([]time.Duration, n)
	for i, p := range m.Periods {
		switch {
		case p == nil:
			return nil, nil, fmt.Errorf("%w: empty Period", ErrInvalid)
		case p.Start != nil:
			starts[i] = p.Start.D()
		case i == 0:
			starts[i] = 0
		case m.Periods[i-1].Duration != nil:
			starts[i] = starts[i-1] + m.Periods[i-1].Duration.D()
		default:
			return nil, nil, fmt.Errorf("%w: Period %d has no start and the one before no duration", ErrInvalid, i)
		}
		if starts[i] < 0 || i > 0 && starts[i] < starts[i-1] {
			return nil, nil, fmt.Errorf("%w: Period %d starts at %s, before the one before", ErrInvalid, i, starts[i])
		}
	}
	for i, p := range m.Periods {
		switch {
		case p.Duration != nil:
			durations[i] = p.Duration.D()
		case i+1 < n:
			durations[i] = starts[i+1] - starts[i]
		case m.MediaPresentationDuration != nil:
			durations[i] = m.MediaPresentationDuration.D() - starts[i]
		}
		if durations[i] < 0 {
			return nil, nil, fmt.Errorf("%w: Period %d has a negative duration", ErrInvalid, i)
		}
	}
	return starts, durations, nil
}

// resolveBase resolves the first of urls (if any) against base.
func resolveBase(base *url.URL, urls []BaseURL) (*url.URL, error) {
	if len(urls) == 0 {
		return base, nil
	}
	ref, err := url.Parse(strings.TrimSpace(urls[0].URL))
	if err != nil {
		return nil, fmt.Errorf("%w: BaseURL %q: %v", ErrURL, urls[0].URL, err)
	}
	return base.ResolveReference(ref), nil
}

// resolve resolves a segment URL (empty: the BaseURL itself).
func (t *Track) resolve(ref string) (string, error) {
	if ref == "" {
		return t.BaseURL.String(), nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrURL, ref, err)
	}
	return t.BaseURL.ResolveReference(u).String(), nil
}

func contentType(as *AdaptationSet, r *Representation) string {
	switch as.ContentType {
	case "video", "audio", "text":
		return as.ContentType
	case "image":
		return ""
	}
	mime := r.MimeType
	if mime == "" {
		mime = as.MimeType
	}
	codecs := r.Codecs + as.Codecs
	switch major, _, _ := strings.Cut(mime, "/"); {
	case major == "video" || major == "audio" || major == "text":
		return major
	case mime == "application/ttml+xml", strings.Contains(codecs, "stpp"), strings.Contains(codecs, "wvtt"):
		return "text"
	}
	return ""
}

// mergeAddressing picks the addressing of the lowest level that has any
// and merges in that kind's attributes from the levels above.
func (t *Track) mergeAddressing() error {
	p, as, r := t.Period, t.AdaptationSet, t.Representation
	kind := ""
	for _, lv := range []struct {
		b *SegmentBase
		l *SegmentList
		s *SegmentTemplate
	}{{r.SegmentBase, r.SegmentList, r.SegmentTemplate}, {as.SegmentBase, as.SegmentList, as.SegmentTemplate}, {p.SegmentBase, p.SegmentList, p.SegmentTemplate}} {
		n := 0
		if lv.s != nil {
			kind, n = "template", n+1
		}
		if lv.l != nil {
			kind, n = "list", n+1
		}
		if lv.b != nil {
			kind, n = "base", n+1
		}
		if n > 1 {
			return fmt.Errorf("%w: more than one of SegmentBase, SegmentList and SegmentTemplate at one level", ErrInvalid)
		}
		if n == 1 {
			break
		}
	}
	switch kind {
	case "template":
		out := &SegmentTemplate{}
		for _, s := range []*SegmentTemplate{p.SegmentTemplate, as.SegmentTemplate, r.SegmentTemplate} {
			if s == nil {
				continue
			}
			mergeMultiple(&out.MultipleSegmentInfo, &s.MultipleSegmentInfo)
			out.Media = or(s.Media, out.Media)
			out.Index = or(s.Index, out.Index)
			out.InitializationTemplate = or(s.InitializationTemplate, out.InitializationTemplate)
			out.BitstreamSwitchingTemplate = or(s.BitstreamSwitchingTemplate, out.BitstreamSwitchingTemplate)
		}
		t.Template = out
	case "list":
		out := &SegmentList{}
		for _, s := range []*SegmentList{p.SegmentList, as.SegmentList, r.SegmentList} {
			if s == nil {
				continue
			}
			mergeMultiple(&out.MultipleSegmentInfo, &s.MultipleSegmentInfo)
			if len(s.SegmentURLs) > 0 {
				out.SegmentURLs = s.SegmentURLs
			}
		}
		t.List = out
	case "base":
		out := &SegmentBase{}
		for _, s := range []*SegmentBase{p.SegmentBase, as.SegmentBase, r.SegmentBase} {
			if s != nil {
				mergeInfo(&out.SegmentInfo, &s.SegmentInfo)
			}
		}
		t.Base = out
	default:
		return fmt.Errorf("%w: no SegmentBase, SegmentList or SegmentTemplate", ErrInvalid)
	}
	return nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// inherit sets *dst to src when the lower level sets it (src non-nil).
func inherit[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}

func mergeInfo(dst, src *SegmentInfo) {
	inherit(&dst.Timescale, src.Timescale)
	inherit(&dst.PresentationTimeOffset, src.PresentationTimeOffset)
	inherit(&dst.PresentationDuration, src.PresentationDuration)
	inherit(&dst.TimeShiftBufferDepth, src.TimeShiftBufferDepth)
	dst.IndexRange = or(src.IndexRange, dst.IndexRange)
	inherit(&dst.IndexRangeExact, src.IndexRangeExact)
	dst.AvailabilityTimeOffset = or(src.AvailabilityTimeOffset, dst.AvailabilityTimeOffset)
	inherit(&dst.AvailabilityTimeComplete, src.AvailabilityTimeComplete)
	inherit(&dst.Initialization, src.Initialization)
	inherit(&dst.RepresentationIndex, src.RepresentationIndex)
}

func mergeMultiple(dst, src *MultipleSegmentInfo) {
	mergeInfo(&dst.SegmentInfo, &src.SegmentInfo)
	inherit(&dst.Duration, src.Duration)
	inherit(&dst.StartNumber, src.StartNumber)
	inherit(&dst.EndNumber, src.EndNumber)
	inherit(&dst.SegmentTimeline, src.SegmentTimeline)
	inherit(&dst.BitstreamSwitching, src.BitstreamSwitching)
}

// kind returns the kind of t's first media segment.
func (t *Track) kind() Kind {
	switch {
	case t.Base != nil:
		if info := t.info(); info.IndexRange != "" || info.RepresentationIndex != nil {
			return KindBytes
		}
	case t.List != nil:
		if len(t.List.SegmentURLs) > 0 && t.List.SegmentURLs[0].MediaRange != "" {
			return KindBytes
		}
	}
	return KindTime
}

// renditionOf returns the rendition of t's media segments of kind k.
func (t *Track) renditionOf(k Kind) string {
	return RenditionName(t.PeriodStart, t.Representation.ID, k)
}

// info returns the merged SegmentBaseType attributes of t's addressing.
func (t *Track) info() *SegmentInfo {
	switch {
	case t.Template != nil:
		return &t.Template.SegmentInfo
	case t.List != nil:
		return &t.List.SegmentInfo
	}
	return &t.Base.SegmentInfo
}

// multiple returns the merged MultipleSegmentBaseType of t, nil for
// SegmentBase.
func (t *Track) multiple() *MultipleSegmentInfo {
	switch {
	case t.Template != nil:
		return &t.Template.MultipleSegmentInfo
	case t.List != nil:
		return &t.List.MultipleSegmentInfo
	}
	return nil
}

// Timescale returns the track's timescale (default 1).
func (t *Track) Timescale() uint64 {
	if ts := t.info().Timescale; ts != nil && *ts > 0 {
		return *ts
	}
	return 1
}

// PresentationTimeOffset returns @presentationTimeOffset (default 0), in
// timescale units.
func (t *Track) PresentationTimeOffset() uint64 {
	if p := t.info().PresentationTimeOffset; p != nil {
		return *p
	}
	return 0
}

// StartNumber returns @startNumber (default 1).
func (t *Track) StartNumber() uint64 {
	if m := t.multiple(); m != nil && m.StartNumber != nil {
		return *m.StartNumber
	}
	return 1
}

// values returns the template values every URL of t shares.
func (t *Track) values() TemplateValues {
	return TemplateValues{RepresentationID: t.Representation.ID, Bandwidth: t.Representation.Bandwidth, HasBandwidth: true}
}

// InitURL returns the absolute URL and byte range [start, end) (end 0:
// the whole resource) of t's initialization segment; ok is false when it
// has none.
func (t *Track) InitURL() (u string, start, end int64, ok bool, err error) {
	info := t.info()
	if t.Template != nil && t.Template.InitializationTemplate != "" {
		s, err := ExpandTemplate(t.Template.InitializationTemplate, t.values())
		if err != nil {
			return "", 0, 0, false, fmt.Errorf("@initialization: %w", err)
		}
		u, err := t.resolve(s)
		return u, 0, 0, err == nil, err
	}
	if info.Initialization == nil {
		if t.Base != nil && info.IndexRange != "" {
			// The initialization segment is what precedes the index.
			s, _, err := parseRange(info.IndexRange)
			if err != nil {
				return "", 0, 0, false, err
			}
			if s == 0 {
				return "", 0, 0, false, nil
			}
			u, err := t.resolve("")
			return u, 0, s, err == nil, err
		}
		return "", 0, 0, false, nil
	}
	if start, end, err = parseOptionalRange(info.Initialization.Range); err != nil {
		return "", 0, 0, false, err
	}
	u, err = t.resolve(info.Initialization.SourceURL)
	return u, start, end, err == nil, err
}

// MediaURL returns the absolute URL of the template media segment e.
func (t *Track) MediaURL(e Entry) (string, error) {
	if t.Template == nil {
		return "", fmt.Errorf("%w: not a SegmentTemplate", ErrInvalid)
	}
	if t.Template.Media == "" {
		return "", fmt.Errorf("%w: SegmentTemplate without @media", ErrInvalid)
	}
	v := t.values()
	v.Number, v.Time, v.HasNumber, v.HasTime = e.Number, e.Time, true, true
	s, err := ExpandTemplate(t.Template.Media, v)
	if err != nil {
		return "", fmt.Errorf("@media: %w", err)
	}
	return t.resolve(s)
}

// parseRange parses a byte range "first-last" (inclusive) into [start, end).
func parseRange(s string) (start, end int64, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || first < 0 || last < first || last == math.MaxInt64 {
		return 0, 0, fmt.Errorf("%w: byte range %q", ErrInvalid, s)
	}
	return first, last + 1, nil
}

// parseOptionalRange parses a range attribute that may be absent (0, 0).
func parseOptionalRange(s string) (start, end int64, err error) {
	if s == "" {
		return 0, 0, nil
	}
	return parseRange(s)
}
