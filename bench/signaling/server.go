//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Names of the servers under test.
const (
	nearcastName = "nearcast"
	btName       = "bittorrent-tracker"
)

const (
	// startTimeout bounds the wait for a server's "listening" line.
	startTimeout = 20 * time.Second
	// stopTimeout bounds the wait for a killed server to be reaped.
	stopTimeout = 10 * time.Second
	// scrapeTimeout bounds one GET of nearcast's /metrics.
	scrapeTimeout = 10 * time.Second
)

// target is how to start one of the servers under test.
type target struct {
	name    string
	version string
	argv    []string
	env     []string
	// listening matches the server's startup line; its first group is the
	// WebSocket URL, its second (if any) the HTTP base URL.
	listening *regexp.Regexp
}

func nearcastTarget(bin string) target {
	return target{
		name: nearcastName,
		argv: []string{bin, "serve", "--addr", "127.0.0.1:0", "--log-level", "error",
			"--max-conns-per-ip", "0", "--msg-rate", "0", "--idle-timeout", "1h"},
		// It follows the CPU affinity anyway; say so for a reader of the JSON.
		env:       []string{"GOMAXPROCS=1"},
		listening: regexp.MustCompile(`listening on (http://\S+) \(WebSocket (ws://\S+)\)`),
	}
}

func btTarget(node, script string) target {
	return target{
		name:      btName,
		argv:      []string{node, script},
		listening: regexp.MustCompile(`listening (ws://\S+)`),
	}
}

// server is one running server process.
type server struct {
	name       string
	pid        int
	wsURL      string
	metricsURL string // nearcast's /metrics; "" for bittorrent-tracker
	cmd        *exec.Cmd
	exited     chan struct{} // closed once the process has been reaped
	waitErr    error         // set before exited is closed
}

// start runs t, pinned to cpus with taskset(1) unless cpus is "", and waits
// for its startup line. The process is killed when ctx ends, when the bench
// exits (parent-death signal), or by stop.
func (t target) start(ctx context.Context, cpus string) (*server, error) {
	argv := t.argv
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...) // taskset execs: same pid
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), t.env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("starting %s: %w", t.name, err)
	}
	pw.Close()
	s := &server{name: t.name, pid: cmd.Process.Pid, cmd: cmd, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	// Read stdout to its end so the server never blocks on it; hand over
	// the startup line.
	lines := make(chan string, 1)
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		found := false
		for sc.Scan() {
			if !found && t.listening.MatchString(sc.Text()) {
				found = true
				lines <- sc.Text()
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case line := <-lines:
		m := t.listening.FindStringSubmatch(line)
		if len(m) == 3 {
			s.metricsURL, s.wsURL = m[1]+"/metrics", m[2]
		} else {
			s.wsURL = m[1]
		}
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("%s exited before listening: %v", t.name, s.waitErr)
	case <-timer.C:
		s.stop()
		return nil, fmt.Errorf("%s printed no listening line in %v", t.name, startTimeout)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// alive reports whether the process still runs.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// exitReason describes how the process ended.
func (s *server) exitReason() string {
	if s.alive() {
		return ""
	}
	if s.waitErr == nil {
		return "exited (status 0)"
	}
	return "exited: " + s.waitErr.Error()
}

// stop kills the process and waits, at most stopTimeout, for it to be
// reaped. It is safe to call more than once.
func (s *server) stop() {
	if !s.alive() {
		return
	}
	_ = s.cmd.Process.Kill()
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-s.exited:
	case <-t.C:
		fmt.Fprintf(os.Stderr, "signaling bench: %s (pid %d) not reaped after %v\n", s.name, s.pid, stopTimeout)
	}
}

// nearcastGauges reads gauges from nearcast's /metrics: open connections and
// Go heap in use. ok is false for bittorrent-tracker.
func (s *server) nearcastGauges(ctx context.Context) (conns, heapInuse float64, ok bool, err error) {
	if s.metricsURL == "" {
		return 0, 0, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.metricsURL, nil)
	if err != nil {
		return 0, 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, false, fmt.Errorf("GET %s: %s", s.metricsURL, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	found := 0
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "nearcast_signaling_connections":
			conns, _ = strconv.ParseFloat(v, 64)
			found++
		case "go_memstats_heap_inuse_bytes":
			heapInuse, _ = strconv.ParseFloat(v, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, false, err
	}
	if found == 0 {
		return 0, 0, false, errors.New("no nearcast_signaling_connections in /metrics")
	}
	return conns, heapInuse, true, nil
}
