package mpd

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/nearcast/nearcast/manifest"
)

// Entry is one media segment of a Track, in the track's timescale.
type Entry struct {
	// Number is the segment's number: @startNumber plus its position.
	Number uint64
	// Time is its media time (S@t, or @presentationTimeOffset plus its
	// position times @duration); Duration its length.
	Time, Duration uint64
	// Index is its position in a SegmentList, -1 otherwise.
	Index int
}

// run is a stretch of segments of one duration: segment k (0-based) is
// number n0+k at time t0+k·d. The segments first…last (inclusive) are the
// ones listed.
type run struct {
	t0, d, n0   uint64
	first, last uint64
	empty       bool
	list        int // SegmentList index of segment 0, -1 for templates
}

func (r run) count() uint64 {
	switch {
	case r.empty:
		return 0
	case r.last == unbounded:
		return unbounded
	}
	return r.last - r.first + 1
}

// unbounded stands for the segment count of a run that goes on until the
// live edge.
const unbounded = math.MaxUint64

// Entries lays out t's media segments (SegmentTemplate or SegmentList) in
// presentation order. For a dynamic MPD, only the segments available at now
// are listed (ISO/IEC 23009-1 section 5.3.9.5.3: from the end of the
// segment, less @availabilityTimeOffset, until the end plus one more
// segment duration plus @timeShiftBufferDepth); a dynamic MPD without a
// time-shift buffer keeps its newest limits.MaxSegments.
func (t *Track) Entries(now time.Time, limits manifest.Limits) ([]Entry, error) {
	ms := t.multiple()
	if ms == nil {
		return nil, fmt.Errorf("%w: SegmentBase has no entries (see ExpandIndex)", ErrInvalid)
	}
	ts := t.Timescale()
	av, err := t.availability(now)
	if err != nil {
		return nil, err
	}
	var runs []run
	switch {
	case ms.SegmentTimeline != nil:
		runs, err = t.timelineRuns(ms.SegmentTimeline, av)
	case ms.Duration != nil:
		if *ms.Duration == 0 {
			return nil, fmt.Errorf("%w: @duration 0", ErrTimeline)
		}
		runs, err = t.durationRuns(*ms.Duration, av)
	case t.List != nil && len(t.List.SegmentURLs) == 1:
		// A single segment needs no duration: it spans the Period.
		runs = []run{{t0: t.PresentationTimeOffset(), d: max(1, uint64(t.PeriodDuration.Seconds()*float64(ts))), n0: t.StartNumber(), list: 0}}
	default:
		return nil, fmt.Errorf("%w: neither SegmentTimeline nor @duration", ErrTimeline)
	}
	if err != nil {
		return nil, err
	}
	if t.List != nil {
		runs, err = t.clipToList(runs)
		if err != nil {
			return nil, err
		}
	}
	if ms.EndNumber != nil {
		runs = clipNumbers(runs, *ms.EndNumber)
	}
	if av.on {
		for i := range runs {
			runs[i] = av.clip(runs[i])
		}
	}
	var total uint64
	for _, r := range runs {
		if r.count() == unbounded {
			// Only an infinite @availabilityTimeOffset leaves a run open.
			return nil, fmt.Errorf("%w: segments without end (availabilityTimeOffset INF and no Period end)", ErrUnsupported)
		}
		total += r.count()
		if total > uint64(limits.MaxSegments) {
			if !av.on || av.tsbd != nil {
				return nil, fmt.Errorf("%w: rendition %q has more than %d segments (WithMaxSegments)", manifest.ErrTooLarge, t.Rendition, limits.MaxSegments)
			}
		}
	}
	if total > uint64(limits.MaxSegments) {
		runs = keepNewest(runs, uint64(limits.MaxSegments))
		total = uint64(limits.MaxSegments)
	}
	out := make([]Entry, 0, total)
	for _, r := range runs {
		if r.empty {
			continue
		}
		if err := checkRun(r); err != nil {
			return nil, err
		}
		for k := r.first; ; k++ {
			e := Entry{Number: r.n0 + k, Time: r.t0 + k*r.d, Duration: r.d, Index: -1}
			if r.list >= 0 {
				e.Index = r.list + int(k)
			}
			out = append(out, e)
			if k == r.last {
				break
			}
		}
	}
	return out, nil
}

// keepNewest drops the oldest segments of runs so that n are left.
func keepNewest(runs []run, n uint64) []run {
	var total uint64
	for _, r := range runs {
		total += r.count()
	}
	drop := total - n
	for i := range runs {
		c := runs[i].count()
		if c <= drop {
			runs[i].empty = true
			drop -= c
			continue
		}
		runs[i].first += drop
		break
	}
	return runs
}

// checkRun checks that the run's times and numbers fit 64 bits.
func checkRun(r run) error {
	if r.empty {
		return nil
	}
	last := big.NewInt(0).SetUint64(r.last)
	end := new(big.Int).Mul(new(big.Int).Add(last, big.NewInt(1)), new(big.Int).SetUint64(r.d))
	end.Add(end, new(big.Int).SetUint64(r.t0))
	num := new(big.Int).Add(last, new(big.Int).SetUint64(r.n0))
	if end.BitLen() > 64 || num.BitLen() > 64 {
		return fmt.Errorf("%w: segment times or numbers overflow 64 bits", ErrTimeline)
	}
	return nil
}

// timelineRuns turns a SegmentTimeline into runs (section 5.3.9.6).
func (t *Track) timelineRuns(tl *SegmentTimeline, av availability) ([]run, error) {
	var runs []run
	var cur uint64 // where the previous run ended
	n := t.StartNumber()
	for i, s := range tl.S {
		if s.T != nil {
			if *s.T < cur {
				return nil, fmt.Errorf("%w: S %d starts at %d, before the previous one ended (%d)", ErrTimeline, i, *s.T, cur)
			}
			cur = *s.T
		}
		if s.D == 0 {
			return nil, fmt.Errorf("%w: S %d has d=0", ErrTimeline, i)
		}
		var count uint64
		switch {
		case s.R >= 0:
			count = uint64(s.R) + 1
		case s.R == -1:
			var end *big.Int
			if i+1 < len(tl.S) {
				if tl.S[i+1].T == nil {
					return nil, fmt.Errorf("%w: S %d has r=-1 but the next S has no @t", ErrTimeline, i)
				}
				end = new(big.Int).SetUint64(*tl.S[i+1].T)
				end.Mul(end, bigBillion)
			} else {
				end = t.periodEnd()
			}
			if end == nil {
				if !av.on {
					return nil, fmt.Errorf("%w: S %d has r=-1 and the Period has no end", ErrTimeline, i)
				}
				count = unbounded
				break
			}
			count = ceilCount(end, cur, s.D)
		default:
			return nil, fmt.Errorf("%w: S %d has r=%d", ErrTimeline, i, s.R)
		}
		if count == 0 {
			continue
		}
		r := run{t0: cur, d: s.D, n0: n, first: 0, last: count - 1, list: -1}
		if count == unbounded {
			r.last = unbounded
			runs = append(runs, r)
			if i+1 < len(tl.S) {
				return nil, fmt.Errorf("%w: open S before the last", ErrTimeline)
			}
			break
		}
		if err := checkRun(r); err != nil {
			return nil, err
		}
		runs = append(runs, r)
		cur = r.t0 + count*r.d
		n = r.n0 + count
	}
	return runs, nil
}

// durationRuns lays out segments of a constant @duration d from the start
// of the Period (section 5.3.9.5.3).
func (t *Track) durationRuns(d uint64, av availability) ([]run, error) {
	pto := t.PresentationTimeOffset()
	r := run{t0: pto, d: d, n0: t.StartNumber(), list: -1}
	if t.List != nil {
		// A SegmentList has as many segments as SegmentURLs.
		if len(t.List.SegmentURLs) == 0 {
			return nil, nil
		}
		r.last, r.list = uint64(len(t.List.SegmentURLs))-1, 0
		return []run{r}, checkRun(r)
	}
	if end := t.periodEnd(); end != nil {
		c := ceilCount(end, pto, d)
		if c == 0 {
			return nil, nil
		}
		r.last = c - 1
	} else {
		if !av.on {
			return nil, fmt.Errorf("%w: @duration addressing and the Period has no end", ErrTimeline)
		}
		r.last = unbounded
	}
	if r.last != unbounded {
		if err := checkRun(r); err != nil {
			return nil, err
		}
	}
	return []run{r}, nil
}

// clipToList keeps the runs' segments that have a SegmentURL.
func (t *Track) clipToList(runs []run) ([]run, error) {
	n := uint64(len(t.List.SegmentURLs))
	var seen uint64
	for i := range runs {
		runs[i].list = int(seen)
		c := runs[i].last - runs[i].first + 1
		if runs[i].last == unbounded {
			c = unbounded
		}
		if seen >= n {
			runs[i].empty = true
			continue
		}
		if c > n-seen {
			runs[i].last = runs[i].first + (n - seen) - 1
			c = n - seen
		}
		seen += c
	}
	if seen < n && t.multiple().SegmentTimeline != nil {
		return nil, fmt.Errorf("%w: %d SegmentURLs but a timeline of %d segments", ErrTimeline, n, seen)
	}
	return runs, nil
}

// clipNumbers drops segments numbered after endNumber.
func clipNumbers(runs []run, endNumber uint64) []run {
	for i, r := range runs {
		if r.empty {
			continue
		}
		if r.n0 > endNumber {
			runs[i].empty = true
			continue
		}
		if last := endNumber - r.n0; last < r.last {
			runs[i].last = last
			if last < r.first {
				runs[i].empty = true
			}
		}
	}
	return runs
}

var bigBillion = big.NewInt(1e9)

// periodEnd returns the end of the Period in media time, scaled by 1e9
// (units of 1e-9 ticks), or nil when the Period has no known end.
func (t *Track) periodEnd() *big.Int {
	if t.PeriodDuration <= 0 {
		return nil
	}
	ts := new(big.Int).SetUint64(t.Timescale())
	end := new(big.Int).Mul(big.NewInt(int64(t.PeriodDuration)), ts)
	return end.Add(end, new(big.Int).Mul(new(big.Int).SetUint64(t.PresentationTimeOffset()), bigBillion))
}

// ceilCount returns how many segments of d ticks from t0 it takes to reach
// end (in 1e-9 ticks): ceil((end - t0·1e9) / (d·1e9)), 0 when end <= t0.
func ceilCount(end *big.Int, t0, d uint64) uint64 {
	span := new(big.Int).Sub(end, new(big.Int).Mul(new(big.Int).SetUint64(t0), bigBillion))
	if span.Sign() <= 0 {
		return 0
	}
	den := new(big.Int).Mul(new(big.Int).SetUint64(d), bigBillion)
	q, m := new(big.Int).QuoRem(span, den, new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsUint64() || q.Uint64() == unbounded {
		return unbounded - 1
	}
	return q.Uint64()
}

// availability is the segment availability window of a dynamic MPD at one
// moment, in media time scaled by 1e9 (section 5.3.9.5.3): a segment
// [t, t+d) is available when (t+d)·1e9 <= edge + ato and
// edge < (t+2d)·1e9 + tsbd.
type availability struct {
	on   bool
	edge *big.Int // (now - AST - PeriodStart)·timescale + PTO·1e9
	ato  *big.Int // nil: infinite (every listed segment is available)
	tsbd *big.Int // nil: infinite time-shift buffer
}

func (t *Track) availability(now time.Time) (availability, error) {
	m := t.mpd
	if m == nil || !m.IsDynamic() {
		return availability{}, nil
	}
	if now.IsZero() {
		return availability{}, fmt.Errorf("%w: a dynamic MPD is expanded at a time: now is zero", ErrInvalid)
	}
	ts := new(big.Int).SetUint64(t.Timescale())
	elapsed := big.NewInt(int64(now.Sub(m.AvailabilityStartTime.Time)))
	elapsed.Sub(elapsed, big.NewInt(int64(t.PeriodStart)))
	av := availability{on: true, edge: elapsed.Mul(elapsed, ts)}
	av.edge.Add(av.edge, new(big.Int).Mul(new(big.Int).SetUint64(t.PresentationTimeOffset()), bigBillion))
	info := t.info()
	tsbd := m.TimeShiftBufferDepth
	if info.TimeShiftBufferDepth != nil {
		tsbd = info.TimeShiftBufferDepth
	}
	if tsbd != nil {
		av.tsbd = new(big.Int).Mul(big.NewInt(int64(tsbd.D())), ts)
	}
	av.ato = big.NewInt(0)
	if s := strings.TrimSpace(info.AvailabilityTimeOffset); s != "" {
		if s == "INF" {
			av.ato = nil
		} else {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(f) || math.Abs(f) > 1e9 {
				return availability{}, fmt.Errorf("%w: @availabilityTimeOffset %q", ErrInvalid, s)
			}
			av.ato = new(big.Int).Mul(big.NewInt(int64(math.Round(f*1e9))), ts)
		}
	}
	return av, nil
}

// clip keeps the segments of r available in the window.
func (a availability) clip(r run) run {
	if r.empty {
		return r
	}
	d := new(big.Int).Mul(new(big.Int).SetUint64(r.d), bigBillion)
	t0 := new(big.Int).Mul(new(big.Int).SetUint64(r.t0), bigBillion)
	lo, hi := new(big.Int).SetUint64(r.first), new(big.Int).SetUint64(r.last)
	if a.ato != nil {
		// k <= floor((edge + ato - t0) / d) - 1
		x := new(big.Int).Add(a.edge, a.ato)
		x.Sub(x, t0)
		x.Div(x, d)
		x.Sub(x, big.NewInt(1))
		if x.Cmp(hi) < 0 {
			hi = x
		}
	}
	if a.tsbd != nil {
		// k >= floor((edge - tsbd - t0) / d) - 1
		x := new(big.Int).Sub(a.edge, a.tsbd)
		x.Sub(x, t0)
		x.Div(x, d)
		x.Sub(x, big.NewInt(1))
		if x.Cmp(lo) > 0 {
			lo = x
		}
	}
	if hi.Sign() < 0 || lo.Cmp(hi) > 0 {
		r.empty = true
		return r
	}
	r.first, r.last = lo.Uint64(), hi.Uint64()
	return r
}
