//go:build e2e

package e2e

import (
	"context"
	"math"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Uplink measurement for scenario 3. Each viewer's uplink is a tbf qdisc on
// eth0 in its namespace (scripts/netns-topology.sh). Sampling its counters
// every uplinkSampleEvery tells what the uplinks actually carried while
// they were sending — what the browsers' transports got out of the capped,
// delayed and lossy path — and whether packets queued in the tbf (the cap
// was reached) or not (the senders were the limit).

const uplinkSampleEvery = 500 * time.Millisecond

// uplinkStats summarizes one run's uplink samples over all viewers.
type uplinkStats struct {
	// Windows is how many sample intervals found an uplink sending at
	// least a fifth of its cap; the rates below are over those.
	Windows int `json:"sendingWindows"`
	// P50Kbit and P90Kbit are the median and 90th percentile of the rate
	// (bits on the wire, per sample interval) while sending.
	P50Kbit float64 `json:"sendingKbitP50"`
	P90Kbit float64 `json:"sendingKbitP90"`
	// Queued is the share of sending windows that ended with a backlog in
	// the tbf of more than two full-size packets.
	Queued float64 `json:"sendingQueuedShare"`
	// Drops counts packets the tbfs dropped (queue full); the configured
	// random loss is applied elsewhere and not counted here.
	Drops int64 `json:"tbfDrops"`
}

// tbfSample is one reading of a tbf's counters.
type tbfSample struct {
	at      time.Time
	sent    int64 // bytes
	dropped int64
	backlog int64 // bytes
}

var (
	tbfSent    = regexp.MustCompile(`Sent (\d+) bytes \d+ pkt \(dropped (\d+)`)
	tbfBacklog = regexp.MustCompile(`backlog (\d+)([KM]?)b`)
)

// parseTBF reads the tbf's counters from `tc -s qdisc show dev eth0`.
func parseTBF(out string) (tbfSample, bool) {
	i := strings.Index(out, "qdisc tbf")
	if i < 0 {
		return tbfSample{}, false
	}
	rest := out[i:]
	if j := strings.Index(rest[1:], "qdisc "); j >= 0 {
		rest = rest[:j+1]
	}
	m := tbfSent.FindStringSubmatch(rest)
	b := tbfBacklog.FindStringSubmatch(rest)
	if m == nil || b == nil {
		return tbfSample{}, false
	}
	s := tbfSample{}
	s.sent, _ = strconv.ParseInt(m[1], 10, 64)
	s.dropped, _ = strconv.ParseInt(m[2], 10, 64)
	s.backlog, _ = strconv.ParseInt(b[1], 10, 64)
	switch b[2] {
	case "K":
		s.backlog <<= 10
	case "M":
		s.backlog <<= 20
	}
	return s, true
}

// sampleUplinks reads the tbf of every namespace in nss until ctx ends and
// returns the samples per namespace.
func sampleUplinks(ctx context.Context, nss []string) map[string][]tbfSample {
	out := make(map[string][]tbfSample, len(nss))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ns := range nss {
		wg.Go(func() {
			tick := time.NewTicker(uplinkSampleEvery)
			defer tick.Stop()
			for {
				b, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "tc", "-s", "qdisc", "show", "dev", "eth0").Output()
				if s, ok := parseTBF(string(b)); err == nil && ok {
					s.at = time.Now()
					mu.Lock()
					out[ns] = append(out[ns], s)
					mu.Unlock()
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
	wg.Wait()
	return out
}

// summarizeUplinks turns samples into uplinkStats for uplinks capped at
// capKbit.
func summarizeUplinks(samples map[string][]tbfSample, capKbit float64) uplinkStats {
	const queuedBytes = 2 * 1514
	var st uplinkStats
	var rates []float64
	queued := 0
	for _, ss := range samples {
		for k := 1; k < len(ss); k++ {
			dt := ss[k].at.Sub(ss[k-1].at).Seconds()
			if dt <= 0 {
				continue
			}
			kbit := float64(ss[k].sent-ss[k-1].sent) * 8 / 1000 / dt
			if kbit < capKbit/5 {
				continue
			}
			rates = append(rates, kbit)
			if ss[k].backlog > queuedBytes {
				queued++
			}
		}
		if len(ss) > 0 {
			st.Drops += ss[len(ss)-1].dropped - ss[0].dropped
		}
	}
	st.Windows = len(rates)
	if len(rates) == 0 {
		return st
	}
	slices.Sort(rates)
	st.P50Kbit = medianOf(rates)
	st.P90Kbit = rates[len(rates)*9/10]
	st.Queued = float64(queued) / float64(len(rates))
	return st
}

func TestParseTBF(t *testing.T) {
	// `tc -s qdisc show dev eth0` in a viewer namespace: the htb above the
	// tbf has its own counters, which must not be read.
	const out = `qdisc htb 1: root refcnt 3 r2q 10 default 0x1 direct_packets_stat 0 direct_qlen 1000
 Sent 9999999 bytes 7777 pkt (dropped 55, overlimits 0 requeues 0)
 backlog 9Mb 1p requeues 0
qdisc tbf 10: parent 1:1 rate 2580Kbit burst 3224b lat 100ms
 Sent 12601530 bytes 10517 pkt (dropped 115, overlimits 4011 requeues 0)
 backlog 31Kb 21p requeues 0
`
	s, ok := parseTBF(out)
	if !ok || s.sent != 12601530 || s.dropped != 115 || s.backlog != 31<<10 {
		t.Fatalf("parseTBF = %+v, %v", s, ok)
	}
	if _, ok := parseTBF("qdisc noqueue 0: root refcnt 2\n"); ok {
		t.Fatal("parseTBF found a tbf where there is none")
	}
	// Two uplinks capped at 2000 kbit/s, sampled once a second: one sends
	// at 1000 then 1600 kbit/s, the other idles (left out as not sending).
	t0 := time.Now()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	st := summarizeUplinks(map[string][]tbfSample{
		"a": {{at: at(0)}, {at: at(1), sent: 125000}, {at: at(2), sent: 325000, backlog: 20000, dropped: 3}},
		"b": {{at: at(0)}, {at: at(1), sent: 1000}},
	}, 2000)
	if st.Windows != 2 || st.P50Kbit != 1300 || st.P90Kbit != 1600 || st.Queued != 0.5 || st.Drops != 3 {
		t.Fatalf("summarizeUplinks = %+v", st)
	}
}

func TestMedianOf(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{5}, 5},
		{[]float64{550, 317, 356, 327}, 341.5}, // four viewers: between the middle two
		{[]float64{3, 1, 2}, 2},
	} {
		if got := medianOf(c.in); got != c.want {
			t.Errorf("medianOf(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(medianOf(nil)) {
		t.Error("medianOf(nil) is not NaN")
	}
	if got := spread([]float64{4, 1, 2, 3}, "%.1f"); got != "2.5 [1.0..4.0]" {
		t.Errorf("spread = %q", got)
	}
}
