package loadtest

import (
	"math/bits"
	"sync/atomic"
)

// The phases of a run. Rates and latencies count only phaseMeasured.
const (
	phaseRamp int32 = iota
	phaseMeasured
	phaseDrain
	nPhases
)

// What the generator sends, by kind.
const (
	sentAnnounce = iota
	sentAnswer
	sentStopped
	nSent
)

var sentNames = [nSent]string{"announce", "answer", "stopped"}

// What the generator receives, by kind.
const (
	recvAnnounce = iota
	recvOffer
	recvAnswer
	recvFailure
	recvOther
	nRecv
)

var recvNames = [nRecv]string{"announce", "offer", "answer", "failure", "other"}

// recvIndex maps a scanned kind to its counter.
func recvIndex(k kind) int {
	switch k {
	case kindResponse:
		return recvAnnounce
	case kindOffer:
		return recvOffer
	case kindAnswer:
		return recvAnswer
	case kindFailure:
		return recvFailure
	}
	return recvOther
}

// counters are the generator's message counts, by phase and kind.
type counters struct {
	sent [nPhases][nSent]atomic.Int64
	recv [nPhases][nRecv]atomic.Int64
}

func (c *counters) totalSent(k int) (n int64) {
	for p := range nPhases {
		n += c.sent[p][k].Load()
	}
	return n
}

func (c *counters) totalRecv(k int) (n int64) {
	for p := range nPhases {
		n += c.recv[p][k].Load()
	}
	return n
}

// The histogram is log-linear, like HdrHistogram with two significant
// digits: values below 2^(subBits+1) have a bucket each; above, every power
// of two is split into 2^subBits buckets, so a bucket is at most 1/64 of its
// value wide and its midpoint is within 0.8 % of any value in it.
const (
	subBits  = 6
	subCount = 1 << subBits
	// maxValue caps recorded values (nanoseconds: about 18 minutes).
	maxValue = 1<<40 - 1
	nBuckets = 2*subCount + (40-subBits-1)*subCount
)

// histogram records durations in nanoseconds from many goroutines without
// locks; its size is fixed whatever the number of values.
type histogram struct {
	counts [nBuckets]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64
}

func bucketOf(v uint64) int {
	if v < 2*subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1 // at least 1
	return 2*subCount + (shift-1)*subCount + int(v>>shift) - subCount
}

// bucketMid returns the midpoint of bucket i.
func bucketMid(i int) float64 {
	if i < 2*subCount {
		return float64(i)
	}
	shift := (i-2*subCount)/subCount + 1
	low := uint64((i-2*subCount)%subCount+subCount) << shift
	return float64(low) + float64(uint64(1)<<shift)/2
}

func (h *histogram) record(ns int64) {
	if ns < 0 {
		ns = 0
	}
	v := uint64(min(ns, maxValue))
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(v) <= m || h.max.CompareAndSwap(m, int64(v)) {
			return
		}
	}
}

// quantile returns the q-quantile (0 < q ≤ 1) in nanoseconds, or 0 when
// the histogram is empty.
func (h *histogram) quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(q*float64(n) + 0.5)
	rank = max(rank, 1)
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(bucketMid(i), float64(h.max.Load()))
		}
	}
	return float64(h.max.Load())
}

// Latency summarizes a latency histogram, in milliseconds.
type Latency struct {
	N                   int64
	P50Ms, P99Ms, MaxMs float64
}

func (h *histogram) summary() Latency {
	return Latency{
		N:     h.n.Load(),
		P50Ms: h.quantile(0.50) / 1e6,
		P99Ms: h.quantile(0.99) / 1e6,
		MaxMs: float64(h.max.Load()) / 1e6,
	}
}
