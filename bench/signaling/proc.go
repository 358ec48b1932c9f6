//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat: 100
// on every Linux architecture's user ABI.
const clockTicks = 100

// cpuSeconds returns the user plus system CPU time of process pid, all its
// threads included (/proc/<pid>/stat fields 14 and 15).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return float64(utime+stime) / clockTicks, nil
}

// rssBytes returns the resident set size of process pid (VmRSS).
func rssBytes(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// fdCount returns the number of open file descriptors of process pid.
func fdCount(pid int) (int, error) {
	d, err := os.Open("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	n := 0
	for {
		names, err := d.Readdirnames(4096)
		n += len(names)
		if err != nil || len(names) == 0 {
			return n, nil
		}
	}
}

// settled is a resident set size read once it stopped changing.
type settled struct {
	RSS int64 `json:"rss_bytes"`
	// Stable is false when the RSS still moved when the wait ran out; RSS is
	// then the last sample.
	Stable  bool    `json:"stable"`
	Seconds float64 `json:"settle_seconds"`
}

// settleRSS samples process pid's RSS every 200 ms until the samples of the
// last window stay within 1 % (at least 512 KiB) of each other, at most
// limit, and returns the last sample.
func settleRSS(ctx context.Context, pid int, window, limit time.Duration) (settled, error) {
	type sample struct {
		at  time.Time
		rss int64
	}
	start := time.Now()
	var samples []sample
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		rss, err := rssBytes(pid)
		if err != nil {
			return settled{}, fmt.Errorf("reading the server's RSS: %w", err)
		}
		now := time.Now()
		samples = append(samples, sample{now, rss})
		for len(samples) > 1 && now.Sub(samples[1].at) >= window {
			samples = samples[1:]
		}
		if now.Sub(samples[0].at) >= window {
			lo, hi := rss, rss
			for _, s := range samples {
				lo, hi = min(lo, s.rss), max(hi, s.rss)
			}
			if hi-lo <= max(hi/100, 512<<10) {
				return settled{RSS: rss, Stable: true, Seconds: now.Sub(start).Seconds()}, nil
			}
		}
		if now.Sub(start) >= limit {
			return settled{RSS: rss, Seconds: now.Sub(start).Seconds()}, nil
		}
		select {
		case <-ctx.Done():
			return settled{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// readTrim returns a small text file's content without surrounding space,
// or "" when it cannot be read.
func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// cpuModel returns the first "model name" of /proc/cpuinfo and the number of
// processors listed there (runtime.NumCPU counts only those this process
// may run on).
func cpuModel() (string, int) {
	model, n := "", 0
	for line := range strings.SplitSeq(readTrim("/proc/cpuinfo"), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "processor":
			n++
		case "model name":
			if model == "" {
				model = strings.TrimSpace(v)
			}
		}
	}
	return model, n
}

// cpuTimes holds each CPU's busy and total time from /proc/stat, in ticks.
type cpuTimes map[int][2]int64

// readCPUTimes reads /proc/stat's per-CPU lines. Busy is everything but idle
// and iowait: user, nice, system, irq, softirq, steal.
func readCPUTimes() (cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	t := cpuTimes{}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil {
			continue
		}
		var busy, total int64
		for i, s := range f[1:9] { // user nice system idle iowait irq softirq steal
			v, _ := strconv.ParseInt(s, 10, 64)
			total += v
			if i != 3 && i != 4 {
				busy += v
			}
		}
		t[n] = [2]int64{busy, total}
	}
	return t, nil
}

// busy returns the share of time the CPUs in list were busy between a and
// b, averaged over them, or -1 if none is known.
func busy(a, b cpuTimes, list []int) float64 {
	var db, dt int64
	for _, c := range list {
		x, ok1 := a[c]
		y, ok2 := b[c]
		if ok1 && ok2 {
			db += y[0] - x[0]
			dt += y[1] - x[1]
		}
	}
	if dt <= 0 {
		return -1
	}
	return float64(db) / float64(dt)
}

// parseCPUList parses a CPU list such as "0", "0-3" or "0,2-3".
func parseCPUList(s string) []int {
	var cpus []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 4096 {
				continue
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// allowedCPUs returns the CPUs this process may run on.
func allowedCPUs() string {
	for line := range strings.SplitSeq(readTrim("/proc/self/status"), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
