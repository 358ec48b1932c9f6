//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/nearcast/nearcast/signaling/loadtest"
)

// progressLine matches the generator's progress lines in the measured phase
// ("loadtest closed  12s: conns 2000/2000 | …").
var progressLine = regexp.MustCompile(`^loadtest \S+\s+(\d+)s: conns (\d+)/(\d+)`)

// cpuSample is the server's CPU time read when a progress line arrived.
type cpuSample struct {
	elapsed int // seconds into the measured phase, as the line said
	at      time.Time
	cpu     float64
	selfCPU float64 // the load generator's (this process's) CPU time
	cpus    cpuTimes
}

// watcher is the generator's Progress writer. It forwards the lines (to
// io.Discard unless verbose), samples the server's CPU time at each line of
// the measured phase, and tells when that phase has begun.
type watcher struct {
	out      io.Writer
	pid      int
	label    string
	measured chan struct{} // closed at the first line of the measured phase

	mu      sync.Mutex
	partial []byte
	samples []cpuSample
	seen    bool // a line of the measured phase has arrived
	alive   int  // connections open, per the last line
}

func newWatcher(out io.Writer, pid int, label string) *watcher {
	return &watcher{out: out, pid: pid, label: label, measured: make(chan struct{})}
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		fmt.Fprintf(w.out, "  [%s] %s\n", w.label, line)
		m := progressLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		elapsed, _ := strconv.Atoi(m[1])
		w.alive, _ = strconv.Atoi(m[2])
		cpu, err := cpuSeconds(w.pid)
		self, errSelf := cpuSeconds(os.Getpid())
		cpus, _ := readCPUTimes()
		if err == nil && errSelf == nil {
			w.samples = append(w.samples, cpuSample{elapsed: elapsed, at: time.Now(), cpu: cpu, selfCPU: self, cpus: cpus})
		}
		if !w.seen {
			w.seen = true
			close(w.measured)
		}
	}
	return len(p), nil
}

// window returns the first and last CPU samples taken well inside a measured
// phase of length d: lines that said 1 s to d−1 s (a line's second is
// rounded, so these fall strictly inside the phase).
func (w *watcher) window(d time.Duration) (first, last cpuSample, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	top := int(d/time.Second) - 1
	var in []cpuSample
	for _, s := range w.samples {
		if s.elapsed >= 1 && s.elapsed <= top {
			in = append(in, s)
		}
	}
	if len(in) < 2 {
		return cpuSample{}, cpuSample{}, false
	}
	return in[0], in[len(in)-1], true
}

// loadResult is one loaded phase (peak or half peak) against one server.
type loadResult struct {
	Report *loadtest.Report `json:"report"`
	// ServerCPUSeconds and WallSeconds span the CPU window: from the
	// progress line at 1 s into the measured phase to the one a second
	// before its end, or, if those lines are missing, the whole run
	// (ramp and drain included).
	ServerCPUSeconds  float64 `json:"server_cpu_seconds"`
	WallSeconds       float64 `json:"wall_seconds"`
	WindowInsidePhase bool    `json:"window_inside_phase"`
	ServerCores       float64 `json:"server_cores"`
	// GeneratorCores is the load generator's CPU use over the same window:
	// near 1 (its one CPU) it, not the server, set the pace.
	GeneratorCores float64 `json:"load_generator_cores"`
	// ServerCPUBusy and GeneratorCPUBusy are the shares of time the CPUs
	// the server and the generator were pinned to were busy over the same
	// window, whoever kept them so: the process, other processes, or the
	// kernel (loopback TCP is largely softirq time, charged to no process).
	ServerCPUBusy      *float64 `json:"server_cpu_busy,omitempty"`
	GeneratorCPUBusy   *float64 `json:"load_generator_cpu_busy,omitempty"`
	ResponsesPerSec    float64  `json:"responses_per_sec"`
	ResponsesPerCore   float64  `json:"responses_per_sec_per_core"`
	MessagesInPerSec   float64  `json:"messages_in_per_sec"`
	MessagesOutPerSec  float64  `json:"messages_out_per_sec"`
	CPUMicrosPerMsg    float64  `json:"cpu_us_per_message"`
	AnnouncesPerSec    float64  `json:"announces_per_sec"`
	TargetAnnounceRate float64  `json:"target_announce_rate,omitempty"`
	ServerAliveAfter   bool     `json:"server_alive_after"`
	Error              string   `json:"error,omitempty"`
}

// runLoad runs the generator against srv with cfg and measures the
// server's CPU time over the measured phase.
func runLoad(ctx context.Context, srv *server, cfg loadtest.Config, serverCPUs string, progress io.Writer, label string) *loadResult {
	w := newWatcher(progress, srv.pid, label)
	cfg.URL = srv.wsURL
	cfg.Progress = w
	res := &loadResult{TargetAnnounceRate: cfg.Rate}
	cpu0, err0 := cpuSeconds(srv.pid)
	t0 := time.Now()
	rep, err := loadtest.Run(ctx, cfg)
	t1 := time.Now()
	cpu1, err1 := cpuSeconds(srv.pid)
	res.Report = rep
	res.ServerAliveAfter = srv.alive()
	if err != nil {
		res.Error = err.Error()
	}
	if !res.ServerAliveAfter {
		res.Error = joinText(res.Error, srv.name+" "+srv.exitReason())
	}
	if rep == nil {
		return res
	}
	if first, last, ok := w.window(cfg.Duration); ok {
		res.ServerCPUSeconds = last.cpu - first.cpu
		res.WallSeconds = last.at.Sub(first.at).Seconds()
		res.WindowInsidePhase = true
		res.GeneratorCores = (last.selfCPU - first.selfCPU) / max(res.WallSeconds, 1e-3)
		if b := busy(first.cpus, last.cpus, parseCPUList(serverCPUs)); b >= 0 {
			res.ServerCPUBusy = &b
		}
		if b := busy(first.cpus, last.cpus, parseCPUList(allowedCPUs())); b >= 0 {
			res.GeneratorCPUBusy = &b
		}
	} else if err0 == nil && err1 == nil {
		res.ServerCPUSeconds = cpu1 - cpu0
		res.WallSeconds = t1.Sub(t0).Seconds()
	}
	if res.WallSeconds > 0 {
		res.ServerCores = res.ServerCPUSeconds / res.WallSeconds
	}
	res.ResponsesPerSec = rep.ResponsesPerSec
	res.AnnouncesPerSec = rep.SentPerSec["announce"]
	for _, v := range rep.SentPerSec {
		res.MessagesInPerSec += v
	}
	for _, v := range rep.PerSec {
		res.MessagesOutPerSec += v
	}
	if res.ServerCores > 0 {
		res.ResponsesPerCore = res.ResponsesPerSec / res.ServerCores
	}
	if msgs := res.MessagesInPerSec + res.MessagesOutPerSec; msgs > 0 {
		res.CPUMicrosPerMsg = res.ServerCores * 1e6 / msgs
	}
	return res
}

// idleResult is one memory step: n idle connections to a fresh server.
type idleResult struct {
	Conns       int     `json:"conns"`
	BaselineRSS settled `json:"baseline"`
	LoadedRSS   settled `json:"loaded"`
	// RSSPerConn is (loaded RSS − baseline RSS) / connections open.
	RSSPerConn float64 `json:"rss_per_conn_bytes"`
	// ServerFDs counts the server's open descriptors with the connections
	// up, BaselineFDs before; their difference is the sockets it holds.
	BaselineFDs int `json:"baseline_fds"`
	ServerFDs   int `json:"server_fds"`
	// NearcastConns and HeapInuse come from nearcast's /metrics.
	NearcastConns    *float64         `json:"nearcast_connections,omitempty"`
	HeapInusePerConn *float64         `json:"go_heap_inuse_per_conn_bytes,omitempty"`
	OpenConns        int              `json:"open_conns"`
	RampSeconds      float64          `json:"ramp_seconds"`
	ServerAlive      bool             `json:"server_alive"`
	Report           *loadtest.Report `json:"report,omitempty"`
	Skipped          string           `json:"skipped,omitempty"`
	Error            string           `json:"error,omitempty"`
}

// ok reports whether the step measured what it should have: every
// connection up, none dropped, the server alive.
func (r *idleResult) ok() bool {
	return r.Skipped == "" && r.Error == "" && r.ServerAlive && r.Report != nil &&
		r.Report.Connected == r.Conns && r.Report.Disconnects == 0
}

// idleSettings are the knobs of a memory step.
type idleSettings struct {
	swarms      int
	localAddrs  []string
	rampTimeout time.Duration
	settle      time.Duration // how long the RSS must hold still
	settleMax   time.Duration // how long to wait for that
	cpus        string
}

// idleStep starts a fresh server, reads its RSS, opens n idle connections,
// reads its RSS again once settled, and stops both.
func idleStep(ctx context.Context, t target, n int, set idleSettings, progress io.Writer) (res *idleResult) {
	res = &idleResult{Conns: n}
	srv, err := t.start(ctx, set.cpus)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer srv.stop()
	if res.BaselineRSS, err = settleRSS(ctx, srv.pid, time.Second, 5*time.Second); err != nil {
		res.Error = err.Error()
		return res
	}
	res.BaselineFDs, _ = fdCount(srv.pid)
	_, heap0, hasGauges, _ := srv.nearcastGauges(ctx)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := newWatcher(progress, srv.pid, fmt.Sprintf("%s idle %d", t.name, n))
	cfg := loadtest.Config{
		URL: srv.wsURL, Conns: n, Swarms: set.swarms, Idle: true, LocalAddrs: set.localAddrs,
		Duration: loadtest.MaxDuration, // ended by cancel once measured
		Progress: w,
	}
	type outcome struct {
		rep *loadtest.Report
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		rep, err := loadtest.Run(runCtx, cfg)
		done <- outcome{rep, err}
	}()
	// finish cancels the generator and collects its report, boundedly.
	finish := func() {
		cancel()
		t := time.NewTimer(time.Minute)
		defer t.Stop()
		select {
		case o := <-done:
			res.Report = o.rep
			if o.err != nil && !errors.Is(o.err, context.Canceled) {
				res.Error = joinText(res.Error, o.err.Error())
			}
		case <-t.C:
			res.Error = joinText(res.Error, "load generator did not stop within a minute")
		}
		if res.Report != nil {
			res.RampSeconds = res.Report.RampSeconds
		}
	}

	// The connections are up once the generator's measured phase begins
	// (it waits for every join to be answered). Should its progress lines
	// not say so, the server's descriptor count tells, a little later.
	ramp := time.NewTimer(set.rampTimeout)
	defer ramp.Stop()
	poll := time.NewTicker(500 * time.Millisecond)
	defer poll.Stop()
	var fdsUpAt time.Time
wait:
	for {
		select {
		case <-w.measured:
			break wait
		case <-poll.C:
			if fdsUpAt.IsZero() {
				if fds, err := fdCount(srv.pid); err == nil && fds-res.BaselineFDs >= n {
					fdsUpAt = time.Now()
				}
			} else if time.Since(fdsUpAt) >= 5*time.Second {
				break wait
			}
		case o := <-done:
			done <- o // for finish
			res.Error = "load generator ended before its connections were up"
			finish()
			res.ServerAlive = srv.alive()
			return res
		case <-ramp.C:
			res.Error = fmt.Sprintf("connections not up after %v", set.rampTimeout)
			finish()
			res.ServerAlive = srv.alive()
			return res
		case <-ctx.Done():
			res.Error = ctx.Err().Error()
			finish()
			return res
		}
	}
	res.LoadedRSS, err = settleRSS(ctx, srv.pid, set.settle, set.settleMax)
	if err != nil {
		res.Error = err.Error()
	}
	res.ServerFDs, _ = fdCount(srv.pid)
	if hasGauges {
		if conns, heap, ok, err := srv.nearcastGauges(ctx); err == nil && ok {
			res.NearcastConns = &conns
			if conns > 0 {
				per := (heap - heap0) / conns
				res.HeapInusePerConn = &per
			}
		}
	}
	res.ServerAlive = srv.alive()
	finish()
	if r := res.Report; r != nil {
		res.OpenConns = r.Connected - r.Disconnects // as measured: drops before the end count
	} else {
		w.mu.Lock()
		res.OpenConns = w.alive
		w.mu.Unlock()
	}
	if !res.ServerAlive {
		res.Error = joinText(res.Error, srv.name+" "+srv.exitReason())
	}
	if res.OpenConns > 0 && res.Error == "" {
		res.RSSPerConn = float64(res.LoadedRSS.RSS-res.BaselineRSS.RSS) / float64(res.OpenConns)
	}
	return res
}

func joinText(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
