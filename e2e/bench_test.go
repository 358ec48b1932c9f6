//go:build e2e && bench

package e2e

import (
	"bufio"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The side-by-side benchmark (`make bench`): the same scenario, in the same
// run, for three arms — plain hls.js from the CDN, nearcast, and
// p2p-media-loader with npm's bittorrent-tracker — in real Chromium, one
// process per viewer, inside scripts/netns-run.sh's namespace. CDN bytes are
// counted at the origin (`nearcast demo`'s /demo/origin), not only by the
// pages. Results: a table on stdout and out/bench/browser.json.

// arm is one delivery system under test; url gives its page for one run
// (swarm names a fresh swarm shared by the run's viewers).
type arm struct {
	name string
	url  func(s *site, tracker, swarm string) string
}

var benchArms = []arm{
	{"cdn-only", func(s *site, _, _ string) string {
		return demoURL(s, url.Values{"p2p": {"0"}})
	}},
	{"nearcast", func(s *site, _, _ string) string {
		return demoURL(s, url.Values{})
	}},
	{"p2p-media-loader", func(s *site, tracker, swarm string) string {
		return pageURL(s.base, "/e2e/p2pml.html", url.Values{
			"src":       {"/media/vod/master.m3u8"},
			"tracker":   {tracker},
			"swarm":     {swarm},
			"maxBuffer": {demoMaxBuf},
		})
	}},
}

// armRun is one arm's outcome in one repetition.
type armRun struct {
	Arm           string  `json:"arm"`
	Repeat        int     `json:"repeat"`
	Viewers       int     `json:"viewers"`
	PlayedBytes   float64 `json:"playedBytes"` // what the players got, from any source
	OriginBytes   float64 `json:"originBytes"` // counted at the origin (playlists included)
	OriginShare   float64 `json:"p2pShareAtOrigin"`
	PageShare     float64 `json:"p2pShareByPages"`
	Limit         float64 `json:"limit"` // min(1 - 1/N, u/r); no shaping: 1 - 1/N
	Stalls        int     `json:"stalls"`
	StallMs       float64 `json:"stallMs"`
	TTFFMedianMs  float64 `json:"ttffMedianMs"`
	TTFFMaxMs     float64 `json:"ttffMaxMs"`
	UploadPerView float64 `json:"uploadBytesPerViewer"`
	CPUPerViewer  float64 `json:"browserCpuSecondsPerViewer"`
	AllEnded      bool    `json:"allEnded"`
}

// TestBenchVOD is scenario 1: four viewers of the 60 s VOD sample, 4 s
// apart, no shaping (limit 75 %). BENCH_REPEAT sets the repetitions.
func TestBenchVOD(t *testing.T) {
	requireEnv(t)
	requireFiles(t, demoFiles())
	requireFiles(t, interopFiles)
	repeat := 1
	if v, err := strconv.Atoi(os.Getenv("BENCH_REPEAT")); err == nil && v > 0 {
		repeat = min(v, 10)
	}
	root := repoRoot(t)
	var runs []armRun
	for rep := range repeat {
		for _, a := range selectedArms() {
			name := fmt.Sprintf("bench-vod-%s-%d", a.name, rep)
			dir := outDir(t, name)
			s, err := startDemo(t, dir, demoArgs(),
				mount{"/e2e/", filepath.Join(root, "e2e", "web")},
				mount{"/e2e-vendor/", filepath.Join(root, "e2e", "node_modules")})
			if err != nil {
				t.Fatalf("nearcast demo: %v", err)
			}
			tracker := ""
			if a.name == "p2p-media-loader" {
				tracker = startBTTracker(t, filepath.Join(dir, "bt-tracker.log"))
			}
			swarm := "nearcast-bench-" + strconv.Itoa(rep) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			cpu := make([]float64, demoViewers)
			sc := &scenario{
				name:        name,
				viewers:     demoViewers,
				stagger:     demoStagger,
				url:         func(int) string { return a.url(s, tracker, swarm) },
				playTimeout: demoTimeout,
				after: func(rs []*viewerResult) {
					for i, r := range rs {
						cpu[i] = cpuSeconds(r.Pid)
					}
				},
			}
			results := sc.run(t, dir)
			sum := summarize(t, dir, name, results, s)
			runs = append(runs, measureArm(a.name, rep, results, sum, cpu))
		}
	}
	report(t, "vod-4-viewers", runs)
}

// selectedArms returns the arms named in BENCH_ARMS (comma-separated), or
// all of them.
func selectedArms() []arm {
	want := os.Getenv("BENCH_ARMS")
	if want == "" {
		return benchArms
	}
	var out []arm
	for _, a := range benchArms {
		if slices.Contains(strings.Split(want, ","), a.name) {
			out = append(out, a)
		}
	}
	return out
}

func measureArm(name string, rep int, results []*viewerResult, sum *summary, cpu []float64) armRun {
	n := len(results)
	r := armRun{Arm: name, Repeat: rep, Viewers: n, Limit: 1 - 1/float64(n), AllEnded: sum.AllEnded}
	var ttff []float64
	for i, v := range results {
		r.PlayedBytes += v.CDNBytes + v.PeerBytes
		r.Stalls += v.Stalls
		r.StallMs += v.StallMs
		r.UploadPerView += v.Uploaded / float64(n)
		r.CPUPerViewer += cpu[i] / float64(n)
		if v.TTFFMs != nil {
			ttff = append(ttff, *v.TTFFMs)
		}
	}
	r.PageShare = sum.P2PShare
	if sum.Origin != nil {
		r.OriginBytes = float64(sum.Origin.Bytes)
		if r.PlayedBytes > 0 {
			r.OriginShare = max(0, 1-r.OriginBytes/r.PlayedBytes)
		}
	}
	if len(ttff) > 0 {
		slices.Sort(ttff)
		r.TTFFMedianMs = ttff[len(ttff)/2]
		r.TTFFMaxMs = ttff[len(ttff)-1]
	}
	return r
}

// report prints the table (median and spread over repetitions per arm) and
// writes out/bench/browser.json.
func report(t *testing.T, scenario string, runs []armRun) {
	var b strings.Builder
	arms := selectedArms()
	fmt.Fprintf(&b, "\nscenario %s (%d run(s) per arm; median [min..max])\n", scenario, len(runs)/max(1, len(arms)))
	fmt.Fprintf(&b, "%-18s %-22s %-8s %-8s %-12s %-16s %-14s %-10s\n", "arm", "P2P share @origin", "limit", "stalls", "stall ms", "TTFF median ms", "upload/viewer", "CPU s/viewer")
	for _, a := range arms {
		var share, stalls, stallMs, ttff, up, cpu []float64
		var limit float64
		for _, r := range runs {
			if r.Arm != a.name {
				continue
			}
			share = append(share, 100*r.OriginShare)
			stalls = append(stalls, float64(r.Stalls))
			stallMs = append(stallMs, r.StallMs)
			ttff = append(ttff, r.TTFFMedianMs)
			up = append(up, r.UploadPerView/(1<<20))
			cpu = append(cpu, r.CPUPerViewer)
			limit = r.Limit
		}
		fmt.Fprintf(&b, "%-18s %-22s %-8s %-8s %-12s %-16s %-14s %-10s\n", a.name,
			spread(share, "%.1f%%"), fmt.Sprintf("%.0f%%", 100*limit), spread(stalls, "%.0f"), spread(stallMs, "%.0f"),
			spread(ttff, "%.0f"), spread(up, "%.1f MiB"), spread(cpu, "%.1f"))
	}
	fmt.Print(b.String())
	t.Log(b.String())
	out := filepath.Join(repoRoot(t), "out", "bench")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(out, "browser.json"), map[string]any{
		"date": time.Now().UTC().Format(time.RFC3339), "scenario": scenario, "runs": runs,
	})
}

// spread formats the median and, with several values, the range.
func spread(v []float64, format string) string {
	if len(v) == 0 {
		return "-"
	}
	s := slices.Clone(v)
	slices.Sort(s)
	med := fmt.Sprintf(format, s[len(s)/2])
	if len(s) == 1 || s[0] == s[len(s)-1] {
		return med
	}
	return med + " [" + fmt.Sprintf(format, s[0]) + ".." + fmt.Sprintf(format, s[len(s)-1]) + "]"
}

// startBTTracker runs e2e/tools/bt-tracker.mjs (npm bittorrent-tracker) and
// returns its WebSocket URL. It is stopped at cleanup.
func startBTTracker(t *testing.T, logPath string) string {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(repoRoot(t), "e2e", "tools", "bt-tracker.mjs"))
	cmd.Dir = filepath.Join(repoRoot(t), "e2e")
	if os.Getenv("BENCH_TRACKER_DEBUG") != "" {
		cmd.Env = append(os.Environ(), "DEBUG=bittorrent-tracker:*")
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting bittorrent-tracker: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if u, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				urlc <- u
			}
		}
	}()
	select {
	case u := <-urlc:
		return u
	case <-time.After(15 * time.Second):
		t.Fatal("bittorrent-tracker printed no listening line in 15 s")
		return ""
	}
}

// cpuSeconds returns the CPU time (user + system) used so far by pid and
// all its descendants: a Chromium browser and its renderer, GPU and
// utility processes.
func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return math.NaN()
	}
	children := map[int][]int{}
	ticks := map[int]float64{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		children[ppid] = append(children[ppid], p)
		ticks[p] = ut + st
	}
	const clkTck = 100 // USER_HZ on Linux
	total := 0.0
	stack := []int{pid}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		total += ticks[p]
		stack = append(stack, children[p]...)
	}
	return total / clkTck
}
