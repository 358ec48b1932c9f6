package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/nearcast/nearcast/signaling/loadtest"
)

// loadtestConfig holds the flags of 'nearcast loadtest'.
type loadtestConfig struct {
	url                string
	conns              int
	swarms             int
	skew               float64
	offers             int
	sdpBytes           int
	interval           time.Duration
	rate               float64
	outstanding        int
	switchShare        float64
	duration           time.Duration
	connectConcurrency int
	idle               bool
	localAddrs         string
	jsonPath           string
	quiet              bool
}

func (c *loadtestConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", "ws://127.0.0.1:8080/announce", "WebSocket URL of the tracker to load (one you run, normally on loopback)")
	fs.IntVar(&c.conns, "conns", 1000, fmt.Sprintf("connections, one simulated viewer each (1..%d)", loadtest.MaxConns))
	fs.IntVar(&c.swarms, "swarms", loadtest.DefaultSwarms, "swarms the viewers spread over; swarms 2k and 2k+1 are two renditions of one stream")
	fs.Float64Var(&c.skew, "skew", loadtest.DefaultSkew, "Zipf exponent of swarm popularity (greater than 1)")
	fs.IntVar(&c.offers, "offers", loadtest.DefaultOffers, fmt.Sprintf("offers per announce (0..%d)", loadtest.MaxOffers))
	fs.IntVar(&c.sdpBytes, "sdp-bytes", loadtest.DefaultSDPBytes, fmt.Sprintf("bytes of each offer's and answer's SDP (%d..%d)", loadtest.MinSDPBytes, loadtest.MaxSDPBytes))
	fs.DurationVar(&c.interval, "interval", loadtest.DefaultInterval, "open loop: each connection re-announces this often")
	fs.Float64Var(&c.rate, "rate", 0, "open loop: total announces per second over all connections (overrides --interval; 0: use --interval)")
	fs.IntVar(&c.outstanding, "outstanding", 0, "closed loop: announces kept awaiting their response, at most one per connection (overrides --rate and --interval; 0: open loop)")
	fs.Float64Var(&c.switchShare, "switch-share", loadtest.DefaultSwitchShare, "fraction of connections that switch to the sibling swarm once (0..1)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, fmt.Sprintf("length of the measured phase, once all connections are up (at most %v)", loadtest.MaxDuration))
	fs.IntVar(&c.connectConcurrency, "connect-concurrency", loadtest.DefaultConnectConcurrency, "dials in flight while ramping up")
	fs.BoolVar(&c.idle, "idle", false, "idle mode: announce once without offers, then stay silent for --duration")
	fs.StringVar(&c.localAddrs, "local-addrs", "", "comma-separated source IPs to spread the connections over (such as 127.0.0.1,127.0.0.2), for more than about 28000 connections")
	fs.StringVar(&c.jsonPath, "json", "", "also write the report as JSON to this file")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress lines on stderr")
}

// config turns the flags into a loadtest.Config. On the command line 0
// offers and a 0 switch share mean none.
func (c *loadtestConfig) config(progress io.Writer) loadtest.Config {
	cfg := loadtest.Config{
		URL:                c.url,
		Conns:              c.conns,
		Swarms:             c.swarms,
		Skew:               c.skew,
		Offers:             c.offers,
		SDPBytes:           c.sdpBytes,
		Interval:           c.interval,
		Rate:               c.rate,
		Outstanding:        c.outstanding,
		SwitchShare:        c.switchShare,
		Duration:           c.duration,
		ConnectConcurrency: c.connectConcurrency,
		Idle:               c.idle,
		LocalAddrs:         splitList(c.localAddrs),
	}
	if cfg.Offers == 0 {
		cfg.Offers = -1
	}
	if cfg.SwitchShare == 0 {
		cfg.SwitchShare = -1
	}
	if !c.quiet {
		cfg.Progress = progress
	}
	return cfg
}

func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadtest", `Load a WebTorrent tracker ('nearcast serve', or bittorrent-tracker's WebSocket
server) with simulated viewers, and report its throughput and latencies.
Open loop by default (--interval or --rate), closed loop with --outstanding
(peak throughput), or idle connections with --idle. Progress goes to stderr,
the report to stdout, and with --json to a file. Load only a tracker you run;
start 'nearcast serve' with --max-conns-per-ip 0 --msg-rate 0.`, stderr)
	var c loadtestConfig
	c.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rep, err := loadtest.Run(ctx, c.config(stderr))
	if rep == nil {
		return err
	}
	interrupted := errors.Is(err, context.Canceled)
	if err != nil && !interrupted {
		fmt.Fprintln(stderr, "nearcast loadtest:", err)
	}
	printReport(stdout, rep, interrupted)
	if c.jsonPath != "" {
		if werr := writeJSON(c.jsonPath, rep); werr != nil {
			return werr
		}
	}
	if interrupted {
		return nil // stopped early on purpose: the partial report is the result
	}
	return err
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// printReport writes the report as tables.
func printReport(w io.Writer, r *loadtest.Report, interrupted bool) {
	note := ""
	if interrupted {
		note = " (interrupted)"
	}
	fmt.Fprintf(w, "nearcast loadtest: %s mode, %d/%d connections, measured %.1f s after a %.1f s ramp%s\n\n",
		r.Mode, r.Connected, r.Conns, r.Seconds, r.RampSeconds, note)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "message\tsent\tsent/s\treceived\treceived/s\t")
	for _, k := range []string{"announce", "stopped", "offer", "answer", "failure", "other"} {
		sent, sentRate := "-", "-"
		if n, ok := r.Sent[k]; ok {
			sent, sentRate = fmt.Sprint(n), fmt.Sprintf("%.0f", r.SentPerSec[k])
		}
		recv, recvRate := "-", "-"
		if n, ok := r.Received[k]; ok {
			recv, recvRate = fmt.Sprint(n), fmt.Sprintf("%.0f", r.PerSec[k])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", k, sent, sentRate, recv, recvRate)
	}
	fmt.Fprintf(tw, "all received\t\t\t\t%.0f\t\n", r.ResponsesPerSec)
	fmt.Fprintln(tw, "\t\t\t\t\t")
	fmt.Fprintln(tw, "latency\tcount\tp50 ms\tp99 ms\tmax ms\t")
	for _, l := range []struct {
		name string
		l    loadtest.Latency
	}{{"announce → response", r.AnnounceRTT}, {"offer → answer", r.AnswerRTT}} {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t\n", l.name, l.l.N, l.l.P50Ms, l.l.P99Ms, l.l.MaxMs)
	}
	_ = tw.Flush()
	if r.TargetRate > 0 {
		fmt.Fprintf(w, "\nopen-loop target: %.0f announces/s\n", r.TargetRate)
	}
	fmt.Fprintf(w, "\nconnect errors %d, disconnects %d, failures %d, protocol errors %d, timeouts %d, skipped %d, switches %d, ignored offers %d\n",
		r.ConnectErrors, r.Disconnects, r.Failures, r.ProtocolErrors, r.Timeouts, r.Skipped, r.Switches, r.IgnoredOffers)
	for _, e := range r.Errors {
		fmt.Fprintln(w, "  error:", e)
	}
}
