package mpd

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// The DASH segment identity is a contract with the browser shim: the
// dash.js adapter (player-shim/src/dashjs.js, periodKey and dashIdentity)
// and the Shaka adapter (player-shim/src/shaka.js, periodKey and
// dashIdentity) name a segment with the rules below, from what the players
// expose, and this file names it the same way from the MPD. The rules are
// written down once, in docs/manifests.md ("DASH"); change them there, in
// both adapters and here together.
//
//	rendition = "p" + Math.round(Period start in s × 1000) + "|" + Representation@id + "|" + kind
//	kind "b", seq = the first byte of the segment's byte range
//	kind "t", seq = Math.round(media time / @timescale × 1000)

// Kind is how a DASH media segment is named: the last part of its
// rendition, so that times and byte offsets never meet in one swarm.
type Kind byte

const (
	// KindTime is a segment without a byte range (SegmentTemplate with
	// $Number$ or $Time$, with or without a SegmentTimeline; a SegmentURL
	// without @mediaRange). Its seq is its media start time in ms.
	KindTime Kind = 't'
	// KindBytes is a byte range of a resource (a SegmentBase subsegment from
	// the sidx, a SegmentURL with @mediaRange). Its seq is its first byte.
	KindBytes Kind = 'b'
)

// String returns "t" or "b".
func (k Kind) String() string { return string(rune(k)) }

// MaxSeq is the largest seq the shim gives a segment: JavaScript's
// Number.MAX_SAFE_INTEGER. A segment past it has no identity a player can
// share, and expanding it fails with ErrTimeline.
const MaxSeq = 1<<53 - 1

// PeriodKey names a Period by its start, as the shim's periodKey does:
// "p" and Math.round(start in seconds × 1000), in float64 like JavaScript.
// A negative start (which Tracks rejects) is "p?".
func PeriodKey(start time.Duration) string {
	if start < 0 {
		return "p?"
	}
	// dash.js and Shaka hold the start in seconds (a double) and multiply.
	ms := jsRound(float64(start) / float64(time.Second) * 1000)
	return "p" + strconv.FormatInt(int64(ms), 10) // at most 9.3e12: no exponent, as in JavaScript
}

// RenditionName returns the rendition of the segments of kind k of the
// Representation representationID in the Period that starts at
// periodStart: PeriodKey(periodStart) + "|" + representationID + "|" + k.
func RenditionName(periodStart time.Duration, representationID string, k Kind) string {
	return PeriodKey(periodStart) + "|" + representationID + "|" + k.String()
}

// TimeSeq returns the seq of a KindTime segment whose media time (its
// $Time$, S@t or timeline position, @presentationTimeOffset not
// subtracted) is ticks of timescale: Math.round(ticks / timescale × 1000),
// computed in float64 exactly as dash.js computes the segment's
// mediaStartTime (ticks / timescale) and the shim rounds it (× 1000).
func TimeSeq(ticks, timescale uint64) (uint64, error) {
	if timescale == 0 {
		return 0, fmt.Errorf("%w: timescale 0", ErrTimeline)
	}
	ms := jsRound(float64(ticks) / float64(timescale) * 1000)
	if !(ms >= 0 && ms <= MaxSeq) {
		return 0, fmt.Errorf("%w: media time %d/%d s is past the identity range (2^53 ms)", ErrTimeline, ticks, timescale)
	}
	return uint64(ms), nil
}

// byteSeq returns the seq of a KindBytes segment that starts at byte start.
func byteSeq(start int64) (uint64, error) {
	if start < 0 || start > MaxSeq {
		return 0, fmt.Errorf("%w: byte offset %d is past the identity range (2^53)", ErrTimeline, start)
	}
	return uint64(start), nil
}

// jsRound rounds x like JavaScript's Math.round: to the nearest integer,
// halves towards +∞ (2.5 → 3, -2.5 → -2), unlike math.Round, which rounds
// halves away from zero. Floor then compare, not Floor(x+0.5), which
// rounds 0.49999999999999994 up.
func jsRound(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	f := math.Floor(x)
	if x-f >= 0.5 {
		f++
	}
	return f
}
