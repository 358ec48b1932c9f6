package loadtest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nearcast/nearcast/signaling"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds each run in these tests.
const testTimeout = 20 * time.Second

// startServer runs a nearcast signaling server on a loopback port, with the
// per-address connection cap and the message rate limit lifted, and returns
// its WebSocket URL.
func startServer(t *testing.T) string {
	t.Helper()
	srv, err := signaling.New(signaling.WithMaxConnsPerIP(0), signaling.WithMessageRate(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + srv.Path()
}

func run(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v (report %+v)", err, rep)
	}
	t.Logf("%s: %d conns, %.0f msgs/s received, announce RTT %+v, answer RTT %+v, sent %v, received %v, switches %d, ignored offers %d",
		rep.Mode, rep.Connected, rep.ResponsesPerSec, rep.AnnounceRTT, rep.AnswerRTT, rep.Sent, rep.Received, rep.Switches, rep.IgnoredOffers)
	return rep
}

// checkClean asserts a run without errors of any kind.
func checkClean(t *testing.T, rep *Report) {
	t.Helper()
	if rep.Connected != rep.Conns || rep.ConnectErrors != 0 || rep.Disconnects != 0 || rep.Failures != 0 ||
		rep.ProtocolErrors != 0 || rep.Timeouts != 0 || len(rep.Errors) != 0 {
		t.Fatalf("unclean run: connected %d/%d, connect errors %d, disconnects %d, failures %d, protocol errors %d, timeouts %d, errors %q",
			rep.Connected, rep.Conns, rep.ConnectErrors, rep.Disconnects, rep.Failures, rep.ProtocolErrors, rep.Timeouts, rep.Errors)
	}
}

// checkRelay asserts that every offer delivered was answered (unless it came
// for a swarm its receiver had left) and every answer came back.
func checkRelay(t *testing.T, rep *Report) {
	t.Helper()
	if rep.Received["offer"] == 0 {
		t.Fatal("no offer was relayed")
	}
	if got, want := rep.Sent["answer"], rep.Received["offer"]-rep.IgnoredOffers; got != want {
		t.Errorf("answers sent %d, want offers received minus ignored %d", got, want)
	}
	if got, want := rep.Received["answer"], rep.Sent["answer"]; got != want {
		t.Errorf("answers received %d, want answers sent %d", got, want)
	}
	if rep.AnnounceRTT.N == 0 || rep.AnswerRTT.N == 0 {
		t.Errorf("latencies not measured: announce %+v answer %+v", rep.AnnounceRTT, rep.AnswerRTT)
	}
	for _, l := range []Latency{rep.AnnounceRTT, rep.AnswerRTT} {
		if !(l.P50Ms > 0 && l.P50Ms <= l.P99Ms && l.P99Ms <= l.MaxMs*1.01) {
			t.Errorf("implausible latency %+v", l)
		}
	}
	if rep.Received["announce"] != rep.Sent["announce"]+rep.Sent["stopped"] {
		t.Errorf("responses %d, want one per announce (%d) and stopped (%d)", rep.Received["announce"], rep.Sent["announce"], rep.Sent["stopped"])
	}
}

func TestOpenLoopAgainstNearcast(t *testing.T) {
	url := startServer(t)
	rep := run(t, Config{URL: url, Conns: 200, Swarms: 20, Rate: 300, SwitchShare: 0.2, Duration: 2 * time.Second})
	checkClean(t, rep)
	checkRelay(t, rep)
	if rep.Mode != "open" || rep.TargetRate != 300 {
		t.Errorf("mode %q, target rate %v", rep.Mode, rep.TargetRate)
	}
	// The measured phase sends about Rate announces a second.
	if got := rep.SentPerSec["announce"]; got < 200 || got > 400 {
		t.Errorf("announces per second %.0f, want about 300", got)
	}
	if rep.Switches != 40 || rep.Sent["stopped"] != 40 {
		t.Errorf("switches %d, stopped sent %d, want 40 (20 %% of 200)", rep.Switches, rep.Sent["stopped"])
	}
	if rep.Seconds < 1.9 || rep.Seconds > 3 {
		t.Errorf("measured %.2f s, want 2", rep.Seconds)
	}
}

func TestClosedLoopAgainstNearcast(t *testing.T) {
	url := startServer(t)
	rep := run(t, Config{URL: url, Conns: 200, Swarms: 10, Outstanding: 40, Offers: 3, SDPBytes: 900, Duration: 1500 * time.Millisecond})
	checkClean(t, rep)
	checkRelay(t, rep)
	if rep.Mode != "closed" || rep.Switches == 0 || rep.Sent["stopped"] != int64(rep.Switches) {
		t.Errorf("mode %q, switches %d, stopped %d", rep.Mode, rep.Switches, rep.Sent["stopped"])
	}
	// The closed loop keeps its announces in flight: far more than the
	// 200 joining announces go out.
	if rep.Sent["announce"] < 1000 {
		t.Errorf("only %d announces in the closed loop", rep.Sent["announce"])
	}
	if rep.PerSec["announce"] <= 0 || rep.ResponsesPerSec < rep.PerSec["announce"] {
		t.Errorf("rates: %v, all %.0f", rep.PerSec, rep.ResponsesPerSec)
	}
}

func TestIdleAgainstNearcast(t *testing.T) {
	url := startServer(t)
	rep := run(t, Config{URL: url, Conns: 300, Swarms: 1, Idle: true, Duration: 500 * time.Millisecond})
	checkClean(t, rep)
	if rep.Sent["announce"] != 300 || rep.Received["announce"] != 300 {
		t.Errorf("idle: sent %v, received %v, want one announce and response per connection", rep.Sent, rep.Received)
	}
	if rep.Sent["answer"] != 0 || rep.Received["offer"] != 0 || rep.ResponsesPerSec != 0 || rep.Switches != 0 {
		t.Errorf("idle run was not silent: %+v", rep)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Config{URL: "ws://127.0.0.1:1/announce", Conns: 10, Duration: time.Second}
	for name, edit := range map[string]func(*Config){
		"URL scheme":          func(c *Config) { c.URL = "http://127.0.0.1:1/announce" },
		"URL empty":           func(c *Config) { c.URL = "" },
		"no conns":            func(c *Config) { c.Conns = 0 },
		"too many conns":      func(c *Config) { c.Conns = MaxConns + 1 },
		"negative swarms":     func(c *Config) { c.Swarms = -1 },
		"skew 1":              func(c *Config) { c.Skew = 1 },
		"skew below 1":        func(c *Config) { c.Skew = 0.5 },
		"six offers":          func(c *Config) { c.Offers = 6 },
		"tiny SDP":            func(c *Config) { c.SDPBytes = 100 },
		"huge SDP":            func(c *Config) { c.SDPBytes = MaxSDPBytes + 1 },
		"negative interval":   func(c *Config) { c.Interval = -time.Second },
		"negative rate":       func(c *Config) { c.Rate = -1 },
		"outstanding > conns": func(c *Config) { c.Outstanding = 11 },
		"switch share > 1":    func(c *Config) { c.SwitchShare = 1.5 },
		"no duration":         func(c *Config) { c.Duration = 0 },
		"long duration":       func(c *Config) { c.Duration = MaxDuration + time.Second },
		"negative dials":      func(c *Config) { c.ConnectConcurrency = -1 },
		"idle with rate":      func(c *Config) { c.Idle, c.Rate = true, 10 },
		"idle with closed":    func(c *Config) { c.Idle, c.Outstanding = true, 5 },
		"bad local address":   func(c *Config) { c.LocalAddrs = []string{"127.0.0.1", "localhost"} },
	} {
		cfg := ok
		edit(&cfg)
		rep, err := Run(context.Background(), cfg)
		if !errors.Is(err, ErrConfig) || rep != nil {
			t.Errorf("%s: got %v, %v; want ErrConfig", name, rep, err)
		}
	}
	s, err := ok.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if s.Swarms != DefaultSwarms || s.Skew != DefaultSkew || s.Offers != DefaultOffers || s.SDPBytes != DefaultSDPBytes ||
		s.Interval != DefaultInterval || s.SwitchShare != DefaultSwitchShare || s.ConnectConcurrency != DefaultConnectConcurrency || s.mode != modeOpen {
		t.Errorf("defaults not applied: %+v", s)
	}
	none := ok
	none.Offers, none.SwitchShare, none.Outstanding = -1, -1, 3
	if s, err = none.normalize(); err != nil || s.Offers != 0 || s.SwitchShare != 0 || s.mode != modeClosed {
		t.Errorf("negative means none: %+v, %v", s, err)
	}
}

func TestNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	rep, err := Run(context.Background(), Config{URL: "ws://" + addr + "/announce", Conns: 20, Duration: time.Second})
	if !errors.Is(err, ErrNoConnections) || rep == nil || rep.ConnectErrors != 20 || rep.Connected != 0 || len(rep.Errors) == 0 {
		t.Fatalf("got %+v, %v; want ErrNoConnections with 20 connect errors", rep, err)
	}
}

// TestBrokenServer runs against a server that answers nothing and closes
// some connections: the run must still end on time and report it.
func TestBrokenServer(t *testing.T) {
	up := websocket.Upgrader{}
	var n atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		if n.Add(1)%2 == 0 {
			ws.Close()
			return
		}
		go func() {
			defer ws.Close()
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}))
	defer hs.Close()
	s, err := Config{URL: "ws" + strings.TrimPrefix(hs.URL, "http"), Conns: 10, ConnectConcurrency: 1, Outstanding: 5, Duration: 300 * time.Millisecond}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	g := newGenerator(s)
	g.joinWait, g.drainMax = 200*time.Millisecond, 200*time.Millisecond
	start := time.Now()
	rep, err := g.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("run took %v", d)
	}
	if rep.Connected != 10 || rep.Disconnects != 5 || rep.Received["announce"] != 0 {
		t.Errorf("got connected %d, disconnects %d, responses %d; want 10, 5, 0", rep.Connected, rep.Disconnects, rep.Received["announce"])
	}
}

func TestRunEndsWithContext(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := Run(ctx, Config{URL: url, Conns: 50, Rate: 100, Duration: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) || rep == nil || rep.Connected != 50 {
		t.Fatalf("got %+v, %v", rep, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v after its context ended", d)
	}
}
