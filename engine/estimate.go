package engine

import (
	"math"
	"time"
)

// ewma is an exponentially weighted moving average; zero until the first
// sample.
type ewma struct {
	v float64
	n int
}

func (a *ewma) add(x float64) {
	const alpha = 0.3
	if a.n == 0 {
		a.v = x
	} else {
		a.v = alpha*x + (1-alpha)*a.v
	}
	a.n++
}

func (a *ewma) value() (float64, bool) { return a.v, a.n > 0 }

// rateEstimate models a source as a latency plus a throughput, learnt from
// completed transfers.
type rateEstimate struct {
	latency ewma // seconds to the first byte (or to completion for tiny transfers)
	rate    ewma // bytes per second after the first byte
}

func (r *rateEstimate) observe(bytes int, firstByte, total time.Duration) {
	r.latency.add(firstByte.Seconds())
	if transfer := (total - firstByte).Seconds(); transfer > 0.001 && bytes > 0 {
		r.rate.add(float64(bytes) / transfer)
	}
}

// expected returns the time a transfer of n bytes is expected to take, and
// false when nothing has been learnt yet.
func (r *rateEstimate) expected(n int) (time.Duration, bool) {
	lat, ok := r.latency.value()
	if !ok {
		return 0, false
	}
	d := lat
	if rate, ok := r.rate.value(); ok && rate > 0 {
		d += float64(n) / rate
	}
	return time.Duration(d * float64(time.Second)), true
}

// cdnEstimate is the CDN's rateEstimate and how far its fetches strayed
// from it: dev is the moving average of |taken − expected|, in seconds,
// learnt like TCP's round-trip variation (RFC 6298).
type cdnEstimate struct {
	rateEstimate
	dev ewma
}

func (c *cdnEstimate) observe(bytes int, firstByte, total time.Duration) {
	if d, ok := c.expected(bytes); ok {
		c.dev.add(math.Abs((total - d).Seconds()))
	}
	c.rateEstimate.observe(bytes, firstByte, total)
}

// deviation returns dev as a duration (0 until two fetches were timed).
func (c *cdnEstimate) deviation() time.Duration {
	v, _ := c.dev.value()
	return time.Duration(v * float64(time.Second))
}
