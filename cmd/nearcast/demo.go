package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nearcast/nearcast/signaling"
)

// demoConfig holds the flags of 'nearcast demo'. Directory defaults are
// relative to the repository root, where 'make demo' runs the binary.
type demoConfig struct {
	addr            string
	web             string
	media           string
	dist            string
	shim            string
	vendor          string
	vendorDashjs    string
	vendorShaka     string
	mounts          mountList
	segmentMaxAge   time.Duration
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
	live            liveConfig
}

func (c *demoConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free port)")
	fs.StringVar(&c.web, "web", "examples", "directory of the demo page, served at /")
	fs.StringVar(&c.media, "media", "out/media", "directory of the sample media (make media), served at /media/ with byte counting")
	fs.StringVar(&c.dist, "dist", "dist", "directory of nearcast.wasm and wasm_exec.js (make wasm), served at /nearcast/")
	fs.StringVar(&c.shim, "shim", "player-shim/dist", "directory of the player shim builds (make shim), served at /nearcast/")
	fs.StringVar(&c.vendor, "vendor", "player-shim/node_modules/hls.js/dist", "directory of the hls.js builds (npm ci in player-shim), served at /vendor/")
	fs.StringVar(&c.vendorDashjs, "vendor-dashjs", "player-shim/node_modules/dashjs/dist", "directory of the dash.js builds (npm ci in player-shim), served at /vendor/dashjs/; optional: without it the page cannot offer player=dashjs")
	fs.StringVar(&c.vendorShaka, "vendor-shaka", "player-shim/node_modules/shaka-player/dist", "directory of the Shaka Player builds (npm ci in player-shim), served at /vendor/shaka/; optional: without it the page cannot offer player=shaka")
	fs.Var(&c.mounts, "mount", "extra static directory as /prefix/=dir; repeatable, or comma-separated")
	fs.DurationVar(&c.segmentMaxAge, "segment-max-age", 0, "browser cache lifetime of media segments (0: no-store, so every CDN byte reaches /demo/origin)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM/SIGINT, how long connections get to close")
	c.live.register(fs)
}

// mount is an extra static directory served under prefix.
type mount struct {
	prefix string // "/name/": starts and ends with a slash
	dir    string
}

// mountList is the repeatable --mount flag.
type mountList []mount

var _ flag.Value = (*mountList)(nil)

func (m *mountList) String() string {
	if m == nil {
		return ""
	}
	parts := make([]string, len(*m))
	for i, mt := range *m {
		parts[i] = mt.prefix + "=" + mt.dir
	}
	return strings.Join(parts, ",")
}

// Set adds one or more comma-separated /prefix/=dir mounts.
func (m *mountList) Set(v string) error {
	for _, item := range splitList(v) {
		prefix, dir, ok := strings.Cut(item, "=")
		if !ok || dir == "" {
			return fmt.Errorf("mount %q: want /prefix/=dir", item)
		}
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if !strings.HasPrefix(prefix, "/") || prefix == "/" || path.Clean(prefix)+"/" != prefix ||
			strings.ContainsAny(prefix, "{}% \t") {
			return fmt.Errorf("mount %q: the prefix must be a clean path like /name/", item)
		}
		*m = append(*m, mount{prefix: prefix, dir: dir})
	}
	return nil
}

// servedDir is a directory the demo serves, the file that shows it was
// built, and how to build it. A directory with an offers text is optional:
// without it the demo still starts, and the page cannot offer what it names.
type servedDir struct {
	flag, dir, file, fix string
	offers               string
}

func (c *demoConfig) servedDirs() []servedDir {
	return []servedDir{
		{"--web", c.web, "index.html", "run nearcast demo from the repository root", ""},
		{"--media", c.media, filepath.Join("vod", "master.m3u8"), `run "make media" first`, ""},
		{"--dist", c.dist, "nearcast.wasm", `run "make wasm" first`, ""},
		{"--shim", c.shim, "nearcast.esm.js", `run "make shim" first`, ""},
		{"--vendor", c.vendor, "hls.mjs", `run "make shim" first (npm ci in player-shim/ installs hls.js)`, ""},
		{"--vendor-dashjs", c.vendorDashjs, dashjsBuild, `run "make shim" first (npm ci in player-shim/ installs dash.js)`, "player=dashjs"},
		{"--vendor-shaka", c.vendorShaka, shakaBuild, `run "make shim" first (npm ci in player-shim/ installs shaka-player)`, "player=shaka"},
	}
}

// The player builds the demo page loads, relative to --vendor-dashjs and
// --vendor-shaka (examples/demo.js names the same files).
const (
	dashjsBuild = "modern/umd/dash.all.min.js" // UMD: the global dashjs
	shakaBuild  = "shaka-player.compiled.js"   // the global shaka
)

// check reports every missing directory at once, each with the command that
// makes it. A directory without its usual file is only worth a warning: the
// page falls back (no shim: plain hls.js; no sample stream: ?src=). So is a
// missing optional directory (dash.js, Shaka) or sample packaging: one
// warning lists what the page cannot offer without them.
func (c *demoConfig) check(log *slog.Logger) error {
	var errs []error
	var cannot []string
	for _, d := range c.servedDirs() {
		want := filepath.Join(d.dir, d.file)
		switch dirOK := isDir(d.dir); {
		case !dirOK && d.offers != "":
			cannot = append(cannot, fmt.Sprintf("%s (%s: directory %s not found: %s, or set %s)", d.offers, d.flag, d.dir, d.fix, d.flag))
		case !dirOK:
			errs = append(errs, fmt.Errorf("%s: directory %s not found: %s, or set %s", d.flag, d.dir, d.fix, d.flag))
		case exists(want):
		case d.offers != "":
			cannot = append(cannot, fmt.Sprintf("%s (%s: %s not found: %s)", d.offers, d.flag, want, d.fix))
		default:
			log.Warn(want+" not found: "+d.fix, "flag", d.flag)
		}
	}
	if isDir(c.media) {
		for _, s := range demoSamples {
			if want := filepath.Join(c.media, filepath.FromSlash(s.file)); !exists(want) {
				cannot = append(cannot, fmt.Sprintf("%s (--media: %s not found: run \"make media\" first)", s.offers, want))
			}
		}
	}
	if len(cannot) > 0 {
		log.Warn("the demo page cannot offer " + strings.Join(cannot, "; "))
	}
	for _, m := range c.mounts {
		if !isDir(m.dir) {
			errs = append(errs, fmt.Errorf("--mount %s: directory %s not found", m.prefix, m.dir))
		}
	}
	return errors.Join(errs...)
}

// demoSamples are the packagings of the sample stream besides vod/ (make
// media, scripts/make-media.sh), relative to --media.
var demoSamples = []struct{ file, offers string }{
	{"dash/manifest.mpd", "the DASH sample, player=dashjs and player=shaka without src="},
	{"hls-fmp4/master.m3u8", "the fMP4 HLS sample"},
}

func isDir(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.IsDir()
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "Serve the demo page, the browser engine, hls.js (dash.js and Shaka when installed), the sample streams and the signaling server on one port.", stderr)
	var cfg demoConfig
	cfg.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.logLevel, cfg.logFormat)
	if err != nil {
		return err
	}
	if err := cfg.check(log); err != nil {
		return err
	}
	sig, err := signaling.New(signaling.WithLogger(log))
	if err != nil {
		return err
	}
	h, err := newDemoHandler(&cfg, sig)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	hint := fmt.Sprintf("nearcast: open http://%s/ in two tabs\n", ln.Addr())
	return serveUntilDone(ctx, ln, h, sig, cfg.shutdownTimeout, log, &afterFirstLine{w: stdout, extra: hint})
}

// afterFirstLine writes extra right after the first line written through it,
// so that serve's startup line stays the first line of stdout.
type afterFirstLine struct {
	w     io.Writer
	extra string
	done  bool
}

func (a *afterFirstLine) Write(p []byte) (int, error) {
	n, err := a.w.Write(p)
	if err == nil && !a.done && strings.Contains(string(p), "\n") {
		a.done = true
		_, err = io.WriteString(a.w, a.extra)
	}
	return n, err
}

// newDemoHandler routes the demo's URL space:
//
//	/            the demo page (--web)
//	/nearcast/   nearcast.wasm, wasm_exec.js (--dist), then the shim builds (--shim)
//	/vendor/     hls.js builds (--vendor)
//	/vendor/dashjs/  dash.js builds (--vendor-dashjs; optional)
//	/vendor/shaka/   Shaka Player builds (--vendor-shaka; optional)
//	/media/      the sample media (--media), every byte counted
//	/media/live/ a looping live stream made from the sample (live.go)
//	/media/live-dash/ the same as live DASH, from the DASH sample (livedash.go)
//	/media/dash/, /media/hls-fmp4/  the sample as DASH and as fMP4 HLS (under /media/)
//	/demo/origin GET {"bytes":N,"requests":M} served under /media/; DELETE resets
//	/announce, /healthz, /metrics   the signaling server
//	--mount prefixes
func newDemoHandler(cfg *demoConfig, sig *signaling.Server) (http.Handler, error) {
	var origin originCounter
	media := static(http.Dir(cfg.media), mediaCache(cfg.segmentMaxAge))
	live, err := newLiveHandler(filepath.Join(cfg.media, "vod"), &cfg.live, media)
	if err != nil {
		return nil, err
	}
	liveDASH, err := newLiveDASHHandler(filepath.Join(cfg.media, "dash"), &cfg.live, media)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	// taken holds the prefixes a --mount may not reuse.
	taken := map[string]bool{"/demo/": true, sig.Path() + "/": true}
	route := func(p string, h http.Handler) {
		mux.Handle(p, h)
		taken[p] = true
	}
	vendor := func(dir string) http.Handler { return static(filesOnly{http.Dir(dir)}, revalidate) }
	mux.Handle("/", static(http.Dir(cfg.web), revalidate))
	route("/nearcast/", http.StripPrefix("/nearcast", static(filesOnly{http.Dir(cfg.dist), http.Dir(cfg.shim)}, revalidate)))
	route("/vendor/", http.StripPrefix("/vendor", vendor(cfg.vendor)))
	route("/vendor/dashjs/", http.StripPrefix("/vendor/dashjs", vendor(cfg.vendorDashjs)))
	route("/vendor/shaka/", http.StripPrefix("/vendor/shaka", vendor(cfg.vendorShaka)))
	route("/media/", http.StripPrefix("/media", origin.count(media)))
	route("/media/live/", http.StripPrefix("/media", origin.count(live)))
	// The live DASH stream made from the DASH sample (livedash.go), counted
	// like /media/live/; the page links /media/live-dash/manifest.mpd.
	route("/media/live-dash/", http.StripPrefix("/media", origin.count(liveDASH)))
	mux.Handle("GET /demo/origin", &origin)
	mux.Handle("DELETE /demo/origin", &origin)
	mux.Handle(sig.Path(), sig)
	mux.Handle("/healthz", sig)
	mux.Handle("/metrics", sig)
	for _, m := range cfg.mounts {
		if taken[m.prefix] {
			return nil, fmt.Errorf("--mount %s: prefix already in use", m.prefix)
		}
		taken[m.prefix] = true
		mux.Handle(m.prefix, http.StripPrefix(strings.TrimSuffix(m.prefix, "/"), static(http.Dir(m.dir), revalidate)))
	}
	return mux, nil
}

// demoTypes are the Content-Types the demo sets itself rather than trust the
// machine's mime.types (which may call .ts "text/vnd.trolltech.linguist").
var demoTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".ts":   "video/mp2t",
	".m4s":  "video/iso.segment",
	".mp4":  "video/mp4",
	".m4a":  "audio/mp4",
	".mpd":  "application/dash+xml",
	".wasm": "application/wasm",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".map":  "application/json",
	".json": "application/json",
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// contentType returns the demo's type for name, or "" to let net/http decide.
func contentType(name string) string {
	if strings.HasSuffix(name, ".d.ts") {
		return "text/plain; charset=utf-8"
	}
	return demoTypes[strings.ToLower(path.Ext(name))]
}

// revalidate makes the browser check for a newer build on every load.
func revalidate(string) string { return "no-cache" }

// mediaCache keeps playlists out of every cache and lets the browser keep
// segments for maxAge (none by default: a tab's CDN loads must reach the
// origin counter, not the browser's disk cache).
func mediaCache(maxAge time.Duration) func(string) string {
	return func(name string) string {
		switch strings.ToLower(path.Ext(name)) {
		case ".m3u8", ".mpd", "":
			return "no-store"
		}
		if maxAge <= 0 {
			return "no-store"
		}
		return fmt.Sprintf("public, max-age=%d", int(maxAge.Seconds()))
	}
}

// static serves fsys with the demo's Content-Types and cacheControl(name).
func static(fsys http.FileSystem, cacheControl func(name string) string) http.Handler {
	files := http.FileServer(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if t := contentType(r.URL.Path); t != "" {
			h.Set("Content-Type", t)
		}
		h.Set("Cache-Control", cacheControl(r.URL.Path))
		h.Set("X-Content-Type-Options", "nosniff")
		// The media may be played by pages of other origins (e2e, players
		// under --mount on another port).
		h.Set("Access-Control-Allow-Origin", "*")
		files.ServeHTTP(w, r)
	})
}

// filesOnly serves regular files from the first directory that has them, and
// no directory listings.
type filesOnly []http.Dir

func (f filesOnly) Open(name string) (http.File, error) {
	for _, d := range f {
		file, err := d.Open(name)
		if err != nil {
			continue
		}
		if fi, err := file.Stat(); err == nil && fi.Mode().IsRegular() {
			return file, nil
		}
		_ = file.Close()
	}
	return nil, fs.ErrNotExist
}

// originCounter counts what the demo's "CDN" serves.
type originCounter struct {
	bytes    atomic.Int64
	requests atomic.Int64
}

// count wraps h, adding every request and every body byte it writes.
func (o *originCounter) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		h.ServeHTTP(&countingWriter{ResponseWriter: w, n: &o.bytes}, r)
	})
}

// ServeHTTP answers GET with the counts and DELETE by resetting them.
func (o *originCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		o.bytes.Store(0)
		o.requests.Store(0)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(struct {
		Bytes    int64 `json:"bytes"`
		Requests int64 `json:"requests"`
	}{o.bytes.Load(), o.requests.Load()})
}

// countingWriter adds the body bytes written through it to n.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
