package loadtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistogramPrecision(t *testing.T) {
	for v := uint64(0); v < 1<<20; v += 1 + v/97 {
		mid := bucketMid(bucketOf(v))
		if math.Abs(mid-float64(v)) > 0.01*float64(v)+0.5 {
			t.Fatalf("value %d: bucket %d midpoint %v, off by more than 1 %%", v, bucketOf(v), mid)
		}
	}
	if b := bucketOf(maxValue); b >= nBuckets {
		t.Fatalf("maxValue lands in bucket %d of %d", b, nBuckets)
	}
	var h histogram
	r := rand.New(rand.NewPCG(5, 6))
	vals := make([]int64, 100000)
	for i := range vals {
		vals[i] = int64(math.Exp(r.NormFloat64()*1.5) * 1e6) // log-normal around 1 ms
		h.record(vals[i])
	}
	h.record(-5) // clock oddities count as zero
	vals = append(vals, 0)
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.99} {
		want := float64(vals[int(q*float64(len(vals)))])
		if got := h.quantile(q); math.Abs(got-want) > 0.011*want {
			t.Errorf("q%v = %v, want %v ±1 %%", q, got, want)
		}
	}
	s := h.summary()
	if s.N != int64(len(vals)) || s.MaxMs != float64(vals[len(vals)-1])/1e6 {
		t.Errorf("summary %+v", s)
	}
	var empty histogram
	if s := empty.summary(); s != (Latency{}) {
		t.Errorf("empty summary %+v", s)
	}
}

func TestOfferIDCarriesSendTime(t *testing.T) {
	for _, now := range []int64{0, 1, 123456789, 1<<48 - 1} {
		tok := appendOfferID(nil, now)
		if len(tok) != offerIDLength+2 {
			t.Fatalf("offer_id %s is not %d characters", tok, offerIDLength)
		}
		if got, ok := offerSentAt(tok); !ok || got != now {
			t.Errorf("offerSentAt(%s) = %d, %v; want %d", tok, got, ok, now)
		}
	}
	for _, bad := range []string{`"abc"`, `"zzzzzzzzzzzzzzzzzzzz"`, `0123456789abcdefghij`, `"0123456789AB45678901"`} {
		if _, ok := offerSentAt([]byte(bad)); ok {
			t.Errorf("offerSentAt(%s) accepted", bad)
		}
	}
}
