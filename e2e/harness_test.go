//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// moduleLine identifies the repository's go.mod.
const moduleLine = "module github.com/nearcast/nearcast"

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// repoRoot returns the repository root: the nearest directory at or above the
// working directory whose go.mod declares the nearcast module. Both
// `go test ./e2e` (cwd e2e/) and `bin/e2e.test` run from the root find it.
func repoRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && strings.Contains(string(b), moduleLine+"\n") {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = errors.New("no go.mod with " + moduleLine + " at or above the working directory")
				return
			}
			dir = parent
		}
	})
	if rootErr != nil {
		t.Fatalf("repo root: %v", rootErr)
	}
	return rootDir
}

func chromiumPath() string {
	if p := os.Getenv("NEARCAST_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func nearcastBin(t testing.TB) string {
	if p := os.Getenv("NEARCAST_BIN"); p != "" {
		return p
	}
	return filepath.Join(repoRoot(t), "bin", "nearcast")
}

// outDir returns a fresh out/e2e/<name>/ directory for the artifacts of one test.
func outDir(t testing.TB, name string) string {
	t.Helper()
	base := os.Getenv("NEARCAST_E2E_OUT")
	if base == "" {
		base = filepath.Join(repoRoot(t), "out", "e2e")
	}
	dir := filepath.Join(base, name)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Errorf("encoding %s: %v", path, err)
		return
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Errorf("writing %s: %v", path, err)
	}
}

// ---------------------------------------------------------------------------
// Servers

// site is what the browsers talk to: an HTTP origin and a tracker.
type site struct {
	base     string // http://127.0.0.1:PORT, no trailing slash
	announce string // ws://127.0.0.1:PORT/announce
	demo     bool   // served by `nearcast demo` (else the fallback below)
}

var listenLine = regexp.MustCompile(`nearcast: listening on http://(\S+)`)

// startNearcast runs bin/nearcast with args (which must include
// --addr 127.0.0.1:0) from the repository root, waits for its startup line and
// returns the address it listens on. The process is stopped at cleanup:
// SIGTERM, then SIGKILL after 5 s. Its output goes to logPath.
func startNearcast(t testing.TB, logPath string, args ...string) (string, error) {
	t.Helper()
	bin := nearcastBin(t)
	logf, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot(t)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return "", err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", fmt.Errorf("starting %s: %w", bin, err)
	}
	w := watchProcess(cmd, stdout, logf, listenLine, os.Interrupt)
	exited, stop := w.exited, w.stop
	select {
	case m := <-w.match:
		t.Cleanup(stop)
		return m[1], nil
	case <-exited:
		b, _ := os.ReadFile(logPath)
		return "", fmt.Errorf("%s %s exited before listening: %s", bin, strings.Join(args, " "), tail(string(b), 600))
	case <-time.After(20 * time.Second):
		stop()
		return "", fmt.Errorf("%s %s printed no listening line in 20 s", bin, strings.Join(args, " "))
	}
}

// watched is a started process whose output is being copied to a log.
type watched struct {
	match  chan []string // the submatches of the first output line matching the pattern
	exited chan struct{} // closed when the process has exited
	stop   func()        // sends the stop signal, kills after 5 s, waits
}

// watchProcess copies out (the started cmd's output) line by line to logf,
// reports the first line matching re, and closes logf when cmd has exited.
func watchProcess(cmd *exec.Cmd, out io.Reader, logf *os.File, re *regexp.Regexp, sig os.Signal) *watched {
	w := &watched{match: make(chan []string, 1), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if m := re.FindStringSubmatch(line); m != nil && !sent {
				w.match <- m
				sent = true
			}
		}
		_ = cmd.Wait()
		close(w.exited)
		logf.Close()
	}()
	w.stop = func() {
		_ = cmd.Process.Signal(sig)
		select {
		case <-w.exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-w.exited
		}
	}
	return w
}

// mount maps a URL prefix ("/e2e/") to a directory.
type mount struct{ prefix, dir string }

func (m mount) flag() string { return m.prefix + "=" + m.dir }

// demoArgs passes NEARCAST_DIST and NEARCAST_MEDIA on to `nearcast demo`.
func demoArgs() []string {
	var args []string
	if v := os.Getenv("NEARCAST_DIST"); v != "" {
		args = append(args, "--dist", v)
	}
	if v := os.Getenv("NEARCAST_MEDIA"); v != "" {
		args = append(args, "--media", v)
	}
	return args
}

// startDemo starts `nearcast demo` with extra flags and mounts.
func startDemo(t testing.TB, dir string, extra []string, mounts ...mount) (*site, error) {
	t.Helper()
	args := append([]string{"demo", "--addr", "127.0.0.1:0"}, extra...)
	for _, m := range mounts {
		args = append(args, "--mount", m.flag())
	}
	addr, err := startNearcast(t, filepath.Join(dir, "nearcast-demo.log"), args...)
	if err != nil {
		return nil, err
	}
	return &site{base: "http://" + addr, announce: "ws://" + addr + "/announce", demo: true}, nil
}

// startStatic serves the mounts from this process and runs `nearcast serve`
// as the tracker. The interop and smoke tests use it when `nearcast demo` is
// not there: they need nothing from the demo but static files and /announce.
func startStatic(t testing.TB, dir string, withTracker bool, mounts ...mount) (*site, error) {
	t.Helper()
	mux := http.NewServeMux()
	for _, m := range mounts {
		mux.Handle(m.prefix, http.StripPrefix(m.prefix, noCache(http.FileServer(http.Dir(m.dir)))))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	s := &site{base: "http://" + ln.Addr().String()}
	if withTracker {
		addr, err := startNearcast(t, filepath.Join(dir, "nearcast-serve.log"), "serve", "--addr", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		s.announce = "ws://" + addr + "/announce"
	}
	return s, nil
}

func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if strings.HasSuffix(r.URL.Path, ".mjs") || strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		}
		h.ServeHTTP(w, r)
	})
}

// originStats reads the demo server's media byte counter (GET /demo/origin).
type originStats struct {
	Bytes    int64 `json:"bytes"`
	Requests int64 `json:"requests"`
}

func getOrigin(s *site) (*originStats, error) {
	body, _, err := httpGet(s.base + "/demo/origin")
	if err != nil {
		return nil, err
	}
	var o originStats
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		return nil, fmt.Errorf("GET /demo/origin: %w", err)
	}
	return &o, nil
}

// httpGet returns the body (up to 1 MiB) and header of a 200 response.
func httpGet(u string) (string, http.Header, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b), resp.Header, err
}

// ---------------------------------------------------------------------------
// Browsers

// browser is one Chromium process, with one page.
type browser struct {
	name   string
	ctx    context.Context // the page's chromedp context
	cancel func()          // closes the page, stops the browser, waits for it
	proc   *os.Process     // set when this package started the process itself
	once   sync.Once
	killed bool
}

// chromiumSwitches are the flags from /work/shared/TESTING.md, which work
// as root in these containers, plus real IPs in candidates (no mDNS names:
// there is no mDNS responder inside the namespace). A value is true (a bare
// switch) or a string.
var chromiumSwitches = []struct {
	name  string
	value any
}{
	{"headless", true},
	{"no-sandbox", true},
	{"disable-gpu", true},
	{"disable-quic", true},
	{"no-first-run", true},
	{"no-default-browser-check", true},
	{"disable-background-networking", true},
	{"disable-component-update", true},
	{"disable-sync", true},
	{"disable-extensions", true},
	{"disable-background-timer-throttling", true},
	{"disable-renderer-backgrounding", true},
	{"disable-backgrounding-occluded-windows", true},
	{"disable-dev-shm-usage", true},
	{"autoplay-policy", "no-user-gesture-required"},
	{"mute-audio", true},
	{"disable-features", "WebRtcHideLocalIpsWithMdns,Translate"},
}

// chromiumFlags is chromiumSwitches for chromedp's exec allocator.
func chromiumFlags() []chromedp.ExecAllocatorOption {
	var opts []chromedp.ExecAllocatorOption
	for _, s := range chromiumSwitches {
		opts = append(opts, chromedp.Flag(s.name, s.value))
	}
	return opts
}

// chromiumArgs is chromiumSwitches as command-line arguments.
func chromiumArgs() []string {
	var args []string
	for _, s := range chromiumSwitches {
		if v, ok := s.value.(string); ok {
			args = append(args, "--"+s.name+"="+v)
		} else {
			args = append(args, "--"+s.name)
		}
	}
	return args
}

// browserFiles makes a fresh profile directory (removed at cleanup) and
// dir/<name>.chromium.log for a new browser.
func browserFiles(t testing.TB, dir, name string) (profile string, chromeLog *os.File) {
	t.Helper()
	profile, err := os.MkdirTemp("", "nearcast-e2e-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) })
	chromeLog, err = os.Create(filepath.Join(dir, name+".chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	return profile, chromeLog
}

// startBrowser starts a new Chromium process with a fresh profile and opens
// one page (about:blank). Its stderr goes to dir/<name>.chromium.log and its
// console to dir/<name>.console.log. It is stopped at cleanup.
func startBrowser(t testing.TB, dir, name string) *browser {
	t.Helper()
	profile, chromeLog := browserFiles(t, dir, name)
	opts := append(chromiumFlags(),
		chromedp.ExecPath(chromiumPath()),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(chromeLog),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, ccancel := chromedp.NewContext(actx)
	b := &browser{name: name, ctx: ctx}
	b.cancel = func() {
		b.once.Do(func() {
			ccancel()
			acancel() // waits for the browser and its leftovers to exit
			chromeLog.Close()
		})
	}
	t.Cleanup(b.cancel)
	// The first action must run on ctx itself, not on a child with a
	// timeout: chromedp ties the browser's lifetime to that context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: starting %s: %v", name, chromiumPath(), err)
	}
	b.logConsole(t, dir)
	return b
}

// logConsole copies the page's console to dir/<name>.console.log.
func (b *browser) logConsole(t testing.TB, dir string) {
	consoleLog, err := os.Create(filepath.Join(dir, b.name+".console.log"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer consoleLog.Close()
		for m, err := range chromedp.Console(b.ctx) {
			if err != nil {
				return
			}
			fmt.Fprintf(consoleLog, "%s %-9s %s\n", m.Time.Format("15:04:05.000"), m.Type, m.Text)
		}
	}()
}

// pid returns the browser's process ID.
func (b *browser) pid() int {
	if b.proc != nil {
		return b.proc.Pid
	}
	if c := chromedp.FromContext(b.ctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		return c.Browser.Process().Pid
	}
	return 0
}

// kill SIGKILLs the browser process, as a crash or a closed laptop would.
func (b *browser) kill() error {
	if b.proc != nil {
		b.killed = true
		return b.proc.Kill()
	}
	c := chromedp.FromContext(b.ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		return errors.New("no browser process")
	}
	b.killed = true
	return c.Browser.Process().Kill()
}

// navigate opens u and waits for the load event.
func (b *browser) navigate(u string) error {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Navigate(u))
}

// eval evaluates expr (awaiting a Promise result) with a timeout.
func eval[T any](b *browser, timeout time.Duration, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// pageURL joins base, path and query parameters.
func pageURL(base, path string, q url.Values) string {
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}
