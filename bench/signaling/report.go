//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nearcast/nearcast/signaling/loadtest"
)

// output is the JSON document the bench writes.
type output struct {
	Date     string          `json:"date"`
	Seconds  float64         `json:"seconds"`
	Host     hostInfo        `json:"host"`
	Settings settingsInfo    `json:"settings"`
	Servers  []*serverResult `json:"servers"`
	// RatioResponsesPerCore is nearcast's responses/s per core divided by
	// bittorrent-tracker's.
	RatioResponsesPerCore *float64 `json:"ratio_responses_per_sec_per_core,omitempty"`
}

type hostInfo struct {
	CPUModel   string `json:"cpu_model"`
	CPUs       int    `json:"cpus"`
	Kernel     string `json:"kernel"`
	LoadAvg    string `json:"loadavg_at_start"`
	PortRange  string `json:"ip_local_port_range"`
	FDLimit    uint64 `json:"fd_limit"`
	Go         string `json:"go"`
	Node       string `json:"node,omitempty"`
	ServerCPUs string `json:"server_cpus"`
	BenchCPUs  string `json:"load_generator_cpus"`
}

type settingsInfo struct {
	Conns            int     `json:"conns"`
	Swarms           int     `json:"swarms"`
	Skew             float64 `json:"swarm_skew"`
	Offers           int     `json:"offers_per_announce"`
	SDPBytes         int     `json:"sdp_bytes"`
	Outstanding      int     `json:"peak_outstanding"`
	PhaseSeconds     float64 `json:"phase_seconds"`
	SwitchShare      float64 `json:"switch_share"`
	IdleSteps        []int   `json:"idle_steps"`
	SourceAddrs      int     `json:"source_addrs"`
	SettleSeconds    float64 `json:"settle_seconds"`
	SettleMaxSeconds float64 `json:"settle_max_seconds"`
}

// serverResult is everything measured of one server.
type serverResult struct {
	Name     string        `json:"name"`
	Version  string        `json:"version"`
	Command  []string      `json:"command"`
	Env      []string      `json:"env,omitempty"`
	Peak     *loadResult   `json:"peak"`
	HalfPeak *loadResult   `json:"half_peak"`
	Idle     []*idleResult `json:"idle"`
	StayedUp bool          `json:"stayed_up"`
	Problems []string      `json:"problems,omitempty"`
}

// judge fills StayedUp and Problems: the server stayed up if its process
// outlived every phase, took every connection and dropped none.
func (r *serverResult) judge() {
	r.StayedUp = true
	load := func(phase string, l *loadResult) {
		if l == nil {
			return
		}
		if l.Error != "" {
			r.Problems = append(r.Problems, phase+": "+l.Error)
		}
		rep := l.Report
		switch {
		case rep == nil:
			r.StayedUp = false
		case !l.ServerAliveAfter || rep.Disconnects > 0 || rep.Connected < rep.Conns:
			r.StayedUp = false
			r.Problems = append(r.Problems, fmt.Sprintf("%s: %d of %d connected, %d dropped, server alive %t",
				phase, rep.Connected, rep.Conns, rep.Disconnects, l.ServerAliveAfter))
		}
		if rep != nil && (rep.Failures > 0 || rep.Timeouts > 0 || rep.ProtocolErrors > 0) {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: %d failure replies, %d timeouts, %d protocol errors (%s)",
				phase, rep.Failures, rep.Timeouts, rep.ProtocolErrors, strings.Join(rep.Errors, "; ")))
		}
	}
	load("peak", r.Peak)
	load("half peak", r.HalfPeak)
	for _, s := range r.Idle {
		phase := fmt.Sprintf("idle %d", s.Conns)
		switch {
		case s.Skipped != "":
			r.Problems = append(r.Problems, phase+": skipped: "+s.Skipped)
		case !s.ok():
			r.StayedUp = false
			msg := s.Error
			if rep := s.Report; rep != nil {
				msg = joinText(msg, fmt.Sprintf("%d of %d connected, %d dropped", rep.Connected, rep.Conns, rep.Disconnects))
			}
			r.Problems = append(r.Problems, fmt.Sprintf("%s: %s, server alive %t", phase, msg, s.ServerAlive))
		case !s.LoadedRSS.Stable:
			r.Problems = append(r.Problems, phase+": RSS had not settled when read")
		}
	}
}

func (o *output) ratios() {
	var nc, bt *serverResult
	for _, r := range o.Servers {
		switch r.Name {
		case nearcastName:
			nc = r
		case btName:
			bt = r
		}
	}
	if nc == nil || bt == nil || nc.Peak == nil || bt.Peak == nil || bt.Peak.ResponsesPerCore <= 0 {
		return
	}
	ratio := nc.Peak.ResponsesPerCore / bt.Peak.ResponsesPerCore
	o.RatioResponsesPerCore = &ratio
}

func announceRTT(l *loadResult) loadtest.Latency {
	if l == nil || l.Report == nil {
		return loadtest.Latency{}
	}
	return l.Report.AnnounceRTT
}

func answerRTT(l *loadResult) loadtest.Latency {
	if l == nil || l.Report == nil {
		return loadtest.Latency{}
	}
	return l.Report.AnswerRTT
}

// printTable prints one row per measure and one column per server.
func printTable(w io.Writer, o *output) {
	s := o.Settings
	fmt.Fprintf(w, "\nsignaling servers under the same load, %s\n", o.Date)
	fmt.Fprintf(w, "host: %s, %d CPUs, load %s; servers pinned to CPU %s, load generator to CPU %s\n",
		o.Host.CPUModel, o.Host.CPUs, o.Host.LoadAvg, orDash(o.Host.ServerCPUs), o.Host.BenchCPUs)
	fmt.Fprintf(w, "peak: closed loop, %d announces in flight; half peak: open loop at half the peak announce rate;\n", s.Outstanding)
	fmt.Fprintf(w, "both: %d connections over %d swarms (Zipf %.1f), %d offers of %d B per announce, %.0f s measured\n\n",
		s.Conns, s.Swarms, s.Skew, s.Offers, s.SDPBytes, s.PhaseSeconds)

	const label, col = 50, 20
	header := fmt.Sprintf("%-*s", label, "measure")
	for _, r := range o.Servers {
		header += fmt.Sprintf("%*s", col, r.Name)
	}
	if o.RatioResponsesPerCore != nil {
		header += fmt.Sprintf("%*s", 14, "nearcast/bt")
	}
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, strings.Repeat("-", len(header)))
	row := func(name string, cell func(r *serverResult) string, ratio string) {
		line := fmt.Sprintf("%-*s", label, name)
		for _, r := range o.Servers {
			line += fmt.Sprintf("%*s", col, cell(r))
		}
		if ratio != "" {
			line += fmt.Sprintf("%*s", 14, ratio)
		}
		fmt.Fprintln(w, line)
	}
	peak := func(f func(l *loadResult) string) func(r *serverResult) string {
		return func(r *serverResult) string {
			if r.Peak == nil || r.Peak.Report == nil {
				return "-"
			}
			return f(r.Peak)
		}
	}
	half := func(f func(l *loadResult) string) func(r *serverResult) string {
		return func(r *serverResult) string {
			if r.HalfPeak == nil || r.HalfPeak.Report == nil {
				return "-"
			}
			return f(r.HalfPeak)
		}
	}
	pair := func(l loadtest.Latency) string {
		if l.N == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f / %.2f", l.P50Ms, l.P99Ms)
	}
	ratio := ""
	if o.RatioResponsesPerCore != nil {
		ratio = fmt.Sprintf("%.2fx", *o.RatioResponsesPerCore)
	}

	row("peak: messages received/s (all kinds)", peak(func(l *loadResult) string { return fmt.Sprintf("%.0f", l.ResponsesPerSec) }), "")
	for _, kind := range []string{"announce", "offer", "answer", "failure"} {
		row("  "+kind+"/s", peak(func(l *loadResult) string { return fmt.Sprintf("%.0f", l.Report.PerSec[kind]) }), "")
	}
	row("peak: server CPU cores used", peak(func(l *loadResult) string { return fmt.Sprintf("%.2f", l.ServerCores) }), "")
	row("peak: load generator CPU cores used", peak(func(l *loadResult) string { return fmt.Sprintf("%.2f", l.GeneratorCores) }), "")
	row("peak: server's CPU busy (any cause)", peak(func(l *loadResult) string { return percent(l.ServerCPUBusy) }), "")
	row("peak: load generator's CPU busy (any cause)", peak(func(l *loadResult) string { return percent(l.GeneratorCPUBusy) }), "")
	row("peak: responses/s per core", peak(func(l *loadResult) string { return fmt.Sprintf("%.0f", l.ResponsesPerCore) }), ratio)
	row("peak: announce RTT p50 / p99 (ms)", peak(func(l *loadResult) string { return pair(l.Report.AnnounceRTT) }), "")
	row("peak: CPU us per message (in + out)", peak(func(l *loadResult) string { return fmt.Sprintf("%.1f", l.CPUMicrosPerMsg) }), "")
	row("half peak: announces/s (target)", half(func(l *loadResult) string {
		return fmt.Sprintf("%.0f (%.0f)", l.AnnouncesPerSec, l.TargetAnnounceRate)
	}), "")
	row("half peak: announce RTT p50 / p99 (ms)", half(func(l *loadResult) string { return pair(l.Report.AnnounceRTT) }), "")
	row("half peak: answer RTT p50 / p99 (ms)", half(func(l *loadResult) string { return pair(l.Report.AnswerRTT) }), "")
	row("half peak: server CPU cores used", half(func(l *loadResult) string { return fmt.Sprintf("%.2f", l.ServerCores) }), "")
	row("half peak: load generator CPU cores used", half(func(l *loadResult) string { return fmt.Sprintf("%.2f", l.GeneratorCores) }), "")
	row("half peak: server's CPU busy (any cause)", half(func(l *loadResult) string { return percent(l.ServerCPUBusy) }), "")
	row("half peak: load generator's CPU busy (any cause)", half(func(l *loadResult) string { return percent(l.GeneratorCPUBusy) }), "")
	for _, n := range s.IdleSteps {
		row(fmt.Sprintf("idle %s: RSS per connection (bytes)", count(n)), func(r *serverResult) string {
			for _, st := range r.Idle {
				if st.Conns != n {
					continue
				}
				switch {
				case st.Skipped != "":
					return "skipped"
				case !st.ok():
					return "failed"
				}
				mark := ""
				if !st.LoadedRSS.Stable {
					mark = "~"
				}
				return fmt.Sprintf("%s%.0f", mark, st.RSSPerConn)
			}
			return "-"
		}, "")
	}
	row("stayed up (alive, no drops)", func(r *serverResult) string {
		if r.StayedUp {
			return "yes"
		}
		return "no"
	}, "")

	if o.RatioResponsesPerCore != nil {
		fmt.Fprintf(w, "\nthroughput per core, nearcast / bittorrent-tracker: %.2fx\n", *o.RatioResponsesPerCore)
	}
	for _, r := range o.Servers {
		for _, p := range r.Problems {
			fmt.Fprintf(w, "note: %s: %s\n", r.Name, p)
		}
	}
}

// count writes 1000 as 1k and 100000 as 100k.
func count(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func percent(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", 100**p)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeJSON(path string, o *output) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
