// Command signaling measures the nearcast signaling server from outside:
// it starts `nearcast serve` as its own process on loopback, then measures
//
//   - the latency of one peer pair's handshake through the server: from
//     the offerer sending its announce with an offer to the offerer
//     receiving the answer (offer relayed, answered, answer relayed);
//   - the server's resident memory per idle connection: N clients connect
//     and announce once into one of S swarms, then sit idle.
//
// It prints a table and writes JSON (default out/bench/signaling.json). All
// traffic stays on 127.0.0.1; every loop is bounded in count and time.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

type result struct {
	Date              string  `json:"date"`
	Handshakes        int     `json:"handshakes"`
	HandshakeP50Ms    float64 `json:"handshake_p50_ms"`
	HandshakeP99Ms    float64 `json:"handshake_p99_ms"`
	HandshakeMeanMs   float64 `json:"handshake_mean_ms"`
	IdleConns         int     `json:"idle_conns"`
	Swarms            int     `json:"swarms"`
	RSSBeforeBytes    int64   `json:"rss_before_bytes"`
	RSSAfterBytes     int64   `json:"rss_after_bytes"`
	RSSPerConnBytes   float64 `json:"rss_per_conn_bytes"`
	GoHeapPerConnByte float64 `json:"go_heap_inuse_per_conn_bytes"`
	Goroutines        int     `json:"server_goroutines"`
	ConnectSeconds    float64 `json:"connect_seconds"`
}

func main() {
	bin := flag.String("server", "bin/nearcast", "nearcast binary to measure")
	conns := flag.Int("conns", 10000, "idle connections to open (at most 50000)")
	swarms := flag.Int("swarms", 100, "swarms the idle connections spread over")
	handshakes := flag.Int("handshakes", 300, "handshakes to time (at most 10000)")
	out := flag.String("out", "out/bench/signaling.json", "JSON output file")
	limit := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	if *conns < 1 || *conns > 50000 || *handshakes < 1 || *handshakes > 10000 || *swarms < 1 {
		fmt.Fprintln(os.Stderr, "signaling bench: flag out of range")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	if err := run(ctx, *bin, *conns, *swarms, *handshakes, *out); err != nil {
		fmt.Fprintln(os.Stderr, "signaling bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin string, conns, swarms, handshakes int, out string) error {
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--log-level", "error",
		"--max-conns-per-ip", "0", "--msg-rate", "0", "--idle-timeout", "1h")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the server's startup line: %w", err)
	}
	m := regexp.MustCompile(`http://(\S+) \(WebSocket (ws://\S+)\)`).FindStringSubmatch(line)
	if m == nil {
		return fmt.Errorf("unexpected startup line %q", line)
	}
	httpURL, wsURL := "http://"+m[1], m[2]

	r := result{Date: time.Now().UTC().Format(time.RFC3339), Handshakes: handshakes, IdleConns: conns, Swarms: swarms}
	lat, err := measureHandshakes(ctx, wsURL, handshakes)
	if err != nil {
		return err
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	r.HandshakeP50Ms = ms(lat[len(lat)/2])
	r.HandshakeP99Ms = ms(lat[len(lat)*99/100])
	r.HandshakeMeanMs = ms(sum / time.Duration(len(lat)))

	pid := cmd.Process.Pid
	time.Sleep(500 * time.Millisecond) // let the handshake clients' connections be reaped
	r.RSSBeforeBytes, err = rss(pid)
	if err != nil {
		return err
	}
	heapBefore, _, err := serverMetrics(httpURL)
	if err != nil {
		return err
	}
	start := time.Now()
	clients, err := openIdle(ctx, wsURL, conns, swarms)
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	if err != nil {
		return err
	}
	r.ConnectSeconds = time.Since(start).Seconds()
	time.Sleep(2 * time.Second) // settle: let the server's GC catch up
	r.RSSAfterBytes, err = rss(pid)
	if err != nil {
		return err
	}
	heapAfter, goroutines, err := serverMetrics(httpURL)
	if err != nil {
		return err
	}
	r.Goroutines = goroutines
	r.RSSPerConnBytes = float64(r.RSSAfterBytes-r.RSSBeforeBytes) / float64(conns)
	r.GoHeapPerConnByte = (heapAfter - heapBefore) / float64(conns)

	fmt.Printf("\nnearcast signaling, %s\n", r.Date)
	fmt.Printf("%-42s %12s\n", "measure", "value")
	fmt.Printf("%-42s %12d\n", "handshakes timed", r.Handshakes)
	fmt.Printf("%-42s %12.3f\n", "handshake offer->answer p50 (ms)", r.HandshakeP50Ms)
	fmt.Printf("%-42s %12.3f\n", "handshake offer->answer p99 (ms)", r.HandshakeP99Ms)
	fmt.Printf("%-42s %12.3f\n", "handshake offer->answer mean (ms)", r.HandshakeMeanMs)
	fmt.Printf("%-42s %12d\n", "idle connections (announced once)", r.IdleConns)
	fmt.Printf("%-42s %12.1f\n", "connect+announce time (s)", r.ConnectSeconds)
	fmt.Printf("%-42s %12.1f\n", "server RSS before (MiB)", float64(r.RSSBeforeBytes)/(1<<20))
	fmt.Printf("%-42s %12.1f\n", "server RSS after (MiB)", float64(r.RSSAfterBytes)/(1<<20))
	fmt.Printf("%-42s %12.0f\n", "server RSS per idle connection (bytes)", r.RSSPerConnBytes)
	fmt.Printf("%-42s %12.0f\n", "server Go heap per idle connection (bytes)", r.GoHeapPerConnByte)
	fmt.Printf("%-42s %12d\n", "server goroutines", r.Goroutines)

	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func id(prefix string, n int) string {
	s := prefix + strconv.Itoa(n) + strings.Repeat("-", 20)
	return s[:20]
}

func dial(ctx context.Context, url string) (*websocket.Conn, error) {
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	return ws, err
}

func readJSON(ws *websocket.Conn) (map[string]any, error) {
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m map[string]any
	err := ws.ReadJSON(&m)
	return m, err
}

// measureHandshakes times offer->answer round trips between two peers.
func measureHandshakes(ctx context.Context, url string, n int) ([]time.Duration, error) {
	a, err := dial(ctx, url)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := dial(ctx, url)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	hash, pa, pb := id("bench-swarm", 0), id("offerer", 0), id("answerer", 0)
	if err := b.WriteJSON(map[string]any{"action": "announce", "info_hash": hash, "peer_id": pb, "event": "started"}); err != nil {
		return nil, err
	}
	if _, err := readJSON(b); err != nil {
		return nil, err
	}
	sdp := strings.Repeat("a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host\r\n", 20) // ~1.3 KB
	out := make([]time.Duration, 0, n)
	for i := range n {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		oid := id("offer", i)
		start := time.Now()
		if err := a.WriteJSON(map[string]any{"action": "announce", "info_hash": hash, "peer_id": pa, "numwant": 1,
			"offers": []any{map[string]any{"offer_id": oid, "offer": map[string]string{"type": "offer", "sdp": sdp}}}}); err != nil {
			return nil, err
		}
		offer, err := readJSON(b)
		if err != nil {
			return nil, err
		}
		if offer["offer_id"] != oid {
			return nil, fmt.Errorf("answerer got %v", offer)
		}
		if err := b.WriteJSON(map[string]any{"action": "announce", "info_hash": hash, "peer_id": pb, "to_peer_id": pa,
			"offer_id": oid, "answer": map[string]string{"type": "answer", "sdp": sdp}}); err != nil {
			return nil, err
		}
		for {
			m, err := readJSON(a)
			if err != nil {
				return nil, err
			}
			if m["answer"] != nil {
				if m["offer_id"] != oid {
					return nil, fmt.Errorf("offerer got answer %v", m["offer_id"])
				}
				break
			}
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// openIdle opens n connections that each announce once, with 8 dialers.
func openIdle(ctx context.Context, url string, n, swarms int) ([]*websocket.Conn, error) {
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				ws, err := dial(ctx, url)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = ws
				msg := map[string]any{"action": "announce", "info_hash": id("swarm", i%swarms), "peer_id": id("idle", i), "event": "started", "numwant": 0}
				if err := ws.WriteJSON(msg); err != nil {
					errs <- err
					return
				}
				if _, err := readJSON(ws); err != nil {
					errs <- fmt.Errorf("connection %d announce: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	var err error
	for e := range errs {
		err = errors.Join(err, e)
	}
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out, err
}

// rss reads a process's resident set size from /proc.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// serverMetrics returns the server's Go heap in use and goroutine count.
func serverMetrics(base string) (heap float64, goroutines int, err error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			heap, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			g, _ := strconv.ParseFloat(v, 64)
			goroutines = int(g)
		}
	}
	return heap, goroutines, sc.Err()
}
