//go:build linux

package main

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nearcast/nearcast/signaling/loadtest"
)

// wantFDs is the descriptor limit asked for: the largest memory step's
// connections, on each side, with room to spare.
const wantFDs = 250000

// options are the command-line flags.
type options struct {
	nearcast, node, btScript string
	servers                  []string
	conns, swarms            int
	offers, sdpBytes         int
	outstanding              int
	phase                    time.Duration
	idleSteps                []int
	sourceAddrs              int
	serverCPUs               string
	settle, settleMax        time.Duration
	out                      string
	timeout                  time.Duration
	verbose                  bool
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "signaling bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	err = run(ctx, o)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "signaling bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("bench-signaling", flag.ContinueOnError)
	o := &options{}
	var servers, steps string
	quick := fs.Bool("quick", false, "a short run: 500 connections, 5 s phases, 1k and 5k idle steps (flags given explicitly still win)")
	fs.StringVar(&o.nearcast, "nearcast", "bin/nearcast", "nearcast binary")
	fs.StringVar(&o.node, "node", "node", "Node.js binary for bittorrent-tracker")
	fs.StringVar(&o.btScript, "bt-tracker", "e2e/tools/bt-tracker.mjs", "script running npm bittorrent-tracker's server")
	fs.StringVar(&servers, "servers", nearcastName+","+btName, "servers to measure, comma-separated")
	fs.IntVar(&o.conns, "conns", 2000, "connections in the peak and half-peak phases")
	fs.IntVar(&o.swarms, "swarms", 100, "swarms the connections spread over (Zipf)")
	fs.IntVar(&o.offers, "offers", 5, "offers per announce")
	fs.IntVar(&o.sdpBytes, "sdp-bytes", 1300, "SDP bytes per offer and answer")
	fs.IntVar(&o.outstanding, "outstanding", 256, "announces in flight in the peak phase (closed loop)")
	fs.DurationVar(&o.phase, "phase", 20*time.Second, "measured length of the peak and half-peak phases")
	fs.StringVar(&steps, "idle-steps", "1000,10000,50000,100000", "idle connection counts of the memory steps, comma-separated")
	fs.IntVar(&o.sourceAddrs, "source-addrs", 16, "loopback source addresses to dial from (127.0.0.1 to 127.0.0.N)")
	fs.StringVar(&o.serverCPUs, "server-cpus", "0", "CPU list the servers are pinned to with taskset (empty: no pinning)")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "how long a server's RSS must hold still before it is read")
	fs.DurationVar(&o.settleMax, "settle-max", 20*time.Second, "longest wait for a server's RSS to settle")
	fs.StringVar(&o.out, "out", "out/bench/signaling.json", "JSON output file")
	fs.DurationVar(&o.timeout, "timeout", 12*time.Minute, "time budget of the whole run; larger idle steps are skipped when it runs short")
	fs.BoolVar(&o.verbose, "v", false, "echo the load generator's progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		quickly := map[string]string{"conns": "500", "phase": "5s", "idle-steps": "1000,5000", "outstanding": "128", "timeout": "4m"}
		for name, v := range quickly {
			if !set[name] {
				_ = fs.Set(name, v)
			}
		}
	}
	for s := range strings.SplitSeq(servers, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case nearcastName, btName:
			if !slices.Contains(o.servers, s) {
				o.servers = append(o.servers, s)
			}
		case "":
		default:
			return nil, fmt.Errorf("--servers: unknown server %q (want %s or %s)", s, nearcastName, btName)
		}
	}
	for s := range strings.SplitSeq(steps, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > loadtest.MaxConns {
			return nil, fmt.Errorf("--idle-steps: %q is not a count in 1..%d", s, loadtest.MaxConns)
		}
		o.idleSteps = append(o.idleSteps, n)
	}
	slices.Sort(o.idleSteps)
	o.idleSteps = slices.Compact(o.idleSteps)
	switch {
	case len(o.servers) == 0:
		return nil, errors.New("--servers: none given")
	case o.conns < 1 || o.conns > loadtest.MaxConns:
		return nil, fmt.Errorf("--conns: %d is outside 1..%d", o.conns, loadtest.MaxConns)
	case o.outstanding < 1 || o.outstanding > o.conns:
		return nil, fmt.Errorf("--outstanding: %d is outside 1..--conns", o.outstanding)
	case o.phase < 3*time.Second || o.phase > 10*time.Minute:
		return nil, fmt.Errorf("--phase: %v is outside 3s..10m", o.phase)
	case o.sourceAddrs < 1 || o.sourceAddrs > 250:
		return nil, fmt.Errorf("--source-addrs: %d is outside 1..250", o.sourceAddrs)
	case o.settle <= 0 || o.settleMax < o.settle || o.settleMax > 5*time.Minute:
		return nil, errors.New("--settle and --settle-max: want 0 < settle <= settle-max <= 5m")
	case o.timeout <= 0 || o.timeout > 2*time.Hour:
		return nil, fmt.Errorf("--timeout: %v is outside (0, 2h]", o.timeout)
	}
	return o, nil
}

// localAddrs returns 127.0.0.1 to 127.0.0.n.
func (o *options) localAddrs() []string {
	addrs := make([]string, o.sourceAddrs)
	for i := range addrs {
		addrs[i] = "127.0.0." + strconv.Itoa(i+1)
	}
	return addrs
}

func (o *options) targets() []target {
	var ts []target
	for _, name := range o.servers {
		switch name {
		case nearcastName:
			t := nearcastTarget(o.nearcast)
			t.version = goBinaryVersion(o.nearcast)
			ts = append(ts, t)
		case btName:
			t := btTarget(o.node, o.btScript)
			t.version = npmVersion(filepath.Join(filepath.Dir(o.btScript), "..", "node_modules", "bittorrent-tracker", "package.json"))
			ts = append(ts, t)
		}
	}
	return ts
}

func run(ctx context.Context, o *options) error {
	began := time.Now()
	if err := preflight(o); err != nil {
		return err
	}
	fdLimit := raiseFDLimit()
	progress := io.Discard
	if o.verbose {
		progress = os.Stderr
	}
	out := &output{
		Date:     began.UTC().Format(time.RFC3339),
		Host:     describeHost(o, fdLimit),
		Settings: describeSettings(o),
	}
	targets := o.targets()
	results := map[string]*serverResult{}
	for _, t := range targets {
		r := &serverResult{Name: t.name, Version: t.version, Command: t.argv, Env: t.env}
		results[t.name] = r
		out.Servers = append(out.Servers, r)
	}

	// Throughput and latency: one server process per server for both phases.
	for _, t := range targets {
		if ctx.Err() != nil {
			break
		}
		logf("%s: peak (%d conns, %d outstanding, %v) and half peak", t.name, o.conns, o.outstanding, o.phase)
		throughput(ctx, o, t, results[t.name], progress)
	}

	// Memory: a fresh server process per step; the larger steps last, so
	// that a short budget cuts only those.
	set := idleSettings{swarms: o.swarms, localAddrs: o.localAddrs(), settle: o.settle, settleMax: o.settleMax, cpus: o.serverCPUs}
	for _, n := range o.idleSteps {
		for _, t := range targets {
			r := results[t.name]
			if skip := skipReason(ctx, r, n, fdLimit); skip != "" {
				logf("%s: %d idle connections: skipped (%s)", t.name, n, skip)
				r.Idle = append(r.Idle, &idleResult{Conns: n, Skipped: skip})
				continue
			}
			logf("%s: %d idle connections", t.name, n)
			set.rampTimeout = time.Minute + time.Duration(n)*time.Millisecond
			step := idleStep(ctx, t, n, set, progress)
			if step.Error != "" {
				logf("%s: %d idle connections: %s", t.name, n, step.Error)
			}
			r.Idle = append(r.Idle, step)
		}
	}

	for _, r := range out.Servers {
		r.judge()
	}
	out.ratios()
	out.Seconds = time.Since(began).Seconds()
	printTable(os.Stdout, out)
	if err := writeJSON(o.out, out); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s\n", o.out)
	return ctx.Err()
}

// throughput measures the peak and half-peak phases against one server.
func throughput(ctx context.Context, o *options, t target, r *serverResult, progress io.Writer) {
	srv, err := t.start(ctx, o.serverCPUs)
	if err != nil {
		r.Peak = &loadResult{Error: err.Error()}
		return
	}
	defer func() { srv.stop() }()
	cfg := loadtest.Config{
		Conns: o.conns, Swarms: o.swarms, Offers: o.offers, SDPBytes: o.sdpBytes,
		Outstanding: o.outstanding, Duration: o.phase, LocalAddrs: o.localAddrs(),
	}
	r.Peak = runLoad(ctx, srv, cfg, o.serverCPUs, progress, t.name+" peak")
	logf("%s: peak %.0f responses/s on %.2f cores, announce p99 %.2f ms", t.name,
		r.Peak.ResponsesPerSec, r.Peak.ServerCores, announceRTT(r.Peak).P99Ms)
	if r.Peak.AnnouncesPerSec <= 0 || ctx.Err() != nil {
		return
	}
	if !srv.alive() {
		// Measure the latency all the same, on a fresh process; the loss
		// is on record in the peak phase.
		if srv, err = t.start(ctx, o.serverCPUs); err != nil {
			r.HalfPeak = &loadResult{Error: err.Error()}
			return
		}
	}
	cfg.Outstanding = 0
	cfg.Rate = r.Peak.AnnouncesPerSec / 2
	r.HalfPeak = runLoad(ctx, srv, cfg, o.serverCPUs, progress, t.name+" half peak")
	logf("%s: half peak (%.0f announces/s) announce p99 %.2f ms, answer p99 %.2f ms", t.name,
		cfg.Rate, announceRTT(r.HalfPeak).P99Ms, answerRTT(r.HalfPeak).P99Ms)
}

// skipReason says why the memory step of n connections is not run for r,
// or "" to run it.
func skipReason(ctx context.Context, r *serverResult, n int, fdLimit uint64) string {
	if ctx.Err() != nil {
		return "time budget spent"
	}
	for _, s := range r.Idle {
		if s.Skipped == "" && !s.ok() {
			return fmt.Sprintf("the %d-connection step failed", s.Conns)
		}
	}
	if fdLimit > 0 && uint64(n)+1000 > fdLimit {
		return fmt.Sprintf("descriptor limit %d", fdLimit)
	}
	// About 20 s for a server's start and the settling, and 1 ms per
	// connection for the ramp and the close.
	need := 20*time.Second + time.Duration(n)*time.Millisecond
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < need {
		return "time budget"
	}
	return ""
}

// preflight checks that what the servers need is there.
func preflight(o *options) error {
	var errs []error
	for _, name := range o.servers {
		switch name {
		case nearcastName:
			if _, err := os.Stat(o.nearcast); err != nil {
				errs = append(errs, fmt.Errorf("nearcast binary: %w (make build)", err))
			}
		case btName:
			if _, err := exec.LookPath(o.node); err != nil {
				errs = append(errs, fmt.Errorf("node: %w", err))
			}
			if _, err := os.Stat(o.btScript); err != nil {
				errs = append(errs, fmt.Errorf("bittorrent-tracker script: %w", err))
			}
		}
	}
	if o.serverCPUs != "" {
		if _, err := exec.LookPath("taskset"); err != nil {
			errs = append(errs, fmt.Errorf("taskset (util-linux) pins the servers: %w; or pass --server-cpus ''", err))
		}
	}
	return errors.Join(errs...)
}

// raiseFDLimit raises the descriptor limit to wantFDs where allowed (the
// hard limit too, as root), else to the hard limit, for this process and
// the servers it starts, and returns the limit in force.
func raiseFDLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Max < wantFDs {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: wantFDs, Max: wantFDs}); err == nil {
			return wantFDs
		}
	}
	// Setting it explicitly also hands it to child processes.
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: lim.Max, Max: lim.Max})
	return lim.Max
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// goBinaryVersion describes a Go binary by its module version and VCS
// revision.
func goBinaryVersion(path string) string {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return ""
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value[:min(12, len(s.Value))]
		case "vcs.modified":
			if s.Value == "true" {
				v += "+dirty"
			}
		}
	}
	return v + " (" + info.GoVersion + ")"
}

// npmVersion returns the "version" of a package.json, or "".
func npmVersion(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var p struct{ Version string }
	if json.Unmarshal(b, &p) != nil {
		return ""
	}
	return p.Version
}

func describeHost(o *options, fdLimit uint64) hostInfo {
	model, cpus := cpuModel()
	h := hostInfo{
		CPUModel: model, CPUs: cpus, Kernel: readTrim("/proc/sys/kernel/osrelease"),
		LoadAvg: readTrim("/proc/loadavg"), PortRange: readTrim("/proc/sys/net/ipv4/ip_local_port_range"),
		FDLimit: fdLimit, Go: runtime.Version(),
	}
	if slices.Contains(o.servers, btName) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if b, err := exec.CommandContext(ctx, o.node, "--version").Output(); err == nil {
			h.Node = strings.TrimSpace(string(b))
		}
	}
	h.BenchCPUs = allowedCPUs()
	h.ServerCPUs = o.serverCPUs
	return h
}

func describeSettings(o *options) settingsInfo {
	return settingsInfo{
		Conns: o.conns, Swarms: o.swarms, Skew: loadtest.DefaultSkew, Offers: o.offers, SDPBytes: o.sdpBytes,
		Outstanding: o.outstanding, PhaseSeconds: o.phase.Seconds(), SwitchShare: loadtest.DefaultSwitchShare,
		IdleSteps: o.idleSteps, SourceAddrs: o.sourceAddrs,
		SettleSeconds: o.settle.Seconds(), SettleMaxSeconds: o.settleMax.Seconds(),
	}
}
